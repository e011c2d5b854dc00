// keepalived's VRRP side -> lvsd: global_defs, vrrp_script, vrrp_instance, vrrp_sync_group.
import { parseIp, parsePrefix, type IpAddress } from '../config/address.js';
import { checkInterfaceName } from '../config/address.js';
import { YList, YMap, type YValue } from './emit.js';
import type { Statement } from './reader.js';
import { command, dur, integer, quietKeyword, reorder, seconds, type Ctx, type Names } from './convert-common.js';
import { applyPriorityChanges, readPriorityChanges, type PriorityChanges } from './convert-notify.js';
import { escapeText, quoteValue } from '../text/quote.js';
import { emailGlobal, emailObject } from './convert-email.js';

// ---- global_defs ----

/** Where lvsd's accept mode off differs from keepalived's (src/strict/ruleset.ts). */
const AFTER_IPVS = "lvsd drops packets to the VIPs in its nftables table inet lvsd after IPVS (input priority 100), so traffic a virtual service balances passes; keepalived's table (priority -1 unless nftables_priority) drops that too";

/** The connection-sync daemon: keepalived runs one, from global_defs lvs_sync_daemon or else the first instance's lvs_sync_daemon_interface. */
export type SyncDaemon = { s: Statement; iface: string; instance: string; options: YMap };
export type Globals = { version: 2 | 3; strict: boolean; strictGlobal?: { map: YMap; s: Statement; demoted: boolean }; garp: Map<string, Statement>; syncDaemon?: SyncDaemon; scriptSecurity?: Statement; notifyPriorityChanges?: PriorityChanges };

/** `lvs_sync_daemon INTERFACE [[inst] VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]` (keepalived.conf(5)). */
function syncDaemon(s: Statement, ctx: Ctx, where: string): SyncDaemon | undefined {
  const a = [...s.args];
  const iface = a.shift();
  if (a[0] === 'inst') a.shift();
  const instance = a[0] !== undefined && !['id', 'maxlen', 'port', 'ttl', 'group'].includes(a[0]) ? a.shift() : undefined;
  if (!iface || !instance) { ctx.skip(s, where, "lvs_sync_daemon without an interface and a VRRP instance has no lvsd equivalent (lvsd's sync daemon follows one instance's state); not converted"); return undefined; }
  const options = new YMap();
  const limits: Record<string, [string, number, number]> = { id: ['sync_id', 0, 255], maxlen: ['maxlen', 1, 65507], port: ['port', 1, 65535], ttl: ['ttl', 1, 255] };
  while (a.length > 0) {
    const k = a.shift()!, v = a.shift();
    const lim = limits[k];
    if (lim && v !== undefined && /^\d+$/.test(v) && Number(v) >= lim[1] && Number(v) <= lim[2]) options.set(lim[0], Number(v));
    else if (k === 'group' && v !== undefined && parseIp(v).ok) options.set('group', v);
    else { ctx.skip(s, where, `lvs_sync_daemon ${quoteValue(`${k} ${v ?? ''}`)} not understood; left out`); }
  }
  return { s, iface, instance, options };
}

/** `lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]` (keepalived.conf(5)): whole seconds; unset leaves the kernel's. */
function lvsTimeouts(s: Statement, ctx: Ctx, where: string): YMap | undefined {
  const m = new YMap();
  const KEYS: Record<string, string> = { tcp: 'tcp', tcpfin: 'tcp_fin', udp: 'udp' };
  for (let i = 0; i < s.args.length; i += 2) {
    const k = s.args[i]!, v = s.args[i + 1];
    const key = KEYS[k.toLowerCase()];
    // keepalived reads whole seconds (a fraction or 0 is refused and that timeout left as it is).
    if (key !== undefined && v !== undefined && /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 2_147_483) m.set(key, `${Number(v)}s`);
    else ctx.skip(s, where, `lvs_timeouts ${quoteValue(`${k} ${v ?? ''}`.trim())} not understood (tcp, tcpfin or udp with whole seconds); left out`);
  }
  if (m.size === 0) { ctx.skip(s, where, 'lvs_timeouts sets no timeout; not converted'); return undefined; }
  return m;
}

export function convertGlobal(block: Statement, ctx: Ctx, global: YMap, g: Globals): void {
  const where = 'global_defs';
  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'router_id': if (s.args[0]) global.set('router_id', s.args[0]); break;
      case 'script_user':
        if (s.args[0]) global.set('script_user', s.args[0]);
        if (s.args[1]) ctx.skip(s, where, `script_user group ${quoteValue(s.args[1])} dropped: lvsd runs scripts with the user's own groups`);
        break;
      case 'enable_script_security': g.scriptSecurity = s; break; // lvsd always refuses scripts writable by non-root users
      case 'vrrp_notify_priority_changes': { const pc = readPriorityChanges(s, ctx, where); if (pc) g.notifyPriorityChanges = pc; break; }
      case 'lvs_sync_daemon': { const d = syncDaemon(s, ctx, where); if (d) g.syncDaemon = d; break; }
      case 'lvs_timeouts': { const t = lvsTimeouts(s, ctx, where); if (t) global.set('ipvs_timeouts', t); break; }
      case 'vrrp_version': { const v = integer(s, ctx, where, 2, 3); if (v !== undefined) g.version = v as 2 | 3; break; }
      case 'vrrp_startup_delay': {
        const v = seconds(s, ctx, where);
        if (v !== undefined && v > 3_600_000) global.set('vrrp_startup_delay', dur(3_600_000), ctx.change(s, where, `vrrp_startup_delay ${s.args[0]} s cut to 1h, lvsd's longest`));
        else if (v !== undefined && v > 0) global.set('vrrp_startup_delay', dur(v));
        break;
      }
      case 'vrrp_delay_after_boot':
        ctx.skip(s, where, "vrrp_delay_after_boot has no lvsd equivalent (it counts from the system's boot); global vrrp_startup_delay counts from lvsd's start");
        break;
      case 'vrrp_check_unicast_src': global.set('vrrp_check_unicast_src', true); break;
      case 'vrrp_strict':
        g.strict = true;
        global.set('vrrp_strict', true, ctx.change(s, where, `vrrp_strict: ${AFTER_IPVS}`));
        g.strictGlobal = { map: global, s, demoted: false };
        break;
      case 'vrrp_garp_master_delay': case 'vrrp_garp_master_repeat': case 'vrrp_garp_master_refresh': case 'vrrp_garp_master_refresh_repeat':
        g.garp.set(s.key.slice('vrrp_'.length), s); break;
      case 'vrrp_rt_priority': {
        const v = integer(s, ctx, where, 1, 99);
        if (v !== undefined) global.set('vrrp_realtime_priority', v, ctx.change(s, where,
          'vrrp_rt_priority -> vrrp_realtime_priority: lvsd raises only its VRRP thread, at SCHED_FIFO (keepalived: its whole VRRP process, at SCHED_RR); needs CAP_SYS_NICE'));
        break;
      }
      case 'notification_email': case 'notification_email_from': case 'smtp_server': case 'smtp_connect_timeout': case 'smtp_helo_name':
      case 'smtp_alert': case 'smtp_alert_vrrp': case 'smtp_alert_checker':
        emailGlobal(s, ctx); break;
      default: if (!quietKeyword(s, ctx, where)) ctx.unsupported(s, where);
    }
  }
}

// ---- vrrp_script ----

export function convertScript(block: Statement, ctx: Ctx, names: Names): YMap | undefined {
  const original = block.args[0] ?? '';
  const where = `vrrp_script ${escapeText(original)}`;
  if (!original) { ctx.skip(block, 'vrrp_script', 'has no name'); return undefined; }
  const m = new YMap();
  let interval = 1000, timeout: number | undefined, timeoutStmt: Statement | undefined;
  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'script': { const argv = command(s, ctx, where); if (argv) m.set('argv', argv); break; }
      case 'interval': { const v = seconds(s, ctx, where); if (v !== undefined) interval = Math.max(v, 10); break; }
      case 'timeout': { const v = seconds(s, ctx, where); if (v !== undefined) { timeout = Math.max(v, 10); timeoutStmt = s; } break; }
      case 'rise': case 'fall': { const v = integer(s, ctx, where, 1, 1000); if (v !== undefined) m.set(s.key, v); break; }
      case 'weight': {
        const v = integer(s, ctx, where, -254, 254);
        if (v !== undefined) m.set('weight', v);
        if (s.args[1] === 'reverse') m.set('reverse', true);
        break;
      }
      case 'init_fail': m.set('init_fail', true); break;
      case 'user':
        if (s.args[0]) m.set('user', s.args[0]);
        if (s.args[1]) ctx.skip(s, where, `user group ${quoteValue(s.args[1])} dropped: lvsd runs scripts with the user's own groups`);
        break;
      default: ctx.unsupported(s, where);
    }
  }
  if (m.get('argv') === undefined) { ctx.skip(block, where, "has no usable 'script'; not converted (instances tracking it lose that track)"); return undefined; }
  // Named only once converted, so instances tracking a script that was skipped are told so.
  m.set('name', names.add(original, block, ctx));
  m.set('interval', dur(interval));
  if (timeout !== undefined) {
    if (timeout > interval) m.set('timeout', dur(interval), ctx.change(timeoutStmt!, where, `timeout ${dur(timeout)} cut to the interval ${dur(interval)} (lvsd does not overlap runs)`));
    else m.set('timeout', dur(timeout));
  }
  // Fixed key order for readable output.
  return reorder(m, ['name', 'argv', 'interval', 'timeout', 'rise', 'fall', 'weight', 'reverse', 'init_fail', 'user']);
}

// ---- vrrp_instance ----

type Vip = { ip: ReturnType<typeof parsePrefix> & { ok: true }; value: YValue; s: Statement };

function parseVip(s: Statement, ctx: Ctx, where: string): Vip | undefined {
  const words = [s.key, ...s.args];
  const p = parsePrefix(words[0]!);
  if (!p.ok) { ctx.skip(s, where, `virtual address ${quoteValue(words[0])}: ${p.message}`); return undefined; }
  let device: string | undefined, label: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'dev' && words[i + 1]) device = words[++i];
    else if (w === 'label' && words[i + 1]) label = words[++i];
    else if (['brd', 'scope', 'peer', 'track_group'].includes(w)) { ctx.skip(s, where, `${words[0]}: ${quoteValue(`${w} ${words[i + 1] ?? ''}`)} has no lvsd equivalent (not supported; the address is added without it)`); i++; }
    else ctx.skip(s, where, `${words[0]}: ${quoteValue(w)} has no lvsd equivalent (not supported; the address is added without it)`);
  }
  if (label !== undefined && device !== undefined && !label.startsWith(device)) {
    ctx.skip(s, where, `${words[0]}: label ${quoteValue(label)} does not start with the device name ${quoteValue(device)}, which the kernel refuses; the address is added without it`);
    label = undefined;
  }
  const address = words[0]!.includes('/') ? `${p.value.address}/${p.value.prefix}` : p.value.address;
  const value: YValue = device === undefined && label === undefined ? address
    : new YMap().set('address', address).set('device', device).set('label', label);
  return { ip: p, value, s };
}

/**
 * Accept mode and vrrp_strict for one instance (keepalived.conf(5) no_accept, accept, vrrp_strict).
 * keepalived in strict mode turns accept off unless the instance has priority 255 (or says accept, in
 * VRRPv3), ignores authentication and resets preempt_delay (2.2.7 warns and carries on). lvsd's
 * global.vrrp_strict refuses unicast peers, an explicit accept and a first IPv6 VIP that is not
 * link-local: an instance with one of those gets accept: false written out and the global switch is
 * dropped, so the same packets are still refused.
 */
function strictInstance(o: { m: YMap; ctx: Ctx; g: Globals; where: string; version: 2 | 3; noAccept?: Statement | undefined; acceptStmt?: Statement | undefined;
  preemptDelayStmt?: Statement | undefined; auth?: Statement | undefined; unicast: boolean; firstVip: string; block: Statement }): { dropAuth: boolean } {
  const { m, ctx, g, where } = o;
  const owner = m.get('priority') === 255;
  if (!g.strict) {
    if (o.noAccept && !owner) m.set('accept', false, ctx.change(o.noAccept, where, `no_accept: ${AFTER_IPVS}`));
    return { dropAuth: false };
  }
  const demote = (why: string) => {
    const sg = g.strictGlobal;
    if (!sg || sg.demoted) return;
    sg.demoted = true;
    sg.map.delete('vrrp_strict');
    ctx.change(sg.s, 'global_defs', `vrrp_strict written as accept: false on each instance instead of global vrrp_strict: ${why}, which lvsd's vrrp_strict refuses`);
  };
  if (o.acceptStmt && o.version === 3 && !owner) {
    m.set('accept', true);
    demote(`instance ${escapeText(String(m.get('name')))} says accept`);
  } else if (!owner) m.set('accept', false);
  if (o.unicast) demote(`instance ${escapeText(String(m.get('name')))} has unicast peers`);
  if (o.firstVip.includes(':') && !/^fe[89ab]/i.test(o.firstVip)) demote(`instance ${escapeText(String(m.get('name')))}'s first IPv6 address is not link-local`);
  if (o.preemptDelayStmt && m.get('preempt_delay') !== undefined) {
    m.delete('preempt_delay');
    ctx.change(o.preemptDelayStmt, where, 'preempt_delay with vrrp_strict: keepalived resets it (it warns), so the instance preempts at once; left out');
  }
  if (o.auth) ctx.change(o.auth, where, 'authentication with vrrp_strict: keepalived ignores it (it warns) and sends none; left out');
  return { dropAuth: !!o.auth };
}

/**
 * `ADDR [min_ttl N] [max_ttl N]` in unicast_peer (keepalived.conf(5)): the TTL / hop limit range its
 * adverts may arrive with; keepalived's defaults are 0 and 255 once either is given.
 */
function peerTtlRange(c: Statement, ctx: Ctx, where: string): { minTtl?: number; maxTtl?: number } {
  const out: { minTtl?: number; maxTtl?: number } = {};
  for (let i = 0; i < c.args.length; i += 2) {
    const k = c.args[i]!, v = c.args[i + 1];
    const n = v !== undefined && /^\d+$/.test(v) && Number(v) <= 255 ? Number(v) : undefined;
    if ((k === 'min_ttl' || k === 'max_ttl') && n !== undefined) { if (k === 'min_ttl') out.minTtl = n; else out.maxTtl = n; continue; }
    // keepalived stops reading the line at the first option it does not understand.
    ctx.skip(c, where, `unicast_peer ${c.key}: ${quoteValue(c.args.slice(i).join(' '))} not understood (min_ttl N or max_ttl N, 0-255); left out`);
    break;
  }
  if (out.minTtl !== undefined && out.maxTtl !== undefined && out.minTtl > out.maxTtl) {
    ctx.skip(c, where, `unicast_peer ${c.key}: min_ttl ${out.minTtl} is above max_ttl ${out.maxTtl}, so keepalived drops every advert from it; lvsd refuses such a range: written without it (its adverts need TTL 255)`);
    return {};
  }
  return out;
}

export function convertInstance(block: Statement, ctx: Ctx, g: Globals, names: Names, scriptNames: Names, tracked?: { processes: Names; files: Names }): YMap | undefined {
  const original = block.args[0] ?? '';
  const where = `vrrp_instance ${escapeText(original)}`;
  if (!original) { ctx.skip(block, 'vrrp_instance', 'has no name'); return undefined; }
  const m = new YMap().set('name', original);
  const comments: string[] = [];
  let version: 2 | 3 = g.version, versionStmt: Statement | undefined;
  let advert = 1000, advertStmt: Statement | undefined;
  const vips: Vip[] = [];
  let auth: { type?: string; pass?: string; s: Statement } | undefined;
  let noAccept: Statement | undefined, acceptStmt: Statement | undefined;
  const unicast = new YMap();
  const peers: Array<{ ip: IpAddress; s: Statement; minTtl?: number; maxTtl?: number }> = [];
  let checkSrc: Statement | undefined, unicastTtl: { v: number; s: Statement } | undefined, noVipsStmt: Statement | undefined;
  const peerSet = new Set<string>(); // peers' addresses: a repeat is found in O(1), not by a scan of the list
  const track = new YMap();
  const trackLists = new Map<string, { list: YValue[]; names: Set<string> }>();
  const notify = new YMap();
  let priorityChanges: PriorityChanges | undefined;
  const garp = new YMap();
  const garpStmts = new Map(g.garp);
  let masterState: Statement | undefined;
  let noPreemptStmt: Statement | undefined, preemptDelayStmt: Statement | undefined;
  let useVmac: Statement | undefined, vmacXmitBase: Statement | undefined, useIpvlan: Statement | undefined;

  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'state':
        // Every lvsd instance starts as BACKUP, as keepalived's BACKUP does; only MASTER changes meaning.
        if ((s.args[0] ?? '').toUpperCase() === 'MASTER') masterState = s;
        if ((s.args[0] ?? '').toUpperCase() !== 'BACKUP') comments.push(`keepalived ${quoteValue(`state ${s.args[0] ?? ''}`)} dropped: lvsd starts as BACKUP and the election picks the master by priority`);
        break;
      case 'interface': if (s.args[0]) m.set('interface', s.args[0]); break;
      case 'virtual_router_id': { const v = integer(s, ctx, where, 1, 255); if (v !== undefined) m.set('vrid', v); break; }
      case 'priority': {
        const v = integer(s, ctx, where, 1, 255);
        if (v !== undefined) m.set('priority', v);
        if (v === 255) m.set('owner', true, 'keepalived priority 255 means the address owner; lvsd says so explicitly');
        break;
      }
      case 'advert_int': { const v = seconds(s, ctx, where); if (v !== undefined) { advert = v; advertStmt = s; } break; }
      case 'version': { const v = integer(s, ctx, where, 2, 3); if (v !== undefined) { version = v as 2 | 3; versionStmt = s; } break; }
      case 'virtual_ipaddress':
        for (const c of s.children ?? []) { const v = parseVip(c, ctx, where); if (v) vips.push(v); }
        break;
      case 'virtual_ipaddress_excluded':
        for (const c of s.children ?? []) {
          const v = parseVip(c, ctx, where);
          if (v) { vips.push(v); ctx.change(c, where, `excluded address ${c.key} listed in virtual_ips (lvsd has no excluded addresses; it is held by the master and also sent in adverts)`); }
        }
        break;
      case 'nopreempt': m.set('preempt', false); noPreemptStmt = s; break;
      case 'preempt': m.set('preempt', true); noPreemptStmt = undefined; break;
      case 'preempt_delay': { const v = seconds(s, ctx, where); if (v !== undefined) { m.set('preempt_delay', dur(v)); preemptDelayStmt = s; } break; }
      case 'accept': noAccept = undefined; acceptStmt = s; break;
      case 'no_accept': noAccept = s; acceptStmt = undefined; break;
      case 'unicast_src_ip': {
        const p = parseIp(s.args[0]);
        if (p.ok) unicast.set('source', p.value.address); else ctx.skip(s, where, `unicast_src_ip: ${p.message}`);
        break;
      }
      case 'unicast_peer':
        for (const c of s.children ?? []) {
          const p = parseIp(c.key);
          if (!p.ok) { ctx.skip(c, where, `unicast_peer: ${p.message}`); continue; }
          const range = peerTtlRange(c, ctx, where);
          if (peerSet.has(p.value.address)) { ctx.skip(c, where, `unicast_peer ${c.key} is listed twice; the first is kept`); continue; }
          peerSet.add(p.value.address);
          peers.push({ ip: p.value, s: c, ...range });
        }
        break;
      case 'authentication': {
        auth = { s };
        for (const c of s.children ?? []) {
          if (c.key === 'auth_type') auth.type = c.args[0];
          else if (c.key === 'auth_pass') auth.pass = c.args[0];
          else ctx.unsupported(c, where);
        }
        break;
      }
      case 'track_interface': case 'track_script': case 'track_process': case 'track_file':
        convertTrackBlock(s, ctx, where, { scripts: scriptNames, processes: tracked?.processes, files: tracked?.files }, track, trackLists);
        break;
      case 'smtp_alert': emailObject(s, ctx, where, m); break;
      case 'notify_master': case 'notify_backup': case 'notify_fault': case 'notify_stop': case 'notify': {
        const argv = command(s, ctx, where);
        if (argv) notify.set(s.key === 'notify' ? 'any' : s.key.slice('notify_'.length), argv);
        break;
      }
      case 'notify_master_rx_lower_pri': { const argv = command(s, ctx, where); if (argv) notify.set('master_rx_lower_pri', argv); break; }
      case 'notify_priority_changes': priorityChanges = readPriorityChanges(s, ctx, where); break;
      case 'garp_master_delay': case 'garp_master_repeat': case 'garp_master_refresh': case 'garp_master_refresh_repeat':
        garpStmts.set(s.key, s); break;
      case 'old_unicast_checksum':
        // keepalived: 'never' refuses the pre-1.3.6 VRRPv3 unicast checksum; bare, it sends and expects only that one.
        if (s.args[0] === 'never') m.set('unicast_checksum_compat', false);
        else m.set('unicast_checksum_compat', true, ctx.change(s, where, "old_unicast_checksum: lvsd accepts the checksum keepalived up to 1.3.6 computed over 224.0.0.18, but always sends the RFC 5798 one, which such peers refuse: upgrade them first"));
        break;
      case 'check_unicast_src': checkSrc = s; break;
      case 'unicast_ttl': { const v = integer(s, ctx, where, 1, 255); if (v !== undefined) unicastTtl = { v, s }; break; }
      case 'no_virtual_ipaddress': noVipsStmt = s; break;
      case 'use_vmac': useVmac = s; break;
      case 'vmac_xmit_base': vmacXmitBase = s; break;
      case 'use_ipvlan': useIpvlan = s; break;
      case 'lvs_sync_daemon_interface':
        // keepalived 2.2.7: deprecated but honoured; the sync daemon follows this instance, unless global_defs
        // lvs_sync_daemon or an earlier instance already set it ("has already been specified ... - ignoring").
        if (!s.args[0]) ctx.skip(s, where, "'lvs_sync_daemon_interface' without an interface; left out");
        else if (g.syncDaemon) ctx.skip(s, where, `lvs_sync_daemon_interface ignored: the sync daemon is already set at ${escapeText(g.syncDaemon.s.file)}:${g.syncDaemon.s.line}, and keepalived ignores this one too`);
        else g.syncDaemon = { s, iface: s.args[0], instance: original, options: new YMap() };
        break;
      default: if (!quietKeyword(s, ctx, where)) ctx.unsupported(s, where);
    }
  }
  for (const [key, s] of garpStmts) {
    const field = key.slice('garp_master_'.length);
    if (field === 'delay' || field === 'refresh') { const v = seconds(s, ctx, where); if (v !== undefined) garp.set(field, dur(v)); }
    else { const v = integer(s, ctx, where, 1, 255); if (v !== undefined) garp.set(field === 'repeat' ? 'repeat' : 'refresh_repeat', v); }
  }

  if (m.get('interface') === undefined) { ctx.skip(block, where, "has no 'interface'; instance not converted"); return undefined; }
  if (m.get('vrid') === undefined) { ctx.skip(block, where, "has no 'virtual_router_id'; instance not converted"); return undefined; }
  // keepalived 2.2.7 runs a VRRPv2 instance without virtual addresses (it warns) and refuses a VRRPv3 one, or
  // any in strict mode, unless no_virtual_ipaddress (2.2.8) allows it; such an instance runs the election and notify only.
  const noVips = vips.length === 0;
  const peerFamily = peers[0]?.ip.family ?? (typeof unicast.get('source') === 'string' ? (parseIp(unicast.get('source')) as { ok: boolean; value?: IpAddress }).value?.family : undefined);
  if (noVips && (g.strict || ((version === 3 || peerFamily === 6) && !noVipsStmt))) {
    ctx.skip(block, where, `has no virtual addresses; keepalived refuses ${g.strict ? 'that with vrrp_strict' : 'a VRRPv3 instance without any unless no_virtual_ipaddress is given'}; instance not converted`);
    return undefined;
  }
  // Named only once converted, so sync groups naming a skipped instance are told so.
  m.set('name', names.add(original, block, ctx));

  if (masterState) {
    // keepalived 2.2.7 (vrrp.c) clears both for an initial MASTER, with "Warning - nopreempt will not work with
    // initial state MASTER - clearing" (and the same for preempt_delay): the instance preempts at once.
    if (noPreemptStmt) m.set('preempt', true, ctx.change(noPreemptStmt, where, 'nopreempt with state MASTER: keepalived clears nopreempt for an initial MASTER (it warns), so the instance preempts; written as preempt: true'));
    if (preemptDelayStmt) { m.delete('preempt_delay'); ctx.change(preemptDelayStmt, where, 'preempt_delay with state MASTER: keepalived clears preempt_delay for an initial MASTER (it warns), so it preempts at once; left out'); }
  }
  if (m.get('priority') === undefined && masterState) {
    // keepalived (vrrp_parser.c / vrrp.c): "If no priority has been set, derive it from the initial state".
    m.set('priority', 255);
    m.set('owner', true, ctx.change(masterState, where, 'state MASTER without a priority: written as priority 255 with owner: true, which keepalived derives from it; if these addresses are not this router\'s own, give it 1-254'));
  }
  // One family per instance (RFC 5798 section 5.2.9): keep the first address's family.
  const family = vips[0]?.ip.value.family ?? peerFamily ?? 4; // keepalived defaults to IPv4 too
  const mine = new Set<string>();
  const kept = vips.filter((v) => {
    const a = v.ip.value.address;
    if (v.ip.value.family !== family) {
      ctx.skip(v.s, where, `${v.s.key}: IPv${v.ip.value.family} address in an IPv${family} instance (lvsd needs one family per instance; add a second vrrp instance with its own virtual_router_id)`);
      return false;
    }
    if (mine.has(a)) { ctx.skip(v.s, where, `${v.s.key}: ${a} is listed twice; the first is kept`); return false; }
    const owner = ctx.vipOwners.get(a);
    if (owner !== undefined) { ctx.skip(v.s, where, `${v.s.key}: ${a} is already a virtual address of vrrp_instance ${escapeText(owner)} (two instances would fight over it); left out`); return false; }
    mine.add(a);
    return true;
  });
  if (kept.length === 0 && !noVips) { ctx.skip(block, where, 'has no usable virtual addresses left; instance not converted'); return undefined; }
  const vridKey = `${String(m.get('interface'))} ${family} ${String(m.get('vrid'))}`;
  const vridOwner = ctx.vrids.get(vridKey);
  if (vridOwner !== undefined) { ctx.skip(block, where, `virtual_router_id ${String(m.get('vrid'))} is already used on ${escapeText(String(m.get('interface')))} for IPv${family} by vrrp_instance ${escapeText(vridOwner)}; instance not converted`); return undefined; }
  ctx.vrids.set(vridKey, original);
  for (const a of mine) ctx.vipOwners.set(a, original);
  if (family === 6 && version === 2) {
    version = 3;
    const why = 'version 3: IPv6 virtual addresses need VRRPv3 (RFC 3768 is IPv4 only)';
    comments.push(why);
    ctx.change(versionStmt ?? block, where, `written as ${why}`);
  }
  m.set('version', version);
  if (version === 2 && (advert % 1000 !== 0 || advert < 1000)) {
    const rounded = Math.min(255_000, Math.max(1000, Math.round(advert / 1000) * 1000));
    m.set('advert_interval', dur(rounded), ctx.change(advertStmt!, where, `advert_int ${advert / 1000} written as ${dur(rounded)}: VRRPv2 adverts are whole seconds (RFC 3768 section 5.3.7); sub-second needs version 3`));
  } else if (version === 3 && (advert % 10 !== 0 || advert > 40_950 || advert < 10)) {
    const rounded = Math.min(40_950, Math.max(10, Math.round(advert / 10) * 10));
    m.set('advert_interval', dur(rounded), ctx.change(advertStmt!, where, `advert_int ${advert / 1000} written as ${dur(rounded)}: VRRPv3 adverts are centiseconds up to 40.95s (RFC 5798 section 5.2.7)`));
  } else m.set('advert_interval', dur(advert));
  if (!noVips) m.set('virtual_ips', new YList(kept.map((v) => v.value)));
  else {
    if (peers.length === 0) m.set('family', family);
    comments.push('no virtual addresses: lvsd runs the election and notify commands only, adds no address and sends no GARP/NA, as keepalived');
  }

  if (strictInstance({ m, ctx, g, where, version, noAccept, acceptStmt, preemptDelayStmt, auth: auth && version === 2 && (auth.type ?? '').toUpperCase() === 'PASS' && auth.pass ? auth.s : undefined, unicast: peers.length > 0, firstVip: kept[0]?.ip.value.address ?? '', block }).dropAuth) auth = undefined;

  const goodPeers = peers.filter((p) => {
    if (p.ip.family === family) return true;
    ctx.skip(p.s, where, `unicast_peer ${p.s.key}: IPv${p.ip.family} peer for IPv${family} addresses (VRRP runs over the addresses' family)`);
    return false;
  });
  const src = unicast.get('source');
  if (typeof src === 'string' && parseIp(src).ok && (parseIp(src) as { value: IpAddress }).value.family !== family) {
    unicast.delete('source');
    ctx.skip(block, where, `unicast_src_ip ${src} is not IPv${family} like the virtual addresses; left out (lvsd uses the interface's address)`);
  }
  if (goodPeers.length > 0) {
    const ranged = goodPeers.some((p) => p.minTtl !== undefined || p.maxTtl !== undefined);
    unicast.set('peers', new YList(goodPeers.map((p) => (p.minTtl === undefined && p.maxTtl === undefined ? p.ip.address
      : new YMap().set('address', p.ip.address).set('min_ttl', p.minTtl).set('max_ttl', p.maxTtl))), !ranged));
    if (checkSrc) unicast.set('check_source', true);
    if (unicastTtl) unicast.set('ttl', unicastTtl.v);
    m.set('unicast', reorder(unicast, ['source', 'peers', 'check_source', 'ttl']));
  } else {
    if (unicast.size > 0) ctx.skip(block, where, 'unicast_src_ip without unicast peers has no lvsd equivalent (multicast adverts take the interface address)');
    if (checkSrc) ctx.skip(checkSrc, where, 'check_unicast_src without unicast peers: there are no unicast sources to check; left out');
    if (unicastTtl) ctx.skip(unicastTtl.s, where, 'unicast_ttl without unicast peers: keepalived resets it too; left out');
  }

  if (auth) {
    if (version === 3) ctx.skip(auth.s, where, "'authentication' dropped: VRRPv3 has none (RFC 5798 section 9)");
    else if ((auth.type ?? '').toUpperCase() !== 'PASS') ctx.skip(auth.s, where, `'authentication' auth_type ${auth.type === undefined ? '(none)' : escapeText(auth.type)} is not supported (only PASS; RFC 3768 removed AH)`);
    else if (!auth.pass) ctx.skip(auth.s, where, "'authentication' has no auth_pass");
    else {
      let pass = auth.pass;
      let comment: string | undefined;
      if (pass.length > 8) {
        pass = pass.slice(0, 8);
        comment = ctx.change(auth.s, where, 'auth_pass cut to its first 8 characters, as keepalived sends it (the VRRPv2 header holds 8)');
      }
      m.set('authentication', new YMap().set('type', 'pass').set('password', pass), comment);
    }
  }
  if (track.size > 0) m.set('track', reorder(track, ['interfaces', 'scripts']));
  applyPriorityChanges(notify, priorityChanges, g.notifyPriorityChanges, ctx, where);
  if (notify.size > 0) m.set('notify', reorder(notify, ['master', 'backup', 'fault', 'stop', 'any', 'master_rx_lower_pri', 'priority_changes']));
  if (garp.size > 0) m.set('garp', reorder(garp, ['delay', 'repeat', 'refresh', 'refresh_repeat']));
  convertVmac(m, ctx, where, family, useVmac, vmacXmitBase, useIpvlan);

  const out = reorder(m, ['name', 'interface', 'vrid', 'priority', 'owner', 'version', 'advert_interval', 'virtual_ips', 'preempt', 'preempt_delay', 'accept']);
  if (comments.length > 0) out.entries[0]!.comments.push(...comments);
  return out;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){4,5}$/i;
const IFNAME = /^[^\s/:]{1,15}$/;

/** keepalived use_vmac [NAME] [MAC], vmac_xmit_base, use_ipvlan [NAME] [IP] [bridge|private|vepa] (keepalived.conf(5)). */
function convertVmac(m: YMap, ctx: Ctx, where: string, family: 4 | 6, useVmac?: Statement, xmitBase?: Statement, useIpvlan?: Statement): void {
  if (useVmac) {
    const v = new YMap();
    for (const a of useVmac.args) {
      if (MAC.test(a)) ctx.change(useVmac, where, `use_vmac MAC ${escapeText(a)} left out: lvsd always uses the RFC 5798 virtual MAC 00:00:5e:00:0${family === 4 ? 1 : 2}:VRID`);
      else if (IFNAME.test(a) && v.get('name') === undefined) v.set('name', a);
      else ctx.skip(useVmac, where, `use_vmac: ${escapeText(a)} is neither an interface name nor a MAC address; left out`);
    }
    let note: string | undefined;
    if (xmitBase) v.set('xmit_base', true);
    else if (m.get('unicast') !== undefined) {
      v.set('xmit_base', true);
      note = ctx.change(useVmac, where, 'use_vmac with unicast peers: written with xmit_base: true, which keepalived requires for unicast (adverts from the base interface)');
    }
    m.set('vmac', v.size === 0 ? true : v, note);
    if (useIpvlan) ctx.skip(useIpvlan, where, 'use_ipvlan together with use_vmac: lvsd takes one; the macvlan is kept');
    return;
  }
  if (xmitBase) ctx.skip(xmitBase, where, 'vmac_xmit_base without use_vmac has no meaning; left out');
  if (!useIpvlan) return;
  const v = new YMap();
  for (const a of useIpvlan.args) {
    const ip = parseIp(a.replace(/\/\d+$/, ''));
    if (a === 'bridge' || a === 'private' || a === 'vepa') v.set('mode', a);
    else if (ip.ok) {
      if (ip.value.family !== family) ctx.skip(useIpvlan, where, `use_ipvlan address ${escapeText(a)} is not IPv${family} like the virtual addresses; left out`);
      else v.set('address', ip.value.address);
    } else if (IFNAME.test(a) && v.get('name') === undefined) v.set('name', a);
    else ctx.skip(useIpvlan, where, `use_ipvlan: ${escapeText(a)} is not a name, an address or a mode; left out`);
  }
  if (family === 4 && v.get('address') === undefined) { ctx.skip(useIpvlan, where, 'use_ipvlan without an IPv4 address: keepalived needs one for an IPv4 instance too; left out'); return; }
  m.set('ipvlan', reorder(v, ['name', 'address', 'mode']));
}

export function convertSyncGroup(block: Statement, ctx: Ctx, names: Names, instanceNames: Names, tracked?: TrackNames): YMap | undefined {
  const original = block.args[0] ?? '';
  const where = `vrrp_sync_group ${escapeText(original)}`;
  if (!original) { ctx.skip(block, 'vrrp_sync_group', 'has no name'); return undefined; }
  const members: string[] = [], originals: string[] = [];
  const memberSet = new Set<string>();
  const notify = new YMap();
  const email = new YMap();
  const track = new YMap();
  const trackLists = new Map<string, { list: YValue[]; names: Set<string> }>();
  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'track_interface': case 'track_script': case 'track_process': case 'track_file':
        if (tracked) { convertTrackBlock(s, ctx, where, tracked, track, trackLists); break; }
        ctx.unsupported(s, where);
        break;
      case 'sync_group_tracking_weight': case 'global_tracking':
        ctx.change(s, where, `${quoteValue(s.key)} dropped: lvsd always applies the weights of a group's members and of the group's own track items (keepalived without it forces them to 0)`);
        break;
      case 'group':
        for (const c of s.children ?? []) {
          for (const n of [c.key, ...c.args]) {
            const mapped = instanceNames.get(n);
            const other = ctx.groupOf.get(n);
            if (mapped === undefined) ctx.skip(c, where, `member ${quoteValue(n)} is not a converted vrrp_instance`);
            else if (memberSet.has(mapped)) ctx.skip(c, where, `member ${quoteValue(n)} is listed twice`);
            else if (other !== undefined) ctx.skip(c, where, `member ${quoteValue(n)} is already in vrrp_sync_group ${escapeText(other)} (an instance can be in one group)`);
            else { members.push(mapped); originals.push(n); memberSet.add(mapped); }
          }
        }
        break;
      case 'smtp_alert': emailObject(s, ctx, where, email); break;
      case 'notify_master': case 'notify_backup': case 'notify_fault': case 'notify_stop': case 'notify': {
        const argv = command(s, ctx, where);
        if (argv) notify.set(s.key === 'notify' ? 'any' : s.key.slice('notify_'.length), argv);
        break;
      }
      default: ctx.unsupported(s, where);
    }
  }
  if (members.length < 2) { ctx.skip(block, where, `has ${members.length} converted member${members.length === 1 ? '' : 's'}; lvsd sync groups need at least 2 (not converted)`); return undefined; }
  for (const n of originals) ctx.groupOf.set(n, original);
  const m = new YMap().set('name', names.add(original, block, ctx)).set('instances', new YList(members, true));
  if (notify.size > 0) m.set('notify', reorder(notify, ['master', 'backup', 'fault', 'stop', 'any']));
  m.set('email_alerts', email.get('email_alerts'));
  if (track.size > 0) m.set('track', track);
  return m;
}

// ---- tracking: track_* blocks of instances and sync groups, vrrp_track_process, track_file ----

export type TrackNames = { scripts: Names; processes?: Names | undefined; files?: Names | undefined };

/** keepalived `weight N [reverse|noreverse]` after a tracked name (args from `weight` on) into item. */
function trackWeight(c: Statement, ctx: Ctx, where: string, item: YMap, what: string): void {
  const wi = c.args.indexOf('weight');
  const rest = wi >= 0 ? c.args.slice(wi + 2) : c.args;
  if (wi > 0 || (wi < 0 && c.args.length > 0 && !['reverse', 'noreverse', 'no_reverse'].includes(c.args[0]!))) {
    ctx.skip(c, where, `${what}: ${quoteValue(c.args.join(' '))} has no lvsd equivalent (not supported)`);
    return;
  }
  if (wi === 0) {
    const w = integer({ ...c, key: 'weight', args: c.args.slice(1) }, ctx, where, -254, 254);
    if (w !== undefined) item.set('weight', w);
  }
  for (const r of rest) {
    if (r === 'reverse') item.set('reverse', true);
    else if (r === 'noreverse' || r === 'no_reverse') item.set('reverse', false);
    else ctx.skip(c, where, `${what}: ${quoteValue(r)} has no lvsd equivalent (not supported)`);
  }
}

/** One track_interface / track_script / track_process / track_file block into track.{interfaces,...}. */
function convertTrackBlock(s: Statement, ctx: Ctx, where: string, names: TrackNames, track: YMap, trackLists: Map<string, { list: YValue[]; names: Set<string> }>): void {
  const kinds: Record<string, { key: string; names: Names | undefined; block: string }> = {
    track_interface: { key: 'interfaces', names: undefined, block: '' },
    track_script: { key: 'scripts', names: names.scripts, block: 'vrrp_script' },
    track_process: { key: 'processes', names: names.processes, block: 'vrrp_track_process' },
    track_file: { key: 'files', names: names.files, block: 'track_file' },
  };
  const kind = kinds[s.key]!;
  // One list per key, however many blocks add to it (copying it for each block was quadratic).
  let tracked = trackLists.get(kind.key);
  if (!tracked) { tracked = { list: [], names: new Set() }; trackLists.set(kind.key, tracked); track.set(kind.key, new YList(tracked.list)); }
  for (const c of s.children ?? []) {
    const name = kind.block ? kind.names?.get(c.key) : c.key;
    if (name === undefined) { ctx.skip(c, where, `${s.key} ${quoteValue(c.key)} is not a converted ${kind.block}`); continue; }
    if (tracked.names.has(name)) { ctx.skip(c, where, `${s.key} ${escapeText(c.key)} is listed twice; the first is kept`); continue; }
    tracked.names.add(name);
    const item = new YMap().set('name', name);
    trackWeight(c, ctx, where, item, `${s.key} ${escapeText(c.key)}`);
    tracked.list.push(item);
  }
}

/** keepalived's default weight of a vrrp_track_process and a track_file is 1 (keepalived.conf(5)); lvsd's is "FAULT". */
const KEEPALIVED_TRACK_WEIGHT = 1;

/** `vrrp_track_process NAME { process ... }` -> a track_processes entry. */
export function convertTrackProcess(block: Statement, ctx: Ctx, names: Names): YMap | undefined {
  const original = block.args[0] ?? '';
  const where = `vrrp_track_process ${escapeText(original)}`;
  if (!original) { ctx.skip(block, 'vrrp_track_process', 'has no name'); return undefined; }
  const m = new YMap();
  let weightSet = false;
  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'process':
        if (!s.args[0]) { ctx.skip(s, where, "'process' needs a name"); break; }
        m.set('process', s.args[0]);
        if (s.args.length > 1) m.set('params', new YList(s.args.slice(1), true));
        break;
      case 'param_match':
        if (s.args[0] === 'initial' || s.args[0] === 'partial') m.set('param_match', s.args[0]);
        else ctx.skip(s, where, `param_match ${quoteValue(s.args[0] ?? '')}: lvsd knows initial and partial`);
        break;
      case 'full_command': m.set('full_command', true); break;
      case 'quorum': case 'quorum_max': { const v = integer(s, ctx, where, 0, 65535); if (v !== undefined) m.set(s.key, v); break; }
      case 'fork_delay': case 'terminate_delay': { const v = seconds(s, ctx, where); if (v !== undefined) m.set(s.key, dur(v)); break; }
      case 'delay': { const v = seconds(s, ctx, where); if (v !== undefined) { m.set('fork_delay', dur(v)); m.set('terminate_delay', dur(v)); } break; }
      case 'weight': {
        const v = integer(s, ctx, where, -254, 254);
        if (v !== undefined) { m.set('weight', v); weightSet = true; }
        if (s.args[1] === 'reverse') m.set('reverse', true);
        break;
      }
      default: ctx.unsupported(s, where);
    }
  }
  if (m.get('process') === undefined) { ctx.skip(block, where, "has no 'process'; not converted (instances tracking it lose that track)"); return undefined; }
  m.set('name', names.add(original, block, ctx));
  if (!weightSet) m.set('weight', KEEPALIVED_TRACK_WEIGHT, ctx.change(block, where, 'no weight: keepalived\'s default weight 1 written (lvsd without a weight would put the instance in FAULT when the process is missing)'));
  return reorder(m, ['name', 'process', 'params', 'param_match', 'full_command', 'quorum', 'quorum_max', 'fork_delay', 'terminate_delay', 'weight', 'reverse']);
}

/** `track_file NAME { file PATH; weight N [reverse]; init_file ... }` -> a track_files entry (VRRP side). */
export function convertVrrpTrackFile(block: Statement, ctx: Ctx, names: Names): YMap | undefined {
  const original = block.args[0] ?? '';
  const where = `${block.key} ${escapeText(original)}`;
  if (!original) { ctx.skip(block, block.key, 'has no name'); return undefined; }
  const m = new YMap();
  let weightSet = false;
  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'file':
        if (!s.args[0]?.startsWith('/')) { ctx.skip(s, where, `file ${quoteValue(s.args[0] ?? '')} is not an absolute path`); break; }
        m.set('path', s.args[0]);
        break;
      case 'weight': {
        const v = integer(s, ctx, where, -2147483647, 2147483647);
        if (v !== undefined) { m.set('weight', v); weightSet = true; }
        if (s.args[1] === 'reverse') m.set('reverse', true);
        break;
      }
      case 'init_file': ctx.skip(s, where, 'init_file dropped: lvsd does not create or write track files; create it before lvsd starts (a missing file is FAULT)'); break;
      default: ctx.unsupported(s, where);
    }
  }
  if (m.get('path') === undefined) { ctx.skip(block, where, "has no usable 'file'; not converted for VRRP"); return undefined; }
  m.set('name', names.add(original, block, ctx));
  if (!weightSet) m.set('weight', KEEPALIVED_TRACK_WEIGHT);
  return reorder(m, ['name', 'path', 'weight', 'reverse']);
}

/** Names of track_file blocks a vrrp_instance or vrrp_sync_group tracks (the others are FILE_CHECK's only). */
export function vrrpTrackedFiles(statements: Statement[]): Set<string> {
  const out = new Set<string>();
  for (const s of statements) {
    if (s.key !== 'vrrp_instance' && s.key !== 'vrrp_sync_group') continue;
    for (const c of s.children ?? []) if (c.key === 'track_file') for (const f of c.children ?? []) out.add(f.key);
  }
  return out;
}


// ---- interface_up_down_delays (top level) ----

/**
 * `interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] ... }` (keepalived.conf(5)): seconds, 0-255, up
 * defaulting to down; lvsd global.interface_up_down_delays keeps both explicitly, in milliseconds (keepalived
 * resolves microseconds: a value that is not whole milliseconds is rounded, and said).
 */
export function convertUpDownDelays(block: Statement, ctx: Ctx, global: YMap): void {
  const where = 'interface_up_down_delays';
  const list = new YList([]);
  const existing = global.get('interface_up_down_delays');
  const items = existing instanceof YList ? existing : list;
  for (const s of block.children ?? []) {
    const name = s.key;
    if (checkInterfaceName(name) !== undefined || name.length > 15) { ctx.skip(s, where, `${quoteValue(name)} is not an interface name; left out`); continue; }
    const ms: number[] = [];
    let bad = false;
    for (const v of s.args.slice(0, 2)) {
      if (!/^\d+(\.\d+)?$/.test(v) || Number(v) > 255) { bad = true; break; }
      const r = Math.round(Number(v) * 1000);
      if (r !== Number(v) * 1000) ctx.change(s, where, `${name}: ${v}s rounded to ${r} ms (lvsd resolves milliseconds)`);
      ms.push(r);
    }
    if (bad || ms.length === 0 || s.args.length > 2) { ctx.skip(s, where, `${quoteValue([name, ...s.args].join(' '))}: needs IFNAME DOWN_DELAY [UP_DELAY] in seconds, 0-255; left out`); continue; }
    const m = new YMap().set('interface', name).set('down_delay', dur(ms[0]!)).set('up_delay', dur(ms[1] ?? ms[0]!));
    const i = items.items.findIndex((x) => x instanceof YMap && x.get('interface') === name);
    if (i >= 0) items.items.splice(i, 1); // a later line for the same interface replaces the earlier one
    items.items.push(m);
  }
  if (items !== existing && items.items.length > 0) global.set('interface_up_down_delays', items);
}
