// Ordered notify and the event stream, on the host's kernel: `lvsd run` in one namespace and lvsd's
// VRRP in another, on a bridge. A burst of give-ups (master -> backup -> master, faster than the notify
// script runs) must reach the script in transition order; a hung notify is killed at its timeout
// (log line); GET /events cut mid-stream and resumed from the last seq loses and repeats nothing, as
// the daemon's full list (`lvsd events`) shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { VrrpLan, canRunNetns, configYaml, instanceYaml, sleep } from './vrrp-netns.js';

const LVSD = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));

interface Stream { lines: Record<string, unknown>[]; close(): void }
function openStream(socketPath: string, query: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const lines: Record<string, unknown>[] = [];
    const req = request({ socketPath, path: `/events?${query}`, agent: false }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { buf += c; let i; while ((i = buf.indexOf('\n')) >= 0) { lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>); buf = buf.slice(i + 1); } });
      res.on('error', () => {});
      resolve({ lines, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}
function post(socketPath: string, path: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request({ socketPath, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
    req.on('error', reject);
    req.end(text);
  });
}
const until = async (cond: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!cond()) { if (Date.now() > end) throw new Error(`timed out: ${what}`); await sleep(20); }
};
const seqOf = (l: Record<string, unknown>) => (typeof l.seq === 'number' ? l.seq : undefined);

test('notify in transition order under a burst; a hung notify killed; the event stream resumed loses nothing', { skip: !canRunNetns() && 'needs root and ip netns', timeout: 90_000 }, async (t) => {
  const l = new VrrpLan(['a', 'b'], 'lve');
  t.after(() => l.stop());
  const sock = `${l.dir}/control.sock`;
  const states = `${l.dir}/states`;
  const slow = `${l.dir}/notify.sh`;
  // Slow on purpose: the transitions come faster than it runs.
  writeFileSync(slow, `#!/bin/sh\nsleep 0.2\necho "$3" >> ${states}\n`);
  chmodSync(slow, 0o755);
  const hang = `${l.dir}/hang.sh`;
  writeFileSync(hang, '#!/bin/sh\nexec sleep 30\n');
  chmodSync(hang, 0o755);
  const cfg = l.file('a.yaml', `global:
  state_file: ${l.dir}/a-state.json
  script_user: root
  control: { listen: "unix:${sock}" }
  metrics: { listen: "127.0.0.1:19100" }
${configYaml([
    instanceYaml({ name: 'vi_1', vrid: 7, priority: 200, vips: ['192.0.2.10/24'], extra: `    notify: { any: [${slow}], timeout: 5s }` }),
    instanceYaml({ name: 'vi_2', vrid: 8, priority: 200, vips: ['192.0.2.11/24'], extra: `    notify: { master: [${hang}], timeout: 300ms }` }),
  ])}`);
  const t0 = Date.now();
  const a = l.spawn('a', [process.execPath, LVSD, 'run', '-c', cfg]);
  const b = l.lvsd('b', configYaml([
    instanceYaml({ name: 'vi_1', vrid: 7, priority: 100, vips: ['192.0.2.10/24'] }),
    instanceYaml({ name: 'vi_2', vrid: 8, priority: 100, vips: ['192.0.2.11/24'] }),
  ]));
  await a.waitFor(/vi_1: \w+ -> master/, 15_000);
  await a.waitFor(/"msg":"ready"/, 15_000);
  await b.waitFor(/vi_1: \w+ -> backup/, 15_000);

  // The hung notify of vi_2 becoming master: killed after 300 ms, and said so.
  await a.waitFor(/notify vi_2 .*hang\.sh: timed out after 0\.3s, killed/, 10_000);

  const s1 = await openStream(sock, 'since=0&follow=1');
  await until(() => s1.lines.length > 0, 5000, 'hello');
  const boot = s1.lines[0]!.boot as string;
  // A burst: each give-up (no hold) makes a hand over to b and a preempt back: BACKUP, MASTER, ...
  for (let i = 0; i < 3; i++) { assert.equal(await post(sock, '/vrrp/give-up', { instance: 'vi_1', hold: '0s' }), 200); await sleep(150); }
  await until(() => s1.lines.filter((x) => x.kind === 'vrrp_state').length >= 2, 10_000, 'first transitions on the stream');
  s1.close(); // disconnect mid-burst
  for (let i = 0; i < 3; i++) { assert.equal(await post(sock, '/vrrp/give-up', { instance: 'vi_1', hold: '0s' }), 200); await sleep(150); }
  const last = Math.max(...s1.lines.map(seqOf).filter((x): x is number => x !== undefined));
  const s2 = await openStream(sock, `since=${last}&boot=${boot}&follow=1`);
  await sleep(1500); // let the last preempt and its notify happen
  // The daemon's whole list, by the CLI (an independent reader of the same API).
  const all = l.exec('a', [process.execPath, LVSD, 'events', '--socket', sock]).trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
  s2.close();
  assert.ok(!all.some((x) => x.kind === 'gap') && !s2.lines.some((x) => x.kind === 'gap'), 'no gap');
  const got = [...s1.lines, ...s2.lines].map(seqOf).filter((x): x is number => x !== undefined);
  assert.deepEqual(got, all.map(seqOf), 'resumed stream: every event once, in order');
  assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => i + 1));

  // Notify order: the script's file lists vi_1's transitions as the events do (plus the start's
  // initialize -> backup, which happens before the daemon exists to record it).
  const vi1 = all.filter((x) => x.kind === 'vrrp_state' && x.instance === 'vi_1').map((x) => String(x.to).toUpperCase());
  assert.ok(vi1.length >= 4, `a burst of transitions: ${vi1.join(' ')}`);
  const read = () => { try { return readFileSync(states, 'utf8').trim().split('\n'); } catch { return []; } };
  await until(() => read().length >= vi1.length + 1 && read().at(-1) === vi1.at(-1), 15_000, `notify file: ${read().join(' ')}`);
  await sleep(500); // nothing more may come
  const file = read();
  // Before the recorded events: the start's BACKUP, and its first MASTER if that came before the
  // daemon listened (a race of no interest here).
  const head = file.slice(0, file.length - vi1.length);
  assert.ok(['BACKUP', 'BACKUP MASTER'].includes(head.join(' ')), `file: ${file.join(' ')}; events: ${vi1.join(' ')}`);
  assert.deepEqual(file.slice(head.length), vi1, 'notify ran in transition order');
  a.kill('SIGTERM');
  b.kill('SIGTERM');
  await Promise.all([a.exited, b.exited]);
  t.diagnostic(`wall ${((Date.now() - t0) / 1000).toFixed(1)} s, ${vi1.length} transitions, ${got.length} events`);
});
