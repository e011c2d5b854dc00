// Notify commands (keepalived's notify / notify_master / notify_backup / notify_fault / notify_stop /
// notify_master_rx_lower_pri): argv without a shell. They run in transition order through a serial
// queue per instance (notify-queue.ts), each awaited up to its timeout, never on VRRP's own path.
// The `any` command gets keepalived's arguments appended: INSTANCE|GROUP name STATE priority.
import type { VrrpState } from './state-machine.js';

export interface NotifyConfig {
  master?: string[]; backup?: string[]; fault?: string[]; stop?: string[]; any?: string[];
  master_rx_lower_pri?: string[];
  /** Each command is killed (with its process group) after this long, ms. */
  timeout?: number;
  /** `any` also runs on priority changes, with MASTER_PRIORITY / BACKUP_PRIORITY (keepalived notify_priority_changes). */
  priority_changes?: boolean;
}
export type NotifyState = VrrpState | 'stop';

export const KEEPALIVED_STATE_NAMES: Record<NotifyState, string> = {
  initialize: 'INIT', backup: 'BACKUP', master: 'MASTER', fault: 'FAULT', stop: 'STOP',
};

/** The argv lists to run for one transition (pure, for tests). */
export function notifyCommands(cfg: NotifyConfig | undefined, kind: 'INSTANCE' | 'GROUP', name: string, state: NotifyState, priority: number): string[][] {
  if (!cfg) return [];
  const out: string[][] = [];
  const specific = state === 'master' ? cfg.master : state === 'backup' ? cfg.backup : state === 'fault' ? cfg.fault : state === 'stop' ? cfg.stop : undefined;
  if (specific) out.push([...specific]);
  if (cfg.any) out.push([...cfg.any, kind, name, KEEPALIVED_STATE_NAMES[state], String(priority)]);
  return out;
}

/**
 * keepalived's notify_priority_changes, which writes MASTER_PRIORITY / BACKUP_PRIORITY lines to its
 * notify FIFO: lvsd has no FIFO, so the `any` command gets them, with the new priority. Only in
 * MASTER and BACKUP, as keepalived (a priority change in FAULT or INIT announces nothing).
 */
export function priorityChangeCommands(cfg: NotifyConfig | undefined, name: string, state: VrrpState, priority: number): string[][] {
  if (!cfg?.any || !cfg.priority_changes) return [];
  if (state !== 'master' && state !== 'backup') return [];
  return [[...cfg.any, 'INSTANCE', name, state === 'master' ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY', String(priority)]];
}

/** keepalived runs notify_master_rx_lower_pri as configured, nothing appended. */
export function rxLowerPriCommands(cfg: NotifyConfig | undefined): string[][] {
  return cfg?.master_rx_lower_pri ? [[...cfg.master_rx_lower_pri]] : [];
}

/**
 * A master hears a lower priority from a router that took over during a partition; it answers with its
 * own advert at once and the other steps down, but a flapping link or a broken peer could repeat it
 * every interval: the command runs at most once per this many ms per instance.
 */
export const RX_LOWER_PRI_MIN_GAP_MS = 1000;

/** Whether master_rx_lower_pri runs now, given when it last ran (undefined: never); pure. */
export function rxLowerPriDue(lastRunAt: number | undefined, now: number, minGapMs = RX_LOWER_PRI_MIN_GAP_MS): boolean {
  return lastRunAt === undefined || now - lastRunAt >= minGapMs;
}
