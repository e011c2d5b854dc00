// The lab as tests see it: a topology built in a lab kernel, hosts to run commands in, services, and
// a teardown that always happens (stop(), `await using`, or the emergency path in cleanup.ts).
//
//   const lab = await Lab.start('single-director');
//   after(() => lab.stop());
//   const r = await lab.host('client').exec(['curl', '-s', 'http://192.0.2.10/']);
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { bootKernel, type Backend, type KernelOptions, type LabKernel } from './kernel.js';
import { buildPlan, namespaces, planScript, teardownScript, validate, type ServiceSpec, type Topology } from './topology.js';
import { topologyByName } from './topologies.js';
import { LabProcess, type ExitStatus } from './process.js';
import { killNamespaceProcesses, liveResources, onEmergency, quietly } from './cleanup.js';
import type { ExecResult } from './protocol.js';
import { nginxConfig, type NginxOptions } from './nginx.js';
import { fileURLToPath } from 'node:url';
import { RealServerHandle, selfSignedCert, type RealServerOptions } from './realserver-handle.js';

export class LabCommandError extends Error {
  constructor(readonly host: string, readonly argv: string[], readonly result: ExecResult) {
    super(`${host}: \`${argv.join(' ')}\` failed (${result.error ?? (result.code !== null ? `exit ${result.code}` : result.signal)})` +
      `${result.stderr ? `: ${result.stderr.trim().slice(-2000)}` : ''}`);
    this.name = 'LabCommandError';
  }
}

export interface ExecOptions {
  env?: Record<string, string>;
  /** Default: the test process's working directory (the same path inside UML), so relative
   *  paths such as dist/src/... mean the same on both backends. */
  cwd?: string;
  input?: string;
  timeoutMs?: number;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
}

export class LabHost {
  constructor(readonly lab: Lab, readonly name: string, readonly ns: string) {}

  /** Runs argv in this host; resolves with its status and output even when it fails. */
  exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.lab.kernel.exec({ argv, ns: this.ns, ...opts, cwd: opts.cwd ?? process.cwd() });
  }

  /** Runs argv and returns its stdout; throws LabCommandError unless it exits 0. */
  async run(argv: string[], opts: ExecOptions = {}): Promise<string> {
    const r = await this.exec(argv, opts);
    if (r.code !== 0) throw new LabCommandError(this.name, argv, r);
    return r.stdout;
  }

  /** A shell script (sh -c), stdout returned; throws unless it exits 0. */
  sh(script: string, opts: ExecOptions = {}): Promise<string> { return this.run(['sh', '-c', script], opts); }

  /** Starts a long-running process; the lab stops it at teardown if the test does not. */
  async spawn(argv: string[], opts: SpawnOptions = {}): Promise<LabProcess> {
    return this.lab.spawnIn(this, argv, opts);
  }

  /**
   * `node FILE ARGS` with this machine's node binary, e.g. lvsd's own code from dist/. Inside UML the
   * host filesystem is the root filesystem, so the same absolute paths work on both backends.
   */
  spawnNode(file: string, args: string[] = [], opts: SpawnOptions = {}): Promise<LabProcess> {
    return this.spawn([process.execPath, file, ...args], opts);
  }

  /** Starts nginx answering with this host's name (or opts.body) and waits until it accepts. */
  async startNginx(opts: NginxOptions = {}): Promise<LabProcess> {
    const dir = join(this.lab.dir, `nginx-${this.name}-${opts.port ?? 80}`);
    mkdirSync(dir, { recursive: true });
    const conf = nginxConfig(dir, { body: `${this.name}\n`, ...opts });
    const p = await this.spawn(['nginx', '-e', join(dir, 'error.log'), '-p', dir, '-c', conf]);
    await this.waitForTcp(opts.port ?? 80, { process: p });
    return p;
  }

  /** Starts src/lab/realserver.ts (Node) in this host and waits until it listens. */
  async startRealServer(opts: RealServerOptions = {}): Promise<RealServerHandle> {
    const name = opts.name ?? this.name;
    const port = opts.port ?? 8080;
    const args = ['--name', name, '--port', String(port)];
    let cert: string | undefined;
    if (opts.tls) {
      const c = selfSignedCert(this.lab.dir, name);
      cert = c.cert;
      args.push('--tls', c.cert, c.key);
    }
    if (opts.adminPort !== undefined) args.push('--admin-port', String(opts.adminPort));
    const p = await this.spawnNode(fileURLToPath(new URL('./realserver.js', import.meta.url)), args);
    await p.waitFor(/^listening \d+$/m, { which: 'stdout', timeoutMs: 30_000 });
    return new RealServerHandle(p, name, port, cert);
  }

  /** Waits until something listens on a TCP port in this host (reads /proc/net/tcp{,6}). */
  async waitForTcp(port: number, opts: { timeoutMs?: number; process?: LabProcess } = {}): Promise<void> {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    // A shell loop inside the host: one round trip however long it takes.
    const script = `i=0; while [ $i -lt ${Math.ceil((opts.timeoutMs ?? 15000) / 20)} ]; do ` +
      `if grep -qE '^ *[0-9]+: [0-9A-F]+:${hex} [0-9A-F]+:[0-9A-F]+ 0A' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then exit 0; fi; ` +
      `sleep 0.02; i=$((i+1)); done; exit 1`;
    const r = await this.exec(['sh', '-c', script]);
    if (r.code !== 0) {
      const extra = opts.process ? `; process ${opts.process.running ? 'running' : `exited ${JSON.stringify(opts.process.exitStatus)}`}, output:\n${opts.process.output}${opts.process.errors}` : '';
      throw new Error(`${this.name}: nothing listens on TCP port ${port} after ${opts.timeoutMs ?? 15000} ms${extra}`);
    }
  }
}

export interface LabOptions extends KernelOptions {
  /** Build in this kernel (shared across labs of a test file); otherwise the lab boots its own. */
  kernel?: LabKernel;
  /** Start the topology's services (nginx on the real servers). Default true. */
  services?: boolean;
}

export class Lab implements AsyncDisposable {
  readonly hosts = new Map<string, LabHost>();
  readonly switchNs: string;
  readonly processes = new Set<LabProcess>();
  /** Milliseconds spent building the topology, and booting the kernel if this lab booted it. */
  readonly timings: { bootMs: number; buildMs: number; servicesMs: number } = { bootMs: 0, buildMs: 0, servicesMs: 0 };
  private stopping: Promise<void> | undefined;
  private unregister: () => void = () => {};

  /** Prefixes of the labs currently built in each kernel: a second lab in one kernel gets its own. */
  private static readonly inUse = new WeakMap<LabKernel, Set<string>>();

  private readonly prefix: string;

  private constructor(readonly kernel: LabKernel, readonly topology: Topology, private readonly ownsKernel: boolean) {
    const used = Lab.inUse.get(kernel) ?? new Set<string>();
    Lab.inUse.set(kernel, used);
    let prefix = kernel.nsPrefix;
    for (let n = 2; used.has(prefix); n++) prefix = `${kernel.nsPrefix}lab${n}-`;
    used.add(prefix);
    this.prefix = prefix;
    liveResources.add(this);
    const ns = namespaces(topology, prefix);
    this.switchNs = ns.switch;
    for (const [h, n] of Object.entries(ns.hosts)) this.hosts.set(h, new LabHost(this, h, n));
  }

  get backend(): Backend { return this.kernel.backend; }
  /** Shared scratch directory (host path == lab path), removed with the kernel. */
  get dir(): string { return this.kernel.dir; }
  get namespaces(): string[] { return [this.switchNs, ...[...this.hosts.values()].map((h) => h.ns)]; }
  get addresses(): Record<string, string> { return this.topology.addresses ?? {}; }

  static async start(topology: Topology | string, opts: LabOptions = {}): Promise<Lab> {
    const t = typeof topology === 'string' ? topologyByName(topology) : topology;
    validate(t);
    const t0 = Date.now();
    const kernel = opts.kernel ?? await bootKernel(opts);
    if (kernel.stopped) throw new Error('lab kernel is stopped');
    const lab = new Lab(kernel, t, !opts.kernel);
    lab.timings.bootMs = opts.kernel ? 0 : Date.now() - t0;
    if (kernel.backend === 'host') {
      // The host kernel outlives us: its namespaces need their own emergency removal.
      const names = lab.namespaces;
      lab.unregister = onEmergency(`namespaces ${names.join(' ')}`, () => {
        for (const n of names) killNamespaceProcesses(n);
        for (const n of names) quietly(['ip', 'netns', 'del', n]);
      });
    }
    try {
      const t1 = Date.now();
      const script = planScript(buildPlan(t, lab.prefix));
      const r = await kernel.exec(script);
      // stderr names each step before running it: the last one named is the one that failed.
      if (r.code !== 0) throw new LabCommandError('(lab kernel)', ['sh', '-c', `build ${t.name}`], { ...r, stderr: r.stderr.split('\n').slice(-12).join('\n') });
      lab.timings.buildMs = Date.now() - t1;
      if (opts.services !== false) {
        const t2 = Date.now();
        await Promise.all((t.services ?? []).map((s) => lab.startService(s)));
        lab.timings.servicesMs = Date.now() - t2;
      }
    } catch (e) {
      await lab.stop();
      throw e;
    }
    return lab;
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`lab ${this.topology.name} has no host ${JSON.stringify(name)}; hosts: ${[...this.hosts.keys()].join(', ')}`);
    return h;
  }

  private async startService(s: ServiceSpec): Promise<void> {
    switch (s.kind) {
      case 'nginx': {
        const opts: NginxOptions = {};
        if (s.port !== undefined) opts.port = s.port;
        if (s.body !== undefined) opts.body = s.body;
        await this.host(s.host).startNginx(opts);
      }
    }
  }

  /** Internal: LabHost.spawn. */
  async spawnIn(host: LabHost, argv: string[], opts: SpawnOptions): Promise<LabProcess> {
    if (this.stopping) throw new Error('lab is stopping');
    const p = new LabProcess(host.name, argv, this.kernel);
    this.processes.add(p);
    void p.exited.then(() => this.processes.delete(p));
    try {
      const { handle, pid } = await this.kernel.spawn({ argv, ns: host.ns, ...opts, cwd: opts.cwd ?? process.cwd() }, (ev) => p.event(ev));
      p.handle = handle;
      p.pid = pid;
    } catch (e) {
      this.processes.delete(p);
      throw e;
    }
    return p;
  }

  /** Stops every process, removes the namespaces, and powers off the kernel if the lab booted it. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const errors: unknown[] = [];
    if (!this.kernel.stopped) {
      if (this.ownsKernel && this.kernel.backend === 'uml') {
        // Everything lives and dies with the kernel.
      } else {
        await Promise.all([...this.processes].map((p) => p.stop(1000).catch((e) => errors.push(e))));
        const r = await this.kernel.exec(teardownScript(this.namespaces)).catch((e) => { errors.push(e); return undefined; });
        if (r && r.code !== 0) errors.push(new Error(`teardown: ${r.stderr}`));
      }
    }
    this.unregister();
    Lab.inUse.get(this.kernel)?.delete(this.prefix);
    liveResources.delete(this);
    if (this.ownsKernel) await this.kernel.stop().catch((e) => errors.push(e));
    if (errors.length) throw new AggregateError(errors, `lab ${this.topology.name}: teardown had ${errors.length} error(s)`);
  }

  async [Symbol.asyncDispose](): Promise<void> { await this.stop(); }
}

export type { ExitStatus };
