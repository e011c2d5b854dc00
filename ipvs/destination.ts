// A destination (real server), one field per IPVS_DEST_ATTR_*, and its encoding inside IPVS_CMD_ATTR_DEST.
import type { AttributeWriter, Attributes } from '../src/netlink/attributes.js';
import { NetlinkDecodeError } from '../src/netlink/errors.js';
import { formatInetAddr, inetAddrBytes } from './address.js';
import {
  AF_INET, AF_INET6, IP_VS_CONN_F_FWD_MASK, IPVS_DEST_ATTR_ACTIVE_CONNS, IPVS_DEST_ATTR_ADDR, IPVS_DEST_ATTR_ADDR_FAMILY,
  IPVS_DEST_ATTR_FWD_METHOD, IPVS_DEST_ATTR_INACT_CONNS, IPVS_DEST_ATTR_L_THRESH, IPVS_DEST_ATTR_PERSIST_CONNS,
  IPVS_DEST_ATTR_PORT, IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64, IPVS_DEST_ATTR_TUN_FLAGS, IPVS_DEST_ATTR_TUN_PORT,
  IPVS_DEST_ATTR_TUN_TYPE, IPVS_DEST_ATTR_U_THRESH, IPVS_DEST_ATTR_WEIGHT,
} from './constants.js';
import { decodeStats, type IpvsStats } from './stats.js';

export interface IpvsDestination {
  /** IPVS_DEST_ATTR_ADDR_FAMILY: may differ from the service's only with tunnel forwarding. */
  addrFamily: number;
  /** IPVS_DEST_ATTR_ADDR in text form. */
  addr: string;
  /** IPVS_DEST_ATTR_PORT. */
  port: number;
  /** IPVS_DEST_ATTR_FWD_METHOD: IP_VS_CONN_F_MASQ, _LOCALNODE, _TUNNEL, _DROUTE or _BYPASS. */
  fwdMethod: number;
  /** IPVS_DEST_ATTR_WEIGHT: 0 drains (no new connections; established ones stay). */
  weight: number;
  /** IPVS_DEST_ATTR_U_THRESH: upper connection threshold, 0 = none. */
  uThresh: number;
  /** IPVS_DEST_ATTR_L_THRESH: lower connection threshold. */
  lThresh: number;
  /** IPVS_DEST_ATTR_TUN_TYPE: IP_VS_CONN_F_TUNNEL_TYPE_IPIP, _GUE or _GRE. */
  tunType: number;
  /** IPVS_DEST_ATTR_TUN_PORT: the GUE destination port. */
  tunPort: number;
  /** IPVS_DEST_ATTR_TUN_FLAGS: IP_VS_TUNNEL_ENCAP_FLAG_CSUM / _REMCSUM. */
  tunFlags: number;
}

/** A destination as dumped, with its connection counts and statistics. */
export interface IpvsDestinationEntry extends IpvsDestination {
  activeConns: number;
  inactConns: number;
  persistConns: number;
  stats: IpvsStats;
}

/** One string per destination of a service: "10.0.0.2|80" (the kernel looks them up by family, address, port). */
export const destinationKey = (d: Pick<IpvsDestination, 'addr' | 'port'>): string => `${d.addr}|${d.port}`;

/** Every attribute, in ipvsadm's order; DEL_DEST needs only the address and port but takes the rest. */
export function encodeDestination(w: AttributeWriter, d: IpvsDestination): void {
  w.u16(IPVS_DEST_ATTR_ADDR_FAMILY, d.addrFamily);
  w.binary(IPVS_DEST_ATTR_ADDR, inetAddrBytes(d.addr));
  w.be16(IPVS_DEST_ATTR_PORT, d.port);
  w.u32(IPVS_DEST_ATTR_FWD_METHOD, d.fwdMethod & IP_VS_CONN_F_FWD_MASK);
  w.u32(IPVS_DEST_ATTR_WEIGHT, d.weight);
  w.u8(IPVS_DEST_ATTR_TUN_TYPE, d.tunType);
  w.be16(IPVS_DEST_ATTR_TUN_PORT, d.tunPort);
  w.u16(IPVS_DEST_ATTR_TUN_FLAGS, d.tunFlags);
  w.u32(IPVS_DEST_ATTR_U_THRESH, d.uThresh);
  w.u32(IPVS_DEST_ATTR_L_THRESH, d.lThresh);
}

/** serviceAf: a kernel that predates IPVS_DEST_ATTR_ADDR_FAMILY gives the service's family. */
export function decodeDestination(a: Attributes, serviceAf: number): IpvsDestinationEntry {
  const af = a.u16(IPVS_DEST_ATTR_ADDR_FAMILY) ?? serviceAf;
  if (af !== AF_INET && af !== AF_INET6) throw new NetlinkDecodeError(`IPVS destination with address family ${af}`);
  const addr = a.binary(IPVS_DEST_ATTR_ADDR);
  if (!addr || (addr.length !== 16 && addr.length !== (af === AF_INET ? 4 : 16)))
    throw new NetlinkDecodeError(`IPVS destination without a valid IPVS_DEST_ATTR_ADDR`);
  return {
    addrFamily: af,
    addr: formatInetAddr(addr, af),
    port: a.be16(IPVS_DEST_ATTR_PORT) ?? 0,
    fwdMethod: (a.u32(IPVS_DEST_ATTR_FWD_METHOD) ?? 0) & IP_VS_CONN_F_FWD_MASK,
    weight: a.s32(IPVS_DEST_ATTR_WEIGHT) ?? 0,
    uThresh: a.u32(IPVS_DEST_ATTR_U_THRESH) ?? 0,
    lThresh: a.u32(IPVS_DEST_ATTR_L_THRESH) ?? 0,
    tunType: a.u8(IPVS_DEST_ATTR_TUN_TYPE) ?? 0,
    tunPort: a.be16(IPVS_DEST_ATTR_TUN_PORT) ?? 0,
    tunFlags: a.u16(IPVS_DEST_ATTR_TUN_FLAGS) ?? 0,
    activeConns: a.u32(IPVS_DEST_ATTR_ACTIVE_CONNS) ?? 0,
    inactConns: a.u32(IPVS_DEST_ATTR_INACT_CONNS) ?? 0,
    persistConns: a.u32(IPVS_DEST_ATTR_PERSIST_CONNS) ?? 0,
    stats: decodeStats(a.nested(IPVS_DEST_ATTR_STATS64) ?? a.nested(IPVS_DEST_ATTR_STATS)),
  };
}
