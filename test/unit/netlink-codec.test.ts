// The netlink codec against outside vectors: the requests iproute2 sends (captured with strace, see
// test/vectors/netlink/capture.sh) must come out of lvsd's encoders byte for byte (sequence number and
// port id aside), and the kernel replies iproute2 read must decode to what iproute2 printed from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  AttributeWriter, decodeAttributes, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NetlinkDecodeError,
  decodeMessages, decodeAck, decodeDone, encodeMessage, NLMSG_ERROR, NLMSG_DONE, NLM_F_ACK_TLVS, NLM_F_CAPPED,
  frameRequest, encodeAddressRequest, decodeAddress, decodeLink, decodeEvent, encodeGetFamily, decodeFamily,
  RTM_NEWADDR, RTM_NEWLINK, RTM_DELADDR, RT_SCOPE_HOST, IFA_F_NODAD, IFA_F_NOPREFIXROUTE, GENL_ID_CTRL,
  type AddressSpec, type NetlinkRequest,
} from '../../src/netlink/index.js';

const vectors = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../test/vectors/netlink/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>[];

/** Zeroes nlmsg_seq and nlmsg_pid of every message in a datagram. */
function withoutSeqPid(b: Buffer): string {
  const c = Buffer.from(b);
  for (let off = 0; off + 16 <= c.length;) {
    const len = c.readUInt32LE(off);
    c.fill(0, off + 8, off + 16);
    if (len < 16) break;
    off += (len + 3) & ~3;
  }
  return c.toString('hex');
}

test('attribute writer: u8/u16/u32/u64, be16/be32, strings, binary and nesting follow the kernel layout', () => {
  const w = new AttributeWriter(8); // small on purpose: growth must keep earlier bytes
  w.u8(1, 0xab).u16(2, 0x1234).u32(3, 0xdeadbeef).u64(4, 0x0102030405060708n).be16(5, 80).be32(6, 0xc0000201)
    .string(7, 'wrr').binary(8, Buffer.from([1, 2, 3, 4, 5])).ip(9, '2001:db8::1').flag(10)
    .be16(11, 443, { netByteOrderFlag: true })
    .nested(12, (n) => n.u16(1, 2).nested(2, (m) => m.u32(1, 7), { flag: false }));
  const hex = w.finish().toString('hex');
  const expected = [
    '0500', '0100', 'ab000000', // nla_len 5, type 1, 1 byte + 3 padding
    '0600', '0200', '34120000',
    '0800', '0300', 'efbeadde',
    '0c00', '0400', '0807060504030201',
    '0600', '0500', '00500000', // big-endian port 80
    '0800', '0600', 'c0000201',
    '0800', '0700', '77727200', // "wrr\0"
    '0900', '0800', '0102030405000000',
    '1400', '0900', '20010db8000000000000000000000001',
    '0400', '0a00',
    '0600', '0b40', '01bb0000', // type 11 | NLA_F_NET_BYTEORDER
    '1800', '0c80', // nested, NLA_F_NESTED, 24 bytes: header + 8 + 12
    '0600', '0100', '02000000',
    '0c00', '0200', '0800', '0100', '07000000', // inner nest without the flag
  ].join('');
  assert.equal(hex, expected);
  assert.equal(w.length % 4, 0);
});

test('attribute decoder reads back types, flags and values, and keeps the last duplicate', () => {
  const w = new AttributeWriter();
  w.u32(1, 1).u32(1, 2).string(2, 'eth0').be16(3, 8080, { netByteOrderFlag: true }).u64(4, 2n ** 63n)
    .nested(5, (n) => n.nested(1, (e) => e.string(1, 'notify').u32(2, 16)).nested(2, (e) => e.string(1, 'other').u32(2, 17)))
    .ip(6, '192.0.2.1').ip(7, '::ffff:192.0.2.1');
  const a = decodeAttributes(w.finish());
  assert.equal(a.u32(1), 2);
  assert.equal(a.all(1).length, 2);
  assert.equal(a.string(2), 'eth0');
  assert.equal(a.be16(3), 8080);
  assert.equal(a.raw(3)?.netByteOrder, true);
  assert.equal(a.u64(4), 2n ** 63n);
  assert.equal(a.raw(5)?.nested, true);
  assert.deepEqual(a.nestedList(5).map((g) => [g.string(1), g.u32(2)]), [['notify', 16], ['other', 17]]);
  assert.equal(a.ip(6), '192.0.2.1');
  assert.equal(a.ip(7), '::ffff:192.0.2.1');
  assert.equal(a.u32(99), undefined);
  assert.equal(a.string(99), undefined);
  assert.throws(() => a.u16(1), NetlinkDecodeError); // a u32 read as u16
  assert.throws(() => a.ip(2), NetlinkDecodeError); // 5 bytes is no address
  assert.equal(NLA_F_NESTED | NLA_F_NET_BYTEORDER, 0xc000);
});

test('attribute decoder rejects lengths that run past the buffer or undercut the header, with NetlinkDecodeError', () => {
  assert.throws(() => decodeAttributes(Buffer.from('0900010001020304', 'hex')), NetlinkDecodeError);
  assert.throws(() => decodeAttributes(Buffer.from('0200010000000000', 'hex')), NetlinkDecodeError);
  assert.throws(() => decodeAttributes(Buffer.alloc(4), 2, 9), NetlinkDecodeError);
  // Fewer than 4 trailing bytes are tolerated, as the kernel's nla_parse does.
  assert.equal(decodeAttributes(Buffer.from('08000100010000000000', 'hex')).list.length, 1);
});

test('message framing: header layout, padding, and stream splitting with bounds checks', () => {
  const m = encodeMessage({ type: 20, flags: 0x605, seq: 7, pid: 9, payload: Buffer.from([1, 2, 3, 4, 5]) });
  assert.equal(m.toString('hex'), '15000000' + '1400' + '0506' + '07000000' + '09000000' + '0102030405' + '000000');
  const two = Buffer.concat([m, encodeMessage({ type: 3, flags: 2, seq: 8 })]);
  const msgs = decodeMessages(two);
  assert.deepEqual(msgs.map((x) => [x.type, x.flags, x.seq, x.payload.length]), [[20, 0x605, 7, 5], [3, 2, 8, 0]]);
  assert.throws(() => decodeMessages(two.subarray(0, 20)), NetlinkDecodeError);
  assert.throws(() => decodeMessages(Buffer.from('0800000000000000000000000000000000', 'hex')), NetlinkDecodeError);
});

test('capped ACK with extended-ACK TLVs (what lvsd sockets receive) decodes message, offset and missing type', () => {
  const tlv = new AttributeWriter().string(1, 'ipv4: Address already assigned').u32(2, 24).u32(5, 3).finish();
  const body = Buffer.alloc(20);
  body.writeInt32LE(-17, 0);
  body.writeUInt32LE(40, 4); body.writeUInt16LE(RTM_NEWADDR, 8); body.writeUInt32LE(77, 12);
  const m = decodeMessages(encodeMessage({ type: NLMSG_ERROR, flags: NLM_F_CAPPED | NLM_F_ACK_TLVS, seq: 77, payload: Buffer.concat([body, tlv]) }))[0]!;
  const ack = decodeAck(m);
  assert.equal(ack.errno, 17);
  assert.equal(ack.request.type, RTM_NEWADDR);
  assert.equal(ack.request.seq, 77);
  assert.deepEqual({ ...ack.extAck }, { message: 'ipv4: Address already assigned', offset: 24, missingType: 3 });
  const done = Buffer.concat([Buffer.from('fcffffff', 'hex'), new AttributeWriter().string(1, 'dump failed').finish()]);
  const d = decodeDone(decodeMessages(encodeMessage({ type: NLMSG_DONE, flags: NLM_F_ACK_TLVS | 2, payload: done }))[0]!);
  assert.equal(d.errno, 4);
  assert.equal(d.extAck.message, 'dump failed');
});

const addressSpecs: Record<string, { action: 'add' | 'remove'; spec: (ifindex: number) => AddressSpec }> = {
  'ipv4-add': { action: 'add', spec: (ifindex) => ({ ifindex, address: '192.0.2.10', prefixLength: 24 }) },
  'ipv4-add-label': { action: 'add', spec: (ifindex) => ({ ifindex, address: '192.0.2.11', prefixLength: 24, label: 'v0:vip' }) },
  'ipv4-add-host-scope': { action: 'add', spec: (ifindex) => ({ ifindex, address: '192.0.2.12', prefixLength: 32, scope: RT_SCOPE_HOST }) },
  'ipv6-add-nodad': { action: 'add', spec: (ifindex) => ({ ifindex, address: '2001:db8::10', prefixLength: 64, flags: IFA_F_NODAD }) },
  'ipv6-add-nodad-noprefixroute': { action: 'add', spec: (ifindex) => ({ ifindex, address: '2001:db8::11', prefixLength: 64, flags: IFA_F_NODAD | IFA_F_NOPREFIXROUTE }) },
  'ipv4-del': { action: 'remove', spec: (ifindex) => ({ ifindex, address: '192.0.2.10', prefixLength: 24 }) },
  'ipv6-del': { action: 'remove', spec: (ifindex) => ({ ifindex, address: '2001:db8::10', prefixLength: 64 }) },
};

for (const v of vectors('iproute2.json')) {
  test(`request bytes equal iproute2's: ${v.command as string}`, () => {
    let req: NetlinkRequest;
    if (v.name === 'genl-getfamily-nlctrl') req = encodeGetFamily('nlctrl');
    else {
      const s = addressSpecs[v.name as string];
      assert.ok(s, `no spec for vector ${v.name as string}`);
      req = encodeAddressRequest(s.action, s.spec(v.ifindex as number));
    }
    const ours = Buffer.concat(frameRequest(req, 0, false));
    assert.equal(withoutSeqPid(ours), withoutSeqPid(Buffer.from(v.hex as string, 'hex')));
  });
}

const replies = new Map(vectors('kernel-replies.json').map((v) => [v.name as string, v]));
const messagesOf = (name: string) => (replies.get(name)!.datagrams as string[]).flatMap((h) => decodeMessages(Buffer.from(h, 'hex')));

test('kernel error replies (full echo, not capped, as iproute2 gets them) carry the text iproute2 printed', () => {
  for (const [name, errno] of [['error-eexist', 17], ['error-eaddrnotavail', 99]] as const) {
    const [m] = messagesOf(name).filter((x) => x.type === NLMSG_ERROR);
    const ack = decodeAck(m!);
    assert.equal(ack.errno, errno);
    assert.equal(ack.request.type, name === 'error-eexist' ? RTM_NEWADDR : RTM_DELADDR);
    const printed = (replies.get(name)!.output as string).trim(); // "Error: ipv4: Address already assigned."
    assert.equal(`Error: ${ack.extAck.message}.`, printed);
  }
});

test('an address dump decodes to what `ip -j addr show` printed from the same bytes', () => {
  type IpAddr = { family: string; local: string; address?: string; prefixlen: number; scope: string; label?: string; nodad?: boolean; noprefixroute?: boolean };
  const printed = JSON.parse(replies.get('addr-dump')!.output as string) as { ifindex: number; addr_info: IpAddr[] }[];
  const scopes: Record<number, string> = { 0: 'global', 253: 'link', 254: 'host' };
  const ours = messagesOf('addr-dump').filter((m) => m.type === RTM_NEWADDR).map(decodeAddress)
    .map((a) => ({
      ifindex: a.ifindex, family: a.family, local: a.address, peer: a.peer, prefixlen: a.prefixLength, scope: scopes[a.scope],
      label: a.family === 'inet' ? a.label : undefined, nodad: (a.flags & IFA_F_NODAD) !== 0, noprefixroute: (a.flags & IFA_F_NOPREFIXROUTE) !== 0,
    }));
  const theirs = printed.flatMap((l) => l.addr_info.map((i) => ({
    ifindex: l.ifindex, family: i.family, local: i.local, peer: i.address, prefixlen: i.prefixlen, scope: i.scope,
    label: i.label, nodad: i.nodad === true, noprefixroute: i.noprefixroute === true,
  })));
  const key = (x: { ifindex: number; local: string }) => `${x.ifindex} ${x.local}`;
  assert.ok(theirs.length >= 5);
  assert.deepEqual([...ours].sort((a, b) => key(a).localeCompare(key(b))), [...theirs].sort((a, b) => key(a).localeCompare(key(b))));
});

test('a link dump decodes to what `ip -j -d link show` printed from the same bytes', () => {
  type IpLink = { ifindex: number; ifname: string; flags: string[]; mtu: number; operstate: string; address: string; linkinfo?: { info_kind: string } };
  const printed = JSON.parse(replies.get('link-dump')!.output as string) as IpLink[];
  const links = messagesOf('link-dump').filter((m) => m.type === RTM_NEWLINK).map(decodeLink);
  assert.equal(links.length, printed.length);
  for (const p of printed) {
    const l = links.find((x) => x.index === p.ifindex)!;
    assert.equal(l.name, p.ifname);
    assert.equal(l.mtu, p.mtu);
    assert.equal(l.operstate.toUpperCase(), p.operstate);
    assert.equal(l.mac, p.address);
    assert.equal(l.up, p.flags.includes('UP'));
    assert.equal(l.kind, p.linkinfo?.info_kind);
    assert.equal(decodeEvent({ ...messagesOf('link-dump').find((m) => m.type === RTM_NEWLINK)!, type: RTM_NEWLINK })?.kind, 'link');
  }
});

test('the nlctrl family reply decodes to what `genl ctrl get name nlctrl` printed', () => {
  const m = messagesOf('genl-nlctrl').find((x) => x.type === GENL_ID_CTRL)!;
  const fam = decodeFamily(m);
  const out = replies.get('genl-nlctrl')!.output as string;
  const [, id, version, hdr, max] = /ID: (0x[0-9a-f]+)\s+Version: (0x[0-9a-f]+)\s+header size: (\d+)\s+max attribs: (\d+)/.exec(out)!;
  assert.equal(fam.name, 'nlctrl');
  assert.equal(fam.id, Number(id));
  assert.equal(fam.version, Number(version));
  assert.equal(fam.hdrSize, Number(hdr));
  assert.equal(fam.maxAttr, Number(max));
  const [, gid, gname] = /ID-(0x[0-9a-f]+)\s+name: (\S+)/.exec(out.slice(out.indexOf('multicast groups')))!;
  assert.equal(fam.multicastGroups.get(gname!), Number(gid));
});
