// global.vrrp_realtime_priority on a real kernel: VrrpWorker raises its own thread to SCHED_FIFO (judged
// by chrt -p on the worker's tid) while the process's main thread stays SCHED_OTHER; a reload without
// the key returns the thread to SCHED_OTHER; without CAP_SYS_NICE (setpriv drops it) the worker logs a
// warning and VRRP still runs (the instance becomes master, the VIP is on the link). Needs root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VRRP_MAIN, VrrpLan, canRunNetns, configYaml, instanceYaml } from './vrrp-netns.js';

const skip = !canRunNetns() && 'needs root and ip netns';
const V4 = '192.0.2.10';
const DIST = VRRP_MAIN.replace(/vrrp\/main\.js$/, '');

function script(l: VrrpLan, file: string): string {
  return l.file('rt.mjs', `
import { execFileSync } from 'node:child_process';
import { loadConfig } from ${JSON.stringify(`${DIST}src/config/index.js`)};
import { VrrpWorker } from ${JSON.stringify(`${DIST}vrrp/worker.js`)};
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const chrt = (tid) => execFileSync('chrt', ['-p', String(tid)], { encoding: 'utf8' });
const logs = [];
const c = await loadConfig(${JSON.stringify(file)});
if (!c.ok) { out({ errors: c.errors }); process.exit(1); }
const w = await VrrpWorker.start(c.config, { log: (line) => logs.push(line) });
while (w.instances.get('vi_1')?.state !== 'master') await new Promise((r) => setTimeout(r, 20));
out({ started: true, tid: w.threadId, pid: process.pid, worker: chrt(w.threadId), main: chrt(process.pid), addrs: execFileSync('ip', ['-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }), logs });
const next = (await loadConfig(${JSON.stringify(file)})).config;
delete next.global.vrrp_realtime_priority;
await w.reload(next);
out({ reloaded: chrt(w.threadId), logs });
await w.stop();
out({ stopped: true });
`);
}

function run(l: VrrpLan, prefix: string[]) {
  const file = l.file('rt.yaml', configYaml([instanceYaml({ name: 'vi_1', vrid: 1, priority: 200, vips: [`${V4}/24`] })],
    'global:\n  vrrp_realtime_priority: 20\n'));
  const p = l.spawn('a', [...prefix, process.execPath, script(l, file)]);
  return {
    p,
    async result() {
      const code = await p.exited;
      const lines = p.lines.filter((x) => x.startsWith('{')).map((x) => JSON.parse(x) as Record<string, unknown>);
      assert.equal(code, 0, p.lines.join('\n'));
      return (k: string) => lines.find((x) => k in x)!;
    },
  };
}

test('vrrp_realtime_priority 20: the worker thread runs SCHED_FIFO 20, the main thread SCHED_OTHER; a reload without it goes back', { skip, timeout: 30_000 }, async (t) => {
  const l = new VrrpLan(['a']);
  t.after(() => l.stop());
  const get = await run(l, []).result();
  const s = get('started');
  assert.notEqual(s.tid, s.pid);
  assert.match(s.worker as string, /policy: SCHED_FIFO/);
  assert.match(s.worker as string, /priority: 20/);
  assert.match(s.main as string, /policy: SCHED_OTHER/);
  assert.ok((s.logs as string[]).includes('vrrp thread: SCHED_FIFO priority 20'), String(s.logs));
  assert.match(get('reloaded').reloaded as string, /policy: SCHED_OTHER/);
  assert.ok(get('stopped'));
});

test('without CAP_SYS_NICE: a warning, and VRRP runs on at SCHED_OTHER (master, VIP on the link)', { skip, timeout: 30_000 }, async (t) => {
  const l = new VrrpLan(['a']);
  t.after(() => l.stop());
  const r = run(l, ['setpriv', '--inh-caps=-sys_nice', '--bounding-set=-sys_nice']);
  const get = await r.result();
  const s = get('started');
  assert.match(s.worker as string, /policy: SCHED_OTHER/);
  const warning = (s.logs as string[]).find((x) => x.startsWith('warning: vrrp thread'));
  assert.match(warning ?? '', /SCHED_FIFO priority 20 refused \(pthread_setschedparam EPERM/);
  assert.match(s.addrs as string, /inet 192\.0\.2\.10\/24/, 'the master holds the VIP (ip addr)');
  assert.ok(get('stopped'));
});
