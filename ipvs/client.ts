// The IPVS generic netlink client: resolves the "IPVS" family, reads the kernel's table (services,
// destinations, counters, timeouts, sync daemons) and sends commands, many per sendmsg. A thin shell over
// src/netlink's transport; encodings live in messages.ts, decisions in reconcile.ts.
//
//   const ipvs = await IpvsClient.open({ netns? });
//   const table = await ipvs.table();                 // IpvsKernelTable (dump order)
//   const results = await ipvs.apply(ops);            // IpvsOp[] -> per-op { ok } | { ok: false, error }
//   ipvs.writes                                        // write commands sent so far
//   ipvs.close();
import { GenericNetlink } from '../src/netlink/genl.js';
import { NetlinkError } from '../src/netlink/errors.js';
import { NetlinkSocket, type NetlinkRequest, type NetlinkSocketOptions } from '../src/netlink/socket.js';
import { NETLINK_GENERIC } from '../src/native/index.js';
import { IPVS_GENL_NAME } from './constants.js';
import type { IpvsDaemon } from './daemon.js';
import type { IpvsDestinationEntry } from './destination.js';
import { explain, IpvsUnavailableError, type IpvsCommandError } from './errors.js';
import * as msg from './messages.js';
import type { IpvsOp } from './reconcile.js';
import type { IpvsServiceEntry, IpvsServiceKey } from './service.js';
import type { IpvsKernelTable } from './table.js';
import type { IpvsTimeouts } from './timeouts.js';

export type IpvsOpResult = { ok: true } | { ok: false; error: IpvsCommandError };

export function commandFor(op: IpvsOp): msg.IpvsCommand {
  switch (op.kind) {
    case 'IPVS_CMD_NEW_SERVICE': return msg.newService(op.service);
    case 'IPVS_CMD_SET_SERVICE': return msg.setService(op.service);
    case 'IPVS_CMD_DEL_SERVICE': return msg.delService(op.service);
    case 'IPVS_CMD_NEW_DEST': return msg.newDest(op.service, op.dest);
    case 'IPVS_CMD_SET_DEST': return msg.setDest(op.service, op.dest);
    case 'IPVS_CMD_DEL_DEST': return msg.delDest(op.service, op.dest);
    case 'IPVS_CMD_SET_CONFIG': return msg.setConfig(op.timeouts);
    case 'IPVS_CMD_NEW_DAEMON': return msg.newDaemon(op.daemon);
    case 'IPVS_CMD_DEL_DAEMON': return msg.delDaemon(op.daemon.state);
  }
}

/**
 * Maps items with fn, giving the event loop a turn (setImmediate) whenever the current slice has run for
 * sliceMs: decoding a 10k-entry dump at once held the loop for hundreds of ms inside UML, long enough to
 * miss VRRP's Master_Down_Interval (issue #8). Order and results are those of items.map(fn).
 */
export async function mapInSlices<T, U>(items: readonly T[], fn: (item: T, index: number) => U,
  opts: { sliceMs?: number; now?: () => number; yieldTurn?: () => Promise<void> } = {}): Promise<U[]> {
  const sliceMs = opts.sliceMs ?? READ_SLICE_MS;
  const now = opts.now ?? (() => performance.now());
  const yieldTurn = opts.yieldTurn ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
  const out: U[] = new Array(items.length);
  let sliceStart = now();
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i]!, i);
    if (now() - sliceStart >= sliceMs && i + 1 < items.length) {
      await yieldTurn();
      sliceStart = now();
    }
  }
  return out;
}

/** Longest synchronous piece of a table read before it yields (VRRP's 100 ms adverts share the loop). */
const READ_SLICE_MS = 5;

export interface IpvsClientOptions {
  /** Network namespace (a name under /run/netns or a path) whose IPVS table to use. */
  netns?: string;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /** Commands per sendmsg in apply() (the transport caps it at 500). */
  batchSize?: number;
  /** Destination dumps in flight at once when reading the whole table (one socket each). Default 8. */
  dumpParallelism?: number;
}

export class IpvsClient {
  /** Write commands sent (each counts once, whatever the kernel answered). */
  writes = 0;

  /** Extra sockets for parallel destination dumps (the kernel runs one dump per socket at a time). */
  private readonly dumpPool: NetlinkSocket[] = [];

  private constructor(private readonly genl: GenericNetlink, readonly familyId: number, private readonly opts: IpvsClientOptions,
    private readonly sockOpts: NetlinkSocketOptions) {}

  static async open(opts: IpvsClientOptions = {}): Promise<IpvsClient> {
    const sockOpts: NetlinkSocketOptions = { ...(opts.netns ? { netns: opts.netns } : {}), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) };
    const genl = GenericNetlink.open(sockOpts);
    try {
      const fam = await genl.resolveFamily(IPVS_GENL_NAME);
      return new IpvsClient(genl, fam.id, opts, sockOpts);
    } catch (e) {
      genl.close();
      if (e instanceof NetlinkError && e.code === 'ENOENT') throw new IpvsUnavailableError(e);
      throw e;
    }
  }

  private req(c: msg.IpvsCommand): NetlinkRequest { return { type: this.familyId, payload: c.payload }; }

  async info(): Promise<msg.IpvsInfo> {
    const r = await this.genl.socket.request(this.req(msg.getInfo()));
    return msg.decodeInfoMessage(r[0]!.payload);
  }

  async services(): Promise<IpvsServiceEntry[]> {
    const r = await this.genl.socket.dump(this.req(msg.getServices()));
    return mapInSlices(r.filter((m) => m.type === this.familyId), (m) => msg.decodeServiceMessage(m.payload));
  }

  async destinations(k: IpvsServiceKey, socket: NetlinkSocket = this.genl.socket): Promise<IpvsDestinationEntry[]> {
    const r = await socket.dump(this.req(msg.getDests(k)));
    return r.filter((m) => m.type === this.familyId).map((m) => msg.decodeDestMessage(m.payload, k.af));
  }

  /**
   * Every service with its destinations, in the kernel's order. GET_DEST takes one service per dump, so
   * a big table is thousands of dumps: they run on several sockets at once, which saves event-loop round
   * trips (measured inside UML at 10k services). A service deleted between the dumps is left out.
   */
  async table(): Promise<IpvsKernelTable> {
    const services = await this.services();
    const parallel = Math.max(1, Math.min(this.opts.dumpParallelism ?? 8, services.length));
    while (this.dumpPool.length < parallel - 1) this.dumpPool.push(NetlinkSocket.open(NETLINK_GENERIC, this.sockOpts));
    const sockets = [this.genl.socket, ...this.dumpPool.slice(0, parallel - 1)];
    const out: (IpvsKernelTable[number] | undefined)[] = new Array(services.length);
    let next = 0;
    await Promise.all(sockets.map(async (socket) => {
      while (next < services.length) {
        const i = next++;
        const service = services[i]!;
        try {
          out[i] = { service, dests: await this.destinations(service, socket) };
        } catch (e) {
          if (!(e instanceof NetlinkError && (e.code === 'ESRCH' || e.code === 'ENOENT'))) throw e;
        }
      }
    }));
    return out.filter((e): e is IpvsKernelTable[number] => e !== undefined);
  }

  async timeouts(): Promise<IpvsTimeouts> {
    const r = await this.genl.socket.request(this.req(msg.getConfig()));
    return msg.decodeConfigMessage(r[0]!.payload);
  }

  async daemons(): Promise<IpvsDaemon[]> {
    const r = await this.genl.socket.dump(this.req(msg.getDaemons()));
    return r.filter((m) => m.type === this.familyId).map((m) => msg.decodeDaemonMessage(m.payload));
  }

  /** One command; rejects with IpvsCommandError. */
  async run(op: IpvsOp): Promise<void> {
    const [r] = await this.apply([op]);
    if (r && !r.ok) throw r.error;
  }

  /** Many commands, batchSize per sendmsg, in order; each gets its own result (one failure fails only itself). */
  async apply(ops: IpvsOp[]): Promise<IpvsOpResult[]> {
    if (!ops.length) return [];
    this.writes += ops.length;
    const results = await this.genl.socket.batch(ops.map((op) => this.req(commandFor(op))), { chunk: this.opts.batchSize ?? 500 });
    return results.map((r, i) => (r.ok ? { ok: true } : { ok: false, error: explain(ops[i]!, r.error) }));
  }

  async zero(k?: IpvsServiceKey): Promise<void> { this.writes++; await this.genl.socket.request(this.req(msg.zero(k))); }
  async flush(): Promise<void> { this.writes++; await this.genl.socket.request(this.req(msg.flush())); }

  close(): void {
    this.genl.close();
    for (const s of this.dumpPool.splice(0)) s.close();
  }
}
