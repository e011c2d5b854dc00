// The event log behind GET /events: a bounded ring of what happened (VRRP transitions and priority
// changes, quorum changes, real-server verdicts), each with a sequence number that only grows, so a
// client that lost its connection resumes from the last number it saw and learns whether it missed
// any (a gap: they left the ring, or the daemon restarted). Pure: the clock is passed in.
//
//   const log = new EventLog({ capacity: 4096, boot: 'b1' });
//   log.append({ kind: 'quorum', service: 'web', up: false }, Date.now());
//   const r = log.since(41, 'b1');      // { gap: null, events: [seq 42, ...] }
//   const off = log.subscribe((e) => ...);

export interface VrrpStateEvent { kind: 'vrrp_state'; instance: string; from: string; to: string; priority: number; reason?: string }
export interface VrrpPriorityEvent { kind: 'vrrp_priority'; instance: string; from: number; to: number; state: string }
export interface QuorumEvent { kind: 'quorum'; service: string; up: boolean }
export interface RealServerEvent { kind: 'real_server'; service: string; server: string; up: boolean; reason: string; weight: number }
export type EventBody = VrrpStateEvent | VrrpPriorityEvent | QuorumEvent | RealServerEvent;
export type EventKind = EventBody['kind'];
export const EVENT_KINDS: readonly EventKind[] = ['vrrp_state', 'vrrp_priority', 'quorum', 'real_server'];

/** One retained event: seq from 1 up within one daemon run (boot); at: epoch ms. */
export type LoggedEvent = EventBody & { seq: number; at: number };

/**
 * Events the reader asked for that it will never get: those after `since` up to `next - 1`. reason
 * 'overwritten': they left the ring; 'restarted': the reader's seq came from another daemon run.
 */
export interface Gap { since: number; next: number; reason: 'overwritten' | 'restarted' }

export const DEFAULT_EVENT_CAPACITY = 4096;

export class EventLog {
  readonly capacity: number;
  /** This daemon run: a reader resuming with another boot gets everything retained, after a gap. */
  readonly boot: string;
  private readonly ring: (LoggedEvent | undefined)[];
  /** Sequence number of the last event appended; 0 before the first. */
  private lastSeq = 0;
  private readonly listeners = new Set<(e: LoggedEvent) => void>();

  constructor(opts: { capacity?: number; boot: string }) {
    this.capacity = Math.max(1, Math.floor(opts.capacity ?? DEFAULT_EVENT_CAPACITY));
    this.boot = opts.boot;
    this.ring = new Array<LoggedEvent | undefined>(this.capacity);
  }

  get last(): number { return this.lastSeq; }
  /** The oldest sequence number still retained (last + 1 when empty). */
  get first(): number { return Math.max(1, this.lastSeq - this.capacity + 1); }

  append(body: EventBody, at: number): LoggedEvent {
    const e = { ...body, seq: ++this.lastSeq, at } as LoggedEvent;
    this.ring[(e.seq - 1) % this.capacity] = e;
    // A listener that throws (a broken stream) must not keep the others from the event.
    for (const l of this.listeners) { try { l(e); } catch { /* the listener's own problem */ } }
    return e;
  }

  /**
   * The retained events after `since` (0: all), oldest first, and the gap before them if the reader
   * missed some. `boot`: the run the reader's seq came from (undefined: this one). A seq beyond the
   * last is another run's too (the reader cannot have seen it here).
   */
  since(since: number, boot?: string): { gap: Gap | null; events: LoggedEvent[] } {
    const restarted = (boot !== undefined && boot !== this.boot) || since > this.lastSeq;
    const from = restarted ? 0 : Math.max(0, Math.floor(since));
    const first = this.first;
    const events: LoggedEvent[] = [];
    for (let s = Math.max(from + 1, first); s <= this.lastSeq; s++) events.push(this.ring[(s - 1) % this.capacity]!);
    let gap: Gap | null = null;
    if (restarted && since > 0) gap = { since, next: first, reason: 'restarted' };
    else if (from + 1 < first) gap = { since: from, next: first, reason: 'overwritten' };
    return { gap, events };
  }

  /** Every event appended from now on; returns the unsubscribe function. */
  subscribe(listener: (e: LoggedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  get subscribers(): number { return this.listeners.size; }
}
