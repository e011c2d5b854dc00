// The whole lvsd configuration, declared once. The exported types (LvsdConfig and its parts) are what
// the engines consume; the same declarations validate lvsd.yaml and emit deploy/lvsd.schema.json.
// Rules that need more than one key live in .refine() here (local) or in semantic.ts (cross-references).
import { checkInterfaceName, netmaskToPrefix, parseEndpoint, parseIp, parseRequiredEndpoint, parsePrefix, type Endpoint, type IpAddress, type IpPrefix, type MaybeEndpoint } from './address.js';
import { formatDuration } from './duration.js';
import { formatAddressRange, MAX_GROUP_ADDRESSES, parseAddressRange, type AddressRange } from './address-range.js';
import { nameList } from './semantic.js';
import { checksUnicastSource, instanceFamily } from './vrrp-family.js';
import { oneLine, quoteValue } from '../text/quote.js';
import {
  alt, arr, bool, custom, def, defDuration, duration, int, mapped, obj, oneOf, opt, str, tagged, type Fields, type Infer, type JsonSchema,
} from './dsl.js';
// The request-header mapping of HTTP checks (HeaderMap) is a Type of its own.
import { describe, INVALID, joinKey, Type, type At, type DecodeContext, type Invalid } from './dsl.js';
import { isMap, isScalar } from 'yaml';

// ---- shared scalars ----

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const name = (what: string) => str(`Name of this ${what}, unique among them; other sections refer to it.`, {
  pattern: NAME, patternHelp: 'is not a valid name (letters, digits, _ . -; at most 64; starting with a letter or digit)',
});
const refName = (what: string) => str(`Name of a ${what} defined elsewhere in this file.`, { minLength: 1 });
const ifname = (description: string) => str(description, { check: checkInterfaceName, maxLength: 15, minLength: 1 });

const ipAddress = (description: string) => custom<IpAddress>(parseIp, { type: 'string' }, description);
const ipPrefix = (description: string) => custom<IpPrefix>(parsePrefix, { type: 'string' }, description);
const endpoint = (description: string, allowZeroPort = false) => custom<Endpoint>((v) => parseRequiredEndpoint(v, allowZeroPort), { type: 'string' }, description);
const maybeEndpoint = (description: string) => custom<MaybeEndpoint>((v) => parseEndpoint(v, { portOptional: true }), { type: 'string' }, description);

const ARGV_HELP = 'An argv list, run directly without a shell: the first item is an absolute path.';
const argv = (description: string) => arr(str(undefined, { minLength: 1 }), `${description} ${ARGV_HELP}`, { minItems: 1 });
/** Refuse relative programs: a PATH lookup from a root daemon is how the wrong binary runs. */
function checkArgv(v: string[] | undefined, path: string, report: (p: string, m: string) => void): void {
  if (v && v[0] !== undefined && !v[0].startsWith('/')) report(`${path}[0]`, `${quoteValue(v[0])} must be an absolute path (commands run without a shell or PATH lookup)`);
}

/** `/run/lvsd/control.sock` style listeners: `unix:PATH` or `address:port`. */
export type Listen = ({ kind: 'tcp' } & Endpoint) | { kind: 'unix'; path: string };
const listen = (description: string, unix: boolean) => custom<Listen>((v) => {
  if (unix && typeof v === 'string' && v.startsWith('unix:')) {
    const path = v.slice(5);
    return path.startsWith('/') ? { ok: true, value: { kind: 'unix', path } } : { ok: false, message: `${quoteValue(v)}: the socket path must be absolute (unix:/run/lvsd/control.sock)` };
  }
  const e = parseRequiredEndpoint(v);
  return e.ok ? { ok: true, value: { kind: 'tcp', ...e.value } } : e;
}, { type: 'string' }, description);

const weightDelta = (description: string) => int(-254, 254, description);

// ---- global ----

const MAX_CONNECTIONS_HELP = 'Open connections at most (16 from one address); more are closed at once, and none are served while lvsd is within an eighth of its file descriptor limit, which stays for VRRP, scripts and checks.';

const metricsSection = obj({
  listen: def(listen('Prometheus endpoint address:port.', false), { kind: 'tcp', address: '127.0.0.1', port: 9641, family: 4 } as Listen, '127.0.0.1:9641'),
  max_connections: def(int(1, 4096, MAX_CONNECTIONS_HELP), 64),
}, 'Prometheus metrics.');
const controlSection = obj({
  listen: def(listen('Control API: unix:/path (default) or address:port.', true), { kind: 'unix', path: '/run/lvsd/control.sock' } as Listen, 'unix:/run/lvsd/control.sock'),
  token_file: opt(str('File holding the bearer token the control API requires; required when it listens on TCP.', { minLength: 1 })),
  max_connections: def(int(1, 4096, MAX_CONNECTIONS_HELP), 64),
}, 'The local control API (drain, weights, status).').refine((c, report) => {
  if (c.listen.kind === 'tcp' && c.token_file === undefined) report('listen', 'a TCP control listener needs token_file (anyone who can connect could drain servers)');
  if (c.token_file !== undefined && !c.token_file.startsWith('/')) report('token_file', `${quoteValue(c.token_file)} must be an absolute path`);
});

const logSection = obj({
  level: def(oneOf(['debug', 'info', 'warn', 'error'], 'Least severe message logged.', { warning: "write 'warn'" }), 'info'),
  format: def(oneOf(['auto', 'json', 'text'], 'auto: text on a terminal, JSON lines to journald/pipes.'), 'auto'),
}, 'Logging.');

// keepalived: lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR].
// The followed instance's state picks the kernel sync daemon's role (MASTER -> IP_VS_STATE_MASTER).
const lvsSyncDaemonSection = obj({
  interface: ifname('Interface the sync messages are sent and received on (IPVS_DAEMON_ATTR_MCAST_IFN).'),
  instance: refName('VRRP instance'),
  sync_id: opt(int(0, 255, 'Sync ID (IPVS_DAEMON_ATTR_SYNC_ID); both directors must use the same. Default: the VRID of the followed instance, as keepalived.')),
  maxlen: opt(int(1, 65507, 'Largest sync message payload in bytes (IPVS_DAEMON_ATTR_SYNC_MAXLEN); kernel default from the interface MTU.')),
  port: opt(int(1, 65535, 'UDP port of the sync messages (IPVS_DAEMON_ATTR_MCAST_PORT); kernel default 8848.')),
  ttl: opt(int(1, 255, 'Multicast TTL / hop limit (IPVS_DAEMON_ATTR_MCAST_TTL); kernel default 1.')),
  group: opt(ipAddress('Multicast group (IPVS_DAEMON_ATTR_MCAST_GROUP / _GROUP6); kernel default 224.0.0.81.')),
  role: def(oneOf(['follow', 'both'], 'follow: sync master while the instance is MASTER, sync backup otherwise (keepalived). both: master and backup at once, always, for an active/active pair where each director holds VIPs and must both send its connections and receive the other\'s; the instance then only supplies the default sync_id.'), 'follow'),
}, 'Run the kernel IPVS connection-sync daemon following a VRRP instance: as master while it is MASTER, as backup otherwise, so connections survive a failover (keepalived lvs_sync_daemon).', {
  hints: { id: "write 'sync_id'", syncid: "write 'sync_id'", mcast_group: "write 'group'" },
}).refine((d, report) => {
  if (d.group !== undefined) {
    const multicast = d.group.family === 4 ? /^(22[4-9]|23\d)\./.test(d.group.address) : /^ff/i.test(d.group.address);
    if (!multicast) report('group', `${d.group.address} is not a multicast address`);
  }
});
export type LvsSyncDaemonConfig = Infer<typeof lvsSyncDaemonSection>;

// keepalived: lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS] -> IPVS_CMD_SET_CONFIG (ipvsadm --set).
const ipvsTimeout = (description: string) => duration(`${description} Whole seconds; unset leaves the kernel's value.`, 1000, 2_147_483_000);
const ipvsTimeouts = obj({
  tcp: opt(ipvsTimeout('Idle timeout of established TCP connections (IPVS_CMD_ATTR_TIMEOUT_TCP; kernel default 15m).')),
  tcp_fin: opt(ipvsTimeout('Timeout of TCP connections after a FIN (IPVS_CMD_ATTR_TIMEOUT_TCP_FIN; kernel default 2m).')),
  udp: opt(ipvsTimeout('Idle timeout of UDP connection entries (IPVS_CMD_ATTR_TIMEOUT_UDP; kernel default 5m).')),
}, 'IPVS connection timeouts, set at start and on reload (keepalived lvs_timeouts; ipvsadm --set). They are global to the kernel, not per service.', {
  hints: { tcpfin: "write 'tcp_fin'", tcp_fin_timeout: "write 'tcp_fin'" },
}).refine((t, report) => {
  for (const k of ['tcp', 'tcp_fin', 'udp'] as const) {
    const v = t[k];
    if (v !== undefined && v % 1000 !== 0) report(k, `IPVS timeouts are whole seconds; got ${formatDuration(v)}`);
  }
  if (t.tcp === undefined && t.tcp_fin === undefined && t.udp === undefined) report('', 'set at least one of tcp, tcp_fin, udp');
});
export type IpvsTimeoutsConfig = Infer<typeof ipvsTimeouts>;

// ---- announced VIPs (issue #14): the routes lvsd owns for the routing daemon to announce ----

// rtm_protocol values others own (linux/rtnetlink.h RTPROT_*, and FRR's zebra/rt_netlink.h 193-198): lvsd
// recognises its routes by its protocol number, so it must not share one with another route owner.
const TAKEN_PROTOCOLS: Record<number, string> = {
  8: 'gated', 9: 'ra', 10: 'mrt', 11: 'zebra', 12: 'bird', 13: 'dnrouted', 14: 'xorp', 15: 'ntk', 16: 'dhcp', 17: 'mrouted',
  18: 'keepalived', 42: 'babel', 99: 'openr', 186: 'bgp', 187: 'isis', 188: 'ospf', 189: 'rip', 192: 'eigrp',
  193: 'FRR ldp', 194: 'FRR sharp', 195: 'FRR pbr', 196: 'FRR static', 197: 'FRR openfabric', 198: 'FRR srte',
};
const announceGlobal = obj({
  table: def(int(1, 4294967295, 'Routing table lvsd writes its announcement routes in; the routing daemon imports this table (FRR: ip import-table N, which takes 1-252; BIRD: kernel table N). The kernel never looks it up for forwarding: no ip rule points at it.'), 250),
  protocol: def(int(5, 255, 'rtm_protocol of the routes lvsd adds (announcements and the VIPs\' local routes); the routing daemon\'s filter selects them by it (BIRD: krt_source), and lvsd recognises its own routes by it after a restart. Name it in /etc/iproute2/rt_protos.d/ to see it in ip route.'), 250),
  device: def(ifname('Interface the routes point at; a VIP is delivered to this host, so the loopback.'), 'lo'),
}, 'How announced VIPs become kernel routes for the routing daemon (FRR, BIRD) to import and announce.').refine((a, report) => {
  if (a.table >= 253 && a.table <= 255) report('table', `table ${a.table} is the kernel's ${a.table === 253 ? 'default' : a.table === 254 ? 'main' : 'local'} table; lvsd needs a table of its own that only the routing daemon reads`);
  const owner = TAKEN_PROTOCOLS[a.protocol];
  if (owner !== undefined) report('protocol', `protocol ${a.protocol} belongs to ${owner} (RTPROT_*); pick a number nobody else uses, e.g. the default 250`);
});
export type AnnounceGlobalConfig = Infer<typeof announceGlobal>;

// The IPVS sysctls lvsd needs (src/sysctl/plan.ts decides which, from this file).
const ipvsGlobal = obj({
  sysctls: def(oneOf(['auto', 'verify', 'off'], 'auto: at start and on reload lvsd sets the IPVS sysctls this file needs (net.ipv4.vs.sloppy_tcp, sloppy_sctp, schedule_icmp for services shared by several directors) and warns about the ones it only checks (ip_forward for NAT); verify: only warns; off: neither. lvsd never lowers a value.'), 'auto'),
}, 'Kernel settings IPVS needs for this file.');

// keepalived global_defs: notification_email, notification_email_from, smtp_server HOST [PORT],
// smtp_helo_name, smtp_connect_timeout, smtp_alert / smtp_alert_vrrp / smtp_alert_checker.
// An address is echoed into mail headers: anything that could end a header line is refused here.
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,253}$/;
const emailAddress = (description: string) => str(description, { pattern: EMAIL, patternHelp: 'is not a plain email address (local@domain, no spaces, names or angle brackets)' });
/** `host`, `host:port` or `[v6]:port`; the port defaults to 25 as keepalived's smtp_server. */
export interface SmtpServer { host: string; port: number }
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const smtpServer = custom<SmtpServer>((v) => {
  if (typeof v !== 'string') return { ok: false, message: `${quoteValue(String(v))}: write host, host:port or [IPv6]:port` };
  const ip = parseIp(v);
  if (ip.ok) return { ok: true, value: { host: ip.value.address, port: 25 } };
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(v);
  const port = m?.[3] !== undefined ? Number(m[3]) : 25;
  if (m && port >= 1 && port <= 65535) {
    const host = m[1] ?? m[2]!;
    if (m[1] !== undefined ? parseIp(host).ok : (parseIp(host).ok || HOSTNAME.test(host))) return { ok: true, value: { host, port } };
  }
  return { ok: false, message: `${quoteValue(v)} is not host, host:port or [IPv6]:port (port 1-65535, default 25)` };
}, { type: 'string' }, 'The SMTP relay: host, host:port or [IPv6]:port; port 25 by default (keepalived smtp_server).');
const emailSection = obj({
  to: arr(emailAddress('A recipient.'), 'Recipients of every alert, in one message (keepalived notification_email).', { minItems: 1, maxItems: 32 }),
  from: opt(emailAddress('Sender address (keepalived notification_email_from). Default lvsd@ followed by the host name.')),
  smtp_server: smtpServer,
  helo_name: opt(str('Name given in EHLO (keepalived smtp_helo_name); default the host name.', { pattern: HOSTNAME, patternHelp: 'is not a host name' })),
  connect_timeout: defDuration(duration('Give up on the relay after this long, for connecting and for each reply (keepalived smtp_connect_timeout, default 30s). Alerts wait in a bounded queue meanwhile; VRRP and checks never wait for mail.', 100, 600_000), 30_000),
  starttls: def(oneOf(['if_offered', 'never', 'required'], 'if_offered: STARTTLS when the relay offers it, without verifying its certificate (opportunistic, as MTAs do between themselves); never: plain SMTP as keepalived sends; required: STARTTLS with a verified certificate, or the alert fails.'), 'if_offered'),
  vrrp_alerts: def(bool('Mail on VRRP state changes of every instance and sync group that does not set email_alerts (keepalived smtp_alert_vrrp, else smtp_alert).'), false),
  check_alerts: def(bool('Mail when a real server goes down or comes back and when a virtual service loses or regains its quorum, for every virtual service and real server that does not set email_alerts (keepalived smtp_alert_checker, else smtp_alert).'), false),
}, 'Email alerts on VRRP transitions and real servers going down or up, sent in the background (keepalived smtp_alert).', {
  hints: { notification_email: "write 'to'", notification_email_from: "write 'from'", smtp_helo_name: "write 'helo_name'", smtp_connect_timeout: "write 'connect_timeout'", smtp_alert: "write 'vrrp_alerts' and 'check_alerts'" },
});
export type EmailConfig = Infer<typeof emailSection>;
const emailAlerts = (what: string) => opt(bool(`Mail on ${what} (keepalived smtp_alert); default global.email.${what.startsWith('state') ? 'vrrp' : 'check'}_alerts. Needs global.email.`));

const globalSection = obj({
  router_id: opt(str('Identifies this director in logs, notifications and metrics. Default: the host name.', { minLength: 1, maxLength: 64 })),
  metrics: def(metricsSection, metricsSection.defaults(), {}),
  control: def(controlSection, controlSection.defaults(), {}),
  log: def(logSection, logSection.defaults(), {}),
  script_user: def(str('User that scripts (track scripts, script checks, notify commands) run as unless they name their own.', { minLength: 1 }), 'nobody'),
  state_file: def(str('Where lvsd remembers which IPVS services it created, so that after a restart it removes the ones dropped from this file and never touches services it did not create.', {
    pattern: /^\//, patternHelp: 'must be an absolute path',
  }), '/var/lib/lvsd/state.json'),
  lvs_sync_daemon: opt(lvsSyncDaemonSection),
  ipvs_timeouts: opt(ipvsTimeouts),
  vrrp_realtime_priority: opt(int(1, 99, 'Run the VRRP thread at SCHED_FIFO with this priority (keepalived vrrp_rt_priority); needs CAP_SYS_NICE. Only that thread: the checkers stay SCHED_OTHER. Refused by the kernel, lvsd warns and runs on.')),
  vrrp_startup_delay: opt(duration('After lvsd starts, every VRRP instance stays BACKUP and silent this long: it sends no advert and acts on none it hears (an address owner stays in INITIALIZE); then Master_Down_Timer starts (keepalived vrrp_startup_delay, for bonded NICs that pass no traffic for a few seconds after boot and would make a backup take over). ' +
    'Default 0s. Only at start: a reload does not delay running instances again.', 0, 3_600_000)),
  vrrp_check_unicast_src: opt(bool('Every instance with unicast peers drops adverts whose source is not one of them (keepalived vrrp_check_unicast_src); per instance: unicast.check_source. Default false.')),
  vrrp_strict: def(bool('keepalived vrrp_strict: accept mode off on every instance (see vrrp_instances[].accept; the owner still accepts) and the configuration checks keepalived makes in strict mode: ' +
    'no unicast peers, no authentication, no preempt_delay, the first IPv6 virtual IP link-local (RFC 5798 section 5.2.9). Each refusal names the key.'), false),
  interface_up_down_delays: def(arr(obj({
    interface: ifname('The interface (used or tracked by VRRP instances).'),
    down_delay: duration('Act on the link going down only after this long; 0s at once (max 255s).', 0, 255_000),
    up_delay: opt(duration('Act on the link coming up only after this long; default down_delay (max 255s).', 0, 255_000)),
  }, 'Debounce of one interface: a link that returns to its previous state before the delay causes no VRRP transition. Keep it under 2 x advert_interval of the instances on it, or a backup takes over first.'),
  'Interface up/down debouncing (keepalived interface_up_down_delays { ifname down_delay [up_delay] }); an interface listed twice: the last entry counts.'), [], []),
  announce: def(announceGlobal, announceGlobal.defaults(), {}),
  ipvs: def(ipvsGlobal, ipvsGlobal.defaults(), {}),
  email: opt(emailSection),
}, 'Settings of this director as a whole.', {
  hints: {
    notification_email: "write 'email: {to: [...], smtp_server: ...}'", smtp_server: "write 'email: {smtp_server: ...}'",
    smtp_alert: "write 'email: {vrrp_alerts: true, check_alerts: true, ...}'",
    script_security: 'lvsd always refuses scripts writable by non-root users; there is nothing to enable',
    lvs_sync_daemon_interface: "write 'lvs_sync_daemon: {interface: ..., instance: ...}'",
  },
});

// ---- VRRP ----

const notifyFields = {
  master: opt(argv('Run on becoming MASTER.')),
  backup: opt(argv('Run on becoming BACKUP.')),
  fault: opt(argv('Run on entering FAULT.')),
  stop: opt(argv('Run when lvsd stops the instance.')),
  any: opt(argv('Run on every transition, with arguments TYPE NAME STATE PRIORITY appended (as keepalived notify).')),
  master_rx_lower_pri: opt(argv('Instances: run when this MASTER receives an advert with a lower, non-zero priority (another router took over during a partition; cloud secondary-IP integrations take the address back here), at most once a second (keepalived notify_master_rx_lower_pri).')),
  timeout: opt(duration('Each command is awaited before the next of the same instance or group runs (commands run in transition order); one still running after this long is killed with its process group and logged. Default 30s. At most 64 commands wait per instance or group; beyond that the oldest waiting one is dropped and logged. keepalived never kills notify scripts.', 100, 3_600_000)),
  priority_changes: opt(bool('Instances: also run the any command when the effective priority changes in MASTER or BACKUP, with state MASTER_PRIORITY or BACKUP_PRIORITY and the new priority (keepalived notify_priority_changes, which writes these to its notify FIFO). Default false.')),
};
const NOTIFY_ARGV_KEYS = ['master', 'backup', 'fault', 'stop', 'any', 'master_rx_lower_pri'] as const;
const notify = (what: string) => obj(notifyFields, `Commands run on ${what} state changes.`, {
  hints: {
    notify_master: "write 'master'", notify_backup: "write 'backup'", notify_fault: "write 'fault'", notify_stop: "write 'stop'", notify: "write 'any'",
    notify_master_rx_lower_pri: "write 'master_rx_lower_pri'", notify_priority_changes: "write 'priority_changes: true'",
    vrrp_notify_priority_changes: "write 'priority_changes: true'", notify_timeout: "write 'timeout'", script_timeout: "write 'timeout'",
  },
}).refine((n, report) => {
  for (const k of NOTIFY_ARGV_KEYS) checkArgv(n[k], k, report);
  if (what.startsWith('the group') && n.master_rx_lower_pri) report('master_rx_lower_pri', 'only instances hear adverts: put it in the instance\'s notify');
  if (what.startsWith('the group') && n.priority_changes) report('priority_changes', 'a group has no priority of its own: put it in the instance\'s notify');
});

const virtualIpObject = obj({
  address: ipPrefix('Address with prefix length, e.g. 192.0.2.10/24; without /N a host address.'),
  device: opt(ifname('Interface to add it to; default the instance interface.')),
  label: opt(str('Address label (ip addr ... label), at most 15 bytes and starting with the device name, as the kernel requires.', { maxLength: 15, minLength: 1 })),
}, 'A virtual IP with its own device or label.').refine((v, report) => {
  if (v.label !== undefined && v.device !== undefined && !v.label.startsWith(v.device)) report('label', `label ${quoteValue(v.label)} must start with the device name ${quoteValue(v.device)} (kernel rule)`);
});
export type VirtualIp = IpPrefix & { device?: string; label?: string };
const virtualIp = mapped(
  alt(ipPrefix('Address with prefix length, e.g. 192.0.2.10/24.'), virtualIpObject, 'A virtual IP: "192.0.2.10/24" or {address, device, label}.'),
  (v): VirtualIp => ('prefix' in v ? v : { ...v.address, ...(v.device !== undefined ? { device: v.device } : {}), ...(v.label !== undefined ? { label: v.label } : {}) }),
);

const trackItem = (what: string) => obj({
  name: refName(what),
  weight: opt(weightDelta('Added to the priority while the tracked thing is up (positive) or subtracted when down (negative). Without weight, the instance goes to FAULT when it fails.')),
  reverse: opt(bool('Work the other way round (keepalived weight ... reverse): a positive weight is subtracted while up, a negative one added while down; without weight, FAULT while it is up. Default: the tracked thing\'s own reverse, else false.')),
}, undefined, { hints: { noreverse: 'write reverse: false', no_reverse: 'write reverse: false' } });

const track = obj({
  interfaces: def(arr(trackItem('interface')), [], []),
  scripts: def(arr(trackItem('track script')), [], []),
  virtual_services: def(arr(trackItem('virtual service')), [], []),
  processes: def(arr(trackItem('track process (track_processes)')), [], []),
  files: def(arr(trackItem('track file (track_files); the weight multiplies the value read')), [], []),
}, 'Things this instance depends on.', {
  hints: { track_process: "write 'processes'", track_file: "write 'files'", track_interface: "write 'interfaces'", track_script: "write 'scripts'" },
});

const garp = obj({
  delay: defDuration(duration('Delay before the second burst of gratuitous ARP / unsolicited NA after becoming MASTER (keepalived garp_master_delay).', 0, 1000_000), 5000),
  repeat: def(int(1, 255, 'Messages per burst (keepalived garp_master_repeat).'), 5),
  refresh: defDuration(duration('Re-announce the VIPs this often while MASTER; 0s disables (keepalived garp_master_refresh).', 0, 86_400_000), 0),
  refresh_repeat: def(int(1, 255, 'Messages per refresh.'), 1),
}, 'Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6) sent when becoming MASTER.');

// VMAC (keepalived use_vmac / vmac_xmit_base / use_ipvlan): vrrp/vmac.ts.
const vmacObject = obj({
  name: opt(ifname('Name of the macvlan; default vrrp.VRID, as keepalived.')),
  xmit_base: def(bool('Send and receive the adverts on the base interface (its MAC) instead of the macvlan (keepalived vmac_xmit_base); required with unicast peers. VIPs and GARP/NA stay on the macvlan.'), false),
}, 'The macvlan options.', { hints: { vmac_xmit_base: "write 'xmit_base: true'", use_vmac: "write 'name'" } });
export interface VmacConfig { name?: string; xmit_base: boolean }
const vmac = mapped(
  alt(bool('true: a macvlan with the RFC virtual MAC and the default name.'), vmacObject,
    'Virtual MAC (keepalived use_vmac): a macvlan (private mode) on the interface with the MAC 00-00-5E-00-01-VRID (IPv6 00-00-5E-00-02-VRID, RFC 5798 section 7.3), created at start and deleted at stop; ' +
    'the VIPs go on it and GARP/NA and adverts leave with that MAC, so switches need not relearn it on failover. true, or {name, xmit_base}. Sets arp_ignore=1, accept_local=1, rp_filter=0 on it and arp_ignore=1, arp_filter=1 on the interface, as keepalived.'),
  (v): VmacConfig | false => (v === false ? false : v === true ? { xmit_base: false } : { ...(v.name !== undefined ? { name: v.name } : {}), xmit_base: v.xmit_base }),
);
export interface IpvlanConfig { name?: string; address?: IpAddress; mode: 'bridge' | 'private' | 'vepa' }
const ipvlan = obj({
  name: opt(ifname('Name of the ipvlan; default vrrp.VRID, as keepalived.')),
  address: opt(ipAddress('An address for the ipvlan itself, the source of the adverts sent on it; required for IPv4 (keepalived use_ipvlan IP_ADDRESS), IPv6 uses the interface\'s link-local.')),
  mode: def(oneOf(['bridge', 'private', 'vepa'], 'ipvlan L2 mode flags; all ipvlans on one interface need the same.'), 'bridge'),
}, 'An ipvlan (L2) instead of a macvlan, for hosts whose network allows one MAC per port (keepalived use_ipvlan): it shares the interface\'s MAC; the VIPs go on it.', { hints: { use_ipvlan: "write 'ipvlan: {name, address, mode}'" } });

// A unicast peer: an address, or {address, min_ttl, max_ttl} for a peer behind routers (keepalived
// unicast_peer { ADDR min_ttl N max_ttl N }).
const unicastPeerObject = obj({
  address: ipAddress('The peer director.'),
  min_ttl: opt(int(0, 255, 'Lowest TTL / hop limit its adverts may arrive with; default 0 when max_ttl is set.')),
  max_ttl: opt(int(0, 255, 'Highest TTL / hop limit its adverts may arrive with; default 255.')),
}, 'A peer whose adverts may arrive with a TTL / hop limit below 255 (behind routers): those outside min_ttl-max_ttl are dropped (ttl_out_of_range). Setting either turns check_source on, as keepalived. ' +
  'A peer without them must send with 255 (RFC 5798 section 7.1; keepalived accepts any TTL from unicast peers).').refine((p, report) => {
  if (p.min_ttl !== undefined && p.max_ttl !== undefined && p.min_ttl > p.max_ttl) report('min_ttl', `min_ttl ${p.min_ttl} is above max_ttl ${p.max_ttl}: every advert from ${p.address.address} would be dropped`);
});
export type UnicastPeer = IpAddress & { min_ttl?: number; max_ttl?: number };
const unicastPeer = mapped(
  alt(ipAddress('A peer director.'), unicastPeerObject, 'A peer director: "192.0.2.2", or {address, min_ttl, max_ttl} for one behind routers.'),
  (v): UnicastPeer => (typeof v.address === 'string' ? v as IpAddress : {
    ...(v as { address: IpAddress }).address,
    ...((v as { min_ttl?: number }).min_ttl !== undefined ? { min_ttl: (v as { min_ttl: number }).min_ttl } : {}),
    ...((v as { max_ttl?: number }).max_ttl !== undefined ? { max_ttl: (v as { max_ttl: number }).max_ttl } : {}),
  }),
);

export { checksUnicastSource, instanceFamily };

const KEEPALIVED_STATE = "lvsd has no 'state': every instance starts as BACKUP and the election picks the master by priority " +
  '(RFC 5798 section 6.4). Give the intended master the higher priority; for the address owner use priority: 255 with owner: true';

export const vrrpInstanceSchema = obj({
  name: name('VRRP instance'),
  interface: ifname('Interface the VRRP adverts are sent and received on.'),
  vrid: int(1, 255, 'Virtual router ID, shared by all routers of this virtual router (RFC 5798 section 5.2.3).'),
  priority: def(int(1, 255, 'Election priority; the highest wins. 255 is reserved for the address owner and needs owner: true.'), 100),
  owner: def(bool('This router owns the virtual IPs (they are its real addresses); required for priority 255 (RFC 5798 section 5.2.4).'), false),
  version: def(oneOf([2, 3], 'VRRP version. Default 2, as keepalived: a pair half-migrated from keepalived keeps talking. IPv6 and sub-second adverts need 3.'), 2),
  advert_interval: defDuration(duration('Advertisement interval: v2 whole seconds 1s-255s; v3 in centiseconds 10ms-40.95s.', 10, 255_000), 1000),
  virtual_ips: def(arr(virtualIp, 'Addresses the master holds; all of one family (RFC 5798 section 5.2.9). Empty or left out: the instance holds none and sends no GARP/NA; it runs the election, notify and events only ' +
    '(failover done by notify commands: cloud ENIs, secondary IPs), its adverts carry no address (Count IPvX Addr 0, as keepalived no_virtual_ipaddress: RFC 5798 section 5.2.5 says at least 1, so VRRPv3 peers other than lvsd and keepalived may refuse them), ' +
    'and its family comes from family: or the unicast peers.'), [], []),
  family: opt(oneOf([4, 6], 'Address family of the adverts (4: IPv4, 6: IPv6) for an instance without virtual_ips and without unicast peers; otherwise it must match theirs.')),
  preempt: def(bool('A higher-priority backup takes over from a lower-priority master.'), true),
  preempt_delay: defDuration(duration('After start, wait this long before preempting (keepalived preempt_delay).', 0, 1000_000), 0),
  accept: def(bool('Accept mode (RFC 5798 section 6.1): a master that is not the address owner accepts packets addressed to the VIPs (keepalived accept, the default). ' +
    'false (keepalived no_accept): lvsd drops them with an nftables table of its own, inet lvsd, on the input hook at priority 100, after IPVS\'s LOCAL_IN hooks (98, 99), ' +
    'so traffic a virtual service balances still passes and only what IPVS leaves to the local stack is dropped; ARP and IPv6 neighbour discovery still pass. ' +
    'The owner (priority 255) always accepts. Needs nft (Debian package nftables). global.vrrp_strict turns it off for every instance.'), true),
  dscp: opt(int(0, 63, 'DSCP of the adverts; default 48 (CS6, RFC 4594 network control), which keepalived sends too.')),
  max_learned_advert_interval: opt(duration('Version 3: the longest master advert interval a backup adopts (RFC 5798 section 6.4.2 adopts any, up to 40.95s); a longer one is clamped to this and counted. ' +
    'Default 3 x advert_interval: a master advertising up to 3 times slower is learned exactly, one advertising slower still holds the backup while its interval stays under 3 x this value, ' +
    'and a single forged advert carrying 40.95s leaves the VIPs unowned for at most 3 x this + Skew_Time if the master dies (about 1.1s at 100ms) instead of about 2 minutes.', 10, 40_950)),
  unicast_checksum_compat: def(bool('Version 3 over IPv4: also accept unicast adverts whose checksum was computed over 224.0.0.18 instead of their destination, as keepalived up to 1.3.6 sent them. ' +
    'keepalived 2.2.7 accepts them too unless told old_unicast_checksum never (false here). lvsd always sends the RFC 5798 checksum.'), true),
  unicast: opt(obj({
    source: opt(ipAddress('Source address of the adverts; default the primary address of the interface.')),
    peers: arr(unicastPeer, 'Send adverts to these addresses instead of the multicast group.', { minItems: 1 }),
    check_source: opt(bool('Drop adverts whose source is not one of the peers (counted as unicast_src_unknown; keepalived check_unicast_src). Default global.vrrp_check_unicast_src, and true when a peer sets min_ttl or max_ttl.')),
    ttl: opt(int(1, 255, 'TTL / hop limit of the unicast adverts sent (keepalived unicast_ttl); default 255. For peers behind routers: each hop takes one off, and the receiving side accepts less than 255 only from a peer given min_ttl / max_ttl there.')),
  }, 'Unicast VRRP (no multicast on the wire).', { hints: { unicast_peer: "write 'peers'", unicast_src_ip: "write 'source'", check_unicast_src: "write 'check_source: true'", unicast_ttl: "write 'ttl'" } })),
  authentication: opt(obj({
    type: oneOf(['pass'], 'Simple password (RFC 2338 section 5.3.6.1); VRRPv2 only.', { ah: 'AH authentication is not supported (RFC 3768 removed it); use type: pass, or leave authentication out' }),
    password: str('Password, 1-8 characters (the v2 header has 8 bytes for it).', { minLength: 1, maxLength: 8 }),
  }, 'VRRPv2 authentication, for interoperating with keepalived configured with auth_type PASS.', {
    hints: { auth_type: "write 'type'", auth_pass: "write 'password'" },
  })),
  track: def(track, track.defaults(), {}),
  notify: opt(notify('this instance\'s')),
  garp: def(garp, garp.defaults(), {}),
  email_alerts: emailAlerts('state changes of this instance'),
  vmac: def(vmac, false, false),
  ipvlan: opt(ipvlan),
  vip_deleted: def(oneOf(['readd', 'fault', 'backup'], 'What a MASTER does when another program deletes one of its VIPs (seen from the kernel\'s RTM_DELADDR; logged): readd puts it back at once and announces it (more than 5 times in 10 s: FAULT for vip_deleted_hold, so a fight cannot spin); ' +
    'fault goes to FAULT for vip_deleted_hold so a peer takes over; backup leaves MASTER and lets the election decide, which is what keepalived 2.2.7 does.'), 'readd'),
  vip_deleted_hold: defDuration(duration('How long the FAULT after a deleted VIP lasts (vip_deleted: fault, or readd over its limit); then BACKUP and the election decides.', 100, 3_600_000), 10_000),
}, 'A VRRP virtual router this director takes part in.', {
  hints: {
    smtp_alert: "write 'email_alerts'",
    state: KEEPALIVED_STATE,
    nopreempt: 'write preempt: false',
    advert_int: "write 'advert_interval' with a unit, e.g. advert_interval: 1s",
    virtual_router_id: "write 'vrid'",
    virtual_ipaddress: "write 'virtual_ips'",
    unicast_peer: "write 'unicast: {peers: [...]}'",
    unicast_src_ip: "write 'unicast: {source: ...}'",
    track_interface: "write 'track: {interfaces: [...]}'",
    track_script: "write 'track: {scripts: [...]}'",
    authentication_type: "write 'authentication: {type: pass, password: ...}'",
    use_vmac: "write 'vmac: true' or 'vmac: {name: ...}'",
    vmac_xmit_base: "write 'vmac: {xmit_base: true}'",
    use_ipvlan: "write 'ipvlan: {name, address, mode}'",
    no_accept: 'write accept: false',
    strict_mode: 'lvsd has global.vrrp_strict (every instance); for one instance write accept: false',
    vrrp_strict: 'vrrp_strict belongs in global: it applies to every instance',
  },
}).refine((v, report) => {
  const families = new Set(v.virtual_ips.map((ip) => ip.family));
  const fam = instanceFamily(v);
  if (!v.virtual_ips.length && v.family === undefined && !v.unicast) report('virtual_ips', 'an instance without virtual IPs needs family: 4 or family: 6 (or unicast peers) to know whether its adverts are IPv4 or IPv6');
  if (v.family !== undefined && v.virtual_ips[0] && v.virtual_ips[0].family !== v.family) report('family', `family: ${v.family}, but the virtual IPs are IPv${v.virtual_ips[0].family}; drop family (the virtual IPs decide it)`);
  if (v.family !== undefined && !v.virtual_ips.length && v.unicast?.peers[0] && v.unicast.peers[0].family !== v.family) report('family', `family: ${v.family}, but the unicast peers are IPv${v.unicast.peers[0].family}`);
  if (v.version === 2 && fam === 6 && !v.virtual_ips.length) report('version', 'an IPv6 instance needs version: 3 (VRRPv2 is IPv4 only, RFC 3768)');
  if (families.size > 1) {
    const i = v.virtual_ips.findIndex((ip) => ip.family !== fam);
    report(`virtual_ips[${i}]`, `an instance's virtual IPs must all be IPv${fam} like the first (RFC 5798 section 5.2.9); use a second instance for IPv${fam === 4 ? 6 : 4}`);
  }
  if (v.version === 2) {
    const i = v.virtual_ips.findIndex((ip) => ip.family === 6);
    if (i >= 0) report(`virtual_ips[${i}]`, 'IPv6 virtual IPs need version: 3 (VRRPv2 is IPv4 only, RFC 3768)');
    if (v.advert_interval % 1000 !== 0 || v.advert_interval < 1000) report('advert_interval', `version 2 adverts are whole seconds, 1s-255s (RFC 3768 section 5.3.7); got ${formatDuration(v.advert_interval)} (sub-second needs version: 3)`);
    if (v.max_learned_advert_interval !== undefined) report('max_learned_advert_interval', 'version 2 backups never learn the interval (RFC 3768 section 7.1 drops adverts whose interval differs); drop this key or use version: 3');
  } else {
    if (v.advert_interval % 10 !== 0 || v.advert_interval > 40_950) report('advert_interval', `version 3 adverts are in centiseconds, 10ms-40.95s (RFC 5798 section 5.2.7); got ${formatDuration(v.advert_interval)}`);
    if (v.authentication) report('authentication', 'version 3 has no authentication (RFC 5798 section 9 removed it); drop this key or use version: 2');
    if (v.max_learned_advert_interval !== undefined && v.max_learned_advert_interval < v.advert_interval) report('max_learned_advert_interval', `must be at least advert_interval (${formatDuration(v.advert_interval)}): a backup would clamp the interval of a master configured like itself`);
  }
  if (v.priority === 255 && !v.owner) report('priority', 'priority 255 is for the address owner (RFC 5798 section 5.2.4); set owner: true if these VIPs are this router\'s own addresses, else use 1-254');
  if (v.owner && v.priority !== 255) report('owner', 'the address owner must have priority: 255 (RFC 5798 section 5.2.4)');
  if (v.unicast) {
    if (v.unicast.source && v.unicast.source.family !== fam) report('unicast.source', `IPv${v.unicast.source.family} source for an instance with IPv${fam} ${v.virtual_ips.length ? 'virtual IPs' : 'peers'}`);
    v.unicast.peers.forEach((p, i) => { if (p.family !== fam) report(`unicast.peers[${i}]`, `IPv${p.family} peer for an instance with IPv${fam} ${v.virtual_ips.length ? 'virtual IPs; VRRP runs over the VIPs\' family' : 'peers; all peers must be of one family'}`); });
    if (v.unicast.check_source === false && v.unicast.peers.some((p) => p.min_ttl !== undefined || p.max_ttl !== undefined)) report('unicast.check_source', 'min_ttl / max_ttl are checked per peer, so they need check_source; drop check_source: false (keepalived turns it on for them too)');
    const seen = new Set<string>();
    v.unicast.peers.forEach((p, i) => { if (seen.has(p.address)) report(`unicast.peers[${i}]`, `peer ${p.address} is listed twice`); seen.add(p.address); });
  }
  // keepalived refuses these too: a unicast advert from the macvlan would carry the shared virtual MAC.
  if (v.vmac && v.unicast && !v.vmac.xmit_base) report('vmac', 'unicast peers need vmac: {xmit_base: true} (keepalived: "use_vmac with unicast peers needs vmac_xmit_base")');
  if (v.vmac && v.ipvlan) report('ipvlan', 'give vmac or ipvlan, not both');
  if (v.ipvlan && fam === 4 && !v.ipvlan.address) report('ipvlan.address', 'an IPv4 instance on an ipvlan needs its address (the adverts\' source)');
  if (v.ipvlan?.address && v.ipvlan.address.family !== fam) report('ipvlan.address', `IPv${v.ipvlan.address.family} address for an instance with IPv${fam} virtual IPs`);
  const vipSeen = new Map<string, number>();
  v.virtual_ips.forEach((ip, i) => {
    const dev = ip.device ?? v.interface;
    if (ip.label !== undefined && ip.device === undefined && !ip.label.startsWith(dev)) report(`virtual_ips[${i}].label`, `label ${quoteValue(ip.label)} must start with the device name ${quoteValue(dev)} (kernel rule)`);
    const j = vipSeen.get(ip.address);
    if (j !== undefined) report(`virtual_ips[${i}]`, `${ip.address} is already virtual_ips[${j}]`);
    vipSeen.set(ip.address, i);
  });
});

const syncGroupSchema = obj({
  name: name('sync group'),
  instances: arr(refName('VRRP instance'), 'Instances that change state together: if one goes to FAULT or BACKUP, all do.', { minItems: 2 }),
  notify: opt(notify('the group\'s')),
  email_alerts: emailAlerts('state changes of the whole group'),
  track: def(obj({ ...track.fields }, 'Things every member depends on: each item counts for every instance of the group, as if each tracked it (keepalived sync group track_interface, track_script, track_file, track_process).'), track.defaults(), {}),
}, 'VRRP instances that fail over together (keepalived vrrp_sync_group).', { hints: { group: "write 'instances'", smtp_alert: "write 'email_alerts'",
  track_interface: "write 'track: {interfaces: [...]}'", track_script: "write 'track: {scripts: [...]}'", track_file: "write 'track: {files: [...]}'", track_process: "write 'track: {processes: [...]}'" } });

const trackScriptSchema = obj({
  name: name('track script'),
  argv: argv('The script; exit 0 means up.'),
  interval: defDuration(duration('Run it this often.', 10, 86_400_000), 1000),
  timeout: opt(duration('Kill it and count a failure after this long; default the interval.', 10, 86_400_000)),
  rise: def(int(1, 1000, 'Successes in a row before it counts as up.'), 1),
  fall: def(int(1, 1000, 'Failures in a row before it counts as down.'), 1),
  weight: opt(weightDelta('Default weight for instances tracking it (see track.scripts[].weight).')),
  user: opt(str('Run as this user instead of global.script_user.', { minLength: 1 })),
  reverse: opt(bool('Default reverse for instances tracking it (see track.scripts[].reverse; keepalived weight ... reverse).')),
  init_fail: def(bool('Start as failed (down) instead of unknown, until rise successes (keepalived init_fail): an instance tracking it starts in FAULT (or without its weight) rather than electing before the first result.'), false),
}, 'A script VRRP instances can track (keepalived vrrp_script).', { hints: { script: "write 'argv' as a list: argv: [/path/to/script, arg]" } })
  .refine((s, report) => {
    checkArgv(s.argv, 'argv', report);
    if (s.timeout !== undefined && s.timeout > s.interval) report('timeout', 'timeout longer than interval: runs would overlap');
  });

// keepalived vrrp_track_process; vrrp/track-process.ts (the kernel's process events, not polling).
const trackProcessSchema = obj({
  name: name('track process'),
  process: str('The process name as in /proc/PID/comm (the Name: of /proc/PID/status; the kernel keeps its first 15 bytes), matched exactly (pgrep \'^name$\'); with full_command, params or param_match, argv[0] of /proc/PID/cmdline.', { minLength: 1, maxLength: 4096 }),
  params: opt(arr(str('An argument.', { maxLength: 4096 }), 'Arguments the process must have (argv[1..] of /proc/PID/cmdline): all of them, exactly, unless param_match says otherwise (keepalived process NAME PARAM...).', { maxItems: 256 })),
  param_match: opt(oneOf(['initial', 'partial'], 'partial: the first arguments are params, more may follow; initial: as partial, and the last param may be the start of a longer argument. With no params, param_match means "no arguments at all".')),
  full_command: def(bool('Match process against argv[0] of the command line instead of the process name (keepalived full_command; pgrep -f).'), false),
  quorum: def(int(0, 65535, 'At least this many matching processes for up.'), 1),
  quorum_max: opt(int(0, 65535, 'At most this many for up (0: up only while none runs).')),
  fork_delay: defDuration(duration('A gain of the quorum caused by a fork counts only after this long (a forked child often execs something else at once).', 0, 3_600_000), 0),
  terminate_delay: defDuration(duration('A loss of the quorum counts only after this long (a process being restarted).', 0, 3_600_000), 0),
  weight: opt(weightDelta('Default weight for instances tracking it (see track.processes[].weight). Without weight, FAULT while the quorum is not met. keepalived defaults to weight 1: lvsd import writes it.')),
  reverse: opt(bool('Default reverse for instances tracking it (keepalived weight ... reverse).')),
}, 'A process VRRP instances can track (keepalived vrrp_track_process), followed through the kernel\'s process events (exec, exit, name changes): a loss is seen within milliseconds.', {
  hints: { delay: "write fork_delay and terminate_delay", vrrp_track_process: "write 'track_processes'" },
}).refine((p, report) => {
  if (p.quorum_max !== undefined && p.quorum_max < p.quorum) report('quorum_max', `quorum_max ${p.quorum_max} is below quorum ${p.quorum}: never up`);
});

// keepalived track_file (vrrp_track_file) for VRRP; vrrp/track-file.ts.
const trackFileSchema = obj({
  name: name('track file'),
  path: str('The file holding an integer (read at most 64 bytes, as FILE_CHECK; followed with inotify on its directory and re-read every interval). Missing or not an integer = FAULT.', { pattern: /^\//, patternHelp: 'must be an absolute path' }),
  weight: opt(int(-2147483647, 2147483647, 'Default weight for instances tracking it. Without weight (or 0): the value is a status, 0 = up, anything else = FAULT. Otherwise value x weight is added to the priority, and a result below -253 = FAULT. keepalived defaults to weight 1: lvsd import writes it.')),
  reverse: opt(bool('Negate (keepalived weight ... reverse): without weight, 0 = FAULT and anything else up; otherwise value x weight is subtracted.')),
  interval: defDuration(duration('Re-read this often as well, in case a change notification was missed.', 100, 86_400_000), 5000),
}, 'A file VRRP instances can track (keepalived track_file).', { hints: { file: "write 'path'", init_file: 'lvsd does not create or write the file: create it before lvsd starts (a missing file is FAULT)' } });

/** track.processes / track.files name entries of track_processes / track_files. */
function checkTrackRefs(c: { vrrp_instances: { track: { processes: { name: string }[]; files: { name: string }[] } }[]; vrrp_sync_groups: { track: { processes: { name: string }[]; files: { name: string }[]; scripts: { name: string }[] } }[]; track_processes: { name: string }[]; track_files: { name: string }[]; track_scripts: { name: string }[] }, report: (p: string, m: string) => void): void {
  const procs = new Set(c.track_processes.map((p) => p.name));
  const files = new Set(c.track_files.map((f) => f.name));
  const check = (base: string, t: { processes: { name: string }[]; files: { name: string }[] }) => {
    t.processes.forEach((p, k) => { if (!procs.has(p.name)) report(`${base}.track.processes[${k}].name`, `unknown track process ${quoteValue(p.name)}; ${nameList(procs, procs.size)}`); });
    t.files.forEach((f, k) => { if (!files.has(f.name)) report(`${base}.track.files[${k}].name`, `unknown track file ${quoteValue(f.name)}; ${nameList(files, files.size)}`); });
  };
  c.vrrp_instances.forEach((v, i) => check(`vrrp_instances[${i}]`, v.track));
  c.vrrp_sync_groups.forEach((g, i) => check(`vrrp_sync_groups[${i}]`, g.track));
  // An instance's scripts are checked with the other cross-references (semantic.ts); a group's here.
  const scripts = new Set(c.track_scripts.map((t) => t.name));
  c.vrrp_sync_groups.forEach((g, i) => g.track.scripts.forEach((t, k) => { if (!scripts.has(t.name)) report(`vrrp_sync_groups[${i}].track.scripts[${k}].name`, `unknown track script ${quoteValue(t.name)}; ${nameList(scripts, scripts.size)}`); }));
}

// ---- health checks ----

/** HTTP status codes: `200`, `200-299`, or a list of those. Kept as inclusive ranges. */
export type StatusRange = readonly [number, number];
function parseStatusItem(v: unknown): { ok: true; value: StatusRange } | { ok: false; message: string } {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599) return { ok: true, value: [v, v] };
  if (typeof v === 'string') {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(v);
    if (m) {
      const lo = Number(m[1]), hi = Number(m[2] ?? m[1]);
      if (lo >= 100 && hi <= 599 && lo <= hi) return { ok: true, value: [lo, hi] };
    }
  }
  return { ok: false, message: `${quoteValue(String(v))} is not an HTTP status or range (100-599, e.g. 200 or 200-299)` };
}
const statusItem = custom<StatusRange>(parseStatusItem, { oneOf: [{ type: 'integer', minimum: 100, maximum: 599 }, { type: 'string', pattern: '^[1-5][0-9]{2}(-[1-5][0-9]{2})?$' }] });
const statusList = custom<StatusRange[]>((v) => {
  const r = parseStatusItem(v);
  return r.ok ? { ok: true, value: [r.value] } : r;
}, statusItem.jsonSchema());
const status = alt(statusList, arr(statusItem, undefined, { minItems: 1 }), 'Statuses that mean up: 200, "200-299" or [200, "301-302"]. Default 200-299.');

const timing = {
  interval: defDuration(duration('Time between checks.', 10, 86_400_000), 5000),
  timeout: defDuration(duration('A check that has not finished after this long failed (connect and whole response). May exceed the interval: the next check starts an interval after this one ends, never during it.', 10, 3_600_000), 2000),
  retries: def(int(1, 100, 'Failures in a row before the real server is taken out.'), 1),
  rise: def(int(1, 100, 'Successes in a row before it is put back.'), 1),
  delay_before_retry: defDuration(duration('Delay after a failure before checking again (keepalived delay_before_retry).', 0, 3_600_000), 1000),
  warmup: defDuration(duration('Random delay, up to this, before the first check, to spread load.', 0, 3_600_000), 0),
};
const target = {
  source: opt(maybeEndpoint('Source address[:port] for probes.')),
  bind_interface: opt(ifname('Send probes through this interface (SO_BINDTODEVICE).')),
  fwmark: opt(int(1, 0xffffffff, 'Mark probe packets (SO_MARK), for policy routing.')),
  address: opt(ipAddress('Probe this address instead of the real server\'s.')),
  port: opt(int(1, 65535, 'Probe this port instead of the real server\'s.')),
};
/** A JavaScript regular expression, checked at load. */
const jsRegex = (description: string) => str(description, {
  minLength: 1,
  // V8's message holds the whole expression: shown again cut to one line, with V8's reason (the text after its last ': ').
  check: (s) => { try { new RegExp(s); return undefined; } catch (e) { const m = (e as Error).message; return `Invalid regular expression: /${oneLine(s, 60)}/: ${m.slice(m.lastIndexOf(': ') + 2)}`; } },
});
const urlPath = str('Request path.', { pattern: /^\//, patternHelp: 'must start with /' });
const digest = str('MD5 of the response body in hex, as keepalived genhash prints it.', { pattern: /^[0-9a-fA-F]{32}$/, patternHelp: 'is not an MD5 digest (32 hex digits)' });
const maxBodyBytes = (description: string) => int(0, 64 * 1024 * 1024, description);
/** Request headers lvsd writes itself, or that would change how the probe's bytes are framed. */
const HEADER_HINTS: Readonly<Record<string, string>> = {
  host: "write 'host' on the check", 'content-length': "lvsd sets it from 'body'", 'transfer-encoding': "lvsd sends 'body' with a Content-Length",
  connection: "write 'keepalive: true' to reuse connections", 'keep-alive': "write 'keepalive: true'", upgrade: 'a probe does not upgrade the connection',
  expect: 'a probe sends its body at once',
};
/** RFC 9110 §5.6.2 token: a field name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Request headers: a mapping of field names to values (RFC 9110 §5: no CR, LF or NUL in a value). */
class HeaderMap extends Type<Record<string, string>> {
  static readonly MAX = 32;
  protected decodeNode(node: unknown, at: At, ctx: DecodeContext): Record<string, string> | Invalid {
    if (!isMap(node)) { ctx.report(at.offset, at.path, `expected a mapping of header names to values (X-Probe: lvsd), got ${describe(node)}`); return INVALID; }
    if (node.items.length > HeaderMap.MAX) { ctx.report(at.offset, at.path, `at most ${HeaderMap.MAX} headers`); return INVALID; }
    const out: Record<string, string> = {};
    const seen = new Set<string>();
    let bad = false;
    const value = str(undefined, { maxLength: 4096, check: (v) => (/[\r\n\0]/.test(v) ? 'a header value must not hold CR, LF or NUL' : undefined) });
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      const offset = (pair.key as { range?: number[] } | null)?.range?.[0] ?? at.offset;
      if (typeof key !== 'string' || !TOKEN.test(key) || key.length > 256) {
        ctx.report(offset, at.path, `${typeof key === 'string' ? quoteValue(key) : describe(pair.key)} is not a header name (letters, digits and !#$%&'*+.^_\`|~-)`);
        bad = true;
        continue;
      }
      const path = joinKey(at.path, key);
      const lower = key.toLowerCase();
      const hint = HEADER_HINTS[lower];
      if (hint) { ctx.report(offset, path, `lvsd does not send a ${key} header from 'headers'; ${hint}`); bad = true; continue; }
      if (seen.has(lower)) { ctx.report(offset, path, 'duplicate header (names are case-insensitive)'); bad = true; continue; }
      seen.add(lower);
      // A number or boolean value is taken as written ("X-Weight: 5").
      const v = isScalar(pair.value) && (typeof pair.value.value === 'number' || typeof pair.value.value === 'boolean') ? String(pair.value.value) : value.decode(pair.value, { path, offset }, ctx);
      if (v === INVALID) bad = true; else out[key] = v;
    }
    return bad ? INVALID : out;
  }
  protected schema(): JsonSchema {
    return { type: 'object', patternProperties: { [TOKEN.source]: { type: ['string', 'number', 'boolean'], maxLength: 4096 } }, additionalProperties: false, maxProperties: HeaderMap.MAX };
  }
}
/** keepalived http_protocol 1.0 / 1.1; YAML reads an unquoted 1.0 as the number 1. */
const httpVersion = custom<'1.0' | '1.1'>((v) => {
  if (v === '1.0' || v === 1) return { ok: true, value: '1.0' };
  if (v === '1.1' || v === 1.1) return { ok: true, value: '1.1' };
  if (v === '1.0C' || v === '1.0c') return { ok: false, message: "'1.0C' is keepalived's HTTP/1.0 with Connection: close: write \"1.0\" (lvsd always closes unless keepalive: true)" };
  return { ok: false, message: `${quoteValue(String(v))} is not an HTTP version lvsd speaks; write "1.0" or "1.1"` };
}, { enum: ['1.0', '1.1'] }, 'HTTP version of the request line: "1.1" (default) or "1.0" (keepalived http_protocol; its 1.0C and 1.1 both send Connection: close, as lvsd does unless keepalive is set).');
const httpUrl = obj({
  path: urlPath,
  status: def(status, [[200, 299]] as StatusRange[], '200-299'),
  digest: opt(digest),
  body_regex: opt(jsRegex('The body must match this JavaScript regular expression.')),
  body_regex_no_match: opt(jsRegex('The body must not match this JavaScript regular expression (keepalived regex with regex_no_match).')),
  max_body_bytes: opt(maxBodyBytes('Read at most this much of this URL\'s body; default the check\'s max_body_bytes.')),
}, 'One URL of the check and what its answer must be (keepalived url block).', {
  hints: { status_code: "write 'status'", regex: "write 'body_regex'", regex_no_match: "write the expression as 'body_regex_no_match'", virtualhost: "write 'host' on the check" },
});
const http = {
  path: def(urlPath, '/'),
  host: opt(str('Host header; default the probed address.', { minLength: 1 })),
  status: def(status, [[200, 299]] as StatusRange[], '200-299'),
  digest: opt(digest),
  body_regex: opt(jsRegex('The body must match this JavaScript regular expression.')),
  body_regex_no_match: opt(jsRegex('The body must not match this JavaScript regular expression (keepalived regex with regex_no_match).')),
  max_body_bytes: def(maxBodyBytes('Read at most this much of the body (for digest and the body regexes); more fails the check.'), 1024 * 1024),
  urls: opt(arr(httpUrl, 'Several URLs, each with its own expectations, instead of path/status/digest/body_regex (keepalived: several url blocks). All must pass; they are probed in order, each within timeout, and the first failure is the reason ("/health: status 503").', { minItems: 1, maxItems: 64 })),
  method: def(oneOf(['GET', 'HEAD', 'POST'], 'Request method.'), 'GET'),
  body: opt(str('Request body, for POST (sent with a Content-Length).', { maxLength: 64 * 1024 })),
  headers: opt(new HeaderMap('Extra request headers: a mapping of names to values. Host, Content-Length, Transfer-Encoding and Connection are lvsd\'s own (host, body, keepalive).')),
  keepalive: def(bool('Keep the connection open between probes and reuse it (HTTP/1.1 keep-alive). Default false: a fresh connection per probe, with Connection: close, as keepalived does.'), false),
  http_version: def(httpVersion, '1.1'),
};
/** Rules across the HTTP keys (the refine of http and https checks). */
function checkHttpFields(v: unknown, report: (p: string, m: string) => void): void {
  // Called from checkVariants' generic variants, where the shape is opaque to TypeScript; these keys exist by construction.
  const c = v as { path: string; status: readonly StatusRange[]; digest?: string; body_regex?: string; body_regex_no_match?: string; urls?: unknown[]; method: string; body?: string; keepalive: boolean; http_version: string };
  if (c.urls) {
    // path and status have defaults, so only a value other than the default shows it was written.
    const single = [c.path !== '/' && 'path', !(c.status.length === 1 && c.status[0]![0] === 200 && c.status[0]![1] === 299) && 'status',
      c.digest !== undefined && 'digest', c.body_regex !== undefined && 'body_regex', c.body_regex_no_match !== undefined && 'body_regex_no_match'].filter((x): x is string => !!x);
    if (single.length) report(single[0]!, `give either urls or ${single.join(', ')} (one URL), not both; move ${single.length === 1 ? 'it' : 'them'} into an item of urls`);
  }
  if (c.body !== undefined && c.method !== 'POST') report('body', `a body is sent with method: POST only (this check uses ${c.method})`);
  if (c.keepalive && c.http_version === '1.0') report('keepalive', 'keep-alive needs http_version "1.1"');
}
const tls = obj({
  sni: opt(str('Server name sent in the TLS handshake (and verified); default the Host header.', { minLength: 1 })),
  verify: def(bool('Verify the certificate chain and name.'), true),
  ca_file: opt(str('PEM bundle of trusted CAs; default the system store.', { pattern: /^\//, patternHelp: 'must be an absolute path' })),
  cert_file: opt(str('PEM client certificate (chain) for mutual TLS; with key_file.', { pattern: /^\//, patternHelp: 'must be an absolute path' })),
  key_file: opt(str('PEM private key of cert_file (unencrypted).', { pattern: /^\//, patternHelp: 'must be an absolute path' })),
}, 'TLS options.').refine((t, report) => {
  if (t.cert_file !== undefined && t.key_file === undefined) report('cert_file', 'a client certificate needs its key_file');
  if (t.key_file !== undefined && t.cert_file === undefined) report('key_file', 'key_file needs the cert_file it belongs to');
});
const smtp = {
  helo_name: def(str('Name sent with EHLO (and HELO); keepalived helo_name.', { minLength: 1, maxLength: 255, pattern: /^[\x21-\x7e]+$/, patternHelp: 'must be one word of printable ASCII (a domain or an address literal)' }), 'smtpchecker.keepalived.org'),
  starttls: def(bool('After EHLO, STARTTLS (RFC 3207) and EHLO again over TLS, with the tls options; fails when the server does not offer it.'), false),
  tls: def(tls, tls.defaults(), {}),
};
const script = {
  argv: argv('The check program; exit 0 means up.'),
  user: opt(str('Run as this user instead of global.script_user.', { minLength: 1 })),
  dynamic_weight: def(bool('Exit codes 2-255 mean up with weight (code - 2), as keepalived misc_dynamic.'), false),
};
// keepalived FILE_CHECK with its track_file (keepalived.conf(5) "Track files"); checkers/file.ts.
const fileCheck = {
  path: str('The file holding an integer (read at most 64 bytes; followed with inotify and re-read every interval). Missing or not an integer = down.', { pattern: /^\//, patternHelp: 'must be an absolute path' }),
  weight: def(int(-2147483647, 2147483647, 'keepalived track_file weight. 0: the value is a status, 0 = up and anything else = down. Otherwise value x weight is added to the real server\'s weight (a result at or below -2147483648 = down).'), 0),
  reverse: def(bool('Negate: with weight 0, 0 = down and anything else = up; otherwise value x weight is subtracted (keepalived weight ... reverse).'), false),
};
// HAProxy agent-check (configuration manual, "agent-check"); checkers/agent.ts, checkers/agent-reply.ts.
const agentCheck = {
  ...target,
  port: int(1, 65535, 'Port the agent listens on (HAProxy agent-port); required: an agent is not the service itself.'),
  protocol: def(oneOf(['tcp', 'http'], 'tcp: connect, send `send` if set, read one line (HAProxy agent-check); http: GET `path`, the first line of a 2xx body is the reply.'), 'tcp'),
  path: opt(str('Request path for protocol http (default /).', { pattern: /^\//, patternHelp: 'must start with /' })),
  send: opt(str('Text sent after connecting, for protocol tcp (HAProxy agent-send), e.g. "web\\n"; at most 512 bytes.', { minLength: 1, maxLength: 512 })),
};

// DNS_CHECK (checkers/dns.ts). Defaults as keepalived's check_dns.c: the root's SOA, RD set. The type names
// are keys of checkers/dns-message.ts DNS_TYPES (the runner's lookup fails to compile otherwise).
const DNS_QUERY_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT', 'NAPTR', 'CAA', 'DS', 'DNSKEY'] as const;
const DNS_RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'] as const;
/** RFC 1035 §2.3.4: labels of 1-63 bytes, 255 on the wire; printable ASCII (RFC 4343 presentation escapes are not taken). */
function dnsNameProblem(s: string): string | undefined {
  if (s === '.') return undefined;
  const labels = (s.endsWith('.') ? s.slice(0, -1) : s).split('.');
  if (labels.some((l) => l.length === 0)) return `${quoteValue(s)} has an empty label (two dots, or a leading dot)`;
  if (labels.some((l) => l.length > 63)) return `${quoteValue(s)} has a label longer than 63 characters`;
  if (labels.some((l) => !/^[\x21-\x2d\x2f-\x5b\x5d-\x7e]+$/.test(l))) return `${quoteValue(s)}: a name is printable ASCII without spaces or backslashes`;
  if (labels.reduce((n, l) => n + l.length + 1, 1) > 255) return `${quoteValue(s)} is longer than 255 bytes on the wire`;
  return undefined;
}
const dnsRcode = oneOf(DNS_RCODES);
function checkDnsFields(v: unknown, report: (p: string, m: string) => void): void {
  // Called from checkVariants' generic variants, where the shape is opaque to TypeScript; these keys exist by construction.
  const c = v as { query_type: string; answers?: IpAddress[] };
  (c.answers ?? []).forEach((a, i) => {
    const want = a.family === 4 ? 'A' : 'AAAA';
    if (c.query_type !== want) report(`answers[${i}]`, `an IPv${a.family} address is answered in ${want} records: write query_type: ${want} (not ${c.query_type})`);
  });
}
const dnsCheck = {
  ...target,
  query: def(str("Name to query (keepalived DNS_CHECK 'name'; lvsd's own 'name' names the check): dotted, '.' for the root, a trailing dot optional.", { minLength: 1, maxLength: 254, check: dnsNameProblem }), '.'),
  query_type: def(oneOf(DNS_QUERY_TYPES, "Record type to ask for, class IN (keepalived DNS_CHECK 'type')."), 'SOA'),
  transport: def(oneOf(['udp', 'tcp'], 'udp: one datagram to the port (a reply with TC set is asked again over TCP within the timeout); tcp: a TCP connection with RFC 7766 framing.'), 'udp'),
  rcode: def(alt(mapped(dnsRcode, (v) => [v]), arr(dnsRcode, undefined, { minItems: 1 }), 'RCODEs that mean up: NOERROR (default), or a list such as [NOERROR, NXDOMAIN]. keepalived accepts only NOERROR.'),
    ['NOERROR'] as (typeof DNS_RCODES)[number][], 'NOERROR'),
  answers: opt(arr(ipAddress('An address the answer must hold.'), "Addresses that must all appear in the answer section's A/AAAA records: IPv4 with query_type A, IPv6 with AAAA.", { minItems: 1 })),
  recursion_desired: def(bool('Set RD (recursion desired) in the query, as keepalived does.'), true),
};

// keepalived UDP_CHECK (keepalived/check/check_udp.c); checkers/udp.ts. The largest UDP payload over IPv4 is 65,507 bytes.
const MAX_UDP_PAYLOAD = 65_507;
const hexBytes = (description: string, wildcard = false) => str(description, {
  minLength: 1,
  check: (s) => {
    const compact = s.replace(/[\s:]/g, '');
    if (compact.length % 2 !== 0 || !(wildcard ? /^[0-9a-fA-F?]*$/ : /^[0-9a-fA-F]*$/).test(compact)) {
      return `${quoteValue(s)} is not bytes in hex (two hex digits a byte, spaces allowed: "0a 0b ff"${wildcard ? '; ? for a digit that may be anything' : ''})`;
    }
    return compact.length / 2 > MAX_UDP_PAYLOAD ? `longer than ${MAX_UDP_PAYLOAD} bytes (the largest UDP payload)` : undefined;
  },
});
const udpCheck = {
  ...target,
  payload: opt(str('Datagram sent, as text (UTF-8). Default: an empty datagram (keepalived sends random bytes). keepalived\'s own payload keyword is hex: write payload_hex.', {
    check: (s) => (Buffer.byteLength(s) > MAX_UDP_PAYLOAD ? `longer than ${MAX_UDP_PAYLOAD} bytes (the largest UDP payload)` : undefined),
  })),
  payload_hex: opt(hexBytes('Datagram sent, as bytes in hex ("0a0b ff"); instead of payload.')),
  require_reply: def(bool('Fail when no reply comes within the timeout. Without it silence passes, as keepalived UDP_CHECK by default: only an ICMP error (port unreachable, ...) fails.'), false),
  reply_hex: opt(hexBytes('The reply must start with these bytes (hex; a ? digit matches anything, keepalived\'s X); implies require_reply (keepalived require_reply HEX).', true)),
  reply_regex: opt(jsRegex('The reply, read as latin1 text (its first 4 KiB), must match this JavaScript regular expression; implies require_reply.')),
  min_reply_length: opt(int(0, 65535, 'A shorter reply fails. Default 0 (keepalived), checked when reply_hex or reply_regex is set.')),
  max_reply_length: opt(int(0, 65535, 'A longer reply fails. Default 255 (keepalived), checked when reply_hex or reply_regex is set.')),
};
// keepalived PING_CHECK; checkers/icmp.ts (raw ICMP / ICMPv6 sockets, echo request and reply).
const icmpCheck = {
  source: opt(ipAddress('Source address of echo requests.')),
  bind_interface: target.bind_interface,
  fwmark: target.fwmark,
  address: target.address,
  size: def(int(0, 65_000, 'Echo request payload bytes after the 8-byte ICMP header (ping -s); at least 8 to carry the random cookie replies are matched on.'), 56),
};

const checkHints = {
  ping: "write 'type: icmp' (keepalived PING_CHECK)", PING_CHECK: "write 'type: icmp'", UDP_CHECK: "write 'type: udp'",
  delay_loop: "write 'interval'", connect_timeout: "write 'timeout'", retry: "write 'retries'", nb_get_retry: "write 'retries'",
  status_code: "write 'status'", url: "write 'path' (and 'status', 'digest'), or 'urls: [{path: ...}, ...]' for several", connect_port: "write 'port'", bindto: "write 'source'",
  regex_no_match: "write the expression as 'body_regex_no_match'", http_protocol: "write 'http_version'", virtualhost: "write 'host'",
  ssl_cert: "write 'tls: {cert_file: ...}'", ssl_key: "write 'tls: {key_file: ...}'", enable_sni: "write 'tls: {sni: ...}'", sni_name: "write 'tls: {sni: ...}'",
  track_file: "write 'path' (the file itself) in a check of type file", dynamic: "a file check with a non-zero 'weight' adds to the real server's weight",
  'agent-port': "write 'port'", agent_port: "write 'port'", 'agent-send': "write 'send'", agent_send: "write 'send'", 'agent-inter': "write 'interval'", agent_inter: "write 'interval'", 'agent-addr': "write 'address'", agent_addr: "write 'address'",
};
function checkVariants<N extends Fields>(nameField: N) {
  const variant = <const K extends string, T extends Fields>(type: K, extra: T, description: string) =>
    obj({ ...nameField, type: oneOf<K>([type]), ...timing, ...extra }, description, { hints: checkHints }).refine((v, report) => {
      // Inside this generic helper the inferred shape is opaque to TypeScript; these keys exist by construction.
      const c = v as unknown as { timeout: number; interval: number; argv?: string[]; tls?: { verify: boolean; ca_file?: string } };
      // A timeout longer than the interval is fine: the next probe is scheduled when the running one ends
      // (checkers/runner.ts), as keepalived schedules its next check, so probes of one check never overlap.
      checkArgv(c.argv, 'argv', report);
      if (c.tls && !c.tls.verify && c.tls.ca_file !== undefined) report('tls.ca_file', 'ca_file is pointless with verify: false');
    });
  return {
    tcp: variant('tcp', target, 'Up when a TCP connection succeeds.'),
    http: variant('http', { ...target, ...http }, 'Up when an HTTP request (GET by default) answers with an expected status (and digest / body regexes when set), for each of its URLs.').refine(checkHttpFields),
    https: variant('https', { ...target, ...http, tls: def(tls, tls.defaults(), {}) }, 'HTTP over TLS.').refine(checkHttpFields),
    script: variant('script', script, 'Up when a program exits 0 (keepalived MISC_CHECK).'),
    dns: variant('dns', dnsCheck, 'Up when a DNS query (query, query_type) is answered with an accepted RCODE and, when set, every one of the answers (keepalived DNS_CHECK).').refine(checkDnsFields),
    smtp: variant('smtp', { ...target, ...smtp }, 'Up when an SMTP server greets with 220 and answers EHLO (or HELO) with 250, and STARTTLS when asked (keepalived SMTP_CHECK).'),
    file: variant('file', fileCheck, 'An integer in a file sets the real server up, down or its weight (keepalived FILE_CHECK / track_file).'),
    agent: variant('agent', agentCheck, 'An agent on the real server answers HAProxy\'s agent-check text: "75%" (of the configured weight), "drain" (weight 0), "down"/"fail"/"stopped"/"maint" (out), "up"/"ready" (back). Words not in a reply keep what the agent said before.').refine((c, report) => {
      // Inside the generic helper the shape is opaque to TypeScript (see variant above).
      const a = c as unknown as { protocol: 'tcp' | 'http'; send?: string; path?: string };
      if (a.protocol === 'http' && a.send !== undefined) report('send', 'send is for protocol tcp (an http agent gets a GET of path)');
      if (a.protocol === 'tcp' && a.path !== undefined) report('path', 'path is for protocol http');
    }),
    udp: variant('udp', udpCheck, 'Sends a datagram; an ICMP error about it fails at once; with require_reply (or reply_hex / reply_regex) the reply must come within the timeout and match (keepalived UDP_CHECK).').refine((c, report) => {
      // Inside the generic helper the shape is opaque to TypeScript (see variant above).
      const u = c as unknown as { payload?: string; payload_hex?: string; min_reply_length?: number; max_reply_length?: number };
      if (u.payload !== undefined && u.payload_hex !== undefined) report('payload_hex', 'give payload (text) or payload_hex, not both');
      if (u.min_reply_length !== undefined && u.max_reply_length !== undefined && u.min_reply_length > u.max_reply_length)
        report('min_reply_length', `min_reply_length ${u.min_reply_length} > max_reply_length ${u.max_reply_length}: every reply would fail`);
    }),
    icmp: variant('icmp', icmpCheck, 'Up when an ICMP / ICMPv6 echo reply comes back within the timeout (keepalived PING_CHECK).'),
  };
}
// keepalived's checker names and other spellings operators bring along, as a check's type.
const CHECK_TYPE_HINTS = {
  ping: "write 'icmp' (keepalived PING_CHECK)", icmp_echo: "write 'icmp'", ping_check: "write 'icmp'", udp_check: "write 'udp'", dns_check: "write 'dns'",
  smtp_check: "write 'smtp'", file_check: "write 'file'", tcp_check: "write 'tcp'", http_get: "write 'http'", ssl_get: "write 'https'",
  misc_check: "write 'script'", misc: "write 'script'", exec: "write 'script'", ssl: "write 'https'", tls: "write 'https'", track_file: "write 'file'",
  bfd_check: 'lvsd has no BFD check; announced VIPs use BFD through FRR or BIRD (see announce)',
};
export const namedCheckSchema = tagged('type', checkVariants({ name: name('health check') }), 'A named health check, usable by many services.', CHECK_TYPE_HINTS);
const inlineCheckSchema = tagged('type', checkVariants({ name: opt(name('health check')) }), 'A health check.', CHECK_TYPE_HINTS);
const checkRef = alt(refName('health check'), inlineCheckSchema, 'The name of a check in `checks`, or a check written inline.');

// ---- IPVS virtual services ----

// twos (random of two, by weight) needs Linux 6.2 or later; an older kernel refuses the service.
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'] as const;
// ip_vs.h: IP_VS_SVC_F_SCHED_SH_FALLBACK / _SH_PORT are SCHED1 / SCHED2; ipvsadm maps mh-fallback / mh-port to the same bits.
export const SCHEDULER_FLAGS = { 'sh-fallback': 'sh', 'sh-port': 'sh', 'mh-fallback': 'mh', 'mh-port': 'mh' } as const;
const forwarding = (description: string) => oneOf(['nat', 'dr', 'tunnel'], description, {
  masq: "write 'nat'", route: "write 'dr'", gate: "write 'dr'", direct: "write 'dr'", tun: "write 'tunnel'", ipip: "write 'tunnel' (and tunnel: {type: ipip})",
});
const tunnel = obj({
  type: def(oneOf(['ipip', 'gue', 'gre'], 'Encapsulation (IPVS_DEST_ATTR_TUN_TYPE).'), 'ipip'),
  port: opt(int(1, 65535, 'Destination UDP port of GUE packets; required for gue, only for gue.')),
  checksum: def(oneOf(['none', 'csum', 'remcsum'], 'Tunnel checksums: csum for gue and gre, remcsum (remote checksum offload) for gue only.'), 'none'),
}, 'Tunnel encapsulation for forwarding: tunnel.').refine((t, report) => {
  if (t.type === 'gue' && t.port === undefined) report('', 'gue needs a port');
  if (t.type !== 'gue' && t.port !== undefined) report('port', `port applies only to type gue, not ${t.type}`);
  if (t.type === 'ipip' && t.checksum !== 'none') report('checksum', 'ipip has no checksum options (only gue and gre)');
  if (t.type === 'gre' && t.checksum === 'remcsum') report('checksum', 'remcsum is only for gue');
});
export type TunnelConfig = Infer<typeof tunnel>;

const realServerSchema = obj({
  address: maybeEndpoint('Real server address:port; the port may be left out for fwmark services (then the request\'s port is kept) or to use the service\'s port.'),
  weight: def(int(0, 2147483647, 'Relative capacity; 0 = quiescent (no new connections). ipvsadm range.'), 1),
  upper_threshold: opt(int(0, 65535, 'No new connections above this many (0 = no limit).')),
  lower_threshold: opt(int(0, 65535, 'Take new connections again below this many.')),
  forwarding: opt(forwarding('Override the service\'s forwarding method.')),
  tunnel: opt(tunnel),
  checks: opt(arr(checkRef, 'Override the service\'s checks; [] = always up.')),
  inhibit_on_failure: opt(bool('Override the service\'s inhibit_on_failure for this real server: when it fails, true keeps it at weight 0 (existing connections live on), false removes it (keepalived real_server inhibit_on_failure).')),
  slow_start: opt(duration('Override the service\'s slow_start for this real server (0 = none).', 0, 3_600_000)),
  notify: opt(obj({ up: opt(argv('Run when it comes up.')), down: opt(argv('Run when it goes down.')) }, 'Commands on state change.')
    .refine((n, report) => { checkArgv(n.up, 'up', report); checkArgv(n.down, 'down', report); })),
  email_alerts: emailAlerts('this real server going down or up'),
}, 'A real server behind the virtual service.', {
  hints: {
    smtp_alert: "write 'email_alerts'", lb_kind: "write 'forwarding'", slowstart: "write 'slow_start'" },
}).refine((r, report) => {
  if (r.upper_threshold !== undefined && r.lower_threshold !== undefined && r.lower_threshold > r.upper_threshold) {
    report('lower_threshold', `lower_threshold ${r.lower_threshold} is above upper_threshold ${r.upper_threshold}`);
  }
});

const persistence = obj({
  timeout: defDuration(duration('How long a client sticks to its real server after its last connection (whole seconds).', 1000, 2_678_400_000), 300_000),
  netmask: opt(custom<number>((v) => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 128) return { ok: true, value: v };
    if (typeof v === 'string') return netmaskToPrefix(v);
    return { ok: false, message: `${quoteValue(String(v))}: write an IPv4 netmask (255.255.255.0) or a prefix length (1-128)` };
  }, { oneOf: [{ type: 'string' }, { type: 'integer', minimum: 1, maximum: 128 }] }, 'Group clients by this mask: IPv4 dotted mask or prefix length (IPv6: 1-128). Default one client per address.')),
  engine: opt(oneOf(['sip'], 'Persistence engine (IPVS_SVC_ATTR_PE_NAME; keepalived persistence_engine): sip sticks the calls of one SIP Call-ID to one real server (kernel module ip_vs_pe_sip; UDP services).')),
}, 'Send a client to the same real server for a while.', { hints: { pe: "write 'engine'", persistence_engine: "write 'engine'" } }).refine((p, report) => {
  if (p.timeout % 1000 !== 0) report('timeout', 'IPVS persistence timeouts are whole seconds');
});

const SORRY_ADDRESS = 'Sorry server address:port; port 0 (fwmark and all-ports services) keeps the request\'s port.';
const sorryServerObject = obj({
  address: endpoint(SORRY_ADDRESS, true),
  forwarding: opt(forwarding('Forwarding to it; default the service\'s.')),
  inhibit: opt(bool('Once the sorry server has served, keep it in the table at weight 0 when the real servers are back, instead of removing it (keepalived sorry_server_inhibit: its connections live on). Default false.')),
});
export type SorryServerConfig = Infer<typeof sorryServerObject>;
const sorryServer = mapped(
  alt(endpoint(SORRY_ADDRESS, true), sorryServerObject, 'Where traffic goes when no real server is up (or quorum is lost): "10.0.1.100:80" or {address, forwarding, inhibit}.'),
  (v): SorryServerConfig => ('port' in v ? { address: v } : v),
);

// keepalived virtual_server_group: one service definition over many addresses and fwmarks, each an IPVS
// service with the same settings and real servers; the checks run once per real server, one quorum.
const groupAddress = custom<AddressRange>((v) => parseAddressRange(v), { type: 'string' },
  'ADDRESS:PORT or a range FIRST-LAST:PORT, both ends included: 192.0.2.10-20:80 (the last byte), 192.0.2.250-192.0.3.5:80, [2001:db8::10-1f]:443 (the last group, hex).');
const serviceGroup = obj({
  addresses: def(arr(groupAddress, `Addresses and ranges (each address one IPVS service of this protocol; at most ${MAX_GROUP_ADDRESSES} in all).`), [], []),
  fwmarks: def(arr(int(1, 0xffffffff, 'A firewall mark (IPVS_SVC_ATTR_FWMARK), of the service\'s family.'), 'Firewall marks, each one IPVS service.'), [], []),
}, 'Many addresses and fwmarks served as one virtual service (keepalived virtual_server_group): the same settings, real servers and checks on each, one quorum. Either this, address or fwmark.', {
  hints: { fwmark: "write 'fwmarks' (a list)", address: "write 'addresses' (a list)" },
}).refine((g, report) => {
  if (g.addresses.length === 0 && g.fwmarks.length === 0) report('', 'an empty group: give addresses or fwmarks');
  const total = g.addresses.reduce((n, a) => n + a.addresses.length, 0);
  if (total > MAX_GROUP_ADDRESSES) report('addresses', `${total} addresses, more than the ${MAX_GROUP_ADDRESSES} a group may hold (each is an IPVS service)`);
  const fam = g.addresses[0]?.family;
  const seen = new Map<string, number>();
  g.addresses.forEach((r, i) => {
    if (r.family !== fam) report(`addresses[${i}]`, `IPv${r.family} in a group whose first address is IPv${fam ?? 4}; a group's addresses are of one family (use a second service)`);
    for (const a of r.addresses) {
      const k = `${a}|${r.port}`;
      const j = seen.get(k);
      if (j !== undefined) { report(`addresses[${i}]`, `${formatAddressRange({ family: r.family, addresses: [a], port: r.port })} is already in addresses[${j}]`); break; }
      seen.set(k, i);
    }
  });
  g.fwmarks.forEach((f, i) => { if (g.fwmarks.indexOf(f) !== i) report(`fwmarks[${i}]`, `fwmark ${f} is listed twice`); });
});
export type ServiceGroupConfig = Infer<typeof serviceGroup>;

export const virtualServiceSchema = obj({
  name: name('virtual service'),
  address: opt(endpoint('Virtual address:port, e.g. 192.0.2.10:80 or [2001:db8::1]:443; port 0 for a persistent all-ports service. Either this or fwmark.', true)),
  fwmark: opt(int(1, 0xffffffff, 'Firewall-mark service (IPVS_SVC_ATTR_FWMARK); either this or address.')),
  group: opt(serviceGroup),
  family: opt(oneOf(['ipv4', 'ipv6'], 'Address family of a fwmark service (or of a group\'s fwmarks); default ipv4, or the group\'s addresses\' family.')),
  protocol: def(oneOf(['tcp', 'udp', 'sctp'], 'Transport protocol.'), 'tcp'),
  scheduler: def(oneOf(SCHEDULERS, 'IPVS scheduler (kernel names).', { roundrobin: "write 'rr'", wrr2: "write 'wrr'" }), 'wlc'),
  scheduler_flags: def(arr(oneOf(Object.keys(SCHEDULER_FLAGS) as Array<keyof typeof SCHEDULER_FLAGS>), 'sh-fallback and sh-port for sh; mh-fallback and mh-port for mh.'), []),
  one_packet: def(bool('One-packet scheduling (IP_VS_SVC_F_ONEPACKET, ipvsadm -o, keepalived ops): every UDP datagram is scheduled on its own and no connection entry is kept. UDP services only.'), false),
  forwarding: forwarding('Packet forwarding to the real servers: nat (masquerading), dr (direct routing), tunnel.'),
  tunnel: opt(tunnel),
  persistence: opt(persistence),
  quorum: opt(obj({
    min: int(1, 2147483647, 'Minimum total weight of real servers that are up.'),
    hysteresis: def(int(0, 2147483647, 'Quorum is lost below min - hysteresis and regained at min + hysteresis.'), 0),
    up: opt(argv('Run when quorum is gained.')),
    down: opt(argv('Run when quorum is lost.')),
  }, 'Declare the service down below a total weight.').refine((q, report) => {
    if (q.hysteresis >= q.min) report('hysteresis', `hysteresis ${q.hysteresis} must be below min ${q.min}`);
    checkArgv(q.up, 'up', report); checkArgv(q.down, 'down', report);
  })),
  sorry_server: opt(sorryServer),
  inhibit_on_failure: def(bool('Failed real servers stay with weight 0 instead of being removed (keeps existing connections).'), false),
  slow_start: opt(duration('A real server whose checks pass again after a failure ramps from weight 1 to its weight over this time, in steps of a tenth (at least 1 s each), one IPVS weight change each, instead of taking its full share of new connections at once (HAProxy slowstart). Not at lvsd\'s start, not for a server a reload kept up; a new failure cancels the ramp. 0 = none.', 0, 3_600_000)),
  fail_open: def(bool('When every real server is down, keep them all in the table at their weights instead of none. A check failing everywhere at once is more often the checker\'s or the network\'s fault than every server\'s, and an empty table drops all traffic. Quorum is still lost (notify, VRRP and announcements see it). The alternative is sorry_server, which replaces the failed servers; the two exclude each other.'), false),
  alpha: def(bool('Start real servers as down until their first check passes.'), false),
  omega: def(bool('On shutdown, run the down notifications and quorum down command.'), false),
  checks: def(arr(checkRef, 'Checks for every real server (names in `checks` or inline); a real server is up when all pass.'), []),
  real_servers: def(arr(realServerSchema, 'The real servers.'), []),
  email_alerts: emailAlerts('its real servers going down or up, and its quorum lost or regained'),
}, 'An IPVS virtual service and its real servers (keepalived virtual_server).', {
  hints: {
    smtp_alert: "write 'email_alerts'",
    lb_algo: "write 'scheduler'", lb_kind: "write 'forwarding'", persistence_timeout: "write 'persistence: {timeout: ...}'",
    delay_loop: "set 'interval' in the checks", real_server: "write 'real_servers'", virtualhost: "write 'host' in an http check",
    sorry: "write 'sorry_server'", ops: "write 'one_packet: true'", slowstart: "write 'slow_start'", failopen: "write 'fail_open'", sorry_server_inhibit: "write 'sorry_server: {address: ..., inhibit: true}'",
    virtual_server_group: "write 'group: {addresses: [...], fwmarks: [...]}'", persistence_engine: "write 'persistence: {engine: sip}'",
  },
}).refine((s, report) => {
  const given = [s.address !== undefined && 'address', s.fwmark !== undefined && 'fwmark', s.group !== undefined && 'group'].filter((x): x is string => !!x);
  if (given.length > 1) report(given[1]!, given.length === 2 && !s.group ? 'give either address or fwmark, not both' : `give one of address, fwmark or group, not ${given.join(' and ')}`);
  if (given.length === 0) report('', 'needs an address (192.0.2.10:80), a fwmark or a group');
  const groupFamily = s.group?.addresses[0]?.family;
  if (s.family !== undefined && s.fwmark === undefined && !(s.group && s.group.fwmarks.length > 0)) report('family', 'family applies only to fwmark services (an address has its own family)');
  const family = s.address ? s.address.family : groupFamily ?? (s.family === 'ipv6' ? 6 : 4);
  if (groupFamily !== undefined && s.family !== undefined && (s.family === 'ipv6' ? 6 : 4) !== groupFamily) report('family', `the group's addresses are IPv${groupFamily}; its fwmarks are of the same family`);
  // A fwmark service has no protocol in IPVS; protocol: udp there says its marked traffic is UDP (as keepalived reads it).
  if (s.one_packet && s.protocol !== 'udp') report('one_packet', `one-packet scheduling is for UDP only; this service is ${s.protocol} (keepalived drops ops: "one packet scheduling requires UDP"); write protocol: udp if it carries UDP`);
  if (s.persistence?.engine !== undefined && s.protocol !== 'udp') report('persistence.engine', `the sip persistence engine reads SIP over UDP only (ip_vs_pe_sip schedules no other protocol); this service is ${s.protocol}`);
  s.group?.addresses.forEach((a, i) => { if (a.port === 0 && !s.persistence) report(`group.addresses[${i}]`, 'port 0 (all ports) needs persistence, as IPVS requires'); });
  if (s.address && s.address.port === 0 && !s.persistence) report('address', 'port 0 (all ports) needs persistence, as IPVS requires');
  s.scheduler_flags.forEach((f, i) => {
    const owner = SCHEDULER_FLAGS[f];
    if (owner !== s.scheduler) report(`scheduler_flags[${i}]`, `${f} is a flag of the ${owner} scheduler, not ${s.scheduler}`);
    if (s.scheduler_flags.indexOf(f) !== i) report(`scheduler_flags[${i}]`, `${f} is listed twice`);
  });
  if (s.tunnel && s.forwarding !== 'tunnel') report('tunnel', `tunnel options need forwarding: tunnel (this service uses ${s.forwarding})`);
  if (s.persistence?.netmask !== undefined && s.persistence.netmask > (family === 4 ? 32 : 128)) report('persistence.netmask', `/${s.persistence.netmask} is longer than an IPv${family} address`);
  const seen = new Map<string, number>();
  s.real_servers.forEach((r, i) => {
    const fwd = r.forwarding ?? s.forwarding;
    if (r.address.family !== family && fwd !== 'tunnel') {
      report(`real_servers[${i}].address`, `IPv${r.address.family} real server in an IPv${family} service; IPVS allows mixed families only with forwarding: tunnel`);
    }
    if (r.tunnel && fwd !== 'tunnel') report(`real_servers[${i}].tunnel`, `tunnel options need forwarding: tunnel (this real server uses ${fwd})`);
    if (s.address && r.address.port !== undefined && fwd !== 'nat' && r.address.port !== s.address.port && s.address.port !== 0) {
      report(`real_servers[${i}].address`, `with forwarding: ${fwd} the real server port must equal the service port ${s.address.port} (IPVS does not translate ports except in nat)`);
    }
    const other = s.group?.addresses.find((a) => a.port !== 0 && a.port !== r.address.port);
    if (other && r.address.port !== undefined && fwd !== 'nat') {
      report(`real_servers[${i}].address`, `with forwarding: ${fwd} the real server port must equal each service port, and the group has ${formatAddressRange(other)}; leave the port out (each service then uses its own; checks probe the first address's port unless they set port)`);
    }
    const port = r.address.port ?? (s.address?.port ?? 0);
    const key = `${r.address.address}:${port}`;
    const j = seen.get(key);
    if (j !== undefined) report(`real_servers[${i}].address`, `duplicate real server; ${r.address.family === 6 ? `[${r.address.address}]` : r.address.address}:${port} is already real_servers[${j}]`);
    seen.set(key, i);
  });
  if (s.fail_open && s.sorry_server) report('fail_open', 'fail_open keeps the failed real servers when all are down, sorry_server replaces them: choose one');
  if (s.sorry_server) {
    const a = s.sorry_server.address;
    const fwd = s.sorry_server.forwarding ?? s.forwarding;
    if (a.family !== family && fwd !== 'tunnel') report('sorry_server', `IPv${a.family} sorry server in an IPv${family} service`);
    const allPorts = s.fwmark !== undefined || s.address?.port === 0 || (s.group !== undefined && s.group.addresses.every((g) => g.port === 0));
    if (a.port === 0 && !allPorts) report('sorry_server', 'port 0 (keep the request\'s port) is only for fwmark and all-ports services; give the port');
  }
});

// ---- announced VIPs ----

/** An address, or the same written as a host prefix (/32, /128): what one announcement route carries. */
const hostAddress = (description: string) => custom<IpAddress>((v) => {
  const p = parsePrefix(v);
  if (!p.ok) return p;
  const max = p.value.family === 4 ? 32 : 128;
  if (p.value.prefix !== max) return { ok: false, message: `${quoteValue(String(v))}: an announced VIP is one address (a /${max} route); write ${p.value.address}` };
  return { ok: true, value: { address: p.value.address, family: p.value.family } };
}, { type: 'string' }, description);

/** false, 'auto' (written true: metric + 1000) or the metric itself. */
const softDrain = custom<number | 'auto' | false>((v) => {
  if (v === false) return { ok: true, value: false };
  if (v === true) return { ok: true, value: 'auto' };
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 4294967295) return { ok: true, value: v };
  return { ok: false, message: `${quoteValue(String(v))}: write true, false, or the metric to announce with while draining (1-4294967295)` };
}, { oneOf: [{ type: 'boolean' }, { type: 'integer', minimum: 1, maximum: 4294967295 }] },
'Before withdrawing on stop or give-up, announce with a worse metric for drain_delay (the routing daemon\'s filter turns it into a higher MED or a longer AS path), so the router moves flows away while this director still serves them, and keeps using it if every director drains at once. true: metric + 1000; a number: that metric. Losing quorum always withdraws at once.');
/** soft_drain: true adds this to the metric. */
export const SOFT_DRAIN_DEFAULT_STEP = 1000;

export const announceSchema = obj({
  name: name('announced VIP group'),
  addresses: arr(hostAddress('A VIP this director announces, e.g. 203.0.113.10 or 2001:db8:ff::10 (a /32 or /128 route; /32 and /128 may be written).'), 'The addresses announced together; every director announcing them runs the same services on them.', { minItems: 1 }),
  virtual_services: arr(refName('virtual service'), 'The services that gate the announcement: announced while their quorum holds (see quorum).', { minItems: 1 }),
  quorum: def(oneOf(['all', 'any'], 'all: announced while every listed service has quorum; any: while at least one has.'), 'all'),
  metric: def(int(0, 4294967295, 'Route metric (RTA_PRIORITY) while announced; FRR turns it into the MED. IPv6 routes with metric 0 get 1024 from the kernel.'), 0),
  soft_drain: def(softDrain, false),
  drain_delay: defDuration(duration('On stop and give-up, how long lvsd keeps forwarding after the withdrawal (or soft-drains before it) while the router moves flows to the other directors.', 0, 600_000), 5000),
  local: def(bool('Make the addresses local to this director with a local route (ip route add local VIP dev lo table local proto P), so IPVS receives their traffic, and keep it through stops and restarts. false: you deliver them yourself, but not as interface addresses with FRR (zebra turns those into connected routes that outrank the imported one).'), true),
}, 'VIPs announced through the routing daemon while the virtual services behind them hold quorum (ECMP active/active, issue #14).', {
  hints: { address: "write 'addresses' (a list)", vip: "write 'addresses' (a list)", services: "write 'virtual_services'", med: "write 'metric'" },
}).refine((a, report) => {
  const seen = new Map<string, number>();
  a.addresses.forEach((ip, i) => {
    const j = seen.get(ip.address);
    if (j !== undefined) report(`addresses[${i}]`, `${ip.address} is already addresses[${j}]`);
    seen.set(ip.address, i);
  });
  const names = new Set<string>();
  a.virtual_services.forEach((n, i) => {
    if (names.has(n)) report(`virtual_services[${i}]`, `${quoteValue(n)} is listed twice`);
    names.add(n);
  });
  if (typeof a.soft_drain === 'number' && a.soft_drain <= a.metric) report('soft_drain', `the soft-drain metric ${a.soft_drain} must be worse (higher) than metric ${a.metric}`);
  if (a.soft_drain === 'auto' && a.metric > 4294967295 - SOFT_DRAIN_DEFAULT_STEP) report('soft_drain', `true means metric + ${SOFT_DRAIN_DEFAULT_STEP}, past the largest metric; give the soft-drain metric as a number`);
});
export type AnnounceConfig = Infer<typeof announceSchema>;
/** The metric an announcement carries while soft-draining, or undefined without soft drain. */
export function softDrainMetric(a: Pick<AnnounceConfig, 'metric' | 'soft_drain'>): number | undefined {
  if (a.soft_drain === false) return undefined;
  return a.soft_drain === 'auto' ? Math.min(a.metric + SOFT_DRAIN_DEFAULT_STEP, 4294967295) : a.soft_drain;
}

// ---- the whole file ----

// The sections are partial lists: one broken element does not stop the cross-reference rules on the rest.
/**
 * global.vrrp_strict: keepalived's strict-mode refusals (keepalived.conf(5) vrrp_strict) that have an
 * lvsd form; accept mode off for every instance is applied by src/strict (acceptInstances).
 */
function checkVrrpStrict(c: { global: { vrrp_strict: boolean }; vrrp_instances: Infer<typeof vrrpInstanceSchema>[] }, report: (path: string, message: string) => void): void {
  if (!c.global.vrrp_strict) return;
  const off = 'or set global.vrrp_strict: false (accept: false alone drops packets to the VIPs without these checks)';
  c.vrrp_instances.forEach((v, i) => {
    const at = `vrrp_instances[${i}]`;
    if (v.virtual_ips.length === 0) report(`${at}.virtual_ips`, `vrrp_strict: an instance needs at least one virtual IP (RFC 5798 section 5.1: Count IPvX Addr is at least 1); add one ${off}`);
    if (v.unicast) report(`${at}.unicast`, `vrrp_strict: unicast adverts are not allowed (RFC 5798 section 5.1.1.2: adverts go to 224.0.0.18 / ff02::12, as keepalived enforces in strict mode); drop unicast ${off}`);
    if (v.authentication) report(`${at}.authentication`, `vrrp_strict: authentication is not allowed (RFC 3768 section 5.3.6 / RFC 5798 section 9 removed it); drop authentication ${off}`);
    if (v.preempt_delay > 0) report(`${at}.preempt_delay`, `vrrp_strict: preempt_delay is not allowed (RFC 5798 has no such delay); drop it ${off}`);
    const first = v.virtual_ips[0];
    if (first?.family === 6 && !/^fe[89ab]/i.test(first.address)) report(`${at}.virtual_ips[0]`, `vrrp_strict: the first IPv6 virtual IP must be a link-local address (RFC 5798 section 5.2.9); put one (fe80::...) first ${off}`);
  });
}

export const lvsdConfigSchema = obj({
  // Read by load.ts before validation (include.ts); declared here for the JSON Schema and key suggestions.
  include: opt(arr(str('A file or a glob in the file name (conf.d/*.yaml), relative to the file that includes it.', { minLength: 1 }),
    'Files whose vrrp_instances, vrrp_sync_groups, track_scripts, track_processes, track_files, checks, virtual_services and announce are appended to this file\'s, in order (a glob sorted by name); read again on every reload.')),
  global: def(globalSection, globalSection.defaults(), {}),
  vrrp_instances: def(arr(vrrpInstanceSchema, 'VRRP instances (keepalived vrrp_instance).', { partial: true }), [], []),
  vrrp_sync_groups: def(arr(syncGroupSchema, 'Sync groups (keepalived vrrp_sync_group).', { partial: true }), [], []),
  track_scripts: def(arr(trackScriptSchema, 'Scripts instances can track (keepalived vrrp_script).', { partial: true }), [], []),
  track_processes: def(arr(trackProcessSchema, 'Processes instances and sync groups can track (keepalived vrrp_track_process).', { partial: true }), [], []),
  track_files: def(arr(trackFileSchema, 'Files instances and sync groups can track (keepalived track_file / vrrp_track_file).', { partial: true }), [], []),
  checks: def(arr(namedCheckSchema, 'Named health checks that services and real servers refer to by name.', { partial: true }), [], []),
  virtual_services: def(arr(virtualServiceSchema, 'IPVS virtual services (keepalived virtual_server).', { partial: true }), [], []),
  announce: def(arr(announceSchema, 'VIPs announced by routes the routing daemon (FRR, BIRD) redistributes, gated by the quorum of virtual services: N directors active/active behind ECMP.', { partial: true }), [], []),
}, 'lvsd configuration (lvsd.yaml).', {
  hints: {
    global_defs: "write 'global'", vrrp_instance: "write 'vrrp_instances' (a list)", virtual_server: "write 'virtual_services' (a list)",
    vrrp_script: "write 'track_scripts' (a list)", vrrp_sync_group: "write 'vrrp_sync_groups' (a list)",
    interface_up_down_delays: "write it under 'global': interface_up_down_delays: [{interface: eth0, down_delay: 500ms, up_delay: 1s}]",
    vrrp_track_process: "write 'track_processes' (a list)", track_process: "write 'track_processes' (a list)", vrrp_track_file: "write 'track_files' (a list)", track_file: "write 'track_files' (a list)",
  },
}).refine((c, report) => {
  checkVrrpStrict(c, report);
  checkTrackRefs(c, report);
  // A cross-reference, but it is the only one from global; kept beside the key it checks.
  const sd = c.global.lvs_sync_daemon;
  if (sd && !c.vrrp_instances.some((v) => v.name === sd.instance)) {
    const names = nameList(c.vrrp_instances.map((v) => v.name), c.vrrp_instances.length);
    report('global.lvs_sync_daemon.instance', `unknown VRRP instance ${quoteValue(sd.instance)}; ${names} (the sync daemon follows that instance's state)`);
  }
  // keepalived sends nothing without smtp_server and recipients; lvsd says so instead of staying silent.
  if (!c.global.email) {
    const asked: string[] = [];
    c.vrrp_instances.forEach((v, i) => { if (v.email_alerts) asked.push(`vrrp_instances[${i}].email_alerts`); });
    c.vrrp_sync_groups.forEach((g, i) => { if (g.email_alerts) asked.push(`vrrp_sync_groups[${i}].email_alerts`); });
    c.virtual_services.forEach((s, i) => {
      if (s.email_alerts) asked.push(`virtual_services[${i}].email_alerts`);
      s.real_servers.forEach((r, j) => { if (r.email_alerts) asked.push(`virtual_services[${i}].real_servers[${j}].email_alerts`); });
    });
    for (const p of asked.slice(0, 3)) report(p, 'email alerts need global.email (to: [...], smtp_server: ...) to know where to send them; add it or drop this key');
  }
});

export type LvsdConfig = Infer<typeof lvsdConfigSchema>;
export type GlobalConfig = LvsdConfig['global'];
export type VrrpInstanceConfig = LvsdConfig['vrrp_instances'][number];
export type VrrpSyncGroupConfig = LvsdConfig['vrrp_sync_groups'][number];
export type TrackScriptConfig = LvsdConfig['track_scripts'][number];
export type TrackProcessConfig = LvsdConfig['track_processes'][number];
export type TrackFileConfig = LvsdConfig['track_files'][number];
export type CheckConfig = LvsdConfig['checks'][number];
/** A check as a service refers to it: a name from `checks`, or an inline check. */
export type CheckRef = LvsdConfig['virtual_services'][number]['checks'][number];
export type VirtualServiceConfig = LvsdConfig['virtual_services'][number];
export type AnnouncedVipConfig = LvsdConfig['announce'][number];
export type RealServerConfig = VirtualServiceConfig['real_servers'][number];
export type { AddressRange };
export type { Endpoint, IpAddress, IpPrefix, MaybeEndpoint };
export type JsonSchemaDoc = JsonSchema;
