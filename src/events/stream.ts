// GET /events: the event log (log.ts) as NDJSON, one JSON object a line.
//
//   {"kind":"hello","boot":"…","first":1,"last":41}        always first: this run and what it retains
//   {"kind":"gap","since":3,"next":10,"reason":"overwritten"}   events since+1..next-1 are lost for good
//   {"seq":42,"at":1764790000000,"kind":"vrrp_state","instance":"vi_1","from":"backup","to":"master",…}
//   {"kind":"heartbeat","last":42,"at":…}                   while following, when nothing else was sent
//
// Query: since=N (events after seq N; default 0, all retained), boot=B (the run N came from: another
// run's N starts over, after a gap), follow=1 (stay connected for live events). A client resumes with
// since=<last seq it printed>&boot=<hello's boot> and gets exactly the events it missed, or a gap line.
// Each stream holds one of the control listener's connections; a reader that falls more than
// maxUnsentBytes behind (it stopped reading) is cut off, never buffered without bound.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RateLimitedLogger } from '../log/index.js';
import type { EventLog, LoggedEvent } from './log.js';

export interface EventStreamLimits {
  /** A heartbeat line after this long without one (idle proxies and the listener's idle deadline). */
  heartbeatMs: number;
  /** Bytes written but not yet taken by the reader at most; beyond, the connection is closed. */
  maxUnsentBytes: number;
}

/** Heartbeats well inside the control listener's 30 s idle deadline. */
export const DEFAULT_EVENT_STREAM_LIMITS: EventStreamLimits = { heartbeatMs: 10_000, maxUnsentBytes: 256 * 1024 };

export interface StreamQuery { since: number; boot?: string; follow: boolean }

/** The query of GET /events, or why it is refused (pure). */
export function parseStreamQuery(params: URLSearchParams): { ok: true; value: StreamQuery } | { ok: false; error: string } {
  const s = params.get('since');
  let since = 0;
  if (s !== null && s !== '') {
    if (!/^\d{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) return { ok: false, error: 'since must be a sequence number (a non-negative integer)' };
    since = Number(s);
  }
  const boot = params.get('boot');
  if (boot !== null && (boot.length > 64 || !/^[\w.-]*$/.test(boot))) return { ok: false, error: 'boot must be the boot string of a hello line' };
  const f = params.get('follow');
  const follow = f === '' || f === '1' || f === 'true';
  if (f !== null && !follow && f !== '0' && f !== 'false') return { ok: false, error: 'follow must be 1 or 0' };
  return { ok: true, value: { since, ...(boot ? { boot } : {}), follow } };
}

const line = (v: unknown): string => `${JSON.stringify(v)}\n`;

function refuse(res: ServerResponse, status: number, error: string): void {
  const text = line({ ok: false, error });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
  res.end(text);
}

/** Serves one GET /events request (method and authorization already checked by the server). */
export function streamEvents(log: EventLog | undefined, req: IncomingMessage, res: ServerResponse,
  opts: Partial<EventStreamLimits> & { limited?: RateLimitedLogger | undefined } = {}): void {
  if (!log) { refuse(res, 501, 'this lvsd keeps no event log'); return; }
  const q = parseStreamQuery(new URL(req.url ?? '/', 'http://lvsd').searchParams);
  if (!q.ok) { refuse(res, 400, q.error); return; }
  const limits = { ...DEFAULT_EVENT_STREAM_LIMITS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as EventStreamLimits;
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  let done = false;
  let unsubscribe = () => {};
  let heartbeat: NodeJS.Timeout | undefined;
  let lastWrite = Date.now();
  const finish = () => { done = true; unsubscribe(); clearInterval(heartbeat); };
  res.once('close', finish);
  const write = (v: unknown): void => {
    if (done) return;
    if (res.writableLength > limits.maxUnsentBytes) {
      opts.limited?.warn('events-slow', 'event stream reader too slow: disconnected', { unsent: res.writableLength, peer: req.socket.remoteAddress ?? 'unix' });
      finish();
      res.destroy();
      return;
    }
    lastWrite = Date.now();
    res.write(line(v));
  };
  // Retained events and the subscription in one tick: none can slip in between.
  const { gap, events } = log.since(q.value.since, q.value.boot);
  write({ kind: 'hello', boot: log.boot, first: log.first, last: log.last });
  if (gap) write({ kind: 'gap', ...gap });
  for (const e of events) write(e);
  if (!q.value.follow) { finish(); res.end(); return; }
  unsubscribe = log.subscribe((e: LoggedEvent) => write(e));
  heartbeat = setInterval(() => {
    if (Date.now() - lastWrite >= limits.heartbeatMs - 5) write({ kind: 'heartbeat', last: log.last, at: Date.now() });
  }, Math.max(10, limits.heartbeatMs));
  heartbeat.unref();
}
