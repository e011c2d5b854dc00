// The pure parts of the socket wrapper: IP text <-> bytes (judged by the WHATWG URL serializer, an
// independent RFC 5952 formatter), sockaddr layouts (the kernel's struct layouts), control-message decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  addressBytes, formatAddress, encodeSockaddr, decodeSockaddr, decodeControl, pktinfoControl, netnsPath,
  SOL_IP, SOL_IPV6, IP_TTL, IP_PKTINFO, IPV6_HOPLIMIT, IPV6_PKTINFO, type Received,
} from '../../src/native/index.js';

test('IPv6 formatting agrees with the URL serializer on random and zero-heavy addresses, and parses back', () => {
  for (let i = 0; i < 2000; i++) {
    const b = randomBytes(16);
    // Make runs of zero words likely, where compression choices matter.
    for (let w = 0; w < 8; w++) if (Math.random() < 0.5) b.writeUInt16BE(0, w * 2);
    if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) continue; // mapped: URL prints hex words
    const text = formatAddress(b);
    assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1), b.toString('hex'));
    const viaUrl = new URL(`http://[${[...Array(8)].map((_, w) => b.readUInt16BE(w * 2).toString(16)).join(':')}]/`).hostname.slice(1, -1);
    assert.equal(text, viaUrl);
    assert.ok(addressBytes(text).equals(b));
  }
  assert.equal(formatAddress(addressBytes('::ffff:192.0.2.1')), '::ffff:192.0.2.1');
  assert.equal(addressBytes('fe80::1%eth0').toString('hex'), 'fe800000000000000000000000000001');
  assert.equal(formatAddress(addressBytes('192.0.2.255')), '192.0.2.255');
  assert.throws(() => addressBytes('300.1.1.1'), TypeError);
  assert.throws(() => addressBytes('1::2::3'), TypeError);
});

test('sockaddr layouts match struct sockaddr_nl / _in / _in6 / _ll', () => {
  assert.equal(encodeSockaddr({ family: 'netlink', pid: 0x01020304, groups: 0x10 }).toString('hex'), '1000' + '0000' + '04030201' + '10000000');
  assert.equal(encodeSockaddr({ family: 'inet', address: '10.9.0.2', port: 80 }).toString('hex'), '0200' + '0050' + '0a090002' + '00'.repeat(8));
  assert.equal(encodeSockaddr({ family: 'inet6', address: 'fe80::b', port: 443, scopeId: 3 }).toString('hex'),
    '0a00' + '01bb' + '00000000' + 'fe80000000000000000000000000000b' + '03000000');
  assert.equal(encodeSockaddr({ family: 'packet', ifindex: 2, protocol: 0x0806, hwAddress: 'ff:ff:ff:ff:ff:ff' }).toString('hex'),
    '1100' + '0806' + '02000000' + '0000' + '00' + '06' + 'ffffffffffff0000');
  for (const a of [
    { family: 'netlink', pid: 7, groups: 1 }, { family: 'inet', address: '192.0.2.9', port: 9, scopeId: 0 },
    { family: 'inet6', address: '2001:db8::9', port: 0, scopeId: 4 },
  ] as const) assert.deepEqual(decodeSockaddr(encodeSockaddr(a)), a);
  assert.equal(decodeSockaddr(Buffer.from([1])).family, 'unknown');
  assert.equal(netnsPath('blue'), '/run/netns/blue');
  assert.equal(netnsPath('/proc/1/ns/net'), '/proc/1/ns/net');
});

test('control messages: IP_TTL, IP_PKTINFO, IPV6_HOPLIMIT, IPV6_PKTINFO decode; pktinfo encodes the kernel structs', () => {
  const i32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
  const inPkt = Buffer.concat([i32(3), addressBytes('10.0.0.1'), addressBytes('224.0.0.18')]);
  const in6Pkt = Buffer.concat([addressBytes('ff02::12'), i32(5)]);
  const out: Partial<Received> = {};
  decodeControl([
    { level: SOL_IP, type: IP_TTL, data: i32(255) }, { level: SOL_IPV6, type: IPV6_HOPLIMIT, data: i32(64) },
    { level: SOL_IP, type: IP_PKTINFO, data: inPkt }, { level: SOL_IP, type: IP_TTL, data: Buffer.alloc(1) },
  ], out);
  assert.deepEqual(out, { ttl: 255, hopLimit: 64, pktinfo: { ifindex: 3, destination: '224.0.0.18' } });
  decodeControl([{ level: SOL_IPV6, type: IPV6_PKTINFO, data: in6Pkt }], out);
  assert.deepEqual(out.pktinfo, { ifindex: 5, destination: 'ff02::12' });
  assert.deepEqual(pktinfoControl({ family: 'inet', ifindex: 3, source: '10.0.0.1' }),
    { level: SOL_IP, type: IP_PKTINFO, data: Buffer.concat([i32(3), addressBytes('10.0.0.1'), Buffer.alloc(4)]) });
  assert.deepEqual(pktinfoControl({ family: 'inet6', ifindex: 5, source: 'fe80::1' }),
    { level: SOL_IPV6, type: IPV6_PKTINFO, data: Buffer.concat([addressBytes('fe80::1'), i32(5)]) });
});
