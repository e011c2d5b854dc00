// The reconciler's shell: keeps the kernel's table as last read (or as our successful writes left it),
// turns a desired table into commands with reconcile(), sends them in batches, and after any failure
// re-reads the kernel and converges again (another writer's EEXIST/ENOENT races settle in the next round).
//
//   const sync = new IpvsTableSync(client, { owned });  // owned: service keys lvsd declared before
//   const report = await sync.apply(desiredTable);       // first call reads the kernel (adoption)
//   await sync.apply(desiredTable, { only: [serviceKey(s)] });  // a checker changed one service
//   sync.owned                                           // what to remember for next time
import type { IpvsOpResult } from './client.js';
import { destinationKey } from './destination.js';
import type { IpvsCommandError } from './errors.js';
import { indexTable, reconcile, reconcileTimeouts, type IndexedTable, type IpvsOp } from './reconcile.js';
import { serviceKey } from './service.js';
import type { IpvsKernelTable, IpvsTableEntry } from './table.js';
import type { IpvsTimeouts } from './timeouts.js';

/** What the shell needs of IpvsClient (a model of the kernel stands in for it in unit tests). */
export interface IpvsTableClient {
  table(): Promise<IpvsKernelTable>;
  apply(ops: IpvsOp[]): Promise<IpvsOpResult[]>;
  /** IPVS_CMD_GET_CONFIG; without it applyTimeouts does nothing. */
  timeouts?(): Promise<IpvsTimeouts>;
}

export interface ApplyReport {
  /** Commands sent, over all rounds. */
  writes: number;
  /** Rounds of (reconcile, send); 0 when nothing differed. */
  rounds: number;
  /** Whether the kernel's table was read again during this apply. */
  reread: boolean;
  /** Errors of the last round that did not resolve (empty on success). */
  errors: IpvsCommandError[];
}

export interface IpvsTableSyncOptions {
  owned?: Iterable<string>;
  /** Rounds before giving up on errors that keep coming back. Default 3. */
  maxRounds?: number;
}

export class IpvsTableSync {
  private kernel: IndexedTable | undefined;
  private ownedKeys: Set<string>;
  private readonly maxRounds: number;

  constructor(private readonly client: IpvsTableClient, opts: IpvsTableSyncOptions = {}) {
    this.ownedKeys = new Set(opts.owned ?? []);
    this.maxRounds = opts.maxRounds ?? 3;
  }

  /** Service keys lvsd declares (or failed to delete); persist them to keep foreign services apart on restart. */
  get owned(): ReadonlySet<string> { return this.ownedKeys; }

  /** Reads the whole kernel table again (after errors, or periodically to notice other writers). */
  async refresh(): Promise<void> {
    this.kernel = indexTable(await this.client.table());
  }

  async apply(desiredTable: IndexedTable | Iterable<IpvsTableEntry>, opts: { only?: Iterable<string> } = {}): Promise<ApplyReport> {
    const desired = desiredTable instanceof Map ? desiredTable : indexTable(desiredTable);
    const report: ApplyReport = { writes: 0, rounds: 0, reread: false, errors: [] };
    if (!this.kernel) await this.refresh();
    let only = opts.only ? [...opts.only] : undefined;
    let previous = '';
    for (let round = 1; round <= this.maxRounds; round++) {
      const ops = reconcile(desired, this.kernel!, { owned: this.ownedKeys, ...(only ? { only } : {}) });
      if (!ops.length) { report.errors = []; break; }
      report.rounds = round;
      report.writes += ops.length;
      const results = await this.client.apply(ops);
      const errors: IpvsCommandError[] = [];
      results.forEach((r, i) => { if (r.ok) this.record(ops[i]!); else errors.push(r.error); });
      report.errors = errors;
      if (!errors.length) break;
      // Something else changed the kernel, or a command cannot succeed: read the truth and go again,
      // unless the same commands failed the same way twice (more rounds would not change that).
      const signature = errors.map((e) => `${e.message}`).join('\n');
      if (signature === previous || errors.every((e) => !e.isRace)) break;
      previous = signature;
      await this.refresh();
      report.reread = true;
      only = undefined; // after a re-read, look at everything lvsd declares
    }
    // Owned from now on: what is desired, plus owned services we failed to delete (to try again later).
    // An incremental apply updates only the keys it looked at: O(1) for one checker's change.
    const update = (k: string) => { if (desired.has(k) || this.kernel!.has(k)) this.ownedKeys.add(k); else this.ownedKeys.delete(k); };
    if (only) {
      for (const k of only) if (desired.has(k) || this.ownedKeys.has(k)) update(k);
    } else {
      const next = new Set(desired.keys());
      for (const k of this.ownedKeys) if (!desired.has(k) && this.kernel!.has(k)) next.add(k);
      this.ownedKeys = next;
    }
    return report;
  }

  /**
   * The protocol timeouts (keepalived lvs_timeouts): reads the kernel's and sends IPVS_CMD_SET_CONFIG for
   * what differs (unset or 0 leaves a timeout alone). Returns the writes (0 or 1); throws the kernel's refusal.
   */
  async applyTimeouts(desired: Partial<IpvsTimeouts>): Promise<number> {
    if (!this.client.timeouts) return 0;
    const ops = reconcileTimeouts(desired, await this.client.timeouts());
    if (!ops.length) return 0;
    const [r] = await this.client.apply(ops);
    if (r && !r.ok) throw r.error;
    return ops.length;
  }

  /** Applies a command the kernel accepted to our copy of its table (copies: callers may mutate theirs). */
  private record(op: IpvsOp): void {
    const kernel = this.kernel!;
    switch (op.kind) {
      case 'IPVS_CMD_NEW_SERVICE': kernel.set(serviceKey(op.service), { service: { ...op.service }, dests: new Map() }); break;
      case 'IPVS_CMD_SET_SERVICE': { const e = kernel.get(serviceKey(op.service)); if (e) e.service = { ...op.service }; break; }
      case 'IPVS_CMD_DEL_SERVICE': kernel.delete(serviceKey(op.service)); break;
      case 'IPVS_CMD_NEW_DEST': case 'IPVS_CMD_SET_DEST': kernel.get(serviceKey(op.service))?.dests.set(destinationKey(op.dest), { ...op.dest }); break;
      case 'IPVS_CMD_DEL_DEST': kernel.get(serviceKey(op.service))?.dests.delete(destinationKey(op.dest)); break;
      default: break;
    }
  }
}
