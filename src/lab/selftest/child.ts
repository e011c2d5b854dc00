// A test process that dies badly on purpose, for lab-cleanup.test.ts: it builds a lab and then
// throws in a node:test test, exits without stopping it, or waits for a signal. The parent checks
// that nothing of the lab survives. Usage: node child.js MODE BACKEND
//   throw     a test that throws midway (its t.after stops the lab, as tests are meant to)
//   forget    a node:test test that never stops its lab (run under node --test: must not hang)
//   abandon   the lab is never stopped; the process just exits (the exit hook must clean up)
//   wait      prints "ready" and waits to be signalled (SIGINT, SIGTERM or SIGKILL)
import { test } from 'node:test';
import { Lab } from '../lab.js';
import type { Backend } from '../kernel.js';

// Arguments, or the environment when run by `node --test` (which passes no arguments to files).
const [mode, backend] = (process.argv.length > 2 ? process.argv.slice(2) : [process.env.LAB_CHILD_MODE, process.env.LAB_CHILD_BACKEND]) as [string, Backend];

async function build(): Promise<Lab> {
  const lab = await Lab.start('single-director', { backend });
  await lab.host('rs1').spawn(['sleep', '600']);
  process.stderr.write(`child ${process.pid} ready ${lab.backend} ${lab.dir}\n`);
  return lab;
}

if (mode === 'throw') {
  test('throws midway', async (t) => {
    const lab = await build();
    t.after(() => lab.stop());
    throw new Error('midway');
  });
} else if (mode === 'forget') {
  // A test that never stops its lab, nginx still running: the file must still finish.
  test('forgets to stop its lab', async () => { await build(); });
} else if (mode === 'abandon') {
  await build();
  process.exit(3);
} else if (mode === 'wait') {
  await build();
  setInterval(() => {}, 1000);
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
