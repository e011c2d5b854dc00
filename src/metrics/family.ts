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
  /** The labels already in text form (`{a="x",b="y"}`): set by collectors whose label sets repeat across families. */
  text?: string;
}


/** One metric name: its HELP text, TYPE and label names (fixed, so dashboards can rely on them). */
export interface MetricSpec {
  name: string;
  help: string;
  type: MetricType;
  labels: readonly string[];
}

export type Samples = Map<string, Sample[]>;

/** Adds a sample to `out` under `spec.name`; `text`: the labels preformatted with labelText(). */
export function push(out: Samples, spec: MetricSpec, labels: Record<string, string | number>, value: number, text?: string): void {
  let list = out.get(spec.name);
  if (!list) out.set(spec.name, list = []);
  list.push(text === undefined ? { labels, value } : { labels, value, text });
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
// prom-client formats every sample's labels from scratch; with 10,000 destinations that is ~130,000
// lines and the event loop (VRRP's timers) would stall for the whole render. Here a label set shared by
// several families (one destination's labels serve all its counters) is formatted once by its collector
// (Sample.text), and rendering yields to the event loop every YIELD_EVERY lines.

const YIELD_EVERY = 4000;

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

/** `{a="x",b="y"}` (empty for no labels), values escaped as the text format requires. */
export function labelText(labels: Record<string, string | number>): string {
  let s = '';
  for (const k in labels) s += `${s ? ',' : '{'}${k}="${escapeLabelValue(String(labels[k]))}"`;
  return s ? `${s}}` : '';
}

/**
 * The specs' HELP, TYPE and samples as Prometheus text (version 0.0.4), in pieces of at most
 * YIELD_EVERY lines with a turn of the event loop between them, so a big table never stalls VRRP's
 * timers for long and the HTTP response can be streamed piece by piece.
 */
export async function* renderChunks(specs: readonly MetricSpec[], samples: Samples): AsyncGenerator<string> {
  let chunk = '';
  let n = 0;
  for (const spec of specs) {
    chunk += `# HELP ${spec.name} ${escapeHelp(spec.help)}\n# TYPE ${spec.name} ${spec.type}\n`;
    for (const s of samples.get(spec.name) ?? []) {
      chunk += `${s.metricName ?? spec.name}${s.text ?? labelText(s.labels)} ${formatValue(s.value)}\n`;
      if (++n >= YIELD_EVERY) {
        yield chunk;
        chunk = '';
        n = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
  }
  if (chunk) yield chunk;
}

export async function renderText(specs: readonly MetricSpec[], samples: Samples): Promise<string> {
  const parts: string[] = [];
  for await (const c of renderChunks(specs, samples)) parts.push(c);
  return parts.join('');
}
