// Rules that relate different parts of the file: unique names, references that must resolve,
// one owner per VRID and VIP, no service defined twice. Pure: (config) in, problems out.
import type { CheckRef, LvsdConfig } from './model.js';

export interface SemanticIssue { readonly path: string; readonly message: string }

function uniqueNames(items: ReadonlyArray<{ name?: string | undefined }>, section: string, what: string, out: SemanticIssue[]): Map<string, number> {
  const index = new Map<string, number>();
  items.forEach((it, i) => {
    if (it.name === undefined) return;
    const j = index.get(it.name);
    if (j !== undefined) out.push({ path: `${section}[${i}].name`, message: `duplicate ${what} name '${it.name}'; already ${section}[${j}]` });
    else index.set(it.name, i);
  });
  return index;
}

function nameList(names: Iterable<string>): string {
  const all = [...names];
  return all.length ? `defined: ${all.map((n) => `'${n}'`).join(', ')}` : 'none is defined';
}

export function checkSemantics(cfg: LvsdConfig): SemanticIssue[] {
  const out: SemanticIssue[] = [];
  const instances = uniqueNames(cfg.vrrp_instances, 'vrrp_instances', 'VRRP instance', out);
  uniqueNames(cfg.vrrp_sync_groups, 'vrrp_sync_groups', 'sync group', out);
  const scripts = uniqueNames(cfg.track_scripts, 'track_scripts', 'track script', out);
  const checks = uniqueNames(cfg.checks, 'checks', 'check', out);
  const services = uniqueNames(cfg.virtual_services, 'virtual_services', 'virtual service', out);

  // One virtual router per (interface, family, VRID): the VRID picks the virtual MAC 00-00-5E-00-01-{VRID}
  // (IPv4) or 00-00-5E-00-02-{VRID} (IPv6), RFC 5798 section 7.3.
  const vrids = new Map<string, number>();
  const vips = new Map<string, string>();
  cfg.vrrp_instances.forEach((v, i) => {
    const family = v.virtual_ips[0]!.family;
    const key = `${v.interface}/${family}/${v.vrid}`;
    const j = vrids.get(key);
    if (j !== undefined) out.push({ path: `vrrp_instances[${i}].vrid`, message: `VRID ${v.vrid} is already used on ${v.interface} for IPv${family} by vrrp_instances[${j}] ('${cfg.vrrp_instances[j]!.name}')` });
    else vrids.set(key, i);
    v.virtual_ips.forEach((ip, k) => {
      const other = vips.get(ip.address);
      if (other !== undefined) out.push({ path: `vrrp_instances[${i}].virtual_ips[${k}]`, message: `${ip.address} is already a virtual IP of ${other}; two instances would fight over it` });
      else vips.set(ip.address, `vrrp_instances[${i}] ('${v.name}')`);
    });
    const t = v.track;
    t.scripts.forEach((s, k) => {
      if (!scripts.has(s.name)) out.push({ path: `vrrp_instances[${i}].track.scripts[${k}].name`, message: `unknown track script '${s.name}'; ${nameList(scripts.keys())}` });
    });
    t.virtual_services.forEach((s, k) => {
      if (!services.has(s.name)) out.push({ path: `vrrp_instances[${i}].track.virtual_services[${k}].name`, message: `unknown virtual service '${s.name}'; ${nameList(services.keys())}` });
    });
    const seenIf = new Set<string>();
    t.interfaces.forEach((f, k) => {
      if (seenIf.has(f.name)) out.push({ path: `vrrp_instances[${i}].track.interfaces[${k}].name`, message: `interface '${f.name}' is tracked twice` });
      seenIf.add(f.name);
    });
  });

  // An instance follows at most one group, else two groups could pull it different ways.
  const groupOf = new Map<string, number>();
  cfg.vrrp_sync_groups.forEach((g, i) => {
    const inThis = new Set<string>();
    g.instances.forEach((n, k) => {
      const path = `vrrp_sync_groups[${i}].instances[${k}]`;
      if (!instances.has(n)) { out.push({ path, message: `unknown VRRP instance '${n}'; ${nameList(instances.keys())}` }); return; }
      if (inThis.has(n)) { out.push({ path, message: `'${n}' is listed twice in this group` }); return; }
      inThis.add(n);
      const j = groupOf.get(n);
      if (j !== undefined) out.push({ path, message: `instance '${n}' is already in sync group '${cfg.vrrp_sync_groups[j]!.name}'; an instance can be in only one group` });
      else groupOf.set(n, i);
    });
  });

  const checkRefs = (refs: readonly CheckRef[] | undefined, base: string): void => {
    refs?.forEach((c, k) => {
      if (typeof c === 'string' && !checks.has(c)) out.push({ path: `${base}[${k}]`, message: `unknown check '${c}'; ${nameList(checks.keys())}` });
    });
  };

  const serviceKeys = new Map<string, number>();
  cfg.virtual_services.forEach((s, i) => {
    const key = s.address
      ? `${s.protocol} ${s.address.family === 6 ? `[${s.address.address}]` : s.address.address}:${s.address.port}`
      : `fwmark ${s.fwmark} ${s.family ?? 'ipv4'}`;
    const j = serviceKeys.get(key);
    if (j !== undefined) {
      out.push({ path: `virtual_services[${i}].${s.address ? 'address' : 'fwmark'}`, message: `duplicate virtual service ${key}; already virtual_services[${j}] ('${cfg.virtual_services[j]!.name}')` });
    } else serviceKeys.set(key, i);
    checkRefs(s.checks, `virtual_services[${i}].checks`);
    s.real_servers.forEach((r, k) => checkRefs(r.checks, `virtual_services[${i}].real_servers[${k}].checks`));
  });
  return out;
}
