// The checker shell: one CheckInstance per distinct (check definition, target address, port, alpha),
// however many virtual services point at it, each with its own timer. A probe's outcome goes through the
// pure core (verdict.ts); transitions go to every subscriber. Counters (by reason) and duration histograms
// are plain numbers here; the metrics layer maps them to prom-client.
import type { CheckConfig, CheckRef } from '../src/config/model.js';
import { httpProbe } from './http.js';
import { smtpProbe } from './smtp.js';
import { endpointText, formatMs, reasonStem, type CheckOutcome, type CheckTarget } from './outcome.js';
import { runScript } from './script.js';
import { fileProbe } from './file.js';
import { agentProbe } from './agent.js';
import { probeTcp } from './tcp.js';
import { probeDns } from './dns.js';
import { DNS_TYPES, RCODES } from './dns-message.js';
import { probeUdp, parseHex, parseHexPattern } from './udp.js';
import { probeIcmp } from './icmp.js';
import { lookupUser, SCRIPT_ENV } from '../src/scripts/run.js';
import { firstDelay, initialState, step, type VerdictChange, type VerdictState } from './verdict.js';

/** A check as the runner needs it: the config record (its name is irrelevant to what it probes). */
export type CheckDefinition = CheckConfig | Exclude<CheckRef, string>;
export type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
export type VerdictListener = (instance: CheckInstance, change: VerdictChange) => void;

/** Upper bounds (ms) of the probe-duration histogram buckets; the last bucket is +Inf. */
export const DURATION_BUCKETS_MS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

export class CheckCounters {
  probes = 0;
  /** Outcomes by reason: 'ok' for passes, the failure reason otherwise (e.g. 'connection refused'). */
  readonly byReason = new Map<string, number>();
  /** Per check type: counts per bucket of DURATION_BUCKETS_MS (+1 for +Inf), and the sum in ms. */
  readonly durations = new Map<string, { buckets: number[]; sumMs: number; count: number }>();

  record(type: string, outcome: CheckOutcome, ms: number): void {
    this.probes++;
    const key = outcome.ok ? 'ok' : reasonStem(outcome.reason);
    this.byReason.set(key, (this.byReason.get(key) ?? 0) + 1);
    let h = this.durations.get(type);
    if (!h) this.durations.set(type, h = { buckets: new Array(DURATION_BUCKETS_MS.length + 1).fill(0), sumMs: 0, count: 0 });
    let i = DURATION_BUCKETS_MS.findIndex((b) => ms <= b);
    if (i < 0) i = DURATION_BUCKETS_MS.length;
    h.buckets[i]!++;
    h.sumMs += ms;
    h.count++;
  }
}

export interface RunnerOptions {
  /** global.script_user: scripts without their own user run as this one. */
  scriptUser?: string;
  log?: Log;
  random?: () => number;
}

/** runAs: the user a script check without its own user runs as (global.script_user): another user, another probe. */
export function dedupeKey(check: CheckDefinition, target: CheckTarget, alpha: boolean, runAs?: string): string {
  const { name: _name, ...def } = check as CheckConfig;
  return JSON.stringify(runAs === undefined ? [def, target.address, target.port, alpha] : [def, target.address, target.port, alpha, runAs]);
}

/** Where a check probes: its own address/port when set, else the real server's. */
export function checkTarget(check: CheckDefinition, server: { address: string; family: 4 | 6; port: number }): CheckTarget {
  if (check.type === 'script' || check.type === 'file') return server;
  // An echo has no port: every service pinging one address shares one instance.
  if (check.type === 'icmp') return { address: check.address?.address ?? server.address, family: check.address?.family ?? server.family, port: 0 };
  return {
    address: check.address?.address ?? server.address,
    family: check.address?.family ?? server.family,
    port: check.port ?? server.port,
  };
}

export class CheckInstance {
  state: VerdictState;
  /** Whether a probe has finished at least once. */
  known = false;
  readonly listeners = new Set<VerdictListener>();
  timer: NodeJS.Timeout | undefined;
  running = false;
  probes = 0;
  lastOutcome: CheckOutcome | undefined;
  /** Wall-clock ms of the last verdict change (0 = none since it was created). */
  changedAt = 0;
  /** Set when its last listener left: a probe still in flight reports to no one and is not rescheduled. */
  released = false;
  /** Stops the probe's own watch (a file check's fs.watch), set while the runner runs it. */
  unwatch: (() => void) | undefined;
  /** Called once after the first probe finishes, whether or not it changed the verdict (see whenKnown). */
  readonly onKnown: (() => void)[] = [];

  constructor(readonly key: string, readonly check: CheckDefinition, readonly target: CheckTarget, readonly alpha: boolean,
    readonly probe: () => Promise<CheckOutcome>) {
    this.state = initialState(alpha);
  }

  describe(): string {
    return `${this.check.type} check of ${endpointText(this.target)}`;
  }
}

export class CheckRunner {
  readonly instances = new Map<string, CheckInstance>();
  readonly counters = new CheckCounters();
  private started = false;
  private stopped = false;
  private readonly log: Log;
  private readonly random: () => number;
  /** global.script_user; a reload may change it (script checks acquired afterwards run as the new one). */
  scriptUser: string | undefined;

  constructor(opts: RunnerOptions = {}) {
    this.scriptUser = opts.scriptUser;
    this.log = opts.log ?? (() => {});
    this.random = opts.random ?? Math.random;
  }

  /** The shared instance for this check and target (created on first use); listener gets its transitions. */
  acquire(check: CheckDefinition, target: CheckTarget, alpha: boolean, listener: VerdictListener): CheckInstance {
    const key = dedupeKey(check, target, alpha, check.type === 'script' && !check.user ? this.scriptUser ?? 'nobody' : undefined);
    let inst = this.instances.get(key);
    if (!inst) {
      inst = new CheckInstance(key, check, target, alpha, this.buildProbe(check, target));
      this.instances.set(key, inst);
      if (this.started) { this.schedule(inst, firstDelay(check, this.random())); this.watch(inst); }
    }
    inst.listeners.add(listener);
    return inst;
  }

  /**
   * Drops one listener; the last one leaving stops the probe and forgets the instance (a reload
   * acquires the new checks before releasing the old, so a check both configs share keeps running).
   */
  release(inst: CheckInstance, listener: VerdictListener): void {
    inst.listeners.delete(listener);
    if (inst.listeners.size || this.instances.get(inst.key) !== inst) return;
    clearTimeout(inst.timer);
    inst.timer = undefined;
    inst.released = true;
    inst.unwatch?.();
    inst.onKnown.length = 0;
    this.instances.delete(inst.key);
  }

  /**
   * Runs cb once the instance has its first result (now, if it has one). A first result that agrees
   * with the starting state is no transition, so listeners hear nothing; a balancer holding a
   * verdict over a reload until the new check has spoken needs to know anyway.
   */
  whenKnown(inst: CheckInstance, cb: () => void): void {
    if (inst.known) cb(); else inst.onKnown.push(cb);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const inst of this.instances.values()) { this.schedule(inst, firstDelay(inst.check, this.random())); this.watch(inst); }
  }

  /** A probe that watches something (a file check's directory) probes at once when it changes. */
  private watch(inst: CheckInstance): void {
    const w = (inst.probe as { watch?: (wake: () => void) => () => void }).watch;
    // A change seen while a probe runs is probed again right after it (that probe may have read the old content).
    const wake = (): void => {
      if (this.stopped || inst.released) return;
      if (inst.running) setTimeout(wake, 20);
      else void this.run(inst);
    };
    if (w && !inst.unwatch) inst.unwatch = w(wake);
  }

  stop(): void {
    this.stopped = true;
    for (const inst of this.instances.values()) { clearTimeout(inst.timer); inst.timer = undefined; inst.unwatch?.(); inst.unwatch = undefined; }
  }

  private schedule(inst: CheckInstance, ms: number): void {
    if (this.stopped) return;
    clearTimeout(inst.timer);
    inst.timer = setTimeout(() => { void this.run(inst); }, ms);
  }

  /** Runs one probe now (also used by tests and by a future "check now" control command). */
  async run(inst: CheckInstance): Promise<void> {
    if (inst.running) return;
    inst.running = true;
    const t0 = performance.now();
    let outcome: CheckOutcome;
    try {
      outcome = await inst.probe();
    } catch (e) {
      outcome = { ok: false, reason: `probe error: ${(e as Error).message}` };
    }
    inst.running = false;
    if (this.stopped || inst.released) return;
    const ms = performance.now() - t0;
    inst.probes++;
    inst.lastOutcome = outcome;
    this.counters.record(inst.check.type, outcome, ms);
    const r = step(inst.check, inst.state, outcome);
    inst.state = r.state;
    inst.known = true;
    if (r.changes.some((c) => c.kind !== 'weight')) inst.changedAt = Date.now();
    if (!outcome.ok && inst.state.up) this.log('debug', `${inst.describe()} failed (${outcome.reason}), ${inst.state.failures}/${inst.check.retries}, retry in ${formatMs(r.nextDelayMs)}`);
    for (const change of r.changes) for (const l of inst.listeners) l(inst, change);
    for (const cb of inst.onKnown.splice(0)) cb();
    this.schedule(inst, r.nextDelayMs);
  }

  private buildProbe(check: CheckDefinition, target: CheckTarget): () => Promise<CheckOutcome> {
    switch (check.type) {
      case 'tcp': case 'http': case 'https': {
        // Source address/port, SO_MARK and SO_BINDTODEVICE: the probe then connects through the addon
        // (checkers/tcp.ts), so it can follow the forwarding path the real traffic takes.
        const src = check.source;
        const route = { sourceAddress: src?.address, sourcePort: src?.port, fwmark: check.fwmark, bindInterface: check.bind_interface };
        if (check.type === 'tcp') {
          const o = { timeout: check.timeout, ...route };
          return () => probeTcp(target, o);
        }
        return httpProbe(check, target, route);
      }
      case 'smtp': {
        // keepalived SMTP_CHECK: banner, EHLO (HELO on 5xx), optional STARTTLS, QUIT (checkers/smtp.ts).
        const src = check.source;
        return smtpProbe(check, target, { sourceAddress: src?.address, sourcePort: src?.port, fwmark: check.fwmark, bindInterface: check.bind_interface });
      }
      case 'file': {
        // keepalived FILE_CHECK: a read per probe, and an fs.watch (started by the runner) for changes in between.
        return fileProbe({ path: check.path, weight: check.weight, reverse: check.reverse });
      }
      case 'agent': {
        // HAProxy agent-check: the agent's reply sets up/down/drain and a weight percentage (checkers/agent.ts).
        const src = check.source;
        return agentProbe(target, { timeout: check.timeout, protocol: check.protocol, send: check.send, path: check.path,
          sourceAddress: src?.address, sourcePort: src?.port, fwmark: check.fwmark, bindInterface: check.bind_interface });
      }
      case 'udp': {
        // keepalived UDP_CHECK: one datagram, ICMP errors from the socket's error queue (checkers/udp.ts).
        const src = check.source;
        const reply = { ...(check.reply_hex !== undefined ? parseHexPattern(check.reply_hex) : {}),
          regex: check.reply_regex !== undefined ? new RegExp(check.reply_regex) : undefined,
          minLength: check.min_reply_length, maxLength: check.max_reply_length };
        const o = { timeout: check.timeout, payload: check.payload_hex !== undefined ? parseHex(check.payload_hex)! : Buffer.from(check.payload ?? '', 'utf8'),
          requireReply: check.require_reply || check.reply_hex !== undefined || check.reply_regex !== undefined, reply,
          sourceAddress: src?.address, sourcePort: src?.port, fwmark: check.fwmark, bindInterface: check.bind_interface };
        return () => probeUdp(target, o);
      }
      case 'icmp': {
        // keepalived PING_CHECK: echo requests on raw sockets shared by every probe in flight (checkers/icmp.ts).
        const o = { timeout: check.timeout, size: check.size, sourceAddress: check.source?.address, fwmark: check.fwmark, bindInterface: check.bind_interface };
        return () => probeIcmp(target, o);
      }
      case 'dns': {
        // keepalived DNS_CHECK: one query per probe over UDP (TCP when asked, or after a truncated reply).
        const src = check.source;
        const o = { timeout: check.timeout, transport: check.transport,
          query: { name: check.query, type: DNS_TYPES[check.query_type], recursionDesired: check.recursion_desired },
          expect: { rcodes: check.rcode.map((r) => RCODES.indexOf(r)), answers: (check.answers ?? []).map((a) => a.address) },
          sourceAddress: src?.address, sourcePort: src?.port, fwmark: check.fwmark, bindInterface: check.bind_interface };
        return () => probeDns(target, o);
      }
      case 'script': {
        const userName = check.user ?? this.scriptUser ?? 'nobody';
        const user = lookupUser(userName);
        if (!user) return async () => ({ ok: false, reason: `no such user ${userName}` });
        const env = { ...SCRIPT_ENV, LVSD_ADDRESS: target.address, LVSD_PORT: String(target.port) };
        return async () => {
          const r = await runScript({ argv: check.argv, timeout: check.timeout, user, dynamicWeight: check.dynamic_weight, env });
          if (r.output.trim()) this.log(r.outcome.ok ? 'debug' : 'info', `script ${check.argv[0]} for ${endpointText(target)}: ${r.output.trim()}`);
          return r.outcome;
        };
      }
    }
  }
}
