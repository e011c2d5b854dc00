// Prometheus metrics for lvsd: startMetrics() serves /metrics; the rest is for tests and tools.
export { startMetrics, type MetricsServer, type StartMetricsOptions } from './server.js';
export { createRegistry, type LvsdRegistry, type MetricsRegistryOptions, type MetricsSource } from './registry.js';
export { ALL_SPECS, M } from './specs.js';
export type { MetricSpec, Sample, Samples } from './family.js';
export { IpvsStatsCache, type IpvsTableReader } from './ipvs.js';
