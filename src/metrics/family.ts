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

// ---- the fast text path ----
// prom-client formats every sample's labels from scratch; with 10,000 destinations that is ~150,000
// lines and the event loop (VRRP's timers) would stall for the whole render. Here a label set shared by
// several families (one destination's labels serve all its counters) is formatted once, and rendering
// yields to the event loop every YIELD_EVERY lines.

const YIELD_EVERY = 4000;
const labelText = new WeakMap<object, string>();

const NEEDS_ESCAPE = /[\\\n"]/;
const escapeLabelValue = (v: string): string =>
  (NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v);
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** Prometheus text for a number: NaN, +Inf, -Inf, else JavaScript's shortest round-trip form. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Record<string, string | number>): string {
  let s = labelText.get(labels);
  if (s !== undefined) return s;
  const parts: string[] = [];
  for (const k in labels) parts.push(`${k}="${escapeLabelValue(String(labels[k]))}"`);
  s = parts.length ? `{${parts.join(',')}}` : '';
  labelText.set(labels, s);
  return s;
}

/**
 * The specs' HELP, TYPE and samples as Prometheus text (version 0.0.4), in pieces of at most
 * YIELD_EVERY lines with a turn of the event loop between them, so a big table never stalls VRRP's
 * timers for long and the HTTP response can be streamed piece by piece.
 */
export async function* renderChunks(specs: readonly MetricSpec[], samples: Samples): AsyncGenerator<string> {
  let lines: string[] = [];
  for (const spec of specs) {
    lines.push(`# HELP ${spec.name} ${escapeHelp(spec.help)}`, `# TYPE ${spec.name} ${spec.type}`);
    for (const s of samples.get(spec.name) ?? []) {
      lines.push(`${s.metricName ?? spec.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
      if (lines.length >= YIELD_EVERY) {
        yield lines.join('\n') + '\n';
        lines = [];
        await new Promise((r) => setImmediate(r));
      }
    }
  }
  if (lines.length) yield lines.join('\n') + '\n';
}

export async function renderText(specs: readonly MetricSpec[], samples: Samples): Promise<string> {
  const parts: string[] = [];
  for await (const c of renderChunks(specs, samples)) parts.push(c);
  return parts.join('');
}
