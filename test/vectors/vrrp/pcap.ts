// Just enough pcap (the classic libpcap format, Ethernet link type) for the VRRP tests: wrap a VRRP
// message in IPv4/IPv6 + Ethernet so tshark can judge it, and read captures back.
import { internetChecksum } from '../../../vrrp/checksum.js';

const PCAP_MAGIC = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;

/** IPv4 header (TOS 0xc0 as keepalived sends, TTL 255, protocol 112) in front of a VRRP message. */
export function ipv4Packet(src: Uint8Array, dst: Uint8Array, payload: Uint8Array, ttl = 255): Uint8Array {
  const h = new Uint8Array(20 + payload.length);
  h[0] = 0x45;
  h[1] = 0xc0;
  h[2] = h.length >> 8;
  h[3] = h.length & 0xff;
  h[8] = ttl;
  h[9] = 112;
  h.set(src, 12);
  h.set(dst, 16);
  const sum = internetChecksum(h.subarray(0, 20));
  h[10] = sum >> 8;
  h[11] = sum & 0xff;
  h.set(payload, 20);
  return h;
}

export function ipv6Packet(src: Uint8Array, dst: Uint8Array, payload: Uint8Array, hopLimit = 255): Uint8Array {
  const h = new Uint8Array(40 + payload.length);
  h[0] = 0x60;
  h[4] = payload.length >> 8;
  h[5] = payload.length & 0xff;
  h[6] = 112;
  h[7] = hopLimit;
  h.set(src, 8);
  h.set(dst, 24);
  h.set(payload, 40);
  return h;
}

/** Ethernet frame from the VRRP virtual MAC 00:00:5e:00:01:VRID (v4) / 00:00:5e:00:02:VRID (v6). */
export function ethernetFrame(ip: Uint8Array, vrid: number): Uint8Array {
  const v6 = ip[0]! >> 4 === 6;
  const f = new Uint8Array(14 + ip.length);
  f.set(v6 ? [0x33, 0x33, 0, 0, 0, 0x12] : [0x01, 0x00, 0x5e, 0, 0, 0x12], 0);
  f.set([0x00, 0x00, 0x5e, 0x00, v6 ? 0x02 : 0x01, vrid & 0xff], 6);
  f[12] = v6 ? 0x86 : 0x08;
  f[13] = v6 ? 0xdd : 0x00;
  f.set(ip, 14);
  return f;
}

export function writePcap(frames: readonly Uint8Array[]): Uint8Array {
  const size = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, PCAP_MAGIC, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, LINKTYPE_ETHERNET, true);
  let off = 24;
  frames.forEach((f, i) => {
    dv.setUint32(off, 1_700_000_000 + i, true);
    dv.setUint32(off + 8, f.length, true);
    dv.setUint32(off + 12, f.length, true);
    out.set(f, off + 16);
    off += 16 + f.length;
  });
  return out;
}

/** The IPv6 fixed header, split off as an IPv6 raw socket would (plus what its control messages tell). */
export function splitIpv6(packet: Uint8Array): { src: Uint8Array; dst: Uint8Array; hopLimit: number; payload: Uint8Array } {
  const len = (packet[4]! << 8) | packet[5]!;
  return {
    src: packet.slice(8, 24),
    dst: packet.slice(24, 40),
    hopLimit: packet[7]!,
    payload: packet.slice(40, 40 + len),
  };
}
