// The DR layout's description (src/demo/dr.ts), checked without a kernel: both directors' files are
// valid lvsd configuration with DR forwarding and equal ports, the topology passes the lab's checks,
// and the real-server script sets exactly the ARP rules the DR write-ups call for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, formatIssue } from '../../src/config/index.js';
import { validate, buildPlan } from '../../src/lab/topology.js';
import { drLayout, drTopology, realServerScript, DR_ADDRESSES } from '../../src/demo/dr.js';
import { masterDownIntervalMs } from '../../src/demo/layout.js';

test('each director\'s file is valid: one instance holding the VIP, a DR service on port 80 with the three real servers', () => {
  for (const d of drLayout.directors) {
    const r = parseConfig(drLayout.configFor(d, { preempt: true, dir: '/tmp/x' }), `${d}.yaml`);
    assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => formatIssue(e)).join('\n'));
    const c = r.config;
    assert.equal(c.vrrp_instances.length, 1);
    assert.equal(c.vrrp_instances[0]!.priority, drLayout.priorities[d]);
    assert.deepEqual(c.vrrp_instances[0]!.virtual_ips.map((v) => v.address), [...drLayout.masterAddresses]);
    const vs = c.virtual_services[0]!;
    assert.equal(vs.forwarding, 'dr');
    assert.equal(vs.address?.port, 80);
    assert.deepEqual(vs.real_servers.map((s) => `${s.address.address}:${s.address.port}`), drLayout.realServers.map((n) => drLayout.realServerEndpoint(n)));
    assert.equal(c.global.lvs_sync_daemon?.instance, 'public');
  }
  const p = parseConfig(drLayout.configFor('director2', { preempt: false, dir: '/tmp/x' }), 'd2.yaml');
  assert.ok(p.ok && p.config.vrrp_instances[0]!.preempt === false);
  assert.throws(() => drLayout.configFor('director3', { preempt: true, dir: '/tmp/x' }), /no director director3/);
});

test('topology: valid; every host on one LAN; real servers get arp_ignore=1 and arp_announce=2 before their links exist', () => {
  validate(drTopology);
  for (const h of ['client', ...drLayout.directors, ...drLayout.realServers]) assert.equal(drTopology.hosts[h]?.ifaces?.eth0?.lan, 'lan', h);
  const plan = buildPlan(drTopology, 't-');
  const rs1 = plan.find((s) => s.ns === 't-rs1' && s.argv[0] === 'sysctl');
  assert.ok(rs1?.argv.includes('net.ipv4.conf.all.arp_ignore=1') && rs1.argv.includes('net.ipv4.conf.all.arp_announce=2'), JSON.stringify(rs1));
  assert.equal(realServerScript(DR_ADDRESSES.vip4),
    'sysctl -q -w net.ipv4.conf.all.arp_ignore=1 && sysctl -q -w net.ipv4.conf.all.arp_announce=2 && ip addr replace 192.0.2.10/32 dev lo');
  assert.throws(() => drLayout.realServerEndpoint('rs9'), /no real server rs9/);
});

test('takeover budget: Master_Down_Interval of the backup (priority 100, 100 ms adverts) is 360.9 ms', () => {
  assert.equal(Math.round(masterDownIntervalMs(drLayout.watched.advertIntervalMs, drLayout.priorities.director2!) * 10) / 10, 360.9);
});
