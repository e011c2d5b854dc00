// The kernel's own clock for "VIP added -> first GARP/NA": an ftrace instance recording two tracepoints
// in the sending process's context, so neither a monitor's wake-up nor a capture's position matters.
//   sock:sk_data_ready (family 16)   a netlink message queued: for RTM_NEWADDR, the ACK (and any
//                                    RTM_NEWADDR notifications) is queued inside the same sendmsg that
//                                    inserted the address, so the first one is "the VIP exists"
//   net:net_dev_start_xmit           a frame handed to the driver (veth has no qdisc: in the sender's
//                                    context); ARP 0x0806, IPv6 0x86dd
// Clock: CLOCK_MONOTONIC (trace_clock mono), the same for both events. Benchmarks only; tracefs is
// mounted in a private directory when no mount exists, and everything made here is removed by close().
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TraceEvent { pid: number; t: number; event: 'netlink' | 'xmit'; dev?: string; protocol?: number; len?: number }

const CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

export class KernelTrace {
  private constructor(private readonly dir: string, private readonly mountedAt: string | null) {}

  /** null (with the reason) when tracefs or its events are not available. */
  static open(): KernelTrace | string {
    let root = CANDIDATES.find((d) => existsSync(join(d, 'instances')));
    let mountedAt: string | null = null;
    if (!root) {
      const m = mkdtempSync(join(tmpdir(), 'lvsd-tracefs-'));
      const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', m], { encoding: 'utf8' });
      if (r.status !== 0) { rmdirSync(m); return `no tracefs: ${r.stderr.trim()}`; }
      root = m; mountedAt = m;
    }
    const dir = join(root, 'instances', `lvsd-bench-${process.pid}`);
    try {
      if (!existsSync(join(root, 'events/sock/sk_data_ready')) || !existsSync(join(root, 'events/net/net_dev_start_xmit'))) {
        throw new Error('tracepoints sock:sk_data_ready / net:net_dev_start_xmit missing');
      }
      if (!existsSync(dir)) mkdirSync(dir);
      const t = new KernelTrace(dir, mountedAt);
      t.write('trace_clock', 'mono');
      t.write('buffer_size_kb', '4096');
      t.write('events/sock/sk_data_ready/filter', 'family == 16');
      t.write('events/net/net_dev_start_xmit/filter', 'protocol == 0x0806 || protocol == 0x86dd || protocol == 0x0800');
      t.write('events/sock/sk_data_ready/enable', '1');
      t.write('events/net/net_dev_start_xmit/enable', '1');
      return t;
    } catch (e) {
      try { rmdirSync(dir); } catch { /* not made */ }
      if (mountedAt) { spawnSync('umount', [mountedAt]); rmdirSync(mountedAt); }
      return `ftrace: ${(e as Error).message}`;
    }
  }

  private write(file: string, text: string): void { writeFileSync(join(this.dir, file), `${text}\n`); }

  /** Starts recording from an empty buffer. */
  start(): void { this.write('trace', ''); this.write('tracing_on', '1'); }

  /** Stops recording and returns the events of the given thread ids. */
  stop(pids: number[]): TraceEvent[] {
    this.write('tracing_on', '0');
    return parseTrace(readFileSync(join(this.dir, 'trace'), 'utf8'), new Set(pids));
  }

  close(): void {
    try {
      this.write('tracing_on', '0');
      this.write('events/sock/sk_data_ready/enable', '0');
      this.write('events/net/net_dev_start_xmit/enable', '0');
      rmdirSync(this.dir);
    } catch { /* already gone */ }
    if (this.mountedAt) { spawnSync('umount', [this.mountedAt]); try { rmdirSync(this.mountedAt); } catch { /* busy */ } }
  }
}

const LINE = /^\s*.+?-(\d+)\s+\[\d+\]\s+\S+\s+(\d+\.\d+): (sk_data_ready|net_dev_start_xmit): (.*)$/;

export function parseTrace(text: string, pids: Set<number>): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m || !pids.has(Number(m[1]))) continue;
    const t = Number(m[2]) * 1000;
    if (m[3] === 'sk_data_ready') { out.push({ pid: Number(m[1]), t, event: 'netlink' }); continue; }
    const f = m[4]!;
    out.push({ pid: Number(m[1]), t, event: 'xmit', dev: /dev=(\S+)/.exec(f)?.[1] ?? '',
      protocol: Number(/protocol=(0x[0-9a-f]+)/.exec(f)?.[1] ?? 0), len: Number(/ len=(\d+)/.exec(f)?.[1] ?? 0) });
  }
  return out;
}

/**
 * VIP added -> first announcement, from one process's events: the first GARP (ARP) or NA (IPv6 frame
 * of an unsolicited NA's 86 bytes) and the earliest netlink event of the burst of netlink work just
 * before it (the address add). null when the trace has no such pair.
 */
export function vipToAnnounceMs(events: TraceEvent[], family: 'ipv4' | 'ipv6'): { ms: number; added: number; announced: number } | null {
  const first = events.find((e) => e.event === 'xmit' && (family === 'ipv4' ? e.protocol === 0x0806 : e.protocol === 0x86dd && e.len === 86));
  if (!first) return null;
  // The netlink events belonging to the add: walk back from the announcement while they are close together.
  let added: number | null = null;
  for (let i = events.indexOf(first) - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.event !== 'netlink') continue;
    if (added !== null && added - e.t > 5) break;
    if (first.t - e.t > 50) break;
    added = e.t;
  }
  return added === null ? null : { ms: first.t - added, added, announced: first.t };
}
