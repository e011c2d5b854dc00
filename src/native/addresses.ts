// IP addresses between text and network-order bytes (no dependency on the addon).
import { isIPv4, isIPv6 } from 'node:net';

/** Parses an IPv4/IPv6 text address to its 4 or 16 network-order bytes. */
export function addressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  const text = address.replace(/%.*$/, ''); // a zone (fe80::1%eth0) is not part of the address
  if (!isIPv6(text)) throw new TypeError(`not an IP address: ${address}`);
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:192.0.2.1) stands for the last two words.
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  const s = m ? `${m[1]}0:0` : text;
  const halves = s.split('::');
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const words = halves.length > 1 ? [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  words.forEach((w, i) => out.writeUInt16BE(parseInt(w, 16), i * 2));
  if (m) Buffer.from(m[2]!.split('.').map(Number)).copy(out, 12);
  return out;
}

/** Formats 4 or 16 network-order bytes as text (IPv6 in RFC 5952 compressed form). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new TypeError(`address of ${bytes.length} bytes`);
  // ::ffff:a.b.c.d (IPv4-mapped) prints with its IPv4 tail, as inet_ntop and iproute2 do.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §4.2: compress the longest run (>= 2) of zero words, the first one on ties.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i; while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

