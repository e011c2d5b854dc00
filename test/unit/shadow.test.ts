// Shadow mode (src/shadow/): the comparison of lvsd's desired table and verdicts with the kernel's
// table, and the shell around it with real checks on loopback and a kernel table given by the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { indexTable, type IndexedTable } from '../../ipvs/reconcile.js';
import type { IpvsKernelTable } from '../../ipvs/table.js';
import { destinationRecord, serviceRecord } from '../../src/balancer/records.js';
import { parseConfig, type LvsdConfig } from '../../src/config/index.js';
import { serviceNames } from '../../src/metrics/ipvs.js';
import { compareTables, type ServerView } from '../../src/shadow/compare.js';
import { formatChange, Shadow, withoutCommands, type ShadowChange } from '../../src/shadow/shadow.js';

function config(yaml: string): LvsdConfig {
  const r = parseConfig(yaml, 'test.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const YAML = `
virtual_services:
  - name: web
    address: 192.0.2.10:80
    scheduler: wrr
    forwarding: dr
    real_servers:
      - { address: 10.0.1.11:80, weight: 2, notify: { up: [/bin/touch, /tmp/up], down: [/bin/touch, /tmp/down] } }
      - { address: 10.0.1.12:80 }
      - { address: 10.0.1.13:80 }
`;

/** The table a config describes, with the given weight per server (undefined: absent). */
function tableOf(cfg: LvsdConfig, weights: Array<number | undefined>, sched?: string): IndexedTable {
  const vs = cfg.virtual_services[0]!;
  const service = { ...serviceRecord(vs), ...(sched ? { schedName: sched } : {}) };
  const dests = vs.real_servers.flatMap((rs, i) => (weights[i] === undefined ? [] : [destinationRecord(vs, rs, weights[i]!)]));
  return indexTable([{ service, dests }]);
}

const views = (ups: boolean[]): ServerView[] => ups.map((up, i) => ({ service: 'web', server: `10.0.1.1${i + 1}:80`, up, reason: up ? 'check passed' : 'connection refused', weight: up ? 1 : 0 }));

test('compareTables: agreeing tables give nothing; each kind of difference is named with both sides', () => {
  const cfg = config(YAML);
  const names = serviceNames(cfg);
  const desired = tableOf(cfg, [2, 1, undefined]);
  assert.deepEqual(compareTables(desired, tableOf(cfg, [2, 1, undefined]), names, views([true, true, false])), []);

  assert.deepEqual(compareTables(desired, new Map(), names, []), [{ kind: 'service-missing', service: 'web', detail: 'declared in lvsd.yaml, not in the kernel' }]);

  const d = compareTables(desired, tableOf(cfg, [5, undefined, 1], 'rr'), names, views([true, true, false]));
  assert.deepEqual(d, [
    { kind: 'service-settings', service: 'web', detail: 'scheduler rr in the kernel, wrr in lvsd.yaml' },
    { kind: 'weight', service: 'web', server: '10.0.1.11:80', detail: 'weight 5 in the kernel, lvsd wants 2' },
    { kind: 'verdict', service: 'web', server: '10.0.1.12:80', detail: 'lvsd: up (check passed); the kernel: not in the table (keepalived: down)' },
    { kind: 'verdict', service: 'web', server: '10.0.1.13:80', detail: 'lvsd: down (connection refused); the kernel: weight 1 (keepalived: up)' },
  ]);

  // A server the config does not list, and one lvsd keeps at weight 0 (inhibit) while keepalived removed it.
  const extra = tableOf(cfg, [2, undefined, undefined]);
  const foreign = { ...destinationRecord(cfg.virtual_services[0]!, cfg.virtual_services[0]!.real_servers[0]!, 1), addr: '10.0.1.99' };
  [...extra.values()][0]!.dests.set('foreign', foreign);
  const d2 = compareTables(tableOf(cfg, [2, 0, undefined]), extra, names, views([true, false, false]));
  assert.deepEqual(d2, [
    { kind: 'destination-settings', service: 'web', server: '10.0.1.12:80', detail: 'lvsd keeps it with weight 0 (down (connection refused)); the kernel: not in the table' },
    { kind: 'destination-extra', service: 'web', server: '10.0.1.99:80', detail: 'in the kernel with weight 1, not in lvsd.yaml' },
  ]);
});

test('withoutCommands: notify commands of servers and quorum are gone, nothing else changes', () => {
  const cfg = config(`${YAML}    quorum: { min: 1, up: [/bin/true], down: [/bin/false] }\n`);
  const w = withoutCommands(cfg);
  assert.equal(w.virtual_services[0]!.real_servers[0]!.notify, undefined);
  assert.equal(w.virtual_services[0]!.quorum?.up, undefined);
  assert.equal(w.virtual_services[0]!.quorum?.min, 1);
  assert.equal(w.virtual_services[0]!.real_servers[0]!.weight, 2);
  assert.ok(cfg.virtual_services[0]!.real_servers[0]!.notify, 'the original config is untouched');
});

test('Shadow: real checks on loopback against a kernel table the test plays keepalived with; differences appear and clear', async () => {
  const up = createServer((s) => s.destroy());
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  up.unref();
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const upPort = (up.address() as AddressInfo).port, downPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const cfg = config(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    checks: [{ type: tcp, interval: 100ms, timeout: 100ms, retries: 1, delay_before_retry: 50ms }]
    real_servers:
      - { address: 127.0.0.1:${upPort} }
      - { address: 127.0.0.1:${downPort} }
`);
  let kernel: IpvsKernelTable = [];
  const vs = cfg.virtual_services[0]!;
  const entry = (ports: number[]): IpvsKernelTable => [{
    service: { ...serviceRecord(vs), stats: {} as never },
    dests: vs.real_servers.filter((rs) => ports.includes(rs.address.port!)).map((rs) => ({ ...destinationRecord(vs, rs, 1), activeConns: 0, inactConns: 0, persistConns: 0, stats: {} as never })),
  }];
  const shadow = await Shadow.start(cfg, { intervalMs: 60_000, reader: { table: async () => kernel } });
  const changes: ShadowChange[] = [];
  shadow.on('change', (c: ShadowChange) => changes.push(c));
  try {
    // Let both checks reach a verdict.
    for (let i = 0; i < 50 && shadow.balancer.serverStates().some((s) => s.reason === 'starting up'); i++) await new Promise((r) => setTimeout(r, 50));
    kernel = entry([upPort]);
    await shadow.compare();
    assert.deepEqual(shadow.summary().current, [], 'keepalived and lvsd agree');
    assert.equal(shadow.summary().clean, true);

    kernel = entry([upPort, downPort]);
    await shadow.compare();
    assert.equal(changes.length, 1);
    assert.match(formatChange(changes[0]!), new RegExp(`^\\+ verdict web 127\\.0\\.0\\.1:${downPort}: lvsd: down \\(connection refused\\); the kernel: weight 1 \\(keepalived: up\\)$`));
    kernel = [];
    await shadow.compare();
    assert.deepEqual(changes.slice(1).map((c) => `${c.change} ${c.difference.kind}`), ['new service-missing', 'cleared verdict']);
    const s = shadow.summary();
    assert.equal(s.clean, false);
    assert.equal(s.rounds, 3);
    assert.equal(s.seen.length, 2);
  } finally {
    await shadow.stop();
    up.close();
  }
});

test('lvsdWouldBe: RFC 5798 section 6.4 applied to what was heard', async () => {
  const { lvsdWouldBe } = await import('../../src/shadow/vrrp.js');
  const cfg = config(`vrrp_instances:
  - { name: VI_1, interface: eth0, vrid: 1, version: 3, advert_interval: 1s, priority: 100, virtual_ips: [192.0.2.10/24] }
`);
  const ic = cfg.vrrp_instances[0]!;
  const heard = (priority: number, at = 0, src = '192.0.2.5') => ({ src, priority, advertIntervalMs: 1000, at });
  assert.deepEqual(lvsdWouldBe(ic, undefined, 0, '192.0.2.2'), { state: 'master', why: 'no master heard within Master_Down_Interval' });
  // Master_Down_Interval at priority 100, 1 s: 3 s + (256-100)/256 s = 3609.375 ms.
  assert.equal(lvsdWouldBe(ic, heard(150, 0), 3609, '192.0.2.2').state, 'backup');
  assert.equal(lvsdWouldBe(ic, heard(150, 0), 3610, '192.0.2.2').state, 'master');
  assert.equal(lvsdWouldBe(ic, heard(50), 10, '192.0.2.2').why, 'lvsd (priority 100) outranks the master 192.0.2.5 (50) and preempts');
  assert.equal(lvsdWouldBe({ ...ic, preempt: false }, heard(50), 10, '192.0.2.2').state, 'backup');
  assert.equal(lvsdWouldBe(ic, heard(0), 10, '192.0.2.2').state, 'master');
  // Equal priority: the higher primary address wins (section 6.4.3).
  assert.equal(lvsdWouldBe(ic, heard(100), 10, '192.0.2.9').state, 'master');
  assert.equal(lvsdWouldBe(ic, heard(100), 10, '192.0.2.2').state, 'backup');
});
