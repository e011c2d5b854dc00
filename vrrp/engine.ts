// All VRRP instances of one director: shared channels per (interface, family), interface tracking
// from rtnetlink link events, track scripts, checker-driven tracked objects, sync groups and notify.
//
//   const e = await VrrpEngine.start(config, { log });
//   e.setTrackedObject('web-vs', false);   // checkers: a virtual service lost quorum
//   e.giveUp('vi_1', 10_000);              // admin: leave mastership, no preemption for 10 s
//   await e.reload(nextConfig);            // a diff: unchanged instances keep state, timers and VIPs
//   await e.stop();                        // masters send priority 0 and drop their VIPs
//
// Reload, per instance (by name), comparing the normalised configs:
// - equal: untouched (no transition, no missed advert).
// - priority, preempt, preempt_delay, track, notify, garp, virtual_ips (same family),
//   max_learned_advert_interval, unicast_checksum_compat: applied in place.
//   A master adds the new VIPs, drops the old ones and announces again; its adverts carry the new list
//   from the next one on. keepalived does the same for VIPs on reload, and restarting a master for it
//   would cost a failover.
// - anything else (vrid, interface, version, advert_interval, unicast, authentication, owner,
//   dscp, priority to or from 255, the VIPs' family): the old instance stops as at shutdown (priority 0
//   if master, VIPs removed) and a new one starts as at startup, so peers see an ordinary handover.
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import type { LvsdConfig, TrackScriptConfig, VrrpInstanceConfig } from '../src/config/model.js';
import { checksUnicastSource, instanceFamily } from '../src/config/vrrp-family.js';
import { Rtnetlink, watchRtnetlink, type Address, type Link } from '../src/netlink/rtnetlink.js';
import type { NetlinkSubscription } from '../src/netlink/socket.js';
import type { Family } from './address.js';
import { VrrpInstance } from './instance.js';
import { InterfaceFollower, type InterfaceHost } from './interfaces.js';
import { VrrpNotifier } from './notify-queue.js';
import { lookupUser, runNotifyAwaited, type UserIds } from '../src/scripts/run.js';
import { VrrpChannel } from './socket.js';
import { VmacLinks } from './vmac.js';
import type { VrrpState } from './state-machine.js';
import { TrackScript, trackedItems } from './track.js';
import { ProcessTracker } from './track-process.js';
import { TrackFiles } from './track-file.js';
import { NoAcceptTable } from '../src/strict/nft.js';
import { noAcceptPlanFor } from '../src/strict/ruleset.js';

export interface EngineOptions {
  log?: (line: string) => void;
  /** Replaces spawning notify commands (tests). */
  runNotify?: (argv: string[]) => void;
  /**
   * Every state change of every instance, after the instance carried it out (advert sent, VIPs
   * changed) and before its notify runs. An exception here is logged, never reaches VRRP.
   */
  onState?: (name: string, from: VrrpState, to: VrrpState, priority: number) => void;
  /** Every change of an instance's effective priority (tracking, reload); same rules as onState. */
  onPriority?: (name: string, from: number, to: number, state: VrrpState) => void;
}

/** What a reload did, per instance, in words for the log. */
export interface EngineReloadSummary {
  unchanged: string[];
  added: string[];
  removed: string[];
  /** Changed and applied in place: the instance kept its state machine, timers and VIPs. */
  updated: string[];
  /** Changed in a field that needs a fresh instance (vrid, interface, version, ...): stopped and started again. */
  restarted: string[];
  /** One line per change, e.g. "vi_1: priority 100 -> 150 (in place)". */
  changes: string[];
}

/** One tracked thing of an instance: key 'interface:eth0', 'script:x', 'vs:y', ...; weight undefined means FAULT when down. */
export interface TrackItem { key: string; weight: number | undefined; up: boolean | null }

/** Effective priority from the base and the tracked objects (keepalived's rules), pure. */
export function effectivePriority(base: number, items: { weight: number | undefined; up: boolean | null }[]): { priority: number; fault: boolean } {
  if (base === 255) return { priority: 255, fault: items.some((i) => !i.weight && i.up === false) };
  let p = base;
  let fault = false;
  for (const i of items) {
    if (i.up === null) continue;
    if (!i.weight) { if (!i.up) fault = true; continue; }
    if (i.weight > 0 && i.up) p += i.weight;
    if (i.weight < 0 && !i.up) p += i.weight;
  }
  return { priority: Math.min(254, Math.max(1, p)), fault };
}

/** How long stop() waits for queued notify commands (STOP among them) before the process may exit. */
const NOTIFY_STOP_WAIT_MS = 10_000;

/** Fields whose change needs a fresh instance (see the file comment); the rest apply in place. */
const RESTART_FIELDS = ['interface', 'vrid', 'version', 'advert_interval', 'unicast', 'authentication', 'owner', 'dscp'] as const;
const IN_PLACE_FIELDS = ['priority', 'preempt', 'preempt_delay', 'track', 'notify', 'garp', 'virtual_ips', 'max_learned_advert_interval', 'unicast_checksum_compat', 'accept', 'vip_deleted', 'vip_deleted_hold'] as const;

/** How a changed instance is reloaded: in place (with what changed) or by a restart (with why). */
export function reloadPlan(old: VrrpInstanceConfig, next: VrrpInstanceConfig): { kind: 'same' } | { kind: 'in-place'; fields: string[] } | { kind: 'restart'; fields: string[] } {
  if (isDeepStrictEqual(old, next)) return { kind: 'same' };
  const known = new Set<string>([...RESTART_FIELDS, ...IN_PLACE_FIELDS, 'name']);
  const differs = (k: string) => !isDeepStrictEqual((old as Record<string, unknown>)[k], (next as Record<string, unknown>)[k]);
  // A field this list does not know yet (the schema grew) restarts: safe until someone decides otherwise.
  const restart = [...RESTART_FIELDS, ...new Set([...Object.keys(old), ...Object.keys(next)].filter((k) => !known.has(k)))].filter(differs);
  if ((old.priority === 255) !== (next.priority === 255)) restart.push('priority (address owner)');
  if (instanceFamily(old) !== instanceFamily(next)) restart.push('virtual_ips (family)');
  if (restart.length) return { kind: 'restart', fields: restart };
  return { kind: 'in-place', fields: IN_PLACE_FIELDS.filter(differs) };
}

export class VrrpEngine {
  readonly instances = new Map<string, VrrpInstance>();
  readonly channels = new Map<string, VrrpChannel>();
  private readonly links = new Map<string, Link>();
  private readonly tracked = new Map<string, boolean>(); // 'interface:eth0', 'script:x', 'vs:y'
  private readonly scripts = new Map<string, TrackScript>();
  /** track_processes (kernel process events) and track_files that an instance or a group uses. */
  private procs: ProcessTracker | null = null;
  private readonly files = new TrackFiles(() => this.retrack(), (line) => this.log(line));
  private readonly groupOf = new Map<string, string>();
  private watch: NetlinkSubscription | null = null;
  /** The instances' macvlans / ipvlans (vmac.ts); set in init(). */
  vmacs: VmacLinks | null = null;
  /** Debounce, MAC and ifindex changes, VIPs deleted by others (interfaces.ts); set in init(). */
  private follow: InterfaceFollower | null = null;
  private readonly log: (line: string) => void;
  /** Notify commands, in transition order per instance and per group (notify-queue.ts). */
  readonly notifier: VrrpNotifier;
  private readonly onState: EngineOptions['onState'];
  private readonly onPriority: EngineOptions['onPriority'];
  /** global.script_user, looked up once per config: notify commands and track scripts without their own user. */
  private user: UserIds | null;
  private stopping = false;
  private cfg: LvsdConfig;
  private reloading: Promise<unknown> = Promise.resolve();
  /** End of global.vrrp_startup_delay (startup-delay.ts) on the performance.now() clock, from the engine's start; a reload does not move it. */
  private readonly startupUntil: number | undefined;
  /** accept: false / global.vrrp_strict: lvsd's nftables table (src/strict), applied per config. */
  readonly noAccept: NoAcceptTable;

  private constructor(config: LvsdConfig, readonly rtnl: Rtnetlink, opts: EngineOptions) {
    this.cfg = config;
    this.startupUntil = config.global.vrrp_startup_delay ? performance.now() + config.global.vrrp_startup_delay : undefined;
    this.log = opts.log ?? ((l) => process.stdout.write(`${new Date().toISOString()} ${l}\n`));
    this.user = lookupUser(config.global.script_user);
    this.onState = opts.onState;
    const test = opts.runNotify;
    this.notifier = new VrrpNotifier({
      log: this.log,
      run: test ? async (job) => test(job.argv) : async (job, queue) => {
        await runNotifyAwaited(job.argv, this.user, job.timeoutMs, (why, output) => this.log(`notify ${queue} ${job.argv[0]}: ${why}${output ? `: ${output.slice(0, 200)}` : ''}`));
      },
    });
    this.onPriority = opts.onPriority;
    this.noAccept = new NoAcceptTable({ log: this.log });
  }

  /** The config in force (the last one reload() accepted). */
  get config(): LvsdConfig { return this.cfg; }

  static async start(config: LvsdConfig, opts: EngineOptions = {}): Promise<VrrpEngine> {
    const e = new VrrpEngine(config, Rtnetlink.open(), opts);
    try { await e.init(); } catch (err) { await e.stop().catch(() => {}); throw err; }
    return e;
  }

  private async init(): Promise<void> {
    if (this.startupUntil !== undefined) this.log(`vrrp_startup_delay ${this.cfg.global.vrrp_startup_delay} ms: every instance stays silent and ignores adverts until then`);
    for (const l of await this.rtnl.listLinks()) this.links.set(l.name, l);
    this.vmacs = new VmacLinks(this.rtnl, this.log);
    await this.vmacs.start(this.cfg.vrrp_instances, this.links); // a crashed run's removed first
    this.follow = new InterfaceFollower(this.interfaceHost());
    this.follow.seed(this.links.values());
    this.watch = watchRtnetlink({
      event: (ev) => {
        if (ev.kind === 'link') this.linkEvent(ev.action === 'del' ? { ...ev.link, up: false, lowerUp: false } : ev.link, ev.action === 'del');
        else this.follow?.address(ev.action, ev.address);
      },
      resync: () => { void this.rtnl.listLinks().then((ls) => ls.forEach((l) => this.linkEvent(l))).catch(() => {}); },
    });
    this.setGroups();
    const addresses = await this.rtnl.listAddresses();
    for (const ic of this.cfg.vrrp_instances) this.instances.set(ic.name, this.createInstance(ic, addresses));
    this.syncScripts(null);
    this.syncTrackers();
    for (const l of this.links.values()) this.tracked.set(`interface:${l.name}`, l.up && l.lowerUp);
    for (const inst of this.instances.values()) this.prime(inst);
    for (const g of this.cfg.vrrp_sync_groups) this.syncFaults(g.name);
    await this.noAccept.apply(noAcceptPlanFor(this.cfg)); // before any VIP is added; a failure is logged and retried
    await Promise.all([...this.instances.values()].map((i) => i.start()));
    for (const s of this.scripts.values()) s.start();
  }

  private setGroups(): void {
    this.groupOf.clear();
    for (const g of this.cfg.vrrp_sync_groups) for (const n of g.instances) this.groupOf.set(n, g.name);
  }

  /** Why an instance cannot be created on this machine now, or its link and advert source. */
  private placement(ic: VrrpInstanceConfig, addresses: Address[]): { error: string } | { link: Link; family: Family; primary: string; mine: string[] } {
    const link = this.links.get(ic.interface);
    if (!link) return { error: `vrrp instance ${ic.name}: no interface ${ic.interface}` };
    const family: Family = instanceFamily(ic) === 4 ? 'ipv4' : 'ipv6';
    const vipSet = new Set(ic.virtual_ips.map((v) => v.address));
    const mine = addresses.filter((a) => a.ifindex === link.index && a.family === (family === 'ipv4' ? 'inet' : 'inet6') && !vipSet.has(a.address));
    const primary = ic.unicast?.source?.address
      ?? (family === 'ipv4' ? mine[0]?.address : mine.find((a) => a.address.startsWith('fe80'))?.address);
    if (!primary) return { error: `vrrp instance ${ic.name}: ${ic.interface} has no ${family === 'ipv4' ? 'IPv4' : 'IPv6 link-local'} address to send from` };
    return { link, family, primary, mine: mine.map((a) => a.address) };
  }

  private createInstance(ic: VrrpInstanceConfig, addresses: Address[]): VrrpInstance {
    const p = this.placement(ic, addresses);
    if ('error' in p) throw new Error(p.error);
    // VMAC: adverts sent and received on the macvlan unless xmit_base (vmac.ts says why); VIPs and GARP/NA on it.
    const vm = this.vmacs?.get(ic.name);
    const rx = vm && !vm.plan.xmitBase ? { ifname: vm.name, ifindex: vm.index } : { ifname: ic.interface, ifindex: p.link.index };
    const key = `${rx.ifname}/${p.family}`;
    let ch = this.channels.get(key);
    if (!ch) {
      ch = new VrrpChannel({ ifname: rx.ifname, ifindex: rx.ifindex, family: p.family, joinGroup: true });
      this.channels.set(key, ch);
    }
    // The instance gets its own copy: a reload applies in-place changes by updating it.
    const own = { ...ic };
    return new VrrpInstance(own, {
      startupDelayUntil: this.startupUntil, checkUnicastSource: () => checksUnicastSource(own, this.cfg.global),
      rtnl: this.rtnl, channel: ch, link: vm ? { ifindex: vm.index, mac: vm.mac } : { ifindex: p.link.index, mac: p.link.mac ?? '00:00:00:00:00:00' },
      deviceLink: (n) => { const l = this.links.get(n); if (!l) throw new Error(`no interface ${n}`); return { ifindex: l.index, mac: l.mac ?? '00:00:00:00:00:00' }; },
      primaryAddress: vm?.plan.address?.address ?? p.primary, ownAddresses: p.mine, log: this.log,
      onState: (i, from, to) => this.stateChanged(i, from, to),
      onMasterRxLowerPri: (i, src, priority) => {
        if (this.notifier.rxLowerPri(i.name, i.config.notify, performance.now())) this.log(`${i.name}: master heard priority ${priority} from ${src}: notify master_rx_lower_pri`);
      },
    });
  }

  /** Interface state and tracking of a new instance, before it starts. */
  private prime(inst: VrrpInstance): void {
    const l = this.links.get(inst.config.interface)!;
    if (!(l.up && l.lowerUp)) inst.handle({ type: 'interface', up: false });
    this.applyTracking(inst);
  }

  /**
   * Track scripts follow the config: one an instance still uses with the same settings (and the same
   * default user) keeps running with its state; a changed one starts over (unknown until it reports);
   * an unused one stops. `previousUser`: global.script_user of the config before (null at start).
   */
  private syncScripts(previousUser: string | null | undefined): { changes: string[]; created: TrackScript[] } {
    const changes: string[] = [];
    const created: TrackScript[] = [];
    const used = (sc: TrackScriptConfig) => this.cfg.vrrp_instances.some((i) => i.track.scripts.some((t) => t.name === sc.name))
      || this.cfg.vrrp_sync_groups.some((g) => g.track.scripts.some((t) => t.name === sc.name));
    const wanted = new Map(this.cfg.track_scripts.filter(used).map((sc) => [sc.name, sc] as const));
    const userChanged = previousUser !== null && previousUser !== this.cfg.global.script_user;
    for (const [name, ts] of this.scripts) {
      const sc = wanted.get(name);
      if (sc && isDeepStrictEqual(sc, ts.config) && !(userChanged && !sc.user)) continue;
      ts.stop();
      this.scripts.delete(name);
      this.tracked.delete(`script:${name}`);
      changes.push(`track script ${name}: ${sc ? 'restarted' : 'stopped'}`);
    }
    for (const sc of wanted.values()) {
      if (this.scripts.has(sc.name)) continue;
      const u = sc.user ? lookupUser(sc.user) : this.user;
      const ts = new TrackScript(sc, u, (up) => this.setTracked(`script:${sc.name}`, up), this.log);
      this.scripts.set(sc.name, ts);
      created.push(ts);
      if (previousUser !== null && !changes.includes(`track script ${sc.name}: restarted`)) changes.push(`track script ${sc.name}: started`);
    }
    return { changes, created };
  }

  private linkEvent(l: Link, deleted = false): void {
    const prev = this.links.get(l.name);
    this.links.set(l.name, l);
    if (this.follow) { this.follow.link(prev, l, deleted); return; } // debounced: linkState() when VRRP acts on it
    const up = l.up && l.lowerUp;
    const was = prev ? prev.up && prev.lowerUp : null;
    if (was !== up) this.linkState(l.name, up);
  }

  private interfaceHost(): InterfaceHost {
    const cfg = (): LvsdConfig => this.cfg; // read live: reload replaces it
    return {
      get config() { return cfg(); }, instances: this.instances, channels: this.channels, links: this.links,
      log: (line) => this.log(line), linkEvent: (l, deleted) => this.linkEvent(l, deleted), linkState: (n, up) => this.linkState(n, up),
      faultsChanged: () => { for (const g of this.cfg.vrrp_sync_groups) this.syncFaults(g.name); },
    };
  }

  /** The interface's state as VRRP takes it (after interface_up_down_delays). */
  private linkState(name: string, up: boolean): void {
    for (const inst of this.instances.values()) if (inst.config.interface === name) inst.handle({ type: 'interface', up });
    this.setTracked(`interface:${name}`, up);
    for (const g of this.config.vrrp_sync_groups) this.syncFaults(g.name);
  }

  /** Checkers call this when a virtual service loses (false) or regains (true) quorum. */
  setTrackedObject(name: string, up: boolean): void { this.setTracked(`vs:${name}`, up); }

  private setTracked(key: string, up: boolean): void {
    if (this.tracked.get(key) === up) return;
    this.tracked.set(key, up);
    for (const inst of this.instances.values()) this.applyTracking(inst);
    if (!this.stopping) for (const g of this.config.vrrp_sync_groups) this.syncFaults(g.name);
  }

  /**
   * What an instance tracks, each with its weight and state now (null: not known yet). The one list
   * both the priority arithmetic and `lvsd status` read, so what status shows is what VRRP used.
   */
  trackItems(inst: VrrpInstance): TrackItem[] {
    // Its own block, then its sync group's; reverse and file values folded into (weight, up): track.ts.
    const gname = this.groupOf.get(inst.name);
    const group = gname ? this.config.vrrp_sync_groups.find((g) => g.name === gname)?.track : undefined;
    return trackedItems(inst.config.track, group, this.config, (key) => (this.tracked.has(key) ? this.tracked.get(key)! : null), (name) => this.files.value(name));
  }

  /** Starts / stops track processes and files to match the config (those an instance or a group uses). */
  private syncTrackers(): string[] {
    const blocks = [...this.cfg.vrrp_instances, ...this.cfg.vrrp_sync_groups].map((x) => x.track);
    const procs = this.cfg.track_processes.filter((p) => blocks.some((t) => t.processes.some((i) => i.name === p.name)));
    if (procs.length && !this.procs) this.procs = new ProcessTracker((name, up) => this.setTracked(`process:${name}`, up), (line) => this.log(line));
    const changes = this.procs?.sync(procs) ?? [];
    changes.push(...this.files.sync(this.cfg.track_files.filter((f) => blocks.some((t) => t.files.some((i) => i.name === f.name)))));
    return changes;
  }

  /** A track file's value changed: every instance's priority and faults again. */
  private retrack(): void {
    for (const inst of this.instances.values()) this.applyTracking(inst);
    if (!this.stopping) for (const g of this.config.vrrp_sync_groups) this.syncFaults(g.name);
  }

  private applyTracking(inst: VrrpInstance): void {
    const r = effectivePriority(inst.basePriority, this.trackItems(inst));
    const was = inst.machine.priority;
    if (r.priority !== was) inst.handle({ type: 'priority', priority: r.priority });
    if (inst.machine.priority !== was) this.priorityChanged(inst, was);
    inst.handle({ type: 'fault', cause: 'track', active: r.fault });
  }

  private priorityChanged(inst: VrrpInstance, from: number): void {
    const to = inst.machine.priority;
    if (this.onPriority) {
      try { this.onPriority(inst.name, from, to, inst.state); } catch (e) { this.log(`${inst.name}: priority listener failed: ${(e as Error).message}`); }
    }
    this.notifier.priority(inst.name, inst.config.notify, inst.state, to);
  }

  private stateChanged(inst: VrrpInstance, from: VrrpState, to: VrrpState): void {
    if (this.onState) {
      try { this.onState(inst.name, from, to, inst.machine.priority); } catch (e) { this.log(`${inst.name}: state listener failed: ${(e as Error).message}`); }
    }
    this.notifier.state(inst.name, inst.config.notify, to, inst.machine.priority);
    const gname = this.groupOf.get(inst.name);
    if (!gname || this.stopping) return;
    const group = this.config.vrrp_sync_groups.find((g) => g.name === gname)!;
    const members = group.instances.map((n) => this.instances.get(n)).filter((m): m is VrrpInstance => !!m && m !== inst);
    // Sync group (keepalived vrrp_sync_group): one becoming master takes the others along; one
    // leaving master for backup makes the others give it up too. Faults: syncFaults().
    queueMicrotask(() => {
      if (to === 'master') for (const m of members) m.handle({ type: 'force-master' });
      if (from === 'master' && to === 'backup') for (const m of members) if (m.state === 'master') m.handle({ type: 'give-up', holdMs: 0 });
      this.syncFaults(gname);
      const all = [inst, ...members];
      if (all.every((m) => m.state === to)) {
        this.notifier.group(gname, group.notify, to);
      }
    });
  }

  /**
   * A group is faulty while any member has a fault of its own (not the group's); then every member
   * carries the group's fault cause. Recomputed from the members' own causes, so clearing the one
   * real fault clears the group (propagating transitions instead would latch the group in FAULT).
   */
  private syncFaults(gname: string): void {
    const group = this.config.vrrp_sync_groups.find((g) => g.name === gname);
    if (!group) return;
    const cause = `sync-group:${gname}`;
    const members = group.instances.map((n) => this.instances.get(n)).filter((m): m is VrrpInstance => !!m);
    const faulty = members.some((m) => m.machine.faultCauses.some((c) => !c.startsWith('sync-group:')));
    for (const m of members) {
      const has = m.machine.faultCauses.includes(cause);
      if (has !== faulty) m.handle({ type: 'fault', cause, active: faulty });
    }
  }

  /** Admin: leave mastership now (priority-0 advert) and do not preempt for holdMs. */
  giveUp(name: string, holdMs?: number): boolean {
    const i = this.instances.get(name);
    if (!i) return false;
    i.handle({ type: 'give-up', ...(holdMs !== undefined ? { holdMs } : {}) });
    return true;
  }

  instanceConfig(name: string): VrrpInstanceConfig | undefined { return this.instances.get(name)?.config; }

  /**
   * Applies a new, valid config (loadConfig) as a diff: see the file comment. Everything that can fail
   * (an interface or source address missing for a new instance) is checked before anything changes;
   * then the error rejects and the running instances are untouched. Reloads run one after another.
   */
  reload(next: LvsdConfig): Promise<EngineReloadSummary> {
    const run = this.reloading.then(() => this.reloadNow(next));
    this.reloading = run.catch(() => {});
    return run;
  }

  private async reloadNow(next: LvsdConfig): Promise<EngineReloadSummary> {
    if (this.stopping) throw new Error('vrrp engine stopped');
    const sum: EngineReloadSummary = { unchanged: [], added: [], removed: [], updated: [], restarted: [], changes: [] };
    const wanted = new Map(next.vrrp_instances.map((ic) => [ic.name, ic] as const));
    const plans = new Map<string, ReturnType<typeof reloadPlan>>();
    for (const ic of next.vrrp_instances) {
      const inst = this.instances.get(ic.name);
      if (inst) {
        const plan = reloadPlan(inst.config, ic);
        plans.set(ic.name, plan);
      }
    }
    const addresses = await this.rtnl.listAddresses();
    const fresh = next.vrrp_instances.filter((ic) => !this.instances.has(ic.name) || plans.get(ic.name)!.kind === 'restart');
    const errors = fresh.map((ic) => this.placement(ic, addresses)).filter((p): p is { error: string } => 'error' in p).map((p) => p.error);
    if (errors.length) throw new Error(errors.join('; '));

    const previousUser = this.cfg.global.script_user;
    this.cfg = next;
    this.follow?.reload(next);
    await this.noAccept.apply(noAcceptPlanFor(next));
    this.user = lookupUser(next.global.script_user);
    this.setGroups();

    // Leaving: removed instances and those that need a fresh one stop as at shutdown.
    const leaving = [...this.instances.values()].filter((i) => !wanted.has(i.name) || plans.get(i.name)!.kind === 'restart');
    await Promise.all(leaving.map(async (i) => {
      await i.stop();
      await this.vmacs?.release(i.name);
      this.instances.delete(i.name);
      if (wanted.has(i.name)) return;
      this.notifier.state(i.name, i.config.notify, 'stop', 0);
      sum.removed.push(i.name);
      sum.changes.push(`${i.name}: removed`);
    }));
    for (const [key, ch] of this.channels) if (!ch.handlers.size && !next.vrrp_instances.some((ic) => `${ic.interface}/${instanceFamily(ic) === 4 ? 'ipv4' : 'ipv6'}` === key)) {
      ch.close();
      this.channels.delete(key);
    }

    // Staying: in place.
    for (const ic of next.vrrp_instances) {
      const plan = plans.get(ic.name);
      const inst = this.instances.get(ic.name);
      if (!plan || !inst) continue;
      if (plan.kind === 'same') { sum.unchanged.push(ic.name); continue; }
      const old = inst.config;
      const what = plan.fields.map((f) => (f === 'priority' ? `priority ${old.priority} -> ${ic.priority}` : f)).join(', ');
      if (plan.fields.includes('virtual_ips')) inst.setVirtualIps(ic.virtual_ips);
      // A key the new config leaves out (notify, max_learned_advert_interval) goes from the running one too.
      for (const k of Object.keys(inst.config)) if (!(k in ic)) delete (inst.config as Record<string, unknown>)[k];
      Object.assign(inst.config, ic);
      inst.applyConfig(ic);
      inst.basePriority = ic.priority;
      inst.machine.setPreempt(ic.preempt, ic.preempt_delay);
      sum.updated.push(ic.name);
      sum.changes.push(`${ic.name}: ${what} (in place)`);
    }

    const scripts = this.syncScripts(previousUser);
    sum.changes.push(...this.syncTrackers());
    for (const inst of this.instances.values()) this.applyTracking(inst);

    // Arriving: new instances and the restarted ones start as at startup.
    const started: VrrpInstance[] = [];
    await this.vmacs?.prepare(fresh, this.links);
    for (const ic of fresh) {
      const inst = this.createInstance(ic, addresses);
      this.instances.set(ic.name, inst);
      this.prime(inst);
      started.push(inst);
      const plan = plans.get(ic.name);
      if (plan && plan.kind === 'restart') { sum.restarted.push(ic.name); sum.changes.push(`${ic.name}: ${plan.fields.join(', ')} changed (restarted)`); } else { sum.added.push(ic.name); sum.changes.push(`${ic.name}: added`); }
    }
    // A group fault cause from a group the instance is no longer in would hold it in FAULT for good.
    for (const inst of this.instances.values()) {
      for (const c of inst.machine.faultCauses) if (c.startsWith('sync-group:') && this.groupOf.get(inst.name) !== c.slice('sync-group:'.length)) inst.handle({ type: 'fault', cause: c, active: false });
    }
    for (const g of next.vrrp_sync_groups) this.syncFaults(g.name);
    await Promise.all(started.map((i) => i.start()));
    for (const s of scripts.created) s.start(); // the kept ones are running
    sum.changes.push(...scripts.changes);
    return sum;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.reloading; // a reload under way finishes first: it may be starting instances
    for (const s of this.scripts.values()) s.stop();
    this.procs?.stop();
    this.files.stop();
    await Promise.all([...this.instances.values()].map(async (i) => {
      await i.stop();
      this.notifier.state(i.name, i.config.notify, 'stop', 0);
    }));
    // The STOP commands (and any still queued) run before the process exits, for at most one timeout.
    if (!(await this.notifier.queues.idle(NOTIFY_STOP_WAIT_MS))) this.log(`stop: ${this.notifier.queues.pending} notify commands still queued or running after ${NOTIFY_STOP_WAIT_MS / 1000}s; not waiting for them`);
    await this.noAccept.stop(); // after the VIPs are gone
    await this.vmacs?.releaseAll();
    this.watch?.close();
    this.follow?.close();
    for (const c of this.channels.values()) c.close();
    this.rtnl.close();
  }
}
