// Notify commands in transition order (vrrp/notify-queue.ts), keepalived's MASTER_PRIORITY /
// BACKUP_PRIORITY words and notify_master_rx_lower_pri (vrrp/notify.ts), and a hung command killed
// with its process group (src/scripts/run.ts runNotifyAwaited).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotifyQueues, VrrpNotifier, type NotifyJob } from '../../vrrp/notify-queue.js';
import { priorityChangeCommands, rxLowerPriCommands, rxLowerPriDue } from '../../vrrp/notify.js';
import { runNotifyAwaited } from '../../src/scripts/run.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('one queue runs its commands one at a time, in the order pushed, each awaited', async () => {
  const log: string[] = [];
  let running = 0, most = 0;
  const q = new NotifyQueues({
    log: () => {},
    run: async (job) => { running++; most = Math.max(most, running); log.push(`start ${job.argv[1]}`); await sleep(job.argv[1] === 'MASTER' ? 30 : 5); log.push(`end ${job.argv[1]}`); running--; },
  });
  // A burst: faster than the script runs.
  for (const s of ['BACKUP', 'MASTER', 'BACKUP', 'FAULT', 'BACKUP', 'MASTER']) q.push('vi_1', { argv: ['/n', s], timeoutMs: 1000 });
  assert.equal(await q.idle(5000), true);
  assert.equal(most, 1);
  assert.deepEqual(log, ['BACKUP', 'MASTER', 'BACKUP', 'FAULT', 'BACKUP', 'MASTER'].flatMap((s) => [`start ${s}`, `end ${s}`]));
  assert.equal(q.ran, 6);
});

test('queues are independent: a slow instance does not hold another (nor its group)', async () => {
  const done: string[] = [];
  const q = new NotifyQueues({ log: () => {}, run: async (job, name) => { await sleep(name === 'slow' ? 200 : 1); done.push(`${name}:${job.argv[0]}`); } });
  q.push('slow', { argv: ['a'], timeoutMs: 1000 });
  q.push('fast', { argv: ['b'], timeoutMs: 1000 });
  q.push('group:g', { argv: ['c'], timeoutMs: 1000 });
  await sleep(50);
  assert.deepEqual(done.sort(), ['fast:b', 'group:g:c']);
  await q.idle(1000);
  assert.equal(done.length, 3);
});

test('bounded: beyond maxPending waiting commands the oldest waiting one is dropped, logged and counted', async () => {
  const ran: string[] = [];
  const lines: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const q = new NotifyQueues({ maxPending: 3, log: (l) => lines.push(l), run: async (job: NotifyJob) => { if (job.argv[0] === 's0') await gate; ran.push(job.argv[0]!); } });
  for (let i = 0; i < 7; i++) q.push('vi_1', { argv: [`s${i}`], timeoutMs: 1000 });
  // s0 runs (held); s1..s6 wanted to wait, 3 may: s4, s5, s6 are kept (the newest describe the state now).
  assert.equal(q.dropped, 3);
  assert.equal(q.pending, 4);
  assert.match(lines[0]!, /^notify vi_1: 3 commands already waiting, dropped the oldest \(s1\); 1 dropped so far$/);
  release();
  await q.idle(1000);
  assert.deepEqual(ran, ['s0', 's4', 's5', 's6']);
});

test('idle(ms) gives up after ms while a command still runs', async () => {
  const q = new NotifyQueues({ log: () => {}, run: async () => { await sleep(300); } });
  q.push('x', { argv: ['a'], timeoutMs: 1000 });
  assert.equal(await q.idle(20), false);
  assert.equal(await q.idle(1000), true);
});

// The words keepalived writes to its notify FIFO (keepalived.conf(5), notify_fifo: "MASTER_RX_LOWER_PRI
// instead of state ... and also MASTER_PRIORITY and BACKUP_PRIORITY if the priority changes and
// notify_priority_changes is configured"), as lines 'INSTANCE "VI_1" MASTER_PRIORITY 90'.
test('priority_changes: the any command gets INSTANCE NAME MASTER_PRIORITY|BACKUP_PRIORITY PRIORITY, only in MASTER/BACKUP', () => {
  const cfg = { any: ['/bin/n', '-x'], priority_changes: true };
  assert.deepEqual(priorityChangeCommands(cfg, 'VI_1', 'master', 90), [['/bin/n', '-x', 'INSTANCE', 'VI_1', 'MASTER_PRIORITY', '90']]);
  assert.deepEqual(priorityChangeCommands(cfg, 'VI_1', 'backup', 110), [['/bin/n', '-x', 'INSTANCE', 'VI_1', 'BACKUP_PRIORITY', '110']]);
  assert.deepEqual(priorityChangeCommands(cfg, 'VI_1', 'fault', 110), []);
  assert.deepEqual(priorityChangeCommands({ any: ['/bin/n'] }, 'VI_1', 'master', 90), [], 'off unless asked for, as keepalived');
  assert.deepEqual(priorityChangeCommands({ master: ['/bin/m'], priority_changes: true }, 'VI_1', 'master', 90), []);
});

test('master_rx_lower_pri: the configured argv as is (keepalived appends nothing), at most once a second', () => {
  assert.deepEqual(rxLowerPriCommands({ master_rx_lower_pri: ['/usr/local/bin/reclaim', 'eni-1'] }), [['/usr/local/bin/reclaim', 'eni-1']]);
  assert.deepEqual(rxLowerPriCommands({ any: ['/x'] }), []);
  assert.equal(rxLowerPriDue(undefined, 5), true);
  assert.equal(rxLowerPriDue(1000, 1999), false);
  assert.equal(rxLowerPriDue(1000, 2000), true);
  const jobs: string[][] = [];
  const n = new VrrpNotifier({ log: () => {}, run: async (j) => { jobs.push(j.argv); } });
  const cfg = { master_rx_lower_pri: ['/r'], timeout: 500 };
  assert.equal(n.rxLowerPri('VI_1', cfg, 10_000), true);
  assert.equal(n.rxLowerPri('VI_1', cfg, 10_400), false);
  assert.equal(n.rxLowerPri('VI_2', cfg, 10_400), true, 'per instance');
  assert.equal(n.rxLowerPri('VI_1', cfg, 11_000), true);
  assert.equal(n.rxLowerPri('VI_3', { any: ['/a'] }, 0), false, 'nothing configured');
});

test('VrrpNotifier: state and group commands go to their own queues with the configured timeout', async () => {
  const jobs: [string, NotifyJob][] = [];
  const n = new VrrpNotifier({ log: () => {}, run: async (j, name) => { jobs.push([name, j]); } });
  n.state('VI_1', { master: ['/m'], any: ['/a'], timeout: 2000 }, 'master', 100);
  n.group('G', { any: ['/g'] }, 'master');
  await n.queues.idle(1000);
  jobs.sort((a, b) => (a[0] === b[0] ? 0 : a[0] < b[0] ? -1 : 1)); // one queue each: only the order within one counts
  assert.deepEqual(jobs, [
    ['VI_1', { argv: ['/m'], timeoutMs: 2000 }],
    ['VI_1', { argv: ['/a', 'INSTANCE', 'VI_1', 'MASTER', '100'], timeoutMs: 2000 }],
    ['group:G', { argv: ['/g', 'GROUP', 'G', 'MASTER', '0'], timeoutMs: 30_000 }],
  ]);
});

test('a hung notify command is killed with its whole process group at the timeout, and the kill is reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-notify-'));
  const script = join(dir, 'hang.sh');
  const pids = join(dir, 'pids');
  // The script and a child it started both hang; the child must die too (process group kill).
  writeFileSync(script, `#!/bin/sh\nsleep 30 &\necho $$ $! > ${pids}\nwait\n`);
  chmodSync(script, 0o755);
  const why: string[] = [];
  const t0 = Date.now();
  const r = await runNotifyAwaited([script], { uid: process.getuid!(), gid: process.getgid!() }, 300, (w) => why.push(w));
  const took = Date.now() - t0;
  assert.equal(r.timedOut, true);
  assert.ok(took >= 300 && took < 3000, `took ${took} ms`);
  assert.deepEqual(why, ['timed out after 0.3s, killed']);
  const [sh, child] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
  await sleep(50);
  for (const pid of [sh!, child!]) {
    let alive = true;
    try { process.kill(pid, 0); } catch { alive = false; }
    // A zombie of a killed child is reaped by init; /proc tells a live one from a zombie.
    if (alive) { try { alive = !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')); } catch { alive = false; } }
    assert.equal(alive, false, `pid ${pid} still running`);
  }
});
