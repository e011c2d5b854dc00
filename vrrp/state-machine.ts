// The VRRP state machine of one virtual router instance, RFC 5798 §6.4 (Initialize, Backup,
// Master) plus keepalived's Fault state. A pure core: the caller passes events with the current
// time (ms, any monotonic origin) and carries out the returned actions in order; the machine never
// reads a clock, touches a socket or sets a timer itself. One timer is enough: Adver_Timer runs
// only in Master and Master_Down_Timer only in Backup, so `arm-timer` always replaces the last one.
import { compareAddresses, parseAddress, type Family } from './address.js';
import { VRRP_PRIORITY_OWNER, VRRP_PRIORITY_STOP } from './constants.js';
import type { VrrpVersion } from './packet.js';
import { masterDownIntervalMs, skewTimeMs } from './timers.js';

export type VrrpState = 'initialize' | 'backup' | 'master' | 'fault';

export interface StateMachineConfig {
  version: VrrpVersion;
  family: Family;
  /** Configured priority 1-255; 255 makes this router the address owner. */
  priority: number;
  /** Advertisement_Interval in ms (v2 whole seconds, v3 whole centiseconds). */
  advertIntervalMs: number;
  /** Preempt_Mode (default true). keepalived's `nopreempt` is false. */
  preempt?: boolean;
  /**
   * keepalived's preempt_delay: a Backup that could preempt keeps accepting a lower-priority master
   * for this long, counted as keepalived 2.2.7 does from the first lower-priority advert it hears
   * (since startup, leaving Fault, or the last advert that outranked it). Default 0.
   */
  preemptDelayMs?: number;
  /** This router's primary address on the interface, the source of its adverts (§6.4.3 tie-break). */
  primaryAddress: string | Uint8Array;
  /**
   * A Master that hears a master it outranks answers at once with its own advert, so the other side
   * yields now rather than at its next advert (keepalived's "forcing new election"; default true).
   * False is RFC 5798 §6.4.3 to the letter ("Discard ADVERTISEMENT"), keepalived's lower_prio_no_advert.
   */
  lowerPriorityAdvert?: boolean;
  /**
   * A Master that hears a master it outranks also announces its VIPs again (GARP / unsolicited NA),
   * at most once per Master_Down_Interval: the other side may have announced them while it believed
   * itself master (we were stalled), and hosts would keep its MAC. keepalived's garp_lower_prio_repeat.
   * Default true.
   */
  lowerPriorityAnnounce?: boolean;
  /**
   * Ceiling on the Master_Adver_Interval a v3 Backup learns from adverts (ms; RFC 5798 §6.4.2 adopts
   * whatever Max Adver Int the master sends). A larger value is clamped to it, so one forged advert
   * carrying 40.95 s cannot leave the VIPs unowned for 3 x 40.95 s + Skew_Time if the master dies.
   * Default LEARNED_INTERVAL_CEILING_FACTOR x advertIntervalMs.
   */
  maxLearnedAdvertIntervalMs?: number;
  /**
   * Reply adverts (to priority 0, or to a lower-priority master) a Master sends in any window of one
   * Advertisement_Interval, on top of its scheduled adverts. Default REPLY_BUDGET.
   */
  replyBudget?: number;
}

/** Default ceiling of a learned Master_Adver_Interval, as a multiple of our own Advertisement_Interval. */
export const LEARNED_INTERVAL_CEILING_FACTOR = 3;
/** Default reply adverts per Advertisement_Interval (see StateMachineConfig.replyBudget). */
export const REPLY_BUDGET = 2;

/** What the machine refused or bounded because of what it heard (hostile or broken peers), cumulative. */
export interface MachineCounters {
  /** Master: replies to priority-0 / lower-priority adverts not sent, over the reply budget. */
  repliesSuppressed: number;
  /** Backup (v3): accepted adverts whose Max Adver Int was above the ceiling and was clamped to it. */
  intervalsClamped: number;
  /** Backup: priority-0 adverts from a router other than the master it follows, ignored. */
  foreignStopsIgnored: number;
  /** Backup: adverts from a router other than the master it follows that would have brought Master_Down_Timer forward; ignored. */
  foreignEarlierIgnored: number;
}

export type VrrpEvent =
  | { type: 'startup' }
  | { type: 'shutdown' }
  /** An advert that passed parseVrrp and matchInstance. advertIntervalMs: v3 Max Adver Int in ms. */
  | { type: 'advert'; priority: number; advertIntervalMs: number; src: string | Uint8Array }
  | { type: 'timer' }
  | { type: 'interface'; up: boolean }
  /** A tracked object (script, process, sync group...) entering or leaving failure. */
  | { type: 'fault'; cause: string; active: boolean }
  /** Effective priority after tracking weights. */
  | { type: 'priority'; priority: number }
  /** Admin: leave Master now (priority-0 advert) and do not preempt for holdMs (default: until restart). */
  | { type: 'give-up'; holdMs?: number }
  /** Sync groups: become Master now, as if Master_Down_Timer had fired. */
  | { type: 'force-master' };

export type TimerKind = 'adver' | 'master-down';

export type TransitionReason =
  | 'startup'
  | 'startup-owner'
  | 'master-down-timer'
  | 'higher-priority-advert'
  | 'equal-priority-higher-address'
  | 'shutdown'
  | 'fault'
  | 'fault-cleared'
  | 'fault-cleared-owner'
  | 'give-up'
  | 'forced';

export type VrrpAction =
  | { type: 'send-advert'; priority: number }
  | { type: 'add-vips' }
  | { type: 'remove-vips' }
  /** Start gratuitous ARP / unsolicited neighbour advertisements for the virtual addresses. */
  | { type: 'announce' }
  | { type: 'arm-timer'; timer: TimerKind; at: number }
  | { type: 'cancel-timer' }
  | { type: 'state'; from: VrrpState; to: VrrpState; reason: TransitionReason }
  /** The machine changed its own priority: another owner (255) was heard, so it stepped down to 254. */
  | { type: 'priority'; priority: number; reason: 'second-owner' };

/** Why a bad event was refused (the machine itself never throws on events). */
export class VrrpConfigError extends Error {
  override readonly name = 'VrrpConfigError';
}

const INTERFACE_CAUSE = 'interface';

export class VrrpStateMachine {
  readonly version: VrrpVersion;
  readonly advertIntervalMs: number;
  private preempt: boolean;
  private preemptDelayMs: number;
  private readonly lowerPriorityAdvert: boolean;
  private readonly lowerPriorityAnnounce: boolean;
  /** When a lower-priority advert last made us announce again (rate limit). */
  private lowerPriorityAnnouncedAt = -Infinity;
  private maxLearnedInterval: number;
  /** When the last `replyBudget` replies went out (oldest first): the sliding window of the rate limit. */
  private readonly replyTimes: number[];
  private readonly replyBudget: number;
  /**
   * The master a Backup follows: the sender of the advert that armed Master_Down_Timer (bytes), or
   * null (none yet, or it said priority 0). Text or bytes as the event carried it, for readers.
   */
  private masterBytes: Uint8Array | null = null;
  private masterSrc: string | Uint8Array | null = null;
  readonly counters: MachineCounters = { repliesSuppressed: 0, intervalsClamped: 0, foreignStopsIgnored: 0, foreignEarlierIgnored: 0 };
  private readonly primary: Uint8Array;
  private readonly family: Family;

  private stateValue: VrrpState = 'initialize';
  private priorityValue: number;
  private masterAdverInterval: number;
  private timerValue: { kind: TimerKind; at: number } | null = null;
  private readonly faults = new Set<string>();
  /** End of the running preempt delay, or null while none runs. */
  private preemptDelayUntil: number | null = null;
  private holdUntil = -Infinity;

  constructor(config: StateMachineConfig) {
    const { version, priority, advertIntervalMs } = config;
    if (version !== 2 && version !== 3) throw new VrrpConfigError(`version ${version} is not 2 or 3`);
    if (!Number.isInteger(priority) || priority < 1 || priority > 255) {
      throw new VrrpConfigError(`priority ${priority} is not 1-255`);
    }
    if (!(advertIntervalMs > 0)) throw new VrrpConfigError(`advertIntervalMs ${advertIntervalMs} is not positive`);
    const primary =
      typeof config.primaryAddress === 'string' ? parseAddress(config.family, config.primaryAddress) : config.primaryAddress;
    if (!primary) throw new VrrpConfigError(`primaryAddress ${String(config.primaryAddress)} is not ${config.family}`);
    this.version = version;
    this.family = config.family;
    this.advertIntervalMs = advertIntervalMs;
    this.preempt = config.preempt ?? true;
    this.preemptDelayMs = config.preemptDelayMs ?? 0;
    this.lowerPriorityAdvert = config.lowerPriorityAdvert ?? true;
    this.lowerPriorityAnnounce = config.lowerPriorityAnnounce ?? true;
    this.primary = primary;
    this.priorityValue = priority;
    this.masterAdverInterval = advertIntervalMs;
    this.maxLearnedInterval = VrrpStateMachine.ceiling(config.maxLearnedAdvertIntervalMs, advertIntervalMs);
    const budget = config.replyBudget ?? REPLY_BUDGET;
    if (!Number.isInteger(budget) || budget < 0) throw new VrrpConfigError(`replyBudget ${budget} is not a whole number >= 0`);
    this.replyBudget = budget;
    this.replyTimes = [];
  }

  private static ceiling(ms: number | undefined, own: number): number {
    const c = ms ?? LEARNED_INTERVAL_CEILING_FACTOR * own;
    if (!(c > 0)) throw new VrrpConfigError(`maxLearnedAdvertIntervalMs ${c} is not positive`);
    return c;
  }

  get state(): VrrpState {
    return this.stateValue;
  }
  get priority(): number {
    return this.priorityValue;
  }
  /** Master_Adver_Interval: v3 learns it from the master's adverts while Backup (RFC 5798 §6.4.2). */
  get masterAdverIntervalMs(): number {
    return this.masterAdverInterval;
  }
  get skewTimeMs(): number {
    return skewTimeMs(this.version, this.priorityValue, this.masterAdverInterval);
  }
  get masterDownIntervalMs(): number {
    return masterDownIntervalMs(this.version, this.priorityValue, this.masterAdverInterval);
  }
  /** The armed timer (what the shell should be waiting for), or null. */
  get timer(): { kind: TimerKind; at: number } | null {
    return this.timerValue ? { ...this.timerValue } : null;
  }
  get faultCauses(): string[] {
    return [...this.faults];
  }
  /** Ceiling on a learned Master_Adver_Interval (ms). */
  get maxLearnedAdvertIntervalMs(): number {
    return this.maxLearnedInterval;
  }
  /** Backup: the sender of the adverts it follows (as the event carried it), null when none or not Backup. */
  get masterSource(): string | Uint8Array | null {
    return this.stateValue === 'backup' ? this.masterSrc : null;
  }

  /** Reload: a new ceiling for the learned interval (undefined: the default), from the next advert on. */
  setMaxLearnedAdvertInterval(ms: number | undefined): void {
    this.maxLearnedInterval = VrrpStateMachine.ceiling(ms, this.advertIntervalMs);
  }

  /**
   * Reload: new Preempt_Mode and preempt delay, effective from the next advert. A running delay is
   * dropped so the new one counts from the next lower-priority advert, as a fresh start would.
   */
  setPreempt(preempt: boolean, delayMs: number): void {
    this.preempt = preempt;
    this.preemptDelayMs = delayMs;
    this.preemptDelayUntil = null;
  }

  handle(event: VrrpEvent, now: number): VrrpAction[] {
    const out: VrrpAction[] = [];
    switch (event.type) {
      case 'startup':
        if (this.stateValue === 'initialize') this.start(now, out, false);
        break;
      case 'shutdown':
        this.shutdown(out);
        break;
      case 'timer':
        this.timerFired(now, out);
        break;
      case 'advert':
        this.advert(event, now, out);
        break;
      case 'interface':
        this.setFault(INTERFACE_CAUSE, !event.up, now, out);
        break;
      case 'fault':
        this.setFault(event.cause, event.active, now, out);
        break;
      case 'priority':
        // Tracking weights never make a router leave the 1-255 range (priority 0 means "leaving").
        if (Number.isFinite(event.priority)) this.priorityValue = Math.min(255, Math.max(1, Math.round(event.priority)));
        break;
      case 'give-up':
        if (this.stateValue === 'master') {
          this.holdUntil = now + (event.holdMs ?? Infinity);
          this.leaveMaster(out, 'give-up', true);
          this.follow(null, null);
          this.armMasterDown(now, this.masterDownIntervalMs, out);
        }
        break;
      case 'force-master':
        if (this.stateValue === 'backup') this.becomeMaster(now, out, 'forced');
        break;
    }
    return out;
  }

  // --- transitions ------------------------------------------------------------------------------

  /** §6.4.1, also used when leaving Fault. */
  private start(now: number, out: VrrpAction[], fromFault: boolean): void {
    this.preemptDelayUntil = null;
    if (!fromFault) this.holdUntil = -Infinity; // a give-up hold lasts until restart
    if (this.faults.size > 0) {
      this.transition('fault', 'fault', out);
      return;
    }
    if (this.priorityValue === VRRP_PRIORITY_OWNER) {
      this.becomeMaster(now, out, fromFault ? 'fault-cleared-owner' : 'startup-owner');
      return;
    }
    this.masterAdverInterval = this.advertIntervalMs;
    this.follow(null, null);
    this.transition('backup', fromFault ? 'fault-cleared' : 'startup', out);
    this.armMasterDown(now, this.masterDownIntervalMs, out);
  }

  /** §6.4.1/§6.4.2 order: advert first (an old master drops the VIPs sooner), then VIPs and GARP/NA. */
  private becomeMaster(now: number, out: VrrpAction[], reason: TransitionReason): void {
    this.transition('master', reason, out);
    out.push({ type: 'send-advert', priority: this.priorityValue });
    out.push({ type: 'add-vips' });
    out.push({ type: 'announce' });
    this.arm('adver', now + this.advertIntervalMs, out);
  }

  /** Master -> Backup: stop advertising, drop the addresses; priority 0 first when leaving on purpose. */
  private leaveMaster(out: VrrpAction[], reason: TransitionReason, sendStop: boolean): void {
    this.cancel(out);
    if (sendStop) out.push({ type: 'send-advert', priority: VRRP_PRIORITY_STOP });
    out.push({ type: 'remove-vips' });
    this.transition('backup', reason, out);
  }

  private shutdown(out: VrrpAction[]): void {
    const s = this.stateValue;
    if (s === 'initialize') return;
    this.cancel(out);
    // §6.4.3: a Master leaving sends priority 0 so a Backup takes over after Skew_Time only.
    if (s === 'master') {
      out.push({ type: 'send-advert', priority: VRRP_PRIORITY_STOP });
      out.push({ type: 'remove-vips' });
    }
    this.transition('initialize', 'shutdown', out);
  }

  private timerFired(now: number, out: VrrpAction[]): void {
    const t = this.timerValue;
    if (!t) return;
    if (now < t.at) {
      // Early wake-up: not due yet, ask for the same deadline again.
      out.push({ type: 'arm-timer', timer: t.kind, at: t.at });
      return;
    }
    if (t.kind === 'adver' && this.stateValue === 'master') {
      out.push({ type: 'send-advert', priority: this.priorityValue });
      // Schedule from the ideal time, not from `now`, so callback latency never accumulates;
      // after a long stall skip the missed slots rather than sending a burst.
      const missed = Math.floor((now - t.at) / this.advertIntervalMs);
      this.arm('adver', t.at + (missed + 1) * this.advertIntervalMs, out);
    } else if (t.kind === 'master-down' && this.stateValue === 'backup') {
      this.becomeMaster(now, out, 'master-down-timer');
    } else {
      this.timerValue = null;
    }
  }

  private advert(ev: { priority: number; advertIntervalMs: number; src: string | Uint8Array }, now: number, out: VrrpAction[]): void {
    const s = this.stateValue;
    if (s !== 'backup' && s !== 'master') return;
    const prio = ev.priority;
    if (s === 'backup') {
      // §6.4.2
      if (prio === VRRP_PRIORITY_STOP) {
        // Only the master we follow can cut Master_Down_Timer to Skew_Time: a priority 0 from anyone
        // else (a forger, or the loser of a healed split) would make us take over from a live master.
        if (this.masterBytes && !this.isMaster(ev.src)) { this.counters.foreignStopsIgnored++; return; }
        this.follow(null, null);
        this.armMasterDown(now, this.skewTimeMs, out);
      } else if (this.backupAccepts(prio, now)) {
        this.followAdvert(ev, now, out);
      }
      // else: a lower-priority master and we may preempt: discard, let Master_Down_Timer run out.
      return;
    }
    // §6.4.3
    if (prio === VRRP_PRIORITY_OWNER && this.priorityValue === VRRP_PRIORITY_OWNER) {
      // Two owners is a misconfiguration; keep one master rather than two (keepalived does the same).
      this.priorityValue = VRRP_PRIORITY_OWNER - 1;
      out.push({ type: 'priority', priority: this.priorityValue, reason: 'second-owner' });
    }
    if (prio === VRRP_PRIORITY_STOP) {
      // §6.4.3: "Send an ADVERTISEMENT; Reset the Adver_Timer". The reply goes out (within the reply
      // budget), but Adver_Timer keeps its schedule, as in keepalived 2.2.7 (vrrp_state_master_rx):
      // resetting it on every priority 0 let a flood of them postpone the scheduled adverts for as
      // long as it lasted, and with replies rate-limited the master would fall silent.
      this.reply(now, out);
      return;
    }
    let reason: TransitionReason | null = null;
    if (prio > this.priorityValue) reason = 'higher-priority-advert';
    else if (prio === this.priorityValue && this.senderWinsTie(ev.src)) reason = 'equal-priority-higher-address';
    if (!reason) {
      // Adver_Timer keeps its schedule; this advert is extra (and within the reply budget).
      if (this.lowerPriorityAdvert) this.reply(now, out);
      // The sender thought it was master, so it may have announced our VIPs with its MAC: take them
      // back. Rate-limited so a misconfigured peer cannot make us flood the LAN.
      if (this.lowerPriorityAnnounce && now - this.lowerPriorityAnnouncedAt >= this.masterDownIntervalMs) {
        this.lowerPriorityAnnouncedAt = now;
        out.push({ type: 'announce' });
      }
      return;
    }
    this.leaveMaster(out, reason, false);
    this.masterAdverInterval = this.boundInterval(ev.advertIntervalMs, true);
    this.follow(ev.src, this.bytesOf(ev.src));
    this.armMasterDown(now, this.masterDownIntervalMs, out);
  }

  /**
   * A Master's extra advert (reply to priority 0 or to a lower-priority master): at most replyBudget
   * in any window of one Advertisement_Interval, so forged adverts cannot make us flood the LAN
   * (amplification); the scheduled adverts never depend on it.
   */
  private reply(now: number, out: VrrpAction[]): void {
    const t = this.replyTimes;
    if (t.length >= this.replyBudget) {
      if (this.replyBudget === 0 || now - t[0]! < this.advertIntervalMs) {
        this.counters.repliesSuppressed++;
        return;
      }
      t.shift();
    }
    t.push(now);
    out.push({ type: 'send-advert', priority: this.priorityValue });
  }

  /**
   * §6.4.2 for an accepted advert: learn its interval and reset Master_Down_Timer. From the master we
   * follow (or when we follow none), always. From another router only when that does not bring the
   * timer forward: otherwise one forged advert with a short interval, sent just after the real
   * master's, would make us take over while the master is alive (a live master keeps advertising, so
   * the later deadline always wins within one of its intervals; the other router is followed from the
   * advert whose deadline is the later one).
   */
  private followAdvert(ev: { advertIntervalMs: number; src: string | Uint8Array }, now: number, out: VrrpAction[]): void {
    const src = this.bytesOf(ev.src);
    const interval = this.boundInterval(ev.advertIntervalMs, false);
    const at = now + masterDownIntervalMs(this.version, this.priorityValue, interval);
    const same = src !== null && this.masterBytes !== null && compareAddresses(src, this.masterBytes) === 0;
    if (!same && this.masterBytes !== null && this.timerValue?.kind === 'master-down' && at < this.timerValue.at) {
      this.counters.foreignEarlierIgnored++;
      return;
    }
    this.masterAdverInterval = this.boundInterval(ev.advertIntervalMs, true);
    this.follow(ev.src, src);
    this.arm('master-down', at, out);
  }

  private follow(src: string | Uint8Array | null, bytes: Uint8Array | null): void {
    this.masterSrc = src;
    this.masterBytes = bytes;
  }

  private isMaster(src: string | Uint8Array): boolean {
    const b = this.bytesOf(src);
    return b !== null && this.masterBytes !== null && compareAddresses(b, this.masterBytes) === 0;
  }

  private bytesOf(src: string | Uint8Array): Uint8Array | null {
    return typeof src === 'string' ? parseAddress(this.family, src) : src;
  }

  private setFault(cause: string, active: boolean, now: number, out: VrrpAction[]): void {
    const had = this.faults.size > 0;
    if (active) this.faults.add(cause);
    else this.faults.delete(cause);
    const has = this.faults.size > 0;
    const s = this.stateValue;
    if (s === 'initialize' || had === has) return;
    if (has) {
      this.cancel(out);
      if (s === 'master') {
        // With the link up (a tracked object failed) say goodbye so a Backup takes over in Skew_Time.
        if (!this.faults.has(INTERFACE_CAUSE)) out.push({ type: 'send-advert', priority: VRRP_PRIORITY_STOP });
        out.push({ type: 'remove-vips' });
      }
      this.transition('fault', 'fault', out);
    } else if (s === 'fault') {
      this.start(now, out, true);
    }
  }

  // --- helpers ----------------------------------------------------------------------------------

  /** §6.4.2: accept when Preempt_Mode is off or the sender's priority >= ours; plus the keepalived delay. */
  private backupAccepts(prio: number, now: number): boolean {
    if (!this.preempt || now < this.holdUntil) return true;
    if (prio >= this.priorityValue) {
      this.preemptDelayUntil = null; // outranked: a later lower-priority master restarts the delay
      return true;
    }
    if (this.preemptDelayMs > 0) {
      if (this.preemptDelayUntil === null) this.preemptDelayUntil = now + this.preemptDelayMs;
      if (now < this.preemptDelayUntil) return true;
    }
    return false;
  }

  /**
   * The Master_Adver_Interval an advert teaches: v3 Backups adopt the master's Max Adver Int (§6.4.2),
   * clamped to the ceiling (counted when `count`); v2 intervals must match (match.ts drops others).
   */
  private boundInterval(ms: number, count: boolean): number {
    if (this.version !== 3 || !(ms > 0) || !Number.isFinite(ms)) return this.masterAdverInterval;
    if (ms <= this.maxLearnedInterval) return ms;
    if (count) this.counters.intervalsClamped++;
    return this.maxLearnedInterval;
  }

  /** §6.4.3: equal priority, the higher primary address (unsigned, network byte order) wins. */
  private senderWinsTie(src: string | Uint8Array): boolean {
    const b = typeof src === 'string' ? parseAddress(this.family, src) : src;
    return b !== null && compareAddresses(b, this.primary) > 0;
  }

  private armMasterDown(now: number, delay: number, out: VrrpAction[]): void {
    this.arm('master-down', now + delay, out);
  }

  private arm(kind: TimerKind, at: number, out: VrrpAction[]): void {
    this.timerValue = { kind, at };
    out.push({ type: 'arm-timer', timer: kind, at });
  }

  private cancel(out: VrrpAction[]): void {
    if (!this.timerValue) return;
    this.timerValue = null;
    out.push({ type: 'cancel-timer' });
  }

  private transition(to: VrrpState, reason: TransitionReason, out: VrrpAction[]): void {
    const from = this.stateValue;
    this.stateValue = to;
    out.push({ type: 'state', from, to, reason });
  }
}
