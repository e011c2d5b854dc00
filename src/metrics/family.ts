// Metric families as plain data: what a collector returns for one scrape, and the adapter that lets
// prom-client's Registry print them. Collectors stay pure (state in, samples out); prom-client does the
// text format (escaping, HELP/TYPE lines) and the process metrics.
import type { Registry } from 'prom-client';

export type MetricType = 'gauge' | 'counter' | 'histogram';

export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  /** For histograms: `NAME_bucket`, `NAME_sum`, `NAME_count`; otherwise the family's name. */
  metricName?: string;
}

/** One metric name: its HELP text, TYPE and label names (fixed, so dashboards can rely on them). */
export interface MetricSpec {
  name: string;
  help: string;
  type: MetricType;
  labels: readonly string[];
}

export type Samples = Map<string, Sample[]>;

/** Adds a sample to `out` under `spec.name`. */
export function push(out: Samples, spec: MetricSpec, labels: Record<string, string | number>, value: number): void {
  let list = out.get(spec.name);
  if (!list) out.set(spec.name, list = []);
  list.push({ labels, value });
}

/** Histogram samples from cumulative-able per-bucket counts (`counts.length === bounds.length + 1`, the last is +Inf). */
export function pushHistogram(out: Samples, spec: MetricSpec, labels: Record<string, string | number>,
  bounds: readonly number[], counts: readonly number[], sum: number, count: number): void {
  let list = out.get(spec.name);
  if (!list) out.set(spec.name, list = []);
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += counts[i] ?? 0;
    list.push({ metricName: `${spec.name}_bucket`, labels: { ...labels, le }, value: cumulative });
  });
  list.push({ metricName: `${spec.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
  list.push({ metricName: `${spec.name}_sum`, labels, value: sum });
  list.push({ metricName: `${spec.name}_count`, labels, value: count });
}

/**
 * What prom-client's Registry needs of a metric: a name and an async get(). Every spec gets one; all of
 * them read the same snapshot, which `snapshot()` builds once per scrape (the registry calls every get()
 * in the same tick, so they share one in-flight promise).
 */
class SnapshotMetric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly aggregator = 'sum';

  constructor(private readonly spec: MetricSpec, private readonly snapshot: () => Promise<Samples>) {
    this.name = spec.name;
    this.help = spec.help;
    this.type = spec.type;
  }

  async get(): Promise<{ name: string; help: string; type: MetricType; values: Sample[]; aggregator: string }> {
    const samples = await this.snapshot();
    return { name: this.spec.name, help: this.spec.help, type: this.spec.type, values: samples.get(this.spec.name) ?? [], aggregator: 'sum' };
  }

  reset(): void {}
}

/** Registers every spec in `registry`; `collect` is called at most once per scrape. */
export function registerSpecs(registry: Registry, specs: readonly MetricSpec[], collect: () => Promise<Samples>): void {
  let inflight: Promise<Samples> | undefined;
  const snapshot = (): Promise<Samples> => {
    if (!inflight) {
      inflight = collect();
      // Cleared once every get() of this scrape has its answer (they were all called in one tick).
      void inflight.then(() => { inflight = undefined; }, () => { inflight = undefined; });
    }
    return inflight;
  };
  for (const s of specs) registry.registerMetric(new SnapshotMetric(s, snapshot) as unknown as Parameters<Registry['registerMetric']>[0]);
}
