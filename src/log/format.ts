// One log record -> one line, as JSON (journald, pipes, log shippers) or as readable text (a terminal).
// Pure: the record and options in, a string ending in '\n' out.
import { readField, record, safeString, toLogValue, type LogValue } from './value.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface LogRecord {
  time: number; // ms since the epoch
  level: LogLevel;
  msg: string;
  fields: LogFields; // bound fields of the logger, then the call's own (the call wins)
}

// Keys a field can never overwrite: they are the record's frame. A field with such a name is kept
// under a prefixed key instead of silently replacing the timestamp or the message.
const FRAME = new Set(['ts', 'level', 'msg']);

/** Plain JSON-safe fields, frame names renamed, undefined values dropped. */
function plainFields(fields: LogFields): Array<[string, LogValue]> {
  const out: Array<[string, LogValue]> = [];
  let keys: string[];
  try {
    keys = Object.keys(fields);
  } catch {
    return out;
  }
  for (const k of keys) {
    const v = toLogValue(readField(fields, k));
    if (v !== undefined) out.push([FRAME.has(k) ? `_${k}` : k, v]);
  }
  return out;
}

/** `{"ts":"2026-01-01T12:00:01.123Z","level":"info","msg":"...","component":"vrrp",...}\n` */
export function formatJson(r: LogRecord): string {
  const obj = record();
  obj.ts = isoTime(r.time);
  obj.level = r.level;
  obj.msg = safeString(r.msg);
  for (const [k, v] of plainFields(r.fields)) obj[k] = v;
  return `${JSON.stringify(obj)}\n`;
}

export interface TextOptions {
  /** Leave the time out (journald stamps every line itself). */
  timestamp: boolean;
}

/**
 * `12:00:01.123 INFO vrrp[VI_1] backup -> master (master down interval expired) prio=100`
 * component[instance] leads, `reason` follows the message in parentheses, the other fields come as
 * key=value. `from`/`to` are left out when the message already reads "FROM -> TO" (a transition).
 */
export function formatText(r: LogRecord, opts: TextOptions): string {
  const parts: string[] = [];
  if (opts.timestamp) parts.push(localTime(r.time));
  parts.push(r.level.toUpperCase());
  const fields = new Map(plainFields(r.fields));
  const component = fields.get('component');
  const instance = fields.get('instance');
  if (component !== undefined) {
    parts.push(instance !== undefined ? `${scalarText(component)}[${scalarText(instance)}]` : scalarText(component));
    fields.delete('component');
    if (instance !== undefined) fields.delete('instance');
  }
  const msg = safeString(r.msg);
  if (msg !== '') parts.push(escapeControls(msg));
  const reason = fields.get('reason');
  if (reason !== undefined) {
    parts.push(`(${scalarText(reason)})`);
    fields.delete('reason');
  }
  const from = fields.get('from');
  const to = fields.get('to');
  if (from !== undefined && to !== undefined && msg === `${scalarText(from)} -> ${scalarText(to)}`) {
    fields.delete('from');
    fields.delete('to');
  }
  for (const [k, v] of fields) parts.push(`${escapeControls(k)}=${valueText(v)}`);
  return `${parts.join(' ')}\n`;
}

function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

/** HH:MM:SS.mmm in local time: what an operator at the terminal reads their clock in. */
function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Newlines and other control characters escaped, so one record can never pose as two lines. */
function escapeControls(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function scalarText(v: LogValue): string {
  return typeof v === 'string' ? escapeControls(v) : JSON.stringify(v);
}

/** Bare when it is one plain word; quoted JSON when it has spaces, quotes, '=' or is structured. */
function valueText(v: LogValue): string {
  if (typeof v === 'string') return /^[^\s"'=\\\u0000-\u001f\u007f\u2028\u2029]+$/.test(v) ? v : escapeControls(JSON.stringify(v));
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.message === 'string' && typeof v.name === 'string') {
    // An Error: one readable phrase rather than a JSON object on a terminal.
    const extra = ['code', 'errno'].filter((k) => v[k] !== undefined && !v.message!.toString().includes(String(v[k]))).map((k) => `${k} ${String(v[k])}`);
    return escapeControls(JSON.stringify(`${v.name}: ${v.message}${extra.length ? ` (${extra.join(', ')})` : ''}`));
  }
  return escapeControls(JSON.stringify(v));
}
