// The engine's shell for interfaces that change under it, fed by the rtnetlink events it already
// receives (no polling): the up/down debounce (links.ts decides, timers here), a new MAC (bond failover:
// GARP/NA frames rebuilt, masters announce again), an interface deleted and recreated (a new ifindex:
// the VRRP socket reopened on it, instances re-bound, a master's VIPs put back), a rename, and VIPs
// another program deleted (vip-watch.ts decides). Every such event is logged once with what was done.
import { performance } from 'node:perf_hooks';
import type { LvsdConfig } from '../src/config/model.js';
import type { Address, Link } from '../src/netlink/rtnetlink.js';
import type { LinkInfo, VrrpInstance } from './instance.js';
import { LinkDebouncer, delaysByInterface, type DebounceAction } from './links.js';
import { VrrpChannel } from './socket.js';
import { VipWatch, vipDecisionLine } from './vip-watch.js';

/** What the follower needs of the engine. */
export interface InterfaceHost {
  readonly config: LvsdConfig;
  readonly instances: ReadonlyMap<string, VrrpInstance>;
  readonly channels: Map<string, VrrpChannel>;
  /** The links as last reported, by name (the engine's map, already updated for the event). */
  readonly links: ReadonlyMap<string, Link>;
  log(line: string): void;
  /** Feeds a link event back to the engine (a link renamed away counts as deleted under its old name). */
  linkEvent(l: Link, deleted: boolean): void;
  /** The debounced state of an interface, for VRRP: FAULT / tracking (the engine's former linkEvent). */
  linkState(name: string, up: boolean): void;
  /** A fault cause of an instance changed outside the engine's own paths: sync groups follow. */
  faultsChanged(): void;
}

export const VIP_DELETED_CAUSE = 'vip-deleted';
const NO_MAC = '00:00:00:00:00:00';
const linkUp = (l: Link | undefined): boolean => !!l && l.index > 0 && l.up && l.lowerUp;

export class InterfaceFollower {
  private readonly debounce: LinkDebouncer;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly watches = new Map<string, VipWatch>();
  private readonly holds = new Map<string, NodeJS.Timeout>();

  constructor(private readonly host: InterfaceHost, private readonly now: () => number = () => performance.now()) {
    this.debounce = new LinkDebouncer(delaysByInterface(host.config.global.interface_up_down_delays ?? []));
  }

  /** The states at start, as VRRP takes them (no delay for what is already so). */
  seed(links: Iterable<Link>): void {
    for (const l of links) this.debounce.link(l.name, l.up && l.lowerUp, this.now());
  }

  /** Reload: the new delays apply to the next change. */
  reload(config: LvsdConfig): void {
    this.debounce.setDelays(delaysByInterface(config.global.interface_up_down_delays ?? []));
  }

  /** A link event; `prev`: the engine's entry before it. */
  link(prev: Link | undefined, l: Link, deleted: boolean): void {
    if (!deleted) {
      // The same ifindex under another name: that name's link is gone (renamed away).
      for (const [n, x] of this.host.links) if (n !== l.name && x.index === l.index) this.host.linkEvent({ ...x, index: 0, up: false, lowerUp: false }, true);
      if (prev && prev.index !== l.index) this.recreated(prev, l);
      else if (prev && prev.mac !== l.mac) this.macChanged(prev, l);
    }
    const up = linkUp(l) && !deleted;
    const wasUp = prev ? linkUp(prev) : null;
    for (const a of this.debounce.link(l.name, up, this.now())) this.act(l.name, a, true);
    // Back up while VRRP still counts it up (a flap within down_delay, a recreated link): hosts and
    // switches may have lost the MAC, so masters announce again.
    if (up && wasUp === false && this.debounce.reported(l.name) === true) {
      const said = this.using(l.name, l.index).filter((i) => i.reannounce()).map((i) => i.name);
      if (said.length) this.host.log(`interface ${l.name} up again: ${said.join(', ')} announced their VIPs again`);
    }
  }

  private act(name: string, a: DebounceAction, fromLink = false): void {
    const d = this.debounce.delaysOf(name);
    switch (a.type) {
      case 'arm': {
        clearTimeout(this.timers.get(name));
        const p = this.debounce.pending(name);
        if (p && fromLink) this.host.log(`interface ${name} ${p.up ? 'up' : 'down'}: VRRP acts on it after ${p.up ? `up_delay ${d.upMs}` : `down_delay ${d.downMs}`} ms unless it returns first`);
        const t = setTimeout(() => {
          this.timers.delete(name);
          for (const x of this.debounce.timer(name, this.now())) this.act(name, x);
        }, Math.max(0, a.at - this.now()));
        this.timers.set(name, t);
        break;
      }
      case 'cancel': {
        clearTimeout(this.timers.get(name));
        this.timers.delete(name);
        const r = this.debounce.reported(name);
        this.host.log(`interface ${name} ${r ? 'up' : 'down'} again after ${Math.round(a.flapMs)} ms, within its ${r ? `down_delay ${d.downMs}` : `up_delay ${d.upMs}`} ms: no VRRP transition`);
        break;
      }
      case 'report':
        if (a.heldMs > 0) this.host.log(`interface ${name} still ${a.up ? 'up' : 'down'} after ${Math.round(a.heldMs)} ms: VRRP takes it as ${a.up ? 'up' : 'down'}`);
        this.host.linkState(name, a.up);
        break;
    }
  }

  /** Instances whose VIPs and GARP/NA use the link (by index: a VMAC instance's is its macvlan), or a VIP's `device`. */
  private using(name: string, index: number): VrrpInstance[] {
    return [...this.host.instances.values()].filter((i) => (index > 0 && i.link.ifindex === index) || i.config.virtual_ips.some((v) => v.device === name));
  }

  /**
   * Re-binds the instances on `prev` (by its ifindex) to `l`, and those whose channel was reopened to the
   * new channel. placeVips: a master adds its VIPs again (the link is new: the kernel dropped them).
   */
  private rebind(prev: Link, l: Link, reopened: Map<VrrpChannel, VrrpChannel>, placeVips: boolean): { masters: string[]; others: string[] } {
    const out = { masters: [] as string[], others: [] as string[] };
    for (const i of this.host.instances.values()) {
      const onIt = prev.index > 0 && i.link.ifindex === prev.index;
      const ch = reopened.get(i.channel);
      if (!onIt && !ch && !i.config.virtual_ips.some((v) => v.device === l.name)) continue;
      const info: LinkInfo = onIt ? { ifindex: l.index, mac: l.mac ?? NO_MAC } : i.link;
      (i.relink(info, ch, placeVips) ? out.masters : out.others).push(i.name);
    }
    return out;
  }

  private recreated(prev: Link, l: Link): void {
    const reopened = new Map<VrrpChannel, VrrpChannel>();
    for (const [key, ch] of this.host.channels) {
      if (ch.opts.ifname !== l.name || ch.opts.ifindex === l.index) continue;
      let next: VrrpChannel;
      try {
        next = new VrrpChannel({ ...ch.opts, ifindex: l.index });
      } catch (e) {
        // Kept on the old index; the next event for this name tries again.
        this.host.log(`interface ${l.name} (ifindex ${l.index}): cannot reopen the VRRP socket: ${(e as Error).message}; retried at its next change`);
        continue;
      }
      for (const [vrid, h] of ch.handlers) next.handlers.set(vrid, h);
      ch.close();
      this.host.channels.set(key, next);
      reopened.set(ch, next);
    }
    const r = this.rebind(prev, l, reopened, true);
    if (!reopened.size && !r.masters.length && !r.others.length) return;
    this.host.log(`interface ${l.name} is a new link (ifindex ${prev.index > 0 ? prev.index : '?'} -> ${l.index}): ` +
      `${reopened.size ? `VRRP socket reopened (${[...reopened.values()].map((c) => `${c.opts.ifname}/${c.opts.family}`).join(', ')}), ` : ''}instances re-bound (${[...r.masters, ...r.others].join(', ') || 'none'})` +
      `${r.masters.length ? `; ${r.masters.join(', ')} put their VIPs on it and announced them` : ''}`);
  }

  private macChanged(prev: Link, l: Link): void {
    const r = this.rebind(prev, l, new Map(), false);
    if (!r.masters.length && !r.others.length) return;
    this.host.log(`interface ${l.name} MAC ${prev.mac ?? '?'} -> ${l.mac ?? '?'}: GARP/NA rebuilt for ${[...r.masters, ...r.others].join(', ')}` +
      `${r.masters.length ? `; ${r.masters.join(', ')} announced their VIPs with the new MAC` : ''}`);
  }

  /** An address event: a VIP deleted by someone else while MASTER (vip-watch.ts). */
  address(action: 'new' | 'del', a: Address): void {
    if (action !== 'del') return;
    let link: Link | undefined;
    for (const x of this.host.links.values()) if (x.index === a.ifindex) link = x;
    for (const inst of this.host.instances.values()) {
      const vips = inst.config.virtual_ips.map((v) => ({ address: v.address, ifindex: v.device ? this.host.links.get(v.device)?.index ?? -1 : inst.link.ifindex }));
      let w = this.watches.get(inst.name);
      if (!w) { w = new VipWatch(); this.watches.set(inst.name, w); }
      const d = w.deleted({ address: a.address, ifindex: a.ifindex }, { state: inst.state, policy: inst.config.vip_deleted ?? 'readd', vips, linkUp: linkUp(link) }, this.now());
      if (d.kind === 'ignore') continue;
      const hold = inst.config.vip_deleted_hold ?? 10_000;
      if (d.kind === 'readd') {
        const r = inst.readdVip(d.address);
        if (r === 'present') { w.notNeeded(); continue; }
        this.host.log(r === 'added' ? vipDecisionLine(inst.name, link?.name ?? `ifindex ${a.ifindex}`, d, hold)
          : `${inst.name}: VIP ${d.address} deleted by another program while MASTER; adding it back failed (logged above)`);
        continue;
      }
      this.host.log(vipDecisionLine(inst.name, link?.name ?? `ifindex ${a.ifindex}`, d, hold));
      if (d.kind === 'backup') { inst.handle({ type: 'give-up', holdMs: 0 }); continue; }
      this.fault(inst, hold);
    }
  }

  private fault(inst: VrrpInstance, holdMs: number): void {
    clearTimeout(this.holds.get(inst.name));
    inst.handle({ type: 'fault', cause: VIP_DELETED_CAUSE, active: true });
    this.host.faultsChanged();
    this.holds.set(inst.name, setTimeout(() => {
      this.holds.delete(inst.name);
      if (this.host.instances.get(inst.name) !== inst) return; // stopped or replaced by a reload
      this.host.log(`${inst.name}: vip_deleted_hold of ${holdMs} ms over: FAULT cleared`);
      inst.handle({ type: 'fault', cause: VIP_DELETED_CAUSE, active: false });
      this.host.faultsChanged();
    }, holdMs));
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const t of this.holds.values()) clearTimeout(t);
    this.timers.clear();
    this.holds.clear();
  }
}
