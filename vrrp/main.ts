// Runs only the VRRP engine: `node dist/vrrp/main.js -c lvsd.yaml` (tests, benchmarks), until the
// daemon merges the subsystems into `lvsd run`. SIGTERM/SIGINT: graceful stop (priority 0, VIPs
// removed). SIGUSR2: every master gives up mastership (no preemption until restart). SIGHUP: the
// file is read again and the engine reloads it (VrrpEngine.reload: a diff).
// --worker: the engine runs in a worker thread of its own (vrrp/worker.ts) instead of on this loop.
// --with-checkers (benchmarks): the config's virtual services run in this process as they will under
//   `lvsd run`: a Balancer with its real CheckRunner, quorum events feeding the engine's tracked
//   objects, and the IPVS table kept in memory (no kernel writes; the host kernel has no IPVS).
//   Prints `checks: PROBES ok OK at MS cpu PCT% loop_delay_p99 MS ms` every second.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { ApplyReport } from '../ipvs/sync.js';
import { Balancer, type QuorumEvent } from '../src/balancer/balancer.js';
import { loadConfig, formatIssue } from '../src/config/index.js';
import { VrrpEngine } from './engine.js';
import { VrrpWorker } from './worker.js';

/** What this entry point needs of either form of the engine. */
interface Vrrp {
  setTrackedObject(name: string, up: boolean): void;
  giveUp(name: string): unknown;
  reload(next: Parameters<typeof VrrpEngine.start>[0]): Promise<{ changes: string[] }>;
  stop(): Promise<void>;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === '-c' || a === '--config');
  const file = i >= 0 ? args[i + 1] : undefined;
  if (!file) { process.stderr.write('usage: node dist/vrrp/main.js -c lvsd.yaml [--worker] [--with-checkers]\n'); return 64; }
  const r = await loadConfig(file);
  if (!r.ok) { for (const e of r.errors) process.stderr.write(`${formatIssue(e)}\n`); return 78; }
  const vrrp: Vrrp = args.includes('--worker') ? await VrrpWorker.start(r.config) : await VrrpEngine.start(r.config);
  let balancer: Balancer | null = null;
  if (args.includes('--with-checkers') && r.config.virtual_services.length) balancer = await startCheckers(r.config, vrrp);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    Promise.all([vrrp.stop(), balancer?.stop()]).then(() => process.exit(0), (e) => { process.stderr.write(`stop: ${String(e)}\n`); process.exit(1); });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  let current = r.config;
  process.on('SIGUSR2', () => { for (const ic of current.vrrp_instances) vrrp.giveUp(ic.name); });
  process.on('SIGHUP', () => {
    void loadConfig(file).then(async (next) => {
      if (!next.ok) { for (const e of next.errors) process.stderr.write(`reload: ${formatIssue(e)}\n`); return; }
      const sum = await vrrp.reload(next.config);
      current = next.config;
      process.stdout.write(`${new Date().toISOString()} vrrp: reloaded: ${sum.changes.join('; ') || 'no change'}\n`);
    }).catch((e: unknown) => process.stderr.write(`reload: ${e instanceof Error ? e.message : String(e)}\n`));
  });
  process.stdout.write(`${new Date().toISOString()} vrrp: ${r.config.vrrp_instances.length} instance(s) running${args.includes('--worker') ? ' in a worker thread' : ''}\n`);
  return -1;
}

async function startCheckers(config: Parameters<typeof VrrpEngine.start>[0], vrrp: Vrrp): Promise<Balancer> {
  const sink = { apply: async (): Promise<ApplyReport> => ({ writes: 0, rounds: 0, reread: false, errors: [] }) };
  const b = new Balancer(config, { sync: sink, cleanupOnStop: false });
  b.on('quorum', (e: QuorumEvent) => vrrp.setTrackedObject(e.service, e.up));
  await b.start();
  // This loop's own view: CPU share of the process and event-loop delay p99 over the last second.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let cpu = process.cpuUsage(), at = performance.now();
  setInterval(() => {
    const c = process.cpuUsage(cpu), now = performance.now();
    const pct = ((c.user + c.system) / 1000 / (now - at)) * 100;
    process.stdout.write(`checks: ${b.runner.counters.probes} ok ${b.runner.counters.byReason.get('ok') ?? 0} at ${now.toFixed(0)} cpu ${pct.toFixed(0)}% loop_delay_p99 ${(delay.percentile(99) / 1e6).toFixed(2)} ms\n`);
    cpu = process.cpuUsage(); at = now; delay.reset();
  }, 1000).unref();
  return b;
}

main().then((code) => { if (code >= 0) process.exit(code); }, (e) => {
  process.stderr.write(`vrrp: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(70);
});
