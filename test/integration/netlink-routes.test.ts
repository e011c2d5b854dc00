// Routes through rtnetlink against the real kernel, in a fresh network namespace (issue #14: an
// announced VIP is a route with lvsd's protocol in lvsd's table, and a local route that keeps it
// delivered here). `ip -j route` is the independent reader.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Rtnetlink, NetlinkError, RTN_LOCAL, RT_TABLE_LOCAL, type RouteSpec } from '../../src/netlink/index.js';

const ns = `lvsd-t-${randomBytes(4).toString('hex')}`;
const ipJson = <T>(...args: string[]) => JSON.parse(execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }) || '[]') as T;
type IpRoute = { type?: string; dst: string; dev?: string; protocol?: string; metric?: number; table?: string };
const table = (family: '-4' | '-6', t: string) => ipJson<IpRoute[]>(family, 'route', 'show', 'table', t);

let rt: Rtnetlink;
before(() => {
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']); // left down
  rt = Rtnetlink.open({ netns: ns });
});
after(() => {
  rt?.close();
  try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* already gone */ }
});

const v4: RouteSpec = { destination: '203.0.113.10', prefixLength: 32, table: 250, protocol: 250, ifindex: 1 };
const v6: RouteSpec = { destination: '2001:db8:ff::10', prefixLength: 128, table: 250, protocol: 250, ifindex: 1, priority: 1024 };

test('add, list and remove announcement routes in table 250; ip -j route agrees at each step', async () => {
  await rt.addRoute(v4);
  await rt.addRoute({ ...v4, priority: 1000 }); // soft drain: make before break, both exist for a moment
  await rt.addRoute(v6);
  assert.deepEqual(table('-4', '250').map((r) => [r.dst, r.dev, r.protocol, r.metric ?? 0]), [['203.0.113.10', 'lo', '250', 0], ['203.0.113.10', 'lo', '250', 1000]]);
  assert.deepEqual(table('-6', '250').map((r) => [r.dst, r.dev, r.protocol, r.metric]), [['2001:db8:ff::10', 'lo', '250', 1024]]);

  const ours = await rt.listRoutes({ table: 250, protocol: 250 });
  assert.deepEqual(ours.map((r) => `${r.family} ${r.destination}/${r.prefixLength} ${r.priority ?? 0} ${r.ifindex}`).sort(),
    ['inet 203.0.113.10/32 0 1', 'inet 203.0.113.10/32 1000 1', 'inet6 2001:db8:ff::10/128 1024 1']);
  assert.deepEqual(await rt.listRoutes({ family: 'inet6', table: 250, protocol: 251 }), []);

  await rt.removeRoute({ ...v4, priority: 0 }); // the metric-0 one: lowest metric first
  assert.deepEqual(table('-4', '250').map((r) => r.metric ?? 0), [1000]);
  await rt.removeRoute({ ...v4, priority: 1000 });
  await rt.removeRoute(v6);
  assert.deepEqual([...table('-4', '250'), ...table('-6', '250')], []);
});

test('a local route makes the VIP an address of this host without an interface address', async () => {
  const local: RouteSpec = { ...v4, table: RT_TABLE_LOCAL, type: RTN_LOCAL };
  await rt.addRoute(local);
  await rt.addRoute({ ...v6, table: RT_TABLE_LOCAL, type: RTN_LOCAL });
  assert.ok(table('-4', 'local').some((r) => r.type === 'local' && r.dst === '203.0.113.10' && r.protocol === '250'));
  // The kernel's own reading: a packet to the VIP is delivered locally.
  const got = ipJson<{ type: string }[]>('route', 'get', '203.0.113.10');
  assert.equal(got[0]!.type, 'local');
  assert.deepEqual((await rt.listRoutes({ table: RT_TABLE_LOCAL, protocol: 250 })).map((r) => [r.destination, r.type]).sort(), [['2001:db8:ff::10', RTN_LOCAL], ['203.0.113.10', RTN_LOCAL]]);
  await rt.removeRoute(local);
  await rt.removeRoute({ ...v6, table: RT_TABLE_LOCAL, type: RTN_LOCAL });
  assert.throws(() => execFileSync('ip', ['-n', ns, 'route', 'get', '203.0.113.10'], { stdio: 'pipe' }), /unreachable/);
});

test("kernel refusals carry errno and code, and the kernel's message when it gives one", async () => {
  await rt.addRoute(v4);
  await assert.rejects(rt.addRoute(v4), (e: NetlinkError) => e instanceof NetlinkError && e.code === 'EEXIST' && e.errno === 17);
  await rt.removeRoute(v4);
  await assert.rejects(rt.removeRoute(v4), (e: NetlinkError) => e instanceof NetlinkError && e.code === 'ESRCH' && e.errno === 3);
  await assert.rejects(rt.addRoute({ ...v4, ifindex: 9999 }), (e: NetlinkError) => e.code === 'ENODEV' && /ENODEV, errno 19/.test(e.message));
  const down = await rt.getLink('v0');
  await assert.rejects(rt.addRoute({ ...v4, ifindex: down.index }), (e: NetlinkError) => {
    assert.equal(e.code, 'ENETDOWN');
    // The same words iproute2 prints for the same request ("Error: <extended ACK message>."); they vary by kernel.
    let printed = '';
    try { execFileSync('ip', ['-n', ns, 'route', 'add', '203.0.113.10/32', 'dev', 'v0', 'table', '250', 'proto', '250'], { stdio: 'pipe' }); } catch (x) { printed = String((x as { stderr: Buffer }).stderr).trim(); }
    assert.equal(`Error: ${e.kernelMessage}.`, printed);
    assert.equal(e.message, `${e.kernelMessage} (ENETDOWN, errno 100)`);
    return true;
  });
});
