// A costly answer (the control API's /status reads the whole IPVS table) computed once for every caller
// that asks while it is computed and for a short while after: at least `minReuseMs`, and at least as long
// as it took, so callers in a loop cannot keep the main thread (and the health checks on it) busy.
// A change the caller makes (drain, reload) invalidates it, so the answer after a change shows the change.

export interface Coalesced<T> {
  get(): Promise<T>;
  /** The next get() computes afresh. */
  invalidate(): void;
}

export function coalesced<T>(compute: () => Promise<T>, minReuseMs = 250, now: () => number = () => performance.now()): Coalesced<T> {
  let last: { value: Promise<T>; startedAt: number; finishedAt?: number; failed?: boolean } | undefined;
  return {
    get() {
      const t = now();
      if (last && !last.failed && (last.finishedAt === undefined || t - last.finishedAt <= Math.max(minReuseMs, last.finishedAt - last.startedAt))) return last.value;
      const run: NonNullable<typeof last> = { value: Promise.resolve() as Promise<T>, startedAt: t };
      run.value = compute().then(
        (v) => { run.finishedAt = now(); return v; },
        (e: unknown) => { run.finishedAt = now(); run.failed = true; throw e; },
      );
      last = run;
      return run.value;
    },
    invalidate() { last = undefined; },
  };
}
