// The one public view of the VRRP subsystem that the daemon, metrics, the control API and the fault
// policy read. VrrpWorker (the engine in its own thread, what `lvsd run` uses) implements it.
//
// InstanceStatus is plain data (it crosses threads by structured clone) and has the same shape as the
// parts of a VrrpInstance readers use (config, state, machine.priority, counters, ...), so code written
// against one reads the other.
import type { LvsdConfig, VrrpInstanceConfig } from '../src/config/model.js';
import type { Family } from './address.js';
import type { EngineReloadSummary, TrackItem, VrrpEngine } from './engine.js';
import type { InstanceCounters, Transition, VrrpInstance } from './instance.js';
import type { VrrpState } from './state-machine.js';
import type { PeerAdvert } from './peers.js';
import { priorityArithmetic, type PriorityArithmetic } from './priority-terms.js';
import type { SplitBrainStatus } from './split-brain.js';

export type { Transition } from './instance.js';

/** One instance as last reported. timer.at is on the reader's performance.now() clock. */
export interface InstanceStatus {
  name: string;
  state: VrrpState;
  family: Family;
  /** The instance's config as running (vrid, interface, version, virtual_ips, garp, ...). */
  config: VrrpInstanceConfig;
  /** Effective priority (after tracking weights). */
  priority: number;
  /** Configured priority as held now (a second address owner steps it down to 254). */
  basePriority: number;
  advertIntervalMs: number;
  timer: { kind: string; at: number } | null;
  /** The same facts, shaped as VrrpInstance.machine. */
  machine: { priority: number; faultCauses: string[]; timer: { kind: string; at: number } | null };
  primaryAddress: string;
  masterAddress: string | null;
  lastTransition: Transition | null;
  counters: InstanceCounters;
  /** The last advert from each source heard for our VRID, most recent first (times: epoch ms). */
  peers: PeerAdvert[];
  /** Two masters at once for our VRID (split-brain.ts); times epoch ms. */
  splitBrain: SplitBrainStatus;
  /** Base, each tracked thing's contribution, the result (priority-terms.ts); null when the engine's track list was not given. */
  priorityTerms: PriorityArithmetic | null;
}

/** A receive channel (one per interface and family) with the drops it counted before any instance. */
export interface ChannelStatus {
  opts: { ifname: string; family: Family };
  received: number;
  drops: Record<string, number>;
  /** Datagrams the kernel dropped before lvsd read them (receive buffer full), as of the snapshot; null if unknown. */
  socketDrops: number | null;
}

export interface StateEvent { name: string; from: VrrpState; to: VrrpState; priority: number; reason?: string; at: number }
/** An instance's effective priority changed (tracking, reload); at: epoch ms. */
export interface PriorityEvent { name: string; from: number; to: number; state: VrrpState; at: number }

export interface VrrpView {
  readonly instances: ReadonlyMap<string, InstanceStatus>;
  readonly channels: ReadonlyMap<string, ChannelStatus>;
  /** Checkers: a virtual service lost (false) or regained (true) quorum. */
  setTrackedObject(name: string, up: boolean): void;
  /** Admin: leave mastership (priority-0 advert), no preemption for holdMs; false for an unknown name. */
  giveUp(name: string, holdMs?: number): Promise<boolean>;
  reload(config: LvsdConfig): Promise<EngineReloadSummary>;
  stop(): Promise<void>;
  /** 'state': every transition; 'exit': the engine's thread ended (code). */
  on(event: 'state', listener: (e: StateEvent) => void): this;
  on(event: 'exit', listener: (code: number) => void): this;
  /** 'priority': every change of an instance's effective priority. */
  on(event: 'priority', listener: (e: PriorityEvent) => void): this;
}

/** Plain-data status of one live instance; `timeShift` is added to timer.at (clock conversion). */
export function instanceStatus(inst: VrrpInstance, timeShift = 0, trackItems?: TrackItem[]): InstanceStatus {
  const t = inst.machine.timer;
  const timer = t ? { kind: t.kind, at: t.at + timeShift } : null;
  return {
    name: inst.name, state: inst.state, family: inst.family, config: inst.config,
    priority: inst.machine.priority, basePriority: inst.basePriority, advertIntervalMs: inst.config.advert_interval, timer,
    machine: { priority: inst.machine.priority, faultCauses: inst.machine.faultCauses, timer },
    primaryAddress: inst.primaryAddress, masterAddress: inst.masterAddress, lastTransition: inst.lastTransition,
    counters: inst.counters,
    peers: inst.diagnostics.peerList(), splitBrain: inst.diagnostics.splitBrain,
    priorityTerms: trackItems ? priorityArithmetic(inst.basePriority, trackItems) : null,
  };
}

/** Plain-data status of one channel; `tables`: one reading of /proc/net/raw{,6} shared by all channels. */
export function channelStatus(ch: VrrpEngine['channels'] extends Map<string, infer C> ? C : never, tables?: Record<Family, ReadonlyMap<number, number>>): ChannelStatus {
  return { opts: { ifname: ch.opts.ifname, family: ch.opts.family }, received: ch.received, drops: { ...ch.drops },
    socketDrops: ch.readSocketDrops(tables?.[ch.opts.family]) };
}
