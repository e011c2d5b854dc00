// From what the core wants (announcement routes with their metrics, local routes) and what the kernel
// holds (lvsd's routes, found by protocol number) to the route writes that make them equal. Pure.
//
// Announcement: `ADDR/32 dev lo table T proto P metric M` (RTN_UNICAST) in lvsd's table, which the routing
// daemon imports (FRR ip import-table T; BIRD kernel table T + learn) and announces. Local: `local ADDR/32
// dev lo table local proto P` (RTN_LOCAL), so the VIP is an address of this host and IPVS sees its traffic,
// without an interface address: FRR's zebra would turn an address into a connected route (distance 0) that
// outranks the imported one, and the VIP would never be announced (measured with FRR 8.4).
//
// Writes go as replace (NLM_F_CREATE | NLM_F_REPLACE), which is idempotent and keyed like the kernel's
// routes (prefix, table, metric). A metric change (soft drain) removes the old route first: see planRoutes.
import { RTN_LOCAL, RTN_UNICAST, RT_TABLE_LOCAL, type Route, type RouteSpec } from '../netlink/rtnetlink.js';
import type { DesiredLocal, DesiredRoute } from './core.js';

export interface RouteSettings {
  /** lvsd's table (global.announce.table). */
  table: number;
  /** lvsd's rtm_protocol (global.announce.protocol). */
  protocol: number;
  /** Interface index of global.announce.device. */
  ifindex: number;
}

export interface RouteOp {
  op: 'replace' | 'remove';
  spec: RouteSpec;
  /** For logs: "announce 203.0.113.10 metric 0", "withdraw ...", "local ...". */
  what: string;
}

/** IPv6 has no metric 0: the kernel stores it as 1024 (IP6_RT_PRIO_USER). Compare with what it stores. */
export function kernelMetric(family: 4 | 6, metric: number): number {
  return family === 6 && metric === 0 ? 1024 : metric;
}

const fam = (f: 'inet' | 'inet6'): 4 | 6 => (f === 'inet' ? 4 : 6);
const hostLen = (f: 4 | 6): number => (f === 4 ? 32 : 128);

/** lvsd's announcement routes among `routes` (any table/protocol may be passed). */
export function isAnnouncement(r: Route, s: Pick<RouteSettings, 'table' | 'protocol'>): boolean {
  return r.table === s.table && r.protocol === s.protocol;
}
/** lvsd's local routes among `routes`. */
export function isLocal(r: Route, s: Pick<RouteSettings, 'protocol'>): boolean {
  return r.table === RT_TABLE_LOCAL && r.protocol === s.protocol && r.type === RTN_LOCAL;
}

/**
 * The writes that make `actual` (every route of lvsd's table and of the local table) hold `desired`:
 * new local routes, metric changes, new announcements, withdrawals, then local routes no longer wanted.
 */
export function planRoutes(
  desired: { announce: ReadonlyMap<string, DesiredRoute>; local: ReadonlyMap<string, DesiredLocal> },
  actual: readonly Route[], s: RouteSettings,
  /** Protocol numbers lvsd used before a reload changed it: their local routes are lvsd's, not an interface's. */
  formerProtocols: readonly number[] = [],
): RouteOp[] {
  const adds: RouteOp[] = [];
  const removes: RouteOp[] = [];
  const announced = actual.filter((r) => isAnnouncement(r, s));
  const locals = actual.filter((r) => isLocal(r, s));
  const matches = (r: Route, address: string, family: 4 | 6): boolean =>
    r.destination === address && fam(r.family) === family && r.prefixLength === hostLen(family) && r.ifindex === s.ifindex;

  for (const l of desired.local.values()) {
    if (locals.some((r) => matches(r, l.address, l.family))) continue;
    // Already local another way (an interface address: its local route, protocol kernel): a replace
    // would take that route over, and removing ours later would take the address's delivery with it.
    if (actual.some((r) => r.table === RT_TABLE_LOCAL && r.type === RTN_LOCAL && r.protocol !== s.protocol && !formerProtocols.includes(r.protocol) && r.destination === l.address && r.prefixLength === hostLen(l.family))) continue;
    adds.push({ op: 'replace', what: `local ${l.address}`, spec: { destination: l.address, prefixLength: hostLen(l.family), table: RT_TABLE_LOCAL, protocol: s.protocol, type: RTN_LOCAL, ifindex: s.ifindex } });
  }
  for (const d of desired.announce.values()) {
    const metric = kernelMetric(d.family, d.metric);
    if (announced.some((r) => matches(r, d.address, d.family) && (r.priority ?? 0) === metric)) continue;
    adds.push({ op: 'replace', what: `announce ${d.address} metric ${d.metric}`, spec: { destination: d.address, prefixLength: hostLen(d.family), table: s.table, protocol: s.protocol, type: RTN_UNICAST, ifindex: s.ifindex, priority: metric } });
  }
  for (const r of announced) {
    const d = desired.announce.get(r.destination);
    if (d && matches(r, d.address, d.family) && (r.priority ?? 0) === kernelMetric(d.family, d.metric)) continue;
    // Exactly this route: with its metric (else the kernel removes the lowest-metric one) and device.
    const spec: RouteSpec = { destination: r.destination, prefixLength: r.prefixLength, table: s.table, protocol: s.protocol, priority: r.priority ?? 0 };
    if (r.ifindex !== undefined) spec.ifindex = r.ifindex;
    removes.push({ op: 'remove', what: d ? `replace ${r.destination}/${r.prefixLength} metric ${r.priority ?? 0}` : `withdraw ${r.destination}/${r.prefixLength}`, spec });
  }
  for (const r of locals) {
    const d = desired.local.get(r.destination);
    if (d && matches(r, d.address, d.family)) continue;
    const spec: RouteSpec = { destination: r.destination, prefixLength: r.prefixLength, table: RT_TABLE_LOCAL, protocol: s.protocol, type: RTN_LOCAL };
    if (r.ifindex !== undefined) spec.ifindex = r.ifindex;
    removes.push({ op: 'remove', what: `unlocal ${r.destination}/${r.prefixLength}`, spec });
  }
  // A metric change (soft drain) removes the old route before it adds the new one. The other order
  // (make before break) lost the VIP with FRR: zebra keeps one imported route per prefix and forgets it
  // when any route of that prefix leaves the table, whatever its metric (measured with FRR 8.4: the VIP
  // was withdrawn instead of announced with the worse MED; rewriting the kept route sends no kernel
  // notification). Removed first, both daemons withdraw and re-announce within the same moment.
  const changed = new Set(removes.filter((o) => o.spec.table === s.table && desired.announce.has(o.spec.destination)).map((o) => o.spec.destination));
  const first = removes.filter((o) => o.spec.table === s.table && changed.has(o.spec.destination));
  const withdrawals = removes.filter((o) => o.spec.table === s.table && !changed.has(o.spec.destination));
  const unlocal = removes.filter((o) => o.spec.table === RT_TABLE_LOCAL);
  const localAdds = adds.filter((o) => o.spec.table === RT_TABLE_LOCAL);
  const announceAdds = adds.filter((o) => o.spec.table !== RT_TABLE_LOCAL);
  // New local routes first (traffic that arrives is delivered), withdrawals before local removals (an
  // address stops being announced before it stops being ours).
  return [...localAdds, ...first, ...announceAdds, ...withdrawals, ...unlocal];
}
