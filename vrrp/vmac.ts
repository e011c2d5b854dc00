// VMAC: the macvlan (or ipvlan) a VRRP instance holds its VIPs on, so the virtual router's MAC is the
// RFC's 00-00-5E-00-01-{VRID} (IPv6 00-00-5E-00-02-{VRID}, RFC 5798 section 7.3) and a failover needs no
// switch to relearn anything (keepalived use_vmac, vmac_xmit_base, use_ipvlan).
//
// What it is (pure): vmacPlan(instance config) -> name, kind, mode, MAC, where the adverts go; the sysctls
// keepalived sets for it (vmacSysctls); which links a crashed run left (leftoverLinks: marked with the
// alias VMAC_ALIAS).
// The shell (VmacLinks): created over rtnetlink at start, down, its sysctls written, marked, then up (as
// keepalived, it stays up in every state: a BACKUP sends nothing from it, and holds no VIPs); deleted at
// stop; the interface's arp_ignore / arp_filter restored when its last VMAC goes.
//
// Receiving: a macvlan in private mode takes every multicast frame whose source MAC is its own (the peer
// master's advert from ITS vmac carries the same virtual MAC), and the interface under it never sees that
// frame (drivers/net/macvlan.c, macvlan_handle_frame). So an instance with a VMAC receives on the VMAC,
// as keepalived does, unless xmit_base; then both send and receive on the interface.
import { instanceFamily } from '../src/config/vrrp-family.js';
import { readFileSync, writeFileSync } from 'node:fs';
import type { VrrpInstanceConfig } from '../src/config/model.js';
import { IFA_F_NODAD, IPVLAN_F_BRIDGE, IPVLAN_F_PRIVATE, IPVLAN_F_VEPA, MACVLAN_MODE_PRIVATE, type Link, type Rtnetlink, type VirtualLinkSpec } from '../src/netlink/rtnetlink.js';
import type { Family } from './address.js';

/** IFLA_IFALIAS of every link lvsd creates: what the next start looks for to remove a crashed run's links. */
export const VMAC_ALIAS = 'lvsd-vrrp-vmac';

/** RFC 5798 section 7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6. */
export function vmacAddress(family: Family, vrid: number): string {
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) throw new RangeError(`VRID ${vrid} outside 1-255`);
  return `00:00:5e:00:${family === 'ipv4' ? '01' : '02'}:${vrid.toString(16).padStart(2, '0')}`;
}

/** keepalived's default name, vrrp.VRID, for both families (keepalived 2.2.7 names an IPv6 instance's vrrp.VRID too). */
export function defaultLinkName(_family: Family, vrid: number): string {
  return `vrrp.${vrid}`;
}

export interface VmacPlan {
  instance: string;
  family: Family;
  /** The link to create. */
  spec: Omit<VirtualLinkSpec, 'link'>;
  /** Adverts sent and received on the base interface, not on this link (vmac_xmit_base; always for ipvlan, whose MAC is the base's). */
  xmitBase: boolean;
  /** ipvlan: the address put on it (the adverts' source), with its prefix length. */
  address?: { address: string; prefixLength: number };
}

const IPVLAN_FLAGS = { bridge: IPVLAN_F_BRIDGE, private: IPVLAN_F_PRIVATE, vepa: IPVLAN_F_VEPA } as const;

/** The link an instance needs, or null without vmac / ipvlan. */
export function vmacPlan(ic: Pick<VrrpInstanceConfig, 'name' | 'vrid' | 'virtual_ips' | 'vmac' | 'ipvlan'>): VmacPlan | null {
  const family: Family = instanceFamily(ic) === 4 ? 'ipv4' : 'ipv6';
  if (ic.vmac) {
    return { instance: ic.name, family, xmitBase: ic.vmac.xmit_base,
      spec: { name: ic.vmac.name ?? defaultLinkName(family, ic.vrid), kind: 'macvlan', mode: MACVLAN_MODE_PRIVATE, address: vmacAddress(family, ic.vrid) } };
  }
  if (ic.ipvlan) {
    const a = ic.ipvlan.address;
    return { instance: ic.name, family, xmitBase: false,
      spec: { name: ic.ipvlan.name ?? defaultLinkName(family, ic.vrid), kind: 'ipvlan', mode: IPVLAN_FLAGS[ic.ipvlan.mode] },
      ...(a ? { address: { address: a.address, prefixLength: a.family === 4 ? 32 : 128 } } : {}) };
  }
  return null;
}

export interface SysctlWrite { key: string; value: number; why: string }

/**
 * What keepalived sets (vrrp_if_config.c): on the VMAC arp_ignore=1 (answer ARP only for its own
 * addresses), accept_local=1 (hear a peer on the same host), rp_filter=0 (it has no route back to the
 * peers), promote_secondaries=1; IPv6-only instances' VMACs carry no IPv4 (disable_ipv6 is the other way
 * round: an IPv4 VMAC gets no IPv6, so no link-local from the shared MAC and no DAD fight). On the
 * interface under it arp_ignore=1 and arp_filter=1, so it does not answer ARP for the VIPs with its own MAC.
 */
export function vmacSysctls(plan: VmacPlan, base: string): { link: SysctlWrite[]; base: SysctlWrite[] } {
  const n = plan.spec.name;
  const link: SysctlWrite[] = [{ key: `net/ipv4/conf/${n}/arp_ignore`, value: 1, why: 'no ARP replies for the interface\'s addresses' }];
  if (plan.family === 'ipv4') {
    link.push(
      { key: `net/ipv4/conf/${n}/accept_local`, value: 1, why: 'hear adverts from a local source' },
      { key: `net/ipv4/conf/${n}/rp_filter`, value: 0, why: 'adverts arrive where no route to their source points' },
      { key: `net/ipv4/conf/${n}/promote_secondaries`, value: 1, why: 'removing one VIP keeps the others of its subnet' },
      { key: `net/ipv6/conf/${n}/disable_ipv6`, value: 1, why: 'no IPv6 link-local from the shared virtual MAC' },
    );
  }
  const b: SysctlWrite[] = plan.spec.kind === 'macvlan' && plan.family === 'ipv4'
    ? [{ key: `net/ipv4/conf/${base}/arp_ignore`, value: 1, why: 'the interface must not answer ARP for the VIPs with its own MAC' },
      { key: `net/ipv4/conf/${base}/arp_filter`, value: 1, why: 'nor for addresses routed out of the VMAC' }]
    : [];
  return { link, base: b };
}

/** Links marked as lvsd's that no instance wants now (a crashed run's, or one whose config changed). */
export function leftoverLinks(links: readonly Link[], keep: ReadonlySet<string> = new Set()): Link[] {
  return links.filter((l) => l.alias === VMAC_ALIAS && !keep.has(l.name));
}

/** A created link: what the instance puts its VIPs on and sends GARP/NA from. */
export interface VmacLink { name: string; index: number; mac: string; plan: VmacPlan; base: Link }

const PROC_SYS = '/proc/sys';

/** The shell: one per engine. Every kernel error is logged with its errno text and the instance goes on without the link. */
export class VmacLinks {
  private readonly links = new Map<string, VmacLink>(); // by instance name
  /** Base interface sysctls as found, restored when the last VMAC on that interface is deleted. */
  private readonly saved = new Map<string, { key: string; value: string }[]>();

  constructor(private readonly rtnl: Rtnetlink, private readonly log: (line: string) => void, private readonly procSys = PROC_SYS) {}

  get(instance: string): VmacLink | undefined { return this.links.get(instance); }

  /** At start: deletes the links a crashed run left (marked with VMAC_ALIAS). Returns their names. */
  async sweep(all: readonly Link[]): Promise<string[]> {
    const gone: string[] = [];
    for (const l of leftoverLinks(all)) {
      try {
        await this.rtnl.removeLink(l.index);
        gone.push(l.name);
        this.log(`vmac: removed ${l.name} (${l.kind ?? 'link'} ${l.mac ?? ''}) left by an earlier run`);
      } catch (e) {
        this.log(`vmac: cannot remove leftover ${l.name}: ${(e as Error).message}`);
      }
    }
    return gone;
  }

  /**
   * Creates the instance's link on `base` (down), writes its sysctls, marks it, brings it up. IPv6: no
   * address generation from the MAC (set before up), then the interface's link-local on it, the adverts'
   * source. Throws (after removing what it made) when the kernel refuses.
   */
  async ensure(plan: VmacPlan, base: Link, linkLocal?: string): Promise<VmacLink> {
    const have = this.links.get(plan.instance);
    if (have) return have;
    const spec: VirtualLinkSpec = { ...plan.spec, link: base.index };
    try {
      await this.rtnl.addLink(spec);
    } catch (e) {
      throw new Error(`vrrp instance ${plan.instance}: cannot create ${spec.kind} ${spec.name} on ${base.name}: ${(e as Error).message}`);
    }
    let link: Link;
    try {
      link = await this.rtnl.getLink(spec.name);
      const sys = vmacSysctls(plan, base.name);
      for (const w of sys.link) this.write(w);
      if (!this.saved.has(base.name) && sys.base.length) this.saved.set(base.name, sys.base.map((w) => ({ key: w.key, value: this.read(w.key) ?? '' })));
      for (const w of sys.base) this.write(w);
      await this.rtnl.setLink(link.index, { alias: VMAC_ALIAS, ...(plan.family === 'ipv6' ? { ipv6AddrGenModeNone: true } : {}) });
      await this.rtnl.setLink(link.index, { up: true });
      if (plan.address) await this.rtnl.addAddress({ ifindex: link.index, address: plan.address.address, prefixLength: plan.address.prefixLength, ...(plan.family === 'ipv6' ? { flags: IFA_F_NODAD } : {}) });
      else if (plan.family === 'ipv6' && linkLocal && !plan.xmitBase) await this.rtnl.addAddress({ ifindex: link.index, address: linkLocal, prefixLength: 64, flags: IFA_F_NODAD });
      link = await this.rtnl.getLink(link.index);
    } catch (e) {
      await this.rtnl.removeLink((await this.rtnl.getLink(spec.name).catch(() => null))?.index ?? 0).catch(() => {});
      throw new Error(`vrrp instance ${plan.instance}: setting up ${spec.name}: ${(e as Error).message}`);
    }
    const v: VmacLink = { name: link.name, index: link.index, mac: link.mac ?? plan.spec.address ?? '00:00:00:00:00:00', plan, base };
    this.links.set(plan.instance, v);
    this.log(`vrrp instance ${plan.instance}: ${spec.kind} ${v.name} (${v.mac}) on ${base.name}, index ${v.index}${plan.xmitBase ? ', adverts on the interface' : ''}`);
    return v;
  }

  /** Engine start: a crashed run's links removed, then every instance's link made; `links` (the engine's map) follows. */
  async start(instances: readonly VrrpInstanceConfig[], links: Map<string, Link>): Promise<void> {
    for (const name of await this.sweep([...links.values()])) links.delete(name);
    await this.prepare(instances, links);
  }

  /** Makes the links of these instances (those with vmac / ipvlan) that do not exist yet. */
  async prepare(instances: readonly VrrpInstanceConfig[], links: Map<string, Link>): Promise<void> {
    const plans = instances.map((ic) => ({ ic, plan: vmacPlan(ic) })).filter((x): x is { ic: VrrpInstanceConfig; plan: VmacPlan } => x.plan !== null && !this.links.has(x.ic.name));
    if (!plans.length) return;
    const v6 = plans.some((x) => x.plan.family === 'ipv6') ? await this.rtnl.listAddresses({ family: 'inet6' }) : [];
    for (const { ic, plan } of plans) {
      const base = links.get(ic.interface);
      if (!base) throw new Error(`vrrp instance ${ic.name}: no interface ${ic.interface}`);
      const ll = v6.find((a) => a.ifindex === base.index && a.address.startsWith('fe80'))?.address;
      const v = await this.ensure(plan, base, ll);
      links.set(v.name, await this.rtnl.getLink(v.index));
    }
  }

  /** Deletes the instance's link (its VIPs go with it); the base sysctls are restored after the last one on it. */
  async release(instance: string): Promise<void> {
    const v = this.links.get(instance);
    if (!v) return;
    this.links.delete(instance);
    try { await this.rtnl.removeLink(v.index); } catch (e) {
      if ((e as { code?: string }).code !== 'ENODEV') this.log(`vrrp instance ${instance}: cannot delete ${v.name}: ${(e as Error).message}`);
    }
    if ([...this.links.values()].some((o) => o.base.name === v.base.name)) return;
    for (const s of this.saved.get(v.base.name) ?? []) if (s.value !== '') this.writeRaw(s.key, s.value);
    this.saved.delete(v.base.name);
  }

  async releaseAll(): Promise<void> {
    for (const name of [...this.links.keys()]) await this.release(name);
  }

  private read(key: string): string | undefined {
    try { return readFileSync(`${this.procSys}/${key}`, 'utf8').trim(); } catch { return undefined; }
  }

  private write(w: SysctlWrite): void { this.writeRaw(w.key, String(w.value), w.why); }

  private writeRaw(key: string, value: string, why?: string): void {
    try { writeFileSync(`${this.procSys}/${key}`, `${value}\n`); } catch (e) {
      this.log(`vmac: cannot set ${key.replaceAll('/', '.')}=${value}${why ? ` (${why})` : ''}: ${(e as Error).message}`);
    }
  }
}
