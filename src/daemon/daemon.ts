// The daemon: one process running the health checkers + IPVS programming (Balancer) and the VRRP
// engine from one config file. This module wires them together and owns the lifecycle:
//
//   const d = await Daemon.start('/etc/lvsd/lvsd.yaml');   // throws DaemonConfigError / DaemonStartError
//   d.on('reloaded', (r: ReloadResult) => ...);  d.on('vrrp-state', (c: VrrpStateChange) => ...);
//   await d.reload();                              // SIGHUP: validate, then apply as a diff, or refuse
//   await d.stop();                                // SIGTERM: announced VIPs withdrawn and drained, VRRP hands over, IPVS table kept (omega: removed)
//
// VRRP runs in a worker thread of its own (vrrp/worker.ts), so 4,000 checks/s on this thread cannot delay
// an advert or a takeover; `engine` is its VrrpView (vrrp/view.ts), which metrics and control read too.
// Containment: the balancer's quorum events reach VRRP only through setTrackedObject; IPVS and sync
// daemon errors are logged and counted, never thrown into the VRRP engine.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { IpvsClient } from '../../ipvs/client.js';
import { IpvsTableSync, type ApplyReport } from '../../ipvs/sync.js';
import type { IndexedTable } from '../../ipvs/reconcile.js';
import { serviceKey } from '../../ipvs/service.js';
import { VrrpWorker } from '../../vrrp/worker.js';
import type { PriorityEvent, StateEvent, VrrpView } from '../../vrrp/view.js';
import { EventLog } from '../events/log.js';
import { Balancer, decideService, type QuorumEvent, type TableSink, type VerdictEvent } from '../balancer/index.js';
import { formatIssue, loadConfig, type ConfigIssue, type LvsdConfig } from '../config/index.js';
import { loggerFromConfig, rateLimitedLogger, type Logger } from '../log/index.js';
import { startControl, listenText } from '../control/index.js';
import { startMetrics } from '../metrics/index.js';
import { readState, writeState } from './state-file.js';
import { SyncDaemonFollower } from './sync-daemon.js';
import { SysctlKeeper } from '../sysctl/keeper.js';
import { vrrpLogRecord } from './vrrp-log.js';
import { Announcer } from '../announce/announcer.js';
import { EmailAlerter } from '../notify/alerter.js';

/** The file did not validate; `errors` are the loader's issues (file:line:col). */
export class DaemonConfigError extends Error {
  constructor(readonly file: string, readonly errors: ConfigIssue[]) {
    super(`${errors.length} error${errors.length === 1 ? '' : 's'} in ${file}`);
    this.name = 'DaemonConfigError';
  }
}

/** A valid config that could not be brought up (no IPVS, missing interface, ...). */
export class DaemonStartError extends Error {
  constructor(readonly stage: 'ipvs' | 'balancer' | 'vrrp' | 'announce', readonly reason: Error) {
    super(`cannot start ${stage === 'ipvs' ? 'IPVS' : stage === 'vrrp' ? 'the VRRP engine' : stage === 'announce' ? 'the announcer' : 'the balancer'}: ${reason.message}`);
    this.name = 'DaemonStartError';
  }
}

export type ReloadResult =
  | { ok: true; hash: string; unchanged: boolean; vrrp?: unknown; balancer?: unknown; ms: number; at: number }
  | { ok: false; reason: string; errors: string[]; ms: number; at: number };

/** What H2's reload adds to the engine and the balancer: apply a new config as a diff, return a summary. */
interface Reloadable { reload(config: LvsdConfig): unknown }
const canReload = (x: unknown): x is Reloadable => typeof (x as Partial<Reloadable> | null)?.reload === 'function';

export interface DaemonOptions {
  /** Default: from config.global.log, to stderr. */
  logger?: Logger;
  /** Overrides global.state_file (tests). */
  stateFile?: string;
  /** Start the metrics and control listeners when those modules exist (default true). */
  listeners?: boolean;
}

interface Closable { close(): Promise<void> }

interface LoadedFile { config: LvsdConfig; hash: string }

/** Validate FILE; hash the exact bytes that were validated. */
async function loadFile(file: string): Promise<{ ok: true; loaded: LoadedFile } | { ok: false; errors: ConfigIssue[] }> {
  // loadConfig refuses what is not a bounded regular file and reads it once: parsed once (a SIGHUP used
  // to parse it twice, doubling the pause a large file costs the running daemon) and hashed as read.
  const r = await loadConfig(file);
  if (!r.ok) return r;
  const bytes = r.bytes ?? new TextEncoder().encode(JSON.stringify(r.config));
  return { ok: true, loaded: { config: r.config, hash: createHash('sha256').update(bytes).digest('hex') } };
}

/** What the kernel must offer for a config: IPVS, as soon as there is something to program. */
export function needsIpvs(cfg: LvsdConfig): boolean {
  return cfg.virtual_services.length > 0 || cfg.global.lvs_sync_daemon !== undefined;
}

/** Service keys of the config's virtual services (the same keys IpvsTableSync.owned holds). */
export function configServiceKeys(cfg: LvsdConfig, only: (vs: LvsdConfig['virtual_services'][number]) => boolean = () => true): string[] {
  // A group (virtual_server_group) is one IPVS service per address and fwmark.
  return cfg.virtual_services.filter(only).flatMap((vs) => decideService(vs, [], undefined).entries.map((e) => serviceKey(e.service)));
}

/** One VRRP transition, as the daemon emits it ('vrrp-state'). at: epoch ms. */
export interface VrrpStateChange { instance: string; from: string; to: string; priority: number; at: number }

export class Daemon extends EventEmitter {
  config: LvsdConfig;
  configHash: string;
  readonly startedAt = Date.now();
  readonly reloads = { success: 0, failure: 0 };
  /** Last reload's outcome (undefined before the first). */
  lastReload: ReloadResult | undefined;
  /** Uncaught exceptions and unhandled rejections seen (faults.ts), and state-file write failures. */
  readonly faults = { uncaught: 0, stateFile: 0 };
  syncDaemon: SyncDaemonFollower | undefined;
  /** Announced VIPs (issue #14): the routes the routing daemon redistributes. */
  announcer: Announcer | undefined;
  /** The sysctls this config needs (sloppy_tcp for shared services...), set or checked at start and on reload. */
  sysctls: SysctlKeeper | undefined;
  /** Email alerts (keepalived smtp_alert): queued here, sent in the background. */
  email: EmailAlerter | undefined;
  /** What GET /events streams: transitions, priority changes, quorum changes, real-server verdicts. */
  readonly events = new EventLog({ boot: `${Date.now().toString(36)}.${process.pid}` });
  private servers: Closable[] = [];
  private persisted = '';
  private persisting: Promise<void> = Promise.resolve();
  private reloading: Promise<ReloadResult> | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    loaded: LoadedFile,
    readonly log: Logger,
    public ipvs: IpvsClient | null,
    public sync: IpvsTableSync | null,
    readonly balancer: Balancer,
    readonly engine: VrrpView,
    private readonly stateFileOverride: string | undefined,
  ) {
    super();
    this.config = loaded.config;
    this.configHash = loaded.hash;
    if (ipvs) this.attachIpvs(ipvs, sync);
  }

  /** IPVS found at start, or later by a reload whose config needs it (the module was loaded meanwhile). */
  private attachIpvs(ipvs: IpvsClient, sync: IpvsTableSync | null): void {
    this.ipvs = ipvs;
    this.sync = sync ?? new IpvsTableSync(ipvs, { owned: [] });
    this.syncDaemon = new SyncDaemonFollower(ipvs, (level, msg) => this.log.child({ component: 'ipvs-sync' }).log(level, msg));
  }

  get stateFile(): string { return this.stateFileOverride ?? this.config.global.state_file; }

  static async start(file: string, opts: DaemonOptions = {}): Promise<Daemon> {
    const r = await loadFile(file);
    if (!r.ok) throw new DaemonConfigError(file, r.errors);
    const { config } = r.loaded;
    const log = opts.logger ?? loggerFromConfig(config.global.log);
    const stateFile = opts.stateFile ?? config.global.state_file;

    const prior = await readState(stateFile);
    if (!prior.ok) log.warn(`state file ${stateFile} ignored: ${prior.reason}; services of an earlier run that are no longer configured stay in the kernel (remove them with ipvsadm)`, { component: 'daemon' });
    const owned = prior.ok ? prior.state.owned : [];

    // IPVS: required when there is something to program; a VRRP-only director may run without it.
    const needIpvs = needsIpvs(config);
    let ipvs: IpvsClient | null = null;
    try { ipvs = await IpvsClient.open(); } catch (e) {
      if (needIpvs) throw new DaemonStartError('ipvs', e as Error);
      log.info(`no IPVS in this kernel (${(e as Error).message}); running VRRP only`, { component: 'daemon' });
    }
    const sync = ipvs ? new IpvsTableSync(ipvs, { owned }) : null;
    // Before the table is programmed and VRRP or the announcer bring traffic: a shared service takes
    // the middle of other directors' flows from its first packet. After IpvsClient.open, which loads
    // ip_vs and with it net.ipv4.vs.*.
    const sysctls = new SysctlKeeper((level, msg) => log.log(level, msg, { component: 'sysctl' }));
    await sysctls.apply(config);

    // The daemon object does not exist yet; the sink forwards to it once it does (persisting owned).
    let self: Daemon | undefined;
    const sink: TableSink = {
      apply: async (desired: IndexedTable, o?: { only?: Iterable<string> }): Promise<ApplyReport> => {
        // Through the daemon once it exists: a reload may attach IPVS later (attachIpvs).
        const target = self ? self.sync : sync;
        if (!target) return { writes: 0, rounds: 0, reread: false, errors: [] };
        const report = await target.apply(desired, o);
        self?.persistOwned();
        return report;
      },
    };
    const blog = log.child({ component: 'balancer' });
    // Kept on stop; Daemon.stop removes the omega services itself.
    const balancer = new Balancer(config, { sync: sink, log: (level, msg) => blog.log(level, msg), cleanupOnStop: false });
    // Programmed before VRRP can make this director master, so traffic finds the table in place.
    try {
      await balancer.start();
    } catch (e) {
      // The checks are already running only if start got that far; stop them and give up.
      await balancer.stop().catch(() => {});
      ipvs?.close();
      throw new DaemonStartError('balancer', e as Error);
    }

    const vlog = log.child({ component: 'vrrp' });
    let engine: VrrpWorker;
    try {
      engine = await VrrpWorker.start(config, { log: (line) => { const r = vrrpLogRecord(line); vlog.log(r.level, line, r.fields); } });
    } catch (e) {
      await balancer.stop().catch(() => {});
      ipvs?.close();
      throw new DaemonStartError('vrrp', e as Error);
    }

    // Announced VIPs: after IPVS is programmed, so a flow the router sends finds the table; routes an
    // earlier run left are adopted as they are (a restart with the quorum holding changes nothing).
    let announcer: Announcer;
    try {
      const alog = log.child({ component: 'announce' });
      announcer = await Announcer.start(config, balancer.quorumState(), { log: (level, msg, fields) => alog.log(level, msg, fields) });
    } catch (e) {
      await engine.stop().catch(() => {});
      await balancer.stop().catch(() => {});
      ipvs?.close();
      throw new DaemonStartError('announce', e as Error);
    }

    const d = new Daemon(file, r.loaded, log, ipvs, sync, balancer, engine, opts.stateFile);
    d.announcer = announcer;
    const elog = log.child({ component: 'email' });
    d.email = new EmailAlerter(config, { log: (level, msg) => elog.log(level, msg) });
    d.sysctls = sysctls;
    self = d;
    // Transitions during start (initialize -> backup) happen before the daemon exists: not reported.
    engine.on('state', (e: StateEvent) => d.onVrrpState({ instance: e.name, from: e.from, to: e.to, priority: e.priority, at: e.at }));
    engine.on('state', (e: StateEvent) => d.guard('vrrp -> events', () => d.events.append({ kind: 'vrrp_state', instance: e.name, from: e.from, to: e.to, priority: e.priority, ...(e.reason ? { reason: e.reason } : {}) }, e.at)));
    engine.on('priority', (e: PriorityEvent) => d.guard('vrrp -> events', () => d.events.append({ kind: 'vrrp_priority', instance: e.name, from: e.from, to: e.to, state: e.state }, e.at)));
    balancer.on('quorum', (e: QuorumEvent) => d.guard('quorum -> events', () => d.events.append({ kind: 'quorum', service: e.service, up: e.up }, e.at)));
    balancer.on('verdict', (e: VerdictEvent) => d.guard('verdict -> events', () => d.events.append({ kind: 'real_server', service: e.service, server: e.server, up: e.up, reason: e.reason, weight: e.weight }, e.at)));
    d.persistOwned();
    // Quorum decided during balancer.start() reaches VRRP now; later changes as they happen.
    d.pushQuorum();
    balancer.on('quorum', (e: QuorumEvent) => d.guard('quorum -> vrrp', () => engine.setTrackedObject(e.service, e.up)));
    balancer.on('quorum', (e: QuorumEvent) => d.guard('quorum -> announce', () => announcer.onQuorum(e.service, e.up)));
    balancer.on('verdict', (e: VerdictEvent) => d.guard('verdict -> email', () => d.email?.onVerdict(e.service, e.server, e.up, e.reason)));
    for (const q of balancer.quorumState()) if (q.up !== undefined) d.guard('quorum -> email', () => d.email?.onQuorum(q.service, q.up!, true));
    balancer.on('quorum', (e: QuorumEvent) => d.guard('quorum -> email', () => d.email?.onQuorum(e.service, e.up)));
    await d.configureSyncDaemon();
    if (opts.listeners ?? true) await d.startListeners();
    log.info('ready', {
      component: 'daemon', pid: process.pid, config: file, hash: d.configHash,
      vrrp_instances: engine.instances.size, virtual_services: config.virtual_services.length, ipvs: ipvs !== null,
    });
    return d;
  }

  /** Runs fn; an exception is logged and counted instead of reaching the caller (an event emitter). */
  private guard(what: string, fn: () => void): void {
    try { fn(); } catch (e) {
      this.faults.uncaught++;
      this.log.error(`${what} failed`, { component: 'daemon', err: e as Error });
    }
  }

  private pushQuorum(): void {
    for (const q of this.balancer.quorumState()) {
      if (q.up !== undefined) this.guard('quorum -> vrrp', () => this.engine.setTrackedObject(q.service, q.up!));
      this.guard('quorum -> announce', () => this.announcer?.onQuorum(q.service, q.up));
    }
  }

  private onVrrpState(c: VrrpStateChange): void {
    const sd = this.config.global.lvs_sync_daemon;
    if (sd && sd.instance === c.instance && this.syncDaemon) void this.syncDaemon.follow(c.to);
    this.guard('vrrp -> email', () => this.email?.onVrrpState(c.instance, c.to));
    this.emit('vrrp-state', c);
  }

  private configureSyncDaemon(): Promise<void> {
    if (!this.syncDaemon) return Promise.resolve();
    const sd = this.config.global.lvs_sync_daemon;
    const inst = sd ? this.engine.instances.get(sd.instance) : undefined;
    return this.syncDaemon.configure(sd, inst?.config.vrid ?? 0, inst?.state);
  }

  /** Writes IpvsTableSync.owned to the state file when it changed; one write at a time, errors logged. */
  private persistOwned(): void {
    if (!this.sync) return;
    const owned = [...this.sync.owned].sort();
    const text = JSON.stringify(owned);
    if (text === this.persisted) return;
    this.persisted = text;
    const path = this.stateFile;
    this.persisting = this.persisting.then(() => writeState(path, { owned })).catch((e: unknown) => {
      this.faults.stateFile++;
      this.persisted = '';
      this.log.error(`cannot write state file ${path}: ${(e as Error).message}; after a restart, services removed from the config may stay in the kernel`, { component: 'daemon' });
    });
  }

  /** Waits for pending state-file writes (tests, stop). */
  flushState(): Promise<void> { return this.persisting; }

  private async startListeners(): Promise<void> {
    const g = this.config.global;
    // A busy port or socket must not take VRRP down with it: log and run without that listener.
    try {
      const mlog = this.log.child({ component: 'metrics' });
      const limited = rateLimitedLogger(mlog);
      this.servers.push(await startMetrics({ daemon: this, listen: g.metrics.listen, log: (m) => limited.warn('scrape', m), limits: { maxConnections: g.metrics.max_connections } }));
    } catch (e) {
      this.log.error(`metrics: cannot listen on ${listenText(g.metrics.listen)}: ${(e as Error).message}`, { component: 'daemon' });
    }
    try {
      this.servers.push(await startControl({ daemon: this, listen: g.control.listen, tokenFile: g.control.token_file, log: this.log.child({ component: 'control' }), limits: { maxConnections: g.control.max_connections } }));
    } catch (e) {
      this.log.error(`control: cannot listen on ${listenText(g.control.listen)}: ${(e as Error).message}`, { component: 'daemon' });
    }
  }

  /**
   * SIGHUP: read and validate the file again. A bad file is refused (every error logged) and the running
   * config stays. A good one goes to the engine and the balancer, each applying only what changed.
   * Concurrent calls share one reload.
   */
  reload(): Promise<ReloadResult> {
    if (this.stopping) return Promise.resolve(this.refused(performance.now(), 'lvsd is stopping', []));
    this.reloading ??= this.doReload().finally(() => { this.reloading = undefined; });
    return this.reloading;
  }

  private refused(t0: number, reason: string, errors: string[]): ReloadResult {
    const r: ReloadResult = { ok: false, reason, errors, ms: performance.now() - t0, at: Date.now() };
    this.reloads.failure++;
    this.lastReload = r;
    this.log.error(`reload refused: ${reason}; still running the config loaded before (sha256 ${this.configHash.slice(0, 12)})`, { component: 'daemon', errors: errors.length });
    this.emit('reloaded', r);
    return r;
  }

  private async doReload(): Promise<ReloadResult> {
    const t0 = performance.now();
    const dlog = this.log.child({ component: 'daemon' });
    dlog.info(`reloading ${this.file}`);
    const r = await loadFile(this.file);
    if (!r.ok) {
      const lines = r.errors.map((e) => formatIssue(e));
      for (const l of lines) dlog.error(l);
      return this.refused(t0, `${r.errors.length} error${r.errors.length === 1 ? '' : 's'} in ${this.file}`, lines);
    }
    const { config, hash } = r.loaded;
    if (hash === this.configHash) {
      // The kernel's settings are checked again all the same: someone may have reset one meanwhile.
      await this.sysctls?.apply(this.config);
      const ok: ReloadResult = { ok: true, hash, unchanged: true, ms: performance.now() - t0, at: Date.now() };
      this.reloads.success++;
      this.lastReload = ok;
      dlog.info('reload: file unchanged, nothing to do');
      this.emit('reloaded', ok);
      return ok;
    }
    // Start-up refuses a config with virtual services on a kernel without IPVS; a reload must too, or it
    // would report success, start checks and program nothing. IPVS loaded since start is taken up here.
    if (!this.ipvs && needsIpvs(config)) {
      try {
        this.attachIpvs(await IpvsClient.open(), null);
        dlog.info('IPVS is available now; the new config will be programmed');
      } catch (e) {
        return this.refused(t0, `the new config has virtual services or lvs_sync_daemon, but this kernel offers no IPVS (${(e as Error).message}); lvsd would refuse to start with it too; reload again once ip_vs is loaded`, []);
      }
    }
    if (!canReload(this.engine) || !canReload(this.balancer)) {
      return this.refused(t0, 'this build cannot apply a new config in place yet (the VRRP engine or the balancer has no reload); restart lvsd to use the new file', []);
    }
    let vrrp: unknown, balancer: unknown;
    try { vrrp = await this.engine.reload(config); } catch (e) {
      // A refusal is a reason for the operator, not a stack for a developer (that goes to debug).
      dlog.error(`reload: VRRP engine refused the new config: ${(e as Error).message}`);
      dlog.debug('reload: VRRP engine refusal', { err: e as Error });
      return this.refused(t0, `VRRP engine: ${(e as Error).message}`, []);
    }
    try { balancer = await this.balancer.reload(config); } catch (e) {
      // VRRP already runs the new config: say so, the operator must know the halves differ.
      dlog.error(`reload: the balancer failed after the VRRP engine took the new config: ${(e as Error).message}; VRRP runs the new file, checks and IPVS the old`);
      dlog.debug('reload: balancer failure', { err: e as Error });
      return this.refused(t0, `balancer: ${(e as Error).message} (VRRP already applied the new config)`, []);
    }
    const was = this.config.global;
    for (const [key, a, b] of [['metrics.listen', was.metrics.listen, config.global.metrics.listen], ['control.listen', was.control.listen, config.global.control.listen]] as const) {
      if (listenText(a) !== listenText(b)) dlog.warn(`reload: global.${key} changed to ${listenText(b)}; the listener stays on ${listenText(a)} until lvsd restarts`);
    }
    for (const [key, a, b] of [['metrics.max_connections', was.metrics.max_connections, config.global.metrics.max_connections], ['control.max_connections', was.control.max_connections, config.global.control.max_connections]] as const) {
      if (a !== b) dlog.warn(`reload: global.${key} changed to ${b}; the listener keeps ${a} until lvsd restarts`);
    }
    try { await this.announcer?.reload(config); } catch (e) {
      // VRRP and the balancer run the new file: the announcer keeps its old device.
      dlog.error(`reload: the announcer kept its old settings: ${(e as Error).message}`);
    }
    this.config = config;
    this.configHash = hash;
    this.log.configure(config.global.log);
    this.email?.reload(config);
    this.pushQuorum();
    await this.configureSyncDaemon();
    await this.sysctls?.apply(config);
    this.persistOwned();
    const ok: ReloadResult = { ok: true, hash, unchanged: false, vrrp, balancer, ms: performance.now() - t0, at: Date.now() };
    this.reloads.success++;
    this.lastReload = ok;
    dlog.info(`reloaded in ${ok.ms.toFixed(1)} ms (sha256 ${hash.slice(0, 12)})`, { vrrp: JSON.stringify(vrrp ?? null), balancer: JSON.stringify(balancer ?? null) });
    this.emit('reloaded', ok);
    return ok;
  }

  /**
   * Graceful stop: VRRP first (masters send priority 0 and drop their VIPs, so the peer takes over in
   * skew time), then the checks. The IPVS table stays, as keepalived leaves it on a plain stop: the
   * peer or the restarted lvsd adopts it without cutting connections. Services with omega: true are
   * removed (their down notifications run in Balancer.stop). Sync daemons lvsd started are stopped.
   */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = this.doStop();
      this.emit('stopping');
    }
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const dlog = this.log.child({ component: 'daemon' });
    dlog.info('stopping');
    await this.reloading?.catch(() => {});
    // Announced VIPs first: withdrawn (after their soft drain), and IPVS keeps forwarding with the checks
    // running for drain_delay while the router moves the flows to the other directors.
    await this.announcer?.stop().catch((e: unknown) => dlog.error('announcer stop failed', { err: e as Error }));
    this.announcer?.close();
    await this.engine.stop().catch((e: unknown) => dlog.error('VRRP stop failed', { err: e as Error }));
    await this.balancer.stop().catch((e: unknown) => dlog.error('balancer stop failed', { err: e as Error }));
    const omega = configServiceKeys(this.config, (vs) => vs.omega);
    if (omega.length && this.sync) {
      const report = await this.sync.apply(new Map(), { only: omega }).catch((e: unknown) => { dlog.error(`removing omega services failed: ${(e as Error).message}`); return undefined; });
      if (report) for (const e of report.errors) dlog.error(`removing omega services: ${e.message}`);
      this.persistOwned();
    }
    await this.syncDaemon?.stop();
    // Alerts of the hand-over (Entering BACKUP) get a short while to leave; a dead relay does not hold the stop.
    if (this.email) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.email.flushed(), new Promise((r) => { t = setTimeout(r, 2000); })]);
      clearTimeout(t);
      this.email.close();
    }
    for (const l of this.servers) {
      try { await l.close(); } catch (e) { dlog.warn(`listener close: ${(e as Error).message}`); }
    }
    await this.flushState();
    this.ipvs?.close();
    dlog.info('stopped', { kept_services: this.sync ? this.sync.owned.size : 0 });
  }
}
