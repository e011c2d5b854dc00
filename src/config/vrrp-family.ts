// What a VRRP instance's config decides beyond its single keys, for the engine, status and the
// config checks alike. No imports: the VRRP worker reads it without loading the config module.

/**
 * The address family an instance runs VRRP over: its virtual IPs', else family:, else its unicast
 * peers' or source's. The schema refuses an instance none of these decides, so 4 is never a guess there.
 */
export function instanceFamily(ic: {
  virtual_ips: readonly { family: 4 | 6 }[];
  family?: 4 | 6 | undefined;
  unicast?: { source?: { family: 4 | 6 } | undefined; peers: readonly { family: 4 | 6 }[] } | undefined;
}): 4 | 6 {
  return ic.virtual_ips[0]?.family ?? ic.family ?? ic.unicast?.peers[0]?.family ?? ic.unicast?.source?.family ?? 4;
}

/**
 * Whether an instance drops adverts from sources that are not its unicast peers (keepalived
 * check_unicast_src): its own check_source, else global vrrp_check_unicast_src or a peer with
 * min_ttl / max_ttl (keepalived turns it on for those too). Never for a multicast instance.
 */
export function checksUnicastSource(
  ic: { unicast?: { check_source?: boolean | undefined; peers: readonly { min_ttl?: number | undefined; max_ttl?: number | undefined }[] } | undefined },
  global: { vrrp_check_unicast_src?: boolean | undefined },
): boolean {
  if (!ic.unicast) return false;
  return ic.unicast.check_source ?? (global.vrrp_check_unicast_src === true || ic.unicast.peers.some((p) => p.min_ttl !== undefined || p.max_ttl !== undefined));
}
