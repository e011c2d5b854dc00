// Slow start, pure: how much weight a real server that has just come back gets, as a function of the
// time since it came back, its full weight and the slow_start time. The balancer (balancer.ts) sets
// the result in IPVS and asks again when nextInMs has passed.
//
// Steps: a tenth of slow_start each, but at least 1 s (each step is one IPVS_CMD_SET_DEST, and a
// scheduler needs some connections at a weight before the next one means anything): 30 s ramps in ten
// 3 s steps, 4 s in four 1 s steps, anything under 2 s in one step. Step k of n (0-based) has weight
// floor(full * k / n), at least 1: weight 1 first, then evenly up; at slow_start the full weight.

export interface SlowStartStep {
  weight: number;
  /** The ramp is over: the full weight from now on. */
  done: boolean;
  /** When the weight changes next (ms from now); absent when done. */
  nextInMs?: number;
}

export const SLOW_START_MAX_STEPS = 10;
export const SLOW_START_MIN_STEP_MS = 1000;

export function slowStartSteps(slowStartMs: number): { steps: number; stepMs: number } {
  const steps = Math.max(1, Math.min(SLOW_START_MAX_STEPS, Math.floor(slowStartMs / SLOW_START_MIN_STEP_MS)));
  return { steps, stepMs: slowStartMs / steps };
}

/** elapsedMs since the server came back (a negative one counts as 0); full: the weight it ramps to. */
export function slowStartWeight(elapsedMs: number, full: number, slowStartMs: number): SlowStartStep {
  const t = Math.max(0, elapsedMs);
  // Weight 0 (quiescent) or 1 has nothing to ramp.
  if (slowStartMs <= 0 || full <= 1 || t >= slowStartMs) return { weight: full, done: true };
  const { steps, stepMs } = slowStartSteps(slowStartMs);
  const k = Math.min(steps - 1, Math.floor(t / stepMs));
  return { weight: Math.max(1, Math.floor((full * k) / steps)), done: false, nextInMs: Math.max(1, Math.ceil((k + 1) * stepMs - t)) };
}
