// IP addresses, prefixes and endpoints as written in lvsd.yaml. Literal addresses only: the
// configuration is checked before the network is touched, so host names (which need DNS) are refused.
// Addresses come out canonical (IPv6 compressed, lower case) so duplicates can be compared as strings.
import { isIPv4, isIPv6 } from 'node:net';
import type { ParseResult } from './duration.js';
import { addressBytes, formatAddress } from '../native/addresses.js';
import { quoteValue } from '../text/quote.js';

export type Family = 4 | 6;
export interface IpAddress { readonly address: string; readonly family: Family }
export interface IpPrefix extends IpAddress { readonly prefix: number }
export interface Endpoint extends IpAddress { readonly port: number }
/** An endpoint whose port may be left out (`port` undefined): real servers of fwmark services, check sources. */
export interface MaybeEndpoint extends IpAddress { readonly port?: number }

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

export function parseIp(input: unknown): ParseResult<IpAddress> {
  if (typeof input !== 'string') return fail('expected an IP address as a string');
  const s = input.trim();
  if (/^\d+(\.\d+){3}$/.test(s) && s.split('.').some((o) => o.length > 1 && o.startsWith('0'))) {
    return fail(`${quoteValue(s)} has a leading zero in an octet (ambiguous: octal or decimal?)`);
  }
  if (isIPv4(s)) return { ok: true, value: { address: s, family: 4 } };
  if (s.includes('%')) return fail(`${quoteValue(s)}: zone indexes are not accepted; name the interface with its own key`);
  if (isIPv6(s)) {
    // The project's one canonical text (as the kernel's addresses are printed), so config and kernel agree.
    const canonical = formatAddress(addressBytes(s));
    return { ok: true, value: { address: canonical, family: 6 } };
  }
  if (/^\[.*\]$/.test(s)) return fail(`${quoteValue(s)}: brackets are only for an IPv6 address followed by a port`);
  if (/^[a-z0-9.-]+$/i.test(s) && /[a-z]/i.test(s)) return fail(`${quoteValue(s)} is a host name; write an IP address (lvsd does not resolve names)`);
  return fail(`${quoteValue(s)} is not an IPv4 or IPv6 address`);
}

/** `192.0.2.10/24`, `2001:db8::10/64`; without `/N` the address is a host route (/32 or /128), as in keepalived. */
export function parsePrefix(input: unknown): ParseResult<IpPrefix> {
  if (typeof input !== 'string') return fail('expected an address such as 192.0.2.10/24');
  const s = input.trim();
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip.ok) return ip;
  const max = ip.value.family === 4 ? 32 : 128;
  if (slash < 0) return { ok: true, value: { ...ip.value, prefix: max } };
  const p = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p) || Number(p) > max) return fail(`${quoteValue(s)}: the prefix length must be 0-${max}`);
  return { ok: true, value: { ...ip.value, prefix: Number(p) } };
}

function parsePort(p: string, whole: string, allowZero: boolean): ParseResult<number> {
  if (!/^\d{1,5}$/.test(p)) return fail(`${quoteValue(whole)}: the port must be a number`);
  const n = Number(p);
  if (n > 65535 || (n === 0 && !allowZero)) return fail(`${quoteValue(whole)}: the port must be ${allowZero ? 0 : 1}-65535`);
  return { ok: true, value: n };
}

/**
 * `192.0.2.10:80` or `[2001:db8::1]:443`. With `portOptional`, also `10.0.1.1`, `2001:db8::1` and `[2001:db8::1]`.
 * `allowZeroPort` admits port 0 (IPVS's "all ports" for persistent services).
 */
export function parseEndpoint(input: unknown, opts: { portOptional?: boolean; allowZeroPort?: boolean } = {}): ParseResult<MaybeEndpoint> {
  if (typeof input !== 'string') return fail(opts.portOptional ? 'expected an address, optionally with a port (10.0.1.1:80)' : 'expected address:port such as 192.0.2.10:80 or [2001:db8::1]:443');
  const s = input.trim();
  const allowZero = opts.allowZeroPort ?? false;
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(s);
  if (bracket) {
    const ip = parseIp(bracket[1]);
    if (!ip.ok) return ip;
    if (ip.value.family !== 6) return fail(`${quoteValue(s)}: brackets are only for IPv6 addresses`);
    if (bracket[2] === undefined) {
      return opts.portOptional ? { ok: true, value: ip.value } : fail(`${quoteValue(s)} needs a port: [${ip.value.address}]:PORT`);
    }
    const port = parsePort(bracket[2], s, allowZero);
    return port.ok ? { ok: true, value: { ...ip.value, port: port.value } } : port;
  }
  // One colon: address:port; more: IPv6 (counted without building a list of every colon).
  const i = s.indexOf(':');
  if (i >= 0 && s.indexOf(':', i + 1) < 0) {
    const ip = parseIp(s.slice(0, i));
    if (!ip.ok) return ip;
    const port = parsePort(s.slice(i + 1), s, allowZero);
    return port.ok ? { ok: true, value: { ...ip.value, port: port.value } } : port;
  }
  const ip = parseIp(s);
  if (!ip.ok) return ip;
  if (opts.portOptional) return { ok: true, value: ip.value };
  return fail(ip.value.family === 6 ? `${quoteValue(s)} reads as an IPv6 address without a port; write IPv6 with a port as [ADDRESS]:PORT, e.g. [2001:db8::1]:443` : `${quoteValue(s)} needs a port: ${s}:PORT`);
}

/** parseEndpoint() when the port is required, typed accordingly. */
export function parseRequiredEndpoint(input: unknown, allowZeroPort = false): ParseResult<Endpoint> {
  const r = parseEndpoint(input, { allowZeroPort });
  if (!r.ok) return r;
  const { port } = r.value;
  return port === undefined ? fail('expected address:port') : { ok: true, value: { ...r.value, port } };
}

/** Dotted IPv4 netmask to a prefix length, refusing non-contiguous masks (IPVS masks the client address with it). */
export function netmaskToPrefix(mask: string): ParseResult<number> {
  const ip = parseIp(mask);
  if (!ip.ok || ip.value.family !== 4) return fail(`${quoteValue(mask)} is not a dotted IPv4 netmask`);
  const bits = ip.value.address.split('.').reduce((acc, o) => (acc << 8) | Number(o), 0) >>> 0;
  const inverted = ~bits >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return fail(`${quoteValue(mask)} is not a contiguous netmask`);
  return { ok: true, value: 32 - Math.log2(inverted + 1) };
}

/** Linux's dev_valid_name(): 1-15 bytes, not `.` or `..`, no `/`, `:` or white space. */
export function checkInterfaceName(name: string): string | undefined {
  if (name.length === 0) return 'an interface name cannot be empty';
  if (Buffer.byteLength(name) > 15) return `${quoteValue(name)} is longer than 15 bytes (IFNAMSIZ)`;
  if (name === '.' || name === '..') return `${quoteValue(name)} is not a valid interface name`;
  if (/[/:\s]/.test(name)) return `${quoteValue(name)}: interface names cannot contain '/', ':' or white space`;
  return undefined;
}
