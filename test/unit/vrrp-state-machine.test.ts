// RFC 5798 §6.4 transitions of VrrpStateMachine on a virtual clock, with exact times asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VrrpConfigError,
  VrrpStateMachine,
  type StateMachineConfig,
  type VrrpAction,
  type VrrpEvent,
} from '../../vrrp/state-machine.js';
import { masterDownIntervalMs, skewTimeMs } from '../../vrrp/timers.js';

// --- the timeline helper ----------------------------------------------------------------------
// Plays the socket shell: delivers events at virtual times, fires the one timer the machine arms
// (optionally late, to model callback latency) and records every action with its time.

interface Stamped { t: number; a: VrrpAction }

class Timeline {
  readonly m: VrrpStateMachine;
  readonly log: Stamped[] = [];
  private timerAt: number | null = null;
  private now = 0;
  /** Extra delay of each timer callback after its deadline (callback latency). */
  lateness: (at: number) => number = () => 0;

  constructor(config: Partial<StateMachineConfig> = {}) {
    this.m = new VrrpStateMachine({
      version: 3, family: 'ipv4', priority: 100, advertIntervalMs: 1000, primaryAddress: '192.0.2.10', ...config,
    });
  }

  private apply(actions: VrrpAction[], t: number): VrrpAction[] {
    for (const a of actions) {
      this.log.push({ t, a });
      if (a.type === 'arm-timer') this.timerAt = a.at;
      if (a.type === 'cancel-timer') this.timerAt = null;
    }
    return actions;
  }

  /** Run timers due before `t`, then deliver the event at `t`. */
  at(t: number, event: VrrpEvent): VrrpAction[] {
    this.runUntil(t);
    this.now = t;
    return this.apply(this.m.handle(event, t), t);
  }

  /** Fire every timer whose (late) callback time is strictly before `t`. */
  runUntil(t: number): void {
    for (;;) {
      if (this.timerAt === null) break;
      const fire = this.timerAt + this.lateness(this.timerAt);
      if (fire >= t) break;
      this.now = fire;
      this.apply(this.m.handle({ type: 'timer' }, fire), fire);
    }
    this.now = Math.max(this.now, t);
  }

  /** Adverts from a peer every `interval` ms in [from, to). */
  adverts(from: number, to: number, interval: number, advert: Omit<Extract<VrrpEvent, { type: 'advert' }>, 'type'>): void {
    for (let t = from; t < to; t += interval) this.at(t, { type: 'advert', ...advert });
  }

  times(pred: (a: VrrpAction) => boolean): number[] {
    return this.log.filter((s) => pred(s.a)).map((s) => s.t);
  }
  becameMasterAt(): number[] {
    return this.times((a) => a.type === 'state' && a.to === 'master');
  }
  sentAt(priority?: number): number[] {
    return this.times((a) => a.type === 'send-advert' && (priority === undefined || a.priority === priority));
  }
  actionsAt(t: number): VrrpAction[] {
    return this.log.filter((s) => s.t === t).map((s) => s.a);
  }
}

const peer = (priority: number, advertIntervalMs = 1000, src = '192.0.2.20') => ({ priority, advertIntervalMs, src });

// --- formulas ---------------------------------------------------------------------------------

test('Skew_Time and Master_Down_Interval, v3 and v2, exact (no centisecond truncation)', () => {
  assert.equal(skewTimeMs(3, 100, 1000), 609.375); // (256-100)*100 cs/256 = 60.9375 cs
  assert.equal(masterDownIntervalMs(3, 100, 1000), 3609.375);
  assert.equal(masterDownIntervalMs(3, 100, 100), 360.9375);
  assert.equal(masterDownIntervalMs(3, 100, 50), 180.46875);
  assert.equal(masterDownIntervalMs(3, 254, 1000), 3007.8125);
  // v2 (RFC 3768 §6.1): Skew_Time is (256-Priority)/256 s whatever the advert interval.
  assert.equal(masterDownIntervalMs(2, 100, 1000), 3609.375);
  assert.equal(masterDownIntervalMs(2, 100, 2000), 6609.375);
  assert.equal(masterDownIntervalMs(3, 100, 2000), 7218.75);
  // keepalived 2.2.7 measured here (NOTES.md): 3609.6 / 361.2 / 180.7 ms advert gaps. Ours are
  // 0.2-0.3 ms lower: the same formula, minus keepalived's wake-up and send latency.
  for (const [ours, theirs] of [[3609.375, 3609.6], [360.9375, 361.2], [180.46875, 180.7]] as const) {
    assert.ok(theirs - ours > 0 && theirs - ours < 0.35, `${ours} vs keepalived ${theirs}`);
  }
});

test('constructor refuses impossible configurations with a typed error', () => {
  for (const bad of [{ priority: 0 }, { priority: 256 }, { advertIntervalMs: 0 }, { primaryAddress: 'x' }, { version: 4 as 3 }]) {
    assert.throws(() => new Timeline(bad), VrrpConfigError);
  }
});

// --- §6.4.1 Initialize ------------------------------------------------------------------------

test('Initialize -> Master: the address owner (255) takes over at startup and advertises every interval', () => {
  const tl = new Timeline({ priority: 255 });
  assert.deepEqual(tl.at(0, { type: 'startup' }), [
    { type: 'state', from: 'initialize', to: 'master', reason: 'startup-owner' },
    { type: 'send-advert', priority: 255 },
    { type: 'add-vips' },
    { type: 'announce' },
    { type: 'arm-timer', timer: 'adver', at: 1000 },
  ]);
  tl.runUntil(3500);
  assert.deepEqual(tl.sentAt(), [0, 1000, 2000, 3000]);
});

test('Initialize -> Backup, then Master at exactly Master_Down_Interval (v3, 1 s, priority 100: 3609.375 ms)', () => {
  const tl = new Timeline();
  assert.deepEqual(tl.at(0, { type: 'startup' }), [
    { type: 'state', from: 'initialize', to: 'backup', reason: 'startup' },
    { type: 'arm-timer', timer: 'master-down', at: 3609.375 },
  ]);
  tl.runUntil(5000);
  assert.deepEqual(tl.becameMasterAt(), [3609.375]);
  assert.deepEqual(tl.actionsAt(3609.375), [
    { type: 'state', from: 'backup', to: 'master', reason: 'master-down-timer' },
    { type: 'send-advert', priority: 100 },
    { type: 'add-vips' },
    { type: 'announce' },
    { type: 'arm-timer', timer: 'adver', at: 4609.375 },
  ]);
});

test('Master_Down timer at fast v3 intervals: 0.1 s -> 360.9375 ms, 0.05 s -> 180.46875 ms', () => {
  for (const [interval, want] of [[100, 360.9375], [50, 180.46875]] as const) {
    const tl = new Timeline({ advertIntervalMs: interval });
    tl.at(0, { type: 'startup' });
    tl.runUntil(1000);
    assert.equal(tl.becameMasterAt()[0], want);
  }
});

test('startup while the interface is down goes to Fault, not Backup', () => {
  const tl = new Timeline();
  assert.deepEqual(tl.at(0, { type: 'interface', up: false }), []);
  assert.deepEqual(tl.at(1, { type: 'startup' }), [{ type: 'state', from: 'initialize', to: 'fault', reason: 'fault' }]);
  tl.runUntil(10_000);
  assert.deepEqual(tl.becameMasterAt(), []);
});

// --- §6.4.2 Backup ----------------------------------------------------------------------------

test('Backup: each accepted advert restarts Master_Down_Timer; takeover 3609.375 ms after the last one', () => {
  const tl = new Timeline();
  tl.at(0, { type: 'startup' });
  tl.adverts(500, 3000, 1000, peer(200)); // 500, 1500, 2500
  tl.runUntil(10_000);
  assert.deepEqual(tl.becameMasterAt(), [2500 + 3609.375]);
});

test('Backup receiving priority 0: takeover after Skew_Time only (609.375 ms)', () => {
  const tl = new Timeline();
  tl.at(0, { type: 'startup' });
  tl.adverts(500, 1000, 1000, peer(200));
  assert.deepEqual(tl.at(1200, { type: 'advert', ...peer(0) }), [
    { type: 'arm-timer', timer: 'master-down', at: 1809.375 },
  ]);
  tl.runUntil(10_000);
  assert.deepEqual(tl.becameMasterAt(), [1809.375]);
});

test('Backup with preempt on: a lower-priority master is ignored and overthrown at Master_Down_Interval', () => {
  const tl = new Timeline({ priority: 150 }); // skew (256-150)/256 s = 414.0625 ms
  tl.at(0, { type: 'startup' });
  tl.adverts(500, 3400, 1000, peer(100)); // all discarded: no timer action at all
  assert.deepEqual(tl.log.filter((s) => s.t > 0), []);
  tl.runUntil(3500);
  assert.deepEqual(tl.becameMasterAt(), [3414.0625]);
  // As Master it outranks the other master and tells it at once (keepalived's "forcing new election"),
  // and announces its VIPs again (the other one announced them while it believed itself master).
  assert.deepEqual(tl.at(3500, { type: 'advert', ...peer(100) }), [{ type: 'send-advert', priority: 150 }, { type: 'announce' }]);
});

test('Backup with preempt off (nopreempt): a lower-priority master keeps its place', () => {
  const tl = new Timeline({ priority: 150, preempt: false });
  tl.at(0, { type: 'startup' });
  tl.adverts(500, 10_000, 1000, peer(100)); // 500 ... 9500
  tl.runUntil(20_000);
  assert.deepEqual(tl.becameMasterAt(), [9500 + 3414.0625]);
});

test('Backup with preempt_delay 5 s: a lower-priority master is accepted for 5 s from its first advert, then overthrown', () => {
  const tl = new Timeline({ priority: 150, preemptDelayMs: 5000 });
  tl.at(0, { type: 'startup' });
  tl.adverts(500, 10_000, 1000, peer(100));
  tl.runUntil(20_000);
  // The delay runs 500..5500: adverts at 500..4500 were accepted (timer reset); from 5500 on discarded.
  assert.deepEqual(tl.becameMasterAt(), [4500 + 3414.0625]);
});

test('preempt_delay starts at the first lower-priority advert (keepalived), not at startup', () => {
  const tl = new Timeline({ priority: 150, preemptDelayMs: 5000 });
  tl.at(0, { type: 'startup' });
  tl.adverts(500, 3000, 1000, peer(200)); // a higher master first: 500, 1500, 2500
  tl.adverts(3500, 20_000, 1000, peer(100)); // its priority drops (tracking): delay runs 3500..8500
  tl.runUntil(30_000);
  assert.deepEqual(tl.becameMasterAt(), [7500 + 3414.0625]);
});

test('Backup with equal priority stays Backup (§6.4.2 accepts priority >= local), whatever the address', () => {
  const tl = new Timeline({ primaryAddress: '192.0.2.200' });
  tl.at(0, { type: 'startup' });
  tl.adverts(500, 10_000, 1000, peer(100, 1000, '192.0.2.20'));
  tl.runUntil(10_000);
  assert.deepEqual(tl.becameMasterAt(), []);
});

test('v3 Backup learns Master_Adver_Interval from the master (RFC 5798 §6.4.2)', () => {
  const tl = new Timeline();
  tl.at(0, { type: 'startup' });
  tl.at(100, { type: 'advert', ...peer(200, 200) });
  assert.equal(tl.m.masterAdverIntervalMs, 200);
  assert.equal(tl.m.masterDownIntervalMs, 600 + 121.875);
  tl.at(150, { type: 'advert', ...peer(200, 0) }); // a broken Max Adver Int of 0 is not learned
  assert.equal(tl.m.masterAdverIntervalMs, 200);
  tl.runUntil(5000);
  assert.deepEqual(tl.becameMasterAt(), [150 + 721.875]);
  // As Master it advertises at its own configured interval, not the learned one.
  assert.deepEqual(tl.sentAt().slice(0, 3), [871.875, 1871.875, 2871.875]);
});

test('v2 Backup keeps its configured interval (mismatches are dropped before the machine)', () => {
  const tl = new Timeline({ version: 2 });
  tl.at(0, { type: 'startup' });
  tl.at(100, { type: 'advert', ...peer(200, 2000) });
  assert.equal(tl.m.masterAdverIntervalMs, 1000);
  tl.runUntil(5000);
  assert.deepEqual(tl.becameMasterAt(), [100 + 3609.375]);
  const slow = new Timeline({ version: 2, advertIntervalMs: 2000 });
  slow.at(0, { type: 'startup' });
  slow.runUntil(10_000);
  assert.deepEqual(slow.becameMasterAt(), [6609.375]); // v2 skew does not scale with the interval
});

test('priority change from tracking moves Skew_Time for the next timer', () => {
  const tl = new Timeline();
  tl.at(0, { type: 'startup' });
  tl.at(10, { type: 'priority', priority: 200 });
  assert.equal(tl.m.skewTimeMs, 218.75);
  tl.at(100, { type: 'advert', ...peer(0) });
  tl.runUntil(1000);
  assert.deepEqual(tl.becameMasterAt(), [318.75]);
  tl.at(1500, { type: 'priority', priority: -20 });
  assert.equal(tl.m.priority, 1);
  tl.at(1600, { type: 'priority', priority: Number.NaN });
  assert.equal(tl.m.priority, 1);
});

// --- §6.4.3 Master ----------------------------------------------------------------------------

function masterAt(config: Partial<StateMachineConfig> = {}): Timeline {
  const tl = new Timeline(config);
  tl.at(0, { type: 'startup' });
  tl.runUntil(4000);
  assert.equal(tl.m.state, 'master');
  return tl;
}

test('Master receiving a higher priority: Backup at once, VIPs removed, Master_Down from the learned interval', () => {
  const tl = masterAt();
  assert.deepEqual(tl.at(5000, { type: 'advert', ...peer(200, 2000) }), [
    { type: 'cancel-timer' },
    { type: 'remove-vips' },
    { type: 'state', from: 'master', to: 'backup', reason: 'higher-priority-advert' },
    { type: 'arm-timer', timer: 'master-down', at: 5000 + 7218.75 },
  ]);
});

test('Master receiving equal priority: the higher primary address wins (§6.4.3, unsigned bytes)', () => {
  const lower = masterAt({ primaryAddress: '10.0.0.2', lowerPriorityAdvert: false });
  assert.deepEqual(lower.at(5000, { type: 'advert', ...peer(100, 1000, '9.255.255.255') }), [{ type: 'announce' }]);
  assert.equal(lower.m.state, 'master');
  const higher = masterAt({ primaryAddress: '10.0.0.2' });
  const acts = higher.at(5000, { type: 'advert', ...peer(100, 1000, '10.0.0.3') });
  assert.deepEqual(acts[2], { type: 'state', from: 'master', to: 'backup', reason: 'equal-priority-higher-address' });
  const v6 = masterAt({ family: 'ipv6', primaryAddress: 'fe80::9' });
  assert.deepEqual(v6.at(5000, { type: 'advert', ...peer(100, 1000, 'fe80::10') })[2],
    { type: 'state', from: 'master', to: 'backup', reason: 'equal-priority-higher-address' });
  const v6low = masterAt({ family: 'ipv6', primaryAddress: 'fe80::9' });
  assert.deepEqual(v6low.at(5000, { type: 'advert', ...peer(100, 1000, 'fe80::8') }), [{ type: 'send-advert', priority: 100 }, { type: 'announce' }]);
});

test('Master receiving a lower priority: an extra advert at once (keepalived), or discard (RFC, lowerPriorityAdvert false)', () => {
  const tl = masterAt();
  assert.deepEqual(tl.at(5000, { type: 'advert', ...peer(99) }), [{ type: 'send-advert', priority: 100 }, { type: 'announce' }]);
  tl.runUntil(6000);
  assert.deepEqual(tl.sentAt().filter((t) => t > 4000), [4609.375, 5000, 5609.375]); // schedule unchanged
  const rfc = masterAt({ lowerPriorityAdvert: false, lowerPriorityAnnounce: false });
  assert.deepEqual(rfc.at(5000, { type: 'advert', ...peer(99) }), []);
});

test('Master receiving priority 0 answers with an advert at once; Adver_Timer keeps its schedule (keepalived; issue #13)', () => {
  const tl = masterAt(); // adverts at 3609.375, 4609.375, ...
  // RFC 5798 §6.4.3 also resets Adver_Timer; keepalived 2.2.7 does not, and neither do we: a flood of
  // priority 0 would otherwise postpone the scheduled adverts (vrrp-hostile.test.ts).
  assert.deepEqual(tl.at(5000, { type: 'advert', ...peer(0) }), [{ type: 'send-advert', priority: 100 }]);
  tl.runUntil(8000);
  assert.deepEqual(tl.sentAt().filter((t) => t > 4000), [4609.375, 5000, 5609.375, 6609.375, 7609.375]);
});

test('Adver_Timer: callback latency never accumulates; a long stall skips slots instead of bursting', () => {
  const tl = masterAt(); // first advert 3609.375
  let n = 0;
  tl.lateness = () => [7, 0.5, 13, 2, 30][n++ % 5]!;
  tl.runUntil(9000);
  const arms = tl.log.filter((s) => s.a.type === 'arm-timer' && s.t > 4000).map((s) => (s.a as { at: number }).at);
  assert.deepEqual(arms, [5609.375, 6609.375, 7609.375, 8609.375, 9609.375]);
  assert.deepEqual(tl.sentAt().filter((t) => t > 4000), [4616.375, 5609.875, 6622.375, 7611.375, 8639.375]);
  // A stall: the callback runs 3.5 intervals late -> one advert, next slot on the ideal grid.
  tl.lateness = () => 3500;
  tl.runUntil(13_200);
  assert.deepEqual(tl.actionsAt(9609.375 + 3500), [
    { type: 'send-advert', priority: 100 },
    { type: 'arm-timer', timer: 'adver', at: 13_609.375 },
  ]);
});

test('a timer callback that comes early is not acted on: the same deadline is asked for again', () => {
  const tl = new Timeline();
  tl.at(0, { type: 'startup' });
  assert.deepEqual(tl.m.handle({ type: 'timer' }, 3609), [{ type: 'arm-timer', timer: 'master-down', at: 3609.375 }]);
  assert.equal(tl.m.state, 'backup');
  const idle = new Timeline();
  assert.deepEqual(idle.m.handle({ type: 'timer' }, 5), []);
});

test('shutdown from Master: priority-0 advert, VIPs removed, back to Initialize', () => {
  const tl = masterAt();
  assert.deepEqual(tl.at(5000, { type: 'shutdown' }), [
    { type: 'cancel-timer' },
    { type: 'send-advert', priority: 0 },
    { type: 'remove-vips' },
    { type: 'state', from: 'master', to: 'initialize', reason: 'shutdown' },
  ]);
  tl.runUntil(20_000);
  assert.deepEqual(tl.sentAt().filter((t) => t > 5000), []);
  assert.deepEqual(tl.at(20_000, { type: 'advert', ...peer(200) }), []);
  assert.deepEqual(tl.at(20_001, { type: 'shutdown' }), []);
});

test('shutdown from Backup: timer cancelled, no advert', () => {
  const tl = new Timeline();
  tl.at(0, { type: 'startup' });
  assert.deepEqual(tl.at(100, { type: 'shutdown' }), [
    { type: 'cancel-timer' },
    { type: 'state', from: 'backup', to: 'initialize', reason: 'shutdown' },
  ]);
  tl.runUntil(10_000);
  assert.deepEqual(tl.becameMasterAt(), []);
});

// --- Fault --------------------------------------------------------------------------------------

test('Fault: interface down as Master drops the VIPs and stops adverts; up again -> Backup', () => {
  const tl = masterAt();
  assert.deepEqual(tl.at(5000, { type: 'interface', up: false }), [
    { type: 'cancel-timer' },
    { type: 'remove-vips' },
    { type: 'state', from: 'master', to: 'fault', reason: 'fault' },
  ]);
  tl.runUntil(9000);
  assert.deepEqual(tl.sentAt().filter((t) => t > 5000), []);
  assert.deepEqual(tl.at(6000, { type: 'advert', ...peer(0) }), []);
  assert.deepEqual(tl.at(9000, { type: 'interface', up: true }), [
    { type: 'state', from: 'fault', to: 'backup', reason: 'fault-cleared' },
    { type: 'arm-timer', timer: 'master-down', at: 9000 + 3609.375 },
  ]);
});

test('Fault: a failing tracked object with the link up says goodbye (priority 0); all causes must clear', () => {
  const tl = masterAt();
  assert.deepEqual(tl.at(5000, { type: 'fault', cause: 'track_script:chk_nginx', active: true }), [
    { type: 'cancel-timer' },
    { type: 'send-advert', priority: 0 },
    { type: 'remove-vips' },
    { type: 'state', from: 'master', to: 'fault', reason: 'fault' },
  ]);
  assert.deepEqual(tl.at(5100, { type: 'interface', up: false }), []);
  assert.deepEqual(tl.at(5200, { type: 'fault', cause: 'track_script:chk_nginx', active: false }), []);
  assert.equal(tl.m.state, 'fault');
  assert.deepEqual(tl.m.faultCauses, ['interface']);
  assert.equal(tl.at(5300, { type: 'interface', up: true })[0]?.type, 'state');
  assert.equal(tl.m.state, 'backup');
});

test('Fault from Backup and back; the owner leaves Fault straight to Master', () => {
  const tl = new Timeline();
  tl.at(0, { type: 'startup' });
  assert.deepEqual(tl.at(1000, { type: 'interface', up: false }), [
    { type: 'cancel-timer' },
    { type: 'state', from: 'backup', to: 'fault', reason: 'fault' },
  ]);
  const owner = masterAt({ priority: 255 });
  owner.at(5000, { type: 'interface', up: false });
  const back = owner.at(6000, { type: 'interface', up: true });
  assert.deepEqual(back[0], { type: 'state', from: 'fault', to: 'master', reason: 'fault-cleared-owner' });
  assert.deepEqual(back.slice(1).map((a) => a.type), ['send-advert', 'add-vips', 'announce', 'arm-timer']);
});

test('preempt_delay also applies after leaving Fault', () => {
  const tl = new Timeline({ priority: 150, preemptDelayMs: 5000 });
  tl.at(0, { type: 'startup' });
  tl.at(100, { type: 'interface', up: false });
  tl.at(20_000, { type: 'interface', up: true });
  tl.adverts(20_500, 30_000, 1000, peer(100));
  tl.runUntil(40_000);
  assert.deepEqual(tl.becameMasterAt(), [24_500 + 3414.0625]);
});

// --- admin and sync-group hooks -----------------------------------------------------------------

test('give-up: Master sends priority 0, drops the VIPs and does not preempt back during the hold', () => {
  const tl = masterAt({ priority: 200 });
  assert.deepEqual(tl.at(5000, { type: 'give-up', holdMs: 60_000 }), [
    { type: 'cancel-timer' },
    { type: 'send-advert', priority: 0 },
    { type: 'remove-vips' },
    { type: 'state', from: 'master', to: 'backup', reason: 'give-up' },
    { type: 'arm-timer', timer: 'master-down', at: 5000 + 3218.75 },
  ]);
  // The other router (priority 100) takes over after its skew and advertises; we accept it while held.
  tl.adverts(5609.375, 70_000, 1000, peer(100));
  tl.runUntil(70_000);
  // Hold ends at 65000: adverts up to 64609.375 were accepted, the next ones are discarded.
  assert.deepEqual(tl.becameMasterAt().filter((t) => t > 5000), [64_609.375 + 3218.75]);
});

test('give-up without anyone else: the VRID is never left without a master', () => {
  const tl = masterAt();
  tl.at(5000, { type: 'give-up' });
  tl.runUntil(10_000);
  assert.deepEqual(tl.becameMasterAt(), [3609.375, 5000 + 3609.375]);
  assert.deepEqual(tl.at(10_000, { type: 'give-up', holdMs: 0 }).map((a) => a.type).slice(0, 2), ['cancel-timer', 'send-advert']);
});

test('force-master (sync groups): a Backup becomes Master now; ignored elsewhere', () => {
  const tl = new Timeline();
  tl.at(0, { type: 'startup' });
  assert.deepEqual(tl.at(10, { type: 'force-master' })[0], { type: 'state', from: 'backup', to: 'master', reason: 'forced' });
  assert.deepEqual(tl.at(20, { type: 'force-master' }), []);
  const f = new Timeline();
  f.at(0, { type: 'interface', up: false });
  f.at(0, { type: 'startup' });
  assert.deepEqual(f.at(10, { type: 'force-master' }), []);
});

// --- two machines on one wire -------------------------------------------------------------------

/** Two routers whose adverts reach each other instantly; `alive` lets a test pull the plug. */
function pair(a: Partial<StateMachineConfig>, b: Partial<StateMachineConfig>) {
  const nodes = [new Timeline({ primaryAddress: '192.0.2.1', ...a }), new Timeline({ primaryAddress: '192.0.2.2', ...b })];
  const alive = [true, true];
  const link = { up: true };
  const addr = ['192.0.2.1', '192.0.2.2'];
  const deliver = (from: number, sent: VrrpAction[], t: number) => {
    for (const s of sent) {
      if (s.type !== 'send-advert' || !alive[from] || !link.up) continue;
      const to = 1 - from;
      if (!alive[to]) continue;
      const cfg = nodes[from]!.m;
      deliver(to, nodes[to]!.at(t, { type: 'advert', priority: s.priority, advertIntervalMs: cfg.advertIntervalMs, src: addr[from]! }), t);
    }
  };
  const step = (until: number) => {
    for (;;) {
      const next = nodes
        .map((n, i) => ({ i, at: alive[i] ? n.m.timer?.at ?? Infinity : Infinity }))
        .sort((x, y) => x.at - y.at)[0]!;
      if (next.at >= until) break;
      const n = nodes[next.i]!;
      const before = n.log.length;
      n.runUntil(next.at + 1e-9);
      deliver(next.i, n.log.slice(before).map((s) => s.a), next.at);
    }
  };
  return { nodes, alive, link, deliver, step };
}

test('two routers: the higher priority wins; graceful stop hands over after Skew_Time (keepalived: 612 ms)', () => {
  const { nodes, deliver, step, alive } = pair({ priority: 200 }, { priority: 100 });
  deliver(0, nodes[0]!.at(0, { type: 'startup' }), 0);
  deliver(1, nodes[1]!.at(0, { type: 'startup' }), 0);
  step(10_000);
  // A: Master_Down_Interval at priority 200 = 3000 + 218.75. B never gets there.
  assert.deepEqual(nodes[0]!.becameMasterAt(), [3218.75]);
  assert.deepEqual(nodes[1]!.becameMasterAt(), []);
  deliver(0, nodes[0]!.at(10_000, { type: 'shutdown' }), 10_000);
  alive[0] = false;
  step(20_000);
  assert.deepEqual(nodes[1]!.becameMasterAt(), [10_000 + 609.375]);
});

test('two routers: a master that dies silently is replaced Master_Down_Interval after its last advert', () => {
  const { nodes, deliver, step, alive } = pair({ priority: 200 }, { priority: 100 });
  deliver(0, nodes[0]!.at(0, { type: 'startup' }), 0);
  deliver(1, nodes[1]!.at(0, { type: 'startup' }), 0);
  step(10_000); // A adverts at 3218.75, 4218.75, ..., 9218.75
  alive[0] = false;
  step(20_000);
  assert.deepEqual(nodes[1]!.becameMasterAt(), [9218.75 + 3609.375]);
  // A comes back (fresh start): as Backup it discards B's lower adverts and preempts at its own Master_Down_Interval.
  alive[0] = true;
  nodes[0]!.at(20_000, { type: 'shutdown' });
  deliver(0, nodes[0]!.at(20_000, { type: 'startup' }), 20_000);
  step(30_000);
  assert.deepEqual(nodes[0]!.becameMasterAt().filter((t) => t > 20_000), [20_000 + 3218.75]);
  assert.equal(nodes[1]!.m.state, 'backup');
});

// --- invariants under random event sequences -----------------------------------------------------

test('random event sequences (~1 s): no throw; VIPs, timer and adverts always agree with the state', () => {
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return seed / 0x100000000;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const deadline = Date.now() + 1000;
  let steps = 0;
  while (Date.now() < deadline) {
    const version = pick([2, 3] as const);
    const m = new VrrpStateMachine({
      version, family: 'ipv4', priority: pick([1, 100, 200, 254, 255]), advertIntervalMs: pick([50, 1000, 3000]),
      preempt: rand() < 0.7, preemptDelayMs: pick([0, 0, 2000]), primaryAddress: '192.0.2.10',
    });
    let now = 0;
    let vips = false;
    let timer: { kind: string; at: number } | null = null;
    for (let i = 0; i < 300; i++, steps++) {
      now += rand() * 800;
      let ev: VrrpEvent;
      const r = rand();
      if (timer && r < 0.35) { now = Math.max(now, timer.at + rand() * 5); ev = { type: 'timer' }; }
      else if (r < 0.65) ev = { type: 'advert', priority: pick([0, 50, 100, 150, 200, 255]), advertIntervalMs: pick([0, 100, 1000]), src: pick(['192.0.2.9', '192.0.2.11', 'bogus']) };
      else ev = pick<VrrpEvent>([
        { type: 'startup' }, { type: 'shutdown' }, { type: 'interface', up: rand() < 0.5 },
        { type: 'fault', cause: pick(['a', 'b']), active: rand() < 0.5 }, { type: 'priority', priority: Math.floor(rand() * 300) - 20 },
        { type: 'give-up', holdMs: rand() * 5000 }, { type: 'force-master' }, { type: 'timer' },
      ]);
      const acts = m.handle(ev, now);
      for (const a of acts) {
        if (a.type === 'add-vips') { assert.equal(vips, false, 'VIPs added twice'); vips = true; }
        if (a.type === 'remove-vips') { assert.equal(vips, true, 'VIPs removed while not held'); vips = false; }
        if (a.type === 'arm-timer') { assert.ok(a.at >= now, 'timer armed in the past'); timer = { kind: a.timer, at: a.at }; }
        if (a.type === 'cancel-timer') timer = null;
      }
      for (const a of acts) {
        if (a.type === 'send-advert' && a.priority > 0) assert.equal(m.state, 'master', 'only a Master advertises');
      }
      const s = m.state;
      assert.equal(vips, s === 'master', `VIPs held=${vips} in ${s}`);
      if (s === 'master') assert.equal(timer?.kind, 'adver');
      else if (s === 'backup') assert.equal(timer?.kind, 'master-down');
      else assert.equal(timer, null, `timer left armed in ${s}`);
      assert.deepEqual(m.timer, timer);
      assert.ok(m.priority >= 1 && m.priority <= 255);
    }
  }
  assert.ok(steps > 10_000, `${steps} steps`);
});

test('two routers, split brain healed: the outranked master yields at the first advert either one sends', () => {
  for (const lowerPriorityAdvert of [true, false]) {
    const { nodes, deliver, step, link } = pair({ priority: 200, lowerPriorityAdvert }, { priority: 100, lowerPriorityAdvert });
    link.up = false;
    deliver(0, nodes[0]!.at(0, { type: 'startup' }), 0);
    deliver(1, nodes[1]!.at(500, { type: 'startup' }), 500);
    step(10_000);
    assert.deepEqual([nodes[0]!.m.state, nodes[1]!.m.state], ['master', 'master']);
    link.up = true;
    step(12_000);
    // B advertises first (10109.375); A outranks it. keepalived-style, A answers at once and B
    // yields then; by the RFC letter B yields at A's next scheduled advert (10218.75).
    const yielded = nodes[1]!.times((a) => a.type === 'state' && a.from === 'master' && a.to === 'backup');
    assert.deepEqual(yielded, [lowerPriorityAdvert ? 4109.375 + 6000 : 3218.75 + 7000]);
    assert.equal(nodes[0]!.m.state, 'master');
  }
});

test('two address owners (misconfiguration): hearing the other, an owner steps down to 254 (keepalived) and one master remains', () => {
  const tl = masterAt({ priority: 255 });
  assert.deepEqual(tl.at(5000, { type: 'advert', ...peer(255) }), [
    { type: 'priority', priority: 254, reason: 'second-owner' },
    { type: 'cancel-timer' },
    { type: 'remove-vips' },
    { type: 'state', from: 'master', to: 'backup', reason: 'higher-priority-advert' },
    { type: 'arm-timer', timer: 'master-down', at: 5000 + 3000 + 7.8125 },
  ]);
  // Both owners on one wire: they converge on one master.
  const { nodes, deliver, step, link } = pair({ priority: 255 }, { priority: 255 });
  link.up = false;
  deliver(0, nodes[0]!.at(0, { type: 'startup' }), 0);
  deliver(1, nodes[1]!.at(100, { type: 'startup' }), 100);
  link.up = true;
  step(20_000);
  assert.deepEqual([nodes[0]!.m.state, nodes[1]!.m.state].sort(), ['backup', 'master']);
});

// --- a master re-announces after a lower-priority master's claim (issue #7, keepalived garp_lower_prio_repeat)

test('Master hearing a lower priority announces again, at most once per Master_Down_Interval', () => {
  const tl = masterAt(); // priority 100, 1 s: Master_Down_Interval 3609.375
  const at = (type: string, from: number, to: number) => tl.log.filter((s) => s.t >= from && s.t < to && s.a.type === type).map((s) => s.t);
  // The stalled master's peer took over and sends adverts every second; each gets an advert back at
  // once, but the VIPs are announced again only once per Master_Down_Interval.
  tl.adverts(5000, 15_000, 1000, peer(50)); // 5000 ... 14000
  assert.deepEqual(at('announce', 4500, 15_000), [5000, 9000, 13_000]);
  assert.deepEqual(at('send-advert', 4500, 15_000).filter(Number.isInteger), [5000, 6000, 7000, 8000, 9000, 10_000, 11_000, 12_000, 13_000, 14_000]);
  assert.equal(tl.m.state, 'master');
});

test('Master re-announce: equal priority with a lower address counts; priority 0, higher priority and the switch do not', () => {
  const tie = masterAt({ primaryAddress: '10.0.0.2' });
  assert.ok(tie.at(5000, { type: 'advert', ...peer(100, 1000, '10.0.0.1') }).some((a) => a.type === 'announce'));
  const stop = masterAt();
  assert.ok(!stop.at(5000, { type: 'advert', ...peer(0) }).some((a) => a.type === 'announce'));
  const off = masterAt({ lowerPriorityAnnounce: false });
  assert.deepEqual(off.at(5000, { type: 'advert', ...peer(50) }), [{ type: 'send-advert', priority: 100 }]);
  const outranked = masterAt();
  assert.ok(!outranked.at(5000, { type: 'advert', ...peer(200) }).some((a) => a.type === 'announce'));
  assert.equal(outranked.m.state, 'backup');
});

test('Master re-announce after a stall: the first lower-priority advert read late still announces at once', () => {
  // A master stalled (SIGSTOP) for 5 s reads the peer's queued adverts, all with their arrival times.
  const tl = masterAt({ version: 3, advertIntervalMs: 100 }); // Master_Down_Interval 300 + 60.9375
  tl.runUntil(4000);
  const first = tl.at(4000.5, { type: 'advert', ...peer(50, 100) });
  assert.deepEqual(first, [{ type: 'send-advert', priority: 100 }, { type: 'announce' }]);
  assert.deepEqual(tl.at(4001, { type: 'advert', ...peer(50, 100) }), [{ type: 'send-advert', priority: 100 }]);
  assert.ok(tl.at(4400, { type: 'advert', ...peer(50, 100) }).some((a) => a.type === 'announce'));
});
