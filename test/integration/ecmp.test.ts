// N directors active/active behind ECMP (issue #14), in the lab's `ecmp` topology: a router running FRR
// (bgpd with maximum-paths, bfdd, L4 multipath hashing), three directors each running lvsd and a routing
// daemon (FRR, then BIRD 2) with the sample configs of deploy/routing/, three DR real servers (nginx).
// Judged from outside lvsd: the router's own view (`vtysh -c 'show ip route json'`, `show ip bgp`, and
// the kernel's FIB through `ip -j route`), IPVS counters on each director (ipvsadm), curl from the client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Lab, bootKernel, isRoot, renderTemplate, startBird, startFrr, ECMP_ADDRESSES as A, ECMP_DIRECTORS,
  type FrrHandle, type LabHost, type LabKernel, type LabProcess,
} from '../../src/lab/index.js';

const skip = !isRoot() && 'the lab needs root';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LVSD = join(ROOT, 'bin/lvsd.js');
const template = (name: string) => readFileSync(join(ROOT, 'deploy/routing', name), 'utf8');
const ROUTER_AS = 65000, DIRECTOR_AS = 65001, TABLE = 250;
// BFD: 300 ms x 5. The lab's UML kernel has one vCPU shared by nine hosts and runs on a busy machine;
// 200 ms x 3 (what the sample configs suggest for dedicated machines) flapped sessions under load here.
const BFD = { BFD_INTERVAL_MS: 300, BFD_MULTIPLIER: 5 };
const VIP = A.vip4;
const ALL = [A.director1, A.director2, A.director3];

let kernel: LabKernel | undefined;
before(async () => { if (!skip) kernel = await bootKernel(); });
after(async () => { await kernel?.stop(); });

function lvsdConfig(lab: Lab, director: string, o: { softDrain: boolean; drainDelay: string }): string {
  const file = join(lab.dir, `${director}.yaml`);
  writeFileSync(file, `
global:
  router_id: ${director}
  state_file: ${lab.dir}/${director}-state.json
  control: { listen: "unix:${lab.dir}/${director}.sock" }
  log: { format: json }
virtual_services:
  - name: web
    address: ${VIP}:80
    scheduler: mh
    scheduler_flags: [mh-port]
    forwarding: dr
    checks: [{ type: tcp, interval: 300ms, timeout: 200ms, delay_before_retry: 100ms }]
    real_servers:
      - address: ${A.rs1}:80
      - address: ${A.rs2}:80
      - address: ${A.rs3}:80
announce:
  - name: web
    addresses: [${VIP}]
    virtual_services: [web]
    drain_delay: ${o.drainDelay}
    soft_drain: ${o.softDrain}
`);
  return file;
}

async function startLvsd(lab: Lab, director: string, o = { softDrain: true, drainDelay: '4s' }): Promise<LabProcess> {
  const p = await lab.host(director).spawnNode(LVSD, ['run', '-c', lvsdConfig(lab, director, o)]);
  await p.waitFor(/"msg":"ready"/, { timeoutMs: 60_000 });
  return p;
}

async function startRouter(lab: Lab): Promise<FrrHandle> {
  // Informational: session and BFD changes (%ADJCHANGE, BFD Down) for the failure report below.
  return startFrr(lab.host('router'), renderTemplate(template('router-frr.conf'), {
    ROUTER_ID: A.router4, ROUTER_AS, DIRECTOR_AS, DIRECTORS_PREFIX: '10.0.1.0/24', ...BFD,
  }), { logLevel: 'informational' });
}

/** On failure: the router's view, its session log, and the end of each lvsd's log. */
async function diagnose(t: { diagnostic(m: string): void }, lab: Lab, router: FrrHandle | undefined, lvsd: Map<string, LabProcess>): Promise<void> {
  const safe = async (what: string, f: () => Promise<string>): Promise<void> => {
    try { t.diagnostic(`${what}:\n${await f()}`); } catch (e) { t.diagnostic(`${what}: ${(e as Error).message}`); }
  };
  if (router) {
    await safe('router: show bgp summary', () => router.vtysh('show bgp summary'));
    await safe('router: show bfd peers brief', () => router.vtysh('show bfd peers brief'));
    await safe(`router: show ip bgp ${VIP}/32`, () => router.vtysh(`show ip bgp ${VIP}/32`));
    const bgpd = router.processes.find((p) => p.argv[0]!.endsWith('bgpd'));
    t.diagnostic(`router bgpd log:\n${bgpd?.output.split('\n').filter((l) => /ADJCHANGE|BFD|NOTIFICATION/.test(l)).slice(-30).join('\n')}`);
  }
  for (const [d, p] of lvsd) t.diagnostic(`${d} lvsd log:\n${p.errors.split('\n').filter((l) => /announce|quorum|real server/.test(l)).slice(-15).join('\n')}`);
  void lab;
}

/** Runs body; on failure, reports the routing state before the lab goes. */
async function withDiagnosis(t: { diagnostic(m: string): void }, lab: Lab, state: { router?: FrrHandle; lvsd: Map<string, LabProcess> }, body: () => Promise<void>): Promise<void> {
  try { await body(); } catch (e) { await diagnose(t, lab, state.router, state.lvsd); throw e; }
}

/** The router's kernel FIB for the VIP: the next hops it forwards to, sorted. */
async function fibNexthops(router: LabHost): Promise<string[]> {
  const out = await router.run(['ip', '-j', 'route', 'show', `${VIP}/32`]);
  const routes = JSON.parse(out || '[]') as { gateway?: string; nexthops?: { gateway: string }[] }[];
  return routes.flatMap((r) => r.nexthops ? r.nexthops.map((n) => n.gateway) : r.gateway ? [r.gateway] : []).sort();
}

/** What FRR's zebra on the router selected for the VIP (`show ip route json`): its active next hops. */
async function zebraNexthops(router: FrrHandle): Promise<string[]> {
  type Entry = { protocol: string; selected?: boolean; nexthops: { ip?: string; active?: boolean; fib?: boolean }[] };
  const j = await router.json<Record<string, Entry[]>>(`show ip route ${VIP}/32 json`);
  const sel = (j[`${VIP}/32`] ?? []).find((e) => e.selected && e.protocol === 'bgp');
  return (sel?.nexthops ?? []).filter((n) => n.active && n.fib).map((n) => n.ip!).sort();
}

/**
 * Times of the router's FIB changes for the VIP, from `ip -ts monitor route` in the router: the lab's
 * one kernel clock, the same as lvsd's log timestamps and `date` in any host. Polling from the test
 * (an exec round trip of 0.1-2 s on this loaded machine) is only for waiting, never for the figures.
 */
class FibWatch {
  private constructor(private readonly p: LabProcess) {}
  static async start(router: LabHost): Promise<FibWatch> {
    const p = await router.spawn(['ip', '-ts', 'monitor', 'route']);
    await new Promise((r) => setTimeout(r, 300));
    return new FibWatch(p);
  }
  /** Epoch ms of every change that mentions the VIP. */
  changes(): { at: number; line: string }[] {
    return this.p.output.split('\n').flatMap((l) => {
      const m = /^\[(\d{4}-\d\d-\d\dT[\d:.]+)\] (.*)$/.exec(l);
      return m && m[2]!.includes(VIP) ? [{ at: Date.parse(`${m[1]!.slice(0, 23)}Z`), line: m[2]! }] : [];
    });
  }
  /** ms from `since` (epoch ms, lab clock) to the last change of the VIP's route up to now. */
  lastChangeAfter(since: number): number {
    const after = this.changes().filter((c) => c.at >= since);
    if (!after.length) throw new Error(`no FIB change for ${VIP} after ${new Date(since).toISOString()}`);
    return after.at(-1)!.at - since;
  }
  stop(): Promise<unknown> { return this.p.stop(); }
}

/** Runs a script in a host and returns when it started, in epoch ms of the lab's clock. */
async function stamped(h: LabHost, script: string): Promise<number> {
  const out = await h.sh(`date +%s%N; ${script}`);
  return Number(BigInt(out.split('\n')[0]!) / 1_000_000n);
}

/** Epoch ms (lab clock) of the first lvsd log line matching `re`. */
function logTime(p: LabProcess, re: RegExp): number {
  const line = p.errors.split('\n').find((l) => re.test(l));
  if (!line) throw new Error(`no log line ${re}`);
  return Date.parse((JSON.parse(line) as { ts: string }).ts);
}

/** Polls the router's FIB (cheap: one `ip` per try) until it forwards to exactly `want`; returns when, in ms from `since`. */
async function waitFib(router: LabHost, want: string[], timeoutMs: number, since = Date.now()): Promise<number> {
  let last: string[] = [];
  while (Date.now() - since < timeoutMs) {
    last = await fibNexthops(router);
    if (JSON.stringify(last) === JSON.stringify([...want].sort())) return Date.now() - since;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`router FIB for ${VIP}: ${JSON.stringify(last)} after ${timeoutMs} ms, want ${JSON.stringify(want)}`);
}

/** `n` short HTTP requests from the client, one after another: the failed ones (curl's code and time), [] when all answered 200. */
async function failedRequests(client: LabHost, n: number): Promise<string[]> {
  const out = await client.sh(`for i in $(seq ${n}); do curl -s -o /dev/null -w '%{http_code} %{time_total}s %{local_port}\\n' --max-time 5 http://${VIP}/; done`, { timeoutMs: n * 6000 + 10_000 });
  return out.split('\n').filter((l) => l !== '' && !l.startsWith('200 '));
}

/** Connections IPVS on a director has scheduled for the VIP (ipvsadm -Ln --stats, the service line). */
async function ipvsConns(d: LabHost): Promise<number> {
  const out = await d.run(['ipvsadm', '-Ln', '--stats', '-t', `${VIP}:80`]);
  const line = out.split('\n').find((l) => l.startsWith('TCP'));
  return Number(line?.trim().split(/\s+/)[2] ?? NaN);
}

/** Blocks (or unblocks) a director's way to the real servers: its checks fail, the others' do not. Returns when (lab clock). */
function cutRealServers(d: LabHost, cut: boolean): Promise<number> {
  return stamped(d, [A.rs1, A.rs2, A.rs3].map((rs) => `ip route ${cut ? 'add' : 'del'} prohibit ${rs}/32`).join(' && '));
}

test('FRR on the directors: the router forwards to exactly the healthy directors; quorum loss withdraws; SIGTERM soft-drains, then withdraws; a restart changes nothing; a dead director goes by BFD', { skip, timeout: 900_000 }, async (t) => {
  const lab = await Lab.start('ecmp', { kernel });
  t.after(() => lab.stop());
  const state: { router?: FrrHandle; lvsd: Map<string, LabProcess> } = { lvsd: new Map() };
  await withDiagnosis(t, lab, state, async () => {
    const router = state.router = await startRouter(lab);
    const r = lab.host('router');
    const fib = await FibWatch.start(r);
    const lvsd = state.lvsd;
    for (const [i, d] of ECMP_DIRECTORS.entries()) {
      await startFrr(lab.host(d), renderTemplate(template('frr.conf'), {
        HOSTNAME: d, ROUTER_ID: ALL[i]!, LOCAL_AS: DIRECTOR_AS, ROUTER_ADDRESS: A.router4, ROUTER_AS, LVSD_TABLE: TABLE, ...BFD,
      }));
      lvsd.set(d, await startLvsd(lab, d));
    }
    await waitFib(r, ALL, 120_000);
    assert.deepEqual(await zebraNexthops(router), ALL, 'FRR on the router selected all three directors');
    const announced = logTime(lvsd.get('director3')!, /announce web: announced/);
    t.diagnostic(`director3: lvsd announced -> in the router's FIB: ${fib.changes().find((c) => c.at >= announced)!.at - announced} ms`);

    // Flows spread over all three directors (L4 hashing), and every request is answered.
    const client = lab.host('client');
    assert.deepEqual(await failedRequests(client, 60), []);
    const conns = await Promise.all(ECMP_DIRECTORS.map((d) => ipvsConns(lab.host(d))));
    t.diagnostic(`IPVS connections per director after 60 requests: ${conns.join(', ')}`);
    for (const [i, c] of conns.entries()) assert.ok(c > 0, `${ECMP_DIRECTORS[i]} scheduled no connection: ${conns.join(', ')}`);

    // director3 loses every real server (its own view): quorum lost, withdrawn; the others carry on.
    const d3 = lab.host('director3');
    const cut = await cutRealServers(d3, true);
    await waitFib(r, [A.director1, A.director2], 60_000);
    const withdrawn = logTime(lvsd.get('director3')!, /announce web: withdrawn: quorum lost: web/);
    t.diagnostic(`director3 quorum loss: real servers cut -> lvsd withdrew ${withdrawn - cut} ms (checks) -> router's FIB ${fib.lastChangeAfter(withdrawn)} ms`);
    assert.deepEqual(await zebraNexthops(router), [A.director1, A.director2]);
    assert.deepEqual(await failedRequests(client, 20), [], 'the other directors serve everything');
    await cutRealServers(d3, false);
    await waitFib(r, ALL, 60_000);

    // SIGTERM on director2 (soft drain, drain_delay 4 s): the router first moves its flows away while
    // still holding the path (MED 1000, AS path prepended), then the path is withdrawn and lvsd exits.
    const d2 = lvsd.get('director2')!;
    const term = await stamped(lab.host('director2'), `kill -TERM ${d2.pid}`);
    await waitFib(r, [A.director1, A.director3], 20_000);
    // The soft drain is a metric change (old route out, new in): the router may see a withdrawal and
    // the worse path a moment later. Read its BGP table until that path is there, while lvsd drains.
    type BgpPath = { nexthops: { ip: string }[]; metric?: number; aspath: { string: string } }; // FRR's JSON calls the MED metric
    let bgp: { paths?: BgpPath[] } = {};
    let p2: BgpPath | undefined;
    for (let i = 0; i < 20 && d2.running && !p2; i++) {
      bgp = await router.json<{ paths?: BgpPath[] }>(`show ip bgp ${VIP}/32 json`);
      p2 = (bgp.paths ?? []).find((p) => p.nexthops.some((n) => n.ip === A.director2));
      if (!p2) await new Promise((res) => setTimeout(res, 100));
    }
    const draining = d2.running;
    const exit = await d2.exited;
    assert.equal(exit.code, 0);
    const drained = logTime(d2, /announce web: soft-draining with metric 1000/);
    const gone = logTime(d2, /announce web: withdrawn: stopping/);
    const stopped = logTime(d2, /"msg":"stopped"/);
    t.diagnostic(`SIGTERM on director2: soft drain ${drained - term} ms after the signal, out of the router's FIB ${fib.changes().find((c) => c.at >= drained)!.at - drained} ms later; withdrawn ${gone - drained} ms into the drain; lvsd stopped ${stopped - term} ms after the signal`);
    if (draining) {
      // Read while lvsd was still draining: the router kept the path, as a worse one.
      assert.ok(p2, `director2's path is still there during its soft drain: ${JSON.stringify(bgp)}`);
      assert.equal(p2.metric, 1000, 'MED 1000');
      assert.equal(p2.aspath.string, `${DIRECTOR_AS} ${DIRECTOR_AS} ${DIRECTOR_AS} ${DIRECTOR_AS}`);
    }
    assert.ok(gone - drained >= 4000, `withdrawn ${gone - drained} ms into a 4 s soft drain`);
    const after = await router.json<{ paths?: BgpPath[] }>(`show ip bgp ${VIP}/32 json`);
    assert.ok(!(after.paths ?? []).some((p) => p.nexthops.some((n) => n.ip === A.director2)), 'withdrawn after the drain');
    assert.equal(await lab.host('director2').run(['ip', 'route', 'show', 'table', String(TABLE)]), '', 'no route left in table 250');
    assert.match(await lab.host('director2').run(['ip', 'route', 'show', 'table', 'local', `${VIP}/32`]), /^local 203\.0\.113\.10 dev lo proto 250/, 'the VIP stays local');

    // Back: announced again; then lvsd killed and restarted on a healthy director: the router sees nothing.
    lvsd.set('director2', await startLvsd(lab, 'director2'));
    await waitFib(r, ALL, 60_000);
    const quiet = await stamped(lab.host('director1'), 'true');
    await lvsd.get('director1')!.kill('SIGKILL');
    await lvsd.get('director1')!.exited;
    lvsd.set('director1', await startLvsd(lab, 'director1'));
    await new Promise((res) => setTimeout(res, 3000));
    assert.deepEqual(fib.changes().filter((c) => c.at >= quiet), [], 'lvsd killed and restarted on a healthy director: the router\'s FIB did not change');
    assert.deepEqual(await fibNexthops(r), ALL);
    assert.doesNotMatch(lvsd.get('director1')!.errors, /announce web: withdrawn/);
    assert.equal(await lab.host('director1').run(['ip', 'route', 'show', 'table', String(TABLE)]).then((o) => o.trim().split('\n').length), 1);

    // A director that dies (its link goes): BFD takes it out of the router's FIB.
    const down = await stamped(lab.host('director1'), 'ip link set eth0 down');
    await waitFib(r, [A.director2, A.director3], 20_000);
    const bfdMs = fib.changes().find((c) => c.at >= down)!.at - down;
    t.diagnostic(`director1 link down -> out of the router's FIB after ${bfdMs} ms (BFD ${BFD.BFD_INTERVAL_MS} ms x ${BFD.BFD_MULTIPLIER})`);
    assert.ok(bfdMs < 9000, `${bfdMs} ms: BFD should beat the BGP hold time (9 s)`);
  });
});

test('BIRD 2 on the directors: the same routes reach the router; quorum loss withdraws; SIGTERM withdraws at once', { skip, timeout: 900_000 }, async (t) => {
  const lab = await Lab.start('ecmp', { kernel });
  t.after(() => lab.stop());
  const state: { router?: FrrHandle; lvsd: Map<string, LabProcess> } = { lvsd: new Map() };
  await withDiagnosis(t, lab, state, async () => {
    const router = state.router = await startRouter(lab);
    const lvsd = state.lvsd;
    for (const [i, d] of ECMP_DIRECTORS.entries()) {
      await startBird(lab.host(d), renderTemplate(template('bird.conf'), {
        ROUTER_ID: ALL[i]!, LOCAL_AS: DIRECTOR_AS, ROUTER_ADDRESS: A.router4, ROUTER_AS, LVSD_TABLE: TABLE, LVSD_PROTOCOL: 250, ...BFD,
      }));
      lvsd.set(d, await startLvsd(lab, d, { softDrain: false, drainDelay: '1s' }));
    }
    const r = lab.host('router');
    const fib = await FibWatch.start(r);
    await waitFib(r, ALL, 120_000);
    assert.deepEqual(await zebraNexthops(router), ALL);
    assert.deepEqual(await failedRequests(lab.host('client'), 30), []);

    const cut = await cutRealServers(lab.host('director2'), true);
    await waitFib(r, [A.director1, A.director3], 60_000);
    const withdrawn = logTime(lvsd.get('director2')!, /announce web: withdrawn: quorum lost: web/);
    t.diagnostic(`BIRD: director2 quorum loss: real servers cut -> lvsd withdrew ${withdrawn - cut} ms -> router's FIB ${fib.lastChangeAfter(withdrawn)} ms`);
    assert.deepEqual(await zebraNexthops(router), [A.director1, A.director3]);
    await cutRealServers(lab.host('director2'), false);
    await waitFib(r, ALL, 60_000);

    // SIGTERM without soft drain: withdrawn at once, lvsd exits after its drain delay (1 s).
    const d3 = lvsd.get('director3')!;
    const term = await stamped(lab.host('director3'), `kill -TERM ${d3.pid}`);
    await waitFib(r, [A.director1, A.director2], 20_000);
    assert.equal((await d3.exited).code, 0);
    const gone = logTime(d3, /announce web: withdrawn: stopping/);
    const stopped = logTime(d3, /"msg":"stopped"/);
    t.diagnostic(`BIRD: SIGTERM on director3: withdrawn ${gone - term} ms after the signal, out of the router's FIB ${fib.changes().find((c) => c.at >= gone)!.at - gone} ms later; lvsd stopped ${stopped - term} ms after the signal`);
    assert.ok(stopped - gone >= 1000, 'lvsd kept forwarding for its drain delay');
  });
});
