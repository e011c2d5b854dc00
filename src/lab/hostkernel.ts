// The host backend: the lab's namespaces are namespaces of the machine's own kernel. Needs root; only
// complete where that kernel has IPVS. Names carry the test process's pid so leftovers of a killed run
// can be recognised and swept, and so parallel labs never share a name.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessTable } from './runner.js';
import { LAB_PREFIX, liveResources, onEmergency, sweepStale } from './cleanup.js';
import type { LabKernel } from './kernel.js';
import type { ExecRequest, ExecResult, ProcEvent, SpawnRequest } from './protocol.js';

let counter = 0;

export class HostKernel implements LabKernel {
  readonly backend = 'host' as const;
  readonly release = release();
  // Host processes outlive a SIGKILLed test process unless told otherwise: the kernel sends them
  // SIGKILL when it dies (the namespaces themselves are swept by the next lab).
  readonly table = new ProcessTable(existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--'] : []);
  stopped = false;
  private readonly unregister: () => void;

  private constructor(readonly nsPrefix: string, readonly dir: string) {
    this.unregister = onEmergency(`host lab ${dir}`, () => this.emergencyStop());
    liveResources.add(this);
  }

  static create(): HostKernel {
    if (process.getuid?.() !== 0) throw new Error('the host lab backend needs root (network namespaces); use LVSD_LAB_BACKEND=uml');
    sweepStale();
    const id = `${process.pid}x${++counter}`;
    const dir = mkdtempSync(join(tmpdir(), `${LAB_PREFIX}-${id}-`));
    return new HostKernel(`${LAB_PREFIX}${id}-`, dir);
  }

  private check(): void { if (this.stopped) throw new Error('lab kernel is stopped'); }

  // The tag lets a clean-up check attribute a process to this lab whatever its command line.
  private tagged<T extends { env?: Record<string, string> | undefined }>(req: T): T {
    return { ...req, env: { ...req.env, LVSD_LAB_TAG: this.nsPrefix } };
  }

  async exec(req: ExecRequest): Promise<ExecResult> { this.check(); return this.table.exec(this.tagged(req)); }

  async spawn(req: SpawnRequest, onEvent: (ev: ProcEvent) => void): Promise<{ handle: number; pid: number }> {
    this.check();
    return this.table.spawn(this.tagged(req), onEvent);
  }

  async write(handle: number, data: Buffer | null): Promise<void> { this.table.write(handle, data); }

  async kill(handle: number, signal: NodeJS.Signals): Promise<void> { this.table.kill(handle, signal); }

  private emergencyStop(): void {
    this.stopped = true;
    this.table.killAll('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.table.killAll('SIGKILL');
    const deadline = Date.now() + 2000;
    while (this.table.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    rmSync(this.dir, { recursive: true, force: true });
    this.unregister();
    liveResources.delete(this);
  }

  async [Symbol.asyncDispose](): Promise<void> { await this.stop(); }
}
