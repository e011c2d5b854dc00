// Lines that a client or a peer can cause at will (a refused control call, a malformed request, a
// failing scrape) go through a limit: the first `burst` of each kind per window are logged, the rest
// are counted and reported in one line when the window closes. A flood then costs one line a minute
// instead of filling the journal and the disk, and the operator still learns how big it was.
//
//   const limited = rateLimitedLogger(log);
//   limited.warn('refused', 'control call refused', { peer });
import type { LogFields, LogLevel } from './format.js';
import type { Logger } from './logger.js';

export interface RateLimitOptions {
  /** Length of a window, ms (default 60 s). */
  windowMs?: number;
  /** Lines of one kind logged per window before the rest are only counted (default 5). */
  burst?: number;
  now?: () => number;
  /** Timers, so tests can drive the window's end (default setTimeout, unref'd). */
  setTimer?: (fn: () => void, ms: number) => unknown;
}

export interface RateLimitedLogger {
  log(level: LogLevel, kind: string, msg: string, fields?: LogFields): void;
  warn(kind: string, msg: string, fields?: LogFields): void;
  info(kind: string, msg: string, fields?: LogFields): void;
  error(kind: string, msg: string, fields?: LogFields): void;
  /** Lines not logged so far, by kind (for tests and metrics). */
  readonly suppressed: ReadonlyMap<string, number>;
}

interface Window { start: number; logged: number; dropped: number; level: LogLevel; msg: string; timer: unknown }

export function rateLimitedLogger(log: Logger, opts: RateLimitOptions = {}): RateLimitedLogger {
  const windowMs = opts.windowMs ?? 60_000;
  const burst = opts.burst ?? 5;
  const now = opts.now ?? Date.now;
  const setTimer = opts.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms).unref());
  // Kinds are the caller's constants, never text from a client, so this map stays small.
  const windows = new Map<string, Window>();
  const totals = new Map<string, number>();

  const close = (kind: string, w: Window): void => {
    windows.delete(kind);
    if (w.dropped > 0) log.log(w.level, `${w.msg}: ${w.dropped} more like this in the last ${Math.round(windowMs / 1000)} s, not logged`, { suppressed: w.dropped, kind });
  };

  const emit = (level: LogLevel, kind: string, msg: string, fields?: LogFields): void => {
    const t = now();
    let w = windows.get(kind);
    if (w && t - w.start >= windowMs) { close(kind, w); w = undefined; }
    if (!w) {
      const fresh: Window = { start: t, logged: 0, dropped: 0, level, msg, timer: undefined };
      fresh.timer = setTimer(() => { if (windows.get(kind) === fresh) close(kind, fresh); }, windowMs);
      windows.set(kind, fresh);
      w = fresh;
    }
    if (w.logged < burst) { w.logged++; log.log(level, msg, fields); return; }
    w.dropped++;
    totals.set(kind, (totals.get(kind) ?? 0) + 1);
  };

  return {
    log: emit,
    warn: (k, m, f) => emit('warn', k, m, f),
    info: (k, m, f) => emit('info', k, m, f),
    error: (k, m, f) => emit('error', k, m, f),
    suppressed: totals,
  };
}
