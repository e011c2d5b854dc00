// An HTTP server that no client can use to hurt the director: a cap on open connections (and on those
// from one address), a reserve of file descriptors it never eats into (fd-reserve.ts), deadlines for the
// request head, the whole request and an idle connection, a cap on header bytes, and malformed requests
// answered 400 without a log line. Beyond a cap a connection is accepted and closed at once: refused,
// never queued, so the kernel's backlog cannot hold thousands of them for later either.
//
//   const server = createBoundedServer('metrics', limits, handler);   // then server.listen(...)
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { processReserve, type FdReserve } from './fd-reserve.js';
import { listenerStats, type BadRequestReason, type ListenerStats, type RefuseReason } from './stats.js';

export interface ListenerLimits {
  /** Open connections at most; more are closed on accept. */
  maxConnections: number;
  /** Open connections from one remote address at most (TCP; a unix socket has no address). */
  maxPerPeer: number;
  /** The request line and headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** The whole request, body included, within this. */
  requestTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed (covers a client that stops reading). */
  idleTimeoutMs: number;
  /** Request line plus headers, bytes (431 beyond). */
  maxHeaderBytes: number;
}

/** Prometheus scrapes from one or two servers and `lvsd` CLI calls are one at a time: 64 is plenty. */
export const DEFAULT_LIMITS: ListenerLimits = {
  maxConnections: 64,
  maxPerPeer: 16,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
  maxHeaderBytes: 8 * 1024,
};

export interface BoundedServerOptions {
  reserve?: FdReserve;
  /** Part of the descriptor reserve this listener must leave free (default 1, all; see FdReserve.allows). */
  reserveShare?: number;
  /** Counters under this name (default: the listener's name). */
  stats?: ListenerStats;
}

/** The descriptor number of an accepted socket (libuv's handle; absent on Windows). */
function fdOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

function badReason(code: string | undefined): BadRequestReason {
  if (code === 'HPE_HEADER_OVERFLOW') return 'header_too_large';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT') return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  return 'malformed';
}

const STATUS_FOR: Record<BadRequestReason, number> = { malformed: 400, header_too_large: 431, timeout: 408, reset: 0 };

export function createBoundedServer(
  name: string,
  limits: ListenerLimits,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  opts: BoundedServerOptions = {},
): Server {
  const reserve = opts.reserve ?? processReserve;
  const stats = opts.stats ?? listenerStats(name);
  const server = createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: Math.min(5_000, limits.idleTimeoutMs),
    // Node checks the two deadlines above only this often (30 s by default): a slowloris would hold
    // its connection up to 30 s past headersTimeout.
    connectionsCheckingInterval: Math.max(250, Math.min(1_000, limits.headersTimeoutMs / 2)),
  }, handler);
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  // Node closes connections past maxConnections itself and says so here.
  server.on('drop', () => { stats.refused.max_connections++; });

  const perPeer = new Map<string, number>();
  const refuse = (socket: Socket, reason: RefuseReason): void => {
    stats.refused[reason]++;
    socket.destroy();
  };
  server.on('connection', (socket: Socket) => {
    if (!reserve.allows(fdOf(socket), opts.reserveShare)) { refuse(socket, 'fd_reserve'); return; }
    const peer = socket.remoteAddress;
    if (peer !== undefined) {
      const n = (perPeer.get(peer) ?? 0) + 1;
      if (n > limits.maxPerPeer) { refuse(socket, 'max_per_peer'); return; }
      perPeer.set(peer, n);
    }
    stats.accepted++;
    stats.open++;
    socket.once('close', () => {
      stats.open--;
      if (peer === undefined) return;
      const n = (perPeer.get(peer) ?? 1) - 1;
      if (n <= 0) perPeer.delete(peer); else perPeer.set(peer, n);
    });
  });

  // A request Node's parser cannot read (bad request line, header overflow, a deadline): answered with
  // its status and closed. Counted, not logged: any client can send these as fast as it likes.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const reason = badReason(err.code);
    stats.badRequests[reason]++;
    const status = STATUS_FOR[reason];
    if (status && socket.writable) {
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      // end() leaves the socket half-open until the peer closes; a hostile peer never would.
      socket.setTimeout(1_000, () => socket.destroy());
    } else {
      socket.destroy();
    }
  });
  return server;
}
