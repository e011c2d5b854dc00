// Track processes (keepalived vrrp_track_process): a named process is running, at least `quorum` and at
// most `quorum_max` of them. One scan of /proc at start; after that the kernel's process events connector
// (vrrp/proc-connector.ts) reports each fork, exec, comm change and exit, and only that PID is looked at
// again. No polling of ps.
//
//   const pt = new ProcessTracker((name, up) => ..., log);
//   pt.sync(configs);          // start / stop tracking; the first call opens the connector and scans /proc
//   pt.up('haproxy');          // true / false / null (not known yet)
//   pt.stop();
//
// Matching (keepalived.conf(5) "VRRP track processes"): `process` is compared with the process name
// (comm, the Name: of /proc/PID/status, at most 15 bytes), exactly, as `pgrep '^name$'`; with
// full_command, params or param_match it is compared with argv[0] of /proc/PID/cmdline, and the params
// with argv[1..]: all of them exactly (default), the first n exactly (partial), or the configured ones as a
// prefix of the process's (initial: the last may be longer). Zombies do not count.
//
// Namespaces: the kernel has the connector only in the initial network namespace (its netlink socket is
// created in init_net), and answers subscriptions only from the initial PID namespace. lvsd opens the
// socket in its own namespace first; when the kernel refuses the subscription there (ECONNREFUSED: no
// connector in this netns), it opens it in LVSD_PROC_CONNECTOR_NETNS (default /proc/1/ns/net: setns there
// and back on this thread, in the addon, for that one socket). Without events (no CAP_NET_ADMIN, another
// PID namespace, /proc/1/ns/net not readable) it says why and re-scans /proc every second instead.
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import {
  AF_NETLINK, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE, Socket,
} from '../src/native/index.js';
import {
  NETLINK_CONNECTOR, CN_IDX_PROC, PROC_CN_MCAST_IGNORE, PROC_CN_MCAST_LISTEN, decodeProcDatagram, encodeProcSubscribe, type ProcEvent,
} from './proc-connector.js';

/** What one track process asks for; the config's shape (src/config/model.ts track_processes). */
export interface ProcessSpec {
  name: string;
  process: string;
  params?: string[];
  param_match?: 'initial' | 'partial';
  full_command: boolean;
  quorum: number;
  quorum_max?: number;
  fork_delay: number;
  terminate_delay: number;
}

/** What lvsd knows of one process: comm, and argv when a spec needs it. */
export interface ProcInfo { comm: string; argv: string[] | null }

/** comm holds at most TASK_COMM_LEN - 1 bytes; the kernel cuts longer names there. */
export const TASK_COMM_MAX = 15;
/** Bytes of /proc/PID/stat read: pid, (comm) and state are in its first few dozen. */
const STAT_MAX = 512;
/** Bytes of /proc/PID/cmdline read; params beyond this do not match. */
export const CMDLINE_MAX = 32 * 1024;

// ---- the pure part ----

export function needsCmdline(s: ProcessSpec): boolean {
  return s.full_command || (s.params !== undefined && s.params.length > 0) || s.param_match !== undefined;
}

/** Does this process count for the spec? */
export function matchesProcess(s: ProcessSpec, p: ProcInfo): boolean {
  if (!needsCmdline(s)) return p.comm === Buffer.from(s.process).subarray(0, TASK_COMM_MAX).toString('latin1') || p.comm === s.process;
  const argv = p.argv;
  if (!argv || argv.length === 0 || argv[0] !== s.process) return false;
  const want = s.params ?? [];
  const have = argv.slice(1);
  // param_match without params: the command must have none (keepalived.conf(5)).
  if (want.length === 0) return s.param_match === undefined || have.length === 0;
  if (s.param_match === undefined) return have.length === want.length && want.every((w, i) => have[i] === w);
  if (s.param_match === 'partial') return have.length >= want.length && want.every((w, i) => have[i] === w);
  // initial: the configured params, NUL-separated, are a prefix of the process's.
  return have.join('\0').startsWith(want.join('\0'));
}

/** OK when the count is within [quorum, quorum_max]. */
export function quorumOk(count: number, s: Pick<ProcessSpec, 'quorum' | 'quorum_max'>): boolean {
  return count >= s.quorum && (s.quorum_max === undefined || count <= s.quorum_max);
}

/** /proc/PID/stat: "pid (comm) S ..."; comm may hold spaces and ')' (the last ')' ends it). */
export function parseProcStat(text: string): { comm: string; state: string } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open || close + 2 >= text.length) return null;
  return { comm: text.slice(open + 1, close), state: text[close + 2]! };
}

/** /proc/PID/cmdline: NUL-separated arguments (a trailing NUL ends the last). */
export function parseCmdline(b: Buffer): string[] {
  if (b.length === 0) return [];
  const s = b.toString('utf8');
  const parts = s.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * Debounce of one spec (pure): `observe(ok, cause, now)` with the quorum now; the answer is the state to
 * report now (if it changed) and when to look again. fork_delay holds a gain that a fork caused (a
 * forked child often execs something else at once); terminate_delay holds a loss.
 */
export class QuorumDebounce {
  up: boolean | null = null;
  /** The time a pending change becomes due, with the direction it goes. */
  pending: { ok: boolean; at: number } | null = null;
  constructor(private readonly s: Pick<ProcessSpec, 'fork_delay' | 'terminate_delay'>) {}
  observe(ok: boolean, cause: 'scan' | 'fork' | 'exec' | 'exit' | 'timer', now: number): { changed: boolean; recheckAt: number | null } {
    if (this.up === null || ok === this.up) {
      // The first answer is taken as it is: there is nothing to bounce from.
      this.pending = null;
      const changed = this.up !== ok;
      this.up = ok;
      return { changed, recheckAt: null };
    }
    if (this.pending && this.pending.ok === ok) {
      if (now < this.pending.at) return { changed: false, recheckAt: this.pending.at };
      this.pending = null;
      this.up = ok;
      return { changed: true, recheckAt: null };
    }
    const delay = ok ? (cause === 'fork' ? this.s.fork_delay : 0) : this.s.terminate_delay;
    if (delay <= 0 || cause === 'timer') { this.pending = null; this.up = ok; return { changed: true, recheckAt: null }; }
    this.pending = { ok, at: now + delay };
    return { changed: false, recheckAt: this.pending.at };
  }
}

// ---- reading /proc (bounded, synchronous: a few microseconds per file) ----

const readBuf = Buffer.alloc(CMDLINE_MAX);
function readProcFile(path: string, max: number): Buffer | null {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return null; }
  try {
    let n = 0;
    while (n < max) {
      const r = readSync(fd, readBuf, n, max - n, null);
      if (r === 0) break;
      n += r;
    }
    return Buffer.from(readBuf.subarray(0, n));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The process as /proc shows it now; null when it is gone or a zombie. */
export function readProc(pid: number, withArgv: boolean, procRoot = '/proc'): ProcInfo | null {
  const stat = readProcFile(`${procRoot}/${pid}/stat`, STAT_MAX);
  if (!stat) return null;
  const st = parseProcStat(stat.toString('latin1'));
  if (!st || st.state === 'Z' || st.state === 'X') return null;
  let argv: string[] | null = null;
  if (withArgv) {
    const cl = readProcFile(`${procRoot}/${pid}/cmdline`, CMDLINE_MAX);
    if (!cl) return null;
    argv = parseCmdline(cl);
  }
  return { comm: st.comm, argv };
}

// ---- the shell ----

interface Tracked {
  spec: ProcessSpec;
  pids: Set<number>;
  debounce: QuorumDebounce;
  timer: NodeJS.Timeout | null;
}

export class ProcessTracker {
  private readonly tracked = new Map<string, Tracked>();
  /** PIDs that match at least one spec, with what was read of them (a fork copies its parent's). */
  private readonly procs = new Map<number, ProcInfo>();
  private sock: Socket | null = null;
  private poll: NodeJS.Timeout | null = null;
  private ackTimer: NodeJS.Timeout | null = null;
  private started = false;
  private announced = false;
  private stopped = false;
  /** How events arrive: 'connector' (in this netns or another), 'poll' (fallback), null before start. */
  mode: string | null = null;
  /** Events handled, and re-scans after the socket overflowed (ENOBUFS). */
  readonly counters = { events: 0, rescans: 0 };

  constructor(private readonly onChange: (name: string, up: boolean) => void, private readonly log: (line: string) => void,
    private readonly opts: { netns?: string; procRoot?: string; now?: () => number } = {}) {}

  private now(): number { return this.opts.now ? this.opts.now() : performance.now(); }

  up(name: string): boolean | null { return this.tracked.get(name)?.debounce.up ?? null; }

  /** Tracks these specs: a kept one (same settings) keeps its state, a changed one starts over. */
  sync(specs: ProcessSpec[]): string[] {
    const changes: string[] = [];
    const wanted = new Map(specs.map((s) => [s.name, s] as const));
    for (const [name, t] of this.tracked) {
      const s = wanted.get(name);
      if (s && JSON.stringify(s) === JSON.stringify(t.spec)) continue;
      if (t.timer) clearTimeout(t.timer);
      this.tracked.delete(name);
      changes.push(`track process ${name}: ${s ? 'restarted' : 'stopped'}`);
    }
    const fresh: Tracked[] = [];
    for (const s of specs) {
      if (this.tracked.has(s.name)) continue;
      const t: Tracked = { spec: s, pids: new Set(), debounce: new QuorumDebounce(s), timer: null };
      this.tracked.set(s.name, t);
      fresh.push(t);
    }
    if (this.tracked.size && !this.started) this.open();
    if (fresh.length) this.rescan('scan');
    return changes;
  }

  private withArgv(): boolean {
    for (const t of this.tracked.values()) if (needsCmdline(t.spec)) return true;
    return false;
  }

  /** Every PID of /proc against every spec (start, overflow, polling fallback). */
  private rescan(cause: 'scan' | 'exit'): void {
    let names: string[];
    try { names = readdirSync(this.opts.procRoot ?? '/proc'); } catch (e) { this.log(`track process: cannot read /proc: ${(e as Error).message}`); return; }
    const argv = this.withArgv();
    this.procs.clear();
    for (const t of this.tracked.values()) t.pids.clear();
    for (const n of names) {
      if (!/^[1-9][0-9]*$/.test(n)) continue;
      const pid = Number(n);
      const info = readProc(pid, argv, this.opts.procRoot);
      if (info) this.place(pid, info);
    }
    for (const t of this.tracked.values()) this.evaluate(t, cause);
  }

  /** Puts pid in the sets of the specs it matches; true when it matches any. */
  private place(pid: number, info: ProcInfo): boolean {
    let any = false;
    for (const t of this.tracked.values()) {
      if (matchesProcess(t.spec, info)) { t.pids.add(pid); any = true; } else t.pids.delete(pid);
    }
    if (any) this.procs.set(pid, info); else this.procs.delete(pid);
    return any;
  }

  private evaluate(t: Tracked, cause: 'scan' | 'fork' | 'exec' | 'exit' | 'timer'): void {
    const ok = quorumOk(t.pids.size, t.spec);
    const r = t.debounce.observe(ok, cause, this.now());
    if (t.timer) { clearTimeout(t.timer); t.timer = null; }
    if (r.recheckAt !== null) {
      t.timer = setTimeout(() => { t.timer = null; if (!this.stopped && this.tracked.get(t.spec.name) === t) this.evaluate(t, 'timer'); }, Math.max(0, r.recheckAt - this.now()));
      t.timer.unref?.();
    }
    if (r.changed) {
      this.log(`track process ${t.spec.name}: ${t.debounce.up ? 'up' : 'down'} (${t.pids.size} running, quorum ${t.spec.quorum}${t.spec.quorum_max !== undefined ? `-${t.spec.quorum_max}` : ''})`);
      this.onChange(t.spec.name, t.debounce.up!);
    }
  }

  /** One event from the kernel: only the PID it names is looked at. */
  handle(ev: ProcEvent): void {
    if (this.stopped) return;
    this.counters.events++;
    switch (ev.type) {
      case 'fork': {
        if (ev.childPid !== ev.childTgid) return; // a thread
        const parent = this.procs.get(ev.parentTgid);
        if (!parent) return;
        this.procs.set(ev.childTgid, parent);
        for (const t of this.tracked.values()) if (t.pids.has(ev.parentTgid)) { t.pids.add(ev.childTgid); this.evaluate(t, 'fork'); }
        return;
      }
      case 'exec':
      case 'comm': {
        if (ev.type === 'comm' && ev.pid !== ev.tgid) return; // a thread's name: not the process's
        const pid = ev.tgid;
        const before = new Set([...this.tracked.values()].filter((t) => t.pids.has(pid)));
        const info = readProc(pid, this.withArgv(), this.opts.procRoot);
        if (info && ev.type === 'comm') info.comm = ev.comm;
        if (info) this.place(pid, info); else this.forget(pid);
        for (const t of this.tracked.values()) if (before.has(t) !== t.pids.has(pid)) this.evaluate(t, 'exec');
        return;
      }
      case 'exit': {
        if (ev.pid !== ev.tgid) return; // a thread
        if (!this.procs.has(ev.tgid)) return;
        const before = [...this.tracked.values()].filter((t) => t.pids.has(ev.tgid));
        this.forget(ev.tgid);
        for (const t of before) this.evaluate(t, 'exit');
        return;
      }
      default:
    }
  }

  private forget(pid: number): void {
    this.procs.delete(pid);
    for (const t of this.tracked.values()) t.pids.delete(pid);
  }

  private open(): void {
    this.started = true;
    try {
      this.subscribe(undefined);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ECONNREFUSED' && code !== 'EPROTONOSUPPORT') { this.fallBack(`process events connector: ${(e as Error).message}`); return; }
      // Not the initial network namespace: the connector lives only there.
      const ns = this.opts.netns ?? process.env.LVSD_PROC_CONNECTOR_NETNS ?? '/proc/1/ns/net';
      try {
        this.subscribe(ns);
      } catch (e2) {
        this.fallBack(`process events connector: not in this network namespace (${code}), and in ${ns}: ${(e2 as Error).message} (set LVSD_PROC_CONNECTOR_NETNS to a path of the initial network namespace)`);
      }
    }
  }

  private subscribe(netns: string | undefined): void {
    const s = Socket.open(AF_NETLINK, SOCK_DGRAM, NETLINK_CONNECTOR, netns ? { netns } : {});
    try {
      try { s.setsockopt(SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20); } catch { s.setsockopt(SOL_SOCKET, SO_RCVBUF, 4 << 20); }
      s.bind({ family: 'netlink', groups: CN_IDX_PROC });
      s.send(encodeProcSubscribe(PROC_CN_MCAST_LISTEN), { to: { family: 'netlink', pid: 0 } });
    } catch (e) {
      s.close();
      throw e;
    }
    this.sock = s;
    this.mode = netns ? `connector (${netns})` : 'connector';
    s.onReadable(() => this.drain(), { keepAlive: false });
    // The kernel answers a subscription it honours; silence means it ignored it (another PID namespace).
    this.ackTimer = setTimeout(() => { this.ackTimer = null; if (!this.stopped) this.fallBack('process events connector: the kernel did not answer the subscription (lvsd is not in the initial PID namespace?)'); }, 2000);
    this.ackTimer.unref?.();
  }

  private drain(): void {
    const s = this.sock;
    if (!s) return;
    for (let i = 0; i < 1024; i++) {
      let r;
      try {
        r = s.recv({ size: 8192 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOBUFS') { this.counters.rescans++; this.rescan('exit'); continue; }
        this.fallBack(`process events connector: ${(e as Error).message}`);
        return;
      }
      if (!r) return;
      if (r.from.family === 'netlink' && r.from.pid !== 0) continue; // only the kernel speaks here
      for (const ev of decodeProcDatagram(r.data)) {
        if (ev.type === 'ack') {
          if (this.ackTimer) { clearTimeout(this.ackTimer); this.ackTimer = null; }
          if (ev.err !== 0) { this.fallBack(`process events connector: subscription refused (errno ${ev.err}; needs CAP_NET_ADMIN)`); return; }
          if (!this.announced) { this.announced = true; this.log(`track process: following the kernel's process events (${this.mode})`); }
          continue;
        }
        this.handle(ev);
      }
    }
  }

  private fallBack(why: string): void {
    if (this.ackTimer) { clearTimeout(this.ackTimer); this.ackTimer = null; }
    this.sock?.close();
    this.sock = null;
    if (this.poll || this.stopped) return;
    this.mode = 'poll';
    this.log(`track process: ${why}; re-scanning /proc every second instead`);
    this.poll = setInterval(() => this.rescan('exit'), 1000);
    this.poll.unref?.();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.tracked.values()) if (t.timer) clearTimeout(t.timer);
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.poll) clearInterval(this.poll);
    if (this.sock) {
      try { this.sock.send(encodeProcSubscribe(PROC_CN_MCAST_IGNORE), { to: { family: 'netlink', pid: 0 } }); } catch { /* closing anyway */ }
      this.sock.close();
      this.sock = null;
    }
  }
}
