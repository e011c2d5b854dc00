// What every bounded listener counts, for /metrics: open connections, refused ones by reason, and
// malformed requests answered 400/408/431 by reason. Process-wide because listeners come and go with
// reloads and tests while the metrics registry reads one place.

export type RefuseReason = 'max_connections' | 'max_per_peer' | 'fd_reserve';
export type BadRequestReason = 'malformed' | 'header_too_large' | 'timeout' | 'reset';

export interface ListenerStats {
  readonly name: string;
  open: number;
  accepted: number;
  refused: Record<RefuseReason, number>;
  badRequests: Record<BadRequestReason, number>;
}

const all = new Map<string, ListenerStats>();

/** The counters of listener `name` (created on first use; kept when it closes, as counters must be). */
export function listenerStats(name: string): ListenerStats {
  let s = all.get(name);
  if (!s) {
    s = { name, open: 0, accepted: 0, refused: { max_connections: 0, max_per_peer: 0, fd_reserve: 0 }, badRequests: { malformed: 0, header_too_large: 0, timeout: 0, reset: 0 } };
    all.set(name, s);
  }
  return s;
}

export function allListenerStats(): readonly ListenerStats[] {
  return [...all.values()];
}
