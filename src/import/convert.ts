// keepalived statement tree -> lvsd.yaml document. Pure: statements in, (document, notes) out.
// Everything lvsd cannot express is reported with the file:line of the keepalived statement and why;
// where keepalived accepts something lvsd refuses, the nearest valid lvsd form is written and noted.
import { netmaskToPrefix, parseIp, parsePrefix, type IpAddress } from '../config/address.js';
import { formatDuration } from '../config/duration.js';
import { SCHEDULERS } from '../config/model.js';
import { splitCommand } from './command.js';
import { YList, YMap, type YValue } from './emit.js';
import type { Statement } from './reader.js';

/** skipped: not in the output (exit 3). changed: converted to the nearest valid lvsd form (exit 0). */
export type ImportNote = { file: string; line: number; seq: number; kind: 'skipped' | 'changed'; message: string };
export type Conversion = { doc: YMap; notes: ImportNote[] };

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

class Ctx {
  readonly notes: ImportNote[] = [];
  // What lvsd requires to be unique across the whole file (semantic.ts): taken by the first converted owner.
  readonly vrids = new Map<string, string>();
  readonly vipOwners = new Map<string, string>();
  readonly groupOf = new Map<string, string>();
  readonly serviceKeys = new Map<string, string>();
  skip(s: Statement, where: string, why: string): void {
    this.notes.push({ file: s.file, line: s.line, seq: s.seq, kind: 'skipped', message: `${where}${where ? ': ' : ''}${why}` });
  }
  unsupported(s: Statement, where: string, why = 'has no lvsd equivalent (not supported)'): void {
    this.skip(s, where, `'${s.key}' ${why}`);
  }
  change(s: Statement, where: string, what: string): string {
    this.notes.push({ file: s.file, line: s.line, seq: s.seq, kind: 'changed', message: `${where}${where ? ': ' : ''}${what}` });
    return what;
  }
}

// ---- scalars ----

/** keepalived timers are seconds, possibly fractional ("0.92"). */
function seconds(s: Statement, ctx: Ctx, where: string, i = 0): number | undefined {
  const v = s.args[i];
  if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) { ctx.skip(s, where, `'${s.key}' needs a number of seconds, got '${v ?? ''}'`); return undefined; }
  return Math.round(Number(v) * 1000);
}
function integer(s: Statement, ctx: Ctx, where: string, min: number, max: number, i = 0): number | undefined {
  const v = s.args[i];
  if (v === undefined || !/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) { ctx.skip(s, where, `'${s.key}' needs an integer ${min}-${max}, got '${v ?? ''}'`); return undefined; }
  return Number(v);
}
const dur = (ms: number) => formatDuration(ms);
const hostPort = (ip: IpAddress, port?: number) => (port === undefined ? ip.address : ip.family === 6 ? `[${ip.address}]:${port}` : `${ip.address}:${port}`);

function command(s: Statement, ctx: Ctx, where: string, argIndex = 0): YList | undefined {
  const text = s.args.slice(argIndex).join(' ');
  // keepalived takes the command from one quoted argument or, unquoted, from the rest of the line.
  const r = splitCommand(s.args.length - argIndex === 1 ? s.args[argIndex]! : text);
  if (!r.ok) { ctx.skip(s, where, `'${s.key}' command ${JSON.stringify(text)} ${r.reason.startsWith('needs a shell') ? `${r.reason} (lvsd runs commands without a shell; put it in a script)` : r.reason}`); return undefined; }
  if (!r.argv[0]!.startsWith('/')) { ctx.skip(s, where, `'${s.key}' command '${r.argv[0]}' is a relative path (lvsd runs absolute paths only, with no PATH lookup)`); return undefined; }
  return new YList(r.argv, true);
}

class Names {
  private readonly map = new Map<string, string>();
  private readonly used = new Set<string>();
  constructor(private readonly what: string) {}
  add(original: string, s: Statement, ctx: Ctx): string {
    let n = NAME.test(original) ? original : original.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[_.-]+/, '').slice(0, 64) || this.what;
    const base = n;
    for (let i = 2; this.used.has(n); i++) n = `${base.slice(0, 60)}-${i}`;
    if (n !== original) ctx.change(s, `${this.what} ${original}`, `renamed to '${n}' (lvsd names are letters, digits, _ . -, at most 64, unique)`);
    this.map.set(original, n);
    this.used.add(n);
    return n;
  }
  get(original: string): string | undefined { return this.map.get(original); }
}

// ---- global_defs ----

type Globals = { version: 2 | 3; strict: boolean; garp: Map<string, Statement> };

function convertGlobal(block: Statement, ctx: Ctx, global: YMap, g: Globals): void {
  const where = 'global_defs';
  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'router_id': if (s.args[0]) global.set('router_id', s.args[0]); break;
      case 'script_user':
        if (s.args[0]) global.set('script_user', s.args[0]);
        if (s.args[1]) ctx.skip(s, where, `script_user group '${s.args[1]}' dropped: lvsd runs scripts with the user's own groups`);
        break;
      case 'enable_script_security': break; // lvsd always refuses scripts writable by non-root users
      case 'vrrp_version': { const v = integer(s, ctx, where, 2, 3); if (v !== undefined) g.version = v as 2 | 3; break; }
      case 'vrrp_strict':
        g.strict = true;
        ctx.change(s, where, "vrrp_strict: lvsd keeps its effect on accept mode (instances default to accept: false); lvsd follows RFC 5798 without a switch");
        break;
      case 'vrrp_garp_master_delay': case 'vrrp_garp_master_repeat': case 'vrrp_garp_master_refresh': case 'vrrp_garp_master_refresh_repeat':
        g.garp.set(s.key.slice('vrrp_'.length), s); break;
      case 'notification_email': case 'notification_email_from': case 'smtp_server': case 'smtp_connect_timeout': case 'smtp_helo_name':
        ctx.unsupported(s, where, 'has no lvsd equivalent (email alerts are not supported; use notify commands)'); break;
      default: ctx.unsupported(s, where);
    }
  }
}

// ---- vrrp_script ----

function convertScript(block: Statement, ctx: Ctx, names: Names): YMap | undefined {
  const original = block.args[0] ?? '';
  const where = `vrrp_script ${original}`;
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
        if (s.args[1]) ctx.skip(s, where, `user group '${s.args[1]}' dropped: lvsd runs scripts with the user's own groups`);
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

function reorder(m: YMap, keys: string[]): YMap {
  const out = new YMap();
  for (const k of keys) { const e = m.entries.find((x) => x.key === k); if (e) out.entries.push(e); }
  for (const e of m.entries) if (!keys.includes(e.key)) out.entries.push(e);
  return out;
}

// ---- vrrp_instance ----

type Vip = { ip: ReturnType<typeof parsePrefix> & { ok: true }; value: YValue; s: Statement };

function parseVip(s: Statement, ctx: Ctx, where: string): Vip | undefined {
  const words = [s.key, ...s.args];
  const p = parsePrefix(words[0]!);
  if (!p.ok) { ctx.skip(s, where, `virtual address '${words[0]}': ${p.message}`); return undefined; }
  let device: string | undefined, label: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'dev' && words[i + 1]) device = words[++i];
    else if (w === 'label' && words[i + 1]) label = words[++i];
    else if (['brd', 'scope', 'peer', 'track_group'].includes(w)) { ctx.skip(s, where, `${words[0]}: '${w} ${words[i + 1] ?? ''}' has no lvsd equivalent (not supported; the address is added without it)`); i++; }
    else ctx.skip(s, where, `${words[0]}: '${w}' has no lvsd equivalent (not supported; the address is added without it)`);
  }
  const address = words[0]!.includes('/') ? `${p.value.address}/${p.value.prefix}` : p.value.address;
  const value: YValue = device === undefined && label === undefined ? address
    : new YMap().set('address', address).set('device', device).set('label', label);
  return { ip: p, value, s };
}

function convertInstance(block: Statement, ctx: Ctx, g: Globals, names: Names, scriptNames: Names): YMap | undefined {
  const original = block.args[0] ?? '';
  const where = `vrrp_instance ${original}`;
  if (!original) { ctx.skip(block, 'vrrp_instance', 'has no name'); return undefined; }
  const m = new YMap().set('name', original);
  const comments: string[] = [];
  let version: 2 | 3 = g.version, versionStmt: Statement | undefined;
  let advert = 1000, advertStmt: Statement | undefined;
  const vips: Vip[] = [];
  let auth: { type?: string; pass?: string; s: Statement } | undefined;
  let accept: boolean | undefined;
  const unicast = new YMap();
  const peers: Array<{ ip: IpAddress; s: Statement }> = [];
  const track = new YMap();
  const notify = new YMap();
  const garp = new YMap();
  const garpStmts = new Map(g.garp);
  let masterState: Statement | undefined;

  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'state':
        // Every lvsd instance starts as BACKUP, as keepalived's BACKUP does; only MASTER changes meaning.
        if ((s.args[0] ?? '').toUpperCase() === 'MASTER') masterState = s;
        if ((s.args[0] ?? '').toUpperCase() !== 'BACKUP') comments.push(`keepalived 'state ${s.args[0] ?? ''}' dropped: lvsd starts as BACKUP and the election picks the master by priority`);
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
      case 'nopreempt': m.set('preempt', false); break;
      case 'preempt': m.set('preempt', true); break;
      case 'preempt_delay': { const v = seconds(s, ctx, where); if (v !== undefined) m.set('preempt_delay', dur(v)); break; }
      case 'accept': accept = true; break;
      case 'no_accept': accept = false; break;
      case 'unicast_src_ip': {
        const p = parseIp(s.args[0]);
        if (p.ok) unicast.set('source', p.value.address); else ctx.skip(s, where, `unicast_src_ip: ${p.message}`);
        break;
      }
      case 'unicast_peer':
        for (const c of s.children ?? []) {
          const p = parseIp(c.key);
          if (!p.ok) { ctx.skip(c, where, `unicast_peer: ${p.message}`); continue; }
          if (c.args.length > 0) ctx.skip(c, where, `unicast_peer ${c.key}: '${c.args.join(' ')}' has no lvsd equivalent (not supported)`);
          if (peers.some((x) => x.ip.address === p.value.address)) { ctx.skip(c, where, `unicast_peer ${c.key} is listed twice; the first is kept`); continue; }
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
        const list: YMap[] = [];
        for (const c of s.children ?? []) {
          let name = c.key;
          const already = track.get(s.key === 'track_interface' ? 'interfaces' : 'scripts');
          if (already instanceof YList && already.items.some((x) => x instanceof YMap && x.get('name') === (s.key === 'track_script' ? scriptNames.get(c.key) : c.key))
            || list.some((x) => x.get('name') === (s.key === 'track_script' ? scriptNames.get(c.key) : c.key))) {
            ctx.skip(c, where, `${s.key} ${c.key} is listed twice; the first is kept`);
            continue;
          }
          if (s.key === 'track_script') {
            const n = scriptNames.get(c.key);
            if (n === undefined) { ctx.skip(c, where, `track_script '${c.key}' is not a converted vrrp_script`); continue; }
            name = n;
          }
          const item = new YMap().set('name', name);
          const wi = c.args.indexOf('weight');
          if (wi >= 0) {
            const w = integer({ ...c, key: 'weight', args: c.args.slice(wi + 1) }, ctx, where, -254, 254);
            if (w !== undefined) item.set('weight', w);
            if (c.args.includes('reverse')) ctx.skip(c, where, `${s.key} ${c.key}: 'reverse' has no lvsd equivalent (not supported)`);
          } else if (c.args.length > 0) ctx.skip(c, where, `${s.key} ${c.key}: '${c.args.join(' ')}' has no lvsd equivalent (not supported)`);
          list.push(item);
        }
        const key = s.key === 'track_interface' ? 'interfaces' : 'scripts';
        const prior = track.get(key);
        track.set(key, new YList([...(prior instanceof YList ? prior.items : []), ...list]));
        break;
      }
      case 'notify_master': case 'notify_backup': case 'notify_fault': case 'notify_stop': case 'notify': {
        const argv = command(s, ctx, where);
        if (argv) notify.set(s.key === 'notify' ? 'any' : s.key.slice('notify_'.length), argv);
        break;
      }
      case 'garp_master_delay': case 'garp_master_repeat': case 'garp_master_refresh': case 'garp_master_refresh_repeat':
        garpStmts.set(s.key, s); break;
      default: ctx.unsupported(s, where);
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
    if (owner !== undefined) { ctx.skip(v.s, where, `${v.s.key}: ${a} is already a virtual address of vrrp_instance ${owner} (two instances would fight over it); left out`); return false; }
    mine.add(a);
    return true;
  });
  if (kept.length === 0) { ctx.skip(block, where, 'has no usable virtual addresses left; instance not converted'); return undefined; }
  const vridKey = `${String(m.get('interface'))} ${family} ${String(m.get('vrid'))}`;
  const vridOwner = ctx.vrids.get(vridKey);
  if (vridOwner !== undefined) { ctx.skip(block, where, `virtual_router_id ${String(m.get('vrid'))} is already used on ${String(m.get('interface'))} for IPv${family} by vrrp_instance ${vridOwner}; instance not converted`); return undefined; }
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

  if (accept === undefined) accept = !g.strict; // keepalived's default is accept unless vrrp_strict
  m.set('accept', accept, accept ? 'keepalived accepts packets to the VIPs by default; lvsd only when told' : undefined);

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
    else if ((auth.type ?? '').toUpperCase() !== 'PASS') ctx.skip(auth.s, where, `'authentication' auth_type ${auth.type ?? '(none)'} is not supported (only PASS; RFC 3768 removed AH)`);
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

function convertSyncGroup(block: Statement, ctx: Ctx, names: Names, instanceNames: Names): YMap | undefined {
  const original = block.args[0] ?? '';
  const where = `vrrp_sync_group ${original}`;
  if (!original) { ctx.skip(block, 'vrrp_sync_group', 'has no name'); return undefined; }
  const members: string[] = [], originals: string[] = [];
  const notify = new YMap();
  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'group':
        for (const c of s.children ?? []) {
          for (const n of [c.key, ...c.args]) {
            const mapped = instanceNames.get(n);
            const other = ctx.groupOf.get(n);
            if (mapped === undefined) ctx.skip(c, where, `member '${n}' is not a converted vrrp_instance`);
            else if (members.includes(mapped)) ctx.skip(c, where, `member '${n}' is listed twice`);
            else if (other !== undefined) ctx.skip(c, where, `member '${n}' is already in vrrp_sync_group ${other} (an instance can be in one group)`);
            else { members.push(mapped); originals.push(n); }
          }
        }
        break;
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
  return m;
}

// ---- virtual_server ----

type CheckDefaults = { interval: number; host?: string };

function checkTiming(kind: string, s: Statement, m: YMap, ctx: Ctx, where: string, timing: { interval: number; timeout?: number; timeoutStmt?: Statement }): boolean {
  switch (s.key) {
    case 'connect_timeout': { const v = seconds(s, ctx, where); if (v !== undefined) { timing.timeout = v; timing.timeoutStmt = s; } return true; }
    case 'delay_loop': { const v = seconds(s, ctx, where); if (v !== undefined) timing.interval = Math.max(v, 10); return true; }
    // keepalived's retry counts checks after the first failure; lvsd's retries counts failures in a row.
    case 'retry': case 'nb_get_retry': { const v = integer(s, ctx, where, 0, 99); if (v !== undefined) m.set('retries', v + 1); return true; }
    case 'delay_before_retry': { const v = seconds(s, ctx, where); if (v !== undefined) m.set('delay_before_retry', dur(v)); return true; }
    case 'warmup': { const v = seconds(s, ctx, where); if (v !== undefined) m.set('warmup', dur(v)); return true; }
    default: void kind; return false;
  }
}

function checkTarget(s: Statement, m: YMap, ctx: Ctx, where: string, bind: { ip?: IpAddress; port?: number }): boolean {
  switch (s.key) {
    case 'connect_port': { const v = integer(s, ctx, where, 1, 65535); if (v !== undefined) m.set('port', v); return true; }
    case 'connect_ip': { const p = parseIp(s.args[0]); if (p.ok) m.set('address', p.value.address); else ctx.skip(s, where, `connect_ip: ${p.message}`); return true; }
    case 'bindto': { const p = parseIp(s.args[0]); if (p.ok) bind.ip = p.value; else ctx.skip(s, where, `bindto: ${p.message}`); return true; }
    case 'bind_port': { const v = integer(s, ctx, where, 1, 65535); if (v !== undefined) bind.port = v; return true; }
    case 'bindif': if (s.args[0]) m.set('bind_interface', s.args[0]); return true;
    case 'fwmark': { const v = integer(s, ctx, where, 1, 0xffffffff); if (v !== undefined) m.set('fwmark', v); return true; }
    default: return false;
  }
}

/** One keepalived checker block -> lvsd inline checks (HTTP_GET with several url blocks gives one per url). */
function convertChecker(block: Statement, ctx: Ctx, where: string, d: CheckDefaults): YMap[] {
  const w = `${where}: ${block.key}`;
  const timing: { interval: number; timeout?: number; timeoutStmt?: Statement } = { interval: d.interval };
  const common = new YMap();
  const bind: { ip?: IpAddress; port?: number } = {};
  let type: string;
  const urls: YMap[] = [];
  let argv: YList | undefined;
  switch (block.key) {
    case 'TCP_CHECK': type = 'tcp'; break;
    case 'HTTP_GET': type = 'http'; break;
    case 'SSL_GET': type = 'https'; break;
    case 'MISC_CHECK': type = 'script'; break;
    default: ctx.unsupported(block, where, 'has no lvsd equivalent (lvsd checks: TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK)'); return [];
  }
  let host = d.host;
  let sni = false;
  for (const s of block.children ?? []) {
    if (checkTiming(type, s, common, ctx, w, timing)) continue;
    if (type !== 'script' && checkTarget(s, common, ctx, w, bind)) continue;
    if (type === 'http' || type === 'https') {
      if (s.key === 'virtualhost') { host = s.args[0]; continue; }
      if (s.key === 'enable_sni') { sni = true; continue; }
      if (s.key === 'url') {
        const u = new YMap();
        const statuses: Array<string | number> = [];
        for (const c of s.children ?? []) {
          if (c.key === 'path') {
            if (c.args[0]?.startsWith('/')) u.set('path', c.args[0]); else ctx.skip(c, w, `url path '${c.args[0] ?? ''}' must start with /`);
          } else if (c.key === 'digest') {
            if (/^[0-9a-fA-F]{32}$/.test(c.args[0] ?? '')) u.set('digest', c.args[0]!.toLowerCase()); else ctx.skip(c, w, `digest '${c.args[0] ?? ''}' is not an MD5 hex digest`);
          } else if (c.key === 'status_code') {
            for (const a of c.args) {
              const r = /^(\d{3})(?:-(\d{3}))?$/.exec(a);
              if (r && Number(r[1]) >= 100 && Number(r[2] ?? r[1]) <= 599 && Number(r[1]) <= Number(r[2] ?? r[1])) statuses.push(r[2] ? a : Number(a));
              else ctx.skip(c, w, `status_code '${a}' is not an HTTP status or range`);
            }
          } else if (c.key === 'virtualhost') u.set('host', c.args[0]);
          else ctx.unsupported(c, w);
        }
        if (statuses.length > 0) u.set('status', statuses.length === 1 ? statuses[0]! : new YList(statuses, true));
        urls.push(u);
        continue;
      }
    }
    if (type === 'script') {
      if (s.key === 'misc_path') { argv = command(s, ctx, w); continue; }
      if (s.key === 'misc_timeout') { const v = seconds(s, ctx, w); if (v !== undefined) { timing.timeout = v; timing.timeoutStmt = s; } continue; }
      if (s.key === 'misc_dynamic') { common.set('dynamic_weight', true); continue; }
      if (s.key === 'user') {
        if (s.args[0]) common.set('user', s.args[0]);
        if (s.args[1]) ctx.skip(s, w, `user group '${s.args[1]}' dropped: lvsd runs scripts with the user's own groups`);
        continue;
      }
    }
    ctx.unsupported(s, w);
  }
  if (bind.ip) common.set('source', hostPort(bind.ip, bind.port));
  else if (bind.port !== undefined) ctx.skip(block, w, "'bind_port' without 'bindto' has no lvsd equivalent (not supported)");

  // keepalived defaults: connect_timeout 5s, misc_timeout the delay_loop. lvsd refuses timeout > interval.
  let timeout = timing.timeout ?? (type === 'script' ? timing.interval : 5000);
  let timeoutComment: string | undefined;
  if (timeout > timing.interval) {
    const why = `timeout ${dur(timeout)} cut to the interval ${dur(timing.interval)} (lvsd does not overlap checks)`;
    timeoutComment = timing.timeoutStmt ? ctx.change(timing.timeoutStmt, w, why) : ctx.change(block, w, why);
    timeout = timing.interval;
  }
  timeout = Math.max(timeout, 10);
  const base = new YMap().set('type', type).set('interval', dur(timing.interval)).set('timeout', dur(timeout), timeoutComment);
  for (const e of common.entries) base.entries.push(e);
  // keepalived's defaults where lvsd's differ (keepalived.conf(5)): retry 1 (0 for MISC_CHECK), so two failures
  // in a row; delay_before_retry 3s for HTTP_GET/SSL_GET; warmup up to delay_loop.
  if (base.get('retries') === undefined && type !== 'script') base.set('retries', 2);
  if (base.get('delay_before_retry') === undefined && (type === 'http' || type === 'https')) base.set('delay_before_retry', '3s');
  if (base.get('warmup') === undefined) base.set('warmup', dur(timing.interval));

  if (type === 'script') {
    if (!argv) { ctx.skip(block, w, "has no usable 'misc_path'; check not converted (the real server would be always up)"); return []; }
    base.set('argv', argv);
    return [reorder(base, ['type', 'argv', 'interval', 'timeout'])];
  }
  const extra = (c: YMap) => {
    if (host !== undefined && c.get('host') === undefined) c.set('host', host);
    if (type === 'https') {
      c.set('tls', new YMap().set('verify', false).set('sni', sni && host !== undefined ? host : undefined),
        "keepalived's SSL_GET does not verify certificates; set verify: true once the CA is known");
    }
    return c;
  };
  if (type === 'tcp') return [base];
  if (urls.length === 0) { ctx.skip(block, w, "has no 'url'; written as a check of '/'"); return [extra(base)]; }
  // keepalived requires every url to pass; lvsd requires every check to pass: one check per url.
  return urls.map((u) => {
    const c = new YMap();
    for (const e of base.entries) c.entries.push(e);
    for (const e of u.entries) c.set(e.key, e.value);
    return reorder(extra(c), ['type', 'path', 'host', 'status', 'digest', 'interval', 'timeout']);
  });
}

const FORWARDING: Record<string, string> = { NAT: 'nat', DR: 'dr', TUN: 'tunnel' };

/** `lvs_method TUN [type {ipip|gue port N|gre} [nocsum|csum|remcsum]]` (keepalived.conf(5)). */
function tunnelOptions(s: Statement, ctx: Ctx, where: string, tunnel: YMap): void {
  const a = s.args.slice(1);
  let i = 0;
  if (a[i] === 'type') {
    const t = a[i + 1];
    i += 2;
    if (t === 'ipip' || t === 'gre' || t === 'gue') tunnel.set('type', t); else { ctx.skip(s, where, `tunnel type '${t ?? ''}' is not ipip, gue or gre; left out`); return; }
    if (t === 'gue') {
      const port = a[i] === 'port' ? Number(a[i + 1]) : NaN;
      if (Number.isInteger(port) && port >= 1 && port <= 65535) { tunnel.set('port', port); i += 2; } else { tunnel.delete('type'); ctx.skip(s, where, "tunnel type gue needs 'port N'; left out"); return; }
    }
    const csum = { nocsum: 'none', csum: 'csum', remcsum: 'remcsum' }[a[i] ?? ''];
    if (csum !== undefined) {
      if (t === 'ipip' && csum !== 'none' || t === 'gre' && csum === 'remcsum') ctx.skip(s, where, `${a[i]} is not an option of ${t} tunnels; left out`);
      else tunnel.set('checksum', csum);
      i++;
    }
  }
  if (i < a.length) ctx.skip(s, where, `${s.key} TUN: '${a.slice(i).join(' ')}' not understood; left out`);
}

function serviceName(args: string[]): string {
  const raw = args[0] === 'fwmark' ? `fwmark-${args[1] ?? ''}` : `vs-${(args[0] ?? '').replace(/:/g, '_')}-${args[1] ?? ''}`;
  return raw.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function convertVirtualServer(block: Statement, ctx: Ctx, names: Names): YMap | undefined {
  const where = `virtual_server ${block.args.join(' ')}`;
  if (block.args[0] === 'group') { ctx.skip(block, where, 'virtual_server_group services have no lvsd equivalent (not converted; write one virtual service per address)'); return undefined; }
  const m = new YMap();
  let family: 4 | 6 = 4;
  let port: number | undefined;
  if (block.args[0] === 'fwmark') {
    const v = integer({ ...block, key: 'fwmark', args: block.args.slice(1) }, ctx, where, 1, 0xffffffff);
    if (v === undefined) return undefined;
    m.set('name', names.add(serviceName(block.args), block, ctx)).set('fwmark', v);
  } else {
    const ip = parseIp(block.args[0]);
    const p = Number(block.args[1]);
    if (!ip.ok) { ctx.skip(block, where, `${ip.message}; not converted`); return undefined; }
    if (!/^\d+$/.test(block.args[1] ?? '') || p > 65535) { ctx.skip(block, where, `port '${block.args[1] ?? ''}' is not 0-65535; not converted`); return undefined; }
    family = ip.value.family;
    port = p;
    m.set('name', names.add(serviceName(block.args), block, ctx)).set('address', hostPort(ip.value, p));
  }
  const d: CheckDefaults = { interval: 60_000 }; // keepalived's delay_loop default
  const quorum = new YMap();
  const persistence = new YMap();
  const tunnel = new YMap();
  const flags: string[] = [];
  let forwarding: string | undefined;
  let sorry: { addr: string; s: Statement } | undefined;
  let sorryFwd: string | undefined;
  const realServers: Statement[] = [];
  let familyStmt: Statement | undefined;
  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'delay_loop': { const v = seconds(s, ctx, where); if (v !== undefined) d.interval = Math.max(v, 10); break; }
      case 'lb_algo': case 'lvs_sched': {
        const v = (s.args[0] ?? '').toLowerCase();
        if ((SCHEDULERS as readonly string[]).includes(v)) m.set('scheduler', v); else ctx.skip(s, where, `scheduler '${s.args[0] ?? ''}' is not one lvsd knows (${SCHEDULERS.join(', ')})`);
        break;
      }
      case 'lb_kind': case 'lvs_method': {
        const v = FORWARDING[(s.args[0] ?? '').toUpperCase()];
        if (v) forwarding = v; else ctx.skip(s, where, `${s.key} '${s.args[0] ?? ''}' is not NAT, DR or TUN`);
        if (v === 'tunnel') tunnelOptions(s, ctx, where, tunnel);
        else if (v && s.args.length > 1) ctx.skip(s, where, `${s.key} ${s.args[0]}: '${s.args.slice(1).join(' ')}' applies only to TUN; left out`);
        break;
      }
      case 'sh-fallback': case 'sh-port': case 'mh-fallback': case 'mh-port': flags.push(s.key); break;
      case 'persistence_timeout': {
        const v = s.args.length === 0 ? 360_000 : seconds(s, ctx, where); // keepalived: no value means 6 minutes
        if (v !== undefined) persistence.set('timeout', dur(Math.max(1000, Math.round(v / 1000) * 1000)));
        break;
      }
      case 'persistence_granularity': {
        const a = s.args[0] ?? '';
        const n = /^\d+$/.test(a) ? Number(a) : undefined;
        if (n !== undefined && n >= 1 && n <= 128) persistence.set('netmask', n);
        else if (netmaskToPrefix(a).ok) persistence.set('netmask', a);
        else ctx.skip(s, where, `persistence_granularity '${a}' is not a netmask or prefix length`);
        break;
      }
      case 'protocol': {
        const v = (s.args[0] ?? '').toLowerCase();
        if (v === 'tcp' || v === 'udp' || v === 'sctp') m.set('protocol', v); else ctx.skip(s, where, `protocol '${s.args[0] ?? ''}' is not TCP, UDP or SCTP`);
        break;
      }
      case 'sorry_server': {
        const ip = parseIp(s.args[0]);
        const p = Number(s.args[1]);
        if (!ip.ok) ctx.skip(s, where, `sorry_server: ${ip.message}`);
        else if (!/^\d+$/.test(s.args[1] ?? '') || p < 1 || p > 65535) ctx.skip(s, where, `sorry_server port '${s.args[1] ?? ''}' is not 1-65535`);
        else sorry = { addr: hostPort(ip.value, p), s };
        break;
      }
      case 'sorry_server_lvs_method': { const v = FORWARDING[(s.args[0] ?? '').toUpperCase()]; if (v) sorryFwd = v; else ctx.skip(s, where, `sorry_server_lvs_method '${s.args[0] ?? ''}' is not NAT, DR or TUN`); break; }
      case 'quorum': { const v = integer(s, ctx, where, 1, 2147483647); if (v !== undefined) quorum.set('min', v); break; }
      case 'hysteresis': { const v = integer(s, ctx, where, 0, 2147483647); if (v !== undefined) quorum.set('hysteresis', v); break; }
      case 'quorum_up': case 'quorum_down': { const argv = command(s, ctx, where); if (argv) quorum.set(s.key.slice('quorum_'.length), argv); break; }
      case 'inhibit_on_failure': m.set('inhibit_on_failure', true); break;
      case 'alpha': m.set('alpha', true); break;
      case 'omega': m.set('omega', true); break;
      case 'virtualhost': d.host = s.args[0]; break;
      case 'ip_family':
        if (block.args[0] !== 'fwmark') break; // an address carries its own family
        if (s.args[0] === 'inet6') family = 6; else if (s.args[0] === 'inet') family = 4; else ctx.skip(s, where, `ip_family '${s.args[0] ?? ''}' is not inet or inet6`);
        familyStmt = s;
        break;
      case 'real_server': realServers.push(s); break;
      default: ctx.unsupported(s, where);
    }
  }
  if (m.get('address') !== undefined && m.get('protocol') === undefined) {
    // keepalived (check_parser.c) reports "no protocol set - defaulting to UDP" and runs the service as UDP.
    m.set('protocol', 'udp', ctx.change(block, where, "no 'protocol': written as udp, which keepalived uses then (it reports a config error); write tcp if that was meant"));
  }
  if (block.args[0] === 'fwmark' && !familyStmt) {
    // keepalived takes a fwmark service's family from its real servers.
    const first = realServers.map((r) => parseIp(r.args[0])).find((p) => p.ok);
    if (first?.ok) family = first.value.family;
  }
  if (block.args[0] === 'fwmark' && family === 6) m.set('family', 'ipv6');
  const serviceKey = block.args[0] === 'fwmark' ? `fwmark ${String(m.get('fwmark'))} ${family}` : `${String(m.get('protocol'))} ${String(m.get('address'))}`;
  const dupOf = ctx.serviceKeys.get(serviceKey);
  if (dupOf !== undefined) { ctx.skip(block, where, `the same service as ${dupOf}; not converted again`); return undefined; }
  ctx.serviceKeys.set(serviceKey, where);
  m.set('forwarding', forwarding ?? 'nat', forwarding === undefined ? "keepalived's default lb_kind is NAT; lvsd needs it written" : undefined);
  if (tunnel.size > 0 && forwarding === 'tunnel') m.set('tunnel', reorder(tunnel, ['type', 'port', 'checksum']));
  if (flags.length > 0) {
    const sched = m.get('scheduler');
    const good = flags.filter((f) => f.startsWith(`${String(sched)}-`));
    if (good.length < flags.length) ctx.skip(block, where, `scheduler flags ${flags.filter((f) => !good.includes(f)).join(', ')} do not belong to scheduler ${String(sched ?? 'wlc')}; left out`);
    if (good.length > 0) m.set('scheduler_flags', new YList([...new Set(good)], true));
  }
  if (persistence.size > 0) {
    if (persistence.get('timeout') === undefined) persistence.set('timeout', '6m', 'keepalived persistence_timeout default');
    const nm = persistence.get('netmask');
    if (typeof nm === 'number' && nm > (family === 4 ? 32 : 128)) { persistence.delete('netmask'); ctx.skip(block, where, `persistence_granularity /${nm} is longer than an IPv${family} address; left out`); }
    m.set('persistence', reorder(persistence, ['timeout', 'netmask']));
  } else if (port === 0) {
    m.set('persistence', new YMap().set('timeout', '6m'), ctx.change(block, where, 'port 0 needs persistence in IPVS; written with keepalived\'s default 6m'));
  }
  if (quorum.size > 0) {
    if (quorum.get('min') === undefined) quorum.set('min', 1);
    const min = quorum.get('min') as number, hyst = quorum.get('hysteresis');
    if (typeof hyst === 'number' && hyst >= min) {
      quorum.set('hysteresis', Math.max(0, min - 1), ctx.change(block, where, `hysteresis ${hyst} lowered to ${min - 1} (lvsd needs it below quorum ${min})`));
    }
    m.set('quorum', reorder(quorum, ['min', 'hysteresis', 'up', 'down']));
  }
  if (sorry) m.set('sorry_server', sorryFwd ? new YMap().set('address', sorry.addr).set('forwarding', sorryFwd) : sorry.addr);

  // Real servers, with their checks inline; checks every real server shares move to the service.
  const servers: Array<{ m: YMap; checks: YMap[] }> = [];
  const seen = new Set<string>();
  for (const s of realServers) {
    const w = `${where}: real_server ${s.args.join(' ')}`;
    const ip = parseIp(s.args[0]);
    if (!ip.ok) { ctx.skip(s, w, `${ip.message}; not converted`); continue; }
    const rp = s.args[1] === undefined ? undefined : Number(s.args[1]);
    if (rp !== undefined && (!/^\d+$/.test(s.args[1]!) || rp > 65535)) { ctx.skip(s, w, `port '${s.args[1]}' is not 0-65535; not converted`); continue; }
    const rs = new YMap().set('address', hostPort(ip.value, rp === 0 ? undefined : rp));
    const key = String(rs.get('address'));
    if (seen.has(key)) { ctx.skip(s, w, 'duplicate real server; not converted again'); continue; }
    seen.add(key);
    const checks: YMap[] = [];
    const rnotify = new YMap();
    let rfwd: string | undefined;
    for (const c of s.children ?? []) {
      switch (c.key) {
        case 'weight': { const v = integer(c, ctx, w, 0, 2147483647); if (v !== undefined) rs.set('weight', v); break; }
        case 'uthreshold': { const v = integer(c, ctx, w, 0, 65535); if (v !== undefined) rs.set('upper_threshold', v); break; }
        case 'lthreshold': { const v = integer(c, ctx, w, 0, 65535); if (v !== undefined) rs.set('lower_threshold', v); break; }
        case 'lvs_method': { const v = FORWARDING[(c.args[0] ?? '').toUpperCase()]; if (v) rfwd = v; else ctx.skip(c, w, `lvs_method '${c.args[0] ?? ''}' is not NAT, DR or TUN`); break; }
        case 'notify_up': case 'notify_down': { const argv = command(c, ctx, w); if (argv) rnotify.set(c.key.slice('notify_'.length), argv); break; }
        case 'inhibit_on_failure':
          if (m.get('inhibit_on_failure') !== true) ctx.skip(c, w, "'inhibit_on_failure' per real server has no lvsd equivalent (lvsd sets it per virtual service)");
          break;
        case 'TCP_CHECK': case 'HTTP_GET': case 'SSL_GET': case 'MISC_CHECK': case 'SMTP_CHECK': case 'DNS_CHECK': case 'UDP_CHECK': case 'PING_CHECK': case 'FILE_CHECK': case 'BFD_CHECK':
          checks.push(...convertChecker(c, ctx, w, d)); break;
        default: ctx.unsupported(c, w);
      }
    }
    if (rfwd !== undefined && rfwd !== (forwarding ?? 'nat')) rs.set('forwarding', rfwd);
    const lo = rs.get('lower_threshold'), hi = rs.get('upper_threshold');
    if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) { rs.delete('lower_threshold'); ctx.skip(s, w, `lthreshold ${lo} above uthreshold ${hi}; left out`); }
    if (rnotify.size > 0) rs.set('notify', reorder(rnotify, ['up', 'down']));
    // DR and TUN cannot translate ports: keepalived ignores the real server port there, lvsd refuses a different one.
    const fwd = rfwd ?? forwarding ?? 'nat';
    if (fwd !== 'nat' && port !== undefined && port !== 0 && rp !== undefined && rp !== 0 && rp !== port) {
      rs.set('address', hostPort(ip.value, port), ctx.change(s, w, `port ${rp} written as ${port}: with ${fwd} forwarding IPVS keeps the service port`));
    }
    if (ip.value.family !== family && fwd !== 'tunnel') { ctx.skip(s, w, `IPv${ip.value.family} real server in an IPv${family} service (IPVS mixes families only with tunnel forwarding); not converted`); continue; }
    servers.push({ m: rs, checks });
  }
  const canon = (cs: YMap[]) => JSON.stringify(cs, (_k, v: unknown) => (v instanceof YMap ? v.entries.map((e) => [e.key, e.value]) : v instanceof YList ? v.items : v));
  const shared = servers.length > 0 && servers[0]!.checks.length > 0 && servers.every((r) => canon(r.checks) === canon(servers[0]!.checks));
  if (shared) m.set('checks', new YList(servers[0]!.checks));
  for (const r of servers) if (!shared && r.checks.length > 0) r.m.set('checks', new YList(r.checks));
  if (servers.length > 0) m.set('real_servers', new YList(servers.map((r) => reorder(r.m, ['address', 'weight', 'upper_threshold', 'lower_threshold', 'forwarding', 'checks', 'notify']))));
  return reorder(m, ['name', 'address', 'fwmark', 'family', 'protocol', 'scheduler', 'scheduler_flags', 'forwarding', 'tunnel', 'persistence', 'quorum', 'sorry_server', 'inhibit_on_failure', 'alpha', 'omega', 'checks', 'real_servers']);
}

// ---- the whole file ----

export function convertKeepalived(statements: Statement[]): Conversion {
  const ctx = new Ctx();
  const g: Globals = { version: 2, strict: false, garp: new Map() };
  const global = new YMap();
  // global_defs first: vrrp_version and vrrp_strict change how instances read, wherever they appear.
  for (const s of statements) if (s.key === 'global_defs') convertGlobal(s, ctx, global, g);
  const scriptNames = new Names('vrrp_script');
  const instanceNames = new Names('vrrp_instance');
  const groupNames = new Names('vrrp_sync_group');
  const serviceNames = new Names('virtual_server');
  const scripts: YMap[] = [], instances: YMap[] = [], groups: YMap[] = [], services: YMap[] = [];
  for (const s of statements) if (s.key === 'vrrp_script') { const m = convertScript(s, ctx, scriptNames); if (m) scripts.push(m); }
  for (const s of statements) if (s.key === 'vrrp_instance') { const m = convertInstance(s, ctx, g, instanceNames, scriptNames); if (m) instances.push(m); }
  for (const s of statements) if (s.key === 'vrrp_sync_group') { const m = convertSyncGroup(s, ctx, groupNames, instanceNames); if (m) groups.push(m); }
  for (const s of statements) {
    if (s.key === 'virtual_server') { const m = convertVirtualServer(s, ctx, serviceNames); if (m) services.push(m); }
    else if (!['global_defs', 'vrrp_script', 'vrrp_instance', 'vrrp_sync_group'].includes(s.key)) {
      ctx.unsupported(s, '', s.key === 'virtual_server_group' ? 'has no lvsd equivalent (not supported; write one virtual service per address)' : 'has no lvsd equivalent (not supported)');
    }
  }
  const doc = new YMap();
  if (global.size > 0) doc.set('global', reorder(global, ['router_id', 'script_user']));
  if (instances.length > 0) doc.set('vrrp_instances', new YList(instances));
  if (groups.length > 0) doc.set('vrrp_sync_groups', new YList(groups));
  if (scripts.length > 0) doc.set('track_scripts', new YList(scripts));
  if (services.length > 0) doc.set('virtual_services', new YList(services));
  return { doc, notes: ctx.notes.sort((a, b) => a.seq - b.seq) };
}
