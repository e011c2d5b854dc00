// A client's traffic through a failure, counted from the client (issue #14): long-lived HTTP keep-alive
// connections, each asking for `/` every few hundred ms, and loops of new connections, one request each.
// Runs inside a lab host (`node flows.js --vip ... `, started by startFlows()); the test or the bench
// asks for a report on stdin. Times are the lab kernel's clock, the same as `date` in any host.
//
// A long-lived connection is broken when it errors, the server closes it, or a response is overdue by
// --stall-limit: what a user of a database or WebSocket connection would see. A new request failed
// when it did not get a complete 200 within --timeout (SYN retransmits included: a new connection
// the router still sends to a dead director gets through once the router has moved it).
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LabHost } from './lab.js';
import type { LabProcess } from './process.js';

export interface FlowsOptions {
  vip: string;
  port?: number;
  /** Long-lived keep-alive connections. Default 24. */
  long?: number;
  /** Pause between a response and the next request on a long-lived connection, ms. Default 200. */
  everyMs?: number;
  /** Concurrent loops of new connections. Default 2. */
  loops?: number;
  /** A new request fails after this long, ms. Default 10,000. */
  timeoutMs?: number;
  /** A long-lived connection whose response is this late counts as broken, ms. Default 30,000. */
  stallLimitMs?: number;
}

export interface LongFlowReport {
  /** The client's source port: the flow's identity at the directors (ipvsadm -Lnc). */
  localPort: number;
  server: string;
  responses: number;
  broken: boolean;
  brokenAt?: number;
  error?: string;
  /** Gaps between consecutive responses longer than 3 x everyMs + 300 ms: [start, end] epoch ms. */
  gaps: [number, number][];
  /** How long the request in flight has been waiting when the report was made (0: none). */
  waitingMs?: number;
}

export interface FlowsReport {
  at: number;
  long: LongFlowReport[];
  requests: { ok: number; failed: number; failures: { at: number; ms: number; error: string }[]; slow: { at: number; ms: number }[] };
}

// ---- the program, run in the lab host ----

function parseArgs(argv: string[]): Required<FlowsOptions> {
  const get = (k: string, d: number): number => { const i = argv.indexOf(`--${k}`); return i >= 0 ? Number(argv[i + 1]) : d; };
  const vi = argv.indexOf('--vip');
  return {
    vip: vi >= 0 ? argv[vi + 1]! : '', port: get('port', 80), long: get('long', 24), everyMs: get('every', 200),
    loops: get('loops', 2), timeoutMs: get('timeout', 10_000), stallLimitMs: get('stall-limit', 30_000),
  };
}

/** Parses HTTP/1.1 responses with Content-Length off a byte stream; calls back with status and body. */
export class ResponseReader {
  private buf = Buffer.alloc(0);
  constructor(private readonly onResponse: (status: number, body: string, close: boolean) => void) {}
  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buf.length < end + 4 + len) return;
      const body = this.buf.subarray(end + 4, end + 4 + len).toString();
      this.buf = this.buf.subarray(end + 4 + len);
      this.onResponse(Number(head.split(' ')[1]), body.trim(), /\r\nconnection:\s*close/i.test(head));
    }
  }
}

function longFlow(o: Required<FlowsOptions>, onFirst: () => void): { report(): LongFlowReport } {
  const r: LongFlowReport = { localPort: 0, server: '', responses: 0, broken: false, gaps: [] };
  const gapMs = 3 * o.everyMs + 300;
  let last = 0, sentAt = 0, done = false;
  const s = net.connect({ host: o.vip, port: o.port });
  s.setNoDelay(true);
  const request = (): void => { sentAt = Date.now(); s.write(`GET / HTTP/1.1\r\nHost: ${o.vip}\r\n\r\n`); };
  const fail = (why: string): void => {
    if (done) return;
    done = true;
    r.broken = true; r.brokenAt = Date.now(); r.error = why;
    clearInterval(watch);
    s.destroy();
  };
  const watch = setInterval(() => { if (sentAt && Date.now() - sentAt > o.stallLimitMs) fail(`no response for ${o.stallLimitMs} ms`); }, 500);
  const reader = new ResponseReader((status, body, close) => {
    const now = Date.now();
    sentAt = 0;
    if (status !== 200) { fail(`HTTP ${status}`); return; }
    if (r.server && body !== r.server) { fail(`answered by ${body} after ${r.server}`); return; }
    if (!r.server) { r.server = body; onFirst(); }
    if (last && now - last > gapMs) r.gaps.push([last, now]);
    last = now;
    r.responses++;
    if (close) { fail('the server closed the connection'); return; }
    setTimeout(request, o.everyMs);
  });
  s.on('connect', () => { r.localPort = s.localPort ?? 0; request(); });
  s.on('data', (d) => reader.push(d));
  s.on('error', (e) => fail(e.message));
  s.on('close', () => fail('closed'));
  return { report: () => ({ ...r, gaps: [...r.gaps], waitingMs: sentAt && !done ? Date.now() - sentAt : 0 }) };
}

function requestLoop(o: Required<FlowsOptions>, out: FlowsReport['requests']): void {
  const one = (): void => {
    const t0 = Date.now();
    let settled = false;
    const s = net.connect({ host: o.vip, port: o.port });
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      const ms = Date.now() - t0;
      if (error) out.failures.push({ at: t0, ms, error }); else out.ok++;
      if (error) out.failed++;
      if (!error && ms > 500) out.slow.push({ at: t0, ms });
      setTimeout(one, 20);
    };
    const timer = setTimeout(() => finish(`timeout ${o.timeoutMs} ms`), o.timeoutMs);
    const reader = new ResponseReader((status) => finish(status === 200 ? undefined : `HTTP ${status}`));
    s.on('connect', () => s.write(`GET / HTTP/1.1\r\nHost: ${o.vip}\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => reader.push(d));
    s.on('error', (e) => finish(e.message));
    s.on('close', () => finish('closed before a response'));
  };
  one();
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  if (!o.vip) { process.stderr.write('usage: flows --vip ADDRESS [--port 80] [--long 24] [--every 200] [--loops 2] [--timeout 10000] [--stall-limit 30000]\n'); process.exit(2); }
  let first = 0;
  const flows: { report(): LongFlowReport }[] = [];
  for (let i = 0; i < o.long; i++) flows.push(longFlow(o, () => { if (++first === o.long) process.stdout.write('ready\n'); }));
  const requests: FlowsReport['requests'] = { ok: 0, failed: 0, failures: [], slow: [] };
  for (let i = 0; i < o.loops; i++) requestLoop(o, requests);
  createInterface({ input: process.stdin }).on('line', (l) => {
    if (l.trim() === 'report') {
      const rep: FlowsReport = { at: Date.now(), long: flows.map((f) => f.report()), requests: { ...requests, failures: [...requests.failures], slow: [...requests.slow] } };
      process.stdout.write(`REPORT ${JSON.stringify(rep)}\n`);
    }
  }).on('close', () => process.exit(0));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();

// ---- the controller, in the test ----

export class FlowsHandle {
  private reports = 0;
  constructor(readonly process: LabProcess) {}
  /** The client's view now; counters are totals since the start. */
  async report(): Promise<FlowsReport> {
    const n = ++this.reports;
    await this.process.write('report\n');
    const m = await this.process.waitUntil(() => {
      const lines = this.process.output.split('\n').filter((l) => l.startsWith('REPORT '));
      return lines.length >= n ? lines[n - 1]! : undefined;
    }, { timeoutMs: 30_000, what: 'a flows report' });
    return JSON.parse(m.slice('REPORT '.length)) as FlowsReport;
  }
  async stop(): Promise<void> { await this.process.end().catch(() => {}); await this.process.stop(3000); }
}

/** Starts the flows in `host` and resolves once every long-lived connection has had its first response. */
export async function startFlows(host: LabHost, o: FlowsOptions): Promise<FlowsHandle> {
  const args = ['--vip', o.vip, '--port', String(o.port ?? 80), '--long', String(o.long ?? 24), '--every', String(o.everyMs ?? 200),
    '--loops', String(o.loops ?? 2), '--timeout', String(o.timeoutMs ?? 10_000), '--stall-limit', String(o.stallLimitMs ?? 30_000)];
  const p = await host.spawnNode(fileURLToPath(import.meta.url), args);
  await p.waitFor(/^ready$/m, { which: 'stdout', timeoutMs: 60_000 });
  return new FlowsHandle(p);
}

/** Figures over a report, from `since` (epoch ms, lab clock): what the test asserts and the bench prints. */
export function summarize(r: FlowsReport, since: number): {
  long: number; broken: number; stalled: number; stillWaiting: number; longestStallMs: number; recoveredMs: number;
  requestsOk: number; requestsFailed: number; slowRequests: number; slowestRequestMs: number; failures: string[];
} {
  const broken = r.long.filter((f) => f.broken);
  const gaps = r.long.flatMap((f) => f.gaps).filter(([, end]) => end >= since);
  const failures = r.requests.failures.filter((f) => f.at >= since - 12_000);
  const slow = r.requests.slow.filter((f) => f.at >= since - 12_000);
  return {
    long: r.long.length,
    broken: broken.length,
    stalled: r.long.filter((f) => f.gaps.some(([, end]) => end >= since)).length,
    // Not broken yet, but no answer for over a second when the report was made: not recovered.
    stillWaiting: r.long.filter((f) => !f.broken && (f.waitingMs ?? 0) > 1000).length,
    longestStallMs: Math.max(0, ...gaps.map(([a, b]) => b - a)),
    // When the last stalled long-lived connection got its answer again: traffic flows again.
    recoveredMs: Math.max(0, ...gaps.map(([, end]) => end - since)),
    requestsOk: r.requests.ok,
    requestsFailed: r.requests.failed,
    slowRequests: slow.length,
    slowestRequestMs: Math.max(0, ...slow.map((s) => s.ms)),
    failures: [...failures.map((f) => `${new Date(f.at).toISOString()} ${f.ms} ms: ${f.error}`), ...broken.map((f) => `long ${f.localPort} (${f.server}): ${f.error} at ${new Date(f.brokenAt!).toISOString()}`)],
  };
}
