// The VRRP engine in a worker thread of its own: its timers, sockets and garbage collector are apart
// from the main thread's, so 4,000 health checks per second there (timer bursts of connects, their
// callbacks) cannot delay an advert or a takeover. Measured with the real CheckRunner in the same
// process (`npm run bench -- vrrp --only advert_jitter`): see vrrp/README.md.
//
//   const w = await VrrpWorker.start(config, { log });   // resolves when every instance has started
//   w.setTrackedObject('web', false);                    // checkers: virtual service 'web' lost quorum
//   await w.giveUp('vi_1', 30_000);                      // true when the instance exists
//   await w.reload(nextConfig);                          // VrrpEngine.reload in the worker: its summary
//   await w.status();                                    // [InstanceStatus] (vrrp/view.ts), fresh
//   w.instances.get('vi_1')                              // mirrored: state current after each transition, masterAddress within 0.1 s, counters 1 s
//   w.on('state', ({ name, from, to, priority }) => ...) // every transition, as the engine reports it (onState)
//   await w.stop();                                      // masters send priority 0 and drop their VIPs
//   w.threadId                                           // the worker's tid: SCHED_FIFO when global.vrrp_realtime_priority is set
//
// VrrpWorker implements VrrpView (vrrp/view.ts). Messages are plain objects; the config crosses by
// structured clone. The worker exits on its own after stop; if it dies (a bug), the error is logged,
// 'exit' is emitted (code != 0) and the VIPs stay where they are until the next start removes them.
import { EventEmitter } from 'node:events';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { LvsdConfig } from '../src/config/model.js';
import { setThreadScheduler, threadId } from '../src/native/sched.js';
import type { EngineReloadSummary } from './engine.js';
import { socketDropTables } from './socket-drops.js';
import { ChannelDropLog } from './drop-log.js';
import { channelStatus, instanceStatus, type ChannelStatus, type InstanceStatus, type PriorityEvent, type StateEvent, type VrrpView } from './view.js';

export type { InstanceStatus, PriorityEvent, StateEvent } from './view.js';

type ToWorker =
  | { type: 'tracked'; name: string; up: boolean }
  | { type: 'give-up'; id: number; name: string; holdMs?: number }
  | { type: 'status'; id: number }
  | { type: 'reload'; id: number; config: LvsdConfig }
  | { type: 'stop'; id: number };
type FromWorker =
  | { type: 'started'; tid: number }
  | { type: 'failed'; message: string }
  | { type: 'log'; line: string }
  | { type: 'state'; event: StateEvent }
  | { type: 'priority'; event: PriorityEvent }
  | { type: 'snapshot'; instances: InstanceStatus[]; channels: [string, ChannelStatus][] }
  | { type: 'reply'; id: number; value: unknown };

const MARK = 'lvsd-vrrp-worker';
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** The worker's performance.now() times travel as epoch milliseconds (each thread has its own origin). */
const shiftTimer = (i: InstanceStatus, by: number): InstanceStatus => {
  const timer = i.timer && { ...i.timer, at: i.timer.at + by };
  return { ...i, timer, machine: { ...i.machine, timer } };
};
const fromEpoch = (s: InstanceStatus[]): InstanceStatus[] => s.map((i) => shiftTimer(i, -performance.timeOrigin));

export class VrrpWorker extends EventEmitter implements VrrpView {
  /** The instances as the worker last reported them. */
  readonly instances = new Map<string, InstanceStatus>();
  /** The receive channels as the worker last reported them. */
  readonly channels = new Map<string, ChannelStatus>();
  private nextId = 1;
  private readonly waiting = new Map<number, (v: unknown) => void>();
  private exited = false;
  /** The worker's kernel thread id (/proc/self/task/<tid>; `chrt -p <tid>` shows its policy). */
  threadId = 0;

  private constructor(private readonly worker: Worker, log: (line: string) => void) {
    super();
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'log') log(m.line);
      else if (m.type === 'state') this.emit('state', m.event);
      else if (m.type === 'priority') this.emit('priority', m.event);
      else if (m.type === 'snapshot') { this.mirror(fromEpoch(m.instances)); this.channels.clear(); for (const [k, c] of m.channels) this.channels.set(k, c); }
      else if (m.type === 'reply') { this.waiting.get(m.id)?.(m.value); this.waiting.delete(m.id); }
    });
    // A crash in the worker (a bug) must not take the checkers down with it: logged, then 'exit'.
    worker.on('error', (e) => log(`vrrp worker failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`));
    worker.on('exit', (code) => {
      this.exited = true;
      for (const w of this.waiting.values()) w(undefined);
      this.waiting.clear();
      this.emit('exit', code);
    });
  }

  private mirror(all: InstanceStatus[]): void {
    this.instances.clear();
    for (const i of all) this.instances.set(i.name, i);
  }

  static start(config: LvsdConfig, opts: { log?: (line: string) => void } = {}): Promise<VrrpWorker> {
    const log = opts.log ?? ((l: string) => process.stdout.write(`${new Date().toISOString()} ${l}\n`));
    const worker = new Worker(new URL(import.meta.url), { workerData: { [MARK]: true, config } });
    const w = new VrrpWorker(worker, log);
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type === 'started') { worker.off('message', onMessage); w.threadId = m.tid; resolve(w); }
        if (m.type === 'failed') { worker.off('message', onMessage); void worker.terminate(); reject(new Error(m.message)); }
      };
      worker.on('message', onMessage);
      worker.once('error', (e) => reject(e));
      worker.once('exit', (code) => reject(new Error(`vrrp worker exited with ${code} while starting`)));
    });
  }

  private call(m: WithoutId<Extract<ToWorker, { id: number }>>): Promise<unknown> {
    if (this.exited) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ ...m, id });
    });
  }

  setTrackedObject(name: string, up: boolean): void {
    if (!this.exited) this.worker.postMessage({ type: 'tracked', name, up } satisfies ToWorker);
  }

  async giveUp(name: string, holdMs?: number): Promise<boolean> {
    return (await this.call({ type: 'give-up', name, ...(holdMs !== undefined ? { holdMs } : {}) })) === true;
  }

  async status(): Promise<InstanceStatus[]> {
    const s = (await this.call({ type: 'status' })) as InstanceStatus[] | undefined;
    if (!s) return [];
    const all = fromEpoch(s);
    this.mirror(all);
    return all;
  }

  /** VrrpEngine.reload(next) in the worker; rejects with its error. */
  async reload(next: LvsdConfig): Promise<EngineReloadSummary> {
    const r = (await this.call({ type: 'reload', config: next })) as { ok: true; summary: EngineReloadSummary } | { ok: false; message: string } | undefined;
    if (!r) throw new Error('vrrp worker has exited');
    if (!r.ok) throw new Error(r.message);
    return r.summary;
  }

  /** Graceful stop; resolves when the worker has exited. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.worker.once('exit', () => r()));
    await this.call({ type: 'stop' });
    await gone;
  }
}

/** global.vrrp_realtime_priority for this thread alone (keepalived's vrrp_rt_priority raises its whole
 *  VRRP process; here the checkers' thread stays SCHED_OTHER so their busy loops cannot starve the host).
 *  A refusal (EPERM without CAP_SYS_NICE) is a warning: VRRP still works, only with more jitter under
 *  load. Returns the priority now in force (undefined: SCHED_OTHER). */
function applyRealtimePriority(wanted: number | undefined, current: number | undefined, log: (line: string) => void): number | undefined {
  if (wanted === current) return current;
  try {
    if (wanted === undefined) setThreadScheduler('other', 0);
    else setThreadScheduler('fifo', wanted);
    log(wanted === undefined ? 'vrrp thread: back to SCHED_OTHER' : `vrrp thread: SCHED_FIFO priority ${wanted}`);
    return wanted;
  } catch (err) {
    log(`warning: vrrp thread: SCHED_FIFO priority ${wanted} refused (${(err as Error).message}); VRRP runs on at ${current === undefined ? 'SCHED_OTHER' : `SCHED_FIFO ${current}`}, adverts may be late under host load (grant CAP_SYS_NICE)`);
    return current;
  }
}

async function workerMain(): Promise<void> {
  const port = parentPort!;
  const send = (m: FromWorker) => port.postMessage(m);
  const { VrrpEngine } = await import('./engine.js');
  let engine: Awaited<ReturnType<typeof VrrpEngine.start>> | undefined;
  // The whole picture: after every transition (sent before its 'state' event, so a listener reads the
  // new state in `instances`) and every second for the counters. Times travel as epoch milliseconds.
  const snapshot = (): InstanceStatus[] => [...(engine?.instances.values() ?? [])].map((i) => instanceStatus(i, performance.timeOrigin, engine!.trackItems(i)));
  const channels = (): [string, ChannelStatus][] => {
    const tables = engine?.channels.size ? socketDropTables() : undefined; // kernel drops: one read of /proc per snapshot
    return [...(engine?.channels ?? [])].map(([k, c]) => [k, channelStatus(c, tables)]);
  };
  let pending: StateEvent[] = [];
  let closed = false;
  // Transitions come from the engine's timer and packet callbacks: the messages go out once the
  // callback (and the sync group's microtask) is done, one snapshot for all of them.
  const flush = () => {
    if (closed) return;
    const events = pending;
    pending = [];
    send({ type: 'snapshot', instances: snapshot(), channels: channels() });
    for (const event of events) send({ type: 'state', event });
  };
  const startConfig = (workerData as { config: LvsdConfig }).config;
  let realtime = applyRealtimePriority(startConfig.global.vrrp_realtime_priority, undefined, (line) => send({ type: 'log', line }));
  try {
    engine = await VrrpEngine.start(startConfig, {
      log: (line) => send({ type: 'log', line }),
      onState: (name, from, to, priority) => {
        const reason = engine?.instances.get(name)?.lastTransition?.reason;
        if (!pending.length) setImmediate(flush);
        pending.push({ name, from, to, priority, ...(reason ? { reason } : {}), at: Date.now() });
      },
      // Not batched with the snapshot: a priority change alone does not need the whole picture.
      onPriority: (name, from, to, state) => send({ type: 'priority', event: { name, from, to, state, at: Date.now() } }),
    });
  } catch (e) {
    send({ type: 'failed', message: (e as Error).message });
    return;
  }
  const e = engine;
  // Counters every second. The master a backup names changes with an advert, not a transition: a
  // cheap look every 100 ms sends the picture when it did, so readers see a new master within 0.1 s.
  const masters = new Map<string, string | null>();
  let ticks = 0;
  const dropLog = new ChannelDropLog((line) => send({ type: 'log', line }));
  const poll = setInterval(() => {
    let changed = ++ticks % 10 === 0;
    dropLog.poll(e.channels);
    for (const [name, i] of e.instances) {
      if (masters.get(name) !== i.masterAddress) { masters.set(name, i.masterAddress); changed = true; }
    }
    if (changed) send({ type: 'snapshot', instances: snapshot(), channels: channels() });
  }, 100);
  poll.unref();
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'tracked': e.setTrackedObject(m.name, m.up); break;
      case 'give-up': {
        const value = e.giveUp(m.name, m.holdMs);
        if (pending.length) flush(); // the caller reads the new state in `instances` once this resolves
        send({ type: 'reply', id: m.id, value });
        break;
      }
      case 'status': send({ type: 'reply', id: m.id, value: snapshot() }); break;
      case 'reload':
        realtime = applyRealtimePriority(m.config.global.vrrp_realtime_priority, realtime, (line) => send({ type: 'log', line }));
        e.reload(m.config).then(
          (summary) => { send({ type: 'snapshot', instances: snapshot(), channels: channels() }); send({ type: 'reply', id: m.id, value: { ok: true, summary } }); },
          (err: unknown) => send({ type: 'reply', id: m.id, value: { ok: false, message: err instanceof Error ? err.message : String(err) } }));
        break;
      case 'stop':
        clearInterval(poll);
        void e.stop().catch((err: unknown) => send({ type: 'log', line: `stop: ${(err as Error).message}` })).then(() => {
          if (pending.length) flush();
          send({ type: 'reply', id: m.id, value: true });
          closed = true;
          port.close();
        });
        break;
    }
  });
  // Transitions during start (initialize -> backup) go out before 'started': nobody listens yet.
  if (pending.length) flush();
  else send({ type: 'snapshot', instances: snapshot(), channels: channels() });
  send({ type: 'started', tid: threadId() });
}

if (!isMainThread && (workerData as Record<string, unknown> | null)?.[MARK]) void workerMain();
