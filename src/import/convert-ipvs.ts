// keepalived's virtual_server blocks -> lvsd virtual services, real servers and health checks.
import { netmaskToPrefix, parseIp, parsePrefix, type IpAddress } from '../config/address.js';
import { parseAddressRange, prefixBounds } from '../config/address-range.js';
import { SCHEDULERS } from '../config/model.js';
import { YList, YMap } from './emit.js';
import type { Statement } from './reader.js';
import { emailObject } from './convert-email.js';
import { command, dur, hostPort, integer, portNumber, quietKeyword, reorder, seconds, type Ctx, type Names } from './convert-common.js';
import { escapeText, quoteValue } from '../text/quote.js';

// ---- virtual_server ----

/** What a virtual_server or real_server sets for its checks (keepalived 2.x): each check not setting it inherits it. */
type CheckDefaults = { interval: number; host?: string; inherit: Statement[]; globals: CheckGlobals };

/** A top-level track_file block: FILE_CHECK refers to it by name. weight defaults to 1 (keepalived.conf(5)). */
export type TrackFile = { s: Statement; file?: string; weight: number; reverse: boolean };
/** The top-level blocks checks refer to: track_file (FILE_CHECK) and SSL (SSL_GET's client certificate). */
export type CheckGlobals = { trackFiles: ReadonlyMap<string, TrackFile>; ssl?: Statement };
export const NO_CHECK_GLOBALS: CheckGlobals = { trackFiles: new Map() };

/** track_file NAME { file PATH; weight N [reverse]; init_file ... } (vrrp_track_file is keepalived's older name). */
export function readTrackFile(block: Statement, ctx: Ctx): TrackFile {
  const w = `${block.key} ${escapeText(block.args[0] ?? '')}`;
  const t: TrackFile = { s: block, weight: 1, reverse: false };
  for (const c of block.children ?? []) {
    if (c.key === 'file') t.file = c.args[0];
    else if (c.key === 'weight') {
      const v = integer(c, ctx, w, -2147483647, 2147483647);
      if (v !== undefined) t.weight = v;
      if (c.args[1] === 'reverse') t.reverse = true;
    } else if (c.key === 'init_file') ctx.skip(c, w, "'init_file' has no lvsd equivalent: create the file before lvsd starts (a missing file counts as down)");
    else ctx.unsupported(c, w);
  }
  return t;
}

/**
 * keepalived's HEX_STR (UDP_CHECK payload, require_reply): whitespace-separated groups of hex digits, each read
 * two digits a byte from its left, an odd last digit being a byte of its own ("Ab12f 3" = AB 12 0F 03,
 * keepalived.conf(5)). X stands for a nibble that matches anything (require_reply only), written ? for lvsd
 * (an x would read as a 0x prefix). Returns the bytes as lvsd writes them (lower-case pairs), or undefined.
 */
export function keepalivedHex(text: string, wildcard: boolean): string | undefined {
  const groups = text.trim().split(/\s+/).filter(Boolean);
  if (groups.length === 0) return undefined;
  let out = '';
  for (const g of groups) {
    if (!(wildcard ? /^[0-9a-fA-FxX]+$/ : /^[0-9a-fA-F]+$/).test(g)) return undefined;
    for (let i = 0; i < g.length; i += 2) out += (i + 1 < g.length ? g.slice(i, i + 2) : `0${g[i]}`).toLowerCase().replace(/x/g, '?');
  }
  return out;
}

/** A virtual_server's or real_server's checker default, checked once here (its note once), inherited by every check. */
function checkerDefault(s: Statement, ctx: Ctx, where: string, d: CheckDefaults): void {
  const ok = s.key === 'retry' || s.key === 'nb_get_retry' ? integer(s, ctx, where, 0, 99) !== undefined : seconds(s, ctx, where) !== undefined;
  if (ok) d.inherit.push(s);
}

function checkTiming(kind: string, s: Statement, m: YMap, ctx: Ctx, where: string, timing: { interval: number; timeout?: number }): boolean {
  switch (s.key) {
    case 'connect_timeout': { const v = seconds(s, ctx, where); if (v !== undefined) timing.timeout = v; return true; }
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
    case 'bind_if': case 'bindif': if (s.args[0]) m.set('bind_interface', s.args[0]); return true; // keepalived.conf(5) spells it bind_if
    case 'fwmark': { const v = integer(s, ctx, where, 1, 0xffffffff); if (v !== undefined) m.set('fwmark', v); return true; }
    default: return false;
  }
}

const CHECK_TYPES: Record<string, string> = {
  TCP_CHECK: 'tcp', HTTP_GET: 'http', SSL_GET: 'https', MISC_CHECK: 'script',
  SMTP_CHECK: 'smtp', DNS_CHECK: 'dns', UDP_CHECK: 'udp', PING_CHECK: 'icmp', FILE_CHECK: 'file',
};
/** The checks lvsd has no port for: a port keepalived would probe means nothing to them. */
export const PORTLESS_CHECKS = new Set(['script', 'icmp', 'file']);
const DNS_TYPES = new Set(['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA']); // keepalived.conf(5) DNS_CHECK type

/** FILE_CHECK { track_file NAME; weight N [reverse] } -> type: file, with the track_file's path (none of the common options). */
function convertFileCheck(block: Statement, ctx: Ctx, w: string, d: CheckDefaults): YMap[] {
  let name: string | undefined;
  let weight: number | undefined;
  let reverse: boolean | undefined;
  for (const s of block.children ?? []) {
    if (s.key === 'track_file') name = s.args[0];
    else if (s.key === 'weight') {
      const v = integer(s, ctx, w, -2147483647, 2147483647);
      if (v !== undefined) { weight = v; reverse = s.args[1] === 'reverse'; }
    } else if (s.key === 'dynamic') ctx.skip(s, w, "'dynamic' (the file's value added to the quorum too) has no lvsd equivalent; the value still adjusts the real server's weight");
    else ctx.unsupported(s, w);
  }
  const t = name === undefined ? undefined : d.globals.trackFiles.get(name);
  if (name === undefined) { ctx.skip(block, w, "has no 'track_file'; not converted (keepalived ignores it too)"); return []; }
  if (!t) { ctx.skip(block, w, `track_file ${quoteValue(name)} is not defined; not converted`); return []; }
  if (t.file === undefined || !t.file.startsWith('/')) { ctx.skip(t.s, w, `track_file ${quoteValue(name)} needs an absolute 'file' path; FILE_CHECK not converted`); return []; }
  // FILE_CHECK's own weight wins; without one, the track_file's (keepalived check_file.c file_end_handler).
  const c = new YMap().set('type', 'file').set('path', t.file).set('weight', weight ?? t.weight,
    ctx.change(block, w, `${t.file}: a missing file or one that is not an integer is down in lvsd (keepalived reads it as 0): make sure it exists before lvsd starts`));
  if (weight === undefined ? t.reverse : reverse) c.set('reverse', true);
  return [c];
}

/** One keepalived checker block -> lvsd inline checks. */
function convertChecker(block: Statement, ctx: Ctx, where: string, d: CheckDefaults): YMap[] {
  const w = `${where}: ${block.key}`;
  const type = CHECK_TYPES[block.key];
  if (type === undefined) {
    ctx.unsupported(block, where, `has no lvsd equivalent (lvsd converts ${Object.keys(CHECK_TYPES).join(', ')})`);
    return [];
  }
  if (type === 'file') return convertFileCheck(block, ctx, w, d);
  const timing: { interval: number; timeout?: number } = { interval: d.interval };
  const common = new YMap();
  const bind: { ip?: IpAddress; port?: number } = {};
  const urls: YMap[] = [];
  let argv: YList | undefined;
  let host = d.host;
  let sni: string | boolean = false;
  const http = type === 'http' || type === 'https';
  // Inherited first, so the check's own keywords override them. MISC_CHECK has misc_timeout, not connect_timeout.
  for (const s of d.inherit) if (!(type === 'script' && s.key === 'connect_timeout')) checkTiming(type, s, common, ctx, w, timing);
  for (const s of block.children ?? []) {
    if (checkTiming(type, s, common, ctx, w, timing)) continue;
    if (type !== 'script' && checkTarget(s, common, ctx, w, bind)) {
      if (type === 'icmp' && s.key === 'connect_port') { common.delete('port'); ctx.skip(s, w, 'connect_port means nothing to an ICMP echo; left out'); }
      continue;
    }
    if (s.key === 'log_all_failures') { ctx.skip(s, w, "'log_all_failures' has no lvsd equivalent: lvsd counts every failure by reason in lvsd_check_probes_total and logs each at debug"); continue; }
    if (http) {
      if (s.key === 'virtualhost') { host = s.args[0]; continue; }
      if (s.key === 'enable_sni') { sni = sni || true; continue; }
      if (s.key === 'sni_name') { if (s.args[0]) sni = s.args[0]; continue; }
      if (s.key === 'tls_compliant') { ctx.change(s, w, "'tls_compliant': lvsd always ends TLS with close_notify"); continue; }
      if (s.key === 'fast_recovery') { ctx.change(s, w, "'fast_recovery': lvsd checks every url in each probe, so a server comes back as soon as all of them pass"); continue; }
      if (s.key === 'http_protocol') {
        // keepalived.conf(5): 1.0, 1.0C (1.0 with "Connection: close"), 1.1 (which sends Connection: close too). lvsd
        // closes after each probe unless keepalive: true, so 1.0 and 1.0C are one.
        const v = s.args[0];
        if (v === '1.0' || v === '1.0C' || v === '1.0c') common.set('http_version', '1.0');
        else if (v === '1.1') common.set('http_version', '1.1');
        else ctx.skip(s, w, `http_protocol ${quoteValue(v ?? '')} is not 1.0, 1.0C or 1.1; left out`);
        continue;
      }
      if (s.key === 'url') { const u = convertUrl(s, ctx, w); if (u) urls.push(u); continue; }
    }
    if (type === 'smtp' && s.key === 'helo_name') { if (s.args[0]) common.set('helo_name', s.args[0]); continue; }
    if (type === 'dns') {
      if (s.key === 'name') { if (s.args[0]) common.set('query', s.args[0]); continue; }
      if (s.key === 'type') {
        const t = (s.args[0] ?? '').toUpperCase();
        if (DNS_TYPES.has(t)) common.set('query_type', t); else ctx.skip(s, w, `DNS type ${quoteValue(s.args[0] ?? '')} is not one keepalived knows (A, NS, CNAME, SOA, MX, TXT, AAAA); left out`);
        continue;
      }
    }
    if (type === 'udp') {
      if (s.key === 'payload') {
        const hex = keepalivedHex(s.args.join(' '), false);
        if (hex === undefined) ctx.skip(s, w, `payload ${quoteValue(s.args.join(' '))} is not a hex string; left out`); else common.set('payload_hex', hex);
        continue;
      }
      if (s.key === 'require_reply') {
        common.set('require_reply', true);
        if (s.args.length > 0) {
          const hex = keepalivedHex(s.args.join(' '), true);
          if (hex === undefined) ctx.skip(s, w, `require_reply ${quoteValue(s.args.join(' '))} is not a hex string; any reply is accepted`); else common.set('reply_hex', hex);
        }
        continue;
      }
      if (s.key === 'min_reply_length' || s.key === 'max_reply_length') {
        const v = integer(s, ctx, w, 0, 65507);
        if (v !== undefined) common.set(s.key, v);
        continue;
      }
    }
    if (type === 'script') {
      if (s.key === 'misc_path') { argv = command(s, ctx, w); continue; }
      if (s.key === 'misc_timeout') { const v = seconds(s, ctx, w); if (v !== undefined) timing.timeout = v; continue; }
      if (s.key === 'misc_dynamic') { common.set('dynamic_weight', true); continue; }
      if (s.key === 'user') {
        if (s.args[0]) common.set('user', s.args[0]);
        if (s.args[1]) ctx.skip(s, w, `user group ${quoteValue(s.args[1])} dropped: lvsd runs scripts with the user's own groups`);
        continue;
      }
    }
    ctx.unsupported(s, w);
  }
  if (bind.ip) common.set('source', hostPort(bind.ip, bind.port));
  else if (bind.port !== undefined) ctx.skip(block, w, "'bind_port' without 'bindto' has no lvsd equivalent (not supported)");

  // keepalived defaults: connect_timeout 5s, misc_timeout the delay_loop. A timeout longer than delay_loop is
  // kept: neither keepalived nor lvsd overlaps checks (the next one starts delay_loop after this one ends).
  const timeout = Math.max(timing.timeout ?? (type === 'script' ? timing.interval : 5000), 10);
  const base = new YMap().set('type', type).set('interval', dur(timing.interval)).set('timeout', dur(timeout));
  for (const e of common.entries) base.entries.push(e);
  // keepalived's defaults where lvsd's differ (keepalived.conf(5)): retry 1 (0 for MISC_CHECK, 3 for DNS_CHECK),
  // so two failures in a row (four for DNS); delay_before_retry 3s for HTTP_GET/SSL_GET, the delay_loop for
  // DNS_CHECK; warmup up to delay_loop.
  if (base.get('retries') === undefined && type !== 'script') base.set('retries', type === 'dns' ? 4 : 2);
  if (base.get('delay_before_retry') === undefined && http) base.set('delay_before_retry', '3s');
  if (base.get('delay_before_retry') === undefined && type === 'dns') base.set('delay_before_retry', dur(timing.interval));
  if (base.get('warmup') === undefined) base.set('warmup', dur(timing.interval));
  // keepalived's http_protocol default is 1.0 (check_http.c), lvsd's 1.1.
  if (http && base.get('http_version') === undefined) base.set('http_version', '1.0');
  // A UDP_CHECK without payload sends random bytes; lvsd sends the same bytes each time (an empty datagram by default).
  if (type === 'udp' && base.get('payload_hex') === undefined) ctx.change(block, w, 'no payload: keepalived sends random bytes, lvsd an empty datagram');

  if (type === 'script') {
    if (!argv) { ctx.skip(block, w, "has no usable 'misc_path'; check not converted (the real server would be always up)"); return []; }
    base.set('argv', argv);
    return [reorder(base, ['type', 'argv', 'interval', 'timeout'])];
  }
  if (!http) return [reorder(base, ['type', 'query', 'query_type', 'helo_name', 'payload_hex', 'require_reply', 'reply_hex', 'interval', 'timeout'])];
  if (host !== undefined) base.set('host', host);
  if (type === 'https') {
    const tls = new YMap().set('verify', false).set('sni', typeof sni === 'string' ? sni : sni && host !== undefined ? host : undefined);
    sslBlock(d.globals.ssl, tls, ctx, w);
    base.set('tls', tls, "keepalived's SSL_GET does not verify certificates; set verify: true once the CA is known");
  }
  if (urls.length === 0) { ctx.skip(block, w, "has no 'url'; written as a check of '/'"); return [base]; }
  // keepalived requires every url to pass: one check with its urls, probed in order (one url: its fields inline).
  if (urls.length === 1) for (const e of urls[0]!.entries) base.set(e.key, e.value);
  else base.set('urls', new YList(urls.map((u) => reorder(u, URL_ORDER))));
  return [reorder(base, ['type', ...URL_ORDER, 'urls', 'http_version', 'interval', 'timeout'])];
}
const URL_ORDER = ['path', 'host', 'status', 'digest', 'body_regex', 'body_regex_no_match'];

/** One url { path; digest; status_code; virtualhost; regex; regex_no_match } block. */
function convertUrl(s: Statement, ctx: Ctx, w: string): YMap | undefined {
  const u = new YMap();
  const statuses: Array<string | number> = [];
  let regex: { re: string; c: Statement } | undefined;
  const noMatch = (s.children ?? []).some((x) => x.key === 'regex_no_match');
  for (const c of s.children ?? []) {
    if (c.key === 'path') {
      if (c.args[0]?.startsWith('/')) u.set('path', c.args[0]); else ctx.skip(c, w, `url path ${quoteValue(c.args[0] ?? '')} must start with /`);
    } else if (c.key === 'digest') {
      if (/^[0-9a-fA-F]{32}$/.test(c.args[0] ?? '')) u.set('digest', c.args[0]!.toLowerCase()); else ctx.skip(c, w, `digest ${quoteValue(c.args[0] ?? '')} is not an MD5 hex digest`);
    } else if (c.key === 'status_code') {
      for (const a of c.args) {
        const r = /^(\d{3})(?:-(\d{3}))?$/.exec(a);
        if (r && Number(r[1]) >= 100 && Number(r[2] ?? r[1]) <= 599 && Number(r[1]) <= Number(r[2] ?? r[1])) statuses.push(r[2] ? a : Number(a));
        else ctx.skip(c, w, `status_code ${quoteValue(a)} is not an HTTP status or range`);
      }
    } else if (c.key === 'virtualhost') u.set('host', c.args[0]);
    else if (c.key === 'regex') regex = { re: c.args.join(' '), c };
    else if (c.key === 'regex_no_match') continue;
    else if (c.key === 'regex_options' || c.key === 'regex_stack' || c.key === 'regex_min_offset' || c.key === 'regex_max_offset') {
      ctx.skip(c, w, `${quoteValue(c.key)} (PCRE2 tuning) has no lvsd equivalent: lvsd matches a JavaScript regular expression over the body (at most max_body_bytes)`);
    } else if (c.key === 'tls_compliant') ctx.change(c, w, "'tls_compliant': lvsd always ends TLS with close_notify");
    else ctx.unsupported(c, w);
  }
  if (regex) {
    // keepalived 2.x: the body must match this PCRE2 expression; regex_no_match reverses it.
    let ok = regex.re !== '';
    try { new RegExp(regex.re); } catch { ok = false; }
    const key = noMatch ? 'body_regex_no_match' : 'body_regex';
    if (!ok) ctx.skip(regex.c, w, `regex ${quoteValue(regex.re)} is not a regular expression lvsd (JavaScript) can use; left out`);
    else u.set(key, regex.re, ctx.change(regex.c, w, `regex${noMatch ? ' with regex_no_match' : ''} -> ${key}: keepalived's PCRE2 expression is used as a JavaScript one (the same for plain patterns; check any (?...) groups or options)`));
  } else if (noMatch) ctx.skip(s, w, "'regex_no_match' without 'regex' means nothing; left out");
  if (statuses.length > 0) u.set('status', statuses.length === 1 ? statuses[0]! : new YList(statuses, true));
  return u;
}

const sslNoted = new WeakSet<Statement>();

/** The top-level SSL block (keepalived: the one context every SSL_GET uses): client certificate and key for mTLS. */
function sslBlock(ssl: Statement | undefined, tls: YMap, ctx: Ctx, w: string): void {
  if (!ssl) return;
  // The block's notes once, however many SSL_GET checks use it.
  const first = !sslNoted.has(ssl);
  sslNoted.add(ssl);
  const note = first ? ctx : { skip: () => {}, unsupported: () => {} };
  for (const c of ssl.children ?? []) {
    const path = c.args[0];
    if (c.key === 'certificate' || c.key === 'key') {
      if (path?.startsWith('/')) tls.set(c.key === 'certificate' ? 'cert_file' : 'key_file', path);
      else note.skip(c, w, `SSL ${c.key} ${quoteValue(path ?? '')} is not an absolute path; left out`);
    } else if (c.key === 'ca') note.skip(c, w, `SSL ca ${quoteValue(path ?? '')}: keepalived does not fail a check on verification, so verify stays false; to verify, write verify: true and ca_file: ${path ?? ''}`);
    else if (c.key === 'password') note.skip(c, w, "SSL 'password' (an encrypted key) has no lvsd equivalent: give lvsd an unencrypted key file readable only by it");
    else note.unsupported(c, w);
  }
  if ((tls.get('cert_file') === undefined) !== (tls.get('key_file') === undefined)) {
    tls.delete('cert_file'); tls.delete('key_file');
    note.skip(ssl, w, 'SSL needs both certificate and key for a client certificate; neither written');
  }
}

const FORWARDING: Record<string, string> = { NAT: 'nat', DR: 'dr', TUN: 'tunnel' };

/** `lvs_method TUN [type {ipip|gue port N|gre} [nocsum|csum|remcsum]]` (keepalived.conf(5)). */
function tunnelOptions(s: Statement, ctx: Ctx, where: string, tunnel: YMap): void {
  const a = s.args.slice(1);
  let i = 0;
  if (a[i] === 'type') {
    const t = a[i + 1];
    i += 2;
    if (t === 'ipip' || t === 'gre' || t === 'gue') tunnel.set('type', t); else { ctx.skip(s, where, `tunnel type ${quoteValue(t ?? '')} is not ipip, gue or gre; left out`); return; }
    if (t === 'gue') {
      const port = a[i] === 'port' ? portNumber(a[i + 1], 1) : undefined;
      if (port !== undefined) { tunnel.set('port', port); i += 2; } else { tunnel.delete('type'); ctx.skip(s, where, "tunnel type gue needs 'port N'; left out"); return; }
    }
    const csum = { nocsum: 'none', csum: 'csum', remcsum: 'remcsum' }[a[i] ?? ''];
    if (csum !== undefined) {
      if (t === 'ipip' && csum !== 'none' || t === 'gre' && csum === 'remcsum') ctx.skip(s, where, `${a[i]} is not an option of ${t} tunnels; left out`);
      else tunnel.set('checksum', csum);
      i++;
    }
  }
  if (i < a.length) ctx.skip(s, where, `${s.key} TUN: ${quoteValue(a.slice(i).join(' '))} not understood; left out`);
}

function serviceName(args: string[]): string {
  const raw = args[0] === 'fwmark' ? `fwmark-${args[1] ?? ''}` : args[0] === 'group' ? `group-${args[1] ?? ''}` : `vs-${(args[0] ?? '').replace(/:/g, '_')}-${args[1] ?? ''}`;
  return raw.replace(/[^A-Za-z0-9_.-]/g, '_');
}

// ---- virtual_server_group ----

/** A group as lvsd writes it: addresses and ranges with their ports, fwmarks, and the family they imply. */
export interface ServiceGroup { addresses: string[]; ports: number[]; fwmarks: number[]; family: 4 | 6 | undefined; fwmarkFamily: 4 | 6 | undefined }

/**
 * `virtual_server_group NAME { IP[-END] [PORT] ... IP/nn [PORT] ... fwmark N [inet|inet6] ... }` (keepalived.conf(5)).
 * A missing port is 0, as keepalived reads it. Converted once, where a virtual_server uses it.
 */
export function convertServiceGroup(block: Statement, ctx: Ctx): ServiceGroup {
  const where = `virtual_server_group ${escapeText(block.args[0] ?? '')}`;
  const g: ServiceGroup = { addresses: [], ports: [], fwmarks: [], family: undefined, fwmarkFamily: undefined };
  for (const s of block.children ?? []) {
    if (s.key === 'fwmark') {
      const v = integer(s, ctx, where, 1, 0xffffffff);
      if (v === undefined) continue;
      if (g.fwmarks.includes(v)) { ctx.skip(s, where, `fwmark ${v} is already in the group; not repeated`); continue; }
      const fam = s.args[1] === 'inet6' ? 6 : s.args[1] === 'inet' ? 4 : undefined;
      if (s.args[1] !== undefined && fam === undefined) ctx.skip(s, where, `fwmark ${v} ${quoteValue(s.args[1])} is not inet or inet6; left out`);
      if (fam !== undefined) g.fwmarkFamily = fam;
      g.fwmarks.push(v);
      continue;
    }
    const port = s.args[0] === undefined ? 0 : portNumber(s.args[0], 0);
    if (port === undefined) { ctx.skip(s, where, `port ${quoteValue(s.args[0] ?? '')} is not 0-65535; not converted`); continue; }
    let text = s.key;
    const slash = s.key.indexOf('/');
    if (slash >= 0) {
      const p = parsePrefix(s.key);
      if (!p.ok) { ctx.skip(s, where, `${p.message}; not converted`); continue; }
      const [first, last] = prefixBounds(p.value.address, p.value.prefix);
      text = first === last ? first : `${first}-${last}`;
      ctx.change(s, where, `${escapeText(s.key)} written as the range ${text}: every address of the prefix, each an IPVS service`);
    }
    const r = parseAddressRange(text.includes(':') ? `[${text}]:${port}` : `${text}:${port}`);
    if (!r.ok) { ctx.skip(s, where, `${r.message}; not converted`); continue; }
    if (g.family !== undefined && r.value.family !== g.family) { ctx.skip(s, where, `IPv${r.value.family} in a group of IPv${g.family} addresses (lvsd keeps a group to one family; write another virtual_server for it); not converted`); continue; }
    g.family = r.value.family;
    g.addresses.push(r.value.family === 6 ? `[${text}]:${port}` : `${text}:${port}`);
    g.ports.push(port);
  }
  return g;
}

export function convertVirtualServer(block: Statement, ctx: Ctx, names: Names, groups: ReadonlyMap<string, ServiceGroup> = new Map(), globals: CheckGlobals = NO_CHECK_GLOBALS): YMap | undefined {
  const where = `virtual_server ${escapeText(block.args.join(' '))}`;
  const m = new YMap();
  let family: 4 | 6 = 4;
  let port: number | undefined;
  let group: ServiceGroup | undefined;
  if (block.args[0] === 'group') {
    group = groups.get(block.args[1] ?? '');
    if (!group) { ctx.skip(block, where, `virtual_server_group ${quoteValue(block.args[1] ?? '')} is not defined; not converted`); return undefined; }
    if (group.addresses.length === 0 && group.fwmarks.length === 0) { ctx.skip(block, where, `virtual_server_group ${quoteValue(block.args[1]!)} has nothing lvsd could convert; not converted`); return undefined; }
    const gm = new YMap();
    if (group.addresses.length > 0) gm.set('addresses', new YList(group.addresses, true));
    if (group.fwmarks.length > 0) gm.set('fwmarks', new YList(group.fwmarks, true));
    m.set('name', names.add(serviceName(block.args), block, ctx)).set('group', gm);
    family = group.family ?? group.fwmarkFamily ?? 4;
    if (group.ports.length > 0 && group.ports.every((p) => p === group!.ports[0])) port = group.ports[0];
  } else if (block.args[0] === 'fwmark') {
    const v = integer({ ...block, key: 'fwmark', args: block.args.slice(1) }, ctx, where, 1, 0xffffffff);
    if (v === undefined) return undefined;
    m.set('name', names.add(serviceName(block.args), block, ctx)).set('fwmark', v);
  } else {
    const ip = parseIp(block.args[0]);
    const p = portNumber(block.args[1], 0);
    if (!ip.ok) { ctx.skip(block, where, `${ip.message}; not converted`); return undefined; }
    if (p === undefined) { ctx.skip(block, where, `port ${quoteValue(block.args[1] ?? '')} is not 0-65535; not converted`); return undefined; }
    family = ip.value.family;
    port = p;
    m.set('name', names.add(serviceName(block.args), block, ctx)).set('address', hostPort(ip.value, p));
  }
  const d: CheckDefaults = { interval: 60_000, inherit: [], globals }; // keepalived's delay_loop default
  const quorum = new YMap();
  const persistence = new YMap();
  const tunnel = new YMap();
  const flags: string[] = [];
  let forwarding: string | undefined;
  let sorry: { addr: string; s: Statement; family: 4 | 6 } | undefined;
  let sorryFwd: string | undefined;
  const realServers: Statement[] = [];
  let familyStmt: Statement | undefined;
  let opsStmt: Statement | undefined, peStmt: Statement | undefined;
  let sorryInhibit = false;
  // A sorry server may keep the request's port (port 0, or none) where the service has no single port.
  const allPorts = block.args[0] === 'fwmark' || port === 0 || (group !== undefined && group.ports.every((p) => p === 0));
  for (const s of block.children ?? []) {
    switch (s.key) {
      case 'delay_loop': { const v = seconds(s, ctx, where); if (v !== undefined) d.interval = Math.max(v, 10); break; }
      case 'lb_algo': case 'lvs_sched': {
        const v = (s.args[0] ?? '').toLowerCase();
        if ((SCHEDULERS as readonly string[]).includes(v)) m.set('scheduler', v); else ctx.skip(s, where, `scheduler ${quoteValue(s.args[0] ?? '')} is not one lvsd knows (${SCHEDULERS.join(', ')})`);
        break;
      }
      case 'lb_kind': case 'lvs_method': {
        const v = FORWARDING[(s.args[0] ?? '').toUpperCase()];
        if (v) forwarding = v; else ctx.skip(s, where, `${s.key} ${quoteValue(s.args[0] ?? '')} is not NAT, DR or TUN`);
        if (v === 'tunnel') tunnelOptions(s, ctx, where, tunnel);
        else if (v && s.args.length > 1) ctx.skip(s, where, `${s.key} ${escapeText(s.args[0]!)}: ${quoteValue(s.args.slice(1).join(' '))} applies only to TUN; left out`);
        break;
      }
      case 'sh-fallback': case 'sh-port': case 'mh-fallback': case 'mh-port': flags.push(s.key); break;
      case 'persistence_timeout': {
        const v = s.args.length === 0 ? 360_000 : seconds(s, ctx, where); // keepalived: no value means 6 minutes
        // keepalived 2.2.7 (check_parser.c) refuses 0 ("invalid persistence_timeout") and leaves the service
        // without persistence, so none is written (persistence_granularity alone makes none either).
        if (v === 0) { ctx.change(s, where, 'persistence_timeout 0: keepalived refuses 0 and runs the service without persistence; none written'); break; }
        if (v !== undefined) persistence.set('timeout', dur(Math.max(1000, Math.round(v / 1000) * 1000)));
        break;
      }
      case 'persistence_granularity': {
        const a = s.args[0] ?? '';
        const n = /^\d+$/.test(a) ? Number(a) : undefined;
        if (n !== undefined && n >= 1 && n <= 128) persistence.set('netmask', n);
        else if (netmaskToPrefix(a).ok) persistence.set('netmask', a);
        else ctx.skip(s, where, `persistence_granularity ${quoteValue(a)} is not a netmask or prefix length`);
        break;
      }
      case 'protocol': {
        const v = (s.args[0] ?? '').toLowerCase();
        if (v === 'tcp' || v === 'udp' || v === 'sctp') m.set('protocol', v); else ctx.skip(s, where, `protocol ${quoteValue(s.args[0] ?? '')} is not TCP, UDP or SCTP`);
        break;
      }
      case 'sorry_server': {
        const ip = parseIp(s.args[0]);
        const p = allPorts && (s.args[1] === undefined || s.args[1] === '0') ? 0 : portNumber(s.args[1], 1);
        if (!ip.ok) ctx.skip(s, where, `sorry_server: ${ip.message}`);
        else if (p === undefined) ctx.skip(s, where, `sorry_server port ${quoteValue(s.args[1] ?? '')} is not 1-65535${allPorts ? '' : ' (port 0 keeps the request\'s port, for fwmark and all-ports services only)'}`);
        else sorry = { addr: hostPort(ip.value, p), s, family: ip.value.family };
        break;
      }
      case 'sorry_server_lvs_method': { const v = FORWARDING[(s.args[0] ?? '').toUpperCase()]; if (v) sorryFwd = v; else ctx.skip(s, where, `sorry_server_lvs_method ${quoteValue(s.args[0] ?? '')} is not NAT, DR or TUN`); break; }
      case 'quorum': { const v = integer(s, ctx, where, 1, 2147483647); if (v !== undefined) quorum.set('min', v); break; }
      case 'hysteresis': { const v = integer(s, ctx, where, 0, 2147483647); if (v !== undefined) quorum.set('hysteresis', v); break; }
      case 'quorum_up': case 'quorum_down': { const argv = command(s, ctx, where); if (argv) quorum.set(s.key.slice('quorum_'.length), argv); break; }
      case 'inhibit_on_failure': m.set('inhibit_on_failure', true); break;
      case 'ops': opsStmt = s; break;
      case 'persistence_engine': peStmt = s; break;
      case 'sorry_server_inhibit': sorryInhibit = true; break;
      case 'alpha': m.set('alpha', true); break;
      case 'omega': m.set('omega', true); break;
      case 'smtp_alert': emailObject(s, ctx, where, m); break;
      case 'virtualhost': d.host = s.args[0]; break;
      case 'ip_family':
        if (block.args[0] !== 'fwmark') break; // an address carries its own family
        if (s.args[0] === 'inet6') family = 6; else if (s.args[0] === 'inet') family = 4; else ctx.skip(s, where, `ip_family ${quoteValue(s.args[0] ?? '')} is not inet or inet6`);
        familyStmt = s;
        break;
      case 'real_server': realServers.push(s); break;
      case 'connect_timeout': case 'retry': case 'nb_get_retry': case 'delay_before_retry': case 'warmup': checkerDefault(s, ctx, where, d); break;
      default: if (!quietKeyword(s, ctx, where)) ctx.unsupported(s, where);
    }
  }
  if ((m.get('address') !== undefined || (group && group.addresses.length > 0)) && m.get('protocol') === undefined) {
    // keepalived (check_parser.c) reports "no protocol set - defaulting to UDP" and runs the service as UDP.
    m.set('protocol', 'udp', ctx.change(block, where, "no 'protocol': written as udp, which keepalived uses then (it reports a config error); write tcp if that was meant"));
  }
  if (block.args[0] === 'fwmark' && !familyStmt) {
    // keepalived takes a fwmark service's family from its real servers.
    const first = realServers.map((r) => parseIp(r.args[0])).find((p) => p.ok);
    if (first?.ok) family = first.value.family;
  }
  if (block.args[0] === 'fwmark' && family === 6) m.set('family', 'ipv6');
  if (group && group.addresses.length === 0 && family === 6) m.set('family', 'ipv6');
  if (group && group.fwmarkFamily !== undefined && group.family !== undefined && group.fwmarkFamily !== group.family) {
    ctx.skip(block, where, `the group's fwmarks are IPv${group.fwmarkFamily}, its addresses IPv${group.family}: lvsd runs a group's services in one family (IPv${group.family}); write the fwmarks as another virtual_server`);
  }
  const serviceKey = block.args[0] === 'fwmark' ? `fwmark ${String(m.get('fwmark'))} ${family}`
    : group ? `group ${block.args[1]} ${String(m.get('protocol') ?? '')} ${family}` : `${String(m.get('protocol'))} ${String(m.get('address'))}`;
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
  if (sorry && sorry.family !== family && (sorryFwd ?? forwarding) !== 'tunnel') {
    ctx.skip(sorry.s, where, `IPv${sorry.family} sorry server in an IPv${family} service (IPVS mixes families only with tunnel forwarding); not converted`);
  } else if (sorry) {
    m.set('sorry_server', sorryFwd || sorryInhibit ? new YMap().set('address', sorry.addr).set('forwarding', sorryFwd).set('inhibit', sorryInhibit || undefined) : sorry.addr);
  } else if (sorryInhibit) {
    const s = (block.children ?? []).find((x) => x.key === 'sorry_server_inhibit')!;
    ctx.change(s, where, 'sorry_server_inhibit without a sorry_server does nothing (in keepalived either); left out');
  }
  if (opsStmt) {
    // keepalived (check_parser.c): "one packet scheduling requires UDP - resetting" for anything but UDP.
    if (m.get('protocol') === 'udp') m.set('one_packet', true);
    else ctx.change(opsStmt, where, `ops dropped: one-packet scheduling is for UDP only and this service is ${String(m.get('protocol') ?? 'a fwmark service without protocol UDP')}; keepalived drops it too ("one packet scheduling requires UDP")`);
  }
  if (peStmt) {
    const pe = peStmt.args[0] ?? '';
    const p = m.get('persistence');
    if (pe !== 'sip') ctx.skip(peStmt, where, `persistence_engine ${quoteValue(pe)}: the kernel has only sip; left out`);
    else if (!(p instanceof YMap)) ctx.change(peStmt, where, 'persistence_engine sip without persistence_timeout: IPVS uses an engine only for persistent services, so it did nothing; left out');
    else if (m.get('protocol') !== 'udp') ctx.skip(peStmt, where, `persistence_engine sip on a ${String(m.get('protocol') ?? 'fwmark')} service: the kernel's sip engine reads UDP only and schedules nothing else (IPVS would drop the service's new connections); left out, check the service`);
    else p.set('engine', 'sip');
  }

  // Real servers, with their checks inline; checks every real server shares move to the service.
  const servers: Array<{ m: YMap; checks: YMap[] }> = [];
  const seen = new Set<string>();
  for (const s of realServers) {
    const w = `${where}: real_server ${escapeText(s.args.join(' '))}`;
    const ip = parseIp(s.args[0]);
    if (!ip.ok) { ctx.skip(s, w, `${ip.message}; not converted`); continue; }
    const rp = portNumber(s.args[1], 0);
    if (s.args[1] !== undefined && rp === undefined) { ctx.skip(s, w, `port ${quoteValue(s.args[1])} is not 0-65535; not converted`); continue; }
    const rs = new YMap().set('address', hostPort(ip.value, rp === 0 ? undefined : rp));
    const checks: YMap[] = [];
    const rnotify = new YMap();
    let rfwd: string | undefined;
    // The real_server's own checker defaults come after the virtual_server's (keepalived 2.x); its checks follow them.
    // Read before the checks, wherever they stand in the block (keepalived applies them once the block is read).
    const rd: CheckDefaults = { ...d, inherit: [...d.inherit] };
    for (const c of s.children ?? []) {
      if (c.key === 'delay_loop') { const v = seconds(c, ctx, w); if (v !== undefined) rd.interval = Math.max(v, 10); }
      else if (['connect_timeout', 'retry', 'nb_get_retry', 'delay_before_retry', 'warmup'].includes(c.key)) checkerDefault(c, ctx, w, rd);
    }
    for (const c of s.children ?? []) {
      switch (c.key) {
        case 'delay_loop': case 'connect_timeout': case 'retry': case 'nb_get_retry': case 'delay_before_retry': case 'warmup': break;
        case 'weight': { const v = integer(c, ctx, w, 0, 2147483647); if (v !== undefined) rs.set('weight', v); break; }
        case 'uthreshold': { const v = integer(c, ctx, w, 0, 65535); if (v !== undefined) rs.set('upper_threshold', v); break; }
        case 'lthreshold': { const v = integer(c, ctx, w, 0, 65535); if (v !== undefined) rs.set('lower_threshold', v); break; }
        case 'lvs_method': { const v = FORWARDING[(c.args[0] ?? '').toUpperCase()]; if (v) rfwd = v; else ctx.skip(c, w, `lvs_method ${quoteValue(c.args[0] ?? '')} is not NAT, DR or TUN`); break; }
        case 'notify_up': case 'notify_down': { const argv = command(c, ctx, w); if (argv) rnotify.set(c.key.slice('notify_'.length), argv); break; }
        case 'smtp_alert': emailObject(c, ctx, w, rs); break;
        case 'inhibit_on_failure': {
          // keepalived 2.x: inhibit_on_failure [BOOL] per real_server, overriding the virtual_server's.
          const a = (c.args[0] ?? 'true').toLowerCase();
          const v = ['true', 'on', 'yes'].includes(a) ? true : ['false', 'off', 'no'].includes(a) ? false : undefined;
          if (v === undefined) ctx.skip(c, w, `inhibit_on_failure ${quoteValue(c.args[0] ?? '')} is not true or false; left out`);
          else if (v !== (m.get('inhibit_on_failure') === true)) rs.set('inhibit_on_failure', v);
          break;
        }
        case 'TCP_CHECK': case 'HTTP_GET': case 'SSL_GET': case 'MISC_CHECK': case 'SMTP_CHECK': case 'DNS_CHECK': case 'UDP_CHECK': case 'PING_CHECK': case 'FILE_CHECK': case 'BFD_CHECK':
          checks.push(...convertChecker(c, ctx, w, rd)); break;
        default: ctx.unsupported(c, w);
      }
    }
    if (rfwd !== undefined && rfwd !== (forwarding ?? 'nat')) rs.set('forwarding', rfwd);
    const lo = rs.get('lower_threshold'), hi = rs.get('upper_threshold');
    if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) { rs.delete('lower_threshold'); ctx.skip(s, w, `lthreshold ${lo} above uthreshold ${hi}; left out`); }
    if (rnotify.size > 0) rs.set('notify', reorder(rnotify, ['up', 'down']));
    // DR and TUN cannot translate ports: keepalived ignores the real server port there, lvsd refuses a different one.
    const fwd = rfwd ?? forwarding ?? 'nat';
    if (fwd !== 'nat' && group && rp !== undefined && rp !== 0 && (group.ports.some((p) => p !== 0 && p !== rp) || group.fwmarks.length > 0)) {
      // DR/TUN do not translate ports: each service of the group keeps its own, and its fwmark services the
      // request's (keepalived: "fwmark virtual server ... has port specified - port will be ignored").
      const why = group.fwmarks.length > 0 && !group.ports.some((p) => p !== 0 && p !== rp)
        ? `port ${rp} left out: with ${fwd} forwarding the group's fwmark services keep the request's port (keepalived ignores it there: "port will be ignored"), its addresses their own`
        : `port ${rp} left out: with ${fwd} forwarding each service of the group keeps its own port`;
      rs.set('address', hostPort(ip.value), ctx.change(s, w, why));
      for (const c of checks) if (!PORTLESS_CHECKS.has(String(c.get('type'))) && c.get('port') === undefined) c.set('port', rp, `keepalived probed port ${rp} (the real_server's port)`);
    } else if (fwd !== 'nat' && block.args[0] === 'fwmark' && rp !== undefined && rp !== 0) {
      // keepalived 2.2.7: "fwmark virtual server FWM N, real server ... has port specified - clearing" (DR/TUN; NAT keeps it).
      rs.set('address', hostPort(ip.value), ctx.change(s, w, `port ${rp} left out: keepalived clears a real server's port on a ${fwd} fwmark service ("has port specified - clearing"); the request's port is kept`));
      for (const c of checks) if (!PORTLESS_CHECKS.has(String(c.get('type'))) && c.get('port') === undefined) c.set('port', rp, `keepalived probed port ${rp} (the real_server's port)`);
    } else if (fwd !== 'nat' && port !== undefined && port !== 0 && rp !== undefined && rp !== 0 && rp !== port) {
      rs.set('address', hostPort(ip.value, port), ctx.change(s, w, `port ${rp} written as ${port}: with ${fwd} forwarding IPVS keeps the service port`));
      // keepalived's checks probe the real_server's own port (unless connect_port says otherwise): keep probing it.
      for (const c of checks) if (!PORTLESS_CHECKS.has(String(c.get('type'))) && c.get('port') === undefined) c.set('port', rp, `keepalived probed port ${rp} (the real_server's port), not the service port`);
    }
    if (ip.value.family !== family && fwd !== 'tunnel') { ctx.skip(s, w, `IPv${ip.value.family} real server in an IPv${family} service (IPVS mixes families only with tunnel forwarding); not converted`); continue; }
    // A duplicate as lvsd sees it, after the port rewrites above: a port-less real server has the service's port
    // (0 in a group or a fwmark service), so 10.0.0.1 and 10.0.0.1:80 are one server behind port 80.
    const written = /:(\d+)$/.exec(String(rs.get('address')));
    const key = `${ip.value.address}|${written ? Number(written[1]) : group ? 0 : port ?? 0}`;
    if (seen.has(key)) { ctx.skip(s, w, 'duplicate real server; not converted again'); continue; }
    seen.add(key);
    servers.push({ m: rs, checks });
  }
  const canon = (cs: YMap[]) => JSON.stringify(cs, (_k, v: unknown) => (v instanceof YMap ? v.entries.map((e) => [e.key, e.value]) : v instanceof YList ? v.items : v));
  const shared = servers.length > 0 && servers[0]!.checks.length > 0 && servers.every((r) => canon(r.checks) === canon(servers[0]!.checks));
  if (shared) m.set('checks', new YList(servers[0]!.checks));
  for (const r of servers) if (!shared && r.checks.length > 0) r.m.set('checks', new YList(r.checks));
  if (servers.length > 0) m.set('real_servers', new YList(servers.map((r) => reorder(r.m, ['address', 'weight', 'upper_threshold', 'lower_threshold', 'forwarding', 'checks', 'notify']))));
  return reorder(m, ['name', 'address', 'fwmark', 'group', 'family', 'protocol', 'scheduler', 'scheduler_flags', 'one_packet', 'forwarding', 'tunnel', 'persistence', 'quorum', 'sorry_server', 'inhibit_on_failure', 'alpha', 'omega', 'checks', 'real_servers']);
}

