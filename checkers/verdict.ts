// The pure core of one check: results and the clock in, verdict transitions and the next delay out.
// No timers, no sockets: the runner (runner.ts) feeds it and schedules what it says.
//
// Semantics (keepalived's, named after lvsd's config):
// - An up check goes down after `retries` failures in a row; between those failures the next probe comes
//   after delay_before_retry instead of the interval (keepalived delay_before_retry).
// - A down check comes back after `rise` successes in a row, probed every interval.
// - alpha: the check starts down and needs its successes first; otherwise it starts up.
// - The first probe waits a random part of `warmup`, so thousands of checks do not start in the same ms.

import type { CheckOutcome } from './outcome.js';

export interface VerdictPolicy {
  interval: number;
  retries: number;
  rise: number;
  delay_before_retry: number;
  warmup: number;
}

export interface VerdictState {
  up: boolean;
  /** Failures in a row (reset by a success). */
  failures: number;
  /** Successes in a row (reset by a failure). */
  successes: number;
  /** Weight a script reported with its last success (misc_dynamic); undefined = the configured weight. */
  weight: number | undefined;
  /** Percent of the weight an agent reported with its last success (undefined = none). */
  weightPercent?: number | undefined;
  /** Change to the weight a file check reported with its last success (undefined = none). */
  weightDelta?: number | undefined;
  /** Why it is down (the last failure's reason), or why it came up. */
  reason: string;
}

export type VerdictChange =
  | { kind: 'down'; reason: string }
  | { kind: 'up'; reason: string; weight: number | undefined; weightPercent?: number | undefined; weightDelta?: number | undefined }
  | { kind: 'weight'; weight: number | undefined; weightPercent?: number | undefined; weightDelta?: number | undefined };

export interface Step { state: VerdictState; changes: VerdictChange[]; nextDelayMs: number }

const STARTING_UP = 'starting up';

export function initialState(alpha: boolean): VerdictState {
  return { up: !alpha, failures: 0, successes: 0, weight: undefined, reason: alpha ? 'starting down (alpha)' : STARTING_UP };
}

/** Delay before the first probe: uniform in [0, warmup] from a random number in [0, 1). */
export function firstDelay(p: VerdictPolicy, random: number): number {
  return p.warmup > 0 ? Math.floor(random * p.warmup) : 0;
}

export function step(p: VerdictPolicy, s: VerdictState, o: CheckOutcome): Step {
  const changes: VerdictChange[] = [];
  if (o.ok) {
    const successes = s.successes + 1;
    const weight = o.weight;
    // Weight reports (script, agent, file) are carried only when present, so a state stays as it was for checks without them.
    const w = { weight, ...(o.weightPercent !== undefined || s.weightPercent !== undefined ? { weightPercent: o.weightPercent } : {}),
      ...(o.weightDelta !== undefined || s.weightDelta !== undefined ? { weightDelta: o.weightDelta } : {}) };
    if (s.up) {
      if (weight !== s.weight || o.weightPercent !== s.weightPercent || o.weightDelta !== s.weightDelta) changes.push({ kind: 'weight', ...w });
      // The first success of a server that started up replaces 'starting up' (status would show it forever).
      const reason = s.reason === STARTING_UP ? 'check passed' : s.reason;
      return { state: { up: true, failures: 0, successes, ...w, reason }, changes, nextDelayMs: p.interval };
    }
    if (successes >= p.rise) {
      const reason = p.rise > 1 ? `${successes} successes in a row` : 'check passed';
      changes.push({ kind: 'up', reason, ...w });
      return { state: { up: true, failures: 0, successes, ...w, reason }, changes, nextDelayMs: p.interval };
    }
    return { state: { ...s, failures: 0, successes, ...w }, changes, nextDelayMs: p.interval };
  }
  const failures = s.failures + 1;
  if (s.up) {
    if (failures >= p.retries) {
      changes.push({ kind: 'down', reason: o.reason });
      return { state: { up: false, failures, successes: 0, weight: s.weight, reason: o.reason }, changes, nextDelayMs: p.interval };
    }
    // Not down yet: look again soon (keepalived retries after delay_before_retry).
    return { state: { ...s, failures, successes: 0 }, changes, nextDelayMs: p.delay_before_retry };
  }
  return { state: { ...s, failures, successes: 0, reason: o.reason }, changes, nextDelayMs: p.interval };
}
