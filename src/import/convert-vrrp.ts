// keepalived's VRRP side -> lvsd: global_defs, vrrp_script, vrrp_instance, vrrp_sync_group.
import { parseIp, parsePrefix, type IpAddress } from '../config/address.js';
import { YList, YMap, type YValue } from './emit.js';
import type { Statement } from './reader.js';
import { command, dur, integer, quietKeyword, reorder, seconds, type Ctx, type Names } from './convert-common.js';
import { escapeText, quoteValue } from '../text/quote.js';
import { emailGlobal, emailObject } from './convert-email.js';

// ---- global_defs ----

/** Why keepalived's no_accept / vrrp_strict accept mode has no lvsd form (see accept in src/config/model.ts). */
const NO_ACCEPT = "lvsd's masters always accept packets to their VIPs, as keepalived does without vrrp_strict (accept: false is not supported: it would need a netfilter rule after IPVS's LOCAL_IN hook)";

/** The connection-sync daemon: keepalived runs one, from global_defs lvs_sync_daemon or else the first instance's lvs_sync_daemon_interface. */
export type SyncDaemon = { s: Statement; iface: string; instance: string; options: YMap };
export type Globals = { version: 2 | 3; strict: boolean; garp: Map<string, Statement>; syncDaemon?: SyncDaemon; scriptSecurity?: Statement };

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
      case 'lvs_sync_daemon': { const d = syncDaemon(s, ctx, where); if (d) g.syncDaemon = d; break; }
      case 'lvs_timeouts': { const t = lvsTimeouts(s, ctx, where); if (t) global.set('ipvs_timeouts', t); break; }
      case 'vrrp_version': { const v = integer(s, ctx, where, 2, 3); if (v !== undefined) g.version = v as 2 | 3; break; }
      case 'vrrp_strict':
        g.strict = true;
        ctx.change(s, where, `vrrp_strict dropped: lvsd follows RFC 5798 without a switch; ${NO_ACCEPT}`);
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
        if (s.args[1] === 'reverse') ctx.skip(s, where, "'weight ... reverse' has no lvsd equivalent (not supported)");
        break;
      }
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
  return reorder(m, ['name', 'argv', 'interval', 'timeout', 'rise', 'fall', 'weight', 'user']);
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

export function convertInstance(block: Statement, ctx: Ctx, g: Globals, names: Names, scriptNames: Names): YMap | undefined {
  const original = block.args[0] ?? '';
  const where = `vrrp_instance ${escapeText(original)}`;
  if (!original) { ctx.skip(block, 'vrrp_instance', 'has no name'); return undefined; }
  const m = new YMap().set('name', original);
  const comments: string[] = [];
  let version: 2 | 3 = g.version, versionStmt: Statement | undefined;
  let advert = 1000, advertStmt: Statement | undefined;
  const vips: Vip[] = [];
  let auth: { type?: string; pass?: string; s: Statement } | undefined;
  let noAccept: Statement | undefined;
  const unicast = new YMap();
  const peers: Array<{ ip: IpAddress; s: Statement }> = [];
  const peerSet = new Set<string>(); // peers' addresses: a repeat is found in O(1), not by a scan of the list
  const track = new YMap();
  const trackLists = new Map<string, { list: YValue[]; names: Set<string> }>();
  const notify = new YMap();
  const garp = new YMap();
  const garpStmts = new Map(g.garp);
  let masterState: Statement | undefined;
  let noPreemptStmt: Statement | undefined, preemptDelayStmt: Statement | undefined;

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
      case 'accept': noAccept = undefined; break; // lvsd's default
      case 'no_accept': noAccept = s; break;
      case 'unicast_src_ip': {
        const p = parseIp(s.args[0]);
        if (p.ok) unicast.set('source', p.value.address); else ctx.skip(s, where, `unicast_src_ip: ${p.message}`);
        break;
      }
      case 'unicast_peer':
        for (const c of s.children ?? []) {
          const p = parseIp(c.key);
          if (!p.ok) { ctx.skip(c, where, `unicast_peer: ${p.message}`); continue; }
          if (c.args.length > 0) ctx.skip(c, where, `unicast_peer ${c.key}: ${quoteValue(c.args.join(' '))} has no lvsd equivalent (not supported)`);
          if (peerSet.has(p.value.address)) { ctx.skip(c, where, `unicast_peer ${c.key} is listed twice; the first is kept`); continue; }
          peerSet.add(p.value.address);
          peers.push({ ip: p.value, s: c });
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
      case 'track_interface': case 'track_script': {
        const key = s.key === 'track_interface' ? 'interfaces' : 'scripts';
        // One list per key, however many blocks add to it (copying it for each block was quadratic).
        let tracked = trackLists.get(key);
        if (!tracked) { tracked = { list: [], names: new Set() }; trackLists.set(key, tracked); track.set(key, new YList(tracked.list)); }
        const { list } = tracked;
        for (const c of s.children ?? []) {
          const name = s.key === 'track_script' ? scriptNames.get(c.key) : c.key;
          if (name === undefined) { ctx.skip(c, where, `track_script ${quoteValue(c.key)} is not a converted vrrp_script`); continue; }
          if (tracked.names.has(name)) { ctx.skip(c, where, `${s.key} ${escapeText(c.key)} is listed twice; the first is kept`); continue; }
          tracked.names.add(name);
          const item = new YMap().set('name', name);
          const wi = c.args.indexOf('weight');
          if (wi >= 0) {
            const w = integer({ ...c, key: 'weight', args: c.args.slice(wi + 1) }, ctx, where, -254, 254);
            if (w !== undefined) item.set('weight', w);
            if (c.args.includes('reverse')) ctx.skip(c, where, `${s.key} ${escapeText(c.key)}: 'reverse' has no lvsd equivalent (not supported)`);
          } else if (c.args.length > 0) ctx.skip(c, where, `${s.key} ${escapeText(c.key)}: ${quoteValue(c.args.join(' '))} has no lvsd equivalent (not supported)`);
          list.push(item);
        }
        break;
      }
      case 'smtp_alert': emailObject(s, ctx, where, m); break;
      case 'notify_master': case 'notify_backup': case 'notify_fault': case 'notify_stop': case 'notify': {
        const argv = command(s, ctx, where);
        if (argv) notify.set(s.key === 'notify' ? 'any' : s.key.slice('notify_'.length), argv);
        break;
      }
      case 'garp_master_delay': case 'garp_master_repeat': case 'garp_master_refresh': case 'garp_master_refresh_repeat':
        garpStmts.set(s.key, s); break;
      case 'old_unicast_checksum':
        // keepalived: 'never' refuses the pre-1.3.6 VRRPv3 unicast checksum; bare, it sends and expects only that one.
        if (s.args[0] === 'never') m.set('unicast_checksum_compat', false);
        else m.set('unicast_checksum_compat', true, ctx.change(s, where, "old_unicast_checksum: lvsd accepts the checksum keepalived up to 1.3.6 computed over 224.0.0.18, but always sends the RFC 5798 one, which such peers refuse: upgrade them first"));
        break;
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
  if (vips.length === 0) { ctx.skip(block, where, 'has no virtual addresses; instance not converted (lvsd needs at least one)'); return undefined; }
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
  const family = vips[0]!.ip.value.family;
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
  if (kept.length === 0) { ctx.skip(block, where, 'has no usable virtual addresses left; instance not converted'); return undefined; }
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
  m.set('virtual_ips', new YList(kept.map((v) => v.value)));

  // accept: true is lvsd's default and keepalived's without vrrp_strict (that one is noted once, in global_defs).
  if (noAccept) ctx.change(noAccept, where, `no_accept dropped: ${NO_ACCEPT}`);

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
    unicast.set('peers', new YList(goodPeers.map((p) => p.ip.address), true));
    m.set('unicast', reorder(unicast, ['source', 'peers']));
  } else if (unicast.size > 0) {
    ctx.skip(block, where, 'unicast_src_ip without unicast peers has no lvsd equivalent (multicast adverts take the interface address)');
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
  if (notify.size > 0) m.set('notify', reorder(notify, ['master', 'backup', 'fault', 'stop', 'any']));
  if (garp.size > 0) m.set('garp', reorder(garp, ['delay', 'repeat', 'refresh', 'refresh_repeat']));

  const out = reorder(m, ['name', 'interface', 'vrid', 'priority', 'owner', 'version', 'advert_interval', 'virtual_ips', 'preempt', 'preempt_delay', 'accept']);
  if (comments.length > 0) out.entries[0]!.comments.push(...comments);
  return out;
}

export function convertSyncGroup(block: Statement, ctx: Ctx, names: Names, instanceNames: Names): YMap | undefined {
  const original = block.args[0] ?? '';
  const where = `vrrp_sync_group ${escapeText(original)}`;
  if (!original) { ctx.skip(block, 'vrrp_sync_group', 'has no name'); return undefined; }
  const members: string[] = [], originals: string[] = [];
  const memberSet = new Set<string>();
  const notify = new YMap();
  const email = new YMap();
  for (const s of block.children ?? []) {
    switch (s.key) {
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
  return m;
}

