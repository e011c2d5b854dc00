// `npm run bench -- metrics [SERVICES] [RUNS]`: the cost of a /metrics scrape with a big IPVS table.
// In a fresh lab kernel (UML, 1 vCPU), SERVICES (default 2500) x 4 destinations = 10,000 destinations are
// programmed; then, inside the director, a registry whose IPVS source is a real IpvsClient is scraped RUNS
// times (default 5) with the cache off (every scrape reads the kernel: dump + render) and with the 1 s
// cache warm (render only), and once over HTTP with curl. Also: the longest event-loop stall during an
// uncached scrape (what VRRP timers would feel) and the series count. Reference: `ipvsadm -Ln --stats
// --exact` reading the same table (the standard tool; keepalived exporters read it the same way).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './main.js';
import { bootKernel } from '../../src/lab/kernel.js';
import { Lab } from '../../src/lab/lab.js';
import type { Topology } from '../../src/lab/topology.js';
import { benchTable } from './ipvs.js';
import { median, round } from './_stats.js';

const DIST = fileURLToPath(new URL('../../', import.meta.url));

const topology: Topology = {
  name: 'metrics-bench',
  lans: { lan: {} },
  hosts: { director: { ifaces: { eth0: { lan: 'lan', addrs: ['192.168.0.254/16'] } } } },
};

const SCRIPT = `
const d = ${JSON.stringify(DIST)};
const { IpvsClient } = await import(d + 'ipvs/client.js');
const { IpvsTableSync } = await import(d + 'ipvs/sync.js');
const { createRegistry, startMetrics } = await import(d + 'src/metrics/index.js');
const { parseExposition } = await import(d + 'src/metrics/exposition.js');
const { monitorEventLoopDelay } = await import('node:perf_hooks');
const { readFileSync } = await import('node:fs');
const { execFile } = await import('node:child_process');
const [tableFile, runsText] = process.argv.slice(2);
const runs = Number(runsText);
const client = await IpvsClient.open();
const report = await new IpvsTableSync(client).apply(JSON.parse(readFileSync(tableFile, 'utf8')));
if (report.errors.length) throw new Error('programming failed: ' + report.errors[0].message);
const source = { config: undefined, ipvs: client };
const cold = createRegistry(source, { ipvsCacheMs: 0 });
const readMs = [], uncachedMs = [], cachedMs = [], stallMs = [], readStallMs = [];
let text = '';
for (let i = 0; i < runs; i++) {
  const hr = monitorEventLoopDelay({ resolution: 1 });
  hr.enable();
  let t = performance.now();
  await client.table();
  readMs.push(performance.now() - t);
  hr.disable();
  readStallMs.push(hr.max / 1e6);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  t = performance.now();
  // As the HTTP server does: piece by piece (the stall figure is what VRRP's timers would feel).
  const parts = [];
  for await (const c of cold.chunks()) parts.push(c);
  uncachedMs.push(performance.now() - t);
  h.disable();
  stallMs.push(h.max / 1e6);
  text = parts.join('');
}
const warm = createRegistry(source, { ipvsCacheMs: 3_600_000 });
await warm.render();
for (let i = 0; i < runs; i++) { const t = performance.now(); for await (const c of warm.chunks()) void c; cachedMs.push(performance.now() - t); }
const f = parseExposition(text);
const dests = f.get('lvsd_ipvs_destination_connections_total').samples.length;
const series = [...f.values()].reduce((n, x) => n + x.samples.length, 0);
const server = await startMetrics({ daemon: source, listen: { kind: 'tcp', address: '127.0.0.1', port: 0, family: 4 } });
// curl in a child process, waited for asynchronously: the server answering it lives in this event loop.
const curl = () => new Promise((resolve, reject) => execFile('curl', ['-sS', '--fail', '-o', '/dev/null', '-w', '%{time_total}', 'http://127.0.0.1:' + server.address.port + '/metrics'],
  { encoding: 'utf8', timeout: 60_000 }, (err, out) => (err ? reject(err) : resolve(Number(out) * 1000))));
const httpMs = [];
for (let i = 0; i < runs; i++) { server.invalidate(); httpMs.push(await curl()); }
await server.close();
client.close();
process.stdout.write(JSON.stringify({ readMs, uncachedMs, cachedMs, stallMs, readStallMs, httpMs, dests, series, bytes: Buffer.byteLength(text), rssMb: process.memoryUsage().rss / 2 ** 20 }) + "\\n", () => process.exit(0));
`;

export async function run(args: string[]): Promise<BenchResult[]> {
  const services = Number(args[0] ?? 2500);
  const runs = Number(args[1] ?? 5);
  const log = (s: string) => process.stderr.write(`metrics bench: ${s}\n`);
  const kernel = await bootKernel();
  try {
    const lab = await Lab.start(topology, { kernel, services: false });
    try {
      const d = lab.host('director');
      const tableFile = join(lab.dir, 'table.json');
      writeFileSync(tableFile, JSON.stringify(benchTable(services)));
      const scriptFile = join(lab.dir, 'metrics-bench.mjs');
      writeFileSync(scriptFile, SCRIPT);
      log(`programming ${services} x 4 and scraping ${runs} times`);
      const out = await d.sh(`${process.execPath} ${scriptFile} ${tableFile} ${runs} 2>&1`, { timeoutMs: 600_000 });
      const line = out.trim().split('\n').find((l) => l.startsWith('{"readMs"'));
      if (!line) throw new Error(`bench script failed:\n${out}`);
      const r = JSON.parse(line) as { readMs: number[]; uncachedMs: number[]; cachedMs: number[]; stallMs: number[]; readStallMs: number[]; httpMs: number[]; dests: number; series: number; bytes: number; rssMb: number };
      if (r.dests !== services * 4) throw new Error(`the scrape showed ${r.dests} destinations, not ${services * 4}`);
      const ref: number[] = [];
      for (let i = 0; i < runs; i++) {
        const us = Number((await d.sh('a=$(date +%s%N); ipvsadm -Ln --stats --exact > /dev/null; b=$(date +%s%N); echo $(( (b - a) / 1000 ))', { timeoutMs: 120_000 })).trim());
        ref.push(us / 1000);
      }
      log(`uncached ${r.uncachedMs.map((x) => round(x)).join(' ')} ms; cached ${r.cachedMs.map((x) => round(x)).join(' ')} ms; ipvsadm ${ref.map((x) => round(x)).join(' ')} ms`);
      const k = `${services * 4 >= 1000 ? `${(services * 4) / 1000}k` : services * 4}`;
      const u = median(r.uncachedMs), rf = median(ref);
      return [
        {
          bench: 'metrics', metric: `scrape_${k}_dests_uncached`, lvsd: round(u), reference: round(rf), ratio: round(u / rf, 3), unit: 'ms',
          runs, lvsd_runs: r.uncachedMs.map((x) => round(x)), reference_runs: ref.map((x) => round(x)),
          table_read_ms: round(median(r.readMs)), http_curl_ms: round(median(r.httpMs)), event_loop_max_stall_ms: round(Math.max(...r.stallMs)), table_read_max_stall_ms: round(Math.max(...r.readStallMs)),
          series: r.series, bytes: r.bytes, rss_mb: round(r.rssMb), reference_tool: 'ipvsadm -Ln --stats --exact (same table)', kernel: 'UML 6.1, 1 vCPU',
        },
        {
          bench: 'metrics', metric: `scrape_${k}_dests_cached`, lvsd: round(median(r.cachedMs)), reference: round(rf), ratio: round(median(r.cachedMs) / rf, 3), unit: 'ms',
          runs, lvsd_runs: r.cachedMs.map((x) => round(x)), note: 'IPVS reading served from the 1 s cache: render only',
        },
      ];
    } finally { await lab.stop(); }
  } finally {
    await kernel.stop();
  }
}
