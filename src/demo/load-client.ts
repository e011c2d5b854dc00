// The demo's client: runs inside the lab's client host and sends HTTP through the virtual IP without
// pause, the way real users would during a failover:
//   - keep-alive loops: requests on one persistent connection each (they depend on connection sync);
//   - new-connection loops: a fresh TCP connection per request (they depend on the scheduler);
//   - one long-lived connection (or --long N of them) exchanging a request/response every 100 ms, never
//     reopened unless it breaks, so whether the same connection survives a takeover is visible. Behind
//     ECMP one connection crosses one director, so a director's death is seen only with several.
// Output: JSON lines on stdout. {"ev":"tick"} every --tick ms with cumulative counts and the window's
// rate and latency; {"ev":"fail"} once per failed request with its reason; {"ev":"long"} when the
// long-lived connection opens or breaks (with --long N > 1 the tick also has every one's state in
// `longs`, and long lines their slot). Times are this kernel's wall clock in ms.
//
//   node dist/src/demo/load-client.js --host 192.0.2.10 --port 80 [--rate 40] [--keepalive 3]
//     [--fresh 3] [--timeout 3000] [--tick 250] [--long-interval 100] [--long 1]
import { request, Agent, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface LoadOptions {
  host: string;
  port: number;
  /** Requests per second over all keep-alive and new-connection loops. */
  rate: number;
  keepalive: number;
  fresh: number;
  timeoutMs: number;
  tickMs: number;
  longIntervalMs: number;
  /** Long-lived connections kept open at once. */
  longCount: number;
}

export type RequestKind = 'keepalive' | 'new' | 'long';

export interface TickLine {
  ev: 'tick';
  t: number;
  ok: number;
  failed: number;
  /** Completed requests per second in the last window. */
  rps: number;
  /** Latency of the window's successful requests, ms. */
  p50: number;
  p99: number;
  max: number;
  /** Successful responses by the server that answered (the body). */
  servers: Record<string, number>;
  /** The first long-lived connection. */
  long: LongState;
  /** Every long-lived connection, when there are several (--long N > 1). */
  longs?: LongState[];
}

export interface FailLine { ev: 'fail'; kind: RequestKind; started: number; t: number; reason: string }

export interface LongState {
  /** 1 for the first long-lived connection, +1 for every reopen after a break. */
  conn: number;
  open: boolean;
  /** Responses received on the current connection, and in total. */
  exchanges: number;
  total: number;
  /** Wall-clock time of the last response. */
  lastAt: number;
  breaks: number;
}

export interface LongLine { ev: 'long'; t: number; what: 'open' | 'break'; conn: number; reason?: string; exchanges: number; slot?: number }

export type LoadLine = TickLine | FailLine | LongLine;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function reasonOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code) return err.code;
  return err instanceof Error ? err.message : String(e);
}

class Stats {
  ok = 0;
  failed = 0;
  servers: Record<string, number> = {};
  window: number[] = [];
  lastTick = Date.now();

  success(ms: number, server: string): void {
    this.ok++;
    this.window.push(ms);
    this.servers[server] = (this.servers[server] ?? 0) + 1;
  }
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function emit(line: LoadLine): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** One GET; resolves with the body (the answering server's name) or rejects with a reason. */
function get(opts: LoadOptions, agent: Agent | false): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: opts.host, port: opts.port, path: '/', agent,
      headers: agent ? {} : { connection: 'close' },
      signal: AbortSignal.timeout(opts.timeoutMs),
    }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        else resolve(body.trim() || '?');
      });
      res.on('error', reject);
    });
    req.on('error', (e) => reject(e.name === 'AbortError' || e.name === 'TimeoutError' ? new Error(`timeout ${opts.timeoutMs} ms`) : e));
    req.end();
  });
}

async function loop(opts: LoadOptions, stats: Stats, kind: 'keepalive' | 'new', periodMs: number, stopped: () => boolean): Promise<void> {
  const agent = kind === 'keepalive' ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
  while (!stopped()) {
    const started = Date.now();
    try {
      const server = await get(opts, agent);
      stats.success(Date.now() - started, server);
    } catch (e) {
      stats.failed++;
      emit({ ev: 'fail', kind, started, t: Date.now(), reason: reasonOf(e) });
    }
    const rest = periodMs - (Date.now() - started);
    if (rest > 0) await sleep(rest);
  }
}

/** The long-lived connection: HTTP/1.1 requests on one socket, parsed by hand so reuse is certain. */
class LongLived {
  readonly state: LongState = { conn: 0, open: false, exchanges: 0, total: 0, lastAt: 0, breaks: 0 };
  private socket: Socket | undefined;
  private buf = Buffer.alloc(0);
  private sentAt = 0;
  private waiting = false;
  private timer: NodeJS.Timeout | undefined;

  /** slot: which of the --long connections (its lines carry it only when there are several). */
  constructor(private readonly opts: LoadOptions, private readonly stats: Stats, private readonly slot?: number) {}

  private stopped = false;

  start(): void { this.open(); this.timer = setInterval(() => this.tick(), this.opts.longIntervalMs); }
  /** Our own close is not a break. */
  stop(): void { this.stopped = true; clearInterval(this.timer); this.socket?.destroy(); }

  private open(): void {
    const s = connect({ host: this.opts.host, port: this.opts.port });
    this.socket = s;
    this.buf = Buffer.alloc(0);
    this.waiting = false;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.state.conn++;
      this.state.open = true;
      this.state.exchanges = 0;
      emit({ ev: 'long', t: Date.now(), what: 'open', conn: this.state.conn, exchanges: 0, ...(this.slot !== undefined ? { slot: this.slot } : {}) });
    });
    s.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    s.on('error', (e) => this.broken(reasonOf(e)));
    s.on('close', () => this.broken('closed by peer'));
  }

  private broken(reason: string): void {
    if (!this.socket || this.stopped) return;
    const wasOpen = this.state.open;
    this.socket.destroy();
    this.socket = undefined;
    this.state.open = false;
    this.state.breaks++;
    this.stats.failed++;
    emit({ ev: 'fail', kind: 'long', started: this.waiting ? this.sentAt : Date.now(), t: Date.now(), reason });
    emit({ ev: 'long', t: Date.now(), what: 'break', conn: this.state.conn, reason: wasOpen ? reason : `connect: ${reason}`, exchanges: this.state.exchanges, ...(this.slot !== undefined ? { slot: this.slot } : {}) });
  }

  private tick(): void {
    if (!this.socket) { this.open(); return; }
    if (!this.state.open) return;
    if (this.waiting) {
      if (Date.now() - this.sentAt > this.opts.timeoutMs) this.broken(`no answer for ${this.opts.timeoutMs} ms`);
      return;
    }
    this.waiting = true;
    this.sentAt = Date.now();
    this.socket.write(`GET / HTTP/1.1\r\nHost: ${this.opts.host}\r\n\r\n`);
  }

  private parse(): void {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buf.length < end + 4 + len) return;
      const body = this.buf.subarray(end + 4, end + 4 + len).toString('utf8').trim();
      this.buf = this.buf.subarray(end + 4 + len);
      const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(head)?.[1] ?? 0);
      this.waiting = false;
      this.state.lastAt = Date.now();
      if (status === 200) {
        this.state.exchanges++;
        this.state.total++;
        this.stats.success(this.state.lastAt - this.sentAt, body || '?');
      } else {
        this.stats.failed++;
        emit({ ev: 'fail', kind: 'long', started: this.sentAt, t: this.state.lastAt, reason: `status ${status}` });
      }
    }
  }
}

export async function runLoad(opts: LoadOptions): Promise<void> {
  const stats = new Stats();
  let stop = false;
  const loops = opts.keepalive + opts.fresh;
  const periodMs = loops > 0 ? (1000 * loops) / opts.rate : 0;
  const longs = Array.from({ length: Math.max(1, opts.longCount) }, (_, i) => new LongLived(opts, stats, opts.longCount > 1 ? i : undefined));
  const long = longs[0]!;
  for (const l of longs) l.start();
  const ticker = setInterval(() => {
    const now = Date.now();
    const w = stats.window.sort((a, b) => a - b);
    emit({
      ev: 'tick', t: now, ok: stats.ok, failed: stats.failed,
      rps: Math.round((w.length * 1000) / Math.max(1, now - stats.lastTick)),
      p50: percentile(w, 50), p99: percentile(w, 99), max: w.at(-1) ?? 0,
      servers: stats.servers, long: long.state,
      ...(longs.length > 1 ? { longs: longs.map((l) => l.state) } : {}),
    });
    stats.window = [];
    stats.lastTick = now;
  }, opts.tickMs);
  const done = () => { stop = true; for (const l of longs) l.stop(); clearInterval(ticker); };
  process.once('SIGTERM', done);
  process.once('SIGINT', done);
  await Promise.all([
    ...Array.from({ length: opts.keepalive }, () => loop(opts, stats, 'keepalive', periodMs, () => stop)),
    ...Array.from({ length: opts.fresh }, () => loop(opts, stats, 'new', periodMs, () => stop)),
  ]);
}

export function parseLoadArgs(argv: string[]): LoadOptions {
  const num = (name: string, dflt: number): number => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return dflt;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} needs a number >= 0`);
    return v;
  };
  const i = argv.indexOf('--host');
  const host = i >= 0 ? argv[i + 1] : undefined;
  if (!host) throw new Error('--host ADDRESS is required');
  return {
    host, port: num('port', 80), rate: Math.max(1, num('rate', 40)), keepalive: num('keepalive', 3), fresh: num('fresh', 3),
    timeoutMs: num('timeout', 3000), tickMs: Math.max(20, num('tick', 250)), longIntervalMs: Math.max(10, num('long-interval', 100)),
    longCount: Math.min(1000, Math.max(1, Math.floor(num('long', 1)))),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await runLoad(parseLoadArgs(process.argv.slice(2)));
    process.exit(0);
  } catch (e) {
    process.stderr.write(`load-client: ${(e as Error).message}\n`);
    process.exit(64);
  }
}
