// Notify commands (keepalived's notify / notify_master / notify_backup / notify_fault / notify_stop):
// argv without a shell, detached and never awaited, so a slow script never delays a transition.
// The `any` command gets keepalived's arguments appended: INSTANCE|GROUP name STATE priority.
import type { VrrpState } from './state-machine.js';

export interface NotifyConfig { master?: string[]; backup?: string[]; fault?: string[]; stop?: string[]; any?: string[] }
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
