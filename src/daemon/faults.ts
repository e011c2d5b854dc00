// What lvsd does with an exception nobody caught in the main thread (checkers, IPVS, listeners).
// VRRP runs in a worker thread of its own (vrrp/worker.ts): its timers, sockets and VIPs do not share
// this thread's event loop, so an error here cannot stop a master advertising or a backup taking over,
// and exiting for one would cost a failover for nothing. So one is logged, counted and lvsd keeps
// running. Many (more than `maxInWindow` within `windowMs`) mean something loops: lvsd stops gracefully
// (priority 0, VIPs removed, table kept) and exits with EXIT_SOFTWARE so systemd restarts it.
//
// The VRRP worker itself dying is a bug of another kind: its VIPs stay where they are with nobody
// advertising them. run.ts logs it and exits with EXIT_SOFTWARE; the next start removes those VIPs
// (VrrpInstance.start) before it starts the state machines.

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
