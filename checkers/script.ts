// MISC_CHECK: a program run without a shell, as an unprivileged user, in a process group of its own so a
// timeout kills it and everything it started (process.kill(-pgid)). Exit 0 = up; 1 = down; with
// dynamic_weight (keepalived misc_dynamic) 2-255 = up with weight exit-2. Output is kept, bounded, for
// the log.
import { spawn } from 'node:child_process';
import { down, formatMs, up, type CheckOutcome } from './outcome.js';
import type { UserIds } from './users.js';

export interface ScriptProbeOptions {
  argv: readonly string[];
  timeout: number;
  user?: UserIds | undefined;
  dynamicWeight: boolean;
  /** Bytes of stdout+stderr kept for the log. */
  maxOutput?: number;
  env?: Record<string, string>;
}

export interface ScriptOutcome { outcome: CheckOutcome; output: string; pid: number | undefined }

export function runScript(o: ScriptProbeOptions): Promise<ScriptOutcome> {
  const max = o.maxOutput ?? 4096;
  return new Promise((resolve) => {
    let output = '';
    let truncated = false;
    let timedOut = false;
    let settled = false;
    const child = spawn(o.argv[0]!, o.argv.slice(1), {
      detached: true, // own process group: the timeout kills the whole group
      stdio: ['ignore', 'pipe', 'pipe'],
      env: o.env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      ...(o.user ? { uid: o.user.uid, gid: o.user.gid } : {}),
    });
    const keep = (b: Buffer) => {
      if (output.length < max) output += b.toString('utf8').slice(0, max - output.length);
      else truncated = true;
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const finish = (outcome: CheckOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ outcome, output: truncated ? output + '…' : output, pid: child.pid });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      try { if (child.pid) process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, o.timeout);
    child.once('error', (e) => finish(down(`cannot run ${o.argv[0]}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    child.once('close', (code, signal) => {
      if (timedOut) return finish(down(`timed out after ${formatMs(o.timeout)}, killed`));
      if (signal) return finish(down(`killed by ${signal}`));
      finish(judgeExit(code ?? 255, o.dynamicWeight));
    });
  });
}

export function judgeExit(code: number, dynamicWeight: boolean): CheckOutcome {
  if (code === 0) return up();
  if (dynamicWeight && code >= 2 && code <= 255) return up(code - 2);
  return down(`exit ${code}`);
}
