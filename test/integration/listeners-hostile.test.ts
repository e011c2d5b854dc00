// Issue #13: no number of clients on lvsd's listeners may cost a failover. Host namespaces on a bridge:
// `lvsd run` in `a` (master, a track script every 200 ms that puts the instance in FAULT when it fails),
// plain lvsd VRRP in `b` (backup, the independent witness: it logs "-> master" the moment a's adverts
// stop or say FAULT). A flood holds thousands of idle connections to a's /metrics, from thousands of
// loopback addresses (127.0.0.0/8 is all local) so no per-address cap helps, while the test calls the
// control socket. Before the fix the first ~1,000 idle connections used up the descriptors: the track
// script failed with EMFILE, `a` went FAULT and `b` took the VIP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, VrrpLan, canRunNetns, configYaml, instanceYaml, sleep, type Proc } from './vrrp-netns.js';

const skip = !canRunNetns() && 'needs root and ip netns';
const LVSD = join(ROOT, 'bin/lvsd.js');
const VIP = '192.0.2.10';

/** Holds COUNT connections to PORT for SECONDS, reconnecting whatever the server closes; prints a JSON summary. */
const FLOOD = `
import { connect } from 'node:net';
const [port, count, seconds] = process.argv.slice(2).map(Number);
const until = Date.now() + seconds * 1000;
let opened = 0, closedByServer = 0, errors = 0, open = 0, maxOpen = 0;
function one(i) {
  if (Date.now() > until) return;
  const s = connect({ port, host: '127.0.0.1', localAddress: '127.' + (1 + (i >> 16 & 255)) + '.' + (i >> 8 & 255) + '.' + (1 + (i & 254)) });
  s.on('connect', () => { opened++; open++; maxOpen = Math.max(maxOpen, open); s.write('GET /metrics HTTP/1.1\\r\\n'); });
  s.on('error', () => { errors++; });
  s.on('close', () => { if (s.connecting === false && opened) { open--; closedByServer++; } setTimeout(() => one(i), 20); });
  s.on('data', () => {});
}
for (let i = 0; i < count; i++) one(i);
setTimeout(() => { console.log(JSON.stringify({ opened, closedByServer, errors, maxOpen })); process.exit(0); }, seconds * 1000 + 200);
`;

function config(l: VrrpLan, maxConnections?: number): string {
  return `global:
  state_file: ${l.dir}/a-state.json
  script_user: nobody
  metrics: { listen: "0.0.0.0:9641"${maxConnections ? `, max_connections: ${maxConnections}` : ''} }
  control: { listen: "unix:${l.dir}/a.sock" }
track_scripts:
  - { name: alive, argv: [/bin/true], interval: 200ms }
${configYaml([instanceYaml({ name: 'vi_1', vrid: 7, priority: 200, interval: '200ms', vips: [`${VIP}/24`], extra: '    track: {scripts: [{name: alive}]}' })])}`;
}

async function status(l: VrrpLan): Promise<{ ok: boolean; state?: string }> {
  const out = l.exec('a', [process.execPath, LVSD, 'status', '--json', '--socket', join(l.dir, 'a.sock')], { allowFail: true });
  try {
    const s = JSON.parse(out) as { vrrp: Array<{ name: string; state: string }> };
    return { ok: true, state: s.vrrp.find((i) => i.name === 'vi_1')?.state };
  } catch { return { ok: false }; }
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((x) => x.startsWith(`${name}{`) && labels.split(',').every((kv) => x.includes(kv)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

async function scenario(t: { after: (fn: () => void) => void }, o: { nofile: string; maxConnections?: number; flood: number }) {
  const l = new VrrpLan(['a', 'b']);
  t.after(() => l.stop());
  const cfg = l.file('a.yaml', config(l, o.maxConnections));
  const a = l.spawn('a', ['prlimit', `--nofile=${o.nofile}`, '--', process.execPath, LVSD, 'run', '-c', cfg]);
  await a.waitFor(/"msg":"vi_1: \w+ -> master/, 15_000);
  const b = l.lvsd('b', configYaml([instanceYaml({ name: 'vi_1', vrid: 7, priority: 100, interval: '200ms', vips: [`${VIP}/24`] })]));
  await b.waitFor(/vi_1: \w+ -> backup/);
  const flooder = l.file('flood.mjs', FLOOD);
  const flood: Proc = l.spawn('a', ['prlimit', '--nofile=16384', '--', process.execPath, flooder, '9641', String(o.flood), '8']);
  const calls: Array<{ ok: boolean; state?: string }> = [];
  for (let i = 0; i < 12; i++) { await sleep(500); calls.push(await status(l)); }
  await flood.exited;
  const summary = JSON.parse(flood.lines.find((x) => x.startsWith('{')) ?? '{}') as { opened: number; maxOpen: number };
  // Idle connections are closed by the deadlines; then a scrape gets through again.
  let text = '';
  for (let i = 0; i < 40 && !text.includes('lvsd_listener_connections_refused_total'); i++) {
    await sleep(250);
    text = l.exec('a', ['curl', '-s', '--max-time', '2', 'http://127.0.0.1:9641/metrics'], { allowFail: true });
  }
  const pid = Number(JSON.parse(a.lines.find((x) => x.includes('"msg":"ready"'))!).pid);
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  return { l, a, b, calls, summary, text, limits };
}

test('thousands of idle /metrics connections: capped at max_connections, VRRP stays MASTER, the track script and the control socket keep working',
  { skip, timeout: 120_000 }, async (t) => {
    const { l, a, b, calls, summary, text } = await scenario(t, { nofile: '1024:1024', flood: 3000 });
    assert.ok(summary.opened > 1000, `the flood opened ${summary.opened} connections (kernel accepts, lvsd closes)`);
    assert.ok(calls.every((c) => c.ok && c.state === 'master'), `control socket answers, vi_1 master: ${JSON.stringify(calls)}`);
    assert.ok(!b.lines.some((x) => /-> master/.test(x)), `b never took over:\n${b.lines.join('\n')}`);
    assert.ok(!a.lines.some((x) => /-> fault|EMFILE/.test(x)), a.lines.filter((x) => /fault|EMFILE/.test(x)).join('\n'));
    assert.ok(l.hasVip('a', VIP));
    assert.ok(metric(text, 'lvsd_listener_connections_refused_total', 'listener="metrics",reason="max_connections"') > 1000, text.split('\n').filter((x) => x.includes('listener')).join('\n'));
    assert.ok(metric(text, 'lvsd_listener_connections_accepted_total', 'listener="metrics"') >= 64);
  });

test('with the cap raised past the descriptor limit, the reserve refuses instead: lvsd raised its soft limit to the hard one, and VRRP and scripts still have descriptors',
  { skip, timeout: 120_000 }, async (t) => {
    const { l, a, b, calls, text, limits } = await scenario(t, { nofile: '256:1024', maxConnections: 4096, flood: 2000 });
    assert.match(limits, /Max open files\s+1024\s+1024/, 'soft limit raised from 256 to the hard 1024');
    assert.ok(calls.every((c) => c.ok && c.state === 'master'), JSON.stringify(calls));
    assert.ok(!b.lines.some((x) => /-> master/.test(x)), b.lines.join('\n'));
    assert.ok(!a.lines.some((x) => /-> fault|EMFILE/.test(x)), a.lines.filter((x) => /fault|EMFILE/.test(x)).join('\n'));
    assert.ok(l.hasVip('a', VIP));
    assert.ok(metric(text, 'lvsd_listener_connections_refused_total', 'listener="metrics",reason="fd_reserve"') > 100, text.split('\n').filter((x) => x.includes('listener') || x.includes('descriptor')).join('\n'));
    assert.equal(metric(text, 'lvsd_file_descriptor_reserve', 'kind="limit"'), 1024);
    assert.equal(metric(text, 'lvsd_file_descriptor_reserve', 'kind="reserve"'), 128);
  });
