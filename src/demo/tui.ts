// The demo's live terminal view: who is master of each VRRP instance, every real server's health and
// the reason lvsd gives, the load client's requests per second and failures, and the localhost URLs
// of each director's metrics and status. Single keys act on the lab (kill the master, restart it,
// stop/start or break/fix real servers). Plain ANSI, no libraries.
//
// The screen is a pure function of a ViewState (renderView), so what a person sees is unit-tested;
// runInteractive() is the thin shell that fills the state from the lab and the keys.
//
// Where the figures come from: each director's own status (GET /status on its control socket, carried
// to the host by forward.ts); when a director cannot answer (killed, or lvsd not running) the lab
// kernel's view instead: the VIPs it holds (`ip -o addr`) and its IPVS table (`ipvsadm -Ln`).
import { parse as parseYaml } from 'yaml';
import { callControl } from '../control/client.js';
import type { ControlStatus } from '../control/status.js';
import { LabForwards, type LabForward } from './forward.js';
import { parseIpvsadm, type DirectorLab } from './director-lab.js';
import type { LoadClient, LongState, TickLine } from './load.js';

// ---- the state and its rendering (pure) ----

export interface InstanceView {
  name: string;
  vips: string[];
  /** The director that is master, as the directors report it (or as the kernel shows the VIPs). */
  master: string | undefined;
  /** Each director's state for this instance: 'master', 'backup', 'fault', 'down', or '?'. */
  states: Record<string, string>;
}

export interface DirectorView {
  name: string;
  role: 'master' | 'backup' | 'down';
  /** Where this row's figures came from. */
  source: 'lvsd' | 'kernel';
  metricsUrl?: string | undefined;
  statusUrl?: string | undefined;
  /** Kernel sync daemon roles, e.g. ['master', 'backup']. */
  syncDaemons: string[];
  uptimeSeconds?: number | undefined;
}

export interface RealServerView {
  name: string;
  endpoint: string;
  /** What the demo did to it: nginx running or stopped, answering 500 or not. */
  running: boolean;
  broken: boolean;
  /** lvsd's verdict (null: unknown) and its reason in words. */
  up: boolean | null;
  reason: string | null;
  /** In the master's IPVS table now, with its weight and connection counts. */
  inKernel: boolean;
  weight: number | null;
  activeConns: number | null;
  inactConns: number | null;
}

export interface LoadView {
  rps: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  servers: Record<string, number>;
  long: LongState | undefined;
  /** The latest failures, newest last: "12:00:01.123 new ECONNREFUSED". */
  recentFailures: string[];
}

export interface ViewState {
  layout: string;
  description: string;
  /** Milliseconds since the view started. */
  elapsedMs: number;
  instances: InstanceView[];
  directors: DirectorView[];
  realServers: RealServerView[];
  load: LoadView | undefined;
  /** What the person did and what happened, newest last. */
  events: string[];
  /** An action in progress ("killing director1"), if any. */
  busy: string | undefined;
  /** The director killed with 'k', which 'r' restarts. */
  killed: string | undefined;
}

export interface RenderOptions {
  width: number;
  color: boolean;
  /** Rows available; lists are cut to fit. Default unlimited. */
  height?: number;
}

const ESC = '\x1b[';
export type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow' | 'cyan' | 'inverse';
const CODES: Record<Style, string> = { bold: '1', dim: '2', green: '32', red: '31', yellow: '33', cyan: '36', inverse: '7' };

/** `text` in a style, or as it is without colour (the other layouts' views share this look). */
export function styled(color: boolean, style: Style | Style[], text: string): string {
  if (!color) return text;
  const codes = (Array.isArray(style) ? style : [style]).map((x) => CODES[x]).join(';');
  return `${ESC}${codes}m${text}${ESC}0m`;
}

/** Visible width of a line: ANSI escapes take no columns. */
export function visibleLength(s: string): number {
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length;
}

export function fit(s: string, width: number): string {
  if (visibleLength(s) <= width) return s;
  // Cut visible characters, keep escapes, and reset the style at the end.
  let out = '', n = 0;
  for (let i = 0; i < s.length && n < width - 1;) {
    const m = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(s.slice(i));
    if (m) { out += m[0]; i += m[0].length; continue; }
    out += s[i]; n++; i++;
  }
  return out + '…' + (out.includes('\x1b[') ? `${ESC}0m` : '');
}

export function pad(s: string, n: number): string {
  const l = visibleLength(s);
  return l >= n ? s : s + ' '.repeat(n - l);
}

export function seconds(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The screen: one string per row, no trailing newlines. */
export function renderView(s: ViewState, opts: RenderOptions): string[] {
  const c = (style: Style | Style[], text: string): string => styled(opts.color, style, text);
  const role = (r: string): string => r === 'master' ? c(['bold', 'green'], 'MASTER') : r === 'backup' ? c('cyan', 'backup') : r === 'down' ? c(['bold', 'red'], 'DOWN') : r === 'fault' ? c(['bold', 'yellow'], 'FAULT') : c('dim', r);
  const lines: string[] = [];
  lines.push(`${c('bold', `lvsd demo: ${s.layout}`)}  ${c('dim', s.description)}`);
  lines.push(c('dim', `running ${seconds(s.elapsedMs)}`) + (s.busy ? `  ${c(['bold', 'yellow'], `… ${s.busy}`)}` : ''));
  lines.push('');

  // VRRP
  const dirs = s.directors.map((d) => d.name);
  lines.push(c('bold', pad('VRRP instance', 16) + pad('VIPs', 30) + pad('master', 12) + dirs.map((d) => pad(d, 12)).join('')));
  for (const i of s.instances) {
    const master = i.master ? c(['bold', 'green'], i.master) : c(['bold', 'red'], 'none');
    lines.push(pad(i.name, 16) + pad(i.vips.join(' '), 30) + pad(master, 12) + dirs.map((d) => pad(role(i.states[d] ?? '?'), 12)).join(''));
  }
  if (s.instances.length === 0) lines.push(c('dim', '(no VRRP instances)'));
  lines.push('');

  // Directors
  lines.push(c('bold', pad('director', 12) + pad('role', 9) + pad('sync', 16) + pad('metrics', 32) + 'status'));
  for (const d of s.directors) {
    const via = d.source === 'kernel' ? c('dim', ' (kernel view)') : '';
    lines.push(pad(d.name, 12) + pad(role(d.role), 9) + pad(d.syncDaemons.join('+') || '-', 16) +
      pad(d.metricsUrl ?? '-', 32) + (d.statusUrl ?? '-') + via);
  }
  lines.push('');

  // Real servers
  lines.push(c('bold', pad('real server', 13) + pad('address', 18) + pad('health', 8) + pad('in IPVS', 9) + pad('conns', 8) + pad('demo', 14) + 'reason'));
  for (const r of s.realServers) {
    const health = r.up === null ? c('dim', '?') : r.up ? c('green', 'up') : c(['bold', 'red'], 'DOWN');
    const inK = r.inKernel ? `w=${r.weight ?? '?'}` : c('dim', 'no');
    const conns = r.activeConns === null ? '-' : `${r.activeConns}/${r.inactConns ?? 0}`;
    const demo = !r.running ? c('red', 'stopped') : r.broken ? c('yellow', 'answers 500') : 'running';
    lines.push(pad(r.name, 13) + pad(r.endpoint, 18) + pad(health, 8) + pad(inK, 9) + pad(conns, 8) + pad(demo, 14) + (r.reason ?? c('dim', '-')));
  }
  lines.push('');

  // Load
  if (s.load) {
    const l = s.load;
    const failed = l.failed ? c(['bold', 'red'], String(l.failed)) : c('green', '0');
    lines.push(`${c('bold', 'client')}  ${c('bold', String(Math.round(l.rps)).padStart(4))} req/s   ok ${l.ok}   failed ${failed}   p50 ${l.p50} ms  p99 ${l.p99} ms`);
    const servers = Object.entries(l.servers).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join('  ');
    lines.push(`        answered by: ${servers || '-'}`);
    if (l.long) {
      const state = l.long.open ? c('green', 'open') : c(['bold', 'red'], 'broken');
      lines.push(`        long-lived connection #${l.long.conn}: ${state}, ${l.long.exchanges} exchanges (${l.long.breaks} breaks)`);
    }
    for (const f of l.recentFailures.slice(-3)) lines.push(c('red', `        ${f}`));
  } else {
    lines.push(c('dim', 'client: starting…'));
  }
  lines.push('');

  // Keys and events
  const killHelp = s.killed ? `${c('bold', 'r')} restart ${s.killed}` : `${c('bold', 'k')} kill the master`;
  lines.push(`${killHelp}   ${c('bold', '1 2 3')} stop/start rs1-rs3   ${c('bold', 'b')} break/fix a real server (HTTP 500)   ${c('bold', 'q')} quit`);
  const room = opts.height === undefined ? 6 : Math.max(0, opts.height - lines.length - 1);
  const events = s.events.slice(-Math.min(6, room));
  if (events.length) {
    lines.push(c('dim', '─'.repeat(Math.min(opts.width, 60))));
    for (const e of events) lines.push(e);
  }
  const out = lines.map((l) => fit(l, opts.width));
  return opts.height === undefined ? out : out.slice(0, opts.height);
}

// ---- the state from a director's status JSON (pure) ----

/** The instances, VIPs and each director's state, from the directors' status (undefined = no answer). */
export function instancesFrom(configured: Array<{ name: string; vips: string[] }>, statuses: Record<string, ControlStatus | undefined>, holdings: Record<string, string[]>): InstanceView[] {
  return configured.map((ci) => {
    const states: Record<string, string> = {};
    let master: string | undefined;
    for (const [d, st] of Object.entries(statuses)) {
      const v = st?.vrrp.find((x) => x.name === ci.name);
      if (v) states[d] = v.state.toLowerCase();
      // No answer: the kernel says whether the director holds the instance's VIPs.
      else states[d] = st === undefined && (holdings[d] ?? []).includes(ci.vips[0] ?? '') ? 'master' : st === undefined ? 'down' : '?';
      if (states[d] === 'master') master = master ? `${master}+${d}` : d;
    }
    return { name: ci.name, vips: ci.vips, master, states };
  });
}

/** Real servers as the master (or another answering director) reports them. */
export function realServersFrom(
  servers: Array<{ name: string; endpoint: string; running: boolean; broken: boolean }>,
  status: ControlStatus | undefined,
  kernelTable: ReturnType<typeof parseIpvsadm> | undefined,
): RealServerView[] {
  const known = new Map((status?.services ?? []).flatMap((svc) => svc.servers).map((r) => [r.server, r]));
  const dests = new Map((kernelTable ?? []).flatMap((s) => s.destinations).map((d) => [d.server, d]));
  return servers.map((rs) => {
    const st = known.get(rs.endpoint);
    const k = dests.get(rs.endpoint);
    return {
      ...rs,
      up: st ? st.up : null,
      reason: st ? st.reason : null,
      inKernel: st ? st.inKernel : k !== undefined,
      weight: st ? st.kernelWeight : k?.weight ?? null,
      activeConns: st ? st.activeConns : k?.active ?? null,
      inactConns: st ? st.inactConns : k?.inactive ?? null,
    };
  });
}

export function loadFrom(tick: TickLine | undefined, failures: Array<{ t: number; kind: string; reason: string }>, totalFailed?: number): LoadView | undefined {
  if (!tick) return undefined;
  const clock = (t: number) => new Date(t).toISOString().slice(11, 23);
  return {
    rps: tick.rps, ok: tick.ok, failed: totalFailed ?? tick.failed, p50: tick.p50, p99: tick.p99, servers: tick.servers, long: tick.long,
    recentFailures: failures.slice(-3).map((f) => `${clock(f.t)} ${f.kind} ${f.reason}`),
  };
}

// ---- the live program ----

export interface InteractiveOptions {
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
  /** First host port: director N's metrics on BASE+N-1, its status on BASE+10+N-1. Default 19641. */
  basePort?: number;
  /** Redraw period, ms. Default 200 (5 per second). */
  redrawMs?: number;
  /** Lab poll period, ms. Default 500. */
  pollMs?: number;
}

interface DirectorConfig { name: string; metricsPort: number | undefined; controlPath: string | undefined; instances: Array<{ name: string; vips: string[] }> }

/** What the view needs from a director's lvsd.yaml: its instances, metrics port and control socket. */
export function directorConfig(name: string, yamlText: string): DirectorConfig {
  const doc = parseYaml(yamlText) as {
    global?: { metrics?: { listen?: string }; control?: { listen?: string } };
    vrrp_instances?: Array<{ name: string; virtual_ips: Array<string | { address: string }> }>;
  };
  const m = /:(\d+)$/.exec(doc.global?.metrics?.listen ?? '127.0.0.1:9641');
  const control = doc.global?.control?.listen ?? 'unix:/run/lvsd/control.sock';
  return {
    name,
    metricsPort: m ? Number(m[1]) : undefined,
    controlPath: control.startsWith('unix:') ? control.slice(5) : undefined,
    instances: (doc.vrrp_instances ?? []).map((i) => ({
      name: i.name,
      vips: i.virtual_ips.map((v) => (typeof v === 'string' ? v : v.address).replace(/\/\d+$/, '')),
    })),
  };
}

export interface DirectorPorts {
  forwards: LabForwards;
  /** Director -> its localhost URLs (undefined when its config has no such listener). */
  urls: Record<string, { metrics: string | undefined; status: string | undefined }>;
  configs: DirectorConfig[];
}

/**
 * Each director's metrics (TCP) and control socket (unix) on host ports: director N (1-based, in
 * layout order) gets metrics on basePort+N-1 and status on basePort+10+N-1, all on 127.0.0.1.
 * `curl http://127.0.0.1:19641/metrics`, `curl http://127.0.0.1:19651/status`. close() ends them.
 */
export async function startDirectorPorts(dl: DirectorLab, basePort = 19641): Promise<DirectorPorts> {
  const configs = dl.layout.directors.map((d) => directorConfig(d, dl.layout.configFor(d, { preempt: dl.preempt, dir: dl.lab.dir })));
  const forwards = await LabForwards.start(configs.flatMap((c, i) => [
    ...(c.metricsPort ? [{ name: `${c.name} metrics`, host: dl.host(c.name), target: { port: c.metricsPort }, listen: { port: basePort + i } }] : []),
    ...(c.controlPath ? [{ name: `${c.name} status`, host: dl.host(c.name), target: { path: c.controlPath }, listen: { port: basePort + 10 + i } }] : []),
  ]));
  const urls = Object.fromEntries(configs.map((c) => [c.name, {
    metrics: forwards.get(`${c.name} metrics`)?.url('/metrics'),
    status: forwards.get(`${c.name} status`)?.url('/status'),
  }]));
  return { forwards, urls, configs };
}

/** Runs the view until 'q' (or Ctrl-C); then stops the lab. Resolves when everything is down. */
export async function runInteractive(dl: DirectorLab, opts: InteractiveOptions = {}): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const base = opts.basePort ?? 19641;
  const started = Date.now();
  const layout = dl.layout;

  const events: string[] = [];
  const note = (e: string): void => { events.push(`${new Date().toISOString().slice(11, 19)} ${e}`); if (events.length > 50) events.shift(); };

  const { forwards, configs } = await startDirectorPorts(dl, base);
  const fw = (d: string, what: 'metrics' | 'status'): LabForward | undefined => forwards.get(`${d} ${what}`);

  let load: LoadClient | undefined;
  let state: ViewState = {
    layout: layout.name, description: layout.description, elapsedMs: 0, instances: [], directors: [], realServers: [],
    load: undefined, events, busy: 'starting the load client', killed: undefined,
  };
  let killed: string | undefined;
  let busy: string | undefined = 'starting the load client';
  let quitting = false;

  // A status call can miss a poll when the machine is busy: reuse an answer up to this old rather
  // than flicker to '?'. A director that is not running never reuses one.
  const STATUS_GRACE_MS = 3000;
  const lastStatus = new Map<string, { at: number; status: ControlStatus }>();
  const statusOf = async (d: string, f: LabForward | undefined): Promise<ControlStatus | undefined> => {
    if (!dl.isRunning(d) || !f) { lastStatus.delete(d); return undefined; }
    const fresh = await callControl({ kind: 'tcp', url: f.url('/') }, 'GET', '/status', undefined, 2500)
      .then((r) => (r.status === 200 ? r.body as ControlStatus : undefined), () => undefined);
    if (fresh) { lastStatus.set(d, { at: Date.now(), status: fresh }); return fresh; }
    const old = lastStatus.get(d);
    return old && Date.now() - old.at < STATUS_GRACE_MS ? old.status : undefined;
  };

  // Poll the lab: one status call and one kernel read per director; never two polls at once.
  const poll = async (): Promise<void> => {
    const statuses: Record<string, ControlStatus | undefined> = {};
    const holdings: Record<string, string[]> = {};
    const tables: Record<string, ReturnType<typeof parseIpvsadm>> = {};
    const daemons: Record<string, string[]> = {};
    await Promise.all(configs.map(async (c) => {
      const [st, k] = await Promise.all([
        statusOf(c.name, fw(c.name, 'status')),
        dl.host(c.name).exec(['sh', '-c', 'ip -o addr show up; echo @@; ipvsadm -Ln; echo @@; ipvsadm -L --daemon']).catch(() => undefined),
      ]);
      statuses[c.name] = st;
      const [addr = '', table = '', dmn = ''] = (k?.stdout ?? '').split('@@\n');
      holdings[c.name] = layout.masterAddresses.filter((a) => addr.includes(` ${a}/`));
      tables[c.name] = parseIpvsadm(table);
      daemons[c.name] = [...dmn.matchAll(/^(master|backup) sync daemon/gm)].map((m) => m[1]!);
    }));
    const instances = instancesFrom(configs[0]?.instances ?? [], statuses, holdings);
    const directors: DirectorView[] = configs.map((c) => {
      const st = statuses[c.name];
      const running = dl.isRunning(c.name);
      const holdsAll = (holdings[c.name] ?? []).length === layout.masterAddresses.length;
      const isMaster = st ? st.vrrp.length > 0 && st.vrrp.every((v) => v.state.toLowerCase() === 'master') : holdsAll;
      return {
        name: c.name,
        role: !running ? 'down' : isMaster ? 'master' : 'backup',
        source: st ? 'lvsd' : 'kernel',
        metricsUrl: fw(c.name, 'metrics')?.url('/metrics'),
        statusUrl: fw(c.name, 'status')?.url('/status'),
        syncDaemons: daemons[c.name] ?? [],
        uptimeSeconds: st?.uptimeSeconds,
      };
    });
    const master = directors.find((d) => d.role === 'master')?.name;
    const reporter = master && statuses[master] ? master : configs.find((c) => statuses[c.name])?.name;
    const realServers = realServersFrom(layout.realServers.map((rs) => ({
      name: rs, endpoint: layout.realServerEndpoint(rs),
      running: dl.realServerState.get(rs)?.running ?? false, broken: dl.realServerState.get(rs)?.broken ?? false,
    })), reporter ? statuses[reporter] : undefined, master ? tables[master] : undefined);
    state = { ...state, instances, directors, realServers };
  };

  const draw = (): void => {
    if (quitting) return;
    state = {
      ...state, elapsedMs: Date.now() - started, busy, killed, events,
      load: load ? loadFrom(load.last, load.failures, load.failures.length) : undefined,
    };
    const lines = renderView(state, { width: output.columns ?? 100, height: output.rows ?? 40, color: true });
    output.write(`${ESC}H` + lines.map((l) => `${l}${ESC}K`).join('\r\n') + `\r\n${ESC}J`);
  };

  const act = async (what: string, fn: () => Promise<string | void>): Promise<void> => {
    if (busy) { note(`busy (${busy}); ignored`); return; }
    busy = what;
    try {
      const done = await fn();
      note(done ?? what);
    } catch (e) {
      note(`${what} failed: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`);
    } finally {
      busy = undefined;
    }
  };

  const onKey = (key: string): void => {
    if (key === 'q' || key === '\x03') { void quit(); return; }
    if (key === 'k') {
      void act('killing the master', async () => {
        if (killed) return `${killed} is already down; r restarts it`;
        const m = await dl.master();
        if (!m) return 'no master to kill';
        await dl.killDirector(m);
        killed = m;
        return `kill -9 ${m} (links down): the backup takes over`;
      });
    } else if (key === 'r') {
      void act(killed ? `restarting ${killed}` : 'restart', async () => {
        if (!killed) return 'nothing to restart (k kills the master first)';
        const d = killed;
        await dl.startDirector(d);
        killed = undefined;
        return `${d} restarted${dl.preempt ? ': it preempts after preempt_delay' : ' (preempt off: stays backup)'}`;
      });
    } else if (/^[1-9]$/.test(key)) {
      const rs = layout.realServers[Number(key) - 1];
      if (!rs) return;
      void act(`${rs}: stop/start`, async () => {
        if (dl.realServerState.get(rs)?.running) { await dl.stopRealServer(rs); return `${rs}: nginx stopped (connections refused)`; }
        await dl.startRealServer(rs);
        return `${rs}: nginx started`;
      });
    } else if (key === 'b') {
      void act('break/fix', async () => {
        const broken = layout.realServers.find((rs) => dl.realServerState.get(rs)?.broken);
        if (broken) { await dl.fixRealServer(broken); return `${broken}: fixed (answers 200)`; }
        const target = layout.realServers.find((rs) => dl.realServerState.get(rs)?.running) ?? layout.realServers[0]!;
        await dl.breakRealServer(target);
        return `${target}: broken (answers HTTP 500)`;
      });
    }
  };

  let finished!: () => void;
  const done = new Promise<void>((r) => { finished = r; });
  const onData = (b: Buffer): void => { for (const ch of b.toString('utf8')) onKey(ch); };
  const restoreTerminal = (): void => {
    output.write(`${ESC}?25h${ESC}?1049l`);
    if (input.isTTY) input.setRawMode(false);
  };

  // Terminal: alternate screen, no cursor, raw keys; restored on the way out whatever happens.
  output.write(`${ESC}?1049h${ESC}?25l${ESC}2J`);
  if (input.isTTY) input.setRawMode(true);
  input.on('data', onData);
  input.resume();
  const redraw = setInterval(draw, opts.redrawMs ?? 200);
  let polling = false;
  const pollTimer = setInterval(() => {
    if (polling || quitting) return;
    polling = true;
    poll().catch((e) => note(`poll: ${(e as Error).message}`)).finally(() => { polling = false; });
  }, opts.pollMs ?? 500);
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
    restoreTerminal();
    output.write('lvsd demo: stopping the lab…\n');
    await forwards.close().catch(() => {});
    await dl.stop().catch((e) => output.write(`teardown: ${(e as Error).message}\n`));
    output.write('lvsd demo: lab stopped\n');
    finished();
  }

  note(`lab up; ${configs.map((c) => `${c.name} metrics ${fw(c.name, 'metrics')?.url('/metrics') ?? '-'}`).join(', ')}`);
  draw();
  void poll().catch(() => {});
  try {
    load = await dl.startLoad();
    note('load client sending requests through the VIP');
  } catch (e) {
    note(`load client failed: ${(e as Error).message.split('\n')[0]}`);
  }
  busy = undefined;
  await done;
}

// `node dist/src/demo/tui.js [nat|dr] [--base-port N] [--no-preempt]`: the interactive demo on its own
// (`npm run demo` is main.ts).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const args = process.argv.slice(2);
  const which = args.find((a) => a === 'nat' || a === 'dr') ?? 'nat';
  const bp = args.indexOf('--base-port');
  const basePort = bp >= 0 ? Number(args[bp + 1]) : undefined;
  const { DirectorLab } = await import('./director-lab.js');
  const layout = which === 'dr' ? (await import('./dr.js')).drLayout : (await import('./nat.js')).natLayout;
  process.stdout.write(`lvsd demo: starting the ${layout.name} lab (about 20 s)…\n`);
  const dl = await DirectorLab.start({ layout, preempt: !args.includes('--no-preempt'), log: (l) => process.stdout.write(`  ${l}\n`) });
  await runInteractive(dl, basePort !== undefined && Number.isInteger(basePort) ? { basePort } : {});
  process.exit(0);
}
