// Files lvsd is pointed at are read only if regular and small enough (src/fs/read-bounded.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBoundedFile } from '../../src/fs/read-bounded.js';
import { readState } from '../../src/daemon/state-file.js';

const dir = mkdtempSync(join(tmpdir(), 'lvsd-bounded-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a small regular file is read whole', async () => {
  writeFileSync(join(dir, 'tok'), 'secret\n');
  assert.equal((await readBoundedFile(join(dir, 'tok'), 4096)).toString(), 'secret\n');
});

test('/dev/zero, a FIFO without a writer, a directory and a file over the cap are refused at once', async () => {
  await assert.rejects(readBoundedFile('/dev/zero', 4096), /not a regular file/);
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(readBoundedFile(fifo, 4096), /not a regular file/);
  await assert.rejects(readBoundedFile(dir, 4096), /not a regular file|EISDIR/);
  writeFileSync(join(dir, 'big'), Buffer.alloc(5000));
  await assert.rejects(readBoundedFile(join(dir, 'big'), 4096), /5000 bytes, more than the 4096 allowed/);
});

test('a state file that is not a regular file is a reason to start empty, not a hang', async () => {
  const r = await readState('/dev/zero');
  assert.equal(r.ok, false);
  assert.match((r as { reason: string }).reason, /not a regular file/);
});
