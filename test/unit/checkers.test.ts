// Checkers: the pure verdict core (retries, rise, delay before retry, alpha, warmup, script weights), the
// HTTP judgements (genhash's digest: keepalived's own genhash is the independent reader), and the probes
// against real sockets and processes on this machine (refused, source address and port, slow body, TLS, script outcomes).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { firstDelay, initialState, step, type VerdictPolicy, type VerdictState } from '../../checkers/verdict.js';
import { bodyDigest, judgeBody, statusExpected } from '../../checkers/http-match.js';
import { probeHttp } from '../../checkers/http.js';
import { fastTcpAvailable, probeTcp } from '../../checkers/tcp.js';
import { deadline } from '../../checkers/deadline.js';
import { judgeExit, runScript } from '../../checkers/script.js';
import { CheckRunner, dedupeKey } from '../../checkers/runner.js';
import { down, up, type CheckOutcome } from '../../checkers/outcome.js';
import { parseConfig } from '../../src/config/index.js';
import type { CheckConfig } from '../../src/config/model.js';

const P: VerdictPolicy = { interval: 1000, retries: 2, rise: 2, delay_before_retry: 300, warmup: 0 };

function feed(p: VerdictPolicy, s: VerdictState, outcomes: CheckOutcome[]) {
  const log: string[] = [];
  const delays: number[] = [];
  for (const o of outcomes) {
    const r = step(p, s, o);
    s = r.state;
    delays.push(r.nextDelayMs);
    for (const c of r.changes) log.push(c.kind === 'down' ? `down:${c.reason}` : c.kind === 'up' ? `up` : `weight:${c.weight}`);
  }
  return { s, log, delays };
}

describe('verdict core', () => {
  test('an up check goes down after `retries` failures in a row, retrying after delay_before_retry', () => {
    const r = feed(P, initialState(false), [down('connection refused'), down('connection refused')]);
    assert.deepEqual(r.log, ['down:connection refused']);
    assert.deepEqual(r.delays, [300, 1000]);
    assert.equal(r.s.up, false);
  });
  test('a success between failures resets the count', () => {
    const r = feed(P, initialState(false), [down('x'), up(), down('x'), up()]);
    assert.deepEqual(r.log, []);
    assert.deepEqual(r.delays, [300, 1000, 300, 1000]);
  });
  test("a server that started up says 'check passed' after its first success, not 'starting up' forever", () => {
    assert.equal(initialState(false).reason, 'starting up');
    const r = feed(P, initialState(false), [up()]);
    assert.deepEqual(r.log, []);
    assert.equal(r.s.reason, 'check passed');
  });
  test('a down check needs `rise` successes in a row', () => {
    const s0 = feed(P, initialState(false), [down('a'), down('b')]).s;
    const r = feed(P, s0, [up(), down('c'), up(), up()]);
    assert.deepEqual(r.log, ['up']);
    assert.equal(r.s.up, true);
    assert.equal(r.s.reason, '2 successes in a row');
  });
  test('alpha starts down; retries 1 goes down on the first failure (keepalived retry 0)', () => {
    const p = { ...P, retries: 1, rise: 1 };
    assert.equal(initialState(true).up, false);
    assert.deepEqual(feed(p, initialState(true), [up()]).log, ['up']);
    assert.deepEqual(feed(p, initialState(false), [down('status 503')]).log, ['down:status 503']);
  });
  test('script weights: a change while up is a weight change; the weight rides along with up', () => {
    const r = feed({ ...P, rise: 1 }, initialState(false), [up(5), up(5), up(7), up()]);
    assert.deepEqual(r.log, ['weight:5', 'weight:7', 'weight:undefined']);
    const r2 = feed({ ...P, retries: 1, rise: 1 }, initialState(false), [down('exit 1'), up(3)]);
    assert.deepEqual(r2.log, ['down:exit 1', 'up']);
    assert.equal(r2.s.weight, 3);
  });
  test('warmup spreads first probes uniformly over [0, warmup)', () => {
    assert.equal(firstDelay({ ...P, warmup: 0 }, 0.99), 0);
    assert.equal(firstDelay({ ...P, warmup: 1000 }, 0.5), 500);
    const ds = Array.from({ length: 4000 }, () => firstDelay({ ...P, warmup: 1000 }, Math.random()));
    const perBucket = new Array(10).fill(0);
    for (const d of ds) perBucket[Math.floor(d / 100)]++;
    for (const n of perBucket) assert.ok(n > 300 && n < 500, `bucket ${n}`);
  });
});

describe('HTTP judgements', () => {
  test('status lists and ranges (default 200-299)', () => {
    assert.ok(statusExpected(200));
    assert.ok(statusExpected(299));
    assert.ok(!statusExpected(301));
    assert.ok(statusExpected(302, [[200, 200], [301, 302]]));
    assert.ok(!statusExpected(503, [[200, 200], [301, 302]]));
  });
  test('digest = MD5 of the body bytes, hex (RFC 1321 vector, md5sum)', () => {
    assert.equal(bodyDigest(Buffer.from('')), 'd41d8cd98f00b204e9800998ecf8427e');
    assert.equal(bodyDigest(Buffer.from('The quick brown fox jumps over the lazy dog')), '9e107d9d372bb6826bd81d3542a419d6');
    assert.equal(bodyDigest(Buffer.from('rs1\n')), '7a6c0d2ef5a9e6e1776090916c66ba3a');
    assert.equal(judgeBody(Buffer.from('rs1\n'), { digest: '7A6C0D2EF5A9E6E1776090916C66BA3A' }), undefined);
    assert.match(judgeBody(Buffer.from('rs2\n'), { digest: '7a6c0d2ef5a9e6e1776090916c66ba3a' })!, /^digest mismatch/);
    assert.equal(judgeBody(Buffer.from('status: OK'), { regex: /OK$/ }), undefined);
    assert.equal(judgeBody(Buffer.from('status: KO'), { regex: /OK$/ }), 'body does not match the regex');
  });
});

describe('probe deadlines', () => {
  /** Counts the Node timers `f` arms (each one a clock read, a system call under UML). */
  async function timersArmed(f: () => Promise<void>): Promise<number> {
    const real = globalThis.setTimeout;
    let n = 0;
    globalThis.setTimeout = ((...a: Parameters<typeof real>) => { n++; return real(...a); }) as typeof real;
    try { await f(); } finally { globalThis.setTimeout = real; }
    return n;
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test('probes started in one turn share one timer per timeout; none fires early; cancelled ones never fire', async () => {
    const fired: { i: number; late: number }[] = [];
    const armed = await timersArmed(async () => {
      const started: number[] = [];
      const ds = Array.from({ length: 50 }, (_, i) => {
        started[i] = performance.now();
        const spin = performance.now() + 0.2;
        while (performance.now() < spin) { /* probes take time to start */ }
        return deadline(30, () => fired.push({ i, late: performance.now() - started[i]! - 30 }));
      });
      deadline(40, () => fired.push({ i: -1, late: 0 })).cancel();
      for (let i = 0; i < 50; i += 2) ds[i]!.cancel();
      await new Promise((r) => setImmediate(r));
    });
    await sleep(80);
    assert.equal(armed, 1, 'one timer for the batch of 30 ms, none for the fully cancelled 40 ms batch');
    assert.deepEqual(fired.map((f) => f.i), Array.from({ length: 25 }, (_, k) => 2 * k + 1));
    for (const f of fired) assert.ok(f.late >= 0, `probe ${f.i} expired ${-f.late} ms early`);
  });

  test('a batch whose probes all finish takes its timer down; separate turns get separate timers', async () => {
    let fires = 0;
    const a = deadline(20, () => fires++);
    await new Promise((r) => setImmediate(r)); // armed now
    const b = deadline(20, () => fires++);
    a.cancel();
    await sleep(40);
    assert.equal(fires, 1, 'b (next turn, own timer) fires; a was cancelled');
    b.cancel(); // after firing: harmless
  });
});

describe('probes against real sockets', () => {
  let server: Server;
  let port = 0;
  let body = Buffer.from('hello lvsd\n');
  let status = 200;
  let trickle = false;
  const seenBy: string[] = []; // each request's client address:port, as the server's kernel reports it
  before(async () => {
    server = createServer((req, res) => {
      seenBy.push(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
      if (req.url === '/slow' || trickle) {
        res.writeHead(200);
        let n = 0;
        const t = setInterval(() => { res.write('x'); if (++n === 20) { clearInterval(t); res.end(); } }, 50);
        res.on('close', () => clearInterval(t));
        return;
      }
      if (req.url === '/big') { res.end(Buffer.alloc(100_000, 'a')); return; }
      if (req.url === '/host') { res.end(req.headers.host ?? ''); return; }
      res.writeHead(status); res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());
  const t = () => ({ address: '127.0.0.1', family: 4 as const, port });
  const http = (x: Partial<Parameters<typeof probeHttp>[1]> = {}) => probeHttp(t(), { timeout: 500, path: '/', status: [[200, 299]], maxBodyBytes: 1 << 20, ...x });

  test('our digest equals keepalived genhash on the same server', async () => {
    const out = await new Promise<string>((res, rej) => execFile('genhash', ['-s', '127.0.0.1', '-p', String(port), '-u', '/'], (e, o) => (e ? rej(e) : res(o))));
    const genhash = out.trim().split(/\s+/).pop()!;
    assert.equal(genhash, bodyDigest(body));
    assert.deepEqual(await http({ digest: genhash }), { ok: true });
    body = Buffer.from('changed\n');
    assert.match((await http({ digest: genhash }) as { reason: string }).reason, /^digest mismatch/);
    body = Buffer.from('hello lvsd\n');
  });
  test('status 503 fails with "status 503"; listed statuses pass', async () => {
    status = 503;
    assert.deepEqual(await http(), { ok: false, reason: 'status 503' });
    assert.deepEqual(await http({ status: [[200, 200], [500, 503]] }), { ok: true });
    status = 200;
  });
  test('a body trickled past the timeout fails (the timeout covers the whole response)', async () => {
    const t0 = Date.now();
    assert.deepEqual(await http({ path: '/slow', timeout: 300 }), { ok: false, reason: 'timed out after 300ms' });
    assert.ok(Date.now() - t0 < 600);
    assert.deepEqual(await http({ path: '/slow', timeout: 2000 }), { ok: true });
  });
  test('body bound: more than max_body_bytes fails when the body is judged', async () => {
    assert.deepEqual(await http({ path: '/big', maxBodyBytes: 1000, bodyRegex: /a/ }), { ok: false, reason: 'body longer than 1000 bytes' });
    assert.deepEqual(await http({ path: '/big', maxBodyBytes: 200_000, bodyRegex: /^a+$/ }), { ok: true });
  });
  test('Host header: configured, else address:port', async () => {
    assert.deepEqual(await http({ path: '/host', bodyRegex: /^www\.example\.org$/, host: 'www.example.org' }), { ok: true });
    assert.deepEqual(await http({ path: '/host', bodyRegex: new RegExp(`^127\\.0\\.0\\.1:${port}$`) }), { ok: true });
  });
  test('TCP: connect ok and refused on both paths (libuv handle; the addon socket when a source, fwmark or interface is set)', async () => {
    assert.ok(fastTcpAvailable, 'this Node offers the TCP handle the fast path uses');
    assert.deepEqual(await probeTcp(t(), { timeout: 500 }), { ok: true });
    const s = createTcpServer(); await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const dead = (s.address() as AddressInfo).port; s.close();
    assert.deepEqual(await probeTcp({ ...t(), port: dead }, { timeout: 500 }), { ok: false, reason: 'connection refused' });
    assert.deepEqual(await probeTcp({ ...t(), port: dead }, { timeout: 500, sourceAddress: '127.0.0.1' }), { ok: false, reason: 'connection refused' });
    assert.deepEqual(await probeTcp({ ...t(), port: dead }, { timeout: 500, fwmark: 3 }), { ok: false, reason: 'connection refused' });
    assert.deepEqual(await probeTcp({ address: '::1', family: 6, port: dead }, { timeout: 500 }), { ok: false, reason: 'connection refused' });
    assert.deepEqual(await probeTcp({ address: '::1', family: 6, port: dead }, { timeout: 500, sourcePort: 40311 }), { ok: false, reason: 'connection refused' });
    assert.deepEqual(await http({}).then(() => probeHttp({ ...t(), port: dead }, { timeout: 500, path: '/', status: [[200, 299]], maxBodyBytes: 10 })), { ok: false, reason: 'connection refused' });
    assert.deepEqual(await probeTcp(t(), { timeout: 500, bindInterface: 'lvsdnope0' }), { ok: false, reason: 'no such interface' });
    assert.deepEqual(await probeTcp(t(), { timeout: 500, sourceAddress: '192.0.2.254' }), { ok: false, reason: 'source address not available' });
  });

  test('source address and port: the server sees them (HTTP: address and port, three probes in a row; TCP: address)', async () => {
    const peers: string[] = [];
    const s = createTcpServer((c) => { peers.push(`${c.remoteAddress}:${c.remotePort}`); c.on('error', () => {}); });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const tcp = { ...t(), port: (s.address() as AddressInfo).port };
    try {
      // Without a source port the probe closes with FIN, so the server still reads the peer after accept.
      assert.deepEqual(await probeTcp(tcp, { timeout: 500, sourceAddress: '127.0.0.2' }), { ok: true });
      for (let i = 0; i < 100 && peers.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.match(peers[0] ?? '', /^127\.0\.0\.2:\d+$/);
    } finally { s.close(); }
    // A fixed port again and again: each probe ends with RST, so no TIME_WAIT refuses the next one.
    const before = seenBy.length;
    for (let i = 0; i < 3; i++) assert.deepEqual(await http({ sourceAddress: '127.0.0.3', sourcePort: 40312 }), { ok: true });
    assert.deepEqual(seenBy.slice(before), ['127.0.0.3:40312', '127.0.0.3:40312', '127.0.0.3:40312']);
    assert.deepEqual(await http({ fwmark: 3, bindInterface: 'lo' }), { ok: true });
    assert.match(seenBy.at(-1)!, /^127\.0\.0\.1:\d+$/);
  });

  test('an event-loop stall past the timeout does not fail a connection that completed in time', async () => {
    for (const sourceAddress of [undefined, '127.0.0.1']) {
      const pr = probeTcp(t(), { timeout: 50, sourceAddress });
      const end = Date.now() + 150;
      while (Date.now() < end) { /* a stalled loop: GC, a busy tick */ }
      assert.deepEqual(await pr, { ok: true });
    }
  });

  test('HTTPS: SNI and verification against a CA file; an untrusted certificate fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsd-ck-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
        '-subj', '/CN=rs.example', '-addext', 'subjectAltName=DNS:rs.example', '-keyout', join(dir, 'k'), '-out', join(dir, 'c')], { stdio: 'ignore' });
      let sni: string | undefined;
      const s = createHttpsServer({ key: readFileSync(join(dir, 'k')), cert: readFileSync(join(dir, 'c')) }, (_q, r) => r.end('tls ok'));
      s.on('secureConnection', (sock) => { sni = (sock as unknown as { servername?: string }).servername; });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      const tp = { address: '127.0.0.1', family: 4 as const, port: (s.address() as AddressInfo).port };
      const o = { timeout: 1000, path: '/', status: [[200, 299]] as [number, number][], maxBodyBytes: 100 };
      assert.deepEqual(await probeHttp(tp, { ...o, tls: { sni: 'rs.example', verify: true, ca: readFileSync(join(dir, 'c')) } }), { ok: true });
      assert.equal(sni, 'rs.example');
      const bad = await probeHttp(tp, { ...o, tls: { sni: 'rs.example', verify: true } });
      assert.equal(bad.ok, false);
      assert.match((bad as { reason: string }).reason, /certificate/);
      assert.deepEqual(await probeHttp(tp, { ...o, tls: { verify: false } }), { ok: true });
      // The addon's socket under TLS (a source address set): same SNI and verification.
      sni = undefined;
      assert.deepEqual(await probeHttp(tp, { ...o, sourceAddress: '127.0.0.4', sourcePort: 40313, tls: { sni: 'rs.example', verify: true, ca: readFileSync(join(dir, 'c')) } }), { ok: true });
      assert.equal(sni, 'rs.example');
      assert.match((await probeHttp(tp, { ...o, sourceAddress: '127.0.0.4', tls: { sni: 'rs.example', verify: true } }) as { reason: string }).reason, /certificate/);
      const wrongName = await probeHttp(tp, { ...o, tls: { sni: 'other.example', verify: true, ca: readFileSync(join(dir, 'c')) } });
      assert.equal(wrongName.ok, false);
      s.close();
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('scripts', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'lvsd-script-')); chmodSync(dir, 0o755); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const script = (name: string, body: string) => { const p = join(dir, name); writeFileSync(p, `#!/bin/sh\n${body}\n`); chmodSync(p, 0o755); return p; };

  // Running programs (no shell, user, process-group kill, bounded output) is src/scripts/run.ts, tested in
  // scripts.test.ts; here: what a check makes of the result.
  test('exit codes: 0 up, 1 down, 2-255 up with weight exit-2 when dynamic (keepalived misc_dynamic)', async () => {
    assert.deepEqual(judgeExit(0, true), { ok: true });
    assert.deepEqual(judgeExit(1, true), { ok: false, reason: 'exit 1' });
    assert.deepEqual(judgeExit(7, true), { ok: true, weight: 5 });
    assert.deepEqual(judgeExit(255, true), { ok: true, weight: 253 });
    assert.deepEqual(judgeExit(7, false), { ok: false, reason: 'exit 7' });
    const r = await runScript({ argv: [script('w', 'exit 12')], timeout: 2000, dynamicWeight: true });
    assert.deepEqual(r.outcome, { ok: true, weight: 10 });
  });
  test('reasons: a timeout and a program that cannot start are down outcomes in words, not throws', async () => {
    const r = await runScript({ argv: [script('hang', 'exec sleep 30')], timeout: 200, dynamicWeight: false });
    assert.deepEqual(r.outcome, { ok: false, reason: 'timed out after 200ms, killed' });
    const missing = await runScript({ argv: ['/nonexistent/prog'], timeout: 2000, dynamicWeight: false });
    assert.deepEqual(missing.outcome, { ok: false, reason: 'cannot run /nonexistent/prog: ENOENT' });
  });
});

describe('runner', () => {
  const cfg = parseConfig(`
checks:
  - {name: web, type: tcp, interval: 100ms, timeout: 50ms}
virtual_services: []
`, 'x.yaml');
  test('one instance per (check, target, alpha): services sharing a check share the probe', () => {
    assert.ok(cfg.ok);
    const check = cfg.config.checks[0] as CheckConfig;
    const r = new CheckRunner();
    const calls: string[] = [];
    const a = r.acquire(check, { address: '10.0.1.11', family: 4, port: 80 }, false, () => calls.push('a'));
    const b = r.acquire({ ...check, name: 'other-name' }, { address: '10.0.1.11', family: 4, port: 80 }, false, () => calls.push('b'));
    const c = r.acquire(check, { address: '10.0.1.12', family: 4, port: 80 }, false, () => calls.push('c'));
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.equal(r.instances.size, 2);
    assert.equal(a.listeners.size, 2);
    assert.notEqual(dedupeKey(check, a.target, false), dedupeKey({ ...check, interval: 200 }, a.target, false));
  });
  test('probes on its timers, shares one probe among listeners, counts by reason and duration', async () => {
    assert.ok(cfg.ok);
    const check = { ...(cfg.config.checks[0] as CheckConfig), retries: 1 };
    const s = createTcpServer((c) => c.destroy()); await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    const port = (s.address() as AddressInfo).port;
    const r = new CheckRunner();
    const seen: string[] = [];
    const inst = r.acquire(check, { address: '127.0.0.1', family: 4, port }, false, (_i, ch) => seen.push(`1:${ch.kind}`));
    r.acquire(check, { address: '127.0.0.1', family: 4, port }, false, (_i, ch) => seen.push(`2:${ch.kind}`));
    r.start();
    await new Promise((res) => setTimeout(res, 250));
    s.close();
    await new Promise((res) => setTimeout(res, 250));
    r.stop();
    assert.deepEqual(seen, ['1:down', '2:down']);
    assert.ok(inst.probes >= 4 && inst.probes <= 7, `probes ${inst.probes}`);
    assert.equal(r.counters.probes, inst.probes);
    assert.ok((r.counters.byReason.get('ok') ?? 0) >= 2);
    assert.ok((r.counters.byReason.get('connection refused') ?? 0) >= 1);
    assert.equal(r.counters.durations.get('tcp')!.count, inst.probes);
  });
  test("a check's bind_interface, fwmark and source reach the probe (the runner passes the route through)", async () => {
    assert.ok(cfg.ok);
    const base = { ...(cfg.config.checks[0] as CheckConfig), retries: 1 };
    const s = createTcpServer((c) => c.destroy()); await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    const port = (s.address() as AddressInfo).port;
    const r = new CheckRunner();
    const reasons = new Map<string, string>();
    const on = (name: string) => (i: { state: { reason: string } }) => reasons.set(name, i.state.reason);
    // Each option on its own would be a no-op on a healthy path; an interface that does not exist and a
    // source address this host lacks make the probe fail in words, which only happens if they arrived.
    r.acquire({ ...base, bind_interface: 'lvsdnope0' } as CheckConfig, { address: '127.0.0.1', family: 4, port }, false, on('iface'));
    r.acquire({ ...base, source: { address: '192.0.2.254', family: 4 } } as CheckConfig, { address: '127.0.0.1', family: 4, port }, false, on('source'));
    r.start();
    await new Promise((res) => setTimeout(res, 300));
    r.stop();
    s.close();
    assert.equal(reasons.get('iface'), 'no such interface');
    assert.match(reasons.get('source') ?? '', /address|EADDRNOTAVAIL/i);
  });
  test('a timeout longer than the interval is accepted, and the next probe waits for the running one (keepalived does not overlap checks either)', async () => {
    const c = parseConfig(`
checks:
  - {name: slow, type: tcp, interval: 20ms, timeout: 300ms}
virtual_services: []
`, 'slow.yaml');
    assert.ok(c.ok, c.ok ? '' : JSON.stringify(c.errors));
    const check = c.config.checks[0] as CheckConfig;
    assert.deepEqual([check.interval, check.timeout], [20, 300]);
    const r = new CheckRunner({ random: () => 0 });
    const inst = r.acquire(check, { address: '127.0.0.1', family: 4, port: 9 }, false, () => {});
    let running = 0, most = 0;
    const starts: number[] = [], ends: number[] = [];
    // Each probe takes 100 ms, five times the interval (but within the timeout).
    (inst as unknown as { probe: () => Promise<CheckOutcome> }).probe = async () => {
      starts.push(performance.now()); running++; most = Math.max(most, running);
      await new Promise((res) => setTimeout(res, 100));
      running--; ends.push(performance.now());
      return up();
    };
    r.start();
    await new Promise((res) => setTimeout(res, 560));
    r.stop();
    assert.equal(most, 1);
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! >= ends[i - 1]! + 15, `probe ${i} started ${(starts[i]! - ends[i - 1]!).toFixed(1)} ms after the previous one ended`);
    assert.ok(starts.length >= 3 && starts.length <= 5, `${starts.length} probes in 560 ms (one per 100 ms probe + 20 ms interval)`);
  });
});
