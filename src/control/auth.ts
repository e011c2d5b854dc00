// Who may call the control API. Pure decisions plus a constant-time token comparison.
//
// The policy:
// - the unix socket: anyone who can connect (the socket is 0600 root, so root only) may do anything;
// - TCP from a loopback peer: GET (read-only status) without a token; anything that changes state
//   needs the token, because every local user can open a loopback TCP connection;
// - TCP from any other peer: everything needs `Authorization: Bearer <token>`.
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

export type Transport = 'unix' | 'tcp';

export interface AuthRequest {
  transport: Transport;
  /** The peer's address as node reports it (socket.remoteAddress); undefined on a unix socket. */
  remoteAddress: string | undefined;
  method: string;
  /** The Authorization header, if any. */
  authorization: string | undefined;
  /** The expected token; undefined when no token_file is configured (or it is empty). */
  token: string | undefined;
}

export type AuthDecision = { ok: true } | { ok: false; status: 401 | 403; error: string };

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x (a dual-stack listener reports those). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase();
  const mapped = a.startsWith('::ffff:') ? a.slice(7) : undefined;
  if (mapped !== undefined && isIP(mapped) === 4) return LOOPBACK.check(mapped, 'ipv4');
  const family = isIP(a);
  return family === 4 ? LOOPBACK.check(a, 'ipv4') : family === 6 ? LOOPBACK.check(a, 'ipv6') : false;
}

/** Equal strings in time that does not depend on where they differ (hashing first evens the lengths). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The token from `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750 section 2.1). */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1] : undefined;
}

export function authorize(r: AuthRequest): AuthDecision {
  if (r.transport === 'unix') return { ok: true };
  const local = isLoopback(r.remoteAddress);
  if (local && (r.method === 'GET' || r.method === 'HEAD')) return { ok: true };
  if (r.token === undefined || r.token === '') {
    return { ok: false, status: 403, error: 'this control listener has no token_file, so it only serves reads from loopback; use the unix socket' };
  }
  const given = bearerToken(r.authorization);
  if (given === undefined) {
    return { ok: false, status: 401, error: local ? 'changes over TCP need Authorization: Bearer <token> (the token in token_file)' : 'calls from other hosts need Authorization: Bearer <token>' };
  }
  if (!tokensEqual(given, r.token)) return { ok: false, status: 401, error: 'wrong token' };
  return { ok: true };
}
