// `npm run demo -- --scripted`: the failover scenario, unattended, under continuous load.
//
//   steady      load flows through the first director
//   takeover    kill -9 the master (machine down); the backup takes the VIPs
//   restore     the old master boots again and (with preempt) takes them back
//   rs_stop     nginx stops in a real server; the checkers take it out of the master's IPVS table
//   rs_restore  nginx starts again; the checkers put it back
//
// Each phase's failed requests come from the load client; takeover times from tcpdump on the client
// LAN (VRRP adverts, gratuitous ARP) against the lab clock at the kill; IPVS changes from
// `ipvsadm -Ln` in the master. Ends with one JSON summary line.
import { DirectorLab, type Layout, type DirectorLabOptions } from './director-lab.js';
import { LoadClient, type FailLine } from './load.js';

export interface ScenarioOptions {
  preempt?: boolean;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Seconds of load between steps. Default 3. */
  settleSeconds?: number;
  kernel?: DirectorLabOptions['kernel'];
}

export const PHASES = ['steady', 'takeover', 'restore', 'rs_stop', 'rs_restore'] as const;
export type Phase = (typeof PHASES)[number];

export interface ScenarioSummary {
  layout: string;
  runner: string | undefined;
  preempt: boolean;
  requests_ok: number;
  failed_requests: number;
  failed_by_phase: Record<Phase, number>;
  failed_by_reason: Record<string, number>;
  /** kill -> first advert of the new master (tcpdump). */
  takeover_ms: number;
  /** kill -> first gratuitous ARP for the VIP from the new master (tcpdump), i.e. VIP added. */
  vip_on_backup_ms: number | null;
  /**
   * Old master's last advert -> new master's first (tcpdump), from the sync-group instance that went
   * silent first; per VRID in advert_gap_by_vrid.
   */
  advert_gap_ms: number;
  advert_gap_by_vrid: Record<string, number>;
  /** RFC 5798 section 6.1 for the backup's priority and advert interval. */
  master_down_interval_ms: number;
  /** Old master started again -> it holds the VIPs (null when it does not preempt). */
  preempt_ms: number | null;
  rs_removed_ms: number;
  rs_readded_ms: number;
  /** The long-lived connection opened before the kill exchanged data after the takeover without breaking. */
  long_lived_connection_survived: boolean;
  long_lived_exchanges: number;
  long_lived_breaks: number;
  /** How often each director's watched instance became master (expected: 2 for the first, 1 for the second with preempt). */
  became_master: Record<string, number>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (n: number) => Math.round(n * 10) / 10;

export async function runScripted(layout: Layout, opts: ScenarioOptions = {}): Promise<ScenarioSummary> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`demo: ${l}\n`));
  const settle = (opts.settleSeconds ?? 3) * 1000;
  const preempt = opts.preempt ?? true;
  const dl = await DirectorLab.start({ layout, preempt, log, ...(opts.kernel ? { kernel: opts.kernel } : {}) });
  try {
    const [first, second] = layout.directors as [string, string];
    const watched = dl.instanceName(first, layout.watched.vrid, layout.watched.interface);
    const capture = await dl.startGroupCapture();
    const load = await dl.startLoad();
    const marks: Partial<Record<Phase, number>> = { steady: await dl.now() };
    // Each failure as it happens, timed from the start of its phase (the first 10 per phase).
    const shown = new Map<Phase, number>();
    load.on('fail', (f) => {
      const phase = [...PHASES].reverse().find((p) => marks[p] !== undefined && f.t >= marks[p]!);
      if (!phase) return;
      const n = (shown.get(phase) ?? 0) + 1;
      shown.set(phase, n);
      if (n <= 10) log(`  failed (${phase} +${Math.round(f.t - marks[phase]!)} ms, started +${Math.round(f.started - marks[phase]!)} ms): ${f.kind} ${f.reason}`);
    });
    log(`load flowing through ${first}; ${settle / 1000} s of steady state`);
    await sleep(settle);

    // ---- takeover ----
    const kill = await dl.killDirector(first);
    marks.takeover = kill.at;
    const longBefore = { ...load.last!.long };
    const tk = await capture.takeover(kill.at);
    await dl.waitForMaster(second, 10_000);
    log(`${second} took over: first advert ${round(tk.takeoverMs)} ms after the kill, ${round(tk.advertGapMs)} ms after the last advert of ${first}`);
    await sleep(settle);
    const longAfter = (await load.after(await dl.now())).long;

    // ---- restore the old master ----
    marks.restore = await dl.now();
    await dl.startDirector(first);
    let preemptMs: number | null = null;
    if (preempt) {
      const started = await dl.now();
      await dl.waitForMaster(first, 20_000);
      preemptMs = (await dl.now()) - started;
      log(`${first} is back and master again (${preemptMs} ms after its start)`);
    } else {
      log(`${first} is back as backup (preempt: false)`);
    }
    await sleep(settle);
    const longRestored = (await load.after(await dl.now())).long;

    // ---- a real server stops and comes back ----
    const master = await dl.master();
    if (!master) throw new Error('no director holds the VIP');
    const rs = layout.realServers[0]!;
    const removed = dl.waitForDestination(master, rs, false);
    const stop = await dl.stopRealServer(rs);
    marks.rs_stop = stop.at;
    const rsRemovedMs = (await removed) - stop.at;
    log(`${rs} stopped: out of ${master}'s IPVS table after ${rsRemovedMs} ms`);
    await sleep(settle / 2);
    marks.rs_restore = await dl.now();
    await dl.startRealServer(rs);
    const listening = await dl.now();
    const rsReaddedMs = (await dl.waitForDestination(master, rs, true)) - listening;
    log(`${rs} started: back in the table ${rsReaddedMs} ms after it listened`);
    await sleep(settle / 2);
    const end = await dl.now();
    const lastTick = await load.after(end);
    await load.stop();
    await capture.stop();

    const failed_by_phase = {} as Record<Phase, number>;
    PHASES.forEach((p, i) => {
      const from = marks[p]!;
      const to = i + 1 < PHASES.length ? marks[PHASES[i + 1]!]! : end;
      failed_by_phase[p] = load.failuresBetween(from, to).length;
    });
    const fails: FailLine[] = load.failuresBetween(marks.steady!, end);
    // Survived: the connection open at the kill is the one still open after the takeover, and it kept answering.
    const survived = longBefore.open && longAfter.open && longAfter.conn === longBefore.conn && longAfter.exchanges > longBefore.exchanges + 5;
    return {
      layout: layout.name,
      runner: dl.runner,
      preempt,
      requests_ok: lastTick.ok,
      failed_requests: fails.length,
      failed_by_phase,
      failed_by_reason: LoadClient.byReason(fails),
      takeover_ms: round(tk.takeoverMs),
      vip_on_backup_ms: tk.vipAnnouncedMs !== undefined ? round(tk.vipAnnouncedMs) : null,
      advert_gap_ms: round(tk.advertGapMs),
      advert_gap_by_vrid: Object.fromEntries(Object.entries(tk.byVrid).map(([v, x]) => [v, round(x.advertGapMs)])),
      master_down_interval_ms: round(dl.masterDownIntervalMs),
      preempt_ms: preemptMs,
      rs_removed_ms: rsRemovedMs,
      rs_readded_ms: rsReaddedMs,
      long_lived_connection_survived: survived,
      long_lived_exchanges: lastTick.long.total,
      long_lived_breaks: Math.max(lastTick.long.breaks, longRestored.breaks),
      became_master: Object.fromEntries(layout.directors.map((d) => [d, dl.transitions(d, 'master').filter((x) => x.startsWith(`${watched}:`)).length])),
    };
  } finally {
    await dl.stop();
  }
}
