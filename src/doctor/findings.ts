// `lvsd doctor`'s judgement (pure): given a valid configuration and what was read on the host, what
// is wrong and how to fix it. The shell (command.ts) gathers the facts and prints the findings.
import type { LvsdConfig } from '../config/model.js';
import { fixFor, planSysctls, sysctlNeeds } from '../sysctl/plan.js';

export interface HostFacts {
  /** IPVS over generic netlink: its version, or why it cannot be used. */
  ipvs: { ok: true; version: string } | { ok: false; error: string };
  /** Values of the sysctls the config needs (undefined: no such key). */
  sysctls: ReadonlyMap<string, string | undefined>;
  /** Network interfaces of this namespace (/sys/class/net). */
  interfaces: ReadonlySet<string>;
  /** Routing daemons running here, by process name (zebra, bgpd, bird). */
  routingDaemons: readonly string[];
  /** lvsd's announcement routes now in its table (ip route show table T proto P), or why they could not be read. */
  announceRoutes: { ok: true; routes: readonly string[] } | { ok: false; error: string };
}

export interface Finding {
  status: 'ok' | 'warn' | 'fail';
  /** What was checked: ipvs, sysctl KEY, interface NAME, announce, routing-daemon. */
  check: string;
  message: string;
  fix?: string;
}

const ROUTING_DAEMONS = ['zebra', 'bgpd', 'bird'];

export function diagnose(cfg: LvsdConfig, facts: HostFacts): Finding[] {
  const out: Finding[] = [];
  const needsIpvs = cfg.virtual_services.length > 0 || cfg.global.lvs_sync_daemon !== undefined;
  if (facts.ipvs.ok) out.push({ status: 'ok', check: 'ipvs', message: `IPVS ${facts.ipvs.version} answers over generic netlink` });
  else out.push({ status: needsIpvs ? 'fail' : 'warn', check: 'ipvs', message: `IPVS is not available: ${facts.ipvs.error}${needsIpvs ? '' : ' (this file has no virtual services: VRRP only)'}`, fix: 'modprobe ip_vs (and ip_vs_mh for scheduler: mh); a kernel without CONFIG_IP_VS cannot balance' });

  const mode = cfg.global.ipvs.sysctls;
  for (const a of planSysctls(sysctlNeeds(cfg), facts.sysctls, 'verify')) {
    const check = `sysctl ${a.key}`;
    if (a.action === 'ok') { out.push({ status: 'ok', check, message: `${a.key} = ${a.current}` }); continue; }
    const now = a.action === 'missing' ? 'does not exist in this kernel' : `is ${a.current}, needs ${a.want}`;
    // lvsd sets it when it runs with auto: still wrong now, so flows break until it does.
    const note = a.settable && mode !== 'auto' ? ` (global.ipvs.sysctls is ${mode}: lvsd will not set it)` : '';
    out.push({ status: 'fail', check, message: `${a.key} ${now}: ${a.why}${note}`, fix: fixFor(a, a.action) });
  }

  const ifaces = new Map<string, string>();
  cfg.vrrp_instances.forEach((v) => { if (!ifaces.has(v.interface)) ifaces.set(v.interface, `VRRP instance ${v.name}`); });
  const sd = cfg.global.lvs_sync_daemon;
  if (sd && !ifaces.has(sd.interface)) ifaces.set(sd.interface, 'the connection-sync daemon');
  for (const [name, user] of ifaces) {
    if (facts.interfaces.has(name)) out.push({ status: 'ok', check: `interface ${name}`, message: `${name} exists (${user})` });
    else out.push({ status: 'fail', check: `interface ${name}`, message: `${name} does not exist here, but ${user} uses it`, fix: `create ${name} or use one of: ${[...facts.interfaces].sort().join(', ')}` });
  }

  if (cfg.announce.length) {
    const { table, protocol } = cfg.global.announce;
    const daemons = facts.routingDaemons.filter((d) => ROUTING_DAEMONS.includes(d));
    if (daemons.length) out.push({ status: 'ok', check: 'routing-daemon', message: `routing daemon running: ${[...new Set(daemons)].join(', ')}` });
    else out.push({ status: 'fail', check: 'routing-daemon', message: `${cfg.announce.length} announced VIP group${cfg.announce.length === 1 ? '' : 's'}, but no routing daemon (zebra + bgpd, or bird) runs here: nothing announces lvsd's routes`, fix: `start FRR or BIRD 2 with table ${table} imported (deploy/routing/frr.conf, deploy/routing/bird.conf)` });
    const r = facts.announceRoutes;
    if (!r.ok) out.push({ status: 'warn', check: 'announce', message: `cannot read table ${table}: ${r.error}` });
    else {
      const wanted = cfg.announce.flatMap((a) => a.addresses.map((ip) => ip.address));
      const missing = wanted.filter((w) => !r.routes.includes(w));
      if (missing.length === 0) out.push({ status: 'ok', check: 'announce', message: `table ${table} proto ${protocol} holds every announced VIP: ${wanted.join(', ')}` });
      // Not a failure: a VIP whose services lost quorum is withdrawn on purpose.
      else out.push({ status: 'warn', check: 'announce', message: `not in table ${table} proto ${protocol} (lvsd not running, or quorum lost): ${missing.join(', ')}`, fix: 'lvsd status shows why each group is withdrawn' });
    }
  }
  return out;
}

export function healthy(findings: readonly Finding[]): boolean {
  return findings.every((f) => f.status !== 'fail');
}

export function renderFindings(findings: readonly Finding[]): string {
  const label = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;
  const lines = findings.map((f) => `${label[f.status]} ${f.check}: ${f.message}${f.fix && f.status !== 'ok' ? `\n     fix: ${f.fix}` : ''}`);
  const fails = findings.filter((f) => f.status === 'fail').length;
  const warns = findings.filter((f) => f.status === 'warn').length;
  lines.push(fails ? `${fails} problem${fails === 1 ? '' : 's'}${warns ? `, ${warns} warning${warns === 1 ? '' : 's'}` : ''}` : `all well${warns ? ` (${warns} warning${warns === 1 ? '' : 's'})` : ''}`);
  return `${lines.join('\n')}\n`;
}
