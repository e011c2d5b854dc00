// Tracking on a real kernel (issue #17): a sync group of two instances on directors a and b (host network
// namespaces on one bridge, lvsd's VRRP entry, v3 at 100 ms); the group tracks a process on the host
// (a copy of sleep under a name of its own, so nothing else on the machine matches), vi_1 tracks two files.
// Judges: the kernel's addresses (ip addr), lvsd's own transition lines with their timestamps, and the
// process's death as this test caused it (SIGKILL). One setup for every case.
//
// lvsd runs inside a network namespace, where the kernel has no process connector (ECONNREFUSED on the
// subscription); it opens that one socket in LVSD_PROC_CONNECTOR_NETNS, here this test's own (initial)
// network namespace, as production would use /proc/1/ns/net.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, chmodSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { VrrpLan, canRunNetns, configYaml, instanceYaml, sleep, type Proc } from './vrrp-netns.js';

const skip = !canRunNetns() && 'needs root and ip netns';
const V1 = '192.0.2.10', V2 = '192.0.2.20';
const STATE = (name: string, to: string) => new RegExp(`${name}: \\w+ -> ${to}`);
/** The ISO timestamp lvsd puts before every line, in epoch ms. */
const stamp = (line: string) => Date.parse(line.slice(0, 24));

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await sleep(10);
  }
}

test('track_process on a sync group, track_file on an instance: kill -> FAULT within 100 ms, back when restarted; files 0/1/N', { skip, timeout: 120_000 }, async (t) => {
  const l = new VrrpLan(['a', 'b'], 'lvk');
  t.after(() => l.stop());
  const name = `trk${process.pid % 100000}`;
  const exe = join(l.dir, name);
  copyFileSync('/bin/sleep', exe);
  chmodSync(exe, 0o755);
  const st = join(l.dir, 'st'), prio = join(l.dir, 'prio');
  writeFileSync(st, '0\n');
  writeFileSync(prio, '0\n');
  process.env.LVSD_PROC_CONNECTOR_NETNS = `/proc/${process.pid}/ns/net`;
  const kids: ChildProcess[] = [];
  const startTracked = () => { const c = spawn(exe, ['600'], { stdio: 'ignore' }); kids.push(c); return c; };
  t.after(() => { for (const k of kids) k.kill('SIGKILL'); });

  const yaml = (prioA: number, withTracking: boolean) => configYaml([
    instanceYaml({ name: 'vi_1', vrid: 1, priority: prioA, vips: [`${V1}/24`],
      extra: withTracking ? '    track:\n      files: [{name: st}, {name: prio, weight: -60}]' : '' }),
    instanceYaml({ name: 'vi_2', vrid: 2, priority: prioA, vips: [`${V2}/24`] }),
  ], [
    'vrrp_sync_groups:',
    '  - name: g',
    '    instances: [vi_1, vi_2]',
    ...(withTracking ? ['    track:', '      processes: [{name: svc}]'] : []),
    ...(withTracking ? [
      'track_processes:',
      `  - {name: svc, process: ${name}}`,
      'track_files:',
      `  - {name: st, path: ${st}, interval: 1s}`,
      `  - {name: prio, path: ${prio}, interval: 1s}`,
    ] : []),
  ].join('\n') + '\n');

  let proc1 = startTracked();
  const t0 = Date.now();
  const a: Proc = l.lvsd('a', yaml(200, true));
  await a.waitFor(/following the kernel's process events \(connector \(\/proc\/\d+\/ns\/net\)\)/, 30_000);
  await a.waitFor(STATE('vi_1', 'master'), 5000);
  await a.waitFor(STATE('vi_2', 'master'), 5000);
  const b: Proc = l.lvsd('b', yaml(100, false));
  await b.waitFor(STATE('vi_1', 'backup'), 5000);
  await b.waitFor(STATE('vi_2', 'backup'), 5000);
  await until(() => l.hasVip('a', V1) && l.hasVip('a', V2), 2000, 'VIPs on a');
  t.diagnostic(`setup ${Date.now() - t0} ms`);

  // 1. The tracked process dies: both members of the group go to FAULT at once, b takes both VIPs.
  let mark = a.lines.length;
  const killedAt = Date.now();
  proc1.kill('SIGKILL');
  const f1 = await a.waitForNext(STATE('vi_1', 'fault'), 3000, mark);
  const f2 = await a.waitForNext(STATE('vi_2', 'fault'), 3000, mark);
  const down = a.lines.slice(mark).find((x) => /track process svc: down \(0 running/.test(x));
  assert.ok(down, a.lines.slice(mark).join('\n'));
  const took = stamp(f1) - killedAt;
  t.diagnostic(`kill -> exit event seen ${stamp(down) - killedAt} ms, -> vi_1 FAULT ${took} ms, vi_2 FAULT ${stamp(f2) - killedAt} ms`);
  assert.ok(took < 100, `kill -> FAULT took ${took} ms`);
  await b.waitForNext(STATE('vi_1', 'master'), 3000);
  await until(() => l.hasVip('b', V1) && l.hasVip('b', V2) && !l.hasVip('a', V1) && !l.hasVip('a', V2), 2000, 'VIPs moved to b');

  // 2. Started again (exec of the same name): a leaves FAULT and preempts with 200.
  mark = a.lines.length;
  const startedAt = Date.now();
  proc1 = startTracked();
  const up = await a.waitForNext(/track process svc: up \(1 running/, 3000, mark);
  t.diagnostic(`exec -> up ${stamp(up) - startedAt} ms`);
  await a.waitForNext(STATE('vi_1', 'master'), 5000, mark);
  await until(() => l.hasVip('a', V1) && l.hasVip('a', V2), 2000, 'VIPs back on a');

  // 3. Status file: 1 is FAULT, 0 clears it (inotify on the directory; a rename over the file as tools do it).
  mark = a.lines.length;
  let wroteAt = Date.now();
  writeFileSync(`${st}.tmp`, '1\n');
  renameSync(`${st}.tmp`, st);
  const ff = await a.waitForNext(STATE('vi_1', 'fault'), 3000, mark);
  t.diagnostic(`st=1 -> FAULT ${stamp(ff) - wroteAt} ms`);
  assert.ok(stamp(ff) - wroteAt < 900, 'inotify, not the 1 s re-read');
  mark = a.lines.length;
  writeFileSync(st, '0\n');
  await a.waitForNext(STATE('vi_1', 'master'), 5000, mark);

  // 4. Weighted file: 1 x -60 -> 140, still above b's 100; 2 x -60 -> 80, b preempts; 0 -> a back.
  mark = a.lines.length;
  writeFileSync(prio, '1\n');
  await a.waitForNext(/track file prio: value 1/, 3000, mark);
  await sleep(500);
  assert.ok(l.hasVip('a', V1), 'priority 140 still master');
  mark = a.lines.length;
  wroteAt = Date.now();
  writeFileSync(prio, '2\n');
  const lost = await a.waitForNext(STATE('vi_1', 'backup'), 3000, mark);
  t.diagnostic(`prio=2 -> a BACKUP ${stamp(lost) - wroteAt} ms`);
  await until(() => l.hasVip('b', V1), 2000, 'b holds V1 at a priority 80');
  mark = a.lines.length;
  writeFileSync(prio, '0\n');
  await a.waitForNext(STATE('vi_1', 'master'), 5000, mark);
  await until(() => l.hasVip('a', V1), 2000, 'V1 back on a');

  // 5. Two copies then one: the group only counts processes with that name; a second copy and its exit change nothing.
  mark = a.lines.length;
  const extra = startTracked();
  await sleep(200);
  extra.kill('SIGKILL');
  await sleep(300);
  assert.ok(!a.lines.slice(mark).some((x) => /-> fault/.test(x)), a.lines.slice(mark).join('\n'));
  t.diagnostic(`total ${Date.now() - t0} ms`);
});
