// The UML backend: boots Debian's user-mode-linux kernel (which carries IPVS) as a child process with
// the host filesystem as its root, loads the modules the lab needs, and starts the agent (agent.ts) on
// a console channel of its own (con1 = fds 3/4 of the child, /dev/tty1 inside). The kernel log stays
// on con0 (stdout), so requests and replies never interleave with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { encode, LineDecoder, RX_WINDOW, type ExecRequest, type ExecResult, type ProcEvent, type Reply, type Request, type SpawnRequest } from './protocol.js';
import { LAB_PREFIX, liveResources, onEmergency, sweepStale } from './cleanup.js';
import { requirePackages } from './prereq.js';
import { LabKernelError, type KernelOptions, type LabKernel } from './kernel.js';

export const UML_BINARY = '/usr/bin/linux.uml';
export const UML_MODULES_ROOT = '/usr/lib/uml/modules';

/** What the lab loads, dependencies first (resolved from modules.dep). */
export const LAB_MODULES = [
  'ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_lc', 'ip_vs_wlc', 'ip_vs_lblc', 'ip_vs_lblcr', 'ip_vs_dh', 'ip_vs_sh',
  'ip_vs_sed', 'ip_vs_nq', 'ip_vs_fo', 'ip_vs_ovf', 'ip_vs_mh',
  'veth', 'bridge', 'dummy', 'macvlan', 'ipvlan', 'tun', 'ipip', 'ip6_tunnel',
];

export function umlRelease(): string {
  const releases = existsSync(UML_MODULES_ROOT) ? readdirSync(UML_MODULES_ROOT) : [];
  if (releases.length === 0) throw new LabKernelError(`no UML modules under ${UML_MODULES_ROOT} (install user-mode-linux)`);
  return releases.sort().at(-1)!;
}

/** Orders module files so each comes after what it depends on (modules.dep lists a module's deps). */
export function resolveModules(modulesDep: string, wanted: string[]): { files: string[]; missing: string[] } {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of modulesDep.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const file = line.slice(0, colon).trim();
    deps.set(file, line.slice(colon + 1).trim().split(/\s+/).filter(Boolean));
    const base = file.split('/').at(-1)!.replace(/\.ko(\.\w+)?$/, '');
    byName.set(base.replace(/-/g, '_'), file);
  }
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const d of deps.get(file) ?? []) visit(d);
    order.push(file);
  };
  const missing: string[] = [];
  for (const name of wanted) {
    const file = byName.get(name.replace(/-/g, '_'));
    if (file) visit(file); else missing.push(name);
  }
  return { files: order, missing };
}

function shq(s: string): string { return `'${s.replace(/'/g, `'\\''`)}'`; }

export function initScript(opts: { dir: string; moduleDir: string; modules: string[]; agent: string; node: string; passthrough?: string[] }): string {
  // One modprobe loads them all, in the order given: a process start inside UML costs tens of ms (on a
  // loaded machine, ~1 s), so one insmod per module was most of the boot. modprobe wants
  // DIR/lib/modules/RELEASE, made in the private /run; an empty config directory keeps the host's
  // /etc/modprobe.d (install commands, options) out. The insmod loop stays as the fallback.
  const names = opts.modules.map((m) => shq(m.split('/').at(-1)!.replace(/\.ko(\.\w+)?$/, ''))).join(' ');
  const insmodEach = opts.modules.map((m) => {
    const name = m.split('/').at(-1)!.replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_');
    return `  grep -q ${shq(`^${name} `)} /proc/modules || insmod ${shq(join(opts.moduleDir, m))} || echo "lvsdlab: insmod ${name} failed"`;
  }).join('\n');
  // The private tmpfs on /tmp hides every host path below it: the lab's own directory, and the checkout
  // itself when it was cloned under /tmp (CI may do that). Mount those through hostfs again.
  // /var/tmp too: FRR keeps a crash-log directory per daemon there (/var/tmp/frr/zebra.PID), which would
  // otherwise pile up on the host.
  const underTmp = [opts.dir, ...(opts.passthrough ?? [])].filter((p, i, all) => (p.startsWith('/tmp/') || p.startsWith('/var/tmp/')) && all.indexOf(p) === i).sort((a, b) => a.length - b.length); // parents before children
  const passthrough = underTmp.map((p) => `mkdir -p ${shq(p)} && mount -t hostfs -o ${shq(p)} none ${shq(p)}`).join('\n');
  return `#!/bin/sh
# lvsd lab init (generated): mounts private /run /tmp /var/tmp /dev so nothing lands on the host, loads the
# lab's modules, then hands /dev/tty1 to the agent. Powers off when the agent exits.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
${passthrough}
mkdir -p /run/lvsdlab-modules/lib/modules /run/lvsdlab-modules/modprobe.d
ln -s ${shq(opts.moduleDir)} "/run/lvsdlab-modules/lib/modules/$(uname -r)"
if ! modprobe -d /run/lvsdlab-modules -C /run/lvsdlab-modules/modprobe.d -a ${names}; then
  echo "lvsdlab: modprobe failed, loading one module at a time"
${insmodEach}
fi
ip link set lo up
hostname lvsdlab
echo "lvsdlab: init done $(cut -d' ' -f1 /proc/uptime)"
${shq(opts.node)} ${shq(opts.agent)} /dev/tty1 ${shq(opts.dir)}
echo "lvsdlab: agent exited with $?"
systemctl poweroff -ff || echo o > /proc/sysrq-trigger
sleep 10
`;
}

type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

let counter = 0;

export class UmlKernel implements LabKernel {
  readonly backend = 'uml' as const;
  readonly nsPrefix = '';
  stopped = false;
  /** Why the kernel died on its own, if it did. */
  death: string | undefined;
  readonly console: string[] = [];
  bootMs = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; first?: (v: unknown) => void }>();
  private readonly listeners = new Map<number, (ev: ProcEvent) => void>();
  private nextId = 1;
  private readonly decoder = new LineDecoder();
  private readonly unregister: () => void;
  private readonly exited: Promise<void>;
  private ready!: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    private readonly memDir: string,
    readonly release: string,
    readonly umid: string,
    private readonly opts: KernelOptions,
  ) {
    this.unregister = onEmergency(`uml ${umid}`, () => this.emergencyStop());
    liveResources.add(this);
    this.exited = new Promise((resolve) => child.on('exit', () => resolve()));
    // A kernel that dies on its own (panic, OOM, killed) fails whatever waits on it, with its console.
    child.on('exit', (code, signal) => {
      if (this.stopped) return;
      this.death = `UML kernel exited unexpectedly (${code ?? signal})`;
      this.stopped = true;
      this.failPending(this.death);
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* no helpers left */ }
      this.removeDirs();
      this.unregister();
      liveResources.delete(this);
    });
    let consoleTail = '';
    (child.stdout as Readable).setEncoding('utf8');
    (child.stdout as Readable).on('data', (s: string) => {
      const lines = (consoleTail + s).split('\n');
      consoleTail = lines.pop() ?? '';
      for (const l of lines) this.consoleLine(l.replace(/\r$/, ''));
    });
    (child.stderr as Readable).setEncoding('utf8');
    (child.stderr as Readable).on('data', (s: string) => { for (const l of s.split('\n')) if (l) this.consoleLine(l); });
    const channel = child.stdio[4] as Readable;
    channel.setEncoding('utf8');
    channel.on('data', (s: string) => { for (const m of this.decoder.push(s)) this.dispatch(m as Reply); });
    (child.stdio[3] as Writable).on('error', () => { /* the kernel went away; pending requests fail on exit */ });
  }

  static async boot(opts: KernelOptions = {}): Promise<UmlKernel> {
    requirePackages();
    sweepStale();
    if (!existsSync(UML_BINARY)) throw new LabKernelError(`${UML_BINARY} not found: install user-mode-linux`);
    const release = umlRelease();
    const moduleDir = join(UML_MODULES_ROOT, release);
    const { files, missing } = resolveModules(readFileSync(join(moduleDir, 'modules.dep'), 'utf8'), LAB_MODULES);
    if (missing.includes('ip_vs')) throw new LabKernelError(`the UML kernel ${release} has no ip_vs module`);
    const id = `${process.pid}-${++counter}`;
    const dir = mkdtempSync(join(tmpdir(), `${LAB_PREFIX}-${id}-`));
    // UML backs its memory with a file in TMPDIR; tmpfs keeps that off the disk.
    const memDir = existsSync('/dev/shm') ? mkdtempSync(join('/dev/shm', `${LAB_PREFIX}-${id}-`)) : join(dir, 'mem');
    mkdirSync(memDir, { recursive: true });
    const agent = fileURLToPath(new URL('./agent.js', import.meta.url));
    const init = join(dir, 'init.sh');
    const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
    writeFileSync(init, initScript({ dir, moduleDir, modules: files, agent, node: process.execPath, passthrough: [repoRoot, process.cwd()] }));
    chmodSync(init, 0o755);
    const umid = `${LAB_PREFIX}-${id}`;
    const args = [
      'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'rw', `init=${init}`, `mem=${opts.mem ?? '768M'}`, 'quiet',
      'con=null', 'ssl=null', 'con0=fd:0,fd:1', 'con1=fd:3,fd:4', `umid=${umid}`, `uml_dir=${join(dir, 'uml')}`,
    ];
    const stdio: (('pipe' | 'ignore') | number)[] = ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'];
    if (opts.terminalFd !== undefined) { args.push('con2=fd:5'); stdio.push(opts.terminalFd); }
    mkdirSync(join(dir, 'uml'));
    const started = Date.now();
    // Its own process group: a terminal's Ctrl-C reaches us, not the kernel, and clean-up can end
    // the kernel with all its helper processes by the group id.
    // No parent-death signal on purpose: should this process be SIGKILLed, the agent sees its
    // channel close and powers the kernel off cleanly. UML ending on a signal instead (tried:
    // setpriv --pdeathsig KILL, TERM) can orphan its helper processes; sweepStale() is the net.
    const child = spawn(UML_BINARY, args, { stdio, detached: true, env: { ...process.env, TMPDIR: memDir } });
    const k = new UmlKernel(child, dir, memDir, release, umid, opts);
    k.ready = k.waitReady(60_000);
    try {
      await k.ready;
      k.updateRef();
    } catch (e) {
      await k.stop();
      throw e;
    }
    k.bootMs = Date.now() - started;
    return k;
  }

  private consoleLine(line: string): void {
    this.console.push(line);
    if (this.console.length > 500) this.console.splice(0, this.console.length - 500);
    this.opts.onConsole?.(line);
  }

  private waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new LabKernelError(`UML kernel did not start its agent within ${timeoutMs} ms`, this.console.slice(-30))), timeoutMs);
      this.onReady = () => { clearTimeout(timer); resolve(); };
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new LabKernelError(`UML kernel exited (${code ?? signal}) before its agent was ready`, this.console.slice(-30)));
      });
    });
  }

  private onReady: () => void = () => {};

  private dispatch(msg: Reply): void {
    if (!msg || typeof msg !== 'object') return;
    switch (msg.ev) {
      case 'ready': this.onReady(); return;
      case 'rx': this.acked = msg.bytes; this.pump(); return;
      case 'reply': {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.ok) { p.first?.(msg.result); p.resolve(msg.result); } else p.reject(new Error(`lab agent: ${msg.error}`));
        this.updateRef();
        return;
      }
      case 'data': this.listeners.get(msg.handle)?.(msg); return;
      case 'exit': {
        const l = this.listeners.get(msg.handle);
        this.listeners.delete(msg.handle);
        l?.(msg);
        this.updateRef();
        return;
      }
    }
  }

  private request<T>(req: RequestBody, first?: (v: T) => void): Promise<T> {
    if (this.stopped) return Promise.reject(new LabKernelError(`lab kernel is stopped${this.death ? ` (${this.death})` : ''}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, first: first as ((v: unknown) => void) | undefined });
      this.updateRef();
      this.send(encode({ ...req, id } as Request));
    });
  }

  private readonly outbox: Buffer[] = [];
  private sent = 0;
  private acked = 0;

  /** Queues bytes for the agent and writes as much as the agent's credit allows (RX_WINDOW). */
  private send(line: string): void {
    this.outbox.push(Buffer.from(line));
    this.pump();
  }

  private pump(): void {
    const channel = this.child.stdio[3] as Writable;
    while (this.outbox.length > 0 && this.sent - this.acked < RX_WINDOW && !channel.destroyed) {
      const head = this.outbox[0]!;
      const n = Math.min(head.length, RX_WINDOW - (this.sent - this.acked));
      channel.write(head.subarray(0, n));
      this.sent += n;
      if (n === head.length) this.outbox.shift(); else this.outbox[0] = head.subarray(n);
    }
  }

  /**
   * The kernel keeps this process alive only while something is under way (a request, a running
   * process); an idle, forgotten kernel lets the process exit, and the exit hook powers it off.
   */
  private updateRef(): void {
    const busy = this.pending.size + this.listeners.size > 0 && !this.stopped;
    const handles = [this.child, this.child.stdio[4], this.child.stdio[3], this.child.stdout, this.child.stderr] as unknown as ({ ref?: () => void; unref?: () => void } | null)[];
    for (const h of handles) { if (busy) h?.ref?.(); else h?.unref?.(); }
  }

  async exec(req: ExecRequest): Promise<ExecResult> {
    const r = await this.request<ExecResult>({ op: 'exec', ...req });
    if (r.stdoutFile) {
      // Only ever a file the agent made in our own directory.
      if (!r.stdoutFile.startsWith(this.dir + '/')) throw new Error(`lab agent named a file outside the lab: ${r.stdoutFile}`);
      r.stdout = readFileSync(r.stdoutFile, 'utf8');
      rmSync(r.stdoutFile, { force: true });
      delete r.stdoutFile;
    }
    return r;
  }

  async spawn(req: SpawnRequest, onEvent: (ev: ProcEvent) => void): Promise<{ handle: number; pid: number }> {
    // Output can follow the reply in the same chunk: listen before the promise settles.
    return this.request<{ handle: number; pid: number }>({ op: 'spawn', ...req }, (r) => this.listeners.set(r.handle, onEvent));
  }

  async write(handle: number, data: Buffer | null): Promise<void> {
    await this.request({ op: 'write', handle, data: data === null ? null : data.toString('base64') });
  }

  async kill(handle: number, signal: NodeJS.Signals): Promise<void> { await this.request({ op: 'kill', handle, signal }); }

  ping(): Promise<{ uptime: number; procs: number }> { return this.request({ op: 'ping' }); }

  get pid(): number | undefined { return this.child.pid; }

  private failPending(why: string): void {
    for (const p of this.pending.values()) p.reject(new LabKernelError(why, this.death ? this.console.slice(-30) : []));
    this.pending.clear();
    for (const [h, l] of this.listeners) l({ ev: 'exit', handle: h, code: null, signal: 'SIGKILL', error: why });
    this.listeners.clear();
  }

  private removeDirs(): void {
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.memDir, { recursive: true, force: true });
  }

  private emergencyStop(): void {
    this.stopped = true;
    if (this.child.pid && this.child.exitCode === null && this.child.signalCode === null) {
      try { process.kill(-this.child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    this.removeDirs();
  }

  async stop(): Promise<void> {
    if (this.stopped) { await this.exited; return; }
    const running = this.child.exitCode === null && this.child.signalCode === null;
    if (running) {
      // Ask the agent to exit (init then powers off); kill the group if that does not happen soon.
      const id = this.nextId++;
      this.child.ref();
      this.send(encode({ id, op: 'shutdown' }));
      this.stopped = true;
      const timer = setTimeout(() => { try { process.kill(-this.child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await this.exited;
      clearTimeout(timer);
    }
    this.stopped = true;
    // Helper processes of the kernel share its process group; make sure none outlives it.
    try { process.kill(-this.child.pid!, 'SIGKILL'); } catch { /* none left */ }
    for (const s of this.child.stdio) (s as Readable | Writable | null)?.destroy();
    this.failPending('lab kernel stopped');
    this.removeDirs();
    this.unregister();
    liveResources.delete(this);
  }

  async [Symbol.asyncDispose](): Promise<void> { await this.stop(); }
}

export function bootUml(opts: KernelOptions = {}): Promise<UmlKernel> { return UmlKernel.boot(opts); }
