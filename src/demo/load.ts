// The host's view of load-client.ts running in the lab: its JSON lines parsed into totals, the list
// of failures, and the long-lived connection's history, with counts over any time window.
import { EventEmitter } from 'node:events';
import type { LabProcess } from '../lab/index.js';
import type { FailLine, LoadLine, LongLine, TickLine } from './load-client.js';

export type { FailLine, LongLine, LongState, TickLine } from './load-client.js';

export class LoadClient extends EventEmitter<{ tick: [TickLine]; fail: [FailLine]; long: [LongLine] }> {
  last: TickLine | undefined;
  readonly failures: FailLine[] = [];
  readonly longEvents: LongLine[] = [];
  readonly ticks: TickLine[] = [];
  private readonly done: Promise<void>;

  constructor(readonly process: LabProcess) {
    super();
    this.done = (async () => {
      for await (const line of process.lines()) {
        if (!line.startsWith('{')) continue;
        let l: LoadLine;
        try { l = JSON.parse(line) as LoadLine; } catch { continue; }
        if (l.ev === 'tick') { this.last = l; this.ticks.push(l); this.emit('tick', l); }
        else if (l.ev === 'fail') { this.failures.push(l); this.emit('fail', l); }
        else if (l.ev === 'long') { this.longEvents.push(l); this.emit('long', l); }
      }
    })();
  }

  /** Resolves once `n` more successful responses have arrived (the load is flowing). */
  async flowing(n = 20, timeoutMs = 30_000): Promise<void> {
    const base = this.last?.ok ?? 0;
    await this.process.waitUntil(() => ((this.last?.ok ?? 0) - base >= n ? true : undefined), { timeoutMs, what: `${n} successful requests through the VIP` });
  }

  /** Resolves once a tick newer than lab time `t` has arrived, so counts up to `t` are final. */
  async after(t: number, timeoutMs = 10_000): Promise<TickLine> {
    return this.process.waitUntil(() => (this.last && this.last.t > t ? this.last : undefined), { timeoutMs, what: `a load tick after ${t}` });
  }

  /** Failures of requests that ended in [from, to) (lab clock, ms). */
  failuresBetween(from: number, to = Infinity): FailLine[] {
    return this.failures.filter((f) => f.t >= from && f.t < to);
  }

  /** Failed-request counts by reason. */
  static byReason(fails: FailLine[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of fails) { const k = `${f.kind}: ${f.reason}`; out[k] = (out[k] ?? 0) + 1; }
    return out;
  }

  /** The tick nearest before lab time t (counts up to then). */
  tickAt(t: number): TickLine | undefined {
    let found: TickLine | undefined;
    for (const k of this.ticks) { if (k.t <= t) found = k; else break; }
    return found;
  }

  async stop(): Promise<void> {
    await this.process.stop(2000);
    await this.done;
  }
}
