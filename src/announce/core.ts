// The announcer's pure core: decides, per announced VIP group, whether its routes are announced (and with
// which metric), soft-draining or withdrawn, from the quorum of the virtual services behind it and
// lvsd's lifecycle (running, give-up, stopping), on an injected monotonic clock. No I/O: the shell
// (announcer.ts) turns routes() into kernel routes and calls tick() at nextDeadline().
//
//   const core = new AnnounceCore(policiesFromConfig(cfg), now);
//   core.setQuorum('web-http', true, now) -> Transition[];  core.giveUp('web', 30_000, now);  core.stop(now)
//   core.reconfigure(policies, now);  core.tick(now);  core.nextDeadline();  core.stopped
//   core.routes() -> { announce: Map<address, DesiredRoute>, local: Map<address, DesiredLocal> };  core.states()
//
// The rules (README "When one pair is not enough"):
// - announced while lvsd runs, no give-up hold is on, and the quorum holds: quorum 'all' needs every
//   listed service up, 'any' one of them; a service whose quorum is not known yet counts as down;
// - quorum lost: withdrawn at once, even while soft-draining (the real servers are gone, there is nothing
//   to drain towards);
// - give-up and stop: with soft drain, the routes stay for drain_delay with the soft-drain metric (the
//   router moves flows away, but keeps this director if every director drains), then are withdrawn;
//   without, they are withdrawn at once and lvsd keeps forwarding for drain_delay. A stop is done when
//   every group announced at the time of the stop has had its drain_delay;
// - a group removed by a reload is withdrawn at once; its addresses stay local for its drain_delay;
// - local routes (the VIP delivered to this host, so IPVS sees its traffic) stay through withdrawals and
//   stops: after a withdrawal the router may still send a flow for a while, and a restarted lvsd must
//   find its IPVS table reachable.
import { softDrainMetric, type IpAddress, type LvsdConfig } from '../config/model.js';

export interface AnnouncePolicy {
  name: string;
  addresses: IpAddress[];
  services: string[];
  quorum: 'all' | 'any';
  metric: number;
  /** The metric while soft-draining; undefined: no soft drain. */
  softDrainMetric: number | undefined;
  drainDelayMs: number;
  local: boolean;
}

export function policiesFromConfig(cfg: LvsdConfig): AnnouncePolicy[] {
  return cfg.announce.map((a) => ({
    name: a.name, addresses: a.addresses.map((ip) => ({ address: ip.address, family: ip.family })), services: [...a.virtual_services],
    quorum: a.quorum, metric: a.metric, softDrainMetric: softDrainMetric(a), drainDelayMs: a.drain_delay, local: a.local,
  }));
}

export type VipPhase = 'announced' | 'soft-draining' | 'withdrawn';
/** Why routes were withdrawn: counted per group in the metrics. */
export type WithdrawReason = 'quorum' | 'give-up' | 'stopping' | 'removed';
export const WITHDRAW_REASONS: readonly WithdrawReason[] = ['quorum', 'give-up', 'stopping', 'removed'];

export interface VipState {
  name: string;
  addresses: IpAddress[];
  phase: VipPhase;
  /** The announcement's metric while announced or soft-draining. */
  metric?: number;
  /** In words: "quorum holds (web-http, web-https)", "quorum lost: web-https", "stopping: soft drain". */
  reason: string;
  /** The last withdrawal's reason while withdrawn. */
  withdrawn?: WithdrawReason;
  /** Clock ms of the last phase change. */
  since: number;
  /** Soft drain ends, or the give-up hold ends, at this clock ms. */
  until?: number;
  /** Each gating service's quorum as the core knows it (undefined: not decided yet). */
  services: { name: string; up: boolean | undefined }[];
}

export interface Transition {
  name: string;
  from: VipPhase;
  to: VipPhase;
  metric?: number;
  reason: string;
  /** Set when routes leave (to 'withdrawn'). */
  withdrawal?: WithdrawReason;
  at: number;
}

export interface DesiredRoute { address: string; family: 4 | 6; metric: number; group: string }
export interface DesiredLocal { address: string; family: 4 | 6; group: string }

interface Entry {
  policy: AnnouncePolicy;
  phase: VipPhase;
  metric: number | undefined;
  reason: string;
  withdrawn: WithdrawReason | undefined;
  since: number;
  /** End of the current soft drain. */
  drainUntil: number | undefined;
  /** give-up: not announced before this. */
  holdUntil: number | undefined;
  /** Why the current soft drain started ('give-up' or 'stopping'). */
  drainFor: WithdrawReason | undefined;
}

export class AnnounceCore {
  private entries = new Map<string, Entry>();
  private readonly quorum = new Map<string, boolean | undefined>();
  /** Addresses of removed groups kept local until their drain ends. */
  private lingering = new Map<string, DesiredLocal & { until: number }>();
  private stopAt: number | undefined;
  private stopDoneAt: number | undefined;

  constructor(policies: AnnouncePolicy[], now: number, quorum: Iterable<{ service: string; up: boolean | undefined }> = []) {
    for (const q of quorum) this.quorum.set(q.service, q.up);
    for (const p of policies) this.entries.set(p.name, this.fresh(p, now));
  }

  private fresh(p: AnnouncePolicy, now: number): Entry {
    return { policy: p, phase: 'withdrawn', metric: undefined, reason: 'starting', withdrawn: undefined, since: now, drainUntil: undefined, holdUntil: undefined, drainFor: undefined };
  }

  /** Decides every group now (call once after construction, with the quorum known at start). */
  start(now: number): Transition[] { return this.evaluateAll(now); }

  setQuorum(service: string, up: boolean | undefined, now: number): Transition[] {
    if (this.quorum.get(service) === up && this.quorum.has(service)) return [];
    this.quorum.set(service, up);
    return this.evaluateAll(now);
  }

  /** Withdraws a group (after its soft drain) and keeps it withdrawn for holdMs (Infinity: until lvsd
   * restarts; 0 ends an earlier give-up). False: no such group. */
  giveUp(name: string, holdMs: number, now: number): Transition[] | false {
    const e = this.entries.get(name);
    if (!e) return false;
    e.holdUntil = now + Math.max(0, holdMs);
    return this.evaluateAll(now);
  }

  /** Begins the stop: every group drains and withdraws; `stopped` becomes true when all drains are over. */
  stop(now: number): Transition[] {
    if (this.stopAt !== undefined) return [];
    this.stopAt = now;
    let done = now;
    for (const e of this.entries.values()) if (e.phase !== 'withdrawn') done = Math.max(done, now + e.policy.drainDelayMs);
    this.stopDoneAt = done;
    return this.evaluateAll(now);
  }

  get stopping(): boolean { return this.stopAt !== undefined; }
  /** Stopping, and every drain is over: the process may exit. */
  get stopped(): boolean { return this.stopDoneAt !== undefined && this.now >= this.stopDoneAt; }
  private now = 0;

  /** A reload: groups keep their state by name; removed ones are withdrawn at once. */
  reconfigure(policies: AnnouncePolicy[], now: number): Transition[] {
    const out: Transition[] = [];
    const next = new Map<string, Entry>();
    for (const p of policies) {
      const e = this.entries.get(p.name);
      if (e) {
        // Addresses leaving a kept group stay local for its drain, like those of a removed group.
        for (const ip of e.policy.addresses) {
          if (!p.addresses.some((a) => a.address === ip.address) && e.policy.local) this.linger(ip, e.policy, now);
        }
        e.policy = p;
        next.set(p.name, e);
      } else next.set(p.name, this.fresh(p, now));
    }
    for (const [name, e] of this.entries) {
      if (next.has(name)) continue;
      if (e.phase !== 'withdrawn') out.push(this.move(e, 'withdrawn', now, 'removed from the configuration', 'removed'));
      if (e.policy.local) for (const ip of e.policy.addresses) this.linger(ip, e.policy, now);
    }
    this.entries = next;
    // An address configured again is no longer lingering.
    for (const e of next.values()) for (const ip of e.policy.addresses) if (e.policy.local) this.lingering.delete(ip.address);
    return [...out, ...this.evaluateAll(now)];
  }

  private linger(ip: IpAddress, p: AnnouncePolicy, now: number): void {
    this.lingering.set(ip.address, { address: ip.address, family: ip.family, group: p.name, until: now + p.drainDelayMs });
  }

  /** Deadlines reached (soft drains ending, holds ending, the stop's end). */
  tick(now: number): Transition[] { return this.evaluateAll(now); }

  /** The next clock ms at which tick() changes something, if any. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    // A hold without end (give-up until lvsd restarts) is Infinity: no deadline.
    const consider = (t: number | undefined): void => { if (t !== undefined && Number.isFinite(t) && t > this.now && (next === undefined || t < next)) next = t; };
    for (const e of this.entries.values()) { consider(e.drainUntil); consider(e.holdUntil); }
    for (const l of this.lingering.values()) consider(l.until);
    consider(this.stopDoneAt);
    return next;
  }

  /** What the kernel should hold: one announcement route per announced address, and the local routes. */
  routes(): { announce: Map<string, DesiredRoute>; local: Map<string, DesiredLocal> } {
    const announce = new Map<string, DesiredRoute>();
    const local = new Map<string, DesiredLocal>();
    for (const l of this.lingering.values()) local.set(l.address, { address: l.address, family: l.family, group: l.group });
    for (const e of this.entries.values()) {
      for (const ip of e.policy.addresses) {
        if (e.policy.local) local.set(ip.address, { address: ip.address, family: ip.family, group: e.policy.name });
        if (e.phase !== 'withdrawn') announce.set(ip.address, { address: ip.address, family: ip.family, metric: e.metric!, group: e.policy.name });
      }
    }
    return { announce, local };
  }

  states(): VipState[] {
    return [...this.entries.values()].map((e) => {
      const s: VipState = {
        name: e.policy.name, addresses: e.policy.addresses, phase: e.phase, reason: e.reason, since: e.since,
        services: e.policy.services.map((name) => ({ name, up: this.quorum.get(name) })),
      };
      if (e.metric !== undefined && e.phase !== 'withdrawn') s.metric = e.metric;
      if (e.withdrawn !== undefined && e.phase === 'withdrawn') s.withdrawn = e.withdrawn;
      const until = e.phase === 'soft-draining' ? e.drainUntil : e.holdUntil !== undefined && e.holdUntil > this.now ? e.holdUntil : undefined;
      if (until !== undefined && Number.isFinite(until)) s.until = until;
      return s;
    });
  }

  private evaluateAll(now: number): Transition[] {
    this.now = Math.max(this.now, now);
    for (const [addr, l] of this.lingering) if (l.until <= this.now) this.lingering.delete(addr);
    const out: Transition[] = [];
    for (const e of this.entries.values()) {
      const t = this.evaluate(e, this.now);
      if (t) out.push(t);
    }
    return out;
  }

  /** Services of a group without quorum ("web-http" or "web-http (not decided yet)"). */
  private missing(p: AnnouncePolicy): string[] {
    return p.services.filter((s) => this.quorum.get(s) !== true).map((s) => (this.quorum.get(s) === undefined ? `${s} (not decided yet)` : s));
  }

  private quorumHolds(p: AnnouncePolicy): boolean {
    const up = p.services.filter((s) => this.quorum.get(s) === true).length;
    return p.quorum === 'all' ? up === p.services.length : up > 0;
  }

  private evaluate(e: Entry, now: number): Transition | undefined {
    const p = e.policy;
    if (e.holdUntil !== undefined && e.holdUntil <= now) e.holdUntil = undefined;
    const quorum = this.quorumHolds(p);
    const leaving: WithdrawReason | undefined = this.stopAt !== undefined ? 'stopping' : e.holdUntil !== undefined ? 'give-up' : undefined;
    if (!quorum) {
      // Nothing to drain towards: the group's services cannot serve.
      const lacking = this.missing(p);
      const why = p.quorum === 'all' ? `quorum lost: ${lacking.join(', ')}` : `quorum lost: none of ${p.services.join(', ')}`;
      if (e.phase === 'withdrawn') {
        // Keep the first reason of a withdrawal (stopping, give-up) unless quorum is the news.
        if (e.withdrawn === undefined || e.withdrawn === 'quorum') { e.reason = why; e.withdrawn = 'quorum'; }
        return undefined;
      }
      return this.move(e, 'withdrawn', now, why, 'quorum');
    }
    if (leaving === undefined) {
      const reason = `quorum holds (${p.quorum === 'all' ? p.services.join(', ') : p.services.filter((s) => this.quorum.get(s) === true).join(', ')})`;
      if (e.phase === 'announced' && e.metric === p.metric) { e.reason = reason; return undefined; }
      e.drainUntil = undefined;
      e.drainFor = undefined;
      return this.move(e, 'announced', now, reason, undefined, p.metric);
    }
    const what = leaving === 'stopping' ? 'stopping' : 'given up';
    if (e.phase === 'announced') {
      if (p.softDrainMetric !== undefined && p.drainDelayMs > 0) {
        e.drainUntil = now + p.drainDelayMs;
        e.drainFor = leaving;
        return this.move(e, 'soft-draining', now, `${what}: soft drain with metric ${p.softDrainMetric}`, undefined, p.softDrainMetric);
      }
      return this.move(e, 'withdrawn', now, leaving === 'stopping' ? 'stopping: withdrawn, forwarding for the drain delay' : 'given up', leaving);
    }
    if (e.phase === 'soft-draining') {
      if (e.drainUntil !== undefined && e.drainUntil <= now) {
        e.drainUntil = undefined;
        return this.move(e, 'withdrawn', now, leaving === 'stopping' ? 'stopping: withdrawn after the soft drain' : 'given up: withdrawn after the soft drain', e.drainFor ?? leaving);
      }
      return undefined;
    }
    if (e.withdrawn !== leaving && e.withdrawn !== 'removed') { e.reason = leaving === 'stopping' ? 'stopping' : 'given up'; e.withdrawn = leaving; }
    return undefined;
  }

  private move(e: Entry, to: VipPhase, now: number, reason: string, withdrawal?: WithdrawReason, metric?: number): Transition {
    const t: Transition = { name: e.policy.name, from: e.phase, to, reason, at: now };
    if (metric !== undefined) t.metric = metric;
    if (to === 'withdrawn' && withdrawal !== undefined) t.withdrawal = withdrawal;
    e.phase = to;
    e.metric = to === 'withdrawn' ? undefined : metric;
    e.reason = reason;
    e.withdrawn = to === 'withdrawn' ? withdrawal : undefined;
    e.since = now;
    return t;
  }
}
