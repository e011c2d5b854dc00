// `npm run bench -- ecmp [--runs N] [--vrrp-interval 1s]`: a director dying under load, in one lab
// kernel, two ways side by side (issue #14):
//   lvsd      ECMP + BFD: three directors (lab topology `ecmp`), each lvsd announcing the VIP through FRR,
//             the router (FRR, BFD 300 ms x 5) spreading flows over them; director1 dies.
//   reference the VRRP pair: two directors (topology `director-pair`), lvsd's VRRP engine holding the VIP
//             and the real servers' gateway (one instance, advert interval --vrrp-interval, default 1s,
//             keepalived's default), NAT (the gateway moves with the VIP), no connection sync; the master dies.
// Both: mh with mh-port, sloppy_tcp on the directors, DR behind ECMP; nginx on three real servers,
// the client's 24 long-lived keep-alive connections (a request every 200 ms each) and 2 loops of new
// connections (src/lab/flows.ts). A director "dies": its links go down and lvsd (and FRR) get kill -9,
// in one command. Counted by the client, over the 12 s after the kill:
//   removal_ms            kill -> the router's FIB without the director (ip -ts monitor route) | the
//                         backup's transition to master (its log)
//   traffic_flows_again_ms kill -> the last stalled long-lived connection answered again
//   longest_stall_ms      the longest silence of one long-lived connection
//   broken_long_lived     long-lived connections that errored, closed or stalled for 30 s (goal 0)
//   failed_new_requests   new connections without a complete 200 within 10 s
//   slow_new_requests     new requests that took over 500 ms (SYN retransmits to the dead director)
// Medians over the runs, except the counts (broken, failed), which are totals.
// Measured (2026-12-03, 3 runs, 2-core shared machine, UML lab; client txrehash off): ECMP vs VRRP pair
//   removal 1748 vs 3547 ms, traffic flowing again 2062 vs 3836 ms, longest stall 1980 vs 3746 ms,
//   broken long-lived 0 vs 0, failed new requests 0 vs 0, slow new requests 6 vs 6; 8 of 24 flows
//   passed the dead director (all 24 passed the dead VRRP master).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EcmpCluster, Lab, bootKernel, isRoot, stamped, logTime, startFlows, summarizeFlows, LVSD_BIN, ECMP_ADDRESSES, ADDRESSES, REAL_SERVERS,
  type FrrHandle, type LabKernel, type LabProcess,
} from '../../src/lab/index.js';
import type { BenchResult } from './main.js';
import { median, round } from './_stats.js';

const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FLOWS = { long: 24, everyMs: 200, loops: 2, timeoutMs: 10_000 };
const OBSERVE_MS = 12_000;

interface Sample { removalMs: number; flowsAgainMs: number; longestStallMs: number; broken: number; failed: number; slow: number; through: number; stalled: number; requests: number }

async function ecmpRun(kernel: LabKernel): Promise<Sample> {
  const c = await EcmpCluster.start({ kernel });
  try {
    const flows = await startFlows(c.host('client'), { vip: ECMP_ADDRESSES.vip4, ...FLOWS });
    await sleep(3000);
    const longPorts = new Set((await flows.report()).long.map((f) => f.localPort));
    const through = (await c.activeClientPorts('director1')).filter((p) => longPorts.has(p)).length;
    const base = await flows.report();
    const pids = [c.lvsd.get('director1')!.pid, ...(c.routing.get('director1') as FrrHandle).processes.map((p) => p.pid)];
    const kill = await stamped(c.host('director1'), `ip link set eth0 down; kill -9 ${pids.join(' ')}`);
    await c.waitFib([ECMP_ADDRESSES.director2, ECMP_ADDRESSES.director3], 20_000);
    const removalMs = c.fib.firstChangeAfter(kill);
    await sleep(Math.max(0, kill + OBSERVE_MS - Date.now()));
    const s = summarizeFlows(await flows.report(), kill);
    await flows.stop();
    return {
      removalMs, flowsAgainMs: s.recoveredMs, longestStallMs: s.longestStallMs, broken: s.broken, failed: s.requestsFailed - base.requests.failed,
      slow: s.slowRequests, through, stalled: s.stalled, requests: s.requestsOk - base.requests.ok,
    };
  } finally { await c.stop(); }
}

async function vrrpRun(kernel: LabKernel, interval: string): Promise<Sample> {
  const lab = await Lab.start('director-pair', { kernel, services: false });
  try {
    const A = ADDRESSES;
    // NAT, the pair's usual forwarding here: the real servers' gateway 10.0.1.1 moves with the VIP.
    // (DR cannot work in this topology: the replies would reach the director from its own VIP, a
    // martian source it drops; behind ECMP they go to the router instead.)
    await Promise.all(REAL_SERVERS.map((rs) => lab.host(rs).startNginx({ extra: '    keepalive_timeout 600s; keepalive_requests 10000000;' })));
    const lvsd = new Map<string, LabProcess>();
    for (const [d, prio] of [['director1', 200], ['director2', 100]] as const) {
      // sloppy_tcp as on the ECMP directors: the new master accepts the middle of a connection.
      await lab.host(d).sh('sysctl -qw net.ipv4.vs.sloppy_tcp=1');
      const file = join(lab.dir, `${d}.yaml`);
      writeFileSync(file, `
global:
  router_id: ${d}
  state_file: ${lab.dir}/${d}-state.json
  control: { listen: "unix:${lab.dir}/${d}.sock" }
  log: { format: json }
vrrp_instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: ${prio}
    version: 3
    advert_interval: ${interval}
    virtual_ips: ["${A.vip4}/24", { address: "${A.gateway4}/24", device: eth1 }]
virtual_services:
  - name: web
    address: ${A.vip4}:80
    scheduler: mh
    scheduler_flags: [mh-port]
    forwarding: nat
    checks: [{ type: tcp, interval: 300ms, timeout: 200ms, delay_before_retry: 100ms }]
    real_servers:
      - address: ${A.rs1_4}:80
      - address: ${A.rs2_4}:80
      - address: ${A.rs3_4}:80
`);
      const p = await lab.host(d).spawnNode(LVSD_BIN, ['run', '-c', file]);
      await p.waitFor(/"msg":"ready"/, { timeoutMs: 60_000 });
      lvsd.set(d, p);
    }
    await lvsd.get('director1')!.waitFor(/"msg":"web: \w+ -> master/, { timeoutMs: 30_000 });
    await lvsd.get('director2')!.waitFor(/"msg":"web: \w+ -> backup/, { timeoutMs: 30_000 });
    const flows = await startFlows(lab.host('client'), { vip: A.vip4, ...FLOWS });
    await sleep(3000);
    const base = await flows.report();
    const kill = await stamped(lab.host('director1'), `ip link set eth0 down; ip link set eth1 down; kill -9 ${lvsd.get('director1')!.pid}`);
    await lvsd.get('director2')!.waitFor(/"msg":"web: backup -> master/, { timeoutMs: 20_000 });
    const removalMs = logTime(lvsd.get('director2')!, /"msg":"web: backup -> master/) - kill;
    await sleep(Math.max(0, kill + OBSERVE_MS - Date.now()));
    const s = summarizeFlows(await flows.report(), kill);
    await flows.stop();
    return {
      removalMs, flowsAgainMs: s.recoveredMs, longestStallMs: s.longestStallMs, broken: s.broken, failed: s.requestsFailed - base.requests.failed,
      slow: s.slowRequests, through: base.long.length, stalled: s.stalled, requests: s.requestsOk - base.requests.ok,
    };
  } finally { await lab.stop(); }
}

export async function run(args: string[]): Promise<BenchResult[]> {
  if (!isRoot()) throw new Error('the lab needs root');
  const ri = args.indexOf('--runs');
  const runs = ri >= 0 ? Number(args[ri + 1]) : 3;
  const vi = args.indexOf('--vrrp-interval');
  const interval = vi >= 0 ? args[vi + 1]! : '1s';
  const kernel = await bootKernel();
  const ecmp: Sample[] = [], vrrp: Sample[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      for (const [name, f, into] of [['ecmp', () => ecmpRun(kernel), ecmp], ['vrrp', () => vrrpRun(kernel, interval), vrrp]] as const) {
        try {
          const s = await f();
          into.push(s);
          log(`run ${i + 1}/${runs} ${name}: ${JSON.stringify(s)}`);
        } catch (e) { log(`run ${i + 1}/${runs} ${name}: ${(e as Error).stack ?? e}`); }
      }
    }
  } finally { await kernel.stop(); }
  if (!ecmp.length || !vrrp.length) throw new Error(`no complete run (ecmp ${ecmp.length}, vrrp ${vrrp.length})`);
  const setup = {
    lvsd_setup: 'ECMP+BFD: 3 directors, lvsd announce + FRR, router FRR, BFD 300 ms x 5',
    reference_setup: `VRRP pair: 2 directors, lvsd VRRP v3 advert ${interval}, NAT, mh + sloppy_tcp, no connection sync`,
    load: `${FLOWS.long} long-lived keep-alive connections (request every ${FLOWS.everyMs} ms), ${FLOWS.loops} new-connection loops`,
    failure: 'links down + kill -9 of lvsd (and FRR) on one director',
    runs_lvsd: ecmp.length, runs_reference: vrrp.length,
  };
  const med = (metric: string, k: keyof Sample, unit = 'ms'): BenchResult => {
    const a = median(ecmp.map((s) => s[k])), b = median(vrrp.map((s) => s[k]));
    return { bench: 'ecmp', metric, lvsd: round(a), reference: round(b), ratio: round(a / b, 3), unit,
      lvsd_samples: ecmp.map((s) => s[k]), reference_samples: vrrp.map((s) => s[k]), ...setup };
  };
  const total = (metric: string, k: keyof Sample): BenchResult => {
    const a = ecmp.reduce((x, s) => x + s[k], 0), b = vrrp.reduce((x, s) => x + s[k], 0);
    return { bench: 'ecmp', metric, lvsd: a, reference: b, ratio: b ? round(a / b, 3) : NaN, unit: 'count (all runs)',
      lvsd_samples: ecmp.map((s) => s[k]), reference_samples: vrrp.map((s) => s[k]), goal: 0, ...setup };
  };
  return [
    med('removal_ms', 'removalMs'),
    med('traffic_flows_again_ms', 'flowsAgainMs'),
    med('longest_stall_ms', 'longestStallMs'),
    total('broken_long_lived', 'broken'),
    total('failed_new_requests', 'failed'),
    { ...total('slow_new_requests', 'slow'), goal: undefined },
    { ...med('long_lived_through_failed_director', 'through', 'count'), note: 'ECMP: flows through director1 (ipvsadm -Lnc); VRRP: all of them' },
  ];
}
