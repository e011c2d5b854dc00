// The IPVS keywords real keepalived configs use (issue #15), in lvsd's YAML: virtual service groups
// (keepalived virtual_server_group), ipvs_timeouts (lvs_timeouts), one_packet (ops), the twos scheduler,
// the sip persistence engine, sorry server inhibit and port 0, per-real-server inhibit_on_failure.
// From the config to the records the reconciler sends; the kernel's side is test/integration/ipvs-keywords.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { formatIssue, parseConfig } from '../../src/config/index.js';
import type { LvsdConfig } from '../../src/config/model.js';
import { parseAddressRange, formatAddressRange } from '../../src/config/address-range.js';
import { decideService } from '../../src/balancer/desired.js';
import { serviceRecords } from '../../src/balancer/records.js';
import { Balancer } from '../../src/balancer/balancer.js';
import { IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IPPROTO_UDP } from '../../ipvs/constants.js';
import { serviceKey } from '../../ipvs/service.js';
import type { IndexedTable, IpvsOp } from '../../ipvs/reconcile.js';
import { IpvsTableSync, type ApplyReport } from '../../ipvs/sync.js';
import type { IpvsTimeouts } from '../../ipvs/timeouts.js';

function config(yaml: string): LvsdConfig {
  const r = parseConfig(yaml, 'test.yaml');
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.config;
}
function errors(yaml: string): string[] {
  const r = parseConfig(yaml, 'test.yaml');
  assert.equal(r.ok, false, 'expected the config to be refused');
  return r.ok ? [] : r.errors.map(formatIssue);
}

describe('address ranges (virtual_server_group entries)', () => {
  test('one address, the last byte, a full range, IPv6 groups; both ends included', () => {
    const r = (s: string) => { const x = parseAddressRange(s); assert.ok(x.ok, s); return x.value; };
    assert.deepEqual(r('192.0.2.10:80').addresses, ['192.0.2.10']);
    assert.deepEqual(r('10.0.0.1-3:80').addresses, ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    assert.deepEqual(r('192.0.2.254-192.0.3.1:443').addresses, ['192.0.2.254', '192.0.2.255', '192.0.3.0', '192.0.3.1']);
    assert.deepEqual(r('[2001:db8::fe-101]:53').addresses, ['2001:db8::fe', '2001:db8::ff', '2001:db8::100', '2001:db8::101']);
    assert.deepEqual(r('[2001:db8::1-2001:db8::2]:0'), { family: 6, addresses: ['2001:db8::1', '2001:db8::2'], port: 0 });
    assert.equal(formatAddressRange(r('10.0.0.1-3:80')), '10.0.0.1-10.0.0.3:80');
    assert.equal(formatAddressRange(r('[2001:db8::1]:80')), '[2001:db8::1]:80');
  });
  test('refused: backwards, mixed families, too many, no port, a byte over 255', () => {
    const msg = (s: string) => { const x = parseAddressRange(s); assert.ok(!x.ok, s); return x.message; };
    assert.match(msg('10.0.0.9-3:80'), /ends before it starts/);
    assert.match(msg('10.0.0.1-2001:db8::1:80'), /write ADDRESS:PORT/);
    assert.match(msg('[2001:db8::1-10.0.0.1]:80'), /both ends of a range must be IPv6/);
    assert.match(msg('10.0.0.0-10.1.0.0:80'), /65537 addresses, more than the 1024/);
    assert.match(msg('10.0.0.1-3'), /write ADDRESS:PORT/);
    assert.match(msg('10.0.0.1-300:80'), /300 is not a byte/);
    assert.match(msg('10.0.0.1:70000'), /port must be 0-65535/);
  });
});

describe('lvsd check refuses misuse with file:line:col', () => {
  test('one_packet on TCP, the sip engine on TCP, sorry port 0 on an address service: each at its key', () => {
    const e = errors(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    one_packet: true
    persistence: {timeout: 60s, engine: sip}
    sorry_server: 10.0.1.100:0
`);
    assert.equal(e.length, 3, e.join('\n'));
    assert.ok(e.some((l) => /^test\.yaml:6:\d+: virtual_services\[0\]\.one_packet: one-packet scheduling is for UDP only; this service is tcp/.test(l)), e.join('\n'));
    assert.ok(e.some((l) => /^test\.yaml:7:\d+: virtual_services\[0\]\.persistence\.engine: the sip persistence engine reads SIP over UDP only/.test(l)), e.join('\n'));
    assert.ok(e.some((l) => /^test\.yaml:8:\d+: virtual_services\[0\]\.sorry_server: port 0 \(keep the request's port\) is only for fwmark/.test(l)), e.join('\n'));
  });
  test('groups: empty, two of address/fwmark/group, a duplicate across services, a DR port, mixed families', () => {
    const e = errors(`
virtual_services:
  - name: a
    group: {}
    forwarding: nat
  - name: b
    address: 192.0.2.10:80
    group: {fwmarks: [1]}
    forwarding: nat
  - name: c
    group: {addresses: ["192.0.2.9-11:80", "[2001:db8::1]:80"], fwmarks: [5, 5]}
    forwarding: dr
    real_servers: [{address: "10.0.1.11:8080"}]
`);
    const want = [
      /^test\.yaml:4:12: virtual_services\[0\]\.group: an empty group: give addresses or fwmarks$/,
      /^test\.yaml:8:12: virtual_services\[1\]\.group: give one of address, fwmark or group, not address and group$/,
      /^test\.yaml:11:\d+: virtual_services\[2\]\.group\.addresses\[1\]: IPv6 in a group whose first address is IPv4/,
      /^test\.yaml:11:\d+: virtual_services\[2\]\.group\.fwmarks\[1\]: fwmark 5 is listed twice$/,
      /^test\.yaml:13:\d+: virtual_services\[2\]\.real_servers\[0\]\.address: with forwarding: dr the real server port must equal each service port/,
    ];
    for (const re of want) assert.ok(e.some((l) => re.test(l)), `${re}\n${e.join('\n')}`);
    assert.equal(e.length, want.length, e.join('\n'));
  });
  test('a group member that another service already is: a duplicate, at the group entry', () => {
    assert.deepEqual(errors(`
virtual_services:
  - {name: b, address: "192.0.2.10:80", forwarding: nat}
  - name: c
    group: {addresses: ["192.0.2.9-11:80"], fwmarks: [4]}
    forwarding: nat
  - {name: d, fwmark: 4, forwarding: nat}
`), [
      "test.yaml:5:25: virtual_services[1].group.addresses[0]: duplicate virtual service tcp 192.0.2.10:80; already virtual_services[0] ('b')",
      "test.yaml:7:23: virtual_services[2].fwmark: duplicate virtual service fwmark 4 ipv4; already virtual_services[1] ('c')",
    ]);
  });
  test('ipvs_timeouts: whole seconds, at least one, tcpfin spelt tcp_fin', () => {
    const e = errors(`
global:
  ipvs_timeouts: {tcp: 1500ms}
`);
    assert.deepEqual(e, ['test.yaml:3:24: global.ipvs_timeouts.tcp: IPVS timeouts are whole seconds; got 1500ms']);
    assert.deepEqual(errors('global:\n  ipvs_timeouts: {}\n'), ['test.yaml:2:18: global.ipvs_timeouts: set at least one of tcp, tcp_fin, udp']);
    const e2 = errors('global:\n  ipvs_timeouts: {tcpfin: 30s}\n');
    assert.ok(e2.some((l) => /^test\.yaml:2:\d+: global\.ipvs_timeouts\.tcpfin: .*write 'tcp_fin'/.test(l)), e2.join('\n'));
  });
});

describe('records: what the reconciler sends', () => {
  test('a group is one IPVS service per address and fwmark, all with the same settings', () => {
    const vs = config(`
virtual_services:
  - name: g
    group: {addresses: ["192.0.2.10-11:53", "192.0.2.20:5353"], fwmarks: [7]}
    protocol: udp
    scheduler: twos
    one_packet: true
    persistence: {timeout: 120s, engine: sip}
    forwarding: dr
    real_servers: [{address: 10.0.1.11}]
`).virtual_services[0]!;
    const recs = serviceRecords(vs);
    assert.deepEqual(recs.map(serviceKey), ['2|17|192.0.2.10|53', '2|17|192.0.2.11|53', '2|17|192.0.2.20|5353', '2|fwmark|7']);
    for (const r of recs) {
      assert.equal(r.schedName, 'twos');
      assert.equal(r.flags, IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET);
      assert.equal(r.peName, 'sip');
      assert.equal(r.timeout, 120);
    }
    assert.equal(recs[3]!.protocol, 0);
    assert.equal(recs[0]!.protocol, IPPROTO_UDP);
    // A DR real server without a port takes each service's port (0 for the fwmark: the request's).
    const d = decideService(vs, [{ up: true }], undefined);
    assert.deepEqual(d.entries.map((e) => e.dests.map((x) => `${x.addr}:${x.port}`)), [['10.0.1.11:53'], ['10.0.1.11:53'], ['10.0.1.11:5353'], ['10.0.1.11:0']]);
    assert.deepEqual(d.entry, d.entries[0]);
  });
  test('one quorum for the whole group: the sorry server replaces the real servers on every member', () => {
    const vs = config(`
virtual_services:
  - name: g
    group: {fwmarks: [1, 2]}
    forwarding: dr
    quorum: {min: 2}
    sorry_server: 10.0.1.100:0
    real_servers: [{address: 10.0.1.11, weight: 1}, {address: 10.0.1.12, weight: 1}]
`).virtual_services[0]!;
    const up = decideService(vs, [{ up: true }, { up: true }], undefined);
    assert.equal(up.quorum, true);
    assert.deepEqual(up.entries.map((e) => e.dests.map((x) => x.addr)), [['10.0.1.11', '10.0.1.12'], ['10.0.1.11', '10.0.1.12']]);
    const lost = decideService(vs, [{ up: true }, { up: false }], true);
    assert.equal(lost.quorum, false);
    assert.deepEqual(lost.entries.map((e) => e.dests.map((x) => `${x.addr}:${x.port}/${x.weight}`)), [['10.0.1.100:0/1'], ['10.0.1.100:0/1']]);
  });
  test('inhibit_on_failure per real server overrides the service, both ways', () => {
    const vs = config(`
virtual_services:
  - name: w
    address: 192.0.2.10:80
    forwarding: nat
    inhibit_on_failure: true
    real_servers:
      - {address: "10.0.1.11:80", weight: 3}
      - {address: "10.0.1.12:80", weight: 3, inhibit_on_failure: false}
  - name: x
    address: 192.0.2.10:81
    forwarding: nat
    real_servers:
      - {address: "10.0.1.11:80", weight: 3, inhibit_on_failure: true}
      - {address: "10.0.1.12:80", weight: 3}
`).virtual_services;
    // Both down: service w inhibits but its second server says false; service x inhibits only its first.
    const dests = (i: number) => decideService(vs[i]!, [{ up: false }, { up: false }], undefined).entry.dests.map((d) => `${d.addr}/${d.weight}`);
    assert.deepEqual(dests(0), ['10.0.1.11/0']);
    assert.deepEqual(dests(1), ['10.0.1.11/0']);
    const up = decideService(vs[1]!, [{ up: true }, { up: true }], undefined).entry.dests.map((d) => `${d.addr}/${d.weight}`);
    assert.deepEqual(up, ['10.0.1.11/3', '10.0.1.12/3']);
  });
  test('sorry server inhibit (keepalived): absent until it first serves, then weight 0 while the real servers serve', () => {
    const vs = config(`
virtual_services:
  - name: w
    address: 192.0.2.10:80
    forwarding: nat
    sorry_server: {address: "10.0.1.100:80", inhibit: true}
    real_servers: [{address: "10.0.1.11:80"}]
`).virtual_services[0]!;
    const at = (up: boolean, used: boolean) => decideService(vs, [{ up }], undefined, used).entry.dests.map((d) => `${d.addr}/${d.weight}`);
    assert.deepEqual(at(true, false), ['10.0.1.11/1']);
    assert.deepEqual(at(false, false), ['10.0.1.100/1']);
    assert.deepEqual(at(true, true), ['10.0.1.11/1', '10.0.1.100/0']);
    const plain = config(`
virtual_services:
  - {name: w, address: "192.0.2.10:80", forwarding: nat, sorry_server: "10.0.1.100:80", real_servers: [{address: "10.0.1.11:80"}]}
`).virtual_services[0]!;
    assert.deepEqual(decideService(plain, [{ up: true }], undefined).entry.dests.map((d) => d.addr), ['10.0.1.11']);
  });
});

class RecordingSink {
  tables: IndexedTable[] = [];
  timeouts: Partial<IpvsTimeouts>[] = [];
  async apply(desired: IndexedTable): Promise<ApplyReport> {
    this.tables.push(new Map(desired));
    return { writes: 0, rounds: 0, reread: false, errors: [] };
  }
  async applyTimeouts(t: Partial<IpvsTimeouts>): Promise<number> { this.timeouts.push(t); return 1; }
}

describe('the balancer with groups and timeouts', () => {
  test('a group programs every member; a reload that drops an address drops its service; timeouts go in seconds', async () => {
    const first = config(`
global: {ipvs_timeouts: {tcp: 15m, udp: 60s}}
virtual_services:
  - name: g
    group: {addresses: ["192.0.2.10-12:80"]}
    forwarding: nat
    real_servers: [{address: "10.0.1.11:80", checks: []}]
`);
    const sink = new RecordingSink();
    const b = new Balancer(first, { sync: sink, cleanupOnStop: false });
    await b.start();
    assert.deepEqual([...sink.tables[0]!.keys()], ['2|6|192.0.2.10|80', '2|6|192.0.2.11|80', '2|6|192.0.2.12|80']);
    assert.deepEqual(sink.timeouts, [{ tcp: 900, udp: 60 }]);
    const next = config(`
global: {ipvs_timeouts: {tcp_fin: 30s}}
virtual_services:
  - name: g
    group: {addresses: ["192.0.2.10-11:80"]}
    forwarding: nat
    real_servers: [{address: "10.0.1.11:80", checks: []}]
`);
    const s = await b.reload(next);
    assert.deepEqual([...sink.tables.at(-1)!.keys()], ['2|6|192.0.2.10|80', '2|6|192.0.2.11|80']);
    assert.deepEqual(s.servicesChanged, ['g']);
    assert.deepEqual(sink.timeouts, [{ tcp: 900, udp: 60 }, { tcpFin: 30 }]);
    await b.stop();
  });

  test('IpvsTableSync.applyTimeouts sends IPVS_CMD_SET_CONFIG only for what differs', async () => {
    const sent: IpvsOp[][] = [];
    let kernel: IpvsTimeouts = { tcp: 900, tcpFin: 120, udp: 300 };
    const client = {
      table: async () => [],
      timeouts: async () => kernel,
      apply: async (ops: IpvsOp[]) => { sent.push(ops); for (const o of ops) if (o.kind === 'IPVS_CMD_SET_CONFIG') kernel = { ...kernel, ...o.timeouts }; return ops.map(() => ({ ok: true as const })); },
    };
    const sync = new IpvsTableSync(client);
    assert.equal(await sync.applyTimeouts({ tcp: 900, udp: 60 }), 1);
    assert.deepEqual(sent, [[{ kind: 'IPVS_CMD_SET_CONFIG', timeouts: { udp: 60 } }]]);
    assert.equal(await sync.applyTimeouts({ tcp: 900, udp: 60 }), 0);
    assert.equal(sent.length, 1);
  });
});
