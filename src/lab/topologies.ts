// Ready-made lab networks. Documentation prefixes only (RFC 5737 192.0.2.0/24, RFC 3849
// 2001:db8::/32) on the client side and RFC 1918 10.0.1.0/24 behind the directors.
//
//   client .100 ── [clients 192.0.2.0/24, 2001:db8:1::/64] ── director(s) .2 (.3)
//   director(s) ── [servers 10.0.1.0/24, 2001:db8:2::/64] ── rs1 .11, rs2 .12, rs3 .13 (nginx)
//
// Real servers route through the gateway address .1 on the servers LAN (owned by the director in
// single-director; a VRRP address of the pair in director-pair), as NAT forwarding requires.
import type { HostSpec, Topology } from './topology.js';

export const ADDRESSES = {
  vip4: '192.0.2.10',
  vip6: '2001:db8:1::10',
  client4: '192.0.2.100',
  client6: '2001:db8:1::100',
  director4: '192.0.2.2',
  director6: '2001:db8:1::2',
  director2_4: '192.0.2.3',
  director2_6: '2001:db8:1::3',
  gateway4: '10.0.1.1',
  gateway6: '2001:db8:2::1',
  rs1_4: '10.0.1.11', rs2_4: '10.0.1.12', rs3_4: '10.0.1.13',
  rs1_6: '2001:db8:2::11', rs2_6: '2001:db8:2::12', rs3_6: '2001:db8:2::13',
} as const;

export const REAL_SERVERS = ['rs1', 'rs2', 'rs3'] as const;

function realServer(n: number): HostSpec {
  return {
    ifaces: { eth0: { lan: 'servers', addrs: [`10.0.1.${10 + n}/24`, `2001:db8:2::${10 + n}/64`] } },
    routes: [{ dst: 'default', via: ADDRESSES.gateway4 }, { dst: 'default6', via: ADDRESSES.gateway6 }],
  };
}

function client(directorAddr4: string, directorAddr6: string): HostSpec {
  return {
    ifaces: { eth0: { lan: 'clients', addrs: [`${ADDRESSES.client4}/24`, `${ADDRESSES.client6}/64`] } },
    // Lets a test reach real servers directly (e.g. to compare with what the VIP answers).
    routes: [{ dst: '10.0.1.0/24', via: directorAddr4 }, { dst: '2001:db8:2::/64', via: directorAddr6 }],
  };
}

function director(n: 2 | 3, extra4: string[], extra6: string[], extraServers: string[]): HostSpec {
  return {
    forwarding: true,
    ifaces: {
      eth0: { lan: 'clients', addrs: [`192.0.2.${n}/24`, `2001:db8:1::${n}/64`, ...extra4, ...extra6] },
      eth1: { lan: 'servers', addrs: [`10.0.1.${n}/24`, `2001:db8:2::${n}/64`, ...extraServers] },
    },
  };
}

const nginxOnRealServers = REAL_SERVERS.map((host) => ({ kind: 'nginx' as const, host }));
const realServerHosts = Object.fromEntries(REAL_SERVERS.map((host, i) => [host, realServer(i + 1)]));

/** One director holding the VIPs and the real servers' gateway; three nginx real servers; a client. */
export const singleDirector: Topology = {
  name: 'single-director',
  description: 'client LAN, one director (VIP 192.0.2.10 / 2001:db8:1::10, gateway 10.0.1.1), 3 nginx real servers',
  lans: { clients: {}, servers: {} },
  hosts: {
    client: client(ADDRESSES.director4, ADDRESSES.director6),
    director: director(2, [`${ADDRESSES.vip4}/24`], [`${ADDRESSES.vip6}/64`], [`${ADDRESSES.gateway4}/24`, `${ADDRESSES.gateway6}/64`]),
    ...realServerHosts,
  },
  services: nginxOnRealServers,
  addresses: { ...ADDRESSES },
};

/**
 * Two directors on both LANs with no VIP or gateway configured: the VRRP engine under test (or
 * keepalived) owns 192.0.2.10 and 10.0.1.1.
 */
export const directorPair: Topology = {
  name: 'director-pair',
  description: 'client LAN, directors director1 (.2) and director2 (.3) with no VIPs (VRRP owns them), 3 nginx real servers',
  lans: { clients: {}, servers: {} },
  hosts: {
    client: client(ADDRESSES.vip4, ADDRESSES.vip6),
    director1: director(2, [], [], []),
    director2: director(3, [], [], []),
    ...realServerHosts,
  },
  services: nginxOnRealServers,
  addresses: { ...ADDRESSES },
};

/**
 * N directors active/active behind an ECMP router (issue #14). The router (FRR: bgpd with maximum-paths,
 * bfdd) peers with a routing daemon on each director (FRR or BIRD 2), which announces the VIP while lvsd
 * keeps its route; the router spreads flows over the directors announcing it, hashing on L4
 * (fib_multipath_hash_policy=1). Direct routing: the real servers hold the VIP on lo (arp_ignore=1,
 * arp_announce=2) and answer the client through the router, never through a director.
 *
 *   client .100 ── [clients 192.0.2.0/24] ── .1 router .1 ── [core 10.0.1.0/24] ──┬── director1 .2, director2 .3, director3 .4
 *                                                                               └── rs1 .11, rs2 .12, rs3 .13 (VIP 203.0.113.10 on lo)
 *
 * Nothing runs on the directors: the test starts lvsd and the routing daemons (src/lab/routing.ts).
 * The directors start with net.ipv4.vs.sloppy_tcp=0, the kernel's default: lvsd sets it (global.ipvs.sysctls: auto)
 * because its services gate an announced VIP, and the tests rely on that.
 */
export const ECMP_ADDRESSES = {
  vip4: '203.0.113.10',
  client4: '192.0.2.100',
  routerClient4: '192.0.2.1',
  router4: '10.0.1.1',
  director1: '10.0.1.2', director2: '10.0.1.3', director3: '10.0.1.4',
  rs1: '10.0.1.11', rs2: '10.0.1.12', rs3: '10.0.1.13',
} as const;
export const ECMP_DIRECTORS = ['director1', 'director2', 'director3'] as const;

function ecmpDirector(n: 1 | 2 | 3): HostSpec {
  return {
    ifaces: { eth0: { lan: 'core', addrs: [`${ECMP_ADDRESSES[`director${n}`]}/24`] } },
    routes: [{ dst: 'default', via: ECMP_ADDRESSES.router4 }],
  };
}
function ecmpRealServer(name: (typeof REAL_SERVERS)[number]): HostSpec {
  return {
    sysctls: { 'net.ipv4.conf.all.arp_ignore': 1, 'net.ipv4.conf.all.arp_announce': 2 },
    ifaces: { eth0: { lan: 'core', addrs: [`${ECMP_ADDRESSES[name]}/24`] } },
    loopback: [`${ECMP_ADDRESSES.vip4}/32`],
    routes: [{ dst: 'default', via: ECMP_ADDRESSES.router4 }],
  };
}

export const ecmp: Topology = {
  name: 'ecmp',
  description: 'client, an ECMP router (192.0.2.1 / 10.0.1.1), directors director1-3 (.2-.4, no routing daemon started), DR real servers rs1-3 (.11-.13, VIP 203.0.113.10 on lo, nginx)',
  lans: { clients: {}, core: {} },
  hosts: {
    client: {
      // The router's kernel hashes a forwarded packet by the hash it carries (skb->l4_hash: the client's
      // socket txhash, which crosses veths) instead of its 5-tuple, and TCP picks a new txhash on each
      // retransmission timeout: flows behind a dead director moved to another one after ~1 s, before
      // BFD took it out. A real router hashes the IPv4 5-tuple; txrehash=0 keeps the client's hash fixed.
      sysctls: { 'net.core.txrehash': 0 },
      ifaces: { eth0: { lan: 'clients', addrs: [`${ECMP_ADDRESSES.client4}/24`] } },
      routes: [{ dst: 'default', via: ECMP_ADDRESSES.routerClient4 }],
    },
    router: {
      forwarding: true,
      // L4 hashing: the flows of one client spread over the directors (the default hashes addresses only).
      sysctls: { 'net.ipv4.fib_multipath_hash_policy': 1, 'net.ipv6.fib_multipath_hash_policy': 1 },
      ifaces: {
        eth0: { lan: 'clients', addrs: [`${ECMP_ADDRESSES.routerClient4}/24`] },
        eth1: { lan: 'core', addrs: [`${ECMP_ADDRESSES.router4}/24`] },
      },
    },
    director1: ecmpDirector(1),
    director2: ecmpDirector(2),
    director3: ecmpDirector(3),
    rs1: ecmpRealServer('rs1'),
    rs2: ecmpRealServer('rs2'),
    rs3: ecmpRealServer('rs3'),
  },
  services: nginxOnRealServers,
  addresses: { ...ECMP_ADDRESSES },
};

export const TOPOLOGIES: Record<string, Topology> = {
  'single-director': singleDirector,
  'director-pair': directorPair,
  ecmp,
};

export function topologyByName(name: string): Topology {
  const t = TOPOLOGIES[name];
  if (!t) throw new Error(`unknown topology ${JSON.stringify(name)}; known: ${Object.keys(TOPOLOGIES).join(', ')}`);
  return t;
}
