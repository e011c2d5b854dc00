// IPVS carries every address in a 16-byte union nf_inet_addr, even IPv4 ones (the first 4 bytes);
// ipvsadm sends all 16 and the kernel dumps all 16, so we do the same.
import { addressBytes, formatAddress } from '../src/native/addresses.js';
import { AF_INET, AF_INET6 } from './constants.js';

export function inetAddrBytes(address: string): Buffer {
  const b = addressBytes(address);
  if (b.length === 16) return b;
  const out = Buffer.alloc(16);
  b.copy(out, 0);
  return out;
}

/** The text form of a 16-byte (or exact-size) address of family af. */
export function formatInetAddr(bytes: Buffer, af: number): string {
  if (af === AF_INET) return formatAddress(bytes.subarray(0, 4));
  if (af === AF_INET6 && bytes.length === 16) return formatAddress(bytes);
  throw new TypeError(`address of ${bytes.length} bytes for family ${af}`);
}

export function familyOf(address: string): number {
  return addressBytes(address).length === 4 ? AF_INET : AF_INET6;
}

/** "addr:port", with an IPv6 address in brackets ("[2001:db8::1]:80"), as ipvsadm prints them. */
export const hostPort = (addr: string, port: number): string => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);
