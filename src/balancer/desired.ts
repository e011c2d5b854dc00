// The balancer's pure core: a virtual service's config + its real servers' verdicts (+ the previous
// quorum state) -> the service's desired IPVS entry and its quorum state.
//
// keepalived's rules (check/ipwrapper.c update_quorum_state), which users rely on:
// - Live weight = sum of the weights of real servers that are up. Quorum (default 1, so "no server up"
//   counts as lost) is regained when live weight >= min + hysteresis and lost when < min - hysteresis;
//   in between it keeps its previous state.
// - While quorum is lost and a sorry server is configured, the sorry server is the only destination
//   (live real servers are taken out, or set to weight 0 with inhibit_on_failure).
// - A real server that is down is removed, or kept at weight 0 with inhibit_on_failure (existing
//   connections live on); the real server's own inhibit_on_failure overrides the service's.
// - With sorry_server_inhibit, a sorry server that has served stays at weight 0 once the real servers
//   are back (keepalived "Disabling sorry server"); before it first serves it is not in the table.
// - fail_open (lvsd's, not keepalived's): when no real server is up, every one stays in the table at its
//   weight, as if up; quorum is still computed from the verdicts (lost), so notify, VRRP and announce
//   still hear of it. The config refuses fail_open with a sorry server (one keeps, the other replaces).
// - Weights: a script's weight replaces the configured one, a file check's value adds to it, an agent's
//   percentage scales the result; slow start (slow-start.ts) lowers the table's weight while a server
//   ramps up, but quorum counts its full weight (it is up; the ramp only spares it a rush).
// - A group (virtual_server_group) is one decision: the same quorum and real servers on each of its
//   IPVS services; a real server without a port takes each service's port.
import type { IpvsDestination } from '../../ipvs/destination.js';
import type { IpvsService } from '../../ipvs/service.js';
import type { IpvsTableEntry } from '../../ipvs/table.js';
import type { VirtualServiceConfig } from '../config/model.js';
import { destinationRecord, serviceRecords, sorryRecord } from './records.js';

export interface ServerVerdict {
  up: boolean;
  /** Weight a script check reported (misc_dynamic); undefined = the configured weight. */
  weight?: number | undefined;
  /** Added to that weight (file checks, keepalived track_file weight). */
  weightDelta?: number | undefined;
  /** Percent of that weight (an agent's "75%"; 0 = drain). */
  weightPercent?: number | undefined;
  /** The weight in the table while slow start ramps (below the full weight); undefined = the full weight. */
  slowWeight?: number | undefined;
}

const IPVS_WEIGHT_MAX = 2_147_483_647;

export interface QuorumPolicy { min: number; hysteresis: number }

export function quorumPolicy(vs: VirtualServiceConfig): QuorumPolicy {
  return { min: vs.quorum?.min ?? 1, hysteresis: vs.quorum?.hysteresis ?? 0 };
}

/** The full weight: script weight (else configured) + file deltas, times the agent's percent, in IPVS's range. */
export function effectiveWeight(vs: VirtualServiceConfig, i: number, v: ServerVerdict): number {
  let w = (v.weight ?? vs.real_servers[i]!.weight) + (v.weightDelta ?? 0);
  // HAProxy's integer division (server_parse_weight_change_request: iweight * pct / 100): 50% of 1 is 0.
  if (v.weightPercent !== undefined) w = Math.floor((Math.max(0, w) * v.weightPercent) / 100);
  return Math.min(IPVS_WEIGHT_MAX, Math.max(0, w));
}

/** The weight the table gets: the slow-start weight while ramping, else the full weight. */
export function tableWeight(vs: VirtualServiceConfig, i: number, v: ServerVerdict): number {
  return v.slowWeight ?? effectiveWeight(vs, i, v);
}

export function liveWeight(vs: VirtualServiceConfig, verdicts: readonly ServerVerdict[]): number {
  let sum = 0;
  verdicts.forEach((v, i) => { if (v.up) sum += effectiveWeight(vs, i, v); });
  return sum;
}

/** Next quorum state; `previous` undefined = first evaluation (no hysteresis band yet: plain min). */
export function nextQuorum(p: QuorumPolicy, live: number, previous: boolean | undefined): boolean {
  if (previous === undefined) return live >= p.min;
  if (previous) return !(live < p.min - p.hysteresis);
  return live >= p.min + p.hysteresis;
}

export interface ServiceDecision {
  /** The first of entries (the service itself, or a group's first member). */
  entry: IpvsTableEntry;
  /** One per IPVS service: one, or one per address and fwmark of a group. */
  entries: IpvsTableEntry[];
  quorum: boolean;
  liveWeight: number;
  sorryActive: boolean;
  /** fail_open is keeping every (down) real server in the table. */
  failOpen: boolean;
}

/** sorryUsed: the sorry server has served since lvsd started (with inhibit it then stays, at weight 0). */
export function decideService(vs: VirtualServiceConfig, verdicts: readonly ServerVerdict[], previousQuorum: boolean | undefined, sorryUsed = false): ServiceDecision {
  const live = liveWeight(vs, verdicts);
  const quorum = nextQuorum(quorumPolicy(vs), live, previousQuorum);
  const sorryActive = !quorum && vs.sorry_server !== undefined;
  const failOpen = vs.fail_open === true && vs.real_servers.length > 0 && vs.real_servers.every((_, i) => !(verdicts[i] ?? { up: true }).up);
  // sorry_server_inhibit: out of use, the sorry server stays at weight 0 (its connections live on).
  const sorry = sorryActive ? sorryRecord(vs) : vs.sorry_server?.inhibit && sorryUsed ? { ...sorryRecord(vs)!, weight: 0 } : undefined;
  const destsFor = (service: IpvsService): IpvsDestination[] => {
    const dests: IpvsDestination[] = [];
    vs.real_servers.forEach((rs, i) => {
      const v = verdicts[i] ?? { up: true };
      const serving = (v.up || failOpen) && !sorryActive;
      if (serving) dests.push(destinationRecord(vs, rs, tableWeight(vs, i, v), service));
      else if (rs.inhibit_on_failure ?? vs.inhibit_on_failure) dests.push(destinationRecord(vs, rs, 0, service));
    });
    if (sorry && !dests.some((d) => d.addr === sorry.addr && d.port === sorry.port)) dests.push(sorry);
    return dests;
  };
  const entries = serviceRecords(vs).map((service) => ({ service, dests: destsFor(service) }));
  return { entry: entries[0]!, entries, quorum, liveWeight: live, sorryActive, failOpen };
}
