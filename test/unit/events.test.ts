// The event log (src/events/log.ts), GET /events (src/events/stream.ts through the control server) and
// `lvsd events`' cursor (src/cli/events-command.ts): resumed streams lose nothing and repeat nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog, type EventBody } from '../../src/events/log.js';
import { parseStreamQuery } from '../../src/events/stream.js';
import { startControl } from '../../src/control/server.js';
import { eventsCommand, onStreamLine, type Cursor } from '../../src/cli/events-command.js';
import { fakeTarget } from './control-fixture.js';

const q = (service: string, up: boolean): EventBody => ({ kind: 'quorum', service, up });

test('sequence numbers start at 1 and only grow; since(N) returns what came after N, oldest first', () => {
  const log = new EventLog({ capacity: 8, boot: 'b1' });
  assert.equal(log.last, 0);
  assert.deepEqual(log.since(0), { gap: null, events: [] });
  for (let i = 1; i <= 5; i++) assert.equal(log.append(q(`s${i}`, i % 2 === 0), 1000 + i).seq, i);
  const r = log.since(2, 'b1');
  assert.equal(r.gap, null);
  assert.deepEqual(r.events.map((e) => e.seq), [3, 4, 5]);
  assert.deepEqual(r.events[0], { kind: 'quorum', service: 's3', up: false, seq: 3, at: 1003 });
  assert.deepEqual(log.since(5).events, []);
});

test('the ring is bounded: a reader behind it is told which events are gone (gap), then gets the rest', () => {
  const log = new EventLog({ capacity: 4, boot: 'b1' });
  for (let i = 1; i <= 10; i++) log.append(q('web', i % 2 === 0), i);
  assert.equal(log.first, 7);
  const r = log.since(3, 'b1');
  assert.deepEqual(r.gap, { since: 3, next: 7, reason: 'overwritten' });
  assert.deepEqual(r.events.map((e) => e.seq), [7, 8, 9, 10]);
  // Exactly at the edge: nothing lost.
  assert.equal(log.since(6).gap, null);
  // since=0 asks for everything: the first 6 are gone.
  assert.deepEqual(log.since(0).gap, { since: 0, next: 7, reason: 'overwritten' });
});

test("another run's sequence numbers: a different boot, or a seq beyond the last, start over after a gap", () => {
  const log = new EventLog({ capacity: 16, boot: 'new' });
  for (let i = 1; i <= 3; i++) log.append(q('web', true), i);
  const other = log.since(2, 'old');
  assert.deepEqual(other.gap, { since: 2, next: 1, reason: 'restarted' });
  assert.deepEqual(other.events.map((e) => e.seq), [1, 2, 3]);
  const beyond = log.since(40);
  assert.deepEqual(beyond.gap, { since: 40, next: 1, reason: 'restarted' });
  assert.equal(beyond.events.length, 3);
});

test('subscribers get each event once, in order; one that throws does not stop the others', () => {
  const log = new EventLog({ boot: 'b' });
  const got: number[] = [];
  log.subscribe(() => { throw new Error('broken'); });
  const off = log.subscribe((e) => got.push(e.seq));
  log.append(q('a', true), 1);
  log.append(q('a', false), 2);
  off();
  log.append(q('a', true), 3);
  assert.deepEqual(got, [1, 2]);
});

test('GET /events query: since, boot, follow; anything else is refused with a reason', () => {
  assert.deepEqual(parseStreamQuery(new URLSearchParams('')), { ok: true, value: { since: 0, follow: false } });
  assert.deepEqual(parseStreamQuery(new URLSearchParams('since=42&boot=mi3x.123&follow=1')), { ok: true, value: { since: 42, boot: 'mi3x.123', follow: true } });
  for (const bad of ['since=-1', 'since=1e3', 'since=99999999999999999', 'boot=a%0Ab', 'follow=maybe', `boot=${'x'.repeat(65)}`]) {
    assert.equal(parseStreamQuery(new URLSearchParams(bad)).ok, false, bad);
  }
});

test("lvsd events' cursor: prints events and gaps once, follows hello's boot, skips heartbeats and repeats", () => {
  let c: Cursor = { since: 0 };
  const feed = (line: unknown) => { const r = onStreamLine(JSON.stringify(line), c); c = r.cursor; return r.print; };
  assert.equal(feed({ kind: 'hello', boot: 'b1', first: 1, last: 2 }), undefined);
  assert.equal(c.boot, 'b1');
  assert.ok(feed({ seq: 1, kind: 'quorum', service: 'web', up: true }));
  assert.ok(feed({ seq: 2, kind: 'quorum', service: 'web', up: false }));
  assert.equal(feed({ seq: 2, kind: 'quorum', service: 'web', up: false }), undefined, 'a repeat is not printed');
  assert.equal(feed({ kind: 'heartbeat', last: 2 }), undefined);
  assert.ok(feed({ kind: 'gap', since: 2, next: 9, reason: 'overwritten' }));
  assert.equal(onStreamLine('not json', c).print, undefined);
  assert.deepEqual(c, { since: 2, boot: 'b1' });
});

// ---- through the control server ----

const dir = mkdtempSync(join(tmpdir(), 'lvsd-events-'));
let n = 0;

interface Stream { lines: unknown[]; res: import('node:http').IncomingMessage; close(): void; ended: Promise<void> }
function open(path: string, query: string, opts: { read?: boolean } = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const lines: unknown[] = [];
    const req = request({ socketPath: path, path: `/events?${query}`, agent: false }, (res) => {
      let buf = '';
      let done!: () => void;
      const ended = new Promise<void>((r) => { done = r; });
      res.on('close', () => done());
      if (opts.read !== false) {
        res.setEncoding('utf8');
        res.on('data', (c: string) => { buf += c; let i; while ((i = buf.indexOf('\n')) >= 0) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); } });
      }
      res.on('error', () => {});
      resolve({ lines, res, close: () => req.destroy(), ended });
    });
    req.on('error', (e) => { if (!lines.length) reject(e); });
    req.end();
  });
}
const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) { if (Date.now() > end) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 10)); }
};
const seqs = (lines: unknown[]) => lines.filter((l): l is { seq: number } => typeof (l as { seq?: unknown }).seq === 'number').map((l) => l.seq);

test('GET /events: hello, retained events, live ones; a disconnected reader resumes from its last seq with no gap and no repeat', async () => {
  const events = new EventLog({ capacity: 64, boot: 'b1' });
  const path = join(dir, `c${n++}.sock`);
  const srv = await startControl({ daemon: fakeTarget({ events }), listen: { kind: 'unix', path } });
  try {
    for (let i = 0; i < 3; i++) events.append(q('web', i % 2 === 0), i);
    const s1 = await open(path, 'since=0&follow=1');
    await until(() => seqs(s1.lines).length === 3);
    assert.deepEqual(s1.lines[0], { kind: 'hello', boot: 'b1', first: 1, last: 3 });
    events.append(q('web', true), 10);
    await until(() => seqs(s1.lines).length === 4);
    s1.close();
    await s1.ended;
    // While nobody listens:
    for (let i = 0; i < 5; i++) events.append({ kind: 'real_server', service: 'web', server: '10.0.1.11:80', up: i % 2 === 0, reason: 'status 503', weight: 1 }, 20 + i);
    const last = seqs(s1.lines).at(-1)!;
    const s2 = await open(path, `since=${last}&boot=b1&follow=1`);
    events.append(q('web', false), 30);
    await until(() => seqs(s2.lines).length === 6);
    assert.ok(!s2.lines.some((l) => (l as { kind: string }).kind === 'gap'));
    const all = [...seqs(s1.lines), ...seqs(s2.lines)];
    assert.deepEqual(all, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'each seq exactly once, in order');
    s2.close();
    // Not following: the retained events, then the end of the response.
    const s3 = await open(path, 'since=8');
    await s3.ended;
    assert.deepEqual(seqs(s3.lines), [9, 10]);
  } finally { await srv.close(); }
});

test('GET /events: a reader behind the ring gets a gap line first; a wrong method or query is refused', async () => {
  const events = new EventLog({ capacity: 2, boot: 'b1' });
  const path = join(dir, `c${n++}.sock`);
  const srv = await startControl({ daemon: fakeTarget({ events }), listen: { kind: 'unix', path } });
  try {
    for (let i = 0; i < 5; i++) events.append(q('web', true), i);
    const s = await open(path, 'since=1');
    await s.ended;
    assert.deepEqual(s.lines.slice(1), [{ kind: 'gap', since: 1, next: 4, reason: 'overwritten' }, { kind: 'quorum', service: 'web', up: true, seq: 4, at: 3 }, { kind: 'quorum', service: 'web', up: true, seq: 5, at: 4 }]);
    const bad = await new Promise<number>((resolve) => request({ socketPath: path, path: '/events?since=x', agent: false }, (r) => { r.resume(); resolve(r.statusCode!); }).end());
    assert.equal(bad, 400);
    const post = await new Promise<number>((resolve) => request({ socketPath: path, path: '/events', method: 'POST', agent: false }, (r) => { r.resume(); resolve(r.statusCode!); }).end());
    assert.equal(post, 405);
  } finally { await srv.close(); }
});

test('GET /events: heartbeats while idle; a reader that stops reading is cut off at the unsent-bytes bound', async () => {
  const events = new EventLog({ capacity: 100_000, boot: 'b1' });
  const path = join(dir, `c${n++}.sock`);
  const srv = await startControl({ daemon: fakeTarget({ events }), listen: { kind: 'unix', path }, events: { heartbeatMs: 50, maxUnsentBytes: 64 * 1024 } });
  try {
    const idle = await open(path, 'follow=1');
    await until(() => idle.lines.some((l) => (l as { kind: string }).kind === 'heartbeat'));
    idle.close();
    await until(() => events.subscribers === 0);
    // A raw socket that sends the request and never reads.
    const sock = connect(path);
    sock.write('GET /events?follow=1 HTTP/1.1\r\nhost: lvsd\r\n\r\n');
    sock.pause();
    let closed = false;
    sock.on('close', () => { closed = true; });
    sock.on('error', () => {});
    await until(() => events.subscribers === 1);
    const big = 'x'.repeat(1000);
    for (let i = 0; i < 3000 && events.subscribers > 0; i++) {
      events.append({ kind: 'real_server', service: 'web', server: '10.0.1.11:80', up: false, reason: big, weight: 0 }, i);
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(events.subscribers, 0, 'the stream was cut off (unsubscribed) while its reader did not read');
    sock.on('data', () => {}).resume(); // the reader sees the end of the connection once it reads again
    await until(() => closed, 5000);
  } finally { await srv.close(); }
});

test('GET /events streams count against the listener connection cap', async () => {
  const events = new EventLog({ boot: 'b1' });
  const path = join(dir, `c${n++}.sock`);
  const srv = await startControl({ daemon: fakeTarget({ events }), listen: { kind: 'unix', path }, limits: { maxConnections: 2 } });
  try {
    const a = await open(path, 'follow=1'), b = await open(path, 'follow=1');
    await until(() => a.lines.length > 0 && b.lines.length > 0);
    await assert.rejects(open(path, 'follow=1'));
    a.close(); b.close();
  } finally { await srv.close(); }
});

test('lvsd events --since N prints the events after N as NDJSON and exits 0', async () => {
  const events = new EventLog({ boot: 'b1' });
  const path = join(dir, `c${n++}.sock`);
  const srv = await startControl({ daemon: fakeTarget({ events }), listen: { kind: 'unix', path } });
  try {
    for (let i = 0; i < 4; i++) events.append({ kind: 'vrrp_state', instance: 'VI_1', from: 'backup', to: 'master', priority: 100 }, i);
    let stdout = '', stderr = '';
    const code = await eventsCommand(['--since', '2', '--socket', path], { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
    assert.equal(code, 0, stderr);
    assert.deepEqual(stdout.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq), [3, 4]);
  } finally { await srv.close(); }
});
