// SMTP replies and the SMTP probe; the completed HTTP(S) check (method, body, headers, several URLs,
// body_regex_no_match, mutual TLS, keep-alive) and its config rules.
//
// SMTP vectors are exim 4.96's own bytes (Debian exim4-daemon-light), captured with exim's SMTP testing
// mode, which speaks SMTP on stdin/stdout exactly as the daemon does on a connection:
//   printf 'EHLO lvsd.lab.test\r\nQUIT\r\n' | exim -C exim.conf -bh 192.0.2.2 2>/dev/null
// with a config of primary_hostname = mta.lab.test, tls_advertise_hosts = * and a certificate (so STARTTLS
// is offered); the 421 with `acl_smtp_connect` answering `defer message = 421 mta.lab.test too busy, try
// later`; the refused EHLO with an `acl_smtp_helo` that denies EHLO ("EHLO refused here") and accepts HELO.
// The probe tests run the same exim (-bh) behind a local TCP listener when it is installed, one process
// per connection, so the probe talks to a real MTA; scripted servers cover what exim will not do (close
// early, stay silent, inject bytes after the STARTTLS reply).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ehloKeywords, MAX_LINE_BYTES, parseReplies, SmtpReplyReader } from '../../checkers/smtp-reply.js';
import { probeSmtp, type SmtpProbeOptions } from '../../checkers/smtp.js';
import { HttpKeepAlive, httpProbe, probeHttp, type HttpProbeOptions } from '../../checkers/http.js';
import { judgeBody, MAX_HEAD_BYTES, parseResponseHead } from '../../checkers/http-match.js';
import { reasonStem } from '../../checkers/outcome.js';
import { parseConfig } from '../../src/config/index.js';
import type { CheckConfig } from '../../src/config/model.js';

const EXIM_SESSION = '220 mta.lab.test ESMTP Exim 4.96 Thu, 03 Dec 2026 16:32:43 +0000\r\n250-mta.lab.test Hello lvsd.lab.test [192.0.2.2]\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-PIPECONNECT\r\n250-CHUNKING\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250 HELP\r\n221 mta.lab.test closing connection\r\n';
const EXIM_EHLO_REFUSED = '220 mta.lab.test ESMTP Exim 4.96 Thu, 03 Dec 2026 16:28:14 +0000\r\n550 EHLO refused here\r\n250 mta.lab.test Hello lvsd.lab.test [192.0.2.2]\r\n221 mta.lab.test closing connection\r\n';

describe('SMTP replies (RFC 5321 §4.2)', () => {
  test("exim's greeting, multi-line EHLO answer and QUIT reply", () => {
    const r = parseReplies(Buffer.from(EXIM_SESSION, 'latin1'));
    assert.equal(r.error, undefined);
    assert.deepEqual(r.replies.map((x) => x.code), [220, 250, 221]);
    assert.equal(r.replies[1]!.lines.length, 9);
    assert.equal(r.replies[1]!.lines[0], 'mta.lab.test Hello lvsd.lab.test [192.0.2.2]');
    assert.deepEqual([...ehloKeywords(r.replies[1]!)], ['SIZE', '8BITMIME', 'PIPELINING', 'PIPECONNECT', 'CHUNKING', 'STARTTLS', 'SMTPUTF8', 'HELP']);
    assert.equal(r.rest, 0);
  });

  test('the same bytes fed one at a time give the same replies (incremental reader)', () => {
    const reader = new SmtpReplyReader();
    const codes: number[] = [];
    for (const b of Buffer.from(EXIM_SESSION + EXIM_EHLO_REFUSED, 'latin1')) {
      let r = reader.feed(Uint8Array.of(b));
      while (r.kind === 'reply') { codes.push(r.reply.code); r = reader.next(); }
      assert.notEqual(r.kind, 'error');
    }
    assert.deepEqual(codes, [220, 250, 221, 220, 550, 250, 221]);
  });

  test('bounds: a line of 512 bytes with its CRLF passes, 513 fails; 100 lines; 16 KiB', () => {
    const line = (n: number, last = true) => `250${last ? ' ' : '-'}${'x'.repeat(n - 6)}\r\n`;
    assert.equal(line(MAX_LINE_BYTES).length, 512);
    assert.equal(parseReplies(Buffer.from(line(512))).replies.length, 1);
    assert.equal(parseReplies(Buffer.from(line(513))).error, 'reply line longer than 512 bytes');
    // No LF at all: refused once 512 bytes are held, not after the whole stream.
    const reader = new SmtpReplyReader();
    assert.equal(reader.feed(Buffer.alloc(511, 0x41)).kind, 'more');
    assert.deepEqual(reader.feed(Buffer.alloc(1, 0x41)), { kind: 'error', reason: 'reply line longer than 512 bytes' });
    assert.equal(parseReplies(Buffer.from('250-a\r\n'.repeat(99) + '250 z\r\n')).replies.length, 1);
    assert.equal(parseReplies(Buffer.from('250-a\r\n'.repeat(100) + '250 z\r\n')).error, 'reply longer than 100 lines');
    assert.equal(parseReplies(Buffer.from(line(400, false).repeat(42) + '250 z\r\n')).error, 'reply longer than 16384 bytes');
  });

  test('malformed: no code, codes differing within a reply; bare LF taken; text echoed quoted and cut', () => {
    assert.match(parseReplies(Buffer.from('hello\r\n')).error!, /^malformed reply \(got 'hello'\)$/);
    assert.equal(parseReplies(Buffer.from('250-a\r\n251 b\r\n')).error, 'reply codes differ within one reply (got 250 then 251)');
    assert.deepEqual(parseReplies(Buffer.from('220 ok\n')).replies, [{ code: 220, lines: ['ok'] }]);
    assert.deepEqual(parseReplies(Buffer.from('220\r\n')).replies, [{ code: 220, lines: [''] }]);
    const e = parseReplies(Buffer.from(`\x1b[31m${'y'.repeat(300)}\r\n`)).error!;
    assert.ok(!e.includes('\x1b') && e.length < 120, e);
    assert.equal(reasonStem(e), 'malformed reply');
  });
});

/** A TCP listener whose connections are handled by `onConn`. */
async function listen(onConn: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConn);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}
const T = (port: number) => ({ address: '127.0.0.1', family: 4 as const, port });
const smtp = (port: number, x: Partial<SmtpProbeOptions> = {}) => probeSmtp(T(port), { timeout: 1000, heloName: 'lvsd.lab.test', ...x });

const EXIM = '/usr/sbin/exim';
describe('SMTP probe against exim (-bh behind a local listener)', { skip: existsSync(EXIM) ? false : 'exim4-daemon-light not installed (bash scripts/setup.sh)' }, () => {
  let dir: string;
  const servers: Server[] = [];
  // No TLS unless a test asks: exim 4.96 otherwise offers STARTTLS with a certificate it makes up.
  const base = (d: string, tls = 'tls_advertise_hosts =\n') => `primary_hostname = mta.lab.test\nspool_directory = ${d}/spool\nlog_file_path = ${d}/spool/%slog\nhost_lookup =\nrfc1413_hosts =\n${tls}`;
  /** exim -bh per connection: the probe's bytes in, exim's SMTP answers out. */
  async function exim(conf: string): Promise<number> {
    const file = join(dir, `exim${servers.length}.conf`);
    writeFileSync(file, conf);
    const { server, port } = await listen((s) => {
      const p = spawn(EXIM, ['-C', file, '-bh', '192.0.2.2'], { stdio: ['pipe', 'pipe', 'ignore'] });
      // exim -bh starts its stdout with "**** SMTP testing session" comment lines: drop up to the first reply.
      let head = Buffer.alloc(0);
      let started = false;
      p.stdout.on('data', (c: Buffer) => {
        if (started) { s.write(c); return; }
        head = Buffer.concat([head, c]);
        const m = /\n[2-5]\d\d/.exec(head.toString('latin1'));
        if (m) { started = true; s.write(head.subarray(m.index + 1)); }
      });
      p.stdout.on('end', () => s.end());
      s.on('data', (c) => p.stdin.write(c));
      s.on('error', () => p.kill());
      s.on('close', () => { p.stdin.end(); p.kill(); });
    });
    servers.push(server);
    return port;
  }
  before(() => { dir = mkdtempSync(join(tmpdir(), 'lvsd-smtp-')); execFileSync('mkdir', ['-p', join(dir, 'spool')]); });
  after(() => { for (const s of servers) s.close(); rmSync(dir, { recursive: true, force: true }); });

  test('greeting 220, EHLO 250 (multi-line), QUIT: up', async () => {
    const port = await exim(base(dir));
    assert.deepEqual(await smtp(port), { ok: true });
    // The addon's connect path (a source address and port, as with fwmark / bind_interface), twice on one port.
    assert.deepEqual(await smtp(port, { sourceAddress: '127.0.0.5', sourcePort: 40325 }), { ok: true });
    assert.deepEqual(await smtp(port, { sourceAddress: '127.0.0.5', sourcePort: 40325 }), { ok: true });
  });
  test('421 greeting: down "banner 421" with exim\'s text', async () => {
    const port = await exim(base(dir) + 'acl_smtp_connect = c\nbegin acl\nc:\n  defer message = 421 mta.lab.test too busy, try later\n');
    const r = await smtp(port);
    assert.deepEqual(r, { ok: false, reason: "banner 421 (got 'mta.lab.test too busy, try later')" });
    assert.equal(reasonStem((r as { reason: string }).reason), 'banner 421');
  });
  test('EHLO refused with 550: HELO, up; both refused: down naming both', async () => {
    const acl = (cond: string) => base(dir) + `acl_smtp_helo = h\nbegin acl\nh:\n  deny message = refused here\n       condition = ${cond}\n  accept\n`;
    assert.deepEqual(await smtp(await exim(acl('${if match{$smtp_command}{\\N^(?i)ehlo\\N}}'))), { ok: true });
    assert.deepEqual(await smtp(await exim(acl('true'))), { ok: false, reason: "EHLO 550, HELO 550 (got 'refused here')" });
  });
  test('STARTTLS asked, not offered (no TLS in exim\'s config): "STARTTLS not offered"', async () => {
    const port = await exim(base(dir));
    assert.deepEqual(await smtp(port, { starttls: { verify: false } }), { ok: false, reason: 'STARTTLS not offered' });
  });
  test('STARTTLS with exim (its -bh mode does TLS on stdin/stdout): the certificate verified against our CA; a wrong name fails', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '2', '-subj', '/CN=mta.lab.test', '-addext', 'subjectAltName=DNS:mta.lab.test'], { stdio: 'ignore' });
    // exim reads them as Debian-exim (it drops root): the test's private directory must let it in.
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'k'), 0o644);
    const port = await exim(base(dir, `tls_advertise_hosts = *\ntls_certificate = ${join(dir, 'c')}\ntls_privatekey = ${join(dir, 'k')}\n`));
    const ca = readFileSync(join(dir, 'c'));
    assert.deepEqual(await smtp(port, { starttls: { sni: 'mta.lab.test', verify: true, ca } }), { ok: true });
    const r = await smtp(port, { starttls: { sni: 'other.example', verify: true, ca } });
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /^certificate name mismatch/);
  });
});

describe('SMTP probe against scripted servers', () => {
  const servers: Server[] = [];
  const serve = async (f: (s: Socket) => void) => { const l = await listen(f); servers.push(l.server); return l.port; };
  after(() => { for (const s of servers) s.close(); });

  test('closed before the banner; silent server; refused port', async () => {
    assert.deepEqual(await smtp(await serve((s) => s.end())), { ok: false, reason: 'connection closed before the banner' });
    assert.deepEqual(await smtp(await serve(() => {}), { timeout: 200 }), { ok: false, reason: 'timed out after 200ms waiting for the banner' });
    const { server, port } = await listen(() => {});
    server.close();
    assert.deepEqual(await smtp(port), { ok: false, reason: 'connection refused' });
  });

  test('a banner line without end fails at 512 bytes, not at the timeout', async () => {
    const port = await serve((s) => { s.write('220-'); const t = setInterval(() => s.write('x'.repeat(100)), 5); s.on('close', () => clearInterval(t)); s.on('error', () => {}); });
    assert.deepEqual(await smtp(port), { ok: false, reason: 'reply line longer than 512 bytes' });
  });

  test('STARTTLS: TLS handshake, EHLO again over TLS, QUIT (with a client certificate); bytes after the 220 are refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsd-smtp-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '2', '-subj', '/CN=mta.lab.test', '-addext', 'subjectAltName=DNS:mta.lab.test'], { stdio: 'ignore' });
      const key = readFileSync(join(dir, 'k')), cert = readFileSync(join(dir, 'c'));
      const seen: string[] = [];
      let clientCert = false;
      const mta = (inject: boolean) => (s: Socket) => {
        s.write('220 mta.lab.test ESMTP\r\n');
        let buf = '';
        const onData = (c: Buffer) => {
          buf += c.toString('latin1');
          for (let i; (i = buf.indexOf('\r\n')) >= 0;) {
            const cmd = buf.slice(0, i);
            buf = buf.slice(i + 2);
            seen.push(cmd);
            if (cmd.startsWith('EHLO')) s.write('250-mta.lab.test\r\n250-STARTTLS\r\n250 HELP\r\n');
            else if (cmd === 'STARTTLS') {
              s.write(inject ? '220 go ahead\r\n250 injected\r\n' : '220 go ahead\r\n');
              s.off('data', onData);
              const tls = new TLSSocket(s, { isServer: true, key, cert, requestCert: true, rejectUnauthorized: false });
              tls.on('error', () => {});
              tls.on('secure', () => { clientCert = !!tls.getPeerCertificate()?.subject; });
              let b2 = '';
              tls.on('data', (d: Buffer) => {
                b2 += d.toString('latin1');
                for (let j; (j = b2.indexOf('\r\n')) >= 0;) {
                  const c2 = b2.slice(0, j);
                  b2 = b2.slice(j + 2);
                  seen.push(`tls:${c2}`);
                  if (c2.startsWith('EHLO')) tls.write('250-mta.lab.test\r\n250 HELP\r\n');
                  else if (c2 === 'QUIT') tls.end('221 bye\r\n');
                }
              });
              return;
            }
          }
        };
        s.on('data', onData);
        s.on('error', () => {});
      };
      const port = await serve(mta(false));
      const tlsOpts = { sni: 'mta.lab.test', verify: true, ca: cert, cert, key };
      assert.deepEqual(await smtp(port, { starttls: tlsOpts }), { ok: true });
      assert.deepEqual(seen, ['EHLO lvsd.lab.test', 'STARTTLS', 'tls:EHLO lvsd.lab.test', 'tls:QUIT']);
      assert.ok(clientCert, 'the client certificate reached the server');
      const r = await smtp(port, { starttls: { sni: 'other.example', verify: true, ca: cert } });
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, /certificate name mismatch|ERR_TLS_CERT_ALTNAME_INVALID/);
      assert.deepEqual(await smtp(await serve(mta(true)), { starttls: tlsOpts }), { ok: false, reason: 'data after the STARTTLS reply' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HTTP check completed', () => {
  let server: ReturnType<typeof createHttpServer>;
  let port: number;
  const requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string; socket: number }[] = [];
  const sockets = new Map<object, number>();
  before(async () => {
    server = createHttpServer((q, r) => {
      let body = '';
      q.on('data', (c) => { body += c; });
      q.on('end', () => {
        if (!sockets.has(q.socket)) sockets.set(q.socket, sockets.size + 1);
        requests.push({ method: q.method!, url: q.url!, headers: q.headers, body, socket: sockets.get(q.socket)! });
        if (q.url === '/health') { r.statusCode = 503; r.end('down for maintenance'); return; }
        if (q.url === '/error-page') { r.end('<h1>Internal error</h1>\nstack...'); return; }
        r.end(`ok ${q.method} ${q.url}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => { server.closeAllConnections(); server.close(); });
  const o = (x: Partial<HttpProbeOptions> = {}): HttpProbeOptions => ({ timeout: 1000, path: '/', status: [[200, 299]], maxBodyBytes: 1 << 20, ...x });

  test('POST with a body and headers reaches the server; Connection: close by default', async () => {
    requests.length = 0;
    assert.deepEqual(await probeHttp(T(port), o({ method: 'POST', body: '{"probe":1}', headers: { 'X-Probe': 'lvsd', 'User-Agent': 'ops-probe' } })), { ok: true });
    const q = requests[0]!;
    assert.equal(q.method, 'POST');
    assert.equal(q.body, '{"probe":1}');
    assert.equal(q.headers['content-length'], '11');
    assert.equal(q.headers['x-probe'], 'lvsd');
    assert.equal(q.headers['user-agent'], 'ops-probe');
    assert.equal(q.headers.connection, 'close');
    assert.deepEqual(await probeHttp(T(port), o({ method: 'HEAD' })), { ok: true });
    assert.equal(requests[1]!.method, 'HEAD');
  });

  test('several URLs: all must pass, in order; the failing one names its path', async () => {
    requests.length = 0;
    const u = (path: string, x = {}) => ({ path, status: [[200, 299]] as [number, number][], maxBodyBytes: 1 << 20, ...x });
    assert.deepEqual(await probeHttp(T(port), o({ urls: [u('/a'), u('/b', { bodyRegex: /ok GET \/b/ })] })), { ok: true });
    assert.deepEqual(await probeHttp(T(port), o({ urls: [u('/a'), u('/health'), u('/c')] })), { ok: false, reason: '/health: status 503' });
    assert.deepEqual(requests.map((q) => q.url), ['/a', '/b', '/a', '/health'], 'probed in order, stopping at the first failure');
    assert.deepEqual(await probeHttp(T(port), o({ urls: [u('/health', { status: [[503, 503]] })] })), { ok: true });
  });

  test('body_regex_no_match: a body that matches fails, with the expression cut to one line', async () => {
    assert.deepEqual(await probeHttp(T(port), o({ path: '/error-page', bodyRegexNoMatch: /Internal error/ })), { ok: false, reason: 'body matches /Internal error/' });
    assert.deepEqual(await probeHttp(T(port), o({ path: '/', bodyRegexNoMatch: /Internal error/ })), { ok: true });
    const long = new RegExp(`Internal\\n${'z?'.repeat(100)}`);
    assert.equal(judgeBody(Buffer.from('Internal\n'), { regexNoMatch: long }), `body matches /Internal\\n${'z?'.repeat(15)}… (${long.source.length} characters)/`);
  });

  test('keepalive: two probes share one connection; without it, one connection each', async () => {
    requests.length = 0;
    const ka = new HttpKeepAlive();
    for (let i = 0; i < 3; i++) assert.deepEqual(await probeHttp(T(port), o({ keepAlive: ka })), { ok: true });
    assert.equal(new Set(requests.map((q) => q.socket)).size, 1, 'one connection for three probes');
    assert.notEqual(requests[0]!.headers.connection, 'close');
    ka.close();
    requests.length = 0;
    for (let i = 0; i < 2; i++) assert.deepEqual(await probeHttp(T(port), o()), { ok: true });
    assert.equal(new Set(requests.map((q) => q.socket)).size, 2);
  });

  test('mutual TLS: with the client certificate up, without it the server refuses the handshake', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsd-mtls-'));
    try {
      const ssl = (...a: string[]) => execFileSync('openssl', a, { stdio: 'ignore' });
      ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '2', '-subj', '/CN=lab CA');
      ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'srv.key'), '-out', join(dir, 'srv.pem'), '-days', '2', '-subj', '/CN=rs.example', '-addext', 'subjectAltName=DNS:rs.example');
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'cl.key'), '-out', join(dir, 'cl.csr'), '-subj', '/CN=lvsd');
      ssl('x509', '-req', '-in', join(dir, 'cl.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'cl.pem'), '-days', '2');
      const s = createHttpsServer({ key: readFileSync(join(dir, 'srv.key')), cert: readFileSync(join(dir, 'srv.pem')), ca: readFileSync(join(dir, 'ca.pem')), requestCert: true, rejectUnauthorized: true },
        (q, r) => r.end(`hello ${(q.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN}`));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      try {
        const tp = T((s.address() as AddressInfo).port);
        const tls = { sni: 'rs.example', verify: true, ca: readFileSync(join(dir, 'srv.pem')) };
        assert.deepEqual(await probeHttp(tp, o({ bodyRegex: /^hello lvsd$/, tls: { ...tls, cert: readFileSync(join(dir, 'cl.pem')), key: readFileSync(join(dir, 'cl.key')) } })), { ok: true });
        // The HTTP/1.0 path does its own TLS (node:tls), with the same certificate options.
        const mtls = { ...tls, cert: readFileSync(join(dir, 'cl.pem')), key: readFileSync(join(dir, 'cl.key')) };
        assert.deepEqual(await probeHttp(tp, o({ httpVersion: '1.0', bodyRegex: /^hello lvsd$/, tls: mtls })), { ok: true });
        assert.match((await probeHttp(tp, o({ httpVersion: '1.0', tls: { ...mtls, sni: 'other.example' } })) as { reason: string }).reason, /^certificate name mismatch/);
        const r = await probeHttp(tp, o({ tls }));
        assert.equal(r.ok, false);
        // TLS 1.3: the server's refusal arrives as an alert after the client's Finished (certificate required).
        assert.match((r as { reason: string }).reason, /connection reset|connection closed|certificate required|alert/, (r as { reason: string }).reason);
        // Through the config: cert_file/key_file read once by httpProbe.
        const c = parseConfig(`checks:\n  - {name: m, type: https, timeout: 1s, tls: {sni: rs.example, ca_file: ${join(dir, 'srv.pem')}, cert_file: ${join(dir, 'cl.pem')}, key_file: ${join(dir, 'cl.key')}}}\n`, 'm.yaml');
        assert.ok(c.ok, c.ok ? '' : JSON.stringify(c.errors));
        const check = c.config.checks[0] as Extract<CheckConfig, { type: 'https' }>;
        assert.deepEqual(await httpProbe(check, tp, {})(), { ok: true });
      } finally { s.close(); }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// nginx 1.22.1's answers to HTTP/1.0 requests, captured from a local nginx (return 200 "rs1\n"; location
// = /down { return 503 "maintenance\n"; }) with a raw TCP client writing "GET / HTTP/1.0\r\n...\r\n\r\n".
const NGINX_10_OK = 'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 03 Dec 2026 16:57:22 GMT\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nrs1\n';
const NGINX_10_503 = 'HTTP/1.1 503 Service Temporarily Unavailable\r\nServer: nginx/1.22.1\r\nDate: Thu, 03 Dec 2026 16:57:22 GMT\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nmaintenance\n';

describe('HTTP/1.0 path (http_version "1.0", keepalived http_protocol 1.0)', () => {
  test("response heads: nginx's own bytes; incomplete; bounded; malformed", () => {
    const ok = parseResponseHead(Buffer.from(NGINX_10_OK, 'latin1'));
    assert.equal(ok.kind, 'head');
    if (ok.kind !== 'head') return;
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-length'), '4');
    assert.equal(ok.headers.get('connection'), 'close');
    assert.equal(NGINX_10_OK.slice(ok.headBytes), 'rs1\n');
    const bad = parseResponseHead(Buffer.from(NGINX_10_503, 'latin1'));
    assert.equal(bad.kind === 'head' && bad.status, 503);
    assert.deepEqual(parseResponseHead(Buffer.from(NGINX_10_OK.slice(0, 60), 'latin1')), { kind: 'more' });
    assert.deepEqual(parseResponseHead(Buffer.alloc(MAX_HEAD_BYTES + 1, 0x41)), { kind: 'error', reason: 'response head longer than 16384 bytes' });
    assert.deepEqual(parseResponseHead(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n\r\n')), { kind: 'error', reason: "malformed status line (got 'SSH-2.0-OpenSSH_9.2')" });
    assert.deepEqual(parseResponseHead(Buffer.from('HTTP/1.1 200 OK\r\nno colon\r\n\r\n')), { kind: 'error', reason: "malformed header field (got 'no colon')" });
  });

  test('probes: the request line says HTTP/1.0; status, body rules, POST, several URLs; chunked and short bodies fail', async () => {
    const seen: string[] = [];
    let mode = 'normal';
    const { server, port } = await listen((s) => {
      let buf = '';
      s.on('data', (c) => {
        buf += c.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        const cl = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + cl) return;
        seen.push(buf);
        const path = head.split(' ')[1];
        if (mode === 'chunked') return void s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nrs1\n\r\n0\r\n\r\n');
        if (mode === 'short') return void s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nrs1\n');
        if (mode === 'eof') return void s.end('HTTP/1.0 200 OK\r\n\r\nno length, to the end\n');
        if (mode === 'trickle') {
          // nginx's answer one byte per write (with Nagle off, mostly one byte per segment).
          s.setNoDelay(true);
          let i = 0;
          const next = () => { if (i < NGINX_10_OK.length) s.write(NGINX_10_OK[i++]!, 'latin1', () => setImmediate(next)); else s.end(); };
          return next();
        }
        s.end(path === '/down' ? NGINX_10_503 : NGINX_10_OK);
      });
      s.on('error', () => {});
    });
    try {
      const o10 = (x: Partial<HttpProbeOptions> = {}): HttpProbeOptions => ({ timeout: 1000, path: '/', status: [[200, 299]], maxBodyBytes: 1 << 20, httpVersion: '1.0', ...x });
      assert.deepEqual(await probeHttp(T(port), o10({ bodyRegex: /^rs1$/m })), { ok: true });
      assert.equal(seen[0], `GET / HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: lvsd-checker\r\n\r\n`);
      assert.deepEqual(await probeHttp(T(port), o10({ method: 'POST', body: 'a=1', headers: { 'X-Probe': 'lvsd' } })), { ok: true });
      assert.equal(seen[1], `POST / HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: lvsd-checker\r\nX-Probe: lvsd\r\nContent-Length: 3\r\n\r\na=1`);
      const u = (path: string) => ({ path, status: [[200, 299]] as [number, number][], maxBodyBytes: 100 });
      assert.deepEqual(await probeHttp(T(port), o10({ urls: [u('/'), u('/down')] })), { ok: false, reason: '/down: status 503' });
      assert.match((await probeHttp(T(port), o10({ digest: '0'.repeat(32) })) as { reason: string }).reason, /^digest mismatch \(got [0-9a-f]{32}\)$/);
      mode = 'chunked';
      assert.deepEqual(await probeHttp(T(port), o10()), { ok: false, reason: 'chunked answer to an HTTP/1.0 request' });
      mode = 'short';
      assert.deepEqual(await probeHttp(T(port), o10()), { ok: false, reason: 'connection closed before the whole body' });
      mode = 'eof';
      assert.deepEqual(await probeHttp(T(port), o10({ bodyRegex: /to the end/ })), { ok: true });
      assert.deepEqual(await probeHttp(T(port), o10({ bodyRegex: /x/, maxBodyBytes: 5 })), { ok: false, reason: 'body longer than 5 bytes' });
      mode = 'trickle';
      assert.deepEqual(await probeHttp(T(port), o10({ bodyRegex: /^rs1$/m })), { ok: true });
    } finally { server.close(); }
  });
});

describe('config of smtp and the completed http checks', () => {
  const errors = (yaml: string) => {
    const r = parseConfig(yaml, 'c.yaml');
    return r.ok ? [] : r.errors.map((e) => `${e.line}:${e.col}: ${e.path}: ${e.message}`);
  };
  const one = (check: string) => {
    const r = parseConfig(`checks:\n  - ${check}\n`, 'c.yaml');
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
    return r.config.checks[0]!;
  };

  test('smtp: keepalived defaults (helo_name smtpchecker.keepalived.org, the real server port), starttls off', () => {
    const c = one('{name: mta, type: smtp}') as Extract<CheckConfig, { type: 'smtp' }>;
    assert.equal(c.helo_name, 'smtpchecker.keepalived.org');
    assert.equal(c.starttls, false);
    assert.equal(c.port, undefined);
    assert.deepEqual(c.tls, { verify: true });
    assert.deepEqual(errors('checks:\n  - {name: m, type: smtp, helo_name: "a b"}\n'), ["2:38: checks[0].helo_name: 'a b' must be one word of printable ASCII (a domain or an address literal)"]);
  });

  test('http: method, body, headers, urls, keepalive, http_version', () => {
    const c = one('{name: w, type: http, method: POST, body: "x=1", headers: {X-Probe: lvsd, X-Weight: 5}, urls: [{path: /a}, {path: /b, status: 503, body_regex_no_match: error, max_body_bytes: 100}], keepalive: true, http_version: 1.1}') as Extract<CheckConfig, { type: 'http' }>;
    assert.equal(c.method, 'POST');
    assert.deepEqual(c.headers, { 'X-Probe': 'lvsd', 'X-Weight': '5' });
    assert.deepEqual(c.urls, [{ path: '/a', status: [[200, 299]] }, { path: '/b', status: [[503, 503]], body_regex_no_match: 'error', max_body_bytes: 100 }]);
    assert.equal(c.keepalive, true);
    assert.equal(c.http_version, '1.1');
    const d = one('{name: w, type: http}') as Extract<CheckConfig, { type: 'http' }>;
    assert.deepEqual([d.method, d.keepalive, d.http_version, d.urls], ['GET', false, '1.1', undefined]);
    assert.equal((one('{name: w, type: http, http_version: 1.0}') as { http_version: string }).http_version, '1.0');
  });

  test('refused, with hints: lvsd-owned headers, urls with single-URL keys, body without POST, a key without its certificate', () => {
    assert.deepEqual(errors('checks:\n  - {name: w, type: http, headers: {Host: a, content-length: 3}}\n'), [
      "2:37: checks[0].headers.Host: lvsd does not send a Host header from 'headers'; write 'host' on the check",
      "2:46: checks[0].headers.content-length: lvsd does not send a content-length header from 'headers'; lvsd sets it from 'body'",
    ]);
    assert.deepEqual(errors('checks:\n  - {name: w, type: http, headers: {Connection: keep-alive}}\n'), [
      "2:37: checks[0].headers.Connection: lvsd does not send a Connection header from 'headers'; write 'keepalive: true' to reuse connections",
    ]);
    assert.deepEqual(errors('checks:\n  - {name: w, type: http, path: /x, urls: [{path: /a}]}\n'), [
      '2:33: checks[0].path: give either urls or path (one URL), not both; move it into an item of urls',
    ]);
    assert.deepEqual(errors('checks:\n  - {name: w, type: http, body: x}\n'), ['2:33: checks[0].body: a body is sent with method: POST only (this check uses GET)']);
    assert.deepEqual(errors('checks:\n  - {name: w, type: https, tls: {cert_file: /c.pem}}\n'), ['2:45: checks[0].tls.cert_file: a client certificate needs its key_file']);
    assert.deepEqual(errors('checks:\n  - {name: w, type: http, http_version: 1.0C}\n'), [
      `2:41: checks[0].http_version: '1.0C' is keepalived's HTTP/1.0 with Connection: close: write "1.0" (lvsd always closes unless keepalive: true)`,
    ]);
    assert.deepEqual(errors('checks:\n  - {name: w, type: http, regex_no_match: true}\n'), ["2:27: checks[0].regex_no_match: unknown key; write the expression as 'body_regex_no_match'"]);
    assert.deepEqual(errors('checks:\n  - {name: w, type: http, urls: [{path: /a, regex: x}]}\n'), ["2:45: checks[0].urls[0].regex: unknown key; write 'body_regex'"]);
  });
});
