// setThreadScheduler against the real kernel: a worker thread raises itself to SCHED_FIFO 10 and the
// result is judged by chrt(1) and /proc/<pid>/task/<tid>/stat, while the main thread stays SCHED_OTHER
// (the policy is per thread on Linux). Without CAP_SYS_NICE (dropped with setpriv) the kernel refuses
// with EPERM, and the error says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { setThreadScheduler, threadId, threadScheduler } from '../../src/native/sched.js';

const schedModule = new URL('../../src/native/sched.js', import.meta.url).href;

/** Runs `body` (ES module source, with setThreadScheduler/threadId in scope) in a worker thread that
 *  posts its result and then waits to be terminated, so its thread is still alive to be inspected. */
function inWorker(body: string): Promise<{ worker: Worker; result: { tid: number; error?: { code: string; errno: number; syscall: string; message: string } } }> {
  const src = `import { parentPort } from 'node:worker_threads';
    const { setThreadScheduler, threadId } = await import(${JSON.stringify(schedModule)});
    let error;
    try { ${body} } catch (e) { error = { code: e.code, errno: e.errno, syscall: e.syscall, message: e.message }; }
    parentPort.postMessage({ tid: threadId(), error });
    setInterval(() => {}, 1000);`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(src)}`));
  return new Promise((resolve, reject) => {
    worker.once('message', (result) => resolve({ worker, result }));
    worker.once('error', reject);
  });
}

test('a worker at SCHED_FIFO 10: chrt and /proc see FIFO on its thread, the main thread stays SCHED_OTHER', async () => {
  const { worker, result } = await inWorker(`setThreadScheduler('fifo', 10);`);
  try {
    assert.equal(result.error, undefined);
    assert.notEqual(result.tid, process.pid);
    const chrt = execFileSync('chrt', ['-p', String(result.tid)], { encoding: 'utf8' });
    assert.match(chrt, /scheduling policy: SCHED_FIFO/);
    assert.match(chrt, /scheduling priority: 10/);
    assert.deepEqual(threadScheduler(result.tid), { policy: 'fifo', priority: 10 });
    assert.match(execFileSync('chrt', ['-p', String(process.pid)], { encoding: 'utf8' }), /SCHED_OTHER/);
    assert.deepEqual(threadScheduler(threadId()), { policy: 'other', priority: 0 });
    assert.equal(threadId(), process.pid);
  } finally {
    await worker.terminate();
  }
});

test('rr and back to other on the calling thread', async () => {
  const { worker, result } = await inWorker(`setThreadScheduler('rr', 5); setThreadScheduler('other', 0);`);
  try {
    assert.equal(result.error, undefined);
    assert.match(execFileSync('chrt', ['-p', String(result.tid)], { encoding: 'utf8' }), /SCHED_OTHER/);
  } finally {
    await worker.terminate();
  }
  const rr = await inWorker(`setThreadScheduler('rr', 5);`);
  try {
    assert.deepEqual(threadScheduler(rr.result.tid), { policy: 'rr', priority: 5 });
  } finally {
    await rr.worker.terminate();
  }
});

test('out-of-range priorities and unknown policies fail with EINVAL, nothing changes', () => {
  for (const [policy, prio] of [['fifo', 0], ['fifo', 100], ['other', 3], ['deadline', 1]] as const) {
    assert.throws(() => setThreadScheduler(policy as 'fifo', prio), (e: NodeJS.ErrnoException) =>
      e.code === 'EINVAL' && e.errno === 22 && e.syscall === 'pthread_setschedparam');
  }
  assert.deepEqual(threadScheduler(threadId()), { policy: 'other', priority: 0 });
});

test('without CAP_SYS_NICE the kernel refuses: EPERM with errno and syscall', (t) => {
  const script = fileURLToPath(new URL('../../src/native/sched.js', import.meta.url));
  const probe = `import(${JSON.stringify(script)}).then((m) => { try { m.setThreadScheduler('fifo', 10); console.log('ok'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall })); } });`;
  const r = spawnSync('setpriv', ['--inh-caps=-sys_nice', '--bounding-set=-sys_nice', process.execPath, '-e', probe], { encoding: 'utf8' });
  if (r.error) { t.skip(`setpriv: ${r.error.message}`); return; }
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { code: 'EPERM', errno: 1, syscall: 'pthread_setschedparam' });
});
