// DNS messages for the DNS check, RFC 1035 §4: a query in, a response's bytes out to values and a
// verdict. Pure (bytes in, values out); the sockets and the deadline are in dns.ts.
//
// Written here rather than taken from npm: the check needs one question out and a header, the question
// and A/AAAA records back (about 200 lines); a resolver library brings far more surface (EDNS, DNSSEC,
// every record type) than a health check reads, and the bounds below are easier to state for our own code.
//
// Bounds: a message is at most 65,535 bytes (TCP's length prefix; 512 over UDP, checked by the caller);
// a name is at most 255 bytes on the wire (§2.3.4); a compression pointer (§4.1.4) must point before the
// labels that led to it, so every jump goes strictly backwards and a pointer loop is impossible. Each
// name is read in O(255 + its pointer hops), the whole parse in time linear in the message.
import { formatAddress } from '../src/native/addresses.js';

/** Record types by mnemonic (RFC 1035 §3.2.2, RFC 3596 AAAA, RFC 2782 SRV, RFC 3403 NAPTR, RFC 4034, RFC 8659 CAA). */
export const DNS_TYPES = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, NAPTR: 35, DS: 43, DNSKEY: 48, CAA: 257,
} as const;
export type DnsTypeName = keyof typeof DNS_TYPES;
export const DNS_TYPE_NAMES = Object.keys(DNS_TYPES) as DnsTypeName[];

/** RCODEs 0-10 by name (RFC 1035 §4.1.1; 6-10 from RFC 2136). The header has 4 bits; 11-15 are unassigned. */
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'] as const;
export type RcodeName = (typeof RCODES)[number];
export const rcodeName = (n: number): string => RCODES[n] ?? String(n);

const CLASS_IN = 1;
export const HEADER_BYTES = 12;
/** RFC 1035 §4.2.1: a UDP message without EDNS (RFC 6891, not sent by this check) carries at most 512 bytes. */
export const UDP_MAX_BYTES = 512;
const MAX_NAME_BYTES = 255;

export interface DnsQuery {
  /** 16-bit message ID. */
  id: number;
  /** Dotted name; "." is the root, a trailing dot is optional. */
  name: string;
  type: number;
  recursionDesired: boolean;
}

/**
 * A name's wire form (§3.1: length-prefixed labels, a zero byte at the end), or a reason it has none.
 * Labels are 1-63 bytes of printable ASCII; the whole at most 255 bytes.
 */
export function encodeName(name: string): Buffer | string {
  if (name === '.' || name === '') return Buffer.from([0]);
  const labels = (name.endsWith('.') ? name.slice(0, -1) : name).split('.');
  const out = Buffer.alloc(name.length + 2);
  let p = 0;
  for (const l of labels) {
    if (l.length === 0) return 'empty label';
    if (l.length > 63) return `label longer than 63 bytes (${l.length})`;
    if (!/^[\x21-\x7e]+$/.test(l)) return 'labels are printable ASCII';
    out[p++] = l.length;
    p += out.write(l, p, 'latin1');
  }
  out[p++] = 0;
  if (p > MAX_NAME_BYTES) return `name longer than ${MAX_NAME_BYTES} bytes on the wire (${p})`;
  return out.subarray(0, p);
}

/** The query: header (§4.1.1: one question, RD as asked, everything else 0) and the question (§4.1.2), class IN. */
export function encodeQuery(q: DnsQuery): Buffer {
  const name = encodeName(q.name);
  if (typeof name === 'string') throw new TypeError(`cannot encode ${JSON.stringify(q.name)}: ${name}`);
  const buf = Buffer.alloc(HEADER_BYTES + name.length + 4);
  buf.writeUInt16BE(q.id & 0xffff, 0);
  buf.writeUInt16BE(q.recursionDesired ? 0x0100 : 0, 2);
  buf.writeUInt16BE(1, 4); // QDCOUNT; AN/NS/AR counts stay 0
  name.copy(buf, HEADER_BYTES);
  buf.writeUInt16BE(q.type, HEADER_BYTES + name.length);
  buf.writeUInt16BE(CLASS_IN, HEADER_BYTES + name.length + 2);
  return buf;
}

export interface DnsHeader {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** A and AAAA records (class IN): the address as text (IPv6 in RFC 5952 form). */
  address?: string;
}

export interface DnsMessage {
  header: DnsHeader;
  question?: { name: string; type: number; class: number };
  /** The answer section; the authority and additional sections are not read. */
  answers: DnsRecord[];
}

/** The fixed header, or undefined when the bytes are shorter than one. */
export function parseHeader(b: Uint8Array): DnsHeader | undefined {
  if (b.length < HEADER_BYTES) return undefined;
  const u16 = (o: number) => (b[o]! << 8) | b[o + 1]!;
  const flags = u16(2);
  return {
    id: u16(0), qr: (flags & 0x8000) !== 0, opcode: (flags >> 11) & 0xf, aa: (flags & 0x0400) !== 0, tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0, ra: (flags & 0x0080) !== 0, rcode: flags & 0xf,
    qdcount: u16(4), ancount: u16(6), nscount: u16(8), arcount: u16(10),
  };
}

/** A label as text: printable ASCII as it is (lowercase kept), '.', '\' and other bytes as \DDD (RFC 4343 §2.1's presentation). */
function labelText(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    s += c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
  }
  return s;
}

export type ReadName = { ok: true; name: string; end: number } | { ok: false; reason: string };

/**
 * The name at `off` as dotted text ("." for the root) and the offset after it in the message (after its
 * first pointer, if any). §4.1.4: a pointer (top two bits 11) gives an offset from the message's start; it
 * must point before the labels that led to it, so no pointer can be followed twice.
 */
export function readName(b: Uint8Array, off: number): ReadName {
  let pos = off, end = -1, wire = 0, lowest = off;
  const labels: string[] = [];
  for (;;) {
    if (pos >= b.length) return { ok: false, reason: 'a name runs past the end' };
    const len = b[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= b.length) return { ok: false, reason: 'a name runs past the end' };
      const target = ((len & 0x3f) << 8) | b[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (target >= lowest) return { ok: false, reason: 'compression pointer does not point backwards (a loop)' };
      lowest = pos = target;
      continue;
    }
    // 01 and 10: extended label types (RFC 6891 §5 deprecated them); nothing sends them.
    if (kind !== 0) return { ok: false, reason: `unknown label type 0x${kind.toString(16)}` };
    wire += len + 1;
    if (wire + 1 > MAX_NAME_BYTES) return { ok: false, reason: `a name longer than ${MAX_NAME_BYTES} bytes` };
    if (pos + 1 + len > b.length) return { ok: false, reason: 'a name runs past the end' };
    labels.push(labelText(b, pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { ok: true, name: labels.length ? labels.join('.') : '.', end };
}

export type ParsedMessage = { ok: true; message: DnsMessage } | { ok: false; reason: string };

/** Header, question and answer section of a response; a malformed message gives a reason, never a throw. */
export function parseMessage(b: Uint8Array): ParsedMessage {
  const header = parseHeader(b);
  if (!header) return { ok: false, reason: `reply shorter than a DNS header (got ${b.length} bytes)` };
  const bad = (what: string): ParsedMessage => ({ ok: false, reason: `malformed reply: ${what}` });
  const u16 = (o: number) => (b[o]! << 8) | b[o + 1]!;
  let pos = HEADER_BYTES;
  let question: DnsMessage['question'];
  for (let i = 0; i < header.qdcount; i++) {
    const n = readName(b, pos);
    if (!n.ok) return bad(n.reason);
    if (n.end + 4 > b.length) return bad('the question runs past the end');
    if (i === 0) question = { name: n.name, type: u16(n.end), class: u16(n.end + 2) };
    pos = n.end + 4;
  }
  const answers: DnsRecord[] = [];
  for (let i = 0; i < header.ancount; i++) {
    const n = readName(b, pos);
    if (!n.ok) return bad(n.reason);
    if (n.end + 10 > b.length) return bad('a record runs past the end');
    const type = u16(n.end), cls = u16(n.end + 2), rdlength = u16(n.end + 8);
    const ttl = ((b[n.end + 4]! << 24) | (b[n.end + 5]! << 16) | (b[n.end + 6]! << 8) | b[n.end + 7]!) >>> 0;
    const rdata = n.end + 10;
    if (rdata + rdlength > b.length) return bad('a record runs past the end');
    const rec: DnsRecord = { name: n.name, type, class: cls, ttl };
    if (cls === CLASS_IN && ((type === DNS_TYPES.A && rdlength === 4) || (type === DNS_TYPES.AAAA && rdlength === 16))) {
      rec.address = formatAddress(b.subarray(rdata, rdata + rdlength));
    } else if (cls === CLASS_IN && (type === DNS_TYPES.A || type === DNS_TYPES.AAAA)) {
      return bad(`${type === DNS_TYPES.A ? 'an A' : 'an AAAA'} record of the wrong length (got ${rdlength} bytes)`);
    }
    answers.push(rec);
    pos = rdata + rdlength;
  }
  return { ok: true, message: { header, ...(question ? { question } : {}), answers } };
}

/** What a response must show: its RCODE one of these, and every one of these addresses among its A/AAAA answers. */
export interface DnsExpect {
  rcodes: readonly number[];
  /** Addresses as parseIp gives them (IPv6 in RFC 5952 form, as formatAddress prints the answers). */
  answers: readonly string[];
}

/** Case-insensitive name comparison (RFC 4343 §3: ASCII letters only), trailing dot ignored. */
export function sameName(a: string, b: string): boolean {
  const norm = (s: string) => (s.length > 1 && s.endsWith('.') ? s.slice(0, -1) : s === '' ? '.' : s).replace(/[A-Z]/g, (c) => c.toLowerCase());
  return norm(a) === norm(b);
}

/**
 * The verdict on a parsed response to `q` (its ID and QR already matched): undefined when it passes, else
 * the reason. The question must be echoed (§4.1.2; servers that refuse a malformed query may send none,
 * then the RCODE speaks); then the RCODE; then the expected addresses.
 */
export function judgeResponse(q: DnsQuery, m: DnsMessage, expect: DnsExpect): string | undefined {
  const h = m.header;
  if (h.opcode !== 0) return `opcode ${h.opcode} in the reply`;
  const qq = m.question;
  if (qq && (qq.type !== q.type || qq.class !== CLASS_IN || !sameName(qq.name, q.name))) return 'reply for another question';
  if (!qq && h.rcode === 0) return 'reply without the question';
  if (!expect.rcodes.includes(h.rcode)) return `RCODE ${rcodeName(h.rcode)}`;
  if (expect.answers.length) {
    const got = new Set<string>();
    for (const a of m.answers) if (a.address !== undefined) got.add(a.address);
    const missing = expect.answers.filter((a) => !got.has(a));
    if (missing.length) return `answer ${missing[0]} missing${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`;
  }
  return undefined;
}
