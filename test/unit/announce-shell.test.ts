// The announcer's shell (src/announce/announcer.ts) and its route plan (routes.ts) against a fake
// routing table with the kernel's rules (routes keyed by prefix, table and metric; IPv6 metric 0 stored
// as 1024): adoption at start, make-before-break metric changes, withdrawal, errors and retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Announcer, type RouteBackend } from '../../src/announce/announcer.js';
import { planRoutes } from '../../src/announce/routes.js';
import { parseConfig, type LvsdConfig } from '../../src/config/index.js';
import { NetlinkError, RTN_LOCAL, RTN_UNICAST, RT_TABLE_LOCAL, type Route, type RouteSpec } from '../../src/netlink/index.js';

class FakeTable implements RouteBackend {
  routes: Route[] = [];
  log: string[] = [];
  failNext: NetlinkError | undefined;
  closed = false;
  private key = (r: { destination: string; prefixLength: number; table: number; priority?: number }) => `${r.destination}/${r.prefixLength} t${r.table} m${r.priority ?? 0}`;
  private stored(spec: RouteSpec): Route {
    const family = spec.destination.includes(':') ? 'inet6' : 'inet';
    const priority = family === 'inet6' && !spec.priority ? 1024 : spec.priority;
    const r: Route = { family, destination: spec.destination, prefixLength: spec.prefixLength, table: spec.table, protocol: spec.protocol, type: spec.type ?? RTN_UNICAST, scope: 0 };
    if (spec.ifindex !== undefined) r.ifindex = spec.ifindex;
    if (priority) r.priority = priority;
    return r;
  }
  listRoutes(): Promise<Route[]> { return Promise.resolve(this.routes.map((r) => ({ ...r }))); }
  replaceRoute(spec: RouteSpec): Promise<void> {
    if (this.failNext) { const e = this.failNext; this.failNext = undefined; return Promise.reject(e); }
    const r = this.stored(spec);
    this.routes = this.routes.filter((x) => this.key(x) !== this.key(r));
    this.routes.push(r);
    this.log.push(`replace ${this.key(r)}`);
    return Promise.resolve();
  }
  removeRoute(spec: RouteSpec): Promise<void> {
    const r = this.stored(spec);
    // The kernel deletes only a route of the protocol asked for (fib_table_delete, ip6_route_del).
    const i = this.routes.findIndex((x) => this.key(x) === this.key(r) && x.protocol === spec.protocol);
    if (i < 0) return Promise.reject(new NetlinkError(3));
    this.routes.splice(i, 1);
    this.log.push(`remove ${this.key(r)}`);
    return Promise.resolve();
  }
  getLink(name: string): Promise<{ index: number }> {
    return name === 'lo' ? Promise.resolve({ index: 1 }) : Promise.reject(new NetlinkError(19));
  }
  close(): void { this.closed = true; }
  announced(): string[] { return this.routes.filter((r) => r.table === 250).map((r) => `${r.destination} ${r.priority ?? 0}`).sort(); }
  locals(): string[] { return this.routes.filter((r) => r.table === RT_TABLE_LOCAL).map((r) => r.destination).sort(); }
}

function config(extra = ''): LvsdConfig {
  const r = parseConfig(`
virtual_services:
  - {name: http, address: 203.0.113.10:80, scheduler: mh, forwarding: dr}
  - {name: https, address: 203.0.113.10:443, scheduler: mh, forwarding: dr}
announce:
  - name: web
    addresses: [203.0.113.10, "2001:db8:ff::10"]
    virtual_services: [http, https]
    drain_delay: 80ms
${extra}`, 'x.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}
const both = [{ service: 'http', up: true }, { service: 'https', up: true }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('start announces with local routes; a second start over the same kernel adopts them and writes nothing', async () => {
  const k = new FakeTable();
  const logs: string[] = [];
  const a = await Announcer.start(config(), both, { backend: k, log: (_l, m) => logs.push(m) });
  assert.deepEqual(k.announced(), ['2001:db8:ff::10 1024', '203.0.113.10 0']);
  assert.deepEqual(k.locals(), ['2001:db8:ff::10', '203.0.113.10']);
  assert.ok(k.routes.filter((r) => r.table === RT_TABLE_LOCAL).every((r) => r.type === RTN_LOCAL && r.protocol === 250 && r.ifindex === 1));
  assert.equal(a.status().groups[0]!.state, 'announced');
  assert.match(logs.join('\n'), /announce web: announced: quorum holds \(http, https\)/);
  a.close(); // lvsd exits (or is killed): routes stay
  assert.equal(k.routes.length, 4);
  k.log = [];
  const b = await Announcer.start(config(), both, { backend: k });
  assert.deepEqual(k.log, [], 'a restart with the quorum holding touches no route');
  b.close();
});

test('quorum lost withdraws (local routes stay), regained announces; withdrawals are counted by reason', async () => {
  const k = new FakeTable();
  const a = await Announcer.start(config(), both, { backend: k });
  a.onQuorum('https', false);
  await a.settle();
  assert.deepEqual(k.announced(), []);
  assert.deepEqual(k.locals(), ['2001:db8:ff::10', '203.0.113.10']);
  const s = a.status().groups[0]!;
  assert.deepEqual([s.state, s.announced, s.reason, s.withdrawn, s.withdrawals.quorum], ['withdrawn', false, 'quorum lost: https', 'quorum', 1]);
  assert.deepEqual(s.services, [{ name: 'http', quorum: true }, { name: 'https', quorum: false }]);
  a.onQuorum('https', true);
  await a.settle();
  assert.deepEqual(k.announced(), ['2001:db8:ff::10 1024', '203.0.113.10 0']);
  a.close();
});

test('a start with the quorum down withdraws a route left by an earlier run', async () => {
  const k = new FakeTable();
  (await Announcer.start(config(), both, { backend: k })).close();
  const a = await Announcer.start(config(), [{ service: 'http', up: true }, { service: 'https', up: false }], { backend: k });
  assert.deepEqual(k.announced(), []);
  a.close();
});

test('stop with soft drain: the old route goes, the worse metric comes, then withdrawn after drain_delay', async () => {
  const k = new FakeTable();
  const cfg = config();
  cfg.announce[0]!.soft_drain = 'auto';
  const a = await Announcer.start(cfg, both, { backend: k });
  k.log = [];
  const t0 = performance.now();
  const stopping = a.stop();
  await sleep(20);
  assert.deepEqual(k.announced(), ['2001:db8:ff::10 1000', '203.0.113.10 1000']);
  // Per address: removed, then added with the new metric (FRR's zebra forgets a prefix when any of its routes goes).
  assert.deepEqual(k.log.slice(0, 4).map((l) => l.split(' ').slice(0, 2).join(' ')), ['remove 203.0.113.10/32', 'remove 2001:db8:ff::10/128', 'replace 203.0.113.10/32', 'replace 2001:db8:ff::10/128']);
  assert.equal(a.status().groups[0]!.state, 'soft-draining');
  await stopping;
  const ms = performance.now() - t0;
  assert.ok(ms >= 78, `stop resolved after ${ms} ms, before the drain delay`);
  assert.deepEqual(k.announced(), []);
  assert.deepEqual(k.locals(), ['2001:db8:ff::10', '203.0.113.10'], 'local routes stay through a stop');
  assert.equal(a.status().groups[0]!.withdrawals.stopping, 1);
  a.close();
});

test('stop without soft drain withdraws at once and resolves after drain_delay', async () => {
  const k = new FakeTable();
  const a = await Announcer.start(config(), both, { backend: k });
  const t0 = performance.now();
  const stopping = a.stop();
  await sleep(10);
  assert.deepEqual(k.announced(), []);
  await stopping;
  assert.ok(performance.now() - t0 >= 78);
  a.close();
});

test('a kernel refusal is logged with its errno and words, counted, shown in status and retried', async () => {
  const k = new FakeTable();
  k.failNext = new NetlinkError(100, { message: 'Nexthop device is not up' });
  const logs: string[] = [];
  const a = await Announcer.start(config(), both, { backend: k, log: (level, m) => logs.push(`${level} ${m}`) });
  const st = a.status();
  assert.equal(st.route_errors, 1);
  assert.match(st.last_error!, /Nexthop device is not up \(ENETDOWN, errno 100\)/);
  assert.ok(logs.some((l) => /^error announce: local .*Nexthop device is not up \(ENETDOWN, errno 100\)/.test(l)), logs.join('\n'));
  // The rest went through; the failed write is retried within about a second.
  await sleep(1300);
  assert.deepEqual(k.locals(), ['2001:db8:ff::10', '203.0.113.10']);
  a.close();
});

test('a missing device refuses the start; a reload moves routes to a new table and protocol', async () => {
  const cfg = config();
  cfg.global.announce.device = 'dummy9';
  await assert.rejects(Announcer.start(cfg, both, { backend: new FakeTable() }), /global\.announce\.device dummy9: no such device \(ENODEV/);
  const k = new FakeTable();
  const a = await Announcer.start(config(), both, { backend: k });
  const next = config();
  next.global.announce.table = 251;
  next.global.announce.protocol = 251;
  await a.reload(next);
  assert.deepEqual(k.routes.map((r) => `${r.destination} t${r.table} p${r.protocol}`).sort(),
    ['2001:db8:ff::10 t251 p251', '2001:db8:ff::10 t255 p251', '203.0.113.10 t251 p251', '203.0.113.10 t255 p251']);
  a.close();
});

test('route plan: an address already local through an interface address gets no local route of lvsd', () => {
  const desired = { announce: new Map(), local: new Map([['203.0.113.10', { address: '203.0.113.10', family: 4 as const, group: 'web' }]]) };
  const kernelLocal: Route = { family: 'inet', destination: '203.0.113.10', prefixLength: 32, table: RT_TABLE_LOCAL, protocol: 2, type: RTN_LOCAL, scope: 254, ifindex: 1 };
  assert.deepEqual(planRoutes(desired, [kernelLocal], { table: 250, protocol: 250, ifindex: 1 }), []);
  assert.equal(planRoutes(desired, [], { table: 250, protocol: 250, ifindex: 1 }).length, 1);
});

test('metrics: state per group, metric, withdrawals by reason, route writes and errors', async () => {
  const { createRegistry } = await import('../../src/metrics/index.js');
  const k = new FakeTable();
  const a = await Announcer.start(config(), both, { backend: k });
  a.onQuorum('http', false);
  await a.settle();
  a.onQuorum('http', true);
  await a.settle();
  const text = await createRegistry({ config: undefined, announcer: a }, { processMetrics: false }).render();
  const lines = text.split('\n').filter((l) => l.startsWith('lvsd_announce_'));
  assert.ok(lines.includes('lvsd_announce_state{group="web",state="announced"} 1'), lines.join('\n'));
  assert.ok(lines.includes('lvsd_announce_state{group="web",state="withdrawn"} 0'));
  assert.ok(lines.includes('lvsd_announce_metric{group="web"} 0'));
  assert.ok(lines.includes('lvsd_announce_withdrawals_total{group="web",reason="quorum"} 1'));
  assert.ok(lines.includes('lvsd_announce_withdrawals_total{group="web",reason="stopping"} 0'));
  assert.ok(lines.includes('lvsd_announce_route_writes_total 8'), lines.join('\n')); // 2 local + 2 announced, 2 withdrawn, 2 again
  assert.ok(lines.includes('lvsd_announce_route_errors_total 0'));
  a.close();
});

test('lvsd status shows each group, its state, reason and withdrawals', async () => {
  const { renderStatus } = await import('../../src/control/status.js');
  const k = new FakeTable();
  const a = await Announcer.start(config(), both, { backend: k });
  a.onQuorum('https', false);
  await a.settle();
  const st = {
    routerId: 'd1', pid: 1, startedAt: '', uptimeSeconds: 5, configHash: 'abc', reloads: { success: 0, failure: 0 }, vrrp: [],
    ipvs: { version: null, connTabSize: null, error: 'IPVS is not open in this daemon' }, services: [], otherServices: [], announce: a.status(),
  } as const;
  const text = renderStatus(st as unknown as Parameters<typeof renderStatus>[0]);
  assert.match(text, /^Announced VIPs \(routes in table 250, protocol 250\)$/m);
  assert.match(text, /^ {2}web {2}withdrawn {2}203\.0\.113\.10 2001:db8:ff::10$/m);
  assert.match(text, /^ {4}quorum lost: https; since \d{4}-\d\d-\d\dT[^;]+; withdrawals: quorum 1$/m);
  a.close();
});

test('give-up through the control API: an announced group is withdrawn for the hold, --hold 0s announces it again, no hold lasts until restart', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startControl } = await import('../../src/control/index.js');
  const { callControl } = await import('../../src/control/client.js');
  const { fakeTarget } = await import('./control-fixture.js');
  const k = new FakeTable();
  const a = await Announcer.start(config(), both, { backend: k });
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-announce-'));
  const srv = await startControl({ daemon: fakeTarget({ announcer: a }), listen: { kind: 'unix', path: join(dir, 'c.sock') } });
  try {
    const ep = { kind: 'unix' as const, socketPath: join(dir, 'c.sock') };
    const r = await callControl(ep, 'POST', '/vrrp/give-up', { instance: 'web', hold: '30s' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { ok: true, group: 'web', was: 'announced', state: 'withdrawn', holdMs: 30_000 });
    await a.settle();
    assert.deepEqual(k.announced(), []);
    assert.ok(a.status().groups[0]!.until! > Date.now() + 25_000);
    assert.equal((await callControl(ep, 'POST', '/vrrp/give-up', { instance: 'web', hold: '0s' })).status, 200);
    await a.settle();
    assert.equal(k.announced().length, 2, 'announced again');
    assert.equal((await callControl(ep, 'POST', '/vrrp/give-up', { instance: 'web' })).status, 200);
    assert.equal(a.status().groups[0]!.until, undefined, 'until lvsd restarts');
    assert.equal(a.status().groups[0]!.reason, 'given up');
    const unknown = await callControl(ep, 'POST', '/vrrp/give-up', { instance: 'nope' });
    assert.equal(unknown.status, 404);
    assert.match((unknown.body as { error: string }).error, /unknown VRRP instance 'nope'; defined: VI_1; announced VIP groups: web$/);
  } finally {
    await srv.close();
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
