// A lab kernel: where the lab's namespaces live. Two backends behind one interface: a UML kernel
// booted for the lab (it has IPVS wherever the host does not), or the host's own kernel when it has
// IPVS and we are root. Tests never see the difference except through `backend`.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { liveResources } from './cleanup.js';
import type { ExecRequest, ExecResult, ProcEvent, SpawnRequest } from './protocol.js';

export type Backend = 'uml' | 'host';

/** The lab kernel itself failed: did not boot, died, or was used after stop. Carries the console tail. */
export class LabKernelError extends Error {
  constructor(message: string, readonly consoleTail: string[] = []) {
    super(consoleTail.length ? `${message}; console:\n${consoleTail.join('\n')}` : message);
    this.name = 'LabKernelError';
  }
}

export interface LabKernel extends AsyncDisposable {
  readonly backend: Backend;
  /** Prepended to namespace names so concurrent labs on one host kernel never collide. */
  readonly nsPrefix: string;
  /** A temporary directory on the host, visible under the same path inside the lab; deleted at stop. */
  readonly dir: string;
  /** Kernel release the lab runs on. */
  readonly release: string;
  exec(req: ExecRequest): Promise<ExecResult>;
  spawn(req: SpawnRequest, onEvent: (ev: ProcEvent) => void): Promise<{ handle: number; pid: number }>;
  write(handle: number, data: Buffer | null): Promise<void>;
  kill(handle: number, signal: NodeJS.Signals): Promise<void>;
  /** Tears the kernel down (UML: power off; host: kill what it started). Idempotent. */
  stop(): Promise<void>;
  readonly stopped: boolean;
}

export interface KernelOptions {
  backend?: Backend | undefined;
  /** UML memory, e.g. '768M'. */
  mem?: string | undefined;
  /** UML: a host fd (usually 0, the user's terminal) wired to /dev/tty2 inside, for `lab shell`. */
  terminalFd?: number | undefined;
  /** Called with each UML console line (kernel log, init messages), for debugging. */
  onConsole?: ((line: string) => void) | undefined;
}

export function hostHasIpvs(): boolean {
  if (existsSync('/proc/net/ip_vs')) return true;
  try {
    execFileSync('modprobe', ['-n', 'ip_vs'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export function isRoot(): boolean { return typeof process.getuid === 'function' && process.getuid() === 0; }

/** LVSD_LAB_BACKEND=uml|host forces a backend; otherwise the host kernel is used when it can do IPVS. */
export function chooseBackend(requested?: Backend): { backend: Backend; reason: string } {
  const forced = requested ?? (process.env.LVSD_LAB_BACKEND as Backend | undefined);
  if (forced === 'uml' || forced === 'host') return { backend: forced, reason: requested ? 'requested' : 'LVSD_LAB_BACKEND' };
  if (forced) throw new Error(`LVSD_LAB_BACKEND must be "uml" or "host", not ${JSON.stringify(forced)}`);
  if (!isRoot()) return { backend: 'uml', reason: 'not root' };
  if (!hostHasIpvs()) return { backend: 'uml', reason: 'host kernel has no IPVS' };
  return { backend: 'host', reason: 'root on a kernel with IPVS' };
}

export async function bootKernel(opts: KernelOptions = {}): Promise<LabKernel> {
  const { backend } = chooseBackend(opts.backend);
  if (backend === 'uml') {
    const { bootUml } = await import('./uml.js');
    return bootUml(opts);
  }
  const { HostKernel } = await import('./hostkernel.js');
  return HostKernel.create();
}

/** Stops every lab and kernel still running, newest first (a lab before the kernel it lives in). */
export async function stopAllLabs(): Promise<void> {
  for (const r of [...liveResources].reverse()) await r.stop().catch(() => {});
}

// Under the test runner, a test file that forgets lab.stop() would otherwise keep its process alive
// (nginx and friends are running) until the runner's timeout: stop what is left once the file's
// tests are done. NODE_TEST_CONTEXT is how node --test marks the processes it runs files in.
if (process.env.NODE_TEST_CONTEXT) {
  const { after } = await import('node:test');
  after(stopAllLabs);
}
