// Slow start and fail-open: the pure schedule of weights (time since a server came back, its weight,
// slow_start -> the weight now and when it changes next), the desired table with fail_open, the config's
// refusals, and the balancer's shell driven by real file checks on this machine, its batches recorded.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import type { LvsdConfig } from '../../src/config/model.js';
import { decideService } from '../../src/balancer/desired.js';
import { slowStartSteps, slowStartWeight } from '../../src/balancer/slow-start.js';
import { Balancer, type QuorumEvent } from '../../src/balancer/balancer.js';
import type { IndexedTable } from '../../ipvs/reconcile.js';
import type { ApplyReport } from '../../ipvs/sync.js';

function config(yaml: string): LvsdConfig {
  const r = parseConfig(yaml, 'test.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}
const dir = mkdtempSync(join(tmpdir(), 'lvsd-slow-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('slow start schedule (pure)', () => {
  test('30 s: ten 3 s steps from weight 1 to the full weight', () => {
    assert.deepEqual(slowStartSteps(30_000), { steps: 10, stepMs: 3000 });
    const at = (s: number) => slowStartWeight(s * 1000, 100, 30_000).weight;
    assert.deepEqual([0, 2.9, 3, 6, 9, 12, 15, 18, 21, 24, 27, 29.9, 30, 60].map(at), [1, 1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 90, 100, 100]);
    assert.deepEqual(slowStartWeight(4000, 100, 30_000), { weight: 10, done: false, nextInMs: 2000 });
    assert.deepEqual(slowStartWeight(30_000, 100, 30_000), { weight: 100, done: true });
  });

  test('short ramps: steps of at least 1 s; weight 0 or 1 has nothing to ramp; a clock that went back counts as 0', () => {
    assert.deepEqual(slowStartSteps(4000), { steps: 4, stepMs: 1000 });
    assert.deepEqual([0, 1000, 2000, 3000, 4000].map((t) => slowStartWeight(t, 10, 4000).weight), [1, 2, 5, 7, 10]);
    assert.deepEqual(slowStartSteps(500), { steps: 1, stepMs: 500 });
    assert.deepEqual(slowStartWeight(100, 10, 500), { weight: 1, done: false, nextInMs: 400 });
    assert.deepEqual(slowStartWeight(0, 1, 30_000), { weight: 1, done: true });
    assert.deepEqual(slowStartWeight(0, 0, 30_000), { weight: 0, done: true });
    assert.deepEqual(slowStartWeight(0, 50, 0), { weight: 50, done: true });
    assert.deepEqual(slowStartWeight(-5000, 50, 10_000), { weight: 1, done: false, nextInMs: 1000 });
  });

  test('weights never fall and never pass the full weight, whatever the numbers', () => {
    for (const full of [2, 3, 7, 10, 99, 256, 2_147_483_647]) {
      for (const ms of [1000, 2500, 10_000, 30_000, 3_600_000]) {
        let last = 0;
        for (let t = 0; t <= ms; t += ms / 37) {
          const w = slowStartWeight(t, full, ms).weight;
          assert.ok(w >= last && w >= 1 && w <= full, `full ${full}, ${ms} ms, t ${t}: ${w} after ${last}`);
          last = w;
        }
      }
    }
  });
});

const svc = (extra: string) => config(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
${extra}
    real_servers:
      - {address: "10.0.1.11:80", weight: 2}
      - {address: "10.0.1.12:80", weight: 3}
`).virtual_services[0]!;
const dests = (d: ReturnType<typeof decideService>) => d.entry.dests.map((x) => `${x.addr}/${x.weight}`);

describe('fail-open (desired table)', () => {
  test('every server down: all stay at their weights; quorum is still lost; one back: only it', () => {
    const vs = svc('    fail_open: true');
    const all = decideService(vs, [{ up: false }, { up: false }], true);
    assert.deepEqual(dests(all), ['10.0.1.11/2', '10.0.1.12/3']);
    assert.equal(all.failOpen, true);
    assert.equal(all.quorum, false, 'quorum is lost: notify, VRRP and announce hear of it');
    const one = decideService(vs, [{ up: false }, { up: true }], false);
    assert.deepEqual(dests(one), ['10.0.1.12/3']);
    assert.equal(one.failOpen, false);
    assert.deepEqual(dests(decideService(svc(''), [{ up: false }, { up: false }], true)), [], 'without fail_open: an empty table');
  });

  test('with inhibit_on_failure: all at their weights instead of 0; a drained server (weight 0) stays 0', () => {
    const vs = svc('    fail_open: true\n    inhibit_on_failure: true');
    assert.deepEqual(dests(decideService(vs, [{ up: false }, { up: false, weight: 0 }], true)), ['10.0.1.11/2', '10.0.1.12/0']);
    assert.deepEqual(dests(decideService(vs, [{ up: true }, { up: false }], true)), ['10.0.1.11/2', '10.0.1.12/0']);
  });

  test('config: fail_open with a sorry server is refused; slow_start on the service and per real server', () => {
    const r = parseConfig(`
virtual_services:
  - {name: a, address: "192.0.2.10:80", forwarding: nat, fail_open: true, sorry_server: "10.0.1.100:80", real_servers: [{address: "10.0.1.11:80"}]}
`, 't.yaml');
    assert.ok(!r.ok);
    assert.match(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), /fail_open: fail_open keeps the failed real servers when all are down, sorry_server replaces them: choose one/);
    const c = config(`
virtual_services:
  - {name: a, address: "192.0.2.10:80", forwarding: nat, slow_start: 30s, real_servers: [{address: "10.0.1.11:80"}, {address: "10.0.1.12:80", slow_start: 0s}]}
`);
    const vs = c.virtual_services[0]!;
    assert.deepEqual([vs.slow_start, vs.fail_open, vs.real_servers[0]!.slow_start, vs.real_servers[1]!.slow_start], [30_000, false, undefined, 0]);
  });
});

class RecordingSink {
  batches: { at: number; table: string[] }[] = [];
  async apply(desired: IndexedTable): Promise<ApplyReport> {
    const table = [...desired.values()].flatMap((e) => [...e.dests.values()].map((d) => `${d.addr}/${d.weight}`)).sort();
    this.batches.push({ at: performance.now(), table });
    return { writes: 1, rounds: 1, reread: false, errors: [] };
  }
  /** The weights one destination had, batch after batch, repeats folded ('-' = not in the table). */
  series(dest: string): string[] {
    const out: string[] = [];
    for (const b of this.batches) {
      const w = b.table.find((x) => x.startsWith(dest + '/'))?.split('/')[1] ?? '-';
      if (out.at(-1) !== w) out.push(w);
    }
    return out;
  }
}

describe('balancer shell with file checks', () => {
  const flag = (name: string, value: string) => writeFileSync(join(dir, name), value);
  const cfg = (extra: string) => config(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
${extra}
    real_servers:
      - {address: "10.0.1.11:80", weight: 10, checks: [{type: file, path: ${join(dir, 'rs1')}, interval: 5s}]}
      - {address: "10.0.1.12:80", weight: 4, checks: [{type: file, path: ${join(dir, 'rs2')}, interval: 5s}]}
`);

  test('slow start: none at start; a server that comes back ramps 1 -> 2 -> 5 -> 7 -> 10 in 1 s steps; a failure cancels a ramp', async () => {
    flag('rs1', '0\n'); flag('rs2', '0\n');
    const sink = new RecordingSink();
    const logs: string[] = [];
    const bal = new Balancer(cfg('    slow_start: 4s'), { sync: sink, log: (_l, m) => logs.push(m) });
    try {
      await bal.start();
      await wait(100);
      assert.deepEqual(sink.batches.at(-1)!.table, ['10.0.1.11/10', '10.0.1.12/4'], 'at start: full weights, no ramp');
      flag('rs1', '1\n');
      for (let i = 0; i < 100 && sink.series('10.0.1.11').at(-1) !== '-'; i++) await wait(10);
      const t0 = performance.now();
      flag('rs1', '0\n');
      for (let i = 0; i < 600 && sink.series('10.0.1.11').at(-1) !== '10'; i++) await wait(10);
      const took = performance.now() - t0;
      assert.deepEqual(sink.series('10.0.1.11'), ['10', '-', '1', '2', '5', '7', '10']);
      assert.ok(took >= 3900 && took < 5000, `ramp took ${took} ms`);
      assert.ok(logs.some((l) => l === 'web: real server 10.0.1.11:80 slow start, weight 1 to 10 over 4s'), logs.join('\n'));
      assert.equal(bal.serverStates().find((s) => s.server === '10.0.1.11:80')!.weight, 10);
      // Down again in the middle of a ramp: out at once, and the next recovery starts from 1 again.
      flag('rs1', '1\n');
      for (let i = 0; i < 100 && sink.series('10.0.1.11').at(-1) !== '-'; i++) await wait(10);
      flag('rs1', '0\n');
      await wait(1300);
      flag('rs1', '1\n');
      for (let i = 0; i < 100 && sink.series('10.0.1.11').at(-1) !== '-'; i++) await wait(10);
      await wait(1200);
      assert.deepEqual(sink.series('10.0.1.11').slice(6), ['10', '-', '1', '2', '-'], 'down again mid-ramp: out, and no later step of that ramp put it back');
      assert.deepEqual(sink.series('10.0.1.12'), ['4'], 'the other server never moved');
    } finally {
      await bal.stop();
    }
  });

  test('a reload keeps a ramp under way (same start), and puts nobody on a ramp who was up', async () => {
    flag('rs1', '0\n'); flag('rs2', '0\n');
    const sink = new RecordingSink();
    const c = cfg('    slow_start: 3s');
    const bal = new Balancer(c, { sync: sink });
    try {
      await bal.start();
      await wait(50);
      flag('rs1', '1\n');
      for (let i = 0; i < 100 && sink.series('10.0.1.11').at(-1) !== '-'; i++) await wait(10);
      const t0 = performance.now();
      flag('rs1', '0\n');
      for (let i = 0; i < 100 && sink.series('10.0.1.11').at(-1) !== '1'; i++) await wait(10);
      await wait(1200);
      const summary = await bal.reload(cfg('    slow_start: 3s'));
      assert.deepEqual(summary.changes, []);
      for (let i = 0; i < 400 && sink.series('10.0.1.11').at(-1) !== '10'; i++) await wait(10);
      const took = performance.now() - t0;
      assert.deepEqual(sink.series('10.0.1.11'), ['10', '-', '1', '3', '6', '10']);
      assert.ok(took >= 2900 && took < 3800, `ramp took ${took} ms across the reload`);
      assert.deepEqual(sink.series('10.0.1.12'), ['4']);
    } finally {
      await bal.stop();
    }
  });

  test('a file check with a weight moves the IPVS weight (value x weight added), and slow start ramps to that weight', async () => {
    flag('w1', '0\n');
    const sink = new RecordingSink();
    const bal = new Balancer(config(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    slow_start: 2s
    real_servers:
      - {address: "10.0.1.11:80", weight: 10, checks: [{type: file, path: ${join(dir, 'w1')}, weight: 5, interval: 5s}]}
`), { sync: sink });
    try {
      await bal.start();
      flag('w1', '2\n');
      for (let i = 0; i < 100 && sink.series('10.0.1.11').at(-1) !== '20'; i++) await wait(10);
      flag('w1', '-1\n');
      for (let i = 0; i < 100 && sink.series('10.0.1.11').at(-1) !== '5'; i++) await wait(10);
      assert.deepEqual(sink.series('10.0.1.11'), ['10', '20', '5'], 'a weight change is no recovery: no ramp');
      assert.equal(bal.serverStates()[0]!.weight, 5);
    } finally {
      await bal.stop();
    }
  });

  test('fail-open: every file says down -> both stay at their weights, quorum lost and logged; one back -> only it', async () => {
    flag('rs1', '0\n'); flag('rs2', '0\n');
    const sink = new RecordingSink();
    const logs: string[] = [];
    const quorum: QuorumEvent[] = [];
    const bal = new Balancer(cfg('    fail_open: true'), { sync: sink, log: (_l, m) => logs.push(m) });
    bal.on('quorum', (e: QuorumEvent) => quorum.push(e));
    try {
      await bal.start();
      flag('rs1', '1\n');
      for (let i = 0; i < 100 && !sink.batches.at(-1)!.table.every((x) => x !== '10.0.1.11/10'); i++) await wait(10);
      assert.deepEqual(sink.batches.at(-1)!.table, ['10.0.1.12/4']);
      flag('rs2', '1\n');
      for (let i = 0; i < 100 && quorum.at(-1)?.up !== false; i++) await wait(10);
      await bal.settled();
      assert.deepEqual(sink.batches.at(-1)!.table, ['10.0.1.11/10', '10.0.1.12/4'], 'all down: fail_open keeps both');
      assert.equal(quorum.at(-1)!.up, false);
      assert.ok(logs.includes('web: every real server is down; fail_open keeps all 2 in the table'), logs.join('\n'));
      flag('rs2', '0\n');
      for (let i = 0; i < 100 && sink.batches.at(-1)!.table.length !== 1; i++) await wait(10);
      assert.deepEqual(sink.batches.at(-1)!.table, ['10.0.1.12/4']);
      assert.equal(quorum.at(-1)!.up, true);
    } finally {
      await bal.stop();
    }
  });
});
