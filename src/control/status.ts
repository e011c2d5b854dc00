// The daemon's status: buildStatus() reads the daemon and the kernel's IPVS table into plain JSON (what
// `GET /status` returns and `lvsd status --json` prints); renderStatus() lays that JSON out for a person:
// VRRP instances first, then the table as `ipvsadm -Ln` prints it with each real server's health and
// reason appended. The renderer is pure (JSON in, text out) so the CLI needs no daemon internals.
import { hostname } from 'node:os';
import { hostPort } from '../../ipvs/address.js';
import { renderList, sortTable } from '../../ipvs/ipvsadm-format.js';
import type { IpvsDestination, IpvsDestinationEntry } from '../../ipvs/destination.js';
import { serviceKey, type IpvsService, type IpvsServiceEntry } from '../../ipvs/service.js';
import type { IpvsStats } from '../../ipvs/stats.js';
import type { IpvsKernelTable, IpvsTableEntry } from '../../ipvs/table.js';
import { realServerPort, serviceRecord, serviceRecords } from '../balancer/records.js';
import type { ControlServerState, ControlTarget, ControlVrrpInstance } from './target.js';
import type { AnnounceStatus } from '../announce/announcer.js';
import type { SysctlStatus } from '../sysctl/keeper.js';

// ---- the JSON ----

/** IPVS counters as decimal strings: they are 64-bit and JSON numbers are not. */
export type StatsJson = { [K in keyof IpvsStats]: string };
export interface KernelServiceJson extends IpvsService { stats: StatsJson }
export interface KernelDestJson extends IpvsDestination {
  activeConns: number;
  inactConns: number;
  persistConns: number;
  stats: StatsJson;
}
export interface KernelEntryJson { service: KernelServiceJson; dests: KernelDestJson[] }

export interface VrrpStatus {
  name: string;
  vrid: number;
  version: number;
  interface: string;
  family: 4 | 6;
  state: string;
  /** Effective priority (after tracking). */
  priority: number;
  basePriority: number;
  configuredPriority: number;
  masterAddress: string | null;
  vips: string[];
  lastTransition: { from: string; to: string; reason: string | null; at: string } | null;
  faultCauses: string[];
  counters: {
    advertsSent: number;
    advertsReceived: number;
    becameMaster: number;
    announcements: number;
    vipErrors: number;
    drops: Record<string, number>;
    notes: Record<string, number>;
  };
}

export interface ServerStatus {
  /** 'address:port' as the balancer, logs and `lvsd drain` name it. */
  server: string;
  address: string;
  port: number;
  /** The checks' verdict; null when the balancer does not know the server. */
  up: boolean | null;
  reason: string | null;
  /** The weight lvsd gives it now: 0 while drained, else the configured one or a script's. */
  weight: number | null;
  configuredWeight: number;
  drained: boolean;
  /** Check types, in order ([] = always up). */
  checks: string[];
  /** When its verdict last changed (ISO); null if not since lvsd loaded it. */
  changedAt: string | null;
  /** The kernel's destination, when there is one. */
  inKernel: boolean;
  kernelWeight: number | null;
  activeConns: number | null;
  inactConns: number | null;
}

export interface ServiceStatus {
  name: string;
  /** 'TCP 192.0.2.10:80' / 'FWM 7'. */
  endpoint: string;
  quorum: boolean | null;
  sorryServer: string | null;
  /** The kernel's entry for this service (every destination, with counters), or null when it is absent. */
  kernel: KernelEntryJson | null;
  /** A group's other IPVS services (its further addresses, ranges and fwmarks) the kernel holds; [] for one service. */
  members?: KernelEntryJson[];
  servers: ServerStatus[];
}

export interface ControlStatus {
  routerId: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  configHash: string;
  reloads: { success: number; failure: number };
  vrrp: VrrpStatus[];
  ipvs: { version: number; connTabSize: number; error: null } | { version: null; connTabSize: null; error: string };
  services: ServiceStatus[];
  /** Services in the kernel that no configured virtual service describes (lvsd leaves them alone). */
  otherServices: KernelEntryJson[];
  /** Announced VIPs: each group announced or not and why, withdrawals by reason (absent without an announcer). */
  announce?: AnnounceStatus;
  /** Kernel settings the config needs: each with its value and whether lvsd set it (absent when none is needed). */
  sysctls?: SysctlStatus;
}

// ---- building ----

const STAT_KEYS = ['conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes', 'cps', 'inpps', 'outpps', 'inbps', 'outbps'] as const;

function statsJson(s: IpvsStats): StatsJson {
  const out = {} as StatsJson;
  for (const k of STAT_KEYS) out[k] = String(s[k] ?? 0n);
  return out;
}
function statsFromJson(s: Partial<StatsJson> | undefined): IpvsStats {
  const out = {} as IpvsStats;
  for (const k of STAT_KEYS) {
    const v = s?.[k];
    out[k] = typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v) : 0n;
  }
  return out;
}

function entryJson(e: IpvsTableEntry<IpvsServiceEntry, IpvsDestinationEntry>): KernelEntryJson {
  return {
    service: { ...e.service, stats: statsJson(e.service.stats) },
    dests: e.dests.map((d) => ({ ...d, stats: statsJson(d.stats) })),
  };
}

/** Back to the ipvs/ records the ipvsadm renderer takes. */
export function entryFromJson(e: KernelEntryJson): IpvsTableEntry<IpvsServiceEntry, IpvsDestinationEntry> {
  return {
    service: { ...e.service, stats: statsFromJson(e.service.stats) },
    dests: e.dests.map((d) => ({ ...d, stats: statsFromJson(d.stats) })),
  };
}

const PROTO: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };
export function serviceEndpoint(s: Pick<IpvsService, 'fwmark' | 'protocol' | 'addr' | 'port'>): string {
  return s.fwmark ? `FWM ${s.fwmark}` : `${PROTO[s.protocol] ?? String(s.protocol)} ${hostPort(s.addr, s.port)}`;
}

const epochMs = (t: number | Date): number => (t instanceof Date ? t.getTime() : t);
const iso = (t: number | Date): string => {
  const d = new Date(epochMs(t));
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
};

function vrrpStatus(inst: ControlVrrpInstance): VrrpStatus {
  const c = inst.config;
  const t = inst.lastTransition;
  return {
    name: c.name,
    vrid: c.vrid,
    version: c.version,
    interface: c.interface,
    family: c.virtual_ips[0]?.family === 6 ? 6 : 4,
    state: inst.state,
    priority: inst.machine.priority,
    basePriority: inst.basePriority ?? c.priority,
    configuredPriority: c.priority,
    masterAddress: inst.masterAddress ?? null,
    vips: c.virtual_ips.map((v) => v.address),
    lastTransition: t ? { from: t.from, to: t.to, reason: t.reason ?? null, at: iso(t.at) } : null,
    faultCauses: [...(inst.machine.faultCauses ?? [])],
    counters: {
      advertsSent: inst.counters.advertsSent,
      advertsReceived: inst.counters.advertsReceived,
      becameMaster: inst.counters.becameMaster,
      announcements: inst.counters.announcements ?? 0,
      vipErrors: inst.counters.vipErrors ?? 0,
      drops: { ...(inst.counters.drops ?? {}) },
      notes: Object.fromEntries(Object.entries(inst.counters.notes ?? {}).filter(([, n]) => n > 0)),
    },
  };
}

const destKey = (addr: string, port: number): string => `${addr}|${port}`;

/**
 * Reads everything the status shows. Never throws for a kernel problem: an unreadable IPVS table
 * becomes `ipvs.error` and the services are listed from the config alone.
 */
export async function buildStatus(target: ControlTarget, now: number = Date.now()): Promise<ControlStatus> {
  const config = target.config;
  let ipvs: ControlStatus['ipvs'];
  let table: IpvsKernelTable = [];
  if (!target.ipvs) ipvs = { version: null, connTabSize: null, error: 'IPVS is not open in this daemon' };
  else {
    try {
      const [info, t] = await Promise.all([target.ipvs.info(), target.ipvs.table()]);
      table = t;
      ipvs = { version: info.version, connTabSize: info.connTabSize, error: null };
    } catch (e) {
      ipvs = { version: null, connTabSize: null, error: (e as Error)?.message ?? String(e) };
    }
  }
  const byKey = new Map(table.map((e) => [serviceKey(e.service), e] as const));
  const used = new Set<string>();

  const states = new Map<string, ControlServerState>();
  for (const s of target.balancer?.serverStates() ?? []) states.set(`${s.service}\n${s.server}`, s);
  const quorum = new Map((target.balancer?.quorumState() ?? []).map((q) => [q.service, q.up] as const));

  const services: ServiceStatus[] = config.virtual_services.map((vs) => {
    const rec = serviceRecord(vs);
    const key = serviceKey(rec);
    const k = byKey.get(key);
    if (k) used.add(key);
    // A group is several kernel services with one name: all of them are lvsd's, not "other services".
    const members: KernelEntryJson[] = [];
    for (const r of serviceRecords(vs).slice(1)) {
      const mk = serviceKey(r), m = byKey.get(mk);
      if (m) { used.add(mk); members.push(entryJson(m)); }
    }
    const kdests = new Map((k?.dests ?? []).map((d) => [destKey(d.addr, d.port), d] as const));
    const servers: ServerStatus[] = vs.real_servers.map((rs) => {
      const port = realServerPort(vs, rs);
      const server = hostPort(rs.address.address, port);
      const st = states.get(`${vs.name}\n${server}`);
      const d = kdests.get(destKey(rs.address.address, port));
      return {
        server, address: rs.address.address, port,
        up: st ? st.up : null,
        reason: st?.reason ?? null,
        weight: st ? st.weight : null,
        configuredWeight: st?.configuredWeight ?? rs.weight,
        drained: st?.drained ?? false,
        checks: [...(st?.checks ?? [])],
        changedAt: st?.changedAt ? iso(st.changedAt) : null,
        inKernel: d !== undefined,
        kernelWeight: d?.weight ?? null,
        activeConns: d?.activeConns ?? null,
        inactConns: d?.inactConns ?? null,
      };
    });
    const sorry = vs.sorry_server;
    return {
      name: vs.name,
      endpoint: serviceEndpoint(rec),
      quorum: quorum.get(vs.name) ?? null,
      sorryServer: sorry ? hostPort(sorry.address.address, sorry.address.port) : null,
      kernel: k ? entryJson(k) : null,
      members,
      servers,
    };
  });

  const startedMs = epochMs(target.startedAt);
  const announce = target.announcer?.status();
  const sysctls = target.sysctls?.status();
  return {
    routerId: config.global.router_id ?? hostname(),
    pid: process.pid,
    startedAt: iso(target.startedAt),
    uptimeSeconds: Number.isFinite(startedMs) ? Math.max(0, Math.round((now - startedMs) / 1000)) : 0,
    configHash: target.configHash,
    reloads: { success: target.reloads.success, failure: target.reloads.failure },
    vrrp: [...(target.engine?.instances.values() ?? [])].map(vrrpStatus),
    ipvs,
    services,
    otherServices: table.filter((e) => !used.has(serviceKey(e.service))).map(entryJson),
    ...(announce ? { announce } : {}),
    ...(sysctls?.sysctls.length ? { sysctls } : {}),
  };
}

// ---- rendering ----

export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h${String(m).padStart(2, '0')}m`;
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function vrrpLines(v: VrrpStatus): string[] {
  const prio = v.priority === v.basePriority ? `priority ${v.priority}` : `priority ${v.priority} (base ${v.basePriority})`;
  const lines = [`  ${v.name}  ${v.state.toUpperCase()}  ${prio}  vrid ${v.vrid} v${v.version} on ${v.interface}  VIPs ${v.vips.join(' ')}`];
  const detail: string[] = [];
  if (v.masterAddress) detail.push(`master ${v.masterAddress}`);
  if (v.lastTransition) {
    detail.push(`since ${v.lastTransition.at} (${v.lastTransition.from} -> ${v.lastTransition.to}${v.lastTransition.reason ? `, ${v.lastTransition.reason}` : ''})`);
  }
  detail.push(`adverts sent ${v.counters.advertsSent}, received ${v.counters.advertsReceived}; became master ${v.counters.becameMaster}x`);
  lines.push(`    ${detail.join('; ')}`);
  if (v.faultCauses.length) lines.push(`    fault: ${v.faultCauses.join(', ')}`);
  const drops = Object.entries(v.counters.drops).filter(([, n]) => n > 0);
  if (drops.length) lines.push(`    dropped: ${drops.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  if (v.counters.vipErrors) lines.push(`    VIP errors: ${v.counters.vipErrors}`);
  return lines;
}

function announceLines(g: AnnounceStatus['groups'][number]): string[] {
  const state = g.state === 'announced' ? 'ANNOUNCED' : g.state === 'soft-draining' ? 'SOFT-DRAINING' : 'withdrawn';
  const metric = g.metric !== undefined ? `  metric ${g.metric}` : '';
  const lines = [`  ${g.name}  ${state}${metric}  ${g.addresses.join(' ')}`];
  const until = g.until !== undefined ? `, until ${iso(g.until)}` : '';
  const counts = Object.entries(g.withdrawals).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`);
  lines.push(`    ${g.reason}; since ${iso(g.since)}${until}${counts.length ? `; withdrawals: ${counts.join(', ')}` : ''}`);
  return lines;
}

/** The health column (up / DOWN / drained) and what follows it (the reason). */
function health(s: ServerStatus): [string, string] {
  const verdict = s.up === null ? 'unknown' : s.up ? 'up' : 'DOWN';
  if (s.drained) return ['drained', `(${verdict}${s.reason ? `: ${s.reason}` : ''})`];
  return [verdict, s.reason ?? ''];
}

const HEALTH_COL = 10;
/** A destination line ends in ipvsadm's padded InActConn column; health and reason follow it. */
function withHealth(line: string, s: ServerStatus): string {
  const [head, reason] = health(s);
  return `${line} ${head.padEnd(HEALTH_COL)}${reason}`.trimEnd();
}

/** The person's view of a status: what `lvsd status` prints. */
export function renderStatus(st: ControlStatus): string {
  const out: string[] = [];
  out.push(`lvsd on ${st.routerId} (pid ${st.pid}): up ${formatUptime(st.uptimeSeconds)}, config ${st.configHash.slice(0, 12) || '-'}, ` +
    `reloads ${st.reloads.success} ok / ${st.reloads.failure} failed`);
  out.push('');
  out.push(st.vrrp.length ? `VRRP (${plural(st.vrrp.length, 'instance')})` : 'VRRP: no instances');
  for (const v of st.vrrp) out.push(...vrrpLines(v));
  out.push('');
  if (st.announce?.groups.length) {
    out.push(`Announced VIPs (routes in table ${st.announce.table}, protocol ${st.announce.protocol}${st.announce.stopping ? '; STOPPING' : ''})`);
    for (const g of st.announce.groups) out.push(...announceLines(g));
    if (st.announce.last_error) out.push(`  last route error: ${st.announce.last_error}`);
    out.push('');
  }
  if (st.sysctls?.sysctls.length) {
    out.push(`Sysctls (global.ipvs.sysctls: ${st.sysctls.mode})`);
    for (const e of st.sysctls.sysctls) {
      const what = e.state === 'set' ? `set by lvsd (was ${e.was})` : e.state === 'ok' ? 'ok' : e.state === 'missing' ? 'MISSING' : e.state === 'error' ? `CANNOT SET: ${e.error}` : `WRONG, needs ${e.want}`;
      out.push(`  ${e.key} = ${e.value ?? '-'}: ${what}${e.fix && e.state !== 'ok' && e.state !== 'set' ? `; fix: ${e.fix}` : ''}`);
    }
    out.push('');
  }

  if (st.ipvs.error !== null) out.push(`IPVS: cannot read the kernel's table: ${st.ipvs.error}`);
  // One ipvsadm -Ln listing of everything in the kernel, sorted as ipvsadm sorts; each lvsd service's
  // line says its name and quorum, each destination line its real server's health.
  type Row = { entry: IpvsTableEntry<IpvsServiceEntry, IpvsDestinationEntry>; svc: ServiceStatus | null };
  const rows: Row[] = [
    ...st.services.flatMap((s) => [...(s.kernel ? [s.kernel] : []), ...(s.members ?? [])].map((e) => ({ entry: entryFromJson(e), svc: s }))),
    ...st.otherServices.map((e) => ({ entry: entryFromJson(e), svc: null })),
  ];
  const owner = new Map(rows.map((r) => [serviceKey(r.entry.service), r.svc] as const));
  const sorted = sortTable(rows.map((r) => r.entry));
  const info = { version: st.ipvs.version ?? 0, connTabSize: st.ipvs.connTabSize ?? 0 };
  const listing = renderList(info, [], { nosort: true }).split('\n').filter((l) => l !== '');
  if (st.ipvs.error === null) out.push(...listing);
  for (const entry of sorted) {
    const [svcLine = '', ...destLines] = renderList(info, [entry], { nosort: true }).split('\n').filter((l) => l !== '').slice(listing.length);
    const svc = owner.get(serviceKey(entry.service)) ?? null;
    if (!svc) { out.push(`${svcLine}  (not lvsd's)`, ...destLines); continue; }
    const q = svc.quorum === null ? '' : svc.quorum ? ', quorum up' : ', QUORUM LOST';
    out.push(`${svcLine}  [${svc.name}${q}]`);
    const byDest = new Map(svc.servers.map((s) => [destKey(s.address, s.port), s] as const));
    entry.dests.forEach((d, i) => {
      const line = destLines[i] ?? '';
      const s = byDest.get(destKey(d.addr, d.port));
      if (s) out.push(withHealth(line, s));
      else out.push(`${line} ${svc.sorryServer === hostPort(d.addr, d.port) ? 'sorry server' : 'not a configured real server'}`.trimEnd());
    });
    for (const s of svc.servers.filter((x) => !x.inKernel)) {
      out.push(withHealth(`  -- ${s.server.padEnd(28)} ${'(not in table)'.padEnd(7 + 1 + 6 + 1 + 10 + 1 + 10)}`, s));
    }
  }
  const missing = st.services.filter((s) => !s.kernel);
  if (missing.length && st.ipvs.error === null) out.push('');
  for (const svc of missing) {
    out.push(`${svc.endpoint}  [${svc.name}] not in the kernel's table`);
    for (const s of svc.servers) out.push(withHealth(`  -- ${s.server.padEnd(28)}`, s));
  }
  return `${out.join('\n')}\n`;
}
