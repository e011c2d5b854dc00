// The registry behind /metrics: lvsd's metric specs, filled from the running daemon at scrape time, and
// prom-client's process metrics. Everything is read through getters on each scrape, so a reload that
// replaces the engine, the balancer or the config is picked up without re-registering anything.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { LvsdConfig } from '../config/model.js';
import { collectChecks, type BalancerView } from './checks.js';
import { push, registerSpecs, renderChunks, type Samples } from './family.js';
import { collectIpvs, IpvsStatsCache, serviceNames, type IpvsTableReader } from './ipvs.js';
import { ALL_SPECS, M } from './specs.js';
import { collectVrrp, type VrrpMetricsView } from './vrrp.js';
import { collectListeners } from './listeners.js';
import { collectAnnounce, type AnnounceView } from './announce.js';

/**
 * What the metrics read of the daemon (src/daemon/daemon.ts Daemon satisfies it). Every field is read on
 * every scrape; a subsystem that is not running (null/undefined) simply has no series.
 */
export interface MetricsSource {
  readonly config: LvsdConfig | undefined;
  readonly engine?: VrrpMetricsView | null | undefined;
  readonly balancer?: BalancerView | null | undefined;
  readonly ipvs?: IpvsTableReader | null | undefined;
  readonly reloads?: { readonly success: number; readonly failure: number } | undefined;
  /** sha256 of the loaded configuration file (hex). */
  readonly configHash?: string | undefined;
  /** Process start: Date, or ms since the epoch. */
  readonly startedAt?: Date | number | undefined;
  /** Faults the daemon contained, by kind (e.g. uncaught, stateFile). */
  readonly faults?: Readonly<Record<string, number>> | undefined;
  /** Announced VIPs (issue #14). */
  readonly announcer?: AnnounceView | null | undefined;
  /** Email alerts: counters and queue length. */
  readonly email?: { readonly counters: Readonly<Record<string, number>>; readonly queued: number; readonly enabled: boolean } | null | undefined;
}

export interface MetricsRegistryOptions {
  /** How long one read of the IPVS table serves scrapes, ms (default 1000). */
  ipvsCacheMs?: number;
  /** prom-client's process_* and nodejs_* metrics (default true). */
  processMetrics?: boolean;
  /** Where a failing collector says why (its series are left out of that scrape). */
  log?: (message: string) => void;
}

const VERSION = (() => {
  try { return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? ''; } catch { return ''; }
})();

export interface LvsdRegistry {
  registry: Registry;
  ipvsCache: IpvsStatsCache;
  /** Collects one snapshot of lvsd's samples (what a scrape prints, without the process metrics). */
  collect(): Promise<Samples>;
  /**
   * The whole scrape as Prometheus text: lvsd's families through the fast renderer (shared label text,
   * yields to the event loop), then prom-client's own metrics. Same content as `registry.metrics()`.
   */
  render(): Promise<string>;
  /** The same text in pieces, for streaming a big scrape. */
  chunks(): AsyncGenerator<string>;
}

export function createRegistry(source: MetricsSource, opts: MetricsRegistryOptions = {}): LvsdRegistry {
  const ipvsCache = new IpvsStatsCache(() => source.ipvs, opts.ipvsCacheMs ?? 1000);
  // Names follow the config's service key; rebuilt only when the config object changes (a reload).
  let namesFor: LvsdConfig | undefined;
  let names = new Map<string, string>();

  const collect = async (): Promise<Samples> => {
    const out: Samples = new Map();
    const config = source.config;
    // One failing part (say, a half-replaced subsystem during a reload) leaves the others' series intact.
    const guard = async (what: string, f: () => void | Promise<void>): Promise<void> => {
      try { await f(); } catch (e) { push(out, M.collectErrors, { part: what }, 1); opts.log?.(`metrics: collecting ${what} failed: ${(e as Error).message}`); }
    };
    await guard('daemon', () => {
      push(out, M.info, { version: VERSION, router_id: config?.global.router_id ?? hostname() }, 1);
      const started = source.startedAt;
      if (started !== undefined) push(out, M.startTime, {}, (typeof started === 'number' ? started : started.getTime()) / 1000);
      const r = source.reloads;
      if (r) { push(out, M.reloads, { result: 'success' }, r.success); push(out, M.reloads, { result: 'failure' }, r.failure); }
      if (source.configHash) push(out, M.configInfo, { sha256: source.configHash }, 1);
      for (const [kind, n] of Object.entries(source.faults ?? {})) push(out, M.faults, { kind }, n);
    });
    await guard('listeners', () => collectListeners(out));
    const engine = source.engine;
    if (engine) await guard('vrrp', () => collectVrrp(engine, out));
    const balancer = source.balancer;
    if (balancer) await guard('checks', () => collectChecks(balancer, out));
    const announcer = source.announcer;
    if (announcer) await guard('announce', () => collectAnnounce(announcer, out));
    const email = source.email;
    if (email?.enabled) {
      await guard('email', () => {
        for (const [result, n] of Object.entries(email.counters)) push(out, M.emailAlerts, { result }, n);
        push(out, M.emailQueue, {}, email.queued);
      });
    }
    if (source.ipvs) {
      const reading = await ipvsCache.read();
      if (config !== namesFor) { names = serviceNames(config); namesFor = config; }
      await guard('ipvs', () => collectIpvs(reading, names, out));
    }
    return out;
  };

  const lvsd = new Registry();
  registerSpecs(lvsd, ALL_SPECS, collect);
  // prom-client's process metrics in a registry of their own, so the fast path can print them after ours.
  const processRegistry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: processRegistry });
  const registry = Registry.merge([lvsd, processRegistry]);
  async function* chunks(): AsyncGenerator<string> {
    yield* renderChunks(ALL_SPECS, await collect());
    if (processRegistry.getMetricsAsArray().length) yield await processRegistry.metrics();
  }
  const render = async (): Promise<string> => {
    const parts: string[] = [];
    for await (const c of chunks()) parts.push(c);
    return parts.join('');
  };
  return { registry, ipvsCache, collect, render, chunks };
}
