// rtnetlink and generic netlink against the real kernel, in a fresh network namespace (sockets are
// opened inside it with setns). `ip -j` and `genl` are the independent readers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  Rtnetlink, GenericNetlink, watchRtnetlink, NetlinkError, encodeAddressRequest, IFA_F_NODAD, IFA_F_NOPREFIXROUTE,
  IFA_F_PERMANENT, NetlinkTimeoutError, RTM_GETADDR, NLM_F_DUMP, type RtnlEvent, type Link,
} from '../../src/netlink/index.js';

const ns = `lvsd-t-${randomBytes(4).toString('hex')}`;
const ip = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
const ipJson = <T>(...args: string[]) => JSON.parse(execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }) || '[]') as T;
type IpAddr = { ifname: string; addr_info: { family: string; local: string; prefixlen: number; label?: string; nodad?: boolean; noprefixroute?: boolean }[] };
const addrsOf = (dev: string) => ipJson<IpAddr[]>('addr', 'show', 'dev', dev)[0]?.addr_info.filter((a) => !a.local.startsWith('fe80')) ?? [];

let rt: Rtnetlink;
let v0: Link;

before(() => {
  execFileSync('ip', ['netns', 'add', ns]);
  ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  ip('link', 'set', 'v0', 'up');
  rt = Rtnetlink.open({ netns: ns });
});

after(() => {
  rt?.close();
  try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* already gone */ }
});

test('links listed through netlink match `ip -j link show`', async () => {
  const links = await rt.listLinks();
  const theirs = ipJson<{ ifindex: number; ifname: string; mtu: number; address: string; operstate: string; flags: string[] }[]>('link', 'show');
  assert.equal(links.length, theirs.length);
  for (const t of theirs) {
    const l = links.find((x) => x.index === t.ifindex)!;
    assert.deepEqual([l.name, l.mtu, l.mac, l.operstate.toUpperCase(), l.up], [t.ifname, t.mtu, t.address, t.operstate, t.flags.includes('UP')]);
  }
  v0 = links.find((l) => l.name === 'v0')!;
  assert.equal(v0.kind, 'veth');
  assert.deepEqual(await rt.getLink('v0'), v0);
  assert.deepEqual(await rt.getLink(v0.index), v0);
  await assert.rejects(rt.getLink('nosuchlink0'), (e: NetlinkError) => e.code === 'ENODEV');
});

test('add, list and remove IPv4 and IPv6 addresses; ip -j addr agrees at each step', async () => {
  await rt.addAddress({ ifindex: v0.index, address: '192.0.2.1', prefixLength: 24, label: 'v0:vip' });
  await rt.addAddress({ ifindex: v0.index, address: '2001:db8::1', prefixLength: 64, flags: IFA_F_NODAD | IFA_F_NOPREFIXROUTE });
  const theirs = addrsOf('v0');
  assert.deepEqual(theirs.map((a) => [a.family, a.local, a.prefixlen]).sort(), [['inet', '192.0.2.1', 24], ['inet6', '2001:db8::1', 64]]);
  assert.equal(theirs.find((a) => a.family === 'inet')!.label, 'v0:vip');
  const v6 = theirs.find((a) => a.family === 'inet6')!;
  assert.equal(v6.nodad, true);
  assert.equal(v6.noprefixroute, true);

  const ours = (await rt.listAddresses({ ifindex: v0.index })).filter((a) => !a.address.startsWith('fe80'));
  assert.deepEqual(ours.map((a) => [a.family, a.address, a.prefixLength]).sort(), [['inet', '192.0.2.1', 24], ['inet6', '2001:db8::1', 64]]);
  const o6 = ours.find((a) => a.family === 'inet6')!;
  assert.equal(o6.flags & (IFA_F_NODAD | IFA_F_NOPREFIXROUTE | IFA_F_PERMANENT), IFA_F_NODAD | IFA_F_NOPREFIXROUTE | IFA_F_PERMANENT);
  assert.equal(ours.find((a) => a.family === 'inet')!.label, 'v0:vip');
  assert.deepEqual((await rt.listAddresses({ family: 'inet6', ifindex: v0.index })).map((a) => a.family).filter((f) => f !== 'inet6'), []);

  // replace: no EEXIST, and the new flags take effect (IPv6 updates flags in place).
  await rt.replaceAddress({ ifindex: v0.index, address: '2001:db8::1', prefixLength: 64, flags: IFA_F_NODAD });
  assert.equal(addrsOf('v0').find((a) => a.family === 'inet6')!.noprefixroute, undefined);
  await rt.replaceAddress({ ifindex: v0.index, address: '192.0.2.1', prefixLength: 24, label: 'v0:vip' });

  await rt.removeAddress({ ifindex: v0.index, address: '192.0.2.1', prefixLength: 24 });
  await rt.removeAddress({ ifindex: v0.index, address: '2001:db8::1', prefixLength: 64 });
  assert.deepEqual(addrsOf('v0'), []);
});

test("kernel refusals carry errno, code and the kernel's extended-ACK message", async () => {
  await rt.addAddress({ ifindex: v0.index, address: '192.0.2.2', prefixLength: 24 });
  await assert.rejects(rt.addAddress({ ifindex: v0.index, address: '192.0.2.2', prefixLength: 24 }), (e: NetlinkError) => {
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.code, 'EEXIST');
    assert.equal(e.errno, 17);
    assert.equal(e.kernelMessage, 'ipv4: Address already assigned');
    assert.match(e.message, /ipv4: Address already assigned/);
    return true;
  });
  await assert.rejects(rt.addAddress({ ifindex: 9999, address: '192.0.2.3', prefixLength: 24 }), (e: NetlinkError) => {
    assert.equal(e.code, 'ENODEV');
    assert.equal(e.errno, 19);
    assert.equal(e.kernelMessage, 'ipv4: Device not found');
    return true;
  });
  await assert.rejects(rt.addAddress({ ifindex: 9999, address: '2001:db8::3', prefixLength: 64 }), (e: NetlinkError) => e.code === 'ENODEV');
  await assert.rejects(rt.removeAddress({ ifindex: v0.index, address: '192.0.2.99', prefixLength: 24 }), (e: NetlinkError) => {
    assert.equal(e.code, 'EADDRNOTAVAIL');
    assert.equal(e.kernelMessage, 'ipv4: Address not found');
    return true;
  });
  await rt.removeAddress({ ifindex: v0.index, address: '192.0.2.2', prefixLength: 24 });
});

test('link and address events arrive decoded, in order', async () => {
  const events: RtnlEvent[] = [];
  let resyncs = 0;
  const sub = watchRtnetlink({ event: (e) => events.push(e), resync: () => resyncs++ }, { netns: ns });
  try {
    const waitFor = async (pred: (e: RtnlEvent) => boolean) => {
      for (let i = 0; i < 200; i++) {
        const hit = events.find(pred);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.fail(`event not seen; got ${JSON.stringify(events)}`);
    };
    ip('addr', 'add', '198.51.100.7/24', 'dev', 'v0');
    const added = await waitFor((e) => e.kind === 'address' && e.action === 'new' && e.address.address === '198.51.100.7');
    assert.equal(added.kind === 'address' && added.address.ifindex, v0.index);
    ip('-6', 'addr', 'add', '2001:db8::7/64', 'dev', 'v0', 'nodad');
    await waitFor((e) => e.kind === 'address' && e.action === 'new' && e.address.address === '2001:db8::7');
    ip('addr', 'del', '198.51.100.7/24', 'dev', 'v0');
    await waitFor((e) => e.kind === 'address' && e.action === 'del' && e.address.address === '198.51.100.7');
    ip('link', 'set', 'v1', 'up');
    await waitFor((e) => e.kind === 'link' && e.link.name === 'v1' && e.link.up);
    ip('link', 'add', 'v2', 'type', 'veth', 'peer', 'name', 'v3');
    ip('link', 'del', 'v2');
    await waitFor((e) => e.kind === 'link' && e.action === 'del' && e.link.name === 'v2');
    assert.equal(resyncs, 0);
    ip('-6', 'addr', 'del', '2001:db8::7/64', 'dev', 'v0');
  } finally {
    sub.close();
  }
});

test('a batch sends many requests per datagram and reports each result on its own', async () => {
  const specs = Array.from({ length: 600 }, (_, i) => ({ ifindex: v0.index, address: `10.${1 + (i >> 8)}.${i & 255}.1`, prefixLength: 32 }));
  const reqs = specs.map((s) => encodeAddressRequest('add', s));
  reqs.splice(300, 0, encodeAddressRequest('add', specs[5]!)); // a duplicate in the middle
  const results = await rt.socket.batch(reqs);
  assert.equal(results.length, 601);
  assert.deepEqual(results.map((r, i) => (r.ok ? null : i)).filter((i) => i !== null), [300]);
  const failed = results[300]!;
  assert.ok(!failed.ok && failed.error instanceof NetlinkError && failed.error.code === 'EEXIST');
  assert.equal(addrsOf('v0').filter((a) => a.local.startsWith('10.')).length, 600);
  const removed = await rt.socket.batch(specs.map((s) => encodeAddressRequest('remove', s)), { chunk: 1000 }); // one datagram
  assert.ok(removed.every((r) => r.ok));
  assert.equal(addrsOf('v0').filter((a) => a.local.startsWith('10.')).length, 0);
});

test('ACKs lost to a receive-buffer overflow fail only their own requests (ENOBUFS), and the socket keeps working', async (t) => {
  const small = Rtnetlink.open({ netns: ns, receiveBuffer: 1 }); // the kernel's minimum, a few ACKs' worth
  try {
    const specs = Array.from({ length: 300 }, (_, i) => ({ ifindex: v0.index, address: `10.200.${i >> 8}.${i & 255}`, prefixLength: 32 }));
    const results = await small.socket.batch(specs.map((s) => encodeAddressRequest('add', s)), { chunk: 300 });
    const lost = results.filter((r) => !r.ok);
    t.diagnostic(`${results.length - lost.length} ACKs received, ${lost.length} lost`);
    assert.ok(lost.length > 0 && lost.length < 300);
    for (const r of lost) assert.ok(!r.ok && r.error.code === 'ENOBUFS');
    // Lost answers, not lost requests: the kernel applied all of them.
    assert.equal(addrsOf('v0').filter((a) => a.local.startsWith('10.200.')).length, 300);
    await small.removeAddress(specs[0]!);
    assert.equal((await small.listAddresses({ family: 'inet' })).filter((a) => a.address.startsWith('10.200.')).length, 299);
    await rt.socket.batch(specs.slice(1).map((s) => encodeAddressRequest('remove', s)));
  } finally {
    small.close();
  }
});

test('many requests and several dumps in flight on one socket all complete', async () => {
  const specs = Array.from({ length: 50 }, (_, i) => ({ ifindex: v0.index, address: `172.16.0.${i + 1}`, prefixLength: 32 }));
  const [adds, dumps] = await Promise.all([
    Promise.all(specs.map((s) => rt.addAddress(s))),
    Promise.all([rt.listAddresses(), rt.listLinks(), rt.listAddresses({ family: 'inet6' })]),
  ]);
  assert.equal(adds.length, 50);
  assert.ok(dumps[1].some((l) => l.name === 'v0'));
  assert.equal((await rt.listAddresses({ family: 'inet' })).filter((a) => a.address.startsWith('172.16.')).length, 50);
  await Promise.all(specs.map((s) => rt.removeAddress(s)));
});

test('generic netlink resolves families by name as `genl ctrl get` does, and ENOENT for missing ones', async () => {
  const genl = GenericNetlink.open({ netns: ns });
  try {
    for (const name of ['nlctrl', 'ethtool']) {
      const fam = await genl.resolveFamily(name);
      const out = execFileSync('genl', ['ctrl', 'get', 'name', name], { encoding: 'utf8' });
      const [, id, version, hdr, max] = /ID: (0x[0-9a-f]+)\s+Version: (0x[0-9a-f]+)\s+header size: (\d+)\s+max attribs: (\d+)/.exec(out)!;
      assert.deepEqual([fam.name, fam.id, fam.version, fam.hdrSize, fam.maxAttr], [name, Number(id), Number(version), Number(hdr), Number(max)]);
      for (const m of out.matchAll(/ID-(0x[0-9a-f]+)\s+name: (\S+)/g)) assert.equal(fam.multicastGroups.get(m[2]!), Number(m[1]));
    }
    assert.ok((await genl.resolveFamily('ethtool')).multicastGroups.has('monitor'));
    const all = await genl.listFamilies();
    assert.ok(all.some((f) => f.name === 'nlctrl') && all.some((f) => f.name === 'ethtool'));
    await assert.rejects(genl.resolveFamily('lvsdnofamily'), (e: NetlinkError) => e.code === 'ENOENT' && e.errno === 2);
    // Longer than GENL_NAMSIZ (16): the kernel's policy check refuses it and says so in the extended ACK.
    await assert.rejects(genl.resolveFamily('lvsd-no-such-family'), (e: NetlinkError) =>
      e.code === 'EINVAL' && e.kernelMessage === 'Attribute failed policy validation' && e.extAck.offset !== undefined);
  } finally {
    genl.close();
  }
});

test('a request the kernel never completes times out with NetlinkTimeoutError, and the socket stays usable', async () => {
  // A dump sent through request() (which waits for an ACK the kernel does not send after a dump) is a
  // real request that never completes: what a lost answer looks like.
  const started = Date.now();
  await assert.rejects(rt.socket.request({ type: RTM_GETADDR, flags: NLM_F_DUMP, payload: Buffer.alloc(8) }, { timeoutMs: 150 }),
    (e: NetlinkTimeoutError) => e instanceof NetlinkTimeoutError && e.code === 'ETIMEDOUT' && e.request.type === RTM_GETADDR);
  assert.ok(Date.now() - started >= 140);
  assert.ok((await rt.listLinks()).some((l) => l.name === 'v0'));
});

test('a closed socket rejects new and pending requests instead of hanging', async () => {
  const other = Rtnetlink.open({ netns: ns });
  const pending = other.listLinks();
  other.close();
  await assert.rejects(pending, (e: Error & { code?: string }) => e.code === 'EBADF');
  await assert.rejects(other.listLinks(), (e: Error & { code?: string }) => e.code === 'EBADF');
});
