// Durations are written with units (`100ms`, `1s`, `2.5s`, `1m30s`, `1h`) and parsed to whole milliseconds.
// A bare number is refused: keepalived mixes seconds and microseconds across keywords, and a unit
// on every duration ends that guessing.
import { quoteValue } from '../text/quote.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

export function parseDuration(input: unknown): ParseResult<number> {
  if (typeof input === 'number') {
    return { ok: false, message: `a duration needs a unit; write '${input}s' or '${input}ms'` };
  }
  if (typeof input !== 'string') return { ok: false, message: 'expected a duration such as 1s or 100ms' };
  const s = input.trim();
  if (s.startsWith('-')) return { ok: false, message: `durations cannot be negative (${quoteValue(input)})` };
  if (/^\d+(\.\d+)?$/.test(s)) return { ok: false, message: `a duration needs a unit; write ${quoteValue(`${s}s`)} or ${quoteValue(`${s}ms`)}` };
  if (s === '') return { ok: false, message: 'expected a duration such as 1s or 100ms' };
  let total = 0;
  let pos = 0;
  const seen = new Set<string>();
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) return { ok: false, message: `${quoteValue(input)} is not a duration; use a number with a unit: ms, s, m, h (e.g. 1s, 100ms, 1m30s)` };
    const unit = m[2]!;
    if (seen.has(unit)) return { ok: false, message: `${quoteValue(input)} repeats the unit '${unit}'` };
    seen.add(unit);
    total += Number(m[1]) * UNIT_MS[unit]!;
    pos = PART.lastIndex;
  }
  // Round away binary fractions (2.3s = 2299.9999...) but refuse real sub-millisecond precision.
  const rounded = Math.round(total * 1000) / 1000;
  if (!Number.isInteger(rounded)) return { ok: false, message: `${quoteValue(input)} is finer than a millisecond` };
  if (!Number.isSafeInteger(rounded)) return { ok: false, message: `${quoteValue(input)} is too long` };
  return { ok: true, value: rounded };
}

/** The shortest exact rendering of a millisecond count, for messages and defaults. */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
