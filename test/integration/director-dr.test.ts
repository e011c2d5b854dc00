// LVS-DR in the lab (src/demo/dr.ts). First the layout itself, with one director programmed by
// ipvsadm: the real servers hold the VIP on lo and stay silent on ARP for it, the director forwards
// at layer 2 and never sees a reply. Judges: tcpdump on the client (who answers ARP for the VIP),
// ipvsadm -Ln --stats on the director (DR: packets in, none out), and the bodies nginx serves.
// Then the pair under load (DirectorLab): kill -9 the master, the backup's first advert within
// Master_Down_Interval + 50 ms of the kill (tcpdump on the client LAN), failed requests no more than
// were in flight, the long-lived connection kept (connection sync), and the old master's return:
// it preempts with preempt on and stays backup with preempt off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { Lab, bootKernel, isRoot, type LabKernel } from '../../src/lab/index.js';
import { drLayout, drTopology, DR_ADDRESSES } from '../../src/demo/dr.js';
import { DirectorLab } from '../../src/demo/director-lab.js';
import { LoadClient } from '../../src/demo/load.js';

const skip = !isRoot() && 'the lab needs root';
const VIP = DR_ADDRESSES.vip4;
let kernel: LabKernel | undefined;

before(async () => { if (!skip) kernel = await bootKernel(); });
after(async () => { await kernel?.stop(); });

async function mac(lab: Lab, host: string): Promise<string> {
  const out = await lab.host(host).run(['cat', '/sys/class/net/eth0/address']);
  return out.trim();
}

test('DR layout, one director by hand: VIP on the real servers\' lo, only the director answers ARP, replies bypass it', { skip, timeout: 120_000 }, async (t) => {
  const lab = await Lab.start(drTopology, { kernel });
  t.after(() => lab.stop());
  for (const rs of drLayout.realServers) {
    await drLayout.prepareRealServer!(lab.host(rs), rs);
    await lab.host(rs).startNginx();
  }
  for (const rs of drLayout.realServers) {
    const lo = await lab.host(rs).run(['ip', '-o', '-4', 'addr', 'show', 'dev', 'lo']);
    assert.match(lo, new RegExp(` ${VIP.replace(/\./g, '\\.')}/32 `), `${rs} lo: ${lo}`);
    const sys = await lab.host(rs).run(['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce']);
    assert.deepEqual(sys.trim().split('\n'), ['1', '2'], rs);
  }

  const d = lab.host('director1');
  await d.sh([
    `ip addr add ${VIP}/24 dev eth0`,
    `ipvsadm -A -t ${VIP}:80 -s rr`,
    ...drLayout.realServers.map((rs) => `ipvsadm -a -t ${VIP}:80 -r ${drLayout.realServerEndpoint(rs)} -g`),
  ].join(' && '));

  // Who answers ARP for the VIP: capture on the client while it resolves the VIP from scratch.
  const client = lab.host('client');
  await client.run(['ip', 'neigh', 'flush', 'dev', 'eth0']);
  const dump = await client.spawn(['tcpdump', '-l', '-n', '-e', '-i', 'eth0', 'arp']);
  await dump.waitFor('listening on', { which: 'stderr' });
  const bodies: string[] = [];
  for (let i = 0; i < 6; i++) bodies.push(await client.run(['curl', '-sS', '--max-time', '5', `http://${VIP}/`]));
  await new Promise((r) => setTimeout(r, 300));
  await dump.stop();
  const replies = dump.output.split('\n').filter((l) => new RegExp(`Reply ${VIP.replace(/\./g, '\\.')} is-at`).test(l));
  const d1 = await mac(lab, 'director1');
  t.diagnostic(`ARP replies for the VIP: ${replies.length}, ${replies.map((l) => /is-at (\S+?),?\s/.exec(l)?.[1]).join(' ')}; director1 is ${d1}`);
  assert.ok(replies.length >= 1, `no ARP reply for the VIP seen:\n${dump.output}`);
  for (const l of replies) assert.match(l, new RegExp(`is-at ${d1}`), `an ARP reply for the VIP not from director1: ${l}`);

  // Round robin over the three: every real server answered through the VIP.
  assert.deepEqual([...new Set(bodies.map((b) => b.trim()))].sort(), ['rs1', 'rs2', 'rs3']);

  // DR: the director only sees the client's packets; each real server answered from the VIP directly.
  // The kernel sums its per-CPU counters every 2 s (estimator), so read until all six are counted.
  let stats = '', conns = '', inPkts = '', outPkts = '';
  for (const end = Date.now() + 6000; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
    stats = await d.run(['ipvsadm', '-Ln', '--stats', '-t', `${VIP}:80`]);
    [, , conns = '', inPkts = '', outPkts = ''] = stats.split('\n').find((l) => l.startsWith('TCP'))!.trim().split(/\s+/);
    if (conns === '6') break;
  }
  t.diagnostic(`director1 service stats: conns ${conns} inpkts ${inPkts} outpkts ${outPkts}`);
  assert.equal(conns, '6');
  assert.ok(Number(inPkts) >= 6 * 5, stats);
  assert.equal(outPkts, '0', stats);
});

const LOAD = { rate: 60, keepalive: 3, fresh: 3, timeoutMs: 3000, tickMs: 250 };
/** At most one request per loop is in flight at any time, plus the long-lived connection's. */
const IN_FLIGHT = LOAD.keepalive + LOAD.fresh + 1;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function pair(t: { after(fn: () => Promise<void>): void; diagnostic(m: string): void }, preempt: boolean): Promise<DirectorLab> {
  const dl = await DirectorLab.start({ layout: drLayout, kernel: kernel!, preempt, log: (l) => t.diagnostic(l) });
  t.after(() => dl.stop());
  // A gratuitous ARP replaces a neighbour entry only if it was updated more than locktime (1 s) ago.
  await dl.host('client').run(['sysctl', '-q', '-w', 'net.ipv4.neigh.eth0.locktime=0']);
  return dl;
}

test('DR pair under load: kill -9 the master, backup takes over within Master_Down_Interval + 50 ms, failures bounded by in-flight, old master returns and preempts', { skip, timeout: 240_000 }, async (t) => {
  const dl = await pair(t, true);
  t.diagnostic(`runner: ${dl.runner}`);
  assert.equal(await dl.master(), 'director1');
  await dl.waitForTable('director2');
  const cap = await dl.startCapture();
  t.after(async () => { await cap.stop(); });
  const load = await dl.startLoad(LOAD);
  await load.flowing(60);
  const served = new Set(Object.keys(load.last?.servers ?? {}));
  assert.deepEqual([...served].sort(), ['rs1', 'rs2', 'rs3'], 'every real server answers through the VIP');

  const mdi = dl.masterDownIntervalMs;
  const { at } = await dl.killDirector('director1');
  const first = await cap.advertFrom(DR_ADDRESSES.director2, at, 5000);
  const lastOld = cap.adverts(drLayout.watched.vrid).filter((a) => a.src === DR_ADDRESSES.director1 && a.t <= first.t).at(-1);
  await dl.waitForMaster('director2', 5000);
  const takeover = first.t - at;
  t.diagnostic(`kill -> director2's first advert ${takeover.toFixed(1)} ms; advert gap ${lastOld ? (first.t - lastOld.t).toFixed(1) : '?'} ms; Master_Down_Interval ${mdi.toFixed(1)} ms`);
  assert.ok(takeover <= mdi + 50, `takeover ${takeover.toFixed(1)} ms > ${mdi.toFixed(1)} + 50`);
  const garp = cap.garps(DR_ADDRESSES.vip4).find((g) => g >= first.t - 5);
  assert.ok(garp !== undefined, 'the new master announces the VIP with a gratuitous ARP');

  // Load flows again through director2; count what failed around the takeover.
  const resumedAt = Date.now();
  await load.flowing(40, 20_000);
  t.diagnostic(`load resumed ${Date.now() - resumedAt} ms after the new master was seen`);
  await sleep(LOAD.timeoutMs + 500);
  const tick = await load.after(at + LOAD.timeoutMs + 500);
  const failed = load.failuresBetween(at - LOAD.timeoutMs);
  t.diagnostic(`failover: ${failed.length} failed of ${tick.ok + tick.failed} (${JSON.stringify(LoadClient.byReason(failed))}); long-lived connection: ${JSON.stringify(tick.long)}`);
  assert.ok(failed.length <= IN_FLIGHT, `${failed.length} failed requests > ${IN_FLIGHT} in flight: ${JSON.stringify(failed)}`);
  const breaks = load.longEvents.filter((e) => e.what === 'break' && e.t >= at);
  // Connection sync: the backup's kernel already knew the connection, so the same socket keeps talking.
  assert.equal(breaks.length, 0, `the long-lived connection broke after the kill: ${JSON.stringify(breaks)}`);
  assert.ok((tick.long.exchanges) > 0 && tick.long.lastAt > at, `no exchange on the long-lived connection after the kill: ${JSON.stringify(tick.long)}`);

  // The old master comes back: it starts as backup, then preempts (preempt_delay 2 s).
  const back = Date.now();
  const beforeReturn = (load.last?.failed ?? 0);
  await dl.startDirector('director1');
  await dl.waitForMaster('director1', 20_000);
  t.diagnostic(`director1 restarted and master again after ${Date.now() - back} ms`);
  await load.flowing(40, 20_000);
  await sleep(LOAD.timeoutMs + 500);
  const after = (load.last?.failed ?? 0) - beforeReturn;
  t.diagnostic(`preemption: ${after} failed (${JSON.stringify(LoadClient.byReason(load.failures.slice(-after || load.failures.length).slice(0, after)))})`);
  assert.ok(after <= IN_FLIGHT, `${after} failed requests around the preemption > ${IN_FLIGHT}`);
  assert.equal(await dl.master(), 'director1');
});

test('DR pair with preempt off: the old master returns as backup and stays backup', { skip, timeout: 180_000 }, async (t) => {
  const dl = await pair(t, false);
  const load = await dl.startLoad(LOAD);
  await dl.killDirector('director1');
  await dl.waitForMaster('director2', 5000);
  await load.flowing(20, 20_000);
  const failedBefore = load.last?.failed ?? 0;
  await dl.startDirector('director1');
  // Longer than preempt_delay (2 s) plus a Master_Down_Interval: a preempting director would have taken over.
  await sleep(2000 + 3 * dl.masterDownIntervalMs + 1000);
  assert.equal(await dl.master(), 'director2');
  const s = await dl.status('director1');
  assert.equal(s.role, 'backup');
  await load.flowing(20, 20_000);
  assert.equal((load.last?.failed ?? 0) - failedBefore, 0, 'no request fails when the old master returns as backup');
});

// The live view as a person uses it: in tmux, keys sent with send-keys, the screen read with
// capture-pane, the metrics URL it shows fetched with curl from the host.
const tmuxMissing = spawnSync('tmux', ['-V']).status !== 0 && 'needs tmux';
test('the live view in tmux on the DR pair: shows the master, k kills it, 3 stops rs3, b breaks and fixes rs1, r restarts the director, the metrics URL answers, q tears the lab down', { skip: skip || tmuxMissing, timeout: 240_000 }, async (t) => {
  const sock = `lvsd-demo-test-${process.pid}`;
  const tmux = (...a: string[]) => spawnSync('tmux', ['-L', sock, ...a], { encoding: 'utf8' });
  const base = 20000 + (process.pid % 1000) * 20;
  const log = `/tmp/lvsd-demo-test-${process.pid}.log`;
  const started = tmux('new-session', '-d', '-s', 'demo', '-x', '132', '-y', '40',
    `${process.execPath} dist/src/demo/tui.js dr --base-port ${base} > /dev/tty 2>&1; echo "exit $?" > ${log}; sleep 300`);
  assert.equal(started.status, 0, started.stderr);
  t.after(() => { tmux('kill-server'); });
  const screen = () => tmux('capture-pane', '-p', '-t', 'demo').stdout;
  const until = async (re: RegExp, ms: number, what: string): Promise<string> => {
    const end = Date.now() + ms;
    for (;;) {
      const s = screen();
      if (re.test(s)) return s;
      if (Date.now() > end) throw new Error(`screen never showed ${what} (${re}):\n${s}`);
      await sleep(250);
    }
  };
  const up = await until(/^public +192\.0\.2\.10 +director1 +MASTER +backup/m, 120_000, 'director1 master');
  await until(/req\/s/, 30_000, 'the load client');
  await until(/^rs1 +192\.0\.2\.11:80 +up /m, 30_000, 'rs1 up from lvsd');
  t.diagnostic(`first screen:\n${up.trimEnd()}`);
  const metricsUrl = /http:\/\/127\.0\.0\.1:\d+\/metrics/.exec(up)?.[0];
  assert.equal(metricsUrl, `http://127.0.0.1:${base}/metrics`);
  const metrics = spawnSync('curl', ['-sS', '--max-time', '10', metricsUrl!], { encoding: 'utf8' });
  assert.match(metrics.stdout, /^lvsd_vrrp_state\{vrrp_instance="public".*state="master"\} 1$/m, metrics.stderr);

  tmux('send-keys', '-t', 'demo', 'k');
  const killed = await until(/^public +192\.0\.2\.10 +director2 +DOWN +MASTER/m, 20_000, 'director2 master after k');
  assert.match(killed, /r restart director1/);
  tmux('send-keys', '-t', 'demo', '3');
  await until(/^rs3 +192\.0\.2\.13:80 +DOWN .*stopped +connection refused/m, 20_000, 'rs3 down: connection refused');
  tmux('send-keys', '-t', 'demo', 'b');
  await until(/^rs1 +192\.0\.2\.11:80 +DOWN .*answers 500 +status 500/m, 20_000, 'rs1 down: status 500');
  tmux('send-keys', '-t', 'demo', 'b');
  await until(/^rs1 +192\.0\.2\.11:80 +up +w=1 .*running/m, 20_000, 'rs1 up again after the fix');
  tmux('send-keys', '-t', 'demo', 'r');
  const back = await until(/^public +192\.0\.2\.10 +director1 +MASTER +backup/m, 60_000, 'director1 master again after r');
  t.diagnostic(`after k, 3, b, b, r:\n${back.trimEnd()}`);
  tmux('send-keys', '-t', 'demo', 'q');
  const end = Date.now() + 60_000;
  while (!existsSync(log) && Date.now() < end) await sleep(250);
  assert.equal(readFileSync(log, 'utf8').trim(), 'exit 0');
  rmSync(log, { force: true });
});
