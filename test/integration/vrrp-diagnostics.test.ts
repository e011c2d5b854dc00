// "Why am I (not) master", peers, drops and the split-brain alarm on a real kernel (issue #17). Host
// namespaces on a bridge: `lvsd run` in a (priority 150, a track script with weight -60 that is down,
// so 90) and in b (priority 100), VRRPv3 at 100 ms; c forges and listens. Judges from outside: tshark
// reading b's adverts in a and both masters' adverts in c, `ip addr` for the VIP on both, the
// daemons' own JSON log lines and /metrics over HTTP. One setup for all cases (~20 s).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, VrrpLan, canRunNetns, configYaml, instanceYaml, sleep, type Proc } from './vrrp-netns.js';
import type { ControlStatus } from '../../src/control/status.js';

const skip = !canRunNetns() && 'needs root and ip netns';
const LVSD = join(ROOT, 'bin/lvsd.js');
const FORGER = join(ROOT, 'dist/test/integration/vrrp-forger.js');
const VIP = '192.0.2.10';
const LABELS = 'vrrp_instance="vi_1",interface="eth0",vrid="1",family="ipv4"';

let l: VrrpLan;
let a: Proc;
let b: Proc;

function config(node: string, priority: number, track: boolean): string {
  return `global:
  state_file: ${l.dir}/${node}-state.json
  script_user: root
  log: { level: debug }
  metrics: { listen: "127.0.0.1:9641" }
  control: { listen: "unix:${l.dir}/${node}.sock" }
${track ? `track_scripts:\n  - { name: chk, argv: [/usr/bin/test, -e, ${l.dir}/chk-up], interval: 100ms }\n` : ''}${configYaml([instanceYaml({
    name: 'vi_1', vrid: 1, priority, vips: [`${VIP}/24`], ...(track ? { extra: '    track: {scripts: [{name: chk, weight: -60}]}' } : {}) })])}`;
}

function status(node: string): ControlStatus {
  return JSON.parse(l.exec(node, [process.execPath, LVSD, 'status', '--json', '--socket', join(l.dir, `${node}.sock`)])) as ControlStatus;
}

async function until<T>(probe: () => T | undefined | false, what: () => string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined | false;
    try { v = probe(); } catch { v = undefined; }
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout: ${what()}`);
    await sleep(100);
  }
}

function metric(node: string, name: string): number {
  const text = l.exec(node, ['curl', '-s', '--max-time', '2', 'http://127.0.0.1:9641/metrics']);
  const line = text.split('\n').find((x) => x.startsWith(`${name}{${LABELS}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

/** The daemon's JSON log records whose message matches re. */
const records = (p: Proc, re: RegExp): { level: string; msg: string }[] =>
  p.lines.filter((x) => x.startsWith('{')).map((x) => JSON.parse(x) as { level: string; msg: string }).filter((r) => re.test(r.msg));

before(async () => {
  if (skip) return;
  l = new VrrpLan(['a', 'b', 'c'], 'lvd');
  b = l.spawn('b', [process.execPath, LVSD, 'run', '-c', l.file('b.yaml', config('b', 100, false))]);
  await b.waitFor(/"msg":"vi_1: \w+ -> master/, 15_000);
  a = l.spawn('a', [process.execPath, LVSD, 'run', '-c', l.file('a.yaml', config('a', 150, true))]);
  await a.waitFor(/"msg":"ready"/, 15_000);
  // a may preempt for the moment before its script's first result; it ends BACKUP at 90.
  await until(() => { const v = status('a').vrrp[0]; return v?.state === 'backup' && v.priority === 90 && status('b').vrrp[0]?.state === 'master'; },
    () => JSON.stringify(status('a').vrrp[0]), 15_000);
});
after(() => { l?.stop(); });

test('status shows the priority arithmetic (base, the script down) and the peer\'s adverts as tshark reads them', { skip }, async () => {
  // Independent reading of b's adverts as they reach a: "192.0.2.2 > 224.0.0.18: VRRPv3, Advertisement, vrid 1, prio 100, intvl 10cs, ...".
  const cap = l.exec('a', ['timeout', '5', 'tcpdump', '-i', 'eth0', '-n', '-v', '-l', '-c', '3', 'ip proto 112 and src host 192.0.2.2'], { allowFail: true });
  const m = /(\d+\.\d+\.\d+\.\d+) > [\d.]+: VRRPv(\d), Advertisement, vrid 1, prio (\d+), intvl (\d+)cs/.exec(cap);
  assert.ok(m, cap);
  const [, src, version, prio, cs] = m;
  const st = status('a');
  const v = st.vrrp[0]!;
  assert.equal(v.state, 'backup');
  assert.deepEqual(v.priorityArithmetic && { base: v.priorityArithmetic.base, priority: v.priorityArithmetic.priority, terms: v.priorityArithmetic.terms },
    { base: 150, priority: 90, terms: [{ key: 'script:chk', weight: -60, up: false, contribution: -60, fault: false }] });
  assert.deepEqual(v.faultCauses, []);
  const peer = v.peers?.[0];
  assert.deepEqual(peer && [peer.address, String(peer.version), String(peer.priority), String(peer.advertIntervalMs / 10), peer.dropped], [src, version, prio, cs, null], cap);
  assert.ok(peer!.count >= 10 && peer!.ageMs < 1500, JSON.stringify(peer));
  assert.equal(v.masterAddress, '192.0.2.2');
  const text = l.exec('a', [process.execPath, LVSD, 'status', '--socket', join(l.dir, 'a.sock')]);
  assert.match(text, /\n {4}priority 90 = 150 base - 60 \(script chk down\); fault causes: none\n/, text);
  assert.match(text, /\n {4}peers: 192\.0\.2\.2 priority 100 v3 100 ms, \d+\.\d s ago \(\d+ adverts\)\n/, text);
});

test('a forged advert for a VRID nobody here uses: vrid_unknown in status --json (every reason, zeros included) and a debug line', { skip }, async () => {
  const before = status('a').vrrpChannels?.[0]?.drops.vrid_unknown ?? NaN;
  const out = l.exec('c', [process.execPath, FORGER, JSON.stringify({ src: '192.0.2.3', vrid: 99, priority: 100, count: 3 })]);
  assert.match(out, /^sent 3 /);
  const ch = await until(() => { const c = status('a').vrrpChannels?.[0]; return c && c.drops.vrid_unknown === before + 3 && c; }, () => JSON.stringify(status('a').vrrpChannels));
  assert.deepEqual([ch.interface, ch.family], ['eth0', 'ipv4']);
  for (const r of ['ttl_invalid', 'too_short', 'version_invalid', 'type_invalid', 'length_mismatch', 'checksum_invalid', 'auth_type_unsupported', 'ip_header_invalid']) {
    assert.equal(ch.drops[r], 0, r);
  }
  for (const r of ['version_mismatch', 'auth_failure', 'advert_interval_mismatch', 'own_source']) assert.equal(typeof status('a').vrrp[0]!.counters.drops[r], 'number', r);
  const line = await until(() => records(a, /^vrrp channel eth0\/ipv4: dropped \d+ packets?: vrid_unknown/)[0], () => a.lines.slice(-20).join('\n'), 3000);
  assert.equal(line.level, 'debug');
});

test('split brain: a stops hearing b (nft), both are master; b raises the alarm (metric, warn line, status), and clears it once a hears b again', { skip }, async () => {
  assert.equal(metric('b', 'lvsd_vrrp_split_brain'), 0);
  l.exec('a', ['nft', 'add table ip sb; add chain ip sb in { type filter hook input priority 0; }; add rule ip sb in ip saddr 192.0.2.2 ip protocol 112 drop']);
  const t0 = Date.now();
  try {
    await a.waitForNext(/"msg":"vi_1: backup -> master/, 5000);
    // Outside: both send adverts, both hold the VIP.
    const cap = l.exec('c', ['timeout', '1', 'tcpdump', '-i', 'eth0', '-n', '-l', 'ip proto 112'], { allowFail: true });
    const srcs = new Set([...cap.matchAll(/ IP (\d+\.\d+\.\d+\.\d+) > 224\.0\.0\.18: VRRPv3/g)].map((x) => x[1]));
    assert.ok(srcs.has('192.0.2.1') && srcs.has('192.0.2.2'), cap);
    assert.ok(l.hasVip('a', VIP) && l.hasVip('b', VIP));
    const raised = await until(() => records(b, /: SPLIT BRAIN: /)[0], () => b.lines.slice(-10).join('\n'), 5000);
    assert.equal(raised.level, 'warn');
    assert.equal(raised.msg, 'vi_1: SPLIT BRAIN: 192.0.2.1 (priority 90) and this router (192.0.2.2, priority 100) advertise as master for vrid 1 on eth0 at once: they do not hear, or refuse, each other\'s adverts');
    const sb = status('b').vrrp[0]!.splitBrain!;
    assert.equal(sb.active, true);
    assert.deepEqual(sb.masters.map((m) => [m.address, m.priority, m.self]), [['192.0.2.2', 100, true], ['192.0.2.1', 90, false]]);
    await until(() => metric('b', 'lvsd_vrrp_split_brain') === 1, () => `metric ${metric('b', 'lvsd_vrrp_split_brain')}`, 3000);
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    l.exec('a', ['nft', 'delete table ip sb']);
  }
  await a.waitForNext(/"msg":"vi_1: master -> backup/, 5000);
  const cleared = await until(() => records(b, /: split brain over after /)[0], () => b.lines.slice(-10).join('\n'), 5000);
  assert.match(cleared.msg, /^vi_1: split brain over after \d+\.\d s: this router \(192\.0\.2\.2, priority 100\) is the only master now$/);
  await until(() => metric('b', 'lvsd_vrrp_split_brain') === 0, () => `metric ${metric('b', 'lvsd_vrrp_split_brain')}`, 3000);
  assert.equal(metric('b', 'lvsd_vrrp_split_brain_raised_total'), 1);
  const sb = status('b').vrrp[0]!.splitBrain!;
  assert.deepEqual([sb.active, sb.raised, sb.clearedAt !== null], [false, 1, true]);
  assert.ok(!l.hasVip('a', VIP) && l.hasVip('b', VIP));
  assert.equal(status('a').vrrp[0]?.state, 'backup');
});
