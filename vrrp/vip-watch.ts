// A VIP someone else deleted (an RTM_DELADDR for one of our addresses while we are MASTER): what to do,
// pure. The engine feeds it the address events the rtnetlink subscription already delivers.
//
// vip_deleted (per instance):
// - readd (default): put it back at once and announce it again. A program fighting lvsd over the address
//   (a network manager, a cleanup script) would make that spin: at most READD_LIMIT re-adds per
//   READD_WINDOW_MS per instance, then the instance goes to FAULT for vip_deleted_hold, as with `fault`.
// - fault: FAULT for vip_deleted_hold (a peer takes over), then BACKUP and the election decides.
// - backup: keepalived 2.2.7's behaviour (keepalived_netlink.c: "If one of our VIPs/eVIPs has been
//   deleted, transition to backup"): leave MASTER now; with the highest priority it wins back the
//   election and adds the VIPs again after Master_Down_Interval.
//
// Not ours to judge: a deletion while the link is down or gone (the kernel drops a dead device's
// addresses; the interface's own handling decides), an address on another interface than the VIP's,
// and anything while not MASTER (a backup holds no VIPs; our own removals arrive after we left MASTER).

export type VipDeletedPolicy = 'readd' | 'fault' | 'backup';

export const READD_LIMIT = 5;
export const READD_WINDOW_MS = 10_000;

export interface VipWatchView {
  state: string;
  policy: VipDeletedPolicy;
  /** The instance's VIPs with the interface index each is on. */
  vips: readonly { address: string; ifindex: number }[];
  /** The deleted address's interface is there and up (raw, not debounced). */
  linkUp: boolean;
}

export type VipDecision =
  | { kind: 'ignore' }
  | { kind: 'readd'; address: string }
  | { kind: 'backup'; address: string }
  /** why: 'policy' (vip_deleted: fault) or 'limit' (re-adds over READD_LIMIT in READD_WINDOW_MS). */
  | { kind: 'fault'; address: string; why: 'policy' | 'limit' };

/** Per instance: the re-adds of the window (bounded: at most READD_LIMIT kept). */
export class VipWatch {
  private readds: number[] = [];

  constructor(private readonly limit = READD_LIMIT, private readonly windowMs = READD_WINDOW_MS) {}

  /** A deleted address (text as the kernel reported it, formatted like the config's) at `now` (monotonic ms). */
  deleted(deleted: { address: string; ifindex: number }, v: VipWatchView, now: number): VipDecision {
    if (v.state !== 'master' || !v.linkUp) return { kind: 'ignore' };
    const vip = v.vips.find((x) => x.address === deleted.address && x.ifindex === deleted.ifindex);
    if (!vip) return { kind: 'ignore' };
    if (v.policy === 'fault') return { kind: 'fault', address: vip.address, why: 'policy' };
    if (v.policy === 'backup') return { kind: 'backup', address: vip.address };
    this.readds = this.readds.filter((t) => now - t < this.windowMs);
    if (this.readds.length >= this.limit) { this.readds = []; return { kind: 'fault', address: vip.address, why: 'limit' }; }
    this.readds.push(now);
    return { kind: 'readd', address: vip.address };
  }

  /** A re-add the kernel answered with EEXIST: the address was there (our own removal's stale event); not counted. */
  notNeeded(): void { this.readds.pop(); }
}

/** The log line for a decision (addresses come from the kernel, formatted by us: nothing to escape). */
export function vipDecisionLine(instance: string, ifname: string, d: Exclude<VipDecision, { kind: 'ignore' }>, holdMs: number): string {
  const what = `${instance}: VIP ${d.address} deleted from ${ifname} by another program while MASTER`;
  switch (d.kind) {
    case 'readd': return `${what}: added back and announced (vip_deleted: readd)`;
    case 'backup': return `${what}: leaving MASTER (vip_deleted: backup, as keepalived)`;
    case 'fault': return d.why === 'policy'
      ? `${what}: FAULT for ${holdMs} ms (vip_deleted: fault)`
      : `${what} again: ${READD_LIMIT} re-adds in ${READD_WINDOW_MS / 1000} s, something keeps removing it; FAULT for ${holdMs} ms`;
  }
}
