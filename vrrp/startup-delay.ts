// keepalived's vrrp_startup_delay: for a while after the daemon starts, every instance stays silent
// and acts on no advert, so a director whose bonded NIC passes no traffic for a few seconds after
// boot does not take over from a live master it cannot hear. Pure: times are on the caller's clock.
//
// As keepalived 2.2.7 (vrrp_scheduler.c vrrp_init_instance_sands, vrrp_dispatcher_read):
// - a backup enters BACKUP at once, but its Master_Down_Timer counts from the end of the delay, so it
//   listens for one whole Master_Down_Interval after it before it may take over;
// - adverts received during the delay are ignored (counted as the drop reason startup_delay);
// - nothing is sent. keepalived's address owner also waits; in lvsd it stays in Initialize (RFC 5798
//   §6.4.1: waiting for the Startup event) until the end, then becomes MASTER as at any start.

/** What the instance does with its Startup event (§6.4.1) at `now`. */
export type StartupPlan =
  /** Hand it to the machine now, dated `at`: the end of the delay for a backup (its timer counts from there). */
  | { kind: 'start'; at: number }
  /** An address owner would become MASTER at once: hold the event until `at`. */
  | { kind: 'wait'; at: number };

/** `until`: end of the delay on the caller's clock (not after `now`: no delay). */
export function startupPlan(now: number, until: number, owner: boolean): StartupPlan {
  if (until <= now) return { kind: 'start', at: now };
  return owner ? { kind: 'wait', at: until } : { kind: 'start', at: until };
}

/**
 * Where to wait for a Master_Down_Timer the machine armed at `now` for `at`: while the delay runs,
 * not before Master_Down_Interval after its end (a fault that cleared during the delay re-arms it
 * from its own time, which would cut the listening short).
 */
export function masterDownAfterDelay(at: number, now: number, until: number, masterDownIntervalMs: number): number {
  return now < until ? Math.max(at, until + masterDownIntervalMs) : at;
}

/** Whether an advert received at `rxTime` falls inside the delay (ignored, as keepalived). */
export function inStartupDelay(rxTime: number, until: number | undefined): boolean {
  return until !== undefined && rxTime < until;
}
