// HTTP_GET / SSL_GET with undici: one request (GET, HEAD or POST with a body, extra headers) per URL of
// the check, by default on a fresh connection closed after the answer (Connection: close, as keepalived
// does), or on one kept-alive connection reused between probes (keepalive: true). Each answer is judged on
// status, then digest / body regex / body_regex_no_match; several URLs (keepalived's url blocks) are
// probed in order and all must pass. One deadline per URL covers connect, headers and the whole body, so
// a server that trickles its body fails. With a source, fwmark or bind_interface the connection is made
// by the addon (see tcp.ts connectRouted) and handed to undici as a net.Socket. Client certificates
// (mutual TLS) go with the TLS options, read once per check like the CA bundle.
import { readFileSync } from 'node:fs';
import { connect, isIP, Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { buildConnector, Client } from 'undici';
import type { TcpConnect } from '../src/native/connect.js';
import { judgeBody, MAX_HEAD_BYTES, needsBody, parseResponseHead, statusExpected } from './http-match.js';
import { oneLine } from '../src/text/quote.js';
import { connectRouted, expire, routed, type ProbeRoute } from './tcp.js';
import { describeSocketError, down, endpointText, timedOut, up, type CheckOutcome, type CheckTarget } from './outcome.js';
import type { CheckConfig, StatusRange } from '../src/config/model.js';

/** One URL of a check and what its answer must be (keepalived url block). */
export interface HttpUrlRule {
  path: string;
  status: readonly StatusRange[];
  digest?: string | undefined;
  bodyRegex?: RegExp | undefined;
  bodyRegexNoMatch?: RegExp | undefined;
  maxBodyBytes: number;
}

export interface HttpTlsOptions {
  sni?: string | undefined;
  verify: boolean;
  ca?: string | Buffer | undefined;
  /** Client certificate and key (PEM) for mutual TLS. */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
}

export interface HttpProbeOptions extends ProbeRoute {
  timeout: number;
  /** The single URL (path, status, digest, body regexes, bound), used when `urls` is not given. */
  path: string;
  host?: string | undefined;
  status: readonly StatusRange[];
  digest?: string | undefined;
  bodyRegex?: RegExp | undefined;
  bodyRegexNoMatch?: RegExp | undefined;
  maxBodyBytes: number;
  /** Several URLs, probed in order, each within `timeout`; the first failure is the outcome ("/x: status 503"). */
  urls?: readonly HttpUrlRule[] | undefined;
  method?: 'GET' | 'HEAD' | 'POST' | undefined;
  body?: string | undefined;
  /** Extra request headers (names as configured; Host, Content-Length, Transfer-Encoding, Connection are lvsd's). */
  headers?: Readonly<Record<string, string>> | undefined;
  tls?: HttpTlsOptions | undefined;
  /** Keep-alive: the connection is kept here between probes and reused (see HttpKeepAlive). */
  keepAlive?: HttpKeepAlive | undefined;
  /** "1.1" (default, undici) or "1.0" (probeUrl10: an HTTP/1.0 request line, the answer read to its end). */
  httpVersion?: '1.0' | '1.1' | undefined;
}

/** The connection a keep-alive check reuses: one undici Client per check instance, made on first use,
 *  dropped after any failure (the next probe connects afresh). close() when the check goes away. */
export class HttpKeepAlive {
  client: Client | undefined;
  close(): void {
    this.client?.destroy().catch(() => {});
    this.client = undefined;
  }
}

const hostPart = (t: CheckTarget) => (t.family === 6 ? `[${t.address}]` : t.address);

/** Reads a CA bundle (or a client certificate or key) once per check definition (not per probe). */
export function readCa(file: string | undefined): Buffer | undefined {
  return file ? readFileSync(file) : undefined;
}

/** Every URL of the check in order; the first that fails decides. With `urls`, reasons name the path. */
export async function probeHttp(t: CheckTarget, o: HttpProbeOptions): Promise<CheckOutcome> {
  const one = o.httpVersion === '1.0' ? probeUrl10 : probeUrl;
  if (!o.urls) return one(t, o, o);
  for (const u of o.urls) {
    const r = await one(t, o, u);
    if (!r.ok) return down(`${oneLine(u.path, 60)}: ${r.reason}`);
  }
  return up();
}

async function probeUrl(t: CheckTarget, o: HttpProbeOptions, u: HttpUrlRule): Promise<CheckOutcome> {
  const scheme = o.tls ? 'https' : 'http';
  const origin = `${scheme}://${hostPart(t)}:${t.port}`;
  const hostHeader = o.host ?? endpointText(t);
  const servername = o.tls ? (o.tls.sni ?? o.host?.replace(/:\d+$/, '')) : undefined;
  const tlsOptions = o.tls
    ? {
      rejectUnauthorized: o.tls.verify, ...(o.tls.ca ? { ca: o.tls.ca } : {}), ...(servername && !/^[\d.:]+$/.test(servername) ? { servername } : {}),
      ...(o.tls.cert ? { cert: o.tls.cert, key: o.tls.key } : {}),
    }
    : {};
  const routedConn: { conn?: TcpConnect } = {};
  const reuse = o.keepAlive;
  let client = reuse?.client;
  if (!client) {
    client = new Client(origin, {
      // The deadline below governs; undici's own timers are only a backstop (they would race it after a stall).
      connectTimeout: o.timeout * 2 + 1000,
      headersTimeout: o.timeout * 2 + 1000,
      bodyTimeout: o.timeout * 2 + 1000,
      // undici: pipelining 0 means no keep-alive (a connection per request); 1 keeps it for the next probe.
      pipelining: reuse ? 1 : 0,
      connect: routed(o) ? routedConnector(t, o, tlsOptions, routedConn) : tlsOptions,
    });
    if (reuse) reuse.client = client;
  }
  const abort = new AbortController();
  let deadlinePassed = false;
  let ok = false; // whether the answer was read whole (else a kept-alive connection is dropped)
  // Deferred past the next poll phase (see expire in tcp.ts): an answer that arrived in time wins.
  const timer = setTimeout(() => expire(() => { deadlinePassed = true; abort.abort(); }), o.timeout);
  try {
    const method = o.method ?? 'GET';
    const headers: Record<string, string> = { host: hostHeader, 'user-agent': 'lvsd-checker' };
    if (!reuse) headers.connection = 'close';
    // Configured names win over the defaults above (User-Agent), whatever their case.
    for (const [k, v] of Object.entries(o.headers ?? {})) headers[k.toLowerCase()] = v;
    const res = await client.request({ method, path: u.path, headers, body: method === 'POST' ? o.body ?? '' : null, signal: abort.signal });
    const rules = { digest: u.digest, regex: u.bodyRegex, regexNoMatch: u.bodyRegexNoMatch };
    const needBody = needsBody(rules);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (needBody) {
        if (size > u.maxBodyBytes) {
          abort.abort();
          return down(`body longer than ${u.maxBodyBytes} bytes`);
        }
        chunks.push(chunk);
      }
    }
    ok = true; // the answer was read whole: a kept-alive connection is fit for the next probe
    if (!statusExpected(res.statusCode, u.status)) return down(`status ${res.statusCode}`);
    if (needBody) {
      const bad = judgeBody(Buffer.concat(chunks, size), rules);
      if (bad) return down(bad);
    }
    return up();
  } catch (e) {
    if (deadlinePassed) return timedOut(o.timeout);
    const code = (e as { code?: string }).code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return timedOut(o.timeout);
    return down(describeSocketError(e));
  } finally {
    clearTimeout(timer);
    if (!reuse || !ok) {
      routedConn.conn?.close(); // a connect still in progress when the deadline passed (after detach: a no-op)
      client.destroy().catch(() => {});
      if (reuse?.client === client) reuse.client = undefined;
    }
  }
}

/**
 * One URL over HTTP/1.0 (keepalived http_protocol 1.0, its default): undici speaks only HTTP/1.1, so this
 * path writes the request itself on a socket from the same connect paths (net.connect, or the addon's for
 * a source/fwmark/interface; TLS on top with node:tls) and reads the answer: the head (bounded, parsed by
 * parseResponseHead), then Content-Length bytes, or to the end of the connection (RFC 1945 §7.2.2). A
 * chunked answer to an HTTP/1.0 request is a server error (RFC 9112 §6.1: not sent to 1.0 clients).
 */
function probeUrl10(t: CheckTarget, o: HttpProbeOptions, u: HttpUrlRule): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    const method = o.method ?? 'GET';
    const rules = { digest: u.digest, regex: u.bodyRegex, regexNoMatch: u.bodyRegexNoMatch };
    const needBody = needsBody(rules) && method !== 'HEAD';
    let sock: Socket | TLSSocket | undefined;
    let conn: TcpConnect | undefined;
    let done = false;
    const finish = (r: CheckOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (sock) sock.destroy(); else conn?.close({ reset: o.sourcePort !== undefined });
      resolve(r);
    };
    const timer = setTimeout(() => expire(() => finish(timedOut(o.timeout))), o.timeout);
    const body = method === 'POST' ? Buffer.from(o.body ?? '') : undefined;
    const lines = [`${method} ${u.path} HTTP/1.0`, `Host: ${o.host ?? endpointText(t)}`];
    const extra = Object.entries(o.headers ?? {});
    if (!extra.some(([k]) => k.toLowerCase() === 'user-agent')) lines.push('User-Agent: lvsd-checker');
    for (const [k, v] of extra) lines.push(`${k}: ${v}`);
    if (body) lines.push(`Content-Length: ${body.length}`);
    const request = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body ?? Buffer.alloc(0)]);

    let head: Buffer = Buffer.alloc(0);
    const parts: Buffer[] = [];
    let headLen = 0;
    let tail: Buffer = Buffer.alloc(0);
    let parsed: Extract<ReturnType<typeof parseResponseHead>, { kind: 'head' }> | undefined;
    let length: number | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const judge = () => {
      if (!parsed) return finish(down('connection closed before the response head'));
      if (!statusExpected(parsed.status, u.status)) return finish(down(`status ${parsed.status}`));
      if (length !== undefined && size < length && method !== 'HEAD') return finish(down('connection closed before the whole body'));
      const bad = needBody ? judgeBody(Buffer.concat(chunks, size), rules) : undefined;
      finish(bad ? down(bad) : up());
    };
    const onBody = (c: Buffer) => {
      if (length !== undefined) c = c.subarray(0, length - size);
      size += c.length;
      if (needBody) {
        if (size > u.maxBodyBytes) return finish(down(`body longer than ${u.maxBodyBytes} bytes`));
        chunks.push(c);
      }
      if (length !== undefined && size >= length) judge();
    };
    const onData = (c: Buffer) => {
      if (done) return;
      if (parsed) return onBody(c);
      // Parsed once the empty line is in; until then each chunk is searched with the 3 bytes before it
      // and kept aside, so a server writing its head a byte at a time costs linear work, not quadratic.
      parts.push(c);
      headLen += c.length;
      const seen = Buffer.concat([tail, c]);
      tail = seen.subarray(Math.max(0, seen.length - 3));
      if (seen.indexOf('\r\n\r\n') < 0 && headLen <= MAX_HEAD_BYTES) return;
      head = Buffer.concat(parts, headLen);
      const r = parseResponseHead(head);
      if (r.kind === 'more') return;
      if (r.kind === 'error') return finish(down(r.reason));
      parsed = r;
      if (r.headers.has('transfer-encoding')) return finish(down('chunked answer to an HTTP/1.0 request'));
      const cl = r.headers.get('content-length');
      if (cl !== undefined) {
        if (!/^\d{1,15}$/.test(cl)) return finish(down(`malformed Content-Length (got ${oneLine(cl, 40)})`));
        length = Number(cl);
      }
      if (method === 'HEAD' || r.status === 204 || r.status === 304) return judge();
      const rest = head.subarray(r.headBytes);
      head = Buffer.alloc(0);
      if (rest.length || length === 0) onBody(rest);
    };
    const talk = (s: Socket | TLSSocket) => {
      sock = s;
      s.on('data', onData);
      s.on('end', () => { if (!done) judge(); });
      s.on('error', (e) => finish(down(describeSocketError(e))));
      s.write(request);
    };
    const secure = (raw: Socket) => {
      if (!o.tls) return talk(raw);
      const servername = o.tls.sni ?? o.host?.replace(/:\d+$/, '');
      const s = tlsConnect({
        socket: raw, host: servername ?? t.address, rejectUnauthorized: o.tls.verify,
        ...(servername && isIP(servername) === 0 ? { servername } : {}),
        ...(o.tls.ca ? { ca: o.tls.ca } : {}), ...(o.tls.cert ? { cert: o.tls.cert, key: o.tls.key } : {}),
      });
      sock = s;
      s.on('error', (e) => finish(down(describeSocketError(e))));
      s.once('secureConnect', () => talk(s));
    };
    try {
      if (routed(o)) {
        conn = connectRouted(t, o, (err) => {
          if (err) return finish(down(describeSocketError(err)));
          if (o.sourcePort !== undefined) conn!.resetOnClose();
          secure(new Socket({ fd: conn!.detach(), readable: true, writable: true }));
        });
      } else {
        const raw = connect({ host: t.address, port: t.port, family: t.family });
        sock = raw;
        raw.on('error', (e) => finish(down(describeSocketError(e))));
        raw.once('connect', () => secure(raw));
      }
    } catch (e) {
      finish(down(describeSocketError(e)));
    }
  });
}

/** undici's connect hook for routed probes: the addon connects, Node wraps the fd, undici's own
 *  connector adds TLS on top (its httpSocket path), so HTTPS behaves as on the plain path. */
function routedConnector(t: CheckTarget, o: ProbeRoute, tlsOptions: object, made: { conn?: TcpConnect }): buildConnector.connector {
  const tls = buildConnector(tlsOptions);
  return (opts, callback) => {
    try {
      const c = connectRouted(t, o, (err) => {
        if (err) return callback(err, null);
        let socket: Socket;
        try {
          // A fixed source port must not be left in TIME_WAIT, or the next probe's connect fails
          // (EADDRNOTAVAIL): this connection ends with RST however undici closes it.
          if (o.sourcePort !== undefined) c.resetOnClose();
          socket = new Socket({ fd: c.detach(), readable: true, writable: true });
        } catch (e) {
          c.close();
          return callback(e as Error, null);
        }
        if (opts.protocol === 'https:') tls({ ...opts, httpSocket: socket }, callback);
        else callback(null, socket);
      });
      made.conn = c;
    } catch (e) {
      callback(e as Error, null);
    }
  };
}

type NoName<T> = T extends unknown ? Omit<T, 'name'> : never;
export type HttpCheckConfig = NoName<Extract<CheckConfig, { type: 'http' | 'https' }>>;

/** The probe of one http/https check for one target, from its config: regexes compiled and TLS files read
 *  once here (not per probe), the keep-alive connection (if any) shared by this check's probes. */
export function httpProbe(check: HttpCheckConfig, target: CheckTarget, route: ProbeRoute): () => Promise<CheckOutcome> {
  const re = (s: string | undefined) => (s !== undefined ? new RegExp(s) : undefined);
  const tls = check.type === 'https'
    ? { sni: check.tls.sni, verify: check.tls.verify, ca: readCa(check.tls.ca_file), cert: readCa(check.tls.cert_file), key: readCa(check.tls.key_file) }
    : undefined;
  const urls = check.urls?.map((u): HttpUrlRule => ({ path: u.path, status: u.status, digest: u.digest, bodyRegex: re(u.body_regex),
    bodyRegexNoMatch: re(u.body_regex_no_match), maxBodyBytes: u.max_body_bytes ?? check.max_body_bytes }));
  const o: HttpProbeOptions = { timeout: check.timeout, path: check.path, host: check.host, status: check.status, digest: check.digest,
    bodyRegex: re(check.body_regex), bodyRegexNoMatch: re(check.body_regex_no_match), maxBodyBytes: check.max_body_bytes, urls,
    method: check.method, body: check.body, headers: check.headers, httpVersion: check.http_version,
    keepAlive: check.keepalive ? new HttpKeepAlive() : undefined, tls, ...route };
  return () => probeHttp(target, o);
}
