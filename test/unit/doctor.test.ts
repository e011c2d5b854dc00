// `lvsd doctor`'s judgement (src/doctor/findings.ts) on facts given by hand: exact messages and fixes,
// and what makes it fail. The live host is in test/integration/active-active.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import type { LvsdConfig } from '../../src/config/model.js';
import { diagnose, healthy, renderFindings, type HostFacts } from '../../src/doctor/findings.js';

function cfg(yaml: string): LvsdConfig {
  const r = parseConfig(yaml, 'test.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`).join('\n'));
  return r.config;
}

const ECMP = cfg(`
virtual_services:
  - {name: web, address: 203.0.113.10:80, scheduler: mh, forwarding: dr}
announce:
  - {name: vip, addresses: [203.0.113.10], virtual_services: [web]}
`);

const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
  ipvs: { ok: true, version: '1.2.1' },
  sysctls: new Map([['net.ipv4.vs.sloppy_tcp', '1'], ['net.ipv4.vs.schedule_icmp', '1']]),
  interfaces: new Set(['lo', 'eth0']),
  routingDaemons: ['systemd', 'zebra', 'bgpd', 'bfdd'],
  announceRoutes: { ok: true, routes: ['203.0.113.10'] },
  ...over,
});

test('all well: every check ok, exit status healthy', () => {
  const f = diagnose(ECMP, facts());
  assert.ok(healthy(f));
  assert.equal(renderFindings(f), [
    'ok   ipvs: IPVS 1.2.1 answers over generic netlink',
    'ok   sysctl net.ipv4.vs.sloppy_tcp: net.ipv4.vs.sloppy_tcp = 1',
    'ok   sysctl net.ipv4.vs.schedule_icmp: net.ipv4.vs.schedule_icmp = 1',
    'ok   routing-daemon: routing daemon running: zebra, bgpd',
    'ok   announce: table 250 proto 250 holds every announced VIP: 203.0.113.10',
    'all well',
    '',
  ].join('\n'));
});

test('sloppy_tcp 0, no routing daemon, VIP not in the table: two problems and a warning, each with its fix', () => {
  const f = diagnose(ECMP, facts({ sysctls: new Map([['net.ipv4.vs.sloppy_tcp', '0'], ['net.ipv4.vs.schedule_icmp', '1']]), routingDaemons: ['sshd'], announceRoutes: { ok: true, routes: [] } }));
  assert.ok(!healthy(f));
  assert.deepEqual(f.filter((x) => x.status !== 'ok'), [
    { status: 'fail', check: 'sysctl net.ipv4.vs.sloppy_tcp', message: 'net.ipv4.vs.sloppy_tcp is 0, needs 1: web is announced by several directors: a director must accept the middle of a TCP connection another director started, not only a SYN', fix: 'run lvsd with global.ipvs.sysctls: auto (the default), which sets it, or: sysctl -w net.ipv4.vs.sloppy_tcp=1' },
    { status: 'fail', check: 'routing-daemon', message: "1 announced VIP group, but no routing daemon (zebra + bgpd, or bird) runs here: nothing announces lvsd's routes", fix: 'start FRR or BIRD 2 with table 250 imported (deploy/routing/frr.conf, deploy/routing/bird.conf)' },
    { status: 'warn', check: 'announce', message: 'not in table 250 proto 250 (lvsd not running, or quorum lost): 203.0.113.10', fix: 'lvsd status shows why each group is withdrawn' },
  ]);
  assert.match(renderFindings(f), /\n2 problems, 1 warning\n$/);
});

test('sysctls: off is noted (lvsd will not set it); no IPVS fails a file with services; a missing interface fails; NAT needs ip_forward', () => {
  const off = cfg(`global: {ipvs: {sysctls: off}}
virtual_services:
  - {name: web, address: 203.0.113.10:80, scheduler: mh, forwarding: dr}
announce:
  - {name: vip, addresses: [203.0.113.10], virtual_services: [web]}
`);
  const f1 = diagnose(off, facts({ sysctls: new Map([['net.ipv4.vs.sloppy_tcp', '0'], ['net.ipv4.vs.schedule_icmp', '1']]) }));
  assert.match(f1.find((x) => x.check === 'sysctl net.ipv4.vs.sloppy_tcp')!.message, / \(global\.ipvs\.sysctls is off: lvsd will not set it\)$/);

  const nat = cfg(`vrrp_instances:
  - {name: v, interface: eth1, vrid: 1, virtual_ips: [192.0.2.10/24]}
virtual_services:
  - {name: web, address: 192.0.2.10:80, forwarding: nat, real_servers: [{address: 10.0.0.1:8080}]}
`);
  const f2 = diagnose(nat, facts({ ipvs: { ok: false, error: 'no IPVS' }, sysctls: new Map([['net.ipv4.ip_forward', '0']]) }));
  assert.deepEqual(f2.map((x) => [x.status, x.check]), [['fail', 'ipvs'], ['fail', 'sysctl net.ipv4.ip_forward'], ['fail', 'interface eth1']]);
  assert.equal(f2[1]!.fix, "echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/60-lvsd.conf && sysctl -p /etc/sysctl.d/60-lvsd.conf");
  assert.equal(f2[2]!.message, 'eth1 does not exist here, but VRRP instance v uses it');
  assert.equal(f2[2]!.fix, 'create eth1 or use one of: eth0, lo');
  // A VRRP-only file on a kernel without IPVS: a warning, not a failure.
  const vrrpOnly = cfg(`vrrp_instances:\n  - {name: v, interface: eth0, vrid: 1, virtual_ips: [192.0.2.10/24]}\n`);
  const f3 = diagnose(vrrpOnly, facts({ ipvs: { ok: false, error: 'no IPVS' } }));
  assert.ok(healthy(f3));
  assert.equal(f3[0]!.status, 'warn');
});
