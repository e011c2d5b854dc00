// Which kernel settings a configuration needs, and what to do given their current values. Pure: the
// daemon (src/sysctl/keeper.ts) and `lvsd doctor` (src/doctor/) read /proc/sys and act on the answer.
//
// A service is *shared* when more than one director schedules its flows at the same time: it gates an
// announced VIP (ECMP spreads one client's flows over every director and moves them when one goes),
// or the pair runs active/active with connection sync in both roles. For a shared service
// (Documentation/networking/ipvs-sysctl.rst):
//   - sloppy_tcp / sloppy_sctp: IPVS creates a connection only on a SYN (SCTP: INIT) by default; a
//     director that receives the middle of a flow another director started passes it to its own stack,
//     which answers with a reset. With sloppy it schedules any packet, and mh sends it to the same real
//     server ("allows connections to fail over from one IPVS director to another mid-flight", the
//     commit that added them, c6c96c188336).
//   - schedule_icmp: an ICMP error about a flow (fragmentation needed, i.e. path MTU discovery) may be
//     hashed to a director that has no state for it, which drops it; with schedule_icmp it schedules
//     it like the flow (added for this by 94485fedcb17).
// For NAT (masquerading) services, on any director: the real servers' replies are routed through the
// director, so it must forward (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding); the kernel drops
// them before IPVS sees them otherwise. lvsd only checks these two: they make the whole host a router,
// and IPv6 forwarding also stops it accepting router advertisements (accept_ra), which is not a side
// effect a load balancer should take on its own.
// Not needed, so not touched: conntrack (only for netfilter rules on IPVS traffic), expire_nodest_conn
// (what happens to a removed server's connections, the same on one director or many), rp_filter (an
// ECMP'd VIP arrives on the interface the client's route uses, so strict filtering passes it).
import type { LvsdConfig } from '../config/model.js';

export type SysctlMode = 'auto' | 'verify' | 'off';

export interface SysctlNeed {
  /** Dotted name, as sysctl(8) writes it. */
  key: string;
  /** The value lvsd wants; every key here is a boolean, satisfied by any non-zero value. */
  want: 1;
  /** Whether lvsd may write it (auto) or only checks it. */
  settable: boolean;
  /** The services that need it, in file order. */
  services: string[];
  /** Why, for logs, /status and doctor. */
  why: string;
}

/** What to do about one need, given its current value. */
export interface SysctlAction extends SysctlNeed {
  /** Current value as read (trimmed), or undefined when the kernel has no such key. */
  current: string | undefined;
  /** ok: satisfied; set: lvsd writes it now; wrong: unsatisfied and lvsd will not write it; missing: no such key (module not loaded, old kernel). */
  action: 'ok' | 'set' | 'wrong' | 'missing';
}

function list(names: string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/** The services of `cfg` that several directors schedule at once, in file order. */
export function sharedServices(cfg: Pick<LvsdConfig, 'announce' | 'virtual_services' | 'global'>): LvsdConfig['virtual_services'] {
  if (cfg.global.lvs_sync_daemon?.role === 'both') return cfg.virtual_services;
  const gating = new Set(cfg.announce.flatMap((a) => a.virtual_services));
  const announced = new Set(cfg.announce.flatMap((a) => a.addresses.map((ip) => ip.address)));
  return cfg.virtual_services.filter((s) => gating.has(s.name) || (s.address !== undefined && announced.has(s.address.address)));
}

/** The kernel settings `cfg` needs, in a fixed order (the sysctls IPVS reads, then forwarding). */
export function sysctlNeeds(cfg: Pick<LvsdConfig, 'announce' | 'virtual_services' | 'global'>): SysctlNeed[] {
  const out: SysctlNeed[] = [];
  const shared = sharedServices(cfg);
  const how = cfg.global.lvs_sync_daemon?.role === 'both' ? 'active/active (lvs_sync_daemon role: both)' : 'announced by several directors';
  const tcp = shared.filter((s) => s.protocol === 'tcp').map((s) => s.name);
  const sctp = shared.filter((s) => s.protocol === 'sctp').map((s) => s.name);
  if (tcp.length) out.push({ key: 'net.ipv4.vs.sloppy_tcp', want: 1, settable: true, services: tcp, why: `${list(tcp)} ${tcp.length === 1 ? 'is' : 'are'} ${how}: a director must accept the middle of a TCP connection another director started, not only a SYN` });
  if (sctp.length) out.push({ key: 'net.ipv4.vs.sloppy_sctp', want: 1, settable: true, services: sctp, why: `${list(sctp)} ${sctp.length === 1 ? 'is' : 'are'} ${how}: a director must accept the middle of an SCTP association another director started, not only an INIT` });
  if (shared.length) {
    const names = shared.map((s) => s.name);
    out.push({ key: 'net.ipv4.vs.schedule_icmp', want: 1, settable: true, services: names, why: `${list(names)} ${names.length === 1 ? 'is' : 'are'} ${how}: an ICMP error about a flow (path MTU discovery) may reach a director without its state, which must schedule it like the flow instead of dropping it` });
  }
  const natFamily = (s: LvsdConfig['virtual_services'][number], family: 4 | 6): boolean => {
    const svcFamily = s.address ? s.address.family : s.family === 'ipv6' ? 6 : 4;
    return s.forwarding === 'nat' ? svcFamily === family : s.real_servers.some((r) => r.forwarding === 'nat' && r.address.family === family);
  };
  const nat4 = cfg.virtual_services.filter((s) => natFamily(s, 4)).map((s) => s.name);
  const nat6 = cfg.virtual_services.filter((s) => natFamily(s, 6)).map((s) => s.name);
  if (nat4.length) out.push({ key: 'net.ipv4.ip_forward', want: 1, settable: false, services: nat4, why: `${list(nat4)} forward${nat4.length === 1 ? 's' : ''} by NAT: the real servers' replies are routed through this director, which drops them unless it forwards (set it in /etc/sysctl.d/; lvsd does not make the host a router on its own)` });
  if (nat6.length) out.push({ key: 'net.ipv6.conf.all.forwarding', want: 1, settable: false, services: nat6, why: `${list(nat6)} forward${nat6.length === 1 ? 's' : ''} IPv6 by NAT: the real servers' replies are routed through this director, which drops them unless it forwards (set it in /etc/sysctl.d/, with accept_ra=2 where the director learns its routes from router advertisements)` });
  return out;
}

/** Any non-zero integer enables a boolean sysctl (proc_dointvec stores what is written). */
export function satisfied(current: string | undefined): boolean {
  return current !== undefined && /^-?\d+$/.test(current) && Number(current) !== 0;
}

/**
 * Given the needs and the values read (undefined: the key does not exist), what to do about each.
 * verify never writes; off gives nothing to do (the daemon leaves the kernel alone).
 */
export function planSysctls(needs: readonly SysctlNeed[], current: ReadonlyMap<string, string | undefined>, mode: SysctlMode): SysctlAction[] {
  if (mode === 'off') return [];
  return needs.map((n) => {
    const value = current.get(n.key);
    const action = value === undefined ? 'missing' : satisfied(value) ? 'ok' : n.settable && mode === 'auto' ? 'set' : 'wrong';
    return { ...n, current: value, action };
  });
}

/** How to fix an unsatisfied need by hand, for doctor and the logs. */
export function fixFor(n: Pick<SysctlNeed, 'key' | 'want' | 'settable'>, action: SysctlAction['action']): string {
  if (action === 'missing') return n.key.startsWith('net.ipv4.vs.') ? 'load IPVS (modprobe ip_vs) and run lvsd, which sets it' : `this kernel has no ${n.key}`;
  const persist = `echo '${n.key} = ${n.want}' > /etc/sysctl.d/60-lvsd.conf && sysctl -p /etc/sysctl.d/60-lvsd.conf`;
  return n.settable ? `run lvsd with global.ipvs.sysctls: auto (the default), which sets it, or: sysctl -w ${n.key}=${n.want}` : persist;
}
