// The checkers' public surface. The balancer (src/balancer) is their main user; the control socket and
// the metrics layer read CheckRunner.counters and each CheckInstance's state.
export { CheckRunner, CheckInstance, CheckCounters, DURATION_BUCKETS_MS, checkTarget, dedupeKey, type CheckDefinition, type Log, type VerdictListener } from './runner.js';
export { step, initialState, firstDelay, type VerdictPolicy, type VerdictState, type VerdictChange } from './verdict.js';
export type { CheckOutcome, CheckTarget } from './outcome.js';
export { probeTcp, fastTcpAvailable } from './tcp.js';
export { probeHttp } from './http.js';
export { runScript, judgeExit } from './script.js';
export { bodyDigest, statusExpected } from './http-match.js';
