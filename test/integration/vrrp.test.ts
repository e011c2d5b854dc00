// The VRRP engine on a real kernel: directors a and b and a client c as host network namespaces on
// one bridge, lvsd's VRRP entry (dist/vrrp/main.js) in a and b. Judges are the kernel (ip addr,
// ip neigh in the client) and tshark (decoded adverts, GARP/NA, checksums). v3 at 100 ms where the
// scenario allows, so the suite stays quick. Needs root; skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { VRRP_MAIN, VrrpLan, canRunNetns, configYaml, instanceYaml, sleep, type Proc } from './vrrp-netns.js';

const skip = !canRunNetns() && 'needs root and ip netns';
const V4 = '192.0.2.10', V6 = '2001:db8::10';
const MASTER = /: \w+ -> master/;
const STATE = (name: string, to: string) => new RegExp(`${name}: \\w+ -> ${to}`);

function lan(t: { after(fn: () => void): void }): VrrpLan {
  const l = new VrrpLan();
  t.after(() => l.stop());
  // The client accepts a gratuitous ARP for an entry it refreshed less than 1 s ago (locktime).
  l.exec('c', ['sysctl', '-qw', 'net.ipv4.neigh.eth0.locktime=0']);
  return l;
}

function pair(l: VrrpLan, opts: { version?: 2 | 3; interval?: string; vip?: string; aPrio?: number; bPrio?: number; aExtra?: Partial<Parameters<typeof instanceYaml>[0]>; more?: string } = {}) {
  const vip = opts.vip ?? `${V4}/24`;
  const mk = (prio: number, extra: Partial<Parameters<typeof instanceYaml>[0]> = {}) => configYaml([instanceYaml({
    name: 'vi_1', vrid: 1, priority: prio, version: opts.version ?? 3, interval: opts.interval ?? '100ms', vips: [vip], ...extra })], opts.more ?? '');
  return { a: mk(opts.aPrio ?? 200, opts.aExtra), b: mk(opts.bPrio ?? 100) };
}

/** a (the higher priority) up and master first, then b up and backup: where most scenarios start. */
async function masterThenBackup(l: VrrpLan, cfg: { a: string; b: string }, aMasterWithinMs = 5000): Promise<{ a: Proc; b: Proc }> {
  const a = l.lvsd('a', cfg.a);
  await a.waitFor(MASTER, aMasterWithinMs);
  const b = l.lvsd('b', cfg.b);
  await b.waitFor(STATE('vi_1', 'backup'), 5000);
  return { a, b };
}

function neighMac(l: VrrpLan, ip: string): string | undefined {
  return /lladdr (\S+)/.exec(l.exec('c', ['ip', 'neigh', 'show', ip, 'dev', 'eth0']))?.[1];
}

async function until(pred: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timeout: ${typeof what === 'string' ? what : what()}`);
    await sleep(20);
  }
}

test('failover on SIGKILL: b takes the VIP within Master_Down_Interval, client neighbour entry moves to b (IPv4 GARP)', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const cfg = pair(l);
  const { a, b } = await masterThenBackup(l, cfg);
  await until(() => l.hasVip('a', V4), 2000, 'VIP on a');
  assert.equal(l.hasVip('b', V4), false);
  l.exec('c', ['ip', 'neigh', 'replace', V4, 'lladdr', l.nodes.a!.mac, 'dev', 'eth0', 'nud', 'stale']);
  const t0 = Date.now();
  a.kill('SIGKILL');
  await b.waitForNext(MASTER, 3000);
  const took = Date.now() - t0;
  t.diagnostic(`kill -> b master ${took} ms (Master_Down_Interval 339 ms at priority 100, 100 ms)`);
  assert.ok(took < 800, `took ${took} ms`);
  await until(() => l.hasVip('b', V4), 1000, 'VIP on b');
  await until(() => neighMac(l, V4) === l.nodes.b!.mac, 1000, `client neighbour entry moves to b (is ${neighMac(l, V4)})`);
});

test('IPv6: unsolicited NA moves the client neighbour entry; VIP added without DAD', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const cfg = pair(l, { vip: `${V6}/64` });
  const { a, b } = await masterThenBackup(l, cfg);
  await until(() => l.hasVip('a', V6), 2000, 'VIP on a');
  assert.doesNotMatch(l.addrs('a'), /2001:db8::10\/64 .*tentative/);
  l.exec('c', ['ip', 'neigh', 'replace', V6, 'lladdr', l.nodes.a!.mac, 'dev', 'eth0', 'nud', 'stale']);
  a.kill('SIGKILL');
  await b.waitForNext(MASTER, 3000);
  await until(() => l.hasVip('b', V6), 1000, 'VIP on b');
  await until(() => neighMac(l, V6) === l.nodes.b!.mac, 1000, `client neighbour entry moves to b (is ${neighMac(l, V6)})`);
});

test('preemption: a restarted higher-priority a takes the VIP back; b releases it', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const cfg = pair(l);
  const b = l.lvsd('b', cfg.b);
  await b.waitFor(MASTER, 5000);
  await until(() => l.hasVip('b', V4), 1000, 'VIP on b');
  const a = l.lvsd('a', cfg.a);
  await a.waitFor(MASTER, 5000);
  await b.waitFor(STATE('vi_1', 'backup'), 2000);
  await until(() => l.hasVip('a', V4) && !l.hasVip('b', V4), 1000, 'VIP moved to a');
});

test('nopreempt: a higher-priority a with preempt: false stays backup while b is master', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const cfg = pair(l, { aExtra: { preempt: false } });
  const b = l.lvsd('b', cfg.b);
  await b.waitFor(MASTER, 5000);
  const a = l.lvsd('a', cfg.a);
  await a.waitFor(STATE('vi_1', 'backup'), 5000);
  await sleep(1000);
  assert.ok(!a.lines.some((x) => MASTER.test(x)), a.lines.join('\n'));
  assert.ok(l.hasVip('b', V4) && !l.hasVip('a', V4));
  // ... and takes over when b goes away.
  b.kill('SIGKILL');
  await a.waitFor(MASTER, 2000);
});

test('preempt_delay: a waits its delay before preempting b', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const cfg = pair(l, { aExtra: { preemptDelay: '1s' } });
  const b = l.lvsd('b', cfg.b);
  await b.waitFor(MASTER, 5000);
  const a = l.lvsd('a', cfg.a);
  await a.waitFor(STATE('vi_1', 'backup'), 5000);
  const t0 = Date.now();
  await a.waitFor(MASTER, 4000);
  const took = Date.now() - t0;
  t.diagnostic(`a preempted ${took} ms after start (delay 1 s)`);
  assert.ok(took >= 900, `preempted after ${took} ms`);
});

test('graceful stop: priority 0 hands over in about Skew_Time; the old master removes its VIP', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const cfg = pair(l, { interval: '1s' });
  const { a, b } = await masterThenBackup(l, cfg, 10_000);
  await sleep(300);
  const t0 = Date.now();
  a.kill('SIGTERM');
  await b.waitForNext(MASTER, 3000);
  const took = Date.now() - t0;
  t.diagnostic(`SIGTERM -> b master ${took} ms (Skew_Time 609 ms at priority 100, 1 s)`);
  assert.ok(took < 1000, `took ${took} ms: priority 0 not honoured (Master_Down_Interval would be 3609)`);
  assert.equal(await a.exited, 0);
  assert.equal(l.hasVip('a', V4), false);
});

test('fault on link down: a goes to FAULT, b takes over; link up: a preempts again', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const cfg = pair(l);
  const { a, b } = await masterThenBackup(l, cfg);
  await sleep(300);
  let ma = a.lines.length, mb = b.lines.length;
  l.exec('a', ['ip', 'link', 'set', 'eth0', 'down']);
  await a.waitForNext(STATE('vi_1', 'fault'), 2000, ma);
  await b.waitForNext(MASTER, 2000, mb);
  ma = a.lines.length; mb = b.lines.length;
  l.exec('a', ['ip', 'link', 'set', 'eth0', 'up']);
  await a.waitForNext(MASTER, 5000, ma);
  await b.waitForNext(STATE('vi_1', 'backup'), 2000, mb);
});

test('unicast peers: adverts go to the peer from the configured source; failover works', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const u = (self: string, peer: string) => ({ unicast: { source: self, peers: [peer] } });
  const a = l.lvsd('a', configYaml([instanceYaml({ name: 'vi_1', vrid: 1, priority: 200, vips: [`${V4}/24`], ...u('192.0.2.1', '192.0.2.2') })]));
  await a.waitFor(MASTER, 5000);
  const b = l.lvsd('b', configYaml([instanceYaml({ name: 'vi_1', vrid: 1, priority: 100, vips: [`${V4}/24`], ...u('192.0.2.2', '192.0.2.1') })]));
  await b.waitFor(STATE('vi_1', 'backup'), 5000);
  await sleep(500);
  assert.ok(!b.lines.some((x) => MASTER.test(x)), 'b heard a over unicast');
  a.kill('SIGKILL');
  await b.waitForNext(MASTER, 2000);
});

test('A/B layout: a masters VRID 1, b VRID 2; either dies, the other holds both; it returns and gets its own back', { skip, timeout: 40_000 }, async (t) => {
  const l = lan(t);
  const V1 = '192.0.2.11', V2 = '192.0.2.12';
  const cfg = (p1: number, p2: number) => configYaml([
    instanceYaml({ name: 'vi_1', vrid: 1, priority: p1, vips: [`${V1}/24`] }),
    instanceYaml({ name: 'vi_2', vrid: 2, priority: p2, vips: [`${V2}/24`] }),
  ]);
  let a: Proc = l.lvsd('a', cfg(200, 100));
  let b: Proc = l.lvsd('b', cfg(100, 200));
  // A SIGKILLed director keeps its addresses (nobody removed them): only live directors are checked for absence.
  const dead = new Set<string>();
  const other = (n: string) => (n === 'a' ? 'b' : 'a');
  const settled = async (owner1: string, owner2: string) => until(() =>
    l.hasVip(owner1, V1) && l.hasVip(owner2, V2) &&
    (dead.has(other(owner1)) || !l.hasVip(other(owner1), V1)) && (dead.has(other(owner2)) || !l.hasVip(other(owner2), V2)),
    3000, () => `VIP1 on ${owner1}, VIP2 on ${owner2}:\n${l.addrs('a')}\n${l.addrs('b')}`);
  await settled('a', 'b');
  a.kill('SIGKILL'); dead.add('a');
  await settled('b', 'b');
  a = l.lvsd('a', cfg(200, 100)); dead.delete('a');
  await settled('a', 'b');
  b.kill('SIGKILL'); dead.add('b');
  await settled('a', 'a');
  b = l.lvsd('b', cfg(100, 200)); dead.delete('b');
  await settled('a', 'b');
  void a; void b;
});

test('sync group + track script + notify: one member\'s failing script faults the group; notify gets keepalived\'s arguments', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const flag = l.file('flag', 'up');
  const log = l.file('notify.log', '');
  const inst = (p: number, track: boolean) => configYaml([
    instanceYaml({ name: 'vi_1', vrid: 1, priority: p, vips: [`192.0.2.11/24`], extra: track ? '    track: {scripts: [{name: chk}]}\n    notify: {any: [/bin/sh, -c, "echo \\"$*\\" >> ' + log + '", x]}' : '' }),
    instanceYaml({ name: 'vi_2', vrid: 2, priority: p, vips: [`192.0.2.12/24`] }),
  ], `global: {script_user: root}\nvrrp_sync_groups:\n  - name: g1\n    instances: [vi_1, vi_2]\ntrack_scripts:\n  - name: chk\n    argv: [/usr/bin/test, -e, ${flag}]\n    interval: 100ms\n`);
  const a = l.lvsd('a', inst(200, true));
  const b = l.lvsd('b', inst(100, false));
  await until(() => l.hasVip('a', '192.0.2.11') && l.hasVip('a', '192.0.2.12'), 5000, 'both VIPs on a');
  spawnSync('rm', [flag]);
  await a.waitFor(STATE('vi_1', 'fault'), 2000);
  await a.waitFor(STATE('vi_2', 'fault'), 2000);
  await until(() => l.hasVip('b', '192.0.2.11') && l.hasVip('b', '192.0.2.12'), 2000, 'both VIPs on b');
  assert.ok(!l.hasVip('a', '192.0.2.12'));
  await until(() => /INSTANCE vi_1 FAULT/.test(l.read('notify.log')), 2000, 'notify FAULT');
  assert.match(l.read('notify.log'), /INSTANCE vi_1 MASTER 200/);
  l.file('flag', 'up');
  await until(() => l.hasVip('a', '192.0.2.11') && l.hasVip('a', '192.0.2.12'), 3000, () => `both VIPs back on a:\n${a.lines.join('\n')}\n${l.addrs('a')}`);
  void b;
});

test('tshark decodes our adverts with good checksums, and our GARP / NA (v2, v3 IPv4, v3 IPv6)', { skip: skip || (spawnSync('tshark', ['-v']).status !== 0 && 'needs tshark'), timeout: 40_000 }, async (t) => {
  const l = lan(t);
  const pcap = `${l.dir}/c.pcap`;
  const dump = l.spawn('c', ['tcpdump', '-i', 'eth0', '--immediate-mode', '-U', '-w', pcap, 'ip proto 112 or ip6 proto 112 or arp or icmp6']);
  await dump.waitFor(/listening/, 5000);
  const a = l.lvsd('a', configYaml([
    instanceYaml({ name: 'v2', vrid: 1, priority: 200, version: 2, interval: '1s', vips: ['192.0.2.21/24'], extra: '    authentication: {type: pass, password: secret}' }),
    instanceYaml({ name: 'v3', vrid: 2, priority: 200, vips: ['192.0.2.22/24'] }),
    instanceYaml({ name: 'v6', vrid: 3, priority: 200, vips: ['2001:db8::23/64'] }),
  ]));
  await a.waitFor(/v2: \w+ -> master/, 8000);
  await a.waitFor(/v6: \w+ -> master/, 8000);
  await sleep(1200);
  dump.kill('SIGINT');
  await dump.exited;
  const r = spawnSync('tshark', ['-r', pcap, '-o', 'vrrp.v3_checksum_as_in_v2:FALSE', '-T', 'fields', '-E', 'separator=|',
    '-e', 'vrrp.version', '-e', 'vrrp.virt_rtr_id', '-e', 'vrrp.prio', '-e', 'vrrp.checksum.status', '-e', 'ip.ttl', '-e', 'ipv6.hlim', '-e', 'ip.dsfield', '-e', 'ipv6.tclass',
    '-e', 'arp.src.proto_ipv4', '-e', 'arp.dst.proto_ipv4', '-e', 'icmpv6.nd.na.target_address', '-e', 'icmpv6.nd.na.flag.o', '-e', 'icmpv6.checksum.status'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((x) => x.split('|'));
  const vrrp = rows.filter((x) => x[0]);
  for (const vrid of ['1', '2', '3']) assert.ok(vrrp.some((x) => x[1] === vrid), `no advert for VRID ${vrid}`);
  for (const x of vrrp) {
    assert.equal(x[3], '1', `bad checksum: ${x.join('|')}`);
    assert.ok(x[4] === '255' || x[5] === '255', `TTL/hop limit: ${x.join('|')}`);
    assert.ok(Number(x[6]) === 0xc0 || Number(x[7]) === 0xc0, `DSCP CS6: ${x.join('|')}`);
  }
  const garps = rows.filter((x) => x[8] === '192.0.2.22' && x[9] === '192.0.2.22');
  assert.ok(garps.length >= 5, `GARP burst: ${garps.length}`);
  const nas = rows.filter((x) => x[10] === '2001:db8::23');
  assert.ok(nas.length >= 5, `NA burst: ${nas.length}`);
  for (const x of nas) { assert.match(x[11]!, /^(1|True)$/); assert.equal(x[12], '1'); }
  t.diagnostic(`${vrrp.length} adverts, ${garps.length} GARP, ${nas.length} NA checked`);
});

test('admin give-up (SIGUSR2): the master hands over at once and does not preempt back', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const cfg = pair(l);
  const { a, b } = await masterThenBackup(l, cfg);
  await sleep(300);
  const mb = b.lines.length;
  a.kill('SIGUSR2');
  await a.waitFor(/vi_1: master -> backup \(give-up\)/, 2000);
  await b.waitForNext(MASTER, 1000, mb);
  await sleep(1000); // > a's Master_Down_Interval: a higher-priority backup would preempt, a held one must not
  assert.ok(l.hasVip('b', V4) && !l.hasVip('a', V4));
  assert.equal(a.lines.filter((x) => MASTER.test(x)).length, 1, a.lines.join('\n'));
});

test('a VIP with its own device and label is added there and announced out of that device with its MAC', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  l.exec('a', ['ip', 'link', 'add', 'eth1', 'address', '02:00:00:00:01:01', 'type', 'veth', 'peer', 'name', 'eth1p']);
  l.exec('a', ['ip', 'link', 'set', 'eth1', 'up']);
  l.exec('a', ['ip', 'link', 'set', 'eth1p', 'up']);
  const pcap = `${l.dir}/eth1p.pcap`;
  const dump = l.spawn('a', ['tcpdump', '-i', 'eth1p', '--immediate-mode', '-U', '-w', pcap, 'arp']);
  await dump.waitFor(/listening/, 5000);
  const a = l.lvsd('a', configYaml([instanceYaml({ name: 'vi_1', vrid: 1, priority: 200, vips: [`${V4}/24`, '{address: 198.51.100.10/24, device: eth1, label: "eth1:vip"}'] })]));
  await a.waitFor(MASTER, 5000);
  await sleep(300);
  dump.kill('SIGINT');
  await dump.exited;
  assert.match(l.exec('a', ['ip', '-o', 'addr', 'show', 'dev', 'eth1']), /198\.51\.100\.10\/24 .*eth1:vip/);
  const r = spawnSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'arp.src.hw_mac', '-e', 'arp.src.proto_ipv4'], { encoding: 'utf8' });
  const garps = r.stdout.trim().split('\n').filter((x) => x.endsWith('198.51.100.10'));
  assert.ok(garps.length >= 5, `GARPs on eth1: ${r.stdout}`);
  for (const g of garps) assert.ok(g.startsWith('02:00:00:00:01:01'), g);
  assert.ok(!r.stdout.includes('192.0.2.10'), 'the eth0 VIP was announced on eth1');
});

test('dscp: each instance sends its own DSCP on a shared socket (IP_TOS / IPV6_TCLASS per datagram), default CS6 as keepalived; tshark reads the field', { skip: skip || (spawnSync('tshark', ['-v']).status !== 0 && 'needs tshark'), timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const pcap = `${l.dir}/dscp.pcap`;
  const dump = l.spawn('c', ['tcpdump', '-i', 'eth0', '--immediate-mode', '-U', '-w', pcap, 'ip proto 112 or ip6 proto 112']);
  await dump.waitFor(/listening/, 5000);
  const a = l.lvsd('a', configYaml([
    instanceYaml({ name: 'cs6', vrid: 1, priority: 200, vips: ['192.0.2.21/24'] }),
    instanceYaml({ name: 'ef', vrid: 2, priority: 200, vips: ['192.0.2.22/24'], extra: '    dscp: 46' }),
    instanceYaml({ name: 'v6', vrid: 3, priority: 200, vips: ['2001:db8::23/64'], extra: '    dscp: 10' }),
    instanceYaml({ name: 'zero', vrid: 4, priority: 200, vips: ['2001:db8::24/64'], extra: '    dscp: 0' }),
  ]));
  for (const n of ['cs6', 'ef', 'v6', 'zero']) await a.waitFor(new RegExp(`${n}: \\w+ -> master`), 5000);
  await sleep(500);
  dump.kill('SIGINT');
  await dump.exited;
  const r = spawnSync('tshark', ['-r', pcap, '-T', 'fields', '-E', 'separator=|', '-e', 'vrrp.virt_rtr_id', '-e', 'ip.dsfield.dscp', '-e', 'ipv6.tclass.dscp', '-e', 'ip.dsfield.ecn', '-e', 'ipv6.tclass.ecn'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((x) => x.split('|'));
  const want: Record<string, string> = { 1: '48', 2: '46', 3: '10', 4: '0' };
  for (const [vrid, dscp] of Object.entries(want)) {
    const mine = rows.filter((x) => x[0] === vrid);
    assert.ok(mine.length >= 3, `adverts for VRID ${vrid}: ${mine.length}`);
    for (const x of mine) {
      assert.equal(x[1] || x[2], dscp, `VRID ${vrid} DSCP: ${x.join('|')}`);
      assert.equal(x[3] || x[4], '0', `VRID ${vrid} ECN: ${x.join('|')}`);
    }
  }
  t.diagnostic(`${rows.length} adverts checked`);
});

test('engine in a worker thread (--worker): failover with GARP, SIGUSR2 give-up, SIGHUP reload, graceful stop removes the VIP', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const cfg = pair(l);
  const a = l.spawn('a', [process.execPath, VRRP_MAIN, '-c', l.file('wa.yaml', cfg.a), '--worker']);
  await a.waitFor(MASTER, 5000);
  assert.ok(a.lines.some((x) => /running in a worker thread/.test(x)), a.lines.join('\n'));
  const b = l.spawn('b', [process.execPath, VRRP_MAIN, '-c', l.file('wb.yaml', cfg.b), '--worker']);
  await b.waitFor(STATE('vi_1', 'backup'), 5000);
  await until(() => l.hasVip('a', V4), 2000, 'VIP on a');
  l.exec('c', ['ip', 'neigh', 'replace', V4, 'lladdr', l.nodes.a!.mac, 'dev', 'eth0', 'nud', 'stale']);
  a.kill('SIGKILL');
  await b.waitForNext(MASTER, 3000);
  await until(() => l.hasVip('b', V4), 1000, 'VIP on b');
  await until(() => neighMac(l, V4) === l.nodes.b!.mac, 1000, `client neighbour entry moves to b (is ${neighMac(l, V4)})`);
  const a2 = l.spawn('a', [process.execPath, VRRP_MAIN, '-c', l.file('wa2.yaml', cfg.a), '--worker']);
  await a2.waitFor(MASTER, 5000); // preempts b
  await until(() => l.hasVip('a', V4) && !l.hasVip('b', V4), 2000, 'VIP back on a only');
  // Reload through the worker: b's priority rises above a's, so b (preempt) takes over.
  const mark = b.lines.length;
  l.file('wb.yaml', cfg.b.replace('priority: 100', 'priority: 250'));
  b.kill('SIGHUP');
  await b.waitFor(/vrrp: reloaded: .*100 -> 250/, 3000);
  await b.waitForNext(MASTER, 3000, mark);
  await until(() => l.hasVip('b', V4) && !l.hasVip('a', V4), 2000, 'VIP on b after the reload');
  // Admin give-up through the worker: b hands over to a at once.
  const markA = a2.lines.length;
  b.kill('SIGUSR2');
  await b.waitFor(/vi_1: master -> backup \(give-up\)/, 2000);
  await a2.waitForNext(MASTER, 2000, markA);
  b.kill('SIGTERM');
  assert.equal(await b.exited, 0);
  assert.equal(l.hasVip('b', V4), false, 'graceful stop removed the VIP');
  await until(() => l.hasVip('a', V4), 1000, 'VIP on a');
});

test('VrrpWorker API: mirrored instances with the timer on the caller\'s clock, state events, status, reload summary, stop', { skip, timeout: 30_000 }, async (t) => {
  const l = lan(t);
  const cfg = pair(l);
  const file = l.file('api.yaml', cfg.a);
  const script = l.file('api.mjs', `
import { performance } from 'node:perf_hooks';
import { loadConfig } from ${JSON.stringify(`${VRRP_MAIN.replace(/vrrp\/main\.js$/, '')}src/config/index.js`)};
import { VrrpWorker } from ${JSON.stringify(VRRP_MAIN.replace(/main\.js$/, 'worker.js'))};
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const c = await loadConfig(${JSON.stringify(file)});
const w = await VrrpWorker.start(c.config, { log: () => {} });
const events = [];
w.on('state', (e) => events.push(e));
while (w.instances.get('vi_1')?.state !== 'master') await new Promise((r) => setTimeout(r, 20));
const m = w.instances.get('vi_1');
out({ mirrored: m.state, timerKind: m.timer?.kind, timerIn: m.timer.at - performance.now(), interval: m.advertIntervalMs });
const s = await w.status();
out({ status: s.map((i) => [i.name, i.state, i.priority, i.counters.advertsSent > 0]) });
const next = (await loadConfig(${JSON.stringify(file)})).config;
next.vrrp_instances[0].priority = 150;
const sum = await w.reload(next);
out({ changes: sum.changes, updated: sum.updated, priority: (await w.status())[0].priority });
out({ giveUp: await w.giveUp('vi_1'), unknown: await w.giveUp('nope') });
await new Promise((r) => setTimeout(r, 200));
out({ events: events.map((e) => e.from + '>' + e.to) });
await w.stop();
out({ stopped: true });
`);
  const p = l.spawn('a', [process.execPath, script]);
  const code = await p.exited;
  const lines = p.lines.filter((x) => x.startsWith('{')).map((x) => JSON.parse(x) as Record<string, unknown>);
  assert.equal(code, 0, p.lines.join('\n'));
  const get = (k: string) => lines.find((x) => k in x)!;
  assert.equal(get('mirrored').mirrored, 'master');
  assert.equal(get('mirrored').timerKind, 'adver');
  const timerIn = get('mirrored').timerIn as number;
  assert.ok(timerIn > -60 && timerIn <= 100, `the advert timer on this thread's clock: due in ${timerIn} ms`);
  assert.deepEqual(get('status').status, [['vi_1', 'master', 200, true]]);
  assert.deepEqual(get('changes').updated, ['vi_1']);
  assert.equal(get('changes').priority, 150);
  assert.deepEqual(get('giveUp'), { giveUp: true, unknown: false });
  assert.deepEqual(get('events').events, ['backup>master', 'master>backup']);
  assert.ok(get('stopped'));
  assert.equal(l.hasVip('a', V4), false, 'stop removed the VIP');
});
