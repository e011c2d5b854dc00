// The Internet checksum (RFC 1071) and the pseudo-headers VRRPv3 folds into it.
// VRRPv2 checksums the VRRP message alone (RFC 3768 §5.3.8); VRRPv3 prepends the IPv4 or IPv6
// pseudo-header (RFC 5798 §5.2.8, which points at RFC 2460 §8.1 for IPv6) over both families.
import { IPPROTO_VRRP } from './constants.js';

/** One's-complement sum of 16-bit big-endian words, not yet folded or inverted. */
export function onesComplementSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length & 1) sum += bytes[bytes.length - 1]! << 8;
  // Fold early enough that the sum never leaves the range doubles hold exactly.
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** RFC 1071 checksum of bytes (the checksum field itself must be zero, or use verify). */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  return finishChecksum(onesComplementSum(bytes, initial));
}

/**
 * The pseudo-header bytes for an upper-layer packet of `length` bytes:
 * IPv4 (RFC 768 layout): src(4) dst(4) zero(1) protocol(1) length(2);
 * IPv6 (RFC 2460 §8.1): src(16) dst(16) length(4) zero(3) next header(1).
 */
export function pseudoHeader(src: Uint8Array, dst: Uint8Array, length: number, protocol = IPPROTO_VRRP): Uint8Array {
  if (src.length !== dst.length || (src.length !== 4 && src.length !== 16)) {
    throw new RangeError('pseudo-header needs two IPv4 or two IPv6 addresses');
  }
  if (src.length === 4) {
    const ph = new Uint8Array(12);
    ph.set(src, 0);
    ph.set(dst, 4);
    ph[9] = protocol;
    ph[10] = (length >> 8) & 0xff;
    ph[11] = length & 0xff;
    return ph;
  }
  const ph = new Uint8Array(40);
  ph.set(src, 0);
  ph.set(dst, 16);
  new DataView(ph.buffer).setUint32(32, length);
  ph[39] = protocol;
  return ph;
}

/**
 * Checksum of `message` with the pseudo-header of src/dst in front: what to put in a zeroed checksum
 * field, or 0 when checking a message that carries a right one.
 */
export function pseudoHeaderChecksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array, protocol = IPPROTO_VRRP): number {
  return internetChecksum(message, onesComplementSum(pseudoHeader(src, dst, message.length, protocol)));
}
