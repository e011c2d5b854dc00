// Debug lines for packets a receive channel dropped before any instance saw them (malformed, or a VRID
// no instance here uses): read from the channel's counters, so the hot path only increments. Per
// channel and reason, the first drop at once, then at most one line per interval with the number
// dropped since the last line: a flood of forged packets costs a line a minute, not one per packet.
// Kinds are (channel, reason): a fixed set from the config and reasons.ts, never packet contents.
import { performance } from 'node:perf_hooks';
import { DROP_REASONS, REASON_SENTENCES } from './reasons.js';

export class ChannelDropLog {
  private readonly seen = new Map<string, number>();
  private readonly pending = new Map<string, { at: number; n: number }>();

  constructor(private readonly log: (line: string) => void, private readonly everyMs = 60_000, private readonly now: () => number = () => performance.now()) {}

  /** Compares each channel's counters with the last reading and logs what grew (rate-limited). */
  poll(channels: Iterable<[string, { readonly drops: Readonly<Record<string, number>> }]>): void {
    const t = this.now();
    for (const [key, ch] of channels) {
      for (const reason of DROP_REASONS) {
        const kind = `${key} ${reason}`;
        const n = ch.drops[reason] ?? 0;
        const before = this.seen.get(kind);
        this.seen.set(kind, n);
        // The first reading is a baseline; a counter that went down is a new channel (reload).
        const grew = before === undefined ? 0 : n >= before ? n - before : n;
        const p = this.pending.get(kind);
        if (grew > 0) {
          if (!p) { this.say(key, reason, grew, 0); this.pending.set(kind, { at: t, n: 0 }); continue; }
          p.n += grew;
        }
        if (p && p.n > 0 && t - p.at >= this.everyMs) { this.say(key, reason, p.n, t - p.at); p.at = t; p.n = 0; }
      }
    }
  }

  private say(key: string, reason: string, n: number, overMs: number): void {
    const over = overMs ? ` in the last ${Math.round(overMs / 1000)} s` : '';
    const why = REASON_SENTENCES[reason as keyof typeof REASON_SENTENCES] ?? '';
    this.log(`vrrp channel ${key}: dropped ${n} packet${n === 1 ? '' : 's'}${over}: ${reason} (${why})`);
  }
}
