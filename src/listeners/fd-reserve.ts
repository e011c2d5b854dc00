// File descriptors kept back for what must never fail: VRRP's sockets, track scripts' pipes, health
// checks' sockets. A listener serves a connection only while the process is further than `reserve`
// descriptors from RLIMIT_NOFILE, so no number of clients can make a track script fail with EMFILE
// (the instance would go to FAULT and the peer take the VIPs) or a check report errno 24.
//
// The test is O(1): the kernel hands out the LOWEST free descriptor (POSIX), so an accepted socket whose
// number is within `reserve` of the limit proves every descriptor below it is taken.
import { addon } from '../native/index.js';

export interface FileLimit { soft: number; hard: number }

/** RLIMIT_NOFILE now; Infinity for RLIM_INFINITY. */
export function fileLimit(): FileLimit {
  const [soft, hard] = addon.fileLimit();
  return { soft: soft < 0 ? Infinity : soft, hard: hard < 0 ? Infinity : hard };
}

/**
 * Raises the soft RLIMIT_NOFILE to the hard one, as a daemon that owns its limits should (the soft
 * limit is 1024 on most systems for select()'s sake, which Node does not use). Returns the limit in
 * force afterwards; on failure the old one, with the reason.
 */
export function raiseFileLimit(): FileLimit & { raised: boolean; error?: string } {
  const before = fileLimit();
  if (before.soft >= before.hard) return { ...before, raised: false };
  try {
    // RLIM_INFINITY is not a descriptor count the kernel accepts for NOFILE (nr_open caps it).
    addon.setFileLimit(Number.isFinite(before.hard) ? before.hard : 1_048_576);
    return { ...fileLimit(), raised: true };
  } catch (e) {
    return { ...before, raised: false, error: (e as Error).message };
  }
}

/** Default reserve: an eighth of the limit, at least 128 (a few VRRP sockets, scripts, checks in flight). */
export function defaultReserve(soft: number): number {
  return Number.isFinite(soft) ? Math.max(128, Math.floor(soft / 8)) : 128;
}

export interface FdReserve {
  /** The soft limit read when the reserve was made (re-read by refresh()). */
  readonly limit: number;
  readonly reserve: number;
  /**
   * Whether a listener may keep a connection whose socket is descriptor `fd`, leaving `share` of the
   * reserve untouched (1: all of it; the control socket passes 0.5 so that a flood of /metrics, which
   * stops at the whole reserve, cannot lock the operator out).
   */
  allows(fd: number, share?: number): boolean;
  /** Reads the limit again (after raiseFileLimit). */
  refresh(): void;
}

export function fdReserve(reserve?: number): FdReserve {
  let limit = fileLimit().soft;
  let keep = reserve ?? defaultReserve(limit);
  return {
    get limit() { return limit; },
    get reserve() { return keep; },
    allows: (fd: number, share = 1) => !(fd >= 0) || fd < limit - Math.ceil(keep * share),
    refresh() { limit = fileLimit().soft; if (reserve === undefined) keep = defaultReserve(limit); },
  };
}

/** The process-wide reserve every listener consults. */
export const processReserve: FdReserve = fdReserve();
