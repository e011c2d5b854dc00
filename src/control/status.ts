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
import { INSTANCE_DROP_REASONS, PACKET_DROP_REASONS } from '../../vrrp/reasons.js';
import type { PeerAdvert } from '../../vrrp/peers.js';
import type { PriorityArithmetic } from '../../vrrp/priority-terms.js';
import type { SplitBrainStatus } from '../../vrrp/split-brain.js';
import type { ChannelStatus } from '../../vrrp/view.js';
import { instanceFamily } from '../config/vrrp-family.js';

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
    /** Every reason an instance drops an advert for (match.ts), zeros included; vrid_unknown is counted per channel (vrrpChannels). */
    drops: Record<string, number>;
    notes: Record<string, number>;
  };
  // Diagnostics: always in what buildStatus returns; optional so a status from an older daemon still renders.
  /** Why this priority: base, each tracked thing's contribution (vrrp/priority-terms.ts); null when the engine does not say. */
  priorityArithmetic?: PriorityArithmetic | null;
  /** The last advert from each source heard for this VRID, most recent first. */
  peers?: VrrpPeerJson[];
  splitBrain?: VrrpSplitBrainJson;
}

export interface VrrpPeerJson {
  address: string;
  priority: number;
  advertIntervalMs: number;
  version: number;
  firstAt: string;
  lastAt: string;
  /** Milliseconds between its last advert and this status. */
  ageMs: number;
  count: number;
  /** Why the instance dropped its last advert (e.g. auth_failure), null when accepted. */
  dropped: string | null;
}

export interface VrrpSplitBrainJson {
  active: boolean;
  since: string | null;
  masters: { address: string; priority: number; self: boolean; since: string }[];
  raised: number;
  clearedAt: string | null;
}

/** A VRRP receive channel (one per interface and family): what it dropped before any instance saw it. */
export interface VrrpChannelJson {
  interface: string;
  family: string;
  received: number;
  /** Every reason a channel drops a packet for (malformed, vrid_unknown), zeros included. */
  drops: Record<string, number>;
  /** The kernel's drops of its socket (receive buffer full); null if unknown. */
  socketDrops: number | null;
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
  /** The VRRP receive channels and their drops ([] when the engine does not report them). */
  vrrpChannels?: VrrpChannelJson[];
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

/** What an InstanceStatus (vrrp/view.ts) adds for diagnostics; absent from older or fake engines. */
type DiagnosedInstance = ControlVrrpInstance & {
  readonly peers?: readonly PeerAdvert[];
  readonly splitBrain?: SplitBrainStatus;
  readonly priorityTerms?: PriorityArithmetic | null;
};
/** What a VrrpWorker (vrrp/worker.ts) offers beyond ControlEngine: its channels and a fresh snapshot. */
type DiagnosedEngine = { readonly channels?: ReadonlyMap<string, ChannelStatus>; status?(): Promise<unknown> };

/** The instance-level drop reasons; vrid_unknown is the channel's (no instance has that VRID). */
const INSTANCE_DROPS = INSTANCE_DROP_REASONS.filter((r) => r !== 'vrid_unknown');
const CHANNEL_DROPS = [...PACKET_DROP_REASONS, 'vrid_unknown'] as const;
const withZeros = (reasons: readonly string[], counts: Readonly<Record<string, number>> | undefined): Record<string, number> =>
  ({ ...Object.fromEntries(reasons.map((r) => [r, 0])), ...(counts ?? {}) });

const NO_SPLIT_BRAIN: VrrpSplitBrainJson = { active: false, since: null, masters: [], raised: 0, clearedAt: null };

function splitBrainJson(sb: SplitBrainStatus | undefined): VrrpSplitBrainJson {
  if (!sb) return { ...NO_SPLIT_BRAIN };
  return {
    active: sb.active, since: sb.since === null ? null : iso(sb.since),
    masters: sb.masters.map((m) => ({ address: m.address, priority: m.priority, self: m.self, since: iso(m.since) })),
    raised: sb.raised, clearedAt: sb.clearedAt === null ? null : iso(sb.clearedAt),
  };
}

function vrrpStatus(inst: DiagnosedInstance, now: number): VrrpStatus {
  const c = inst.config;
  const t = inst.lastTransition;
  return {
    name: c.name,
    vrid: c.vrid,
    version: c.version,
    interface: c.interface,
    family: instanceFamily(c),
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
      drops: withZeros(INSTANCE_DROPS, inst.counters.drops),
      notes: Object.fromEntries(Object.entries(inst.counters.notes ?? {}).filter(([, n]) => n > 0)),
    },
    priorityArithmetic: inst.priorityTerms ? { ...inst.priorityTerms, terms: inst.priorityTerms.terms.map((t) => ({ ...t })) } : null,
    peers: (inst.peers ?? []).map((p) => ({
      address: p.address, priority: p.priority, advertIntervalMs: p.advertIntervalMs, version: p.version,
      firstAt: iso(p.firstAt), lastAt: iso(p.lastAt), ageMs: Math.max(0, Math.round(now - p.lastAt)), count: p.count, dropped: p.dropped,
    })),
    splitBrain: splitBrainJson(inst.splitBrain),
  };
}

function channelJson(ch: ChannelStatus): VrrpChannelJson {
  return { interface: ch.opts.ifname, family: ch.opts.family, received: ch.received, drops: withZeros(CHANNEL_DROPS, ch.drops), socketDrops: ch.socketDrops ?? null };
}

/** A fresh snapshot from the VRRP thread when the engine can give one (peers' ages to the moment), within 1 s. */
async function refreshVrrp(engine: DiagnosedEngine | null | undefined): Promise<void> {
  if (typeof engine?.status !== 'function') return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([engine.status().catch(() => undefined), new Promise((r) => { timer = setTimeout(r, 1000); })]);
  clearTimeout(timer);
}

const destKey = (addr: string, port: number): string => `${addr}|${port}`;

/**
 * Reads everything the status shows. Never throws for a kernel problem: an unreadable IPVS table
 * becomes `ipvs.error` and the services are listed from the config alone.
 */
export async function buildStatus(target: ControlTarget, now?: number): Promise<ControlStatus> {
  await refreshVrrp(target.engine as DiagnosedEngine | null | undefined);
  now ??= Date.now();
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
    vrrp: [...(target.engine?.instances.values() ?? [])].map((i) => vrrpStatus(i, now)),
    vrrpChannels: [...((target.engine as DiagnosedEngine | null | undefined)?.channels?.values() ?? [])].map(channelJson),
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
  if (v.priorityArithmetic) lines.push(`    ${priorityText(v.priority, v.priorityArithmetic, v.faultCauses)}`);
  else if (v.faultCauses.length) lines.push(`    fault: ${v.faultCauses.join(', ')}`);
  lines.push(...peerLines(v.peers ?? []));
  if (v.splitBrain?.active) {
    const who = v.splitBrain.masters.map((m) => (m.self ? `this router (priority ${m.priority})` : `${m.address} (priority ${m.priority})`)).join(' and ');
    lines.push(`    SPLIT BRAIN since ${v.splitBrain.since}: ${who} advertise as master at once`);
  } else if (v.splitBrain?.raised) {
    lines.push(`    split brain: none now; raised ${v.splitBrain.raised}x${v.splitBrain.clearedAt ? `, last cleared ${v.splitBrain.clearedAt}` : ''}`);
  }
  const drops = Object.entries(v.counters.drops).filter(([, n]) => n > 0);
  if (drops.length) lines.push(`    dropped: ${drops.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  if (v.counters.vipErrors) lines.push(`    VIP errors: ${v.counters.vipErrors}`);
  return lines;
}

/** 'script:chk_nginx' -> 'script chk_nginx'. */
const termName = (key: string): string => key.replace(':', ' ');
const upDown = (up: boolean | null): string => (up === null ? 'unknown' : up ? 'up' : 'down');

/** "priority 90 = 100 base - 10 (script chk_nginx down); ...; fault causes: none". */
export function priorityText(priority: number, a: PriorityArithmetic, faultCauses: readonly string[]): string {
  let text: string;
  if (a.owner) text = `priority ${a.priority} (address owner: tracking weights do not apply)`;
  else {
    const parts = a.terms.filter((t) => t.contribution !== 0)
      .map((t) => ` ${t.contribution > 0 ? '+' : '-'} ${Math.abs(t.contribution)} (${termName(t.key)} ${upDown(t.up)})`);
    text = `priority ${a.priority} = ${a.base} base${parts.join('')}${a.clamped ? `, held within 1..254 (sum ${a.sum})` : ''}`;
  }
  if (priority !== a.priority) text += `; the machine holds ${priority}`;
  const idle = a.terms.filter((t) => t.contribution === 0 && !t.fault)
    .map((t) => `${termName(t.key)} ${upDown(t.up)} (${t.weight === null ? 'fault when down' : `weight ${t.weight > 0 ? '+' : ''}${t.weight}`})`);
  if (idle.length) text += `; no effect now: ${idle.join(', ')}`;
  const faulty = a.terms.filter((t) => t.fault).map((t) => `${termName(t.key)} down`);
  const causes = faultCauses.map((c) => (c === 'track' && faulty.length ? `track (${faulty.join(', ')})` : c));
  return `${text}; fault causes: ${causes.length ? causes.join(', ') : 'none'}`;
}

const ageText = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : formatUptime(ms / 1000));

function peerLines(peers: readonly VrrpPeerJson[]): string[] {
  return peers.map((p, i) => `    ${i ? '      ' : 'peers:'} ${p.address} priority ${p.priority} v${p.version} ${p.advertIntervalMs} ms, ${ageText(p.ageMs)} ago ` +
    `(${plural(p.count, 'advert')})${p.dropped ? `, REFUSED: ${p.dropped}` : ''}`);
}

function channelLine(c: VrrpChannelJson): string {
  const drops = Object.entries(c.drops).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`);
  const kernel = c.socketDrops ? `; kernel dropped ${c.socketDrops}` : '';
  return `  channel ${c.interface}/${c.family}: received ${c.received}; dropped: ${drops.length ? drops.join(', ') : 'none'}${kernel}`;
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
  for (const c of st.vrrpChannels ?? []) out.push(channelLine(c));
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
