// rtnetlink: links and addresses (the virtual IPs VRRP adds and removes) and their change events.
//
//   const rt = Rtnetlink.open({ netns? });
//   await rt.listLinks() -> Link[];  await rt.getLink('eth0' | 2) -> Link;  await rt.listAddresses({ family?, ifindex? }) -> Address[]
//   await rt.addAddress({ ifindex, address: '192.0.2.1', prefixLength: 24, flags?: IFA_F_NODAD | ..., label?, scope? })
//   await rt.removeAddress({ ifindex, address, prefixLength })
//   await rt.listRoutes({ family?, table?, protocol? }) -> Route[]
//   await rt.addRoute({ destination: '203.0.113.10', prefixLength: 32, table: 250, protocol: 250, ifindex: 1, priority?, type?: RTN_LOCAL })
//   await rt.replaceRoute(spec);  await rt.removeRoute(sameSpec)   (routes: announced VIPs, issue #14; see src/announce/)
//   rt.close()
//   const sub = watchRtnetlink({ event(e: RtnlEvent) {...}, resync() {...} }, { netns?, groups? });  sub.close()
// The encoders/decoders (encodeAddressRequest, encodeRouteRequest, decodeLink, decodeAddress, decodeRoute,
// decodeEvent) are pure and produce the same bytes as iproute2 for the same request
// (test/vectors/netlink/iproute2.json, iproute2-routes.json).
import { AttributeWriter, decodeAttributes } from './attributes.js';
import { NetlinkDecodeError } from './errors.js';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, type NetlinkMessage } from './message.js';
import { NetlinkSocket, NetlinkSubscription, type NetlinkRequest, type NetlinkSocketOptions, type SubscriptionOptions } from './socket.js';
import { NETLINK_ROUTE, AF_INET, AF_INET6 } from '../native/index.js';
import { addressBytes, formatAddress } from '../native/addresses.js';

export const RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18;
export const RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;

// rtnetlink multicast groups (enum rtnetlink_groups)
export const RTNLGRP_LINK = 1, RTNLGRP_IPV4_IFADDR = 5, RTNLGRP_IPV6_IFADDR = 9;

// struct ifinfomsg attributes (enum IFLA_*)
export const IFLA_ADDRESS = 1, IFLA_BROADCAST = 2, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINK = 5, IFLA_MASTER = 10,
  IFLA_OPERSTATE = 16, IFLA_LINKINFO = 18, IFLA_EXT_MASK = 29, IFLA_CARRIER = 33;
export const IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2;
export const IFLA_IFALIAS = 20, IFLA_AF_SPEC = 26;
// IFLA_INFO_DATA of kind "macvlan" (enum IFLA_MACVLAN_*) and its modes (enum macvlan_mode)
export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE_PRIVATE = 1, MACVLAN_MODE_VEPA = 2, MACVLAN_MODE_BRIDGE = 4, MACVLAN_MODE_PASSTHRU = 8, MACVLAN_MODE_SOURCE = 16;
// IFLA_INFO_DATA of kind "ipvlan" (enum IFLA_IPVLAN_*), its modes (enum ipvlan_mode) and flags (IPVLAN_F_*)
export const IFLA_IPVLAN_MODE = 1, IFLA_IPVLAN_FLAGS = 2;
export const IPVLAN_MODE_L2 = 0, IPVLAN_MODE_L3 = 1, IPVLAN_MODE_L3S = 2;
export const IPVLAN_F_BRIDGE = 0, IPVLAN_F_PRIVATE = 1, IPVLAN_F_VEPA = 2;
// IFLA_AF_SPEC / AF_INET6: IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE (no link-local from the MAC)
export const IFLA_INET6_ADDR_GEN_MODE = 8, IN6_ADDR_GEN_MODE_NONE = 1;
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

// net_device flags (IFF_*)
export const IFF_UP = 0x1, IFF_BROADCAST = 0x2, IFF_LOOPBACK = 0x8, IFF_RUNNING = 0x40, IFF_MULTICAST = 0x1000,
  IFF_LOWER_UP = 0x10000;

// struct ifaddrmsg attributes (enum IFA_*) and flags (IFA_F_*)
export const IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_LABEL = 3, IFA_BROADCAST = 4, IFA_ANYCAST = 5, IFA_CACHEINFO = 6,
  IFA_MULTICAST = 7, IFA_FLAGS = 8;
export const IFA_F_SECONDARY = 0x01, IFA_F_NODAD = 0x02, IFA_F_OPTIMISTIC = 0x04, IFA_F_DADFAILED = 0x08,
  IFA_F_HOMEADDRESS = 0x10, IFA_F_DEPRECATED = 0x20, IFA_F_TENTATIVE = 0x40, IFA_F_PERMANENT = 0x80,
  IFA_F_MANAGETEMPADDR = 0x100, IFA_F_NOPREFIXROUTE = 0x200, IFA_F_MCAUTOJOIN = 0x400, IFA_F_STABLE_PRIVACY = 0x800;

// enum rt_scope_t
export const RT_SCOPE_UNIVERSE = 0, RT_SCOPE_SITE = 200, RT_SCOPE_LINK = 253, RT_SCOPE_HOST = 254, RT_SCOPE_NOWHERE = 255;

// struct rtmsg attributes (enum rtattr_type_t), route types (RTN_*), reserved tables (enum rt_class_t)
export const RTA_DST = 1, RTA_SRC = 2, RTA_IIF = 3, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PRIORITY = 6, RTA_PREFSRC = 7,
  RTA_METRICS = 8, RTA_MULTIPATH = 9, RTA_TABLE = 15, RTA_PREF = 20, RTA_NH_ID = 30;
export const RTN_UNSPEC = 0, RTN_UNICAST = 1, RTN_LOCAL = 2, RTN_BROADCAST = 3, RTN_ANYCAST = 4, RTN_MULTICAST = 5,
  RTN_BLACKHOLE = 6, RTN_UNREACHABLE = 7, RTN_PROHIBIT = 8;
export const RT_TABLE_UNSPEC = 0, RT_TABLE_DEFAULT = 253, RT_TABLE_MAIN = 254, RT_TABLE_LOCAL = 255;
// rtm_protocol values the kernel itself uses (RTPROT_*); from RTPROT_STATIC on it does not interpret them.
export const RTPROT_UNSPEC = 0, RTPROT_KERNEL = 2, RTPROT_BOOT = 3, RTPROT_STATIC = 4;

// RFC 2863 operational states (IF_OPER_*), as the kernel reports them in IFLA_OPERSTATE
const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const;
export type OperState = (typeof OPERSTATES)[number];

export type Family = 'inet' | 'inet6';

export interface Link {
  index: number;
  name: string;
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  lowerUp: boolean;
  operstate: OperState;
  /** Hardware address "aa:bb:cc:dd:ee:ff" (absent on some links, e.g. tunnels without one). */
  mac?: string;
  mtu?: number;
  kind?: string; // IFLA_INFO_KIND: 'veth', 'bridge', 'macvlan', ...
  master?: number;
  type: number; // ARPHRD_*
  /** IFLA_IFALIAS (`ip link set DEV alias TEXT`); lvsd marks the links it creates with it (vrrp/vmac.ts). */
  alias?: string;
  /** IFLA_LINK: the lower device of a macvlan / ipvlan / veth (absent when it is the link itself). */
  link?: number;
}

export interface Address {
  family: Family;
  address: string;
  prefixLength: number;
  ifindex: number;
  flags: number;
  scope: number;
  label?: string;
  /** The other end of a point-to-point address, when it differs from the local one. */
  peer?: string;
  broadcast?: string;
}

export interface AddressSpec {
  ifindex: number;
  address: string;
  prefixLength: number;
  /** IFA_F_* flags: NODAD, NOPREFIXROUTE, ... (flags above 0xff go in the IFA_FLAGS attribute). */
  flags?: number;
  label?: string;
  scope?: number;
  broadcast?: string;
}

/** A route to add or remove. Only the fields lvsd's announcements need: a prefix through an interface. */
export interface RouteSpec {
  destination: string;
  prefixLength: number;
  /** Routing table (RT_TABLE_MAIN, RT_TABLE_LOCAL, or 1..2^32-1); above 255 it travels in RTA_TABLE. */
  table: number;
  /** rtm_protocol: who owns the route (RTPROT_*; lvsd uses one of its own, so it finds its routes again). */
  protocol: number;
  /** RTN_UNICAST (default) or RTN_LOCAL (delivered to this host), ... */
  type?: number;
  /** Output interface (RTA_OIF). */
  ifindex?: number;
  /** RTA_PRIORITY, the route's metric. IPv4 and IPv6 both keep routes differing only in it side by side. */
  priority?: number;
}

/** A route as the kernel reports it (RTM_NEWROUTE). */
export interface Route {
  family: Family;
  destination: string;
  prefixLength: number;
  table: number;
  protocol: number;
  type: number;
  scope: number;
  ifindex?: number;
  gateway?: string;
  /** Absent when the kernel sent none (IPv4 metric 0). */
  priority?: number;
  prefsrc?: string;
}

export type RtnlEvent =
  | { kind: 'link'; action: 'new' | 'del'; link: Link }
  | { kind: 'address'; action: 'new' | 'del'; address: Address };

const familyName = (af: number): Family | undefined => (af === AF_INET ? 'inet' : af === AF_INET6 ? 'inet6' : undefined);

/** The payload of RTM_NEWADDR / RTM_DELADDR, attribute for attribute as iproute2's `ip addr add|del` builds it. */
export function encodeAddressPayload(spec: AddressSpec): Buffer {
  const ip = addressBytes(spec.address); // parsed once: it gives the family and both IFA_LOCAL and IFA_ADDRESS
  const af = ip.length === 4 ? AF_INET : AF_INET6;
  const max = af === AF_INET ? 32 : 128;
  if (!Number.isInteger(spec.prefixLength) || spec.prefixLength < 0 || spec.prefixLength > max)
    throw new RangeError(`prefix length ${spec.prefixLength} outside 0..${max}`);
  const flags = spec.flags ?? 0;
  const hdr = Buffer.alloc(8); // struct ifaddrmsg
  hdr.writeUInt8(af, 0);
  hdr.writeUInt8(spec.prefixLength, 1);
  hdr.writeUInt8(flags <= 0xff ? flags : 0, 2); // ifa_flags is 8 bits; larger sets travel in IFA_FLAGS
  hdr.writeUInt8(spec.scope ?? RT_SCOPE_UNIVERSE, 3);
  hdr.writeUInt32LE(spec.ifindex, 4);
  const w = new AttributeWriter(96).raw(hdr);
  w.binary(IFA_LOCAL, ip);
  if (flags > 0xff) w.u32(IFA_FLAGS, flags);
  if (spec.label !== undefined) {
    if (Buffer.byteLength(spec.label) > 15) throw new RangeError(`label "${spec.label}" longer than 15 bytes (IFNAMSIZ)`);
    w.string(IFA_LABEL, spec.label);
  }
  w.binary(IFA_ADDRESS, ip);
  if (spec.broadcast !== undefined) w.ip(IFA_BROADCAST, spec.broadcast);
  return w.finish();
}

export function encodeAddressRequest(action: 'add' | 'replace' | 'remove', spec: AddressSpec): NetlinkRequest {
  const payload = encodeAddressPayload(spec);
  if (action === 'remove') return { type: RTM_DELADDR, flags: 0, payload };
  return { type: RTM_NEWADDR, flags: NLM_F_CREATE | (action === 'add' ? NLM_F_EXCL : NLM_F_REPLACE), payload };
}

/**
 * The payload of RTM_NEWROUTE / RTM_DELROUTE as iproute2's `ip route add|del [local] PREFIX dev DEV table T
 * proto P [metric M]` builds it: struct rtmsg, then RTA_DST, RTA_TABLE (tables above 255 only), RTA_PRIORITY,
 * RTA_OIF. The scope follows iproute2's rule (ip/iproute.c): IPv6 always universe; IPv4 local routes host;
 * IPv4 unicast routes without a gateway link when added, nowhere (matches any) when deleted.
 */
export function encodeRoutePayload(spec: RouteSpec, remove: boolean): Buffer {
  const ip = addressBytes(spec.destination);
  const af = ip.length === 4 ? AF_INET : AF_INET6;
  const max = af === AF_INET ? 32 : 128;
  if (!Number.isInteger(spec.prefixLength) || spec.prefixLength < 0 || spec.prefixLength > max)
    throw new RangeError(`prefix length ${spec.prefixLength} outside 0..${max}`);
  if (!Number.isInteger(spec.table) || spec.table < 1 || spec.table > 0xffffffff) throw new RangeError(`routing table ${spec.table} outside 1..4294967295`);
  if (!Number.isInteger(spec.protocol) || spec.protocol < 0 || spec.protocol > 255) throw new RangeError(`route protocol ${spec.protocol} outside 0..255`);
  const type = spec.type ?? (remove ? RTN_UNSPEC : RTN_UNICAST);
  let scope: number;
  if (af === AF_INET6) scope = RT_SCOPE_UNIVERSE;
  else if (type === RTN_LOCAL) scope = RT_SCOPE_HOST;
  else scope = remove ? RT_SCOPE_NOWHERE : RT_SCOPE_LINK;
  const hdr = Buffer.alloc(12); // struct rtmsg
  hdr.writeUInt8(af, 0);
  hdr.writeUInt8(spec.prefixLength, 1);
  hdr.writeUInt8(spec.table <= 255 ? spec.table : RT_TABLE_UNSPEC, 4);
  hdr.writeUInt8(spec.protocol, 5);
  hdr.writeUInt8(scope, 6);
  hdr.writeUInt8(type, 7);
  const w = new AttributeWriter(64).raw(hdr);
  w.binary(RTA_DST, ip);
  if (spec.table > 255) w.u32(RTA_TABLE, spec.table);
  if (spec.priority !== undefined) w.u32(RTA_PRIORITY, spec.priority);
  if (spec.ifindex !== undefined) w.u32(RTA_OIF, spec.ifindex);
  return w.finish();
}

/** add: NLM_F_CREATE | NLM_F_EXCL (EEXIST if that route is there); replace: create or change it in place. */
export function encodeRouteRequest(action: 'add' | 'replace' | 'remove', spec: RouteSpec): NetlinkRequest {
  const payload = encodeRoutePayload(spec, action === 'remove');
  if (action === 'remove') return { type: RTM_DELROUTE, flags: 0, payload };
  return { type: RTM_NEWROUTE, flags: NLM_F_CREATE | (action === 'add' ? NLM_F_EXCL : NLM_F_REPLACE), payload };
}

/**
 * A macvlan or ipvlan on top of `link`, as `ip link add link LOWER name NAME [address MAC] type macvlan mode M`
 * (or `type ipvlan mode l2 bridge|private|vepa`) builds it: struct ifinfomsg, IFLA_ADDRESS, IFLA_LINK,
 * IFLA_IFNAME, IFLA_LINKINFO {IFLA_INFO_KIND, IFLA_INFO_DATA {mode}} (nests without NLA_F_NESTED, as iproute2).
 * Created down: the caller sets its sysctls first, then brings it up (encodeLinkSetRequest).
 */
export interface VirtualLinkSpec {
  name: string;
  /** ifindex of the lower device. */
  link: number;
  kind: 'macvlan' | 'ipvlan';
  /** macvlan: MACVLAN_MODE_*; ipvlan: the IPVLAN_F_* flags (mode is always L2, as keepalived). */
  mode: number;
  /** macvlan only: "00:00:5e:00:01:07". */
  address?: string;
}

export function encodeLinkCreateRequest(spec: VirtualLinkSpec): NetlinkRequest {
  if (!spec.name || Buffer.byteLength(spec.name) > 15) throw new RangeError(`link name "${spec.name}" must be 1-15 bytes (IFNAMSIZ)`);
  const w = new AttributeWriter(96).raw(Buffer.alloc(16)); // struct ifinfomsg: AF_UNSPEC, index 0, down
  if (spec.address !== undefined) w.binary(IFLA_ADDRESS, macAddressBytes(spec.address));
  w.u32(IFLA_LINK, spec.link);
  w.string(IFLA_IFNAME, spec.name);
  w.nested(IFLA_LINKINFO, (li) => {
    li.binary(IFLA_INFO_KIND, Buffer.from(spec.kind)); // NLA_STRING without its NUL, as iproute2 sends it
    li.nested(IFLA_INFO_DATA, (d) => {
      if (spec.kind === 'macvlan') d.u32(IFLA_MACVLAN_MODE, spec.mode);
      else { d.u16(IFLA_IPVLAN_MODE, IPVLAN_MODE_L2); d.u16(IFLA_IPVLAN_FLAGS, spec.mode); }
    }, { flag: false });
  }, { flag: false });
  return { type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, payload: w.finish() };
}

/**
 * Changes an existing link by index: up or down (ifi_change IFF_UP), its alias (IFLA_IFALIAS, as
 * `ip link set DEV alias TEXT`), IPv6 address generation (IFLA_AF_SPEC, which the kernel ignores when a
 * link is created, and which must be set before the link goes up or a link-local is made from the MAC).
 */
export function encodeLinkSetRequest(index: number, change: { up?: boolean; alias?: string; ipv6AddrGenModeNone?: boolean }): NetlinkRequest {
  const hdr = Buffer.alloc(16);
  hdr.writeInt32LE(index, 4);
  if (change.up !== undefined) { hdr.writeUInt32LE(change.up ? IFF_UP : 0, 8); hdr.writeUInt32LE(IFF_UP, 12); }
  const w = new AttributeWriter(64).raw(hdr);
  if (change.alias !== undefined) {
    if (Buffer.byteLength(change.alias) > 255) throw new RangeError('link alias longer than 255 bytes (IFALIASZ)');
    w.binary(IFLA_IFALIAS, Buffer.from(change.alias)); // without its NUL, as iproute2
  }
  if (change.ipv6AddrGenModeNone) w.nested(IFLA_AF_SPEC, (af) => af.nested(AF_INET6, (i6) => i6.u8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE)));
  return { type: RTM_NEWLINK, flags: 0, payload: w.finish() };
}

/** RTM_DELLINK by index, as `ip link del DEV` sends it. */
export function encodeLinkDeleteRequest(index: number): NetlinkRequest {
  const hdr = Buffer.alloc(16);
  hdr.writeInt32LE(index, 4);
  return { type: RTM_DELLINK, flags: 0, payload: hdr };
}

function macAddressBytes(mac: string): Buffer {
  const b = Buffer.from(mac.replace(/[:-]/g, ''), 'hex');
  if (b.length !== 6 || !/^[0-9a-fA-F]{2}([:-]?[0-9a-fA-F]{2}){5}$/.test(mac)) throw new RangeError(`not an Ethernet address: ${mac}`);
  return b;
}

/** Decodes RTM_NEWROUTE / RTM_DELROUTE: struct rtmsg + RTA_* attributes (multipath next hops are not read). */
export function decodeRoute(m: NetlinkMessage): Route {
  const p = m.payload;
  if (p.length < 12) throw new NetlinkDecodeError(`rtmsg of ${p.length} bytes, needs 12`);
  const family = familyName(p.readUInt8(0));
  if (!family) throw new NetlinkDecodeError(`route family ${p.readUInt8(0)} is neither AF_INET nor AF_INET6`);
  const a = decodeAttributes(p, 12);
  const size = family === 'inet' ? 4 : 16;
  const ip = (type: number): string | undefined => {
    const b = a.binary(type);
    if (b === undefined) return undefined;
    if (b.length !== size) throw new NetlinkDecodeError(`route attribute ${type} is ${b.length} bytes for ${family}`);
    return formatAddress(b);
  };
  const out: Route = {
    family, destination: ip(RTA_DST) ?? (family === 'inet' ? '0.0.0.0' : '::'), prefixLength: p.readUInt8(1),
    table: a.u32(RTA_TABLE) ?? p.readUInt8(4), protocol: p.readUInt8(5), scope: p.readUInt8(6), type: p.readUInt8(7),
  };
  const oif = a.u32(RTA_OIF);
  if (oif !== undefined) out.ifindex = oif;
  const gw = ip(RTA_GATEWAY);
  if (gw !== undefined) out.gateway = gw;
  const prio = a.u32(RTA_PRIORITY);
  if (prio !== undefined) out.priority = prio;
  const src = ip(RTA_PREFSRC);
  if (src !== undefined) out.prefsrc = src;
  return out;
}

function formatMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Decodes RTM_NEWLINK / RTM_DELLINK: struct ifinfomsg + IFLA_* attributes. */
export function decodeLink(m: NetlinkMessage): Link {
  const p = m.payload;
  if (p.length < 16) throw new NetlinkDecodeError(`ifinfomsg of ${p.length} bytes, needs 16`);
  const flags = p.readUInt32LE(8);
  const a = decodeAttributes(p, 16);
  const name = a.string(IFLA_IFNAME);
  if (name === undefined) throw new NetlinkDecodeError('link without IFLA_IFNAME');
  const op = a.u8(IFLA_OPERSTATE);
  const link: Link = {
    index: p.readInt32LE(4), name, flags, up: (flags & IFF_UP) !== 0, lowerUp: (flags & IFF_LOWER_UP) !== 0,
    operstate: op !== undefined && op < OPERSTATES.length ? OPERSTATES[op]! : 'unknown', type: p.readUInt16LE(2),
  };
  const mac = a.binary(IFLA_ADDRESS);
  if (mac && mac.length > 0) link.mac = formatMac(mac);
  const mtu = a.u32(IFLA_MTU);
  if (mtu !== undefined) link.mtu = mtu;
  const master = a.u32(IFLA_MASTER);
  if (master !== undefined) link.master = master;
  const kind = a.nested(IFLA_LINKINFO)?.string(IFLA_INFO_KIND);
  if (kind !== undefined) link.kind = kind;
  const alias = a.string(IFLA_IFALIAS);
  if (alias !== undefined && alias !== '') link.alias = alias;
  const lower = a.s32(IFLA_LINK);
  if (lower !== undefined && lower !== link.index) link.link = lower;
  return link;
}

/** Decodes RTM_NEWADDR / RTM_DELADDR: struct ifaddrmsg + IFA_* attributes. */
export function decodeAddress(m: NetlinkMessage): Address {
  const p = m.payload;
  if (p.length < 8) throw new NetlinkDecodeError(`ifaddrmsg of ${p.length} bytes, needs 8`);
  const family = familyName(p.readUInt8(0));
  if (!family) throw new NetlinkDecodeError(`address family ${p.readUInt8(0)} is neither AF_INET nor AF_INET6`);
  const a = decodeAttributes(p, 8);
  const size = family === 'inet' ? 4 : 16;
  const ip = (type: number): string | undefined => {
    const b = a.binary(type);
    if (b === undefined) return undefined;
    if (b.length !== size) throw new NetlinkDecodeError(`address attribute ${type} is ${b.length} bytes for ${family}`);
    return formatAddress(b);
  };
  const local = ip(IFA_LOCAL), addr = ip(IFA_ADDRESS);
  const address = local ?? addr;
  if (address === undefined) throw new NetlinkDecodeError('address message without IFA_LOCAL or IFA_ADDRESS');
  const out: Address = {
    family, address, prefixLength: p.readUInt8(1), ifindex: p.readUInt32LE(4),
    flags: a.u32(IFA_FLAGS) ?? p.readUInt8(2), scope: p.readUInt8(3),
  };
  if (local !== undefined && addr !== undefined && addr !== local) out.peer = addr;
  const label = a.string(IFA_LABEL);
  if (label !== undefined) out.label = label;
  const brd = ip(IFA_BROADCAST);
  if (brd !== undefined) out.broadcast = brd;
  return out;
}

/** A notification from RTNLGRP_LINK / RTNLGRP_IPV4_IFADDR / RTNLGRP_IPV6_IFADDR, or null for other types. */
export function decodeEvent(m: NetlinkMessage): RtnlEvent | null {
  switch (m.type) {
    case RTM_NEWLINK: return { kind: 'link', action: 'new', link: decodeLink(m) };
    case RTM_DELLINK: return { kind: 'link', action: 'del', link: decodeLink(m) };
    case RTM_NEWADDR: return { kind: 'address', action: 'new', address: decodeAddress(m) };
    case RTM_DELADDR: return { kind: 'address', action: 'del', address: decodeAddress(m) };
    default: return null;
  }
}

export class Rtnetlink {
  private constructor(readonly socket: NetlinkSocket) {}

  static open(opts: NetlinkSocketOptions = {}): Rtnetlink {
    return new Rtnetlink(NetlinkSocket.open(NETLINK_ROUTE, opts));
  }

  async listLinks(): Promise<Link[]> {
    const w = new AttributeWriter(32).raw(Buffer.alloc(16)); // struct ifinfomsg, AF_UNSPEC
    w.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS); // statistics are most of a link's bytes; we never read them
    const replies = await this.socket.dump({ type: RTM_GETLINK, payload: w.finish() });
    return replies.filter((m) => m.type === RTM_NEWLINK).map(decodeLink);
  }

  /** One link by name or index, from this socket's namespace (if_nametoindex only sees the host's).
   * Rejects with NetlinkError code 'ENODEV' when there is no such link. */
  async getLink(nameOrIndex: string | number): Promise<Link> {
    const hdr = Buffer.alloc(16); // struct ifinfomsg
    if (typeof nameOrIndex === 'number') hdr.writeInt32LE(nameOrIndex, 4);
    const w = new AttributeWriter(48).raw(hdr).u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    if (typeof nameOrIndex === 'string') w.string(IFLA_IFNAME, nameOrIndex);
    const replies = await this.socket.request({ type: RTM_GETLINK, payload: w.finish() });
    const m = replies.find((r) => r.type === RTM_NEWLINK);
    if (!m) throw new NetlinkDecodeError('RTM_GETLINK answered without RTM_NEWLINK');
    return decodeLink(m);
  }

  async listAddresses(filter: { family?: Family; ifindex?: number } = {}): Promise<Address[]> {
    const hdr = Buffer.alloc(8); // struct ifaddrmsg
    hdr.writeUInt8(filter.family === 'inet' ? AF_INET : filter.family === 'inet6' ? AF_INET6 : 0, 0);
    const replies = await this.socket.dump({ type: RTM_GETADDR, payload: hdr });
    const all = replies.filter((m) => m.type === RTM_NEWADDR).map(decodeAddress);
    return filter.ifindex === undefined ? all : all.filter((a) => a.ifindex === filter.ifindex);
  }

  /** Adds an address; rejects with NetlinkError code 'EEXIST' if it is already there. */
  async addAddress(spec: AddressSpec): Promise<void> {
    await this.socket.request(encodeAddressRequest('add', spec));
  }

  /** Adds the address or updates its flags/label if it exists. */
  async replaceAddress(spec: AddressSpec): Promise<void> {
    await this.socket.request(encodeAddressRequest('replace', spec));
  }

  /** Removes an address; rejects with code 'EADDRNOTAVAIL' if it is not there. */
  async removeAddress(spec: AddressSpec): Promise<void> {
    await this.socket.request(encodeAddressRequest('remove', spec));
  }

  /**
   * Routes of one family (both when none is given), filtered here by table and protocol: without
   * NETLINK_GET_STRICT_CHK the kernel ignores the header's filters and dumps every table.
   */
  async listRoutes(filter: { family?: Family; table?: number; protocol?: number } = {}): Promise<Route[]> {
    const families = filter.family ? [filter.family] : (['inet', 'inet6'] as const);
    const out: Route[] = [];
    for (const f of families) {
      const hdr = Buffer.alloc(12); // struct rtmsg
      hdr.writeUInt8(f === 'inet' ? AF_INET : AF_INET6, 0);
      const replies = await this.socket.dump({ type: RTM_GETROUTE, payload: hdr });
      for (const m of replies) {
        if (m.type !== RTM_NEWROUTE) continue;
        const r = decodeRoute(m);
        if (filter.table !== undefined && r.table !== filter.table) continue;
        if (filter.protocol !== undefined && r.protocol !== filter.protocol) continue;
        out.push(r);
      }
    }
    return out;
  }

  /** Adds a route; rejects with NetlinkError code 'EEXIST' if the same route (prefix, table, metric) is there. */
  async addRoute(spec: RouteSpec): Promise<void> {
    await this.socket.request(encodeRouteRequest('add', spec));
  }

  /** Adds the route, or replaces the one with the same key (prefix, table, metric): idempotent. */
  async replaceRoute(spec: RouteSpec): Promise<void> {
    await this.socket.request(encodeRouteRequest('replace', spec));
  }

  /** Removes a route; rejects with code 'ESRCH' if there is none. Without priority the kernel removes the lowest-metric match. */
  async removeRoute(spec: RouteSpec): Promise<void> {
    await this.socket.request(encodeRouteRequest('remove', spec));
  }

  /** Creates a macvlan / ipvlan (down); rejects with NetlinkError code 'EEXIST' if the name is taken. */
  async addLink(spec: VirtualLinkSpec): Promise<void> {
    await this.socket.request(encodeLinkCreateRequest(spec));
  }

  /** Up/down, alias, IPv6 address generation of a link (encodeLinkSetRequest). */
  async setLink(index: number, change: Parameters<typeof encodeLinkSetRequest>[1]): Promise<void> {
    await this.socket.request(encodeLinkSetRequest(index, change));
  }

  /** Deletes a link; rejects with code 'ENODEV' if there is none. */
  async removeLink(index: number): Promise<void> {
    await this.socket.request(encodeLinkDeleteRequest(index));
  }

  close(): void { this.socket.close(); }
}

export interface RtnlWatchHandlers {
  event(e: RtnlEvent): void;
  /** Events were lost (overflow): list links/addresses again. */
  resync(): void;
  error?(e: Error): void;
}

/** Subscribes to link and address events (by default all three groups). */
export function watchRtnetlink(handlers: RtnlWatchHandlers, opts: SubscriptionOptions & { groups?: number[] } = {}): NetlinkSubscription {
  const groups = opts.groups ?? [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR];
  return NetlinkSubscription.open(NETLINK_ROUTE, groups, {
    message(m) {
      const e = decodeEvent(m);
      if (e) handlers.event(e);
    },
    resync: () => handlers.resync(),
    error: (e) => handlers.error?.(e),
  }, opts);
}
