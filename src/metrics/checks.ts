// Health check and real server metrics, read at scrape time from the balancer and its check runner.
import { DURATION_BUCKETS_MS, type CheckRunner } from '../../checkers/runner.js';
import { endpointText } from '../../checkers/outcome.js';
import { push, pushHistogram, type Samples } from './family.js';
import { M } from './specs.js';

/** What the collector reads of the balancer; Balancer satisfies it. */
export interface BalancerView {
  readonly runner: Pick<CheckRunner, 'instances' | 'counters'>;
  readonly transitions: ReadonlyMap<string, number>;
  serverStates(): { service: string; server: string; up: boolean; weight: number }[];
  quorumState(): { service: string; up: boolean | undefined }[];
}

const BUCKETS_S = DURATION_BUCKETS_MS.map((ms) => ms / 1000);

export function collectChecks(b: BalancerView, out: Samples): void {
  // One series per (check name, type, target); instances that differ only in alpha are merged.
  const merged = new Map<string, { labels: Record<string, string>; up: boolean; probes: number; failures: number }>();
  for (const inst of b.runner.instances.values()) {
    const name = (inst.check as { name?: string }).name ?? '';
    const labels = { check: name, type: inst.check.type, target: endpointText(inst.target) };
    const key = `${labels.check}\0${labels.type}\0${labels.target}`;
    const m = merged.get(key);
    if (m) { m.up &&= inst.state.up; m.probes += inst.probes; m.failures = Math.max(m.failures, inst.state.failures); continue; }
    merged.set(key, { labels, up: inst.state.up, probes: inst.probes, failures: inst.state.failures });
  }
  for (const m of merged.values()) {
    push(out, M.checkUp, m.labels, m.up ? 1 : 0);
    push(out, M.checkProbes, m.labels, m.probes);
    push(out, M.checkFailuresInARow, m.labels, m.failures);
  }
  const counters = b.runner.counters;
  for (const [reason, n] of counters.byReason) push(out, M.checkResults, { reason }, n);
  for (const [type, h] of counters.durations) pushHistogram(out, M.checkDuration, { type }, BUCKETS_S, h.buckets, h.sumMs / 1000, h.count);

  for (const s of b.serverStates()) {
    push(out, M.serverUp, { service: s.service, server: s.server }, s.up ? 1 : 0);
    push(out, M.serverWeight, { service: s.service, server: s.server }, s.weight);
  }
  // Balancer keys: 'up', 'weight', 'down: REASON'.
  for (const [key, n] of b.transitions) {
    const down = /^down: (.*)$/.exec(key);
    push(out, M.serverTransitions, down ? { change: 'down', reason: down[1]! } : { change: key, reason: '' }, n);
  }
  for (const q of b.quorumState()) if (q.up !== undefined) push(out, M.serviceQuorum, { service: q.service }, q.up ? 1 : 0);
}
