// Issue #17 start-up and unicast: check_unicast_src, per-peer TTL ranges (min_ttl / max_ttl), the
// unicast TTL we send, instances without VIPs, vrrp_startup_delay; config and importer.
// Vectors from outside: keepalived 2.2.7's own unicast advert (test/vectors/vrrp, captured from the
// wire) with its TTL lowered by one as a router would (the VRRPv3 checksum does not cover the TTL,
// RFC 5798 §5.2.8), and keepalived.conf(5)'s keywords. Count 0 adverts are judged by tshark in
// vrrp-packet.test.ts (its "addresses: []" case).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../../src/config/index.js';
import { checksUnicastSource, instanceFamily } from '../../src/config/vrrp-family.js';
import type { LvsdConfig, VrrpInstanceConfig } from '../../src/config/model.js';
import { importKeepalived } from '../../src/import/index.js';
import { encodeAdvert, parseIpv4Datagram, parseVrrp, type VrrpAdvertisement } from '../../vrrp/packet.js';
import { matchInstance, type InstanceView } from '../../vrrp/match.js';
import { DROP_REASONS, INSTANCE_DROP_REASONS, REASON_SENTENCES } from '../../vrrp/reasons.js';
import { inStartupDelay, masterDownAfterDelay, startupPlan } from '../../vrrp/startup-delay.js';
import { VrrpInstance, type InstanceContext } from '../../vrrp/instance.js';
import { ttlControl } from '../../vrrp/socket.js';
import { reloadPlan } from '../../vrrp/engine.js';
import { collectVrrp } from '../../src/metrics/vrrp.js';

// ---- the receive path: keepalived's captured unicast advert -------------------------------------

const vector = JSON.parse(readFileSync(fileURLToPath(new URL('../../../test/vectors/vrrp/v3-ipv4-unicast.json', import.meta.url)), 'utf8')) as
  { packets: { hex: string; tshark: Record<string, string> }[] };
/** keepalived's advert 192.0.2.1 -> 192.0.2.2 (VRID 54), with the TTL a router `hops` away leaves. */
function captured(hops = 0): VrrpAdvertisement {
  const ip = Uint8Array.from(Buffer.from(vector.packets[0]!.hex, 'hex'));
  assert.equal(vector.packets[0]!.tshark['ip.ttl'], '255');
  ip[8] = 255 - hops; // the kernel does not check the IPv4 header checksum of what a raw socket hands us, nor do we
  const d = parseIpv4Datagram(ip);
  assert.ok(d.ok);
  // The channel's call (socket.ts): unicast TTLs are left to the instance, which knows the peers.
  const r = parseVrrp(d.datagram.payload, { family: 'ipv4', src: d.datagram.src, dst: d.datagram.dst, ttlOrHopLimit: d.datagram.ttl, checkUnicastTtl: false, unicastChecksumCompat: true });
  assert.ok(r.ok, JSON.stringify(r));
  return r.packet;
}
/** The receiving side of that capture: 192.0.2.2, peer 192.0.2.1. */
const view = (over: Partial<InstanceView> = {}): InstanceView => ({
  vrid: 54, version: 3, family: 'ipv4', priority: 100, advertIntervalMs: 1000, addresses: ['192.0.2.130'], ownAddresses: ['192.0.2.2'],
  unicastPeers: [{ address: '192.0.2.1' }], ...over,
});
function dropped(r: ReturnType<typeof matchInstance>, reason: string): void {
  assert.equal(r.accept, false, `expected ${reason}`);
  if (!r.accept) { assert.equal(r.reason, reason, r.detail); assert.ok(r.detail.length > 0); }
}

test('check_unicast_src: an advert from a source that is not a peer is dropped as unicast_src_unknown; from a peer accepted', () => {
  assert.deepEqual(matchInstance(captured(), view({ checkUnicastSource: true })), { accept: true, notes: [] });
  const other = view({ checkUnicastSource: true, unicastPeers: [{ address: '192.0.2.3' }, { address: '192.0.2.4' }] });
  dropped(matchInstance(captured(), other), 'unicast_src_unknown');
  // Off (keepalived's default): any source, as before.
  assert.equal(matchInstance(captured(), { ...other, checkUnicastSource: false }).accept, true);
  // Peers written in another spelling of the same address still match (canonical text).
  assert.equal(matchInstance(captured(), view({ checkUnicastSource: true, unicastPeers: [{ address: '192.0.2.1' }] })).accept, true);
});

test('unicast TTL: 255 from a peer without a range (RFC 5798 §7.1), the peer\'s min_ttl-max_ttl when it has one', () => {
  // One router hop: TTL 254.
  dropped(matchInstance(captured(1), view()), 'ttl_invalid');
  dropped(matchInstance(captured(1), view({ unicastPeers: [] })), 'ttl_invalid');
  assert.equal(matchInstance(captured(1), view({ unicastPeers: [{ address: '192.0.2.1', minTtl: 250, maxTtl: 254 }] })).accept, true);
  assert.equal(matchInstance(captured(1), view({ unicastPeers: [{ address: '192.0.2.1', minTtl: 254 }] })).accept, true, 'max_ttl defaults to 255');
  assert.equal(matchInstance(captured(1), view({ unicastPeers: [{ address: '192.0.2.1', maxTtl: 254 }] })).accept, true, 'min_ttl defaults to 0');
  dropped(matchInstance(captured(5), view({ unicastPeers: [{ address: '192.0.2.1', minTtl: 252, maxTtl: 254 }] })), 'ttl_out_of_range');
  // A range is the peer's, whatever the hop count: keepalived checks it on every advert from it.
  dropped(matchInstance(captured(0), view({ unicastPeers: [{ address: '192.0.2.1', minTtl: 250, maxTtl: 254 }] })), 'ttl_out_of_range');
  // Another peer's range does not cover this sender.
  dropped(matchInstance(captured(1), view({ unicastPeers: [{ address: '192.0.2.9', minTtl: 0 }] })), 'ttl_invalid');
});

test('multicast adverts still need TTL 255 in parseVrrp, whatever the peers', () => {
  const msg = encodeAdvert({ version: 3, family: 'ipv4', vrid: 54, priority: 100, advertIntervalMs: 1000, addresses: ['192.0.2.130'], src: '192.0.2.1', dst: '224.0.0.18' });
  const r = parseVrrp(msg, { family: 'ipv4', src: '192.0.2.1', dst: '224.0.0.18', ttlOrHopLimit: 254, checkUnicastTtl: false });
  assert.equal(r.ok ? 'ok' : r.reason, 'ttl_invalid');
});

test('IPv6: hop limit ranges the same way', () => {
  const msg = encodeAdvert({ version: 3, family: 'ipv6', vrid: 7, priority: 100, advertIntervalMs: 100, addresses: [], src: '2001:db8::1', dst: '2001:db8::2' });
  const r = parseVrrp(msg, { family: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2', ttlOrHopLimit: 64 });
  assert.ok(!r.ok, 'parseVrrp alone is strict');
  const p = parseVrrp(msg, { family: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2', ttlOrHopLimit: 64, checkUnicastTtl: false });
  assert.ok(p.ok);
  const v6: InstanceView = { vrid: 7, version: 3, family: 'ipv6', priority: 100, advertIntervalMs: 100, addresses: [], ownAddresses: [], unicastPeers: [{ address: '2001:db8:0::1' }] };
  const m = matchInstance(p.packet, v6);
  dropped(m, 'ttl_invalid');
  assert.match(!m.accept ? m.detail : '', /hop limit 64/);
  assert.equal(matchInstance(p.packet, { ...v6, unicastPeers: [{ address: '2001:db8::1', minTtl: 1 }] }).accept, true);
});

test('instances without VIPs: a count-0 advert matches an instance with none; one with VIPs notes the difference but accepts it', () => {
  const msg = encodeAdvert({ version: 3, family: 'ipv4', vrid: 54, priority: 100, advertIntervalMs: 1000, addresses: [], src: '192.0.2.1', dst: '224.0.0.18' });
  assert.equal(msg.length, 8, 'RFC 5798 §5.2: the header alone, Count IPvX Addr 0');
  assert.equal(msg[3], 0);
  const r = parseVrrp(msg, { family: 'ipv4', src: '192.0.2.1', dst: '224.0.0.18', ttlOrHopLimit: 255 });
  assert.ok(r.ok);
  assert.deepEqual(matchInstance(r.packet, view({ addresses: [], unicastPeers: [] })), { accept: true, notes: [] });
  const withVips = matchInstance(r.packet, view({ unicastPeers: [] }));
  assert.equal(withVips.accept, true);
  assert.deepEqual(withVips.notes.map((n) => n.note), ['address_list_mismatch']);
});

test('every new drop reason has its sentence and is an instance reason (metrics labels come from the list)', () => {
  for (const r of ['unicast_src_unknown', 'ttl_out_of_range', 'startup_delay'] as const) {
    assert.ok(INSTANCE_DROP_REASONS.includes(r), r);
    assert.ok(DROP_REASONS.includes(r), r);
    assert.ok(REASON_SENTENCES[r].length > 20, r);
  }
});

// ---- sending: the unicast TTL ---------------------------------------------------------------------

test('unicast_ttl: an IP_TTL / IPV6_HOPLIMIT control message, an int as ip_cmsg_send / ip6_datagram_send_ctl read it', () => {
  assert.deepEqual(ttlControl(true, 64), { level: 0, type: 2, data: Buffer.from([64, 0, 0, 0]) }); // SOL_IP, IP_TTL
  assert.deepEqual(ttlControl(false, 10), { level: 41, type: 52, data: Buffer.from([10, 0, 0, 0]) }); // SOL_IPV6, IPV6_HOPLIMIT
});

// ---- the instance: startup delay, count 0, TTL counted where the channel counts it ----------------

function instance(yaml: string): VrrpInstanceConfig {
  const r = parseConfig(`vrrp_instances:\n  - ${yaml}\n`, 't.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config.vrrp_instances[0]!;
}

/** An unstarted instance (no VIP or packet socket) whose adverts are recorded instead of sent. */
function shellInstance(cfg: VrrpInstanceConfig, extra: Partial<InstanceContext> = {}) {
  const sent: { dst: string; bytes: Uint8Array; ttl: number | undefined }[] = [];
  const handlers = new Map<number, (p: VrrpAdvertisement, rx: number) => void>();
  const drops = { ttl_invalid: 0 } as Record<string, number>;
  const ctx = {
    rtnl: {} as never,
    channel: { handlers, drops, send: (bytes: Uint8Array, dst: string, _src: string, _tos?: number, ttl?: number) => { sent.push({ dst, bytes, ttl }); } } as never,
    link: { ifindex: 2, mac: '02:00:00:00:00:01' },
    deviceLink: () => ({ ifindex: 2, mac: '02:00:00:00:00:01' }), primaryAddress: '192.0.2.2', ownAddresses: ['192.0.2.2'], log: () => {},
    onState: () => {},
    ...extra,
  } satisfies InstanceContext;
  const inst = new VrrpInstance(cfg, ctx);
  const receive = (p: VrrpAdvertisement, rx = performance.now()) => handlers.get(cfg.vrid)!(p, rx);
  return { inst, sent, drops, receive };
}

test('startup delay (keepalived vrrp_startup_delay): BACKUP at once, adverts ignored and counted, Master_Down_Timer from the end', async () => {
  const now = performance.now();
  const until = now + 2000;
  const cfg = instance('{name: a, interface: eth0, vrid: 54, priority: 100, version: 3, advert_interval: 100ms, virtual_ips: [192.0.2.130/32], unicast: {peers: [192.0.2.1]}}');
  const { inst, sent, receive } = shellInstance(cfg, { startupDelayUntil: until });
  const plan = startupPlan(now, until, false);
  assert.deepEqual(plan, { kind: 'start', at: until });
  inst.handle({ type: 'startup' }, plan.at); // what start() does
  assert.equal(inst.state, 'backup');
  const mdi = inst.machine.masterDownIntervalMs;
  assert.equal(inst.machine.timer?.at, until + mdi, 'keepalived: delayed start + ms_down_timer');
  receive(captured(), now + 10);
  assert.equal(inst.counters.drops.startup_delay, 1);
  assert.equal(inst.counters.advertsReceived, 0);
  receive(captured(), until + 1);
  assert.equal(inst.counters.advertsReceived, 1, 'after the delay adverts count again');
  assert.equal(inst.masterAddress, '192.0.2.1');
  assert.deepEqual(sent, [], 'a backup sends nothing');
  await inst.stop();
});

test('startup delay, pure parts: an owner waits, a re-armed timer never ends the listening early, the window is half-open', () => {
  assert.deepEqual(startupPlan(100, 50, true), { kind: 'start', at: 100 }, 'delay over: start now');
  assert.deepEqual(startupPlan(100, 2100, true), { kind: 'wait', at: 2100 }, 'owner: Initialize until the end');
  assert.deepEqual(startupPlan(100, 2100, false), { kind: 'start', at: 2100 });
  // A fault cleared at 500 re-arms Master_Down_Timer for 500 + 360: held to 2100 + 360.
  assert.equal(masterDownAfterDelay(860, 500, 2100, 360), 2460);
  assert.equal(masterDownAfterDelay(3000, 500, 2100, 360), 3000);
  assert.equal(masterDownAfterDelay(2600, 2200, 2100, 360), 2600, 'armed after the delay: unchanged');
  assert.equal(inStartupDelay(2099.9, 2100), true);
  assert.equal(inStartupDelay(2100, 2100), false);
  assert.equal(inStartupDelay(5, undefined), false);
});

test('an instance without VIPs sends count-0 adverts, with the unicast TTL it is given', async () => {
  const cfg = instance('{name: a, interface: eth0, vrid: 9, priority: 200, version: 3, advert_interval: 100ms, unicast: {peers: [192.0.2.1, 192.0.2.3], ttl: 64}}');
  assert.deepEqual(cfg.virtual_ips, []);
  const { inst, sent } = shellInstance(cfg);
  assert.equal(inst.family, 'ipv4');
  inst.handle({ type: 'startup' }, 0);
  inst.handle({ type: 'timer' }, inst.machine.timer!.at);
  assert.equal(inst.state, 'master');
  assert.deepEqual(sent.map((s) => [s.dst, s.bytes[3], s.bytes.length, s.ttl]), [['192.0.2.1', 0, 8, 64], ['192.0.2.3', 0, 8, 64]]);
  await inst.stop();
});

test('instance: a unicast TTL that is not 255 counts as the channel\'s ttl_invalid; a range miss and an unknown source as the instance\'s', async () => {
  const cfg = instance('{name: a, interface: eth0, vrid: 54, version: 3, advert_interval: 100ms, virtual_ips: [192.0.2.130/32], unicast: {peers: [192.0.2.9, {address: 192.0.2.1, min_ttl: 250, max_ttl: 253}]}}');
  let check = true;
  const { inst, drops, receive } = shellInstance(cfg, { checkUnicastSource: () => check });
  assert.equal(drops.ttl_invalid, 0);
  inst.handle({ type: 'startup' });
  receive(captured(1)); // 254: above max_ttl
  assert.equal(inst.counters.drops.ttl_out_of_range, 1);
  receive(captured(2));
  assert.equal(inst.counters.advertsReceived, 1);
  const cfg2 = instance('{name: b, interface: eth0, vrid: 54, version: 3, advert_interval: 100ms, virtual_ips: [192.0.2.130/32], unicast: {peers: [192.0.2.9]}}');
  const s2 = shellInstance(cfg2, { checkUnicastSource: () => check });
  s2.inst.handle({ type: 'startup' });
  s2.receive(captured());
  assert.equal(s2.inst.counters.drops.unicast_src_unknown, 1);
  check = false; // a reload turned the global default off: read per advert
  s2.receive(captured(1));
  assert.equal(s2.drops.ttl_invalid, 1, 'counted on the channel, as for multicast');
  assert.equal(s2.inst.counters.drops.ttl_invalid, undefined);
  s2.receive(captured());
  assert.equal(s2.inst.counters.advertsReceived, 1);
  // Metrics: the new reasons are labels of lvsd_vrrp_packets_dropped_total; keepalived's ip_ttl_err carries both kinds.
  const out = new Map<string, { labels: Record<string, string | number>; value: number }[]>();
  drops.ttl_invalid = 2;
  collectVrrp({ instances: new Map([['a', inst]]), channels: new Map([['eth0/ipv4', { drops, received: 0, opts: { ifname: 'eth0', family: 'ipv4' as const } }]]) }, out);
  const value = (name: string, labels: Record<string, string | number>) =>
    out.get(name)?.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;
  assert.equal(value('lvsd_vrrp_packets_dropped_total', { vrrp_instance: 'a', reason: 'ttl_out_of_range' }), 1);
  assert.equal(value('lvsd_vrrp_packets_dropped_total', { vrrp_instance: 'a', reason: 'unicast_src_unknown' }), 0);
  assert.equal(value('lvsd_vrrp_packets_dropped_total', { vrrp_instance: 'a', reason: 'startup_delay' }), 0);
  assert.equal(value('keepalived_ip_ttl_errors_total', { iname: 'a' }), 3);
  await inst.stop(); await s2.inst.stop();
});

// ---- config ----------------------------------------------------------------------------------------

function errors(yaml: string): string[] {
  const r = parseConfig(yaml, 't.yaml');
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
}

test('config: virtual_ips may be left out; the family comes from family: or the peers, and is refused when nothing says', () => {
  const ok = (y: string) => { const r = parseConfig(y, 't.yaml'); assert.ok(r.ok, JSON.stringify(!r.ok && r.errors)); return r.config.vrrp_instances[0]!; };
  const a = ok('vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, version: 3, family: 6}\n');
  assert.deepEqual(a.virtual_ips, []);
  assert.equal(instanceFamily(a), 6);
  assert.equal(instanceFamily(ok('vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, unicast: {peers: [192.0.2.2]}}\n')), 4);
  assert.equal(instanceFamily(ok('vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, virtual_ips: []}\n'.replace('virtual_ips: []', 'virtual_ips: [], family: 4'))), 4);
  const none = errors('vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1}\n');
  assert.equal(none.length, 1);
  assert.match(none[0]!, /^vrrp_instances\[0\]\.virtual_ips: .*family: 4 or family: 6/);
  assert.match(errors('vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, family: 6, virtual_ips: [192.0.2.1/24]}\n').join(), /family: 6, but the virtual IPs are IPv4/);
  assert.match(errors('vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, family: 6}\n').join(), /IPv6 instance needs version: 3/);
});

test('config: peers as addresses or {address, min_ttl, max_ttl}; ranges turn check_source on; check_source, ttl, globals', () => {
  const r = parseConfig('global: {vrrp_startup_delay: 2.5s, vrrp_check_unicast_src: true}\nvrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, version: 3, advert_interval: 100ms, virtual_ips: [192.0.2.10/24],\n' +
    '     unicast: {ttl: 64, peers: [192.0.2.2, {address: 192.0.2.3, min_ttl: 250}]}}\n', 't.yaml');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const v = r.config.vrrp_instances[0]!;
  assert.deepEqual(v.unicast!.peers, [{ address: '192.0.2.2', family: 4 }, { address: '192.0.2.3', family: 4, min_ttl: 250 }]);
  assert.equal(v.unicast!.ttl, 64);
  assert.equal(r.config.global.vrrp_startup_delay, 2500);
  assert.equal(checksUnicastSource(v, {}), true, 'a range turns it on (keepalived)');
  assert.equal(checksUnicastSource({ unicast: { peers: [{}] } }, {}), false);
  assert.equal(checksUnicastSource({ unicast: { peers: [{}] } }, { vrrp_check_unicast_src: true }), true);
  assert.equal(checksUnicastSource({ unicast: { peers: [{}], check_source: false } }, { vrrp_check_unicast_src: true }), false);
  assert.equal(checksUnicastSource({}, { vrrp_check_unicast_src: true }), false, 'never for multicast');
  assert.match(errors('vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, virtual_ips: [192.0.2.10/24], unicast: {peers: [{address: 192.0.2.3, min_ttl: 254, max_ttl: 250}]}}\n').join(), /min_ttl 254 is above max_ttl 250/);
  assert.match(errors('vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, virtual_ips: [192.0.2.10/24], unicast: {check_source: false, peers: [{address: 192.0.2.3, max_ttl: 250}]}}\n').join(), /need check_source/);
  assert.match(errors('vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, virtual_ips: [192.0.2.10/24], unicast: {ttl: 0, peers: [192.0.2.3]}}\n').join(), /unicast\.ttl/);
  assert.match(errors('vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, virtual_ips: [192.0.2.10/24], unicast: {check_unicast_src: true, peers: [192.0.2.3]}}\n').join(), /check_source: true/);
  // The same parsed config twice is no change; family: is a restart key (unknown to the in-place list).
  const p = (y: string) => { const x = parseConfig(y, 't.yaml'); assert.ok(x.ok); return x.config.vrrp_instances[0]!; };
  const base = 'vrrp_instances:\n  - {name: a, interface: eth0, vrid: 1, version: 3, family: 4}\n';
  assert.deepEqual(reloadPlan(p(base), p(base)), { kind: 'same' });
  assert.deepEqual(reloadPlan(p(base), p(base.replace('family: 4', 'family: 6'))), { kind: 'restart', fields: ['family', 'virtual_ips (family)'] });
});

// ---- importer ---------------------------------------------------------------------------------------

const importDir = mkdtempSync(join(tmpdir(), 'lvsd-import-startup-'));
let imports = 0;
/** lvsd import of a keepalived.conf text: the YAML, the config lvsd reads from it, the skipped notes. */
function importKeepalivedText(conf: string): { yaml: string; config: LvsdConfig; skipped: string[] } {
  const f = join(importDir, `k${imports++}.conf`);
  writeFileSync(f, conf);
  const r = importKeepalived(f, undefined, () => false);
  assert.ok(r.ok);
  const v = parseConfig(r.yaml, 'k.yaml');
  assert.ok(v.ok, `lvsd refuses the import:\n${r.yaml}\n${v.ok ? '' : JSON.stringify(v.errors)}`);
  return { yaml: r.yaml, config: v.config, skipped: r.notes.filter((n) => n.kind === 'skipped').map((n) => `${n.line}: ${n.message}`) };
}

test('import: vrrp_startup_delay, vrrp_check_unicast_src, check_unicast_src, unicast_ttl, unicast_peer min_ttl/max_ttl', () => {
  const r = importKeepalivedText(`global_defs {
  vrrp_startup_delay 5.5
  vrrp_check_unicast_src
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  version 3
  advert_int 1
  check_unicast_src
  unicast_ttl 64
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2
    192.0.2.3 min_ttl 250 max_ttl 254
    192.0.2.4 max_ttl 254
  }
  virtual_ipaddress {
    192.0.2.10/24
  }
}
`);
  assert.ok(r.config, r.yaml);
  assert.equal(r.config.global.vrrp_startup_delay, 5500);
  assert.equal(r.config.global.vrrp_check_unicast_src, true);
  const u = r.config.vrrp_instances[0]!.unicast!;
  assert.deepEqual(u.peers, [{ address: '192.0.2.2', family: 4 }, { address: '192.0.2.3', family: 4, min_ttl: 250, max_ttl: 254 }, { address: '192.0.2.4', family: 4, max_ttl: 254 }]);
  assert.equal(u.check_source, true);
  assert.equal(u.ttl, 64);
  assert.deepEqual(r.skipped, []);
});

test('import: odd TTL options are reported, and keepalived\'s drop-everything range is not carried over', () => {
  const r = importKeepalivedText(`vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  unicast_ttl 0
  unicast_peer {
    192.0.2.2 min_ttl 254 max_ttl 250
    192.0.2.3 hops 2
  }
  virtual_ipaddress {
    192.0.2.10/24
  }
}
`);
  assert.ok(r.config, r.yaml);
  assert.deepEqual(r.config.vrrp_instances[0]!.unicast!.peers.map((p) => p.address), ['192.0.2.2', '192.0.2.3']);
  assert.equal(r.config.vrrp_instances[0]!.unicast!.ttl, undefined);
  assert.equal(r.skipped.length, 3, r.skipped.join('\n'));
  assert.match(r.skipped.join('\n'), /unicast_ttl.*1-255/);
  assert.match(r.skipped.join('\n'), /min_ttl 254 is above max_ttl 250/);
  assert.match(r.skipped.join('\n'), /'hops 2' not understood/);
});

test('import: instances without virtual_ipaddress as keepalived runs them (v2; v3 with no_virtual_ipaddress), refused as keepalived refuses them', () => {
  const inst = (name: string, vrid: number, body: string) => `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id ${vrid}\n${body}}\n`;
  const r = importKeepalivedText(
    inst('V2', 1, '  priority 100\n  notify_master /usr/local/bin/eni-claim\n')
    + inst('V3', 2, '  version 3\n  no_virtual_ipaddress\n  unicast_peer {\n    2001:db8::2\n  }\n')
    + inst('V3BAD', 3, '  version 3\n'));
  assert.ok(r.config, r.yaml);
  const [v2, v3] = r.config.vrrp_instances;
  assert.deepEqual([v2!.name, v2!.virtual_ips, v2!.family, v2!.version], ['V2', [], 4, 2]);
  assert.deepEqual(v2!.notify?.master, ['/usr/local/bin/eni-claim']);
  assert.deepEqual([v3!.name, v3!.virtual_ips, v3!.family, instanceFamily(v3!)], ['V3', [], undefined, 6]);
  assert.equal(r.config.vrrp_instances.length, 2);
  assert.match(r.skipped.join('\n'), /V3BAD: has no virtual addresses; keepalived refuses a VRRPv3 instance without any unless no_virtual_ipaddress/);
  assert.match(r.yaml, /# no virtual addresses: lvsd runs the election and notify commands only/);
});
