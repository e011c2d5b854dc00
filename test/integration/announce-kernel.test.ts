// The announcer against the real kernel in a fresh network namespace (issue #14), judged by iproute2:
// `ip -j route` for what the tables hold, `ip monitor route` for what changed (a restart with the
// quorum holding must change nothing, so the routing daemon never sees a withdrawal).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Announcer } from '../../src/announce/announcer.js';
import { parseConfig, type LvsdConfig } from '../../src/config/index.js';
import { Rtnetlink } from '../../src/netlink/index.js';

const ns = `lvsd-t-${randomBytes(4).toString('hex')}`;
type IpRoute = { type?: string; dst: string; dev?: string; protocol?: string; metric?: number };
const routes = (family: '-4' | '-6', table: string) =>
  (JSON.parse(execFileSync('ip', ['-n', ns, '-j', family, 'route', 'show', 'table', table], { encoding: 'utf8' }) || '[]') as IpRoute[])
    .filter((r) => r.protocol === '250').map((r) => `${r.type ?? 'unicast'} ${r.dst} ${r.dev} ${r.metric ?? 0}`);

before(() => {
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
});
after(() => { try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* gone */ } });

function config(softDrain: boolean): LvsdConfig {
  const r = parseConfig(`
virtual_services:
  - {name: http, address: 203.0.113.10:80, scheduler: mh, forwarding: dr}
announce:
  - name: web
    addresses: [203.0.113.10, "2001:db8:ff::10"]
    virtual_services: [http]
    drain_delay: 300ms
    soft_drain: ${softDrain}
`, 'x.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}
const start = (cfg: LvsdConfig, up: boolean) => Announcer.start(cfg, [{ service: 'http', up }], { backend: Rtnetlink.open({ netns: ns }) });

test('announce, withdraw on quorum loss, adopt on restart without a route change, soft drain on stop', async () => {
  const a = await start(config(true), true);
  assert.deepEqual(routes('-4', '250'), ['unicast 203.0.113.10 lo 0']);
  assert.deepEqual(routes('-6', '250'), ['unicast 2001:db8:ff::10 lo 1024']);
  assert.deepEqual(routes('-4', 'local'), ['local 203.0.113.10 lo 0']);
  assert.deepEqual(routes('-6', 'local'), ['local 2001:db8:ff::10 lo 1024']);
  // The kernel delivers the VIP here.
  assert.match(execFileSync('ip', ['-n', ns, 'route', 'get', '203.0.113.10'], { encoding: 'utf8' }), /^local 203\.0\.113\.10 dev lo/);

  a.onQuorum('http', false);
  await a.settle();
  assert.deepEqual([...routes('-4', '250'), ...routes('-6', '250')], []);
  assert.equal(routes('-4', 'local').length, 1, 'the VIP stays local');
  a.onQuorum('http', true);
  await a.settle();
  assert.equal(routes('-4', '250').length, 1);
  a.close(); // as if lvsd died: the routes stay

  // A restart with the quorum holding: ip monitor sees no route change.
  const monitor = spawn('ip', ['-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let changes = '';
  monitor.stdout.on('data', (d: Buffer) => { changes += d.toString(); });
  await new Promise((r) => setTimeout(r, 200));
  const b = await start(config(true), true);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(changes, '', `a restart changed routes:\n${changes}`);

  // Stop: soft drain (metric 1000) for the drain delay, then withdrawn; local routes stay.
  const t0 = performance.now();
  const stopping = b.stop();
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(routes('-4', '250'), ['unicast 203.0.113.10 lo 1000']);
  assert.deepEqual(routes('-6', '250'), ['unicast 2001:db8:ff::10 lo 1000']);
  await stopping;
  assert.ok(performance.now() - t0 >= 295);
  assert.deepEqual([...routes('-4', '250'), ...routes('-6', '250')], []);
  assert.equal(routes('-4', 'local').length + routes('-6', 'local').length, 2);
  b.close();
  await new Promise((r) => setTimeout(r, 200)); // ip monitor prints what it has read
  monitor.kill();
  // What the daemon saw during the stop: the old route deleted, then the worse metric added (this order:
  // FRR's zebra forgets an imported prefix when any of its routes is deleted), then deleted at the end.
  const lines = changes.split('\n').filter((l) => l.includes('203.0.113.10') && l.includes('table 250'));
  assert.match(lines[0] ?? '', /^Deleted 203\.0\.113\.10 dev lo table 250 proto 250 scope link $/);
  assert.match(lines[1] ?? '', /^203\.0\.113\.10 dev lo table 250 proto 250 scope link metric 1000/);
  assert.match(lines[2] ?? '', /^Deleted 203\.0\.113\.10 dev lo table 250 proto 250 scope link metric 1000/);
  assert.equal(lines.length, 3, lines.join('\n'));
});
