// `npm run bench -- vrrp [--runs N] [--quick] [--only PREFIX[,PREFIX...]] [--sched fifo] [--worker] [--soak SECONDS]`:
// lvsd's VRRP engine side by side with keepalived 2.2.7, both measured the same way in host network
// namespaces (directors a, b, client c on one bridge). Wire times come from tcpdump in the client
// (kernel timestamps), decoded by tshark; VIP-add times from ftrace (vrrp-ftrace.ts).
// Figures (median of N runs):
//   advert_gap_*         last advert of the SIGKILLed master -> first advert of the new master
//                        (goal: Master_Down_Interval within 1 ms)
//   advert_to_announce_* first advert of a new master -> its first GARP / NA on the wire
//   vip_to_announce_*    VIP in the kernel (RTM_NEWADDR handled) -> first GARP / NA handed to the driver,
//                        ftrace in the director's own context (goal <= 0.3 ms)
//   advert_jitter_p99_*  p99 of |advert gap - 50 ms| of a lone master over 10 s (goal <= 2 ms)
//   graceful_stop_*      priority-0 advert -> first advert of the backup as master (goal: Skew_Time + 5 ms)
//   *_loaded             the director that acts runs 4,000 TCP checks/s of the real CheckRunner in its
//                        process (1,000 services x 4 servers, 1 s); *_loaded_worker: its engine in
//                        VrrpWorker. keepalived runs without checks (its checker is another process).
//   --soak SECONDS       a and b both loaded for SECONDS: spurious transitions (goal 0) and jitter.
//   --sched fifo         both implementations under SCHED_FIFO 10 (chrt / keepalived vrrp_rt_priority):
//                        on a machine shared with other work, the only way timing figures mean anything.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { VRRP_MAIN, VrrpLan, canRunNetns, sh, configYaml, haveKeepalived, instanceYaml, sleep, type Proc } from '../integration/vrrp-netns.js';
import { masterDownIntervalMs, skewTimeMs } from '../../vrrp/timers.js';
import type { BenchResult } from './main.js';
import { median } from './_stats.js';
import { KernelTrace, vipToAnnounceMs } from '../integration/vrrp-ftrace.js';

type Impl = 'lvsd' | 'keepalived';
interface Mode { key: string; version: 2 | 3; intervalMs: number; family: 'ipv4' | 'ipv6' }
const MODES: Mode[] = [
  { key: 'v2_1s', version: 2, intervalMs: 1000, family: 'ipv4' },
  { key: 'v3_100ms', version: 3, intervalMs: 100, family: 'ipv4' },
  { key: 'v3_50ms', version: 3, intervalMs: 50, family: 'ipv4' },
  { key: 'v3_ipv6_100ms', version: 3, intervalMs: 100, family: 'ipv6' },
];
const log = (s: string) => process.stderr.write(`${s}\n`);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function vipOf(m: Mode): string { return m.family === 'ipv4' ? '192.0.2.10/24' : '2001:db8::10/64'; }

/**
 * Under load: 1,000 virtual services x 4 real servers, a TCP check each every second = 4,000 checks/s
 * by the real CheckRunner inside the lvsd process (vrrp/main.ts --with-checkers). Targets: 100
 * addresses x 40 ports on the client namespace, served by one process that accepts and closes.
 */
const LOAD_SERVICES = 1000, LOAD_SERVERS = 4, LOAD_ADDRESSES = 100, LOAD_PORT = 8000;
const LOAD_PORTS = (LOAD_SERVICES * LOAD_SERVERS) / LOAD_ADDRESSES;
export const LOAD_CHECKS_PER_S = LOAD_SERVICES * LOAD_SERVERS;

export function loadServicesYaml(): string {
  const out = ['checks:', '  - {name: tcp, type: tcp, interval: 1s, timeout: 500ms, retries: 1}', 'virtual_services:'];
  for (let i = 0; i < LOAD_SERVICES; i++) {
    const rs: string[] = [];
    for (let j = 0; j < LOAD_SERVERS; j++) {
      const port = LOAD_PORT + Math.floor(i / LOAD_ADDRESSES) * LOAD_SERVERS + j;
      rs.push(`{address: "192.0.2.${100 + (i % LOAD_ADDRESSES)}:${port}"}`);
    }
    out.push(`  - {name: vs${i}, address: "198.51.100.${1 + (i % 250)}:${10000 + i}", forwarding: nat, checks: [tcp], real_servers: [${rs.join(', ')}]}`);
  }
  return out.join('\n') + '\n';
}

/** The check targets in the client namespace; resolves once every port listens. */
async function startTargets(l: VrrpLan): Promise<void> {
  const batch = Array.from({ length: LOAD_ADDRESSES }, (_, i) => `addr add 192.0.2.${100 + i}/24 dev eth0`).join('\n');
  l.exec('c', ['ip', '-batch', l.file('targets.batch', `${batch}\n`)]);
  const server = l.file('targets.mjs', `import net from 'node:net';\nlet n = 0;\n`
    + `for (let p = ${LOAD_PORT}; p < ${LOAD_PORT + LOAD_PORTS}; p++) net.createServer((c) => c.destroy()).listen({ port: p, backlog: 4096 }, () => { if (++n === ${LOAD_PORTS}) console.log('listening'); });\n`);
  const p = l.spawn('c', [process.execPath, server]);
  await p.waitFor(/^listening$/, 10_000);
}

/** Probes per second the loaded lvsd reports (its `checks:` lines), over its last `windowS` seconds. */
function checkRate(p: Proc, windowS = 5): number {
  const pts = p.lines.map((x) => /^checks: (\d+) ok \d+ at (\d+)/.exec(x)).filter((m): m is RegExpExecArray => !!m).map((m) => [Number(m[1]), Number(m[2])] as const);
  if (pts.length < 2) return NaN;
  const last = pts.at(-1)!, first = pts[Math.max(0, pts.length - 1 - windowS)]!;
  return ((last[0] - first[0]) * 1000) / (last[1] - first[1]);
}

/**
 * `--sched fifo`: both implementations run under SCHED_FIFO priority 10 (chrt), as a director would
 * with systemd's CPUSchedulingPolicy=fifo (keepalived: vrrp_rt_priority). On a shared, overloaded
 * machine that is what separates the protocol's timing from the neighbours' load.
 */
let schedPrefix: string[] = [];
/** lvsd's engine in its worker thread (vrrp/worker.ts) for the figures measured inside worker(). */
let workerMode = false;
async function worker<T>(f: () => Promise<T>): Promise<T> {
  workerMode = true;
  try { return await f(); } finally { workerMode = false; }
}

function start(l: VrrpLan, impl: Impl, node: string, m: Mode, priority: number, load = false): Proc {
  if (impl === 'lvsd') {
    const yaml = configYaml([instanceYaml({ name: 'vi_1', vrid: 1, priority, version: m.version, interval: `${m.intervalMs}ms`, vips: [vipOf(m)] })], load ? loadServicesYaml() : '');
    return l.spawn(node, [...schedPrefix, process.execPath, VRRP_MAIN, '-c', l.file(`${node}-${Date.now()}.yaml`, yaml), ...(load ? ['--with-checkers'] : []), ...(workerMode ? ['--worker'] : [])]);
  }
  if (schedPrefix.length) {
    const conf = `vrrp_instance vi_1 {\n  state ${priority > 150 ? 'MASTER' : 'BACKUP'}\n  interface eth0\n  virtual_router_id 1\n  priority ${priority}\n`
      + `  version ${m.version}\n  advert_int ${m.intervalMs / 1000}\n  virtual_ipaddress {\n    ${vipOf(m)}\n  }\n}\n`;
    return l.keepalived(node, `global_defs {\n  vrrp_rt_priority 10\n}\n${conf}`);
  }
  return l.keepalived(node, `vrrp_instance vi_1 {\n  state ${priority > 150 ? 'MASTER' : 'BACKUP'}\n  interface eth0\n  virtual_router_id 1\n  priority ${priority}\n`
    + `  version ${m.version}\n  advert_int ${m.intervalMs / 1000}\n  virtual_ipaddress {\n    ${vipOf(m)}\n  }\n}\n`);
}

const isMaster = (impl: Impl, p: Proc) => p.lines.some((x) => impl === 'lvsd' ? /vi_1: \w+ -> master/.test(x) : x.includes('(vi_1) Entering MASTER STATE'));
const isBackup = (impl: Impl, p: Proc) => p.lines.some((x) => impl === 'lvsd' ? /vi_1: \w+ -> backup/.test(x) : x.includes('(vi_1) Entering BACKUP STATE'));

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) { if (Date.now() > end) throw new Error(`timeout: ${what}`); await sleep(10); }
}

/** lvsd processes under load report their check rate here (the `checks_per_s` of the loaded figures). */
const observedRates: number[] = [];

/** a (priority 200) up and master first, then b (100) up and backup: where both failover figures start. b carries the load. */
async function masterThenBackup(l: VrrpLan, impl: Impl, m: Mode, load = false): Promise<{ a: Proc; b: Proc }> {
  const a = start(l, impl, 'a', m, 200);
  await until(() => isMaster(impl, a), 10_000, 'a master');
  if (load && impl === 'lvsd') await startTargets(l);
  const b = start(l, impl, 'b', m, 100, load);
  await until(() => isBackup(impl, b), 10_000, 'b backup');
  if (load && impl === 'lvsd') await rampUp(b);
  return { a, b };
}

/** Checks start spread over their first interval: wait until the full rate runs. */
async function rampUp(p: Proc): Promise<void> {
  await until(() => checkRate(p, 2) >= LOAD_CHECKS_PER_S * 0.9, 15_000, `check rate (now ${checkRate(p, 2).toFixed(0)}/s)`);
}

interface Row { t: number; src: string; vrid: string; prio: string; arp: string; na: string }

async function capture(l: VrrpLan, during: () => Promise<void>): Promise<Row[]> {
  const pcap = `${l.dir}/bench.pcap`;
  const dump = l.spawn('c', ['tcpdump', '-i', 'eth0', '--immediate-mode', '-U', '-w', pcap, 'ip proto 112 or ip6 proto 112 or arp or icmp6']);
  await dump.waitFor(/listening/, 5000);
  await during();
  dump.kill('SIGINT');
  await dump.exited;
  const r = spawnSync('tshark', ['-r', pcap, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'eth.src', '-e', 'vrrp.virt_rtr_id',
    '-e', 'vrrp.prio', '-e', 'arp.src.proto_ipv4', '-e', 'icmpv6.nd.na.target_address'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark: ${r.stderr}`);
  if (process.env.LVSD_BENCH_DEBUG) log(`${dump.lines.join('\n')}\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((line) => {
    const [t, src, vrid, prio, arp, na] = line.split('|');
    return { t: Number(t) * 1000, src: src!, vrid: vrid!, prio: prio!, arp: arp!, na: na! };
  });
}

/**
 * A crash: no priority-0 advert. keepalived's parent would make its VRRP child leave gracefully
 * (and respawn it), so both die: the VRRP child first, then the parent.
 */
function crash(l: VrrpLan, impl: Impl, node: string, p: Proc): void {
  if (impl === 'keepalived') {
    const pid = Number(l.read(`${node}-ka-vrrp.pid`).trim());
    if (pid > 0) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }
  p.kill('SIGKILL');
}

/** SIGKILL the master; gap between its last advert and the backup's first. */
async function advertGap(impl: Impl, m: Mode, load = false): Promise<number> {
  const l = new VrrpLan();
  try {
    const { a, b } = await masterThenBackup(l, impl, m, load);
    await sleep(Math.max(300, 3 * m.intervalMs));
    const rows = await capture(l, async () => {
      await sleep(2 * m.intervalMs);
      crash(l, impl, 'a', a);
      await until(() => isMaster(impl, b), 10_000, 'b master');
      await sleep(2 * m.intervalMs + 50);
    });
    const adverts = rows.filter((r) => r.vrid === '1');
    const firstB = adverts.find((r) => r.src === l.nodes.b!.mac);
    if (!firstB) throw new Error('no advert from b');
    if (load && impl === 'lvsd') observedRates.push(checkRate(b));
    const lastA = adverts.filter((r) => r.src === l.nodes.a!.mac && r.t < firstB.t).pop();
    if (!lastA) throw new Error('no advert from a');
    return firstB.t - lastA.t;
  } finally { l.stop(); }
}

/** Priority-0 advert of the stopping master -> first advert of the backup. */
async function gracefulStop(impl: Impl, m: Mode, load = false): Promise<number> {
  const l = new VrrpLan();
  try {
    const { a, b } = await masterThenBackup(l, impl, m, load);
    await sleep(300);
    const rows = await capture(l, async () => {
      a.kill('SIGTERM');
      await until(() => isMaster(impl, b), 10_000, 'b master');
      await sleep(2 * m.intervalMs + 50);
    });
    const adverts = rows.filter((r) => r.vrid === '1');
    const zero = adverts.find((r) => r.src === l.nodes.a!.mac && r.prio === '0');
    const firstB = adverts.find((r) => r.src === l.nodes.b!.mac);
    if (!zero || !firstB) throw new Error('no priority-0 advert or no advert from b');
    if (load && impl === 'lvsd') observedRates.push(checkRate(b));
    return firstB.t - zero.t;
  } finally { l.stop(); }
}

/**
 * A lone director becomes master: its first advert -> its first GARP / NA for the VIP, both on the
 * wire. The VIP is added between the two (keepalived and lvsd both send the advert first), so this
 * is an upper bound of VIP added -> first announcement that needs no clock but the capture's.
 * (`ip -ts monitor address` was tried as the VIP-add clock: its wake-up jitter, up to 20 ms here,
 * swamped the sub-millisecond figure.)
 */
async function advertToAnnounce(impl: Impl, m: Mode): Promise<number> {
  const l = new VrrpLan();
  try {
    const vip = vipOf(m).split('/')[0]!;
    const rows = await capture(l, async () => {
      const a = start(l, impl, 'a', m, 200);
      await until(() => isMaster(impl, a), 10_000, 'a master');
      await sleep(100);
    });
    const advert = rows.find((r) => r.vrid === '1' && r.src === l.nodes.a!.mac);
    const first = rows.find((r) => r.arp === vip || r.na === vip);
    if (!advert || !first) throw new Error('no advert or no GARP/NA');
    return first.t - advert.t;
  } finally { l.stop(); }
}

/**
 * A lone director becomes master: its VIP appears in the kernel (the netlink ACK / notification of the
 * RTM_NEWADDR, queued inside the add) -> its first GARP / NA handed to the driver, both from ftrace in
 * the director's own process context on CLOCK_MONOTONIC (vrrp-ftrace.ts). Goal <= 0.3 ms.
 */
async function vipToAnnounce(impl: Impl, m: Mode, trace: KernelTrace, load = false): Promise<number> {
  const l = new VrrpLan();
  try {
    let node = 'a';
    if (load && impl === 'lvsd') { // keepalived: the lone director below, as in the unloaded figure
      // Under load the taking-over director must already run its checks: b (loaded) takes over from a.
      const { a, b } = await masterThenBackup(l, impl, m, true);
      trace.start();
      crash(l, impl, 'a', a);
      await until(() => isMaster(impl, b), 10_000, 'b master');
      observedRates.push(checkRate(b));
      node = 'b';
    } else {
      trace.start();
      const a = start(l, impl, 'a', m, 200);
      await until(() => isMaster(impl, a), 10_000, 'a master');
    }
    await sleep(100);
    // Every thread of the namespace's processes: with --worker the engine runs on a thread of its own.
    const pids = sh(['ip', 'netns', 'pids', l.nodes[node]!.ns]).split('\n').filter(Boolean)
      .flatMap((pid) => { try { return readdirSync(`/proc/${pid}/task`).map(Number); } catch { return [Number(pid)]; } });
    const r = vipToAnnounceMs(trace.stop(pids), m.family);
    if (!r) throw new Error('no VIP add / announcement pair in the trace');
    return r.ms;
  } finally { l.stop(); }
}

/** p99 of |gap - interval| between consecutive adverts of one sender on the wire. */
function jitterP99(rows: Row[], mac: string, intervalMs: number): { p99: number; n: number; max: number } {
  const t = rows.filter((r) => r.vrid === '1' && r.src === mac).map((r) => r.t);
  const dev = t.slice(1).map((x, i) => Math.abs(x - t[i]! - intervalMs)).sort((p, q) => p - q);
  return { p99: dev[Math.floor(dev.length * 0.99)] ?? NaN, n: dev.length, max: dev.at(-1) ?? NaN };
}

/**
 * A lone master sending every 50 ms for 10 s: p99 of |advert gap - 50 ms| on the wire. lvsd runs
 * idle, or with 4,000 TCP checks/s of its real CheckRunner in the same process (load); keepalived idle
 * is the reference.
 */
async function advertJitterP99(impl: Impl, load: boolean): Promise<number> {
  const l = new VrrpLan();
  try {
    const m: Mode = { key: 'v3_50ms', version: 3, intervalMs: 50, family: 'ipv4' };
    if (load && impl === 'lvsd') await startTargets(l);
    const a = start(l, impl, 'a', m, 200, load && impl === 'lvsd');
    await until(() => isMaster(impl, a), 10_000, 'a master');
    if (load && impl === 'lvsd') await rampUp(a);
    const rows = await capture(l, async () => { await sleep(10_000); });
    if (load && impl === 'lvsd') observedRates.push(checkRate(a));
    const j = jitterP99(rows, l.nodes.a!.mac, 50);
    if (j.n < 100) throw new Error(`only ${j.n} adverts`);
    return j.p99;
  } finally { l.stop(); }
}

/**
 * `--soak SECONDS`: a (200) master and b (100) backup, both lvsd, v3 50 ms, each running 4,000 TCP
 * checks/s in its own process, for SECONDS. Counts state transitions after the start-up ones (goal:
 * none) and the master's advert jitter p99 over the whole run, from a client capture.
 */
async function soak(seconds: number): Promise<BenchResult[]> {
  const l = new VrrpLan();
  try {
    const m: Mode = { key: 'v3_50ms', version: 3, intervalMs: 50, family: 'ipv4' };
    await startTargets(l);
    const a = start(l, 'lvsd', 'a', m, 200, true);
    await until(() => isMaster('lvsd', a), 10_000, 'a master');
    const b = start(l, 'lvsd', 'b', m, 100, true);
    await until(() => isBackup('lvsd', b), 10_000, 'b backup');
    await rampUp(a); await rampUp(b);
    const ta = a.lines.length, tb = b.lines.length;
    const rates: number[] = [];
    const rows = await capture(l, async () => {
      for (let s = 0; s < seconds; s += 10) {
        await sleep(10_000);
        rates.push(checkRate(a, 9), checkRate(b, 9));
        if (s % 60 === 0) log(`soak ${s + 10}/${seconds} s: check rates a ${rates.at(-2)!.toFixed(0)}/s b ${rates.at(-1)!.toFixed(0)}/s`);
      }
    });
    const transitions = [...a.lines.slice(ta), ...b.lines.slice(tb)].filter((x) => / -> /.test(x) && /vi_1:/.test(x));
    for (const x of transitions) log(`spurious: ${x}`);
    const j = jitterP99(rows, l.nodes.a!.mac, 50);
    const fromB = rows.filter((r) => r.vrid === '1' && r.src === l.nodes.b!.mac).length;
    return [{ bench: 'vrrp', metric: `soak_${seconds}s_spurious_transitions`, lvsd: transitions.length, reference: 0, ratio: NaN, unit: 'count',
      adverts_from_backup: fromB, checks_per_s_min: r3(Math.min(...rates)), checks_per_s_median: r3(median(rates)), goal: 0 },
    { bench: 'vrrp', metric: `soak_${seconds}s_advert_jitter_p99_loaded`, lvsd: r3(j.p99), reference: NaN, ratio: NaN, unit: 'ms', n: j.n, max: r3(j.max), goal: 2 }];
  } finally { l.stop(); }
}

export async function run(args: string[]): Promise<BenchResult[]> {
  if (!canRunNetns()) throw new Error('needs root and ip netns');
  const ka = haveKeepalived();
  const ri = args.indexOf('--runs');
  const runs = ri >= 0 ? Number(args[ri + 1]) : 5;
  const quick = args.includes('--quick');
  const modes = quick ? MODES.filter((m) => m.key !== 'v2_1s') : MODES;
  const out: BenchResult[] = [];
  const sc = args.indexOf('--sched');
  if (sc >= 0) {
    if (args[sc + 1] !== 'fifo') throw new Error('--sched takes fifo');
    schedPrefix = ['chrt', '-f', '10'];
  }
  if (args.includes('--worker')) workerMode = true; // every lvsd run in this invocation
  const si = args.indexOf('--soak');
  if (si >= 0) return soak(Number(args[si + 1] ?? 600));
  const oi = args.indexOf('--only');
  const only = oi >= 0 ? args[oi + 1]! : '';
  const both = async (metric: string, f: (impl: Impl) => Promise<number>, ideal?: number) => {
    if (!only.split(',').some((o) => metric.startsWith(o))) return;
    observedRates.length = 0;
    const samples: Record<Impl, number[]> = { lvsd: [], keepalived: [] };
    for (let i = 0; i < runs; i++) {
      for (const impl of (ka ? ['lvsd', 'keepalived'] : ['lvsd']) as Impl[]) {
        try { samples[impl].push(await f(impl)); } catch (e) { log(`${metric} ${impl} run ${i}: ${(e as Error).message}`); }
      }
      log(`${metric} run ${i + 1}/${runs}: lvsd ${samples.lvsd.at(-1)?.toFixed(3)} keepalived ${samples.keepalived.at(-1)?.toFixed(3)}`);
    }
    const lv = median(samples.lvsd), ref = ka ? median(samples.keepalived) : NaN;
    out.push({ bench: 'vrrp', metric, lvsd: r3(lv), reference: r3(ref), ratio: r3(lv / ref), unit: 'ms', n: samples.lvsd.length,
      lvsd_min: r3(Math.min(...samples.lvsd)), lvsd_max: r3(Math.max(...samples.lvsd)),
      reference_min: r3(Math.min(...samples.keepalived)), reference_max: r3(Math.max(...samples.keepalived)),
      ...(ideal !== undefined ? { ideal: r3(ideal), lvsd_error: r3(lv - ideal) } : {}),
      ...(observedRates.length ? { checks_per_s: r3(median(observedRates)), reference_load: 'none (keepalived idle)' } : {}) });
    log(JSON.stringify(out.at(-1)));
  };
  for (const m of modes) await both(`advert_gap_${m.key}`, (impl) => advertGap(impl, m), masterDownIntervalMs(m.version, 100, m.intervalMs));
  for (const m of modes.filter((x) => x.key === 'v3_100ms' || x.key === 'v3_ipv6_100ms')) await both(`advert_to_announce_${m.family}`, (impl) => advertToAnnounce(impl, m));
  const trace = KernelTrace.open();
  if (typeof trace === 'string') log(`vip_to_announce: skipped (${trace})`);
  else {
    try {
      for (const m of modes.filter((x) => x.key === 'v3_100ms' || x.key === 'v3_ipv6_100ms')) await both(`vip_to_announce_${m.family}`, (impl) => vipToAnnounce(impl, m, trace));
      await both('vip_to_announce_ipv4_loaded', (impl) => vipToAnnounce(impl, MODES[1]!, trace, true));
      await both('vip_to_announce_ipv4_loaded_worker', (impl) => worker(() => vipToAnnounce(impl, MODES[1]!, trace, true)));
    } finally { trace.close(); }
  }
  await both('advert_jitter_p99_idle', (impl) => advertJitterP99(impl, false));
  await both('advert_jitter_p99_loaded', (impl) => advertJitterP99(impl, true));
  await both('advert_jitter_p99_loaded_worker', (impl) => worker(() => advertJitterP99(impl, true)));
  for (const m of modes.filter((x) => x.key === 'v3_100ms' || x.key === 'v3_50ms')) {
    await both(`advert_gap_${m.key}_loaded`, (impl) => advertGap(impl, m, true), masterDownIntervalMs(m.version, 100, m.intervalMs));
    await both(`advert_gap_${m.key}_loaded_worker`, (impl) => worker(() => advertGap(impl, m, true)), masterDownIntervalMs(m.version, 100, m.intervalMs));
  }
  const g = quick ? MODES[1]! : MODES[0]!;
  await both(`graceful_stop_${g.key}`, (impl) => gracefulStop(impl, g), skewTimeMs(g.version, 100, g.intervalMs));
  await both(`graceful_stop_v3_100ms_loaded`, (impl) => gracefulStop(impl, MODES[1]!, true), skewTimeMs(3, 100, 100));
  await both(`graceful_stop_v3_100ms_loaded_worker`, (impl) => worker(() => gracefulStop(impl, MODES[1]!, true)), skewTimeMs(3, 100, 100));
  return out;
}
