// The VRRP engine in a worker thread of its own: its timers, sockets and garbage collector are apart
// from the main thread's, so 4,000 health checks per second there (timer bursts of connects, their
// callbacks) cannot delay an advert or a takeover. Measured with the real CheckRunner in the same
// process (`npm run bench -- vrrp --only advert_jitter`): see vrrp/README.md.
//
//   const w = await VrrpWorker.start(config, { log });   // resolves when every instance has started
//   w.setTrackedObject('web', false);                    // checkers: virtual service 'web' lost quorum
//   await w.giveUp('vi_1', 30_000);                      // true when the instance exists
//   await w.reload(nextConfig);                          // VrrpEngine.reload in the worker: its summary
//   await w.status();                                    // [{ name, state, priority, timer, counters }]
//   w.instances.get('vi_1')                              // the same, mirrored: at most 50 ms old (1 s for counters)
//   w.on('state', ({ name, from, to, priority }) => ...) // every transition (seen within 50 ms)
//   await w.stop();                                      // masters send priority 0 and drop their VIPs
//
// Messages are plain objects; the config crosses by structured clone. The worker exits on its own
// after stop; if it dies (a bug), the error is logged, 'exit' is emitted and the VIPs stay where they are.
import { EventEmitter } from 'node:events';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { LvsdConfig } from '../src/config/model.js';
import type { EngineReloadSummary } from './engine.js';
import type { InstanceCounters } from './instance.js';
import type { VrrpState } from './state-machine.js';

/** timer.at is on this thread's performance.now() clock (converted from the worker's). */
export interface InstanceStatus {
  name: string; state: VrrpState; priority: number; advertIntervalMs: number;
  timer: { kind: string; at: number } | null; counters: InstanceCounters;
}
export interface StateEvent { name: string; from: VrrpState; to: VrrpState; priority: number }

type ToWorker =
  | { type: 'tracked'; name: string; up: boolean }
  | { type: 'give-up'; id: number; name: string; holdMs?: number }
  | { type: 'status'; id: number }
  | { type: 'reload'; id: number; config: LvsdConfig }
  | { type: 'stop'; id: number };
type FromWorker =
  | { type: 'started' }
  | { type: 'failed'; message: string }
  | { type: 'log'; line: string }
  | { type: 'state'; event: StateEvent }
  | { type: 'snapshot'; instances: InstanceStatus[] }
  | { type: 'reply'; id: number; value: unknown };

const MARK = 'lvsd-vrrp-worker';
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** The worker's performance.now() times travel as epoch milliseconds (each thread has its own origin). */
const toEpoch = (s: InstanceStatus[]): InstanceStatus[] => s.map((i) => ({ ...i, timer: i.timer && { ...i.timer, at: i.timer.at + performance.timeOrigin } }));
const fromEpoch = (s: InstanceStatus[]): InstanceStatus[] => s.map((i) => ({ ...i, timer: i.timer && { ...i.timer, at: i.timer.at - performance.timeOrigin } }));

export class VrrpWorker extends EventEmitter {
  /** The instances as the worker last reported them. */
  readonly instances = new Map<string, InstanceStatus>();
  private nextId = 1;
  private readonly waiting = new Map<number, (v: unknown) => void>();
  private exited = false;

  private constructor(private readonly worker: Worker, log: (line: string) => void) {
    super();
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'log') log(m.line);
      else if (m.type === 'state') this.emit('state', m.event);
      else if (m.type === 'snapshot') this.mirror(fromEpoch(m.instances));
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
        if (m.type === 'started') { worker.off('message', onMessage); resolve(w); }
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

async function workerMain(): Promise<void> {
  const port = parentPort!;
  const send = (m: FromWorker) => port.postMessage(m);
  const { VrrpEngine } = await import('./engine.js');
  let engine: Awaited<ReturnType<typeof VrrpEngine.start>>;
  try {
    engine = await VrrpEngine.start((workerData as { config: LvsdConfig }).config, { log: (line) => send({ type: 'log', line }) });
  } catch (e) {
    send({ type: 'failed', message: (e as Error).message });
    return;
  }
  const snapshot = (): InstanceStatus[] => toEpoch([...engine.instances].map(([name, i]) => ({
    name, state: i.state, priority: i.machine.priority, advertIntervalMs: i.config.advert_interval,
    timer: i.machine.timer ? { kind: i.machine.timer.kind, at: i.machine.timer.at } : null, counters: i.counters,
  })));
  // Transitions for the parent, polled every 50 ms (EngineOptions has no transition hook), and the
  // whole picture every second for counters.
  const last = new Map<string, VrrpState>();
  for (const [name, inst] of engine.instances) last.set(name, inst.state);
  let ticks = 0;
  const poll = setInterval(() => {
    let changed = ++ticks % 20 === 0;
    for (const [name, inst] of engine.instances) {
      const was = last.get(name);
      if (inst.state === was) continue;
      last.set(name, inst.state);
      changed = true;
      if (was !== undefined) send({ type: 'state', event: { name, from: was, to: inst.state, priority: inst.machine.priority } });
    }
    for (const name of [...last.keys()]) if (!engine.instances.has(name)) { last.delete(name); changed = true; }
    if (changed) send({ type: 'snapshot', instances: snapshot() });
  }, 50);
  poll.unref();
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'tracked': engine.setTrackedObject(m.name, m.up); break;
      case 'give-up': send({ type: 'reply', id: m.id, value: engine.giveUp(m.name, m.holdMs) }); break;
      case 'status': send({ type: 'reply', id: m.id, value: snapshot() }); break;
      case 'reload':
        engine.reload(m.config).then(
          (summary) => send({ type: 'reply', id: m.id, value: { ok: true, summary } }),
          (e: unknown) => send({ type: 'reply', id: m.id, value: { ok: false, message: e instanceof Error ? e.message : String(e) } }));
        break;
      case 'stop':
        clearInterval(poll);
        void engine.stop().catch((e: unknown) => send({ type: 'log', line: `stop: ${(e as Error).message}` })).then(() => {
          send({ type: 'reply', id: m.id, value: true });
          port.close();
        });
        break;
    }
  });
  send({ type: 'snapshot', instances: snapshot() });
  send({ type: 'started' });
}

if (!isMainThread && (workerData as Record<string, unknown> | null)?.[MARK]) void workerMain();
