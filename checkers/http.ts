// HTTP_GET / SSL_GET with undici: one GET per probe on a fresh connection (closed after the answer, as
// keepalived does), judged on status, then digest / body regex. One deadline covers connect, headers
// and the whole body, so a server that trickles its body fails. With a source, fwmark or bind_interface
// the connection is made by the addon (see tcp.ts connectRouted) and handed to undici as a net.Socket.
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { buildConnector, Client } from 'undici';
import type { TcpConnect } from '../src/native/connect.js';
import { judgeBody, statusExpected } from './http-match.js';
import { connectRouted, expire, routed, type ProbeRoute } from './tcp.js';
import { describeSocketError, down, endpointText, timedOut, up, type CheckOutcome, type CheckTarget } from './outcome.js';
import type { StatusRange } from '../src/config/model.js';

export interface HttpProbeOptions extends ProbeRoute {
  timeout: number;
  path: string;
  host?: string | undefined;
  status: readonly StatusRange[];
  digest?: string | undefined;
  bodyRegex?: RegExp | undefined;
  maxBodyBytes: number;
  tls?: { sni?: string | undefined; verify: boolean; ca?: string | Buffer | undefined } | undefined;
}

const hostPart = (t: CheckTarget) => (t.family === 6 ? `[${t.address}]` : t.address);

/** Reads a CA bundle once per check definition (not per probe). */
export function readCa(file: string | undefined): Buffer | undefined {
  return file ? readFileSync(file) : undefined;
}

export async function probeHttp(t: CheckTarget, o: HttpProbeOptions): Promise<CheckOutcome> {
  const scheme = o.tls ? 'https' : 'http';
  const origin = `${scheme}://${hostPart(t)}:${t.port}`;
  const hostHeader = o.host ?? endpointText(t);
  const servername = o.tls ? (o.tls.sni ?? o.host?.replace(/:\d+$/, '')) : undefined;
  const tlsOptions = o.tls
    ? { rejectUnauthorized: o.tls.verify, ...(o.tls.ca ? { ca: o.tls.ca } : {}), ...(servername && !/^[\d.:]+$/.test(servername) ? { servername } : {}) }
    : {};
  const routedConn: { conn?: TcpConnect } = {};
  const client = new Client(origin, {
    // The deadline below governs; undici's own timers are only a backstop (they would race it after a stall).
    connectTimeout: o.timeout * 2 + 1000,
    headersTimeout: o.timeout * 2 + 1000,
    bodyTimeout: o.timeout * 2 + 1000,
    pipelining: 0,
    connect: routed(o) ? routedConnector(t, o, tlsOptions, routedConn) : tlsOptions,
  });
  const abort = new AbortController();
  let deadlinePassed = false;
  // Deferred past the next poll phase (see expire in tcp.ts): an answer that arrived in time wins.
  const timer = setTimeout(() => expire(() => { deadlinePassed = true; abort.abort(); }), o.timeout);
  try {
    const res = await client.request({ method: 'GET', path: o.path, headers: { host: hostHeader, 'user-agent': 'lvsd-checker', connection: 'close' }, signal: abort.signal });
    const needBody = o.digest !== undefined || o.bodyRegex !== undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (needBody) {
        if (size > o.maxBodyBytes) {
          abort.abort();
          return down(`body longer than ${o.maxBodyBytes} bytes`);
        }
        chunks.push(chunk);
      }
    }
    if (!statusExpected(res.statusCode, o.status)) return down(`status ${res.statusCode}`);
    if (needBody) {
      const bad = judgeBody(Buffer.concat(chunks, size), { digest: o.digest, regex: o.bodyRegex });
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
    routedConn.conn?.close(); // a connect still in progress when the deadline passed (after detach: a no-op)
    client.destroy().catch(() => {});
  }
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
