// Protocol timeouts (IPVS_CMD_SET_CONFIG / IPVS_CMD_GET_CONFIG), in seconds. On SET, 0 or an absent
// attribute leaves that timeout as it is.
import type { AttributeWriter, Attributes } from '../src/netlink/attributes.js';
import { IPVS_CMD_ATTR_TIMEOUT_TCP, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, IPVS_CMD_ATTR_TIMEOUT_UDP } from './constants.js';

export interface IpvsTimeouts {
  /** IPVS_CMD_ATTR_TIMEOUT_TCP: established TCP. */
  tcp: number;
  /** IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: TCP after a FIN. */
  tcpFin: number;
  /** IPVS_CMD_ATTR_TIMEOUT_UDP. */
  udp: number;
}

export function encodeTimeouts(w: AttributeWriter, t: Partial<IpvsTimeouts>): void {
  if (t.tcp !== undefined) w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
  if (t.tcpFin !== undefined) w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcpFin);
  if (t.udp !== undefined) w.u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
}

export function decodeTimeouts(a: Attributes): IpvsTimeouts {
  return { tcp: a.u32(IPVS_CMD_ATTR_TIMEOUT_TCP) ?? 0, tcpFin: a.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN) ?? 0, udp: a.u32(IPVS_CMD_ATTR_TIMEOUT_UDP) ?? 0 };
}
