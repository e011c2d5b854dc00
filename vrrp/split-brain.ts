// Split brain: two routers both MASTER for one VRID at once, each holding the VIPs. Pure: events and a
// clock in, an alarm state out.
//
// The rule. Only a master sends adverts (RFC 5798 §6.4.3), so every source of adverts for the VRID
// claims to be master, and so do we while MASTER. Two masters that hear each other settle within one
// advert: the lower one (lower priority, or equal priority and lower primary address) becomes Backup
// on receiving the higher one's advert (§6.4.3), and a Backup sends none. So two sources advertising
// together longer than a Master_Down_Interval (in which each sent at least three adverts the other
// should have heard) are two masters that do not hear each other, or refuse each other's adverts
// (a version, password or interval mismatch: the caller feeds those adverts too).
//
// Precisely: a source's *run* is its adverts with priority > 0, each within its Master_Down_Interval
// (3 x the interval it advertises + Skew_Time, §6.1) of the one before; a priority 0 ends it (it
// left, §6.4.3). Our own run lasts as long as we are MASTER. Two runs *overlap* by
// min(last seen) - max(start): the time both were seen advertising. The alarm is raised when two runs
// overlap by at least the larger of their Master_Down_Intervals. It clears when fewer than two
// sources are still advertising (a source is, until its Master_Down_Interval passes with no advert).
//
// Handovers do not raise it: a preempting master's first advert makes the old one Backup at once, so
// the overlap is the one advert in flight; a master that died is silent before the next one starts.
import { masterDownIntervalMs } from './timers.js';
import type { VrrpVersion } from './packet.js';

/** One router in an alarm: an advert source, or this router (`self`). */
export interface SplitBrainMaster {
  address: string;
  priority: number;
  self: boolean;
  /** When its run began (caller's clock). */
  since: number;
}

/** Plain data (it crosses threads). Times on the caller's clock (the shell: epoch ms). */
export interface SplitBrainStatus {
  active: boolean;
  /** When the alarm now on was raised; null when off. */
  since: number | null;
  /** The routers advertising as master while on (highest priority first); [] when off. */
  masters: SplitBrainMaster[];
  /** How often the alarm was raised. */
  raised: number;
  /** When it last cleared; null if never. */
  clearedAt: number | null;
}

export type SplitBrainChange =
  | { type: 'raised'; at: number; masters: SplitBrainMaster[] }
  | { type: 'cleared'; at: number; lastedMs: number; remaining: SplitBrainMaster[] };

interface Run { address: string; priority: number; self: boolean; start: number; last: number; mdi: number }

export const SELF = '(self)';

export class SplitBrainDetector {
  private readonly runs = new Map<string, Run>();
  private selfRun: Run | null = null;
  private activeSince: number | null = null;
  private activeMasters: SplitBrainMaster[] = [];
  private raised = 0;
  private clearedAt: number | null = null;

  /** maxSources bounds the sources kept (silent ones forgotten first, then the newest run): forged sources cannot grow it. */
  constructor(private readonly version: VrrpVersion, private readonly selfAddress: string, private readonly maxSources = 16) {}

  /** Our own state: a run while MASTER (priority and interval as we advertise them). */
  self(master: boolean, priority: number, advertIntervalMs: number, at: number): SplitBrainChange | null {
    if (!master) this.selfRun = null;
    else if (this.selfRun) { this.selfRun.priority = priority; this.selfRun.mdi = this.mdi(priority, advertIntervalMs); }
    else this.selfRun = { address: this.selfAddress, priority, self: true, start: at, last: at, mdi: this.mdi(priority, advertIntervalMs) };
    return this.evaluate(at);
  }

  /** An advert for our VRID from another source (accepted or refused by the instance, never our own). */
  advert(address: string, priority: number, advertIntervalMs: number, at: number): SplitBrainChange | null {
    const r = this.runs.get(address);
    if (r) this.runs.delete(address);
    if (priority === 0) return this.evaluate(at);
    const mdi = this.mdi(priority, advertIntervalMs);
    if (r && at - r.last <= r.mdi) { r.last = at; r.priority = priority; r.mdi = mdi; this.runs.set(address, r); } else {
      if (this.runs.size >= this.maxSources) this.alive(at);
      if (this.runs.size >= this.maxSources) this.runs.delete(this.youngest());
      this.runs.set(address, { address, priority, self: false, start: at, last: at, mdi });
    }
    return this.evaluate(at);
  }

  /** Re-evaluates at `at` (expiry: call at nextCheckAt()). */
  evaluate(at: number): SplitBrainChange | null {
    if (this.selfRun) this.selfRun.last = at;
    const alive = this.alive(at);
    if (this.activeSince !== null) {
      if (alive.length >= 2) { if (alive.length !== this.activeMasters.length) this.activeMasters = ranked(alive); return null; }
      const lastedMs = at - this.activeSince;
      this.activeSince = null;
      this.activeMasters = [];
      this.clearedAt = at;
      return { type: 'cleared', at, lastedMs, remaining: ranked(alive) };
    }
    for (let i = 0; i < alive.length; i++) {
      for (let j = i + 1; j < alive.length; j++) {
        const a = alive[i]!, b = alive[j]!;
        if (Math.min(a.last, b.last) - Math.max(a.start, b.start) >= Math.max(a.mdi, b.mdi)) {
          this.activeSince = at;
          this.activeMasters = ranked(alive);
          this.raised++;
          return { type: 'raised', at, masters: this.activeMasters };
        }
      }
    }
    return null;
  }

  /** While the alarm is on: when the next source may fall silent (call evaluate then); else null. */
  nextCheckAt(): number | null {
    if (this.activeSince === null) return null;
    let next = Infinity;
    for (const r of this.runs.values()) next = Math.min(next, r.last + r.mdi);
    return Number.isFinite(next) ? next : null;
  }

  status(): SplitBrainStatus {
    return { active: this.activeSince !== null, since: this.activeSince, masters: this.activeMasters.map((m) => ({ ...m })), raised: this.raised, clearedAt: this.clearedAt };
  }

  /** Runs still advertising at `at` (per advert: no sorting here); silent ones are forgotten. */
  private alive(at: number): Run[] {
    const out: Run[] = [];
    for (const [k, r] of this.runs) if (at - r.last > r.mdi) this.runs.delete(k); else out.push(r);
    if (this.selfRun) out.push(this.selfRun);
    return out;
  }

  /**
   * Full of live sources (a flood): the run that began last makes room. Forged one-shot sources then
   * replace each other, while masters advertising for long keep their runs (and their alarm).
   */
  private youngest(): string {
    let y: Run | null = null;
    for (const r of this.runs.values()) if (!y || r.start >= y.start) y = r;
    return y!.address;
  }

  private mdi(priority: number, advertIntervalMs: number): number {
    return masterDownIntervalMs(this.version, Math.min(255, Math.max(1, priority)), Math.max(advertIntervalMs, 10));
  }
}

const master = (r: Run): SplitBrainMaster => ({ address: r.address, priority: r.priority, self: r.self, since: r.start });
/** Highest priority first, this router first among equals. */
const ranked = (runs: Run[]): SplitBrainMaster[] => [...runs].sort((a, b) => b.priority - a.priority || (a.self ? -1 : b.self ? 1 : 0)).map(master);
