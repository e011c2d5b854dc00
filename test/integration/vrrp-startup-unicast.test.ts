// Issue #17 start-up and unicast on a real kernel: directors a and b and a third host c as network
// namespaces on one bridge (VrrpLan). b runs lvsd's VRRP entry; a runs the same engine in this file's
// child mode (LVSD_TEST_ENGINE), which also prints its counters and metric samples on SIGUSR1, the
// numbers `lvsd status` and /metrics show. Judges from outside: tcpdump on a's bridge port read by
// tshark (who sent what, when, with which TTL and address count), `ip -o addr`, the notify files.
// One LAN, one run, five instances at once (v3, 100 ms):
//   vi_1  vrid 1 multicast, a 200 / b 100, VIP .10   vrrp_startup_delay 2s on a's restart
//   vi_n  vrid 2 no VIPs (family 4), a 200 / b 100   notify any -> a-notify / b-notify
//   vi_u  vrid 3 unicast, b 200 sends with ttl 254, a 100 takes it with max_ttl 254 (peer behind a router)
//   vi_s  vrid 4 unicast, b 200 sends with ttl 254, a 100 without a range: drops them (and takes over)
//   vi_c  vrid 5 unicast, a 200 / b 100, check_source on a; c forges priority 250 from 192.0.2.3
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VrrpLan, canRunNetns, sleep, type Proc } from './vrrp-netns.js';

const THIS = fileURLToPath(import.meta.url);

if (process.env.LVSD_TEST_ENGINE) await child(process.env.LVSD_TEST_ENGINE);
else tests();

/** The engine as dist/vrrp/main.js runs it, plus `status {json}` on SIGUSR1. */
async function child(file: string): Promise<void> {
  const { loadConfig } = await import('../../src/config/index.js');
  const { VrrpEngine } = await import('../../vrrp/engine.js');
  const { collectVrrp } = await import('../../src/metrics/vrrp.js');
  const r = await loadConfig(file);
  if (!r.ok) { process.stderr.write(`${JSON.stringify(r.errors)}\n`); process.exit(78); }
  const e = await VrrpEngine.start(r.config, { log: (l) => process.stdout.write(`${new Date().toISOString()} ${l}\n`) });
  process.on('SIGUSR1', () => {
    const out = new Map<string, { labels: Record<string, string | number>; value: number }[]>();
    collectVrrp(e, out);
    process.stdout.write(`status ${JSON.stringify({
      instances: Object.fromEntries([...e.instances.values()].map((i) => [i.name, { state: i.state, drops: i.counters.drops, received: i.counters.advertsReceived }])),
      channels: [...e.channels.values()].map((c) => c.drops),
      dropped: (out.get('lvsd_vrrp_packets_dropped_total') ?? []).filter((s) => s.value > 0).map((s) => ({ ...s.labels, value: s.value })),
    })}\n`);
  });
  process.on('SIGTERM', () => { void e.stop().then(() => process.exit(0)); });
  process.stdout.write(`${new Date().toISOString()} vrrp: running\n`);
}

interface Status {
  instances: Record<string, { state: string; drops: Record<string, number>; received: number }>;
  channels: Record<string, number>[];
  dropped: { vrrp_instance: string; reason: string; value: number }[];
}

function tests(): void {
  const skip = (!canRunNetns() && 'needs root and ip netns') || (spawnSync('tshark', ['-v']).status !== 0 && 'needs tshark');

  const inst = (name: string, vrid: number, priority: number, more: string) =>
    `  - {name: ${name}, interface: eth0, vrid: ${vrid}, priority: ${priority}, version: 3, advert_interval: 100ms, ${more}}`;
  const notify = (l: VrrpLan, who: string) => `notify: {any: [/bin/sh, -c, 'echo "$*" >> ${l.dir}/${who}-notify', sh]}`;
  const config = (l: VrrpLan, who: 'a' | 'b', delay: boolean) => {
    const hi = who === 'a' ? 200 : 100, lo = who === 'a' ? 100 : 200;
    const peer = who === 'a' ? '192.0.2.2' : '192.0.2.1';
    return [
      `global: {script_user: root${delay ? ', vrrp_startup_delay: 2s' : ''}}`,
      'vrrp_instances:',
      inst('vi_1', 1, hi, 'virtual_ips: [192.0.2.10/24]'),
      inst('vi_n', 2, hi, `family: 4, ${notify(l, who)}`),
      inst('vi_u', 3, lo, `virtual_ips: [192.0.2.30/24], unicast: {peers: [${who === 'a' ? `{address: ${peer}, min_ttl: 250, max_ttl: 254}` : peer}]${who === 'b' ? ', ttl: 254' : ''}}`),
      inst('vi_s', 4, lo, `virtual_ips: [192.0.2.40/24], unicast: {peers: [${peer}]${who === 'b' ? ', ttl: 254' : ''}}`),
      inst('vi_c', 5, hi, `virtual_ips: [192.0.2.50/24], unicast: {peers: [${peer}]${who === 'a' ? ', check_source: true' : ''}}`),
      '',
    ].join('\n');
  };
  const engine = (l: VrrpLan, file: string): Proc => l.spawn('a', ['/usr/bin/env', `LVSD_TEST_ENGINE=${file}`, process.execPath, THIS]);
  const VIPS = ['192.0.2.10', '192.0.2.30', '192.0.2.40', '192.0.2.50'];
  /** The interface's addresses apart from the other instances' VIPs: what an instance without VIPs must leave alone. */
  const ownAddrs = (l: VrrpLan, n: string) => l.addrs(n).split('\n').map((x) => /inet6? (\S+)/.exec(x)?.[1]).filter((a): a is string => !!a && !VIPS.includes(a.split('/')[0]!)).sort();
  const status = async (p: Proc): Promise<Status> => {
    const mark = p.lines.length;
    p.kill('SIGUSR1');
    const line = await p.waitForNext(/^status /, 5000, mark);
    return JSON.parse(line.slice('status '.length)) as Status;
  };
  const epoch = (line: string) => Date.parse(line.slice(0, 24));

  test('startup delay, an instance without VIPs, check_source and unicast TTL ranges, judged by tcpdump/tshark, ip addr and notify files', { skip, timeout: 90_000 }, async (t) => {
    const l = new VrrpLan(['a', 'b', 'c'], 'lsu');
    t.after(() => l.stop());
    const aFile = l.file('a.yaml', config(l, 'a', false));
    const aDelayed = l.file('a-delay.yaml', config(l, 'a', true));
    const before = { a: ownAddrs(l, 'a'), b: ownAddrs(l, 'b') };

    // a runs first and is master of vi_1 / vi_n / vi_c; b joins as their backup.
    let a = engine(l, aFile);
    await a.waitFor(/vi_c: \w+ -> master/, 8000);
    const b = l.lvsd('b', config(l, 'b', false));
    await b.waitFor(/vi_s: \w+ -> master/, 8000);
    await b.waitFor(/vi_u: \w+ -> master/, 8000);
    await b.waitFor(/vi_1: \w+ -> backup/, 8000);

    // a restarts with vrrp_startup_delay 2s: b takes over, then must keep it through the delay.
    const pcap = `${l.dir}/a.pcap`;
    // On a's port of the bridge: everything a sends and everything sent to it, unicast included.
    const cap = spawn('ip', ['netns', 'exec', l.bridgeNs, 'tcpdump', '-i', 'pa', '--immediate-mode', '-U', '-w', pcap, 'ip proto 112'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => { if (cap.exitCode === null) cap.kill('SIGKILL'); });
    await sleep(700);
    a.kill('SIGKILL');
    await a.exited;
    const killedAt = Date.now();
    await b.waitForNext(/vi_1: \w+ -> master/, 3000);
    const markB = b.lines.length;
    a = engine(l, aDelayed);
    const delayLine = await a.waitFor(/vrrp_startup_delay 2000 ms/, 8000);
    const t0 = epoch(delayLine);
    await a.waitFor(/vi_1: initialize -> backup/, 3000);
    await sleep(Math.max(0, t0 + 1500 - Date.now()));
    assert.ok(l.hasVip('b', '192.0.2.10'), 'b keeps the VIP during a\'s startup delay');
    assert.equal(b.lines.slice(markB).filter((x) => /vi_1: master ->/.test(x)).length, 0, 'b stays master during the delay');
    const tookOver = await a.waitFor(/vi_1: backup -> master/, 5000);
    const at = epoch(tookOver) - t0;
    // Master_Down_Interval at priority 200, 100 ms: 3 x 100 + (256 - 200) x 100 / 256 = 321.9 ms, counted from the end of the delay.
    assert.ok(at >= 2000 + 250 && at < 2000 + 1500, `a became master ${at} ms after start (delay 2000 + Master_Down_Interval 322)`);
    await b.waitForNext(/vi_1: master -> backup/, 3000, markB);

    // vi_c: c forges priority-250 unicast adverts to a from 192.0.2.3 (not a peer); a stays master.
    await a.waitFor(/vi_c: backup -> master/, 5000);
    const markA = a.lines.length, markF = b.lines.length;
    const forger = l.spawn('c', [process.execPath, `${THIS.replace(/vrrp-startup-unicast\.test\.js$/, 'vrrp-forger.js')}`,
      JSON.stringify({ src: '192.0.2.3', dst: '192.0.2.1', vrid: 5, priority: 250, addresses: ['192.0.2.50'], pps: 50, ms: 1500 })]);
    await forger.waitFor(/^sent \d+/, 8000);
    const sent = Number(/^sent (\d+)/.exec(forger.lines.find((x) => x.startsWith('sent'))!)![1]);
    assert.equal(a.lines.slice(markA).filter((x) => /vi_c: master ->/.test(x)).length, 0, 'a ignores the forger');

    // vi_s: b sends with TTL 254 and a has no range for it: dropped, so a takes over (a second master).
    await a.waitFor(/vi_s: backup -> master/, 5000);
    const s = await status(a);
    assert.ok((s.instances.vi_c!.drops.unicast_src_unknown ?? 0) >= sent * 0.9, `unicast_src_unknown ${JSON.stringify(s.instances.vi_c)} of ${sent} forged`);
    assert.equal(s.instances.vi_c!.state, 'master');
    assert.equal(s.instances.vi_u!.state, 'backup', 'TTL 254 within min_ttl 250 - max_ttl 254: b\'s adverts followed');
    assert.ok(s.instances.vi_u!.received > 10);
    assert.equal(s.instances.vi_u!.drops.ttl_out_of_range ?? 0, 0);
    assert.ok(s.channels.some((c) => (c.ttl_invalid ?? 0) > 10), `ttl_invalid on the channel: ${JSON.stringify(s.channels)}`);
    assert.equal(s.instances.vi_s!.state, 'master');
    assert.ok((s.instances.vi_1!.drops.startup_delay ?? 0) > 5, `b's adverts during the delay counted: ${JSON.stringify(s.instances.vi_1)}`);
    const dropped = (name: string, reason: string) => s.dropped.find((d) => d.vrrp_instance === name && d.reason === reason)?.value ?? 0;
    assert.ok(dropped('vi_c', 'unicast_src_unknown') >= sent * 0.9, 'lvsd_vrrp_packets_dropped_total{reason="unicast_src_unknown"}');
    assert.ok(dropped('vi_1', 'startup_delay') > 5, 'lvsd_vrrp_packets_dropped_total{reason="startup_delay"}');
    assert.ok(s.dropped.some((d) => d.vrrp_instance === '' && d.reason === 'ttl_invalid' && d.value > 10));
    assert.equal(b.lines.slice(markF).filter((x) => /vi_c: backup ->|vi_u: master ->/.test(x)).length, 0, 'b unaffected: backup of vi_c, master of vi_u');

    // vi_n without VIPs: a's restart and b's takeover ran the notify commands in order; no address moved.
    assert.deepEqual(ownAddrs(l, 'a'), before.a);
    assert.deepEqual(ownAddrs(l, 'b'), before.b);
    a.kill('SIGKILL');
    await b.waitForNext(/vi_n: backup -> master/, 3000, markB);
    await sleep(300);
    assert.deepEqual(ownAddrs(l, 'b'), before.b, 'b holds no address for vi_n');
    // Notify commands run after the transition, in a child process of their own: wait for the file.
    for (let end = Date.now() + 5000; l.read('b-notify').trim().split('\n').length < 4 && Date.now() < end;) await sleep(50);
    const aNotify = l.read('a-notify').trim().split('\n');
    const bNotify = l.read('b-notify').trim().split('\n');
    assert.deepEqual(aNotify, ['INSTANCE vi_n BACKUP 200', 'INSTANCE vi_n MASTER 200', 'INSTANCE vi_n BACKUP 200', 'INSTANCE vi_n MASTER 200']);
    assert.deepEqual(bNotify, ['INSTANCE vi_n BACKUP 100', 'INSTANCE vi_n MASTER 100', 'INSTANCE vi_n BACKUP 100', 'INSTANCE vi_n MASTER 100']);

    cap.kill('SIGINT');
    await new Promise((r) => cap.on('exit', r));
    const rows = spawnSync('tshark', ['-r', pcap, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.ttl',
      '-e', 'vrrp.virt_rtr_id', '-e', 'vrrp.prio', '-e', 'vrrp.addr_count', '-e', 'vrrp.checksum.status'], { encoding: 'utf8' }).stdout.trim().split('\n')
      .map((x) => { const [time, src, dst, ttl, vrid, prio, count, ok] = x.split('|'); return { time: Number(time) * 1000, src, dst, ttl: Number(ttl), vrid: Number(vrid), prio: Number(prio), count: Number(count), ok }; });
    const fromA = rows.filter((r) => r.src === '192.0.2.1' && r.time > killedAt);
    assert.ok(fromA.length > 10, 'a advertised after its delay');
    const first = Math.min(...fromA.map((r) => r.time));
    assert.ok(first - t0 >= 2000, `a's first advert ${(first - t0).toFixed(0)} ms after its start: silent for the 2 s delay`);
    assert.ok(rows.every((r) => r.ok === '1'), 'every checksum good');
    const vn = rows.filter((r) => r.vrid === 2);
    assert.ok(vn.length > 10 && vn.every((r) => r.count === 0), 'vi_n adverts carry no address (count 0)');
    const bUnicast = rows.filter((r) => r.src === '192.0.2.2' && r.dst === '192.0.2.1' && (r.vrid === 3 || r.vrid === 4));
    assert.ok(bUnicast.length > 10 && bUnicast.every((r) => r.ttl === 254), 'b sends its unicast adverts with unicast.ttl 254');
    assert.ok(rows.filter((r) => r.src === '192.0.2.1' && r.vrid === 4).every((r) => r.ttl === 255), 'a sends with 255 by default');
    const forged = rows.filter((r) => r.src === '192.0.2.3');
    assert.ok(forged.length >= sent * 0.9, 'the forged adverts reached a');
  });
}
