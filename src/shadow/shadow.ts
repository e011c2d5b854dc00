// `lvsd shadow`: lvsd beside a live keepalived on the same director, touching nothing. The checks run
// for real (probes are only traffic); the IPVS table is read, never written (the balancer's sink only
// records what it would program); notify commands never run (they may act on the world). Every second
// the desired table and the kernel's are compared (compare.ts); differences are reported as they
// appear and clear, and summed up at the end. The operator cuts over when the report stays clean.
import { EventEmitter } from 'node:events';
import { IpvsClient } from '../../ipvs/client.js';
import { indexTable, type IndexedTable } from '../../ipvs/reconcile.js';
import type { ApplyReport } from '../../ipvs/sync.js';
import type { IpvsKernelTable } from '../../ipvs/table.js';
import { Balancer, type TableSink } from '../balancer/index.js';
import type { LvsdConfig } from '../config/index.js';
import { serviceNames } from '../metrics/ipvs.js';
import { compareTables, differenceKey, type Difference } from './compare.js';
import { VrrpObserver, type WouldBe, type Heard } from './vrrp.js';

/** What shadow mode reads of the kernel (IpvsClient satisfies it). */
export interface ShadowTableReader { table(): Promise<IpvsKernelTable>; close?(): void }

/** The balancer's sink in shadow mode: remembers the whole desired table, writes nothing. */
export class RecordingSink implements TableSink {
  readonly desired: IndexedTable = new Map();
  async apply(desired: IndexedTable, opts?: { only?: Iterable<string> }): Promise<ApplyReport> {
    const keys = opts?.only ? [...opts.only] : [...new Set([...this.desired.keys(), ...desired.keys()])];
    for (const k of keys) {
      const e = desired.get(k);
      if (e) this.desired.set(k, e); else this.desired.delete(k);
    }
    return { writes: 0, rounds: 0, reread: false, errors: [] };
  }
}

/** The config without what acts on the world besides probes: notify commands of servers and quorum. */
export function withoutCommands(config: LvsdConfig): LvsdConfig {
  return {
    ...config,
    virtual_services: config.virtual_services.map((vs) => ({
      ...vs,
      quorum: vs.quorum && { ...vs.quorum, up: undefined, down: undefined },
      real_servers: vs.real_servers.map((rs) => ({ ...rs, notify: undefined })),
    })),
  };
}

export interface ShadowChange { change: 'new' | 'cleared'; difference: Difference; at: number }

export interface ShadowSummary {
  /** Comparisons made. */
  rounds: number;
  /** Differences present at the last comparison. */
  current: Difference[];
  /** Every difference seen at any time, with how many comparisons showed it. */
  seen: Array<Difference & { rounds: number }>;
  /** A kernel read that failed, last one (null when none). */
  readError: string | null;
  /** Per VRRP instance: the state lvsd would hold, and the master it heard. */
  vrrp: Array<{ instance: string; wouldBe: WouldBe; heard: Heard | null }>;
  clean: boolean;
}

export interface ShadowOptions {
  /** Between comparisons, ms (default 1000). */
  intervalMs?: number;
  /** Defaults to IpvsClient.open(). */
  reader?: ShadowTableReader;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  /** Listens to VRRP for the config's instances (default: a VrrpObserver when there are any; null: none). */
  vrrp?: Pick<VrrpObserver, 'differences' | 'states' | 'close'> | null;
}

export class Shadow extends EventEmitter {
  private timer: NodeJS.Timeout | undefined;
  private current = new Map<string, Difference>();
  private readonly seen = new Map<string, Difference & { rounds: number }>();
  private rounds = 0;
  private readError: string | null = null;
  private comparing: Promise<void> | undefined;

  private constructor(
    readonly config: LvsdConfig, readonly balancer: Balancer, private readonly sink: RecordingSink, private readonly reader: ShadowTableReader,
    private readonly names: Map<string, string>, private readonly vrrp: ShadowOptions['vrrp'],
  ) {
    super();
  }

  static async start(config: LvsdConfig, opts: ShadowOptions = {}): Promise<Shadow> {
    // A VRRP-only director has nothing to read in IPVS (and may have no IPVS at all).
    const reader = opts.reader ?? (config.virtual_services.length ? await IpvsClient.open() : { table: async () => [] });
    const vrrp = opts.vrrp !== undefined ? opts.vrrp : config.vrrp_instances.length ? new VrrpObserver(config.vrrp_instances) : null;
    const sink = new RecordingSink();
    const log = opts.log ?? (() => {});
    const balancer = new Balancer(withoutCommands(config), { sync: sink, log: (level, msg) => log(level, msg), cleanupOnStop: false });
    try {
      await balancer.start();
    } catch (e) {
      vrrp?.close();
      reader.close?.();
      throw e;
    }
    const s = new Shadow(config, balancer, sink, reader, serviceNames(config), vrrp);
    const interval = opts.intervalMs ?? 1000;
    s.timer = setInterval(() => { void s.compare(); }, interval);
    return s;
  }

  /** One comparison now (the timer runs them too); resolves when done. */
  compare(): Promise<void> {
    this.comparing ??= this.doCompare().finally(() => { this.comparing = undefined; });
    return this.comparing;
  }

  private async doCompare(): Promise<void> {
    let actual: IndexedTable;
    try {
      actual = indexTable(await this.reader.table());
      this.readError = null;
    } catch (e) {
      this.readError = (e as Error).message;
      return;
    }
    const servers = this.balancer.serverStates().map((s) => ({ service: s.service, server: s.server, up: s.up, reason: s.reason, weight: s.weight }));
    const diffs = [...compareTables(this.sink.desired, actual, this.names, servers), ...(this.vrrp?.differences() ?? [])];
    this.rounds++;
    const now = Date.now();
    const next = new Map<string, Difference>();
    for (const d of diffs) {
      const k = differenceKey(d);
      next.set(k, d);
      const s = this.seen.get(k);
      if (s) s.rounds++; else this.seen.set(k, { ...d, rounds: 1 });
      if (!this.current.has(k)) this.emit('change', { change: 'new', difference: d, at: now } satisfies ShadowChange);
    }
    for (const [k, d] of this.current) if (!next.has(k)) this.emit('change', { change: 'cleared', difference: d, at: now } satisfies ShadowChange);
    this.current = next;
  }

  summary(): ShadowSummary {
    const current = [...this.current.values()];
    return { rounds: this.rounds, current, seen: [...this.seen.values()], readError: this.readError, vrrp: this.vrrp?.states() ?? [], clean: current.length === 0 && this.readError === null };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.comparing;
    await this.balancer.stop();
    this.vrrp?.close();
    this.reader.close?.();
  }
}

/** One line for a change, as `lvsd shadow` prints it. */
export function formatChange(c: ShadowChange): string {
  const d = c.difference;
  return `${c.change === 'new' ? '+' : '-'} ${d.kind} ${d.service}${d.server ? ` ${d.server}` : ''}: ${d.detail}`;
}
