// An ECMP cluster in the lab's `ecmp` topology (issue #14): the router running FRR (bgpd, bfdd), three
// directors each running a routing daemon (FRR or BIRD 2, from deploy/routing/) and lvsd announcing the
// VIP, three DR real servers (nginx). Shared by test/integration/ecmp*.test.ts, test/bench/ecmp.ts and
// the demo (`npm run demo -- --layout ecmp`).
//
// API (kept stable; additions only):
//   const c = await EcmpCluster.start({ kernel, routing: 'frr' | 'bird', lvsd: { softDrain, drainDelay }, extraYaml, extraServices });
//       boots the lab, starts FRR on the router, then per director its routing daemon and lvsd, and waits
//       until the router's FIB forwards the VIP to all three directors.
//   c.lab, c.router (FrrHandle), c.routing.get(d) (FrrHandle | BirdHandle), c.lvsd.get(d) (LabProcess)
//   c.fib (FibWatch, the router's FIB changes for the VIP since before the first director started)
//   c.host(d), c.fibNexthops(), c.zebraNexthops(), c.waitFib(want, timeoutMs)   the router's view
//   c.startLvsd(d, opts?), c.startRouting(d)                                   (re)start one director's parts
//   c.ipvsStats(d)                                                             ipvsadm -Ln --stats, the VIP's service
//   c.clientPorts(d), c.activeClientPorts(d)                                   client ports of its IPVS connections (all / passing now)
//   c.diagnose(t), c.stop()
//   FibWatch.start(routerHost) -> .changes() / .lastChangeAfter(ms)             FIB change times (lab clock)
//   stamped(host, script), logTime(proc, re), failedRequests(client, n)         timing and request helpers
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, type LabHost } from './lab.js';
import type { LabKernel } from './kernel.js';
import type { LabProcess } from './process.js';
import { renderTemplate, startBird, startFrr, type BirdHandle, type FrrHandle } from './routing.js';
import { ECMP_ADDRESSES, ECMP_DIRECTORS, REAL_SERVERS } from './topologies.js';

/** The repository: bin/lvsd.js and deploy/routing/ (dist/src/lab/ -> ../../../). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const LVSD_BIN = join(ROOT, 'bin/lvsd.js');
const template = (name: string): string => readFileSync(join(ROOT, 'deploy/routing', name), 'utf8');

export type EcmpDirector = (typeof ECMP_DIRECTORS)[number];
export const ECMP_ROUTER_AS = 65000;
export const ECMP_DIRECTOR_AS = 65001;
/** lvsd's routing table (and protocol number) the daemons import. */
export const ECMP_LVSD_TABLE = 250;
/**
 * BFD: 300 ms x 5. The lab's UML kernel has one vCPU shared by nine hosts and runs on a busy machine;
 * 200 ms x 3 (what the sample configs suggest for dedicated machines) flapped sessions under load here.
 */
export const ECMP_BFD = { intervalMs: 300, multiplier: 5 } as const;
const BFD_VARS = { BFD_INTERVAL_MS: ECMP_BFD.intervalMs, BFD_MULTIPLIER: ECMP_BFD.multiplier };
export const ECMP_VIP = ECMP_ADDRESSES.vip4;
/** Director name -> its address (the next hop the router sees). */
export const ECMP_DIRECTOR_ADDRESS: Record<EcmpDirector, string> = {
  director1: ECMP_ADDRESSES.director1, director2: ECMP_ADDRESSES.director2, director3: ECMP_ADDRESSES.director3,
};
export const ECMP_ALL_NEXTHOPS = ECMP_DIRECTORS.map((d) => ECMP_DIRECTOR_ADDRESS[d]);
/** nginx on the real servers keeps idle keep-alive connections this long (the lab's default is 5 s). */
const LONG_KEEPALIVE = 'keepalive_timeout 600s; keepalive_requests 10000000;';

export interface EcmpLvsdOptions {
  /** Announce with a worse metric (MED 1000, prepends) for the drain delay before withdrawing. Default true. */
  softDrain?: boolean;
  /** Default '4s'. */
  drainDelay?: string;
}

export interface EcmpOptions {
  /** Build in this kernel (one per test file); otherwise the lab boots its own. */
  kernel?: LabKernel;
  /** The routing daemon on the directors. Default 'frr'. */
  routing?: 'frr' | 'bird';
  lvsd?: EcmpLvsdOptions;
  /** YAML appended to each director's lvsd config (top-level sections, e.g. vrrp_instances). */
  extraYaml?: (director: EcmpDirector) => string;
  /** More virtual services for a director: YAML list items (`  - name: ...`) added after `web`. */
  extraServices?: (director: EcmpDirector) => string;
  /** The router's FRR log level; 'informational' logs session and BFD changes (diagnose()). */
  routerLogLevel?: 'warnings' | 'informational' | 'debugging';
  /** How long to wait for the router to forward to all three directors. Default 120 s. */
  timeoutMs?: number;
}

/** lvsd's YAML for one director: service `web` (VIP:80, mh, DR, TCP checks) announced as group `web`. */
export function ecmpLvsdYaml(dir: string, director: EcmpDirector, o: EcmpLvsdOptions = {}, extra = '', extraServices = ''): string {
  const A = ECMP_ADDRESSES;
  return `
global:
  router_id: ${director}
  state_file: ${dir}/${director}-state.json
  control: { listen: "unix:${dir}/${director}.sock" }
  log: { format: json }
virtual_services:
  - name: web
    address: ${A.vip4}:80
    scheduler: mh
    scheduler_flags: [mh-port]
    forwarding: dr
    checks: [{ type: tcp, interval: 300ms, timeout: 200ms, delay_before_retry: 100ms }]
    real_servers:
      - address: ${A.rs1}:80
      - address: ${A.rs2}:80
      - address: ${A.rs3}:80
${extraServices}
announce:
  - name: web
    addresses: [${A.vip4}]
    virtual_services: [web]
    drain_delay: ${o.drainDelay ?? '4s'}
    soft_drain: ${o.softDrain ?? true}
${extra}`;
}

/** IPVS counters of the VIP's service on one director (`ipvsadm -Ln --stats -t VIP:80`, the service line). */
export interface IpvsStats { conns: number; inPkts: number; outPkts: number; inBytes: number; outBytes: number }

export class EcmpCluster {
  readonly lvsd = new Map<EcmpDirector, LabProcess>();
  readonly routing = new Map<EcmpDirector, FrrHandle | BirdHandle>();
  readonly routingKind: 'frr' | 'bird';

  private constructor(readonly lab: Lab, readonly router: FrrHandle, readonly fib: FibWatch, private readonly opts: EcmpOptions) {
    this.routingKind = opts.routing ?? 'frr';
  }

  static async start(opts: EcmpOptions = {}): Promise<EcmpCluster> {
    // nginx started here, not by the lab: long-lived keep-alive connections must outlive the lab's 5 s.
    const lab = await Lab.start('ecmp', { ...(opts.kernel ? { kernel: opts.kernel } : {}), services: false });
    try {
      await Promise.all(REAL_SERVERS.map((rs) => lab.host(rs).startNginx({ extra: `    ${LONG_KEEPALIVE}` })));
      const router = await startFrr(lab.host('router'), renderTemplate(template('router-frr.conf'), {
        ROUTER_ID: ECMP_ADDRESSES.router4, ROUTER_AS: ECMP_ROUTER_AS, DIRECTOR_AS: ECMP_DIRECTOR_AS, DIRECTORS_PREFIX: '10.0.1.0/24', ...BFD_VARS,
      }), { logLevel: opts.routerLogLevel ?? 'informational' });
      const c = new EcmpCluster(lab, router, await FibWatch.start(lab.host('router')), opts);
      for (const d of ECMP_DIRECTORS) {
        await c.startRouting(d);
        await c.startLvsd(d);
      }
      await c.waitFib(ECMP_ALL_NEXTHOPS, opts.timeoutMs ?? 120_000);
      return c;
    } catch (e) {
      await lab.stop();
      throw e;
    }
  }

  host(name: string): LabHost { return this.lab.host(name); }

  /** Starts the director's routing daemon (FRR or BIRD 2) with the sample config of deploy/routing/. */
  async startRouting(d: EcmpDirector): Promise<FrrHandle | BirdHandle> {
    const common = {
      ROUTER_ID: ECMP_DIRECTOR_ADDRESS[d], LOCAL_AS: ECMP_DIRECTOR_AS, ROUTER_ADDRESS: ECMP_ADDRESSES.router4,
      ROUTER_AS: ECMP_ROUTER_AS, LVSD_TABLE: ECMP_LVSD_TABLE, ...BFD_VARS,
    };
    const h = this.routingKind === 'frr'
      ? await startFrr(this.host(d), renderTemplate(template('frr.conf'), { HOSTNAME: d, ...common }))
      : await startBird(this.host(d), renderTemplate(template('bird.conf'), { ...common, LVSD_PROTOCOL: ECMP_LVSD_TABLE }));
    this.routing.set(d, h);
    return h;
  }

  /** Writes the director's YAML and starts lvsd; resolves once it logs ready. */
  async startLvsd(d: EcmpDirector, o: EcmpLvsdOptions = this.opts.lvsd ?? {}): Promise<LabProcess> {
    const file = join(this.lab.dir, `${d}.yaml`);
    writeFileSync(file, ecmpLvsdYaml(this.lab.dir, d, o, this.opts.extraYaml?.(d) ?? '', this.opts.extraServices?.(d) ?? ''));
    const p = await this.host(d).spawnNode(LVSD_BIN, ['run', '-c', file]);
    await p.waitFor(/"msg":"ready"/, { timeoutMs: 60_000 });
    this.lvsd.set(d, p);
    return p;
  }

  /** The router's kernel FIB for the VIP: the next hops it forwards to, sorted. */
  async fibNexthops(): Promise<string[]> { return fibNexthops(this.host('router')); }

  /** What FRR's zebra on the router selected for the VIP (`show ip route json`): its active next hops. */
  async zebraNexthops(): Promise<string[]> {
    type Entry = { protocol: string; selected?: boolean; nexthops: { ip?: string; active?: boolean; fib?: boolean }[] };
    const j = await this.router.json<Record<string, Entry[]>>(`show ip route ${ECMP_VIP}/32 json`);
    const sel = (j[`${ECMP_VIP}/32`] ?? []).find((e) => e.selected && e.protocol === 'bgp');
    return (sel?.nexthops ?? []).filter((n) => n.active && n.fib).map((n) => n.ip!).sort();
  }

  /** Polls the router's FIB until it forwards to exactly `want`; returns when, in ms from `since`. */
  waitFib(want: readonly string[], timeoutMs: number, since = Date.now()): Promise<number> {
    return waitFib(this.host('router'), want, timeoutMs, since);
  }

  async ipvsStats(d: EcmpDirector): Promise<IpvsStats> {
    const out = await this.host(d).run(['ipvsadm', '-Ln', '--stats', '--exact', '-t', `${ECMP_VIP}:80`]);
    const line = out.split('\n').find((l) => l.startsWith('TCP'));
    const f = (line?.trim().split(/\s+/) ?? []).slice(2).map(Number);
    return { conns: f[0] ?? NaN, inPkts: f[1] ?? NaN, outPkts: f[2] ?? NaN, inBytes: f[3] ?? NaN, outBytes: f[4] ?? NaN };
  }

  /**
   * The client's source ports of the VIP's connections IPVS on `d` holds (`ipvsadm -Lnc`). An entry
   * outlives a flow the router moved to another director (ESTABLISHED: 15 min): see activeClientPorts.
   */
  async clientPorts(d: EcmpDirector): Promise<number[]> {
    return [...(await this.ipvsEntries(d)).keys()];
  }

  /**
   * The client ports of flows passing `d` now: entries whose expiry timer a packet reset within
   * `windowMs` (two reads of `ipvsadm -Lnc`; each packet restarts the timer, an idle one counts down).
   */
  async activeClientPorts(d: EcmpDirector, windowMs = 1500): Promise<number[]> {
    const a = await this.ipvsEntries(d);
    await new Promise((r) => setTimeout(r, windowMs));
    const b = await this.ipvsEntries(d);
    return [...b].filter(([port, exp]) => a.has(port) && exp >= a.get(port)!).map(([port]) => port);
  }

  /** client port -> seconds until expiry, of the VIP's connections from the client on `d`. */
  private async ipvsEntries(d: EcmpDirector): Promise<Map<number, number>> {
    const out = await this.host(d).run(['ipvsadm', '-Lnc']);
    return new Map(out.split('\n').flatMap((l) => {
      const f = l.trim().split(/\s+/);
      if (!(f[0] === 'TCP' && f[4] === `${ECMP_VIP}:80` && f[3]?.startsWith(`${ECMP_ADDRESSES.client4}:`))) return [];
      const [m, sec] = f[1]!.split(':').map(Number);
      return [[Number(f[3].split(':')[1]), m! * 60 + sec!] as [number, number]];
    }));
  }

  /** On failure: the router's view, its session log, and the end of each lvsd's log. */
  async diagnose(t: { diagnostic(m: string): void }): Promise<void> {
    const safe = async (what: string, f: () => Promise<string>): Promise<void> => {
      try { t.diagnostic(`${what}:\n${await f()}`); } catch (e) { t.diagnostic(`${what}: ${(e as Error).message}`); }
    };
    await safe('router: show bgp summary', () => this.router.vtysh('show bgp summary'));
    await safe('router: show bfd peers brief', () => this.router.vtysh('show bfd peers brief'));
    await safe(`router: show ip bgp ${ECMP_VIP}/32`, () => this.router.vtysh(`show ip bgp ${ECMP_VIP}/32`));
    const bgpd = this.router.processes.find((p) => p.argv[0]!.endsWith('bgpd'));
    t.diagnostic(`router bgpd log:\n${bgpd?.output.split('\n').filter((l) => /ADJCHANGE|BFD|NOTIFICATION/.test(l)).slice(-30).join('\n')}`);
    for (const [d, p] of this.lvsd) t.diagnostic(`${d} lvsd log:\n${p.errors.split('\n').filter((l) => /announce|quorum|real server|vrrp|master|backup/.test(l)).slice(-15).join('\n')}`);
  }

  /** Runs body; on failure, reports the routing state (diagnose) before rethrowing. */
  async withDiagnosis<T>(t: { diagnostic(m: string): void }, body: () => Promise<T>): Promise<T> {
    try { return await body(); } catch (e) { await this.diagnose(t); throw e; }
  }

  stop(): Promise<void> { return this.lab.stop(); }
}

/** A router's kernel FIB for the VIP: the next hops it forwards to, sorted. */
export async function fibNexthops(router: LabHost, vip: string = ECMP_VIP): Promise<string[]> {
  const out = await router.run(['ip', '-j', 'route', 'show', `${vip}/32`]);
  const routes = JSON.parse(out || '[]') as { gateway?: string; nexthops?: { gateway: string }[] }[];
  return routes.flatMap((r) => r.nexthops ? r.nexthops.map((n) => n.gateway) : r.gateway ? [r.gateway] : []).sort();
}

/** Polls the router's FIB (cheap: one `ip` per try) until it forwards to exactly `want`; returns when, in ms from `since`. */
export async function waitFib(router: LabHost, want: readonly string[], timeoutMs: number, since = Date.now(), vip: string = ECMP_VIP): Promise<number> {
  let last: string[] = [];
  const wanted = JSON.stringify([...want].sort());
  while (Date.now() - since < timeoutMs) {
    last = await fibNexthops(router, vip);
    if (JSON.stringify(last) === wanted) return Date.now() - since;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`router FIB for ${vip}: ${JSON.stringify(last)} after ${timeoutMs} ms, want ${wanted}`);
}

/**
 * Times of the router's FIB changes for the VIP, from `ip -ts monitor route` in the router: the lab's
 * one kernel clock, the same as lvsd's log timestamps and `date` in any host. Polling from the test
 * (an exec round trip of 0.1-2 s on a loaded machine) is only for waiting, never for the figures.
 */
export class FibWatch {
  private constructor(private readonly p: LabProcess, private readonly vip: string) {}
  static async start(router: LabHost, vip: string = ECMP_VIP): Promise<FibWatch> {
    const p = await router.spawn(['ip', '-ts', 'monitor', 'route']);
    await new Promise((r) => setTimeout(r, 300));
    return new FibWatch(p, vip);
  }
  /** Epoch ms of every change that mentions the VIP. */
  changes(): { at: number; line: string }[] {
    return this.p.output.split('\n').flatMap((l) => {
      const m = /^\[(\d{4}-\d\d-\d\dT[\d:.]+)\] (.*)$/.exec(l);
      return m && m[2]!.includes(this.vip) ? [{ at: Date.parse(`${m[1]!.slice(0, 23)}Z`), line: m[2]! }] : [];
    });
  }
  /** ms from `since` (epoch ms, lab clock) to the first change of the VIP's route after it. */
  firstChangeAfter(since: number): number {
    const c = this.changes().find((x) => x.at >= since);
    if (!c) throw new Error(`no FIB change for ${this.vip} after ${new Date(since).toISOString()}`);
    return c.at - since;
  }
  /** ms from `since` (epoch ms, lab clock) to the last change of the VIP's route up to now. */
  lastChangeAfter(since: number): number {
    const after = this.changes().filter((c) => c.at >= since);
    if (!after.length) throw new Error(`no FIB change for ${this.vip} after ${new Date(since).toISOString()}`);
    return after.at(-1)!.at - since;
  }
  stop(): Promise<unknown> { return this.p.stop(); }
}

/** Runs a script in a host and returns when it started, in epoch ms of the lab's clock. */
export async function stamped(h: LabHost, script: string): Promise<number> {
  const out = await h.sh(`date +%s%N; ${script}`);
  return Number(BigInt(out.split('\n')[0]!) / 1_000_000n);
}

/** Epoch ms (lab clock) of the first lvsd log line (JSON) matching `re`. */
export function logTime(p: LabProcess, re: RegExp): number {
  const line = p.errors.split('\n').find((l) => re.test(l));
  if (!line) throw new Error(`no log line ${re}`);
  return Date.parse((JSON.parse(line) as { ts: string }).ts);
}

/** `n` short HTTP requests from the client, one after another: the failed ones (curl's code and time), [] when all answered 200. */
export async function failedRequests(client: LabHost, n: number, vip: string = ECMP_VIP): Promise<string[]> {
  const out = await client.sh(`for i in $(seq ${n}); do curl -s -o /dev/null -w '%{http_code} %{time_total}s %{local_port}\\n' --max-time 5 http://${vip}/; done`, { timeoutMs: n * 6000 + 10_000 });
  return out.split('\n').filter((l) => l !== '' && !l.startsWith('200 '));
}

/** Blocks (or unblocks) a director's way to the real servers: its checks fail, the others' do not. Returns when (lab clock). */
export function cutRealServers(d: LabHost, cut: boolean): Promise<number> {
  const A = ECMP_ADDRESSES;
  return stamped(d, [A.rs1, A.rs2, A.rs3].map((rs) => `ip route ${cut ? 'add' : 'del'} prohibit ${rs}/32`).join(' && '));
}
