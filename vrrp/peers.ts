// The routers an instance hears: per source address, the last advert for its VRID (priority, interval,
// version, when) and how many came. Pure: times are whatever clock the caller passes (the shell passes
// epoch milliseconds, since the table crosses threads as plain data).
//
// VRRPv3 has no authentication, so the sources are whatever a forger writes: the table holds at most
// `max` of them, so memory stays bounded however many addresses a flood cycles through. When full, a
// newcomer replaces one silent for long (no live router is: it advertises every interval), else the
// one with the fewest adverts (newest first among equals): forged sources, heard once each, then
// replace each other while the real peers, whose counts grow every interval, stay.

/** The last advert heard from one source. Plain data (it crosses threads by structured clone). */
export interface PeerAdvert {
  address: string;
  priority: number;
  /** Advertisement interval the advert carried (v3 Max Adver Int), in ms. */
  advertIntervalMs: number;
  version: 2 | 3;
  /** When the first and the last advert from this source arrived (caller's clock). */
  firstAt: number;
  lastAt: number;
  /** Adverts from this source since it entered the table. */
  count: number;
  /**
   * Why the instance dropped the last advert (match.ts reason, e.g. 'auth_failure'), or null when it
   * accepted it: a router sending our VRID whose adverts we refuse is the usual silent split brain.
   */
  dropped: string | null;
}

export const DEFAULT_MAX_PEERS = 16;

export class PeerTable {
  /** Map order is recency order: a re-heard source is deleted and set again, the oldest is first. */
  private readonly peers = new Map<string, PeerAdvert>();

  constructor(readonly max = DEFAULT_MAX_PEERS) {
    if (!(Number.isInteger(max) && max > 0)) throw new RangeError(`max peers ${max} is not a positive integer`);
  }

  get size(): number { return this.peers.size; }

  /** Records one advert from `address` at `at`; returns its entry (the table's own object). */
  record(address: string, advert: { priority: number; advertIntervalMs: number; version: 2 | 3 }, at: number, dropped: string | null = null): PeerAdvert {
    let p = this.peers.get(address);
    if (p) {
      this.peers.delete(address);
      p.priority = advert.priority;
      p.advertIntervalMs = advert.advertIntervalMs;
      p.version = advert.version;
      p.lastAt = at;
      p.count++;
      p.dropped = dropped;
    } else {
      p = { address, priority: advert.priority, advertIntervalMs: advert.advertIntervalMs, version: advert.version, firstAt: at, lastAt: at, count: 1, dropped };
      if (this.peers.size >= this.max) this.peers.delete(this.victim(at));
    }
    this.peers.set(address, p);
    return p;
  }

  get(address: string): PeerAdvert | undefined { return this.peers.get(address); }

  /** Silent for 3 intervals and a second: gone (the least recently heard of those); else the fewest adverts. */
  private victim(at: number): string {
    let best: PeerAdvert | null = null;
    for (const p of this.peers.values()) { // recency order: the least recently heard first
      if (at - p.lastAt > 3 * p.advertIntervalMs + 1000) return p.address;
      if (!best || p.count < best.count || (p.count === best.count && p.firstAt >= best.firstAt)) best = p;
    }
    return best!.address;
  }

  /** Copies, the most recently heard first. */
  list(): PeerAdvert[] {
    return [...this.peers.values()].reverse().map((p) => ({ ...p }));
  }

  clear(): void { this.peers.clear(); }
}
