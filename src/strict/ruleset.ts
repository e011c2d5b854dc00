// Accept mode off (RFC 5798 section 6.1 Accept_Mode = False; keepalived no_accept / vrrp_strict) as
// one nftables table of lvsd's own, `inet lvsd`: pure, config in, `nft -j -f -` commands out.
//
// Where the drop sits: IPVS hooks NF_INET_LOCAL_IN at NF_IP_PRI_NAT_SRC - 2 (98, ip_vs_reply4, NAT
// replies) and NF_IP_PRI_NAT_SRC - 1 (99, ip_vs_remote_request4 / ip_vs_in_hook, new and known
// requests; net/netfilter/ipvs/ip_vs_core.c, same numbers for IPv6), and steals the packets it
// forwards (DR, TUN, NAT). A base chain on the input hook at priority 100 therefore sees only what
// IPVS left to the local stack: traffic to a VIP that no virtual service balances. keepalived's table
// defaults to priority -1 (before IPVS: with no_accept it drops what IPVS would have balanced).
//
// Which packets: everything addressed to a non-owner instance's VIP (ICMP echo too: section 6.4.3
// makes no exception), except ICMPv6 neighbour solicitations and advertisements, which the master
// must answer for its IPv6 VIPs (section 6.4.3, Neighbor Discovery); ARP is not IP and never reaches
// an inet table. VRRP adverts go to 224.0.0.18 / ff02::12 or a unicast peer's own address, never a VIP.
//
// The set holds the VIPs whatever the instance's state: a backup does not hold them (packets to them
// are not local, the input hook never sees them), and the rule is in place before a master adds
// them, with no nft run on the failover path. An owner (priority 255) always accepts (section 6.4.3).
import type { LvsdConfig } from '../config/model.js';

export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'lvsd';
export const CHAIN_NAME = 'no_accept';
/** After IPVS's LOCAL_IN hooks (98, 99); see the file comment. */
export const INPUT_PRIORITY = 100;

/** One instance as this module needs it. */
export interface AcceptInstance {
  name: string;
  /** accept after vrrp_strict: false means its VIPs are filtered. */
  accept: boolean;
  owner: boolean;
  /** Addresses without prefix length. */
  vips: string[];
}

/** The VIPs to drop, by family, sorted and without repeats (the ruleset is the same for the same config). */
export interface NoAcceptPlan { ipv4: string[]; ipv6: string[]; instances: string[] }

/** Accept mode of an instance in force: vrrp_strict turns it off for every instance; an owner always accepts. */
export function effectiveAccept(accept: boolean, owner: boolean, strict: boolean): boolean {
  return owner || (accept && !strict);
}

export function acceptInstances(config: Pick<LvsdConfig, 'global' | 'vrrp_instances'>): AcceptInstance[] {
  const strict = (config.global as { vrrp_strict?: boolean }).vrrp_strict === true;
  return config.vrrp_instances.map((ic) => ({
    name: ic.name,
    accept: effectiveAccept(ic.accept !== false, ic.owner === true || ic.priority === 255, strict),
    owner: ic.owner === true || ic.priority === 255,
    vips: ic.virtual_ips.map((v) => v.address),
  }));
}

export function noAcceptPlan(instances: AcceptInstance[]): NoAcceptPlan {
  const v4 = new Set<string>(), v6 = new Set<string>(), names: string[] = [];
  for (const i of instances) {
    if (i.accept || i.owner) continue;
    names.push(i.name);
    for (const a of i.vips) (a.includes(':') ? v6 : v4).add(a);
  }
  return { ipv4: [...v4].sort(), ipv6: [...v6].sort(), instances: names };
}

export const planWantsTable = (p: NoAcceptPlan): boolean => p.ipv4.length + p.ipv6.length > 0;

type Json = Record<string, unknown>;
const table = { family: TABLE_FAMILY, name: TABLE_NAME };
const inTable = { family: TABLE_FAMILY, table: TABLE_NAME };

/** The table's objects: sets, the chain, its rules (no metainfo, no transaction commands). */
export function tableObjects(p: NoAcceptPlan): Json[] {
  const out: Json[] = [
    { chain: { ...inTable, name: CHAIN_NAME, type: 'filter', hook: 'input', prio: INPUT_PRIORITY, policy: 'accept' } },
  ];
  const rule = (expr: Json[], comment: string): Json => ({ rule: { ...inTable, chain: CHAIN_NAME, expr, comment } });
  if (p.ipv4.length) {
    out.push({ set: { ...inTable, name: 'vips4', type: 'ipv4_addr', elem: p.ipv4 } });
    out.push(rule([
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '@vips4' } },
      { counter: { packets: 0, bytes: 0 } }, { drop: null },
    ], 'accept_mode false (RFC 5798 6.1)'));
  }
  if (p.ipv6.length) {
    out.push({ set: { ...inTable, name: 'vips6', type: 'ipv6_addr', elem: p.ipv6 } });
    out.push(rule([
      { match: { op: '==', left: { payload: { protocol: 'ip6', field: 'daddr' } }, right: '@vips6' } },
      { match: { op: '==', left: { payload: { protocol: 'icmpv6', field: 'type' } }, right: { set: ['nd-neighbor-solicit', 'nd-neighbor-advert'] } } },
      { accept: null },
    ], 'neighbour discovery for the VIPs (RFC 5798 6.4.3)'));
    out.push(rule([
      { match: { op: '==', left: { payload: { protocol: 'ip6', field: 'daddr' } }, right: '@vips6' } },
      { counter: { packets: 0, bytes: 0 } }, { drop: null },
    ], 'accept_mode false (RFC 5798 6.1)'));
  }
  return out;
}

/**
 * One transaction that leaves exactly the plan's table: `add table` (so the delete never fails),
 * `delete table` (whatever a crashed or older run left), then the table anew; the kernel applies all
 * of it or nothing. Without VIPs to drop, the transaction only deletes the table.
 */
export function replaceTransaction(p: NoAcceptPlan): { nftables: Json[] } {
  const cmds: Json[] = [{ metainfo: { json_schema_version: 1 } }, { add: { table } }, { delete: { table } }];
  if (planWantsTable(p)) {
    cmds.push({ add: { table } });
    for (const o of tableObjects(p)) cmds.push({ add: o });
  }
  return { nftables: cmds };
}

/** Only lvsd's table: deleted if there (the `add` makes a missing table no error). */
export function deleteTransaction(): { nftables: Json[] } {
  return replaceTransaction({ ipv4: [], ipv6: [], instances: [] });
}

/** The plan a config asks for (what the engine applies at start and on every reload). */
export const noAcceptPlanFor = (config: Pick<LvsdConfig, 'global' | 'vrrp_instances'>): NoAcceptPlan => noAcceptPlan(acceptInstances(config));
