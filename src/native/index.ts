// Typed access to lvsd's socket addon (build/Release/lvsd_socket.node, built from src/native/lvsd_socket.c
// by `npm ci` through binding.gyp). The addon moves bytes; this module builds the sockaddr structures and
// decodes control messages, so all layout knowledge lives in TypeScript.
//
// API (all sockets are non-blocking; nothing here blocks the event loop; use from the main thread or a worker):
//   Socket.open(domain, type, protocol, { netns? }) -> Socket   netns: a name under /run/netns or a path;
//                             the socket is made inside that namespace (setns there and back) and stays in it
//   socket.setsockopt(level, name, number | Buffer) / getsockopt(level, name) -> number
//   socket.bind(address)      address: { family: 'netlink', pid?, groups? } | { family: 'inet'|'inet6',
//                             address, port?, scopeId? } | { family: 'packet', ifindex, protocol?, hwAddress? }
//   socket.localAddress()     getsockname, decoded (e.g. the netlink port id)
//   socket.connect(address)   connect(2) for datagram sockets (UDP checks: one peer, its ICMP errors)
//   socket.send(buffer | buffers, { to?, pktinfo?: { ifindex, source? }, control?, flags? }) -> bytes | null (EAGAIN)
//                             several buffers go out as one datagram; pktinfo picks interface/source address
//   socket.recv({ size?, flags? }) -> { data, length, truncated, from, control, ttl?, hopLimit?, pktinfo? } | null
//                             ttl needs IP_RECVTTL, hopLimit IPV6_RECVHOPLIMIT, pktinfo IP_PKTINFO/IPV6_RECVPKTINFO
//   socket.onReadable(cb(status), { keepAlive? }) / stopPolling() / close()
//                             status < 0: libuv saw a socket error (read it with recv); polling continues
//   ifNameToIndex(name)       host namespace only; inside a namespace use Rtnetlink.getLink(name)
//   TcpConnect (connect.ts)   TCP connect with SO_MARK / SO_BINDTODEVICE / source address and port
//   loopNow()                 the event loop's cached time in ms (no system call; up to one iteration old)
//   setThreadScheduler / threadId (sched.ts)   SCHED_FIFO for the calling thread only (the VRRP worker)
// Errors are the addon's: Error with code ('ENOBUFS'), errno (positive) and syscall.
// A worker that ends with sockets still polled (terminate(), an uncaught error) is safe: the addon's
// environment cleanup hook closes their poll handles (the descriptors stay open until the process ends).
import { createRequire } from 'node:module';
import { addressBytes, formatAddress } from './addresses.js';

export { addressBytes, formatAddress };

interface ControlIn { level: number; type: number; data: Buffer }
interface RawRecv { data: Buffer; length: number; flags: number; from: Buffer; control: ControlIn[] }
interface Addon {
  socket(domain: number, type: number, protocol: number, netnsPath?: string | null): number;
  close(fd: number, reset?: boolean): void;
  tcpConnect(to: Buffer, source: Buffer | null, mark: number, device: string | null, netnsPath?: string | null): number;
  setsockopt(fd: number, level: number, name: number, value: number | Buffer): void;
  getsockopt(fd: number, level: number, name: number): number;
  bind(fd: number, sockaddr: Buffer): void;
  connect(fd: number, sockaddr: Buffer): void;
  getsockname(fd: number): Buffer;
  sendmsg(fd: number, buffers: Buffer[], to: Buffer | null, control: ControlIn[] | null, flags: number): number | null;
  recvmsg(fd: number, size: number, flags: number): RawRecv | null;
  poll(fd: number, cb: (status: number) => void, keepAlive?: boolean, events?: number): object;
  pollStop(handle: object): void;
  ifNameToIndex(name: string): number;
  loopNow(): number;
  setThreadScheduler(policy: 'fifo' | 'rr' | 'other', priority: number): void;
  threadId(): number;
  fileLimit(): [number, number];
  setFileLimit(soft: number): void;
}

function loadAddon(): Addon {
  const require = createRequire(import.meta.url);
  // dist/src/native/index.js and src/native/index.ts both sit three levels below the repository root.
  const candidates = ['../../../build/Release/lvsd_socket.node', '../../build/Release/lvsd_socket.node'];
  let last: unknown;
  for (const c of candidates) {
    try { return require(c) as Addon; } catch (e) { last = e; }
  }
  throw new Error(`lvsd socket addon not built (run npm ci): ${String(last)}`);
}

export const addon: Addon = loadAddon();

// Linux constants (x86_64 / generic ABI values from the kernel headers).
export const AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16, AF_PACKET = 17;
export const SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3;
export const SOL_SOCKET = 1, SOL_IP = 0, SOL_IPV6 = 41, SOL_NETLINK = 270, SOL_PACKET = 263;
export const SO_SNDBUF = 7, SO_RCVBUF = 8, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33, SO_BINDTODEVICE = 25;
export const IPPROTO_ICMPV6 = 58, IPPROTO_VRRP = 112;
export const IP_TTL = 2, IP_PKTINFO = 8, IP_RECVTTL = 12, IP_MULTICAST_IF = 32, IP_MULTICAST_TTL = 33,
  IP_MULTICAST_LOOP = 34, IP_ADD_MEMBERSHIP = 35, IP_DROP_MEMBERSHIP = 36, IP_HDRINCL = 3;
export const IPV6_UNICAST_HOPS = 16, IPV6_MULTICAST_IF = 17, IPV6_MULTICAST_HOPS = 18, IPV6_MULTICAST_LOOP = 19,
  IPV6_ADD_MEMBERSHIP = 20, IPV6_DROP_MEMBERSHIP = 21, IPV6_CHECKSUM = 7, IPV6_RECVPKTINFO = 49,
  IPV6_PKTINFO = 50, IPV6_RECVHOPLIMIT = 51, IPV6_HOPLIMIT = 52;
export const NETLINK_ROUTE = 0, NETLINK_USERSOCK = 2, NETLINK_GENERIC = 16;
export const NETLINK_ADD_MEMBERSHIP = 1, NETLINK_DROP_MEMBERSHIP = 2, NETLINK_NO_ENOBUFS = 5,
  NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11, NETLINK_GET_STRICT_CHK = 12;
export const ETH_P_ALL = 0x0003, ETH_P_IP = 0x0800, ETH_P_ARP = 0x0806, ETH_P_IPV6 = 0x86dd;
export const MSG_TRUNC = 0x20, MSG_PEEK = 0x02;
// ICMP errors on the socket's error queue (ip(7) IP_RECVERR, ipv6(7) IPV6_RECVERR; linux/errqueue.h) and
// raw ICMP socket filters (raw(7) ICMP_FILTER on SOL_RAW, RFC 3542 ICMP6_FILTER); SO_MARK for probes.
export const MSG_ERRQUEUE = 0x2000, IP_RECVERR = 11, IPV6_RECVERR = 25, SOL_RAW = 255, ICMP_FILTER = 1, ICMP6_FILTER = 1,
  IPPROTO_ICMP = 1, IPPROTO_UDP = 17, SO_MARK = 36, SO_REUSEADDR = 2;

export type SocketAddress =
  | { family: 'netlink'; pid?: number; groups?: number }
  | { family: 'inet' | 'inet6'; address: string; port?: number; scopeId?: number; flowInfo?: number }
  | { family: 'packet'; ifindex: number; protocol?: number; hatype?: number; pktType?: number; hwAddress?: Buffer | string };

export function encodeSockaddr(a: SocketAddress): Buffer {
  switch (a.family) {
    case 'netlink': { // struct sockaddr_nl
      const b = Buffer.alloc(12);
      b.writeUInt16LE(AF_NETLINK, 0); b.writeUInt32LE(a.pid ?? 0, 4); b.writeUInt32LE(a.groups ?? 0, 8);
      return b;
    }
    case 'inet': { // struct sockaddr_in
      const b = Buffer.alloc(16);
      b.writeUInt16LE(AF_INET, 0); b.writeUInt16BE(a.port ?? 0, 2);
      const ip = addressBytes(a.address);
      if (ip.length !== 4) throw new TypeError(`not an IPv4 address: ${a.address}`);
      ip.copy(b, 4);
      return b;
    }
    case 'inet6': { // struct sockaddr_in6
      const b = Buffer.alloc(28);
      b.writeUInt16LE(AF_INET6, 0); b.writeUInt16BE(a.port ?? 0, 2); b.writeUInt32BE(a.flowInfo ?? 0, 4);
      const ip = addressBytes(a.address);
      if (ip.length !== 16) throw new TypeError(`not an IPv6 address: ${a.address}`);
      ip.copy(b, 8); b.writeUInt32LE(a.scopeId ?? 0, 24);
      return b;
    }
    case 'packet': { // struct sockaddr_ll
      const b = Buffer.alloc(20);
      b.writeUInt16LE(AF_PACKET, 0); b.writeUInt16BE(a.protocol ?? 0, 2); b.writeInt32LE(a.ifindex, 4);
      b.writeUInt16LE(a.hatype ?? 0, 8); b.writeUInt8(a.pktType ?? 0, 10);
      const hw = typeof a.hwAddress === 'string' ? Buffer.from(a.hwAddress.replace(/[:-]/g, ''), 'hex') : a.hwAddress;
      if (hw) { if (hw.length > 8) throw new TypeError('hardware address longer than 8 bytes'); b.writeUInt8(hw.length, 11); hw.copy(b, 12); }
      return b;
    }
  }
}

export type DecodedAddress =
  | { family: 'netlink'; pid: number; groups: number }
  | { family: 'inet' | 'inet6'; address: string; port: number; scopeId: number }
  | { family: 'packet'; ifindex: number; protocol: number; hatype: number; pktType: number; hwAddress: Buffer }
  | { family: 'unknown'; raw: Buffer };

export function decodeSockaddr(b: Buffer): DecodedAddress {
  if (b.length < 2) return { family: 'unknown', raw: b };
  const family = b.readUInt16LE(0);
  if (family === AF_NETLINK && b.length >= 12) return { family: 'netlink', pid: b.readUInt32LE(4), groups: b.readUInt32LE(8) };
  if (family === AF_INET && b.length >= 8) return { family: 'inet', address: formatAddress(b.subarray(4, 8)), port: b.readUInt16BE(2), scopeId: 0 };
  if (family === AF_INET6 && b.length >= 28)
    return { family: 'inet6', address: formatAddress(b.subarray(8, 24)), port: b.readUInt16BE(2), scopeId: b.readUInt32LE(24) };
  if (family === AF_PACKET && b.length >= 12) {
    const halen = Math.min(b.readUInt8(11), 8, b.length - 12);
    return { family: 'packet', protocol: b.readUInt16BE(2), ifindex: b.readInt32LE(4), hatype: b.readUInt16LE(8), pktType: b.readUInt8(10), hwAddress: Buffer.from(b.subarray(12, 12 + halen)) };
  }
  return { family: 'unknown', raw: b };
}

/** Source/interface selection for sendmsg (IP_PKTINFO / IPV6_PKTINFO control messages). */
export interface PacketInfo { ifindex: number; source?: string }

export function pktinfoControl(info: PacketInfo & { family: 'inet' | 'inet6' }): ControlIn {
  if (info.family === 'inet') { // struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
    const data = Buffer.alloc(12);
    data.writeInt32LE(info.ifindex, 0);
    if (info.source) addressBytes(info.source).copy(data, 4);
    return { level: SOL_IP, type: IP_PKTINFO, data };
  }
  const data = Buffer.alloc(20); // struct in6_pktinfo { in6_addr addr; int ifindex; }
  if (info.source) addressBytes(info.source).copy(data, 0);
  data.writeInt32LE(info.ifindex, 16);
  return { level: SOL_IPV6, type: IPV6_PKTINFO, data };
}

export interface Received {
  data: Buffer;
  /** The datagram's real length (larger than data.length when truncated and MSG_TRUNC was requested). */
  length: number;
  truncated: boolean;
  from: DecodedAddress;
  control: ControlIn[];
  ttl?: number; // IP_TTL (needs IP_RECVTTL)
  hopLimit?: number; // IPV6_HOPLIMIT (needs IPV6_RECVHOPLIMIT)
  pktinfo?: { ifindex: number; destination: string }; // IP_PKTINFO / IPV6_PKTINFO
}

export function decodeControl(control: ControlIn[], out: Partial<Received>): void {
  for (const c of control) {
    if (c.level === SOL_IP && c.type === IP_TTL && c.data.length >= 4) out.ttl = c.data.readInt32LE(0);
    else if (c.level === SOL_IPV6 && c.type === IPV6_HOPLIMIT && c.data.length >= 4) out.hopLimit = c.data.readInt32LE(0);
    else if (c.level === SOL_IP && c.type === IP_PKTINFO && c.data.length >= 12)
      out.pktinfo = { ifindex: c.data.readInt32LE(0), destination: formatAddress(c.data.subarray(8, 12)) };
    else if (c.level === SOL_IPV6 && c.type === IPV6_PKTINFO && c.data.length >= 20)
      out.pktinfo = { ifindex: c.data.readInt32LE(16), destination: formatAddress(c.data.subarray(0, 16)) };
  }
}

/** A network namespace name (under /run/netns) or a path (/proc/PID/ns/net). */
export function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `/run/netns/${netns}`;
}

export class Socket {
  private poller: object | null = null;
  private closed = false;

  private constructor(readonly fd: number, readonly domain: number, readonly type: number, readonly protocol: number) {}

  static open(domain: number, type: number, protocol: number, opts: { netns?: string } = {}): Socket {
    const fd = addon.socket(domain, type, protocol, opts.netns ? netnsPath(opts.netns) : null);
    return new Socket(fd, domain, type, protocol);
  }

  setsockopt(level: number, name: number, value: number | Buffer): void { addon.setsockopt(this.fd, level, name, value); }
  getsockopt(level: number, name: number): number { return addon.getsockopt(this.fd, level, name); }
  bind(address: SocketAddress): void { addon.bind(this.fd, encodeSockaddr(address)); }
  /** connect(2) for datagram sockets: one peer (its datagrams only; IP_RECVERR reports its ICMP errors). */
  connect(address: SocketAddress): void { addon.connect(this.fd, encodeSockaddr(address)); }
  localAddress(): DecodedAddress { return decodeSockaddr(addon.getsockname(this.fd)); }

  /** Sends the buffers as one datagram; null when the socket buffer is full (EAGAIN). */
  send(data: Buffer | Buffer[], opts: { to?: SocketAddress; control?: ControlIn[]; pktinfo?: PacketInfo; flags?: number } = {}): number | null {
    const control = [...(opts.control ?? [])];
    if (opts.pktinfo) control.push(pktinfoControl({ ...opts.pktinfo, family: this.domain === AF_INET6 ? 'inet6' : 'inet' }));
    return addon.sendmsg(this.fd, Array.isArray(data) ? data : [data], opts.to ? encodeSockaddr(opts.to) : null,
      control.length ? control : null, opts.flags ?? 0);
  }

  /** Reads one datagram; null when none is waiting (EAGAIN). */
  recv(opts: { size?: number; flags?: number } = {}): Received | null {
    const r = addon.recvmsg(this.fd, opts.size ?? 65536, opts.flags ?? 0);
    if (!r) return null;
    const out: Received = { data: r.data, length: r.length, truncated: (r.flags & MSG_TRUNC) !== 0, from: decodeSockaddr(r.from), control: r.control };
    decodeControl(r.control, out);
    return out;
  }

  /** Calls cb whenever the socket is readable (status 0) or reported an error (status < 0; read it with
   * recv). With { keepAlive: false } the polling alone does not keep the process running. */
  onReadable(cb: (status: number) => void, opts: { keepAlive?: boolean } = {}): void {
    if (this.poller) addon.pollStop(this.poller);
    this.poller = addon.poll(this.fd, cb, opts.keepAlive ?? true);
  }

  stopPolling(): void {
    if (this.poller) { addon.pollStop(this.poller); this.poller = null; }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopPolling();
    addon.close(this.fd);
  }
}

export function ifNameToIndex(name: string): number { return addon.ifNameToIndex(name); }

/** The event loop's cached time (libuv's uv_now, ms): as old as the current loop iteration, and free to
 *  read. performance.now(), Date.now() and every setTimeout read the clock with a system call instead,
 *  which under UML (no vDSO) costs 25-40 us each. For durations at millisecond resolution. */
export function loopNow(): number { return addon.loopNow(); }
