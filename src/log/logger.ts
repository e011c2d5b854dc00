// The logger shell: level filter, child loggers with bound fields, the choice of format, and the write
// to stderr. Never throws, never blocks for long: lines go through process.stderr.write, and when the
// reader (journald, a pipe) falls behind by more than maxBufferedBytes, records are dropped and counted
// instead of growing memory without bound; the count is logged once the writes get through again.
import { fstatSync } from 'node:fs';
import { formatJson, formatText, LEVEL_RANK, LOG_LEVELS, type LogFields, type LogLevel, type LogRecord } from './format.js';
import { readField, safeString } from './value.js';

export type LogFormat = 'auto' | 'json' | 'text';

/** Where lines go: process.stderr by default; anything with write() in tests. */
export interface LogSink {
  write(line: string): unknown;
  readonly writableLength?: number;
  readonly isTTY?: boolean;
  on?(event: 'error', listener: (err: Error) => void): unknown;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  sink?: LogSink;
  /** Environment to read JOURNAL_STREAM from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Whether the sink is journald's stream; default: detected (JOURNAL_STREAM matches stderr). */
  journald?: boolean;
  /** Clock, ms since the epoch. */
  now?: () => number;
  /** Bytes the sink may hold unwritten before records are dropped (default 1 MiB). */
  maxBufferedBytes?: number;
}

export interface LogSettings {
  level: LogLevel;
  format: LogFormat;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  /** A state change: message "FROM -> TO" with fields from, to and (when given) reason. */
  transition(from: string, to: string, reason?: string, fields?: LogFields): void;
  /** A logger whose records all carry `fields` (e.g. {component: 'vrrp', instance: 'VI_1'}). */
  child(fields: LogFields): Logger;
  /** False when `level` is below the threshold: skip building costly fields. */
  enabled(level: LogLevel): boolean;
  /** New level/format for this logger, its parent and all its children (config reload). */
  configure(settings: Partial<LogSettings>): void;
  /** Records dropped so far because the sink fell behind or failed. */
  readonly dropped: number;
}

/**
 * systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is the journal. It is inherited by
 * children whose stderr may be elsewhere, so it counts only when fd 2 is still that stream.
 */
export function isJournalStream(env: Record<string, string | undefined>, fd = 2): boolean {
  const js = env.JOURNAL_STREAM;
  if (!js) return false;
  const m = /^(\d+):(\d+)$/.exec(js);
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

/** What `auto` and the environment resolve to. Pure. */
export function resolveFormat(format: LogFormat, env: { tty: boolean; journald: boolean }): { kind: 'json' | 'text'; timestamp: boolean } {
  // Under journald: JSON lines with no prefix of ours (journald adds time, unit and pid itself).
  const kind = format === 'auto' ? (env.journald || !env.tty ? 'json' : 'text') : format;
  return { kind, timestamp: !env.journald };
}

interface Core {
  rank: number;
  format: LogFormat;
  kind: 'json' | 'text';
  timestamp: boolean;
  sink: LogSink;
  tty: boolean;
  journald: boolean;
  now: () => number;
  maxBuffered: number;
  dropped: number;
  droppedReported: number;
  broken: boolean;
}

const hookedSinks = new WeakSet<object>();

export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? process.stderr;
  const env = options.env ?? process.env;
  const journald = options.journald ?? (sink === process.stderr ? isJournalStream(env) : false);
  const tty = Boolean(sink.isTTY);
  const format = options.format ?? 'auto';
  const resolved = resolveFormat(format, { tty, journald });
  const core: Core = {
    rank: LEVEL_RANK[options.level ?? 'info'],
    format,
    kind: resolved.kind,
    timestamp: resolved.timestamp,
    sink,
    tty,
    journald,
    now: options.now ?? Date.now,
    maxBuffered: options.maxBufferedBytes ?? 1 << 20,
    dropped: 0,
    droppedReported: 0,
    broken: false,
  };
  // A closed stderr (EPIPE) emits 'error'; unhandled, that would kill the daemon over a log line.
  if (typeof sink.on === 'function' && !hookedSinks.has(sink)) {
    hookedSinks.add(sink);
    try {
      sink.on('error', () => { core.broken = true; });
    } catch {
      /* a sink without events */
    }
  }
  return new CoreLogger(core, Object.create(null) as LogFields);
}

/** A logger that writes nothing (tests, library use without a daemon). */
export function silentLogger(): Logger {
  return createLogger({ sink: { write: () => true }, level: 'error', format: 'json' });
}

class CoreLogger implements Logger {
  constructor(private readonly core: Core, private readonly bound: LogFields) {}

  get dropped(): number { return this.core.dropped; }

  enabled(level: LogLevel): boolean {
    return (LEVEL_RANK[level] ?? Infinity) >= this.core.rank;
  }

  debug(msg: string, fields?: LogFields): void { this.log('debug', msg, fields); }
  info(msg: string, fields?: LogFields): void { this.log('info', msg, fields); }
  warn(msg: string, fields?: LogFields): void { this.log('warn', msg, fields); }
  error(msg: string, fields?: LogFields): void { this.log('error', msg, fields); }

  transition(from: string, to: string, reason?: string, fields?: LogFields): void {
    const f = safeString(from);
    const t = safeString(to);
    const all = copyFields(fields);
    all.from = f;
    all.to = t;
    if (reason !== undefined) all.reason = reason;
    this.log('info', `${f} -> ${t}`, all);
  }

  child(fields: LogFields): Logger {
    return new CoreLogger(this.core, Object.assign(Object.create(null) as LogFields, this.bound, copyFields(fields)));
  }

  configure(settings: Partial<LogSettings>): void {
    const c = this.core;
    if (settings.level !== undefined && (LOG_LEVELS as readonly string[]).includes(settings.level)) c.rank = LEVEL_RANK[settings.level];
    if (settings.format !== undefined && ['auto', 'json', 'text'].includes(settings.format)) {
      c.format = settings.format;
      const r = resolveFormat(c.format, { tty: c.tty, journald: c.journald });
      c.kind = r.kind;
      c.timestamp = r.timestamp;
    }
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    // An unknown level is a caller's bug: show it as an error rather than lose the record.
    if (!Object.hasOwn(LEVEL_RANK, level)) level = 'error';
    if (!this.enabled(level)) return;
    const c = this.core;
    try {
      if (c.broken || bufferedBytes(c.sink) > c.maxBuffered) {
        c.dropped++;
        return;
      }
      if (c.dropped > c.droppedReported) {
        const n = c.dropped - c.droppedReported;
        c.droppedReported = c.dropped;
        this.emit({ time: c.now(), level: 'warn', msg: `${n} log records dropped: the log reader fell behind`, fields: { component: 'log', dropped: n } });
      }
      this.emit({ time: c.now(), level, msg: typeof msg === 'string' ? msg : safeString(msg), fields: Object.assign(Object.create(null) as LogFields, this.bound, copyFields(fields)) });
    } catch {
      c.dropped++; // a sink that throws (closed fd written synchronously) loses the record, not the daemon
    }
  }

  private emit(r: LogRecord): void {
    const c = this.core;
    c.sink.write(c.kind === 'json' ? formatJson(r) : formatText(r, { timestamp: c.timestamp }));
  }
}

function bufferedBytes(sink: LogSink): number {
  const n = sink.writableLength;
  return typeof n === 'number' ? n : 0;
}

/** Own enumerable fields of a caller's object; nothing when it is not an object or refuses. */
function copyFields(fields: unknown): LogFields {
  const out = Object.create(null) as LogFields; // keeps a `__proto__` field as a field
  if (fields === null || typeof fields !== 'object') return out;
  try {
    for (const k of Object.keys(fields)) {
      out[k] = readField(fields, k);
    }
  } catch {
    /* a Proxy that refuses ownKeys: log without its fields */
  }
  return out;
}
