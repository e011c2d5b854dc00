// IPVS_SVC_ATTR_STATS64 / IPVS_DEST_ATTR_STATS64 (and the older 32-bit IPVS_*_ATTR_STATS nest).
import type { Attributes } from '../src/netlink/attributes.js';
import {
  IPVS_STATS_ATTR_CONNS, IPVS_STATS_ATTR_CPS, IPVS_STATS_ATTR_INBPS, IPVS_STATS_ATTR_INBYTES, IPVS_STATS_ATTR_INPKTS,
  IPVS_STATS_ATTR_INPPS, IPVS_STATS_ATTR_OUTBPS, IPVS_STATS_ATTR_OUTBYTES, IPVS_STATS_ATTR_OUTPKTS, IPVS_STATS_ATTR_OUTPPS,
} from './constants.js';

/** Counters since the entry was created (or zeroed) and the kernel's estimated rates (per second). */
export interface IpvsStats {
  conns: bigint;
  inpkts: bigint;
  outpkts: bigint;
  inbytes: bigint;
  outbytes: bigint;
  cps: bigint;
  inpps: bigint;
  outpps: bigint;
  inbps: bigint;
  outbps: bigint;
}

const FIELDS: [keyof IpvsStats, number][] = [
  ['conns', IPVS_STATS_ATTR_CONNS], ['inpkts', IPVS_STATS_ATTR_INPKTS], ['outpkts', IPVS_STATS_ATTR_OUTPKTS],
  ['inbytes', IPVS_STATS_ATTR_INBYTES], ['outbytes', IPVS_STATS_ATTR_OUTBYTES], ['cps', IPVS_STATS_ATTR_CPS],
  ['inpps', IPVS_STATS_ATTR_INPPS], ['outpps', IPVS_STATS_ATTR_OUTPPS], ['inbps', IPVS_STATS_ATTR_INBPS],
  ['outbps', IPVS_STATS_ATTR_OUTBPS],
];

export const zeroStats = (): IpvsStats =>
  ({ conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n, cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n });

/** Decodes a stats nest: STATS64 has every field as u64; the old STATS nest has u32 except the byte counts. */
export function decodeStats(a: Attributes | undefined): IpvsStats {
  const s = zeroStats();
  if (!a) return s;
  for (const [field, type] of FIELDS) {
    const raw = a.raw(type);
    if (!raw) continue;
    s[field] = raw.data.length === 8 ? raw.data.readBigUInt64LE(0) : BigInt(a.u32(type) ?? 0);
  }
  return s;
}
