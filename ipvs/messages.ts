// Generic netlink payloads (genlmsghdr + attributes) of every IPVS command, and the decoding of the
// kernel's answers. Pure: records in, bytes out; bytes in, records out. The transport adds the nlmsghdr
// (type = the IPVS family id resolved at run time) and NLM_F_ACK / NLM_F_DUMP.
import { AttributeWriter, decodeAttributes, type Attributes } from '../src/netlink/attributes.js';
import { NetlinkDecodeError } from '../src/netlink/errors.js';
import { decodeGenlHeader, encodeGenlHeader, GENL_HDRLEN } from '../src/netlink/genl.js';
import {
  IPVS_CMD_ATTR_DAEMON, IPVS_CMD_ATTR_DEST, IPVS_CMD_ATTR_SERVICE, IPVS_CMD_DEL_DAEMON, IPVS_CMD_DEL_DEST,
  IPVS_CMD_DEL_SERVICE, IPVS_CMD_FLUSH, IPVS_CMD_GET_CONFIG, IPVS_CMD_GET_DAEMON, IPVS_CMD_GET_DEST, IPVS_CMD_GET_INFO,
  IPVS_CMD_GET_SERVICE, IPVS_CMD_NEW_DAEMON, IPVS_CMD_NEW_DEST, IPVS_CMD_NEW_SERVICE, IPVS_CMD_SET_CONFIG,
  IPVS_CMD_SET_DEST, IPVS_CMD_SET_SERVICE, IPVS_CMD_ZERO, IPVS_GENL_VERSION, IPVS_INFO_ATTR_CONN_TAB_SIZE,
  IPVS_INFO_ATTR_VERSION,
} from './constants.js';
import { decodeDaemon, encodeDaemon, type IpvsDaemon } from './daemon.js';
import { decodeDestination, encodeDestination, type IpvsDestination, type IpvsDestinationEntry } from './destination.js';
import { decodeService, encodeService, encodeServiceKey, type IpvsService, type IpvsServiceEntry, type IpvsServiceKey } from './service.js';
import { decodeTimeouts, encodeTimeouts, type IpvsTimeouts } from './timeouts.js';

/** IPVS_CMD_GET_INFO's answer: IP_VS_VERSION_CODE (0x010201 = 1.2.1) and the connection hash table size. */
export interface IpvsInfo {
  version: number;
  connTabSize: number;
}

/** A command's genl payload; `cmd` is kept beside the bytes for logs and errors. */
export interface IpvsCommand {
  cmd: number;
  payload: Buffer;
}

function command(cmd: number, fill?: (w: AttributeWriter) => void): IpvsCommand {
  const w = new AttributeWriter(fill ? 256 : 4);
  w.raw(encodeGenlHeader(cmd, IPVS_GENL_VERSION));
  fill?.(w);
  return { cmd, payload: w.finish() };
}

export const newService = (s: IpvsService): IpvsCommand =>
  command(IPVS_CMD_NEW_SERVICE, (w) => w.nested(IPVS_CMD_ATTR_SERVICE, (n) => encodeService(n, s)));
export const setService = (s: IpvsService): IpvsCommand =>
  command(IPVS_CMD_SET_SERVICE, (w) => w.nested(IPVS_CMD_ATTR_SERVICE, (n) => encodeService(n, s)));
export const delService = (k: IpvsServiceKey): IpvsCommand =>
  command(IPVS_CMD_DEL_SERVICE, (w) => w.nested(IPVS_CMD_ATTR_SERVICE, (n) => encodeServiceKey(n, k)));

function destCommand(cmd: number, k: IpvsServiceKey, d: IpvsDestination): IpvsCommand {
  // Destination commands need only the service's identity (the kernel parses it without full_entry).
  return command(cmd, (w) => {
    w.nested(IPVS_CMD_ATTR_SERVICE, (n) => encodeServiceKey(n, k));
    w.nested(IPVS_CMD_ATTR_DEST, (n) => encodeDestination(n, d));
  });
}
export const newDest = (k: IpvsServiceKey, d: IpvsDestination): IpvsCommand => destCommand(IPVS_CMD_NEW_DEST, k, d);
export const setDest = (k: IpvsServiceKey, d: IpvsDestination): IpvsCommand => destCommand(IPVS_CMD_SET_DEST, k, d);
export const delDest = (k: IpvsServiceKey, d: IpvsDestination): IpvsCommand => destCommand(IPVS_CMD_DEL_DEST, k, d);

export const newDaemon = (d: IpvsDaemon): IpvsCommand =>
  command(IPVS_CMD_NEW_DAEMON, (w) => w.nested(IPVS_CMD_ATTR_DAEMON, (n) => encodeDaemon(n, d)));
/** DEL_DAEMON reads only the state; the interface and sync id go along as ipvsadm sends them. */
export const delDaemon = (state: number): IpvsCommand =>
  command(IPVS_CMD_DEL_DAEMON, (w) => w.nested(IPVS_CMD_ATTR_DAEMON, (n) => encodeDaemon(n, { state, mcastIfn: '', syncId: 0 })));
export const setConfig = (t: Partial<IpvsTimeouts>): IpvsCommand => command(IPVS_CMD_SET_CONFIG, (w) => encodeTimeouts(w, t));
export const zero = (k?: IpvsServiceKey): IpvsCommand =>
  command(IPVS_CMD_ZERO, k ? (w) => w.nested(IPVS_CMD_ATTR_SERVICE, (n) => encodeServiceKey(n, k)) : undefined);
export const flush = (): IpvsCommand => command(IPVS_CMD_FLUSH);

// Reads: GET_SERVICE, GET_DEST and GET_DAEMON are dumps; GET_CONFIG and GET_INFO plain requests.
export const getServices = (): IpvsCommand => command(IPVS_CMD_GET_SERVICE);
export const getDests = (k: IpvsServiceKey): IpvsCommand =>
  command(IPVS_CMD_GET_DEST, (w) => w.nested(IPVS_CMD_ATTR_SERVICE, (n) => encodeServiceKey(n, k)));
export const getDaemons = (): IpvsCommand => command(IPVS_CMD_GET_DAEMON);
export const getConfig = (): IpvsCommand => command(IPVS_CMD_GET_CONFIG);
export const getInfo = (): IpvsCommand => command(IPVS_CMD_GET_INFO);

/** Splits a genl payload into its command and top-level attributes. */
export function decodeGenl(payload: Buffer): { cmd: number; version: number; attrs: Attributes } {
  return { ...decodeGenlHeader(payload), attrs: decodeAttributes(payload, GENL_HDRLEN) };
}

function nest(payload: Buffer, type: number, what: string): Attributes {
  const n = decodeGenl(payload).attrs.nested(type);
  if (!n) throw new NetlinkDecodeError(`IPVS ${what} answer without its nested attribute ${type}`);
  return n;
}

export const decodeServiceMessage = (payload: Buffer): IpvsServiceEntry => decodeService(nest(payload, IPVS_CMD_ATTR_SERVICE, 'service'));
export const decodeDestMessage = (payload: Buffer, serviceAf: number): IpvsDestinationEntry =>
  decodeDestination(nest(payload, IPVS_CMD_ATTR_DEST, 'destination'), serviceAf);
export const decodeDaemonMessage = (payload: Buffer): IpvsDaemon => decodeDaemon(nest(payload, IPVS_CMD_ATTR_DAEMON, 'daemon'));
export const decodeConfigMessage = (payload: Buffer): IpvsTimeouts => decodeTimeouts(decodeGenl(payload).attrs);
export function decodeInfoMessage(payload: Buffer): IpvsInfo {
  const a = decodeGenl(payload).attrs;
  return { version: a.u32(IPVS_INFO_ATTR_VERSION) ?? 0, connTabSize: a.u32(IPVS_INFO_ATTR_CONN_TAB_SIZE) ?? 0 };
}
