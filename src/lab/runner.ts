// Runs commands and long-lived processes inside network namespaces of the kernel this code runs on.
// The same table serves both backends: the host backend calls it in-process, and inside UML the agent
// (agent.ts) wraps it in the console protocol. Namespaces are entered with `ip netns exec`, which also
// gives each process the namespace's own /sys and /etc/netns view, exactly what a person would type.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { ExecRequest, ExecResult, ProcEvent, SpawnRequest } from './protocol.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function commandLine(req: { argv: string[]; ns?: string | undefined }, prefix: string[]): string[] {
  if (req.argv.length === 0) throw new TypeError('argv must not be empty');
  return [...prefix, ...(req.ns ? ['ip', 'netns', 'exec', req.ns, ...req.argv] : req.argv)];
}

function environment(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!env.PATH) env.PATH = DEFAULT_PATH;
  return extra ? { ...env, ...extra } : env;
}

export class ProcessTable {
  /** prefix: argv put before every command, e.g. setpriv --pdeathsig so children die with us. */
  constructor(private readonly prefix: string[] = []) {}

  private next = 1;
  private readonly procs = new Map<number, ChildProcess>();

  /** Runs argv to completion and collects its output; never rejects for a failing command. */
  exec(req: ExecRequest): Promise<ExecResult> {
    return new Promise((resolve) => {
      const argv = commandLine(req, this.prefix);
      const started = process.hrtime.bigint();
      let child: ChildProcess;
      try {
        child = spawn(argv[0]!, argv.slice(1), {
          cwd: req.cwd, env: environment(req.env), stdio: ['pipe', 'pipe', 'pipe'],
        });
      } catch (e) {
        resolve({ code: null, signal: null, stdout: '', stderr: '', error: String(e), ms: 0 });
        return;
      }
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let spawnError: string | undefined;
      let timedOut = false;
      const timer = req.timeoutMs ? setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, req.timeoutMs) : undefined;
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      child.stdin!.on('error', () => { /* the command may exit without reading its input */ });
      child.on('error', (e) => { spawnError = e.message; });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        const result: ExecResult = {
          code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'),
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        };
        if (spawnError) result.error = spawnError;
        if (timedOut) result.error = `timed out after ${req.timeoutMs} ms`;
        resolve(result);
      });
      child.stdin!.end(req.input ?? '');
    });
  }

  /** Starts argv and streams its output through `emit`; returns the handle that names it. */
  spawn(req: SpawnRequest, emit: (ev: ProcEvent) => void): { handle: number; pid: number } {
    const handle = this.next++;
    let child: ChildProcess;
    if (req.tty) {
      // setsid -c: a new session whose controlling terminal is the tty, so job control and ^C work.
      const fd = openSync(req.tty, 'r+');
      const argv = commandLine({ ...req, argv: ['setsid', '-c', '-w', ...(req.ns ? ['ip', 'netns', 'exec', req.ns] : []), ...req.argv], ns: undefined }, this.prefix);
      child = spawn(argv[0]!, argv.slice(1), { cwd: req.cwd, env: environment(req.env), stdio: [fd, fd, fd] });
      closeSync(fd);
    } else {
      const argv = commandLine(req, this.prefix);
      child = spawn(argv[0]!, argv.slice(1), { cwd: req.cwd, env: environment(req.env), stdio: ['pipe', 'pipe', 'pipe'] });
    }
    this.procs.set(handle, child);
    let spawnError: string | undefined;
    child.stdout?.on('data', (b: Buffer) => emit({ ev: 'data', handle, fd: 1, data: b.toString('base64') }));
    child.stderr?.on('data', (b: Buffer) => emit({ ev: 'data', handle, fd: 2, data: b.toString('base64') }));
    child.stdin?.on('error', () => { /* reader went away; the exit event reports why */ });
    child.on('error', (e) => { spawnError = e.message; });
    child.on('close', (code, signal) => {
      this.procs.delete(handle);
      const ev: ProcEvent = { ev: 'exit', handle, code, signal };
      if (spawnError) ev.error = spawnError;
      emit(ev);
    });
    return { handle, pid: child.pid ?? -1 };
  }

  write(handle: number, data: Buffer | null): boolean {
    const child = this.procs.get(handle);
    if (!child || !child.stdin || child.stdin.destroyed) return false;
    if (data === null) child.stdin.end(); else child.stdin.write(data);
    return true;
  }

  kill(handle: number, signal: NodeJS.Signals): boolean {
    const child = this.procs.get(handle);
    if (!child) return false;
    return child.kill(signal);
  }

  /** Host pids of every process still running, for the last-resort synchronous clean-up. */
  pids(): number[] {
    return [...this.procs.values()].map((c) => c.pid).filter((p): p is number => typeof p === 'number');
  }

  killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
    for (const c of this.procs.values()) c.kill(signal);
  }

  get size(): number { return this.procs.size; }
}
