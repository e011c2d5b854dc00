// Issue #13, VRRP: hostile input must never cost a failover. The state machine on a virtual clock
// under floods of forged adverts (priority 0, lower priority, other senders, a 40.95 s interval):
// reply adverts bounded per Advertisement_Interval, scheduled adverts on their grid, a learned
// Master_Adver_Interval bounded by its ceiling, and a backup that only its own master can hurry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LEARNED_INTERVAL_CEILING_FACTOR,
  REPLY_BUDGET,
  VrrpConfigError,
  VrrpStateMachine,
  type StateMachineConfig,
  type VrrpAction,
  type VrrpEvent,
} from '../../vrrp/state-machine.js';
import { masterDownIntervalMs, skewTimeMs } from '../../vrrp/timers.js';
import { parseConfig } from '../../src/config/index.js';
import type { VrrpInstanceConfig } from '../../src/config/model.js';
import { createRegistry } from '../../src/metrics/index.js';
import { reloadPlan } from '../../vrrp/engine.js';
import { VrrpInstance } from '../../vrrp/instance.js';
import { RateLimitedLog } from '../../vrrp/log-limit.js';
import { encodeAdvert, ParsedAdvertisement, parseVrrp, type VrrpAdvertisement } from '../../vrrp/packet.js';
import { matchInstance, type InstanceView } from '../../vrrp/match.js';
import { newDropCounters } from '../../vrrp/socket.js';
import { parseProcNetRaw } from '../../vrrp/socket-drops.js';

interface Stamped { t: number; a: VrrpAction }

/** One machine; events at virtual times, its one timer fired when due (as vrrp-state-machine.test.ts). */
class Node {
  readonly m: VrrpStateMachine;
  readonly log: Stamped[] = [];
  private timerAt: number | null = null;

  constructor(config: Partial<StateMachineConfig> = {}) {
    this.m = new VrrpStateMachine({ version: 3, family: 'ipv4', priority: 100, advertIntervalMs: 100, primaryAddress: '192.0.2.1', ...config });
  }

  private apply(actions: VrrpAction[], t: number): VrrpAction[] {
    for (const a of actions) {
      this.log.push({ t, a });
      if (a.type === 'arm-timer') this.timerAt = a.at;
      if (a.type === 'cancel-timer') this.timerAt = null;
    }
    return actions;
  }

  at(t: number, event: VrrpEvent): VrrpAction[] {
    this.runUntil(t);
    return this.apply(this.m.handle(event, t), t);
  }

  runUntil(t: number): void {
    while (this.timerAt !== null && this.timerAt < t) {
      const at = this.timerAt;
      this.apply(this.m.handle({ type: 'timer' }, at), at);
    }
  }

  /** Times of adverts sent; `scheduled`: those from the timer (Adver_Timer), else replies to adverts. */
  sent(from = -Infinity, to = Infinity): number[] {
    return this.log.filter((s) => s.a.type === 'send-advert' && s.t >= from && s.t < to).map((s) => s.t);
  }
  becameMaster(): number[] {
    return this.log.filter((s) => s.a.type === 'state' && s.a.to === 'master').map((s) => s.t);
  }
}

const advert = (priority: number, src = '192.0.2.99', advertIntervalMs = 100): VrrpEvent => ({ type: 'advert', priority, advertIntervalMs, src });

/** A master of VRID at 100 ms: startup at 0, master at Master_Down_Interval, adverts on the 100 ms grid from there. */
function master(config: Partial<StateMachineConfig> = {}): { n: Node; first: number } {
  const n = new Node({ priority: 200, ...config });
  n.at(0, { type: 'startup' });
  n.runUntil(1000);
  assert.equal(n.m.state, 'master');
  return { n, first: n.becameMaster()[0]! };
}

/** Most sends in any window [t, t + width). */
function maxInWindow(times: number[], width: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= width) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

// --- 1. the master's reply adverts ----------------------------------------------------------------

for (const [what, prio] of [['priority-0', 0], ['lower-priority', 50]] as const) {
  test(`a 10 kpps flood of ${what} adverts: at most ${REPLY_BUDGET} replies per Advertisement_Interval, scheduled adverts on their grid, suppressed replies counted`, () => {
    const { n, first } = master();
    const from = 1000, to = 3000; // 2 s of one forged advert every 0.1 ms: 20,000 adverts
    let forged = 0;
    for (let t = from; t < to; t += 0.1) { n.at(t, advert(prio)); forged++; }
    n.runUntil(3500);
    assert.equal(n.m.state, 'master');
    const grid = (t: number) => Math.abs(((t - first) / 100) - Math.round((t - first) / 100)) < 1e-9;
    // Every slot of the grid got its advert, none moved or skipped.
    const scheduled = n.sent(from - 100, 3500).filter(grid);
    assert.deepEqual(scheduled.map((t) => Math.round((t - first) / 100)), Array.from({ length: scheduled.length }, (_, i) => Math.round((scheduled[0]! - first) / 100) + i));
    assert.ok(scheduled.length >= 25, `${scheduled.length} scheduled adverts`);
    const replies = n.sent(from, to).filter((t) => !grid(t));
    assert.ok(maxInWindow(replies, 100) <= REPLY_BUDGET, `max ${maxInWindow(replies, 100)} replies in 100 ms`);
    assert.ok(replies.length <= REPLY_BUDGET * (to - from) / 100 + REPLY_BUDGET, `${replies.length} replies in 2 s`);
    assert.ok(replies.length >= REPLY_BUDGET * (to - from) / 100 - 1, `${replies.length} replies: the budget is used, not starved`);
    assert.equal(n.m.counters.repliesSuppressed, forged - replies.length);
    // Every gap between two adverts stays within Advertisement_Interval.
    const all = n.sent(first, 3500);
    assert.ok(all.every((t, i) => i === 0 || t - all[i - 1]! <= 100 + 1e-9));
    if (prio === 50) {
      const announces = n.log.filter((s) => s.a.type === 'announce' && s.t >= from).length;
      assert.ok(announces <= Math.ceil((to - from) / n.m.masterDownIntervalMs), `${announces} announcements`);
    }
  });
}

test('priority-0 and lower-priority replies share one budget; a quiet interval refills it; budget 0 never replies', () => {
  const { n } = master();
  const r = (t: number, p: number) => n.at(t, advert(p)).filter((a) => a.type === 'send-advert').length;
  assert.deepEqual([r(1001, 0), r(1002, 50), r(1003, 0), r(1004, 50)], [1, 1, 0, 0]);
  assert.equal(n.m.counters.repliesSuppressed, 2);
  // 1101 is exactly one interval after the first reply: one slot free again, then the second at 1102.
  assert.deepEqual([r(1100.9, 0), r(1101, 0), r(1101.5, 50), r(1102, 0)], [0, 1, 0, 1]);
  const none = master({ replyBudget: 0 }).n;
  assert.deepEqual(none.at(1001, advert(0)).filter((a) => a.type === 'send-advert'), []);
  assert.equal(none.m.counters.repliesSuppressed, 1);
  assert.throws(() => new VrrpStateMachine({ version: 3, family: 'ipv4', priority: 100, advertIntervalMs: 100, primaryAddress: '192.0.2.1', replyBudget: -1 }), VrrpConfigError);
});

// --- 2. the Master_Adver_Interval a backup learns ---------------------------------------------------

test('a forged advert with Max Adver Int 40.95 s: the backup learns the ceiling (3 x its own interval), Master_Down_Interval bounded', () => {
  const n = new Node({ priority: 100 }); // 100 ms
  n.at(0, { type: 'startup' });
  n.at(50, advert(250, '192.0.2.99', 40_950));
  assert.equal(n.m.maxLearnedAdvertIntervalMs, LEARNED_INTERVAL_CEILING_FACTOR * 100);
  assert.equal(n.m.masterAdverIntervalMs, 300);
  const mdi = masterDownIntervalMs(3, 100, 300); // 900 + 182.8125
  assert.equal(n.m.masterDownIntervalMs, mdi);
  assert.equal(n.m.counters.intervalsClamped, 1);
  n.runUntil(5000);
  assert.deepEqual(n.becameMaster(), [50 + mdi]); // not 50 + 3 x 40950 + Skew_Time = 2 min 3 s
});

test('the ceiling: configurable; intervals up to it are learned exactly; a master that learns from a higher priority advert is bounded too; v2 untouched', () => {
  const n = new Node({ priority: 100, maxLearnedAdvertIntervalMs: 1000 });
  n.at(0, { type: 'startup' });
  n.at(10, advert(250, '192.0.2.99', 1000));
  assert.equal(n.m.masterAdverIntervalMs, 1000);
  assert.equal(n.m.counters.intervalsClamped, 0);
  n.at(20, advert(250, '192.0.2.99', 1010));
  assert.equal(n.m.masterAdverIntervalMs, 1000);
  assert.equal(n.m.counters.intervalsClamped, 1);
  n.m.setMaxLearnedAdvertInterval(2000); // reload: from the next advert on
  n.at(30, advert(250, '192.0.2.99', 1500));
  assert.equal(n.m.masterAdverIntervalMs, 1500);
  n.m.setMaxLearnedAdvertInterval(undefined);
  assert.equal(n.m.maxLearnedAdvertIntervalMs, 300);
  // A master outranked by a forged advert becomes backup with the bounded interval.
  const { n: m } = master();
  m.at(2000, advert(255, '192.0.2.99', 40_950));
  assert.equal(m.m.state, 'backup');
  assert.equal(m.m.masterAdverIntervalMs, 300);
  m.runUntil(10_000);
  assert.deepEqual(m.becameMaster().filter((t) => t > 2000), [2000 + masterDownIntervalMs(3, 200, 300)]);
  assert.throws(() => new VrrpStateMachine({ version: 3, family: 'ipv4', priority: 100, advertIntervalMs: 100, primaryAddress: '192.0.2.1', maxLearnedAdvertIntervalMs: 0 }), VrrpConfigError);
  const v2 = new Node({ version: 2, advertIntervalMs: 1000 });
  v2.at(0, { type: 'startup' });
  v2.at(10, advert(250, '192.0.2.99', 1000));
  assert.equal(v2.m.masterAdverIntervalMs, 1000);
});

// --- 5. a backup that only its own master can hurry --------------------------------------------------

test('a backup ignores priority 0 from a router other than the master it follows; its master\'s priority 0 still hands over in Skew_Time', () => {
  const n = new Node({ priority: 100 });
  n.at(0, { type: 'startup' });
  n.at(10, advert(200, '192.0.2.2'));
  assert.equal(n.m.masterSource, '192.0.2.2');
  assert.deepEqual(n.at(20, advert(0, '192.0.2.99')), []);
  assert.equal(n.m.counters.foreignStopsIgnored, 1);
  assert.equal(n.m.timer!.at, 10 + masterDownIntervalMs(3, 100, 100));
  // Bytes or text, same address.
  assert.deepEqual(n.at(30, advert(0, '192.0.2.2')), [{ type: 'arm-timer', timer: 'master-down', at: 30 + skewTimeMs(3, 100, 100) }]);
  assert.equal(n.m.masterSource, null);
  n.runUntil(1000);
  assert.deepEqual(n.becameMaster(), [30 + skewTimeMs(3, 100, 100)]);
  // Before any advert (no master known) a priority 0 counts, as RFC 5798 §6.4.2 says.
  const fresh = new Node({ priority: 100 });
  fresh.at(0, { type: 'startup' });
  assert.deepEqual(fresh.at(10, advert(0, '192.0.2.99')), [{ type: 'arm-timer', timer: 'master-down', at: 10 + skewTimeMs(3, 100, 100) }]);
});

test('a backup does not let another router bring Master_Down_Timer forward (a forged 10 ms interval); a longer claim is followed until the live master\'s deadline passes it', () => {
  const n = new Node({ priority: 100 });
  n.at(0, { type: 'startup' });
  n.at(10, advert(200, '192.0.2.2'));
  const deadline = 10 + masterDownIntervalMs(3, 100, 100);
  assert.deepEqual(n.at(11, advert(150, '192.0.2.99', 10)), []);
  assert.equal(n.m.timer!.at, deadline);
  assert.equal(n.m.masterAdverIntervalMs, 100);
  assert.equal(n.m.counters.foreignEarlierIgnored, 1);
  assert.equal(n.m.masterSource, '192.0.2.2');
  // A claim with a later deadline is followed (a router that took over with a longer interval).
  n.at(20, advert(250, '192.0.2.99', 200));
  assert.equal(n.m.masterSource, '192.0.2.99');
  assert.equal(n.m.timer!.at, 20 + masterDownIntervalMs(3, 100, 200));
  // The first master's adverts go on; they are followed again once their deadline is the later one.
  for (let t = 110; t < 500; t += 100) n.at(t, advert(200, '192.0.2.2'));
  assert.equal(n.m.masterSource, '192.0.2.2');
  assert.equal(n.m.state, 'backup');
});

// --- the whole picture: a pair and a forger ------------------------------------------------------------

/** Master A (250) and backup B (200) at 100 ms on one wire, plus a forger's adverts delivered to both. */
function lan() {
  const a = new Node({ priority: 250, primaryAddress: '192.0.2.1' });
  const b = new Node({ priority: 200, primaryAddress: '192.0.2.2' });
  const nodes = [a, b];
  const deliver = (from: number, acts: VrrpAction[], t: number) => {
    for (const x of acts) {
      if (x.type !== 'send-advert') continue;
      const to = 1 - from;
      deliver(to, nodes[to]!.at(t, { type: 'advert', priority: x.priority, advertIntervalMs: 100, src: from === 0 ? '192.0.2.1' : '192.0.2.2' }), t);
    }
  };
  /** Runs both until t, exchanging what their timers send. */
  const step = (t: number) => {
    for (;;) {
      const next = nodes.map((n, i) => ({ i, at: n.m.timer?.at ?? Infinity })).sort((x, y) => x.at - y.at)[0]!;
      if (next.at >= t) break;
      const n = nodes[next.i]!;
      const before = n.log.length;
      n.runUntil(next.at + 1e-9);
      deliver(next.i, n.log.slice(before).map((s) => s.a), next.at);
    }
  };
  const forge = (t: number, ev: VrrpEvent) => { step(t); nodes.forEach((n, i) => deliver(i, n.at(t, ev), t)); };
  deliver(0, a.at(0, { type: 'startup' }), 0);
  deliver(1, b.at(0, { type: 'startup' }), 0);
  step(2000);
  assert.equal(a.m.state, 'master');
  assert.equal(b.m.state, 'backup');
  return { a, b, step, forge };
}

test('a pair under a 10 kpps forged flood (priority 0, then a lower-priority "master" with a 10 ms interval, then 40.95 s and silence): no failover while A lives', () => {
  const { a, b, step, forge } = lan();
  // Bursts of 10 ms at 10 kpps, 30 ms apart. B's Skew_Time is 21.9 ms and a 10 ms interval makes a
  // Master_Down_Interval of 32.2 ms, both shorter than the 50 ms between A's rate-limited replies:
  // without "only the master B follows can hurry it", the end of almost every burst lets B take over.
  const bursts = (from: number, to: number, ev: VrrpEvent) => {
    for (let b0 = from; b0 < to; b0 += 40) for (let t = b0; t < b0 + 10; t += 0.1) forge(t, ev);
  };
  bursts(2000, 4000, advert(0));
  bursts(4000, 6000, advert(220, '192.0.2.99', 10));
  step(7000);
  assert.deepEqual(b.becameMaster(), []);
  assert.deepEqual(a.becameMaster().length, 1);
  assert.ok(maxInWindow(a.sent(2000, 6000), 100) <= 1 + REPLY_BUDGET);
  assert.ok(b.m.counters.foreignStopsIgnored >= 4900 && b.m.counters.foreignEarlierIgnored >= 4900);
  // One forged advert outranks A with 40.95 s, then silence: someone holds the VIPs again within the
  // bounded Master_Down_Interval, not after 2 min 3 s.
  forge(7000, advert(255, '192.0.2.99', 40_950));
  assert.equal(a.m.state, 'backup');
  step(20_000);
  assert.deepEqual(a.becameMaster().filter((t) => t > 7000), [7000 + masterDownIntervalMs(3, 250, 300)]);
  assert.deepEqual(b.becameMaster(), []);
});

// --- the shell: config keys, the instance, logs and metrics ------------------------------------------

function parse(extra: string): { ok: true; ic: VrrpInstanceConfig } | { ok: false; messages: string[] } {
  const r = parseConfig(`vrrp_instances:\n  - {name: vi_1, interface: eth0, vrid: 1, advert_interval: 100ms, virtual_ips: [192.0.2.10/24]${extra}}\n`, 't.yaml');
  return r.ok ? { ok: true, ic: r.config.vrrp_instances[0]! } : { ok: false, messages: r.errors.map((e) => `${e.path}: ${e.message}`) };
}

test('config: max_learned_advert_interval (v3, at least advert_interval, at most 40.95s; absent = 3 x advert_interval in the machine), unicast_checksum_compat default true', () => {
  const ok = parse(', version: 3, max_learned_advert_interval: 500ms, unicast_checksum_compat: false');
  assert.ok(ok.ok);
  assert.equal(ok.ic.max_learned_advert_interval, 500);
  assert.equal(ok.ic.unicast_checksum_compat, false);
  const plain = parse(', version: 3');
  assert.ok(plain.ok);
  assert.equal(plain.ic.max_learned_advert_interval, undefined);
  assert.equal(plain.ic.unicast_checksum_compat, true);
  const low = parse(', version: 3, max_learned_advert_interval: 50ms');
  assert.ok(!low.ok && low.messages.some((m) => /max_learned_advert_interval: must be at least advert_interval \(100ms\)/.test(m)), JSON.stringify(low));
  const high = parse(', version: 3, max_learned_advert_interval: 41s');
  assert.ok(!high.ok && high.messages.some((m) => /max_learned_advert_interval/.test(m)), JSON.stringify(high));
  const v2 = parse(', version: 2, advert_interval: 1s, max_learned_advert_interval: 3s');
  assert.ok(!v2.ok && v2.messages.some((m) => /version 2 backups never learn the interval/.test(m)), JSON.stringify(v2));
  // Both apply in place on reload (instance.applyConfig), no restart, no failover.
  assert.deepEqual(reloadPlan(plain.ic, ok.ic), { kind: 'in-place', fields: ['max_learned_advert_interval', 'unicast_checksum_compat'] });
});

/** A VrrpInstance on a fake channel (no sockets, no VIPs): what the channel hands it, what it logs. */
function instanceOn(extra: string) {
  const r = parse(`, version: 3${extra}`);
  if (!r.ok) throw new Error(r.messages.join('; '));
  const drops = newDropCounters();
  const channel = { handlers: new Map<number, (p: VrrpAdvertisement, rx: number) => void>(), send: () => {}, drainPending: () => 0, drops, received: 0,
    opts: { ifname: 'eth0', family: 'ipv4' as const }, socketDrops: 17 };
  const lines: string[] = [];
  const noLink = { ifindex: 0x7ffffff0, mac: '02:00:00:00:00:01' };
  const inst = new VrrpInstance(r.ic, {
    rtnl: {} as never, channel: channel as never, link: noLink, deviceLink: () => noLink,
    primaryAddress: '192.0.2.1', ownAddresses: ['192.0.2.1'], log: (l) => lines.push(l), onState: () => {},
  });
  const rx = (o: { priority: number; src?: string; dst?: string; ms?: number; legacy?: boolean }) => {
    const src = o.src ?? '192.0.2.2', dst = o.dst ?? '224.0.0.18';
    const msg = encodeAdvert({ version: 3, family: 'ipv4', vrid: 1, priority: o.priority, advertIntervalMs: o.ms ?? 100, addresses: ['192.0.2.10'],
      src, dst: o.legacy ? '224.0.0.18' : dst });
    const p = parseVrrp(msg, { family: 'ipv4', src, dst, ttlOrHopLimit: 255, unicastChecksumCompat: true });
    assert.ok(p.ok);
    assert.equal(p.packet.legacyChecksum, o.legacy === true && dst !== '224.0.0.18');
    channel.handlers.get(1)!(p.packet, performance.now());
  };
  return { inst, channel, lines, rx };
}

test('unicast_checksum_compat: a v3 unicast advert with the pre-1.3.6 checksum is taken by default, refused (and counted as checksum_invalid) with false', async () => {
  const on = instanceOn('');
  on.inst.handle({ type: 'startup' });
  on.rx({ priority: 200, dst: '192.0.2.1', legacy: true });
  assert.equal(on.inst.counters.advertsReceived, 1);
  assert.equal(on.inst.masterAddress, '192.0.2.2');
  await on.inst.stop();
  const off = instanceOn(', unicast_checksum_compat: false');
  off.inst.handle({ type: 'startup' });
  off.rx({ priority: 200, dst: '192.0.2.1', legacy: true });
  off.rx({ priority: 200, dst: '192.0.2.1' });
  assert.equal(off.inst.counters.advertsReceived, 1);
  assert.equal(off.channel.drops.checksum_invalid, 1);
  // Reload in place: the running config object changes, the next advert is judged by it.
  off.inst.config.unicast_checksum_compat = true;
  off.rx({ priority: 200, dst: '192.0.2.1', legacy: true });
  assert.equal(off.inst.counters.advertsReceived, 2);
  await off.inst.stop();
});

test('instance: the machine\'s refusals are counted, logged once per kind then at most once a minute, and published as metrics', async () => {
  const { inst, channel, lines, rx } = instanceOn('');
  try {
    inst.handle({ type: 'startup' });
    rx({ priority: 200 }); // the master 192.0.2.2
    for (let i = 0; i < 50; i++) rx({ priority: 0, src: '192.0.2.99' });
    rx({ priority: 200, src: '192.0.2.99', ms: 10 });
    rx({ priority: 200, src: '192.0.2.98', ms: 40_950 });
    assert.equal(inst.masterAddress, '192.0.2.98', 'the later deadline is followed');
    assert.equal(inst.machine.masterAdverIntervalMs, 300);
    assert.deepEqual([inst.counters.foreignStopsIgnored, inst.counters.foreignEarlierIgnored, inst.counters.intervalsClamped], [50, 1, 1]);
    const hostile = lines.filter((l) => /ignored|learned as/.test(l));
    assert.equal(hostile.length, 3, hostile.join('\n'));
    assert.match(hostile[0]!, /^vi_1: priority 0 from 192\.0\.2\.99 ignored: the master is 192\.0\.2\.2; 1 so far$/);
    assert.match(hostile[2]!, /Max Adver Int 40950 ms: learned as 300 ms/);
    const { registry } = createRegistry({ config: undefined, engine: { instances: new Map([['vi_1', inst]]), channels: new Map([['eth0/ipv4', channel]]) } }, { processMetrics: false });
    const text = await registry.metrics();
    const labels = 'vrrp_instance="vi_1",interface="eth0",vrid="1",family="ipv4"';
    assert.match(text, new RegExp(`lvsd_vrrp_foreign_adverts_ignored_total\\{${labels},kind="priority_zero"\\} 50`));
    assert.match(text, new RegExp(`lvsd_vrrp_foreign_adverts_ignored_total\\{${labels},kind="earlier_master_down"\\} 1`));
    assert.match(text, new RegExp(`lvsd_vrrp_learned_interval_clamped_total\\{${labels}\\} 1`));
    assert.match(text, new RegExp(`lvsd_vrrp_replies_suppressed_total\\{${labels}\\} 0`));
    assert.match(text, /lvsd_vrrp_socket_drops_total\{interface="eth0",family="ipv4"\} 17/);
  } finally { await inst.stop(); }
});

test('RateLimitedLog: the first line of a kind at once, then one per interval with the count held back; kinds apart', () => {
  let now = 0;
  const out: string[] = [];
  const log = new RateLimitedLog((l) => out.push(l), 60_000, () => now);
  let built = 0;
  const line = (s: string) => () => { built++; return s; };
  for (let i = 0; i < 1000; i++) { log.say('a', line('a')); now += 10; } // 10 s
  log.say('b', line('b'));
  now = 60_000;
  log.say('a', line('a again'));
  assert.deepEqual(out, ['a', 'b', 'a again (999 more not logged in the last 60 s)']);
  assert.equal(built, 3, 'lines are built only when logged');
});

test('/proc/net/raw and raw6: drops by socket inode (the last column)', () => {
  const v4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  112: 00000000:0070 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123456 2 0000000000000000 42
   1: 00000000:0001 00000000:0000 07 00000000:00034000 00:00000000 00000000     0        0 99 2 0000000000000000 0
`;
  const v6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  112: 00000000000000000000000000000000:0070 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 777 2 0000000000000000 5
`;
  assert.deepEqual([...parseProcNetRaw(v4)], [[123456, 42], [99, 0]]);
  assert.deepEqual([...parseProcNetRaw(v6)], [[777, 5]]);
  assert.deepEqual([...parseProcNetRaw('garbage\n\n 1: short line\n')], []);
});

// --- 5. the receive path's cost per packet ------------------------------------------------------------

test('a parsed advert formats its addresses only when read; matchInstance judges the list on the wire bytes, the same verdicts as on text', () => {
  const parse = (addresses: string[], src = '192.0.2.3') => {
    const r = parseVrrp(encodeAdvert({ version: 3, family: 'ipv4', vrid: 1, priority: 100, advertIntervalMs: 100, addresses, src, dst: '224.0.0.18' }),
      { family: 'ipv4', src: Uint8Array.of(...src.split('.').map(Number)), dst: '224.0.0.18', ttlOrHopLimit: 255 });
    assert.ok(r.ok);
    return r.packet as ParsedAdvertisement;
  };
  const view: InstanceView = { vrid: 1, version: 3, family: 'ipv4', priority: 100, advertIntervalMs: 100, addresses: ['192.0.2.10', '192.0.2.11'], ownAddresses: ['192.0.2.1'] };
  const note = (p: VrrpAdvertisement) => matchInstance(p, view).notes.find((n) => n.note === 'address_list_mismatch')?.detail ?? null;
  const asText = (p: ParsedAdvertisement): VrrpAdvertisement => ({ ...p, addresses: p.addresses }); // a plain copy: judged on text
  for (const list of [['192.0.2.10', '192.0.2.11'], ['192.0.2.11', '192.0.2.10'], ['192.0.2.10'], ['192.0.2.10', '192.0.2.10'],
    ['192.0.2.10', '192.0.2.11', '192.0.2.12'], ['198.51.100.1'], []]) {
    const p = parse(list);
    assert.equal(note(p) === null, note(asText(parse(list))) === null, list.join(' '));
  }
  assert.equal(note(parse(['192.0.2.11', '192.0.2.10'])), null, 'order does not matter');
  assert.equal(note(parse(['192.0.2.10', '192.0.2.10'])), '2 addresses advertised, 2 configured; missing 192.0.2.11');
  // 255 addresses: the note names 8 and counts the rest.
  const many = Array.from({ length: 255 }, (_, i) => `10.0.${i}.1`);
  const d = note(parse(many))!;
  assert.match(d, /^255 addresses advertised, 2 configured; missing 192\.0\.2\.10 192\.0\.2\.11; extra 10\.0\.0\.1 .* 10\.0\.7\.1 and 247 more$/);
  const p = parse(many);
  assert.ok(p.addressBytes && p.addressBytes.length === 1020);
  assert.equal(p.addresses.length, 255);
  assert.equal(p.addresses[254], '10.0.254.1');
  p.addresses = ['192.0.2.10', '192.0.2.11']; // replaced: the bytes are forgotten, the text is judged
  assert.equal(p.addressBytes, null);
  assert.equal(note(p), null);
  // Our own source, IPv6 link-local source, from the bytes.
  assert.equal(matchInstance(parse(['192.0.2.10', '192.0.2.11'], '192.0.2.1'), view).accept, false);
});
