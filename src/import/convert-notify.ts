// keepalived's notify_priority_changes / vrrp_notify_priority_changes -> lvsd notify.priority_changes.
// keepalived writes MASTER_PRIORITY / BACKUP_PRIORITY lines to its notify FIFOs; lvsd has no FIFO and
// passes the same four words to the instance's `notify` (any) command instead.
import type { Ctx } from './convert-common.js';
import type { YMap } from './emit.js';
import type { Statement } from './reader.js';
import { quoteValue } from '../text/quote.js';

/** keepalived <BOOL>: bare means true; true/on/yes, false/off/no (case-insensitive); undefined otherwise. */
export function keepalivedBool(s: Statement): boolean | undefined {
  const a = s.args[0]?.toLowerCase();
  if (a === undefined) return true;
  if (a === 'true' || a === 'on' || a === 'yes') return true;
  if (a === 'false' || a === 'off' || a === 'no') return false;
  return undefined;
}

export interface PriorityChanges { value: boolean; s: Statement }

/** Reads one notify_priority_changes statement; a value keepalived refuses is skipped with a note. */
export function readPriorityChanges(s: Statement, ctx: Ctx, where: string): PriorityChanges | undefined {
  const v = keepalivedBool(s);
  if (v === undefined) { ctx.skip(s, where, `${s.key} ${quoteValue(s.args[0] ?? '')} is not a boolean; left out`); return undefined; }
  return { value: v, s };
}

/**
 * Sets notify.priority_changes of one instance from its own statement, else the global one. True
 * without a `notify` command has nothing to run: left out with a note.
 */
export function applyPriorityChanges(notify: YMap, own: PriorityChanges | undefined, global: PriorityChanges | undefined, ctx: Ctx, where: string): void {
  const pc = own ?? global;
  if (!pc || !pc.value) return;
  if (notify.get('any') === undefined) {
    ctx.skip(pc.s, where, `${pc.s.key}: lvsd passes priority changes to the instance's notify command (keepalived: to its notify FIFO), and this instance has none; left out`);
    return;
  }
  notify.set('priority_changes', true, ctx.change(pc.s, where, `${pc.s.key}: MASTER_PRIORITY / BACKUP_PRIORITY go to the notify command as its STATE argument (keepalived writes them to its notify FIFO)`));
}
