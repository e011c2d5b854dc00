// Generic netlink: the 4-byte genl header and family resolution by name through the "nlctrl" family
// (CTRL_CMD_GETFAMILY), so the IPVS client can find "IPVS" and its id on this kernel.
//
//   const genl = GenericNetlink.open({ netns? });
//   const fam = await genl.resolveFamily('IPVS');   // { id, name, version, hdrSize, maxAttr, multicastGroups: Map }
//   await genl.socket.request(genlRequest(fam.id, IPVS_CMD_NEW_SERVICE, fam.version, attrs));
//   genl.close()
// Pure helpers: encodeGenlHeader / decodeGenlHeader, genlRequest, encodeGetFamily, decodeFamily.
import { AttributeWriter, decodeAttributes, type Attributes } from './attributes.js';
import { NetlinkDecodeError } from './errors.js';
import type { NetlinkMessage } from './message.js';
import { NetlinkSocket, type NetlinkRequest, type NetlinkSocketOptions } from './socket.js';
import { NETLINK_GENERIC } from '../native/index.js';

export const GENL_HDRLEN = 4;
export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_NEWFAMILY = 1, CTRL_CMD_DELFAMILY = 2, CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1, CTRL_ATTR_FAMILY_NAME = 2, CTRL_ATTR_VERSION = 3, CTRL_ATTR_HDRSIZE = 4,
  CTRL_ATTR_MAXATTR = 5, CTRL_ATTR_OPS = 6, CTRL_ATTR_MCAST_GROUPS = 7;
export const CTRL_ATTR_MCAST_GRP_NAME = 1, CTRL_ATTR_MCAST_GRP_ID = 2;

export interface GenlHeader { cmd: number; version: number }

/** struct genlmsghdr { u8 cmd; u8 version; u16 reserved; } */
export function encodeGenlHeader(cmd: number, version: number): Buffer {
  const b = Buffer.alloc(GENL_HDRLEN);
  b.writeUInt8(cmd, 0);
  b.writeUInt8(version, 1);
  return b;
}

export function decodeGenlHeader(payload: Buffer): GenlHeader {
  if (payload.length < GENL_HDRLEN) throw new NetlinkDecodeError(`genl payload of ${payload.length} bytes, needs ${GENL_HDRLEN}`);
  return { cmd: payload.readUInt8(0), version: payload.readUInt8(1) };
}

/** A genl message's attributes (after the genl header and the family's own fixed header, if any). */
export function genlAttributes(m: NetlinkMessage, familyHdrSize = 0): Attributes {
  decodeGenlHeader(m.payload);
  const start = GENL_HDRLEN + ((familyHdrSize + 3) & ~3);
  if (start > m.payload.length) throw new NetlinkDecodeError(`genl payload of ${m.payload.length} bytes, header needs ${start}`);
  return decodeAttributes(m.payload, start);
}

/** A request for the transport: genl header + attributes (filled by `fill`). */
export function genlRequest(familyId: number, cmd: number, version: number, fill?: (w: AttributeWriter) => void, flags = 0): NetlinkRequest {
  const w = new AttributeWriter(64).raw(encodeGenlHeader(cmd, version));
  fill?.(w);
  return { type: familyId, flags, payload: w.finish() };
}

/** CTRL_CMD_GETFAMILY for one family, byte for byte what `genl ctrl get name NAME` (iproute2) sends. */
export function encodeGetFamily(name: string): NetlinkRequest {
  return genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, (w) => w.string(CTRL_ATTR_FAMILY_NAME, name));
}

export interface GenlFamily {
  id: number;
  name: string;
  version: number;
  hdrSize: number;
  maxAttr: number;
  /** Multicast group name -> group id (for NETLINK_ADD_MEMBERSHIP). */
  multicastGroups: Map<string, number>;
}

export function decodeFamily(m: NetlinkMessage): GenlFamily {
  const a = genlAttributes(m);
  const id = a.u16(CTRL_ATTR_FAMILY_ID);
  const name = a.string(CTRL_ATTR_FAMILY_NAME);
  if (id === undefined || name === undefined) throw new NetlinkDecodeError('genl family without id or name');
  const multicastGroups = new Map<string, number>();
  for (const g of a.nestedList(CTRL_ATTR_MCAST_GROUPS)) {
    const gname = g.string(CTRL_ATTR_MCAST_GRP_NAME), gid = g.u32(CTRL_ATTR_MCAST_GRP_ID);
    if (gname !== undefined && gid !== undefined) multicastGroups.set(gname, gid);
  }
  return {
    id, name, version: a.u32(CTRL_ATTR_VERSION) ?? 0, hdrSize: a.u32(CTRL_ATTR_HDRSIZE) ?? 0,
    maxAttr: a.u32(CTRL_ATTR_MAXATTR) ?? 0, multicastGroups,
  };
}

export class GenericNetlink {
  private readonly families = new Map<string, GenlFamily>();

  private constructor(readonly socket: NetlinkSocket) {}

  static open(opts: NetlinkSocketOptions = {}): GenericNetlink {
    return new GenericNetlink(NetlinkSocket.open(NETLINK_GENERIC, opts));
  }

  /** Resolves a family by name; rejects with NetlinkError code 'ENOENT' when this kernel lacks it. */
  async resolveFamily(name: string, opts: { refresh?: boolean } = {}): Promise<GenlFamily> {
    const cached = this.families.get(name);
    if (cached && !opts.refresh) return cached;
    const replies = await this.socket.request(encodeGetFamily(name));
    const reply = replies.find((m) => m.type === GENL_ID_CTRL);
    if (!reply) throw new NetlinkDecodeError(`no CTRL_CMD_NEWFAMILY reply for ${name}`);
    const fam = decodeFamily(reply);
    this.families.set(name, fam);
    return fam;
  }

  /** Every family this kernel has (a CTRL_CMD_GETFAMILY dump). */
  async listFamilies(): Promise<GenlFamily[]> {
    const replies = await this.socket.dump(genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0));
    return replies.filter((m) => m.type === GENL_ID_CTRL).map(decodeFamily);
  }

  close(): void { this.socket.close(); }
}
