// Diagnostics: the peers an instance hears (bounded), the split-brain rule (RFC 5798 §6.4.3 and the
// §6.1 Master_Down_Interval, numbers worked from the RFC's formulas), the priority arithmetic as the
// engine computes it, rate-limited drop lines at debug level, and how status and metrics show them.
// Adverts are keepalived 2.2.7's own, from the captured vectors (test/vectors/vrrp).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PeerTable } from '../../vrrp/peers.js';
import { SplitBrainDetector } from '../../vrrp/split-brain.js';
import { priorityArithmetic } from '../../vrrp/priority-terms.js';
import { effectivePriority } from '../../vrrp/engine.js';
import { ChannelDropLog } from '../../vrrp/drop-log.js';
import { InstanceDiagnostics } from '../../vrrp/diagnostics.js';
import { parseIpv4Datagram, parseVrrp, type VrrpAdvertisement } from '../../vrrp/packet.js';
import { newDropCounters } from '../../vrrp/socket.js';
import { vrrpLogRecord } from '../../src/daemon/vrrp-log.js';
import { buildStatus, renderStatus, priorityText } from '../../src/control/status.js';
import { createRegistry } from '../../src/metrics/index.js';
import { fakeTarget } from './control-fixture.js';

const vectorDir = fileURLToPath(new URL('../../../test/vectors/vrrp/', import.meta.url));
/** keepalived 2.2.7's v3 adverts (vrid 53, priority 200, advert_int 0.5) as captured, with tshark's reading. */
function keepalivedAdverts(): { p: VrrpAdvertisement; tshark: Record<string, string> }[] {
  const v = JSON.parse(readFileSync(`${vectorDir}v3-ipv4.json`, 'utf8')) as { packets: { hex: string; tshark: Record<string, string> }[] };
  return v.packets.map(({ hex, tshark }) => {
    const d = parseIpv4Datagram(Uint8Array.from(Buffer.from(hex, 'hex')));
    assert.ok(d.ok);
    const r = parseVrrp(d.datagram.payload, { family: 'ipv4', src: d.datagram.src, dst: d.datagram.dst, ttlOrHopLimit: d.datagram.ttl });
    assert.ok(r.ok);
    return { p: r.packet, tshark };
  });
}

test('peers: keepalived\'s adverts recorded with what tshark read from them; a flood of forged sources cannot grow the table or push out a live peer', () => {
  const t = new PeerTable();
  const ads = keepalivedAdverts();
  ads.forEach(({ p }, i) => t.record(p.src, p, 1000 + i * 500));
  const [k] = t.list();
  const last = ads.at(-1)!.tshark;
  assert.equal(k?.address, last['ip.src']);
  assert.equal(k?.priority, Number(last['vrrp.prio']), 'the last one is the priority-0 keepalived sends on SIGTERM');
  assert.equal(k?.advertIntervalMs, Number(ads[0]!.tshark['vrrp.short_adver_int']) * 10);
  assert.equal(k?.version, 3);
  assert.deepEqual([k?.count, k?.firstAt, k?.lastAt, k?.dropped], [ads.length, 1000, 1000 + (ads.length - 1) * 500, null]);

  // 100,000 forged sources, the real peer advertising between every 10 of them.
  const real = ads[0]!.p;
  for (let i = 0; i < 100_000; i++) {
    t.record(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, { priority: 254, advertIntervalMs: 10, version: 3 }, 5000 + i);
    if (i % 1000 === 0) t.record(real.src, real, 5000 + i);
  }
  assert.equal(t.size, 16);
  assert.ok(t.get(real.src), 'the live peer is still there');
  assert.equal(t.list()[0]!.address, '10.1.134.159', 'most recent first');
  assert.throws(() => new PeerTable(0), RangeError);
});

// RFC 5798 §6.1 at 100 ms: Master_Down_Interval = 300 + (256 - priority) * 100 / 256 ms.
const MDI_80 = 300 + (176 * 100) / 256;  // 368.75

test('split brain, we are MASTER: a lower router that keeps advertising for a Master_Down_Interval is not hearing us; raised once, cleared a Master_Down_Interval after it stops', () => {
  const d = new SplitBrainDetector(3, '192.0.2.1');
  assert.equal(d.self(true, 100, 100, 0), null);
  // A router that heard us would have become Backup at our first advert (§6.4.3) and fallen silent.
  for (const t of [0, 100, 200, 300]) assert.equal(d.advert('192.0.2.2', 80, 100, t), null, `t=${t}: overlap ${t} < ${MDI_80}`);
  const raised = d.advert('192.0.2.2', 80, 100, 400);
  assert.equal(raised?.type, 'raised');
  assert.deepEqual(raised?.type === 'raised' && raised.masters.map((m) => [m.address, m.priority, m.self]), [['192.0.2.1', 100, true], ['192.0.2.2', 80, false]]);
  assert.equal(d.advert('192.0.2.2', 80, 100, 500), null, 'raised once');
  assert.deepEqual(d.status(), { active: true, since: 400, masters: [
    { address: '192.0.2.1', priority: 100, self: true, since: 0 }, { address: '192.0.2.2', priority: 80, self: false, since: 0 }], raised: 1, clearedAt: null });
  // It stops at 500: the alarm holds until its Master_Down_Interval has passed.
  assert.equal(d.nextCheckAt(), 500 + MDI_80);
  assert.equal(d.evaluate(500 + MDI_80), null);
  const cleared = d.evaluate(500 + MDI_80 + 0.001);
  assert.equal(cleared?.type, 'cleared');
  assert.equal(cleared?.type === 'cleared' && cleared.remaining[0]?.self, true);
  assert.deepEqual([d.status().active, d.status().raised, d.status().clearedAt], [false, 1, 500 + MDI_80 + 0.001]);
  assert.equal(d.nextCheckAt(), null);
});

test('split brain: handovers are not one (preemption with an advert in flight, failover, priority 0)', () => {
  // Preemption: the old master B (80) advertised for seconds; we preempt at 1000; its advert crossing
  // ours leaves at 1000.5, then it is Backup and silent.
  const a = new SplitBrainDetector(3, '192.0.2.1');
  for (let t = 0; t <= 1000; t += 100) a.advert('192.0.2.2', 80, 100, t);
  a.self(true, 100, 100, 1000);
  assert.equal(a.advert('192.0.2.2', 80, 100, 1000.5), null);
  for (let t = 1000.5; t < 3000; t += 50) assert.equal(a.evaluate(t), null);
  assert.equal(a.status().raised, 0);

  // Failover: master A (100) dies after its advert at 0; B (80) takes over one Master_Down_Interval later.
  const b = new SplitBrainDetector(3, '192.0.2.9');
  for (let t = -1000; t <= 0; t += 100) b.advert('192.0.2.1', 100, 100, t);
  for (let t = MDI_80; t < 3000; t += 100) assert.equal(b.advert('192.0.2.2', 80, 100, t), null, `t=${t}`);

  // A master leaving with priority 0 (§6.4.3) ends its run at once.
  const c = new SplitBrainDetector(3, '192.0.2.1');
  c.self(true, 100, 100, 0);
  for (const t of [0, 100, 200, 300]) c.advert('192.0.2.2', 80, 100, t);
  assert.equal(c.advert('192.0.2.2', 0, 100, 350), null);
  for (let t = 400; t < 2000; t += 50) assert.equal(c.evaluate(t), null);
  // Back as master at 2000: a new run, measured from 2000.
  assert.equal(c.advert('192.0.2.2', 80, 100, 2000), null);
  assert.equal(c.advert('192.0.2.2', 80, 100, 2368), null);
  assert.equal(c.advert('192.0.2.2', 80, 100, 2369)?.type, 'raised');
});

test('split brain, we are BACKUP: two other sources advertising together; a silent gap longer than a source\'s Master_Down_Interval starts its run over', () => {
  const d = new SplitBrainDetector(3, '192.0.2.9');
  d.self(false, 50, 100, 0);
  let change = null;
  for (let t = 0; t <= 400 && !change; t += 100) {
    change = d.advert('192.0.2.1', 100, 100, t) ?? d.advert('192.0.2.2', 80, 100, t + 1);
    if (change) assert.equal(t, 400, 'raised once the overlap (t + 1 - 1 = t) reaches 368.75');
  }
  assert.equal(change?.type, 'raised');
  assert.deepEqual(d.status().masters.map((m) => m.address), ['192.0.2.1', '192.0.2.2']);
  // 192.0.2.2 falls silent after 401: cleared at 401 + its MDI, while 192.0.2.1 goes on.
  let cleared = null;
  for (let t = 500; t < 1000 && !cleared; t += 10) cleared = d.advert('192.0.2.1', 100, 100, t);
  assert.equal(cleared?.type, 'cleared');
  assert.ok(cleared!.at > 401 + MDI_80 && cleared!.at <= 401 + MDI_80 + 10);
  // It comes back after a gap: a new run, so a new Master_Down_Interval of overlap before a new alarm.
  for (let t = Math.ceil(cleared!.at / 100) * 100; t <= 1300; t += 100) {
    assert.equal(d.advert('192.0.2.1', 100, 100, t), null);
    if (t >= 1000) assert.equal(d.advert('192.0.2.2', 80, 100, t), null);
  }
  assert.equal(d.advert('192.0.2.2', 80, 100, 1369), null, 'overlap min(1300, 1369) - 1000 = 300');
  assert.equal(d.advert('192.0.2.1', 100, 100, 1369)?.type, 'raised', 'overlap 1369 - 1000 = 369 >= 368.75');
  assert.equal(d.status().raised, 2);
});

test('split brain: a flood of forged sources keeps the detector bounded; two real masters are still found', () => {
  const d = new SplitBrainDetector(3, '192.0.2.1', 16);
  d.self(true, 100, 100, 0);
  let raised = 0;
  for (let i = 0; i < 20_000; i++) {
    const t = i * 0.05;
    if (d.advert(`10.0.${(i >> 8) & 255}.${i & 255}`, 200, 100, t)?.type === 'raised') raised++;
    if (i % 2000 === 0 && d.advert('192.0.2.2', 80, 100, t)?.type === 'raised') raised++;
  }
  assert.equal(raised, 1, 'each forged source sent one advert; the real one kept advertising with us');
  assert.equal(d.status().masters.filter((m) => !m.self).length <= 16, true);
});

test('priority arithmetic: keepalived\'s tracking rules, the same result as the engine\'s effectivePriority', () => {
  // keepalived.conf(5) track_script: "weight ... a positive weight is added while OK, a negative one while KO"; 0: FAULT.
  const a = priorityArithmetic(100, [
    { key: 'script:chk_nginx', weight: -10, up: false },
    { key: 'interface:eth1', weight: 20, up: true },
    { key: 'interface:eth0', weight: undefined, up: true },
    { key: 'vs:web', weight: -30, up: true },
    { key: 'script:slow', weight: 5, up: null },
  ]);
  assert.deepEqual(a.terms.map((t) => t.contribution), [-10, 20, 0, 0, 0]);
  assert.deepEqual([a.base, a.sum, a.priority, a.clamped, a.owner], [100, 110, 110, false, false]);
  assert.equal(priorityArithmetic(250, [{ key: 'interface:eth1', weight: 20, up: true }]).priority, 254, 'held within 1..254');
  assert.equal(priorityArithmetic(255, [{ key: 'interface:eth1', weight: -20, up: false }]).priority, 255, 'an owner ignores weights');
  const f = priorityArithmetic(100, [{ key: 'interface:eth0', weight: 0, up: false }]);
  assert.equal(f.terms[0]!.fault, true);
  assert.equal(priorityText(100, f, ['track']), 'priority 100 = 100 base; fault causes: track (interface eth0 down)');
  assert.equal(priorityText(90, a, []),
    'priority 110 = 100 base - 10 (script chk_nginx down) + 20 (interface eth1 up); the machine holds 90; ' +
    'no effect now: interface eth0 up (fault when down), vs web up (weight -30), script slow unknown (weight +5); fault causes: none');
  // Every combination the engine can see: the sum shown is what VRRP used.
  const weights = [undefined, 0, -254, -10, 1, 10, 200];
  const ups = [true, false, null];
  let n = 0;
  for (const base of [1, 50, 100, 254, 255]) {
    for (const w1 of weights) for (const u1 of ups) for (const w2 of weights) for (const u2 of ups) {
      const items = [{ key: 'a:1', weight: w1, up: u1 }, { key: 'b:2', weight: w2, up: u2 }];
      const e = effectivePriority(base, items);
      const p = priorityArithmetic(base, items);
      assert.equal(p.priority, e.priority, JSON.stringify({ base, items }));
      assert.equal(p.terms.some((t) => t.fault), e.fault, JSON.stringify({ base, items }));
      n++;
    }
  }
  assert.equal(n, 5 * 21 * 21);
});

test('channel drops: logged by reason at debug level, the first at once, then one line a minute with the count', () => {
  const lines: string[] = [];
  let now = 0;
  const log = new ChannelDropLog((l) => lines.push(l), 60_000, () => now);
  const ch = { drops: newDropCounters() };
  ch.drops.vrid_unknown = 5; // before the first reading: a baseline, not logged
  log.poll([['eth0/ipv4', ch]]);
  assert.deepEqual(lines, []);
  ch.drops.vrid_unknown++;
  now = 100; log.poll([['eth0/ipv4', ch]]);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^vrrp channel eth0\/ipv4: dropped 1 packet: vrid_unknown \(No instance on this interface uses this virtual router ID\.\)$/);
  for (let i = 1; i <= 600; i++) { ch.drops.vrid_unknown += 10; ch.drops.checksum_invalid += i === 1 ? 1 : 0; now = 100 + i * 100; log.poll([['eth0/ipv4', ch]]); }
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[1]!, /dropped 1 packet: checksum_invalid/);
  assert.match(lines[2]!, /^vrrp channel eth0\/ipv4: dropped 6000 packets in the last 60 s: vrid_unknown/);
  for (const l of lines) assert.equal(vrrpLogRecord(l).level, 'debug');
});

test('instance diagnostics: drops logged once per reason (debug), refused adverts still count as a master, split-brain lines at warn', async () => {
  const lines: string[] = [];
  let now = 1000;
  const d = new InstanceDiagnostics({ name: 'vi_1', version: 3, vrid: 53, interface: 'eth0', primaryAddress: '192.0.2.9', advertIntervalMs: 500, priority: () => 150, log: (l) => lines.push(l) },
    { now: () => now, origin: Date.UTC(2026, 11, 3) });
  try {
    const [{ p }] = keepalivedAdverts();
    const t0 = now;
    for (let i = 0; i < 100; i++) d.dropped(p!, 'version_mismatch', 'VRRP version 3, configured 2', t0 + i);
    d.dropped(p!, 'own_source', 'ours', t0);
    assert.equal(lines.length, 2);
    assert.equal(lines[0], 'vi_1: dropped advert from 192.0.2.1 (vrid 53, priority 200, v3): version_mismatch: VRRP version 3, configured 2');
    assert.equal(vrrpLogRecord(lines[0]!).level, 'debug');
    assert.deepEqual(vrrpLogRecord(lines[0]!).fields, { instance: 'vi_1' });
    assert.equal(d.peers.get('192.0.2.1')?.dropped, 'version_mismatch');
    assert.equal(d.peers.size, 1, 'our own looped-back adverts are not a peer');
    // We are master and its adverts (which we refuse) go on: a split brain the wire shows and VRRP cannot.
    now = 2000;
    d.state('master');
    for (let i = 0; i <= 4; i++) d.dropped(p!, 'version_mismatch', 'v', now = 2000 + i * 500);
    const alarm = lines.find((l) => l.includes('SPLIT BRAIN'));
    assert.equal(alarm, 'vi_1: SPLIT BRAIN: 192.0.2.1 (priority 200) and this router (192.0.2.9, priority 150) advertise as master for vrid 53 on eth0 at once: they do not hear, or refuse, each other\'s adverts');
    assert.equal(vrrpLogRecord(alarm!).level, 'warn');
    assert.equal(d.splitBrain.active, true);
    assert.equal(d.splitBrain.since, Date.UTC(2026, 11, 3) + 4000, 'overlap 4000 - 2000 >= max(1609.375, 1707.03) first at the advert of 4000');
    now = 4100;
    d.state('backup');
    assert.equal(d.splitBrain.active, false);
    assert.equal(lines.at(-1), 'vi_1: split brain over after 0.1 s: 192.0.2.1 (priority 200) is the only master now');
  } finally { d.stop(); }
});

test('status: the arithmetic, peers, split brain and every drop reason in --json; readable lines; metrics', async () => {
  const base = fakeTarget();
  const vi = [...base.engine!.instances.values()][0]!;
  const now = Date.UTC(2026, 10, 25, 9, 2, 3);
  const inst = {
    ...vi,
    peers: [{ address: '192.0.2.2', priority: 80, advertIntervalMs: 100, version: 3 as const, firstAt: now - 60_000, lastAt: now - 300, count: 1234, dropped: null },
      { address: '192.0.2.3', priority: 100, advertIntervalMs: 1000, version: 2 as const, firstAt: now - 5000, lastAt: now - 700, count: 5, dropped: 'auth_failure' }],
    splitBrain: { active: true, since: now - 4000, raised: 1, clearedAt: null, masters: [
      { address: '10.0.0.2', priority: 140, self: true, since: now - 9000 }, { address: '192.0.2.3', priority: 100, self: false, since: now - 5000 }] },
    priorityTerms: priorityArithmetic(150, [{ key: 'script:chk_nginx', weight: -10, up: false }, { key: 'interface:eth0', weight: undefined, up: true }]),
  };
  const channels = new Map([['eth0/ipv4', { opts: { ifname: 'eth0', family: 'ipv4' as const }, received: 99, drops: { ...newDropCounters(), vrid_unknown: 3 }, socketDrops: 0 }]]);
  let refreshed = 0;
  const engine = { instances: new Map([['VI_1', inst]]), channels, giveUp: () => true, status: async () => { refreshed++; return []; } };
  const st = await buildStatus({ ...base, engine }, now);
  assert.equal(refreshed, 1, 'a fresh snapshot from the VRRP thread first');
  const v = st.vrrp[0]!;
  assert.deepEqual(v.priorityArithmetic?.terms.map((t) => [t.key, t.contribution]), [['script:chk_nginx', -10], ['interface:eth0', 0]]);
  assert.deepEqual(v.peers?.map((p) => [p.address, p.ageMs, p.count, p.dropped]), [['192.0.2.2', 300, 1234, null], ['192.0.2.3', 700, 5, 'auth_failure']]);
  assert.equal(v.splitBrain?.since, '2026-11-25T09:01:59.000Z');
  for (const r of ['version_mismatch', 'family_mismatch', 'auth_type_mismatch', 'auth_failure', 'advert_interval_mismatch', 'own_source']) assert.equal(typeof v.counters.drops[r], 'number', r);
  const [ch] = st.vrrpChannels ?? [];
  assert.deepEqual([ch?.interface, ch?.family, ch?.received, ch?.socketDrops, ch?.drops.vrid_unknown], ['eth0', 'ipv4', 99, 0, 3]);
  for (const r of ['ttl_invalid', 'too_short', 'version_invalid', 'type_invalid', 'length_mismatch', 'checksum_invalid', 'auth_type_unsupported', 'ip_header_invalid']) assert.equal(ch?.drops[r], 0, r);
  assert.deepEqual(JSON.parse(JSON.stringify(st)), st);

  const lines = renderStatus(st).split('\n');
  const at = lines.findIndex((l) => l.startsWith('  VI_1  MASTER'));
  assert.deepEqual(lines.slice(at + 2, at + 7), [
    '    priority 140 = 150 base - 10 (script chk_nginx down); no effect now: interface eth0 up (fault when down); fault causes: none',
    '    peers: 192.0.2.2 priority 80 v3 100 ms, 0.3 s ago (1234 adverts)',
    '           192.0.2.3 priority 100 v2 1000 ms, 0.7 s ago (5 adverts), REFUSED: auth_failure',
    '    SPLIT BRAIN since 2026-11-25T09:01:59.000Z: this router (priority 140) and 192.0.2.3 (priority 100) advertise as master at once',
    '    dropped: ttl 2',
  ]);
  assert.ok(lines.includes('  channel eth0/ipv4: received 99; dropped: vrid_unknown 3'));

  const { registry } = createRegistry({ config: undefined, engine: { instances: new Map([['VI_1', { ...inst, name: 'VI_1', family: 'ipv4' as const, basePriority: 150,
    counters: { ...inst.counters, transitions: {}, releasedMaster: 0, priorityZeroSent: 0, notes: {} } }]]), channels } as never }, { processMetrics: false });
  const text = await registry.metrics();
  assert.match(text, /\nlvsd_vrrp_split_brain\{vrrp_instance="VI_1",interface="eth0",vrid="51",family="ipv4"\} 1\n/);
  assert.match(text, /\nlvsd_vrrp_split_brain_raised_total\{vrrp_instance="VI_1",interface="eth0",vrid="51",family="ipv4"\} 1\n/);
  assert.match(text, /lvsd_vrrp_packets_dropped_total\{interface="eth0",family="ipv4",vrrp_instance="",reason="vrid_unknown"\} 3/);
});
