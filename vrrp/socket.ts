// The VRRP wire shell: one raw IP protocol 112 socket per (interface, family), shared by every
// instance on that interface and demultiplexed by VRID. Sends with TTL / hop limit 255 and DSCP CS6
// (RFC 5798 §5.1.1.3, §5.1.2.3; a unicast instance's own TTL per datagram), receives with the TTL /
// hop limit and destination the cores check (§7.1: multicast here, unicast per instance in match.ts).
// Every dropped packet is counted by reason (the metrics issue exports `drops`).
import {
  AF_INET, AF_INET6, IPPROTO_VRRP, IP_ADD_MEMBERSHIP, IP_MULTICAST_IF, IP_MULTICAST_LOOP, IP_MULTICAST_TTL,
  IP_PKTINFO, IP_RECVTTL, IP_TTL, IPV6_ADD_MEMBERSHIP, IPV6_HOPLIMIT, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_IF, IPV6_MULTICAST_LOOP,
  IPV6_RECVHOPLIMIT, IPV6_RECVPKTINFO, IPV6_UNICAST_HOPS, SO_BINDTODEVICE, SOCK_RAW, SOL_IP, SOL_IPV6, SOL_SOCKET,
  Socket, addressBytes,
} from '../src/native/index.js';
import { performance } from 'node:perf_hooks';
import { VRRP_MULTICAST_IPV4, VRRP_MULTICAST_IPV6, type Family } from './address.js';
import { VRRP_TTL } from './constants.js';
import { parseIpv4Datagram, parseVrrp, type VrrpAdvertisement } from './packet.js';
import { DROP_REASONS, type DropReason } from './reasons.js';
import { readSocketDrops, socketInode } from './socket-drops.js';

const IP_TOS = 1, IPV6_TCLASS = 67;
/** SO_TIMESTAMPNS (x86_64 / generic): the kernel's receive time as struct timespec, CLOCK_REALTIME. */
const SO_TIMESTAMPNS = 35;
/** DSCP CS6 (network control), the default: what keepalived 2.2.7 sends (tcpdump -v: tos 0xc0 / class 0xc0). */
export const VRRP_DSCP = 48;
export const VRRP_TOS = VRRP_DSCP << 2;

/** The TOS / traffic class byte of an advert: DSCP in the upper six bits, ECN zero (RFC 2474 §3). */
export const tosByte = (dscp: number | undefined): number => ((dscp ?? VRRP_DSCP) & 0x3f) << 2;

export type DropCounters = Record<DropReason, number>;
export const newDropCounters = (): DropCounters =>
  Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as DropCounters;

export interface ChannelOptions {
  ifname: string;
  ifindex: number;
  family: Family;
  /** Unicast-only channel: no multicast group joined. */
  joinGroup: boolean;
  /**
   * Drop unicast adverts whose TTL / hop limit is not 255 here (default false): the instances check
   * them (match.ts), since only they know which peer may send with less (min_ttl / max_ttl).
   * Multicast adverts are always checked here.
   */
  checkUnicastTtl?: boolean;
  /**
   * Accept v3 IPv4 unicast checksums over 224.0.0.18 here (default true): the instances share the
   * channel, so each refuses them itself when its unicast_checksum_compat is false (instance.ts).
   */
  unicastChecksumCompat?: boolean;
}

/** rxTime: when the kernel received the packet, on the performance.now() clock. */
export type AdvertHandler = (packet: VrrpAdvertisement, rxTime: number) => void;

export class VrrpChannel {
  readonly socket: Socket;
  readonly drops: DropCounters = newDropCounters();
  /** Datagrams received (before any check), and adverts handed to an instance. */
  received = 0;
  delivered = 0;
  readonly handlers = new Map<number, AdvertHandler>();
  /** The socket's inode, to find its kernel drop counter in /proc/net/raw{,6} (socket-drops.ts). */
  readonly inode: number | null;
  private closed = false;

  constructor(readonly opts: ChannelOptions) {
    const v4 = opts.family === 'ipv4';
    const s = Socket.open(v4 ? AF_INET : AF_INET6, SOCK_RAW, IPPROTO_VRRP);
    try {
      // Kernel receive timestamps: Master_Down_Timer counts from the packet's arrival, not from
      // when the event loop got to it (RFC 5798 §6.4.2 resets it "on receipt").
      s.setsockopt(SOL_SOCKET, SO_TIMESTAMPNS, 1);
      // Only this interface's packets: one socket per (interface, family).
      s.setsockopt(SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(`${opts.ifname}\0`));
      if (v4) {
        s.setsockopt(SOL_IP, IP_MULTICAST_TTL, 255);
        s.setsockopt(SOL_IP, IP_TTL, 255);
        s.setsockopt(SOL_IP, IP_TOS, VRRP_TOS);
        s.setsockopt(SOL_IP, IP_MULTICAST_LOOP, 0);
        s.setsockopt(SOL_IP, IP_RECVTTL, 1);
        s.setsockopt(SOL_IP, IP_PKTINFO, 1);
        s.setsockopt(SOL_IP, IP_MULTICAST_IF, ipMreqn('0.0.0.0', opts.ifindex));
        if (opts.joinGroup) s.setsockopt(SOL_IP, IP_ADD_MEMBERSHIP, ipMreqn(VRRP_MULTICAST_IPV4, opts.ifindex));
      } else {
        s.setsockopt(SOL_IPV6, IPV6_MULTICAST_HOPS, 255);
        s.setsockopt(SOL_IPV6, IPV6_UNICAST_HOPS, 255);
        s.setsockopt(SOL_IPV6, IPV6_TCLASS, VRRP_TOS);
        s.setsockopt(SOL_IPV6, IPV6_MULTICAST_LOOP, 0);
        s.setsockopt(SOL_IPV6, IPV6_RECVHOPLIMIT, 1);
        s.setsockopt(SOL_IPV6, IPV6_RECVPKTINFO, 1);
        s.setsockopt(SOL_IPV6, IPV6_MULTICAST_IF, opts.ifindex);
        if (opts.joinGroup) s.setsockopt(SOL_IPV6, IPV6_ADD_MEMBERSHIP, ipv6Mreq(VRRP_MULTICAST_IPV6, opts.ifindex));
      }
    } catch (e) {
      s.close();
      throw e;
    }
    this.socket = s;
    this.inode = socketInode(s.fd);
    s.onReadable(() => this.drain());
  }

  /**
   * Datagrams the kernel dropped for this socket because its receive buffer was full (sk_drops), read
   * from /proc now; `table`: a reading of the family's table to reuse. null when it cannot be read.
   */
  readSocketDrops(table?: ReadonlyMap<number, number>): number | null {
    if (this.inode === null || this.closed) return null;
    return (table ?? readSocketDrops(this.opts.family)).get(this.inode) ?? null;
  }

  /**
   * Sends one VRRP message from `source` (IP_PKTINFO / IPV6_PKTINFO) out of this interface. `tos`: the
   * instance's TOS / traffic class byte when it is not the socket's CS6 (instances share the socket), as
   * an IP_TOS / IPV6_TCLASS control message for this datagram only. `ttl`: the instance's unicast TTL /
   * hop limit when not 255 (keepalived unicast_ttl), likewise an IP_TTL / IPV6_HOPLIMIT control message.
   */
  send(message: Uint8Array, dst: string, source: string, tos = VRRP_TOS, ttl = VRRP_TTL): void {
    const v4 = this.opts.family === 'ipv4';
    const to = v4 ? { family: 'inet' as const, address: dst } : { family: 'inet6' as const, address: dst, scopeId: this.opts.ifindex };
    const control = tos === VRRP_TOS ? [] : [tosControl(v4, tos)];
    if (ttl !== VRRP_TTL) control.push(ttlControl(v4, ttl));
    this.socket.send(Buffer.from(message.buffer, message.byteOffset, message.byteLength),
      { to, pktinfo: { ifindex: this.opts.ifindex, source }, control });
  }

  /**
   * Reads every datagram queued on the socket now, synchronously, and dispatches them as usual. Call
   * before a timer that would make an instance MASTER: a loop that ran late fires expired timers
   * before it polls sockets, so adverts that arrived in time would otherwise be read only after the
   * takeover. Returns how many datagrams were read; bounded so a flood cannot hold the thread.
   */
  drainPending(max = 1024): number {
    const before = this.received;
    this.drain(max);
    return this.received - before;
  }

  private drain(max = 64): void {
    for (let i = 0; i < max && !this.closed; i++) {
      let r;
      try { r = this.socket.recv({ size: 2048 }); } catch { continue; } // an ICMP error queued on the socket
      if (!r) return;
      this.received++;
      this.receive(r.data, r.from.family === 'inet6' ? r.from.address : '', r.hopLimit ?? -1, r.pktinfo?.destination ?? '', receiveTime(r.control));
    }
  }

  /** One datagram as the socket handed it over (IPv4: with its IP header). Public for tests. */
  receive(data: Uint8Array, from6: string, hopLimit: number, dst6: string, rxTime = performance.now()): void {
    let result;
    if (this.opts.family === 'ipv4') {
      const d = parseIpv4Datagram(data);
      if (!d.ok) { this.drops[d.reason]++; return; }
      // The header's address bytes as they are: no text to parse back per packet.
      result = parseVrrp(d.datagram.payload, { family: 'ipv4', src: data.subarray(12, 16), dst: data.subarray(16, 20), ttlOrHopLimit: d.datagram.ttl,
        checkUnicastTtl: this.opts.checkUnicastTtl ?? false, unicastChecksumCompat: this.opts.unicastChecksumCompat ?? true });
    } else {
      result = parseVrrp(data, { family: 'ipv6', src: from6, dst: dst6, ttlOrHopLimit: hopLimit,
        checkUnicastTtl: this.opts.checkUnicastTtl ?? false });
    }
    if (!result.ok) { this.drops[result.reason]++; return; }
    const h = this.handlers.get(result.packet.vrid);
    if (!h) { this.drops.vrid_unknown++; return; }
    this.delivered++;
    h(result.packet, rxTime);
  }

  close(): void {
    this.closed = true;
    this.socket.close();
  }
}

/**
 * The kernel's receive time mapped onto performance.now(). Clamped to the last 5 ms: a realtime clock
 * step (NTP) must never move a timer by more than the loop latency it corrects.
 */
export function receiveTime(control: readonly { level: number; type: number; data: Buffer }[], now = performance.now()): number {
  const c = control.find((x) => x.level === SOL_SOCKET && x.type === SO_TIMESTAMPNS && x.data.length >= 16);
  if (!c) return now;
  const realtimeMs = Number(c.data.readBigInt64LE(0)) * 1000 + Number(c.data.readBigInt64LE(8)) / 1e6;
  const t = realtimeMs - performance.timeOrigin;
  return Math.min(now, Math.max(now - 5, t));
}

/** IP_TOS / IPV6_TCLASS as a sendmsg control message: an int (ip_cmsg_send / ip6_datagram_send_ctl). */
export function tosControl(v4: boolean, tos: number): { level: number; type: number; data: Buffer } {
  const data = Buffer.alloc(4);
  data.writeInt32LE(tos, 0);
  return v4 ? { level: SOL_IP, type: IP_TOS, data } : { level: SOL_IPV6, type: IPV6_TCLASS, data };
}

/** IP_TTL / IPV6_HOPLIMIT as a sendmsg control message: an int (ip_cmsg_send / ip6_datagram_send_ctl). */
export function ttlControl(v4: boolean, ttl: number): { level: number; type: number; data: Buffer } {
  const data = Buffer.alloc(4);
  data.writeInt32LE(ttl, 0);
  return v4 ? { level: SOL_IP, type: IP_TTL, data } : { level: SOL_IPV6, type: IPV6_HOPLIMIT, data };
}

/** struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; } */
function ipMreqn(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  addressBytes(group).copy(b, 0);
  b.writeInt32LE(ifindex, 8);
  return b;
}

/** struct ipv6_mreq { in6_addr multiaddr; int ifindex; } */
function ipv6Mreq(group: string, ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  addressBytes(group).copy(b, 0);
  b.writeInt32LE(ifindex, 16);
  return b;
}
