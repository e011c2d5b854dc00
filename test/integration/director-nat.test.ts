// The LVS-NAT director pair end to end (issue #9): two `lvsd run` directors, three nginx real servers
// and a client in the UML lab (the kernel with IPVS), continuous HTTP through the VIP (keep-alive and
// new connections, plus one long-lived connection). Judges: tcpdump on the client LAN for adverts and
// gratuitous ARP (times on the lab kernel's clock, against the clock read just before kill -9),
// `ip -o addr` for who holds the VIPs, the load client for failed requests and the long-lived
// connection. The in-flight bound: every loop of the client has at most one request outstanding, so
// a takeover may cost at most one request per loop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bootKernel, type LabKernel } from '../../src/lab/index.js';
import { DirectorLab, masterDownIntervalMs } from '../../src/demo/director-lab.js';
import { natLayout } from '../../src/demo/nat.js';
import { parseDemoArgs } from '../../src/demo/main.js';
import { LoadClient } from '../../src/demo/load.js';

const KEEPALIVE = 3, FRESH = 3;
/** Requests that can be outstanding at once: one per loop, and the long-lived connection. */
const IN_FLIGHT = KEEPALIVE + FRESH + 1;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let kernel: LabKernel;
before(async () => { kernel = await bootKernel(); });
after(() => kernel?.stop());

/** Failed requests that ended in [from, to), by reason, and the directors' VRRP transitions, for messages. */
function failures(load: LoadClient, from: number, to?: number, dl?: DirectorLab): string {
  const vrrp = dl ? `; VRRP: ${dl.directors.map((d) => `${d} [${dl.transitions(d).join(', ')}]`).join(' ')}` : '';
  return JSON.stringify(LoadClient.byReason(load.failuresBetween(from, to))) + vrrp;
}

async function startPair(preempt: boolean, t: { diagnostic(s: string): void; after(fn: () => Promise<void>): void }) {
  const dl = await DirectorLab.start({ layout: natLayout, preempt, kernel, log: (l) => t.diagnostic(l) });
  t.after(() => dl.stop());
  assert.equal(dl.runner, 'lvsd', 'the directors run `lvsd run`');
  const capture = await dl.startGroupCapture();
  const load = await dl.startLoad({ keepalive: KEEPALIVE, fresh: FRESH, rate: 40 });
  return { dl, capture, load };
}

describe('LVS-NAT director pair under load', () => {
  test('kill -9 the master: the backup takes over within Master_Down_Interval + 50 ms, the long-lived connection survives, the old master preempts back', { timeout: 240_000 }, async (t) => {
    const { dl, capture, load } = await startPair(true, t);
    assert.equal(await dl.master(), 'director1');
    await sleep(3000);
    const steady = load.failuresBetween(0);
    assert.equal(steady.length, 0, `no failures before the kill: ${failures(load, 0, undefined, dl)}`);

    const mdi = masterDownIntervalMs(natLayout.watched.advertIntervalMs, natLayout.priorities.director2!);
    assert.equal(Math.round(mdi * 10) / 10, 360.9); // 3 * 100 + (256 - 100) * 100 / 256
    const longBefore = { ...load.last!.long };
    const kill = await dl.killDirector('director1');
    const tk = await capture.takeover(kill.at);
    await dl.waitForMaster('director2', 5000);
    const { firstNew, takeoverMs: takeover } = tk;
    t.diagnostic(`kill -> first advert of director2 ${takeover.toFixed(1)} ms, -> gratuitous ARP ${tk.vipAnnouncedMs?.toFixed(1) ?? '-'} ms; ` +
      `advert gap ${tk.advertGapMs.toFixed(1)} ms (VRID 10 ${tk.byVrid[10]!.advertGapMs.toFixed(1)}, VRID 11 ${tk.byVrid[11]!.advertGapMs.toFixed(1)}); Master_Down_Interval ${mdi.toFixed(1)} ms`);
    assert.ok(takeover <= mdi + 50, `takeover ${takeover.toFixed(1)} ms > Master_Down_Interval + 50 ms`);
    assert.ok(tk.vipAnnouncedMs !== undefined && tk.vipAnnouncedMs <= mdi + 50, `VIP announced ${tk.vipAnnouncedMs?.toFixed(1) ?? 'never'} ms after the kill`);
    // The backup waited out the full interval on the instance whose timer ran out (the others of the
    // sync group are forced along, so their own gap may be shorter): no instance ended early (10 ms:
    // HZ=100 in UML).
    const longest = Math.max(...Object.values(tk.byVrid).map((x) => x.advertGapMs));
    assert.ok(longest >= mdi - 10, `advert gaps ${Object.values(tk.byVrid).map((x) => x.advertGapMs.toFixed(1)).join(', ')} ms: the backup took over before Master_Down_Interval on every instance`);
    assert.match(firstNew.src, /^(192\.0\.2|10\.0\.1)\.3$/, 'the first new advert comes from director2');
    assert.equal(firstNew.prio, natLayout.priorities.director2);

    await sleep(3000);
    const afterTakeover = (await load.after(await dl.now())).long;
    const takeoverFails = load.failuresBetween(kill.at);
    t.diagnostic(`failed requests during the takeover: ${takeoverFails.length} ${failures(load, kill.at)}`);
    assert.ok(takeoverFails.length <= IN_FLIGHT, `${takeoverFails.length} failures, more than the ${IN_FLIGHT} that can be in flight: ${failures(load, kill.at, undefined, dl)}`);
    assert.ok(longBefore.open && afterTakeover.open && afterTakeover.conn === longBefore.conn,
      `the long-lived connection was replaced (conn ${longBefore.conn} -> ${afterTakeover.conn}): ${JSON.stringify(load.longEvents)}`);
    assert.ok(afterTakeover.exchanges >= longBefore.exchanges + 20, `long-lived connection: ${longBefore.exchanges} -> ${afterTakeover.exchanges} exchanges`);
    const okAfter = load.last!.ok;
    await sleep(1000);
    assert.ok(load.last!.ok > okAfter + 20, 'requests flow through director2');

    // The old master comes back, waits its preempt_delay, and takes over again.
    const restoreAt = await dl.now();
    await dl.startDirector('director1');
    await dl.waitForMaster('director1', 20_000);
    await sleep(3000);
    const restored = (await load.after(await dl.now())).long;
    const restoreFails = load.failuresBetween(restoreAt);
    t.diagnostic(`failed requests around the preemption: ${restoreFails.length} ${failures(load, restoreAt)}`);
    assert.ok(restoreFails.length <= IN_FLIGHT, `${restoreFails.length} failures around the preemption: ${failures(load, restoreAt, undefined, dl)}`);
    assert.equal(restored.conn, longBefore.conn, `the long-lived connection broke at the preemption: ${JSON.stringify(load.longEvents)}`);
    assert.ok(restored.exchanges > afterTakeover.exchanges + 20);
    const s1 = await dl.status('director1');
    const s2 = await dl.status('director2');
    assert.equal(s1.role, 'master');
    assert.equal(s2.role, 'backup');
    assert.ok(s1.syncDaemons.some((d) => d.startsWith('master sync daemon')), `director1 sync daemons: ${s1.syncDaemons.join('; ')}`);
    assert.ok(s2.syncDaemons.some((d) => d.startsWith('backup sync daemon')), `director2 sync daemons: ${s2.syncDaemons.join('; ')}`);
    // lvsd's own account (control API /status) agrees with the kernel.
    assert.deepEqual(s1.control?.vrrp.map((v) => `${v.name} ${v.state.toLowerCase()}`).sort(), ['gateway master', 'public master']);
    assert.deepEqual(s2.control?.vrrp.map((v) => `${v.name} ${v.state.toLowerCase()}`).sort(), ['gateway backup', 'public backup']);
  });

  test('preempt: false: the old master comes back as backup and traffic stays where it is', { timeout: 240_000 }, async (t) => {
    const { dl, load } = await startPair(false, t);
    await sleep(2000);
    const kill = await dl.killDirector('director1');
    await dl.waitForMaster('director2', 5000);
    await sleep(2000);
    assert.ok(load.failuresBetween(kill.at).length <= IN_FLIGHT, failures(load, kill.at, undefined, dl));
    const restoreAt = await dl.now();
    await dl.startDirector('director1');
    // Longer than preempt_delay (4 s) + Master_Down_Interval: it would have preempted by now.
    await sleep(6000);
    const vrrp = () => dl.directors.map((d) => `${d} [${dl.transitions(d).join(', ')}]`).join(' ');
    assert.equal(await dl.master(), 'director2', vrrp());
    assert.equal((await dl.status('director1')).role, 'backup', vrrp());
    const fails = load.failuresBetween(restoreAt);
    assert.ok(fails.length <= IN_FLIGHT, `failures when a backup joins: ${failures(load, restoreAt, undefined, dl)}`);
    const joined = dl.logs('director1');
    // When lvsd's start stalls longer than Master_Down_Interval (UML, 1 vCPU), the late master-down
    // timer used to run before the adverts queued meanwhile were read, and the joining backup held the
    // VIPs for a few ms. The instance now drains its socket before acting on that expiry.
    await t.test('the joining director never claimed the VIPs', () => {
      assert.doesNotMatch(joined, /(public|gateway): \w+ -> master/, joined.split('\n').filter((l) => /vrrp/.test(l)).slice(0, 20).join('\n'));
    });
  });

  test('a stopped real server leaves the master\'s IPVS table and returns after restart; a broken one (500) too', { timeout: 240_000 }, async (t) => {
    const { dl, load } = await startPair(true, t);
    const stop = await dl.stopRealServer('rs2');
    const removed = await dl.waitForDestination('director1', 'rs2', false, 10_000);
    t.diagnostic(`rs2 stopped -> out of the table ${removed - stop.at} ms`);
    await sleep(1000);
    const noRs2 = load.last!.servers.rs2;
    await sleep(1000);
    assert.equal(load.last!.servers.rs2, noRs2, 'no requests reach a removed server');
    await dl.startRealServer('rs2');
    const listening = await dl.now();
    const back = await dl.waitForDestination('director1', 'rs2', true, 10_000);
    t.diagnostic(`rs2 listening -> back in the table ${back - listening} ms`);
    await dl.breakRealServer('rs3');
    const brokenAt = await dl.now();
    const out = await dl.waitForDestination('director1', 'rs3', false, 10_000);
    t.diagnostic(`rs3 answering 500 -> out of the table ${out - brokenAt} ms`);
    const rs3 = (await dl.status('director1')).control?.services[0]?.servers.find((x) => x.server === '10.0.1.13:80');
    assert.equal(rs3?.up, false);
    assert.match(rs3?.reason ?? '', /500/, 'lvsd /status gives the reason');
    await dl.fixRealServer('rs3');
    await dl.waitForDestination('director1', 'rs3', true, 10_000);
    // Both directors check on their own: the backup's table follows too.
    assert.deepEqual((await dl.destinations('director2')).sort(), ['10.0.1.11:80', '10.0.1.12:80', '10.0.1.13:80']);
    t.diagnostic(`failures: ${failures(load, 0)}`);
  });
});

describe('npm run demo arguments', () => {
  test('parse', () => {
    assert.deepEqual(parseDemoArgs([]), { scripted: false, layout: 'nat', preempt: true });
    assert.deepEqual(parseDemoArgs(['--scripted', '--layout', 'dr', '--no-preempt']), { scripted: true, layout: 'dr', preempt: false });
    assert.deepEqual(parseDemoArgs(['--layout=nat']), { scripted: false, layout: 'nat', preempt: true });
    assert.match((parseDemoArgs(['--layout', 'tun']) as { error: string }).error, /nat or dr/);
    assert.match((parseDemoArgs(['--bogus']) as { error: string }).error, /unknown argument/);
  });
});
