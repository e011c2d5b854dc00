// Notify commands (keepalived's notify / notify_master / notify_backup / notify_fault / notify_stop):
// argv without a shell, detached and never awaited, so a slow script never delays a transition.
// The `any` command gets keepalived's arguments appended: INSTANCE|GROUP name STATE priority.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { VrrpState } from './state-machine.js';

export interface NotifyConfig { master?: string[]; backup?: string[]; fault?: string[]; stop?: string[]; any?: string[] }
export type NotifyState = VrrpState | 'stop';

export const KEEPALIVED_STATE_NAMES: Record<NotifyState, string> = {
  initialize: 'INIT', backup: 'BACKUP', master: 'MASTER', fault: 'FAULT', stop: 'STOP',
};

export interface UserIds { uid: number; gid: number }

/** uid/gid of a user from /etc/passwd (Node has no getpwnam); null when unknown. */
export function lookupUser(name: string, passwd = '/etc/passwd'): UserIds | null {
  let text: string;
  try { text = readFileSync(passwd, 'utf8'); } catch { return null; }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) {
      const uid = Number(f[2]), gid = Number(f[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    }
  }
  return null;
}

/** The argv lists to run for one transition (pure, for tests). */
export function notifyCommands(cfg: NotifyConfig | undefined, kind: 'INSTANCE' | 'GROUP', name: string, state: NotifyState, priority: number): string[][] {
  if (!cfg) return [];
  const out: string[][] = [];
  const specific = state === 'master' ? cfg.master : state === 'backup' ? cfg.backup : state === 'fault' ? cfg.fault : state === 'stop' ? cfg.stop : undefined;
  if (specific) out.push([...specific]);
  if (cfg.any) out.push([...cfg.any, kind, name, KEEPALIVED_STATE_NAMES[state], String(priority)]);
  return out;
}

export type Runner = (argv: string[]) => void;

/** Starts a command and forgets it (its exit is reaped by Node). Errors go to `log`. */
export function spawnDetached(argv: string[], user: UserIds | null, log: (line: string) => void): void {
  try {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: 'ignore', detached: true, ...(user && process.getuid?.() === 0 ? { uid: user.uid, gid: user.gid } : {}),
    });
    child.on('error', (e) => log(`notify ${argv[0]}: ${e.message}`));
    child.unref();
  } catch (e) {
    log(`notify ${argv[0]}: ${(e as Error).message}`);
  }
}
