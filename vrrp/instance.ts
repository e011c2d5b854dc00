// One VRRP instance: the pure state machine driven by a precise timer, the shared channel, the VIPs
// (rtnetlink) and GARP / unsolicited NA (AF_PACKET). Carries out the machine's actions in order.
import { performance } from 'node:perf_hooks';
import type { VrrpInstanceConfig } from '../src/config/model.js';
import { AF_PACKET, SOCK_RAW, Socket } from '../src/native/index.js';
import { formatAddress } from '../src/native/addresses.js';
import { IFA_F_NODAD, type AddressSpec, type Rtnetlink } from '../src/netlink/rtnetlink.js';
import { VRRP_MULTICAST_IPV4, VRRP_MULTICAST_IPV6, type Family } from './address.js';
import { announceFrame } from './announce.js';
import { matchInstance, type InstanceView } from './match.js';
import { encodeAdvert, type AdvertAuth, type VrrpAdvertisement } from './packet.js';
import { INSTANCE_NOTES, type InstanceNote } from './reasons.js';
import { tosByte, type VrrpChannel } from './socket.js';
import { PreciseTimer } from './precise-timer.js';
import { SyncRtnetlink, prepareAddressRequest, type PreparedRequest } from './vip-netlink.js';
import { RateLimitedLog } from './log-limit.js';
import { instanceFamily } from '../src/config/vrrp-family.js';
import { inStartupDelay, masterDownAfterDelay, startupPlan } from './startup-delay.js';
import { InstanceDiagnostics } from './diagnostics.js';
import { VrrpStateMachine, type MachineCounters, type TransitionReason, type VrrpAction, type VrrpEvent, type VrrpState } from './state-machine.js';

/** LVSD_VRRP_TRACE=1 logs each timer's lateness (benchmarks, debugging). */
const TRACE = process.env.LVSD_VRRP_TRACE === '1';

export interface LinkInfo { ifindex: number; mac: string }

export interface InstanceContext {
  rtnl: Rtnetlink;
  channel: VrrpChannel;
  link: LinkInfo;
  /** Index and MAC of a device a VIP names (`device:`), for its GARP/NA. */
  deviceLink(name: string): LinkInfo;
  /** The source of our adverts: configured unicast source, else the interface's primary (IPv6: link-local) address. */
  primaryAddress: string;
  ownAddresses: string[];
  /** End of global.vrrp_startup_delay on the performance.now() clock (startup-delay.ts); absent: none. */
  startupDelayUntil?: number;
  /** Whether adverts from sources other than the unicast peers are dropped (unicast.check_source or the global default), asked per advert. */
  checkUnicastSource?(): boolean;
  log(line: string): void;
  onState(inst: VrrpInstance, from: VrrpState, to: VrrpState, reason: TransitionReason): void;
  /** A MASTER that stays master received an advert with a lower, non-zero priority (keepalived notify_master_rx_lower_pri). */
  onMasterRxLowerPri?(inst: VrrpInstance, src: string, priority: number): void;
}

/** A state change as the instance carried it out; `at` is epoch milliseconds (it crosses threads). */
export interface Transition { from: VrrpState; to: VrrpState; reason?: TransitionReason; at: number }

export interface InstanceCounters {
  advertsSent: number;
  advertsReceived: number;
  /** Transitions into MASTER (keepalived's become_master). */
  becameMaster: number;
  /** Transitions out of MASTER, for any reason (keepalived's release_master). */
  releasedMaster: number;
  /** Priority-0 adverts sent: leaving MASTER on purpose, shutdown or a tracked fault (RFC 5798 §6.4.3). */
  priorityZeroSent: number;
  /** What the machine refused or bounded (state-machine.ts MachineCounters), copied after each advert. */
  repliesSuppressed: number;
  intervalsClamped: number;
  foreignStopsIgnored: number;
  foreignEarlierIgnored: number;
  /** Transitions by `${from}>${to}`, e.g. 'backup>master'. */
  transitions: Record<string, number>;
  announcements: number;
  vipErrors: number;
  notes: Record<InstanceNote, number>;
  drops: Record<string, number>;
  /** performance.now() of the last VIP add finished and of the first announcement after it (benchmarks). */
  lastVipAddedAt: number;
  lastAnnounceAt: number;
}

export class VrrpInstance {
  readonly machine: VrrpStateMachine;
  readonly family: Family;
  readonly counters: InstanceCounters;
  private readonly timer: PreciseTimer;
  private readonly auth: AdvertAuth | undefined;
  /** TOS / traffic class byte of our adverts: config dscp, default CS6 as keepalived. */
  private readonly tos: number;
  /** The VIPs as text; replaced, never changed in place (match.ts keeps what it derives per array). */
  private vipTexts: string[];
  /** What matchInstance reads, built once; priority and addresses refreshed per advert. */
  private readonly matchView: InstanceView;
  /** One AF_PACKET socket per device holding VIPs, with the frames it announces. */
  private announcers: { socket: Socket; frames: Buffer[] }[] | null = null;
  private announceTimers: NodeJS.Timeout[] = [];
  /** VIP adds / removes, synchronous (vip-netlink.ts), so the announcement follows the add in the same tick. */
  private vipNl: SyncRtnetlink | null = null;
  /** The encoded requests, rebuilt only when a VIP's interface index changes. */
  private prepared: { key: string; add: PreparedRequest[]; remove: PreparedRequest[] } | null = null;
  basePriority: number;
  /** The machine's clock never runs backwards, even for a packet that arrived before the last event. */
  private lastEventAt = 0;
  private masterValue: string | null = null;
  private lastTransitionValue: Transition | null = null;
  /** An address owner waiting out global.vrrp_startup_delay. */
  private startupTimer: NodeJS.Timeout | null = null;
  /** Lines about hostile or broken peers: the first of each kind, then at most one a minute. */
  private readonly hostileLog: RateLimitedLog;
  /** Peers heard, the split-brain alarm, debug lines for drops (diagnostics.ts): read by status, never by VRRP. */
  readonly diagnostics: InstanceDiagnostics;

  constructor(readonly config: VrrpInstanceConfig, private readonly ctx: InstanceContext) {
    this.family = instanceFamily(config) === 4 ? 'ipv4' : 'ipv6';
    this.basePriority = config.priority;
    this.auth = config.authentication ? { type: 1, password: config.authentication.password } : undefined;
    this.vipTexts = config.virtual_ips.map((v) => v.address);
    this.tos = tosByte(config.dscp);
    this.matchView = {
      vrid: config.vrid, version: config.version as 2 | 3, family: this.family, priority: config.priority,
      advertIntervalMs: config.advert_interval, addresses: this.vipTexts, ownAddresses: ctx.ownAddresses,
      ...(this.auth ? { auth: this.auth } : {}),
      ...(config.unicast ? { unicastPeers: config.unicast.peers.map((p) => ({ address: p.address, minTtl: p.min_ttl, maxTtl: p.max_ttl })) } : {}),
    };
    this.machine = new VrrpStateMachine({
      version: config.version as 2 | 3, family: this.family, priority: config.priority, advertIntervalMs: config.advert_interval,
      preempt: config.preempt, preemptDelayMs: config.preempt_delay, primaryAddress: ctx.primaryAddress,
      maxLearnedAdvertIntervalMs: config.max_learned_advert_interval,
    });
    this.hostileLog = new RateLimitedLog((line) => ctx.log(`${config.name}: ${line}`));
    this.diagnostics = new InstanceDiagnostics({ name: config.name, version: config.version as 2 | 3, vrid: config.vrid, interface: config.interface,
      primaryAddress: ctx.primaryAddress, advertIntervalMs: config.advert_interval, priority: () => this.machine.priority, log: ctx.log });
    this.counters = {
      advertsSent: 0, advertsReceived: 0, becameMaster: 0, releasedMaster: 0, priorityZeroSent: 0, transitions: {},
      repliesSuppressed: 0, intervalsClamped: 0, foreignStopsIgnored: 0, foreignEarlierIgnored: 0,
      announcements: 0, vipErrors: 0,
      notes: Object.fromEntries(INSTANCE_NOTES.map((n) => [n, 0])) as Record<InstanceNote, number>, drops: {},
      lastVipAddedAt: 0, lastAnnounceAt: 0,
    };
    this.timer = new PreciseTimer(() => {
      if (TRACE) { const t = this.machine.timer; if (t) ctx.log(`${config.name}: ${t.kind} timer late ${(performance.now() - t.at).toFixed(3)} ms at ${(performance.timeOrigin + performance.now()).toFixed(3)}`); }
      // A Master_Down_Timer that fires late may race adverts already queued on the socket: read
      // them first; one that re-arms the timer makes this expiry stale (the machine re-checks).
      if (this.machine.timer?.kind === 'master-down') this.ctx.channel.drainPending();
      this.handle({ type: 'timer' });
    });
    ctx.channel.handlers.set(config.vrid, (p, rx) => this.receive(p, rx));
  }

  get name(): string { return this.config.name; }
  get state(): VrrpState { return this.machine.state; }
  /** The address our adverts come from: unicast source, else the interface's primary (IPv6 link-local). */
  get primaryAddress(): string { return this.ctx.primaryAddress; }
  /**
   * The current master as this router sees it: our own primary address while MASTER, the sender of
   * the last accepted advert while BACKUP (null after a priority-0 advert, §6.4.2), null otherwise.
   */
  get masterAddress(): string | null { return this.masterValue; }
  /** The last state change, or null before startup. */
  get lastTransition(): Transition | null { return this.lastTransitionValue; }

  /** Removes VIPs a crashed run left behind, then starts the machine (§6.4.1). */
  async start(): Promise<void> {
    // Opened and built now, so taking over costs no socket setup or encoding between the advert, the
    // VIP add and the first GARP/NA.
    this.vipNl ??= SyncRtnetlink.open();
    this.requests();
    this.openPacketSocket();
    this.removeVips(true);
    // global.vrrp_startup_delay (startup-delay.ts): a backup's timer counts from its end; an owner waits.
    const plan = startupPlan(performance.now(), this.ctx.startupDelayUntil ?? 0, this.machine.priority === 255);
    if (plan.kind === 'wait') this.startupTimer = setTimeout(() => { this.startupTimer = null; this.handle({ type: 'startup' }); }, plan.at - performance.now());
    else this.handle({ type: 'startup' }, plan.at);
  }

  /** at: when the event happened (default now); adverts pass the kernel's receive time. */
  handle(event: VrrpEvent, at = performance.now()): void {
    this.lastEventAt = Math.max(this.lastEventAt, at);
    const actions = this.machine.handle(event, at);
    // Wire first: a transition's log line and notify wait until its advert / VIP work is under way.
    const states: Extract<VrrpAction, { type: 'state' }>[] = [];
    for (const a of actions) {
      if (a.type === 'state') { states.push(a); if (a.from === 'master') this.stopAnnouncing(); continue; }
      this.act(a);
    }
    for (const a of states) this.act(a);
    // A backup names the master it follows (the machine's choice: not a sender it ignored); null after
    // that master's priority 0 (§6.4.2).
    if (event.type === 'advert' && this.machine.state === 'backup') {
      const m = this.machine.masterSource;
      this.masterValue = m === null ? null : typeof m === 'string' ? m : formatAddress(m);
    }
  }

  /** Reload in place: the keys read per advert or by the machine (engine.ts IN_PLACE_FIELDS). */
  applyConfig(next: VrrpInstanceConfig): void {
    this.machine.setMaxLearnedAdvertInterval(next.max_learned_advert_interval);
  }

  private view(): InstanceView {
    const v = this.matchView;
    v.priority = this.machine.priority;
    v.addresses = this.vipTexts;
    v.checkUnicastSource = this.ctx.checkUnicastSource?.() ?? false;
    return v;
  }

  private receive(p: VrrpAdvertisement, rxTime: number): void {
    // The channel accepted a v3 unicast checksum over 224.0.0.18 (keepalived <= 1.3.6); this instance
    // may refuse it (unicast_checksum_compat: false). Counted where the channel counts bad checksums.
    if (p.legacyChecksum && this.config.unicast_checksum_compat === false) { this.ctx.channel.drops.checksum_invalid++; return; }
    if (inStartupDelay(rxTime, this.ctx.startupDelayUntil)) { this.countDrop('startup_delay'); return; }
    const m = matchInstance(p, this.view());
    for (const n of m.notes) this.counters.notes[n.note]++;
    if (!m.accept) { this.countDrop(m.reason); this.diagnostics.dropped(p, m.reason, m.detail, rxTime); return; }
    this.counters.advertsReceived++;
    if (TRACE) this.ctx.log(`${this.name}: advert from ${p.src} priority ${p.priority} at ${(performance.timeOrigin + performance.now()).toFixed(3)}`);
    const wasMaster = this.machine.state === 'master';
    this.handle({ type: 'advert', priority: p.priority, advertIntervalMs: p.advertIntervalMs, src: p.src }, Math.max(rxTime, this.lastEventAt));
    if (wasMaster && this.machine.state === 'master' && p.priority > 0 && p.priority < this.machine.priority) this.ctx.onMasterRxLowerPri?.(this, p.src, p.priority);
    this.noteHostile(this.machine.counters, p);
    this.diagnostics.heard(p, rxTime);
  }

  /** A unicast TTL that is not 255 counts where the channel counts multicast ones (match.ts MatchResult). */
  private countDrop(reason: string): void {
    if (reason === 'ttl_invalid') this.ctx.channel.drops.ttl_invalid++;
    else this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
  }

  /** Copies the machine's counters; the first of each kind is logged, then at most one line a minute. */
  private noteHostile(mc: Readonly<MachineCounters>, p: VrrpAdvertisement): void {
    const c = this.counters;
    if (mc.repliesSuppressed !== c.repliesSuppressed) {
      c.repliesSuppressed = mc.repliesSuppressed;
      this.hostileLog.say('reply', () => `reply adverts over the budget not sent (a flood of priority-0 or lower-priority adverts; last from ${p.src}); ${c.repliesSuppressed} so far`);
    }
    if (mc.intervalsClamped !== c.intervalsClamped) {
      c.intervalsClamped = mc.intervalsClamped;
      this.hostileLog.say('clamp', () => `advert from ${p.src} with Max Adver Int ${p.advertIntervalMs} ms: learned as ${this.machine.maxLearnedAdvertIntervalMs} ms (max_learned_advert_interval); ${c.intervalsClamped} so far`);
    }
    if (mc.foreignStopsIgnored !== c.foreignStopsIgnored) {
      c.foreignStopsIgnored = mc.foreignStopsIgnored;
      this.hostileLog.say('stop', () => `priority 0 from ${p.src} ignored: the master is ${this.masterValue ?? '?'}; ${c.foreignStopsIgnored} so far`);
    }
    if (mc.foreignEarlierIgnored !== c.foreignEarlierIgnored) {
      c.foreignEarlierIgnored = mc.foreignEarlierIgnored;
      this.hostileLog.say('earlier', () => `advert from ${p.src} (priority ${p.priority}, ${p.advertIntervalMs} ms) ignored: it would bring Master_Down_Timer forward, the master is ${this.masterValue ?? '?'}; ${c.foreignEarlierIgnored} so far`);
    }
  }

  private act(a: VrrpAction): void {
    switch (a.type) {
      case 'state': {
        const c = this.counters;
        if (a.to === 'master') c.becameMaster++;
        if (a.from === 'master') c.releasedMaster++;
        const key = `${a.from}>${a.to}`;
        c.transitions[key] = (c.transitions[key] ?? 0) + 1;
        this.lastTransitionValue = { from: a.from, to: a.to, reason: a.reason, at: performance.timeOrigin + performance.now() };
        // Until the new master's first advert, a backup does not know who it is.
        this.masterValue = a.to === 'master' ? this.ctx.primaryAddress : null;
        this.ctx.log(`${this.name}: ${a.from} -> ${a.to} (${a.reason}) priority ${this.machine.priority}`);
        this.diagnostics.state(a.to);
        this.ctx.onState(this, a.from, a.to, a.reason);
        break;
      }
      case 'send-advert':
        if (a.priority === 0) this.counters.priorityZeroSent++;
        this.sendAdvert(a.priority);
        break;
      case 'add-vips': this.addVips(); break;
      case 'remove-vips': this.removeVips(false); break;
      case 'announce': this.startAnnouncing(); break;
      case 'arm-timer': this.timer.arm(a.timer === 'master-down' && this.ctx.startupDelayUntil !== undefined
        ? masterDownAfterDelay(a.at, performance.now(), this.ctx.startupDelayUntil, this.machine.masterDownIntervalMs) : a.at); break;
      case 'cancel-timer': this.timer.cancel(); break;
      case 'priority': this.basePriority = a.priority; break;
    }
  }

  private sendAdvert(priority: number): void {
    const c = this.config;
    const src = this.ctx.primaryAddress;
    const peers = c.unicast ? c.unicast.peers.map((p) => p.address) : [this.family === 'ipv4' ? VRRP_MULTICAST_IPV4 : VRRP_MULTICAST_IPV6];
    for (const dst of peers) {
      try {
        const msg = encodeAdvert({ version: c.version as 2 | 3, family: this.family, vrid: c.vrid, priority,
          advertIntervalMs: c.advert_interval, addresses: this.vipTexts, ...(this.auth ? { auth: this.auth } : {}), src, dst });
        this.ctx.channel.send(msg, dst, src, this.tos, c.unicast?.ttl);
        this.counters.advertsSent++;
      } catch (e) {
        // Rate-limited: a link held up by interface_up_down_delays fails every advert until it returns.
        this.hostileLog.say('send', () => `advert to ${dst} failed: ${(e as Error).message}`);
      }
    }
  }

  private vipSpecs(): AddressSpec[] {
    return this.config.virtual_ips.map((v) => ({
      ifindex: (v.device ? this.ctx.deviceLink(v.device) : this.ctx.link).ifindex,
      address: v.address,
      prefixLength: v.prefix,
      ...(v.family === 6 ? { flags: IFA_F_NODAD } : {}),
      ...(v.label ? { label: v.label } : {}),
    }));
  }

  private requests(): { add: PreparedRequest[]; remove: PreparedRequest[] } {
    const specs = this.vipSpecs();
    const key = specs.map((s) => s.ifindex).join(',');
    if (this.prepared?.key !== key) {
      this.prepared = { key, add: specs.map((s) => prepareAddressRequest('add', s)), remove: specs.map((s) => prepareAddressRequest('remove', s)) };
    }
    return this.prepared;
  }

  /** The requests, or none (logged) when a VIP's device has gone: a timer callback must never throw. */
  private tryRequests(kind: 'add' | 'remove'): PreparedRequest[] {
    try { return this.requests()[kind]; } catch (e) {
      this.counters.vipErrors++;
      this.ctx.log(`${this.name}: ${kind} VIPs: ${(e as Error).message}`);
      return [];
    }
  }

  /** Adds the VIPs; returns when the kernel has them (its ACKs read). Already present counts as added. */
  private addVips(): void {
    if (!this.vipNl) return;
    const reqs = this.tryRequests('add');
    this.vipNl.apply(reqs).forEach((e, i) => {
      if (e && e.code !== 'EEXIST') { this.counters.vipErrors++; this.ctx.log(`${this.name}: add ${reqs[i]!.spec.address}: ${e.message}`); }
    });
    this.counters.lastVipAddedAt = performance.now();
  }

  private removeVips(quiet: boolean): void {
    if (!this.vipNl) return;
    const reqs = this.tryRequests('remove');
    this.vipNl.apply(reqs).forEach((e, i) => {
      if (e && !quiet && e.code !== 'EADDRNOTAVAIL') { this.counters.vipErrors++; this.ctx.log(`${this.name}: remove ${reqs[i]!.spec.address}: ${e.message}`); }
    });
  }

  /** garp.repeat messages per VIP now, the same again after garp.delay, then every garp.refresh. */
  private startAnnouncing(): void {
    if (this.machine.state !== 'master') return;
    this.stopAnnouncing();
    const g = this.config.garp;
    this.burst(g.repeat);
    this.counters.lastAnnounceAt = performance.now();
    if (TRACE) this.ctx.log(`${this.name}: VIPs added -> first GARP/NA sent ${(this.counters.lastAnnounceAt - this.counters.lastVipAddedAt).toFixed(3)} ms`);
    if (g.delay > 0) this.announceTimers.push(setTimeout(() => this.burst(g.repeat), g.delay));
    if (g.refresh > 0) this.announceTimers.push(setInterval(() => this.burst(g.refresh_repeat), g.refresh));
  }

  private stopAnnouncing(): void {
    for (const t of this.announceTimers) clearTimeout(t);
    this.announceTimers = [];
  }

  private openPacketSocket(): void {
    if (this.announcers) return;
    const byDevice = new Map<number, { link: LinkInfo; vips: string[] }>();
    try {
      this.config.virtual_ips.forEach((v) => {
        const link = v.device ? this.ctx.deviceLink(v.device) : this.ctx.link;
        const e = byDevice.get(link.ifindex) ?? { link, vips: [] };
        e.vips.push(v.address);
        byDevice.set(link.ifindex, e);
      });
      const out: { socket: Socket; frames: Buffer[] }[] = [];
      try {
        for (const { link, vips } of byDevice.values()) {
          const socket = Socket.open(AF_PACKET, SOCK_RAW, 0);
          out.push({ socket, frames: [] });
          socket.bind({ family: 'packet', ifindex: link.ifindex });
          out[out.length - 1]!.frames = vips.map((v) => announceFrame(this.family, link.mac, v));
        }
      } catch (e) {
        for (const a of out) a.socket.close();
        throw e;
      }
      this.announcers = out;
    } catch (e) {
      this.ctx.log(`${this.name}: cannot open the GARP/NA socket: ${(e as Error).message}`);
    }
  }

  private burst(count: number): void {
    if (this.machine.state !== 'master') return;
    this.openPacketSocket();
    for (const a of this.announcers ?? []) {
      try {
        for (let i = 0; i < count; i++) for (const f of a.frames) { a.socket.send(f); this.counters.announcements++; }
      } catch (e) {
        this.ctx.log(`${this.name}: announce failed: ${(e as Error).message}`);
      }
    }
  }

  /**
   * Reload: a new VIP list of the same family. A master adds the new addresses, then drops the old
   * ones, and announces again (GARP/NA); a backup holds none, so only the list changes. All of it in
   * this tick (the synchronous VIP socket), so no transition comes in between. Adverts carry the new
   * list from the next one on.
   */
  setVirtualIps(vips: VrrpInstanceConfig['virtual_ips']): void {
    const holding = this.machine.state === 'master' && this.vipNl !== null;
    const before = holding ? this.tryRequests('remove') : [];
    this.config.virtual_ips = vips;
    this.vipTexts = vips.map((v) => v.address);
    this.prepared = null;
    for (const a of this.announcers ?? []) a.socket.close();
    this.announcers = null; // rebuilt for the new list at the next burst
    if (!holding) return;
    const after = this.tryRequests('add');
    const id = (r: PreparedRequest) => JSON.stringify(r.spec);
    const had = new Set(before.map(id));
    const has = new Set(after.map(id));
    this.applyVipRequests(after.filter((r) => !had.has(id(r))), 'EEXIST');
    const gone = before.filter((r) => !has.has(id(r)));
    // `before` was encoded as removals already; the ones still wanted are skipped above.
    this.applyVipRequests(gone, 'EADDRNOTAVAIL');
    this.startAnnouncing();
  }

  private applyVipRequests(reqs: PreparedRequest[], fine: string): void {
    if (!reqs.length || !this.vipNl) return;
    this.vipNl.apply(reqs).forEach((e, i) => {
      if (e && e.code !== fine) { this.counters.vipErrors++; this.ctx.log(`${this.name}: ${fine === 'EEXIST' ? 'add' : 'remove'} ${reqs[i]!.spec.address}: ${e.message}`); }
    });
  }

  /**
   * The interface changed under the instance (vrrp/interfaces.ts): a new MAC (bond failover) or a new
   * ifindex (deleted and recreated), with the channel reopened on it. GARP/NA frames and VIP requests
   * are rebuilt for it; a master puts its VIPs on a new ifindex (placeVips: a VIP's own `device` was
   * recreated) and announces with the new MAC. Returns true when it announced.
   */
  relink(link: LinkInfo, channel?: VrrpChannel, placeVips = false): boolean {
    const moved = placeVips || link.ifindex !== this.ctx.link.ifindex;
    this.ctx.link = link;
    if (channel && channel !== this.ctx.channel) {
      if (this.ctx.channel.handlers.get(this.config.vrid)) this.ctx.channel.handlers.delete(this.config.vrid);
      this.ctx.channel = channel;
      channel.handlers.set(this.config.vrid, (p, rx) => this.receive(p, rx));
    }
    this.prepared = null;
    for (const a of this.announcers ?? []) a.socket.close();
    this.announcers = null; // rebuilt with the new index and MAC at the next burst
    if (this.machine.state !== 'master') return false;
    if (moved) this.addVips();
    this.startAnnouncing();
    return true;
  }

  /** The link the instance's VIPs and GARP/NA use (its interface, or its VMAC), and its receive channel. */
  get link(): LinkInfo { return this.ctx.link; }
  get channel(): VrrpChannel { return this.ctx.channel; }

  /** A master announces again (the link came back before VRRP acted on it going down). */
  reannounce(): boolean {
    if (this.machine.state !== 'master') return false;
    this.startAnnouncing();
    return true;
  }

  /**
   * A VIP another program deleted (vrrp/vip-watch.ts): added again and announced. 'present': the
   * kernel had it (EEXIST: the event was our own removal, seen late), nothing done.
   */
  readdVip(address: string): 'added' | 'present' | 'failed' {
    if (!this.vipNl || this.machine.state !== 'master') return 'failed';
    const req = this.tryRequests('add').find((r) => r.spec.address === address);
    if (!req) return 'failed';
    const e = this.vipNl.apply([req])[0];
    if (e && e.code === 'EEXIST') return 'present';
    if (e) { this.counters.vipErrors++; this.ctx.log(`${this.name}: add ${address}: ${e.message}`); return 'failed'; }
    this.startAnnouncing();
    return 'added';
  }

  /** Priority-0 advert if master, VIPs removed (§6.4.3 Shutdown). Resolves when the VIPs are gone. */
  async stop(): Promise<void> {
    if (this.startupTimer) { clearTimeout(this.startupTimer); this.startupTimer = null; }
    this.handle({ type: 'shutdown' });
    this.timer.cancel();
    this.diagnostics.stop();
    this.stopAnnouncing();
    for (const a of this.announcers ?? []) a.socket.close();
    this.announcers = null;
    this.vipNl?.close();
    this.vipNl = null;
    this.ctx.channel.handlers.delete(this.config.vrid);
  }
}
