// Typed IPVS errors: which command failed on which entry, the kernel's errno and extended-ACK text, and
// a reason an operator can act on.
import { NetlinkError } from '../src/netlink/errors.js';
import { hostPort } from './address.js';
import { AF_INET6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from './constants.js';
import type { IpvsOp } from './reconcile.js';

/** The kernel has no "IPVS" generic netlink family: ip_vs is not loaded (or not built). */
export class IpvsUnavailableError extends Error {
  override name = 'IpvsUnavailableError';
  readonly code = 'ENOENT';
  constructor(override readonly cause?: unknown) {
    super('the kernel has no IPVS generic netlink family: load the ip_vs module (modprobe ip_vs)');
  }
}

export function describeOp(op: IpvsOp): string {
  switch (op.kind) {
    case 'IPVS_CMD_NEW_SERVICE': case 'IPVS_CMD_SET_SERVICE': case 'IPVS_CMD_DEL_SERVICE': return `${op.kind} ${describeService(op.service)}`;
    case 'IPVS_CMD_NEW_DEST': case 'IPVS_CMD_SET_DEST': case 'IPVS_CMD_DEL_DEST':
      return `${op.kind} ${describeService(op.service)} -> ${hostPort(op.dest.addr, op.dest.port)}`;
    case 'IPVS_CMD_SET_CONFIG': return `${op.kind} ${JSON.stringify(op.timeouts)}`;
    default: return `${op.kind} state ${op.daemon.state} ${op.daemon.mcastIfn} syncid ${op.daemon.syncId}`;
  }
}

const PROTO_NAME: Record<number, string> = { [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp', [IPPROTO_SCTP]: 'sctp' };

function describeService(s: { af: number; protocol: number; addr: string; port: number; fwmark: number }): string {
  if (s.fwmark) return `fwmark ${s.fwmark}${s.af === AF_INET6 ? ' (IPv6)' : ''}`;
  const proto = PROTO_NAME[s.protocol] ?? `proto ${s.protocol}`;
  return `${proto} ${hostPort(s.addr, s.port)}`;
}

/** An IPVS command the kernel refused. */
export class IpvsCommandError extends Error {
  override name = 'IpvsCommandError';
  readonly code: string;
  readonly errno: number;
  readonly kernelMessage: string | undefined;
  /** A race with another writer (the entry appeared or vanished): re-reading and converging fixes it. */
  readonly isRace: boolean;
  constructor(readonly op: IpvsOp, override readonly cause: Error, readonly reason: string, race?: boolean) {
    super(`${describeOp(op)}: ${reason}`);
    const ne = cause instanceof NetlinkError ? cause : undefined;
    this.code = ne?.code ?? (cause as { code?: string }).code ?? 'EIO';
    this.errno = ne?.errno ?? (cause as { errno?: number }).errno ?? 0;
    this.kernelMessage = ne?.kernelMessage;
    this.isRace = race ?? (this.code === 'EEXIST' || this.code === 'ENOENT' || this.code === 'ESRCH');
  }
}

/** What the kernel's errno means for this command (ip_vs_ctl.c's return paths). */
export function explain(op: IpvsOp, e: Error): IpvsCommandError {
  const code = (e as { code?: string }).code;
  const kernel = e instanceof NetlinkError && e.kernelMessage ? ` (kernel: ${e.kernelMessage})` : '';
  const errno = e instanceof NetlinkError ? ` [${e.code}, errno ${e.errno}]` : '';
  let reason = e.message;
  if ((op.kind === 'IPVS_CMD_NEW_SERVICE' || op.kind === 'IPVS_CMD_SET_SERVICE') && code === 'ENOENT') {
    // ip_vs_scheduler_get / ip_vs_pe_getbyname failed: the module is not loaded (or does not exist).
    const s = op.service;
    reason = `scheduler "${s.schedName}" not found: kernel module ip_vs_${s.schedName} is not loaded` +
      (s.peName ? `, or persistence engine "${s.peName}" (module ip_vs_pe_${s.peName})` : '');
    return new IpvsCommandError(op, e, reason + errno + kernel, false);
  }
  if (code === 'EEXIST') reason = 'already exists';
  else if (code === 'ESRCH') reason = 'no such service';
  else if (code === 'ENOENT') reason = 'no such destination';
  else if (code === 'ERANGE') reason = 'lower threshold above upper threshold';
  else if (code === 'EINVAL') reason = 'invalid arguments';
  return new IpvsCommandError(op, e, reason + errno + kernel);
}
