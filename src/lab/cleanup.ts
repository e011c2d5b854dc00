// Last-resort clean-up for everything the lab creates on the machine (UML processes, namespaces,
// temporary directories). Normal teardown is `lab.stop()` / `await using`; this registry covers the
// paths where that never runs: SIGINT/SIGTERM/SIGHUP to the test process (Ctrl-C, the test runner
// giving up on a file) and an exit with work still registered. Every action here is synchronous,
// because nothing asynchronous runs after `exit`, and a signal handler must finish before exiting.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Action = () => void;

/** Labs and lab kernels not yet stopped, oldest first (each adds and removes itself). */
export const liveResources = new Set<{ stop(): Promise<void> }>();

const actions = new Map<number, { what: string; run: Action }>();
let nextId = 1;
let installed = false;

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

function runAll(): void {
  // Newest first: a lab's namespaces go before the kernel that holds them.
  for (const id of [...actions.keys()].reverse()) {
    const a = actions.get(id);
    actions.delete(id);
    try { a?.run(); } catch { /* keep going: the next action may still free something */ }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  uninstall();
  process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 1));
}

function onExit(): void { runAll(); }

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', onExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off('exit', onExit);
}

/** Registers a synchronous clean-up; returns the function that unregisters it. */
export function onEmergency(what: string, run: Action): () => void {
  const id = nextId++;
  actions.set(id, { what, run });
  install();
  return () => {
    actions.delete(id);
    if (actions.size === 0) uninstall();
  };
}

export function pendingCleanups(): string[] {
  return [...actions.values()].map((a) => a.what);
}

/** Runs a command synchronously, ignoring failure (the thing may already be gone). */
export function quietly(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString();
  } catch {
    return '';
  }
}

export function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Prefix of everything the lab names on the host; the pid lets a later run spot leftovers of a dead one. */
export const LAB_PREFIX = 'lvsdlab';

export function ownerPid(name: string): number | undefined {
  const m = new RegExp(`^${LAB_PREFIX}-?(\\d+)`).exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Removes what labs of processes that no longer exist left behind (a SIGKILLed test process cannot
 * clean up after itself): their namespaces, and temporary directories. UML kernels notice on their own
 * (their console channel closes, the agent exits, init powers off).
 */
export function sweepStale(): string[] {
  const removed: string[] = [];
  const stale = (name: string): boolean => {
    const pid = ownerPid(name);
    return pid !== undefined && pid !== process.pid && !isAlive(pid);
  };
  for (const ns of quietly(['ip', 'netns', 'list']).split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean)) {
    if (!ns.startsWith(LAB_PREFIX) || !stale(ns)) continue;
    killNamespaceProcesses(ns);
    quietly(['ip', 'netns', 'del', ns]);
    removed.push(`netns ${ns}`);
  }
  // A UML kernel whose owner vanished normally powers off, but UML's own exit on SIGTERM can leave a
  // helper process behind (seen: one orphan of a kernel whose test process was killed). They carry
  // umid=lvsdlab-PID-N on their command line.
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const cmd = cmdline(Number(d));
    const m = /(?:^|\s)umid=(lvsdlab-\d+-\d+)(?:\s|$)/.exec(cmd);
    if (!m || !cmd.includes('linux.uml') || !stale(m[1]!)) continue;
    try { process.kill(Number(d), 'SIGKILL'); removed.push(`process ${d} (${m[1]})`); } catch { /* gone */ }
  }
  for (const base of [tmpdir(), '/dev/shm']) {
    let names: string[] = [];
    try { names = readdirSync(base); } catch { continue; }
    for (const n of names) {
      if (!n.startsWith(LAB_PREFIX) || !stale(n)) continue;
      const p = join(base, n);
      try { if (statSync(p).isDirectory()) { rmSync(p, { recursive: true, force: true }); removed.push(p); } } catch { /* raced */ }
    }
  }
  return removed;
}

/** SIGKILLs every process inside a host namespace (found by `ip netns pids`). */
export function killNamespaceProcesses(ns: string): number {
  let n = 0;
  for (const line of quietly(['ip', 'netns', 'pids', ns]).split('\n')) {
    const pid = Number(line.trim());
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try { process.kill(pid, 'SIGKILL'); n++; } catch { /* already gone */ }
  }
  return n;
}

/** The command line of a process, or '' when it is gone. */
export function cmdline(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(); } catch { return ''; }
}
