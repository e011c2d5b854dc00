// ICMP and ICMPv6 as the UDP and echo checks need them, pure: bytes in, values out. The Internet checksum
// (RFC 1071), echo requests (RFC 792 / RFC 4443 section 4.1), decoding what a raw socket hands over (an
// echo reply, or an error quoting one of our echo requests), the names of ICMP errors as reasons, and
// `struct sock_extended_err` from a socket's error queue (linux/errqueue.h, ip(7) IP_RECVERR).
// Every decoder reads within the buffer it is given and is linear in it; a short or odd packet decodes
// to undefined, never to an exception.
import { formatAddress } from '../src/native/addresses.js';

export const ICMP_ECHO_REPLY = 0, ICMP_DEST_UNREACH = 3, ICMP_SOURCE_QUENCH = 4, ICMP_ECHO = 8, ICMP_TIME_EXCEEDED = 11, ICMP_PARAMETERPROB = 12;
export const ICMP6_DST_UNREACH = 1, ICMP6_PACKET_TOO_BIG = 2, ICMP6_TIME_EXCEEDED = 3, ICMP6_PARAM_PROB = 4,
  ICMP6_ECHO_REQUEST = 128, ICMP6_ECHO_REPLY = 129;
const IPPROTO_ICMP = 1, IPPROTO_ICMPV6 = 58;

/** RFC 1071: the 16-bit one's complement of the one's complement sum of the data (an odd last byte padded with zero). */
export function internetChecksum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (data.length & 1) sum += data[data.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * An echo request: type 8 (ICMP) or 128 (ICMPv6), code 0, identifier, sequence, payload. The ICMP
 * checksum is filled in here; ICMPv6's covers a pseudo-header with the addresses (RFC 4443 section 2.3),
 * which the kernel fills in on raw ICMPv6 sockets (RFC 3542 section 3.1), so it is left 0.
 */
export function encodeEchoRequest(family: 4 | 6, id: number, seq: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = family === 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
  b.writeUInt16BE(id & 0xffff, 4);
  b.writeUInt16BE(seq & 0xffff, 6);
  b.set(payload, 8);
  if (family === 4) b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/** What a raw ICMP socket received, as far as an echo check cares. */
export type IcmpMessage =
  | { kind: 'echo-reply'; from: string; id: number; seq: number; payload: Buffer }
  /** An error about a packet we sent: `to`, `id`, `seq` are the quoted echo request's (absent when it quotes no echo request). */
  | { kind: 'error'; from: string; type: number; code: number; reason: string; quoted?: { to: string; id: number; seq: number } }
  | { kind: 'other'; from: string; type: number };

/**
 * One packet from a raw ICMP socket. IPv4 raw sockets deliver the IP header too (raw(7)), so `bytes`
 * starts with it; IPv6 raw sockets deliver from the ICMPv6 header on (RFC 3542 section 3), and `from` is
 * the sender from recvmsg. Undefined for anything too short to be what it says.
 */
export function decodeIcmp(family: 4 | 6, bytes: Buffer, from?: string): IcmpMessage | undefined {
  let icmp: Buffer;
  let src: string;
  if (family === 4) {
    const ip = ipv4Header(bytes);
    if (!ip || ip.protocol !== IPPROTO_ICMP) return undefined;
    icmp = bytes.subarray(ip.headerLength, ip.totalLength);
    src = ip.source;
  } else {
    icmp = bytes;
    src = from ?? '';
  }
  if (icmp.length < 8) return undefined;
  const type = icmp[0]!, code = icmp[1]!;
  if (type === (family === 4 ? ICMP_ECHO_REPLY : ICMP6_ECHO_REPLY)) {
    return { kind: 'echo-reply', from: src, id: icmp.readUInt16BE(4), seq: icmp.readUInt16BE(6), payload: icmp.subarray(8) };
  }
  const reason = icmpErrorReason(family, type, code, icmp.readUInt16BE(6));
  if (reason === undefined) return { kind: 'other', from: src, type };
  const quoted = family === 4 ? quotedEcho4(icmp.subarray(8)) : quotedEcho6(icmp.subarray(8));
  return quoted ? { kind: 'error', from: src, type, code, reason, quoted } : { kind: 'error', from: src, type, code, reason };
}

interface Ipv4Header { headerLength: number; totalLength: number; protocol: number; source: string; destination: string }

/** RFC 791 header: IHL in 32-bit words, total length clipped to what was received. */
function ipv4Header(b: Buffer): Ipv4Header | undefined {
  if (b.length < 20 || b[0]! >> 4 !== 4) return undefined;
  const headerLength = (b[0]! & 0x0f) * 4;
  if (headerLength < 20 || headerLength > b.length) return undefined;
  const totalLength = Math.min(Math.max(b.readUInt16BE(2), headerLength), b.length);
  return { headerLength, totalLength, protocol: b[9]!, source: formatAddress(b.subarray(12, 16)), destination: formatAddress(b.subarray(16, 20)) };
}

/** The echo request an ICMP error quotes: its IP header and at least the first 8 bytes (RFC 792). */
function quotedEcho4(q: Buffer): { to: string; id: number; seq: number } | undefined {
  const ip = ipv4Header(q);
  if (!ip || ip.protocol !== IPPROTO_ICMP) return undefined;
  const inner = q.subarray(ip.headerLength);
  if (inner.length < 8 || inner[0] !== ICMP_ECHO) return undefined;
  return { to: ip.destination, id: inner.readUInt16BE(4), seq: inner.readUInt16BE(6) };
}

/** The same for ICMPv6 (RFC 4443 section 3: as much of the invoking packet as fits). Our requests carry
 *  no extension headers, so the quoted echo request follows the 40-byte header directly. */
function quotedEcho6(q: Buffer): { to: string; id: number; seq: number } | undefined {
  if (q.length < 48 || q[0]! >> 4 !== 6 || q[6] !== IPPROTO_ICMPV6) return undefined;
  if (q[40] !== ICMP6_ECHO_REQUEST) return undefined;
  return { to: formatAddress(q.subarray(24, 40)), id: q.readUInt16BE(44), seq: q.readUInt16BE(46) };
}

// RFC 792 and RFC 1812 section 5.2.7.1 (codes 6-15) for destination unreachable.
const UNREACH4: Record<number, string> = {
  0: 'network unreachable', 1: 'host unreachable', 2: 'protocol unreachable', 3: 'port unreachable',
  4: 'fragmentation needed', 5: 'source route failed', 6: 'destination network unknown', 7: 'destination host unknown',
  8: 'source host isolated', 9: 'network administratively prohibited', 10: 'host administratively prohibited',
  11: 'network unreachable for TOS', 12: 'host unreachable for TOS', 13: 'communication administratively prohibited',
  14: 'host precedence violation', 15: 'precedence cutoff in effect',
};
// RFC 4443 section 3.1.
const UNREACH6: Record<number, string> = {
  0: 'no route to destination', 1: 'communication administratively prohibited', 2: 'beyond scope of source address',
  3: 'address unreachable', 4: 'port unreachable', 5: 'source address failed ingress/egress policy', 6: 'reject route to destination',
};

/**
 * An ICMP error as a reason: "ICMP port unreachable", "ICMPv6 address unreachable", "ICMP fragmentation
 * needed (got mtu 1400)". `info` is the second 32-bit word's low half (the next-hop MTU of RFC 1191 for
 * type 3 code 4; for ICMPv6 packet too big the whole word is the MTU, and the caller passes it).
 * Undefined for types that are not errors (echo, redirect, router advertisements, ...).
 */
export function icmpErrorReason(family: 4 | 6, type: number, code: number, info = 0): string | undefined {
  if (family === 4) {
    switch (type) {
      case ICMP_DEST_UNREACH: {
        const name = UNREACH4[code] ?? `destination unreachable code ${code}`;
        return code === 4 && info ? `ICMP ${name} (got mtu ${info})` : `ICMP ${name}`;
      }
      case ICMP_SOURCE_QUENCH: return 'ICMP source quench';
      case ICMP_TIME_EXCEEDED: return code === 1 ? 'ICMP fragment reassembly time exceeded' : 'ICMP TTL exceeded in transit';
      case ICMP_PARAMETERPROB: return 'ICMP parameter problem';
      default: return undefined;
    }
  }
  switch (type) {
    case ICMP6_DST_UNREACH: return `ICMPv6 ${UNREACH6[code] ?? `destination unreachable code ${code}`}`;
    case ICMP6_PACKET_TOO_BIG: return info ? `ICMPv6 packet too big (got mtu ${info})` : 'ICMPv6 packet too big';
    case ICMP6_TIME_EXCEEDED: return code === 1 ? 'ICMPv6 fragment reassembly time exceeded' : 'ICMPv6 hop limit exceeded in transit';
    case ICMP6_PARAM_PROB: return 'ICMPv6 parameter problem';
    default: return type < 128 ? `ICMPv6 error type ${type} code ${code}` : undefined;
  }
}

/** ICMP_FILTER's mask for raw ICMP sockets (raw(7)): a set bit drops that type. Passes echo replies and the errors. */
export function icmpFilter(): number {
  const pass = [ICMP_ECHO_REPLY, ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB];
  return ~pass.reduce((m, t) => m | (1 << t), 0) >>> 0;
}

/** struct icmp6_filter (RFC 3542 section 3.2; in Linux a set bit blocks the type): passes echo replies and the errors. */
export function icmp6Filter(): Buffer {
  const words = new Uint32Array(8).fill(0xffffffff);
  for (const t of [ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED, ICMP6_PARAM_PROB, ICMP6_ECHO_REPLY]) words[t >> 5]! &= ~(1 << (t & 31));
  const b = Buffer.alloc(32);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
  return b;
}

// linux/errqueue.h
export const SO_EE_ORIGIN_NONE = 0, SO_EE_ORIGIN_LOCAL = 1, SO_EE_ORIGIN_ICMP = 2, SO_EE_ORIGIN_ICMP6 = 3;

export interface ExtendedError {
  errno: number;
  origin: number;
  type: number;
  code: number;
  info: number;
  /** SO_EE_OFFENDER: who sent the ICMP error (the router or the host itself). */
  offender?: string | undefined;
}

/**
 * struct sock_extended_err { u32 ee_errno; u8 ee_origin, ee_type, ee_code, ee_pad; u32 ee_info, ee_data; }
 * in host byte order (little-endian here), followed by the offender's sockaddr (SO_EE_OFFENDER).
 */
export function decodeExtendedError(data: Buffer): ExtendedError | undefined {
  if (data.length < 16) return undefined;
  const e: ExtendedError = { errno: data.readUInt32LE(0), origin: data[4]!, type: data[5]!, code: data[6]!, info: data.readUInt32LE(8) };
  const sa = data.subarray(16);
  if (sa.length >= 8 && sa.readUInt16LE(0) === 2) e.offender = formatAddress(sa.subarray(4, 8));
  else if (sa.length >= 24 && sa.readUInt16LE(0) === 10) e.offender = formatAddress(sa.subarray(8, 24));
  return e;
}

/** Errnos the kernel puts on the error queue itself (origin LOCAL), in words. */
const LOCAL_ERRNO: Record<number, string> = { 90: 'message too long', 113: 'host unreachable', 101: 'network unreachable', 111: 'connection refused' };

/** The reason an error-queue entry gives: the ICMP error by name, or the kernel's own error. */
export function extendedErrorReason(e: ExtendedError): string {
  if (e.origin === SO_EE_ORIGIN_ICMP || e.origin === SO_EE_ORIGIN_ICMP6) {
    const family = e.origin === SO_EE_ORIGIN_ICMP ? 4 : 6;
    return icmpErrorReason(family, e.type, e.code, e.info) ?? `ICMP${family === 6 ? 'v6' : ''} type ${e.type} code ${e.code}`;
  }
  const name = LOCAL_ERRNO[e.errno] ?? `error errno ${e.errno}`;
  return e.errno === 90 && e.info ? `${name} (got mtu ${e.info})` : name;
}
