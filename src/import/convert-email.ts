// keepalived's email alerts -> lvsd's global.email and email_alerts. keepalived.conf(5) and 2.2.7's code:
// global_defs notification_email { ADDR... }, notification_email_from, smtp_server HOST [PORT] (port 25),
// smtp_helo_name, smtp_connect_timeout SECS (30), smtp_alert / smtp_alert_vrrp / smtp_alert_checker [BOOL];
// smtp_alert [BOOL] in vrrp_instance, vrrp_sync_group, virtual_server, real_server. keepalived resolves an
// object's unset smtp_alert to smtp_alert_vrrp (or _checker), else smtp_alert, else off (vrrp.c, check_data.c),
// and sends nothing without both recipients and smtp_server (smtp.c smtp_alert()).
import { parseIp } from '../config/address.js';
import { formatDuration } from '../config/duration.js';
import { YList, YMap } from './emit.js';
import type { Statement } from './reader.js';
import type { Ctx } from './convert-common.js';
import { quoteValue } from '../text/quote.js';

const GLOBAL_KEYWORDS = new Set(['notification_email', 'notification_email_from', 'smtp_server', 'smtp_helo_name', 'smtp_connect_timeout', 'smtp_alert', 'smtp_alert_vrrp', 'smtp_alert_checker']);
export const isEmailKeyword = (key: string): boolean => GLOBAL_KEYWORDS.has(key);

/** keepalived's check_true_false: no argument is true. */
function flag(s: Statement, ctx: Ctx, where: string): boolean | undefined {
  const v = s.args[0]?.toLowerCase();
  if (v === undefined) return true;
  if (['true', 'on', 'yes'].includes(v)) return true;
  if (['false', 'off', 'no'].includes(v)) return false;
  ctx.skip(s, where, `${s.key} ${quoteValue(s.args[0])}: keepalived refuses it (true/false, on/off, yes/no); not converted`);
  return undefined;
}

interface Draft {
  stmts: Map<string, Statement>;
  to: string[];
}
const drafts = new WeakMap<Ctx, Draft>();
function draft(ctx: Ctx): Draft {
  let d = drafts.get(ctx);
  if (!d) drafts.set(ctx, (d = { stmts: new Map(), to: [] }));
  return d;
}

/** A global_defs email keyword, kept until finishEmail() knows whether keepalived would mail at all. */
export function emailGlobal(s: Statement, ctx: Ctx): void {
  const d = draft(ctx);
  d.stmts.set(s.key, s);
  if (s.key === 'notification_email') {
    for (const c of s.children ?? []) d.to.push(...[c.key, ...c.args]);
    d.to.push(...s.args);
  }
}

/**
 * smtp_alert inside an instance, sync group, virtual or real server: written as email_alerts when the
 * file's global_defs (converted first) lets keepalived mail at all; lvsd check refuses email_alerts without global.email.
 */
export function emailObject(s: Statement, ctx: Ctx, where: string, m: YMap): void {
  const v = flag(s, ctx, where);
  if (v === undefined) return;
  const why = unusable(draft(ctx));
  if (why !== undefined) ctx.skip(s, where, `smtp_alert not converted: ${why}`);
  else m.set('email_alerts', v);
}

const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,253}$/;

function server(d: Draft): { host: string; port: number; v6: boolean } | undefined {
  const s = d.stmts.get('smtp_server');
  if (!s) return undefined;
  const host = s.args[0] ?? '';
  const port = s.args[1] === undefined ? 25 : /^\d+$/.test(s.args[1]) && Number(s.args[1]) >= 1 && Number(s.args[1]) <= 65535 ? Number(s.args[1]) : undefined;
  const ip = parseIp(host);
  if (port === undefined || !(ip.ok || /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(host))) return undefined;
  return { host: ip.ok ? ip.value.address : host, port, v6: ip.ok && ip.value.family === 6 };
}

/** Why this file's alerts cannot be converted, or undefined when they can. */
function unusable(d: Draft): string | undefined {
  const srv = d.stmts.get('smtp_server'), list = d.stmts.get('notification_email');
  if (!srv || !list) return `keepalived sends no email without both notification_email and smtp_server (this file lacks ${!srv ? 'smtp_server' : 'notification_email'})`;
  if (!d.to.some((a) => EMAIL.test(a))) return 'notification_email lists no usable address';
  if (!server(d)) return `smtp_server ${quoteValue(srv.args.join(' '))} is not HOST [PORT]`;
  return undefined;
}

/** Writes global.email, or says why not and takes the objects' email_alerts back out. */
export function finishEmail(global: YMap, ctx: Ctx): void {
  const d = drafts.get(ctx);
  if (!d) return;
  const where = 'global_defs';
  const why = unusable(d);
  if (why !== undefined) {
    for (const st of d.stmts.values()) ctx.skip(st, where, `${quoteValue(st.key)} not converted: ${why}`);
    return;
  }
  const list = d.stmts.get('notification_email')!;
  const srv = server(d)!;
  const to = d.to.filter((a) => EMAIL.test(a));
  for (const a of d.to) if (!EMAIL.test(a)) ctx.skip(list, where, `notification_email ${quoteValue(a)} is not a plain address (local@domain); left out`);
  const e = new YMap();
  e.set('to', new YList(to.slice(0, 32), true));
  if (to.length > 32) ctx.skip(list, where, `notification_email: lvsd mails at most 32 recipients; ${to.length - 32} left out`);
  const from = d.stmts.get('notification_email_from');
  if (from?.args[0] !== undefined) {
    if (EMAIL.test(from.args[0])) e.set('from', from.args[0]);
    else ctx.skip(from, where, `notification_email_from ${quoteValue(from.args[0])} is not a plain address (local@domain); lvsd's default lvsd@HOSTNAME is used`);
  } else {
    // keepalived's default sender is keepalived@ its host name; lvsd's is lvsd@: keep what recipients filter on.
    ctx.change(list, where, 'no notification_email_from: keepalived sends from keepalived@ followed by the host name; lvsd would send from lvsd@, so write the address you filter on as email.from (left unset here)');
  }
  e.set('smtp_server', srv.v6 ? `[${srv.host}]:${srv.port}` : srv.port === 25 ? srv.host : `${srv.host}:${srv.port}`);
  const helo = d.stmts.get('smtp_helo_name');
  if (helo?.args[0] !== undefined) e.set('helo_name', helo.args[0]);
  const timeout = d.stmts.get('smtp_connect_timeout');
  if (timeout) {
    const v = timeout.args[0];
    if (v !== undefined && /^\d+$/.test(v) && Number(v) >= 1) {
      const ms = Math.min(Number(v) * 1000, 600_000);
      e.set('connect_timeout', formatDuration(ms), ms < Number(v) * 1000 ? ctx.change(timeout, where, `smtp_connect_timeout ${v} cut to 600s, lvsd's longest`) : undefined);
    } else ctx.skip(timeout, where, `smtp_connect_timeout ${quoteValue(v ?? '')} needs whole seconds; lvsd's default 30s (keepalived's too) is used`);
  }
  // keepalived never uses STARTTLS; lvsd's default would when the relay offers it, and could fail where keepalived's mail went.
  e.set('starttls', 'never');
  const all = d.stmts.get('smtp_alert'), vrrp = d.stmts.get('smtp_alert_vrrp'), checker = d.stmts.get('smtp_alert_checker');
  const allV = all ? flag(all, ctx, where) : undefined;
  const vrrpV = (vrrp ? flag(vrrp, ctx, where) : undefined) ?? allV;
  const checkV = (checker ? flag(checker, ctx, where) : undefined) ?? allV;
  if (vrrpV) e.set('vrrp_alerts', true);
  if (checkV) e.set('check_alerts', true);
  global.set('email', e);
}
