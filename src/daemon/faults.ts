// What lvsd does with an exception nobody caught. Exiting costs a failover (the peer takes the VIPs
// after Master_Down_Interval, in-flight connections through this director are cut); staying up with a
// broken VRRP engine could leave a master that no longer advertises, or one that never hands over.
// So the choice is made on evidence, after every such exception:
//   - VRRP must still be alive: every instance in MASTER or BACKUP has its timer armed and not overdue
//     (a master whose advert timer stopped firing would let the peer take over while it keeps the VIPs);
//   - and exceptions must be rare: more than `maxInWindow` within `windowMs` means something loops.
// If both hold, lvsd logs, counts and keeps running (a throwing check or notify callback does not
// touch VRRP state). Otherwise it stops gracefully (priority 0, VIPs removed, table kept) and exits
// with EXIT_SOFTWARE so systemd restarts it.
import type { VrrpEngine } from '../../vrrp/engine.js';

export const EXIT_SOFTWARE = 70;

/** Counts events in a sliding window. Pure apart from the clock passed in. */
export class FaultBudget {
  private readonly times: number[] = [];
  constructor(readonly maxInWindow = 5, readonly windowMs = 60_000) {}
  /** Records one fault at `now`; true while the budget holds. */
  spend(now: number): boolean {
    this.times.push(now);
    while (this.times.length && this.times[0]! <= now - this.windowMs) this.times.shift();
    return this.times.length <= this.maxInWindow;
  }
}

export interface InstanceView { name: string; state: string; advertIntervalMs: number; timer: { kind: string; at: number } | null }

/**
 * Why VRRP looks broken, or [] when it looks alive. An instance in MASTER or BACKUP always has one
 * timer armed (Adver_Timer or Master_Down_Timer, RFC 5798 section 6.4); overdue by more than
 * slack = 3 adverts + 1 s means the shell's timer no longer fires.
 */
export function vrrpProblems(instances: Iterable<InstanceView>, now: number): string[] {
  const out: string[] = [];
  for (const i of instances) {
    if (i.state !== 'master' && i.state !== 'backup') continue;
    if (!i.timer) { out.push(`${i.name}: ${i.state} with no timer armed`); continue; }
    const late = now - i.timer.at;
    if (late > 3 * i.advertIntervalMs + 1000) out.push(`${i.name}: ${i.timer.kind} overdue by ${Math.round(late)} ms`);
  }
  return out;
}

export function engineView(engine: VrrpEngine): InstanceView[] {
  return [...engine.instances.values()].map((i) => ({ name: i.name, state: i.state, advertIntervalMs: i.config.advert_interval, timer: i.machine.timer }));
}
