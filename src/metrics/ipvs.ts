// IPVS metrics from the kernel's own counters (IPVS_*_ATTR_STATS64), read through generic netlink.
// A scrape of 10,000 destinations means thousands of netlink dumps, so the table read is cached for a
// short time and shared by concurrent scrapes.
import { performance } from 'node:perf_hooks';
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../../ipvs/constants.js';
import { serviceKey } from '../../ipvs/service.js';
import type { IpvsKernelTable } from '../../ipvs/table.js';
import type { IpvsServiceEntry } from '../../ipvs/service.js';
import type { LvsdConfig } from '../config/model.js';
import { serviceRecords } from '../balancer/records.js';
import { labelText, push, type Samples } from './family.js';
import { M } from './specs.js';

/** What the metrics need of IpvsClient. */
export interface IpvsTableReader { table(): Promise<IpvsKernelTable> }

export interface IpvsReading {
  table: IpvsKernelTable | null;
  error: Error | null;
  /** How long the read took, ms. */
  ms: number;
}

/** One table read per `ttlMs` at most; scrapes that arrive during a read wait for it instead of starting another. */
export class IpvsStatsCache {
  private last: { at: number; reading: IpvsReading } | undefined;
  private inflight: Promise<IpvsReading> | undefined;

  constructor(private readonly reader: () => IpvsTableReader | null | undefined, readonly ttlMs = 1000,
    private readonly now: () => number = () => performance.now()) {}

  read(): Promise<IpvsReading> {
    if (this.last && this.now() - this.last.at < this.ttlMs) return Promise.resolve(this.last.reading);
    if (this.inflight) return this.inflight;
    const r = this.reader();
    if (!r) return Promise.resolve({ table: null, error: null, ms: 0 });
    const t0 = this.now();
    this.inflight = r.table().then(
      (table) => ({ table, error: null, ms: this.now() - t0 }),
      (e: unknown) => ({ table: null, error: e instanceof Error ? e : new Error(String(e)), ms: this.now() - t0 }),
    ).then((reading) => {
      this.last = { at: this.now(), reading };
      this.inflight = undefined;
      return reading;
    });
    return this.inflight;
  }

  /** Forget the cached reading (after a reload changed the table, or in tests). */
  invalidate(): void { this.last = undefined; }
}

const PROTOCOL_NAME: Record<number, string> = { [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp', [IPPROTO_SCTP]: 'sctp' };

/** "10.0.0.1:80", "[2001:db8::1]:80", "fwmark:42": how lvsd labels a virtual service. */
export function vipText(s: Pick<IpvsServiceEntry, 'addr' | 'port' | 'fwmark'>): string {
  if (s.fwmark) return `fwmark:${s.fwmark}`;
  return s.addr.includes(':') ? `[${s.addr}]:${s.port}` : `${s.addr}:${s.port}`;
}

/** Service key -> lvsd virtual service name, for the `service` label. */
export function serviceNames(config: LvsdConfig | undefined): Map<string, string> {
  const names = new Map<string, string>();
  for (const vs of config?.virtual_services ?? []) {
    // Every service of a group carries the group's name.
    try { for (const r of serviceRecords(vs)) names.set(serviceKey(r), vs.name); } catch { /* a service lvsd cannot express is simply unnamed */ }
  }
  return names;
}

/** Services between two turns of the event loop: a 10,000-destination table is not collected in one go. */
const SERVICES_PER_TURN = 200;

export async function collectIpvs(reading: IpvsReading, names: ReadonlyMap<string, string>, out: Samples): Promise<void> {
  push(out, M.ipvsUp, {}, reading.error ? 0 : 1);
  push(out, M.ipvsReadSeconds, {}, reading.ms / 1000);
  const table = reading.table;
  if (!table) return;
  push(out, M.ipvsServices, {}, table.length);
  const n = Number;
  let sinceYield = 0;
  for (const { service: s, dests } of table) {
    if (++sinceYield >= SERVICES_PER_TURN) { sinceYield = 0; await new Promise((r) => setImmediate(r)); }
    const vip = vipText(s);
    const svc = { service: names.get(serviceKey(s)) ?? '', vip, protocol: s.fwmark ? '' : PROTOCOL_NAME[s.protocol] ?? String(s.protocol) };
    const st = labelText(svc);
    push(out, M.svcConns, svc, n(s.stats.conns), st);
    push(out, M.svcInPkts, svc, n(s.stats.inpkts), st);
    push(out, M.svcOutPkts, svc, n(s.stats.outpkts), st);
    push(out, M.svcInBytes, svc, n(s.stats.inbytes), st);
    push(out, M.svcOutBytes, svc, n(s.stats.outbytes), st);
    // gen2brain/keepalived_exporter: addr = Go's IP.String() + ":" + port (IPv6 unbracketed), proto = the number.
    const ka = { addr: s.fwmark ? `fwmark:${s.fwmark}` : `${s.addr}:${s.port}`, proto: String(s.protocol) };
    const kt = labelText(ka);
    push(out, M.kaVipInPkts, ka, n(s.stats.inpkts), kt);
    push(out, M.kaVipOutPkts, ka, n(s.stats.outpkts), kt);
    push(out, M.kaVipInBytes, ka, n(s.stats.inbytes), kt);
    push(out, M.kaVipOutBytes, ka, n(s.stats.outbytes), kt);
    push(out, M.kaVipConn, ka, n(s.stats.conns), kt);
    for (const d of dests) {
      const dst = { ...svc, server: d.addr.includes(':') ? `[${d.addr}]:${d.port}` : `${d.addr}:${d.port}` };
      const dt = labelText(dst);
      push(out, M.dstActive, dst, d.activeConns, dt);
      push(out, M.dstInactive, dst, d.inactConns, dt);
      push(out, M.dstWeight, dst, d.weight, dt);
      push(out, M.dstConns, dst, n(d.stats.conns), dt);
      push(out, M.dstInPkts, dst, n(d.stats.inpkts), dt);
      push(out, M.dstOutPkts, dst, n(d.stats.outpkts), dt);
      push(out, M.dstInBytes, dst, n(d.stats.inbytes), dt);
      push(out, M.dstOutBytes, dst, n(d.stats.outbytes), dt);
      const kr = { addr: `${d.addr}:${d.port}`, proto: ka.proto, vip: ka.addr };
      const rt = labelText(kr);
      push(out, M.kaRsInPkts, kr, n(d.stats.inpkts), rt);
      push(out, M.kaRsOutPkts, kr, n(d.stats.outpkts), rt);
      push(out, M.kaRsInBytes, kr, n(d.stats.inbytes), rt);
      push(out, M.kaRsOutBytes, kr, n(d.stats.outbytes), rt);
      push(out, M.kaRsConn, kr, n(d.stats.conns), rt);
    }
  }
}
