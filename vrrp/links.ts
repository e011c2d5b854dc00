// Interface up/down debounce (keepalived's interface_up_down_delays), pure: link states and timer
// expiries in, with the caller's monotonic clock, decisions out. The engine applies a `report` as the
// interface's state for VRRP (FAULT / tracking) and keeps one timer per interface for `arm`.
//
// keepalived's rules (keepalived.conf(5), "Interface up/down status change debouncing"): a change is
// acted on only after the interface's delay (down_delay for up -> down, up_delay for down -> up; up_delay
// defaults to down_delay); if the link returns to its original state before the delay expires, nothing
// happens. A delay of 0 acts at once. The first state seen for an interface is taken as it is.
// Deleting an interface is a "down" like any other; the caller says so.

export interface UpDownDelays {
  /** Up -> down is acted on after this long (ms). */
  downMs: number;
  /** Down -> up is acted on after this long (ms). */
  upMs: number;
}

export interface DebounceState {
  /** What VRRP was last told (null: nothing yet). */
  reported: boolean | null;
  /** The link's state as the kernel reports it now. */
  raw: boolean | null;
  /** A change waiting for its delay: the state it will report and when (caller's clock, ms). */
  pending: { up: boolean; at: number; since: number } | null;
}

export type DebounceEvent =
  | { type: 'link'; up: boolean }
  | { type: 'timer' };

export type DebounceAction =
  /** Tell VRRP the interface is now up or down; heldMs: how long the change waited (0: at once). */
  | { type: 'report'; up: boolean; heldMs: number }
  /** Start (or restart) the interface's one timer for this absolute time. */
  | { type: 'arm'; at: number }
  /** Stop the timer; `flapMs`: the link came back to the reported state after this long, ignored. */
  | { type: 'cancel'; flapMs: number };

export const initialDebounce = (): DebounceState => ({ reported: null, raw: null, pending: null });

/** One step: (state, event, now) -> (next state, actions). Never mutates `s`. */
export function debounceStep(s: DebounceState, ev: DebounceEvent, now: number, delays: UpDownDelays): { state: DebounceState; actions: DebounceAction[] } {
  if (ev.type === 'timer') {
    const p = s.pending;
    if (!p) return { state: s, actions: [] };
    if (now < p.at) return { state: s, actions: [{ type: 'arm', at: p.at }] }; // a timer that fired early
    return { state: { reported: p.up, raw: s.raw, pending: null }, actions: [{ type: 'report', up: p.up, heldMs: now - p.since }] };
  }
  const up = ev.up;
  if (s.reported === null) return { state: { reported: up, raw: up, pending: null }, actions: [{ type: 'report', up, heldMs: 0 }] };
  if (up === s.reported) {
    // Back to what VRRP knows before the delay ran out: a flap, nothing happens.
    if (s.pending) return { state: { reported: s.reported, raw: up, pending: null }, actions: [{ type: 'cancel', flapMs: now - s.pending.since }] };
    return { state: { ...s, raw: up }, actions: [] };
  }
  if (s.pending && s.pending.up === up) return { state: { ...s, raw: up }, actions: [] }; // already waiting for it
  const delay = up ? delays.upMs : delays.downMs;
  if (delay <= 0) return { state: { reported: up, raw: up, pending: null }, actions: [{ type: 'report', up, heldMs: 0 }] };
  const at = now + delay;
  return { state: { reported: s.reported, raw: up, pending: { up, at, since: now } }, actions: [{ type: 'arm', at }] };
}

/**
 * The delays of every interface from the config list: up_delay defaults to down_delay (keepalived);
 * an interface not listed has none. The last entry for a name wins (the config refuses duplicates).
 */
export function delaysByInterface(list: readonly { interface: string; down_delay: number; up_delay?: number | undefined }[]): Map<string, UpDownDelays> {
  const m = new Map<string, UpDownDelays>();
  for (const e of list) m.set(e.interface, { downMs: e.down_delay, upMs: e.up_delay ?? e.down_delay });
  return m;
}

export const NO_DELAYS: UpDownDelays = Object.freeze({ downMs: 0, upMs: 0 });

/** Per-interface states, keyed by name: the engine's one object for this (still pure: the clock comes in). */
export class LinkDebouncer {
  private readonly states = new Map<string, DebounceState>();

  constructor(private delays: Map<string, UpDownDelays>) {}

  /** Reload: new delays apply to the next change; a change already waiting keeps its deadline. */
  setDelays(delays: Map<string, UpDownDelays>): void { this.delays = delays; }

  delaysOf(name: string): UpDownDelays { return this.delays.get(name) ?? NO_DELAYS; }

  /** The state VRRP was told for `name` (null: never seen). */
  reported(name: string): boolean | null { return this.states.get(name)?.reported ?? null; }

  pending(name: string): DebounceState['pending'] { return this.states.get(name)?.pending ?? null; }

  link(name: string, up: boolean, now: number): DebounceAction[] { return this.step(name, { type: 'link', up }, now); }

  timer(name: string, now: number): DebounceAction[] { return this.step(name, { type: 'timer' }, now); }

  private step(name: string, ev: DebounceEvent, now: number): DebounceAction[] {
    const r = debounceStep(this.states.get(name) ?? initialDebounce(), ev, now, this.delaysOf(name));
    this.states.set(name, r.state);
    return r.actions;
  }
}
