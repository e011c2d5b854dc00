// Runs the checkers and the balancer from a config file against this namespace's IPVS table, until
// SIGTERM/SIGINT. Used by the lab tests and benchmarks, and callable by the daemon's CLI:
//
//   node dist/src/balancer/run.js CONFIG.yaml      prints "ready" once the table is programmed,
//                                                  one line per verdict / quorum / apply event
//   SIGHUP                                         reloads CONFIG.yaml: "reloaded {summary}" or "reload-failed {errors}"
//   stdin "drain SERVICE SERVER" / "enable ..."    admin drain: "drained {...}" once the kernel has it
import { IpvsClient } from '../../ipvs/client.js';
import { IpvsTableSync } from '../../ipvs/sync.js';
import { createInterface } from 'node:readline';
import { formatIssue, loadConfig } from '../config/index.js';
import { Balancer, type AppliedEvent, type QuorumEvent, type VerdictEvent } from './balancer.js';

export async function runBalancer(file: string, out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<Balancer> {
  const loaded = await loadConfig(file);
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => formatIssue(e)).join('\n'));
  const client = await IpvsClient.open();
  const sync = new IpvsTableSync(client);
  const b = new Balancer(loaded.config, { sync, log: (level, msg) => out(`log ${level} ${Date.now()} ${msg}`) });
  b.on('verdict', (e: VerdictEvent) => out(`verdict ${JSON.stringify(e)}`));
  b.on('quorum', (e: QuorumEvent) => out(`quorum ${JSON.stringify(e)}`));
  b.on('applied', (e: AppliedEvent) => out(`applied ${JSON.stringify({ services: e.services.length, writes: e.report.writes, errors: e.report.errors.length, ms: Math.round(e.ms * 1000) / 1000, at: e.at })}`));
  const report = await b.start();
  out(`ready ${JSON.stringify({ writes: report.writes, checks: b.runner.instances.size, pid: process.pid })}`);
  process.on('SIGHUP', () => {
    void (async () => {
      const next = await loadConfig(file);
      if (!next.ok) { out(`reload-failed ${JSON.stringify(next.errors.map((e) => formatIssue(e)))}`); return; }
      const s = await b.reload(next.config);
      out(`reloaded ${JSON.stringify({ ...s, report: { writes: s.report.writes, errors: s.report.errors.map((e) => e.message) } })}`);
    })().catch((e: unknown) => out(`reload-failed ${JSON.stringify([(e as Error).message])}`));
  });
  if (!process.stdin.isTTY) {
    createInterface({ input: process.stdin }).on('line', (line) => {
      const [cmd, service, server] = line.trim().split(/\s+/);
      if ((cmd !== 'drain' && cmd !== 'enable') || !service || !server) return;
      const found = b.setDrained(service, server, cmd === 'drain');
      void b.settled().then(() => out(`drained ${JSON.stringify({ service, server, drained: cmd === 'drain', found })}`));
    });
  }
  const stop = async () => {
    await b.stop();
    client.close();
    out('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  return b;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) { process.stderr.write('usage: run.js CONFIG.yaml\n'); process.exit(64); }
  runBalancer(file).catch((e: unknown) => { process.stderr.write(`${(e as Error).message}\n`); process.exit(1); });
}
