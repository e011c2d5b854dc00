// MISC_CHECK: a program run without a shell, as an unprivileged user, in a process group of its own so a
// timeout kills it and everything it started (process.kill(-pgid)). Exit 0 = up; 1 = down; with
// dynamic_weight (keepalived misc_dynamic) 2-255 = up with weight exit-2. Output is kept, bounded, for
// the log.
import { runProgram, type UserIds } from '../src/scripts/run.js';
import { down, formatMs, up, type CheckOutcome } from './outcome.js';

export interface ScriptProbeOptions {
  argv: readonly string[];
  timeout: number;
  user?: UserIds | null | undefined;
  dynamicWeight: boolean;
  /** Bytes of stdout+stderr kept for the log. */
  maxOutput?: number;
  env?: Record<string, string>;
}

export interface ScriptOutcome { outcome: CheckOutcome; output: string; pid: number | undefined }

export async function runScript(o: ScriptProbeOptions): Promise<ScriptOutcome> {
  const r = await runProgram({ argv: o.argv, timeoutMs: o.timeout, user: o.user, maxOutput: o.maxOutput ?? 4096, ...(o.env ? { env: o.env } : {}) });
  const outcome = r.startError ? down(`cannot run ${o.argv[0]}: ${r.startError}`)
    : r.timedOut ? down(`timed out after ${formatMs(o.timeout)}, killed`)
    : r.signal ? down(`killed by ${r.signal}`)
    : judgeExit(r.code ?? 255, o.dynamicWeight);
  return { outcome, output: r.output, pid: r.pid };
}

export function judgeExit(code: number, dynamicWeight: boolean): CheckOutcome {
  if (code === 0) return up();
  if (dynamicWeight && code >= 2 && code <= 255) return up(code - 2);
  return down(`exit ${code}`);
}
