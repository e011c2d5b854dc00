// The balancer's shell: subscribes every real server of every virtual service to its (shared) checks,
// turns verdict changes into desired IPVS entries (desired.ts) and hands them to the IPVS reconciler.
// Changes in the same event-loop turn are coalesced into one batch (setImmediate), and one apply runs
// at a time; what changes meanwhile goes into the next batch.
//
// Reload (reload()) is a diff: a check both configs define keeps its instance (verdict, counters,
// timer); a real server both define keeps its verdict, reason and admin drain; the new desired table
// goes to the reconciler, which writes only what differs (a weight change is one IPVS_CMD_SET_DEST).
//
// Slow start: a real server that comes back up (it was up before, went down, its checks pass again)
// ramps from weight 1 to its full weight over slow_start (slow-start.ts); a timer per ramping server
// marks its service dirty at each step. Not at start (nothing came back), not for a server a reload
// keeps up; a reload keeps a ramp under way; a failure cancels it.
//
//   const b = new Balancer(config, { sync: new IpvsTableSync(await IpvsClient.open()), log });
//   b.on('verdict', (e: VerdictEvent) => ...); b.on('quorum', (e: QuorumEvent) => ...);
//   await b.start(); ... await b.reload(nextConfig); b.setDrained('web', '10.0.1.11:80', true); ... await b.stop();
import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import type { ApplyReport } from '../../ipvs/sync.js';
import type { IpvsTimeouts } from '../../ipvs/timeouts.js';
import type { IndexedTable } from '../../ipvs/reconcile.js';
import { destinationKey, type IpvsDestination } from '../../ipvs/destination.js';
import { serviceKey } from '../../ipvs/service.js';
import type { CheckConfig, CheckRef, LvsdConfig, VirtualServiceConfig } from '../config/model.js';
import { CheckRunner, checkTarget, type CheckDefinition, type CheckInstance, type Log, type VerdictListener } from '../../checkers/runner.js';
import { endpointText, formatMs, reasonStem } from '../../checkers/outcome.js';
import { lookupUser, runNotify, type UserIds } from '../scripts/run.js';
import { decideService, effectiveWeight, quorumPolicy, type ServerVerdict } from './desired.js';
import { slowStartWeight } from './slow-start.js';
import { realServerPort } from './records.js';

export interface VerdictEvent {
  service: string;
  server: string;
  up: boolean;
  /** In words: "connection refused", "status 503", "check passed", "weight 5 from script". */
  reason: string;
  weight: number;
  at: number;
}
export interface QuorumEvent { service: string; up: boolean; liveWeight: number; min: number; hysteresis: number; sorryActive: boolean; at: number }
export interface AppliedEvent { services: string[]; report: ApplyReport; ms: number; at: number }

/** What the balancer needs of IpvsTableSync. */
export interface TableSink {
  apply(desired: IndexedTable, opts?: { only?: Iterable<string> }): Promise<ApplyReport>;
  /** global.ipvs_timeouts (IpvsTableSync.applyTimeouts); a sink without it (shadow) leaves the kernel's alone. */
  applyTimeouts?(t: Partial<IpvsTimeouts>): Promise<number>;
}

export interface BalancerOptions {
  sync: TableSink;
  runner?: CheckRunner;
  log?: Log;
  /** Remove lvsd's services from the kernel on stop (default true). */
  cleanupOnStop?: boolean;
  /** A monotonic clock in ms, for slow start (default performance.now); tests inject one. */
  now?: () => number;
}

/** One real server as the status API and metrics show it. */
export interface ServerState {
  service: string;
  /** address:port, as ipvsadm prints it ([v6]:port for IPv6). */
  server: string;
  /** The checks' verdict (admin drain does not change it). */
  up: boolean;
  /** Weight in the IPVS table now: 0 while drained; the script's weight when it reported one. */
  weight: number;
  configuredWeight: number;
  drained: boolean;
  /** Why it is up or down, in words ("connection refused", "check passed", "no checks"). */
  reason: string;
  /** Check types in order (e.g. ['http', 'tcp']). */
  checks: string[];
  /** Wall-clock ms of the last verdict change; 0 = unchanged since lvsd loaded it. */
  changedAt: number;
}

/** One shared check instance (a check definition probing one target), for metrics and status. */
export interface CheckState {
  key: string;
  type: string;
  name: string | undefined;
  target: string;
  up: boolean;
  known: boolean;
  reason: string;
  probes: number;
  /** Real servers listening to it. */
  subscribers: number;
  changedAt: number;
}

/** What a reload changed, in words for the log, and the IPVS writes it cost. */
export interface BalancerReloadSummary {
  servicesAdded: string[];
  servicesRemoved: string[];
  servicesChanged: string[];
  serversAdded: string[];
  serversRemoved: string[];
  serversChanged: string[];
  checksStarted: number;
  checksStopped: number;
  checksKept: number;
  report: ApplyReport;
  /** One line per change ("service web: real server 10.0.1.11:80 added"), empty when nothing changed. */
  changes: string[];
}

interface CheckLink { inst: CheckInstance; listener: VerdictListener }

interface ServerSlot {
  service: ServiceSlot;
  rsIndex: number;
  name: string;
  checks: CheckLink[];
  verdict: ServerVerdict;
  reason: string;
  changedAt: number;
  drained: boolean;
  /**
   * The verdict a server had before a reload gave it a check with no result yet: that check counts as
   * this until it has probed, so a reload neither puts a failed server back nor takes a good one out.
   */
  carried: ServerVerdict | undefined;
  /** Left the config in a reload: late callbacks of its checks are ignored. */
  gone: boolean;
  /** It has been up since lvsd loaded it: coming up again is a recovery (slow start), the first time is not. */
  everUp: boolean;
  /** Slow start under way: when it came back (the balancer's clock); undefined = not ramping. */
  rampFrom: number | undefined;
  rampTimer: NodeJS.Timeout | undefined;
}

interface ServiceSlot {
  vs: VirtualServiceConfig;
  /** The first IPVS service's key: what identifies the slot across reloads. */
  key: string;
  /** Every IPVS service's key (a group has one per address and fwmark). */
  keys: string[];
  servers: ServerSlot[];
  quorum: boolean | undefined;
  /** The sorry server has served (sorry_server_inhibit keeps it at weight 0 afterwards). */
  sorryUsed: boolean;
  /** fail_open is keeping every real server in the table (all are down). */
  failOpen: boolean;
}

export class Balancer extends EventEmitter {
  readonly runner: CheckRunner;
  private services: ServiceSlot[] = [];
  private cfg: LvsdConfig;
  private readonly desired: IndexedTable = new Map();
  private readonly dirty = new Set<ServiceSlot>();
  private flushScheduled = false;
  private applying: Promise<void> | undefined;
  private reloading: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly log: Log;
  private readonly now: () => number;
  /** global.script_user, resolved once per config (as the VRRP engine does): notify commands run as this user. */
  private notifyUser: UserIds | null;
  /** Verdict and quorum changes by reason, for the metrics layer. */
  readonly transitions = new Map<string, number>();

  constructor(config: LvsdConfig, private readonly opts: BalancerOptions) {
    super();
    this.cfg = config;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? (() => performance.now());
    this.notifyUser = lookupUser(config.global.script_user);
    this.runner = opts.runner ?? new CheckRunner({ scriptUser: config.global.script_user, log: this.log });
    this.services = this.build(config, new Map());
  }

  /** The config in force (the last one reload() accepted). */
  get config(): LvsdConfig { return this.cfg; }

  /**
   * Service slots for a config, subscribing each real server to its checks. A server that `previous`
   * has (same service key, same address:port) keeps its verdict, reason, drain and quorum state.
   */
  private build(config: LvsdConfig, previous: Map<string, ServiceSlot>): ServiceSlot[] {
    const named = new Map(config.checks.map((c) => [c.name, c] as const));
    const resolve = (ref: CheckRef): CheckDefinition | undefined => (typeof ref === 'string' ? named.get(ref) : ref);
    return config.virtual_services.map((vs) => {
      const keys = decideService(vs, [], undefined).entries.map((e) => serviceKey(e.service));
      const key = keys[0]!;
      const old = previous.get(key);
      const slot: ServiceSlot = { vs, key, keys, servers: [], quorum: old?.quorum, sorryUsed: old?.sorryUsed ?? false, failOpen: old?.failOpen ?? false };
      vs.real_servers.forEach((rs, rsIndex) => {
        const port = realServerPort(vs, rs);
        const name = endpointText({ address: rs.address.address, family: rs.address.family, port });
        const was = old?.servers.find((x) => x.name === name);
        const server: ServerSlot = {
          service: slot, rsIndex, name, checks: [], verdict: { up: true }, reason: '', changedAt: was?.changedAt ?? 0,
          drained: was?.drained ?? false, carried: undefined, gone: false,
          everUp: was?.everUp ?? false, rampFrom: undefined, rampTimer: undefined,
        };
        for (const ref of rs.checks ?? vs.checks) {
          const check = resolve(ref);
          if (!check) { this.log('error', `${vs.name}: unknown check ${String(ref)} (skipped)`); continue; }
          const target = checkTarget(check, { address: rs.address.address, family: rs.address.family, port });
          const listener: VerdictListener = (inst) => this.onCheck(server, inst);
          server.checks.push({ inst: this.runner.acquire(check as CheckConfig, target, vs.alpha, listener), listener });
        }
        if (was && server.checks.some((c) => !c.inst.known)) {
          server.carried = was.verdict;
          for (const c of server.checks) if (!c.inst.known) this.runner.whenKnown(c.inst, () => this.onCheck(server, c.inst));
        }
        server.verdict = this.serverVerdict(server);
        server.reason = was && isDeepStrictEqual(was.verdict, server.verdict) ? was.reason : this.startReason(server);
        if (server.verdict.up) server.everUp = true;
        // A ramp under way goes on (from the same moment) while the server stays up and slow start stays on.
        if (was?.rampFrom !== undefined && server.verdict.up && slowStartMs(vs, rs) > 0) server.rampFrom = was.rampFrom;
        slot.servers.push(server);
      });
      return slot;
    });
  }

  /** Programs every service as its starting verdicts say, then starts the checks. */
  async start(): Promise<ApplyReport> {
    await this.applyTimeouts(this.cfg);
    for (const s of this.services) this.decide(s);
    const t0 = performance.now();
    const report = await this.opts.sync.apply(this.desired);
    this.emitApplied(this.services.map((s) => s.vs.name), report, t0);
    this.runner.start();
    return report;
  }

  /**
   * Applies a new config as a diff (see the file comment). The config must be valid (loadConfig);
   * reloads run one after another. Resolves when the kernel has the new table.
   */
  reload(next: LvsdConfig): Promise<BalancerReloadSummary> {
    const run = this.reloading.then(() => this.reloadNow(next));
    this.reloading = run.catch(() => {});
    return run;
  }

  private async reloadNow(next: LvsdConfig): Promise<BalancerReloadSummary> {
    if (this.stopped) throw new Error('balancer stopped');
    await this.applying;
    const before = new Set(this.runner.instances.keys());
    const oldSlots = new Map(this.services.map((s) => [s.key, s] as const));
    this.runner.scriptUser = next.global.script_user;
    // Acquire the new before releasing the old: a check both configs share never drops to no listener.
    const slots = this.build(next, oldSlots);
    for (const s of this.services) for (const srv of s.servers) {
      srv.gone = true;
      clearTimeout(srv.rampTimer);
      for (const c of srv.checks) this.runner.release(c.inst, c.listener);
    }
    const after = new Set(this.runner.instances.keys());
    const summary: BalancerReloadSummary = {
      servicesAdded: [], servicesRemoved: [], servicesChanged: [], serversAdded: [], serversRemoved: [], serversChanged: [],
      checksStarted: [...after].filter((k) => !before.has(k)).length,
      checksStopped: [...before].filter((k) => !after.has(k)).length,
      checksKept: [...after].filter((k) => before.has(k)).length,
      report: { writes: 0, rounds: 0, reread: false, errors: [] },
      changes: [],
    };
    const newKeys = new Set(slots.map((s) => s.key));
    for (const s of this.services) {
      // Every old IPVS service leaves the desired table; decide() below puts back what the new config has
      // (a group that lost an address loses its service).
      for (const k of s.keys) this.desired.delete(k);
      if (newKeys.has(s.key)) continue;
      summary.servicesRemoved.push(s.vs.name);
      summary.changes.push(`service ${s.vs.name}: removed`);
    }
    for (const s of slots) {
      const old = oldSlots.get(s.key);
      if (!old) { summary.servicesAdded.push(s.vs.name); summary.changes.push(`service ${s.vs.name}: added`); continue; }
      if (!isDeepStrictEqual(old.vs, s.vs)) { summary.servicesChanged.push(s.vs.name); summary.changes.push(`service ${s.vs.name}: changed`); }
      for (const srv of s.servers) {
        const was = old.servers.find((x) => x.name === srv.name);
        const label = `${s.vs.name} ${srv.name}`;
        if (!was) { summary.serversAdded.push(label); summary.changes.push(`service ${s.vs.name}: real server ${srv.name} added`); continue; }
        if (!isDeepStrictEqual(old.vs.real_servers[was.rsIndex], s.vs.real_servers[srv.rsIndex])) {
          summary.serversChanged.push(label);
          summary.changes.push(`service ${s.vs.name}: real server ${srv.name} changed`);
        }
        if (was.verdict.up !== srv.verdict.up) { srv.changedAt = Date.now(); this.emitVerdict(srv, srv.reason); }
      }
      for (const was of old.servers) {
        if (s.servers.some((x) => x.name === was.name)) continue;
        summary.serversRemoved.push(`${s.vs.name} ${was.name}`);
        summary.changes.push(`service ${s.vs.name}: real server ${was.name} removed`);
      }
    }
    if (summary.checksStarted || summary.checksStopped) summary.changes.push(`checks: ${summary.checksStarted} started, ${summary.checksStopped} stopped, ${summary.checksKept} kept`);
    const keys = [...new Set([...this.services.flatMap((s) => s.keys), ...slots.flatMap((s) => s.keys)])];
    this.services = slots;
    await this.applyTimeouts(next);
    this.cfg = next;
    this.notifyUser = lookupUser(next.global.script_user);
    this.dirty.clear();
    for (const s of slots) this.decide(s);
    const t0 = performance.now();
    let report: ApplyReport | undefined;
    this.applying = (async () => {
      try { report = await this.opts.sync.apply(this.desired, { only: keys }); } catch (e) {
        this.log('error', `IPVS update failed: ${(e as Error).message}`);
      }
    })();
    await this.applying;
    this.applying = undefined;
    if (report) {
      summary.report = report;
      this.emitApplied(slots.map((s) => s.vs.name), report, t0);
    }
    if (this.dirty.size) this.scheduleFlush();
    return summary;
  }

  /**
   * global.ipvs_timeouts to the kernel (IPVS_CMD_SET_CONFIG), at start and on reload. A config without it
   * leaves the kernel's as they are (keepalived too). A refusal is logged; the services go on.
   */
  private async applyTimeouts(cfg: LvsdConfig): Promise<void> {
    const t = cfg.global.ipvs_timeouts;
    if (!t || !this.opts.sync.applyTimeouts) return;
    const secs = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms / 1000));
    const want: Partial<IpvsTimeouts> = {};
    if (t.tcp !== undefined) want.tcp = secs(t.tcp)!;
    if (t.tcp_fin !== undefined) want.tcpFin = secs(t.tcp_fin)!;
    if (t.udp !== undefined) want.udp = secs(t.udp)!;
    try {
      if (await this.opts.sync.applyTimeouts(want)) this.log('info', `IPVS timeouts set: ${Object.entries(want).map(([k, v]) => `${k} ${v}s`).join(', ')}`);
    } catch (e) {
      this.log('error', `IPVS timeouts not set: ${(e as Error).message}`);
    }
  }

  /** Stops the checks; omega runs down notifications; lvsd's services leave the kernel unless told otherwise. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.reloading;
    this.runner.stop();
    for (const s of this.services) for (const srv of s.servers) clearTimeout(srv.rampTimer);
    await this.applying;
    for (const s of this.services) {
      if (!s.vs.omega) continue;
      for (const srv of s.servers) if (srv.verdict.up) this.notify(s.vs.real_servers[srv.rsIndex]!.notify?.down);
      if (s.quorum) this.notify(s.vs.quorum?.down);
    }
    if (this.opts.cleanupOnStop ?? true) {
      const keys = [...this.desired.keys()];
      this.desired.clear();
      await this.opts.sync.apply(this.desired, { only: keys });
    }
  }

  /**
   * Admin drain (the control API): weight 0 in IPVS, so connections it has continue and no new ones
   * come (keepalived users run ipvsadm -e -w 0). It survives verdict changes and reloads while the
   * server stays in the config, and a drained server adds nothing to the service's live weight (quorum).
   * Returns false when the service (by name) or the server (address:port) is unknown.
   */
  setDrained(service: string, server: string, drained: boolean): boolean {
    const slot = this.services.find((s) => s.vs.name === service);
    const srv = slot?.servers.find((x) => x.name === server);
    if (!slot || !srv) return false;
    if (srv.drained === drained) return true;
    srv.drained = drained;
    this.log('info', `${service}: real server ${server} ${drained ? 'drained (weight 0)' : 'enabled'} by the administrator`);
    this.dirty.add(slot);
    this.scheduleFlush();
    return true;
  }

  /** Resolves once pending changes (verdicts, drains, a reload) are in the kernel. */
  async settled(): Promise<void> {
    await this.reloading;
    while (!this.stopped && (this.flushScheduled || this.applying || this.dirty.size)) {
      if (this.applying) await this.applying;
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** Per-service state for the VRRP engine and the control socket. */
  quorumState(): { service: string; up: boolean | undefined }[] {
    return this.services.map((s) => ({ service: s.vs.name, up: s.quorum }));
  }

  serverStates(): ServerState[] {
    return this.services.flatMap((s) => s.servers.map((srv) => ({
      service: s.vs.name, server: srv.name, up: srv.verdict.up,
      weight: srv.drained ? 0 : this.rampedVerdict(srv, false).slowWeight ?? effectiveWeight(s.vs, srv.rsIndex, srv.verdict),
      configuredWeight: s.vs.real_servers[srv.rsIndex]!.weight,
      // A healthy server's reason is its checks' current one (the stored reason is from its last
      // transition, which for a server up since start is 'starting up').
      drained: srv.drained, reason: srv.verdict.up && !srv.carried ? this.startReason(srv) : srv.reason, checks: srv.checks.map((c) => c.inst.check.type), changedAt: srv.changedAt,
    })));
  }

  /** Every running check instance with its verdict and probe count (counters by reason: runner.counters). */
  checkStates(): CheckState[] {
    return [...this.runner.instances.values()].map((i) => ({
      key: i.key, type: i.check.type, name: (i.check as { name?: string }).name, target: endpointText(i.target),
      up: i.state.up, known: i.known, reason: i.state.reason, probes: i.probes, subscribers: i.listeners.size, changedAt: i.changedAt,
    }));
  }

  private serverVerdict(server: ServerSlot): ServerVerdict {
    // All checks must pass; a script-reported weight (the first one) replaces the configured weight,
    // file checks' deltas add up, agents' percentages multiply (desired.ts effectiveWeight).
    // A check with no result yet after a reload counts as the verdict the server had before it.
    const carried = server.carried;
    const pending = (c: CheckLink) => carried !== undefined && !c.inst.known;
    if (carried && !server.checks.some(pending)) server.carried = undefined;
    const up = server.checks.every((c) => (pending(c) ? carried!.up : c.inst.state.up));
    const known = server.checks.filter((c) => !pending(c)).map((c) => c.inst.state);
    const weight = known.find((st) => st.weight !== undefined)?.weight;
    const deltas = known.filter((st) => st.weightDelta !== undefined);
    const percents = known.filter((st) => st.weightPercent !== undefined);
    const v: ServerVerdict = { up, weight };
    if (deltas.length) v.weightDelta = deltas.reduce((n, st) => n + st.weightDelta!, 0);
    if (percents.length) v.weightPercent = percents.reduce((p, st) => (p * st.weightPercent!) / 100, 100);
    if (server.carried && weight === undefined && !deltas.length && !percents.length) {
      v.weight = carried!.weight;
      if (carried!.weightDelta !== undefined) v.weightDelta = carried!.weightDelta;
      if (carried!.weightPercent !== undefined) v.weightPercent = carried!.weightPercent;
    }
    return v;
  }

  /**
   * The verdict the table gets: drained = weight 0; while slow start ramps, the ramp's weight. With
   * schedule, a ramp still under way arms the timer for its next step, and one that is over ends.
   */
  private rampedVerdict(server: ServerSlot, schedule: boolean): ServerVerdict {
    const slot = server.service;
    if (server.drained) return { up: server.verdict.up, weight: 0 };
    if (server.rampFrom === undefined || !server.verdict.up) return server.verdict;
    const rs = slot.vs.real_servers[server.rsIndex]!;
    const step = slowStartWeight(this.now() - server.rampFrom, effectiveWeight(slot.vs, server.rsIndex, server.verdict), slowStartMs(slot.vs, rs));
    if (!schedule) return step.done ? server.verdict : { ...server.verdict, slowWeight: step.weight };
    clearTimeout(server.rampTimer);
    server.rampTimer = undefined;
    if (step.done) {
      server.rampFrom = undefined;
      this.log('info', `${slot.vs.name}: real server ${server.name} slow start done, weight ${step.weight}`);
      return server.verdict;
    }
    server.rampTimer = setTimeout(() => {
      server.rampTimer = undefined;
      if (this.stopped || server.gone) return;
      this.dirty.add(slot);
      this.scheduleFlush();
    }, step.nextInMs);
    return { ...server.verdict, slowWeight: step.weight };
  }

  private startReason(server: ServerSlot): string {
    if (!server.checks.length) return 'no checks';
    const failing = server.checks.find((c) => !c.inst.state.up);
    return (failing ?? server.checks[0]!).inst.state.reason;
  }

  private onCheck(server: ServerSlot, inst: CheckInstance): void {
    if (this.stopped || server.gone) return;
    const before = server.verdict;
    const after = this.serverVerdict(server);
    if (before.up === after.up && before.weight === after.weight && before.weightDelta === after.weightDelta && before.weightPercent === after.weightPercent) return;
    server.verdict = after;
    const slot = server.service;
    const rs = slot.vs.real_servers[server.rsIndex]!;
    const weight = effectiveWeight(slot.vs, server.rsIndex, after);
    let reason: string;
    if (before.up !== after.up) {
      const failing = server.checks.find((c) => !c.inst.state.up);
      reason = after.up ? inst.state.reason : (failing?.inst ?? inst).state.reason;
      this.notify(after.up ? rs.notify?.up : rs.notify?.down);
      server.reason = reason;
      server.changedAt = Date.now();
      // Slow start: only a server that was up before and comes back; a failure ends a ramp.
      const ramp = slowStartMs(slot.vs, rs);
      if (after.up && server.everUp && ramp > 0 && weight > 1) {
        server.rampFrom = this.now();
        this.log('info', `${slot.vs.name}: real server ${server.name} slow start, weight 1 to ${weight} over ${formatMs(ramp)}`);
      } else if (!after.up && server.rampFrom !== undefined) {
        server.rampFrom = undefined;
        clearTimeout(server.rampTimer);
        server.rampTimer = undefined;
      }
      if (after.up) server.everUp = true;
    } else {
      reason = `weight ${weight} from ${inst.check.type === 'script' ? 'script' : `${inst.check.type} check`}`;
    }
    const key = before.up !== after.up ? (after.up ? 'up' : `down: ${reasonStem(reason)}`) : 'weight';
    this.transitions.set(key, (this.transitions.get(key) ?? 0) + 1);
    this.log(after.up === before.up ? 'info' : after.up ? 'info' : 'warn',
      `${slot.vs.name}: real server ${server.name} ${before.up === after.up ? 'weight' : after.up ? 'up' : 'down'}: ${reason}`);
    this.emitVerdict(server, reason);
    this.dirty.add(slot);
    this.scheduleFlush();
  }

  private emitVerdict(server: ServerSlot, reason: string): void {
    const s = server.service;
    const ev: VerdictEvent = { service: s.vs.name, server: server.name, up: server.verdict.up, reason, weight: effectiveWeight(s.vs, server.rsIndex, server.verdict), at: Date.now() };
    this.emit('verdict', ev);
  }

  private decide(s: ServiceSlot): void {
    // A drained server that is up serves at weight 0; down, it leaves like any failed server (fail_open
    // keeps it at 0). A ramping server has its slow-start weight.
    const verdicts = s.servers.map((x) => this.rampedVerdict(x, true));
    const d = decideService(s.vs, verdicts, s.quorum, s.sorryUsed);
    if (d.sorryActive) s.sorryUsed = true;
    if (d.failOpen !== s.failOpen) {
      s.failOpen = d.failOpen;
      this.log(d.failOpen ? 'warn' : 'info', d.failOpen
        ? `${s.vs.name}: every real server is down; fail_open keeps all ${s.servers.length} in the table`
        : `${s.vs.name}: a real server is up again; fail_open no longer holds the failed ones`);
    }
    if (d.quorum !== s.quorum) {
      const first = s.quorum === undefined;
      s.quorum = d.quorum;
      const { min, hysteresis } = quorumPolicy(s.vs);
      // A first evaluation that finds quorum is the normal start, not news.
      if (!first || !d.quorum) {
        this.log(d.quorum ? 'info' : 'warn', `${s.vs.name}: quorum ${d.quorum ? 'gained' : 'lost'} (live weight ${d.liveWeight}, min ${min}, hysteresis ${hysteresis})${d.sorryActive ? ', sorry server in' : ''}`);
        this.notify(d.quorum ? s.vs.quorum?.up : s.vs.quorum?.down);
      }
      const ev: QuorumEvent = { service: s.vs.name, up: d.quorum, liveWeight: d.liveWeight, min, hysteresis, sorryActive: d.sorryActive, at: Date.now() };
      this.emit('quorum', ev);
    }
    for (const e of d.entries) {
      const dests = new Map<string, IpvsDestination>();
      for (const dst of e.dests) dests.set(destinationKey(dst), dst);
      this.desired.set(serviceKey(e.service), { service: e.service, dests });
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => { this.flushScheduled = false; void this.flush(); });
  }

  private async flush(): Promise<void> {
    if (this.applying) { await this.applying; if (this.dirty.size) this.scheduleFlush(); return; }
    if (this.stopped || !this.dirty.size) return;
    // Slots a reload replaced meanwhile are not in the table any more.
    const slots = [...this.dirty].filter((s) => this.services.includes(s));
    this.dirty.clear();
    if (!slots.length) return;
    for (const s of slots) this.decide(s);
    const keys = slots.flatMap((s) => s.keys);
    const t0 = performance.now();
    this.applying = (async () => {
      try {
        const report = await this.opts.sync.apply(this.desired, { only: keys });
        this.emitApplied(slots.map((s) => s.vs.name), report, t0);
      } catch (e) {
        this.log('error', `IPVS update failed: ${(e as Error).message}`);
      }
    })();
    await this.applying;
    this.applying = undefined;
    if (this.dirty.size) this.scheduleFlush();
  }

  private emitApplied(services: string[], report: ApplyReport, t0: number): void {
    for (const e of report.errors) this.log('error', `IPVS: ${e.message}`);
    const ev: AppliedEvent = { services, report, ms: performance.now() - t0, at: Date.now() };
    this.emit('applied', ev);
  }

  /** Notify commands: argv without a shell, as the script user, fire and forget (bounded, src/scripts). */
  private notify(argv: readonly string[] | undefined): void {
    if (!argv) return;
    runNotify(argv, this.notifyUser, (why, output) => this.log('warn', `notify ${argv.join(' ')}: ${why}${output ? `: ${output}` : ''}`));
  }
}

/** The slow_start in force for a real server: its own, else the service's (0 = none). */
function slowStartMs(vs: VirtualServiceConfig, rs: VirtualServiceConfig['real_servers'][number]): number {
  return rs.slow_start ?? vs.slow_start ?? 0;
}
