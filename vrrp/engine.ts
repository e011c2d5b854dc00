// All VRRP instances of one director: shared channels per (interface, family), interface tracking
// from rtnetlink link events, track scripts, checker-driven tracked objects, sync groups and notify.
//
//   const e = await VrrpEngine.start(config, { log });
//   e.setTrackedObject('web-vs', false);   // checkers: a virtual service lost quorum
//   e.giveUp('vi_1', 10_000);              // admin: leave mastership, no preemption for 10 s
//   await e.stop();                        // masters send priority 0 and drop their VIPs
import type { LvsdConfig, VrrpInstanceConfig } from '../src/config/model.js';
import { Rtnetlink, watchRtnetlink, type Link } from '../src/netlink/rtnetlink.js';
import type { NetlinkSubscription } from '../src/netlink/socket.js';
import type { Family } from './address.js';
import { VrrpInstance } from './instance.js';
import { notifyCommands } from './notify.js';
import { lookupUser, runNotify, type UserIds } from '../src/scripts/run.js';
import { VrrpChannel } from './socket.js';
import type { VrrpState } from './state-machine.js';
import { TrackScript } from './track.js';

export interface EngineOptions {
  log?: (line: string) => void;
  /** Replaces spawning notify commands (tests). */
  runNotify?: (argv: string[]) => void;
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

export class VrrpEngine {
  readonly instances = new Map<string, VrrpInstance>();
  readonly channels = new Map<string, VrrpChannel>();
  private readonly links = new Map<string, Link>();
  private readonly tracked = new Map<string, boolean>(); // 'interface:eth0', 'script:x', 'vs:y'
  private readonly scripts: TrackScript[] = [];
  private readonly groupOf = new Map<string, string>();
  private watch: NetlinkSubscription | null = null;
  private readonly log: (line: string) => void;
  private readonly runNotify: (argv: string[]) => void;
  /** global.script_user, looked up once: notify commands and track scripts without their own user. */
  private readonly user: UserIds | null;
  private stopping = false;

  private constructor(readonly config: LvsdConfig, readonly rtnl: Rtnetlink, opts: EngineOptions) {
    this.log = opts.log ?? ((l) => process.stdout.write(`${new Date().toISOString()} ${l}\n`));
    this.user = lookupUser(config.global.script_user);
    this.runNotify = opts.runNotify ?? ((argv) => runNotify(argv, this.user, (why) => this.log(`notify ${argv[0]}: ${why}`)));
  }

  static async start(config: LvsdConfig, opts: EngineOptions = {}): Promise<VrrpEngine> {
    const e = new VrrpEngine(config, Rtnetlink.open(), opts);
    try { await e.init(); } catch (err) { await e.stop().catch(() => {}); throw err; }
    return e;
  }

  private async init(): Promise<void> {
    for (const l of await this.rtnl.listLinks()) this.links.set(l.name, l);
    this.watch = watchRtnetlink({
      event: (ev) => { if (ev.kind === 'link') this.linkEvent(ev.action === 'del' ? { ...ev.link, up: false, lowerUp: false } : ev.link); },
      resync: () => { void this.rtnl.listLinks().then((ls) => ls.forEach((l) => this.linkEvent(l))).catch(() => {}); },
    });
    for (const g of this.config.vrrp_sync_groups) for (const n of g.instances) this.groupOf.set(n, g.name);
    const addresses = await this.rtnl.listAddresses();
    for (const ic of this.config.vrrp_instances) {
      const link = this.links.get(ic.interface);
      if (!link) throw new Error(`vrrp instance ${ic.name}: no interface ${ic.interface}`);
      const family: Family = ic.virtual_ips[0]!.family === 4 ? 'ipv4' : 'ipv6';
      const key = `${ic.interface}/${family}`;
      let ch = this.channels.get(key);
      if (!ch) {
        ch = new VrrpChannel({ ifname: ic.interface, ifindex: link.index, family, joinGroup: true });
        this.channels.set(key, ch);
      }
      const vipSet = new Set(ic.virtual_ips.map((v) => v.address));
      const mine = addresses.filter((a) => a.ifindex === link.index && a.family === (family === 'ipv4' ? 'inet' : 'inet6') && !vipSet.has(a.address));
      const primary = ic.unicast?.source?.address
        ?? (family === 'ipv4' ? mine[0]?.address : mine.find((a) => a.address.startsWith('fe80'))?.address);
      if (!primary) throw new Error(`vrrp instance ${ic.name}: ${ic.interface} has no ${family === 'ipv4' ? 'IPv4' : 'IPv6 link-local'} address to send from`);
      const inst = new VrrpInstance(ic, {
        rtnl: this.rtnl, channel: ch, link: { ifindex: link.index, mac: link.mac ?? '00:00:00:00:00:00' },
        deviceLink: (n) => { const l = this.links.get(n); if (!l) throw new Error(`no interface ${n}`); return { ifindex: l.index, mac: l.mac ?? '00:00:00:00:00:00' }; },
        primaryAddress: primary, ownAddresses: mine.map((a) => a.address), log: this.log,
        onState: (i, from, to) => this.stateChanged(i, from, to),
      });
      this.instances.set(ic.name, inst);
    }
    for (const sc of this.config.track_scripts) {
      if (!this.config.vrrp_instances.some((i) => i.track.scripts.some((t) => t.name === sc.name))) continue;
      const u = sc.user ? lookupUser(sc.user) : this.user;
      const ts = new TrackScript(sc, u, (up) => this.setTracked(`script:${sc.name}`, up), this.log);
      this.scripts.push(ts);
    }
    for (const l of this.links.values()) this.tracked.set(`interface:${l.name}`, l.up && l.lowerUp);
    for (const inst of this.instances.values()) {
      const l = this.links.get(inst.config.interface)!;
      if (!(l.up && l.lowerUp)) inst.handle({ type: 'interface', up: false });
      this.applyTracking(inst);
    }
    for (const g of this.config.vrrp_sync_groups) this.syncFaults(g.name);
    await Promise.all([...this.instances.values()].map((i) => i.start()));
    for (const s of this.scripts) s.start();
  }

  private linkEvent(l: Link): void {
    const prev = this.links.get(l.name);
    this.links.set(l.name, l);
    const up = l.up && l.lowerUp;
    const was = prev ? prev.up && prev.lowerUp : null;
    if (was === up) return;
    for (const inst of this.instances.values()) if (inst.config.interface === l.name) inst.handle({ type: 'interface', up });
    this.setTracked(`interface:${l.name}`, up);
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

  private applyTracking(inst: VrrpInstance): void {
    const t = inst.config.track;
    const items = [
      ...t.interfaces.map((i) => ({ key: `interface:${i.name}`, weight: i.weight })),
      ...t.scripts.map((s) => ({ key: `script:${s.name}`, weight: s.weight ?? this.config.track_scripts.find((x) => x.name === s.name)?.weight })),
      ...t.virtual_services.map((v) => ({ key: `vs:${v.name}`, weight: v.weight })),
    ].map((i) => ({ weight: i.weight, up: this.tracked.has(i.key) ? this.tracked.get(i.key)! : null }));
    const r = effectivePriority(inst.basePriority, items);
    if (r.priority !== inst.machine.priority) inst.handle({ type: 'priority', priority: r.priority });
    inst.handle({ type: 'fault', cause: 'track', active: r.fault });
  }

  private stateChanged(inst: VrrpInstance, from: VrrpState, to: VrrpState): void {
    for (const argv of notifyCommands(inst.config.notify, 'INSTANCE', inst.name, to, inst.machine.priority)) this.runNotify(argv);
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
        for (const argv of notifyCommands(group.notify, 'GROUP', gname, to, 0)) this.runNotify(argv);
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

  /** Applies a new (valid) config as a diff; see EngineReloadSummary. Not implemented yet: rejects. */
  async reload(next: LvsdConfig): Promise<EngineReloadSummary> {
    void next;
    throw new Error('vrrp reload: not implemented yet');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const s of this.scripts) s.stop();
    await Promise.all([...this.instances.values()].map(async (i) => {
      await i.stop();
      for (const argv of notifyCommands(i.config.notify, 'INSTANCE', i.name, 'stop', 0)) this.runNotify(argv);
    }));
    this.watch?.close();
    for (const c of this.channels.values()) c.close();
    this.rtnl.close();
  }
}
