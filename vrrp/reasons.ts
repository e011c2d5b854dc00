// Why a received VRRP packet was dropped, or what was odd about one that was accepted.
// The constants are stable label values for metrics (lvsd_vrrp_packets_dropped_total{reason=...});
// the lists are exhaustive so counters can be created at zero before the first packet arrives.

/** Step (a) of reception: is this a well-formed VRRP advertisement at all? (RFC 5798 §7.1) */
export const PACKET_DROP_REASONS = [
  'ttl_invalid',
  'too_short',
  'version_invalid',
  'type_invalid',
  'length_mismatch',
  'checksum_invalid',
  'auth_type_unsupported',
  'ip_header_invalid',
] as const;

/** Step (b): is it for this instance, and may this instance act on it? */
export const INSTANCE_DROP_REASONS = [
  'vrid_unknown',
  'version_mismatch',
  'family_mismatch',
  'auth_type_mismatch',
  'auth_failure',
  'advert_interval_mismatch',
  'own_source',
  'unicast_src_unknown',
  'ttl_out_of_range',
  'startup_delay',
] as const;

/** Accepted, but worth a log line and a counter. */
export const INSTANCE_NOTES = [
  'advert_interval_differs',
  'address_list_mismatch',
  'priority_zero',
  'source_not_link_local',
  'second_owner',
] as const;

export type PacketDropReason = (typeof PACKET_DROP_REASONS)[number];
export type InstanceDropReason = (typeof INSTANCE_DROP_REASONS)[number];
export type DropReason = PacketDropReason | InstanceDropReason;
export type InstanceNote = (typeof INSTANCE_NOTES)[number];

export const DROP_REASONS: readonly DropReason[] = [...PACKET_DROP_REASONS, ...INSTANCE_DROP_REASONS];

/** One sentence per reason, for logs and docs; the specific numbers go in the `detail` of a result. */
export const REASON_SENTENCES: Record<DropReason | InstanceNote, string> = {
  ttl_invalid: 'The IP TTL / hop limit is not 255, so the packet may come from off the link (RFC 5798 §7.1); for unicast, from a sender without min_ttl / max_ttl.',
  too_short: 'The packet is shorter than the fixed VRRP header.',
  version_invalid: 'The VRRP version is neither 2 nor 3 (or 2 over IPv6, which RFC 3768 does not define).',
  type_invalid: 'The VRRP type is not ADVERTISEMENT (1), the only type defined (RFC 5798 §5.2.2).',
  length_mismatch: 'The packet length does not match the address count it declares.',
  checksum_invalid: 'The VRRP checksum is wrong (v3 includes the IP pseudo-header, RFC 5798 §5.2.8).',
  auth_type_unsupported: 'The VRRPv2 authentication type is not one lvsd speaks (0 none, 1 simple password).',
  ip_header_invalid: 'The IPv4 header is malformed or does not carry VRRP.',
  vrid_unknown: 'No instance on this interface uses this virtual router ID.',
  version_mismatch: 'The VRRP version differs from the version this instance is configured for.',
  family_mismatch: 'The address family differs from the family of this instance.',
  auth_type_mismatch: 'The VRRPv2 authentication type differs from the configured one (RFC 3768 §7.1).',
  auth_failure: 'The VRRPv2 simple password differs from the configured one (RFC 3768 §5.3.6.1).',
  advert_interval_mismatch:
    'The VRRPv2 advertisement interval differs from the configured one; RFC 3768 §7.1 requires dropping it.',
  second_owner:
    'Another router also claims address ownership (priority 255) for this VRID: a misconfiguration; ' +
    'like keepalived, this router steps down to priority 254 so one master remains.',
  own_source: 'The packet carries one of this router\'s own addresses as its source (our own advert looped back).',
  unicast_src_unknown:
    'The source is not one of this instance\'s unicast peers, and it checks sources (unicast.check_source; keepalived check_unicast_src).',
  ttl_out_of_range:
    'The TTL / hop limit is outside the min_ttl-max_ttl range configured for this unicast peer (a peer behind routers).',
  startup_delay: 'Received during global.vrrp_startup_delay, when instances act on no advert (as keepalived).',
  advert_interval_differs:
    'The VRRPv3 Max Advertise Interval differs from ours; accepted, a backup learns it (RFC 5798 §6.4.2).',
  address_list_mismatch: 'The advertised address list differs from the configured virtual addresses.',
  priority_zero: 'The master is leaving (priority 0).',
  source_not_link_local: 'An IPv6 advert should come from a link-local source (RFC 5798 §5.1.2.1).',
};
