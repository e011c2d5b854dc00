// Address ranges of a virtual service group (keepalived virtual_server_group): one IPVS service per
// address. Written as keepalived writes them, with the port lvsd's way:
//   192.0.2.10:80             one address
//   192.0.2.10-20:80          the last byte runs 10..20 (keepalived: XXX.YYY.ZZZ.WWW-VVV)
//   192.0.2.250-192.0.3.5:80  a full range
//   [2001:db8::10-1f]:443     IPv6: the last 16-bit group runs 0x10..0x1f; or a full IPv6 range
// Both ends are included. A range is expanded here, bounded by MAX_GROUP_ADDRESSES.
import type { ParseResult } from './duration.js';
import { parseIp, type Family } from './address.js';
import { addressBytes, formatAddress } from '../native/addresses.js';
import { quoteValue } from '../text/quote.js';

/** Addresses one group may expand to: each is an IPVS service, so a typo of a range must not create a million. */
export const MAX_GROUP_ADDRESSES = 1024;

export interface AddressRange {
  readonly family: Family;
  /** Every address of the range, canonical, in order. */
  readonly addresses: readonly string[];
  readonly port: number;
}

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

const toBig = (b: Buffer): bigint => b.reduce((n, x) => (n << 8n) | BigInt(x), 0n);
function fromBig(n: bigint, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = len - 1; i >= 0; i--) { out[i] = Number(n & 0xffn); n >>= 8n; }
  return out;
}

/** `ADDRESS[-END]:PORT` (IPv6 in brackets). Port 0 only when `allowZeroPort` (persistent all-ports services). */
export function parseAddressRange(input: unknown, allowZeroPort = true): ParseResult<AddressRange> {
  if (typeof input !== 'string') return fail('expected an address range with a port, such as 192.0.2.10-20:80 or [2001:db8::10-1f]:443');
  const s = input.trim();
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s);
  if (!m) return fail(`${quoteValue(s)}: write ADDRESS:PORT or FIRST-LAST:PORT (IPv6 in brackets: [2001:db8::10-1f]:443)`);
  const port = Number(m[2]);
  if (port > 65535 || (port === 0 && !allowZeroPort)) return fail(`${quoteValue(s)}: the port must be ${allowZeroPort ? 0 : 1}-65535`);
  const body = m[1]!;
  const dash = body.indexOf('-');
  const first = parseIp(dash < 0 ? body : body.slice(0, dash));
  if (!first.ok) return fail(`${quoteValue(s)}: ${first.message}`);
  if (dash < 0) return { ok: true, value: { family: first.value.family, addresses: [first.value.address], port } };
  const endText = body.slice(dash + 1);
  const startBytes = addressBytes(first.value.address);
  let endBytes: Buffer;
  if (first.value.family === 4 ? /^\d{1,3}$/.test(endText) : /^[0-9a-fA-F]{1,4}$/.test(endText)) {
    // The last byte (IPv4) or the last 16-bit group (IPv6), as keepalived reads XXX.YYY.ZZZ.WWW-VVV.
    const v = first.value.family === 4 ? Number(endText) : parseInt(endText, 16);
    if (first.value.family === 4 && v > 255) return fail(`${quoteValue(s)}: ${endText} is not a byte (0-255)`);
    endBytes = Buffer.from(startBytes);
    if (first.value.family === 4) endBytes[3] = v; else endBytes.writeUInt16BE(v, 14);
  } else {
    const end = parseIp(endText);
    if (!end.ok) return fail(`${quoteValue(s)}: the end of the range: ${end.message}`);
    if (end.value.family !== first.value.family) return fail(`${quoteValue(s)}: both ends of a range must be IPv${first.value.family}`);
    endBytes = addressBytes(end.value.address);
  }
  const a = toBig(startBytes), b = toBig(endBytes);
  if (b < a) return fail(`${quoteValue(s)}: the range ends before it starts`);
  const count = b - a + 1n;
  if (count > BigInt(MAX_GROUP_ADDRESSES)) return fail(`${quoteValue(s)}: ${count} addresses, more than the ${MAX_GROUP_ADDRESSES} a group may hold (each is an IPVS service)`);
  const addresses: string[] = [];
  for (let n = a; n <= b; n++) addresses.push(formatAddress(fromBig(n, startBytes.length)));
  return { ok: true, value: { family: first.value.family, addresses, port } };
}

/** How an address range is written back (for messages and the importer): the inverse of parseAddressRange. */
export function formatAddressRange(r: AddressRange): string {
  const host = (a: string) => (r.family === 6 ? `[${a}]` : a);
  if (r.addresses.length === 1) return `${host(r.addresses[0]!)}:${r.port}`;
  const inner = `${r.addresses[0]!}-${r.addresses[r.addresses.length - 1]!}`;
  return `${r.family === 6 ? `[${inner}]` : inner}:${r.port}`;
}

/** The first and last address of a prefix (keepalived's group entry 192.168.202.8/29), network and broadcast included. */
export function prefixBounds(address: string, prefix: number): [string, string] {
  const bytes = addressBytes(address);
  const bits = BigInt(bytes.length * 8);
  const host = (1n << (bits - BigInt(prefix))) - 1n;
  const n = toBig(bytes);
  return [formatAddress(fromBig(n & ~host, bytes.length)), formatAddress(fromBig(n | host, bytes.length))];
}
