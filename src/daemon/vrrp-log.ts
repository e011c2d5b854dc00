// The VRRP engine logs plain lines; the daemon's log is structured. This reads a level and fields out
// of a line (pure), keeping the line itself as the message so people and tests see the same words.
import type { LogFields, LogLevel } from '../log/index.js';

const TRANSITION = /^(\S+): (initialize|backup|master|fault) -> (initialize|backup|master|fault) \(([^)]*)\) priority (\d+)$/;
// Things that went wrong on the wire or in the kernel: adverts, VIPs, GARP/NA sockets, scripts.
const PROBLEM = /(failed|cannot|: (add|remove) \S+: |VIPs: )/;
// Adverts dropped (vrrp/diagnostics.ts, vrrp/drop-log.ts): outside input, already rate-limited, debug.
const DROPPED = /^(\S+: dropped advert from |vrrp channel \S+: dropped )/;

export function vrrpLogRecord(line: string): { level: LogLevel; fields: LogFields } {
  const t = TRANSITION.exec(line);
  if (t) {
    // Leaving master or entering fault is what an operator is paged for.
    const level: LogLevel = t[3] === 'fault' || (t[2] === 'master' && t[4] !== 'shutdown') ? 'warn' : 'info';
    return { level, fields: { instance: t[1], from: t[2], to: t[3], reason: t[4], priority: Number(t[5]) } };
  }
  const name = /^([A-Za-z0-9][A-Za-z0-9_.-]*): /.exec(line)?.[1];
  const fields: LogFields = name !== undefined && !line.startsWith('notify ') && !line.startsWith('track script ') ? { instance: name } : {};
  if (DROPPED.test(line)) return { level: 'debug', fields };
  if (line.includes(': SPLIT BRAIN: ')) return { level: 'warn', fields };
  return { level: PROBLEM.test(line) || line.startsWith('notify ') ? 'warn' : 'info', fields };
}
