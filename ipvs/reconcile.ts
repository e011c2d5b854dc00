// The reconciler's pure core: (desired table, kernel table, owned services) -> the fewest IPVS commands
// that make the kernel's table what lvsd wants, in an order the kernel accepts. Never a flush.
//
// What it promises:
// - Adoption: a desired service or destination already in the kernel with the same fields costs nothing,
//   so restarting with an unchanged table writes nothing.
// - Edit in place: any field that is not part of an entry's identity changes with IPVS_CMD_SET_SERVICE /
//   IPVS_CMD_SET_DEST (scheduler, flags, persistence, pe; weight, forwarding, thresholds, tunnel). A drain
//   is SET_DEST with weight 0, which keeps established connections; a delete would cut them.
// - Only what lvsd declares: services in `owned` (declared before) that are no longer desired are deleted;
//   every other kernel service is foreign and left alone.
// - Kernel 6.1 edits every non-identity field in place (ip_vs_edit_service, __ip_vs_update_dest both take
//   the scheduler, pe, flags, forwarding method and tunnel settings). What it cannot edit is identity:
//   a service's address family, protocol, address, port or fwmark, and a destination's address or port.
//   Such a change is a different entry, so it comes out as del (the old, owned entry) + add (the new one).
import {
  IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_TUNNEL_TYPE_GUE, IP_VS_SVC_F_HASHED,
} from './constants.js';
import { destinationKey, type IpvsDestination } from './destination.js';
import { serviceKey, type IpvsService, type IpvsServiceKey } from './service.js';
import type { IpvsTableEntry } from './table.js';
import type { IpvsDaemon } from './daemon.js';
import type { IpvsTimeouts } from './timeouts.js';

export type IpvsOp =
  | { kind: 'IPVS_CMD_NEW_SERVICE'; service: IpvsService }
  | { kind: 'IPVS_CMD_SET_SERVICE'; service: IpvsService }
  | { kind: 'IPVS_CMD_DEL_SERVICE'; service: IpvsServiceKey }
  | { kind: 'IPVS_CMD_NEW_DEST'; service: IpvsServiceKey; dest: IpvsDestination }
  | { kind: 'IPVS_CMD_SET_DEST'; service: IpvsServiceKey; dest: IpvsDestination }
  | { kind: 'IPVS_CMD_DEL_DEST'; service: IpvsServiceKey; dest: IpvsDestination }
  | { kind: 'IPVS_CMD_SET_CONFIG'; timeouts: Partial<IpvsTimeouts> }
  | { kind: 'IPVS_CMD_NEW_DAEMON'; daemon: IpvsDaemon }
  | { kind: 'IPVS_CMD_DEL_DAEMON'; daemon: IpvsDaemon };

/** A table indexed by service key, and each service's destinations by destination key. */
export interface IndexedEntry { service: IpvsService; dests: Map<string, IpvsDestination> }
export type IndexedTable = Map<string, IndexedEntry>;

export function indexTable(table: Iterable<IpvsTableEntry>): IndexedTable {
  const out: IndexedTable = new Map();
  for (const { service, dests } of table) {
    const m = new Map<string, IpvsDestination>();
    for (const d of dests) m.set(destinationKey(d), d);
    out.set(serviceKey(service), { service, dests: m });
  }
  return out;
}

/** Fields SET_SERVICE can change. HASHED is the kernel's own bookkeeping, never ours. */
export function sameService(a: IpvsService, b: IpvsService): boolean {
  return a.schedName === b.schedName && (a.flags & ~IP_VS_SVC_F_HASHED) === (b.flags & ~IP_VS_SVC_F_HASHED) &&
    a.timeout === b.timeout && (a.netmask >>> 0) === (b.netmask >>> 0) && a.peName === b.peName;
}

/** Fields SET_DEST can change. Tunnel settings matter only for tunnels (the GUE port only for GUE). */
export function sameDestination(a: IpvsDestination, b: IpvsDestination): boolean {
  if (a.fwdMethod !== b.fwdMethod || a.weight !== b.weight || a.uThresh !== b.uThresh || a.lThresh !== b.lThresh) return false;
  if (a.fwdMethod !== IP_VS_CONN_F_TUNNEL) return true;
  if (a.tunType !== b.tunType || a.tunFlags !== b.tunFlags) return false;
  return a.tunType !== IP_VS_CONN_F_TUNNEL_TYPE_GUE || a.tunPort === b.tunPort;
}

export interface ReconcileOptions {
  /** Keys (serviceKey) of the services lvsd declared before; those no longer desired are deleted. */
  owned?: ReadonlySet<string>;
  /** Look only at these service keys (an incremental change); default: every desired and owned service. */
  only?: Iterable<string>;
}

/**
 * The commands, in order: deletions of services no longer wanted first (they free nothing the others need,
 * but make a failed batch leave less behind), then per service SET_SERVICE, DEL_DEST, SET_DEST, NEW_DEST,
 * and new services each followed by their destinations (a destination needs its service to exist).
 * A deleted service takes its destinations with it (__ip_vs_del_service unlinks them all), so no DEL_DEST
 * precedes a DEL_SERVICE: they would be writes with no effect.
 */
export function reconcile(desired: IndexedTable, actual: IndexedTable, opts: ReconcileOptions = {}): IpvsOp[] {
  const owned = opts.owned ?? new Set<string>();
  const keys = opts.only ? new Set(opts.only) : new Set([...desired.keys(), ...owned]);
  const deletions: IpvsOp[] = [];
  const changes: IpvsOp[] = [];
  for (const key of keys) {
    const want = desired.get(key);
    const have = actual.get(key);
    if (!want) {
      // Not desired: delete only what lvsd declared before; anything else is foreign.
      if (have && owned.has(key)) deletions.push({ kind: 'IPVS_CMD_DEL_SERVICE', service: have.service });
      continue;
    }
    if (!have) {
      changes.push({ kind: 'IPVS_CMD_NEW_SERVICE', service: want.service });
      for (const d of want.dests.values()) changes.push({ kind: 'IPVS_CMD_NEW_DEST', service: want.service, dest: d });
      continue;
    }
    if (!sameService(want.service, have.service)) changes.push({ kind: 'IPVS_CMD_SET_SERVICE', service: want.service });
    const adds: IpvsOp[] = [];
    for (const [dk, d] of want.dests) {
      const cur = have.dests.get(dk);
      if (!cur) adds.push({ kind: 'IPVS_CMD_NEW_DEST', service: want.service, dest: d });
      else if (!sameDestination(d, cur)) adds.push({ kind: 'IPVS_CMD_SET_DEST', service: want.service, dest: d });
    }
    // A service lvsd declares is lvsd's whole: destinations it does not list go.
    for (const [dk, cur] of have.dests) {
      if (!want.dests.has(dk)) changes.push({ kind: 'IPVS_CMD_DEL_DEST', service: want.service, dest: cur });
    }
    changes.push(...adds);
  }
  return [...deletions, ...changes];
}

/** SET_CONFIG when a desired timeout differs (0 / absent means "leave as is" to the kernel). */
export function reconcileTimeouts(desired: Partial<IpvsTimeouts> | undefined, actual: IpvsTimeouts): IpvsOp[] {
  if (!desired) return [];
  const diff: Partial<IpvsTimeouts> = {};
  for (const k of ['tcp', 'tcpFin', 'udp'] as const) {
    const v = desired[k];
    if (v !== undefined && v !== 0 && v !== actual[k]) diff[k] = v;
  }
  return Object.keys(diff).length ? [{ kind: 'IPVS_CMD_SET_CONFIG', timeouts: diff }] : [];
}

const sameDaemon = (a: IpvsDaemon, b: IpvsDaemon): boolean =>
  a.mcastIfn === b.mcastIfn && a.syncId === b.syncId &&
  (a.syncMaxlen === undefined || a.syncMaxlen === b.syncMaxlen) && (a.mcastGroup === undefined || a.mcastGroup === b.mcastGroup) &&
  (a.mcastPort === undefined || a.mcastPort === b.mcastPort) && (a.mcastTtl === undefined || a.mcastTtl === b.mcastTtl);

/**
 * Sync daemons (one master and one backup at most): the kernel has no "edit daemon", so a changed one is
 * DEL_DAEMON then NEW_DAEMON. Unset optional fields in the desired record accept the kernel's defaults.
 * desired undefined = lvsd does not manage sync daemons; [] = none should run.
 */
export function reconcileDaemons(desired: IpvsDaemon[] | undefined, actual: IpvsDaemon[]): IpvsOp[] {
  if (!desired) return [];
  const ops: IpvsOp[] = [];
  for (const state of new Set([...desired, ...actual].map((d) => d.state))) {
    const want = desired.find((d) => d.state === state);
    const have = actual.find((d) => d.state === state);
    if (have && want && sameDaemon(want, have)) continue;
    if (have) ops.push({ kind: 'IPVS_CMD_DEL_DAEMON', daemon: have });
    if (want) ops.push({ kind: 'IPVS_CMD_NEW_DAEMON', daemon: want });
  }
  return ops;
}
