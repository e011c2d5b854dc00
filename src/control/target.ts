// What the control API needs of the running daemon. The Daemon (src/daemon/daemon.ts) satisfies this
// structurally; unit tests pass a fake. Fields are read on every request, so a reload that swaps the
// config, engine or balancer is picked up without restarting the listener.
import type { IpvsInfo } from '../../ipvs/messages.js';
import type { IpvsKernelTable } from '../../ipvs/table.js';
import type { LvsdConfig, VrrpInstanceConfig } from '../config/model.js';
import type { Logger } from '../log/index.js';
import type { AnnounceStatus } from '../announce/announcer.js';
import type { SysctlStatus } from '../sysctl/keeper.js';
import type { EventLog } from '../events/log.js';

/** A state change of a VRRP instance, if the engine records it. */
export interface TransitionRecord {
  from: string;
  to: string;
  reason?: string;
  /** When: ms since the epoch (or a Date). */
  at: number | Date;
}

/** The parts of an InstanceStatus (vrrp/view.ts; a VrrpInstance has them too) the status shows. */
export interface ControlVrrpInstance {
  readonly config: VrrpInstanceConfig;
  readonly state: string;
  /** Priority after tracking (the machine's). */
  readonly machine: { readonly priority: number; readonly faultCauses?: readonly string[] };
  /** Configured priority as the engine holds it now (may differ from config after a second-owner step down). */
  readonly basePriority?: number;
  readonly counters: {
    readonly advertsSent: number;
    readonly advertsReceived: number;
    readonly becameMaster: number;
    readonly announcements?: number;
    readonly vipErrors?: number;
    readonly drops?: Readonly<Record<string, number>>;
    readonly notes?: Readonly<Record<string, number>>;
  };
  /** The current master's address, when the instance knows it (itself when master). */
  readonly masterAddress?: string | null;
  readonly lastTransition?: TransitionRecord | null;
}

export interface ControlEngine {
  readonly instances: ReadonlyMap<string, ControlVrrpInstance>;
  /** Leave mastership now (priority-0 advert) and do not preempt for holdMs; false for an unknown name. */
  giveUp(name: string, holdMs?: number): boolean | Promise<boolean>;
}

/** One real server as the balancer sees it (Balancer.serverStates()). */
export interface ControlServerState {
  service: string;
  /** 'address:port' ('[v6]:port'), as checkers/outcome.ts endpointText writes it. */
  server: string;
  up: boolean;
  weight: number;
  drained?: boolean;
  reason?: string;
  configuredWeight?: number;
  /** Check types, in order. */
  checks?: readonly string[];
  /** Wall-clock ms of the last verdict change; 0 = none since lvsd loaded it. */
  changedAt?: number;
}

export interface ControlBalancer {
  serverStates(): readonly ControlServerState[];
  quorumState(): readonly { service: string; up: boolean | undefined }[];
  /** Weight 0 in IPVS while drained, whatever the checks say; may be async. */
  setDrained?(service: string, server: string, drained: boolean): unknown;
  /** Resolves once pending changes are in the kernel (so a drain is visible to ipvsadm on return). */
  settled?(): Promise<void>;
}

export interface ControlIpvs {
  info(): Promise<IpvsInfo>;
  table(): Promise<IpvsKernelTable>;
}

export interface ControlTarget {
  readonly config: LvsdConfig;
  readonly engine?: ControlEngine | null | undefined;
  readonly balancer?: ControlBalancer | null | undefined;
  readonly ipvs?: ControlIpvs | null | undefined;
  /** Announced VIPs (src/announce/, issue #14). */
  readonly announcer?: { status(): AnnounceStatus; giveUp?(name: string, holdMs: number): boolean } | null | undefined;
  /** The sysctls the config needs and what lvsd did about them (src/sysctl/keeper.ts). */
  readonly sysctls?: { status(): SysctlStatus } | null | undefined;
  /** Reload the configuration file; a result with ok: false (or a throw) means refused. */
  reload(): Promise<unknown>;
  readonly reloads: { readonly success: number; readonly failure: number };
  readonly configHash: string;
  /** When the daemon started: ms since the epoch (or a Date). */
  readonly startedAt: number | Date;
  /** The daemon's logger; the control API logs refusals and every change it makes through it. */
  readonly log?: Logger;
  /** The event log GET /events streams (src/events/log.ts). */
  readonly events?: EventLog | undefined;
}
