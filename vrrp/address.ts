// IP addresses as the VRRP wire format carries them: 4 or 16 bytes in network order.
// Parsing and printing live here so the codec and the state machine agree on one canonical text
// form (dotted quad; RFC 5952 for IPv6) and on byte-wise ordering (RFC 5798 §6.4.3 tie-break).

import { isIPv4, isIPv6 } from 'node:net';
import { addressBytes, formatAddress } from '../src/native/addresses.js';

// Text <-> bytes is the project's one implementation (RFC 5952 output); VRRP adds the family check.
export { formatAddress };

export type Family = 'ipv4' | 'ipv6';

export const addressLength = (family: Family): 4 | 16 => (family === 'ipv4' ? 4 : 16);

/** Bytes of `text` when it is an address of `family` (a zone such as %eth0 is dropped); null otherwise. */
export function parseAddress(family: Family, text: string): Uint8Array | null {
  const ok = family === 'ipv4' ? isIPv4(text) : isIPv6(text.replace(/%.*$/, ''));
  return ok ? addressBytes(text) : null;
}

/** Unsigned big-endian comparison, as RFC 5798 §6.4.3 orders primary addresses: <0, 0, >0. */
export function compareAddresses(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

export function isMulticast(bytes: Uint8Array): boolean {
  return bytes.length === 4 ? (bytes[0]! & 0xf0) === 0xe0 : bytes[0] === 0xff;
}

export function isIpv6LinkLocal(bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80;
}

/** The VRRP multicast groups (RFC 5798 §5.1.1.2 and §5.1.2.2). */
export const VRRP_MULTICAST_IPV4 = '224.0.0.18';
export const VRRP_MULTICAST_IPV6 = 'ff02::12';
