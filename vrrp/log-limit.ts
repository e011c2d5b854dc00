// Log lines a peer can cause, bounded: the first of each kind at once, then at most one per interval
// with the number held back, so a flood of forged adverts cannot flood the log. Kinds are a fixed set
// chosen by the caller (never an address a packet carried: that would grow without bound).
import { performance } from 'node:perf_hooks';

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(private readonly log: (line: string) => void, private readonly everyMs = 60_000, private readonly now: () => number = () => performance.now()) {}

  /** Logs line() unless `kind` was logged within everyMs; then only counts it. line() runs only when logged. */
  say(kind: string, line: () => string): boolean {
    const t = this.now();
    const e = this.last.get(kind);
    if (e && t - e.at < this.everyMs) { e.held++; return false; }
    const more = e && e.held ? ` (${e.held} more not logged in the last ${Math.round((t - e.at) / 1000)} s)` : '';
    this.last.set(kind, { at: t, held: 0 });
    this.log(line() + more);
    return true;
  }
}
