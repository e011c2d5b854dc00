// Probe timeouts in batches: every probe started in one turn of the event loop with the same timeout
// shares one Node timer, armed in that turn's check phase (setImmediate), after all of them started.
//
// Why: each setTimeout reads the clock (Node refreshes libuv's time on insert), and under UML, which has
// no vDSO, that read is a system call of 26-41 us; at 4,000 checks/s the per-probe timer was about a
// tenth of lvsd's CPU per check there. A turn starts tens of probes, so one timer serves them all.
//
// Never early: the shared timer is armed after the last probe of its batch started, so each probe gets
// at least its full timeout; it is late by at most the rest of that turn. Expiry still goes through
// expire() (tcp.ts), so an answer that arrived in time wins over the timer.

export interface Deadline {
  /** The probe finished: its expiry will not be called. */
  cancel(): void;
}

interface Entry { fire: (() => void) | null }

class Batch {
  readonly entries: Entry[] = [];
  pending = 0;
  timer: NodeJS.Timeout | undefined;
}

/** Batches still filling in this turn, by timeout (ms). */
const filling = new Map<number, Batch>();
let flushQueued = false;

function flush(): void {
  flushQueued = false;
  for (const [ms, batch] of filling) {
    if (batch.pending > 0) batch.timer = setTimeout(() => expireBatch(batch), ms);
  }
  filling.clear();
}

function expireBatch(batch: Batch): void {
  batch.timer = undefined;
  for (const e of batch.entries) {
    const fire = e.fire;
    if (fire) { e.fire = null; fire(); }
  }
}

/** Calls `fire` once `ms` have passed since now, unless cancelled first. */
export function deadline(ms: number, fire: () => void): Deadline {
  let batch = filling.get(ms);
  if (!batch) {
    batch = new Batch();
    filling.set(ms, batch);
    if (!flushQueued) { flushQueued = true; setImmediate(flush); }
  }
  const entry: Entry = { fire };
  const b = batch;
  b.entries.push(entry);
  b.pending++;
  return {
    cancel(): void {
      if (!entry.fire) return;
      entry.fire = null;
      // The last live probe of an armed batch takes the timer down with it (clearTimeout reads no clock).
      if (--b.pending === 0 && b.timer) { clearTimeout(b.timer); b.timer = undefined; }
    },
  };
}
