// Notify commands (keepalived's notify / notify_master / notify_backup / notify_fault / notify_stop):
// argv without a shell, detached and never awaited, so a slow script never delays a transition.
// The `any` command gets keepalived's arguments appended: INSTANCE|GROUP name STATE priority.
import { runProgram, type UserIds } from '../src/scripts/run.js';
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

/** keepalived lets notify scripts run on; lvsd bounds them so a hung one cannot pile up. */
export const NOTIFY_TIMEOUT_MS = 30_000;

/** Starts a notify command without waiting for it: a slow script never delays a transition. */
export function runNotifyCommand(argv: string[], user: UserIds | null, log: (line: string) => void): void {
  void runProgram({ argv, user, timeoutMs: NOTIFY_TIMEOUT_MS, maxOutput: 0 }).then((r) => {
    if (r.startError) log(`notify ${argv[0]}: cannot run: ${r.startError}`);
    else if (r.timedOut) log(`notify ${argv[0]}: still running after ${NOTIFY_TIMEOUT_MS / 1000}s, killed`);
    else if (r.code !== 0) log(`notify ${argv[0]}: ${r.signal ? `ended by ${r.signal}` : `exit ${r.code}`}`);
  });
}
