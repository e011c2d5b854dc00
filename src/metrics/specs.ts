// Every metric lvsd serves besides prom-client's process metrics: names, HELP, TYPE and label names.
// `lvsd_*` are lvsd's own. `keepalived_*` repeat what the widely used keepalived exporters publish, with
// their names and labels, so dashboards and alerts written for keepalived keep working (mapping in
// deploy/prometheus/METRICS.md):
//   - VRRP: mehdy/keepalived-exporter (formerly cafebazaar): keepalived_vrrp_state{iname,intf,vrid,ip_address}
//     and counters labelled {iname,intf,vrid,state}.
//   - IPVS: gen2brain/keepalived_exporter: keepalived_lvs_vip_* / keepalived_lvs_rs_* labelled {addr,proto}.
// The VRRP instance label of lvsd's own metrics is `vrrp_instance`, not `instance`: Prometheus sets
// `instance` to the scrape target and would rename ours to `exported_instance`.
import type { MetricSpec, MetricType } from './family.js';

const spec = (name: string, type: MetricType, labels: readonly string[], help: string): MetricSpec => ({ name, type, labels, help });

const VRRP = ['vrrp_instance', 'interface', 'vrid', 'family'] as const;
const KA_VRRP = ['iname', 'intf', 'vrid', 'state'] as const;
const CHECK = ['check', 'type', 'target'] as const;
const SERVICE = ['service', 'vip', 'protocol'] as const;
const DEST = [...SERVICE, 'server'] as const;
const KA_LVS = ['addr', 'proto'] as const;

export const M = {
  // ---- lvsd itself ----
  info: spec('lvsd_info', 'gauge', ['version', 'router_id'], 'Always 1; the lvsd version and this director\'s router_id.'),
  startTime: spec('lvsd_start_time_seconds', 'gauge', [], 'When this lvsd process started (Unix time, seconds).'),
  reloads: spec('lvsd_reloads_total', 'counter', ['result'], 'Configuration reloads by result: success, or failure (refused; the running config stayed).'),
  collectErrors: spec('lvsd_metrics_collect_errors', 'gauge', ['part'], '1 when collecting a part (daemon, vrrp, checks, ipvs) failed during this scrape; its series are missing or incomplete (lvsd logs why).'),
  faults: spec('lvsd_faults_total', 'counter', ['kind'], 'Faults lvsd contained and kept running through, by kind (uncaught: an uncaught exception or rejection; stateFile: a failed state file write).'),
  configInfo: spec('lvsd_config_info', 'gauge', ['sha256'], 'Always 1; the SHA-256 of the configuration file lvsd runs with.'),
  fileLimit: spec('lvsd_file_descriptor_reserve', 'gauge', ['kind'], 'File descriptors: limit (RLIMIT_NOFILE, soft) and reserve (kept from the listeners for VRRP, scripts and checks).'),
  listenerConnections: spec('lvsd_listener_connections', 'gauge', ['listener'], 'Connections open now on a listener (metrics, control).'),
  listenerAccepted: spec('lvsd_listener_connections_accepted_total', 'counter', ['listener'], 'Connections a listener accepted and served.'),
  listenerRefused: spec('lvsd_listener_connections_refused_total', 'counter', ['listener', 'reason'], 'Connections closed on accept: max_connections, max_per_peer (16 from one address), fd_reserve (lvsd near its file descriptor limit).'),
  listenerBadRequests: spec('lvsd_listener_bad_requests_total', 'counter', ['listener', 'reason'], 'Requests answered with an error and closed before reaching lvsd: malformed (400), header_too_large (431), timeout (408), reset (the client hung up).'),

  // ---- VRRP (lvsd) ----
  vrrpState: spec('lvsd_vrrp_state', 'gauge', [...VRRP, 'state'], 'VRRP state of an instance: 1 for the state it is in, 0 for the others (initialize, backup, master, fault).'),
  vrrpPriority: spec('lvsd_vrrp_priority', 'gauge', VRRP, 'Effective priority: the configured priority after tracking weights (what the adverts carry).'),
  vrrpBasePriority: spec('lvsd_vrrp_base_priority', 'gauge', VRRP, 'Configured priority (254 after stepping down from a second owner).'),
  vrrpMaster: spec('lvsd_vrrp_master_info', 'gauge', [...VRRP, 'master'], 'Always 1; master: the address of the current master as this router sees it (its own when MASTER, empty when unknown).'),
  vrrpTransitions: spec('lvsd_vrrp_transitions_total', 'counter', [...VRRP, 'from', 'to'], 'State transitions seen since lvsd started watching the instance.'),
  vrrpBecameMaster: spec('lvsd_vrrp_became_master_total', 'counter', VRRP, 'Transitions to MASTER.'),
  vrrpReleasedMaster: spec('lvsd_vrrp_released_master_total', 'counter', VRRP, 'Transitions out of MASTER.'),
  vrrpAdvertsSent: spec('lvsd_vrrp_adverts_sent_total', 'counter', VRRP, 'Advertisements sent (one per peer for unicast).'),
  vrrpAdvertsReceived: spec('lvsd_vrrp_adverts_received_total', 'counter', VRRP, 'Advertisements received and accepted by the instance.'),
  vrrpPriorityZeroSent: spec('lvsd_vrrp_priority_zero_sent_total', 'counter', VRRP, 'Priority-0 advertisements sent (this master leaving).'),
  vrrpAnnouncements: spec('lvsd_vrrp_announcements_total', 'counter', VRRP, 'Gratuitous ARP / unsolicited neighbour advertisement frames sent.'),
  vrrpVipErrors: spec('lvsd_vrrp_vip_errors_total', 'counter', VRRP, 'Failed virtual IP additions or removals.'),
  vrrpNotes: spec('lvsd_vrrp_notes_total', 'counter', [...VRRP, 'note'], 'Accepted advertisements with something odd about them, by note (vrrp/reasons.ts INSTANCE_NOTES).'),
  vrrpDropped: spec('lvsd_vrrp_packets_dropped_total', 'counter', ['interface', 'family', 'vrrp_instance', 'reason'],
    'VRRP packets dropped, by reason (vrrp/reasons.ts). Malformed packets are dropped before their VRID is read: those have vrrp_instance="".'),
  vrrpReceived: spec('lvsd_vrrp_packets_received_total', 'counter', ['interface', 'family'], 'VRRP datagrams received on an interface, before any check.'),
  vrrpSocketDrops: spec('lvsd_vrrp_socket_drops_total', 'counter', ['interface', 'family'], 'VRRP datagrams the kernel dropped before lvsd read them, the receive buffer being full (a flood, or a stalled reader): the socket\'s drops in /proc/net/raw{,6}. Adverts of the real master are lost among them.'),
  vrrpRepliesSuppressed: spec('lvsd_vrrp_replies_suppressed_total', 'counter', VRRP, 'A master\'s replies to priority-0 or lower-priority adverts not sent: over the budget of 2 per advert interval (a flood of such adverts, likely forged).'),
  vrrpIntervalClamped: spec('lvsd_vrrp_learned_interval_clamped_total', 'counter', VRRP, 'VRRPv3 adverts whose advert interval was above max_learned_advert_interval; a backup learned the ceiling instead.'),
  vrrpForeignIgnored: spec('lvsd_vrrp_foreign_adverts_ignored_total', 'counter', [...VRRP, 'kind'], 'A backup ignored an advert from a router other than the master it follows: kind priority_zero (a priority 0), earlier_master_down (it would have brought Master_Down_Timer forward).'),
  vrrpSplitBrain: spec('lvsd_vrrp_split_brain', 'gauge', VRRP, '1 while two routers advertise as master for the instance\'s VRID at once (this one and another, or two others) for longer than a Master_Down_Interval: they do not hear, or refuse, each other\'s adverts. 0 otherwise; clears a Master_Down_Interval after one falls silent.'),
  vrrpSplitBrainRaised: spec('lvsd_vrrp_split_brain_raised_total', 'counter', VRRP, 'Times the split-brain alarm was raised.'),

  // ---- VRRP (keepalived exporter names) ----
  kaUp: spec('keepalived_up', 'gauge', [], 'keepalived exporter compatibility: 1 while lvsd\'s VRRP engine runs.'),
  kaState: spec('keepalived_vrrp_state', 'gauge', ['iname', 'intf', 'vrid', 'ip_address'], 'keepalived exporter compatibility: state per virtual IP, 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.'),
  kaAdvRcvd: spec('keepalived_advertisements_received_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: advertisements received.'),
  kaAdvSent: spec('keepalived_advertisements_sent_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: advertisements sent.'),
  kaBecome: spec('keepalived_become_master_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: became master.'),
  kaRelease: spec('keepalived_release_master_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: released master.'),
  kaLenErr: spec('keepalived_packet_length_errors_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: packet length errors on the instance\'s interface.'),
  kaIntErr: spec('keepalived_advertisements_interval_errors_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: advertisement interval errors.'),
  kaTtlErr: spec('keepalived_ip_ttl_errors_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: TTL / hop limit errors on the instance\'s interface.'),
  kaTypeErr: spec('keepalived_invalid_type_received_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: invalid type on the instance\'s interface.'),
  kaAddrErr: spec('keepalived_address_list_errors_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: address list mismatches.'),
  kaAuthInvalid: spec('keepalived_authentication_invalid_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: unsupported authentication type on the instance\'s interface.'),
  kaAuthMismatch: spec('keepalived_authentication_mismatch_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: authentication type mismatches.'),
  kaAuthFailure: spec('keepalived_authentication_failure_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: authentication failures.'),
  kaPrioZeroRcvd: spec('keepalived_priority_zero_received_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: priority-0 advertisements received.'),
  kaPrioZeroSent: spec('keepalived_priority_zero_sent_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: priority-0 advertisements sent.'),
  kaGarpDelay: spec('keepalived_gratuitous_arp_delay_total', 'counter', KA_VRRP, 'keepalived exporter compatibility: the configured delay before the second gratuitous ARP burst, seconds (a setting, as the exporter reports it).'),

  // ---- checks and real servers ----
  checkUp: spec('lvsd_check_up', 'gauge', CHECK, 'Verdict of a health check: 1 up, 0 down. One series per distinct check and target, however many services share it.'),
  checkProbes: spec('lvsd_check_probes_total', 'counter', CHECK, 'Probes a check has run.'),
  checkFailuresInARow: spec('lvsd_check_consecutive_failures', 'gauge', CHECK, 'Failed probes in a row (0 after a success).'),
  checkResults: spec('lvsd_check_results_total', 'counter', ['reason'], 'Probe results of all checks, by reason: ok, or why a probe failed (without its figures, e.g. "timed out").'),
  checkDuration: spec('lvsd_check_duration_seconds', 'histogram', ['type'], 'How long probes took, by check type.'),
  serverUp: spec('lvsd_real_server_up', 'gauge', ['service', 'server'], 'Health of a real server in a virtual service: 1 when all its checks pass.'),
  serverWeight: spec('lvsd_real_server_weight', 'gauge', ['service', 'server'], 'Weight of the real server when up: configured, or reported by a script check (the kernel\'s weight is lvsd_ipvs_destination_weight).'),
  serverTransitions: spec('lvsd_real_server_transitions_total', 'counter', ['change', 'reason'], 'Real server verdict changes: change up, down (with the failing reason) or weight.'),
  serviceQuorum: spec('lvsd_virtual_service_quorum', 'gauge', ['service'], 'Quorum of a virtual service: 1 held, 0 lost (checker-driven VRRP tracking follows it).'),

  // ---- IPVS (kernel statistics, lvsd names) ----
  ipvsUp: spec('lvsd_ipvs_up', 'gauge', [], '1 when the last read of the kernel IPVS table worked.'),
  ipvsReadSeconds: spec('lvsd_ipvs_read_duration_seconds', 'gauge', [], 'How long the last read of the IPVS table and its statistics took.'),
  ipvsServices: spec('lvsd_ipvs_services', 'gauge', [], 'Virtual services in the kernel table (lvsd\'s and others\').'),
  svcConns: spec('lvsd_ipvs_service_connections_total', 'counter', SERVICE, 'Connections scheduled by a virtual service (kernel counter).'),
  svcInPkts: spec('lvsd_ipvs_service_in_packets_total', 'counter', SERVICE, 'Packets in (client to server) through a virtual service.'),
  svcOutPkts: spec('lvsd_ipvs_service_out_packets_total', 'counter', SERVICE, 'Packets out (server to client) through a virtual service; 0 for direct routing and tunnels.'),
  svcInBytes: spec('lvsd_ipvs_service_in_bytes_total', 'counter', SERVICE, 'Bytes in through a virtual service.'),
  svcOutBytes: spec('lvsd_ipvs_service_out_bytes_total', 'counter', SERVICE, 'Bytes out through a virtual service.'),
  dstActive: spec('lvsd_ipvs_destination_active_connections', 'gauge', DEST, 'Active connections to a real server (ESTABLISHED for TCP).'),
  dstInactive: spec('lvsd_ipvs_destination_inactive_connections', 'gauge', DEST, 'Inactive connections to a real server (other TCP states, UDP).'),
  dstWeight: spec('lvsd_ipvs_destination_weight', 'gauge', DEST, 'Weight of a real server in the kernel table.'),
  dstConns: spec('lvsd_ipvs_destination_connections_total', 'counter', DEST, 'Connections scheduled to a real server.'),
  // ---- announced VIPs (issue #14) ----
  announceState: spec('lvsd_announce_state', 'gauge', ['group', 'state'], 'Announced VIP group: 1 for the state it is in (announced, soft_draining, withdrawn), 0 for the others.'),
  announceMetric: spec('lvsd_announce_metric', 'gauge', ['group'], 'The metric (RTA_PRIORITY, MED through FRR) the group\'s routes carry; absent while withdrawn.'),
  announceWithdrawals: spec('lvsd_announce_withdrawals_total', 'counter', ['group', 'reason'], 'Withdrawals of the group\'s routes by reason: quorum (lost), give-up, stopping, removed (from the config).'),
  announceRouteWrites: spec('lvsd_announce_route_writes_total', 'counter', [], 'Route writes (adds, replaces, removes) the announcer made.'),
  announceRouteErrors: spec('lvsd_announce_route_errors_total', 'counter', [], 'Route reads and writes the kernel refused; lvsd logs each with errno and retries.'),
  // ---- email alerts (keepalived smtp_alert) ----
  emailAlerts: spec('lvsd_email_alerts_total', 'counter', ['result'], 'Email alerts by result: sent (the relay accepted it), failed (refused, timed out or unreachable), dropped (the queue for the relay was full, or lvsd stopped), rate_limited (the same subject too often).'),
  emailQueue: spec('lvsd_email_alerts_queued', 'gauge', [], 'Email alerts waiting for the relay, with the one being sent.'),

  dstInPkts: spec('lvsd_ipvs_destination_in_packets_total', 'counter', DEST, 'Packets in to a real server.'),
  dstOutPkts: spec('lvsd_ipvs_destination_out_packets_total', 'counter', DEST, 'Packets out from a real server (NAT only).'),
  dstInBytes: spec('lvsd_ipvs_destination_in_bytes_total', 'counter', DEST, 'Bytes in to a real server.'),
  dstOutBytes: spec('lvsd_ipvs_destination_out_bytes_total', 'counter', DEST, 'Bytes out from a real server (NAT only).'),

  // ---- IPVS (gen2brain keepalived_exporter names) ----
  kaVipInPkts: spec('keepalived_lvs_vip_in_packets', 'counter', KA_LVS, 'keepalived exporter compatibility: virtual service packets in.'),
  kaVipOutPkts: spec('keepalived_lvs_vip_out_packets', 'counter', KA_LVS, 'keepalived exporter compatibility: virtual service packets out.'),
  kaVipInBytes: spec('keepalived_lvs_vip_in_bytes', 'counter', KA_LVS, 'keepalived exporter compatibility: virtual service bytes in.'),
  kaVipOutBytes: spec('keepalived_lvs_vip_out_bytes', 'counter', KA_LVS, 'keepalived exporter compatibility: virtual service bytes out.'),
  kaVipConn: spec('keepalived_lvs_vip_conn', 'counter', KA_LVS, 'keepalived exporter compatibility: virtual service connections.'),
  kaRsInPkts: spec('keepalived_lvs_rs_in_packets', 'counter', [...KA_LVS, 'vip'], 'keepalived exporter compatibility: real server packets in (vip added by lvsd so one server in two services stays two series).'),
  kaRsOutPkts: spec('keepalived_lvs_rs_out_packets', 'counter', [...KA_LVS, 'vip'], 'keepalived exporter compatibility: real server packets out.'),
  kaRsInBytes: spec('keepalived_lvs_rs_in_bytes', 'counter', [...KA_LVS, 'vip'], 'keepalived exporter compatibility: real server bytes in.'),
  kaRsOutBytes: spec('keepalived_lvs_rs_out_bytes', 'counter', [...KA_LVS, 'vip'], 'keepalived exporter compatibility: real server bytes out.'),
  kaRsConn: spec('keepalived_lvs_rs_conn', 'counter', [...KA_LVS, 'vip'], 'keepalived exporter compatibility: real server connections.'),
} as const satisfies Record<string, MetricSpec>;

export const ALL_SPECS: readonly MetricSpec[] = Object.values(M);
