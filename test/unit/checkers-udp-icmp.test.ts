// UDP and ICMP echo checks (issue #16): the ICMP codec against packets captured from real tools, RFC 1071's
// checksum example, echo matching with many probes in flight, the UDP reply rules, the config, and both
// probes against this machine's own kernel on the loopback (real sockets: error queue, raw sockets).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { parseConfig } from '../../src/config/index.js';
import {
  AF_INET, AF_INET6, IP_RECVERR, IPPROTO_UDP, IPV6_RECVERR, MSG_ERRQUEUE, SOCK_DGRAM, SOL_IP, SOL_IPV6, Socket,
} from '../../src/native/index.js';
import {
  decodeExtendedError, decodeIcmp, encodeEchoRequest, extendedErrorReason, icmp6Filter, icmpErrorReason, icmpFilter, internetChecksum,
} from '../../checkers/icmp-packet.js';
import { ECHO_ID, EchoTable, echoPayload, openEchoSockets, probeIcmp } from '../../checkers/icmp.js';
import { judgeUdpReply, parseHex, parseHexPattern, probeUdp, type UdpProbeOptions } from '../../checkers/udp.js';
import { reasonStem, type CheckOutcome } from '../../checkers/outcome.js';

/** `tcpdump -xx` output (offsets and all) to bytes. */
const hex = (dump: string) => Buffer.from(dump.split('\n').map((l) => l.replace(/^\s*0x[0-9a-f]+:\s*/, '')).join('').replace(/\s/g, ''), 'hex');

// Captured on this machine (Linux 6.18) with two network namespaces A (10.99.0.1, 2001:db8:99::1) and R
// (10.99.0.2, 2001:db8:99::2; `ip route add unreachable 10.9.9.9`, `ip -6 route add unreachable
// 2001:db8:9::9`, `ip route add prohibit 10.9.9.10`), `tcpdump -i va -n -xx` in A while A ran iputils
// `ping -c1 10.99.0.2`, `ping -c1 10.9.9.9`, `ping -6 -c1 2001:db8:99::2`, `ping -6 -c1 2001:db8:9::9`
// and `socat - UDP:10.99.0.2:9`, `socat - UDP:10.9.9.10:53`. Each frame starts with the 14-byte Ethernet header.
const ECHO_REQUEST_V4 = hex(`
	0x0000:  aaa0 46dc 23c9 36ed eb05 2360 0800 4500
	0x0010:  0054 49d0 4000 4001 dc10 0a63 0001 0a63
	0x0020:  0002 0800 464d 13c8 0001 ba98 116b 0000
	0x0030:  0000 0613 0d00 0000 0000 1011 1213 1415
	0x0040:  1617 1819 1a1b 1c1d 1e1f 2021 2223 2425
	0x0050:  2627 2829 2a2b 2c2d 2e2f 3031 3233 3435
	0x0060:  3637`);
const ECHO_REPLY_V4 = hex(`
	0x0000:  36ed eb05 2360 aaa0 46dc 23c9 0800 4500
	0x0010:  0054 abfd 0000 4001 b9e3 0a63 0002 0a63
	0x0020:  0001 0000 4e4d 13c8 0001 ba98 116b 0000
	0x0030:  0000 0613 0d00 0000 0000 1011 1213 1415
	0x0040:  1617 1819 1a1b 1c1d 1e1f 2021 2223 2425
	0x0050:  2627 2829 2a2b 2c2d 2e2f 3031 3233 3435
	0x0060:  3637`);
// "ICMP host 10.9.9.9 unreachable" from R about A's echo request id 0x13c9 seq 1.
const HOST_UNREACH_V4 = hex(`
	0x0000:  36ed eb05 2360 aaa0 46dc 23c9 0800 45c0
	0x0010:  0070 abff 0000 4001 b905 0a63 0002 0a63
	0x0020:  0001 0301 fcfe 0000 0000 4500 0054 95eb
	0x0030:  4000 4001 8748 0a63 0001 0a09 0909 0800
	0x0040:  1f02 13c9 0001 ba98 116b 0000 0000 2d5d
	0x0050:  0d00 0000 0000 1011 1213 1415 1617 1819
	0x0060:  1a1b 1c1d 1e1f 2021 2223 2425 2627 2829
	0x0070:  2a2b 2c2d 2e2f 3031 3233 3435 3637`);
// "ICMP 10.99.0.2 udp port 9 unreachable": quotes a UDP datagram, not an echo request.
const PORT_UNREACH_V4 = hex(`
	0x0000:  36ed eb05 2360 aaa0 46dc 23c9 0800 45c0
	0x0010:  003b b1e6 0000 4001 b353 0a63 0002 0a63
	0x0020:  0001 0303 e196 0000 0000 4500 001f b398
	0x0030:  4000 4011 726d 0a63 0001 0a63 0002 9403
	0x0040:  0009 000b 14e5 6869 0a`);
// "ICMP host 10.9.9.10 unreachable - admin prohibited filter" (a prohibit route: code 13).
const PROHIBITED_V4 = hex(`
	0x0000:  36ed eb05 2360 aaa0 46dc 23c9 0800 45c0
	0x0010:  003b b36a 0000 4001 b1cf 0a63 0002 0a63
	0x0020:  0001 030d 95c5 0000 0000 4500 001f 3d3d
	0x0030:  4000 4011 e01a 0a63 0001 0a09 090a d6f0
	0x0040:  0035 000b 1d93 6869 0a`);
const ECHO_REQUEST_V6 = hex(`
	0x0000:  aaa0 46dc 23c9 36ed eb05 2360 86dd 6009
	0x0010:  77c5 0040 3a40 2001 0db8 0099 0000 0000
	0x0020:  0000 0000 0001 2001 0db8 0099 0000 0000
	0x0030:  0000 0000 0002 8000 f0a6 13ca 0001 ba98
	0x0040:  116b 0000 0000 8695 0d00 0000 0000 1011
	0x0050:  1213 1415 1617 1819 1a1b 1c1d 1e1f 2021
	0x0060:  2223 2425 2627 2829 2a2b 2c2d 2e2f 3031
	0x0070:  3233 3435 3637`);
const ECHO_REPLY_V6 = hex(`
	0x0000:  36ed eb05 2360 aaa0 46dc 23c9 86dd 6009
	0x0010:  84e1 0040 3a40 2001 0db8 0099 0000 0000
	0x0020:  0000 0000 0002 2001 0db8 0099 0000 0000
	0x0030:  0000 0000 0001 8100 efa6 13ca 0001 ba98
	0x0040:  116b 0000 0000 8695 0d00 0000 0000 1011
	0x0050:  1213 1415 1617 1819 1a1b 1c1d 1e1f 2021
	0x0060:  2223 2425 2627 2829 2a2b 2c2d 2e2f 3031
	0x0070:  3233 3435 3637`);
// "ICMP6, destination unreachable, unreachable route 2001:db8:9::9" (code 0) about echo id 0x13cb seq 1.
const NO_ROUTE_V6 = hex(`
	0x0000:  36ed eb05 2360 aaa0 46dc 23c9 86dd 6007
	0x0010:  1358 0070 3a40 2001 0db8 0099 0000 0000
	0x0020:  0000 0000 0002 2001 0db8 0099 0000 0000
	0x0030:  0000 0000 0001 0100 50b7 0000 0000 600d
	0x0040:  b6e3 0040 3a40 2001 0db8 0099 0000 0000
	0x0050:  0000 0000 0001 2001 0db8 0009 0000 0000
	0x0060:  0000 0000 0009 8000 61c1 13cb 0001 ba98
	0x0070:  116b 0000 0000 1503 0e00 0000 0000 1011
	0x0080:  1213 1415 1617 1819 1a1b 1c1d 1e1f 2021
	0x0090:  2223 2425 2627 2829 2a2b 2c2d 2e2f 3031
	0x00a0:  3233 3435 3637`);
const ip4 = (frame: Buffer) => frame.subarray(14); // what a raw IPv4 socket reads: from the IP header on
const icmp6 = (frame: Buffer) => frame.subarray(14 + 40); // a raw ICMPv6 socket: from the ICMPv6 header on

describe('ICMP codec', () => {
  test('RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d', () => {
    assert.equal(internetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex')), 0x220d);
    // Odd length: the last byte is padded with zero (RFC 1071 section 4.1).
    assert.equal(internetChecksum(Buffer.from('0001f203f4f5f6', 'hex')), internetChecksum(Buffer.from('0001f203f4f5f600', 'hex')));
  });

  test('the captured packets verify, and encodeEchoRequest makes iputils ping\'s request byte for byte', () => {
    for (const f of [ECHO_REQUEST_V4, ECHO_REPLY_V4, HOST_UNREACH_V4, PORT_UNREACH_V4]) {
      assert.equal(internetChecksum(ip4(f).subarray(0, 20)), 0, 'IPv4 header checksum');
      assert.equal(internetChecksum(ip4(f).subarray(20)), 0, 'ICMP checksum');
    }
    const req = ip4(ECHO_REQUEST_V4).subarray(20);
    assert.deepEqual(encodeEchoRequest(4, 0x13c8, 1, req.subarray(8)), req);
    // ICMPv6: the kernel fills the checksum in (pseudo-header); everything else is ping's.
    const req6 = Buffer.from(icmp6(ECHO_REQUEST_V6));
    req6.writeUInt16BE(0, 2);
    assert.deepEqual(encodeEchoRequest(6, 0x13ca, 1, req6.subarray(8)), req6);
  });

  test('decodes echo replies: sender, identifier, sequence, payload', () => {
    assert.deepEqual(decodeIcmp(4, ip4(ECHO_REPLY_V4)), { kind: 'echo-reply', from: '10.99.0.2', id: 0x13c8, seq: 1, payload: ip4(ECHO_REQUEST_V4).subarray(28) });
    assert.deepEqual(decodeIcmp(6, icmp6(ECHO_REPLY_V6), '2001:db8:99::2'), { kind: 'echo-reply', from: '2001:db8:99::2', id: 0x13ca, seq: 1, payload: icmp6(ECHO_REQUEST_V6).subarray(8) });
  });

  test('decodes errors with the echo request they quote, and names them', () => {
    assert.deepEqual(decodeIcmp(4, ip4(HOST_UNREACH_V4)), { kind: 'error', from: '10.99.0.2', type: 3, code: 1, reason: 'ICMP host unreachable', quoted: { to: '10.9.9.9', id: 0x13c9, seq: 1 } });
    assert.deepEqual(decodeIcmp(6, icmp6(NO_ROUTE_V6), '2001:db8:99::2'),
      { kind: 'error', from: '2001:db8:99::2', type: 1, code: 0, reason: 'ICMPv6 no route to destination', quoted: { to: '2001:db8:9::9', id: 0x13cb, seq: 1 } });
    // Errors about UDP datagrams quote no echo request.
    assert.deepEqual(decodeIcmp(4, ip4(PORT_UNREACH_V4)), { kind: 'error', from: '10.99.0.2', type: 3, code: 3, reason: 'ICMP port unreachable' });
    assert.equal((decodeIcmp(4, ip4(PROHIBITED_V4)) as { reason: string }).reason, 'ICMP communication administratively prohibited');
    assert.equal(icmpErrorReason(4, 3, 4, 1400), 'ICMP fragmentation needed (got mtu 1400)');
    assert.equal(reasonStem(icmpErrorReason(4, 3, 4, 1400)!), 'ICMP fragmentation needed');
    assert.equal(icmpErrorReason(6, 1, 4), 'ICMPv6 port unreachable');
    assert.equal(icmpErrorReason(6, 3, 0), 'ICMPv6 hop limit exceeded in transit');
    assert.equal(icmpErrorReason(4, 11, 0), 'ICMP TTL exceeded in transit');
    assert.equal(icmpErrorReason(4, 5, 0), undefined, 'a redirect is no error');
    assert.equal(icmpErrorReason(6, 135, 0), undefined, 'neighbour solicitation is no error');
  });

  test('short, cut and odd packets decode to undefined or "other", never throw', () => {
    const packets = [ip4(ECHO_REPLY_V4), ip4(HOST_UNREACH_V4), icmp6(NO_ROUTE_V6), icmp6(ECHO_REPLY_V6)];
    for (const p of packets) {
      for (let n = 0; n <= p.length; n++) {
        assert.doesNotThrow(() => decodeIcmp(4, p.subarray(0, n)));
        assert.doesNotThrow(() => decodeIcmp(6, p.subarray(0, n), '::1'));
      }
    }
    assert.equal(decodeIcmp(4, Buffer.alloc(19)), undefined);
    const badIhl = Buffer.from(ip4(ECHO_REPLY_V4));
    badIhl[0] = 0x4f; // IHL 60 bytes: past the ICMP header of this packet, still within it
    assert.notEqual(decodeIcmp(4, badIhl)?.kind, 'echo-reply');
    badIhl[0] = 0x43; // IHL 12 < 20
    assert.equal(decodeIcmp(4, badIhl), undefined);
  });

  test('socket filters pass echo replies and errors only', () => {
    const m = icmpFilter();
    for (const t of [0, 3, 4, 11, 12]) assert.equal(m & (1 << t), 0, `type ${t} passes`);
    for (const t of [5, 8, 9, 10, 13, 14]) assert.notEqual(m & (1 << t), 0, `type ${t} dropped`);
    const f = icmp6Filter();
    const blocked = (t: number) => (f.readUInt32LE((t >> 5) * 4) & (1 << (t & 31))) !== 0;
    for (const t of [1, 2, 3, 4, 129]) assert.equal(blocked(t), false, `ICMPv6 type ${t} passes`);
    for (const t of [128, 133, 134, 135, 136, 143]) assert.equal(blocked(t), true, `ICMPv6 type ${t} dropped`);
  });

  test('struct sock_extended_err (linux/errqueue.h) decodes, with the offender', () => {
    const b = Buffer.alloc(32);
    b.writeUInt32LE(111, 0); b[4] = 2; b[5] = 3; b[6] = 3; // ECONNREFUSED, SO_EE_ORIGIN_ICMP, port unreachable
    b.writeUInt16LE(2, 16); Buffer.from([10, 0, 1, 11]).copy(b, 20); // sockaddr_in of the offender
    const e = decodeExtendedError(b)!;
    assert.deepEqual(e, { errno: 111, origin: 2, type: 3, code: 3, info: 0, offender: '10.0.1.11' });
    assert.equal(extendedErrorReason(e), 'ICMP port unreachable');
    assert.equal(extendedErrorReason({ errno: 111, origin: 3, type: 1, code: 4, info: 0 }), 'ICMPv6 port unreachable');
    assert.equal(extendedErrorReason({ errno: 90, origin: 1, type: 0, code: 0, info: 1280 }), 'message too long (got mtu 1280)');
    assert.equal(decodeExtendedError(Buffer.alloc(15)), undefined);
  });
});

/** An IPv4 echo reply as a raw socket reads it (IP header + ICMP), from `from`. */
function reply4(from: string, id: number, seq: number, payload: Buffer, type = 0): Buffer {
  const icmp = encodeEchoRequest(4, id, seq, payload);
  icmp[0] = type;
  icmp.writeUInt16BE(0, 2);
  icmp.writeUInt16BE(internetChecksum(icmp), 2);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45; ip.writeUInt16BE(20 + icmp.length, 2); ip[8] = 64; ip[9] = 1;
  Buffer.from(from.split('.').map(Number)).copy(ip, 12);
  Buffer.from([10, 0, 1, 2]).copy(ip, 16);
  return Buffer.concat([ip, icmp]);
}

describe('echo matching', () => {
  test('500 probes in flight, replies interleaved with decoys: each probe is settled once, by its own reply', () => {
    const table = new EchoTable(4, 0x4242);
    const results = new Map<number, CheckOutcome[]>();
    const probes: { seq: number; to: string; payload: Buffer }[] = [];
    for (let i = 0; i < 500; i++) {
      const seq = table.allocate()!;
      const to = `10.0.${(i % 7) + 1}.${(i % 200) + 1}`;
      const payload = echoPayload(56);
      table.pending.set(seq, { to, payload, finish: (r) => results.set(seq, [...(results.get(seq) ?? []), r]) });
      probes.push({ seq, to, payload });
    }
    assert.equal(new Set(probes.map((p) => p.seq)).size, 500, 'sequence numbers are unique among probes in flight');
    const packets: Buffer[] = [];
    for (const [i, p] of probes.entries()) {
      if (i % 10 === 9) continue; // these ten percent get no reply
      packets.push(reply4(p.to, 0x4242, p.seq, p.payload));
      packets.push(reply4(p.to, 0x4243, p.seq, p.payload)); // another process's identifier
      packets.push(reply4('10.9.9.9', 0x4242, p.seq, p.payload)); // right numbers, wrong sender
      const forged = Buffer.from(p.payload); forged[0]! ^= 1;
      packets.push(reply4(p.to, 0x4242, p.seq, forged)); // right numbers, another payload (an older probe's)
      packets.push(reply4(p.to, 0x4242, p.seq, p.payload, 8)); // an echo request, not a reply
    }
    // A deterministic shuffle, then every genuine reply twice (duplicates happen on the wire).
    let x = 12345;
    for (let i = packets.length - 1; i > 0; i--) { x = (x * 1103515245 + 12345) & 0x7fffffff; const j = x % (i + 1); [packets[i], packets[j]] = [packets[j]!, packets[i]!]; }
    let settled = 0;
    for (const p of [...packets, ...packets]) if (table.receive(p)) settled++;
    assert.equal(settled, 450);
    for (const [i, p] of probes.entries()) {
      if (i % 10 === 9) { assert.equal(results.get(p.seq), undefined); assert.ok(table.pending.has(p.seq)); continue; }
      assert.deepEqual(results.get(p.seq), [{ ok: true }], `probe ${i}`);
    }
    assert.equal(table.pending.size, 50);
  });

  test('an ICMP error settles the probe whose echo request it quotes, with its reason', () => {
    // The captured host unreachable quotes 10.9.9.9, id 0x13c9, seq 1.
    const table = new EchoTable(4, 0x13c9);
    const got: CheckOutcome[] = [];
    table.pending.set(1, { to: '10.9.9.9', payload: Buffer.alloc(0), finish: (r) => got.push(r) });
    table.pending.set(2, { to: '10.9.9.9', payload: Buffer.alloc(0), finish: (r) => got.push(r) });
    assert.equal(new EchoTable(4, 0x13ca).receive(ip4(HOST_UNREACH_V4)), false, 'another identifier');
    assert.equal(table.receive(ip4(HOST_UNREACH_V4)), true);
    assert.deepEqual(got, [{ ok: false, reason: 'ICMP host unreachable' }]);
    assert.ok(table.pending.has(2));
    const t6 = new EchoTable(6, 0x13ca);
    const r6: CheckOutcome[] = [];
    t6.pending.set(1, { to: '2001:db8:99::2', payload: icmp6(ECHO_REQUEST_V6).subarray(8), finish: (r) => r6.push(r) });
    assert.equal(t6.receive(icmp6(ECHO_REPLY_V6), '2001:db8:99::3'), false, 'from another address');
    assert.equal(t6.receive(icmp6(ECHO_REPLY_V6), '2001:db8:99::2'), true);
    assert.deepEqual(r6, [{ ok: true }]);
  });

  test('sequence numbers wrap and skip those in flight', () => {
    const t = new EchoTable(4, 1);
    const seen = new Set<number>();
    for (let i = 0; i < 0x10000; i++) { const s = t.allocate()!; assert.ok(!seen.has(s)); seen.add(s); t.pending.set(s, { to: '', payload: Buffer.alloc(0), finish: () => {} }); }
    assert.equal(t.allocate(), undefined, 'all 65,536 in flight');
    t.pending.delete(777);
    assert.equal(t.allocate(), 777);
  });
});

describe('UDP reply rules', () => {
  test('hex, prefix, regex, and keepalived\'s length bounds (0-255, when the reply is matched)', () => {
    assert.deepEqual(parseHex('0a 0B:ff'), Buffer.from([10, 11, 255]));
    assert.equal(parseHex('abc'), undefined);
    assert.equal(parseHex('zz'), undefined);
    const pong = Buffer.from('PONG 1\n');
    assert.equal(judgeUdpReply(pong, pong.length, {}), undefined);
    assert.equal(judgeUdpReply(pong, pong.length, { prefix: Buffer.from('PONG') }), undefined);
    assert.equal(judgeUdpReply(pong, pong.length, { prefix: Buffer.from('PING') }), 'reply mismatch (got 504f4e4720310a)');
    assert.equal(judgeUdpReply(Buffer.from('PO'), 2, { prefix: Buffer.from('PONG') }), 'reply mismatch (got 504f)', 'shorter than reply_hex');
    assert.equal(judgeUdpReply(pong, pong.length, { regex: /^PONG \d/ }), undefined);
    assert.equal(judgeUdpReply(Buffer.from('no\x1b[31m'), 8, { regex: /^PONG/ }), "reply_regex no match (got 'no\\x1b[31m')");
    const big = Buffer.alloc(300, 0x41);
    assert.equal(judgeUdpReply(big, 300, {}), undefined, 'unmatched replies have no length bound by default');
    assert.equal(judgeUdpReply(big, 300, { regex: /A/ }), 'reply longer than 255 bytes (got 300)');
    assert.equal(judgeUdpReply(big, 300, { regex: /A/, maxLength: 1000 }), undefined);
    assert.equal(judgeUdpReply(pong, pong.length, { minLength: 10 }), 'reply shorter than 10 bytes (got 7)');
    // The regex sees the first 4 KiB only.
    const long = Buffer.concat([Buffer.alloc(5000, 0x20), Buffer.from('X')]);
    assert.equal(judgeUdpReply(long, long.length, { regex: /X/, maxLength: 65535 }), "reply_regex no match (got '                                        '… (4096 characters))");
  });

  test('config: udp and icmp checks load with keepalived\'s defaults, and refuse what cannot work', () => {
    const ok = parseConfig(`
checks:
  - {name: u, type: udp, payload_hex: "0a0b", reply_regex: "^ok", source: "10.0.1.2:5000", fwmark: 7}
  - {name: i, type: icmp, source: 10.0.1.2, bind_interface: eth1}
  - {name: i6, type: icmp, address: "2001:db8::1", size: 8}
`, 'c.yaml');
    assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.errors));
    const [u, i, i6] = ok.config.checks as unknown as Record<string, unknown>[];
    assert.equal(u!.require_reply, false);
    assert.equal(u!.payload_hex, '0a0b');
    assert.equal(i!.size, 56);
    assert.equal(i!.timeout, 2000);
    assert.equal(i6!.size, 8);
    const bad = (yaml: string) => { const r = parseConfig(yaml, 'c.yaml'); assert.equal(r.ok, false, yaml); return (r as { errors: { message: string }[] }).errors.map((e) => e.message).join('\n'); };
    assert.match(bad('checks: [{name: u, type: udp, payload: a, payload_hex: "61"}]'), /give payload \(text\) or payload_hex, not both/);
    assert.match(bad('checks: [{name: u, type: udp, payload_hex: "6"}]'), /is not bytes in hex/);
    assert.match(bad('checks: [{name: u, type: udp, reply_regex: "("}]'), /Invalid regular expression/);
    assert.match(bad('checks: [{name: u, type: udp, min_reply_length: 9, max_reply_length: 8}]'), /every reply would fail/);
    assert.match(bad('checks: [{name: i, type: icmp, port: 80}]'), /'port' applies only to type/);
    assert.match(bad('checks: [{name: i, type: icmp, source: "10.0.1.2:80"}]'), /'10.0.1.2:80' is not an IPv4 or IPv6 address/);
    assert.match(bad('checks: [{name: i, type: icmp, ping: yes}]'), /write 'type: icmp'/);
  });
});

// ---- the probes against this machine's kernel (loopback; raw sockets need CAP_NET_RAW, as lvsd has) ----

const servers: DgramSocket[] = [];
after(() => { for (const s of servers) s.close(); });

/** A UDP server on the loopback: 'echo' answers "PONG <what it got>", 'silent' reads and never answers. */
async function udpServer(family: 4 | 6, mode: 'echo' | 'silent'): Promise<{ port: number; got: string[] }> {
  const s = createSocket(family === 6 ? 'udp6' : 'udp4');
  servers.push(s);
  const got: string[] = [];
  s.on('message', (m, r) => { got.push(`${r.address}:${r.port} ${m.toString('latin1')}`); if (mode === 'echo') s.send(Buffer.concat([Buffer.from('PONG '), m]), r.port, r.address); });
  await new Promise<void>((res) => s.bind(0, family === 6 ? '::1' : '127.0.0.1', res));
  return { port: s.address().port, got };
}

/** A port nothing listens on (bound, then closed at once). */
async function closedPort(family: 4 | 6): Promise<number> {
  const s = createSocket(family === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((res) => s.bind(0, family === 6 ? '::1' : '127.0.0.1', res));
  const port = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

const udpOpts = (o: Partial<UdpProbeOptions> = {}): UdpProbeOptions => ({ timeout: 300, payload: Buffer.from('ping'), requireReply: true, ...o });

describe('UDP probe on the loopback', () => {
  test('the error queue of this kernel: struct sock_extended_err for a port unreachable', async () => {
    const port = await closedPort(4);
    const s = Socket.open(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    try {
      s.setsockopt(SOL_IP, IP_RECVERR, 1);
      s.connect({ family: 'inet', address: '127.0.0.1', port });
      s.send(Buffer.from('x'));
      let r = null;
      for (let i = 0; i < 100 && !r; i++) { r = s.recv({ size: 64, flags: MSG_ERRQUEUE }); if (!r) await new Promise((res) => setTimeout(res, 5)); }
      assert.ok(r, 'an error was queued');
      assert.equal(r.data.toString(), 'x', 'the error queue returns the datagram that caused it');
      const cm = r.control.find((c) => c.level === SOL_IP && c.type === IP_RECVERR)!;
      assert.deepEqual(decodeExtendedError(cm.data), { errno: 111, origin: 2, type: 3, code: 3, info: 0, offender: '127.0.0.1' });
    } finally { s.close(); }
    const s6 = Socket.open(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    try {
      s6.setsockopt(SOL_IPV6, IPV6_RECVERR, 1);
      s6.connect({ family: 'inet6', address: '::1', port: await closedPort(6) });
      s6.send(Buffer.from('x'));
      let r = null;
      for (let i = 0; i < 100 && !r; i++) { r = s6.recv({ size: 64, flags: MSG_ERRQUEUE }); if (!r) await new Promise((res) => setTimeout(res, 5)); }
      const cm = r!.control.find((c) => c.level === SOL_IPV6 && c.type === IPV6_RECVERR)!;
      assert.deepEqual(decodeExtendedError(cm.data), { errno: 111, origin: 3, type: 1, code: 4, info: 0, offender: '::1' });
    } finally { s6.close(); }
  });

  test('IPv4 and IPv6: a reply passes; a closed port fails at once with the ICMP error; silence fails only when a reply is required', async () => {
    for (const family of [4, 6] as const) {
      const lo = family === 6 ? '::1' : '127.0.0.1';
      const echo = await udpServer(family, 'echo');
      const silent = await udpServer(family, 'silent');
      const closed = await closedPort(family);
      const t = (port: number) => ({ address: lo, family, port });
      assert.deepEqual(await probeUdp(t(echo.port), udpOpts({ reply: { prefix: Buffer.from('PONG ping') } })), { ok: true });
      assert.deepEqual(await probeUdp(t(echo.port), udpOpts({ reply: { regex: /^PONG/ }, payload: Buffer.alloc(0) })), { ok: true });
      assert.deepEqual(await probeUdp(t(echo.port), udpOpts({ reply: { prefix: Buffer.from('PING') } })), { ok: false, reason: 'reply mismatch (got 504f4e472070696e67)' });
      const t0 = performance.now();
      assert.deepEqual(await probeUdp(t(closed), udpOpts({ timeout: 2000 })), { ok: false, reason: family === 6 ? 'ICMPv6 port unreachable' : 'ICMP port unreachable' });
      assert.ok(performance.now() - t0 < 500, 'the port unreachable ends the probe before its timeout');
      assert.deepEqual(await probeUdp(t(closed), udpOpts({ requireReply: false })), { ok: false, reason: family === 6 ? 'ICMPv6 port unreachable' : 'ICMP port unreachable' });
      assert.deepEqual(await probeUdp(t(silent.port), udpOpts({ timeout: 200 })), { ok: false, reason: 'no reply after 200ms' });
      assert.deepEqual(await probeUdp(t(silent.port), udpOpts({ timeout: 200, requireReply: false })), { ok: true });
      assert.ok(silent.got.length >= 2 && silent.got.every((g) => g.endsWith(' ping')), 'the silent server got the datagrams');
    }
  });

  test('source address and a fixed source port; 20 concurrent probes from one fixed port to 20 servers are told apart', async () => {
    const a = await udpServer(4, 'echo');
    const srcPort = await closedPort(4);
    const r = await probeUdp({ address: '127.0.0.1', family: 4, port: a.port }, udpOpts({ sourceAddress: '127.0.0.2', sourcePort: srcPort }));
    assert.deepEqual(r, { ok: true });
    assert.equal(a.got.at(-1), `127.0.0.2:${srcPort} ping`);
    // One check with a fixed source port shared by many real servers: its probes overlap, each socket is
    // connected to its own server, and the kernel hands each one its own server's reply.
    const many = await Promise.all(Array.from({ length: 20 }, () => udpServer(4, 'echo')));
    const outcomes = await Promise.all(many.map((m) => probeUdp({ address: '127.0.0.1', family: 4, port: m.port },
      udpOpts({ sourcePort: srcPort, payload: Buffer.from(`p${m.port}`), reply: { prefix: Buffer.from(`PONG p${m.port}`) } }))));
    assert.deepEqual(outcomes, many.map(() => ({ ok: true })));
    assert.deepEqual(many.map((m) => m.got), many.map((m) => [`127.0.0.1:${srcPort} p${m.port}`]));
    assert.deepEqual(await probeUdp({ address: '127.0.0.1', family: 4, port: a.port }, udpOpts({ sourceAddress: '192.0.2.99' })), { ok: false, reason: 'source address not available' });
    assert.deepEqual(await probeUdp({ address: '127.0.0.1', family: 4, port: a.port }, udpOpts({ bindInterface: 'nosuchif0' })), { ok: false, reason: 'no such interface' });
  });
});

describe('ICMP echo probe on the loopback', () => {
  test('IPv4 and IPv6 echo: up; 200 concurrent probes to three addresses share two sockets, all up, sockets closed after', async () => {
    assert.deepEqual(await probeIcmp({ address: '127.0.0.1', family: 4, port: 0 }, { timeout: 1000, size: 56 }), { ok: true });
    assert.deepEqual(await probeIcmp({ address: '::1', family: 6, port: 0 }, { timeout: 1000, size: 56 }), { ok: true });
    assert.equal(openEchoSockets(), 0);
    const targets = [{ address: '127.0.0.1', family: 4 as const }, { address: '127.0.0.2', family: 4 as const }, { address: '::1', family: 6 as const }];
    const all = Array.from({ length: 200 }, (_, i) => probeIcmp({ ...targets[i % 3]!, port: 0 }, { timeout: 2000, size: i % 64 }));
    assert.equal(openEchoSockets(), 2, 'one socket per family (same source, mark, interface)');
    const out = await Promise.all(all);
    assert.deepEqual(out.filter((o) => !o.ok), []);
    assert.equal(openEchoSockets(), 0);
    assert.ok(ECHO_ID >= 0 && ECHO_ID <= 0xffff);
  });

  test('a source address the host does not have, an unknown interface: the reason, at once (silence: the lab test)', async () => {
    assert.deepEqual(await probeIcmp({ address: '127.0.0.1', family: 4, port: 0 }, { timeout: 300, size: 56, sourceAddress: '203.0.113.77' }),
      { ok: false, reason: 'source address not available' });
    assert.deepEqual(await probeIcmp({ address: '127.0.0.1', family: 4, port: 0 }, { timeout: 300, size: 56, bindInterface: 'nosuchif0' }),
      { ok: false, reason: 'no such interface' });
    assert.equal(openEchoSockets(), 0);
  });
});

test("reply_hex with ? digits (keepalived's X in require_reply): those nibbles match anything, the others must match", () => {
  // keepalived.conf(5): "a character can be specified as X or x, in which case the value of those 4 bits in the
  // reply is ignored"; the importer writes X as ? (an x would read as a 0x prefix).
  const rule = parseHexPattern('0? 01 a?')!;
  assert.deepEqual([rule.prefix.toString('hex'), rule.mask.toString('hex')], ['0001a0', 'f0fff0']);
  for (const ok of ['0001a0', '0f01af', '0501a5ff']) assert.equal(judgeUdpReply(Buffer.from(ok, 'hex'), ok.length / 2, rule), undefined, ok);
  for (const bad of ['1001a0', '0002a0', '0001b0', '0001']) assert.match(judgeUdpReply(Buffer.from(bad, 'hex'), bad.length / 2, rule) ?? '', /^reply mismatch/, bad);
  assert.equal(parseHexPattern('0g'), undefined);
  assert.equal(parseHexPattern('0?1'), undefined);
  const cfg = parseConfig('checks:\n  - {name: c, type: udp, reply_hex: "0? 01"}\n  - {name: d, type: udp, payload_hex: "0?"}\n', 'x.yaml');
  assert.equal(cfg.ok, false);
  assert.deepEqual(!cfg.ok && cfg.errors.map((i) => i.path), ['checks[1].payload_hex']);
});
