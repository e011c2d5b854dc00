// The diagnostics one instance keeps beside VRRP (the shell around peers.ts and split-brain.ts): the
// peers it hears, the split-brain alarm with its log lines and the timer that clears it, and debug
// lines for the adverts it drops. instance.ts calls it from receive() and on each transition; it never
// changes what VRRP does. Times kept are epoch ms (they cross threads as plain data).
import { performance } from 'node:perf_hooks';
import { RateLimitedLog } from './log-limit.js';
import type { VrrpAdvertisement } from './packet.js';
import { PeerTable, type PeerAdvert } from './peers.js';
import { SplitBrainDetector, type SplitBrainChange, type SplitBrainMaster, type SplitBrainStatus } from './split-brain.js';
import type { VrrpState } from './state-machine.js';

export interface DiagnosticsContext {
  name: string;
  version: 2 | 3;
  vrid: number;
  interface: string;
  primaryAddress: string;
  advertIntervalMs: number;
  /** The instance's effective priority now. */
  priority(): number;
  log(line: string): void;
}

/** Split-brain lines: each kind (raised, cleared) at most once per 10 s, so a flapping link or a forger cannot flood the log. */
const SPLIT_BRAIN_LOG_MS = 10_000;

export class InstanceDiagnostics {
  readonly peers = new PeerTable();
  private readonly detector: SplitBrainDetector;
  /** Drops by reason: the first of each at once, then one a minute (debug level, vrrp-log.ts). */
  private readonly dropLog: RateLimitedLog;
  private readonly alarmLog: RateLimitedLog;
  private timer: NodeJS.Timeout | null = null;
  private master = false;

  /** clock: the performance.now() clock rxTime is on, and its origin in epoch ms (tests pass their own). */
  constructor(private readonly ctx: DiagnosticsContext, private readonly clock: { now(): number; origin: number } = { now: () => performance.now(), origin: performance.timeOrigin }) {
    this.detector = new SplitBrainDetector(ctx.version, ctx.primaryAddress);
    this.dropLog = new RateLimitedLog(ctx.log);
    this.alarmLog = new RateLimitedLog(ctx.log, SPLIT_BRAIN_LOG_MS);
  }

  get splitBrain(): SplitBrainStatus { return this.detector.status(); }
  peerList(): PeerAdvert[] { return this.peers.list(); }

  /** rxTime on the performance.now() clock, as the channel passes it. */
  heard(p: VrrpAdvertisement, rxTime: number): void {
    const at = this.clock.origin + rxTime;
    this.peers.record(p.src, p, at);
    this.apply(this.detector.advert(p.src, p.priority, p.advertIntervalMs, at));
  }

  /** An advert for our VRID the instance refused (match.ts). Our own, looped back, is only logged. */
  dropped(p: VrrpAdvertisement, reason: string, detail: string, rxTime: number): void {
    this.dropLog.say(`drop:${reason}`, () => `${this.ctx.name}: dropped advert from ${p.src} (vrid ${p.vrid}, priority ${p.priority}, v${p.version}): ${reason}: ${detail}`);
    if (reason === 'own_source') return;
    const at = this.clock.origin + rxTime;
    this.peers.record(p.src, p, at, reason);
    // A router whose adverts we refuse (password, version, interval) is still a master on the wire.
    this.apply(this.detector.advert(p.src, p.priority, p.advertIntervalMs, at));
  }

  state(to: VrrpState): void {
    this.master = to === 'master';
    this.apply(this.detector.self(this.master, this.ctx.priority(), this.ctx.advertIntervalMs, this.epochNow()));
  }

  private epochNow(): number { return this.clock.origin + this.clock.now(); }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private apply(change: SplitBrainChange | null): void {
    if (change?.type === 'raised') {
      const others = change.masters.filter((m) => !m.self);
      const self = change.masters.find((m) => m.self);
      const who = [...others.map(describe), ...(self ? [`this router (${self.address}, priority ${self.priority})`] : [])].join(' and ');
      this.alarmLog.say('raised', () => `${this.ctx.name}: SPLIT BRAIN: ${who} advertise as master for vrid ${this.ctx.vrid} on ${this.ctx.interface} at once: they do not hear, or refuse, each other's adverts`);
    } else if (change?.type === 'cleared') {
      const left = change.remaining.length ? `${describe(change.remaining[0]!)} is the only master now` : 'no master heard now';
      this.alarmLog.say('cleared', () => `${this.ctx.name}: split brain over after ${(change.lastedMs / 1000).toFixed(1)} s: ${left}`);
    }
    this.arm();
  }

  /** While the alarm is on, wake when the next source may have gone silent, to clear it on time. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const at = this.detector.nextCheckAt();
    if (at === null) return;
    this.timer = setTimeout(() => { this.timer = null; this.apply(this.detector.evaluate(this.epochNow())); }, Math.max(0, at - this.epochNow()) + 1);
    this.timer.unref?.();
  }
}

const describe = (m: SplitBrainMaster): string => (m.self ? `this router (${m.address}, priority ${m.priority})` : `${m.address} (priority ${m.priority})`);
