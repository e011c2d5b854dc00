// `npm run demo -- --layout ecmp [--scripted]`: three lvsd directors active/active behind an ECMP router
// (issue #14), on the lab's ECMP cluster (src/lab/ecmp.ts: FRR on the router, FRR and lvsd on each
// director, DR real servers), with the demo's load client sending requests through the VIP all along.
//
//   scripted   steady load; a director dies (link down, then kill -9 of lvsd and its routing daemon);
//              another drains (SIGTERM: soft drain, withdrawal, exit); both come back; one JSON line
//   live       the router's next hops, each director's share of the traffic, the client's requests,
//              failures and long-lived connections; keys kill, drain and bring back a director
//
// The figures come from outside lvsd: the router's FIB (`ip -j route`, `ip -ts monitor route`), IPVS
// counters in each director (ipvsadm), the client's own counts. lvsd's /status only labels the rows.
import { fileURLToPath } from 'node:url';
import {
  EcmpCluster, ECMP_BFD, ECMP_DIRECTOR_ADDRESS, ECMP_VIP, LVSD_BIN, logTime, stamped,
  type EcmpDirector, type FrrHandle, type BirdHandle, type LabKernel,
} from '../lab/index.js';
import { ECMP_DIRECTORS, ECMP_ADDRESSES } from '../lab/index.js';
import type { ControlStatus } from '../control/status.js';
import { LoadClient } from './load.js';
import {
  ecmpLoadFrom, parseDirectorReading, ratesFrom, renderEcmpView, summarizeEcmp,
  type DirectorCondition, type DirectorReading, type EcmpDirectorView, type EcmpRecord, type EcmpSummary, type EcmpViewState,
} from './ecmp-view.js';

const LOAD_CLIENT = fileURLToPath(new URL('./load-client.js', import.meta.url));
const PORT = 80;
/**
 * The client's patience: a request or a long-lived connection fails only when refused, reset, or
 * unanswered this long. TCP retransmits (1 s, 3 s for a SYN; 0.2-1.6 s on an open connection) cover
 * the moment the router still sends to a dead director; a user's browser waits as long.
 */
const CLIENT_TIMEOUT_MS = 10_000;
/** Long-lived connections: enough that each director carries several (one flow crosses one director). */
const LONG_LIVED = 12;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface EcmpDemoOptions {
  log?: (line: string) => void;
  kernel?: LabKernel;
}

/** The cluster plus what the demo did to each director and the load client. */
export class EcmpDemo {
  readonly condition = new Map<EcmpDirector, DirectorCondition>();
  readonly linkUp = new Map<EcmpDirector, boolean>();
  private readonly loads = new Set<LoadClient>();

  private constructor(readonly cluster: EcmpCluster, private readonly log: (l: string) => void) {
    for (const d of ECMP_DIRECTORS) { this.condition.set(d, 'running'); this.linkUp.set(d, true); }
  }

  static async start(opts: EcmpDemoOptions = {}): Promise<EcmpDemo> {
    const log = opts.log ?? (() => {});
    log('booting the ecmp lab: a router with FRR, three directors with FRR and lvsd, three DR real servers (a minute or two)');
    const cluster = await EcmpCluster.start({ ...(opts.kernel ? { kernel: opts.kernel } : {}), lvsd: { softDrain: true, drainDelay: '4s' } });
    log(`the router forwards ${ECMP_VIP} to ${(await cluster.fibNexthops()).join(', ')}`);
    return new EcmpDemo(cluster, log);
  }

  get routing(): string { return this.cluster.routingKind; }

  host(d: string) { return this.cluster.host(d); }

  /** The lab kernel's clock (ms since the epoch), as the load client and the router's monitor use it. */
  async now(): Promise<number> { return stamped(this.host('client'), 'true'); }

  /** load-client.ts in the client host, aimed at the VIP; resolves once requests succeed. */
  async startLoad(): Promise<LoadClient> {
    const p = await this.host('client').spawnNode(LOAD_CLIENT, [
      '--host', ECMP_VIP, '--port', String(PORT), '--rate', '60', '--keepalive', '3', '--fresh', '3',
      '--long', String(LONG_LIVED), '--timeout', String(CLIENT_TIMEOUT_MS), '--tick', '250',
    ]);
    const load = new LoadClient(p);
    this.loads.add(load);
    await load.flowing();
    return load;
  }

  private routingProcesses(d: EcmpDirector) {
    const h = this.cluster.routing.get(d);
    if (!h) return [];
    return 'processes' in h ? (h as FrrHandle).processes : [(h as BirdHandle).process];
  }

  lvsdRunning(d: EcmpDirector): boolean { return this.cluster.lvsd.get(d)?.running ?? false; }
  routingRunning(d: EcmpDirector): boolean {
    const ps = this.routingProcesses(d);
    return ps.length > 0 && ps.every((p) => p.running);
  }

  /**
   * The director dies as a machine does: its link goes down first (nothing it sends gets out, not
   * even a TCP FIN that would end the BGP session at once), then lvsd and the routing daemon get
   * SIGKILL. Only BFD can tell the router. Resolves with the lab time just before the link went.
   */
  async kill(d: EcmpDirector): Promise<number> {
    const procs = [this.cluster.lvsd.get(d), ...this.routingProcesses(d)].filter((p) => p?.running && p.pid > 0);
    this.log(`${d}: link down, kill -9 lvsd and ${this.routing} (${procs.length} processes)`);
    const at = await stamped(this.host(d), `ip link set eth0 down; kill -9 ${procs.map((p) => p!.pid).join(' ') || '0'} 2>/dev/null; true`);
    this.condition.set(d, 'killed');
    this.linkUp.set(d, false);
    await Promise.all(procs.map((p) => Promise.race([p!.exited, sleep(3000).then(() => p!.kill('SIGKILL'))])));
    return at;
  }

  /** SIGTERM to lvsd: soft drain (a worse path), withdrawal after the drain delay, exit. Resolves with the lab time of the signal. */
  async drain(d: EcmpDirector): Promise<number> {
    const p = this.cluster.lvsd.get(d);
    if (!p?.running) throw new Error(`${d}: lvsd is not running`);
    this.log(`${d}: SIGTERM to lvsd (soft drain, then withdrawal)`);
    const at = await stamped(this.host(d), `kill -TERM ${p.pid}`);
    this.condition.set(d, 'draining');
    void p.exited.then(() => { if (this.condition.get(d) === 'draining') this.condition.set(d, 'drained'); });
    return at;
  }

  /** Brings a killed or drained director back: its link, its routing daemon, lvsd. */
  async restore(d: EcmpDirector): Promise<void> {
    const before = this.condition.get(d) ?? 'running';
    this.condition.set(d, 'starting');
    try {
      await this.bringBack(d);
    } catch (e) {
      // A start that timed out may still be coming up, untracked: stop it, so 'r' can try again cleanly.
      const stray = [...this.cluster.lab.processes].filter((p) => p.host === d && p.argv.includes(LVSD_BIN) && p !== this.cluster.lvsd.get(d));
      const tail = stray.map((p) => (p.output + p.errors).trim().split('\n').at(-1) ?? '').filter(Boolean).join('; ');
      await Promise.all(stray.map((p) => p.stop(2000)));
      this.condition.set(d, this.lvsdRunning(d) ? 'running' : before);
      throw new Error(`${(e as Error).message.split('\n')[0]}${tail ? ` (lvsd said: ${tail.slice(-200)})` : ''}`);
    }
  }

  private async bringBack(d: EcmpDirector): Promise<void> {
    const h = this.host(d);
    if (!this.linkUp.get(d)) {
      // The link going down took the default route with it.
      await h.sh(`ip link set eth0 up && ip route replace default via ${ECMP_ADDRESSES.router4}`);
      this.linkUp.set(d, true);
    }
    if (!this.routingRunning(d)) {
      // SIGKILL left BIRD's control socket behind, and its start waits for that socket to appear
      // (startFrr clears FRR's own).
      const r = this.cluster.routing.get(d);
      if (r && !('pathspace' in r)) await h.sh(`rm -f ${(r as BirdHandle).socket}`);
      await Promise.all(this.routingProcesses(d).map((p) => p.stop(1000)));
      await this.cluster.startRouting(d);
    }
    if (!this.lvsdRunning(d)) await this.cluster.startLvsd(d);
    this.condition.set(d, 'running');
    this.log(`${d}: back (link up, ${this.routing}, lvsd)`);
  }

  /** IPVS counters of every director for the VIP's service (undefined: no such service there now). */
  async counters(): Promise<Record<string, { conns: number; inPkts: number } | undefined>> {
    const out: Record<string, { conns: number; inPkts: number } | undefined> = {};
    await Promise.all(ECMP_DIRECTORS.map(async (d) => {
      const s = await this.cluster.ipvsStats(d).catch(() => undefined);
      out[d] = s && Number.isFinite(s.conns) && Number.isFinite(s.inPkts) ? { conns: s.conns, inPkts: s.inPkts } : undefined;
    }));
    return out;
  }

  /** One round trip per director: its counters, its IPVS entries, and lvsd's /status when it answers. */
  async read(d: EcmpDirector): Promise<{ reading: DirectorReading | undefined; status: ControlStatus | undefined }> {
    const svc = `${ECMP_VIP}:${PORT}`;
    const sock = `${this.cluster.lab.dir}/${d}.sock`;
    const r = await this.host(d).exec(['sh', '-c',
      `date +%s%3N; ipvsadm -Ln --stats --exact -t ${svc} 2>/dev/null; echo @@; ipvsadm -Ln -t ${svc} 2>/dev/null; echo @@; ` +
      (this.lvsdRunning(d) ? `curl -sf --max-time 1 --unix-socket ${sock} http://lvsd/status; true` : 'true')]).catch(() => undefined);
    const out = r?.stdout ?? '';
    const nl = out.indexOf('\n');
    const at = Number(out.slice(0, nl));
    const [stats = '', table = '', json = ''] = out.slice(nl + 1).split('@@\n');
    let status: ControlStatus | undefined;
    try { status = json.trim() ? JSON.parse(json) as ControlStatus : undefined; } catch { status = undefined; }
    return { reading: Number.isFinite(at) ? parseDirectorReading(at, stats, table) : undefined, status };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.loads].map((l) => l.stop().catch(() => {})));
    await this.cluster.stop();
  }
}

// ---- scripted ----

export interface EcmpScriptOptions {
  log?: (line: string) => void;
  kernel?: LabKernel;
  /** Seconds of load in each settled period. Default 5. */
  settleSeconds?: number;
  /** Which director dies and which drains. Default director1, director2. */
  kill?: EcmpDirector;
  drain?: EcmpDirector;
}

/** The FIB change time after `at` as the router's monitor saw it, or undefined. */
function fibChangeAfter(c: EcmpCluster, at: number): number | undefined {
  return c.fib.changes().find((x) => x.at >= at)?.at;
}

export async function runEcmpScripted(opts: EcmpScriptOptions = {}): Promise<EcmpSummary> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`demo: ${l}\n`));
  const settle = (opts.settleSeconds ?? 5) * 1000;
  const victim = opts.kill ?? 'director1';
  const drained = opts.drain ?? 'director2';
  if (victim === drained) throw new Error('the killed and the drained director must differ');
  const demo = await EcmpDemo.start({ log, ...(opts.kernel ? { kernel: opts.kernel } : {}) });
  try {
    const c = demo.cluster;
    const load = await demo.startLoad();
    load.on('fail', (f) => log(`  failed: ${f.kind} ${f.reason} (${f.t - f.started} ms)`));
    load.on('long', (l) => { if (l.what === 'break') log(`  long-lived connection ${l.slot ?? 0} broke: ${l.reason ?? ''}`); });
    const steady = await demo.now();
    const c0 = await demo.counters();
    log(`load flowing (${LONG_LIVED} long-lived connections); ${settle / 1000} s of steady state`);
    await sleep(settle);
    const c1 = await demo.counters();

    // ---- a director dies ----
    const killAt = await demo.kill(victim);
    const left = ECMP_DIRECTORS.filter((d) => d !== victim).map((d) => ECMP_DIRECTOR_ADDRESS[d]);
    await c.waitFib(left, 30_000).catch((e: Error) => log(e.message));
    const killFib = fibChangeAfter(c, killAt);
    const afterKill = await c.fibNexthops();
    log(`${victim} out of the router's FIB ${killFib === undefined ? '(no change seen)' : `${Math.round(killFib - killAt)} ms after the kill`} (BFD ${ECMP_BFD.intervalMs} ms x ${ECMP_BFD.multiplier})`);
    await sleep(1000);
    const c2 = await demo.counters();
    await sleep(settle);
    const c3 = await demo.counters();

    // ---- another drains ----
    const drainAt = await demo.drain(drained);
    const p = c.lvsd.get(drained)!;
    const only = left.filter((a) => a !== ECMP_DIRECTOR_ADDRESS[drained]);
    await c.waitFib(only, 30_000).catch((e: Error) => log(e.message));
    const drainFib = fibChangeAfter(c, drainAt);
    const exit = await Promise.race([p.exited, sleep(30_000).then(() => undefined)]);
    const afterDrain = await c.fibNexthops();
    const lvsdTime = (re: RegExp): number | undefined => { try { return logTime(p, re); } catch { return undefined; } };
    const withdrawnAt = lvsdTime(/announce web: withdrawn: stopping/);
    const exitedAt = lvsdTime(/"msg":"stopped"/);
    log(`${drained} out of the router's FIB ${drainFib === undefined ? '(no change seen)' : `${Math.round(drainFib - drainAt)} ms after SIGTERM`}; lvsd withdrew ${withdrawnAt === undefined ? '?' : Math.round(withdrawnAt - drainAt)} ms and exited ${exitedAt === undefined ? '?' : Math.round(exitedAt - drainAt)} ms after it`);
    await sleep(1000);
    const c4 = await demo.counters();
    await sleep(settle);
    const c5 = await demo.counters();

    // ---- both come back ----
    const restoreAt = await demo.now();
    log(`bringing ${victim} and ${drained} back`);
    await Promise.all([demo.restore(victim), demo.restore(drained)]);
    const all = ECMP_DIRECTORS.map((d) => ECMP_DIRECTOR_ADDRESS[d]);
    const back = await c.waitFib(all, 120_000).then(() => true, (e: Error) => { log(e.message); return false; });
    const fibAllAt = back ? c.fib.changes().filter((x) => x.at >= restoreAt).at(-1)?.at : undefined;
    const afterRestore = await c.fibNexthops();
    log(`the router forwards to ${afterRestore.join(', ')}${fibAllAt === undefined ? '' : `, ${Math.round(fibAllAt - restoreAt)} ms after the restore began`}`);
    // What the router's BGP and BFD said meanwhile (sessions coming up), for a slow rejoin.
    const bgpd = c.router.processes.find((x) => x.argv[0]!.endsWith('bgpd'));
    for (const l of (bgpd?.output ?? '').split('\n').filter((x) => /ADJCHANGE|BFD|NOTIFICATION/.test(x)).slice(-8)) log(`  router: ${l}`);
    await sleep(1000);
    const c6 = await demo.counters();
    await sleep(settle);
    const c7 = await demo.counters();
    const end = await demo.now();
    await load.after(end).catch(() => undefined);

    const record: EcmpRecord = {
      routing: demo.routing,
      directors: ECMP_DIRECTORS,
      longCount: LONG_LIVED,
      bfd: ECMP_BFD,
      marks: { steady, kill: killAt, drain: drainAt, restore: restoreAt, end },
      failures: load.failures,
      longEvents: load.longEvents,
      ticks: load.ticks,
      killed: { director: victim, how: `link down, then kill -9 of lvsd and ${demo.routing}`, at: killAt, fibChangeAt: killFib, nexthopsAfter: afterKill },
      drained: { director: drained, at: drainAt, fibChangeAt: drainFib, nexthopsAfter: afterDrain, exitedAt, exitCode: exit?.code, withdrawnAt },
      restored: { at: restoreAt, fibAllAt, nexthopsAfter: afterRestore },
      counters: { before: [c0, c1], after_kill: [c2, c3], after_drain: [c4, c5], restored: [c6, c7] },
      addresses: ECMP_DIRECTOR_ADDRESS,
    };
    await load.stop();
    return summarizeEcmp(record);
  } finally {
    await demo.stop();
  }
}

// ---- live ----

export interface EcmpInteractiveOptions {
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
  redrawMs?: number;
  pollMs?: number;
}

const ESC = '\x1b[';

/** The live view until 'q' (or Ctrl-C); boots the lab first and removes it at the end. */
export async function runEcmpInteractive(opts: EcmpInteractiveOptions = {}): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  output.write('lvsd demo: starting the ecmp lab (a minute or two)…\n');
  const demo = await EcmpDemo.start({ log: (l) => output.write(`  ${l}\n`) });
  const c = demo.cluster;
  const started = Date.now();
  const events: string[] = [];
  const note = (e: string): void => { events.push(`${new Date().toISOString().slice(11, 19)} ${e}`); if (events.length > 50) events.shift(); };
  const history: Record<string, DirectorReading[]> = Object.fromEntries(ECMP_DIRECTORS.map((d) => [d, []]));
  const statuses: Record<string, ControlStatus | undefined> = {};
  let nexthops: string[] | undefined;
  let selected = 0;
  let busy: string | undefined = 'starting the load client';
  let load: LoadClient | undefined;
  let quitting = false;

  const poll = async (): Promise<void> => {
    const [hops] = await Promise.all([
      c.fibNexthops().catch(() => undefined),
      ...ECMP_DIRECTORS.map(async (d) => {
        const { reading, status } = await demo.read(d);
        statuses[d] = status;
        const h = history[d]!;
        if (reading) h.push(reading);
        while (h.length > 0 && reading && h[0]!.at < reading.at - 10_000) h.shift();
      }),
    ]);
    if (hops) nexthops = hops;
  };

  const view = (): EcmpViewState => {
    const rates = ratesFrom(history, 3000);
    const directors: EcmpDirectorView[] = ECMP_DIRECTORS.map((d) => {
      const g = statuses[d]?.announce?.groups.find((x) => x.name === 'web');
      const last = history[d]!.at(-1);
      return {
        name: d,
        address: ECMP_DIRECTOR_ADDRESS[d],
        condition: demo.condition.get(d) ?? 'running',
        linkUp: demo.linkUp.get(d) ?? true,
        lvsdRunning: demo.lvsdRunning(d),
        routingRunning: demo.routingRunning(d),
        announce: g ? { state: g.state, metric: g.metric, reason: g.withdrawn ?? '' } : null,
        nexthop: nexthops?.includes(ECMP_DIRECTOR_ADDRESS[d]) ?? false,
        rates: rates[d],
        active: last?.active ?? null,
        inactive: last?.inactive ?? null,
      };
    });
    const change = c.fib.changes().at(-1);
    return {
      description: `3 lvsd directors behind an ECMP router (${demo.routing} bgpd + bfdd), VIP ${ECMP_VIP}:${PORT}, DR, mh + sloppy_tcp`,
      routing: demo.routing,
      vip: ECMP_VIP,
      elapsedMs: Date.now() - started,
      nexthops,
      lastFibChange: change ? new Date(change.at).toISOString().slice(11, 23) : undefined,
      directors,
      selected,
      load: load ? ecmpLoadFrom(load.last, load.failures, load.ticks) : undefined,
      events,
      busy,
    };
  };

  const draw = (): void => {
    if (quitting) return;
    const lines = renderEcmpView(view(), { width: output.columns ?? 110, height: output.rows ?? 40, color: true });
    output.write(`${ESC}H` + lines.map((l) => `${l}${ESC}K`).join('\r\n') + `\r\n${ESC}J`);
  };

  const act = async (what: string, fn: () => Promise<string>): Promise<void> => {
    if (busy) { note(`busy (${busy}); ignored`); return; }
    busy = what;
    try { note(await fn()); } catch (e) { note(`${what} failed: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`); } finally { busy = undefined; }
  };

  const onKey = (key: string): void => {
    const d = ECMP_DIRECTORS[selected]!;
    if (key === 'q' || key === '\x03') { void quit(); return; }
    if (/^[1-3]$/.test(key)) { selected = Number(key) - 1; return; }
    if (key === 'k') {
      void act(`killing ${d}`, async () => {
        if (!demo.linkUp.get(d)) return `${d} is already down; r brings it back`;
        const at = await demo.kill(d);
        const others = ECMP_DIRECTORS.filter((x) => x !== d && demo.linkUp.get(x) && demo.lvsdRunning(x)).map((x) => ECMP_DIRECTOR_ADDRESS[x]);
        await c.waitFib(others, 20_000).catch(() => undefined);
        const fib = c.fib.changes().find((x) => x.at >= at);
        return `${d} killed (link down, kill -9): ${fib ? `out of the router's FIB after ${Math.round(fib.at - at)} ms` : 'the router has not moved yet'}`;
      });
    } else if (key === 'd') {
      void act(`draining ${d}`, async () => {
        if (!demo.lvsdRunning(d)) return `${d}: lvsd is not running`;
        const at = await demo.drain(d);
        note(`${d}: SIGTERM; lvsd announces a worse path, then withdraws after its drain delay (4 s)`);
        await c.lvsd.get(d)!.exited;
        const fib = c.fib.changes().find((x) => x.at >= at);
        return `${d} drained: ${fib ? `out of the router's FIB ${Math.round(fib.at - at)} ms after SIGTERM, ` : ''}lvsd exited`;
      });
    } else if (key === 'r') {
      void act(`bringing ${d} back`, async () => {
        if (demo.linkUp.get(d) && demo.lvsdRunning(d) && demo.routingRunning(d)) return `${d} is running`;
        await demo.restore(d);
        return `${d} back: link up, ${demo.routing} and lvsd started; the router adds it once BGP is up`;
      });
    }
  };

  let finished!: () => void;
  const done = new Promise<void>((r) => { finished = r; });
  const onData = (b: Buffer): void => { for (const ch of b.toString('utf8')) onKey(ch); };
  output.write(`${ESC}?1049h${ESC}?25l${ESC}2J`);
  if (input.isTTY) input.setRawMode(true);
  input.on('data', onData);
  input.resume();
  const redraw = setInterval(draw, opts.redrawMs ?? 250);
  let polling = false;
  const pollTimer = setInterval(() => {
    if (polling || quitting) return;
    polling = true;
    poll().catch((e) => note(`poll: ${(e as Error).message}`)).finally(() => { polling = false; });
  }, opts.pollMs ?? 1000);
  const onSignal = (): void => { void quit(); };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  async function quit(): Promise<void> {
    if (quitting) return;
    quitting = true;
    clearInterval(redraw);
    clearInterval(pollTimer);
    input.off('data', onData);
    input.pause();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    output.write(`${ESC}?25h${ESC}?1049l`);
    if (input.isTTY) input.setRawMode(false);
    output.write('lvsd demo: stopping the lab…\n');
    await demo.stop().catch((e) => output.write(`teardown: ${(e as Error).message}\n`));
    output.write('lvsd demo: lab stopped\n');
    finished();
  }

  note(`lab up; the router forwards ${ECMP_VIP} to all three directors`);
  draw();
  try {
    load = await demo.startLoad();
    note(`load client: new connections, keep-alive loops and ${LONG_LIVED} long-lived connections through the VIP`);
  } catch (e) {
    note(`load client failed: ${(e as Error).message.split('\n')[0]}`);
  }
  busy = undefined;
  await done;
}
