// The classic LVS-NAT director pair on the lab's director-pair network:
//
//   client .100 ── 192.0.2.0/24 ── eth0 [director1 .2 | director2 .3] eth1 ── 10.0.1.0/24 ── rs1-rs3 :80
//
// The public VIP 192.0.2.10 (VRID 10 on eth0) and the real servers' gateway 10.0.1.1 (VRID 11 on eth1)
// form one sync group: with NAT the replies must come back through the director that holds the VIP.
// VRRPv3 at 100 ms so a takeover costs about 360 ms; HTTP checks every 200 ms; the kernel's
// connection-sync daemon follows the gateway instance over eth1.
import { directorPair, ADDRESSES, REAL_SERVERS } from '../lab/index.js';
import { DEMO_CHECKS_YAML, demoGlobalYaml, type Layout, type LayoutOptions } from './layout.js';

const ADVERT_MS = 100;
const PRIORITIES: Record<string, number> = { director1: 150, director2: 100 };

function natConfig(director: string, opts: LayoutOptions): string {
  const prio = PRIORITIES[director];
  if (prio === undefined) throw new Error(`nat layout: no director ${director}`);
  const instance = (name: string, iface: string, vrid: number, vip: string) => `
  - name: ${name}
    interface: ${iface}
    vrid: ${vrid}
    priority: ${prio}
    version: 3
    advert_interval: ${ADVERT_MS}ms
    virtual_ips: [${vip}]
    preempt: ${opts.preempt}
    # After a restart, wait before taking over again: the sync daemon re-sends a connection only
    # every 50 packets (net.ipv4.vs.sync_threshold 3 50), so the returning director needs a few
    # seconds of traffic to learn the connections that are still open.
    preempt_delay: 4s
    # Re-announce the VIPs every second while master: if a starved master's adverts come late and the
    # backup claims the VIPs for a moment, clients and real servers follow the backup's gratuitous ARP;
    # lvsd does not (yet) answer the backup's lower-priority advert with ARP as keepalived's
    # garp_lower_prio_repeat does, so without a refresh new connections black-hole until ARP expires.
    garp:
      refresh: 1s
    track:
      interfaces: [{name: ${iface === 'eth0' ? 'eth1' : 'eth0'}}]`;
  const servers = REAL_SERVERS.map((h) => `      - address: ${ADDRESSES[`${h}_4`]}:80`).join('\n');
  return `# lvsd demo: LVS-NAT pair, ${director}
${demoGlobalYaml(director, opts.dir, { interface: 'eth1', instance: 'gateway', syncId: 11 })}

vrrp_instances:${instance('public', 'eth0', 10, `${ADDRESSES.vip4}/24`)}${instance('gateway', 'eth1', 11, `${ADDRESSES.gateway4}/24`)}

vrrp_sync_groups:
  - name: nat
    instances: [public, gateway]

${DEMO_CHECKS_YAML}

virtual_services:
  - name: web
    address: ${ADDRESSES.vip4}:80
    scheduler: rr
    forwarding: nat
    checks: [web]
    real_servers:
${servers}
`;
}

export const natLayout: Layout = {
  name: 'nat',
  description: 'LVS-NAT: VIP 192.0.2.10 and gateway 10.0.1.1 in one sync group, 3 nginx real servers',
  topology: { ...directorPair, services: [] },
  directors: ['director1', 'director2'],
  realServers: REAL_SERVERS,
  client: 'client',
  vip: { address: ADDRESSES.vip4, port: 80 },
  masterAddresses: [ADDRESSES.vip4, ADDRESSES.gateway4],
  watched: { vrid: 10, interface: 'eth0', advertIntervalMs: ADVERT_MS },
  groupWatch: [{ vrid: 11, host: 'rs1', interface: 'eth0' }],
  priorities: PRIORITIES,
  realServerEndpoint: (name) => `${ADDRESSES[`${name as (typeof REAL_SERVERS)[number]}_4`]}:80`,
  configFor: natConfig,
};
