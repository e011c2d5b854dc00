// A one-shot timer that fires at an absolute performance.now() time within a fraction of a
// millisecond. setTimeout alone wakes up to ~1-2 ms late (epoll's millisecond timeout plus loop
// latency), so it sleeps until LEAD_MS before the deadline and then blocks the thread for the rest in
// a futex wait with a sub-millisecond timeout (Atomics.wait). Blocking, not spinning: on a busy
// machine a spinning process used up its slice and was descheduled past the deadline (advert
// jitter p99 3 ms measured with a 4 ms setImmediate spin under load average 3 on 2 vCPUs), while a
// sleeper is woken on time. The loop pauses at most LEAD_MS per deadline; received adverts keep their
// kernel timestamps meanwhile (socket.ts), so nothing is mistimed by the pause.
import { performance } from 'node:perf_hooks';

const LEAD_MS = 2;
/** The futex wakes ~0.1 ms after its timeout (timer slack); wake this much sooner and spin the rest. */
const SLACK_MS = 0.12;
const cell = new Int32Array(new SharedArrayBuffer(4));

export class PreciseTimer {
  private timeout: NodeJS.Timeout | null = null;
  private at = 0;
  private generation = 0;

  constructor(private readonly fire: () => void) {}

  /** Replaces any pending deadline. */
  arm(at: number): void {
    this.cancel();
    this.at = at;
    const gen = this.generation;
    const wait = at - performance.now() - LEAD_MS;
    this.timeout = setTimeout(() => { this.timeout = null; this.finish(gen); }, Math.max(0, wait));
  }

  cancel(): void {
    this.generation++;
    if (this.timeout) { clearTimeout(this.timeout); this.timeout = null; }
  }

  get pending(): boolean { return this.timeout !== null; }

  private finish(gen: number): void {
    if (gen !== this.generation) return;
    const rest = this.at - performance.now();
    if (rest > LEAD_MS + 1) { // woke far too early (never seen; clock oddities): sleep again
      this.timeout = setTimeout(() => { this.timeout = null; this.finish(gen); }, rest - LEAD_MS);
      return;
    }
    if (rest > SLACK_MS) Atomics.wait(cell, 0, 0, rest - SLACK_MS);
    while (performance.now() < this.at) { /* at most SLACK_MS of spinning */ }
    this.generation++;
    this.fire();
  }
}
