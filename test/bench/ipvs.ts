// `npm run bench -- ipvs [RUNS] [SIZES]`: programming N services x 4 destinations into an empty IPVS
// table, lvsd (one process, batched generic netlink) against `ipvsadm -R` of the same table, each on a
// fresh lab kernel (IPVS keeps deleted destinations in a trash list that slows later adds), RUNS times
// (default 3); SIZES default "1000,10000". Then a single weight change in the 10k table.
// Both sides are timed inside the lab kernel: ipvsadm from just before exec to its exit (its process
// start-up is included, as an operator would pay it); lvsd from after its modules loaded (a daemon pays
// Node's start-up once, not per change) to the last ACK, covering family resolution, reading the table,
// reconciling and sending. Node's start-up inside UML is reported beside it (lvsd_process_ms).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './main.js';
import { bootKernel } from '../../src/lab/kernel.js';
import { Lab } from '../../src/lab/lab.js';
import type { Topology } from '../../src/lab/topology.js';
import { renderSave } from '../../ipvs/ipvsadm-format.js';
import { AF_INET, IP_VS_CONN_F_MASQ, IPPROTO_TCP } from '../../ipvs/constants.js';
import type { IpvsTable } from '../../ipvs/table.js';
import { median, round } from './_stats.js';

// LVSD_BENCH_DIST: another build's dist tree to program with (a before/after comparison).
const IPVS_DIST = process.env.LVSD_BENCH_DIST ? join(process.env.LVSD_BENCH_DIST, 'ipvs/') : fileURLToPath(new URL('../../ipvs/', import.meta.url));

const topology: Topology = {
  name: 'ipvs-bench',
  lans: { lan: {} },
  hosts: { director: { ifaces: { eth0: { lan: 'lan', addrs: ['192.168.0.254/16'] } } } },
};

export function benchTable(services: number): IpvsTable {
  return Array.from({ length: services }, (_, i) => ({
    service: { af: AF_INET, protocol: IPPROTO_TCP, addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 80, fwmark: 0,
      schedName: 'wlc', flags: 0, timeout: 0, netmask: 0xffffffff, peName: '' },
    dests: [1, 2, 3, 4].map((d) => ({ addrFamily: AF_INET, addr: `192.168.${1 + (i % 200)}.${d}`, port: 8080, fwdMethod: IP_VS_CONN_F_MASQ,
      weight: 1, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0 })),
  }));
}

// Runs inside the lab kernel: program the table, then (optionally) time single weight changes.
const LVSD_SCRIPT = `
const t0 = performance.now();
const { IpvsClient } = await import(${JSON.stringify(join(IPVS_DIST, 'client.js'))});
const { IpvsTableSync } = await import(${JSON.stringify(join(IPVS_DIST, 'sync.js'))});
const { serviceKey } = await import(${JSON.stringify(join(IPVS_DIST, 'service.js'))});
const { indexTable } = await import(${JSON.stringify(join(IPVS_DIST, 'reconcile.js'))});
const { readFileSync } = await import('node:fs');
const table = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const changes = Number(process.argv[3] ?? 0);
const start = performance.now();
const client = await IpvsClient.open();
const sync = new IpvsTableSync(client);
const report = await sync.apply(table);
const programMs = performance.now() - start;
const desired = indexTable(table);
const weightMs = [], fullMs = [];
for (let i = 0; i < changes; i++) {
  const e = table[(i * 7919) % table.length];
  e.dests[i % 4].weight = 2 + (i % 5);
  const key = serviceKey(e.service);
  desired.set(key, indexTable([e]).get(key));
  const w0 = client.writes, t = performance.now();
  const r = await sync.apply(desired, { only: [key] });
  weightMs.push(performance.now() - t);
  if (client.writes - w0 !== 1 || r.errors.length) throw new Error('a weight change was not exactly one write: ' + JSON.stringify(r));
}
// The same change found by a full reconcile over the whole table (no hint of what changed).
for (let i = 0; i < Math.min(changes, 5); i++) {
  const e = table[(i * 104729) % table.length];
  e.dests[0].weight = 20 + i;
  const key = serviceKey(e.service);
  desired.set(key, indexTable([e]).get(key));
  const w0 = client.writes, t = performance.now();
  await sync.apply(desired);
  fullMs.push(performance.now() - t);
  if (client.writes - w0 !== 1) throw new Error('full reconcile wrote ' + (client.writes - w0));
}
// A restart: a new shell adopts the whole table (dump of services, one destination dump per service).
let adoptMs = 0;
if (changes) {
  const t = performance.now();
  const adopted = await new IpvsTableSync(client).apply(desired);
  adoptMs = performance.now() - t;
  if (adopted.writes !== 0) throw new Error('adoption wrote ' + adopted.writes);
}
console.log(JSON.stringify({ programMs, loadMs: start - t0, writes: report.writes, errors: report.errors.length, weightMs, fullMs, adoptMs }));
client.close();
`;


interface LvsdRun { programMs: number; loadMs: number; writes: number; errors: number; weightMs: number[]; fullMs: number[]; adoptMs: number; processMs: number }

/** One fresh kernel: runs `what` in the director namespace and returns its result. */
async function onFreshKernel<T>(what: (lab: Lab) => Promise<T>): Promise<T> {
  const kernel = await bootKernel();
  try {
    const lab = await Lab.start(topology, { kernel, services: false });
    try { return await what(lab); } finally { await lab.stop(); }
  } finally {
    await kernel.stop();
  }
}

async function ipvsadmRestore(services: number): Promise<number> {
  return onFreshKernel(async (lab) => {
    const file = join(lab.dir, 'table.sn');
    writeFileSync(file, renderSave(benchTable(services), { nosort: true }));
    const out = await lab.host('director').sh(`a=$(date +%s%N); ipvsadm -R < ${file}; b=$(date +%s%N); n=$(ipvsadm -Sn | grep -c -- '^-a'); echo $(( (b - a) / 1000 )) $n`, { timeoutMs: 300_000 });
    const [us, n] = out.trim().split(' ').map(Number);
    if (n !== services * 4) throw new Error(`ipvsadm -R programmed ${n} destinations, not ${services * 4}`);
    return us! / 1000;
  });
}

async function lvsdProgram(services: number, changes: number): Promise<LvsdRun> {
  return onFreshKernel(async (lab) => {
    const file = join(lab.dir, 'table.json');
    writeFileSync(file, JSON.stringify(benchTable(services)));
    const scriptFile = join(lab.dir, 'lvsd-bench.mjs');
    writeFileSync(scriptFile, LVSD_SCRIPT);
    const d = lab.host('director');
    const out = await d.sh(`a=$(date +%s%N); ${process.execPath} ${scriptFile} ${file} ${changes} 2>&1; b=$(date +%s%N); echo $(( (b - a) / 1000 )); ipvsadm -Sn | grep -c -- '^-a'`, { timeoutMs: 300_000 });
    const lines = out.trim().split('\n');
    const json = lines.findIndex((l) => l.startsWith('{"programMs"'));
    if (json < 0) throw new Error(`lvsd bench script failed:\n${out}`);
    const r = JSON.parse(lines[json]!) as Omit<LvsdRun, 'processMs'>;
    const dests = Number(lines[json + 2]);
    if (r.errors || dests !== services * 4) throw new Error(`lvsd programmed ${dests} destinations (${r.errors} errors), not ${services * 4}`);
    return { ...r, processMs: Number(lines[json + 1]) / 1000 };
  });
}

/** ipvsadm -e of one destination in the same 10k table: what an operator (or keepalived's fork) pays. */
async function ipvsadmEdit(services: number): Promise<{ edits: number[]; listMs: number }> {
  return onFreshKernel(async (l) => {
    const file = join(l.dir, 'table.sn');
    writeFileSync(file, renderSave(benchTable(services), { nosort: true }));
    const script = `ipvsadm -R < ${file}; for i in 1 2 3 4 5 6 7 8 9 10; do a=$(date +%s%N); ipvsadm -e -t 10.0.1.1:80 -r 192.168.58.2:8080 -m -w $((i + 1)); b=$(date +%s%N); echo $(( (b - a) / 1000 )); done; ` +
      `a=$(date +%s%N); ipvsadm -Ln > /dev/null; b=$(date +%s%N); echo $(( (b - a) / 1000 ))`;
    const times = (await l.host('director').sh(script, { timeoutMs: 300_000 })).trim().split('\n').map((x) => Number(x) / 1000);
    return { edits: times.slice(0, -1), listMs: times.at(-1)! };
  });
}

// Runs inside the lab kernel: reads the whole table with IpvsClient.table() (from the dist tree given, so
// an older build can be compared in the same kernel) while a 1 ms interval timer measures how long the
// event loop went without running it (the longest synchronous piece), as VRRP's timers would feel it.
const READ_SCRIPT = `
const [dist, runs] = [process.argv[2], Number(process.argv[3])];
const { IpvsClient } = await import(dist + '/ipvs/client.js');
const { monitorEventLoopDelay } = await import('node:perf_hooks');
const client = await IpvsClient.open({ timeoutMs: 120000, ...(process.env.LVSD_DUMP_PARALLELISM ? { dumpParallelism: Number(process.env.LVSD_DUMP_PARALLELISM) } : {}) });
const out = [];
// The loop's own noise floor inside UML: the same timer over an idle second.
{
  let last = performance.now(), maxGap = 0;
  const tick = setInterval(() => { const now = performance.now(); maxGap = Math.max(maxGap, now - last); last = now; }, 1);
  await new Promise((r) => setTimeout(r, 1000));
  clearInterval(tick);
  console.log(JSON.stringify({ idleMaxGapMs: maxGap }));
}
for (let i = 0; i < runs; i++) {
  let last = performance.now(), maxGap = 0;
  const tick = setInterval(() => { const now = performance.now(); maxGap = Math.max(maxGap, now - last); last = now; }, 1);
  const h = monitorEventLoopDelay({ resolution: 1 }); h.enable();
  const t = performance.now();
  const table = await client.table();
  const ms = performance.now() - t;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(tick); h.disable();
  const dests = table.reduce((n, e) => n + e.dests.length, 0);
  out.push({ ms, maxStallMs: maxGap, loopDelayMaxMs: h.max / 1e6, services: table.length, dests });
}
console.log(JSON.stringify(out));
client.close();
`;

/** table() of the same services x 4 table by each dist tree, then `ipvsadm -Ln --stats --exact`, in one kernel. */
async function tableRead(services: number, runs: number, dists: Record<string, string>): Promise<{ lvsd: Record<string, { ms: number; maxStallMs: number; loopDelayMaxMs: number; dests: number }[]>; idle: Record<string, number>; ipvsadmMs: number[] }> {
  return onFreshKernel(async (lab) => {
    const file = join(lab.dir, 'table.sn');
    writeFileSync(file, renderSave(benchTable(services), { nosort: true }));
    const scriptFile = join(lab.dir, 'lvsd-read.mjs');
    writeFileSync(scriptFile, READ_SCRIPT);
    const d = lab.host('director');
    await d.sh(`ipvsadm -R < ${file}`, { timeoutMs: 300_000 });
    const lvsd: Record<string, { ms: number; maxStallMs: number; loopDelayMaxMs: number; dests: number }[]> = {};
    const idle: Record<string, number> = {};
    for (const [name, dist] of Object.entries(dists)) {
      // LVSD_BENCH_NODE_FLAGS (e.g. --trace-gc) goes to the node inside the lab; its output goes to stderr here.
      const out = await d.sh(`${process.env.LVSD_DUMP_PARALLELISM ? `LVSD_DUMP_PARALLELISM=${process.env.LVSD_DUMP_PARALLELISM} ` : ''}${process.execPath} ${process.env.LVSD_BENCH_NODE_FLAGS ?? ''} ${scriptFile} ${dist} ${runs} 2>&1`, { timeoutMs: 300_000 });
      const line = out.trim().split('\n').find((l) => l.startsWith('[{'));
      if (!line) throw new Error(`lvsd read script failed:\n${out}`);
      if (process.env.LVSD_BENCH_NODE_FLAGS) process.stderr.write(`${name}:\n${out}`);
      lvsd[name] = JSON.parse(line);
      idle[name] = JSON.parse(out.split('\n').find((l) => l.startsWith('{"idleMaxGapMs"'))!).idleMaxGapMs;
      for (const r of lvsd[name]!) if (r.dests !== services * 4) throw new Error(`${name} read ${r.dests} destinations, not ${services * 4}`);
    }
    const ref = await d.sh(`for i in $(seq ${runs}); do a=$(date +%s%N); ipvsadm -Ln --stats --exact > /dev/null; b=$(date +%s%N); echo $(( (b - a) / 1000 )); done`, { timeoutMs: 300_000 });
    return { lvsd, idle, ipvsadmMs: ref.trim().split('\n').map((x) => Number(x) / 1000) };
  });
}

async function readBench(services: number, runs: number, compare?: string): Promise<BenchResult> {
  const dists: Record<string, string> = { lvsd: fileURLToPath(new URL('../../', import.meta.url)) };
  if (compare) dists.before = compare;
  const { lvsd, idle, ipvsadmMs } = await tableRead(services, runs, dists);
  const ours = lvsd.lvsd!;
  const l = median(ours.map((r) => r.ms)), rf = median(ipvsadmMs);
  const before = lvsd.before;
  return {
    bench: 'ipvs', metric: `table_read_${(services * 4) / 1000}k`, lvsd: round(l), reference: round(rf), ratio: round(l / rf, 3), unit: 'ms',
    runs, services, destinations: services * 4, lvsd_runs: ours.map((r) => round(r.ms)), reference_runs: ipvsadmMs.map((x) => round(x)),
    lvsd_max_stall_ms: round(Math.max(...ours.map((r) => r.maxStallMs)), 1), lvsd_stall_runs: ours.map((r) => round(r.maxStallMs, 1)),
    idle_max_gap_ms: round(Math.max(...Object.values(idle)), 1), lvsd_loop_delay_max_ms: round(Math.max(...ours.map((r) => r.loopDelayMaxMs)), 1),
    ...(before ? { before_ms: round(median(before.map((r) => r.ms))), before_runs: before.map((r) => round(r.ms)),
      before_max_stall_ms: round(Math.max(...before.map((r) => r.maxStallMs)), 1), before_stall_runs: before.map((r) => round(r.maxStallMs, 1)) } : {}),
    reference_tool: 'ipvsadm -Ln --stats --exact (1.31)', kernel: 'UML 6.1, 1 vCPU',
    note: 'max stall: longest gap between ticks of a 1 ms interval timer while table() runs',
  };
}

export async function run(args: string[]): Promise<BenchResult[]> {
  // `npm run bench -- ipvs read [RUNS] [SERVICES] [OLD_DIST]`: the table-read figure alone, optionally
  // beside an older build's dist tree read in the same kernel.
  if (args[0] === 'read') return [await readBench(Number(args[2] ?? 2500), Number(args[1] ?? 3), args[3])];
  const runs = Number(args[0] ?? 3);
  const sizes = (args[1] ?? '1000,10000').split(',').map(Number);
  const results: BenchResult[] = [];
  const log = (s: string) => process.stderr.write(`ipvs bench: ${s}\n`);
  let lastLvsd: LvsdRun | undefined;
  for (const size of sizes) {
    const ref: number[] = [], ours: LvsdRun[] = [];
    for (let i = 0; i < runs; i++) {
      ref.push(await ipvsadmRestore(size));
      log(`${size}x4 ipvsadm -R run ${i + 1}: ${round(ref.at(-1)!)} ms`);
      // The weight-change and adoption figures come from the last run of the largest size only, so the
      // process times of the other runs are programming alone.
      ours.push(await lvsdProgram(size, size === Math.max(...sizes) && i === runs - 1 ? 50 : 0));
      log(`${size}x4 lvsd run ${i + 1}: ${round(ours.at(-1)!.programMs)} ms (process ${round(ours.at(-1)!.processMs)} ms)`);
    }
    const l = median(ours.map((r) => r.programMs)), rf = median(ref);
    results.push({
      bench: 'ipvs', metric: `program_${size >= 1000 ? `${size / 1000}k` : size}_x4`, lvsd: round(l), reference: round(rf), ratio: round(l / rf, 3), unit: 'ms',
      runs, lvsd_runs: ours.map((r) => round(r.programMs)), reference_runs: ref.map((x) => round(x)),
      lvsd_process_ms: round(median((ours.length > 1 && size === Math.max(...sizes) ? ours.slice(0, -1) : ours).map((r) => r.processMs))), lvsd_writes: ours[0]!.writes,
      reference_tool: 'ipvsadm -R (1.31)', kernel: 'UML 6.1, 1 vCPU',
    });
    if (size === Math.max(...sizes)) lastLvsd = ours.at(-1);
  }
  if (lastLvsd) {
    const size = Math.max(...sizes);
    const { edits, listMs } = await ipvsadmEdit(size);
    const w = median(lastLvsd.weightMs), e = median(edits);
    results.push({
      bench: 'ipvs', metric: `weight_change_${size / 1000}k`, lvsd: round(w, 3), reference: round(e, 3), ratio: round(w / e, 4), unit: 'ms',
      lvsd_p90: round([...lastLvsd.weightMs].sort((a, b) => a - b)[Math.floor(lastLvsd.weightMs.length * 0.9)]!, 3), lvsd_max: round(Math.max(...lastLvsd.weightMs), 3), samples: lastLvsd.weightMs.length, writes_per_change: 1,
      lvsd_full_reconcile_ms: round(median(lastLvsd.fullMs), 2), reference_tool: 'ipvsadm -e (one process per change)',
    });
    results.push({
      bench: 'ipvs', metric: `adopt_${size / 1000}k_x4`, lvsd: round(lastLvsd.adoptMs), reference: round(listMs), ratio: round(lastLvsd.adoptMs / listMs, 3), unit: 'ms',
      writes: 0, reference_tool: 'ipvsadm -Ln (reading the same table)', note: 'lvsd: dump + reconcile on restart, zero writes',
    });
  }
  results.push(await readBench(2500, runs));
  return results;
}
