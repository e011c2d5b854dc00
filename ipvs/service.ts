// A virtual service, one field per IPVS_SVC_ATTR_*, and its encoding inside IPVS_CMD_ATTR_SERVICE.
import type { AttributeWriter, Attributes } from '../src/netlink/attributes.js';
import { NetlinkDecodeError } from '../src/netlink/errors.js';
import { formatInetAddr, inetAddrBytes } from './address.js';
import {
  AF_INET, AF_INET6, IP_VS_SVC_F_HASHED, IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_ADDR, IPVS_SVC_ATTR_FLAGS, IPVS_SVC_ATTR_FWMARK,
  IPVS_SVC_ATTR_NETMASK, IPVS_SVC_ATTR_PE_NAME, IPVS_SVC_ATTR_PORT, IPVS_SVC_ATTR_PROTOCOL, IPVS_SVC_ATTR_SCHED_NAME,
  IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64, IPVS_SVC_ATTR_TIMEOUT,
} from './constants.js';
import { decodeStats, type IpvsStats } from './stats.js';

export interface IpvsService {
  /** IPVS_SVC_ATTR_AF: AF_INET (2) or AF_INET6 (10). */
  af: number;
  /** IPVS_SVC_ATTR_PROTOCOL: IPPROTO_TCP/UDP/SCTP; 0 for a firewall-mark service (the kernel does not dump it). */
  protocol: number;
  /** IPVS_SVC_ATTR_ADDR in text form; '' for a firewall-mark service. */
  addr: string;
  /** IPVS_SVC_ATTR_PORT; 0 for a firewall-mark service. */
  port: number;
  /** IPVS_SVC_ATTR_FWMARK; 0 for an address:port service. */
  fwmark: number;
  /** IPVS_SVC_ATTR_SCHED_NAME: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh. */
  schedName: string;
  /** IPVS_SVC_ATTR_FLAGS: IP_VS_SVC_F_* (PERSISTENT, ONEPACKET, SCHED1-3). The kernel adds HASHED to what it dumps. */
  flags: number;
  /** IPVS_SVC_ATTR_TIMEOUT: persistence timeout in seconds. */
  timeout: number;
  /** IPVS_SVC_ATTR_NETMASK: for AF_INET the persistence mask as a number (0xffffff00 = /24), for AF_INET6 a prefix length. */
  netmask: number;
  /** IPVS_SVC_ATTR_PE_NAME: persistence engine ('sip'); '' for none. */
  peName: string;
}

/** A service as dumped, with its statistics. */
export interface IpvsServiceEntry extends IpvsService {
  stats: IpvsStats;
}

/** Just what identifies a service (IPVS_CMD_ATTR_SERVICE in destination and delete commands). */
export type IpvsServiceKey = Pick<IpvsService, 'af' | 'protocol' | 'addr' | 'port' | 'fwmark'>;

/** One string per distinct service: "2|6|10.0.0.1|80" or "10|fwmark|42". */
export function serviceKey(s: IpvsServiceKey): string {
  return s.fwmark ? `${s.af}|fwmark|${s.fwmark}` : `${s.af}|${s.protocol}|${s.addr}|${s.port}`;
}

/** The kernel's default persistence mask: a host (/32, /128). */
export const defaultNetmask = (af: number): number => (af === AF_INET6 ? 128 : 0xffffffff);

/** Writes the identifying attributes, in ipvsadm's order. */
export function encodeServiceKey(w: AttributeWriter, s: IpvsServiceKey): void {
  w.u16(IPVS_SVC_ATTR_AF, s.af);
  if (s.fwmark) {
    w.u32(IPVS_SVC_ATTR_FWMARK, s.fwmark);
  } else {
    w.u16(IPVS_SVC_ATTR_PROTOCOL, s.protocol);
    w.binary(IPVS_SVC_ATTR_ADDR, inetAddrBytes(s.addr));
    w.be16(IPVS_SVC_ATTR_PORT, s.port);
  }
}

/** A full entry, as IPVS_CMD_NEW_SERVICE and IPVS_CMD_SET_SERVICE need (sched, flags, timeout and netmask are mandatory). */
export function encodeService(w: AttributeWriter, s: IpvsService): void {
  encodeServiceKey(w, s);
  w.string(IPVS_SVC_ATTR_SCHED_NAME, s.schedName);
  if (s.peName) w.string(IPVS_SVC_ATTR_PE_NAME, s.peName);
  // struct ip_vs_flags { flags, mask }: a full mask makes the kernel take our flags as they are.
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE((s.flags & ~IP_VS_SVC_F_HASHED) >>> 0, 0);
  flags.writeUInt32LE(0xffffffff, 4);
  w.binary(IPVS_SVC_ATTR_FLAGS, flags);
  w.u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout);
  // The kernel reads the netmask with nla_get_be32 and compares an IPv6 prefix length to 1..128 as a plain
  // integer, so the IPv4 mask goes in network order and the IPv6 length in host order (as ipvsadm does).
  const mask = Buffer.alloc(4);
  if (s.af === AF_INET6) mask.writeUInt32LE(s.netmask >>> 0, 0); else mask.writeUInt32BE(s.netmask >>> 0, 0);
  w.binary(IPVS_SVC_ATTR_NETMASK, mask);
}

export function decodeService(a: Attributes): IpvsServiceEntry {
  const af = a.u16(IPVS_SVC_ATTR_AF);
  if (af !== AF_INET && af !== AF_INET6) throw new NetlinkDecodeError(`IPVS service with address family ${af}`);
  const fwmark = a.u32(IPVS_SVC_ATTR_FWMARK) ?? 0;
  const addrBytes = a.binary(IPVS_SVC_ATTR_ADDR);
  const flags = a.binary(IPVS_SVC_ATTR_FLAGS);
  if (flags && flags.length < 4) throw new NetlinkDecodeError(`IPVS_SVC_ATTR_FLAGS of ${flags.length} bytes`);
  const mask = a.binary(IPVS_SVC_ATTR_NETMASK);
  if (mask && mask.length !== 4) throw new NetlinkDecodeError(`IPVS_SVC_ATTR_NETMASK of ${mask.length} bytes`);
  if (addrBytes && addrBytes.length !== 16 && addrBytes.length !== (af === AF_INET ? 4 : 16))
    throw new NetlinkDecodeError(`IPVS_SVC_ATTR_ADDR of ${addrBytes.length} bytes`);
  return {
    af,
    protocol: fwmark ? 0 : (a.u16(IPVS_SVC_ATTR_PROTOCOL) ?? 0),
    addr: fwmark || !addrBytes ? '' : formatInetAddr(addrBytes, af),
    port: fwmark ? 0 : (a.be16(IPVS_SVC_ATTR_PORT) ?? 0),
    fwmark,
    schedName: a.string(IPVS_SVC_ATTR_SCHED_NAME) ?? '',
    flags: flags ? flags.readUInt32LE(0) : 0,
    timeout: a.u32(IPVS_SVC_ATTR_TIMEOUT) ?? 0,
    netmask: mask ? (af === AF_INET6 ? mask.readUInt32LE(0) : mask.readUInt32BE(0)) : defaultNetmask(af),
    peName: a.string(IPVS_SVC_ATTR_PE_NAME) ?? '',
    stats: decodeStats(a.nested(IPVS_SVC_ATTR_STATS64) ?? a.nested(IPVS_SVC_ATTR_STATS)),
  };
}
