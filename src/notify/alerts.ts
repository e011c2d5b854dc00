// What an email alert says and who asked for it, without any I/O: keepalived's smtp_alert semantics
// (which objects alert, the subject and body of each message) and the bounds on what is echoed.
import type { LvsdConfig } from '../config/model.js';

export interface AlertMessage { subject: string; body: string }

/** Longest subject lvsd sends (keepalived cuts its subject at MAX_HEADERS_LENGTH, 256 bytes). */
export const MAX_SUBJECT = 200;
/** Longest body. */
export const MAX_BODY = 2000;

/**
 * A value echoed into a header line: control characters (CR and LF above all, which would start a
 * header or the body of the attacker's choice) become spaces, and the text is cut to `max`.
 */
export function headerText(s: string, max = MAX_SUBJECT): string {
  // eslint-disable-next-line no-control-regex
  const flat = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 3)}...`;
}

/** A body: line breaks are kept (as CRLF by the sender), other control characters go. */
export function bodyText(s: string, max = MAX_BODY): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]+/g, ' ');
  return clean.length <= max ? clean : `${clean.slice(0, max - 3)}...`;
}

const VRRP_WORDS: Record<string, { word: string; body: string } | undefined> = {
  master: { word: 'MASTER', body: '=> VRRP Instance is now owning VRRP VIPs <=' },
  backup: { word: 'BACKUP', body: '=> VRRP Instance is no longer owning VRRP VIPs <=' },
  fault: { word: 'FAULT', body: '=> VRRP Instance is no longer owning VRRP VIPs <=' },
};

/** keepalived vrrp_smtp_notifier: "[router] VRRP Instance VI_1 - Entering MASTER state". Undefined for states it does not mail (initialize). */
export function vrrpInstanceAlert(routerId: string, instance: string, state: string): AlertMessage | undefined {
  const w = VRRP_WORDS[state];
  if (!w) return undefined;
  return { subject: headerText(`[${routerId}] VRRP Instance ${instance} - Entering ${w.word} state`), body: w.body };
}

/** keepalived vrrp_sync_group_smtp_notifier: "[router] VRRP Group G - Entering MASTER state". */
export function vrrpGroupAlert(routerId: string, group: string, state: string): AlertMessage | undefined {
  const w = VRRP_WORDS[state];
  if (!w) return undefined;
  const body = state === 'master' ? '=> All VRRP group instances are now in MASTER state <=' : `=> All VRRP group instances are now in ${w.word} state <=`;
  return { subject: headerText(`[${routerId}] VRRP Group ${group} - Entering ${w.word} state`), body };
}

/**
 * keepalived SMTP_MSG_RS: "[router] Realserver [10.0.1.11]:tcp:80 of virtual server [192.0.2.10]:tcp:80 - DOWN".
 * lvsd names the service as its config does; the body says why, in the checker's words.
 */
export function realServerAlert(routerId: string, service: string, server: string, up: boolean, reason: string): AlertMessage {
  return {
    subject: headerText(`[${routerId}] Realserver ${server} of virtual server ${service} - ${up ? 'UP' : 'DOWN'}`),
    body: bodyText(up ? `=> CHECK succeeded on service: ${reason} <=` : `=> CHECK failed on service: ${reason} <=`),
  };
}

/**
 * keepalived SMTP_MSG_VS from update_quorum_state: "[router] Virtualserver NAME - DOWN" with "=> Lost quorum <="
 * when the live weight falls below quorum - hysteresis, "- UP" with "=> Gained quorum <=" when it is back.
 */
export function virtualServerAlert(routerId: string, service: string, up: boolean): AlertMessage {
  return {
    subject: headerText(`[${routerId}] Virtualserver ${service} - ${up ? 'UP' : 'DOWN'}`),
    body: up ? '=> Gained quorum <=' : '=> Lost quorum <=',
  };
}

/** Which objects mail, resolved once per config as keepalived resolves smtp_alert at config load. */
export interface AlertPolicy {
  instances: ReadonlySet<string>;
  /** Sync groups that mail, with their instances. */
  groups: ReadonlyMap<string, readonly string[]>;
  /** `service\0server` keys of real servers that mail; `server` as the balancer names it (its address). */
  servers: (service: string, server: string) => boolean;
  /** Virtual services whose quorum changes mail (their own smtp_alert, else the checkers' global switch). */
  services: ReadonlySet<string>;
}

/**
 * keepalived: an object's smtp_alert, else the global smtp_alert_vrrp / smtp_alert_checker, else
 * smtp_alert, else off; a real server inherits its virtual server's. lvsd's YAML folds the two global
 * levels into global.email.vrrp_alerts / check_alerts (the importer resolves them). No global.email: nothing.
 */
export function alertPolicy(config: LvsdConfig, serverName: (vs: LvsdConfig['virtual_services'][number], index: number) => string): AlertPolicy {
  const email = config.global.email;
  const instances = new Set<string>();
  const groups = new Map<string, readonly string[]>();
  const servers = new Set<string>();
  const services = new Set<string>();
  if (email) {
    for (const v of config.vrrp_instances) if (v.email_alerts ?? email.vrrp_alerts) instances.add(v.name);
    for (const g of config.vrrp_sync_groups) if (g.email_alerts ?? email.vrrp_alerts) groups.set(g.name, g.instances);
    for (const vs of config.virtual_services) {
      const dflt = vs.email_alerts ?? email.check_alerts;
      if (dflt) services.add(vs.name);
      vs.real_servers.forEach((rs, i) => { if (rs.email_alerts ?? dflt) servers.add(`${vs.name}\0${serverName(vs, i)}`); });
    }
  }
  return { instances, groups, servers: (service, server) => servers.has(`${service}\0${server}`), services };
}

/**
 * A sync group's state as keepalived mails it: the state all its instances share, once they all share
 * one; undefined while they differ (mid-transition).
 */
export function groupState(members: readonly string[], states: ReadonlyMap<string, string>): string | undefined {
  let s: string | undefined;
  for (const m of members) {
    const x = states.get(m);
    if (x === undefined || (s !== undefined && x !== s)) return undefined;
    s = x;
  }
  return s;
}

/**
 * At most `burst` messages per subject in any `windowMs`: a flapping real server or instance cannot
 * flood the relay or the mailbox; what is held back is counted. Subjects are bounded in number too
 * (the oldest forgotten), since real-server names come from the config.
 */
export class SubjectRateLimit {
  private readonly sent = new Map<string, number[]>();
  constructor(private readonly burst = 5, private readonly windowMs = 60_000, private readonly maxSubjects = 1024) {}
  allow(subject: string, now: number): boolean {
    const times = (this.sent.get(subject) ?? []).filter((t) => now - t < this.windowMs);
    if (times.length >= this.burst) { this.sent.set(subject, times); return false; }
    times.push(now);
    this.sent.delete(subject);
    this.sent.set(subject, times);
    if (this.sent.size > this.maxSubjects) this.sent.delete(this.sent.keys().next().value!);
    return true;
  }
}
