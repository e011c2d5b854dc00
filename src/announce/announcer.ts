// The announcer's shell: runs the core (core.ts) on the real clock and makes the kernel hold the routes
// it wants (routes.ts) through rtnetlink. One job: decisions in, routes out; quorum comes from the
// balancer's events, lifecycle calls from the daemon.
//
//   const a = await Announcer.start(config, balancer.quorumState(), { log });
//   balancer.on('quorum', (e) => a.onQuorum(e.service, e.up));
//   a.giveUp('web', 30_000);  await a.reload(nextConfig);  a.status();  await a.stop();  a.close();
//
// Routes the kernel already holds at start are adopted, not re-made: a restart with the quorum holding
// writes nothing, so the routing daemon never sees the VIP withdrawn. On stop the core withdraws (after
// its soft drain) and stop() resolves after drain_delay, while IPVS keeps forwarding. lvsd killed (-9)
// leaves its routes: the director still forwards with the IPVS table it had, and the next start adopts
// them; a dead director is the routing daemon's to detect (BFD), since the daemon dies with it.
// Kernel errors are logged with errno and the kernel's words, counted, and retried; every 30 s the
// routes are read again and repaired if someone removed them.
import { EventEmitter } from 'node:events';
import type { LvsdConfig } from '../config/model.js';
import { RTN_LOCAL, RT_TABLE_LOCAL, Rtnetlink, type Route, type RouteSpec } from '../netlink/rtnetlink.js';
import { NetlinkError } from '../netlink/errors.js';
import { AnnounceCore, WITHDRAW_REASONS, policiesFromConfig, type Transition, type VipPhase, type WithdrawReason } from './core.js';
import { planRoutes, type RouteSettings } from './routes.js';

/** What the announcer needs of rtnetlink (a fake in unit tests). */
export interface RouteBackend {
  listRoutes(): Promise<Route[]>;
  replaceRoute(spec: RouteSpec): Promise<void>;
  removeRoute(spec: RouteSpec): Promise<void>;
  getLink(name: string): Promise<{ index: number }>;
  close(): void;
}

export type AnnounceLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface AnnouncerOptions {
  log?: AnnounceLog;
  backend?: RouteBackend;
  /** Monotonic milliseconds. Default performance.now. */
  now?: () => number;
  /** Read the routes again this often and repair them. Default 30 s. */
  resyncMs?: number;
}

/** One group in /status (times as epoch ms). */
export interface AnnounceGroupStatus {
  name: string;
  addresses: string[];
  state: VipPhase;
  announced: boolean;
  metric?: number;
  reason: string;
  withdrawn?: WithdrawReason;
  since: number;
  until?: number;
  services: { name: string; quorum: boolean | null }[];
  withdrawals: Record<WithdrawReason, number>;
}
export interface AnnounceStatus {
  table: number;
  protocol: number;
  device: string;
  stopping: boolean;
  groups: AnnounceGroupStatus[];
  route_writes: number;
  route_errors: number;
  last_error?: string;
}

export class AnnounceStartError extends Error {
  override name = 'AnnounceStartError';
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

export class Announcer extends EventEmitter {
  private core: AnnounceCore;
  private settings: RouteSettings;
  private device: string;
  private readonly now: () => number;
  /** Wall clock minus monotonic clock, to show core times as epoch ms. */
  private readonly epochOffset: number;
  private timer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryMs = 0;
  private syncing: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private stopWaiters: Array<() => void> = [];
  /** Withdrawals per group and reason (kept across reloads for the groups that stay). */
  readonly withdrawals = new Map<string, Record<WithdrawReason, number>>();
  routeWrites = 0;
  routeErrors = 0;
  lastError: string | undefined;
  /** Tables/protocols of earlier configs whose routes must go (a reload changed global.announce). */
  private stale: Array<{ table: number; protocol: number }> = [];

  private constructor(cfg: LvsdConfig, quorum: Iterable<{ service: string; up: boolean | undefined }>, ifindex: number,
    private readonly backend: RouteBackend, private readonly log: AnnounceLog, now: () => number, private readonly resyncMs: number) {
    super();
    this.now = now;
    this.epochOffset = Date.now() - now();
    this.device = cfg.global.announce.device;
    this.settings = { table: cfg.global.announce.table, protocol: cfg.global.announce.protocol, ifindex };
    this.core = new AnnounceCore(policiesFromConfig(cfg), now(), quorum);
  }

  /**
   * Opens rtnetlink (unless given a backend), resolves the device, decides every group from the quorum
   * known now and makes the kernel agree, adopting the routes it already holds. Throws
   * AnnounceStartError when the device is missing; route errors are logged and retried.
   */
  static async start(cfg: LvsdConfig, quorum: Iterable<{ service: string; up: boolean | undefined }>, opts: AnnouncerOptions = {}): Promise<Announcer> {
    const backend = opts.backend ?? Rtnetlink.open();
    let ifindex: number;
    try {
      ifindex = (await backend.getLink(cfg.global.announce.device)).index;
    } catch (e) {
      backend.close();
      throw new AnnounceStartError(`global.announce.device ${cfg.global.announce.device}: ${(e as Error).message}`);
    }
    const a = new Announcer(cfg, quorum, ifindex, backend, opts.log ?? (() => {}), opts.now ?? (() => performance.now()), opts.resyncMs ?? 30_000);
    a.apply(a.core.start(a.now()));
    // A kernel refusal does not stop lvsd: it was logged, it is retried, and /status says why.
    await a.settle().catch(() => {});
    a.scheduleResync();
    return a;
  }

  onQuorum(service: string, up: boolean | undefined): void {
    if (this.closed) return;
    this.apply(this.core.setQuorum(service, up, this.now()));
  }

  /** Withdraws a group (after its soft drain) for holdMs. False: no such group. */
  giveUp(name: string, holdMs: number): boolean {
    const t = this.core.giveUp(name, holdMs, this.now());
    if (t === false) return false;
    this.log('info', `announce ${name}: given up ${Number.isFinite(holdMs) ? `for ${Math.round(holdMs / 1000)} s` : 'until lvsd restarts'}`);
    this.apply(t);
    return true;
  }

  /** A reload: groups by name keep their state; table/protocol/device changes move the routes. */
  async reload(cfg: LvsdConfig): Promise<void> {
    const g = cfg.global.announce;
    if (g.table !== this.settings.table || g.protocol !== this.settings.protocol) this.stale.push({ table: this.settings.table, protocol: this.settings.protocol });
    let ifindex = this.settings.ifindex;
    if (g.device !== this.device) {
      try { ifindex = (await this.backend.getLink(g.device)).index; } catch (e) {
        throw new Error(`global.announce.device ${g.device}: ${(e as Error).message}`);
      }
    }
    this.device = g.device;
    this.settings = { table: g.table, protocol: g.protocol, ifindex };
    this.apply(this.core.reconfigure(policiesFromConfig(cfg), this.now()));
    await this.settle().catch(() => {});
  }

  /** Withdraws everything (soft drain first where configured) and resolves once every drain_delay has passed. */
  async stop(): Promise<void> {
    if (this.closed) return;
    if (!this.core.stopping) {
      const t = this.core.stop(this.now());
      if (t.length) this.log('info', `announce: stopping: ${t.length} group${t.length === 1 ? '' : 's'} ${t.some((x) => x.to === 'soft-draining') ? 'soft-draining' : 'withdrawn'}; forwarding until the drain delay has passed`);
      this.apply(t);
    }
    await this.settle().catch(() => {});
    if (!this.core.stopped) await new Promise<void>((resolve) => { this.stopWaiters.push(resolve); this.arm(); });
    await this.settle().catch(() => {});
  }

  /** Resolves once the kernel holds what the core wants (or the last attempt failed: rejects with it). */
  async settle(): Promise<void> {
    while (this.syncing) await this.syncing;
    if (this.lastErrorPending) throw new Error(this.lastError);
  }
  private lastErrorPending = false;

  status(): AnnounceStatus {
    const epoch = (t: number): number => Math.round(t + this.epochOffset);
    const s: AnnounceStatus = {
      table: this.settings.table, protocol: this.settings.protocol, device: this.device, stopping: this.core.stopping,
      groups: this.core.states().map((v) => {
        const g: AnnounceGroupStatus = {
          name: v.name, addresses: v.addresses.map((a) => a.address), state: v.phase, announced: v.phase !== 'withdrawn', reason: v.reason,
          since: epoch(v.since), services: v.services.map((x) => ({ name: x.name, quorum: x.up ?? null })), withdrawals: this.counts(v.name),
        };
        if (v.metric !== undefined) g.metric = v.metric;
        if (v.withdrawn !== undefined) g.withdrawn = v.withdrawn;
        if (v.until !== undefined) g.until = epoch(v.until);
        return g;
      }),
      route_writes: this.routeWrites, route_errors: this.routeErrors,
    };
    if (this.lastError !== undefined) s.last_error = this.lastError;
    return s;
  }

  private counts(name: string): Record<WithdrawReason, number> {
    let c = this.withdrawals.get(name);
    if (!c) { c = Object.fromEntries(WITHDRAW_REASONS.map((r) => [r, 0])) as Record<WithdrawReason, number>; this.withdrawals.set(name, c); }
    return c;
  }

  /** Stops timers and closes the netlink socket; the routes stay as they are. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.resyncTimer);
    for (const w of this.stopWaiters.splice(0)) w();
    this.backend.close();
  }

  private apply(transitions: Transition[]): void {
    for (const t of transitions) {
      if (t.withdrawal) this.counts(t.name)[t.withdrawal]++;
      const level = t.to === 'withdrawn' && t.withdrawal === 'quorum' ? 'warn' : 'info';
      const what = t.to === 'announced' ? `announced${t.metric ? ` with metric ${t.metric}` : ''}` : t.to === 'soft-draining' ? `soft-draining with metric ${t.metric}` : 'withdrawn';
      this.log(level, `announce ${t.name}: ${what}: ${t.reason}`, { group: t.name, from: t.from, to: t.to, ...(t.withdrawal ? { withdrawal: t.withdrawal } : {}) });
      this.emit('transition', t);
    }
    this.sync();
    this.arm();
  }

  /** The next deadline of the core (drain end, hold end, stop end) as a timer. */
  private arm(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    if (this.core.stopped) { for (const w of this.stopWaiters.splice(0)) w(); return; }
    const next = this.core.nextDeadline();
    if (next === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.apply(this.core.tick(this.now()));
    }, Math.max(0, Math.ceil(next - this.now())));
  }

  private scheduleResync(): void {
    if (this.closed) return;
    clearTimeout(this.resyncTimer);
    this.resyncTimer = setTimeout(() => {
      // Nothing configured and nothing left to clean: no need to read the routing tables every 30 s.
      if (this.retryMs || this.stale.length || this.core.states().length) this.sync();
      this.scheduleResync();
    }, this.retryMs || this.resyncMs);
    this.resyncTimer.unref();
  }

  /** Makes the kernel agree with the core; one pass at a time, another pass if the core changed meanwhile. */
  private sync(): void {
    if (this.closed) return;
    if (this.syncing) { this.again = true; return; }
    this.syncing = (async () => {
      do {
        this.again = false;
        await this.syncOnce();
      } while (this.again && !this.closed);
    })().finally(() => { this.syncing = undefined; });
  }

  private async syncOnce(): Promise<void> {
    let failed: string | undefined;
    try {
      const actual = await this.backend.listRoutes();
      const ops = planRoutes(this.core.routes(), actual, this.settings, this.stale.map((x) => x.protocol));
      // Routes left in a table or under a protocol number an earlier config used (its local routes too;
      // those the new ones replaced in place are gone already: ESRCH, fine).
      for (const old of this.stale) {
        for (const r of actual) {
          if (r.protocol !== old.protocol || (r.table !== old.table && !(r.table === RT_TABLE_LOCAL && r.type === RTN_LOCAL))) continue;
          if (r.protocol === this.settings.protocol && r.table === RT_TABLE_LOCAL) continue; // same protocol: the plan owns them
          const spec: RouteSpec = { destination: r.destination, prefixLength: r.prefixLength, table: r.table, protocol: r.protocol, priority: r.priority ?? 0, type: r.type };
          if (r.ifindex !== undefined) spec.ifindex = r.ifindex;
          ops.push({ op: 'remove', spec, what: `old route ${r.destination}/${r.prefixLength} table ${r.table} proto ${r.protocol}` });
        }
      }
      for (const op of ops) {
        try {
          if (op.op === 'replace') await this.backend.replaceRoute(op.spec); else await this.backend.removeRoute(op.spec);
          this.routeWrites++;
          this.log('debug', `announce: ${op.what}`);
        } catch (e) {
          // Gone already (someone else removed it): the goal is reached.
          if (op.op === 'remove' && e instanceof NetlinkError && e.code === 'ESRCH') continue;
          this.routeErrors++;
          failed = `${op.what}: ${(e as Error).message}`;
          this.log('error', `announce: ${failed}`);
        }
      }
      if (!failed) this.stale = [];
    } catch (e) {
      this.routeErrors++;
      failed = `reading routes: ${(e as Error).message}`;
      this.log('error', `announce: ${failed}`);
    }
    this.lastErrorPending = failed !== undefined;
    if (failed !== undefined) {
      this.lastError = failed;
      // Retry sooner than the resync, backing off to it.
      this.retryMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.retryMs * 2));
      this.scheduleResync();
    } else if (this.retryMs) {
      this.retryMs = 0;
      this.scheduleResync();
    }
  }
}
