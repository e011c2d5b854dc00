// What one probe says: up (optionally with a weight a script reported) or down with a reason in words.
// Reasons are short phrases a log line can carry as they are: "connection refused", "status 503",
// "timed out after 1s", "digest mismatch".

export type CheckOutcome =
  | {
    ok: true;
    /** An absolute weight (a script's exit code with dynamic_weight). */
    weight?: number;
    /** Percent of the real server's weight (an agent's "75%"; 0 = drain: in the table, no new connections). */
    weightPercent?: number;
    /** Added to the real server's weight (a file check's value times its weight, keepalived track_file). */
    weightDelta?: number;
    detail?: string;
  }
  | { ok: false; reason: string };

/** The endpoint a check probes (the real server's, unless the check names its own address/port). */
export interface CheckTarget {
  address: string;
  family: 4 | 6;
  port: number;
}

/** "10.0.1.11:80", "[2001:db8::1]:80": an endpoint as logs, Host headers and ipvsadm write it. */
export function endpointText(t: CheckTarget): string {
  return t.family === 6 ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
}

export const up = (weight?: number): CheckOutcome => (weight === undefined ? { ok: true } : { ok: true, weight });
export const down = (reason: string): CheckOutcome => ({ ok: false, reason });
/** The reason a probe gives when its deadline passes. */
export const timedOut = (ms: number): CheckOutcome => down(`timed out after ${formatMs(ms)}`);

/** A reason without its figures ("digest mismatch (got ...)" -> "digest mismatch", "timed out after 1s" ->
 *  "timed out"), so counters by reason stay a small set. */
export function reasonStem(reason: string): string {
  return reason.replace(/ \(got .*\)$/, '').replace(/^timed out after .*/, 'timed out')
    // An agent's own description ("agent: down: disk full") and a tracked file's value ("file /run/x: 3").
    .replace(/^(agent: [a-z]+): .*/s, '$1').replace(/^(file \S+): -?\d+$/, '$1: value');
}

/** "1s", "250ms", "1.5s": how long a timeout was, for reasons. */
export function formatMs(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Node's socket error codes as words (the errno name stays visible in parentheses for the rare ones). */
export function describeSocketError(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  const code = err?.code;
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': return 'connection reset';
    case 'EHOSTUNREACH': return 'host unreachable';
    case 'ENETUNREACH': return 'network unreachable';
    case 'ETIMEDOUT': return 'connect timed out';
    case 'EADDRNOTAVAIL': return 'source address not available';
    case 'EADDRINUSE': return 'source address in use';
    case 'ENODEV': return 'no such interface';
    case 'EPERM': return `not permitted (${err?.syscall ?? 'socket'})`;
    case 'EPIPE': return 'connection closed';
    case 'UND_ERR_SOCKET': return 'connection closed by the server';
    case 'ERR_TLS_CERT_ALTNAME_INVALID': return 'certificate name mismatch';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT': case 'SELF_SIGNED_CERT_IN_CHAIN': case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY': case 'CERT_HAS_EXPIRED':
      return `certificate not trusted (${code})`;
  }
  // undici wraps the socket's error in `cause`.
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (cause && cause !== e) {
    const inner = describeSocketError(cause);
    if (!inner.startsWith('error')) return inner;
  }
  if (code) return `error ${code}`;
  return `error: ${err?.message ?? String(e)}`;
}
