// The lab leaves nothing behind: no namespaces, links, processes (UML, nginx, agent), mounts or
// temporary files, whether it is stopped normally or its test process throws, exits without
// stopping it, or is interrupted. Judged by before/after snapshots of the machine; because other
// work may run on this machine at the same time, a leak is what carries the lab's owner tag (every
// name the lab creates includes the creating process's pid).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../src/lab/lab.js';
import { isRoot, LabKernelError, type Backend } from '../../src/lab/kernel.js';
import { bootUml } from '../../src/lab/uml.js';
import { sweepStale } from '../../src/lab/cleanup.js';
import { describeDiff, diffSnapshots, isEmpty, leaks, takeSnapshot, type Snapshot } from '../../src/lab/snapshot.js';

const CHILD = fileURLToPath(new URL('../../src/lab/selftest/child.js', import.meta.url));

function assertNoLeaks(before: Snapshot, pid: number): void {
  const diff = diffSnapshots(before, takeSnapshot());
  const mine = leaks(diff, pid);
  assert.ok(isEmpty(mine), `left behind by the lab of pid ${pid}:\n${describeDiff(mine)}\n(all changes meanwhile:\n${describeDiff(diff)})`);
}

async function settle(before: Snapshot, pid: number, ms = 15_000): Promise<void> {
  // A UML kernel whose test process vanished powers itself off; give it the time to.
  const deadline = Date.now() + ms;
  for (;;) {
    try { assertNoLeaks(before, pid); return; } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function withoutTestContext(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

async function processesGone(pid: number, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = leaks(diffSnapshots({ netns: [], links: [], processes: [], mounts: [], tempEntries: [] }, takeSnapshot()), pid).processes;
    if (left.length === 0) return;
    if (Date.now() > deadline) assert.fail(`processes of the lab of pid ${pid} still run:\n${left.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function runChild(mode: string, backend: Backend, signal?: NodeJS.Signals, underTestRunner = false): Promise<{ pid: number; code: number | null; signal: NodeJS.Signals | null; stderr: string; ready: boolean }> {
  return new Promise((resolve, reject) => {
    const child = underTestRunner
      // A runner of its own: without NODE_TEST_CONTEXT (inherited from ours) it reports in plain TAP.
      ? spawn(process.execPath, ['--test', '--test-reporter=tap', CHILD], { stdio: ['ignore', 'pipe', 'pipe'], env: withoutTestContext({ LAB_CHILD_MODE: mode, LAB_CHILD_BACKEND: backend }) })
      : spawn(process.execPath, [CHILD, mode, backend], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let ready = false;
    // The child reports on stderr; a test runner turns that into "# ..." lines on its stdout.
    const onOutput = (b: Buffer): void => {
      stderr += b.toString();
      if (!ready && /child \d+ ready/.test(stderr)) {
        ready = true;
        if (signal) child.kill(signal);
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child ${mode} did not finish; stderr:\n${stderr}`)); }, 90_000);
    // The lab's owner is the process that printed "child PID ready" (under node --test, a grandchild).
    // A test-runner child prints its whole report as it exits, and 'exit' can come before the last of
    // its output is read (seen under load: only 'TAP version 13', exit 0). 'close' alone could wait on
    // a leaked process holding the pipe (the SIGKILL case), so: exit, then the streams' end or 2 s.
    const ended = Promise.all([child.stdout, child.stderr].map((s) => new Promise<void>((r) => { if (s.readableEnded) r(); else s.once('close', () => r()); })));
    child.on('exit', (code, sig) => {
      void Promise.race([ended, new Promise((r) => setTimeout(r, 2000))]).then(() => {
        clearTimeout(timer);
        resolve({ pid: Number(/child (\d+) ready/.exec(stderr)?.[1] ?? child.pid), code, signal: sig, stderr, ready });
      });
    });
  });
}

const backends: { backend: Backend; skip: string | false }[] = [
  { backend: 'uml', skip: false },
  { backend: 'host', skip: isRoot() ? false : 'the host backend needs root' },
];

for (const { backend, skip } of backends) {
  describe(`lab clean-up (${backend} backend)`, { skip }, () => {
    test('stop() after use leaves nothing behind', async () => {
      const before = takeSnapshot();
      const lab = await Lab.start('single-director', { backend });
      await lab.host('rs2').spawn(['sleep', '600']);
      await lab.host('client').run(['curl', '-sS', 'http://10.0.1.13/']);
      const during = diffSnapshots(before, takeSnapshot());
      // The check can see a lab at all: while it runs, it shows up in the snapshot.
      assert.ok(!isEmpty(leaks(during, process.pid)), 'a running lab must be visible to the snapshot');
      await lab.stop();
      assertNoLeaks(before, process.pid);
    });

    test('await using disposes the lab', async () => {
      const before = takeSnapshot();
      {
        await using lab = await Lab.start('single-director', { backend, services: false });
        await lab.host('director').run(['true']);
      }
      assertNoLeaks(before, process.pid);
    });

    test('a kernel that dies under a test fails what waits on it, with a typed error, and leaves nothing', { skip: backend === 'uml' ? false : 'only a UML kernel can die' }, async () => {
      const before = takeSnapshot();
      const kernel = await bootUml();
      const waiting = kernel.exec({ argv: ['sleep', '30'] });
      process.kill(-kernel.pid!, 'SIGKILL'); // the kernel this test booted, by its process group
      await assert.rejects(waiting, (e: unknown) => e instanceof LabKernelError && /exited unexpectedly/.test(e.message));
      await assert.rejects(kernel.exec({ argv: ['true'] }), LabKernelError);
      await kernel.stop();
      await settle(before, process.pid);
    });

    const cases: { mode: string; signal?: NodeJS.Signals; runner?: boolean; expect: (r: { code: number | null; signal: NodeJS.Signals | null }) => boolean }[] = [
      { mode: 'throw', expect: (r) => r.code === 1 },
      // The file's tests pass and its process exits at once: the lab is stopped after the last test.
      { mode: 'forget', runner: true, expect: (r) => r.code === 0 },
      { mode: 'abandon', expect: (r) => r.code === 3 },
      { mode: 'wait', signal: 'SIGTERM', expect: (r) => r.code === 143 },
      // Same handler as SIGTERM; a UML boot costs seconds, so only the host backend repeats it.
      ...(backend === 'host' ? [{ mode: 'wait', signal: 'SIGINT' as const, expect: (r: { code: number | null }) => r.code === 130 }] : []),
      // Nothing runs in a SIGKILLed process: the UML kernel powers off when its channel closes, and
      // the next lab started on the machine sweeps what carries a dead process's tag.
      { mode: 'wait', signal: 'SIGKILL', expect: (r) => r.signal === 'SIGKILL' },
    ];
    // Each child is judged by its own pid's tag, so they can run at the same time (a UML boot is seconds).
    describe('test processes that die badly', { concurrency: true }, () => {
    for (const c of cases) {
      const what = c.mode === 'throw' ? 'throws midway' : c.mode === 'abandon' ? 'exits without stopping its lab'
        : c.mode === 'forget' ? 'never stops its lab (under node --test)' : `gets ${c.signal}`;
      test(`a test process that ${what} leaves nothing behind`, async () => {
        const before = takeSnapshot();
        const r = await runChild(c.mode, backend, c.signal, c.runner);
        assert.ok(r.ready, `the child never built its lab:\n${r.stderr}`);
        assert.ok(c.expect(r), `unexpected exit ${r.code ?? r.signal}:\n${r.stderr}`);
        if (c.signal === 'SIGKILL') {
          // Processes go on their own: a UML kernel powers off when its agent's channel closes,
          // host-backend processes get SIGKILL from the kernel (parent-death signal).
          await processesGone(r.pid, 15_000);
          // The next lab started on this machine does this; another child's boot may have done it already.
          sweepStale();
        }
        await settle(before, r.pid);
      });
    }
    });
  });
}
