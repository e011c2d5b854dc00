// Two lvsd directors, real servers and a client in the kernel lab: the library behind `npm run demo`
// (scripted and interactive) and the end-to-end tests. The lab's kernel is the judge throughout:
// who is master is read from `ip -o addr`, the IPVS table from `ipvsadm -Ln`, adverts from tcpdump.
//
//   const dl = await DirectorLab.start({ layout: natLayout });
//   const load = await dl.startLoad();
//   const { at } = await dl.killDirector(await dl.master());
//   ...
//   await dl.stop();
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { Lab, type LabHost, type LabKernel, type LabProcess } from '../lab/index.js';
import { masterDownIntervalMs, type Layout } from './layout.js';
import { LoadClient } from './load.js';
import type { ControlStatus } from '../control/status.js';

export type { Layout, LayoutOptions } from './layout.js';
export { masterDownIntervalMs } from './layout.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LVSD = join(ROOT, 'bin/lvsd.js');
const VRRP_MAIN = join(ROOT, 'dist/vrrp/main.js');
const BALANCER_RUN = join(ROOT, 'dist/src/balancer/run.js');
const LOAD_CLIENT = join(ROOT, 'dist/src/demo/load-client.js');
/** `lvsd run` exits with this while the daemon is not built (src/cli/main.ts EXIT_UNAVAILABLE). */
const EX_UNAVAILABLE = 69;

export interface DirectorLabOptions {
  layout: Layout;
  /** VRRP preempt on every director. Default true. */
  preempt?: boolean;
  /** Progress lines ("starting director1", ...). */
  log?: (line: string) => void;
  /** Build in this kernel instead of booting one (tests share one per file). */
  kernel?: LabKernel;
  /**
   * How each director runs lvsd: 'lvsd' = `lvsd run -c FILE`; 'split' = the VRRP engine and the
   * balancer as two processes plus kernel sync daemons started with ipvsadm (before `lvsd run`
   * existed); 'auto' (default) tries `lvsd run` and falls back to 'split' when it says it is not built.
   */
  runner?: 'auto' | 'lvsd' | 'split';
  /** Extra environment for the lvsd processes (e.g. LVSD_VRRP_TRACE=1). */
  env?: Record<string, string>;
}

export type DirectorRole = 'master' | 'backup' | 'down';

export interface DirectorStatus {
  director: string;
  /** lvsd processes running in this director. */
  running: boolean;
  /** master: holds every VIP of the sync group; backup: holds none while running; down: not running. */
  role: DirectorRole;
  /** Which of the layout's master addresses this director holds now. */
  holds: string[];
  /** The kernel's IPVS table in this director (`ipvsadm -Ln`). */
  services: IpvsServiceView[];
  /** The kernel's sync daemons (`ipvsadm -L --daemon`), e.g. "master syncid=11 eth1". */
  syncDaemons: string[];
  /** Where the kernel figures came from. */
  source: 'kernel';
  /** lvsd's own view (GET /status on its control socket) when it runs and answers, else undefined. */
  control?: ControlStatus;
}

export interface IpvsServiceView {
  service: string;
  scheduler: string;
  destinations: { server: string; forward: string; weight: number; active: number; inactive: number }[];
}

export interface KillResult {
  director: string;
  /** Lab clock (ms since the epoch, the lab kernel's) just before the SIGKILL. */
  at: number;
}

export interface RealServerControl {
  running: boolean;
  broken: boolean;
}

interface DirectorRuntime {
  config: string;
  /** lvsd's processes since the last start. */
  processes: LabProcess[];
  /** Every lvsd process this director ever ran, oldest first. */
  history: LabProcess[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `ls /sys/class/net` -> the links other than lo. */
function readdirLinks(text: string): string[] {
  return text.split(/\s+/).filter((l) => l && l !== 'lo');
}

/** `ipvsadm -Ln` text -> services and destinations. */
export function parseIpvsadm(text: string): IpvsServiceView[] {
  const out: IpvsServiceView[] = [];
  let cur: IpvsServiceView | undefined;
  for (const line of text.split('\n')) {
    const s = /^(TCP|UDP|SCTP|FWM)\s+(\S+)\s+(\S+)/.exec(line);
    if (s) { cur = { service: `${s[1]} ${s[2]}`, scheduler: s[3]!, destinations: [] }; out.push(cur); continue; }
    const d = /^\s+->\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
    if (d && cur) cur.destinations.push({ server: d[1]!, forward: d[2]!, weight: Number(d[3]), active: Number(d[4]), inactive: Number(d[5]) });
  }
  return out;
}

export class DirectorLab {
  readonly runtimes = new Map<string, DirectorRuntime>();
  readonly realServerState = new Map<string, RealServerControl>();
  private readonly nginx = new Map<string, LabProcess>();
  private runnerChosen: 'lvsd' | 'split' | undefined;
  private readonly loads = new Set<LoadClient>();
  readonly preempt: boolean;

  private constructor(readonly lab: Lab, readonly layout: Layout, private readonly opts: DirectorLabOptions) {
    this.preempt = opts.preempt ?? true;
    if (opts.runner && opts.runner !== 'auto') this.runnerChosen = opts.runner;
  }

  /** Boots the lab, starts the real servers, then both directors; resolves when the first director is master. */
  static async start(opts: DirectorLabOptions): Promise<DirectorLab> {
    const log = opts.log ?? (() => {});
    log(`booting the lab (${opts.layout.topology.name})`);
    const lab = await Lab.start(opts.layout.topology, { ...(opts.kernel ? { kernel: opts.kernel } : {}), services: false });
    const dl = new DirectorLab(lab, opts.layout, opts);
    try {
      await Promise.all(opts.layout.realServers.map((rs) => dl.startRealServer(rs)));
      for (const d of opts.layout.directors) {
        const file = join(lab.dir, `${d}.yaml`);
        writeFileSync(file, opts.layout.configFor(d, { preempt: dl.preempt, dir: lab.dir }));
        dl.runtimes.set(d, { config: file, processes: [], history: [] });
      }
      // The intended master first, so it is master from the start rather than by preemption.
      const [first, ...rest] = opts.layout.directors;
      await dl.startDirector(first!);
      await dl.waitForMaster(first!, 15_000);
      await Promise.all(rest.map((d) => dl.startDirector(d)));
    } catch (e) {
      await dl.stop().catch(() => {});
      throw e;
    }
    return dl;
  }

  get directors(): readonly string[] { return this.layout.directors; }
  get realServers(): readonly string[] { return this.layout.realServers; }
  /** How lvsd runs in the directors (decided at the first start when 'auto'). */
  get runner(): 'lvsd' | 'split' | undefined { return this.runnerChosen; }
  /** RFC 5798 Master_Down_Interval of the backup (lowest-priority director) for the watched instance. */
  get masterDownIntervalMs(): number {
    const prios = this.layout.directors.map((d) => this.layout.priorities[d] ?? 100);
    return masterDownIntervalMs(this.layout.watched.advertIntervalMs, Math.min(...prios));
  }

  host(name: string): LabHost { return this.lab.host(name); }

  private log(line: string): void { this.opts.log?.(line); }

  /** The lab kernel's wall clock, ms since the epoch (the clock load-client and tcpdump use). */
  async now(): Promise<number> {
    return Number((await this.host(this.layout.client).run(['date', '+%s%3N'])).trim());
  }

  /**
   * Addresses of the layout's master set each director holds now (`ip -o addr show up`): only links
   * that are up count, so a powered-off director's leftovers do not.
   */
  async holdings(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    await Promise.all(this.layout.directors.map(async (d) => {
      const text = await this.host(d).run(['ip', '-o', 'addr', 'show', 'up']);
      out.set(d, this.layout.masterAddresses.filter((a) => text.includes(` ${a}/`)));
    }));
    return out;
  }

  /** The director holding the (first) VIP, or undefined; throws if two hold it (split brain). */
  async master(): Promise<string | undefined> {
    const vip = this.layout.masterAddresses[0]!;
    const holders = [...(await this.holdings())].filter(([, a]) => a.includes(vip)).map(([d]) => d);
    if (holders.length > 1) throw new Error(`split brain: ${holders.join(' and ')} both hold ${vip}`);
    return holders[0];
  }

  /** Waits until `director` holds every master address and no other director holds any. */
  async waitForMaster(director: string, timeoutMs = 10_000): Promise<number> {
    const t0 = Date.now();
    let last = '';
    while (Date.now() - t0 < timeoutMs) {
      const h = await this.holdings();
      last = [...h].map(([d, a]) => `${d}: ${a.join(' ') || '-'}`).join('; ');
      const mine = h.get(director) ?? [];
      if (mine.length === this.layout.masterAddresses.length && [...h].every(([d, a]) => d === director || a.length === 0)) return Date.now() - t0;
      await sleep(100);
    }
    throw new Error(`${director} did not become master within ${timeoutMs} ms (${last})\n${this.logs(director).slice(-3000)}`);
  }

  /** Output of the lvsd process(es) of a director since its last start (all starts with `all`). */
  logs(director: string, all = false): string {
    const rt = this.runtimes.get(director);
    return ((all ? rt?.history : rt?.processes) ?? []).map((p) => p.output + p.errors).join('');
  }

  /**
   * VRRP transitions lvsd logged in a director over all its starts ("public: backup -> master
   * (master-down-timer)"), as logged by `lvsd run` and by the VRRP engine alone.
   */
  transitions(director: string, to?: string): string[] {
    return [...this.logs(director, true).matchAll(/(\S+): (\w+) -> (\w+) \(([^)]*)\)/g)]
      .filter((m) => to === undefined || m[3] === to)
      .map((m) => `${m[1]}: ${m[2]} -> ${m[3]} (${m[4]})`);
  }

  isRunning(director: string): boolean {
    return (this.runtimes.get(director)?.processes ?? []).some((p) => p.running);
  }

  /**
   * Starts lvsd in a director as a freshly booted machine would: links up, none of the VIPs, an empty
   * IPVS table and no sync daemons, then lvsd. Resolves once its IPVS table is programmed.
   */
  async startDirector(director: string): Promise<void> {
    const rt = this.runtimes.get(director);
    if (!rt) throw new Error(`no director ${director}; directors: ${this.layout.directors.join(', ')}`);
    if (this.isRunning(director)) return;
    const h = this.host(director);
    this.log(`starting lvsd in ${director}`);
    const vips = this.layout.masterAddresses.map((a) => `for d in $(ls /sys/class/net); do ip addr del ${a}/32 dev $d 2>/dev/null; ip addr del ${a}/24 dev $d 2>/dev/null; done`).join('; ');
    await h.sh(`for l in $(ls /sys/class/net); do ip link set $l up; done; ${vips}; ipvsadm -C; ` +
      'ipvsadm --stop-daemon master 2>/dev/null; ipvsadm --stop-daemon backup 2>/dev/null; true');
    rt.processes = [];
    // Two attempts: a start that dies at once is retried once (e.g. dist/ rewritten by a build meanwhile).
    for (let attempt = 1; this.runnerChosen !== 'split'; attempt++) {
      const p = await h.spawnNode(LVSD, ['run', '-c', rt.config], this.spawnOpts());
      rt.processes = [p];
      rt.history.push(p);
      const ready = await Promise.race([
        this.waitForTable(director, 30_000).then(() => 'ready' as const),
        p.exited.then((s) => s),
      ]);
      if (ready === 'ready' && p.running) { this.runnerChosen = 'lvsd'; return; }
      const status = ready === 'ready' ? p.exitStatus : ready;
      if (status?.code === EX_UNAVAILABLE && this.runnerChosen === undefined) {
        this.runnerChosen = 'split';
        this.log('`lvsd run` is not built yet: running the VRRP engine and the balancer side by side');
      } else if (attempt >= 2) {
        throw new Error(`${director}: lvsd run exited (${JSON.stringify(status)}):\n${p.output}${p.errors}`);
      } else {
        this.log(`${director}: lvsd run exited (${JSON.stringify(status)}); trying once more`);
      }
      rt.processes = [];
    }
    // Split: the balancer programs the table first, so a director never holds the VIP without it.
    const b = await h.spawnNode(BALANCER_RUN, [rt.config], this.spawnOpts());
    rt.processes.push(b);
    rt.history.push(b);
    await b.waitFor(/^ready /m, { timeoutMs: 30_000 });
    const sd = this.syncDaemonArgs();
    // Both roles at once (the kernel allows it): the master's messages reach the peer's backup.
    if (sd) await h.sh(`ipvsadm --start-daemon master ${sd} && ipvsadm --start-daemon backup ${sd}`);
    const v = await h.spawnNode(VRRP_MAIN, ['-c', rt.config], this.spawnOpts());
    rt.processes.push(v);
    rt.history.push(v);
    await v.waitFor(/instance\(s\) running/, { timeoutMs: 30_000 });
  }

  private spawnOpts(): { env?: Record<string, string> } {
    return this.opts.env ? { env: this.opts.env } : {};
  }

  /** ipvsadm arguments for the layout's global.lvs_sync_daemon (split runner only). */
  private syncDaemonArgs(): string | undefined {
    const cfg = parseYaml(this.layout.configFor(this.layout.directors[0]!, { preempt: this.preempt, dir: this.lab.dir })) as
      { global?: { lvs_sync_daemon?: { interface: string; sync_id?: number } } };
    const sd = cfg.global?.lvs_sync_daemon;
    if (!sd) return undefined;
    return `--mcast-interface ${sd.interface}${sd.sync_id !== undefined ? ` --syncid ${sd.sync_id}` : ''}`;
  }

  /** Waits until the director's IPVS table has the layout's virtual service with a destination. */
  async waitForTable(director: string, timeoutMs = 10_000): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const r = await this.host(director).exec(['ipvsadm', '-Ln']);
      if (parseIpvsadm(r.stdout).some((s) => s.destinations.length > 0)) return;
      await sleep(200);
    }
    throw new Error(`${director}: IPVS table still empty after ${timeoutMs} ms`);
  }

  /**
   * The director dies as a machine does: its lvsd processes get SIGKILL (no priority-0 advert, no
   * clean-up) and its links go down, so the addresses and IPVS entries it leaves behind answer
   * nobody. `how: 'process'` kills only the processes and leaves the links up.
   */
  async killDirector(director: string, how: 'machine' | 'process' = 'machine'): Promise<KillResult> {
    const rt = this.runtimes.get(director);
    if (!rt) throw new Error(`no director ${director}`);
    const pids = rt.processes.filter((p) => p.running && p.pid > 0).map((p) => p.pid);
    this.log(`kill -9 ${director}${how === 'machine' ? ' and power off its links' : ''}`);
    // One bash and one ip: the lab has one vCPU, and every fork here delays the backup's timer.
    const ifaces = readdirLinks(await this.host(director).run(['ls', '/sys/class/net']));
    const down = how === 'machine' ? `; ip -batch - <<< $'${ifaces.map((l) => `link set ${l} down`).join('\\n')}'` : '';
    const out = await this.host(director).run(['bash', '-c', `echo "\${EPOCHREALTIME/./}"; kill -9 ${pids.join(' ') || '0'} 2>/dev/null${down}; true`]);
    // Whatever the pid kill missed (it never should), the lab's own SIGKILL gets.
    await Promise.all(rt.processes.map((p) => Promise.race([p.exited, sleep(2000).then(() => p.kill('SIGKILL'))])));
    await Promise.all(rt.processes.map((p) => p.exited));
    return { director, at: Number(out.split('\n')[0]) / 1000 };
  }

  /** Graceful stop (SIGTERM: priority-0 advert, VIPs removed). */
  async stopDirector(director: string): Promise<void> {
    const rt = this.runtimes.get(director);
    await Promise.all((rt?.processes ?? []).map((p) => p.stop(5000)));
  }

  private nginxDir(rs: string): string { return join(this.lab.dir, `nginx-${rs}-80`); }
  private brokenFlag(rs: string): string { return join(this.lab.dir, `${rs}.broken`); }

  /** Starts (or restarts) nginx in a real server; it answers 500 while the server is "broken". */
  async startRealServer(rs: string): Promise<void> {
    if (this.nginx.get(rs)?.running) return;
    const h = this.host(rs);
    if (this.layout.prepareRealServer && !this.realServerState.has(rs)) await this.layout.prepareRealServer(h, rs);
    mkdirSync(this.nginxDir(rs), { recursive: true });
    const p = await h.startNginx({
      port: 80,
      // Server-level rewrite runs before any location, so /health answers 500 as well while broken.
      // The long-lived connection of the load client must not be closed after nginx's default 1000 requests.
      extra: `    if (-f ${this.brokenFlag(rs)}) { return 500 "broken\\n"; }\n    keepalive_requests 1000000;\n    keepalive_timeout 60s;\n`,
    });
    this.nginx.set(rs, p);
    const s = this.realServerState.get(rs);
    this.realServerState.set(rs, { running: true, broken: s?.broken ?? false });
    this.log(`${rs}: nginx running`);
  }

  /** Stops nginx in a real server (its port then refuses connections); resolves with the lab time of the SIGTERM. */
  async stopRealServer(rs: string): Promise<{ at: number }> {
    const p = this.nginx.get(rs);
    let at = await this.now();
    if (p?.running) {
      at = Number((await this.host(rs).sh(`date +%s%3N; kill -TERM ${p.pid}`)).trim());
      await p.stop(2000);
    }
    this.realServerState.set(rs, { running: false, broken: this.realServerState.get(rs)?.broken ?? false });
    this.log(`${rs}: nginx stopped`);
    return { at };
  }

  /**
   * Waits, inside `director`, until the real server's destination is in (present) or out of its IPVS
   * table; resolves with the lab time it was first seen so. One round trip: the loop runs in the lab.
   */
  async waitForDestination(director: string, rs: string, present: boolean, timeoutMs = 30_000): Promise<number> {
    const svc = `${this.layout.vip.address}:${this.layout.vip.port}`;
    const ep = this.layout.realServerEndpoint(rs);
    const test = `ipvsadm -Ln -t ${svc} | grep -qF -- '-> ${ep} '`;
    const cond = present ? `! ${test}` : test;
    const r = await this.host(director).exec(['sh', '-c', `n=0; while ${cond}; do n=$((n+1)); [ $n -gt ${Math.ceil(timeoutMs / 25)} ] && exit 1; sleep 0.02; done; date +%s%3N`], { timeoutMs: timeoutMs + 5000 });
    if (r.code !== 0) throw new Error(`${director}: ${ep} still ${present ? 'absent from' : 'in'} the IPVS table after ${timeoutMs} ms`);
    return Number(r.stdout.trim());
  }

  /** The real server keeps running but answers every request with 500. */
  async breakRealServer(rs: string): Promise<void> {
    writeFileSync(this.brokenFlag(rs), 'broken\n');
    this.realServerState.set(rs, { running: this.realServerState.get(rs)?.running ?? false, broken: true });
    this.log(`${rs}: answering 500`);
  }

  async fixRealServer(rs: string): Promise<void> {
    await this.host(rs).sh(`rm -f ${this.brokenFlag(rs)}`);
    this.realServerState.set(rs, { running: this.realServerState.get(rs)?.running ?? false, broken: false });
    this.log(`${rs}: answering 200`);
  }

  /** What the director's kernel says (VIPs held, IPVS table, sync daemons), and lvsd's /status when it answers. */
  async status(director: string): Promise<DirectorStatus> {
    const h = this.host(director);
    const running = this.isRunning(director);
    const [addr, table, daemons, control] = await Promise.all([
      h.run(['ip', '-o', 'addr', 'show', 'up']),
      h.exec(['ipvsadm', '-Ln']),
      h.exec(['ipvsadm', '-L', '--daemon']),
      running ? this.controlStatus(director) : Promise.resolve(undefined),
    ]);
    const holds = this.layout.masterAddresses.filter((a) => addr.includes(` ${a}/`));
    return {
      director, running,
      role: !running ? 'down' : holds.length === this.layout.masterAddresses.length ? 'master' : 'backup',
      holds,
      services: parseIpvsadm(table.stdout),
      syncDaemons: daemons.stdout.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter(Boolean),
      source: 'kernel',
      ...(control ? { control } : {}),
    };
  }

  /** Name of the VRRP instance with this VRID on this interface in a director's config. */
  instanceName(director: string, vrid: number, iface: string): string | undefined {
    const rt = this.runtimes.get(director);
    if (!rt) return undefined;
    const cfg = parseYaml(readFileSync(rt.config, 'utf8')) as { vrrp_instances?: Array<{ name: string; vrid: number; interface: string }> };
    return cfg.vrrp_instances?.find((i) => i.vrid === vrid && i.interface === iface)?.name;
  }

  /** The director's control socket (global.control.listen `unix:PATH` in its config), if it has one. */
  controlSocket(director: string): string | undefined {
    const rt = this.runtimes.get(director);
    if (!rt) return undefined;
    const cfg = parseYaml(readFileSync(rt.config, 'utf8')) as { global?: { control?: { listen?: string } } };
    const listen = cfg.global?.control?.listen;
    return listen?.startsWith('unix:') ? listen.slice(5) : undefined;
  }

  /**
   * GET /status from lvsd's control API, inside the director (its unix socket lives in the lab kernel,
   * out of the host's reach): curl costs one fork there, node would cost half a second.
   */
  async controlStatus(director: string): Promise<ControlStatus | undefined> {
    const sock = this.controlSocket(director);
    if (!sock || this.runnerChosen !== 'lvsd') return undefined;
    const r = await this.host(director).exec(['curl', '-sf', '--max-time', '2', '--unix-socket', sock, 'http://lvsd/status']);
    if (r.code !== 0) return undefined;
    try { return JSON.parse(r.stdout) as ControlStatus; } catch { return undefined; }
  }

  /** Destinations ("10.0.1.11:80") of the layout's service in a director's IPVS table. */
  async destinations(director: string): Promise<string[]> {
    const r = await this.host(director).exec(['ipvsadm', '-Ln']);
    const vip = `${this.layout.vip.address}:${this.layout.vip.port}`;
    return parseIpvsadm(r.stdout).find((s) => s.service.endsWith(` ${vip}`))?.destinations.map((d) => d.server) ?? [];
  }

  /** Starts load-client.ts in the client host against the VIP; resolves once requests succeed. */
  async startLoad(opts: { rate?: number; keepalive?: number; fresh?: number; timeoutMs?: number; tickMs?: number } = {}): Promise<LoadClient> {
    const args = ['--host', this.layout.vip.address, '--port', String(this.layout.vip.port)];
    if (opts.rate !== undefined) args.push('--rate', String(opts.rate));
    if (opts.keepalive !== undefined) args.push('--keepalive', String(opts.keepalive));
    if (opts.fresh !== undefined) args.push('--fresh', String(opts.fresh));
    if (opts.timeoutMs !== undefined) args.push('--timeout', String(opts.timeoutMs));
    if (opts.tickMs !== undefined) args.push('--tick', String(opts.tickMs));
    const p = await this.host(this.layout.client).spawnNode(LOAD_CLIENT, args);
    const load = new LoadClient(p);
    this.loads.add(load);
    await load.flowing();
    return load;
  }

  /**
   * tcpdump on the client LAN for the watched VRRP instance's adverts and ARP: the independent
   * reader of takeover times. Lines are parsed by `adverts()`.
   */
  async startCapture(host = this.layout.client, iface = 'eth0'): Promise<Capture> {
    const p = await this.host(host).spawn(['tcpdump', '-i', iface, '-n', '-l', '-tt', '-U', 'ip proto 112 or arp']);
    await p.waitFor(/listening on/, { which: 'stderr', timeoutMs: 15_000 });
    return new Capture(p);
  }

  /** A capture for the watched instance (client LAN) and one per `groupWatch` partner. */
  async startGroupCapture(): Promise<GroupCapture> {
    const main = await this.startCapture();
    const others = await Promise.all((this.layout.groupWatch ?? []).map(async (w) => ({ vrid: w.vrid, capture: await this.startCapture(w.host, w.interface) })));
    return new GroupCapture([{ vrid: this.layout.watched.vrid, capture: main }, ...others], main, this.layout.vip.address);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.loads].map((l) => l.stop().catch(() => {})));
    await this.lab.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> { await this.stop(); }
}

export interface Advert { t: number; src: string; vrid: number; prio: number }

/** A running tcpdump; times are the lab kernel's clock in ms (fractional). */
export class Capture {
  constructor(readonly process: LabProcess) {}

  /** VRRP adverts seen so far: "1764061920.123456 IP 192.0.2.2 > 224.0.0.18: VRRPv3, Advertisement, vrid 10, prio 150, ...". */
  adverts(vrid?: number): Advert[] {
    const out: Advert[] = [];
    for (const m of this.process.output.matchAll(/^(\d+\.\d+) IP (\S+) > \S+: VRRPv\d, Advertisement, vrid (\d+), prio (\d+)/gm)) {
      const a = { t: Number(m[1]) * 1000, src: m[2]!, vrid: Number(m[3]), prio: Number(m[4]) };
      if (vrid === undefined || a.vrid === vrid) out.push(a);
    }
    return out;
  }

  /** Gratuitous ARP for `ip` (Request who-has IP tell IP) seen so far, times in ms. */
  garps(ip: string): number[] {
    const re = new RegExp(`^(\\d+\\.\\d+) ARP, (?:Request who-has|Reply) ${ip.replace(/\./g, '\\.')} (?:tell|is-at) `, 'gm');
    return [...this.process.output.matchAll(re)].map((m) => Number(m[1]) * 1000);
  }

  /** Waits until an advert from `src` later than lab time `after` has been seen. */
  async advertFrom(src: string, after: number, timeoutMs = 5000): Promise<Advert> {
    return this.process.waitUntil(() => this.adverts().find((a) => a.src === src && a.t > after), { timeoutMs, what: `a VRRP advert from ${src}` });
  }

  /**
   * After a kill at lab time `killAt`: the old master's last advert before it, the first advert of
   * another router after it, and the first gratuitous ARP for `vip` after it. Waits on tcpdump's
   * output only, so measuring adds no load to the lab while the backup's timer runs.
   */
  async takeover(killAt: number, vrid: number, vip: string, timeoutMs = 5000): Promise<Takeover> {
    const lastOld = this.adverts(vrid).filter((a) => a.t <= killAt + 1).at(-1);
    if (!lastOld) throw new Error(`tcpdump saw no advert for VRID ${vrid} before the kill`);
    const firstNew = await this.process.waitUntil(() => this.adverts(vrid).find((a) => a.t > killAt && a.src !== lastOld.src),
      { timeoutMs, what: `an advert for VRID ${vrid} from a router other than ${lastOld.src}` });
    const garp = await this.process.waitUntil(() => this.garps(vip).find((t) => t > killAt), { timeoutMs, what: `a gratuitous ARP for ${vip}` }).catch(() => undefined);
    return { lastOld, firstNew, garpAt: garp, takeoverMs: firstNew.t - killAt, advertGapMs: firstNew.t - lastOld.t, vipAnnouncedMs: garp !== undefined ? garp - killAt : undefined };
  }

  stop(): Promise<unknown> { return this.process.stop(1000); }
}

export interface Takeover {
  lastOld: Advert;
  firstNew: Advert;
  garpAt: number | undefined;
  /** kill -> first advert of the new master. */
  takeoverMs: number;
  /** Old master's last advert -> new master's first. */
  advertGapMs: number;
  /** kill -> first gratuitous ARP for the VIP (the VIP is up on the new master). */
  vipAnnouncedMs: number | undefined;
}

/**
 * Captures of every instance of a sync group. The group's takeover: its first advert after the kill
 * on any instance, against the earliest of the instances' last adverts before the kill (that
 * instance's Master_Down timer runs out first and forces the others).
 */
export class GroupCapture {
  constructor(readonly watches: ReadonlyArray<{ vrid: number; capture: Capture }>, readonly main: Capture, private readonly vip: string) {}

  async takeover(killAt: number, timeoutMs = 5000): Promise<Takeover & { byVrid: Record<number, Takeover> }> {
    const each = await Promise.all(this.watches.map(async (w) => [w.vrid, await w.capture.takeover(killAt, w.vrid, this.vip, timeoutMs)] as const));
    const byVrid = Object.fromEntries(each) as Record<number, Takeover>;
    const all = each.map(([, t]) => t);
    const lastOld = all.reduce((a, b) => (b.lastOld.t < a.lastOld.t ? b : a)).lastOld;
    const firstNew = all.reduce((a, b) => (b.firstNew.t < a.firstNew.t ? b : a)).firstNew;
    const main = byVrid[this.watches[0]!.vrid]!;
    return {
      lastOld, firstNew, garpAt: main.garpAt, vipAnnouncedMs: main.vipAnnouncedMs,
      takeoverMs: firstNew.t - killAt, advertGapMs: firstNew.t - lastOld.t, byVrid,
    };
  }

  stop(): Promise<unknown[]> { return Promise.all(this.watches.map((w) => w.capture.stop())); }
}
