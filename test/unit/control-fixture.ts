// Fixtures for the control tests: a real config, a fixed kernel table, a fake daemon (ControlTarget).
import { parseConfig } from '../../src/config/index.js';
import type { LvsdConfig } from '../../src/config/model.js';
import type { ControlTarget, ControlServerState } from '../../src/control/target.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import type { IpvsKernelTable } from '../../ipvs/table.js';
import type { IpvsStats } from '../../ipvs/stats.js';

export const CONFIG_YAML = `
global:
  router_id: dir1
vrrp_instances:
  - name: VI_1
    interface: eth0
    vrid: 51
    priority: 150
    virtual_ips: [192.0.2.10/24]
checks:
  - name: web-http
    type: http
    path: /
virtual_services:
  - name: web
    address: 192.0.2.10:80
    protocol: tcp
    scheduler: wrr
    forwarding: nat
    checks: [web-http]
    sorry_server: 10.0.1.100:80
    real_servers:
      - address: 10.0.1.11:80
        weight: 2
      - address: 10.0.1.12:80
      - address: 10.0.1.13:80
  - name: dns
    address: "[2001:db8::53]:53"
    protocol: udp
    scheduler: rr
    forwarding: dr
    checks: []
    real_servers:
      - address: "[2001:db8::1]:53"
`;

export function testConfig(): LvsdConfig {
  const r = parseConfig(CONFIG_YAML, 'test.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const zero = (): IpvsStats => ({ conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n, cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n });
const AF_INET = 2, TCP = 6, MASQ = 0;
const svc = (addr: string, port: number, sched: string) => ({ af: AF_INET, protocol: TCP, addr, port, fwmark: 0, schedName: sched, flags: 0, timeout: 0, netmask: 0xffffffff, peName: '', stats: zero() });
const dest = (addr: string, port: number, weight: number, active: number, inact: number) => ({
  addrFamily: AF_INET, addr, port, fwdMethod: MASQ, weight, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0,
  activeConns: active, inactConns: inact, persistConns: 0, stats: { ...zero(), conns: 12345678901234n },
});

/** web: .11 up (2), .12 drained, .13 down and out of the table; dns absent; one service lvsd does not own. */
export function kernelTable(): IpvsKernelTable {
  return [
    { service: svc('198.51.100.1', 443, 'rr'), dests: [dest('198.51.100.7', 443, 1, 0, 0)] },
    { service: svc('192.0.2.10', 80, 'wrr'), dests: [dest('10.0.1.12', 80, 0, 3, 40), dest('10.0.1.11', 80, 2, 5, 1)] },
  ];
}

export function serverStates(): ControlServerState[] {
  return [
    { service: 'web', server: '10.0.1.11:80', up: true, weight: 2, configuredWeight: 2, drained: false, reason: 'status 200', checks: ['http'], changedAt: 0 },
    { service: 'web', server: '10.0.1.12:80', up: true, weight: 0, configuredWeight: 1, drained: true, reason: 'status 200', checks: ['http'], changedAt: 0 },
    { service: 'web', server: '10.0.1.13:80', up: false, weight: 1, configuredWeight: 1, drained: false, reason: 'connection refused', checks: ['http'], changedAt: Date.UTC(2026, 10, 25, 9, 30) },
    { service: 'dns', server: '[2001:db8::1]:53', up: true, weight: 1, configuredWeight: 1, drained: false, reason: 'no checks', checks: [], changedAt: 0 },
  ];
}

export function fakeTarget(over: Partial<ControlTarget> = {}): ControlTarget {
  const config = testConfig();
  const vi = config.vrrp_instances[0]!;
  return {
    config,
    configHash: 'ab'.repeat(32),
    startedAt: Date.UTC(2026, 10, 25, 8, 0, 0),
    reloads: { success: 2, failure: 1 },
    reload: async () => ({ ok: true, hash: 'cd'.repeat(32), unchanged: false }),
    engine: {
      instances: new Map([['VI_1', {
        config: vi, state: 'master', machine: { priority: 140, faultCauses: [] }, basePriority: 150,
        counters: { advertsSent: 1203, advertsReceived: 4, becameMaster: 1, announcements: 10, vipErrors: 0, drops: { 'ttl': 2 }, notes: {} },
        masterAddress: '10.0.0.2',
        lastTransition: { from: 'backup', to: 'master', reason: 'master-down-timer', at: Date.UTC(2026, 10, 25, 8, 0, 4) },
      }]]),
      giveUp: () => true,
    },
    balancer: { serverStates, quorumState: () => [{ service: 'web', up: true }, { service: 'dns', up: undefined }] },
    ipvs: { info: async () => ({ version: 0x010201, connTabSize: 4096 }), table: async () => kernelTable() },
    ...over,
  };
}

// The Daemon H1 wrote must stay a ControlTarget (compile-time check).
export const daemonIsATarget = (d: Daemon): ControlTarget => d;

