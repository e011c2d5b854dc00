// The socket addon against the real kernel: two network namespaces joined by two veth pairs (a0 <-> b0,
// a1 <-> b1), sockets opened inside them with setns. Raw IPv4/IPv6 protocol 112 (VRRP) with TTL /
// hop-limit / pktinfo control messages, multicast joins, AF_PACKET frames, the error and EAGAIN paths,
// and TCP connects with SO_MARK / SO_BINDTODEVICE / source address and port, judged by the address the
// server in B sees (10.9.9.9 on B's loopback is reached over a0 by the main table, over a1 by table 100,
// which `ip rule` selects for fwmark 7).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, Socket as NetSocket, type AddressInfo, type Server } from 'node:net';
import { TcpConnect, type ErrnoError } from '../../src/native/connect.js';
import {
  Socket, addon, ifNameToIndex, addressBytes, AF_INET, AF_INET6, AF_PACKET, AF_NETLINK, SOCK_RAW, SOCK_DGRAM, SOL_IP, SOL_IPV6,
  SOL_SOCKET, SO_RCVBUF, IP_TTL, IP_PKTINFO, IP_RECVTTL, IP_MULTICAST_TTL, IP_ADD_MEMBERSHIP, IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO, IPV6_UNICAST_HOPS, IPPROTO_ICMPV6, IPV6_MULTICAST_HOPS, IPV6_ADD_MEMBERSHIP, IPPROTO_VRRP, ETH_P_ARP, MSG_TRUNC,
  SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, SO_RCVBUFFORCE, SOCK_STREAM, encodeSockaddr, loopNow, type Received,
} from '../../src/native/index.js';

const tag = randomBytes(3).toString('hex');
const A = `lvsd-t-${tag}-a`, B = `lvsd-t-${tag}-b`;
const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
let a0 = 0, b0 = 0, a0mac = '';
const open: Socket[] = [];
const sock = (domain: number, type: number, proto: number, netns: string) => { const s = Socket.open(domain, type, proto, { netns }); open.push(s); return s; };
const htons = (n: number) => ((n & 0xff) << 8) | (n >> 8);

before(() => {
  for (const n of [A, B]) {
    sh('ip', 'netns', 'add', n);
    // No duplicate address detection: addresses are usable at once (and link-locals not tentative).
    sh('ip', 'netns', 'exec', n, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
  }
  sh('ip', '-n', A, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'b0', 'netns', B);
  sh('ip', '-n', A, 'addr', 'add', '10.9.0.1/24', 'dev', 'a0');
  sh('ip', '-n', B, 'addr', 'add', '10.9.0.2/24', 'dev', 'b0');
  for (const [n, d, addrs] of [[A, 'a0', ['fd00::1/64', 'fd00::3/64', 'fe80::a/64']], [B, 'b0', ['fd00::2/64', 'fe80::b/64']]] as const) {
    for (const x of addrs) sh('ip', '-n', n, '-6', 'addr', 'add', x, 'dev', d, 'nodad');
    sh('ip', '-n', n, 'link', 'set', d, 'up');
  }
  // A second path to B for the TCP tests: a1 <-> b1, and 10.9.9.9 on B's loopback reachable over both.
  sh('ip', '-n', A, 'link', 'add', 'a1', 'type', 'veth', 'peer', 'name', 'b1', 'netns', B);
  sh('ip', '-n', A, 'addr', 'add', '10.9.1.1/24', 'dev', 'a1');
  sh('ip', '-n', B, 'addr', 'add', '10.9.1.2/24', 'dev', 'b1');
  sh('ip', '-n', A, 'link', 'set', 'a1', 'up');
  sh('ip', '-n', B, 'link', 'set', 'b1', 'up');
  sh('ip', '-n', B, 'link', 'set', 'lo', 'up');
  sh('ip', '-n', B, 'addr', 'add', '10.9.9.9/32', 'dev', 'lo');
  sh('ip', '-n', A, 'route', 'add', '10.9.9.9/32', 'via', '10.9.0.2');
  sh('ip', '-n', A, 'route', 'add', '10.9.9.9/32', 'via', '10.9.1.2', 'table', '100');
  sh('ip', '-n', A, 'rule', 'add', 'fwmark', '7', 'lookup', '100');
  const la = JSON.parse(sh('ip', '-n', A, '-j', 'link', 'show', 'a0'))[0];
  a0 = la.ifindex; a0mac = la.address;
  b0 = JSON.parse(sh('ip', '-n', B, '-j', 'link', 'show', 'b0'))[0].ifindex;
});

after(() => {
  for (const s of open) s.close();
  for (const n of [A, B]) try { sh('ip', 'netns', 'del', n); } catch { /* gone */ }
});

/** The next datagram that satisfies `want`, read when the poll says readable. */
function next(s: Socket, want: (r: Received) => boolean = () => true, opts: { size?: number; flags?: number } = {}): Promise<Received> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { s.stopPolling(); reject(new Error('no datagram within 3 s')); }, 3000);
    s.onReadable(() => {
      for (let r = s.recv(opts); r; r = s.recv(opts)) {
        if (want(r)) { clearTimeout(timer); s.stopPolling(); resolve(r); return; }
      }
    });
  });
}

const mreqn = (group: string, ifindex: number) => { // struct ip_mreqn
  const b = Buffer.alloc(12);
  addressBytes(group).copy(b, 0);
  b.writeInt32LE(ifindex, 8);
  return b;
};
const ipv6Mreq = (group: string, ifindex: number) => { // struct ipv6_mreq
  const b = Buffer.alloc(20);
  addressBytes(group).copy(b, 0);
  b.writeInt32LE(ifindex, 16);
  return b;
};

test('raw IPv4 protocol 112: TTL and pktinfo arrive as control messages; unicast and multicast; several buffers in one datagram', async () => {
  const rx = sock(AF_INET, SOCK_RAW, IPPROTO_VRRP, B);
  rx.setsockopt(SOL_IP, IP_RECVTTL, 1);
  rx.setsockopt(SOL_IP, IP_PKTINFO, 1);
  rx.setsockopt(SOL_IP, IP_ADD_MEMBERSHIP, mreqn('224.0.0.18', b0));
  const tx = sock(AF_INET, SOCK_RAW, IPPROTO_VRRP, A);
  tx.setsockopt(SOL_IP, IP_TTL, 255);
  tx.setsockopt(SOL_IP, IP_MULTICAST_TTL, 255);

  const payload = (s: string) => (r: Received) => r.data.subarray(20).toString() === s; // raw IPv4 sockets see the IP header
  let p = next(rx, payload('unicast'));
  assert.equal(tx.send([Buffer.from('uni'), Buffer.from('cast')], { to: { family: 'inet', address: '10.9.0.2' } }), 7);
  let r = await p;
  assert.equal(r.ttl, 255);
  assert.equal(r.data[9], IPPROTO_VRRP);
  assert.deepEqual(r.pktinfo, { ifindex: b0, destination: '10.9.0.2' });
  assert.deepEqual(r.from, { family: 'inet', address: '10.9.0.1', port: 0, scopeId: 0 });

  tx.setsockopt(SOL_IP, IP_TTL, 7); // the TTL we read is the packet's, not a constant
  p = next(rx, payload('ttl7'));
  tx.send(Buffer.from('ttl7'), { to: { family: 'inet', address: '10.9.0.2' } });
  assert.equal((await p).ttl, 7);

  p = next(rx, payload('multicast'));
  tx.send(Buffer.from('multicast'), { to: { family: 'inet', address: '224.0.0.18' }, pktinfo: { ifindex: a0 } }); // IP_PKTINFO picks a0
  r = await p;
  assert.equal(r.ttl, 255);
  assert.deepEqual(r.pktinfo, { ifindex: b0, destination: '224.0.0.18' });
});

test('raw IPv6 protocol 112: hop limit and pktinfo control messages; bind with scope id; IPV6_PKTINFO picks the source', async () => {
  const rx = sock(AF_INET6, SOCK_RAW, IPPROTO_VRRP, B);
  rx.setsockopt(SOL_IPV6, IPV6_RECVHOPLIMIT, 1);
  rx.setsockopt(SOL_IPV6, IPV6_RECVPKTINFO, 1);
  rx.bind({ family: 'inet6', address: 'fe80::b', scopeId: b0 });
  const loc = rx.localAddress();
  assert.deepEqual(loc.family === 'inet6' && [loc.address, loc.scopeId], ['fe80::b', b0]);
  const tx = sock(AF_INET6, SOCK_RAW, IPPROTO_VRRP, A);
  tx.setsockopt(SOL_IPV6, IPV6_UNICAST_HOPS, 255);
  tx.setsockopt(SOL_IPV6, IPV6_MULTICAST_HOPS, 255);

  const payload = (s: string) => (r: Received) => r.data.toString() === s; // no IP header on IPv6 raw sockets
  let p = next(rx, payload('ll'));
  tx.send(Buffer.from('ll'), { to: { family: 'inet6', address: 'fe80::b', scopeId: a0 }, pktinfo: { ifindex: a0, source: 'fe80::a' } });
  let r = await p;
  assert.equal(r.hopLimit, 255);
  assert.deepEqual(r.pktinfo, { ifindex: b0, destination: 'fe80::b' });
  assert.deepEqual(r.from, { family: 'inet6', address: 'fe80::a', port: 0, scopeId: b0 });

  tx.setsockopt(SOL_IPV6, IPV6_UNICAST_HOPS, 64);
  p = next(rx, payload('hop64'));
  tx.send(Buffer.from('hop64'), { to: { family: 'inet6', address: 'fe80::b', scopeId: a0 } });
  assert.equal((await p).hopLimit, 64);

  const mrx = sock(AF_INET6, SOCK_RAW, IPPROTO_VRRP, B);
  mrx.setsockopt(SOL_IPV6, IPV6_RECVHOPLIMIT, 1);
  mrx.setsockopt(SOL_IPV6, IPV6_RECVPKTINFO, 1);
  mrx.setsockopt(SOL_IPV6, IPV6_ADD_MEMBERSHIP, ipv6Mreq('ff02::12', b0));
  p = next(mrx, payload('mcast6'));
  tx.send(Buffer.from('mcast6'), { to: { family: 'inet6', address: 'ff02::12' }, pktinfo: { ifindex: a0, source: 'fd00::3' } });
  r = await p;
  assert.equal(r.hopLimit, 255);
  assert.equal(r.pktinfo?.destination, 'ff02::12');
  assert.equal(r.from.family === 'inet6' && r.from.address, 'fd00::3');
});

test('AF_PACKET: a gratuitous ARP sent on a0 arrives as a broadcast frame on b0', async () => {
  const rx = sock(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP), B);
  rx.bind({ family: 'packet', ifindex: b0, protocol: ETH_P_ARP });
  const tx = sock(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP), A);
  const mac = Buffer.from(a0mac.replace(/:/g, ''), 'hex');
  const ip = addressBytes('10.9.0.77');
  // RFC 5227 §3 ARP announcement: sender and target protocol address both the announced address.
  const arp = Buffer.concat([Buffer.from('0001080006040001', 'hex'), mac, ip, Buffer.alloc(6), ip]);
  const p = next(rx, (r) => r.data.length >= 42 && r.data.subarray(14 + 14, 14 + 18).equals(ip));
  assert.equal(tx.send(arp, { to: { family: 'packet', ifindex: a0, protocol: ETH_P_ARP, hwAddress: 'ff:ff:ff:ff:ff:ff' } }), 28);
  const r = await p;
  assert.equal(r.data.subarray(0, 6).toString('hex'), 'ffffffffffff');
  assert.ok(r.data.subarray(6, 12).equals(mac));
  assert.equal(r.data.readUInt16BE(12), ETH_P_ARP);
  assert.ok(r.data.subarray(14, 14 + 28).equals(arp));
  assert.equal(r.from.family, 'packet');
  if (r.from.family === 'packet') {
    assert.deepEqual([r.from.ifindex, r.from.protocol, r.from.pktType], [b0, ETH_P_ARP, 1 /* PACKET_BROADCAST */]);
    assert.ok(r.from.hwAddress.equals(mac));
  }
});

test('raw ICMPv6: an unsolicited neighbour advertisement to ff02::1 arrives with hop limit 255 and a kernel-made checksum', async () => {
  const rx = sock(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, B);
  rx.setsockopt(SOL_IPV6, IPV6_RECVHOPLIMIT, 1);
  const tx = sock(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, A);
  tx.setsockopt(SOL_IPV6, IPV6_MULTICAST_HOPS, 255); // RFC 4861 §7.1.2: receivers drop NAs with any other hop limit
  const mac = Buffer.from(a0mac.replace(/:/g, ''), 'hex');
  // RFC 4861 §4.4: type 136, code 0, checksum (the kernel fills it), flags O (override), target, target link-layer option.
  const na = Buffer.concat([Buffer.from('88000000' + '20000000', 'hex'), addressBytes('fd00::3'), Buffer.from([2, 1]), mac]);
  const p = next(rx, (r) => r.data[0] === 136 && r.data.subarray(8, 24).equals(addressBytes('fd00::3')));
  tx.send(na, { to: { family: 'inet6', address: 'ff02::1' }, pktinfo: { ifindex: a0, source: 'fe80::a' } });
  const r = await p;
  assert.equal(r.hopLimit, 255);
  // RFC 4443 §2.3: the one's-complement sum over the pseudo-header and the message, checksum included, is 0xffff.
  const pseudo = Buffer.concat([addressBytes('fe80::a'), addressBytes('ff02::1'), Buffer.from([0, 0, 0, r.data.length, 0, 0, 0, IPPROTO_ICMPV6])]);
  const all = Buffer.concat([pseudo, r.data, Buffer.alloc(r.data.length % 2)]);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += all.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  assert.equal(sum, 0xffff);
  assert.ok(r.data.subarray(26, 32).equals(mac));
  assert.equal(r.from.family === 'inet6' && r.from.address, 'fe80::a');
});

test('recv returns null when nothing waits (EAGAIN), and reports truncation with MSG_TRUNC', async () => {
  const rx = sock(AF_INET6, SOCK_RAW, IPPROTO_VRRP, B);
  assert.equal(rx.recv(), null);
  const tx = sock(AF_INET6, SOCK_RAW, IPPROTO_VRRP, A);
  const p = next(rx, () => true, { size: 10, flags: MSG_TRUNC });
  tx.send(Buffer.alloc(100, 7), { to: { family: 'inet6', address: 'fd00::2' } });
  const r = await p;
  assert.equal(r.truncated, true);
  assert.equal(r.data.length, 10);
  assert.equal(r.length, 100);
});

test('errors carry code, errno and syscall', () => {
  const expectErr = (f: () => unknown, code: string, errno: number, syscall: string) =>
    assert.throws(f, (e: Error & { code: string; errno: number; syscall: string }) => {
      assert.deepEqual([e.code, e.errno, e.syscall], [code, errno, syscall]);
      return true;
    });
  expectErr(() => Socket.open(12345, SOCK_RAW, 0), 'EAFNOSUPPORT', 97, 'socket');
  expectErr(() => Socket.open(AF_INET, SOCK_RAW, 112, { netns: 'lvsd-no-such-netns' }), 'ENOENT', 2, 'open');
  const s = sock(AF_INET, SOCK_RAW, IPPROTO_VRRP, B);
  expectErr(() => s.bind({ family: 'inet', address: '203.0.113.1' }), 'EADDRNOTAVAIL', 99, 'bind');
  expectErr(() => s.setsockopt(SOL_IP, 9999, 1), 'ENOPROTOOPT', 92, 'setsockopt');
  expectErr(() => s.send(Buffer.from('x'), { to: { family: 'inet', address: '10.200.0.1' } }), 'ENETUNREACH', 101, 'sendmsg');
  expectErr(() => ifNameToIndex('lvsdnope0'), 'ENODEV', 19, 'if_nametoindex');
  expectErr(() => ifNameToIndex('lo'.padEnd(40, 'x')), 'ENODEV', 19, 'if_nametoindex'); // not truncated to a real name
  const fd = addon.socket(AF_INET, SOCK_DGRAM, 0);
  addon.close(fd);
  expectErr(() => addon.getsockopt(fd, SOL_SOCKET, SO_RCVBUF), 'EBADF', 9, 'getsockopt');
  assert.throws(() => addon.bind(fd, 'not a buffer' as unknown as Buffer), TypeError);
});

test('setsockopt/getsockopt, getsockname, if_nametoindex, and sockets really live in their namespace', () => {
  const s = sock(AF_NETLINK, SOCK_RAW, 0, B);
  s.setsockopt(SOL_SOCKET, SO_RCVBUF, 65536);
  assert.equal(s.getsockopt(SOL_SOCKET, SO_RCVBUF), 131072); // the kernel doubles it for bookkeeping
  s.bind({ family: 'netlink' });
  const local = s.localAddress();
  assert.ok(local.family === 'netlink' && local.pid > 0);
  assert.equal(ifNameToIndex('lo'), 1);
  // A raw socket in A can bind A's address but not B's: proof the socket was made inside A.
  const inA = sock(AF_INET, SOCK_RAW, IPPROTO_VRRP, A);
  inA.bind({ family: 'inet', address: '10.9.0.1' });
  const inA2 = sock(AF_INET, SOCK_RAW, IPPROTO_VRRP, A);
  assert.throws(() => inA2.bind({ family: 'inet', address: '10.9.0.2' }), (e: Error & { code: string }) => e.code === 'EADDRNOTAVAIL');
});

test('polling stops on request and close is idempotent', async () => {
  const rx = sock(AF_INET6, SOCK_RAW, IPPROTO_VRRP, B);
  const tx = sock(AF_INET6, SOCK_RAW, IPPROTO_VRRP, A);
  let calls = 0;
  rx.onReadable(() => { calls++; rx.recv(); });
  tx.send(Buffer.from('one'), { to: { family: 'inet6', address: 'fd00::2' } });
  for (let i = 0; i < 100 && calls === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(calls, 1);
  rx.stopPolling();
  tx.send(Buffer.from('two'), { to: { family: 'inet6', address: 'fd00::2' } });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls, 1);
  assert.equal(rx.recv()?.data.toString(), 'two');
  rx.close();
  rx.close();
});

test('after a socket error event (netlink overflow) polling is re-armed: the error is read, then data keeps coming', async () => {
  const s = sock(AF_NETLINK, SOCK_RAW, 0, B);
  s.setsockopt(SOL_SOCKET, SO_RCVBUFFORCE, 1); // the kernel's minimum
  s.bind({ family: 'netlink' });
  s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 5 /* RTNLGRP_IPV4_IFADDR */);
  const statuses: number[] = [];
  const errors: string[] = [];
  let datagrams = 0;
  s.onReadable((status) => {
    statuses.push(status);
    for (;;) {
      try { if (!s.recv()) break; datagrams++; } catch (e) { errors.push((e as { code: string }).code); }
    }
  });
  const file = `/tmp/lvsd-native-${tag}.batch`;
  writeFileSync(file, Array.from({ length: 400 }, (_, i) => `addr ${i < 200 ? 'add' : 'del'} 10.77.0.${(i % 200) + 1}/32 dev b0`).join('\n') + '\n');
  try { execFileSync('ip', ['-n', B, '-batch', file]); } finally { rmSync(file, { force: true }); } // the loop is blocked meanwhile
  for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual([...new Set(errors)], ['ENOBUFS']);
  assert.ok(statuses.some((x) => x < 0), `libuv reported no error event: ${statuses.join(',')}`);
  const before = datagrams;
  sh('ip', '-n', B, 'addr', 'add', '10.77.1.1/32', 'dev', 'b0');
  for (let i = 0; i < 100 && datagrams === before; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(datagrams > before, 'no datagram after the error event: polling was not re-armed');
  s.stopPolling();
});

test('a poll with keepAlive false does not keep the process alive; the default does', () => {
  const index = fileURLToPath(new URL('../../src/native/index.js', import.meta.url));
  const script = (keepAlive: boolean) => `import { Socket, AF_NETLINK, SOCK_RAW } from ${JSON.stringify(index)};
    const s = Socket.open(AF_NETLINK, SOCK_RAW, 0); s.bind({ family: 'netlink' }); s.onReadable(() => {}, { keepAlive: ${keepAlive} });`;
  const quiet = spawnSync(process.execPath, ['--input-type=module', '-e', script(false)], { timeout: 5000 });
  assert.equal(quiet.status, 0, quiet.stderr.toString());
  const held = spawnSync(process.execPath, ['--input-type=module', '-e', script(true)], { timeout: 1000 });
  assert.equal(held.signal, 'SIGTERM'); // still running when the timeout killed it
});

// ---- TCP connects through the addon (what checkers use for source / fwmark / bind_interface) ----

/** A Node TCP server listening on 10.9.9.9 inside B (the socket is made there by the addon, then
 *  handed to Node), recording each client's address:port as B's kernel reports it. */
async function serverInB(onConnection: (s: NetSocket) => void = () => {}): Promise<{ server: Server; port: number; peers: string[] }> {
  const fd = addon.socket(AF_INET, SOCK_STREAM, 0, `/run/netns/${B}`);
  addon.bind(fd, encodeSockaddr({ family: 'inet', address: '10.9.9.9', port: 0 }));
  const peers: string[] = [];
  const server = createTcpServer((c) => { peers.push(`${c.remoteAddress}:${c.remotePort}`); c.on('error', () => {}); onConnection(c); });
  await new Promise<void>((r) => server.listen({ fd }, r));
  return { server, port: (server.address() as AddressInfo).port, peers };
}

function connectIn(port: number, opts: Parameters<typeof TcpConnect.start>[1], address = '10.9.9.9'): Promise<{ c: TcpConnect; err: ErrnoError | null }> {
  return new Promise((resolve) => {
    const c: TcpConnect = TcpConnect.start({ address, port, family: 4 }, { netns: A, ...opts }, (err) => resolve({ c, err }));
  });
}

const waitUntil = async (f: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(f(), what);
};

test('TCP connect: the server sees the configured source address and port, again and again when closed with RST', async () => {
  const srv = await serverInB();
  try {
    for (let i = 0; i < 3; i++) {
      const { c, err } = await connectIn(srv.port, { source: { address: '10.9.1.1', port: 40123 } });
      assert.equal(err, null);
      await waitUntil(() => srv.peers.length === i + 1, 'the server saw no connection');
      c.close({ reset: true });
    }
    assert.deepEqual(srv.peers, ['10.9.1.1:40123', '10.9.1.1:40123', '10.9.1.1:40123']);
    // RST leaves nothing behind on the client side (a FIN close would leave the 4-tuple in TIME_WAIT).
    assert.equal(sh('ip', 'netns', 'exec', A, 'ss', '-Htan', 'state', 'time-wait', 'sport', '= :40123').trim(), '');
    // Source address only: the port is the kernel's choice.
    const { c } = await connectIn(srv.port, { source: { address: '10.9.0.1' } });
    await waitUntil(() => srv.peers.length === 4, 'the server saw no connection');
    assert.match(srv.peers[3]!, /^10\.9\.0\.1:\d+$/);
    c.close();
  } finally { srv.server.close(); }
});

test('TCP connect: SO_MARK is honoured by policy routing (fwmark 7 -> table 100 -> a1), SO_BINDTODEVICE sends through the named link', async () => {
  const srv = await serverInB();
  const rxPackets = (dev: string) => JSON.parse(sh('ip', '-n', B, '-s', '-j', 'link', 'show', dev))[0].stats64.rx.packets as number;
  try {
    const via = async (opts: Parameters<typeof TcpConnect.start>[1]) => {
      const n = srv.peers.length;
      const b1 = rxPackets('b1');
      const { c, err } = await connectIn(srv.port, opts);
      assert.equal(err, null);
      await waitUntil(() => srv.peers.length === n + 1, 'the server saw no connection');
      c.close({ reset: true });
      return { peer: srv.peers[n]!.replace(/:\d+$/, ''), overB1: rxPackets('b1') > b1 };
    };
    assert.deepEqual(await via({}), { peer: '10.9.0.1', overB1: false }); // main table: a0
    assert.deepEqual(await via({ fwmark: 7 }), { peer: '10.9.1.1', overB1: true }); // the mark picks table 100
    assert.deepEqual(await via({ fwmark: 8 }), { peer: '10.9.0.1', overB1: false }); // a mark no rule matches
    assert.deepEqual(await via({ bindInterface: 'a1' }), { peer: '10.9.1.1', overB1: true }); // the main table says a0; the device wins
    assert.deepEqual(await via({ bindInterface: 'a0' }), { peer: '10.9.0.1', overB1: false });
  } finally { srv.server.close(); }
});

test('TCP connect: a refused connection reports ECONNREFUSED from SO_ERROR; set-up failures throw with code, errno and syscall', async () => {
  const srv = await serverInB();
  const port = srv.port;
  await new Promise<void>((r) => srv.server.close(() => r()));
  const { err } = await connectIn(port, { fwmark: 7 });
  assert.deepEqual(err && [err.code, err.errno, err.syscall], ['ECONNREFUSED', 111, 'connect']);
  const expectErr = (opts: Parameters<typeof TcpConnect.start>[1], code: string, errno: number, syscall: string, address = '10.9.9.9') =>
    assert.throws(() => TcpConnect.start({ address, port, family: 4 }, { netns: A, ...opts }, () => assert.fail('called back')),
      (e: ErrnoError) => { assert.deepEqual([e.code, e.errno, e.syscall], [code, errno, syscall]); return true; });
  expectErr({ bindInterface: 'nope0' }, 'ENODEV', 19, 'setsockopt');
  expectErr({ bindInterface: 'x'.repeat(20) }, 'ENODEV', 19, 'setsockopt');
  expectErr({ source: { address: '10.9.9.9' } }, 'EADDRNOTAVAIL', 99, 'bind'); // B's address, not A's
  expectErr({}, 'ENETUNREACH', 101, 'connect', '10.200.0.1'); // no route: connect fails at once
  // A connect abandoned before it completes calls nobody back (a blackholed SYN, closed by the caller's timeout).
  sh('ip', '-n', A, 'neigh', 'replace', '10.9.0.2', 'lladdr', '02:00:00:00:99:99', 'dev', 'a0', 'nud', 'permanent');
  try {
    let called = false;
    const c = TcpConnect.start({ address: '10.9.9.9', port, family: 4 }, { netns: A }, () => { called = true; });
    await new Promise((r) => setTimeout(r, 100));
    c.close();
    c.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(called, false);
  } finally { sh('ip', '-n', A, 'neigh', 'del', '10.9.0.2', 'dev', 'a0'); }
});

test('TCP connect: a detached descriptor works as a Node socket (what HTTP checks hand to undici)', async () => {
  const srv = await serverInB((c) => c.on('data', (d) => c.end(`echo ${d}`)));
  try {
    const { c, err } = await connectIn(srv.port, { fwmark: 7 });
    assert.equal(err, null);
    const sock = new NetSocket({ fd: c.detach(), readable: true, writable: true });
    assert.throws(() => c.detach(), /cannot detach a detached connection/);
    c.close(); // no-op: Node owns the descriptor now
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      sock.on('data', (d) => { text += d; }).on('end', () => resolve(text)).on('error', reject);
      sock.write('ping');
    });
    assert.equal(reply, 'echo ping');
    sock.destroy();
    assert.equal(srv.peers[0]!.replace(/:\d+$/, ''), '10.9.1.1');
  } finally { srv.server.close(); }
});

/** TCP segments arriving on a link of B, seen by an AF_PACKET socket (the wire's view, independent of
 *  any TCP stack): "SYN 10.9.1.1:40200" per segment to `port` with SYN, FIN or RST set. */
function captureTcp(dev: string, port: number): { segments: string[]; stop(): void } {
  const ifindex = JSON.parse(sh('ip', '-n', B, '-j', 'link', 'show', dev))[0].ifindex as number;
  const s = sock(AF_PACKET, SOCK_DGRAM, htons(0x0800 /* ETH_P_IP */), B);
  s.bind({ family: 'packet', ifindex, protocol: 0x0800 });
  const segments: string[] = [];
  s.onReadable(() => {
    for (let r = s.recv(); r; r = s.recv()) {
      const ip = r.data, ihl = (ip[0]! & 15) * 4;
      if (ip[9] !== 6 || ip.readUInt16BE(ihl + 2) !== port) continue;
      const flags = ip[ihl + 13]!;
      const kind = flags & 0x02 ? 'SYN' : flags & 0x04 ? 'RST' : flags & 0x01 ? 'FIN' : '';
      if (kind) segments.push(`${kind} ${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}:${ip.readUInt16BE(ihl)}`);
    }
  });
  return { segments, stop: () => s.stopPolling() };
}

test('checker probes from A (TCP and HTTP): fwmark, bind_interface and a source port, as the wire into B shows them', async () => {
  const fd = addon.socket(AF_INET, SOCK_STREAM, 0, `/run/netns/${B}`);
  addon.bind(fd, encodeSockaddr({ family: 'inet', address: '10.9.9.9', port: 0 }));
  const server = createHttpServer((_q, r) => r.end('ok'));
  server.on('connection', (c) => c.on('error', () => {}));
  await new Promise<void>((r) => server.listen({ fd }, r));
  const port = (server.address() as AddressInfo).port;
  const onB0 = captureTcp('b0', port), onB1 = captureTcp('b1', port);
  try {
    // The probes run in a node inside A (checkers connect from the namespace lvsd runs in).
    const dist = fileURLToPath(new URL('../../checkers/', import.meta.url));
    const script = `import { probeTcp } from ${JSON.stringify(dist + 'tcp.js')}; import { probeHttp } from ${JSON.stringify(dist + 'http.js')};
      const t = { address: '10.9.9.9', family: 4, port: ${port} }, h = { timeout: 2000, path: '/', status: [[200, 299]], maxBodyBytes: 100 };
      const out = [];
      out.push(await probeTcp(t, { timeout: 2000, fwmark: 7, sourcePort: 40200 }));
      out.push(await probeTcp(t, { timeout: 2000, fwmark: 7, sourcePort: 40200 }));
      out.push(await probeTcp(t, { timeout: 2000, bindInterface: 'a1', sourceAddress: '10.9.1.1', sourcePort: 40201 }));
      out.push(await probeHttp(t, { ...h, fwmark: 7, sourcePort: 40202 }));
      out.push(await probeHttp(t, { ...h, fwmark: 7, sourcePort: 40202 }));
      out.push(await probeHttp(t, { ...h, bindInterface: 'a1' }));
      out.push(await probeTcp(t, { timeout: 2000, bindInterface: 'nope0' }));
      out.push(await probeTcp(t, { timeout: 2000 }));
      console.log(JSON.stringify(out));`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile('ip', ['netns', 'exec', A, process.execPath, '--input-type=module', '-e', script], { timeout: 20_000 }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout))));
    assert.deepEqual(JSON.parse(out), [{ ok: true }, { ok: true }, { ok: true }, { ok: true }, { ok: true }, { ok: true },
      { ok: false, reason: 'no such interface' }, { ok: true }]);
    await waitUntil(() => onB0.segments.some((x) => x.startsWith('SYN')), 'no SYN on b0');
    const syns = onB1.segments.filter((x) => x.startsWith('SYN'));
    assert.deepEqual(syns.slice(0, 5), ['SYN 10.9.1.1:40200', 'SYN 10.9.1.1:40200', 'SYN 10.9.1.1:40201', 'SYN 10.9.1.1:40202', 'SYN 10.9.1.1:40202']);
    assert.match(syns[5] ?? '', /^SYN 10\.9\.1\.1:\d+$/);
    assert.equal(syns.length, 6);
    // A fixed source port ends with RST (no TIME_WAIT to refuse the next probe); the unmarked probe went over b0.
    assert.deepEqual(onB1.segments.filter((x) => x.endsWith(':40200')), ['SYN 10.9.1.1:40200', 'RST 10.9.1.1:40200', 'SYN 10.9.1.1:40200', 'RST 10.9.1.1:40200']);
    // Only SYNs are judged on b0: an RST the kernel sends for a server segment that arrives after a
    // probe's socket is gone has no socket, so no mark, and leaves by the unmarked route (CI saw one).
    const b0syns = onB0.segments.filter((x) => x.startsWith('SYN'));
    assert.equal(b0syns.length, 1, onB0.segments.join(', '));
    assert.match(b0syns[0]!, /^SYN 10\.9\.0\.1:\d+$/);
  } finally { onB0.stop(); onB1.stop(); server.close(); server.closeAllConnections(); }
});

test('loopNow is the loop\'s cached time: unchanged within a tick, advanced by the next iteration like the real clock', async () => {
  const a = loopNow();
  const spinUntil = performance.now() + 30;
  while (performance.now() < spinUntil) { /* busy: the loop time does not move meanwhile */ }
  assert.equal(loopNow(), a);
  await new Promise((r) => setTimeout(r, 1)); // libuv refreshes its time before it runs timers
  const t0 = performance.now(), l0 = loopNow();
  assert.ok(l0 > a, 'the next iteration did not advance the loop time');
  await new Promise((r) => setTimeout(r, 100));
  const dl = loopNow() - l0, dt = performance.now() - t0;
  assert.ok(Math.abs(dl - dt) <= 15, `loop time moved ${dl} ms while the clock moved ${dt} ms`);
});
