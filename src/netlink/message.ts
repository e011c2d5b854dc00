// Netlink message framing (struct nlmsghdr) and the kernel's acknowledgements (struct nlmsgerr with its
// extended-ACK TLVs). Pure: bytes in, values out; malformed input throws only NetlinkDecodeError.
import { NetlinkDecodeError, type ExtendedAck } from './errors.js';
import { decodeAttributes } from './attributes.js';

export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1, NLMSG_ERROR = 2, NLMSG_DONE = 3, NLMSG_OVERRUN = 4;
export const NLMSG_MIN_TYPE = 0x10;

export const NLM_F_REQUEST = 0x01, NLM_F_MULTI = 0x02, NLM_F_ACK = 0x04, NLM_F_ECHO = 0x08,
  NLM_F_DUMP_INTR = 0x10, NLM_F_DUMP_FILTERED = 0x20;
// GET requests
export const NLM_F_ROOT = 0x100, NLM_F_MATCH = 0x200, NLM_F_ATOMIC = 0x400, NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
// NEW requests
export const NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400, NLM_F_APPEND = 0x800;
// DELETE requests
export const NLM_F_NONREC = 0x100, NLM_F_BULK = 0x200;
// flags on NLMSG_ERROR acks
export const NLM_F_CAPPED = 0x100, NLM_F_ACK_TLVS = 0x200;

// enum nlmsgerr_attrs
export const NLMSGERR_ATTR_MSG = 1, NLMSGERR_ATTR_OFFS = 2, NLMSGERR_ATTR_COOKIE = 3, NLMSGERR_ATTR_POLICY = 4,
  NLMSGERR_ATTR_MISS_TYPE = 5, NLMSGERR_ATTR_MISS_NEST = 6;

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer; // the bytes after the 16-byte header, without trailing alignment
}

export const nlmsgAlign = (n: number): number => (n + 3) & ~3;

/** The 16-byte header for a message whose payload is payloadLen bytes. */
export function encodeHeader(type: number, flags: number, seq: number, pid: number, payloadLen: number): Buffer {
  const h = Buffer.allocUnsafe(NLMSG_HDRLEN);
  h.writeUInt32LE(NLMSG_HDRLEN + payloadLen, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq >>> 0, 8);
  h.writeUInt32LE(pid >>> 0, 12);
  return h;
}

/** A whole message: header + payload, padded to 4 bytes. */
export function encodeMessage(m: { type: number; flags: number; seq?: number; pid?: number; payload?: Uint8Array }): Buffer {
  const payload = m.payload ?? Buffer.alloc(0);
  const out = Buffer.alloc(nlmsgAlign(NLMSG_HDRLEN + payload.length));
  encodeHeader(m.type, m.flags, m.seq ?? 0, m.pid ?? 0, payload.length).copy(out, 0);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

/** Splits one datagram into its messages. Payloads are views into buf. */
export function decodeMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) throw new NetlinkDecodeError(`${buf.length - off} trailing bytes, shorter than a message header`, off);
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN) throw new NetlinkDecodeError(`message length ${len} shorter than its header`, off);
    if (len > buf.length - off) throw new NetlinkDecodeError(`message length ${len} runs past the datagram (${buf.length - off} bytes left)`, off);
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += nlmsgAlign(len);
  }
  return out;
}

export interface NetlinkAck {
  /** 0 for an ACK, otherwise the positive errno. */
  errno: number;
  /** Header of the request this answers. */
  request: { length: number; type: number; flags: number; seq: number; pid: number };
  extAck: ExtendedAck;
}

function decodeExtAck(buf: Buffer, start: number): ExtendedAck {
  const a = decodeAttributes(buf, start);
  const ext: ExtendedAck = {};
  const msg = a.string(NLMSGERR_ATTR_MSG);
  if (msg !== undefined) ext.message = msg;
  const offs = a.u32(NLMSGERR_ATTR_OFFS);
  if (offs !== undefined) ext.offset = offs;
  const missType = a.u32(NLMSGERR_ATTR_MISS_TYPE);
  if (missType !== undefined) ext.missingType = missType;
  const missNest = a.u32(NLMSGERR_ATTR_MISS_NEST);
  if (missNest !== undefined) ext.missingNest = missNest;
  const cookie = a.binary(NLMSGERR_ATTR_COOKIE);
  if (cookie !== undefined) ext.cookie = Buffer.from(cookie);
  return ext;
}

/** Decodes an NLMSG_ERROR message: struct nlmsgerr { int error; struct nlmsghdr msg; [payload] } [TLVs]. */
export function decodeAck(m: NetlinkMessage): NetlinkAck {
  const p = m.payload;
  if (p.length < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError(`NLMSG_ERROR payload of ${p.length} bytes, needs ${4 + NLMSG_HDRLEN}`);
  const error = p.readInt32LE(0);
  if (error > 0 || error < -4095) throw new NetlinkDecodeError(`NLMSG_ERROR with error ${error}`);
  const request = { length: p.readUInt32LE(4), type: p.readUInt16LE(8), flags: p.readUInt16LE(10), seq: p.readUInt32LE(12), pid: p.readUInt32LE(16) };
  let extAck: ExtendedAck = {};
  if (m.flags & NLM_F_ACK_TLVS) {
    // Without NLM_F_CAPPED the kernel echoed the whole request before the TLVs (an ACK always is capped).
    let tlvStart = 4 + NLMSG_HDRLEN;
    if (!(m.flags & NLM_F_CAPPED) && error !== 0) {
      if (request.length < NLMSG_HDRLEN) throw new NetlinkDecodeError(`echoed request length ${request.length}`);
      tlvStart = 4 + nlmsgAlign(request.length);
    }
    if (tlvStart > p.length) throw new NetlinkDecodeError(`extended ACK starts at ${tlvStart}, past ${p.length} bytes`);
    extAck = decodeExtAck(p, tlvStart);
  }
  return { errno: -error, request, extAck };
}

/** Decodes NLMSG_DONE: an int (0 or -errno; absent from some old families) and extended-ACK TLVs. */
export function decodeDone(m: NetlinkMessage): { errno: number; extAck: ExtendedAck } {
  const p = m.payload;
  if (p.length < 4) return { errno: 0, extAck: {} };
  const error = p.readInt32LE(0);
  const extAck = m.flags & NLM_F_ACK_TLVS ? decodeExtAck(p, 4) : {};
  return { errno: error < 0 && error >= -4095 ? -error : 0, extAck };
}
