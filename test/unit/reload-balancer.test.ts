// Balancer.reload as a diff, and the admin drain. The balancer drives the real reconciler shell
// (IpvsTableSync) over a recording model of the kernel, so "minimal" is judged by the IPVS commands
// that would go to the kernel; checks are real TCP probes against listeners on this machine.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config/index.js';
import type { LvsdConfig } from '../../src/config/model.js';
import { Balancer, type TableSink, type VerdictEvent } from '../../src/balancer/balancer.js';
import type { IpvsOpResult } from '../../ipvs/client.js';
import { destinationKey } from '../../ipvs/destination.js';
import type { IndexedTable, IpvsOp } from '../../ipvs/reconcile.js';
import { serviceKey } from '../../ipvs/service.js';
import { IpvsTableSync, type ApplyReport } from '../../ipvs/sync.js';
import type { IpvsKernelTable } from '../../ipvs/table.js';

/** The kernel's table as a map, taking every command (the reconciler's error paths are tested elsewhere). */
class ModelKernel {
  entries: IndexedTable = new Map();
  ops: IpvsOp[] = [];
  async table(): Promise<IpvsKernelTable> {
    return [...this.entries.values()].map((e) => ({ service: { ...e.service, stats: {} as never }, dests: [...e.dests.values()].map((d) => ({ ...d, activeConns: 0, inactConns: 0, persistConns: 0, stats: {} as never })) }));
  }
  async apply(ops: IpvsOp[]): Promise<IpvsOpResult[]> {
    for (const op of ops) {
      this.ops.push(op);
      if (!('service' in op)) continue;
      const k = serviceKey(op.service);
      switch (op.kind) {
        case 'IPVS_CMD_NEW_SERVICE': this.entries.set(k, { service: { ...op.service }, dests: new Map() }); break;
        case 'IPVS_CMD_SET_SERVICE': this.entries.get(k)!.service = { ...op.service }; break;
        case 'IPVS_CMD_DEL_SERVICE': this.entries.delete(k); break;
        case 'IPVS_CMD_NEW_DEST': case 'IPVS_CMD_SET_DEST': this.entries.get(k)!.dests.set(destinationKey(op.dest), { ...op.dest }); break;
        case 'IPVS_CMD_DEL_DEST': this.entries.get(k)!.dests.delete(destinationKey(op.dest)); break;
        default: break;
      }
    }
    return ops.map(() => ({ ok: true }));
  }
  /** Commands since the last call, as "KIND addr:port[>addr:port/weight]". */
  take(): string[] {
    const out = this.ops.map((op) => {
      if (!('service' in op)) return op.kind;
      const s = `${op.kind} ${op.service.addr}:${op.service.port}`;
      return 'dest' in op ? `${s}>${op.dest.addr}:${op.dest.port}/${op.dest.weight}` : s;
    });
    this.ops = [];
    return out;
  }
  weights(): string[] {
    return [...this.entries.values()].flatMap((e) => [...e.dests.values()].map((d) => `${e.service.addr}:${e.service.port}>${d.addr}:${d.port}/${d.weight}`)).sort();
  }
}

/** The fake TableSink: the real reconciler shell over the model, recording each apply's report. */
class RecordingSink implements TableSink {
  readonly kernel = new ModelKernel();
  private readonly sync = new IpvsTableSync(this.kernel);
  reports: ApplyReport[] = [];
  async apply(desired: IndexedTable, opts?: { only?: Iterable<string> }): Promise<ApplyReport> {
    const r = await this.sync.apply(desired, opts);
    this.reports.push(r);
    return r;
  }
}

function config(yaml: string): LvsdConfig {
  const r = parseConfig(yaml, 'test.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}
const listen = async (port = 0): Promise<Server> => {
  const s = createServer((c) => c.destroy());
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
  return s;
};
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const freePort = async () => { const s = await listen(); const p = (s.address() as AddressInfo).port; await close(s); return p; };

/** Two services; web's servers share a named check, api's one server (also in web) has its own inline check. */
const base = (p: number, q: number, o: { weight?: number; timeout?: string; extraServer?: boolean; extraService?: boolean; apiTimeout?: string; scheduler?: string } = {}) => config(`
checks:
  - {name: t, type: tcp, interval: 100ms, timeout: ${o.timeout ?? '80ms'}, retries: 1}
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    scheduler: ${o.scheduler ?? 'wrr'}
    checks: [t]
    real_servers:
      - {address: "127.0.0.1:${p}", weight: ${o.weight ?? 2}}
      - {address: "127.0.0.1:${q}", weight: 3}
${o.extraServer ? `      - {address: "127.0.0.1:${p + 1}", weight: 4, checks: []}` : ''}
  - name: api
    address: 192.0.2.11:80
    forwarding: nat
    checks: [{type: tcp, interval: 110ms, timeout: ${o.apiTimeout ?? '80ms'}, retries: 1}]
    real_servers:
      - {address: "127.0.0.1:${q}"}
${o.extraService ? `  - {name: extra, address: "192.0.2.12:80", forwarding: nat, real_servers: [{address: "10.9.9.9:80"}]}` : ''}
`);

async function started(cfg: LvsdConfig) {
  const sink = new RecordingSink();
  const bal = new Balancer(cfg, { sync: sink });
  const verdicts: VerdictEvent[] = [];
  bal.on('verdict', (e: VerdictEvent) => verdicts.push(e));
  await bal.start();
  sink.kernel.take();
  return { sink, bal, verdicts };
}

describe('Balancer.reload', () => {
  test('nothing changed: no IPVS write, no verdict event, the same check instances with their counters', async () => {
    const a = await listen(); const b = await listen();
    const p = (a.address() as AddressInfo).port; const q = (b.address() as AddressInfo).port;
    const { sink, bal, verdicts } = await started(base(p, q));
    await wait(250);
    const instances = new Map(bal.runner.instances);
    const probes = [...instances.values()].map((i) => i.probes);
    assert.ok(probes.every((n) => n >= 2), `probes ${probes}`);
    const s = await bal.reload(base(p, q));
    assert.deepEqual(s.changes, []);
    assert.equal(s.report.writes, 0);
    assert.deepEqual(sink.kernel.take(), []);
    assert.deepEqual([...bal.runner.instances.entries()], [...instances.entries()], 'same CheckInstance objects');
    assert.deepEqual({ started: s.checksStarted, stopped: s.checksStopped, kept: s.checksKept }, { started: 0, stopped: 0, kept: 3 });
    await wait(150);
    assert.ok([...instances.values()].every((i, n) => i.probes > probes[n]!), 'the kept probes keep running and counting');
    assert.deepEqual(verdicts, []);
    await bal.stop(); await close(a); await close(b);
  });

  test('a weight change is exactly one IPVS_CMD_SET_DEST', async () => {
    const a = await listen(); const b = await listen();
    const p = (a.address() as AddressInfo).port; const q = (b.address() as AddressInfo).port;
    const { sink, bal, verdicts } = await started(base(p, q));
    const s = await bal.reload(base(p, q, { weight: 7 }));
    assert.deepEqual(sink.kernel.take(), [`IPVS_CMD_SET_DEST 192.0.2.10:80>127.0.0.1:${p}/7`]);
    assert.deepEqual(s.serversChanged, [`web 127.0.0.1:${p}`]);
    assert.deepEqual(s.changes, ['service web: changed', `service web: real server 127.0.0.1:${p} changed`]);
    assert.equal(bal.serverStates().find((x) => x.server === `127.0.0.1:${p}`)!.weight, 7);
    assert.deepEqual(verdicts, []);
    await bal.stop(); await close(a); await close(b);
  });

  test('a scheduler change is one IPVS_CMD_SET_SERVICE', async () => {
    const a = await listen(); const b = await listen();
    const p = (a.address() as AddressInfo).port; const q = (b.address() as AddressInfo).port;
    const { sink, bal } = await started(base(p, q));
    await bal.reload(base(p, q, { scheduler: 'rr' }));
    assert.deepEqual(sink.kernel.take(), ['IPVS_CMD_SET_SERVICE 192.0.2.10:80']);
    await bal.stop(); await close(a); await close(b);
  });

  test('a real server and a service come and go with one command each (plus the new service\'s destination)', async () => {
    const a = await listen(); const b = await listen();
    const p = (a.address() as AddressInfo).port; const q = (b.address() as AddressInfo).port;
    const { sink, bal } = await started(base(p, q));
    let s = await bal.reload(base(p, q, { extraServer: true }));
    assert.deepEqual(sink.kernel.take(), [`IPVS_CMD_NEW_DEST 192.0.2.10:80>127.0.0.1:${p + 1}/4`]);
    assert.deepEqual(s.serversAdded, [`web 127.0.0.1:${p + 1}`]);
    s = await bal.reload(base(p, q, { extraService: true }));
    assert.deepEqual(sink.kernel.take().sort(), [`IPVS_CMD_DEL_DEST 192.0.2.10:80>127.0.0.1:${p + 1}/4`, 'IPVS_CMD_NEW_DEST 192.0.2.12:80>10.9.9.9:80/1', 'IPVS_CMD_NEW_SERVICE 192.0.2.12:80']);
    assert.deepEqual(s.serversRemoved, [`web 127.0.0.1:${p + 1}`]);
    assert.deepEqual(s.servicesAdded, ['extra']);
    s = await bal.reload(base(p, q));
    assert.deepEqual(sink.kernel.take(), ['IPVS_CMD_DEL_SERVICE 192.0.2.12:80']);
    assert.deepEqual(s.servicesRemoved, ['extra']);
    assert.deepEqual(sink.kernel.weights(), [`192.0.2.10:80>127.0.0.1:${p}/2`, `192.0.2.10:80>127.0.0.1:${q}/3`, `192.0.2.11:80>127.0.0.1:${q}/1`].sort());
    await bal.stop(); await close(a); await close(b);
  });

  test('a check parameter change restarts only that probe; the other keeps its instance', async () => {
    const a = await listen(); const b = await listen();
    const p = (a.address() as AddressInfo).port; const q = (b.address() as AddressInfo).port;
    const { sink, bal, verdicts } = await started(base(p, q));
    await wait(150);
    const before = new Map([...bal.runner.instances.values()].filter((i) => i.check.interval === 100).map((i) => [i.target.port, i]));
    const apiInst = [...bal.runner.instances.values()].find((i) => i.check.interval === 110)!;
    assert.equal(bal.runner.instances.size, 3);
    const s = await bal.reload(base(p, q, { apiTimeout: '90ms' }));
    assert.deepEqual({ started: s.checksStarted, stopped: s.checksStopped, kept: s.checksKept }, { started: 1, stopped: 1, kept: 2 });
    assert.ok(apiInst.released, 'the old probe is stopped');
    assert.equal(apiInst.timer, undefined);
    const kept = [...bal.runner.instances.values()].filter((i) => before.get(i.target.port) === i);
    assert.equal(kept.length, 2, 'the named check t on both web servers keeps its instances');
    assert.equal(bal.runner.instances.size, 3);
    assert.deepEqual(sink.kernel.take(), []);
    await wait(150);
    assert.deepEqual(verdicts, []);
    await bal.stop(); await close(a); await close(b);
  });

  test('a down server whose check changes stays down until the new check has a result, then follows it', async () => {
    const a = await listen(); const p = (a.address() as AddressInfo).port;
    const q = await freePort();
    const { sink, bal, verdicts } = await started(base(p, q));
    await wait(200);
    assert.deepEqual(sink.kernel.weights(), [`192.0.2.10:80>127.0.0.1:${p}/2`]);
    assert.equal(verdicts.filter((v) => !v.up).length, 2);
    sink.kernel.take();
    const b = await listen(q);
    // The new instance starts "up" (no alpha): without the carried verdict the server would be back
    // in the table before any probe of the new check.
    const s = await bal.reload(base(p, q, { timeout: '70ms', apiTimeout: '70ms' }));
    assert.equal(s.report.writes, 0);
    const st = bal.serverStates().find((x) => x.service === 'web' && x.server === `127.0.0.1:${q}`)!;
    assert.equal(st.up, false);
    assert.equal(st.reason, 'connection refused');
    await wait(200);
    assert.deepEqual(sink.kernel.weights(), [`192.0.2.10:80>127.0.0.1:${p}/2`, `192.0.2.10:80>127.0.0.1:${q}/3`, `192.0.2.11:80>127.0.0.1:${q}/1`].sort());
    assert.equal(verdicts.filter((v) => v.up).length, 2);
    await bal.stop(); await close(a); await close(b);
  });
});

describe('Balancer.reload and global.script_user', () => {
  test('a script check without its own user restarts when global.script_user changes; one with its own user is kept', async () => {
    const cfg = (user: string) => config(`
global: {script_user: ${user}}
virtual_services:
  - {name: s, address: "192.0.2.40:80", forwarding: nat, real_servers: [
      {address: "10.0.0.1:80", checks: [{type: script, argv: [/bin/true], interval: 10s}]},
      {address: "10.0.0.2:80", checks: [{type: script, argv: [/bin/true], interval: 10s, user: root}]}]}
`);
    const { bal } = await started(cfg('nobody'));
    const s = await bal.reload(cfg('root'));
    assert.deepEqual({ started: s.checksStarted, stopped: s.checksStopped, kept: s.checksKept }, { started: 1, stopped: 1, kept: 1 });
    await bal.stop();
  });
});

describe('Balancer.reload with alpha', () => {
  test('a server added to an alpha service stays out until its first success; the servers already in stay in', async () => {
    const a = await listen(); const b = await listen();
    const p = (a.address() as AddressInfo).port; const q = (b.address() as AddressInfo).port;
    const cfg = (servers: string) => config(`
virtual_services:
  - {name: s, address: "192.0.2.30:80", forwarding: nat, alpha: true, checks: [{type: tcp, interval: 100ms, timeout: 80ms, warmup: 50ms}], real_servers: [${servers}]}
`);
    const { sink, bal } = await started(cfg(`{address: "127.0.0.1:${p}"}`));
    await wait(200);
    assert.deepEqual(sink.kernel.weights(), [`192.0.2.30:80>127.0.0.1:${p}/1`]);
    sink.kernel.take();
    const s = await bal.reload(cfg(`{address: "127.0.0.1:${p}"}, {address: "127.0.0.1:${q}"}`));
    assert.equal(s.report.writes, 0, 'the new server is not in before its check passed');
    assert.equal(bal.serverStates().find((x) => x.server === `127.0.0.1:${q}`)!.reason, 'starting down (alpha)');
    await wait(250);
    assert.deepEqual(sink.kernel.take(), [`IPVS_CMD_NEW_DEST 192.0.2.30:80>127.0.0.1:${q}/1`]);
    await bal.stop(); await close(a); await close(b);
  });
});

describe('Balancer.setDrained', () => {
  test('drain is weight 0 (one SET_DEST), survives a verdict change and a reload, and enable restores the weight', async () => {
    const a = await listen(); const b = await listen();
    const p = (a.address() as AddressInfo).port; const q = (b.address() as AddressInfo).port;
    const { sink, bal } = await started(base(p, q));
    const server = `127.0.0.1:${p}`;
    assert.equal(bal.setDrained('web', server, true), true);
    await bal.settled();
    assert.deepEqual(sink.kernel.take(), [`IPVS_CMD_SET_DEST 192.0.2.10:80>${server}/0`]);
    let st = bal.serverStates().find((x) => x.server === server)!;
    assert.deepEqual({ up: st.up, weight: st.weight, drained: st.drained, configured: st.configuredWeight, checks: st.checks }, { up: true, weight: 0, drained: true, configured: 2, checks: ['tcp'] });
    // A reload (even one that changes this server's weight) keeps the drain.
    await bal.reload(base(p, q, { weight: 5 }));
    assert.deepEqual(sink.kernel.take(), []);
    // Down and back up: still drained.
    await close(a);
    await wait(200);
    assert.deepEqual(sink.kernel.take(), [`IPVS_CMD_DEL_DEST 192.0.2.10:80>${server}/0`]);
    const a2 = await listen(p);
    await wait(200);
    assert.deepEqual(sink.kernel.take(), [`IPVS_CMD_NEW_DEST 192.0.2.10:80>${server}/0`]);
    assert.equal(bal.setDrained('web', server, false), true);
    await bal.settled();
    assert.deepEqual(sink.kernel.take(), [`IPVS_CMD_SET_DEST 192.0.2.10:80>${server}/5`]);
    st = bal.serverStates().find((x) => x.server === server)!;
    assert.equal(st.drained, false);
    assert.equal(st.reason, 'check passed');
    assert.ok(st.changedAt > 0);
    assert.equal(bal.setDrained('web', '127.0.0.9:1', true), false);
    assert.equal(bal.setDrained('nope', server, true), false);
    await bal.stop(); await close(a2); await close(b);
  });

  test('a drained server counts nothing toward quorum', async () => {
    const a = await listen(); const p = (a.address() as AddressInfo).port;
    const cfg = config(`
virtual_services:
  - {name: s, address: "192.0.2.20:80", forwarding: nat, sorry_server: "10.0.0.99:80", real_servers: [{address: "127.0.0.1:${p}"}]}
`);
    const { sink, bal } = await started(cfg);
    bal.setDrained('s', `127.0.0.1:${p}`, true);
    await bal.settled();
    assert.deepEqual(bal.quorumState(), [{ service: 's', up: false }]);
    assert.deepEqual(sink.kernel.weights(), ['192.0.2.20:80>10.0.0.99:80/1']);
    await bal.stop(); await close(a);
  });
});
