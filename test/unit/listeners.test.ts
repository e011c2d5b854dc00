// Bounded listeners (src/listeners/): the connection caps, the descriptor reserve, the deadlines and the
// answers to malformed requests, on real loopback sockets; and the rate-limited log lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createBoundedServer, DEFAULT_LIMITS, fdReserve, fileLimit, type FdReserve, type ListenerLimits } from '../../src/listeners/index.js';
import { listenerStats } from '../../src/listeners/stats.js';
import { rateLimitedLogger } from '../../src/log/rate-limit.js';
import type { Logger } from '../../src/log/index.js';

let seq = 0;
async function start(limits: Partial<ListenerLimits>, reserve?: FdReserve): Promise<{ server: Server; port: number; name: string; handled: () => number }> {
  const name = `test-${++seq}`;
  let handled = 0;
  const server = createBoundedServer(name, { ...DEFAULT_LIMITS, ...limits }, (_req, res) => { handled++; res.end('ok\n'); }, reserve ? { reserve } : {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, name, handled: () => handled };
}

const stop = (server: Server) => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });

/** A connection and everything it receives until it closes. */
function open(port: number, send?: string): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (b) => { got += b.toString(); });
    const closed = new Promise<string>((r) => socket.on('close', () => r(got)));
    socket.on('error', () => {});
    socket.once('connect', () => { if (send) socket.write(send); resolve({ socket, closed }); });
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('past max_connections new connections are closed at once, never queued; a freed slot serves again', async () => {
  const { server, port, name } = await start({ maxConnections: 4, maxPerPeer: 100 });
  try {
    const held = await Promise.all(Array.from({ length: 4 }, () => open(port)));
    await sleep(50);
    const extra = await Promise.all(Array.from({ length: 6 }, () => open(port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n')));
    // Closed without an answer: refused, not waiting in a queue for a slot.
    for (const e of extra) assert.equal(await e.closed, '');
    assert.equal(listenerStats(name).refused.max_connections, 6);
    assert.equal(listenerStats(name).open, 4);
    held[0]!.socket.destroy();
    await sleep(50);
    const again = await open(port, 'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    assert.match(await again.closed, /^HTTP\/1.1 200 OK/);
    for (const h of held) h.socket.destroy();
  } finally { await stop(server); }
});

test('one address holds at most max_per_peer connections', async () => {
  const { server, port, name } = await start({ maxConnections: 64, maxPerPeer: 3 });
  try {
    const held = await Promise.all(Array.from({ length: 3 }, () => open(port)));
    await sleep(30);
    const extra = await open(port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    assert.equal(await extra.closed, '');
    assert.equal(listenerStats(name).refused.max_per_peer, 1);
    for (const h of held) h.socket.destroy();
    await sleep(50);
    assert.equal(listenerStats(name).open, 0);
  } finally { await stop(server); }
});

test('the descriptor reserve: a connection whose descriptor is within the reserve of the limit is refused', async () => {
  const seen: number[] = [];
  let allow = true;
  const reserve: FdReserve = { limit: 1024, reserve: 128, allows: (fd) => { seen.push(fd); return allow; }, refresh() {} };
  const { server, port, name, handled } = await start({}, reserve);
  try {
    const a = await open(port, 'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    assert.match(await a.closed, /200 OK/);
    // The listener hands the reserve the accepted socket's real descriptor number.
    assert.ok(Number.isInteger(seen[0]) && seen[0]! > 2, `fd ${seen[0]}`);
    allow = false;
    const b = await open(port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    assert.equal(await b.closed, '');
    assert.equal(listenerStats(name).refused.fd_reserve, 1);
    assert.equal(handled(), 1);
  } finally { await stop(server); }
});

test('fdReserve: the limit is RLIMIT_NOFILE, the default reserve an eighth of it (at least 128)', () => {
  const { soft, hard } = fileLimit();
  assert.ok(soft > 0 && soft <= hard, `${soft} ${hard}`);
  const r = fdReserve();
  assert.equal(r.limit, soft);
  assert.equal(r.reserve, Math.max(128, Math.floor(soft / 8)));
  assert.equal(r.allows(3), true);
  assert.equal(r.allows(soft - r.reserve - 1), true);
  assert.equal(r.allows(soft - r.reserve), false);
  // The control socket leaves half of the reserve: it still gets descriptors a /metrics flood cannot.
  assert.equal(r.allows(soft - r.reserve, 0.5), true);
  assert.equal(r.allows(soft - Math.ceil(r.reserve / 2), 0.5), false);
  assert.equal(fdReserve(10).reserve, 10);
});

test('a request head that never finishes gets 408 and is closed (slowloris)', async () => {
  const { server, port, name, handled } = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
  try {
    const t0 = Date.now();
    const c = await open(port, 'GET / HTTP/1.1\r\nhost: x\r\n');
    const got = await c.closed;
    assert.match(got, /^HTTP\/1.1 408 /);
    assert.ok(Date.now() - t0 < 5_000, 'closed long before Node\'s 60 s default');
    assert.equal(listenerStats(name).badRequests.timeout, 1);
    assert.equal(handled(), 0);
  } finally { await stop(server); }
});

test('a connection that sends nothing is closed after the idle deadline', async () => {
  const { server, port } = await start({ idleTimeoutMs: 300, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
  try {
    const c = await open(port);
    const t0 = Date.now();
    await c.closed;
    assert.ok(Date.now() - t0 < 5_000);
  } finally { await stop(server); }
});

test('malformed requests: 400 for a bad request line, 431 for headers over the cap; the handler never runs', async () => {
  const { server, port, name, handled } = await start({ maxHeaderBytes: 1024 });
  try {
    const bad = await open(port, 'GARBAGE\x1b[2J\r\n\r\n');
    assert.match(await bad.closed, /^HTTP\/1.1 400 Bad Request\r\n/);
    const big = await open(port, `GET / HTTP/1.1\r\nhost: x\r\nx-pad: ${'a'.repeat(4096)}\r\n\r\n`);
    assert.match(await big.closed, /^HTTP\/1.1 431 /);
    assert.equal(listenerStats(name).badRequests.malformed, 1);
    assert.equal(listenerStats(name).badRequests.header_too_large, 1);
    assert.equal(handled(), 0);
  } finally { await stop(server); }
});

test('rate-limited log lines: a burst per window, then one line with the count when the window closes', () => {
  const lines: Array<[string, string, Record<string, unknown> | undefined]> = [];
  const log = { log: (l: string, m: string, f?: Record<string, unknown>) => { lines.push([l, m, f]); } } as unknown as Logger;
  let now = 0;
  const timers: Array<() => void> = [];
  const limited = rateLimitedLogger(log, { windowMs: 60_000, burst: 3, now: () => now, setTimer: (fn) => { timers.push(fn); } });
  for (let i = 0; i < 1000; i++) limited.warn('refused', 'control call refused', { i });
  limited.warn('other', 'something else');
  assert.equal(lines.length, 4);
  assert.deepEqual(lines.slice(0, 3).map((l) => l[2]?.i), [0, 1, 2]);
  now = 60_000;
  timers[0]!();
  assert.deepEqual(lines[4], ['warn', 'control call refused: 997 more like this in the last 60 s, not logged', { suppressed: 997, kind: 'refused' }]);
  // The next window starts afresh.
  limited.warn('refused', 'control call refused', { i: 'again' });
  assert.equal(lines[5]?.[2]?.i, 'again');
  assert.equal(limited.suppressed.get('refused'), 997);
});

test('coalesced: callers while it computes and within the window share one answer; invalidate and failures start afresh', async () => {
  const { coalesced } = await import('../../src/listeners/coalesce.js');
  let now = 0, calls = 0, fail = false;
  const c = coalesced(async () => { calls++; if (fail) throw new Error('no'); await sleep(5); now += 100; return calls; }, 250, () => now);
  const all = await Promise.all(Array.from({ length: 50 }, () => c.get()));
  assert.deepEqual(new Set(all), new Set([1]));
  now += 250;
  assert.equal(await c.get(), 1);
  now += 1;
  assert.equal(await c.get(), 2);
  c.invalidate();
  assert.equal(await c.get(), 3);
  fail = true;
  c.invalidate();
  await assert.rejects(c.get());
  await assert.rejects(c.get());
  assert.equal(calls, 5);
});
