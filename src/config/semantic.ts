// Rules that relate different parts of the file: unique names, references that must resolve,
// one owner per VRID and VIP, no service defined twice. Pure: (config) in, problems out.
import type { CheckRef, LvsdConfig } from './model.js';
import { escapeText, quoteValue } from '../text/quote.js';
import { instanceFamily } from './vrrp-family.js';

export interface SemanticIssue { readonly path: string; readonly message: string }

type Section = 'vrrp_instances' | 'vrrp_sync_groups' | 'track_scripts' | 'checks' | 'virtual_services' | 'announce';

/**
 * What the loader knows about sections from which broken elements were dropped: where each kept
 * element sits in the file, and the names of the dropped ones (so they are not also "unknown").
 */
export interface SectionInfo {
  index(section: Section, i: number): number;
  dropped(section: Section): ReadonlySet<string>;
}
const complete: SectionInfo = { index: (_s, i) => i, dropped: () => new Set() };

/**
 * Names an "unknown X" message lists, at most: enough to spot a typo. Listing all of 10,000 names in each of
 * 10,000 such messages made the output (and the time to build it) quadratic in the file.
 */
const MAX_LISTED_NAMES = 10;

/** `defined: 'a', 'b', and 12 more` for a message; `names` may be an iterator, only its first few are read. */
export function nameList(names: Iterable<string>, total: number): string {
  if (total === 0) return 'none is defined';
  const shown: string[] = [];
  for (const n of names) { if (shown.length === MAX_LISTED_NAMES) break; shown.push(quoteValue(n)); }
  return `defined: ${shown.join(', ')}${total > shown.length ? `, and ${total - shown.length} more` : ''}`;
}

export function checkSemantics(cfg: LvsdConfig, info: SectionInfo = complete): SemanticIssue[] {
  const out: SemanticIssue[] = [];
  const at = (section: Section, i: number): string => `${section}[${info.index(section, i)}]`;

  function uniqueNames(section: Section, what: string): Map<string, number> {
    const index = new Map<string, number>();
    (cfg[section] as ReadonlyArray<{ name?: string | undefined }>).forEach((it, i) => {
      if (it.name === undefined) return;
      const j = index.get(it.name);
      if (j !== undefined) out.push({ path: `${at(section, i)}.name`, message: `duplicate ${what} name ${quoteValue(it.name)}; already ${at(section, j)}` });
      else index.set(it.name, i);
    });
    return index;
  }
  /** Why a reference does not resolve, or undefined when it does. Names of elements dropped for other errors count as defined. */
  const lists = new Map<Section, string>();
  function unresolved(section: Section, names: Map<string, number>, name: string, what: string): string | undefined {
    const dropped = info.dropped(section);
    if (names.has(name) || dropped.has(name)) return undefined;
    // The list is the same for every reference into a section: built once.
    let list = lists.get(section);
    if (list === undefined) {
      list = nameList((function* () { yield* names.keys(); yield* dropped; })(), names.size + dropped.size);
      lists.set(section, list);
    }
    return `unknown ${what} ${quoteValue(name)}; ${list}`;
  }

  const instances = uniqueNames('vrrp_instances', 'VRRP instance');
  uniqueNames('vrrp_sync_groups', 'sync group');
  const scripts = uniqueNames('track_scripts', 'track script');
  const checks = uniqueNames('checks', 'check');
  const services = uniqueNames('virtual_services', 'virtual service');

  // One virtual router per (interface, family, VRID): the VRID picks the virtual MAC 00-00-5E-00-01-{VRID}
  // (IPv4) or 00-00-5E-00-02-{VRID} (IPv6), RFC 5798 section 7.3.
  const vrids = new Map<string, number>();
  const vips = new Map<string, string>();
  cfg.vrrp_instances.forEach((v, i) => {
    const base = at('vrrp_instances', i);
    const family = instanceFamily(v);
    const key = `${v.interface}/${family}/${v.vrid}`;
    const j = vrids.get(key);
    if (j !== undefined) out.push({ path: `${base}.vrid`, message: `VRID ${v.vrid} is already used on ${escapeText(v.interface)} for IPv${family} by ${at('vrrp_instances', j)} (${quoteValue(cfg.vrrp_instances[j]!.name)})` });
    else vrids.set(key, i);
    v.virtual_ips.forEach((ip, k) => {
      const other = vips.get(ip.address);
      if (other !== undefined) out.push({ path: `${base}.virtual_ips[${k}]`, message: `${ip.address} is already a virtual IP of ${other}; two instances would fight over it` });
      else vips.set(ip.address, `${base} (${quoteValue(v.name)})`);
    });
    v.track.scripts.forEach((s, k) => {
      const message = unresolved('track_scripts', scripts, s.name, 'track script');
      if (message) out.push({ path: `${base}.track.scripts[${k}].name`, message });
    });
    v.track.virtual_services.forEach((s, k) => {
      const message = unresolved('virtual_services', services, s.name, 'virtual service');
      if (message) out.push({ path: `${base}.track.virtual_services[${k}].name`, message });
    });
    const seenIf = new Set<string>();
    v.track.interfaces.forEach((f, k) => {
      if (seenIf.has(f.name)) out.push({ path: `${base}.track.interfaces[${k}].name`, message: `interface ${quoteValue(f.name)} is tracked twice` });
      seenIf.add(f.name);
    });
  });

  // An instance follows at most one group, else two groups could pull it different ways.
  const groupOf = new Map<string, number>();
  cfg.vrrp_sync_groups.forEach((g, i) => {
    const inThis = new Set<string>();
    g.instances.forEach((n, k) => {
      const path = `${at('vrrp_sync_groups', i)}.instances[${k}]`;
      const message = unresolved('vrrp_instances', instances, n, 'VRRP instance');
      if (message) { out.push({ path, message }); return; }
      if (inThis.has(n)) { out.push({ path, message: `${quoteValue(n)} is listed twice in this group` }); return; }
      inThis.add(n);
      const j = groupOf.get(n);
      if (j !== undefined) out.push({ path, message: `instance ${quoteValue(n)} is already in sync group ${quoteValue(cfg.vrrp_sync_groups[j]!.name)}; an instance can be in only one group` });
      else groupOf.set(n, i);
    });
  });

  const checkRefs = (refs: readonly CheckRef[] | undefined, base: string): void => {
    refs?.forEach((c, k) => {
      const message = typeof c === 'string' ? unresolved('checks', checks, c, 'check') : undefined;
      if (message) out.push({ path: `${base}[${k}]`, message });
    });
  };

  const serviceKeys = new Map<string, number>();
  cfg.virtual_services.forEach((s, i) => {
    const base = at('virtual_services', i);
    const hostPort = (a: string, family: number, port: number) => `${family === 6 ? `[${a}]` : a}:${port}`;
    // A group (virtual_server_group) is one IPVS service per address and fwmark: each must be unique too.
    const groupFamily = s.group?.addresses[0]?.family === 6 ? 'ipv6' : s.family ?? 'ipv4';
    const keys: Array<[string, string]> = s.group
      ? [...s.group.addresses.flatMap((r, k) => r.addresses.map((a): [string, string] => [`${s.protocol} ${hostPort(a, r.family, r.port)}`, `group.addresses[${k}]`])),
        ...s.group.fwmarks.map((f, k): [string, string] => [`fwmark ${f} ${groupFamily}`, `group.fwmarks[${k}]`])]
      : [[s.address ? `${s.protocol} ${hostPort(s.address.address, s.address.family, s.address.port)}` : `fwmark ${s.fwmark} ${s.family ?? 'ipv4'}`, s.address ? 'address' : 'fwmark']];
    let reported = false; // one message per service (a range overlapping another would give one per address)
    for (const [key, where] of keys) {
      const j = serviceKeys.get(key);
      if (j === undefined) { serviceKeys.set(key, i); continue; }
      if (j !== i && !reported) out.push({ path: `${base}.${where}`, message: `duplicate virtual service ${key}; already ${at('virtual_services', j)} (${quoteValue(cfg.virtual_services[j]!.name)})` });
      reported = true;
    }
    checkRefs(s.checks, `${base}.checks`);
    s.real_servers.forEach((r, k) => checkRefs(r.checks, `${base}.real_servers[${k}].checks`));
  });

  // Announced VIPs (issue #14): an address is announced by one group and never also moved by VRRP.
  uniqueNames('announce', 'announced VIP group');
  const announced = new Map<string, string>();
  const gatedBy = new Map<string, string>();
  cfg.announce.forEach((a, i) => {
    const base = at('announce', i);
    const label = `${base} (${quoteValue(a.name)})`;
    a.addresses.forEach((ip, k) => {
      const path = `${base}.addresses[${k}]`;
      const vrrp = vips.get(ip.address);
      if (vrrp !== undefined) out.push({ path, message: `${ip.address} is a virtual IP of ${vrrp}; an address is either announced by routes or moved by VRRP, not both` });
      const other = announced.get(ip.address);
      if (other !== undefined) { if (other !== label) out.push({ path, message: `${ip.address} is already announced by ${other}` }); }
      else announced.set(ip.address, label);
    });
    a.virtual_services.forEach((n, k) => {
      const message = unresolved('virtual_services', services, n, 'virtual service');
      if (message) out.push({ path: `${base}.virtual_services[${k}]`, message });
      else if (!gatedBy.has(n)) gatedBy.set(n, label);
    });
  });
  // Behind an announced VIP, the router spreads one client's flows over every director and moves them
  // when one goes: each director must pick the same real server for a flow (Maglev hashing), and the
  // replies must not need the director back (NAT would: the real server's gateway is one director).
  cfg.virtual_services.forEach((s, i) => {
    const by = (s.address ? announced.get(s.address.address) : undefined) ?? gatedBy.get(s.name);
    if (by === undefined) return;
    const base = at('virtual_services', i);
    if (s.scheduler !== 'mh') out.push({ path: `${base}.scheduler`, message: `${s.scheduler} behind ${by}: a service several directors announce must use scheduler: mh, so that every director sends a flow to the same real server and a flow the router moves to another director keeps its real server` });
    const natServer = s.real_servers.findIndex((r) => r.forwarding === 'nat');
    const nat = s.forwarding === 'nat' ? 'forwarding' : natServer >= 0 ? `real_servers[${natServer}].forwarding` : undefined;
    if (nat !== undefined) out.push({ path: `${base}.${nat}`, message: `nat behind ${by}: NAT needs the replies back through the director that saw the request, but a real server's gateway is one director while the router spreads flows over all of them; use dr or tunnel` });
  });
  return out;
}
