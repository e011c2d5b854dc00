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

export const TOPOLOGIES: Record<string, Topology> = {
  'single-director': singleDirector,
  'director-pair': directorPair,
};

export function topologyByName(name: string): Topology {
  const t = TOPOLOGIES[name];
  if (!t) throw new Error(`unknown topology ${JSON.stringify(name)}; known: ${Object.keys(TOPOLOGIES).join(', ')}`);
  return t;
}
