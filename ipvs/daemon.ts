// The connection-synchronisation daemon (IPVS_CMD_ATTR_DAEMON), one field per IPVS_DAEMON_ATTR_*.
import type { AttributeWriter, Attributes } from '../src/netlink/attributes.js';
import { NetlinkDecodeError } from '../src/netlink/errors.js';
import { familyOf } from './address.js';
import {
  AF_INET6, IPVS_DAEMON_ATTR_MCAST_GROUP, IPVS_DAEMON_ATTR_MCAST_GROUP6, IPVS_DAEMON_ATTR_MCAST_IFN,
  IPVS_DAEMON_ATTR_MCAST_PORT, IPVS_DAEMON_ATTR_MCAST_TTL, IPVS_DAEMON_ATTR_STATE, IPVS_DAEMON_ATTR_SYNC_ID,
  IPVS_DAEMON_ATTR_SYNC_MAXLEN,
} from './constants.js';

export interface IpvsDaemon {
  /** IPVS_DAEMON_ATTR_STATE: IP_VS_STATE_MASTER or IP_VS_STATE_BACKUP. */
  state: number;
  /** IPVS_DAEMON_ATTR_MCAST_IFN: the interface the sync messages use. */
  mcastIfn: string;
  /** IPVS_DAEMON_ATTR_SYNC_ID. */
  syncId: number;
  /** IPVS_DAEMON_ATTR_SYNC_MAXLEN: UDP payload size (kernel default: from the interface MTU). */
  syncMaxlen?: number;
  /** IPVS_DAEMON_ATTR_MCAST_GROUP or _GROUP6 (kernel default 224.0.0.81 / ff02::...). */
  mcastGroup?: string;
  /** IPVS_DAEMON_ATTR_MCAST_PORT (kernel default 8848). */
  mcastPort?: number;
  /** IPVS_DAEMON_ATTR_MCAST_TTL (kernel default 1). */
  mcastTtl?: number;
}

/** In ipvsadm's order. NEW_DAEMON needs state, mcast_ifn and syncid; DEL_DAEMON only reads the state. */
export function encodeDaemon(w: AttributeWriter, d: IpvsDaemon): void {
  w.u32(IPVS_DAEMON_ATTR_STATE, d.state);
  w.string(IPVS_DAEMON_ATTR_MCAST_IFN, d.mcastIfn);
  w.u32(IPVS_DAEMON_ATTR_SYNC_ID, d.syncId);
  if (d.syncMaxlen !== undefined) w.u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, d.syncMaxlen);
  // The port is a plain u16 in host order: the kernel converts it with htons itself.
  if (d.mcastPort !== undefined) w.u16(IPVS_DAEMON_ATTR_MCAST_PORT, d.mcastPort);
  if (d.mcastTtl !== undefined) w.u8(IPVS_DAEMON_ATTR_MCAST_TTL, d.mcastTtl);
  if (d.mcastGroup !== undefined)
    w.ip(familyOf(d.mcastGroup) === AF_INET6 ? IPVS_DAEMON_ATTR_MCAST_GROUP6 : IPVS_DAEMON_ATTR_MCAST_GROUP, d.mcastGroup);
}

export function decodeDaemon(a: Attributes): IpvsDaemon {
  const state = a.u32(IPVS_DAEMON_ATTR_STATE);
  if (state === undefined) throw new NetlinkDecodeError('IPVS daemon without IPVS_DAEMON_ATTR_STATE');
  const d: IpvsDaemon = { state, mcastIfn: a.string(IPVS_DAEMON_ATTR_MCAST_IFN) ?? '', syncId: a.u32(IPVS_DAEMON_ATTR_SYNC_ID) ?? 0 };
  const maxlen = a.u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN);
  if (maxlen !== undefined) d.syncMaxlen = maxlen;
  const group = a.ip(IPVS_DAEMON_ATTR_MCAST_GROUP6) ?? a.ip(IPVS_DAEMON_ATTR_MCAST_GROUP);
  if (group !== undefined) d.mcastGroup = group;
  const port = a.u16(IPVS_DAEMON_ATTR_MCAST_PORT);
  if (port !== undefined) d.mcastPort = port;
  const ttl = a.u8(IPVS_DAEMON_ATTR_MCAST_TTL);
  if (ttl !== undefined) d.mcastTtl = ttl;
  return d;
}
