// Interop with the real keepalived 2.2.7 in host namespaces, lvsd's own engine on the other side
// (no injector): v2 (with PASS authentication), v3 IPv4, v3 IPv6 and v3 unicast instances at once, in both
// roles. keepalived's -D log is the judge of its state; both sides must agree on one master at
// every step, and keepalived must not complain about our packets. Needs root and keepalived.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, VrrpLan, canRunNetns, configYaml, haveKeepalived, instanceYaml, sleep, type Proc } from './vrrp-netns.js';

const skip = (!canRunNetns() && 'needs root and ip netns') || (!haveKeepalived() && 'needs keepalived');
const NAMES = ['k1', 'k2', 'k3', 'k4'];

function lvsdConfig(priority: number): string {
  return configYaml([
    instanceYaml({ name: 'k1', vrid: 1, priority, version: 2, interval: '1s', vips: ['192.0.2.31/24'], extra: '    authentication: {type: pass, password: secret}' }),
    instanceYaml({ name: 'k2', vrid: 2, priority, version: 3, interval: '100ms', vips: ['192.0.2.32/24'] }),
    instanceYaml({ name: 'k3', vrid: 3, priority, version: 3, interval: '100ms', vips: ['2001:db8::33/64'] }),
    instanceYaml({ name: 'k4', vrid: 4, priority, version: 3, interval: '100ms', vips: ['192.0.2.34/24'], unicast: { source: '192.0.2.1', peers: ['192.0.2.2'] } }),
  ]);
}

function keepalivedConfig(priority: number, state: 'MASTER' | 'BACKUP'): string {
  const inst = (name: string, vrid: number, body: string) =>
    `vrrp_instance ${name} {\n  state ${state}\n  interface eth0\n  virtual_router_id ${vrid}\n  priority ${priority}\n${body}}\n`;
  return inst('k1', 1, '  version 2\n  advert_int 1\n  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n  virtual_ipaddress {\n    192.0.2.31/24\n  }\n')
    + inst('k2', 2, '  version 3\n  advert_int 0.1\n  virtual_ipaddress {\n    192.0.2.32/24\n  }\n')
    + inst('k3', 3, '  version 3\n  advert_int 0.1\n  virtual_ipaddress {\n    2001:db8::33/64\n  }\n')
    + inst('k4', 4, '  version 3\n  advert_int 0.1\n  unicast_src_ip 192.0.2.2\n  unicast_peer {\n    192.0.2.1\n  }\n  virtual_ipaddress {\n    192.0.2.34/24\n  }\n');
}

const kaEnters = (ka: Proc, name: string, state: string, after = 0) =>
  ka.lines.slice(after).some((l) => l.includes(`(${name}) Entering ${state} STATE`));
const lvsdIs = (p: Proc, name: string, state: string, after = 0) =>
  p.lines.slice(after).some((l) => new RegExp(`${name}: \\w+ -> ${state}`).test(l));

async function until(pred: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timeout: ${what()}`);
    await sleep(20);
  }
}

const complaints = (ka: Proc) => ka.lines.filter((l) => /invalid|mismatch|wrong|bad |checksum|passw|ttl/i.test(l));

test('lvsd master, keepalived backup: keepalived stays BACKUP on our adverts, takes over when lvsd dies, yields when it returns', { skip, timeout: 60_000 }, async (t) => {
  const l = new VrrpLan();
  t.after(() => l.stop());
  let lv = l.lvsd('a', lvsdConfig(200));
  await until(() => NAMES.every((n) => lvsdIs(lv, n, 'master')), 6000, () => lv.lines.join('\n'));
  const ka = l.keepalived('b', keepalivedConfig(100, 'BACKUP'));
  await until(() => NAMES.every((n) => kaEnters(ka, n, 'BACKUP')), 5000, () => ka.lines.join('\n'));
  await sleep(4500); // past keepalived's v2 Master_Down_Interval (3609 ms)
  for (const n of NAMES) assert.ok(!kaEnters(ka, n, 'MASTER'), `keepalived took ${n} while lvsd was master:\n${ka.lines.join('\n')}`);
  assert.deepEqual(complaints(ka), []);
  assert.ok(!l.hasVip('b', '192.0.2.31') && !l.hasVip('b', '2001:db8::33'));

  lv.kill('SIGKILL');
  await until(() => NAMES.every((n) => kaEnters(ka, n, 'MASTER')), 6000, () => ka.lines.join('\n'));
  const mark = ka.lines.length;
  lv = l.lvsd('a', lvsdConfig(200)); // its old VIPs are still there: lvsd removes them at start
  await until(() => NAMES.every((n) => lvsdIs(lv, n, 'master')), 8000, () => lv.lines.join('\n'));
  await until(() => NAMES.every((n) => kaEnters(ka, n, 'BACKUP', mark)), 3000, () => ka.lines.join('\n'));
  await sleep(300);
  assert.ok(l.hasVip('a', '192.0.2.31') && l.hasVip('a', '192.0.2.32') && l.hasVip('a', '2001:db8::33'), l.addrs('a'));
  assert.ok(!l.hasVip('b', '192.0.2.31') && !l.hasVip('b', '192.0.2.32') && !l.hasVip('b', '2001:db8::33'), l.addrs('b'));
  assert.deepEqual(complaints(ka), []);
});

test('keepalived master, lvsd backup: lvsd stays BACKUP on keepalived adverts, takes over in Skew_Time on its SIGTERM', { skip, timeout: 60_000 }, async (t) => {
  const l = new VrrpLan();
  t.after(() => l.stop());
  const ka = l.keepalived('b', keepalivedConfig(200, 'MASTER'));
  await until(() => NAMES.every((n) => kaEnters(ka, n, 'MASTER')), 8000, () => ka.lines.join('\n'));
  const lv = l.lvsd('a', lvsdConfig(100));
  await until(() => NAMES.every((n) => lvsdIs(lv, n, 'backup')), 5000, () => lv.lines.join('\n'));
  await sleep(4500);
  for (const n of NAMES) assert.ok(!lvsdIs(lv, n, 'master'), `lvsd took ${n} from keepalived:\n${lv.lines.join('\n')}`);
  const t0 = Date.now();
  ka.kill('SIGTERM');
  await until(() => NAMES.every((n) => lvsdIs(lv, n, 'master')), 3000, () => lv.lines.join('\n'));
  const took = Date.now() - t0;
  t.diagnostic(`keepalived SIGTERM -> lvsd master of all four: ${took} ms (v2 Skew_Time 609 ms)`);
  assert.ok(took < 1500, `${took} ms: keepalived's priority 0 not honoured`);
  await sleep(200);
  assert.ok(l.hasVip('a', '192.0.2.31') && l.hasVip('a', '192.0.2.32') && l.hasVip('a', '2001:db8::33'), l.addrs('a'));
});

test('unicast v3 with the pre-1.3.6 checksum (over 224.0.0.18): keepalived 2.2.7 takes it by default and refuses it with old_unicast_checksum never; lvsd the same with unicast_checksum_compat (default true) and false', { skip, timeout: 60_000 }, async (t) => {
  const l = new VrrpLan();
  t.after(() => l.stop());
  const peer = l.nodes.c!.v4;
  const lv = l.lvsd('a', configYaml([
    instanceYaml({ name: 'u5', vrid: 5, priority: 100, version: 3, interval: '100ms', vips: ['192.0.2.35/24'], unicast: { source: '192.0.2.1', peers: [peer] } }),
    instanceYaml({ name: 'u6', vrid: 6, priority: 100, version: 3, interval: '100ms', vips: ['192.0.2.36/24'], unicast: { source: '192.0.2.1', peers: [peer] }, extra: '    unicast_checksum_compat: false' }),
  ]));
  const inst = (name: string, vrid: number, extra: string) =>
    `vrrp_instance ${name} {\n  state BACKUP\n  interface eth0\n  virtual_router_id ${vrid}\n  priority 100\n  version 3\n  advert_int 0.1\n` +
    `  unicast_src_ip 192.0.2.2\n  unicast_peer {\n    ${peer}\n  }\n${extra}  virtual_ipaddress {\n    192.0.2.${30 + vrid}/24\n  }\n}\n`;
  const ka = l.keepalived('b', inst('u5', 5, '') + inst('u6', 6, '  old_unicast_checksum never\n'));
  await until(() => ['u5', 'u6'].every((n) => lvsdIs(lv, n, 'master') && kaEnters(ka, n, 'MASTER')), 8000, () => `${lv.lines.join('\n')}\n${ka.lines.join('\n')}`);
  // c claims both VRIDs at priority 250, unicast to each director, checksums the old way.
  const kaMark = ka.lines.length, lvMark = lv.lines.length;
  const forger = join(ROOT, 'dist/test/integration/vrrp-forger.js');
  const claims = ['192.0.2.1', '192.0.2.2'].flatMap((dst) => [5, 6].map((vrid) =>
    l.spawn('c', [process.execPath, forger, JSON.stringify({ src: peer, dst, vrid, priority: 250, legacyChecksum: true, pps: 20, ms: 2500, addresses: [`192.0.2.${30 + vrid}`] })])));
  await Promise.all(claims.map((p) => p.waitFor(/^sent \d+/, 15_000)));
  await sleep(200);
  t.diagnostic(ka.lines.filter((x) => /checksum/i.test(x)).slice(0, 4).join(' | '));
  assert.ok(kaEnters(ka, 'u5', 'BACKUP', kaMark), `keepalived u5 should take the old checksum:\n${ka.lines.join('\n')}`);
  assert.ok(ka.lines.some((x) => x.includes('(u5) Setting unicast VRRPv3 checksum to old version')), ka.lines.join('\n'));
  assert.ok(!kaEnters(ka, 'u6', 'BACKUP', kaMark) && ka.lines.some((x) => x.includes('(u6) Invalid VRRPv3 checksum')), ka.lines.join('\n'));
  assert.ok(lvsdIs(lv, 'u5', 'backup', lvMark), `lvsd u5 should take the old checksum:\n${lv.lines.join('\n')}`);
  assert.ok(!lv.lines.some((x) => /u6: master -> /.test(x)), `lvsd u6 should refuse it:\n${lv.lines.join('\n')}`);
});
