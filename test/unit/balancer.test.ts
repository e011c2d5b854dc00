// The balancer: its pure core (config + verdicts -> desired IPVS entry and quorum, keepalived's rules)
// and its shell with real TCP checks on this machine feeding a sink that records each batch.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config/index.js';
import type { LvsdConfig, VirtualServiceConfig } from '../../src/config/model.js';
import { decideService, nextQuorum } from '../../src/balancer/desired.js';
import { serviceRecord } from '../../src/balancer/records.js';
import { Balancer, type QuorumEvent, type VerdictEvent } from '../../src/balancer/balancer.js';
import { IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IP_VS_SVC_F_PERSISTENT, IPPROTO_TCP } from '../../ipvs/constants.js';
import type { IndexedTable } from '../../ipvs/reconcile.js';
import type { ApplyReport } from '../../ipvs/sync.js';

function config(yaml: string): LvsdConfig {
  const r = parseConfig(yaml, 'test.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}
const svc = (extra: string) => config(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    scheduler: rr
${extra}
    real_servers:
      - {address: "10.0.1.11:80", weight: 2}
      - {address: "10.0.1.12:80", weight: 3}
      - {address: "10.0.1.13:8080", weight: 5}
`).virtual_services[0]!;
const dests = (vs: VirtualServiceConfig, ups: boolean[], q?: boolean) =>
  decideService(vs, ups.map((up) => ({ up })), q).entry.dests.map((d) => `${d.addr}:${d.port}/${d.weight}`);

describe('desired table', () => {
  test('service and destination records as ipvsadm would send them', () => {
    const vs = config(`
virtual_services:
  - {name: a, address: "192.0.2.10:443", forwarding: dr, scheduler: sh, scheduler_flags: [sh-port], persistence: {timeout: 600s, netmask: 255.255.255.0},
     real_servers: [{address: "10.0.1.11", upper_threshold: 100}]}
`).virtual_services[0]!;
    const s = serviceRecord(vs);
    assert.deepEqual({ ...s }, { af: 2, protocol: IPPROTO_TCP, addr: '192.0.2.10', port: 443, fwmark: 0, schedName: 'sh', flags: IP_VS_SVC_F_PERSISTENT | 0x10, timeout: 600, netmask: 0xffffff00, peName: '' });
    const d = decideService(vs, [{ up: true }], undefined).entry.dests[0]!;
    assert.equal(d.port, 443);
    assert.equal(d.fwdMethod, IP_VS_CONN_F_DROUTE);
    assert.equal(d.uThresh, 100);
  });
  test('a failed server is removed; with inhibit_on_failure it stays at weight 0', () => {
    assert.deepEqual(dests(svc(''), [true, false, true]), ['10.0.1.11:80/2', '10.0.1.13:8080/5']);
    assert.deepEqual(dests(svc('    inhibit_on_failure: true'), [true, false, true]), ['10.0.1.11:80/2', '10.0.1.12:80/0', '10.0.1.13:8080/5']);
    assert.equal(decideService(svc(''), [], undefined).entry.dests[0]!.fwdMethod, IP_VS_CONN_F_MASQ);
  });
  test('script weight replaces the configured weight', () => {
    const d = decideService(svc(''), [{ up: true, weight: 9 }, { up: true }, { up: false }], undefined);
    assert.deepEqual(d.entry.dests.map((x) => x.weight), [9, 3]);
    assert.equal(d.liveWeight, 12);
  });
  test('quorum with hysteresis: lost below min-h, regained at min+h, unchanged in between (keepalived)', () => {
    const p = { min: 6, hysteresis: 2 };
    assert.equal(nextQuorum(p, 6, undefined), true);
    assert.equal(nextQuorum(p, 5, undefined), false);
    assert.equal(nextQuorum(p, 4, true), true);
    assert.equal(nextQuorum(p, 3, true), false);
    assert.equal(nextQuorum(p, 7, false), false);
    assert.equal(nextQuorum(p, 8, false), true);
  });
  test('sorry server while quorum is lost replaces the live servers; no quorum set means "none up"', () => {
    const vs = svc('    sorry_server: 10.0.1.100:80\n    quorum: {min: 6, hysteresis: 1}');
    assert.deepEqual(dests(vs, [true, true, true]), ['10.0.1.11:80/2', '10.0.1.12:80/3', '10.0.1.13:8080/5']);
    assert.deepEqual(dests(vs, [true, true, false], true), ['10.0.1.11:80/2', '10.0.1.12:80/3']); // 5 >= 6-1: kept
    assert.deepEqual(dests(vs, [true, false, false], true), ['10.0.1.100:80/1']); // 2 < 5: lost
    assert.deepEqual(dests(vs, [false, true, false], false), ['10.0.1.100:80/1']); // 3 < 7
    const plain = svc('    sorry_server: 10.0.1.100:80');
    assert.deepEqual(dests(plain, [false, false, true]), ['10.0.1.13:8080/5']);
    assert.deepEqual(dests(plain, [false, false, false]), ['10.0.1.100:80/1']);
    assert.deepEqual(dests(svc(''), [false, false, false]), []);
  });
});

class RecordingSink {
  batches: { only: string[] | undefined; table: string[] }[] = [];
  async apply(desired: IndexedTable, opts: { only?: Iterable<string> } = {}): Promise<ApplyReport> {
    const table = [...desired.values()].flatMap((e) => [...e.dests.values()].map((d) => `${e.service.addr}:${e.service.port}>${d.addr}:${d.port}/${d.weight}`));
    this.batches.push({ only: opts.only ? [...opts.only] : undefined, table });
    return { writes: 1, rounds: 1, reread: false, errors: [] };
  }
}

const listen = async (host: string, port = 0): Promise<Server> => {
  const s = createServer((c) => c.destroy());
  await new Promise<void>((r) => s.listen(port, host, r));
  return s;
};
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('balancer shell', () => {
  test('verdicts reach the sink; changes are coalesced (at most one batch per probe round); a check shared by two services probes once', async () => {
    const a = await listen('127.0.0.1'); const b = await listen('127.0.0.2', (a.address() as AddressInfo).port);
    const port = (a.address() as AddressInfo).port;
    const cfg = config(`
checks:
  - {name: t, type: tcp, interval: 100ms, timeout: 50ms, retries: 1}
virtual_services:
  - {name: one, address: "192.0.2.10:80", forwarding: nat, checks: [t], real_servers: [{address: "127.0.0.1:${port}"}, {address: "127.0.0.2:${port}"}]}
  - {name: two, address: "192.0.2.11:80", forwarding: nat, checks: [t], real_servers: [{address: "127.0.0.1:${port}"}]}
`);
    const sink = new RecordingSink();
    const bal = new Balancer(cfg, { sync: sink });
    const verdicts: VerdictEvent[] = [];
    const quorum: QuorumEvent[] = [];
    bal.on('verdict', (e: VerdictEvent) => verdicts.push(e));
    bal.on('quorum', (e: QuorumEvent) => quorum.push(e));
    await bal.start();
    assert.equal(bal.runner.instances.size, 2, 'one check instance per target, shared by both services');
    assert.equal(sink.batches.length, 1);
    await wait(250);
    assert.equal(sink.batches.length, 1, 'no writes while nothing changes');
    a.close(); b.close();
    await wait(250);
    // 127.0.0.1 and 127.0.0.2 fail in the same probe round (same timer tick) -> one batch for both services.
    const downs = verdicts.filter((v) => !v.up);
    assert.deepEqual(downs.map((v) => `${v.service} ${v.server} ${v.reason}`).sort(),
      [`one 127.0.0.1:${port} connection refused`, `one 127.0.0.2:${port} connection refused`, `two 127.0.0.1:${port} connection refused`]);
    assert.ok(sink.batches.length <= 3, `${sink.batches.length} batches`);
    assert.deepEqual(sink.batches.at(-1)!.table, []);
    assert.deepEqual(quorum.filter((q) => !q.up).map((q) => q.service).sort(), ['one', 'two']);
    await bal.stop();
    assert.deepEqual(sink.batches.at(-1)!.table, [], 'stop removes the services');
    assert.deepEqual(bal.transitions.get('down: connection refused'), 3);
  });

  test('alpha starts a server out of the table until its first success', async () => {
    const s = await listen('127.0.0.1');
    const port = (s.address() as AddressInfo).port;
    const cfg = config(`
virtual_services:
  - {name: a, address: "192.0.2.10:80", forwarding: nat, alpha: true, checks: [{type: tcp, interval: 100ms, timeout: 50ms}], real_servers: [{address: "127.0.0.1:${port}"}]}
`);
    const sink = new RecordingSink();
    const bal = new Balancer(cfg, { sync: sink });
    await bal.start();
    assert.deepEqual(sink.batches[0]!.table, []);
    await wait(150);
    assert.deepEqual(sink.batches.at(-1)!.table, [`192.0.2.10:80>127.0.0.1:${port}/1`]);
    await bal.stop();
    s.close();
  });
});

describe('notify commands', () => {
  test('down/up notifications and quorum commands run as argv (no shell); omega runs them on stop', async () => {
    const { mkdtempSync, existsSync, rmSync, chmodSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'lvsd-notify-'));
    chmodSync(dir, 0o777);
    const s = await listen('127.0.0.1');
    const port = (s.address() as AddressInfo).port;
    const f = (n: string) => join(dir, n);
    const cfg = config(`
global: {script_user: nobody}
virtual_services:
  - name: a
    address: "192.0.2.10:80"
    forwarding: nat
    omega: true
    quorum: {min: 1, up: [/usr/bin/touch, ${f('quorum-up')}], down: [/usr/bin/touch, ${f('quorum-down')}]}
    checks: [{type: tcp, interval: 100ms, timeout: 50ms}]
    real_servers: [{address: "127.0.0.1:${port}", notify: {up: [/usr/bin/touch, ${f('up')}], down: [/usr/bin/touch, "${f('down')} $(id)"]}}]
`);
    const bal = new Balancer(cfg, { sync: new RecordingSink() });
    await bal.start();
    s.close();
    await wait(300);
    assert.ok(existsSync(`${f('down')} $(id)`), 'down notification ran, its argument untouched by any shell');
    assert.ok(existsSync(f('quorum-down')));
    const s2 = await listen('127.0.0.1', port);
    await wait(300);
    assert.ok(existsSync(f('up')));
    assert.ok(existsSync(f('quorum-up')));
    rmSync(`${f('down')} $(id)`); rmSync(f('quorum-down'));
    await bal.stop();
    await wait(200);
    assert.ok(existsSync(`${f('down')} $(id)`), 'omega: down notification on stop');
    assert.ok(existsSync(f('quorum-down')), 'omega: quorum down on stop');
    s2.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
