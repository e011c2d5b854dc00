// Renders IPVS tables the way operators read them from ipvsadm 1.31: `ipvsadm -Ln` (with --stats, --rate,
// --thresholds, --persistent-conn, --exact) and `ipvsadm -Sn`; and parses `-Sn` text back into records,
// which lets tests compare a table lvsd programmed with one ipvsadm programmed. Pure text in and out.
import {
  AF_INET, AF_INET6, IP_VS_CONN_F_BYPASS, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_LOCALNODE, IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_TUNNEL_TYPE_GRE, IP_VS_CONN_F_TUNNEL_TYPE_GUE, IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
  IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3,
  IP_VS_TUNNEL_ENCAP_FLAG_CSUM, IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
} from './constants.js';
import { familyOf, hostPort } from './address.js';
import { addressBytes } from '../src/native/addresses.js';
import type { IpvsDestination, IpvsDestinationEntry } from './destination.js';
import type { IpvsInfo } from './messages.js';
import { defaultNetmask, type IpvsService } from './service.js';
import type { IpvsStats } from './stats.js';
import type { IpvsKernelTable, IpvsTable, IpvsTableEntry } from './table.js';

export type ListFormat = 'default' | 'stats' | 'rate' | 'thresholds' | 'persistent-conn';

const PROTO_NAME: Record<number, string> = { [IPPROTO_TCP]: 'TCP', [IPPROTO_UDP]: 'UDP', [IPPROTO_SCTP]: 'SCTP' };
const PROTO_SWITCH: Record<number, string> = { [IPPROTO_TCP]: '-t', [IPPROTO_UDP]: '-u', [IPPROTO_SCTP]: '--sctp-service' };
const FWD_NAME: Record<number, string> = {
  [IP_VS_CONN_F_MASQ]: 'Masq', [IP_VS_CONN_F_LOCALNODE]: 'Local', [IP_VS_CONN_F_TUNNEL]: 'Tunnel',
  [IP_VS_CONN_F_DROUTE]: 'Route', [IP_VS_CONN_F_BYPASS]: 'Bypass',
};
const FWD_SWITCH: Record<number, string> = {
  [IP_VS_CONN_F_MASQ]: '-m', [IP_VS_CONN_F_LOCALNODE]: '-g', [IP_VS_CONN_F_TUNNEL]: '-i', [IP_VS_CONN_F_DROUTE]: '-g',
  [IP_VS_CONN_F_BYPASS]: '-g',
};
const TUN_NAME: Record<number, string> = { [IP_VS_CONN_F_TUNNEL_TYPE_IPIP]: 'ipip', [IP_VS_CONN_F_TUNNEL_TYPE_GUE]: 'gue', [IP_VS_CONN_F_TUNNEL_TYPE_GRE]: 'gre' };

const ipv4Mask = (m: number): string => [24, 16, 8, 0].map((s) => (m >>> s) & 0xff).join('.');

/** The scheduler flags as ipvsadm names them: sh-fallback/sh-port, mh-fallback/mh-port, else flag-N. */
export function schedFlagNames(schedName: string, flags: number): string[] {
  const out: string[] = [];
  const named = schedName === 'sh' || schedName === 'mh';
  if (flags & IP_VS_SVC_F_SCHED1) out.push(named ? `${schedName}-fallback` : 'flag-1');
  if (flags & IP_VS_SVC_F_SCHED2) out.push(named ? `${schedName}-port` : 'flag-2');
  if (flags & IP_VS_SVC_F_SCHED3) out.push('flag-3');
  return out;
}

function serviceName(s: IpvsService): string {
  if (s.fwmark) return `FWM  ${s.fwmark}${s.af === AF_INET6 ? ' IPv6' : ''}`;
  return `${(PROTO_NAME[s.protocol] ?? String(s.protocol)).padEnd(4)} ${hostPort(s.addr, s.port)}`;
}

function serviceFlagsText(s: IpvsService): string {
  let t = '';
  const sched = schedFlagNames(s.schedName, s.flags);
  if (sched.length) t += ` (${sched.join(',')})`;
  if (s.flags & IP_VS_SVC_F_PERSISTENT) {
    t += ` persistent ${s.timeout}`;
    if (s.netmask !== defaultNetmask(s.af)) t += ` mask ${s.af === AF_INET ? ipv4Mask(s.netmask) : s.netmask}`;
    if (s.peName) t += ` pe ${s.peName}`;
  }
  if (s.flags & IP_VS_SVC_F_ONEPACKET) t += ' ops';
  return t;
}

/** ipvsadm's print_largenum: 9 columns, or K/M/G/T past 100 million unless exact. */
function largeNum(n: bigint, exact: boolean): string {
  if (exact) { const s = n.toString(); return s.padStart(s.length <= 8 ? 9 : s.length + 1); }
  if (n < 100_000_000n) return n.toString().padStart(9);
  if (n < 1_000_000_000n) return `${(n / 1000n).toString().padStart(8)}K`;
  if (n < 100_000_000_000n) return `${(n / 1_000_000n).toString().padStart(8)}M`;
  if (n < 100_000_000_000_000n) return `${(n / 1_000_000_000n).toString().padStart(8)}G`;
  return `${(n / 1_000_000_000_000n).toString().padStart(8)}T`;
}

function statsText(st: IpvsStats, format: 'stats' | 'rate', exact: boolean): string {
  const f = format === 'stats' ? [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] : [st.cps, st.inpps, st.outpps, st.inbps, st.outbps];
  return f.map((n) => largeNum(n, exact)).join('');
}

const HEADERS: Record<ListFormat, string> = {
  default: 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
  stats: 'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n',
  rate: 'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n  -> RemoteAddress:Port\n',
  thresholds: 'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n  -> RemoteAddress:Port\n',
  'persistent-conn': 'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n  -> RemoteAddress:Port\n',
};

// ipvsadm sorts what it lists unless told --nosort (libipvs ipvs_cmp_services / ipvs_cmp_dests): by
// fwmark, family, protocol, address, port; destinations by address, then port. The comparisons are C int
// subtractions of unsigned 32-bit words, so huge differences wrap; we compare the same way.
const addrWords = (addr: string): number[] => {
  if (!addr) return [0];
  const b = addressBytes(addr);
  const w: number[] = [];
  for (let i = 0; i < b.length; i += 4) w.push(b.readUInt32BE(i));
  return w;
};
const cmpInt = (a: number, b: number): number => (a - b) | 0;
function cmpAddr(a: string, b: string): number {
  const x = addrWords(a), y = addrWords(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) { const r = cmpInt(x[i]!, y[i]!); if (r) return r; }
  return 0;
}

export function sortTable<T extends IpvsTableEntry>(table: T[]): T[] {
  const cmpSvc = (a: IpvsService, b: IpvsService) =>
    cmpInt(a.fwmark, b.fwmark) || cmpInt(a.af, b.af) || cmpInt(a.protocol, b.protocol) || cmpAddr(a.addr, b.addr) || cmpInt(a.port, b.port);
  const cmpDest = (a: IpvsDestination, b: IpvsDestination) => cmpInt(a.addrFamily, b.addrFamily) || cmpAddr(a.addr, b.addr) || cmpInt(a.port, b.port);
  return [...table].sort((a, b) => cmpSvc(a.service, b.service)).map((e) => ({ ...e, dests: [...e.dests].sort(cmpDest) }));
}

/** `ipvsadm -Ln [--stats|--rate|--thresholds|--persistent-conn] [--exact] [--nosort]`. */
export function renderList(info: IpvsInfo, kernelTable: IpvsKernelTable, opts: { format?: ListFormat; exact?: boolean; nosort?: boolean } = {}): string {
  const table = opts.nosort ? kernelTable : sortTable(kernelTable);
  const format = opts.format ?? 'default';
  const exact = opts.exact ?? false;
  const v = info.version;
  let out = `IP Virtual Server version ${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff} (size=${info.connTabSize})\n` + HEADERS[format];
  for (const { service: s, dests } of table) {
    if (format === 'stats' || format === 'rate') out += serviceName(s).padEnd(33) + statsText(s.stats, format, exact) + '\n';
    else out += `${serviceName(s)} ${s.schedName}${serviceFlagsText(s)}\n`;
    for (const d of dests) out += destLine(d, format, exact) + '\n';
  }
  return out;
}

function destLine(d: IpvsDestinationEntry, format: ListFormat, exact: boolean): string {
  const name = hostPort(d.addr, d.port);
  const col = (v: string | number, w: number) => String(v).padEnd(w);
  switch (format) {
    case 'stats': case 'rate': return `  -> ${name.padEnd(28)}${statsText(d.stats, format, exact)}`;
    case 'thresholds': return `  -> ${col(name, 28)} ${col(d.uThresh, 10)} ${col(d.lThresh, 10)} ${col(d.activeConns, 10)} ${col(d.inactConns, 10)}`;
    case 'persistent-conn': return `  -> ${col(name, 28)} ${col(d.weight, 9)} ${col(d.persistConns, 11)} ${col(d.activeConns, 10)} ${col(d.inactConns, 10)}`;
    default: return `  -> ${col(name, 28)} ${col(FWD_NAME[d.fwdMethod] ?? '?', 7)} ${col(d.weight, 6)} ${col(d.activeConns, 10)} ${col(d.inactConns, 10)}`;
  }
}

function ruleServiceName(s: IpvsService): string {
  if (s.fwmark) return `-f ${s.fwmark}${s.af === AF_INET6 ? ' -6' : ''}`;
  return `${PROTO_SWITCH[s.protocol] ?? `--protocol-${s.protocol}`} ${hostPort(s.addr, s.port)}`;
}

/** `ipvsadm -Sn [--nosort]`: one -A line per service, then its -a lines. */
export function renderSave(table: IpvsTable, opts: { nosort?: boolean } = {}): string {
  let out = '';
  for (const { service: s, dests } of opts.nosort ? table : sortTable(table)) {
    const name = ruleServiceName(s);
    out += `-A ${name} -s ${s.schedName}`;
    const sched = schedFlagNames(s.schedName, s.flags);
    if (sched.length) out += ` -b ${sched.join(',')}`;
    if (s.flags & IP_VS_SVC_F_PERSISTENT) {
      out += ` -p ${s.timeout}`;
      if (s.netmask !== defaultNetmask(s.af)) out += ` -M ${s.af === AF_INET ? ipv4Mask(s.netmask) : s.netmask}`;
      if (s.peName) out += ` --pe ${s.peName}`;
    }
    if (s.flags & IP_VS_SVC_F_ONEPACKET) out += ' -o';
    out += '\n';
    for (const d of dests) {
      out += `-a ${name} -r ${hostPort(d.addr, d.port)} ${FWD_SWITCH[d.fwdMethod] ?? '-g'} -w ${d.weight}`;
      if (d.fwdMethod === IP_VS_CONN_F_TUNNEL) {
        out += ` --tun-type ${TUN_NAME[d.tunType] ?? d.tunType}`;
        if (d.tunType === IP_VS_CONN_F_TUNNEL_TYPE_GUE) out += ` --tun-port ${d.tunPort}`;
        if (d.tunType !== IP_VS_CONN_F_TUNNEL_TYPE_IPIP) {
          if (d.tunFlags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM) out += ' --tun-csum';
          else if (d.tunFlags & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM) out += ' --tun-remcsum';
          else out += ' --tun-nocsum';
        }
      }
      out += '\n';
    }
  }
  return out;
}

export class SaveParseError extends Error {
  override name = 'SaveParseError';
  constructor(message: string, readonly line: number) { super(`line ${line}: ${message}`); }
}

function parseHostPort(text: string, line: number): { addr: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new SaveParseError(`bad address ${text}`, line);
  try { familyOf(m[1]!); } catch { throw new SaveParseError(`bad address ${text}`, line); }
  return { addr: m[1]!, port: m[2] ? Number(m[2]) : 0 };
}

/** Parses `ipvsadm -Sn` output (as renderSave writes it) into records, in order. */
export function parseSave(text: string): IpvsTable {
  const table: IpvsTable = [];
  const byName = new Map<string, { service: IpvsService; dests: IpvsDestination[] }>();
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const words = raw.trim().split(/\s+/).filter(Boolean);
    if (!words.length) return;
    const op = words.shift();
    if (op !== '-A' && op !== '-a') throw new SaveParseError(`expected -A or -a, got ${op}`, line);
    const opt = new Map<string, string>();
    const bools = new Set<string>();
    let svcName = '';
    while (words.length) {
      const w = words.shift()!;
      if (['-t', '-u', '--sctp-service', '-f'].includes(w)) {
        const v = words.shift() ?? '';
        svcName = `${w} ${v}`;
        opt.set('svc', w); opt.set('svcaddr', v);
      } else if (['-6', '-m', '-g', '-i', '-o', '--tun-csum', '--tun-nocsum', '--tun-remcsum'].includes(w)) {
        bools.add(w);
        if (w === '-6') svcName += ' -6';
      } else if (['-s', '-b', '-p', '-M', '--pe', '-r', '-w', '-x', '-y', '--tun-type', '--tun-port'].includes(w)) {
        opt.set(w, words.shift() ?? '');
      } else throw new SaveParseError(`unknown option ${w}`, line);
    }
    if (!opt.has('svc')) throw new SaveParseError('no service', line);
    if (op === '-A') {
      const sw = opt.get('svc')!;
      let s: IpvsService;
      const common = { schedName: opt.get('-s') ?? 'wlc', flags: 0, timeout: 0, peName: opt.get('--pe') ?? '' };
      if (sw === '-f') {
        const af = bools.has('-6') ? AF_INET6 : AF_INET;
        s = { af, protocol: 0, addr: '', port: 0, fwmark: Number(opt.get('svcaddr')), ...common, netmask: defaultNetmask(af) };
      } else {
        const { addr, port } = parseHostPort(opt.get('svcaddr')!, line);
        const af = familyOf(addr);
        const protocol = sw === '-t' ? IPPROTO_TCP : sw === '-u' ? IPPROTO_UDP : IPPROTO_SCTP;
        s = { af, protocol, addr, port, fwmark: 0, ...common, netmask: defaultNetmask(af) };
      }
      for (const f of (opt.get('-b') ?? '').split(',').filter(Boolean)) {
        if (/-fallback$|^flag-1$/.test(f)) s.flags |= IP_VS_SVC_F_SCHED1;
        else if (/-port$|^flag-2$/.test(f)) s.flags |= IP_VS_SVC_F_SCHED2;
        else if (f === 'flag-3') s.flags |= IP_VS_SVC_F_SCHED3;
        else throw new SaveParseError(`unknown scheduler flag ${f}`, line);
      }
      if (opt.has('-p')) { s.flags |= IP_VS_SVC_F_PERSISTENT; s.timeout = Number(opt.get('-p') || 360); }
      if (opt.has('-M')) {
        const m = opt.get('-M')!;
        s.netmask = s.af === AF_INET ? m.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0) : Number(m);
      }
      if (bools.has('-o')) s.flags |= IP_VS_SVC_F_ONEPACKET;
      const entry = { service: s, dests: [] };
      table.push(entry);
      byName.set(svcName, entry);
    } else {
      const entry = byName.get(svcName);
      if (!entry) throw new SaveParseError(`destination of an unknown service ${svcName}`, line);
      const { addr, port } = parseHostPort(opt.get('-r') ?? '', line);
      const fwdMethod = bools.has('-m') ? IP_VS_CONN_F_MASQ : bools.has('-i') ? IP_VS_CONN_F_TUNNEL : IP_VS_CONN_F_DROUTE;
      const tunName = opt.get('--tun-type') ?? 'ipip';
      const tunType = Number(Object.entries(TUN_NAME).find(([, n]) => n === tunName)?.[0] ?? 0);
      const tunFlags = bools.has('--tun-csum') ? IP_VS_TUNNEL_ENCAP_FLAG_CSUM : bools.has('--tun-remcsum') ? IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM : 0;
      entry.dests.push({
        addrFamily: familyOf(addr), addr, port: port || entry.service.port, fwdMethod, weight: Number(opt.get('-w') ?? 1),
        uThresh: Number(opt.get('-x') ?? 0), lThresh: Number(opt.get('-y') ?? 0),
        tunType: fwdMethod === IP_VS_CONN_F_TUNNEL ? tunType : 0,
        tunPort: fwdMethod === IP_VS_CONN_F_TUNNEL ? Number(opt.get('--tun-port') ?? 0) : 0,
        tunFlags: fwdMethod === IP_VS_CONN_F_TUNNEL ? tunFlags : 0,
      });
    }
  });
  return table;
}

/** A table in a canonical order (services, then destinations, by their text), to compare two dumps. */
export function sortedSave(text: string): string {
  const blocks: string[][] = [];
  for (const l of text.split('\n').filter(Boolean)) {
    if (l.startsWith('-A')) blocks.push([l]); else blocks[blocks.length - 1]?.push(l);
  }
  return blocks.map(([head, ...rest]) => [head, ...rest.sort()].join('\n')).sort().join('\n') + '\n';
}
