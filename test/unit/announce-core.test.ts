// The announcer's pure core (src/announce/core.ts) on an injected clock: which groups are announced,
// with which metric, and why, from quorum events, give-up and stop; drain delay and soft drain in
// milliseconds, without a kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnnounceCore, policiesFromConfig, type AnnouncePolicy } from '../../src/announce/core.js';
import { parseConfig } from '../../src/config/index.js';

const policy = (over: Partial<AnnouncePolicy> = {}): AnnouncePolicy => ({
  name: 'web', addresses: [{ address: '203.0.113.10', family: 4 }, { address: '2001:db8:ff::10', family: 6 }],
  services: ['http', 'https'], quorum: 'all', metric: 0, softDrainMetric: undefined, drainDelayMs: 5000, local: true, ...over,
});
const up = (...names: string[]) => names.map((service) => ({ service, up: true as boolean | undefined }));
const announced = (c: AnnounceCore) => [...c.routes().announce.values()].map((r) => `${r.address} ${r.metric}`);

test('announced at start when every gating service has quorum; the quorum known at start is used at once', () => {
  const c = new AnnounceCore([policy()], 0, up('http', 'https'));
  const t = c.start(0);
  assert.deepEqual(t.map((x) => [x.name, x.from, x.to, x.metric]), [['web', 'withdrawn', 'announced', 0]]);
  assert.deepEqual(announced(c), ['203.0.113.10 0', '2001:db8:ff::10 0']);
  assert.deepEqual([...c.routes().local.keys()], ['203.0.113.10', '2001:db8:ff::10']);
  assert.equal(c.states()[0]!.reason, 'quorum holds (http, https)');
});

test('quorum: all needs every service, any needs one; a service not decided yet counts as down', () => {
  const all = new AnnounceCore([policy()], 0, [{ service: 'http', up: true }, { service: 'https', up: undefined }]);
  assert.deepEqual(all.start(0), []);
  assert.deepEqual(announced(all), []);
  assert.equal(all.states()[0]!.reason, 'quorum lost: https (not decided yet)');
  assert.equal(all.setQuorum('https', true, 10)[0]!.to, 'announced');

  const any = new AnnounceCore([policy({ quorum: 'any' })], 0, [{ service: 'http', up: false }, { service: 'https', up: true }]);
  any.start(0);
  assert.deepEqual(announced(any), ['203.0.113.10 0', '2001:db8:ff::10 0']);
  assert.equal(any.states()[0]!.reason, 'quorum holds (https)');
  assert.deepEqual(any.setQuorum('https', false, 5).map((t) => [t.to, t.withdrawal, t.reason]), [['withdrawn', 'quorum', 'quorum lost: none of http, https']]);
});

test('losing quorum withdraws at once, soft drain or not, and the local routes stay', () => {
  const c = new AnnounceCore([policy({ softDrainMetric: 1000 })], 0, up('http', 'https'));
  c.start(0);
  const t = c.setQuorum('https', false, 1234);
  assert.deepEqual(t.map((x) => [x.from, x.to, x.withdrawal, x.reason, x.at]), [['announced', 'withdrawn', 'quorum', 'quorum lost: https', 1234]]);
  assert.deepEqual(announced(c), []);
  assert.equal(c.routes().local.size, 2);
  assert.equal(c.states()[0]!.withdrawn, 'quorum');
  // Regained: announced again; the same event twice is no news.
  assert.equal(c.setQuorum('https', true, 2000)[0]!.to, 'announced');
  assert.deepEqual(c.setQuorum('https', true, 2001), []);
});

test('stop without soft drain: withdrawn at once, stopped after drain_delay (the longest of the announced groups)', () => {
  const c = new AnnounceCore([policy(), policy({ name: 'api', addresses: [{ address: '203.0.113.20', family: 4 }], services: ['api'], drainDelayMs: 8000 }),
    policy({ name: 'down', addresses: [{ address: '203.0.113.30', family: 4 }], services: ['gone'], drainDelayMs: 60_000 })], 0, up('http', 'https', 'api'));
  c.start(0);
  const t = c.stop(100);
  assert.deepEqual(t.map((x) => [x.name, x.to, x.withdrawal]), [['web', 'withdrawn', 'stopping'], ['api', 'withdrawn', 'stopping']]);
  assert.deepEqual(announced(c), []);
  assert.equal(c.stopped, false);
  assert.equal(c.nextDeadline(), 8100); // 'down' was not announced: its 60 s do not count
  c.tick(8099);
  assert.equal(c.stopped, false);
  c.tick(8100);
  assert.equal(c.stopped, true);
  assert.equal(c.routes().local.size, 4, 'local routes stay through a stop');
  assert.deepEqual(c.stop(9000), [], 'a second stop changes nothing');
});

test('stop with soft drain: the worse metric for drain_delay, then withdrawn and stopped', () => {
  const c = new AnnounceCore([policy({ softDrainMetric: 1000 })], 0, up('http', 'https'));
  c.start(0);
  const t = c.stop(500);
  assert.deepEqual(t.map((x) => [x.to, x.metric, x.reason]), [['soft-draining', 1000, 'stopping: soft drain with metric 1000']]);
  assert.deepEqual(announced(c), ['203.0.113.10 1000', '2001:db8:ff::10 1000']);
  assert.equal(c.states()[0]!.until, 5500);
  assert.equal(c.nextDeadline(), 5500);
  assert.deepEqual(c.tick(5499), []);
  const w = c.tick(5500);
  assert.deepEqual(w.map((x) => [x.to, x.withdrawal]), [['withdrawn', 'stopping']]);
  assert.equal(c.stopped, true);
  // Quorum lost during a soft drain withdraws at once.
  const d = new AnnounceCore([policy({ softDrainMetric: 1000 })], 0, up('http', 'https'));
  d.start(0);
  d.stop(0);
  assert.deepEqual(d.setQuorum('http', false, 10).map((x) => [x.from, x.to, x.withdrawal]), [['soft-draining', 'withdrawn', 'quorum']]);
  assert.equal(d.stopped, false, 'the stop still waits for the drain delay');
});

test('give-up: soft drain, withdrawn for the hold, announced again when it ends if the quorum holds', () => {
  const c = new AnnounceCore([policy({ softDrainMetric: 2000, drainDelayMs: 1000 })], 0, up('http', 'https'));
  c.start(0);
  assert.equal(c.giveUp('nosuch', 1000, 0), false);
  assert.deepEqual((c.giveUp('web', 30_000, 100) as unknown[]).length, 1);
  assert.deepEqual(announced(c), ['203.0.113.10 2000', '2001:db8:ff::10 2000']);
  assert.deepEqual(c.tick(1100).map((x) => [x.to, x.withdrawal, x.reason]), [['withdrawn', 'give-up', 'given up: withdrawn after the soft drain']]);
  assert.equal(c.states()[0]!.until, 30_100);
  assert.equal(c.nextDeadline(), 30_100);
  assert.deepEqual(c.tick(30_100).map((x) => x.to), ['announced']);
  // Without soft drain, at once.
  const h = new AnnounceCore([policy()], 0, up('http', 'https'));
  h.start(0);
  assert.deepEqual((h.giveUp('web', 1000, 5) as { to: string; withdrawal?: string }[]).map((x) => [x.to, x.withdrawal]), [['withdrawn', 'give-up']]);
  assert.equal(h.states()[0]!.reason, 'given up');
  assert.deepEqual(h.tick(1005).map((x) => x.to), ['announced']);
});

test('reload: a kept group keeps its state, a metric change re-announces, a removed group is withdrawn and its addresses stay local for its drain', () => {
  const c = new AnnounceCore([policy(), policy({ name: 'api', addresses: [{ address: '203.0.113.20', family: 4 }], services: ['api'], drainDelayMs: 3000 })], 0, up('http', 'https', 'api'));
  c.start(0);
  const t = c.reconfigure([policy({ metric: 7 })], 1000);
  assert.deepEqual(t.map((x) => [x.name, x.from, x.to, x.withdrawal ?? x.metric]), [['api', 'announced', 'withdrawn', 'removed'], ['web', 'announced', 'announced', 7]]);
  assert.deepEqual(announced(c), ['203.0.113.10 7', '2001:db8:ff::10 7']);
  assert.deepEqual([...c.routes().local.keys()].sort(), ['2001:db8:ff::10', '203.0.113.10', '203.0.113.20']);
  assert.equal(c.nextDeadline(), 4000);
  c.tick(4000);
  assert.deepEqual([...c.routes().local.keys()].sort(), ['2001:db8:ff::10', '203.0.113.10']);
  // An address dropped from a kept group lingers too.
  c.reconfigure([policy({ metric: 7, addresses: [{ address: '203.0.113.10', family: 4 }] })], 5000);
  assert.deepEqual(announced(c), ['203.0.113.10 7']);
  assert.deepEqual([...c.routes().local.keys()].sort(), ['2001:db8:ff::10', '203.0.113.10']);
  c.tick(10_000);
  assert.deepEqual([...c.routes().local.keys()], ['203.0.113.10']);
});

test('local: false leaves delivery to the operator: no local routes', () => {
  const c = new AnnounceCore([policy({ local: false })], 0, up('http', 'https'));
  c.start(0);
  assert.equal(c.routes().local.size, 0);
  assert.equal(c.routes().announce.size, 2);
});

test('policies from a config: defaults, soft_drain true = metric + 1000, durations in ms', () => {
  const r = parseConfig(`
virtual_services:
  - {name: web, address: 203.0.113.10:80, scheduler: mh, forwarding: dr}
announce:
  - {name: a, addresses: [203.0.113.10], virtual_services: [web]}
  - {name: b, addresses: [203.0.113.11/32], virtual_services: [web], metric: 10, soft_drain: true, drain_delay: 250ms, quorum: any, local: false}
  - {name: c, addresses: ["2001:db8:ff::10"], virtual_services: [web], soft_drain: 4096}
`, 'x.yaml');
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  if (!r.ok) return;
  assert.deepEqual(r.config.global.announce, { table: 250, protocol: 250, device: 'lo' });
  assert.deepEqual(policiesFromConfig(r.config).map((p) => [p.name, p.addresses.map((a) => a.address), p.quorum, p.metric, p.softDrainMetric, p.drainDelayMs, p.local]), [
    ['a', ['203.0.113.10'], 'all', 0, undefined, 5000, true],
    ['b', ['203.0.113.11'], 'any', 10, 1010, 250, false],
    ['c', ['2001:db8:ff::10'], 'all', 0, 4096, 5000, true],
  ]);
});
