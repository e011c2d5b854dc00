// The VRRP engine in a worker thread of its own: its timers, sockets and garbage collector are apart
// from the main thread's, so 4,000 health checks per second there (timer bursts of connects, their
// callbacks) cannot delay an advert or a takeover. Measured with the real CheckRunner in the same
// process (`npm run bench -- vrrp --only advert_jitter`): see vrrp/README.md.
//
//   const w = await VrrpWorker.start(config, { log });   // resolves when every instance has started
//   w.setTrackedObject('web', false);                    // checkers: virtual service 'web' lost quorum
//   await w.giveUp('vi_1', 30_000);                      // true when the instance exists
//   await w.status();                                    // [{ name, state, priority, counters }]
//   w.on('state', ({ name, from, to, priority }) => ...) // every transition, after the engine acted
//   await w.stop();                                      // masters send priority 0 and drop their VIPs
//
// Messages are plain objects; the config crosses by structured clone. The worker exits on its own
// after stop; if it dies (a bug), the error is logged, 'exit' is emitted and the VIPs stay where they are.
import { EventEmitter } from 'node:events';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { LvsdConfig } from '../src/config/model.js';
import type { InstanceCounters } from './instance.js';
import type { VrrpState } from './state-machine.js';

export interface InstanceStatus { name: string; state: VrrpState; priority: number; counters: InstanceCounters }
export interface StateEvent { name: string; from: VrrpState; to: VrrpState; priority: number }

type ToWorker =
  | { type: 'tracked'; name: string; up: boolean }
  | { type: 'give-up'; id: number; name: string; holdMs?: number }
  | { type: 'status'; id: number }
  | { type: 'stop'; id: number };
type FromWorker =
  | { type: 'started' }
  | { type: 'failed'; message: string }
  | { type: 'log'; line: string }
  | { type: 'state'; event: StateEvent }
  | { type: 'reply'; id: number; value: unknown };

const MARK = 'lvsd-vrrp-worker';
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class VrrpWorker extends EventEmitter {
  private nextId = 1;
  private readonly waiting = new Map<number, (v: unknown) => void>();
  private exited = false;

  private constructor(private readonly worker: Worker, log: (line: string) => void) {
    super();
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'log') log(m.line);
      else if (m.type === 'state') this.emit('state', m.event);
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
    return ((await this.call({ type: 'status' })) as InstanceStatus[] | undefined) ?? [];
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
  // Transitions for the parent, polled every 100 ms: EngineOptions has no transition hook (yet).
  const last = new Map<string, VrrpState>();
  for (const [name, inst] of engine.instances) last.set(name, inst.state);
  const poll = setInterval(() => {
    for (const [name, inst] of engine.instances) {
      const was = last.get(name)!;
      if (inst.state !== was) { last.set(name, inst.state); send({ type: 'state', event: { name, from: was, to: inst.state, priority: inst.machine.priority } }); }
    }
  }, 100);
  poll.unref();
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'tracked': engine.setTrackedObject(m.name, m.up); break;
      case 'give-up': send({ type: 'reply', id: m.id, value: engine.giveUp(m.name, m.holdMs) }); break;
      case 'status':
        send({ type: 'reply', id: m.id, value: [...engine.instances].map(([name, i]) => ({ name, state: i.state, priority: i.machine.priority, counters: i.counters })) });
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
  send({ type: 'started' });
}

if (!isMainThread && (workerData as Record<string, unknown> | null)?.[MARK]) void workerMain();
