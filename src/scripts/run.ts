// Running operators' programs (health-check scripts, track scripts, notify commands): argv without a
// shell, as an unprivileged user, in a process group of its own so a timeout kills the program and
// everything it started, with bounded output. One implementation, so every caller gets the same
// least-privilege and hang guarantees.
import { spawn } from 'node:child_process';
import { lstatSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';

export interface UserIds { uid: number; gid: number }

export function parsePasswd(text: string, name: string): UserIds | null {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) {
      const uid = Number(f[2]), gid = Number(f[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    }
  }
  return null;
}

/** uid/gid of a user (Node has no getpwnam; /etc/passwd holds the system users scripts run as); null when unknown. */
export function lookupUser(name: string, passwd = '/etc/passwd'): UserIds | null {
  if (/^\d+$/.test(name)) return { uid: Number(name), gid: Number(name) };
  try { return parsePasswd(readFileSync(passwd, 'utf8'), name); } catch { return null; }
}

const S_IWGRP = 0o020, S_IWOTH = 0o002, S_ISVTX = 0o1000;

/** Why a non-root user or group could change what this path runs, or null. `last`: the program itself. */
function writableByNonRoot(path: string, st: Stats, last: boolean): string | null {
  if (st.isSymbolicLink()) return st.uid !== 0 ? `${path} is a symbolic link owned by uid ${st.uid}` : null;
  if (st.uid !== 0) return `${path} is owned by uid ${st.uid}`; // an owner can always chmod
  if (st.gid !== 0 && st.mode & S_IWGRP) return `${path} is writable by group ${st.gid}`;
  // A sticky world-writable directory (/tmp) lets others add entries but not replace root's.
  if (st.mode & S_IWOTH && (last || !st.isDirectory() || !(st.mode & S_ISVTX))) return `${path} is writable by everyone`;
  return null;
}

/** `/a/b/c` -> ['/', '/a', '/a/b', '/a/b/c'] */
function components(path: string): string[] {
  const out = [path];
  for (let p = dirname(path); ; p = dirname(p)) { out.unshift(p); if (p === dirname(p)) break; }
  return out;
}

/**
 * Script security (keepalived's enable_script_security, always on in lvsd): null when neither the
 * program nor any directory above it, along the path as written and along its real path, can be
 * changed by a user or group other than root; otherwise the reason. Only meaningful when lvsd runs as
 * root (a non-root lvsd cannot hand out more than it has).
 */
export function scriptSecurityProblem(program: string): string | null {
  if (!isAbsolute(program)) return `${program} is not an absolute path`;
  let real = program;
  try { real = realpathSync(program); } catch { /* missing: the directories that exist are still checked */ }
  for (const path of real === program ? [program] : [program, real]) {
    const all = components(path);
    for (let i = 0; i < all.length; i++) {
      let st: Stats;
      // Missing from here on: nothing to run (spawn says ENOENT), and the secure part above it means
      // no one else can create it.
      try { st = lstatSync(all[i]!); } catch { break; }
      const why = writableByNonRoot(all[i]!, st, i === all.length - 1);
      if (why) return why;
    }
  }
  return null;
}

export interface RunOptions {
  argv: readonly string[];
  timeoutMs: number;
  /**
   * Whom to run as. Only root can switch users; otherwise the program runs as this process's own user.
   * null is a lookup that found no such user: as root that refuses to run, never falls back to root.
   */
  user?: UserIds | null | undefined;
  /** Bytes of stdout+stderr kept (for the log). 0 discards the output. */
  maxOutput?: number;
  /** The whole environment (scripts do not inherit the daemon's). */
  env?: Record<string, string>;
}

export interface RunResult {
  /** Exit code, or null when it ended on a signal, was killed or could not start. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Why it could not start (ENOENT, EACCES, ...), when it could not. */
  startError?: string;
  output: string;
  pid: number | undefined;
}

export const SCRIPT_ENV: Readonly<Record<string, string>> = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/** Runs a program to completion. Never throws and never outlives its timeout. */
export function runProgram(o: RunOptions): Promise<RunResult> {
  const max = o.maxOutput ?? 4096;
  const switchUser = o.user && process.getuid?.() === 0;
  return new Promise((resolve) => {
    let output = '';
    let truncated = false;
    let timedOut = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: Omit<RunResult, 'output' | 'timedOut' | 'pid'>, pid: number | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, timedOut, output: truncated ? output + '…' : output, pid });
    };
    if (o.user === null && process.getuid?.() === 0) {
      finish({ code: null, signal: null, startError: 'the script user does not exist (refusing to run it as root)' }, undefined);
      return;
    }
    // Whoever can change a program that root starts can run anything as root.
    const insecure = process.getuid?.() === 0 && o.argv[0] !== undefined ? scriptSecurityProblem(o.argv[0]) : null;
    if (insecure) {
      finish({ code: null, signal: null, startError: `refused by script security: ${insecure}` }, undefined);
      return;
    }
    let child;
    try {
      child = spawn(o.argv[0]!, o.argv.slice(1), {
        detached: true, // its own process group: the timeout kills the whole group
        stdio: ['ignore', max > 0 ? 'pipe' : 'ignore', max > 0 ? 'pipe' : 'ignore'],
        env: o.env ?? SCRIPT_ENV,
        ...(switchUser ? { uid: o.user!.uid, gid: o.user!.gid } : {}),
      });
    } catch (e) {
      finish({ code: null, signal: null, startError: (e as NodeJS.ErrnoException).code ?? (e as Error).message }, undefined);
      return;
    }
    const keep = (b: Buffer) => {
      const room = max - output.length;
      const text = b.toString('utf8');
      if (text.length > room) truncated = true;
      if (room > 0) output += text.slice(0, room);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    timer = setTimeout(() => {
      timedOut = true;
      try { if (child.pid) process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, o.timeoutMs);
    child.once('error', (e) => finish({ code: null, signal: null, startError: (e as NodeJS.ErrnoException).code ?? e.message }, child.pid));
    child.once('close', (code, signal) => finish({ code: timedOut ? null : code, signal }, child.pid));
  });
}

/** Why a finished program counts as failed, in words for the log; null when it exited 0. */
export function describeFailure(r: RunResult, timeoutMs: number): string | null {
  if (r.startError) return `cannot run: ${r.startError}`;
  if (r.timedOut) return `timed out after ${timeoutMs / 1000}s, killed`;
  if (r.signal) return `killed by ${r.signal}`;
  return r.code === 0 ? null : `exit ${r.code}`;
}

/** keepalived lets notify commands run on; lvsd bounds them so a hung one cannot pile up. */
export const NOTIFY_TIMEOUT_MS = 30_000;

/** Starts a notify command without waiting for it (a slow one never delays a transition); reports failures. */
export function runNotify(argv: readonly string[], user: UserIds | null, onFailure: (why: string, output: string) => void): void {
  void runProgram({ argv, user, timeoutMs: NOTIFY_TIMEOUT_MS }).then((r) => {
    const why = describeFailure(r, NOTIFY_TIMEOUT_MS);
    if (why) onFailure(why, r.output.trim());
  });
}

/**
 * Runs a notify command to its end and resolves then (NotifyQueues awaits it, so commands of one
 * instance run in order). A hung one is killed with its process group at timeoutMs; every failure,
 * the kill included, goes to onFailure. Never rejects.
 */
export async function runNotifyAwaited(argv: readonly string[], user: UserIds | null, timeoutMs: number, onFailure: (why: string, output: string) => void): Promise<RunResult> {
  const r = await runProgram({ argv, user, timeoutMs });
  const why = describeFailure(r, timeoutMs);
  if (why) onFailure(why, r.output.trim());
  return r;
}
