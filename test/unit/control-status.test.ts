// The status JSON built from a fake daemon (real config, fixed kernel table) and its rendering for a
// person: VRRP first, then the table laid out as ipvsadm -Ln prints it, health and reason appended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStatus, formatUptime, renderStatus, type ControlStatus } from '../../src/control/status.js';
import { fakeTarget } from './control-fixture.js';
import { parseConfig } from '../../src/config/index.js';

test('buildStatus joins the kernel table with the balancer and VRRP', async () => {
  const st = await buildStatus(fakeTarget(), Date.UTC(2026, 10, 25, 9, 2, 3));
  assert.equal(st.routerId, 'dir1');
  assert.equal(st.uptimeSeconds, 3723);
  assert.equal(st.startedAt, '2026-11-25T08:00:00.000Z');
  assert.deepEqual(st.reloads, { success: 2, failure: 1 });
  assert.deepEqual(st.ipvs, { version: 0x010201, connTabSize: 4096, error: null });
  const [vi] = st.vrrp;
  assert.equal(vi?.state, 'master');
  assert.equal(vi?.priority, 140);
  assert.equal(vi?.basePriority, 150);
  assert.deepEqual(vi?.vips, ['192.0.2.10']);
  assert.equal(vi?.masterAddress, '10.0.0.2');
  assert.deepEqual(vi?.lastTransition, { from: 'backup', to: 'master', reason: 'master-down-timer', at: '2026-11-25T08:00:04.000Z' });
  assert.equal(vi?.counters.drops.ttl, 2);
  assert.equal(vi?.counters.drops.auth_failure, 0, 'every instance drop reason, zeros included');

  const web = st.services.find((s) => s.name === 'web')!;
  assert.equal(web.endpoint, 'TCP 192.0.2.10:80');
  assert.equal(web.quorum, true);
  assert.equal(web.sorryServer, '10.0.1.100:80');
  assert.equal(web.kernel?.dests.length, 2);
  assert.equal(web.kernel?.dests[0]?.stats.conns, '12345678901234', '64-bit counters travel as strings');
  const s11 = web.servers.find((s) => s.server === '10.0.1.11:80')!;
  assert.deepEqual({ up: s11.up, inKernel: s11.inKernel, kernelWeight: s11.kernelWeight, activeConns: s11.activeConns, reason: s11.reason }, { up: true, inKernel: true, kernelWeight: 2, activeConns: 5, reason: 'status 200' });
  const s12 = web.servers.find((s) => s.server === '10.0.1.12:80')!;
  assert.equal(s12.drained, true);
  assert.equal(s12.kernelWeight, 0);
  const s13 = web.servers.find((s) => s.server === '10.0.1.13:80')!;
  assert.deepEqual({ up: s13.up, inKernel: s13.inKernel, reason: s13.reason, changedAt: s13.changedAt }, { up: false, inKernel: false, reason: 'connection refused', changedAt: '2026-11-25T09:30:00.000Z' });

  const dns = st.services.find((s) => s.name === 'dns')!;
  assert.equal(dns.kernel, null);
  assert.equal(dns.endpoint, 'UDP [2001:db8::53]:53');
  assert.equal(dns.quorum, null);
  assert.deepEqual(st.otherServices.map((e) => `${e.service.addr}:${e.service.port}`), ['198.51.100.1:443']);
  // It is JSON: a round trip changes nothing.
  assert.deepEqual(JSON.parse(JSON.stringify(st)), st);
});

test('an unreadable IPVS table is reported, not thrown', async () => {
  const st = await buildStatus(fakeTarget({ ipvs: { info: async () => { throw new Error('IPVS is not available (ENOENT)'); }, table: async () => [] } }));
  assert.equal(st.ipvs.error, 'IPVS is not available (ENOENT)');
  assert.equal(st.services.length, 2);
  assert.ok(st.services.every((s) => s.kernel === null));
  assert.match(renderStatus(st), /IPVS: cannot read the kernel's table: IPVS is not available \(ENOENT\)/);
  const none = await buildStatus(fakeTarget({ ipvs: null, engine: null, balancer: null }));
  assert.equal(none.vrrp.length, 0);
  assert.equal(none.services[0]?.servers[0]?.up, null);
});

test('renderStatus: VRRP first, then ipvsadm -Ln with health and reason', async () => {
  const st = await buildStatus(fakeTarget(), Date.UTC(2026, 10, 25, 9, 2, 3));
  const text = renderStatus(st);
  const lines = text.split('\n');
  assert.equal(lines[0], `lvsd on dir1 (pid ${process.pid}): up 1h02m, config abababababab, reloads 2 ok / 1 failed`);
  assert.equal(lines[2], 'VRRP (1 instance)');
  assert.equal(lines[3], '  VI_1  MASTER  priority 140 (base 150)  vrid 51 v2 on eth0  VIPs 192.0.2.10');
  assert.equal(lines[4], '    master 10.0.0.2; since 2026-11-25T08:00:04.000Z (backup -> master, master-down-timer); adverts sent 1203, received 4; became master 1x');
  assert.equal(lines[5], '    dropped: ttl 2');
  // ipvsadm 1.31 -Ln layout (header, sorted services, padded columns), as ipvsadm-format renders it.
  const ipvs = lines.slice(lines.indexOf('IP Virtual Server version 1.2.1 (size=4096)'));
  assert.deepEqual(ipvs.slice(0, 11), [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    'TCP  192.0.2.10:80 wrr  [web, quorum up]',
    '  -> 10.0.1.11:80                 Masq    2      5          1          up        status 200',
    '  -> 10.0.1.12:80                 Masq    0      3          40         drained   (up: status 200)',
    '  -- 10.0.1.13:80                 (not in table)                       DOWN      connection refused',
    "TCP  198.51.100.1:443 rr  (not lvsd's)",
    '  -> 198.51.100.7:443             Masq    1      0          0         ',
    '',
    "UDP [2001:db8::53]:53  [dns] not in the kernel's table",
  ]);
  assert.equal(ipvs[11], '  -- [2001:db8::1]:53             up        no checks');
  assert.equal(text.endsWith('\n'), true);
});

test('renderStatus survives odd JSON: missing counters, bad numbers, a lost quorum, the sorry server', () => {
  const st: ControlStatus = {
    routerId: 'x', pid: 1, startedAt: '', uptimeSeconds: 59, configHash: '', reloads: { success: 0, failure: 0 },
    vrrp: [], ipvs: { version: 0x010201, connTabSize: 4096, error: null }, otherServices: [],
    services: [{
      name: 'web', endpoint: 'TCP 192.0.2.10:80', quorum: false, sorryServer: '10.0.1.100:80',
      kernel: {
        service: { af: 2, protocol: 6, addr: '192.0.2.10', port: 80, fwmark: 0, schedName: 'wrr', flags: 0, timeout: 0, netmask: 0xffffffff, peName: '', stats: { conns: 'garbage' } as never },
        dests: [{ addrFamily: 2, addr: '10.0.1.100', port: 80, fwdMethod: 0, weight: 1, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0, activeConns: 0, inactConns: 0, persistConns: 0, stats: {} as never }],
      },
      servers: [{ server: '10.0.1.11:80', address: '10.0.1.11', port: 80, up: false, reason: null, weight: 1, configuredWeight: 1, drained: false, checks: ['tcp'], changedAt: null, inKernel: false, kernelWeight: null, activeConns: null, inactConns: null }],
    }],
  };
  const text = renderStatus(st);
  assert.match(text, /up 59s, config -, reloads 0 ok \/ 0 failed/);
  assert.match(text, /VRRP: no instances/);
  assert.match(text, /TCP  192\.0\.2\.10:80 wrr  \[web, QUORUM LOST\]/);
  assert.match(text, /  -> 10\.0\.1\.100:80 +Masq +1 +0 +0 +sorry server\n/);
  assert.match(text, /  -- 10\.0\.1\.11:80 .*DOWN\n/);
});

test('formatUptime', () => {
  assert.equal(formatUptime(0), '0s');
  assert.equal(formatUptime(61), '1m01s');
  assert.equal(formatUptime(3600), '1h00m');
  assert.equal(formatUptime(90061), '1d 1h01m');
  assert.equal(formatUptime(-5), '0s');
});

test('a group is one service with all its kernel services: none of them is shown as "not lvsd\'s", each carries its name in the listing', async () => {
  const yaml = `
virtual_services:
  - name: grp
    group: {addresses: ["192.0.2.20-21:80"]}
    scheduler: rr
    forwarding: dr
    checks: []
    real_servers: [{address: "10.0.1.11:80"}]
`;
  const r = parseConfig(yaml, 'g.yaml');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const AF_INET = 2, TCP = 6, ROUTE = 2;
  const stats = { conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n, cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n };
  const entry = (addr: string) => ({
    service: { af: AF_INET, protocol: TCP, addr, port: 80, fwmark: 0, schedName: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff, peName: '', stats },
    dests: [{ addrFamily: AF_INET, addr: '10.0.1.11', port: 80, fwdMethod: ROUTE, weight: 1, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0, activeConns: 0, inactConns: 0, persistConns: 0, stats }],
  });
  const st = await buildStatus(fakeTarget({
    config: r.ok ? r.config : undefined!, engine: null, balancer: null,
    ipvs: { info: async () => ({ version: 0x010201, connTabSize: 4096 }), table: async () => [entry('192.0.2.20'), entry('192.0.2.21')] },
  }));
  const grp = st.services[0]!;
  assert.equal(grp.kernel?.service.addr, '192.0.2.20');
  assert.deepEqual(grp.members?.map((m) => m.service.addr), ['192.0.2.21']);
  assert.deepEqual(st.otherServices, []);
  const text = renderStatus(st);
  assert.doesNotMatch(text, /not lvsd's/);
  assert.match(text, /192\.0\.2\.20:80 rr\s+\[grp\]/);
  assert.match(text, /192\.0\.2\.21:80 rr\s+\[grp\]/);
});
