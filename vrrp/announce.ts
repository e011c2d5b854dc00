// Gratuitous ARP (RFC 5227 §3 / RFC 5944 §4.6 "ARP announcement") and unsolicited Neighbor
// Advertisement (RFC 4861 §7.2.6) frames, built as whole Ethernet frames for an AF_PACKET socket.
// Pure: bytes out, no sockets. Sent the moment a VRRP master adds its VIPs (RFC 5798 §6.4.1 / §6.4.2).
import { parseAddress } from './address.js';
import { pseudoHeaderChecksum } from './checksum.js';

export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
const BROADCAST = Buffer.from('ffffffffffff', 'hex');
/** ff02::1, all-nodes (RFC 4291 §2.7.1), and its Ethernet mapping 33:33:00:00:00:01 (RFC 2464 §7). */
export const ALL_NODES = 'ff02::1';
const ALL_NODES_MAC = Buffer.from('333300000001', 'hex');
const IPPROTO_ICMPV6 = 58;

export function macBytes(mac: string): Buffer {
  const b = Buffer.from(mac.replace(/[:-]/g, ''), 'hex');
  if (b.length !== 6) throw new TypeError(`not an Ethernet address: ${mac}`);
  return b;
}

/** ARP request, sender = target = VIP, to broadcast: what keepalived and `arping -U` send. */
export function garpFrame(mac: string, vip: string): Buffer {
  const hw = macBytes(mac);
  const ip = parseAddress('ipv4', vip);
  if (!ip) throw new TypeError(`not an IPv4 address: ${vip}`);
  const f = Buffer.alloc(42);
  BROADCAST.copy(f, 0); hw.copy(f, 6); f.writeUInt16BE(ETH_P_ARP, 12);
  f.writeUInt16BE(1, 14); // htype Ethernet
  f.writeUInt16BE(0x0800, 16); // ptype IPv4
  f.writeUInt8(6, 18); f.writeUInt8(4, 19);
  f.writeUInt16BE(1, 20); // op request
  hw.copy(f, 22); Buffer.from(ip).copy(f, 28);
  // target hardware address stays zero (RFC 5227 §2.1.1)
  Buffer.from(ip).copy(f, 38);
  return f;
}

/**
 * Unsolicited NA: ICMPv6 type 136 from the VIP to ff02::1, hop limit 255, Override set, Solicited
 * clear (RFC 4861 §7.2.6), target link-layer address option (type 2). Router flag as keepalived: clear.
 */
export function unsolicitedNaFrame(mac: string, vip: string): Buffer {
  const hw = macBytes(mac);
  const src = parseAddress('ipv6', vip);
  const dst = parseAddress('ipv6', ALL_NODES)!;
  if (!src) throw new TypeError(`not an IPv6 address: ${vip}`);
  const icmp = Buffer.alloc(32);
  icmp.writeUInt8(136, 0);
  icmp.writeUInt32BE(0x20000000, 4); // R=0 S=0 O=1
  Buffer.from(src).copy(icmp, 8);
  icmp.writeUInt8(2, 24); icmp.writeUInt8(1, 25); hw.copy(icmp, 26);
  icmp.writeUInt16BE(pseudoHeaderChecksum(src, dst, icmp, IPPROTO_ICMPV6), 2);
  const f = Buffer.alloc(14 + 40 + icmp.length);
  ALL_NODES_MAC.copy(f, 0); hw.copy(f, 6); f.writeUInt16BE(ETH_P_IPV6, 12);
  f.writeUInt32BE(0x60000000, 14);
  f.writeUInt16BE(icmp.length, 18); f.writeUInt8(58, 20); f.writeUInt8(255, 21);
  Buffer.from(src).copy(f, 22); Buffer.from(dst).copy(f, 38);
  icmp.copy(f, 54);
  return f;
}

export function announceFrame(family: 'ipv4' | 'ipv6', mac: string, vip: string): Buffer {
  return family === 'ipv4' ? garpFrame(mac, vip) : unsolicitedNaFrame(mac, vip);
}
