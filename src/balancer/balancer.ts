// The balancer's shell: subscribes every real server of every virtual service to its (shared) checks,
// turns verdict changes into desired IPVS entries (desired.ts) and hands them to the IPVS reconciler.
// Changes in the same event-loop turn are coalesced into one batch (setImmediate), and one apply runs
// at a time; what changes meanwhile goes into the next batch.
//
//   const b = new Balancer(config, { sync: new IpvsTableSync(await IpvsClient.open()), log });
//   b.on('verdict', (e: VerdictEvent) => ...); b.on('quorum', (e: QuorumEvent) => ...);
//   await b.start(); ... await b.stop();
import { EventEmitter } from 'node:events';
import type { ApplyReport } from '../../ipvs/sync.js';
import type { IndexedTable } from '../../ipvs/reconcile.js';
import { destinationKey, type IpvsDestination } from '../../ipvs/destination.js';
import { serviceKey } from '../../ipvs/service.js';
import type { CheckConfig, CheckRef, LvsdConfig, VirtualServiceConfig } from '../config/model.js';
import { CheckRunner, checkTarget, type CheckDefinition, type CheckInstance, type Log } from '../../checkers/runner.js';
import { endpointText, reasonStem } from '../../checkers/outcome.js';
import { lookupUser, runNotify, type UserIds } from '../scripts/run.js';
import { decideService, effectiveWeight, quorumPolicy, type ServerVerdict } from './desired.js';
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
}

export interface BalancerOptions {
  sync: TableSink;
  runner?: CheckRunner;
  log?: Log;
  /** Remove lvsd's services from the kernel on stop (default true). */
  cleanupOnStop?: boolean;
}

interface ServerSlot {
  vsIndex: number;
  rsIndex: number;
  name: string;
  checks: CheckInstance[];
  verdict: ServerVerdict;
}

interface ServiceSlot {
  vs: VirtualServiceConfig;
  key: string;
  servers: ServerSlot[];
  quorum: boolean | undefined;
}

export class Balancer extends EventEmitter {
  readonly runner: CheckRunner;
  private readonly services: ServiceSlot[] = [];
  private readonly desired: IndexedTable = new Map();
  private readonly dirty = new Set<number>();
  private flushScheduled = false;
  private applying: Promise<void> | undefined;
  private stopped = false;
  private readonly log: Log;
  /** global.script_user, resolved once (as the VRRP engine does): notify commands run as this user. */
  private readonly notifyUser: UserIds | null;
  /** Verdict and quorum changes by reason, for the metrics layer. */
  readonly transitions = new Map<string, number>();

  constructor(readonly config: LvsdConfig, private readonly opts: BalancerOptions) {
    super();
    this.log = opts.log ?? (() => {});
    this.notifyUser = lookupUser(config.global.script_user);
    this.runner = opts.runner ?? new CheckRunner({ scriptUser: config.global.script_user, log: this.log });
    const named = new Map(config.checks.map((c) => [c.name, c] as const));
    const resolve = (ref: CheckRef): CheckDefinition | undefined => (typeof ref === 'string' ? named.get(ref) : ref);
    config.virtual_services.forEach((vs, vsIndex) => {
      const slot: ServiceSlot = { vs, key: serviceKey(decideService(vs, [], undefined).entry.service), servers: [], quorum: undefined };
      this.services.push(slot);
      vs.real_servers.forEach((rs, rsIndex) => {
        const port = realServerPort(vs, rs);
        const server: ServerSlot = { vsIndex, rsIndex, name: endpointText({ address: rs.address.address, family: rs.address.family, port }), checks: [], verdict: { up: true } };
        const refs = rs.checks ?? vs.checks;
        for (const ref of refs) {
          const check = resolve(ref);
          if (!check) { this.log('error', `${vs.name}: unknown check ${String(ref)} (skipped)`); continue; }
          const target = checkTarget(check, { address: rs.address.address, family: rs.address.family, port });
          server.checks.push(this.runner.acquire(check as CheckConfig, target, vs.alpha, (inst) => this.onCheck(server, inst)));
        }
        server.verdict = this.serverVerdict(server);
        slot.servers.push(server);
      });
    });
  }

  /** Programs every service as its starting verdicts say, then starts the checks. */
  async start(): Promise<ApplyReport> {
    for (let i = 0; i < this.services.length; i++) this.decide(i);
    const t0 = performance.now();
    const report = await this.opts.sync.apply(this.desired);
    this.emitApplied(this.services.map((s) => s.vs.name), report, t0);
    this.runner.start();
    return report;
  }

  /** Stops the checks; omega runs down notifications; lvsd's services leave the kernel unless told otherwise. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.runner.stop();
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

  /** Per-service state for the VRRP engine and the control socket. */
  quorumState(): { service: string; up: boolean | undefined }[] {
    return this.services.map((s) => ({ service: s.vs.name, up: s.quorum }));
  }

  serverStates(): { service: string; server: string; up: boolean; weight: number }[] {
    return this.services.flatMap((s) => s.servers.map((srv) => ({ service: s.vs.name, server: srv.name, up: srv.verdict.up, weight: effectiveWeight(s.vs, srv.rsIndex, srv.verdict) })));
  }

  private serverVerdict(server: ServerSlot): ServerVerdict {
    // All checks must pass; a script-reported weight (the first one) replaces the configured weight.
    const up = server.checks.every((c) => c.state.up);
    const weight = server.checks.find((c) => c.state.weight !== undefined)?.state.weight;
    return { up, weight };
  }

  private onCheck(server: ServerSlot, inst: CheckInstance): void {
    if (this.stopped) return;
    const before = server.verdict;
    const after = this.serverVerdict(server);
    if (before.up === after.up && before.weight === after.weight) return;
    server.verdict = after;
    const slot = this.services[server.vsIndex]!;
    const rs = slot.vs.real_servers[server.rsIndex]!;
    const weight = effectiveWeight(slot.vs, server.rsIndex, after);
    let reason: string;
    if (before.up !== after.up) {
      const failing = server.checks.find((c) => !c.state.up);
      reason = after.up ? inst.state.reason : (failing ?? inst).state.reason;
      this.notify(after.up ? rs.notify?.up : rs.notify?.down);
    } else {
      reason = `weight ${weight} from script`;
    }
    const key = before.up !== after.up ? (after.up ? 'up' : `down: ${reasonStem(reason)}`) : 'weight';
    this.transitions.set(key, (this.transitions.get(key) ?? 0) + 1);
    this.log(after.up === before.up ? 'info' : after.up ? 'info' : 'warn',
      `${slot.vs.name}: real server ${server.name} ${before.up === after.up ? 'weight' : after.up ? 'up' : 'down'}: ${reason}`);
    const ev: VerdictEvent = { service: slot.vs.name, server: server.name, up: after.up, reason, weight, at: Date.now() };
    this.emit('verdict', ev);
    this.dirty.add(server.vsIndex);
    this.scheduleFlush();
  }

  private decide(i: number): void {
    const s = this.services[i]!;
    const d = decideService(s.vs, s.servers.map((x) => x.verdict), s.quorum);
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
    const dests = new Map<string, IpvsDestination>();
    for (const dst of d.entry.dests) dests.set(destinationKey(dst), dst);
    this.desired.set(s.key, { service: d.entry.service, dests });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => { this.flushScheduled = false; void this.flush(); });
  }

  private async flush(): Promise<void> {
    if (this.applying) { await this.applying; if (this.dirty.size) this.scheduleFlush(); return; }
    if (this.stopped || !this.dirty.size) return;
    const indexes = [...this.dirty];
    this.dirty.clear();
    for (const i of indexes) this.decide(i);
    const keys = indexes.map((i) => this.services[i]!.key);
    const t0 = performance.now();
    this.applying = (async () => {
      try {
        const report = await this.opts.sync.apply(this.desired, { only: keys });
        this.emitApplied(indexes.map((i) => this.services[i]!.vs.name), report, t0);
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
