// VMAC (issue #17) on the host kernel, judged from outside: `ip -d link` for the macvlan, its mode, MAC
// and mark; `ip addr` for the VIPs; tshark on the bridge for the source MAC of adverts and GARPs; a
// SIGKILLed lvsd's macvlan removed by the next start; a mixed pair with keepalived 2.2.7 `use_vmac`.
// One LAN for all cases (namespaces a, b, c on a bridge). Needs root; the last case needs keepalived.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { VRRP_MAIN, VrrpLan, canRunNetns, configYaml, haveKeepalived, instanceYaml, sleep, type Proc } from './vrrp-netns.js';

const skip = !canRunNetns() ? 'needs root and ip netns' : spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status !== 0 ? 'needs tshark' : false;
let lan: VrrpLan;

before(() => { if (!skip) lan = new VrrpLan(['a', 'b', 'c'], 'lvm'); });
after(() => lan?.stop());

async function until(pred: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timeout: ${what()}`);
    await sleep(20);
  }
}
const is = (p: Proc, name: string, state: string, after = 0) => p.lines.slice(after).some((l) => new RegExp(`${name}: \\w+ -> ${state}`).test(l));
const link = (node: string, dev: string) => lan.exec(node, ['ip', '-d', 'link', 'show', 'dev', dev], { allowFail: true });
const addrsOn = (node: string, dev: string) => lan.exec(node, ['ip', '-o', 'addr', 'show', 'dev', dev], { allowFail: true });

function lvsdPair(priority: number): string {
  return configYaml([
    instanceYaml({ name: 'm7', vrid: 7, priority, vips: ['192.0.2.70/24'], extra: '    vmac: true\n    garp: {delay: 0s, repeat: 2}' }),
    instanceYaml({ name: 'm8', vrid: 8, priority, vips: ['192.0.2.80/24'], extra: '    vmac: {xmit_base: true}\n    garp: {delay: 0s, repeat: 2}' }),
    instanceYaml({ name: 'm10', vrid: 10, priority, vips: ['2001:db8::a0/64'], extra: '    vmac: true\n    garp: {delay: 0s, repeat: 2}' }),
  ]);
}

/** tshark on the bridge: every VRRP, ARP and ICMPv6 frame as "srcmac vrid arp-sender-ip na-target". */
function capture(): { stop(): Promise<string[]> } {
  const file = join(lan.dir, `cap-${Date.now()}.pcap`);
  const p = spawn('ip', ['netns', 'exec', lan.bridgeNs, 'tcpdump', '-i', 'br0', '-U', '-w', file, 'vrrp or arp or ip6 proto 112 or icmp6'], { stdio: 'ignore' });
  return {
    async stop() {
      await sleep(200);
      p.kill('SIGINT');
      await new Promise((r) => p.once('exit', r));
      const out = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'eth.src', '-e', 'vrrp.virt_rtr_id', '-e', 'arp.src.proto_ipv4', '-e', 'icmpv6.nd.na.target_address'], { encoding: 'utf8' });
      return out.stdout.split('\n').filter(Boolean);
    },
  };
}

test('lvsd pair with vmac: macvlan 00:00:5e:00:01:07 (private, marked) on both, VIP on the master\'s, adverts and GARP from the virtual MAC; xmit_base adverts from the base MAC', { skip, timeout: 60_000 }, async () => {
  const cap = capture();
  await sleep(300);
  const a = lan.lvsd('a', lvsdPair(200));
  await until(() => ['m7', 'm8', 'm10'].every((n) => is(a, n, 'master')), 6000, () => a.lines.join('\n'));
  const b = lan.lvsd('b', lvsdPair(100));
  await until(() => ['m7', 'm8', 'm10'].every((n) => is(b, n, 'backup')), 4000, () => b.lines.join('\n'));
  await sleep(1500); // > 3 x 100 ms + skew: a backup that did not hear the master would have taken over
  assert.ok(!['m7', 'm8', 'm10'].some((n) => is(b, n, 'master')), `b took over: it does not hear a's adverts:\n${b.lines.join('\n')}`);
  const l10 = link('a', 'vrrp.10');
  assert.match(l10, /link\/ether 00:00:5e:00:02:0a .*addrgenmode none/s, l10);
  assert.match(addrsOn('a', 'vrrp.10'), / 2001:db8::a0\/64 /);
  assert.match(addrsOn('a', 'vrrp.10'), / fe80::/, 'the interface\'s link-local, the adverts\' source');
  for (const n of ['a', 'b']) {
    const l7 = link(n, 'vrrp.7');
    assert.match(l7, /link\/ether 00:00:5e:00:01:07 /, l7);
    assert.match(l7, /macvlan mode private/, l7);
    assert.match(l7, /alias lvsd-vrrp-vmac/, l7);
    assert.match(l7, /vrrp\.7@eth0: <[^>]*\bUP\b/, l7);
    assert.match(link(n, 'vrrp.8'), /link\/ether 00:00:5e:00:01:08 /);
    assert.equal(lan.exec(n, ['sysctl', '-n', 'net.ipv4.conf.vrrp/7.arp_ignore', 'net.ipv4.conf.vrrp/7.accept_local', 'net.ipv4.conf.vrrp/7.rp_filter', 'net.ipv4.conf.eth0.arp_ignore', 'net.ipv4.conf.eth0.arp_filter']).split('\n').filter(Boolean).join(','), '1,1,0,1,1');
  }
  assert.match(addrsOn('a', 'vrrp.7'), / 192\.0\.2\.70\/24 /);
  assert.match(addrsOn('a', 'vrrp.8'), / 192\.0\.2\.80\/24 /);
  assert.ok(!lan.hasVip('a', '192.0.2.70'), 'the VIP is on the macvlan, not on eth0');
  assert.doesNotMatch(addrsOn('b', 'vrrp.7') + addrsOn('b', 'vrrp.8'), /192\.0\.2\.[78]0/);
  const frames = await cap.stop();
  const adverts7 = frames.filter((f) => f.split('\t')[1] === '7');
  const adverts8 = frames.filter((f) => f.split('\t')[1] === '8');
  assert.ok(adverts7.length > 10 && adverts7.every((f) => f.startsWith('00:00:5e:00:01:07\t')), `vrid 7 adverts:\n${adverts7.slice(0, 5).join('\n')}`);
  assert.ok(adverts8.length > 10 && adverts8.every((f) => f.startsWith(`${lan.nodes.a!.mac}\t`)), `vrid 8 adverts (xmit_base):\n${adverts8.slice(0, 5).join('\n')}`);
  const adverts10 = frames.filter((f) => f.split('\t')[1] === '10');
  assert.ok(adverts10.length > 10 && adverts10.every((f) => f.startsWith('00:00:5e:00:02:0a\t')), `vrid 10 adverts:\n${adverts10.slice(0, 5).join('\n')}`);
  const na = frames.filter((f) => f.split('\t')[3] === '2001:db8::a0').map((f) => f.split('\t')[0]);
  assert.ok(na.length >= 2 && na.every((m) => m === '00:00:5e:00:02:0a'), `NA for 2001:db8::a0 from ${na}`);
  const garp = (ip: string) => frames.filter((f) => f.split('\t')[2] === ip).map((f) => f.split('\t')[0]);
  assert.ok(garp('192.0.2.70').length >= 2 && garp('192.0.2.70').every((m) => m === '00:00:5e:00:01:07'), `GARP .70 from ${garp('192.0.2.70')}`);
  assert.ok(garp('192.0.2.80').length >= 2 && garp('192.0.2.80').every((m) => m === '00:00:5e:00:01:08'), `GARP .80 from ${garp('192.0.2.80')}`);

  // SIGKILL: the macvlans stay behind (with the VIPs); b takes over on its own macvlan.
  a.kill('SIGKILL');
  await a.exited;
  await until(() => is(b, 'm7', 'master') && is(b, 'm8', 'master'), 3000, () => b.lines.join('\n'));
  assert.match(addrsOn('b', 'vrrp.7'), / 192\.0\.2\.70\/24 /);
  const leftIndex = /^(\d+):/.exec(link('a', 'vrrp.7'))?.[1];
  assert.ok(leftIndex, 'the killed run left vrrp.7');
  // Restart: the leftover is removed (logged) and made again; a preempts, b goes back to BACKUP.
  const bMark = b.lines.length;
  const a2 = lan.lvsd('a', lvsdPair(200));
  await a2.waitFor(/vmac: removed vrrp\.7 .*left by an earlier run/, 5000);
  await until(() => is(a2, 'm7', 'master') && is(b, 'm7', 'backup', bMark), 6000, () => `${a2.lines.join('\n')}\n--\n${b.lines.join('\n')}`);
  const newIndex = /^(\d+):/.exec(link('a', 'vrrp.7'))?.[1];
  assert.notEqual(newIndex, leftIndex, 'vrrp.7 was made again');
  await sleep(300);
  assert.match(addrsOn('a', 'vrrp.7'), / 192\.0\.2\.70\/24 /);
  assert.doesNotMatch(addrsOn('b', 'vrrp.7'), /192\.0\.2\.70/);
  // Graceful stop: the macvlans are deleted; eth0's arp_ignore / arp_filter are what the run found: 0 on b,
  // and on a the 1 its SIGKILLed predecessor left (as keepalived after a crash).
  a2.kill('SIGTERM');
  b.kill('SIGTERM');
  await Promise.all([a2.exited, b.exited]);
  for (const n of ['a', 'b']) assert.equal(link(n, 'vrrp.7') + link(n, 'vrrp.8') + link(n, 'vrrp.10'), '', `${n} still has its macvlans`);
  assert.equal(lan.exec('b', ['sysctl', '-n', 'net.ipv4.conf.eth0.arp_ignore', 'net.ipv4.conf.eth0.arp_filter']).split('\n').filter(Boolean).join(','), '0,0');
});

const kaEnters = (ka: Proc, name: string, state: string, after = 0) => ka.lines.slice(after).some((l) => l.includes(`(${name}) Entering ${state} STATE`));

test('mixed pair with keepalived use_vmac: one master at a time, failover both ways, VIP on the master\'s macvlan', { skip: skip || (!haveKeepalived() && 'needs keepalived'), timeout: 60_000 }, async (t) => {
  const lv = () => lan.lvsd('a', configYaml([instanceYaml({ name: 'x9', vrid: 9, priority: 200, vips: ['192.0.2.90/24'], extra: '    vmac: true' })]));
  let a = lv();
  await until(() => is(a, 'x9', 'master'), 6000, () => a.lines.join('\n'));
  const ka = lan.keepalived('c', 'vrrp_instance x9 {\n  state BACKUP\n  interface eth0\n  use_vmac\n  virtual_router_id 9\n  priority 100\n  version 3\n  advert_int 0.1\n  virtual_ipaddress {\n    192.0.2.90/24\n  }\n}\n');
  await until(() => kaEnters(ka, 'x9', 'BACKUP'), 5000, () => ka.lines.join('\n'));
  await sleep(1500);
  assert.ok(!kaEnters(ka, 'x9', 'MASTER'), `keepalived took over while lvsd was master:\n${ka.lines.join('\n')}`);
  const kaLink = lan.exec('c', ['ip', '-d', '-o', 'link', 'show', 'type', 'macvlan']);
  t.diagnostic(`keepalived's macvlan: ${kaLink.replace(/\s+/g, ' ').slice(0, 160)}`);
  assert.match(kaLink, /00:00:5e:00:01:09/);
  assert.match(addrsOn('a', 'vrrp.9'), / 192\.0\.2\.90\/24 /);

  a.kill('SIGKILL');
  await until(() => kaEnters(ka, 'x9', 'MASTER'), 3000, () => ka.lines.join('\n'));
  const mark = ka.lines.length;
  a = lv();
  await until(() => is(a, 'x9', 'master') && kaEnters(ka, 'x9', 'BACKUP', mark), 6000, () => `${a.lines.join('\n')}\n--\n${ka.lines.join('\n')}`);
  await sleep(300);
  assert.match(addrsOn('a', 'vrrp.9'), / 192\.0\.2\.90\/24 /);
  assert.doesNotMatch(lan.exec('c', ['ip', '-o', 'addr']), /192\.0\.2\.90\//);
  // lvsd leaves with priority 0: keepalived takes over at once.
  const mark2 = ka.lines.length;
  const t0 = Date.now();
  a.kill('SIGTERM');
  await until(() => kaEnters(ka, 'x9', 'MASTER', mark2), 2000, () => ka.lines.join('\n'));
  t.diagnostic(`lvsd SIGTERM -> keepalived MASTER: ${Date.now() - t0} ms`);
  await a.exited;
  assert.equal(link('a', 'vrrp.9'), '');
  assert.match(lan.exec('c', ['ip', '-o', 'addr']), /192\.0\.2\.90\//);
});

test('reload: a renamed vmac restarts the instance on a new macvlan; the old one is deleted', { skip, timeout: 30_000 }, async () => {
  const yaml = (vmac: string) => configYaml([instanceYaml({ name: 'r11', vrid: 11, priority: 150, vips: ['192.0.2.110/24'], extra: `    vmac: ${vmac}` })]);
  const file = lan.file('reload.yaml', yaml('true'));
  const a = lan.spawn('a', [process.execPath, VRRP_MAIN, '-c', file]);
  await until(() => is(a, 'r11', 'master'), 6000, () => a.lines.join('\n'));
  assert.match(addrsOn('a', 'vrrp.11'), / 192\.0\.2\.110\/24 /);
  lan.file('reload.yaml', yaml('{name: vip11}'));
  const mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitForNext(/reloaded: .*r11: vmac changed \(restarted\)/, 5000, mark);
  await until(() => is(a, 'r11', 'master', mark), 6000, () => a.lines.join('\n'));
  await sleep(100);
  assert.equal(link('a', 'vrrp.11'), '');
  assert.match(link('a', 'vip11'), /link\/ether 00:00:5e:00:01:0b .*macvlan mode private/s);
  assert.match(addrsOn('a', 'vip11'), / 192\.0\.2\.110\/24 /);
  a.kill('SIGTERM');
  await a.exited;
  assert.equal(link('a', 'vip11'), '');
});
