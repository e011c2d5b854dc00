// Notify commands in transition order: one serial queue per instance and one per sync group, each
// command awaited (runProgram kills a hung one with its process group at the timeout) before the
// next starts, so a script that records BACKUP, MASTER, BACKUP sees them in that order even when
// the transitions come faster than the script runs. Queues are independent: a slow script of one
// instance never delays another's.
//
// Bounded: at most `maxPending` commands wait per queue. Beyond that the oldest waiting command is
// dropped (and logged, and counted): the newest transitions are the ones that describe the state
// now, and a script falling further and further behind would act on states long gone.
//
//   const q = new NotifyQueues({ run: (job) => runNotifyAwaited(...), log });
//   q.push('vi_1', { argv, timeoutMs: 30_000 });
//   await q.idle(5_000);                       // at stop: let the STOP commands run

import { notifyCommands, priorityChangeCommands, rxLowerPriCommands, rxLowerPriDue, type NotifyConfig, type NotifyState } from './notify.js';
import type { VrrpState } from './state-machine.js';

export interface NotifyJob { argv: string[]; timeoutMs: number }

export interface NotifyQueueOptions {
  /** Runs one command to completion (never rejects; a failure is the runner's to log). */
  run(job: NotifyJob, queue: string): Promise<void>;
  log(line: string): void;
  /** Waiting commands per queue at most (the one running not counted); default 64. */
  maxPending?: number;
}

export const DEFAULT_NOTIFY_PENDING = 64;

interface Queue { waiting: NotifyJob[]; running: boolean }

export class NotifyQueues {
  private readonly queues = new Map<string, Queue>();
  private readonly maxPending: number;
  /** Commands dropped because their queue was full, all queues together. */
  dropped = 0;
  /** Commands run to the end (whatever their outcome). */
  ran = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: NotifyQueueOptions) {
    this.maxPending = Math.max(1, opts.maxPending ?? DEFAULT_NOTIFY_PENDING);
  }

  push(queue: string, job: NotifyJob): void {
    let q = this.queues.get(queue);
    if (!q) { q = { waiting: [], running: false }; this.queues.set(queue, q); }
    q.waiting.push(job);
    if (q.waiting.length > this.maxPending) {
      const old = q.waiting.shift()!;
      this.dropped++;
      this.opts.log(`notify ${queue}: ${this.maxPending} commands already waiting, dropped the oldest (${old.argv.join(' ').slice(0, 200)}); ${this.dropped} dropped so far`);
    }
    if (!q.running) void this.drain(queue, q);
  }

  /** Commands waiting or running, all queues. */
  get pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.waiting.length + (q.running ? 1 : 0);
    return n;
  }

  private async drain(name: string, q: Queue): Promise<void> {
    q.running = true;
    while (q.waiting.length) {
      const job = q.waiting.shift()!;
      try { await this.opts.run(job, name); } catch (e) { this.opts.log(`notify ${name}: ${(e as Error).message}`); }
      this.ran++;
    }
    q.running = false;
    this.queues.delete(name);
    if (!this.queues.size) { const w = this.idleWaiters; this.idleWaiters = []; for (const f of w) f(); }
  }

  /** Resolves when every queue is empty, or after maxMs (true: empty). */
  idle(maxMs: number): Promise<boolean> {
    if (!this.queues.size) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.idleWaiters = this.idleWaiters.filter((f) => f !== done); resolve(false); }, maxMs);
      const done = () => { clearTimeout(t); resolve(true); };
      this.idleWaiters.push(done);
    });
  }
}

/** keepalived lets notify commands run on; lvsd bounds them so a hung one cannot hold its queue. */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 30_000;

/**
 * What the engine calls on a transition, a priority change and a lower-priority advert heard as
 * master: picks the commands (notify.ts) and queues them, instances by name, groups as 'group:NAME'.
 */
export class VrrpNotifier {
  readonly queues: NotifyQueues;
  private readonly rxLowerAt = new Map<string, number>();

  constructor(opts: NotifyQueueOptions) { this.queues = new NotifyQueues(opts); }

  private queue(key: string, cfg: NotifyConfig | undefined, cmds: string[][]): void {
    for (const argv of cmds) this.queues.push(key, { argv, timeoutMs: cfg?.timeout ?? DEFAULT_NOTIFY_TIMEOUT_MS });
  }

  state(name: string, cfg: NotifyConfig | undefined, to: NotifyState, priority: number): void {
    this.queue(name, cfg, notifyCommands(cfg, 'INSTANCE', name, to, priority));
  }

  group(name: string, cfg: NotifyConfig | undefined, to: NotifyState): void {
    this.queue(`group:${name}`, cfg, notifyCommands(cfg, 'GROUP', name, to, 0));
  }

  priority(name: string, cfg: NotifyConfig | undefined, state: VrrpState, priority: number): void {
    this.queue(name, cfg, priorityChangeCommands(cfg, name, state, priority));
  }

  /** now: any monotonic clock in ms. Returns whether the command was queued (false: none, or rate-limited). */
  rxLowerPri(name: string, cfg: NotifyConfig | undefined, now: number): boolean {
    const cmds = rxLowerPriCommands(cfg);
    if (!cmds.length || !rxLowerPriDue(this.rxLowerAt.get(name), now)) return false;
    this.rxLowerAt.set(name, now);
    this.queue(name, cfg, cmds);
    return true;
  }
}
