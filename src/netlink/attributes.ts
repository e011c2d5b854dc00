// Netlink attribute (TLV) codec, shared by rtnetlink, generic netlink and the IPVS client.
//
// Encoding (struct nlattr: u16 nla_len, u16 nla_type, payload, padding to 4 bytes):
//   const w = new AttributeWriter();
//   w.u32(IPVS_SVC_ATTR_FWMARK, 1).be16(IPVS_SVC_ATTR_PORT, 80).ip(IPVS_SVC_ATTR_ADDR, '192.0.2.1')
//    .string(IPVS_SVC_ATTR_SCHED_NAME, 'wrr');
//   w.nested(IPVS_CMD_ATTR_SERVICE, (n) => n.u16(IPVS_SVC_ATTR_AF, 2));   // sets NLA_F_NESTED unless { flag: false }
//   const bytes = w.finish();                                              // Buffer, length a multiple of 4
// Integers are host byte order (little endian here) except be16/be32, which the kernel wants in network
// order (ports, some addresses); pass { netByteOrderFlag: true } to also set NLA_F_NET_BYTEORDER.
//
// Decoding: const a = decodeAttributes(buf, start, end);  a.u32(type), a.string(type), a.ip(type),
//   a.nested(type) -> Attributes, a.nestedList(type) -> Attributes[] (an array of nested entries),
//   a.list (every TLV in order). Missing attributes give undefined; malformed ones throw NetlinkDecodeError
//   and nothing else (lengths past the buffer, wrong sizes for the requested type).
import { NetlinkDecodeError } from './errors.js';
import { addressBytes, formatAddress } from '../native/addresses.js';

export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export const align4 = (n: number): number => (n + 3) & ~3;

export class AttributeWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 256) { this.buf = Buffer.alloc(initialSize); }

  get length(): number { return this.len; }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }

  /** Appends raw bytes (e.g. a fixed family header before the attributes), padded to 4 bytes. */
  raw(bytes: Uint8Array): this {
    const padded = align4(bytes.length);
    this.reserve(padded);
    this.buf.set(bytes, this.len);
    this.buf.fill(0, this.len + bytes.length, this.len + padded);
    this.len += padded;
    return this;
  }

  /** Writes one attribute header and returns the offset of its payload. */
  private attr(type: number, payloadLen: number): number {
    if (payloadLen + NLA_HDRLEN > 0xffff) throw new RangeError(`attribute ${type} too long (${payloadLen} bytes)`);
    const padded = align4(NLA_HDRLEN + payloadLen);
    this.reserve(padded);
    const at = this.len;
    this.buf.writeUInt16LE(NLA_HDRLEN + payloadLen, at);
    this.buf.writeUInt16LE(type & 0xffff, at + 2);
    this.buf.fill(0, at + NLA_HDRLEN + payloadLen, at + padded);
    this.len += padded;
    return at + NLA_HDRLEN;
  }

  flag(type: number): this { this.attr(type, 0); return this; }
  // Each writer takes the offset first: attr() may replace this.buf when it grows.
  u8(type: number, v: number): this { const at = this.attr(type, 1); this.buf.writeUInt8(v, at); return this; }
  u16(type: number, v: number): this { const at = this.attr(type, 2); this.buf.writeUInt16LE(v, at); return this; }
  u32(type: number, v: number): this { const at = this.attr(type, 4); this.buf.writeUInt32LE(v >>> 0, at); return this; }
  s32(type: number, v: number): this { const at = this.attr(type, 4); this.buf.writeInt32LE(v, at); return this; }
  u64(type: number, v: bigint | number): this { const at = this.attr(type, 8); this.buf.writeBigUInt64LE(BigInt(v), at); return this; }
  be16(type: number, v: number, opts: { netByteOrderFlag?: boolean } = {}): this {
    const at = this.attr(opts.netByteOrderFlag ? type | NLA_F_NET_BYTEORDER : type, 2);
    this.buf.writeUInt16BE(v, at);
    return this;
  }
  be32(type: number, v: number, opts: { netByteOrderFlag?: boolean } = {}): this {
    const at = this.attr(opts.netByteOrderFlag ? type | NLA_F_NET_BYTEORDER : type, 4);
    this.buf.writeUInt32BE(v >>> 0, at);
    return this;
  }
  /** A NUL-terminated string (NLA_NUL_STRING / NLA_STRING both accept it). */
  string(type: number, s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    const at = this.attr(type, bytes.length + 1);
    this.buf.set(bytes, at);
    this.buf[at + bytes.length] = 0;
    return this;
  }
  binary(type: number, bytes: Uint8Array): this { const at = this.attr(type, bytes.length); this.buf.set(bytes, at); return this; }
  /** An IPv4 (4 bytes) or IPv6 (16 bytes) address from its text form, network order. */
  ip(type: number, address: string): this { return this.binary(type, addressBytes(address)); }

  /** A nested attribute; NLA_F_NESTED is set unless { flag: false } (some old tools never set it). */
  nested(type: number, fill: (w: this) => void, opts: { flag?: boolean } = {}): this {
    const at = this.attr(opts.flag === false ? type : type | NLA_F_NESTED, 0) - NLA_HDRLEN;
    fill(this);
    const len = this.len - at;
    if (len > 0xffff) throw new RangeError(`nested attribute ${type} too long (${len} bytes)`);
    this.buf.writeUInt16LE(len, at);
    return this;
  }

  /** The encoded bytes (a copy; the writer may be reused after reset()). */
  finish(): Buffer { return Buffer.from(this.buf.subarray(0, this.len)); }
  reset(): this { this.len = 0; return this; }
}

export interface RawAttribute {
  type: number; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
  nested: boolean;
  netByteOrder: boolean;
  data: Buffer;
  offset: number; // where the attribute header starts in the decoded buffer
}

export class Attributes {
  constructor(readonly list: RawAttribute[]) {}

  /** The last attribute of this type (what the kernel's nla_parse keeps). */
  raw(type: number): RawAttribute | undefined {
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]!.type === type) return this.list[i];
    return undefined;
  }
  has(type: number): boolean { return this.raw(type) !== undefined; }
  all(type: number): RawAttribute[] { return this.list.filter((a) => a.type === type); }

  private sized(type: number, size: number, what: string): RawAttribute | undefined {
    const a = this.raw(type);
    if (a && a.data.length !== size) throw new NetlinkDecodeError(`attribute ${type} is ${a.data.length} bytes, ${what} needs ${size}`, a.offset);
    return a;
  }
  u8(type: number): number | undefined { return this.sized(type, 1, 'u8')?.data.readUInt8(0); }
  u16(type: number): number | undefined { return this.sized(type, 2, 'u16')?.data.readUInt16LE(0); }
  u32(type: number): number | undefined { return this.sized(type, 4, 'u32')?.data.readUInt32LE(0); }
  s32(type: number): number | undefined { return this.sized(type, 4, 's32')?.data.readInt32LE(0); }
  u64(type: number): bigint | undefined { return this.sized(type, 8, 'u64')?.data.readBigUInt64LE(0); }
  be16(type: number): number | undefined { return this.sized(type, 2, 'be16')?.data.readUInt16BE(0); }
  be32(type: number): number | undefined { return this.sized(type, 4, 'be32')?.data.readUInt32BE(0); }
  /** A string up to its first NUL (or the whole payload if it has none). */
  string(type: number): string | undefined {
    const a = this.raw(type);
    if (!a) return undefined;
    const nul = a.data.indexOf(0);
    return a.data.toString('utf8', 0, nul < 0 ? a.data.length : nul);
  }
  binary(type: number): Buffer | undefined { return this.raw(type)?.data; }
  flag(type: number): boolean { return this.has(type); }
  /** An IPv4 or IPv6 address in text form; other sizes are malformed. */
  ip(type: number): string | undefined {
    const a = this.raw(type);
    if (!a) return undefined;
    if (a.data.length !== 4 && a.data.length !== 16) throw new NetlinkDecodeError(`attribute ${type} is ${a.data.length} bytes, not an IP address`, a.offset);
    return formatAddress(a.data);
  }
  nested(type: number): Attributes | undefined {
    const a = this.raw(type);
    return a ? decodeAttributes(a.data) : undefined;
  }
  /** An array encoded as a nest of nests (entries typed 1..n, or all 0): each entry decoded. */
  nestedList(type: number): Attributes[] {
    const outer = this.nested(type);
    return outer ? outer.list.map((e) => decodeAttributes(e.data)) : [];
  }
}

/** Walks the TLVs in buf[start, end) with bounds checks. The returned data buffers are views into buf. */
export function decodeAttributes(buf: Buffer, start = 0, end = buf.length): Attributes {
  if (start < 0 || end > buf.length || start > end) throw new NetlinkDecodeError(`attribute range ${start}..${end} outside ${buf.length} bytes`);
  const list: RawAttribute[] = [];
  let off = start;
  while (off < end) {
    if (end - off < NLA_HDRLEN) {
      // The kernel tolerates trailing bytes shorter than a header (nla_parse warns, does not fail).
      break;
    }
    const len = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    if (len < NLA_HDRLEN) throw new NetlinkDecodeError(`attribute length ${len} shorter than its header`, off);
    if (off + len > end) throw new NetlinkDecodeError(`attribute length ${len} runs past the end (${end - off} bytes left)`, off);
    list.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      netByteOrder: (rawType & NLA_F_NET_BYTEORDER) !== 0,
      data: buf.subarray(off + NLA_HDRLEN, off + len),
      offset: off,
    });
    off += align4(len);
  }
  return new Attributes(list);
}
