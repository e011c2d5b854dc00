// Describing a lab network and turning the description into commands. Pure: a topology in, a list of
// commands out, so the plan is unit-testable and identical on both backends. Hosts are network
// namespaces; LANs are bridges inside one extra namespace, the "switch", so the kernel's root
// namespace (the host's, on the host backend) is never touched.
import type { ExecRequest } from './protocol.js';

export interface IfaceSpec {
  /** Attach to this LAN (a bridge port in the switch namespace). */
  lan?: string;
  /** Or a point-to-point veth to another host's interface: 'host:ifname'. */
  peer?: string;
  /** CIDR addresses, IPv4 or IPv6 (IPv6 ones are added with nodad). */
  addrs?: string[];
  mac?: string;
  mtu?: number;
}

export interface RouteSpec {
  /** 'default' (IPv4), 'default6' (IPv6) or a CIDR prefix. */
  dst: string;
  via?: string;
  dev?: string;
}

export interface HostSpec {
  ifaces?: Record<string, IfaceSpec>;
  routes?: RouteSpec[];
  /** Set in the namespace before any link exists, e.g. { 'net.ipv4.conf.all.arp_ignore': 1 }. */
  sysctls?: Record<string, string | number>;
  /** Route between interfaces (IPv4 and IPv6 forwarding on). */
  forwarding?: boolean;
  /** CIDR addresses on lo, e.g. a DR real server's VIP ('203.0.113.10/32'). */
  loopback?: string[];
}

export interface LanSpec {
  mtu?: number;
}

export type ServiceSpec =
  /** Real nginx answering `body` (default: the host's name) on `port` (default 80), IPv4 and IPv6. */
  | { kind: 'nginx'; host: string; port?: number; body?: string };

export interface Topology {
  name: string;
  description?: string;
  lans?: Record<string, LanSpec>;
  hosts: Record<string, HostSpec>;
  /** Started when the lab starts (unless the caller opts out), stopped with it. */
  services?: ServiceSpec[];
  /** Well-known addresses for tests (VIPs, real servers...), free-form. */
  addresses?: Record<string, string>;
}

export const SWITCH = 'switch';
const NAME = /^[a-z][a-z0-9-]{0,19}$/;
const IFNAME = /^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/;

export class TopologyError extends Error {
  constructor(readonly topology: string, message: string) {
    super(`topology ${topology}: ${message}`);
    this.name = 'TopologyError';
  }
}

export function isIpv6(cidr: string): boolean { return cidr.includes(':'); }

/** Checks names, references and duplicates; throws TopologyError with the reason. */
export function validate(t: Topology): void {
  const fail = (m: string): never => { throw new TopologyError(t.name, m); };
  const lans = t.lans ?? {};
  for (const lan of Object.keys(lans)) if (!/^[a-z][a-z0-9]{0,11}$/.test(lan)) fail(`LAN name ${JSON.stringify(lan)} must match [a-z][a-z0-9]{0,11}`);
  const seenPeers = new Set<string>();
  for (const [h, spec] of Object.entries(t.hosts)) {
    if (!NAME.test(h)) fail(`host name ${JSON.stringify(h)} must match ${NAME.source}`);
    if (h === SWITCH) fail(`"${SWITCH}" is reserved for the namespace holding the LAN bridges`);
    for (const [ifname, i] of Object.entries(spec.ifaces ?? {})) {
      if (!IFNAME.test(ifname)) fail(`${h}: interface name ${JSON.stringify(ifname)} is not a valid Linux name (max 15 chars)`);
      if (!!i.lan === !!i.peer) fail(`${h}:${ifname} needs exactly one of lan or peer`);
      if (i.lan && !(i.lan in lans)) fail(`${h}:${ifname} refers to unknown LAN ${i.lan}`);
      if (i.peer) {
        const [ph, pi] = i.peer.split(':');
        const other = ph ? t.hosts[ph]?.ifaces?.[pi ?? ''] : undefined;
        if (!other) fail(`${h}:${ifname} peer ${i.peer} does not exist`);
        if (other!.peer !== `${h}:${ifname}`) fail(`${h}:${ifname} and ${i.peer} must name each other as peers`);
        seenPeers.add(`${h}:${ifname}`);
      }
      for (const a of i.addrs ?? []) if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(a)) fail(`${h}:${ifname} address ${JSON.stringify(a)} is not CIDR`);
    }
    for (const a of spec.loopback ?? []) if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(a)) fail(`${h}:lo address ${JSON.stringify(a)} is not CIDR`);
  }
  for (const s of t.services ?? []) if (!(s.host in t.hosts)) fail(`service ${s.kind} on unknown host ${s.host}`);
}

/** Namespace names of a topology under a prefix (the host backend's is unique per lab). */
export function namespaces(t: Topology, prefix: string): { hosts: Record<string, string>; switch: string } {
  const hosts: Record<string, string> = {};
  for (const h of Object.keys(t.hosts)) hosts[h] = prefix + h;
  return { hosts, switch: prefix + SWITCH };
}

/** The switch-side name of a host interface's bridge port: readable when it fits in 15 chars. */
export function portNames(t: Topology): Map<string, string> {
  const names = new Map<string, string>();
  let n = 0;
  for (const [h, spec] of Object.entries(t.hosts)) {
    for (const [ifname, i] of Object.entries(spec.ifaces ?? {})) {
      if (!i.lan) continue;
      n++;
      const readable = `${h}-${ifname}`;
      names.set(`${h}:${ifname}`, readable.length <= 15 ? readable : `port${n}`);
    }
  }
  return names;
}

export function bridgeName(lan: string): string { return `br-${lan}`; }

/**
 * The commands that build a topology, in order. Sysctls come before any link so new links inherit
 * accept_dad=0 (a tentative IPv6 address is unusable for about a second), and bridge ports are
 * enslaved only after every host has created its side.
 */
export function buildPlan(t: Topology, prefix: string): ExecRequest[] {
  validate(t);
  const ns = namespaces(t, prefix);
  const ports = portNames(t);
  const plan: ExecRequest[] = [];
  const all = [ns.switch, ...Object.values(ns.hosts)];
  plan.push({ argv: ['ip', '-batch', '-'], input: all.map((n) => `netns add ${n}\n`).join('') });

  plan.push({
    argv: ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
    ns: ns.switch,
  });
  for (const [h, spec] of Object.entries(t.hosts)) {
    const sysctls: Record<string, string | number> = {
      'net.ipv6.conf.all.accept_dad': 0,
      'net.ipv6.conf.default.accept_dad': 0,
    };
    if (spec.forwarding) {
      sysctls['net.ipv4.ip_forward'] = 1;
      sysctls['net.ipv6.conf.all.forwarding'] = 1;
    }
    Object.assign(sysctls, spec.sysctls ?? {});
    plan.push({ argv: ['sysctl', '-q', '-w', ...Object.entries(sysctls).map(([k, v]) => `${k}=${v}`)], ns: ns.hosts[h] });
  }

  const sw: string[] = [];
  for (const [lan, spec] of Object.entries(t.lans ?? {})) {
    // No STP: ports forward at once. Multicast snooping stays on (VRRP groups pass, as measured).
    sw.push(`link add ${bridgeName(lan)} type bridge forward_delay 0 stp_state 0`);
    if (spec.mtu) sw.push(`link set ${bridgeName(lan)} mtu ${spec.mtu}`);
    sw.push(`link set ${bridgeName(lan)} up`);
  }
  if (sw.length) plan.push({ argv: ['ip', '-n', ns.switch, '-batch', '-'], input: sw.join('\n') + '\n' });

  const created = new Set<string>();
  for (const [h, spec] of Object.entries(t.hosts)) {
    const cmds: string[] = ['link set lo up'];
    for (const [ifname, i] of Object.entries(spec.ifaces ?? {})) {
      const key = `${h}:${ifname}`;
      if (i.lan) {
        cmds.push(`link add ${ifname} type veth peer name ${ports.get(key)} netns ${ns.switch}`);
      } else if (i.peer && !created.has(key)) {
        const [ph, pi] = i.peer.split(':') as [string, string];
        cmds.push(`link add ${ifname} type veth peer name ${pi} netns ${ns.hosts[ph]}`);
        created.add(i.peer);
      }
      created.add(key);
    }
    if (cmds.length > 1) plan.push({ argv: ['ip', '-n', ns.hosts[h]!, '-batch', '-'], input: cmds.join('\n') + '\n' });
  }
  // Second pass per host: the peer ends of point-to-point links exist now.
  for (const [h, spec] of Object.entries(t.hosts)) {
    const cmds: string[] = [];
    for (const a of spec.loopback ?? []) cmds.push(`addr add ${a} dev lo${isIpv6(a) ? ' nodad' : ''}`);
    for (const [ifname, i] of Object.entries(spec.ifaces ?? {})) {
      if (i.mac) cmds.push(`link set ${ifname} address ${i.mac}`);
      if (i.mtu) cmds.push(`link set ${ifname} mtu ${i.mtu}`);
      cmds.push(`link set ${ifname} up`);
      for (const a of i.addrs ?? []) cmds.push(`addr add ${a} dev ${ifname}${isIpv6(a) ? ' nodad' : ''}`);
    }
    for (const r of spec.routes ?? []) {
      // Batch lines take no options such as -6: the family follows from the prefix or the gateway.
      const dst = r.dst === 'default6' ? '::/0' : r.dst;
      cmds.push(`route add ${dst}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`);
    }
    if (cmds.length) plan.push({ argv: ['ip', '-n', ns.hosts[h]!, '-batch', '-'], input: cmds.join('\n') + '\n' });
  }
  const enslave: string[] = [];
  for (const [h, spec] of Object.entries(t.hosts)) {
    for (const [ifname, i] of Object.entries(spec.ifaces ?? {})) {
      if (!i.lan) continue;
      const port = ports.get(`${h}:${ifname}`)!;
      enslave.push(`link set ${port} master ${bridgeName(i.lan)}`, `link set ${port} up`);
    }
  }
  if (enslave.length) plan.push({ argv: ['ip', '-n', ns.switch, '-batch', '-'], input: enslave.join('\n') + '\n' });
  return plan;
}

function shq(s: string): string { return `'${s.replace(/'/g, `'\\''`)}'`; }

/**
 * The plan as one shell script: a single process start for the whole build (inside UML every start
 * of a process from node costs 50-130 ms; sh starting `ip` costs about a fifth of that).
 */
export function planScript(plan: ExecRequest[]): ExecRequest {
  const lines = ['set -e'];
  plan.forEach((step, i) => {
    const argv = step.ns ? ['ip', 'netns', 'exec', step.ns, ...step.argv] : step.argv;
    const cmd = argv.map(shq).join(' ');
    lines.push(`echo ${shq(`lab: step ${i + 1}: ${argv.join(' ')}`)} >&2`);
    lines.push(step.input !== undefined ? `${cmd} <<'LVSDLAB_EOF'\n${step.input.replace(/\n$/, '')}\nLVSDLAB_EOF` : cmd);
  });
  return { argv: ['sh', '-c', lines.join('\n')] };
}

/** One shell command that removes a lab's namespaces and everything running in them. */
export function teardownScript(nsNames: string[]): ExecRequest {
  // Processes first: a namespace with a live process survives `ip netns del` (only its name goes).
  const script = 'for ns in "$@"; do for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done; done; ' +
    'for ns in "$@"; do ip netns del "$ns" 2>/dev/null; done; exit 0';
  return { argv: ['sh', '-c', script, 'teardown', ...nsNames] };
}
