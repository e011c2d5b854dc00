// The ECMP demo's pure parts (`npm run demo -- --layout ecmp`): the live screen as a function of a
// state, the readings it is built from (router next hops, IPVS counters per director, the load
// client's ticks), and the scripted run's JSON summary with the verdict behind its exit status.
// src/demo/ecmp.ts is the shell that fills these from the lab (src/lab/ecmp.ts) and the keys.
import { fit, pad, seconds, styled, type Style } from './tui.js';
import { parseIpvsadm } from './director-lab.js';
import type { FailLine, LongLine, LongState, TickLine } from './load.js';

// ---- readings (pure) ----

/** One director's counters for the VIP's service at one moment (lab clock, ms). */
export interface DirectorReading {
  at: number;
  /** Connections IPVS scheduled since the service was created, inbound packets it forwarded. */
  conns: number;
  inPkts: number;
  /** Connection entries now, summed over the destinations. */
  active: number;
  inactive: number;
}

/**
 * `ipvsadm -Ln --stats --exact -t VIP:PORT` and `ipvsadm -Ln -t VIP:PORT` -> a reading; undefined
 * when the director has no such service (lvsd never started, or gone with its table).
 */
export function parseDirectorReading(at: number, statsText: string, tableText: string): DirectorReading | undefined {
  const line = statsText.split('\n').find((l) => /^(TCP|UDP|SCTP)\s/.test(l));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/).slice(2).map(Number);
  const conns = f[0], inPkts = f[1];
  if (conns === undefined || inPkts === undefined || !Number.isFinite(conns) || !Number.isFinite(inPkts)) return undefined;
  const dests = parseIpvsadm(tableText).flatMap((s) => s.destinations);
  return {
    at, conns, inPkts,
    active: dests.reduce((n, d) => n + d.active, 0),
    inactive: dests.reduce((n, d) => n + d.inactive, 0),
  };
}

export interface DirectorRates {
  connsPerSec: number;
  pktsPerSec: number;
  /** This director's part of all directors' inbound packets over the window, 0..1. */
  share: number;
}

/**
 * Rates per director over at least the last `windowMs` of each one's readings: from the newest
 * reading that old (or the oldest there is, when a busy lab stretched the polls) to the newest. A
 * director whose counters went back (its table was recreated) counts from the reset. No director
 * moved a packet: every share is 0.
 */
export function ratesFrom(history: Record<string, readonly DirectorReading[]>, windowMs: number): Record<string, DirectorRates | undefined> {
  const raw: Record<string, { conns: number; pkts: number; secs: number } | undefined> = {};
  for (const [d, h] of Object.entries(history)) {
    const last = h.at(-1);
    const first = last && ([...h].reverse().find((r) => r.at <= last.at - windowMs) ?? h.find((r) => r.at < last.at));
    if (!last || !first) { raw[d] = undefined; continue; }
    const secs = (last.at - first.at) / 1000;
    const dc = last.conns - first.conns, dp = last.inPkts - first.inPkts;
    raw[d] = { conns: dc < 0 ? last.conns : dc, pkts: dp < 0 ? last.inPkts : dp, secs };
  }
  const total = Object.values(raw).reduce((n, r) => n + (r?.pkts ?? 0), 0);
  const out: Record<string, DirectorRates | undefined> = {};
  for (const [d, r] of Object.entries(raw)) {
    out[d] = r && { connsPerSec: r.conns / r.secs, pktsPerSec: r.pkts / r.secs, share: total > 0 ? r.pkts / total : 0 };
  }
  return out;
}

/** Each key's part of the whole, 0..1 with three decimals (all 0 when the whole is 0). */
export function sharesOf(counts: Record<string, number>): Record<string, number> {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, total > 0 ? Math.round((v / total) * 1000) / 1000 : 0]));
}

/** Counter growth per director between two readings (a reset counts from zero). */
export function growth(from: Record<string, { conns: number; inPkts: number } | undefined>, to: Record<string, { conns: number; inPkts: number } | undefined>): Record<string, { conns: number; inPkts: number }> {
  const out: Record<string, { conns: number; inPkts: number }> = {};
  for (const [d, b] of Object.entries(to)) {
    const a = from[d];
    if (!b) { out[d] = { conns: 0, inPkts: 0 }; continue; }
    const dc = a ? b.conns - a.conns : b.conns, dp = a ? b.inPkts - a.inPkts : b.inPkts;
    out[d] = { conns: dc < 0 ? b.conns : dc, inPkts: dp < 0 ? b.inPkts : dp };
  }
  return out;
}

/** The long-lived connections of a tick, together: how many are open, their exchanges, their breaks. */
export function longTotals(tick: Pick<TickLine, 'long' | 'longs'> | undefined): { count: number; open: number; exchanges: number; breaks: number } {
  const all: LongState[] = tick ? (tick.longs ?? [tick.long]) : [];
  return {
    count: all.length,
    open: all.filter((l) => l.open).length,
    exchanges: all.reduce((n, l) => n + l.total, 0),
    breaks: all.reduce((n, l) => n + l.breaks, 0),
  };
}

// ---- the screen (pure) ----

export type DirectorCondition = 'running' | 'killed' | 'draining' | 'drained' | 'starting';

export interface EcmpDirectorView {
  name: string;
  address: string;
  /** What the demo did to it. */
  condition: DirectorCondition;
  /** Its link to the router is up. */
  linkUp: boolean;
  lvsdRunning: boolean;
  routingRunning: boolean;
  /** lvsd's own word on the announced group (GET /status): 'announced', 'soft-draining', 'withdrawn'; null: no answer. */
  announce: { state: string; metric?: number | undefined; reason: string } | null;
  /** The router forwards the VIP to this director now. */
  nexthop: boolean;
  rates: DirectorRates | undefined;
  /** IPVS connection entries now (active/inactive). */
  active: number | null;
  inactive: number | null;
}

export interface EcmpLoadView {
  rps: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  /** The slowest successful request since the start. */
  maxMs: number;
  servers: Record<string, number>;
  long: { count: number; open: number; exchanges: number; breaks: number };
  recentFailures: string[];
}

export interface EcmpViewState {
  description: string;
  routing: string;
  vip: string;
  elapsedMs: number;
  /** The router's FIB for the VIP: next-hop addresses, sorted; undefined before the first reading. */
  nexthops: string[] | undefined;
  /** When the router's FIB for the VIP last changed ("13:01:02.345"). */
  lastFibChange: string | undefined;
  directors: EcmpDirectorView[];
  /** Index of the director the keys act on. */
  selected: number;
  load: EcmpLoadView | undefined;
  events: string[];
  busy: string | undefined;
}

export interface EcmpRenderOptions {
  width: number;
  color: boolean;
  height?: number;
}

function percent(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/** The screen: one string per row, no trailing newlines. */
export function renderEcmpView(s: EcmpViewState, opts: EcmpRenderOptions): string[] {
  const c = (style: Style | Style[], text: string): string => styled(opts.color, style, text);
  const lines: string[] = [];
  lines.push(`${c('bold', 'lvsd demo: ecmp')}  ${c('dim', s.description)}`);
  lines.push(c('dim', `running ${seconds(s.elapsedMs)}`) + (s.busy ? `  ${c(['bold', 'yellow'], `… ${s.busy}`)}` : ''));
  lines.push('');

  const hops = s.nexthops === undefined ? c('dim', '?')
    : s.nexthops.length === 0 ? c(['bold', 'red'], 'none (the VIP is unreachable)')
    : `${s.nexthops.join(' ')} ${c('dim', `(${s.nexthops.length} path${s.nexthops.length === 1 ? '' : 's'})`)}`;
  lines.push(`${c('bold', 'router')}  next hops for ${s.vip}/32: ${hops}` + (s.lastFibChange ? c('dim', `   last FIB change ${s.lastFibChange}`) : ''));
  lines.push('');

  lines.push(c('bold', '  ' + pad('director', 11) + pad('address', 11) + pad('link', 6) + pad('lvsd', 10) + pad(s.routing, 8) +
    pad('announce', 20) + pad('next hop', 10) + pad('share', 7) + pad('conn/s', 8) + pad('pkt/s', 8) + 'conns'));
  s.directors.forEach((d, i) => {
    const mark = i === s.selected ? c(['bold', 'cyan'], '>') + ' ' : '  ';
    const link = d.linkUp ? 'up' : c(['bold', 'red'], 'DOWN');
    const lvsd = d.condition === 'draining' && d.lvsdRunning ? c(['bold', 'yellow'], 'draining')
      : d.condition === 'starting' && !d.lvsdRunning ? c('yellow', 'starting')
      : d.lvsdRunning ? c('green', 'running')
      : d.condition === 'killed' ? c(['bold', 'red'], 'KILLED')
      : d.condition === 'drained' ? c('yellow', 'stopped') : c(['bold', 'red'], 'DOWN');
    const routing = d.routingRunning ? c('green', 'up') : c(['bold', 'red'], 'DOWN');
    const a = d.announce;
    const announce = !a ? c('dim', '-')
      : a.state === 'announced' ? c('green', 'announced')
      : a.state === 'soft-draining' ? c(['bold', 'yellow'], `soft-drain m${a.metric ?? '?'}`)
      : c('red', `withdrawn${a.reason ? `: ${a.reason}` : ''}`);
    const hop = d.nexthop ? c(['bold', 'green'], 'yes') : c('dim', 'no');
    const share = d.rates ? (d.rates.share > 0 ? percent(d.rates.share) : c('dim', '0%')) : c('dim', '-');
    const cps = d.rates ? String(Math.round(d.rates.connsPerSec)) : '-';
    const pps = d.rates ? String(Math.round(d.rates.pktsPerSec)) : '-';
    const conns = d.active === null ? '-' : `${d.active}/${d.inactive ?? 0}`;
    lines.push(mark + pad(d.name, 11) + pad(d.address, 11) + pad(link, 6) + pad(lvsd, 10) + pad(routing, 8) +
      pad(fit(announce, 19), 20) + pad(hop, 10) + pad(share, 7) + pad(cps, 8) + pad(pps, 8) + conns);
  });
  lines.push(c('dim', '  share: of the inbound packets all directors forwarded over the last few seconds (IPVS counters); conns: active/inactive entries'));
  lines.push('');

  if (s.load) {
    const l = s.load;
    const failed = l.failed ? c(['bold', 'red'], String(l.failed)) : c('green', '0');
    lines.push(`${c('bold', 'client')}  ${c('bold', String(Math.round(l.rps)).padStart(4))} req/s   ok ${l.ok}   failed ${failed}   p50 ${l.p50} ms  p99 ${l.p99} ms  slowest ${l.maxMs} ms`);
    const servers = Object.entries(l.servers).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join('  ');
    lines.push(`        answered by: ${servers || '-'}`);
    const broken = l.long.breaks ? c(['bold', 'red'], `${l.long.breaks} broken`) : c('green', '0 broken');
    const open = l.long.open === l.long.count ? c('green', `${l.long.open} open`) : c(['bold', 'yellow'], `${l.long.open} open`);
    lines.push(`        long-lived connections: ${open} of ${l.long.count}, ${l.long.exchanges} exchanges, ${broken}`);
    for (const f of l.recentFailures.slice(-3)) lines.push(c('red', `        ${f}`));
  } else {
    lines.push(c('dim', 'client: starting…'));
  }
  lines.push('');

  const sel = s.directors[s.selected]?.name ?? '?';
  lines.push(`${c('bold', '1 2 3')} select   ${c('bold', 'k')} kill ${sel} (link down, kill -9)   ${c('bold', 'd')} drain ${sel} (SIGTERM)   ${c('bold', 'r')} bring ${sel} back   ${c('bold', 'q')} quit`);
  const room = opts.height === undefined ? 6 : Math.max(0, opts.height - lines.length - 1);
  const events = s.events.slice(-Math.min(6, room));
  if (events.length) {
    lines.push(c('dim', '─'.repeat(Math.min(opts.width, 60))));
    for (const e of events) lines.push(e);
  }
  const out = lines.map((l) => fit(l, opts.width));
  return opts.height === undefined ? out : out.slice(0, opts.height);
}

export function ecmpLoadFrom(tick: TickLine | undefined, failures: readonly FailLine[], ticks: readonly TickLine[]): EcmpLoadView | undefined {
  if (!tick) return undefined;
  const clock = (t: number) => new Date(t).toISOString().slice(11, 23);
  return {
    rps: tick.rps, ok: tick.ok, failed: failures.length, p50: tick.p50, p99: tick.p99,
    maxMs: ticks.reduce((m, k) => Math.max(m, k.max), 0),
    servers: tick.servers, long: longTotals(tick),
    recentFailures: failures.slice(-3).map((f) => `${clock(f.t)} ${f.kind} ${f.reason}`),
  };
}

// ---- the scripted run's summary (pure) ----

export const ECMP_PHASES = ['steady', 'kill', 'drain', 'restore'] as const;
export type EcmpPhase = (typeof ECMP_PHASES)[number];

type Counters = Record<string, { conns: number; inPkts: number } | undefined>;
export const ECMP_PERIODS = ['before', 'after_kill', 'after_drain', 'restored'] as const;
export type EcmpPeriod = (typeof ECMP_PERIODS)[number];

/** What the scripted run recorded; the summary is computed from this alone. */
export interface EcmpRecord {
  routing: string;
  directors: readonly string[];
  longCount: number;
  bfd: { intervalMs: number; multiplier: number };
  /** Lab clock (ms) where each phase starts, and the end of the run. */
  marks: Record<EcmpPhase, number> & { end: number };
  failures: readonly FailLine[];
  longEvents: readonly LongLine[];
  ticks: readonly TickLine[];
  killed: {
    director: string;
    how: string;
    /** Lab clock of the kill. */
    at: number;
    /** Lab clock of the router's first FIB change for the VIP after it (ip monitor), if any. */
    fibChangeAt: number | undefined;
    /** The router's next hops once it settled. */
    nexthopsAfter: readonly string[];
  };
  drained: {
    director: string;
    at: number;
    fibChangeAt: number | undefined;
    nexthopsAfter: readonly string[];
    /** Lab clock of lvsd's exit, and its code. */
    exitedAt: number | undefined;
    exitCode: number | null | undefined;
    /** lvsd's log: when it withdrew the route after its drain delay (lab clock), if it logged it. */
    withdrawnAt: number | undefined;
  };
  /** Counter readings per director around each settled period: [start, end]. */
  /** Both brought back (link, routing daemon, lvsd): when that began, when the router forwarded to all again. */
  restored: { at: number; fibAllAt: number | undefined; nexthopsAfter: readonly string[] };
  counters: Record<EcmpPeriod, [Counters, Counters]>;
  /** Every director's address, for reading next hops back as names. */
  addresses: Record<string, string>;
}

export interface EcmpSummary {
  layout: 'ecmp';
  routing: string;
  directors: number;
  requests_ok: number;
  failed_requests: number;
  failed_by_phase: Record<EcmpPhase, number>;
  failed_by_reason: Record<string, number>;
  /** Long-lived connections held open through the run, and how many times one broke. */
  long_lived_connections: number;
  broken_long_lived_connections: number;
  long_lived_exchanges: number;
  /** The slowest successful request (TCP retransmissions while the router still sent to the dead director). */
  slowest_request_ms: number;
  killed: string;
  kill: string;
  /** Kill -> the router's FIB stopped forwarding to it (ip -ts monitor route on the router). */
  dead_removed_ms: number | null;
  bfd_detect_ms: number;
  drained: string;
  /** SIGTERM -> out of the router's FIB (soft drain: a worse path, no longer multipath). */
  drain_removed_ms: number | null;
  /** SIGTERM -> lvsd withdrew the route (after its drain delay), and exited. */
  drain_withdrawn_ms: number | null;
  drain_exit_ms: number | null;
  /** The router's next hops (director names) after each step. */
  nexthops_after_kill: string[];
  nexthops_after_drain: string[];
  /** Start of bringing both back -> the router's last FIB change that made it forward to all again. */
  rejoin_ms: number | null;
  nexthops_after_restore: string[];
  /** Each director's part of the inbound packets all directors forwarded, in each settled period. */
  shares: Record<EcmpPeriod, Record<string, number>>;
  /** New connections each director scheduled in the same periods. */
  new_connections: Record<EcmpPeriod, Record<string, number>>;
  /** What broke; the demo exits 0 only when this is empty. */
  problems: string[];
}

function byReason(fails: readonly FailLine[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of fails) { const k = `${f.kind}: ${f.reason}`; out[k] = (out[k] ?? 0) + 1; }
  return out;
}

export function summarizeEcmp(r: EcmpRecord): EcmpSummary {
  const { marks } = r;
  const inRun = (t: number) => t >= marks.steady && t < marks.end;
  const fails = r.failures.filter((f) => inRun(f.t));
  const failed_by_phase = {} as Record<EcmpPhase, number>;
  ECMP_PHASES.forEach((p, i) => {
    const to = i + 1 < ECMP_PHASES.length ? marks[ECMP_PHASES[i + 1]!] : marks.end;
    failed_by_phase[p] = fails.filter((f) => f.t >= marks[p] && f.t < to).length;
  });
  const breaks = r.longEvents.filter((e) => e.what === 'break' && inRun(e.t)).length;
  // The first tick after the end holds the counts up to it (ticks are cumulative).
  const lastTick = r.ticks.find((k) => k.t >= marks.end) ?? r.ticks.at(-1);
  const slowest = r.ticks.filter((k) => k.t >= marks.steady).reduce((m, k) => Math.max(m, k.max), 0);
  const names = Object.fromEntries(Object.entries(r.addresses).map(([d, a]) => [a, d]));
  const asNames = (hops: readonly string[]) => hops.map((h) => names[h] ?? h);
  const since = (at: number, t: number | undefined) => (t === undefined ? null : Math.round(t - at));
  const period = (k: EcmpPeriod) => growth(r.counters[k][0], r.counters[k][1]);
  const shares = {} as EcmpSummary['shares'];
  const newConns = {} as EcmpSummary['new_connections'];
  for (const k of ECMP_PERIODS) {
    const g = period(k);
    shares[k] = sharesOf(Object.fromEntries(r.directors.map((d) => [d, g[d]?.inPkts ?? 0])));
    newConns[k] = Object.fromEntries(r.directors.map((d) => [d, g[d]?.conns ?? 0]));
  }

  const afterKill = asNames(r.killed.nexthopsAfter);
  const afterDrain = asNames(r.drained.nexthopsAfter);
  const afterRestore = asNames(r.restored.nexthopsAfter);
  const problems: string[] = [];
  if (fails.length) problems.push(`${fails.length} failed request(s)`);
  if (breaks) problems.push(`${breaks} long-lived connection(s) broke`);
  if (afterKill.includes(r.killed.director)) problems.push(`the router still forwards to the killed ${r.killed.director}`);
  else if (r.killed.fibChangeAt === undefined) problems.push(`the router's FIB never changed after ${r.killed.director} was killed`);
  if (afterDrain.includes(r.drained.director)) problems.push(`the router still forwards to the drained ${r.drained.director}`);
  else if (r.drained.fibChangeAt === undefined) problems.push(`the router's FIB never changed after ${r.drained.director} was drained`);
  if (r.drained.exitCode !== 0) problems.push(`the drained lvsd exited ${r.drained.exitCode === undefined ? 'never' : `with ${r.drained.exitCode}`}`);
  if ((shares.after_kill[r.killed.director] ?? 0) > 0) problems.push(`${r.killed.director} still forwarded packets after it was killed`);
  for (const d of r.directors) if ((shares.before[d] ?? 0) === 0) problems.push(`${d} carried no traffic before the kill`);
  const missing = r.directors.filter((d) => !afterRestore.includes(d));
  if (missing.length) problems.push(`the router does not forward to ${missing.join(', ')} after bringing it back`);
  else for (const d of r.directors) if ((shares.restored[d] ?? 0) === 0) problems.push(`${d} carried no traffic after coming back`);
  if (!lastTick) problems.push('the load client reported nothing');

  return {
    layout: 'ecmp',
    routing: r.routing,
    directors: r.directors.length,
    requests_ok: lastTick?.ok ?? 0,
    failed_requests: fails.length,
    failed_by_phase,
    failed_by_reason: byReason(fails),
    long_lived_connections: r.longCount,
    broken_long_lived_connections: breaks,
    long_lived_exchanges: longTotals(lastTick).exchanges,
    slowest_request_ms: slowest,
    killed: r.killed.director,
    kill: r.killed.how,
    dead_removed_ms: since(r.killed.at, r.killed.fibChangeAt),
    bfd_detect_ms: r.bfd.intervalMs * r.bfd.multiplier,
    drained: r.drained.director,
    drain_removed_ms: since(r.drained.at, r.drained.fibChangeAt),
    drain_withdrawn_ms: since(r.drained.at, r.drained.withdrawnAt),
    drain_exit_ms: since(r.drained.at, r.drained.exitedAt),
    nexthops_after_kill: afterKill,
    nexthops_after_drain: afterDrain,
    rejoin_ms: since(r.restored.at, r.restored.fibAllAt),
    nexthops_after_restore: afterRestore,
    shares,
    new_connections: newConns,
    problems,
  };
}
