// The shell around plan.ts: reads the needed keys from /proc/sys of lvsd's network namespace (the
// net.ipv4.vs.* keys are per namespace and exist only while ip_vs is loaded, which is why lvsd sets
// them itself instead of relying on /etc/sysctl.d, applied at boot before the module loads), writes
// the ones it may set, logs each change and each unsatisfied key once per value seen, and keeps the
// outcome for /status.
import { readFile, writeFile } from 'node:fs/promises';
import type { LvsdConfig } from '../config/model.js';
import { fixFor, planSysctls, sysctlNeeds, type SysctlAction, type SysctlMode } from './plan.js';

export const PROC_SYS = '/proc/sys';

/** /proc/sys path of a dotted key (no key lvsd uses has a dot inside a component). */
export function sysctlPath(key: string, root = PROC_SYS): string {
  return `${root}/${key.replace(/\./g, '/')}`;
}

/** The trimmed value, or undefined when the key does not exist. */
export async function readSysctl(key: string, root = PROC_SYS): Promise<string | undefined> {
  try { return (await readFile(sysctlPath(key, root), 'utf8')).trim(); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function readSysctls(keys: Iterable<string>, root = PROC_SYS): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  for (const k of keys) out.set(k, await readSysctl(k, root));
  return out;
}

export interface SysctlStatusEntry {
  key: string;
  want: number;
  /** The value now (after lvsd wrote it), or null when the key does not exist. */
  value: string | null;
  /** ok; set: lvsd changed it (from `was`); wrong / missing: unsatisfied; error: the write failed. */
  state: 'ok' | 'set' | 'wrong' | 'missing' | 'error';
  was?: string;
  why: string;
  fix?: string;
  error?: string;
}
export interface SysctlStatus { mode: SysctlMode; sysctls: SysctlStatusEntry[] }

type Log = (level: 'info' | 'warn' | 'error', msg: string) => void;

export class SysctlKeeper {
  private last: SysctlStatus = { mode: 'auto', sysctls: [] };
  /** key -> what was last logged about it, so a reload with nothing new logs nothing. */
  private logged = new Map<string, string>();
  /** key -> the value lvsd found before it first changed it. */
  private changed = new Map<string, string>();

  constructor(private readonly log: Log, private readonly root = PROC_SYS) {}

  status(): SysctlStatus { return this.last; }

  /** At start and on reload. Never throws: a failure is logged and shown in status. */
  async apply(cfg: Pick<LvsdConfig, 'announce' | 'virtual_services' | 'global'>): Promise<SysctlStatus> {
    const mode = cfg.global.ipvs.sysctls;
    const needs = sysctlNeeds(cfg);
    let plan: SysctlAction[];
    try {
      plan = planSysctls(needs, await readSysctls(needs.map((n) => n.key), this.root), mode);
    } catch (e) {
      this.log('error', `sysctls: cannot read ${this.root}: ${(e as Error).message}`);
      return this.last;
    }
    const entries: SysctlStatusEntry[] = [];
    for (const a of plan) {
      const e: SysctlStatusEntry = { key: a.key, want: a.want, value: a.current ?? null, state: a.action, why: a.why };
      if (a.action === 'set') {
        try {
          await writeFile(sysctlPath(a.key, this.root), `${a.want}\n`);
          e.value = (await readSysctl(a.key, this.root)) ?? null;
          e.was = a.current!;
          if (!this.changed.has(a.key)) this.changed.set(a.key, a.current!);
          // Every write is a change of its own (someone reset the value in between): always logged.
          this.logged.delete(a.key);
          this.log('info', `sysctl ${a.key} ${a.current} -> ${a.want}: ${a.why}`);
        } catch (err) {
          e.state = 'error';
          e.error = (err as Error).message;
          e.fix = fixFor(a, 'wrong');
          this.once(a.key, `error ${e.error}`, 'error', `sysctl ${a.key}: cannot set ${a.want}: ${e.error}; ${a.why}`);
        }
      } else if (a.action === 'ok') {
        const was = this.changed.get(a.key);
        if (was !== undefined) { e.state = 'set'; e.was = was; }
        this.logged.delete(a.key);
      } else {
        e.fix = fixFor(a, a.action);
        const what = a.action === 'missing' ? 'does not exist in this kernel' : `is ${a.current}, needs ${a.want}`;
        this.once(a.key, `${a.action} ${a.current}`, 'warn', `sysctl ${a.key} ${what}: ${a.why}; fix: ${e.fix}`);
      }
      entries.push(e);
    }
    this.last = { mode, sysctls: entries };
    return this.last;
  }

  private once(key: string, what: string, level: 'info' | 'warn' | 'error', msg: string): void {
    if (this.logged.get(key) === what) return;
    this.logged.set(key, what);
    this.log(level, msg);
  }
}
