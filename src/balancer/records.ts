// Config records -> kernel records: a virtual service as an IpvsService, a real server (or the sorry
// server) as an IpvsDestination. Pure; mirrors what ipvsadm would send for the same settings.
import {
  AF_INET, AF_INET6, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_TUNNEL_TYPE_GRE,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE, IP_VS_CONN_F_TUNNEL_TYPE_IPIP, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_ONEPACKET, IP_VS_TUNNEL_ENCAP_FLAG_CSUM, IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM, IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
} from '../../ipvs/constants.js';
import type { IpvsDestination } from '../../ipvs/destination.js';
import { defaultNetmask, type IpvsService } from '../../ipvs/service.js';
import type { RealServerConfig, TunnelConfig, VirtualServiceConfig } from '../config/model.js';

const PROTOCOL = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, sctp: IPPROTO_SCTP } as const;
const FORWARDING = { nat: IP_VS_CONN_F_MASQ, dr: IP_VS_CONN_F_DROUTE, tunnel: IP_VS_CONN_F_TUNNEL } as const;
const TUN_TYPE = { ipip: IP_VS_CONN_F_TUNNEL_TYPE_IPIP, gue: IP_VS_CONN_F_TUNNEL_TYPE_GUE, gre: IP_VS_CONN_F_TUNNEL_TYPE_GRE } as const;
const TUN_FLAGS = { none: IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM, csum: IP_VS_TUNNEL_ENCAP_FLAG_CSUM, remcsum: IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM } as const;
const SCHED_FLAG = { 'sh-fallback': IP_VS_SVC_F_SCHED1, 'sh-port': IP_VS_SVC_F_SCHED2, 'mh-fallback': IP_VS_SVC_F_SCHED1, 'mh-port': IP_VS_SVC_F_SCHED2 } as const;

export function serviceFamily(vs: VirtualServiceConfig): number {
  if (vs.address) return vs.address.family === 6 ? AF_INET6 : AF_INET;
  const g = vs.group?.addresses[0];
  if (g) return g.family === 6 ? AF_INET6 : AF_INET;
  return vs.family === 'ipv6' ? AF_INET6 : AF_INET;
}

/** IPv4 persistence masks travel as a 32-bit mask, IPv6 ones as a prefix length (ip_vs.h). */
function netmaskFor(af: number, prefix: number | undefined): number {
  if (prefix === undefined) return defaultNetmask(af);
  if (af === AF_INET6) return prefix;
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The IPVS services of a virtual service: one, or one per address and fwmark of its group (in the group's order). */
export function serviceRecords(vs: VirtualServiceConfig): IpvsService[] {
  const af = serviceFamily(vs);
  let flags = 0;
  for (const f of vs.scheduler_flags) flags |= SCHED_FLAG[f];
  if (vs.persistence) flags |= IP_VS_SVC_F_PERSISTENT;
  if (vs.one_packet) flags |= IP_VS_SVC_F_ONEPACKET;
  const settings = {
    af,
    schedName: vs.scheduler,
    flags,
    timeout: vs.persistence ? Math.round(vs.persistence.timeout / 1000) : 0,
    netmask: netmaskFor(af, vs.persistence?.netmask),
    peName: vs.persistence?.engine ?? '',
  };
  const byAddress = (addr: string, port: number): IpvsService => ({ ...settings, protocol: PROTOCOL[vs.protocol], addr, port, fwmark: 0 });
  const byMark = (fwmark: number): IpvsService => ({ ...settings, protocol: 0, addr: '', port: 0, fwmark });
  if (vs.group) {
    return [
      ...vs.group.addresses.flatMap((r) => r.addresses.map((a) => byAddress(a, r.port))),
      ...vs.group.fwmarks.map(byMark),
    ];
  }
  return [vs.fwmark ? byMark(vs.fwmark) : byAddress(vs.address?.address ?? '', vs.address?.port ?? 0)];
}

/** The virtual service's IPVS service; for a group, its first (what names it in metrics and status). */
export function serviceRecord(vs: VirtualServiceConfig): IpvsService {
  return serviceRecords(vs)[0]!;
}

function tunnelFields(t: TunnelConfig | undefined): Pick<IpvsDestination, 'tunType' | 'tunPort' | 'tunFlags'> {
  if (!t) return { tunType: 0, tunPort: 0, tunFlags: 0 };
  return { tunType: TUN_TYPE[t.type], tunPort: t.port ?? 0, tunFlags: TUN_FLAGS[t.checksum] };
}

/**
 * The real server's port: its own, else the service's (0 for fwmark services: keep the request's). In a
 * group, the service's is that member's port (`service`), or for checks the first address's.
 */
export function realServerPort(vs: VirtualServiceConfig, rs: Pick<RealServerConfig, 'address'>, service?: Pick<IpvsService, 'port'>): number {
  return rs.address.port ?? service?.port ?? vs.address?.port ?? vs.group?.addresses[0]?.port ?? 0;
}

/** service: the group member it is a destination of (its port stands in for a port the real server leaves out). */
export function destinationRecord(vs: VirtualServiceConfig, rs: RealServerConfig, weight: number, service?: Pick<IpvsService, 'port'>): IpvsDestination {
  const fwd = rs.forwarding ?? vs.forwarding;
  return {
    addrFamily: rs.address.family === 6 ? AF_INET6 : AF_INET,
    addr: rs.address.address,
    port: realServerPort(vs, rs, service),
    fwdMethod: FORWARDING[fwd],
    weight,
    uThresh: rs.upper_threshold ?? 0,
    lThresh: rs.lower_threshold ?? 0,
    ...(fwd === 'tunnel' ? tunnelFields(rs.tunnel ?? vs.tunnel) : tunnelFields(undefined)),
  };
}

export function sorryRecord(vs: VirtualServiceConfig): IpvsDestination | undefined {
  const s = vs.sorry_server;
  if (!s) return undefined;
  const fwd = s.forwarding ?? vs.forwarding;
  return {
    addrFamily: s.address.family === 6 ? AF_INET6 : AF_INET,
    addr: s.address.address,
    port: s.address.port,
    fwdMethod: FORWARDING[fwd],
    weight: 1,
    uThresh: 0, lThresh: 0,
    ...(fwd === 'tunnel' ? tunnelFields(vs.tunnel) : tunnelFields(undefined)),
  };
}
