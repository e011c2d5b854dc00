// Announced VIP metrics (issue #14), read at scrape time from the announcer's status.
import type { AnnounceStatus } from '../announce/announcer.js';
import { push, type Samples } from './family.js';
import { M } from './specs.js';

/** What the collector reads of the announcer; Announcer satisfies it. */
export interface AnnounceView { status(): AnnounceStatus }

const STATES = [['announced', 'announced'], ['soft-draining', 'soft_draining'], ['withdrawn', 'withdrawn']] as const;

export function collectAnnounce(a: AnnounceView, out: Samples): void {
  const st = a.status();
  for (const g of st.groups) {
    for (const [state, label] of STATES) push(out, M.announceState, { group: g.name, state: label }, g.state === state ? 1 : 0);
    if (g.metric !== undefined) push(out, M.announceMetric, { group: g.name }, g.metric);
    for (const [reason, n] of Object.entries(g.withdrawals)) push(out, M.announceWithdrawals, { group: g.name, reason }, n);
  }
  push(out, M.announceRouteWrites, {}, st.route_writes);
  push(out, M.announceRouteErrors, {}, st.route_errors);
}
