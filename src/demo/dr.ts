// The LVS-DR (direct routing) director pair: one LAN shared by the client, both directors and the
// real servers.
//
//   client .100 ── 192.0.2.0/24 ──┬── director1 .2, director2 .3   (the master holds the VIP .10 on eth0)
//                                 └── rs1 .11, rs2 .12, rs3 .13    (each holds .10/32 on lo)
//
// The master director rewrites only the destination MAC of a request (IPVS_CONN_F_DROUTE) and puts it
// back on the LAN; the real server, holding the VIP on lo, accepts it and answers the client straight
// from the VIP, so replies never cross a director. Hence the constraints that make this layout:
//   - director and real servers share a link (the director forwards at layer 2);
//   - the real servers reach the client without the director (here: the same LAN);
//   - only the master may answer ARP for the VIP. The real servers set arp_ignore=1 (answer ARP only
//     for addresses on the interface asked; the VIP is on lo) and arp_announce=2 (never use the VIP as
//     the source of their own ARP requests, which would teach the LAN the wrong MAC for it);
//   - the service port equals the real servers' port: DR cannot translate ports.
// One VRRP instance (the VIP); the kernel connection-sync daemon follows it over the same LAN.
import type { HostSpec, Topology } from '../lab/index.js';
import { DEMO_CHECKS_YAML, demoGlobalYaml, type Layout, type LayoutOptions } from './layout.js';

const ADVERT_MS = 100;
const PRIORITIES: Record<string, number> = { director1: 150, director2: 100 };
const VRID = 20;
const REAL_SERVERS = ['rs1', 'rs2', 'rs3'] as const;

export const DR_ADDRESSES = {
  lan: '192.0.2.0/24',
  vip4: '192.0.2.10',
  client4: '192.0.2.100',
  director1: '192.0.2.2',
  director2: '192.0.2.3',
  rs1: '192.0.2.11', rs2: '192.0.2.12', rs3: '192.0.2.13',
} as const;

/** net.ipv4.conf.all.* applies to every interface as the maximum of all and the interface's own. */
export const DR_REAL_SERVER_SYSCTLS = {
  'net.ipv4.conf.all.arp_ignore': 1,
  'net.ipv4.conf.all.arp_announce': 2,
} as const;

function realServer(name: (typeof REAL_SERVERS)[number]): HostSpec {
  return {
    ifaces: { eth0: { lan: 'lan', addrs: [`${DR_ADDRESSES[name]}/24`] } },
    sysctls: { ...DR_REAL_SERVER_SYSCTLS },
  };
}

export const drTopology: Topology = {
  name: 'director-pair-dr',
  description: 'one LAN 192.0.2.0/24: client .100, directors .2 .3 (VRRP owns the VIP .10), real servers .11-.13 holding the VIP on lo (arp_ignore=1, arp_announce=2)',
  lans: { lan: {} },
  hosts: {
    // (A client that must follow a takeover at once also wants net.ipv4.neigh.eth0.locktime=0, so a
    // gratuitous ARP replaces an entry updated less than 1 s before; per device, so set after build.)
    client: { ifaces: { eth0: { lan: 'lan', addrs: [`${DR_ADDRESSES.client4}/24`] } } },
    director1: { ifaces: { eth0: { lan: 'lan', addrs: [`${DR_ADDRESSES.director1}/24`] } } },
    director2: { ifaces: { eth0: { lan: 'lan', addrs: [`${DR_ADDRESSES.director2}/24`] } } },
    rs1: realServer('rs1'),
    rs2: realServer('rs2'),
    rs3: realServer('rs3'),
  },
  addresses: { ...DR_ADDRESSES },
};

/**
 * Shell commands that make a host a DR real server for `vip`: the VIP on lo as a host address (/32, so
 * no LAN route points at lo) and the two ARP sysctls (again, in case the topology did not set them).
 */
export function realServerScript(vip: string): string {
  return [
    ...Object.entries(DR_REAL_SERVER_SYSCTLS).map(([k, v]) => `sysctl -q -w ${k}=${v}`),
    `ip addr replace ${vip}/32 dev lo`,
  ].join(' && ');
}

function drConfig(director: string, opts: LayoutOptions): string {
  const prio = PRIORITIES[director];
  if (prio === undefined) throw new Error(`dr layout: no director ${director}`);
  const servers = REAL_SERVERS.map((h) => `      - address: ${DR_ADDRESSES[h]}:80`).join('\n');
  return `# lvsd demo: LVS-DR pair, ${director}
${demoGlobalYaml(director, opts.dir, { interface: 'eth0', instance: 'public', syncId: VRID })}

vrrp_instances:
  - name: public
    interface: eth0
    vrid: ${VRID}
    priority: ${prio}
    version: 3
    advert_interval: ${ADVERT_MS}ms
    virtual_ips: [${DR_ADDRESSES.vip4}/24]
    preempt: ${opts.preempt}
    # After a restart, give the checks and the connection sync a moment before taking over again.
    preempt_delay: 2s

${DEMO_CHECKS_YAML}

virtual_services:
  - name: web
    address: ${DR_ADDRESSES.vip4}:80
    scheduler: rr
    # Direct routing: the real server port must be the service port.
    forwarding: dr
    checks: [web]
    real_servers:
${servers}
`;
}

export const drLayout: Layout = {
  name: 'dr',
  description: 'LVS-DR: VIP 192.0.2.10 on the master director, held on lo by 3 nginx real servers that answer clients directly',
  topology: drTopology,
  directors: ['director1', 'director2'],
  realServers: REAL_SERVERS,
  client: 'client',
  vip: { address: DR_ADDRESSES.vip4, port: 80 },
  masterAddresses: [DR_ADDRESSES.vip4],
  watched: { vrid: VRID, interface: 'eth0', advertIntervalMs: ADVERT_MS },
  priorities: PRIORITIES,
  realServerEndpoint: (name) => {
    const a = DR_ADDRESSES[name as (typeof REAL_SERVERS)[number]];
    if (!a) throw new Error(`dr layout: no real server ${name}`);
    return `${a}:80`;
  },
  configFor: drConfig,
  prepareRealServer: async (host) => { await host.sh(realServerScript(DR_ADDRESSES.vip4)); },
};
