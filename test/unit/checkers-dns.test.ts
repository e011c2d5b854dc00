// The DNS check's codec against bytes from outside: queries sent by Knot DNS's kdig 3.2.6 and the replies
// of Knot DNS 3.2.6 (knotd, zone below), captured on lo with `tcpdump -xx` and cut to the DNS payload.
// Then hostile and broken replies (a pointer loop, truncated input, bad labels), the config's fields, and
// the probe against real sockets on this machine (ICMP port unreachable, silence, a TCP server).
//
// The zone served (example.test.):
//   @ SOA ns1 hostmaster 2026120301 3600 600 86400 300;  @ NS ns1;  ns1 A 10.0.1.11
//   www A 192.0.2.1;  www A 192.0.2.2;  www AAAA 2001:db8::1;  alias CNAME www;  @ MX 10 mail;  mail A 192.0.2.25
//   big TXT three strings of 255 characters (a reply of more than 512 bytes: TC over UDP)
// and zone fail.test. configured without its file: knotd answers SERVFAIL for it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import {
  DNS_TYPES, encodeName, encodeQuery, judgeResponse, parseHeader, parseMessage, readName, type DnsExpect, type DnsQuery,
} from '../../checkers/dns-message.js';
import { probeDns, type DnsProbeOptions } from '../../checkers/dns.js';
import { parseConfig } from '../../src/config/index.js';
import type { CheckConfig } from '../../src/config/model.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// kdig +noedns +norec www.example.test A (id 37372) and the reply: 2 A records, answer names compressed (c00c).
const Q_WWW_A = hex('91fc0020000100000000000003777777076578616d706c6504746573740000010001');
const R_WWW_A = hex('91fc8400000100020000000003777777076578616d706c6504746573740000010001c00c000100010000012c0004c0000201c00c000100010000012c0004c0000202');
// alias.example.test A: a CNAME whose target www.example.test is written as "www" + pointer c012 (to example.test).
const R_ALIAS_A = hex('ebb98400000100030000000005616c696173076578616d706c6504746573740000010001c00c000500010000012c000603777777c012c030000100010000012c0004c0000201c030000100010000012c0004c0000202');
// nope.example.test A: NXDOMAIN with the SOA in the authority section.
const R_NXDOMAIN = hex('bfce84030001000000010000046e6f7065076578616d706c6504746573740000010001c011000600010000012c0027036e7331c0110a686f73746d6173746572c01178c4246d00000e1000000258000151800000012c');
// www.fail.test A: SERVFAIL (the zone did not load).
const R_SERVFAIL = hex('f9a18002000100000000000003777777046661696c04746573740000010001');
// www.example.test AAAA.
const R_WWW_AAAA = hex('dc2e8400000100010000000003777777076578616d706c65047465737400001c0001c00c001c00010000012c001020010db8000000000000000000000001');
// example.test MX, with mail.example.test A in the additional section.
const R_MX = hex('e31e84000001000100000001076578616d706c65047465737400000f0001c00c000f00010000012c0009000a046d61696cc00cc02c000100010000012c0004c0000219');
// big.example.test TXT over UDP without EDNS: TC set, no records.
const R_TXT_TC = hex('e9d08600000100000000000003626967076578616d706c6504746573740000100001');
// kdig +tcp www.example.test A (RD set): the query as framed on TCP, length prefix 0x0022.
const Q_TCP_FRAMED = hex('002256000120000100000000000003777777076578616d706c6504746573740000010001');

const q = (name: string, type: number, id: number, recursionDesired = false): DnsQuery => ({ id, name, type, recursionDesired });
const NOERROR: DnsExpect = { rcodes: [0], answers: [] };
function judge(reply: Buffer, query: DnsQuery, expect: DnsExpect = NOERROR): string | undefined {
  const p = parseMessage(reply);
  assert.ok(p.ok, p.ok ? '' : p.reason);
  return judgeResponse(query, p.message, expect);
}

describe('DNS query encoding (RFC 1035 §4.1) against kdig', () => {
  test('the same bytes kdig sends, but for the AD bit kdig sets (0x0020, RFC 6840 §5.7) and lvsd does not', () => {
    const mine = encodeQuery(q('www.example.test', DNS_TYPES.A, 37372));
    const theirs = Buffer.from(Q_WWW_A);
    theirs[3]! &= ~0x20;
    assert.deepEqual(mine, theirs);
    const tcp = Buffer.from(Q_TCP_FRAMED.subarray(2));
    tcp[3]! &= ~0x20;
    assert.equal(Q_TCP_FRAMED.readUInt16BE(0), tcp.length);
    assert.deepEqual(encodeQuery(q('www.example.test.', DNS_TYPES.A, 0x5600, true)), tcp, 'RD set; a trailing dot changes nothing');
  });
  test('the root (keepalived\'s default name) is one zero byte; bad names are refused', () => {
    assert.deepEqual(encodeQuery(q('.', DNS_TYPES.SOA, 1, true)), hex('0001 0100 0001 0000 0000 0000 00 0006 0001'));
    assert.equal(encodeName('a..b'), 'empty label');
    assert.match(encodeName(`${'a'.repeat(64)}.test`) as string, /longer than 63/);
    assert.match(encodeName(Array(130).fill('a').join('.')) as string, /longer than 255/);
    assert.equal(encodeName('a b.test'), 'labels are printable ASCII');
    assert.throws(() => encodeQuery(q('a..b', 1, 1)), /empty label/);
  });
});

describe('DNS replies captured from knotd', () => {
  test('A: header flags, the question, two addresses behind compressed names', () => {
    const p = parseMessage(R_WWW_A);
    assert.ok(p.ok);
    const m = p.message;
    assert.deepEqual({ id: m.header.id, qr: m.header.qr, aa: m.header.aa, tc: m.header.tc, rd: m.header.rd, rcode: m.header.rcode }, { id: 37372, qr: true, aa: true, tc: false, rd: false, rcode: 0 });
    assert.deepEqual(m.question, { name: 'www.example.test', type: 1, class: 1 });
    assert.deepEqual(m.answers.map((a) => [a.name, a.type, a.ttl, a.address]), [['www.example.test', 1, 300, '192.0.2.1'], ['www.example.test', 1, 300, '192.0.2.2']]);
    const query = q('www.example.test', DNS_TYPES.A, 37372);
    assert.equal(judge(R_WWW_A, query), undefined);
    assert.equal(judge(R_WWW_A, query, { rcodes: [0], answers: ['192.0.2.2', '192.0.2.1'] }), undefined);
    assert.equal(judge(R_WWW_A, query, { rcodes: [0], answers: ['192.0.2.1', '192.0.2.3'] }), 'answer 192.0.2.3 missing');
    assert.equal(judge(R_WWW_A, query, { rcodes: [0], answers: ['192.0.2.3', '192.0.2.4'] }), 'answer 192.0.2.3 missing (and 1 more)');
  });
  test('CNAME chain: the A records of the target count; a pointer into the middle of a name (c012)', () => {
    const p = parseMessage(R_ALIAS_A);
    assert.ok(p.ok);
    assert.deepEqual(p.message.answers.map((a) => [a.name, a.type, a.address]), [['alias.example.test', 5, undefined], ['www.example.test', 1, '192.0.2.1'], ['www.example.test', 1, '192.0.2.2']]);
    assert.deepEqual(readName(R_ALIAS_A, 48), { ok: true, name: 'www.example.test', end: 54 }, 'the CNAME\'s rdata: "www" then a pointer');
    assert.equal(judge(R_ALIAS_A, q('alias.example.test', 1, 60345), { rcodes: [0], answers: ['192.0.2.1'] }), undefined);
  });
  test('NXDOMAIN and SERVFAIL by name; accepted when listed', () => {
    assert.equal(judge(R_NXDOMAIN, q('nope.example.test', 1, 49102)), 'RCODE NXDOMAIN');
    assert.equal(judge(R_NXDOMAIN, q('nope.example.test', 1, 49102), { rcodes: [0, 3], answers: [] }), undefined);
    assert.equal(judge(R_SERVFAIL, q('www.fail.test', 1, 63905)), 'RCODE SERVFAIL');
    assert.equal(parseHeader(R_SERVFAIL)!.aa, false);
  });
  test('AAAA in RFC 5952 text; MX with an additional section left unread', () => {
    const p = parseMessage(R_WWW_AAAA);
    assert.ok(p.ok);
    assert.equal(p.message.answers[0]!.address, '2001:db8::1');
    assert.equal(judge(R_WWW_AAAA, q('www.example.test', DNS_TYPES.AAAA, 56366), { rcodes: [0], answers: ['2001:db8::1'] }), undefined);
    assert.equal(judge(R_MX, q('example.test', DNS_TYPES.MX, 58142)), undefined);
    assert.equal(judge(R_MX, q('EXAMPLE.Test.', DNS_TYPES.MX, 58142)), undefined, 'names compare case-insensitively (RFC 4343)');
  });
  test('TC over UDP is visible in the header (the probe asks again over TCP)', () => {
    assert.equal(parseHeader(R_TXT_TC)!.tc, true);
    assert.equal(judge(R_TXT_TC, q('big.example.test', DNS_TYPES.TXT, 59856)), undefined);
  });
  test('a reply for another question or type is refused', () => {
    assert.equal(judge(R_WWW_A, q('mail.example.test', 1, 37372)), 'reply for another question');
    assert.equal(judge(R_WWW_A, q('www.example.test', DNS_TYPES.AAAA, 37372)), 'reply for another question');
  });
});

describe('broken and hostile replies: a reason, never a throw', () => {
  test('every truncation of every captured reply', () => {
    // Replies whose last section is the answer (the authority and additional sections are not read).
    for (const r of [R_WWW_A, R_ALIAS_A, R_SERVFAIL, R_WWW_AAAA]) {
      for (let n = 0; n < r.length; n++) {
        const p = parseMessage(r.subarray(0, n));
        assert.equal(p.ok, false, `${n} of ${r.length} bytes parsed`);
        if (!p.ok) assert.match(p.reason, n < 12 ? /^reply shorter than a DNS header \(got \d+ bytes\)$/ : /^malformed reply: .*(past the end)/);
      }
    }
  });
  test('a pointer to itself, a pointer forwards and a two-pointer loop', () => {
    const self = Buffer.from(R_SERVFAIL);
    self.writeUInt16BE(0xc00c, 12); // the question name: a pointer to offset 12, itself
    assert.deepEqual(parseMessage(self), { ok: false, reason: 'malformed reply: compression pointer does not point backwards (a loop)' });
    // The answer's name points at the second answer's name, which points back at the first: a loop, refused at the first forward jump.
    const loop = Buffer.from(R_WWW_A);
    loop.writeUInt16BE(0xc000 | 50, 34); // first answer name (offset 34) -> offset 50 (the second answer's name)
    loop.writeUInt16BE(0xc000 | 34, 50); // second -> first
    assert.equal((parseMessage(loop) as { reason: string }).reason, 'malformed reply: compression pointer does not point backwards (a loop)');
    // A chain of backward pointers is fine, however long; it ends.
    // The root at 12, then 200 pointers, each to the one before it (the first to the root).
    const chain = Buffer.alloc(13 + 2 * 200);
    for (let i = 0; i < 200; i++) chain.writeUInt16BE(0xc000 | (i === 0 ? 12 : 13 + 2 * (i - 1)), 13 + 2 * i);
    assert.deepEqual(readName(chain, 13 + 2 * 199), { ok: true, name: '.', end: 13 + 2 * 200 });
  });
  test('names over 255 bytes and extended label types are refused', () => {
    // 5 labels of 63 bytes: 320 bytes on the wire.
    const long = Buffer.concat([Buffer.alloc(12), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])), Buffer.from([0, 0, 1, 0, 1])]);
    long.writeUInt16BE(1, 4);
    assert.deepEqual(parseMessage(long), { ok: false, reason: 'malformed reply: a name longer than 255 bytes' });
    const ext = Buffer.from(R_SERVFAIL);
    ext[12] = 0x41; // 01xxxxxx: RFC 6891 §5's deprecated extended label
    assert.deepEqual(parseMessage(ext), { ok: false, reason: 'malformed reply: unknown label type 0x40' });
  });
  test('an A record of 5 bytes; a header alone; a reply without a question but NOERROR', () => {
    const bad = Buffer.from(R_WWW_A);
    bad.writeUInt16BE(5, 44); // first answer's RDLENGTH
    assert.deepEqual(parseMessage(bad), { ok: false, reason: 'malformed reply: an A record of the wrong length (got 5 bytes)' });
    assert.deepEqual(parseMessage(Buffer.alloc(11)), { ok: false, reason: 'reply shorter than a DNS header (got 11 bytes)' });
    const bare = Buffer.from(R_WWW_A.subarray(0, 12));
    bare.writeUInt16BE(0, 4); bare.writeUInt16BE(0, 6);
    assert.equal(judge(bare, q('www.example.test', 1, 37372)), 'reply without the question');
    bare[3] = 0x01; // FORMERR without a question (as servers answer a query they cannot parse)
    assert.equal(judge(bare, q('www.example.test', 1, 37372)), 'RCODE FORMERR');
  });
  test('label bytes outside printable ASCII are shown escaped, never raw', () => {
    const b = Buffer.concat([Buffer.from([3, 0x1b, 0x2e, 0x5c, 0])]);
    assert.deepEqual(readName(b, 0), { ok: true, name: '\\027\\046\\092', end: 5 });
  });
  test('linear: a 64 KB reply of 4,000 compressed A records parses in well under 100 ms', () => {
    const rec = hex('c00c000100010000012c0004c0000201');
    const n = 4000;
    const big = Buffer.concat([R_WWW_A.subarray(0, 34), ...Array.from({ length: n }, () => rec)]);
    big.writeUInt16BE(n, 6);
    const t0 = performance.now();
    const p = parseMessage(big);
    const ms = performance.now() - t0;
    assert.ok(p.ok);
    assert.equal(p.message.answers.length, n);
    assert.ok(ms < 100, `${ms} ms`);
  });
});

describe('dns check config', () => {
  const one = (fields: string) => parseConfig(`checks:\n  - {name: d, type: dns${fields}}\nvirtual_services: []\n`, 'dns.yaml');
  test('keepalived\'s defaults: the root\'s SOA, RD set, UDP, NOERROR', () => {
    const c = one('');
    assert.ok(c.ok, c.ok ? '' : JSON.stringify(c.errors));
    const d = c.config.checks[0] as CheckConfig & { type: 'dns' };
    assert.deepEqual({ query: d.query, query_type: d.query_type, transport: d.transport, rcode: d.rcode, rd: d.recursion_desired, answers: d.answers },
      { query: '.', query_type: 'SOA', transport: 'udp', rcode: ['NOERROR'], rd: true, answers: undefined });
  });
  test('fields as written; a single rcode or a list', () => {
    const c = one(', query: www.example.test, query_type: A, transport: tcp, rcode: [NOERROR, NXDOMAIN], answers: [192.0.2.1], recursion_desired: false');
    assert.ok(c.ok, c.ok ? '' : JSON.stringify(c.errors));
    const d = c.config.checks[0] as CheckConfig & { type: 'dns' };
    assert.deepEqual([d.query, d.query_type, d.transport, d.rcode, d.answers!.map((a) => a.address), d.recursion_desired], ['www.example.test', 'A', 'tcp', ['NOERROR', 'NXDOMAIN'], ['192.0.2.1'], false]);
    const s = one(', rcode: NXDOMAIN');
    assert.ok(s.ok);
    assert.deepEqual((s.config.checks[0] as CheckConfig & { type: 'dns' }).rcode, ['NXDOMAIN']);
  });
  test('messages: bad names, unknown types and RCODEs, an IPv6 answer for an A query', () => {
    const msg = (fields: string) => { const c = one(fields); assert.ok(!c.ok); return c.errors.map((e) => e.message).join('\n'); };
    assert.match(msg(', query: "a..b"'), /empty label/);
    assert.match(msg(`, query: ${'x'.repeat(64)}.test`), /label longer than 63/);
    assert.match(msg(', query_type: AAA'), /AAA/);
    assert.match(msg(', rcode: SERVFAI'), /SERVFAI/);
    assert.match(msg(', query_type: A, answers: ["2001:db8::1"]'), /an IPv6 address is answered in AAAA records: write query_type: AAAA \(not A\)/);
    assert.match(msg(', transport: quic'), /quic/);
  });
});

describe('the probe on this machine', () => {
  const base: DnsProbeOptions = { timeout: 400, transport: 'udp', query: { name: 'www.example.test', type: 1, recursionDesired: true }, expect: { rcodes: [0], answers: ['192.0.2.1'] } };
  /** Answers every query with the captured www.example.test A reply, its ID and RD bit set to the query's. */
  const answer = (query: Buffer): Buffer => { const r = Buffer.from(R_WWW_A); query.copy(r, 0, 0, 2); r[2] = (r[2]! & ~1) | (query[2]! & 1); return r; };

  test('UDP: the answer passes; a closed port is an ICMP port unreachable at once; silence times out', async () => {
    const srv = createSocket('udp4');
    await new Promise<void>((r) => srv.bind(0, '127.0.0.1', r));
    const port = srv.address().port;
    let decoy = true;
    srv.on('message', (m, from) => {
      // First a datagram with another ID (ignored: not the response to this query), then the answer.
      if (decoy) { const d = answer(m); d.writeUInt16BE((m.readUInt16BE(0) + 1) & 0xffff, 0); srv.send(d, from.port, from.address); }
      srv.send(answer(m), from.port, from.address);
    });
    try {
      assert.deepEqual(await probeDns({ address: '127.0.0.1', family: 4, port }, base), { ok: true });
      decoy = false;
      assert.deepEqual(await probeDns({ address: '127.0.0.1', family: 4, port }, { ...base, expect: { rcodes: [0], answers: ['192.0.2.9'] } }), { ok: false, reason: 'answer 192.0.2.9 missing' });
    } finally { srv.close(); }
    const t0 = performance.now();
    assert.deepEqual(await probeDns({ address: '127.0.0.1', family: 4, port }, base), { ok: false, reason: 'ICMP port unreachable' });
    assert.ok(performance.now() - t0 < 200);
    const mute = createSocket('udp4');
    await new Promise<void>((r) => mute.bind(0, '127.0.0.1', r));
    try {
      assert.deepEqual(await probeDns({ address: '127.0.0.1', family: 4, port: mute.address().port }, base), { ok: false, reason: 'timed out after 400ms' });
    } finally { mute.close(); }
  });

  test('source address and port, fwmark and interface on the UDP socket (as root) reach the server', async () => {
    const srv = createSocket('udp4');
    await new Promise<void>((r) => srv.bind(0, '127.0.0.1', r));
    const from: string[] = [];
    srv.on('message', (m, rinfo) => { from.push(`${rinfo.address}:${rinfo.port}`); srv.send(answer(m), rinfo.port, rinfo.address); });
    const t = { address: '127.0.0.1', family: 4 as const, port: srv.address().port };
    const root = process.getuid?.() === 0;
    try {
      const o = { ...base, sourceAddress: '127.0.0.2', sourcePort: 40553, ...(root ? { fwmark: 7, bindInterface: 'lo' } : {}) };
      assert.deepEqual(await probeDns(t, o), { ok: true });
      assert.deepEqual(await probeDns(t, o), { ok: true }, 'the fixed source port is free again for the next probe');
      assert.deepEqual(from, ['127.0.0.2:40553', '127.0.0.2:40553']);
      if (root) assert.deepEqual(await probeDns(t, { ...base, bindInterface: 'nosuchif0' }), { ok: false, reason: 'no such interface' });
    } finally { srv.close(); }
  });

  test('IPv6: an answer over udp6 and TCP, then ICMPv6 port unreachable from the closed port', async () => {
    const srv = createSocket('udp6');
    await new Promise<void>((r) => srv.bind(0, '::1', r));
    const port = srv.address().port;
    srv.on('message', (m, from) => srv.send(answer(m), from.port, from.address));
    const t = { address: '::1', family: 6 as const, port };
    try {
      assert.deepEqual(await probeDns(t, base), { ok: true });
    } finally { srv.close(); }
    assert.deepEqual(await probeDns(t, base), { ok: false, reason: 'ICMP port unreachable' });
    assert.deepEqual(await probeDns(t, { ...base, transport: 'tcp' }), { ok: false, reason: 'connection refused' });
  });

  test('UDP: a truncated reply is asked again over TCP on the same port; TCP framing and a short read', async () => {
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const port = udp.address().port;
    udp.on('message', (m, from) => { const r = answer(m).subarray(0, 34); r[2]! |= 0x02; r.writeUInt16BE(0, 6); udp.send(r, from.port, from.address); });
    let mode: 'ok' | 'short' = 'ok';
    const tcp = createServer((s) => {
      s.once('data', (d) => {
        const reply = answer(d.subarray(2));
        const framed = Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 255]), reply]);
        // Two writes, one byte apart: the reader must gather the length and the message across reads.
        s.write(framed.subarray(0, 1));
        setTimeout(() => { if (mode === 'ok') s.end(framed.subarray(1)); else s.end(framed.subarray(1, 20)); }, 5);
      });
    });
    await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', r));
    try {
      const t = { address: '127.0.0.1', family: 4 as const, port };
      assert.deepEqual(await probeDns(t, base), { ok: true });
      assert.deepEqual(await probeDns(t, { ...base, transport: 'tcp' }), { ok: true });
      mode = 'short';
      assert.deepEqual(await probeDns(t, { ...base, transport: 'tcp' }), { ok: false, reason: 'connection closed in the middle of the reply' });
      assert.deepEqual(await probeDns(t, base), { ok: false, reason: 'over TCP after a truncated reply: connection closed in the middle of the reply' });
    } finally { udp.close(); tcp.close(); }
  });
});
