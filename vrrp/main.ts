// Runs only the VRRP engine: `node dist/vrrp/main.js -c lvsd.yaml` (tests, benchmarks), until the
// daemon merges the subsystems into `lvsd run`. SIGTERM/SIGINT: graceful stop (priority 0, VIPs
// removed). SIGUSR2: every master gives up mastership (no preemption until restart).
// --synthetic-load RATE:US (benchmarks): RATE tasks/s of US microseconds each on the same loop.
import { performance } from 'node:perf_hooks';
import { loadConfig, formatIssue } from '../src/config/index.js';
import { VrrpEngine } from './engine.js';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === '-c' || a === '--config');
  const file = i >= 0 ? args[i + 1] : undefined;
  if (!file) { process.stderr.write('usage: node dist/vrrp/main.js -c lvsd.yaml\n'); return 64; }
  const r = await loadConfig(file);
  if (!r.ok) { for (const e of r.errors) process.stderr.write(`${formatIssue(e)}\n`); return 78; }
  const engine = await VrrpEngine.start(r.config);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    engine.stop().then(() => process.exit(0), (e) => { process.stderr.write(`stop: ${String(e)}\n`); process.exit(1); });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGUSR2', () => { for (const n of engine.instances.keys()) engine.giveUp(n); });
  const li = args.indexOf('--synthetic-load');
  if (li >= 0) syntheticLoad(args[li + 1] ?? '4000:100');
  process.stdout.write(`${new Date().toISOString()} vrrp: ${engine.instances.size} instance(s) running\n`);
  return -1;
}

/**
 * Benchmarks only, until the checkers share this loop: RATE tasks per second that each keep the
 * loop busy for US microseconds, spread over 1 ms ticks (what 4,000 checks/s will cost the loop).
 */
function syntheticLoad(spec: string): void {
  const [rate, us] = spec.split(':').map(Number) as [number, number];
  let due = 0;
  setInterval(() => {
    due += rate / 1000;
    for (; due >= 1; due--) { const end = performance.now() + us / 1000; while (performance.now() < end) { /* busy */ } }
  }, 1);
}

main().then((code) => { if (code >= 0) process.exit(code); }, (e) => {
  process.stderr.write(`vrrp: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(70);
});
