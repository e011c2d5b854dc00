// VMAC (issue #17): the rtnetlink requests against bytes iproute2 sent to the kernel, the RFC's virtual
// MACs, the config rules keepalived enforces, and the importer's use_vmac / vmac_xmit_base / use_ipvlan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertKeepalived } from './import-convert.js';
import { parseConfig } from '../../src/config/index.js';
import { encodeMessage } from '../../src/netlink/message.js';
import { IPVLAN_F_PRIVATE, MACVLAN_MODE_PRIVATE, encodeLinkCreateRequest, encodeLinkDeleteRequest, encodeLinkSetRequest } from '../../src/netlink/rtnetlink.js';
import { VMAC_ALIAS, defaultLinkName, leftoverLinks, vmacAddress, vmacPlan, vmacSysctls } from '../../vrrp/vmac.js';

// The payloads (after the 16-byte nlmsghdr) of what `ip` sent, captured on Linux 6.18 / iproute2 with
//   strace -e trace=sendmsg -xx -s 4096 ip -n NS link add link v0 name vrrp.7 address 00:00:5e:00:01:07 type macvlan mode private
// (v0: ifindex 3), `... link add link v0 name vrrp.9 type ipvlan mode l2 private`, `ip link set dev vrrp.7 up`,
// `ip link set dev vrrp.7 alias lvsd-vmac` and `ip link del vrrp.7` (vrrp.7: ifindex 4).
const hex = (s: string) => Buffer.from(s.replace(/\\x/g, ''), 'hex');
const IP_MACVLAN = hex('\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x0a\\x00\\x01\\x00\\x00\\x00\\x5e\\x00\\x01\\x07\\x00\\x00\\x08\\x00\\x05\\x00\\x03\\x00\\x00\\x00\\x0b\\x00\\x03\\x00\\x76\\x72\\x72\\x70\\x2e\\x37\\x00\\x00\\x1c\\x00\\x12\\x00\\x0b\\x00\\x01\\x00\\x6d\\x61\\x63\\x76\\x6c\\x61\\x6e\\x00\\x0c\\x00\\x02\\x00\\x08\\x00\\x01\\x00\\x01\\x00\\x00\\x00');
const IP_IPVLAN = hex('\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x05\\x00\\x03\\x00\\x00\\x00\\x0b\\x00\\x03\\x00\\x76\\x72\\x72\\x70\\x2e\\x39\\x00\\x00\\x24\\x00\\x12\\x00\\x0a\\x00\\x01\\x00\\x69\\x70\\x76\\x6c\\x61\\x6e\\x00\\x00\\x14\\x00\\x02\\x00\\x06\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x06\\x00\\x02\\x00\\x01\\x00\\x00\\x00');
const IP_UP = hex('\\x00\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x01\\x00\\x00\\x00');
const IP_ALIAS = hex('\\x00\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x0d\\x00\\x14\\x00\\x6c\\x76\\x73\\x64\\x2d\\x76\\x6d\\x61\\x63\\x00\\x00\\x00');
const IP_DEL = hex('\\x00\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00');

test('RTM_NEWLINK for a macvlan and an ipvlan: the bytes iproute2 sends (flags CREATE|EXCL as ip: 0x600)', () => {
  const mv = encodeLinkCreateRequest({ name: 'vrrp.7', link: 3, kind: 'macvlan', mode: MACVLAN_MODE_PRIVATE, address: '00:00:5e:00:01:07' });
  assert.equal(mv.type, 16);
  assert.equal(mv.flags, 0x600);
  assert.equal(mv.payload!.toString('hex'), IP_MACVLAN.toString('hex'));
  const iv = encodeLinkCreateRequest({ name: 'vrrp.9', link: 3, kind: 'ipvlan', mode: IPVLAN_F_PRIVATE });
  assert.equal(iv.payload!.toString('hex'), IP_IPVLAN.toString('hex'));
  // framed like any request: the length ip put in its header
  assert.equal(encodeMessage({ type: mv.type, flags: 5 | mv.flags!, payload: mv.payload! }).length, 92);
  assert.throws(() => encodeLinkCreateRequest({ name: 'a-name-of-16-byt', link: 3, kind: 'macvlan', mode: 1 }), /IFNAMSIZ/);
  assert.throws(() => encodeLinkCreateRequest({ name: 'x', link: 3, kind: 'macvlan', mode: 1, address: '00:00:5e:00:01' }), /Ethernet/);
});

test('RTM_NEWLINK up / alias and RTM_DELLINK by index: the bytes iproute2 sends', () => {
  assert.equal(encodeLinkSetRequest(4, { up: true }).payload!.toString('hex'), IP_UP.toString('hex'));
  assert.equal(encodeLinkSetRequest(4, { alias: 'lvsd-vmac' }).payload!.toString('hex'), IP_ALIAS.toString('hex'));
  const del = encodeLinkDeleteRequest(4);
  assert.equal(del.type, 17);
  assert.equal(del.payload!.toString('hex'), IP_DEL.toString('hex'));
  // IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE = NONE } }: 16 + 4 + 4 + 8 bytes (u8 padded)
  const g = encodeLinkSetRequest(4, { ipv6AddrGenModeNone: true }).payload!;
  assert.equal(g.subarray(16).toString('hex'), '10001a800c000a80050008000100000'.padEnd(32, '0'));
});

test('virtual MACs of RFC 5798 section 7.3 and keepalived\'s default names', () => {
  assert.equal(vmacAddress('ipv4', 7), '00:00:5e:00:01:07');
  assert.equal(vmacAddress('ipv4', 255), '00:00:5e:00:01:ff');
  assert.equal(vmacAddress('ipv6', 1), '00:00:5e:00:02:01');
  assert.throws(() => vmacAddress('ipv4', 0));
  assert.equal(defaultLinkName('ipv4', 51), 'vrrp.51');
  assert.equal(defaultLinkName('ipv6', 51), 'vrrp.51'); // keepalived 2.2.7: `ip -d link` showed vrrp.12 for an IPv6 instance with VRID 12
});

const cfg = (extra: string, vips = '[192.0.2.10/24]') => parseConfig(`vrrp_instances:
  - name: v1
    interface: eth0
    vrid: 7
    version: 3
    advert_interval: 100ms
    virtual_ips: ${vips}
${extra}`, 'x.yaml');

test('config: vmac: true / {name, xmit_base}; unicast needs xmit_base; vmac and ipvlan exclusive; hints for keepalived words', () => {
  const a = cfg('    vmac: true');
  assert.ok(a.ok, JSON.stringify(!a.ok && a.errors));
  assert.deepEqual(a.config.vrrp_instances[0]!.vmac, { xmit_base: false });
  const plan = vmacPlan(a.config.vrrp_instances[0]!)!;
  assert.deepEqual(plan.spec, { name: 'vrrp.7', kind: 'macvlan', mode: MACVLAN_MODE_PRIVATE, address: '00:00:5e:00:01:07' });
  assert.equal(plan.xmitBase, false);
  const none = cfg('');
  assert.ok(none.ok);
  assert.equal(none.config.vrrp_instances[0]!.vmac, false);
  assert.equal(vmacPlan(none.config.vrrp_instances[0]!), null);
  const b = cfg('    vmac: {name: vip7, xmit_base: true}', '[2001:db8::7/64]');
  assert.ok(b.ok, JSON.stringify(!b.ok && b.errors));
  const pb = vmacPlan(b.config.vrrp_instances[0]!)!;
  assert.equal(pb.spec.name, 'vip7');
  assert.equal(pb.spec.address, '00:00:5e:00:02:07');
  assert.equal(pb.xmitBase, true);
  const u = cfg('    vmac: true\n    unicast: {peers: [192.0.2.2]}');
  assert.ok(!u.ok);
  assert.match(JSON.stringify(u.errors), /xmit_base/);
  assert.ok(cfg('    vmac: {xmit_base: true}\n    unicast: {peers: [192.0.2.2]}').ok);
  const both = cfg('    vmac: true\n    ipvlan: {address: 192.0.2.50}');
  assert.ok(!both.ok);
  const iv4 = cfg('    ipvlan: {mode: private}');
  assert.ok(!iv4.ok);
  assert.match(JSON.stringify(iv4.errors), /needs its address/);
  const iv = cfg('    ipvlan: {name: ipv7, address: 192.0.2.50, mode: private}');
  assert.ok(iv.ok, JSON.stringify(!iv.ok && iv.errors));
  assert.deepEqual(vmacPlan(iv.config.vrrp_instances[0]!), { instance: 'v1', family: 'ipv4', xmitBase: false,
    spec: { name: 'ipv7', kind: 'ipvlan', mode: IPVLAN_F_PRIVATE }, address: { address: '192.0.2.50', prefixLength: 32 } });
  for (const [k, want] of [['use_vmac: true', /vmac/], ['vmac_xmit_base: true', /xmit_base/], ['use_ipvlan: x', /ipvlan/]] as const) {
    const r = cfg(`    ${k}`);
    assert.ok(!r.ok);
    assert.match(JSON.stringify(r.errors), want);
  }
  assert.ok(!cfg('    vmac: {name: "has space"}').ok);
});

test('sysctls keepalived sets (vrrp_if_config.c): on the VMAC and on the interface under it', () => {
  const p = vmacPlan({ name: 'v', vrid: 7, virtual_ips: [{ family: 4, address: '192.0.2.1', prefix: 24 }], vmac: { xmit_base: false } } as never)!;
  const s = vmacSysctls(p, 'eth0');
  assert.deepEqual(s.link.map((w) => `${w.key}=${w.value}`), [
    'net/ipv4/conf/vrrp.7/arp_ignore=1', 'net/ipv4/conf/vrrp.7/accept_local=1', 'net/ipv4/conf/vrrp.7/rp_filter=0',
    'net/ipv4/conf/vrrp.7/promote_secondaries=1', 'net/ipv6/conf/vrrp.7/disable_ipv6=1']);
  assert.deepEqual(s.base.map((w) => `${w.key}=${w.value}`), ['net/ipv4/conf/eth0/arp_ignore=1', 'net/ipv4/conf/eth0/arp_filter=1']);
});

test('leftovers: only links marked with lvsd\'s alias, minus those kept', () => {
  const l = (name: string, alias?: string) => ({ index: 1, name, flags: 0, up: true, lowerUp: true, operstate: 'up' as const, type: 1, ...(alias ? { alias } : {}) });
  assert.deepEqual(leftoverLinks([l('eth0'), l('vrrp.7', VMAC_ALIAS), l('vrrp.8', 'someone else'), l('vrrp.9', VMAC_ALIAS)], new Set(['vrrp.9'])).map((x) => x.name), ['vrrp.7']);
});

const imported = (text: string) => convertKeepalived(text);
const inst = (body: string, vip = '192.0.2.10/24') => `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 7\n  priority 100\n  advert_int 1\n${body}\n  virtual_ipaddress {\n    ${vip}\n  }\n}\n`;

test('import: use_vmac, use_vmac NAME, vmac_xmit_base, a MAC argument, unicast without vmac_xmit_base, use_ipvlan', () => {
  assert.deepEqual(imported(inst('  use_vmac')).config.vrrp_instances[0]!.vmac, { xmit_base: false });
  assert.deepEqual(imported(inst('  use_vmac vrrp207\n  vmac_xmit_base')).config.vrrp_instances[0]!.vmac, { name: 'vrrp207', xmit_base: true });
  const mac = imported(inst('  use_vmac vr7 02:11:22:33:44'));
  assert.deepEqual(mac.config.vrrp_instances[0]!.vmac, { name: 'vr7', xmit_base: false });
  assert.ok(mac.notes.some((n) => /MAC 02:11:22:33:44 left out/.test(n.message)), JSON.stringify(mac.notes));
  const uni = imported(inst('  use_vmac\n  unicast_src_ip 192.0.2.1\n  unicast_peer {\n    192.0.2.2\n  }'));
  assert.deepEqual(uni.config.vrrp_instances[0]!.vmac, { xmit_base: true });
  assert.ok(uni.notes.some((n) => /xmit_base: true, which keepalived requires/.test(n.message)));
  const iv = imported(inst('  use_ipvlan ipv7 192.0.2.50/24 private'));
  assert.deepEqual(iv.config.vrrp_instances[0]!.ipvlan, { name: 'ipv7', address: { family: 4, address: '192.0.2.50' }, mode: 'private' });
  const iv6 = imported(inst('  version 3\n  use_ipvlan', '2001:db8::7/64'));
  assert.deepEqual(iv6.config.vrrp_instances[0]!.ipvlan, { mode: 'bridge' });
  const stray = imported(inst('  vmac_xmit_base'));
  assert.equal(stray.config.vrrp_instances[0]!.vmac, false);
  assert.ok(stray.notes.some((n) => /vmac_xmit_base without use_vmac/.test(n.message)));
});

test('reload: turning vmac on or off, or renaming it, restarts the instance (its link is made again)', async () => {
  const { reloadPlan } = await import('../../vrrp/engine.js');
  const base = cfg('');
  const on = cfg('    vmac: true');
  const named = cfg('    vmac: {name: vip7}');
  assert.ok(base.ok && on.ok && named.ok);
  const [b, o, n] = [base, on, named].map((c) => (c as { config: { vrrp_instances: Parameters<typeof reloadPlan>[0][] } }).config.vrrp_instances[0]!);
  assert.deepEqual(reloadPlan(b!, o!), { kind: 'restart', fields: ['vmac'] });
  assert.deepEqual(reloadPlan(o!, n!), { kind: 'restart', fields: ['vmac'] });
  assert.deepEqual(reloadPlan(o!, { ...o! }), { kind: 'same' });
});
