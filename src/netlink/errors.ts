// Typed errors of the netlink layer. Decoders throw only NetlinkDecodeError; requests reject with
// NetlinkError (the kernel said no: errno + its extended-ACK message) or NetlinkTimeoutError.
import { getSystemErrorMap } from 'node:util';

/** Malformed bytes: a length that runs past its buffer, an attribute of the wrong size, ... */
export class NetlinkDecodeError extends Error {
  override name = 'NetlinkDecodeError';
  constructor(message: string, readonly offset?: number) { super(offset === undefined ? message : `${message} (at byte ${offset})`); }
}

/** Positive errno -> ['EEXIST', 'file already exists']. */
export function errnoName(errno: number): { code: string; text: string } {
  const e = getSystemErrorMap().get(-errno);
  return e ? { code: e[0], text: e[1] } : { code: `E${errno}`, text: `errno ${errno}` };
}

export interface ExtendedAck {
  message?: string; // NLMSGERR_ATTR_MSG: "ipv4: Address already assigned"
  offset?: number; // NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request
  missingType?: number; // NLMSGERR_ATTR_MISS_TYPE
  missingNest?: number; // NLMSGERR_ATTR_MISS_NEST
  cookie?: Buffer; // NLMSGERR_ATTR_COOKIE
}

/** The kernel refused a request (NLMSG_ERROR with a negative error, or a dump ending in error). */
export class NetlinkError extends Error {
  override name = 'NetlinkError';
  readonly code: string;
  readonly errno: number;
  readonly syscall = 'netlink';
  constructor(errno: number, readonly extAck: ExtendedAck = {}, readonly request?: { type: number; seq: number }) {
    const { code, text } = errnoName(errno);
    super(extAck.message ? `${extAck.message} (${code}, errno ${errno})` : `${text} (${code}, errno ${errno})`);
    this.code = code;
    this.errno = errno;
  }
  /** The kernel's own words, when it gave any. */
  get kernelMessage(): string | undefined { return this.extAck.message; }
}

export class NetlinkTimeoutError extends Error {
  override name = 'NetlinkTimeoutError';
  readonly code = 'ETIMEDOUT';
  constructor(readonly request: { type: number; seq: number }, timeoutMs: number) {
    super(`no netlink answer to message type ${request.type} seq ${request.seq} within ${timeoutMs} ms`);
  }
}

/** The socket was closed, or lost its answers (ENOBUFS on a request socket), before the answer came. */
export class NetlinkSocketError extends Error {
  override name = 'NetlinkSocketError';
  constructor(message: string, readonly code: string, readonly errno?: number) { super(message); }
}
