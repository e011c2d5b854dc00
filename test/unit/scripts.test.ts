import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, lookupUser, parsePasswd, runProgram } from '../../src/scripts/run.js';

const dir = mkdtempSync(join(tmpdir(), 'lvsd-scripts-'));
chmodSync(dir, 0o755); // the unprivileged script user must reach the scripts
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}
// A killed process whose parent died too stays a zombie until init reaps it: that counts as gone.
const alive = (pid: number) => {
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
};

test('exit code, bounded output, no shell between lvsd and the argv', async () => {
  const r = await runProgram({ argv: [script('echo', 'echo "$1"; head -c 10000 /dev/zero | tr "\\0" a; exit 7'), '$(id); *'], timeoutMs: 5000, maxOutput: 20 });
  assert.equal(r.code, 7);
  assert.equal(r.timedOut, false);
  assert.equal(r.output, '$(id); *\naaaaaaaaaaa…');
});

test('a hung program is killed at its timeout together with everything it started', async () => {
  const pidFile = join(dir, 'grandchild.pid');
  const t0 = performance.now();
  const r = await runProgram({ argv: [script('hang', `sleep 60 & echo $! > ${pidFile}; wait`)], timeoutMs: 300 });
  const took = performance.now() - t0;
  assert.equal(r.timedOut, true);
  assert.equal(r.code, null);
  assert.ok(took < 3000, `took ${took} ms`);
  assert.ok(existsSync(pidFile));
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(alive(grandchild), false, 'the process group was killed, not just the script');
});

test('a program that cannot start is a typed result, not a throw', async () => {
  const r = await runProgram({ argv: ['/nonexistent/prog'], timeoutMs: 1000 });
  assert.equal(r.startError, 'ENOENT');
  assert.equal(r.code, null);
});

test('as root, the program runs as the configured user; passwd lookups', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const nobody = lookupUser('nobody');
  assert.ok(nobody);
  const r = await runProgram({ argv: [script('id', 'id -u; id -g')], timeoutMs: 5000, user: nobody });
  assert.equal(r.output, `${nobody.uid}\n${nobody.gid}\n`);
  assert.deepEqual(parsePasswd('a:x:1:2::/:/bin/sh\nb:x:3:4::/:/usr/sbin/nologin\n', 'b'), { uid: 3, gid: 4 });
  assert.equal(lookupUser('no-such-user-lvsd'), null);
});

test('as root, a script user that does not exist refuses to run instead of running as root', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const marker = join(dir, 'ran-as-root');
  const r = await runProgram({ argv: [script('touch', `touch ${marker}`)], timeoutMs: 2000, user: lookupUser('no-such-user-lvsd') });
  assert.match(r.startError ?? '', /script user does not exist/);
  assert.equal(existsSync(marker), false);
});

test('describeFailure words each way a program fails; exit 0 is no failure', () => {
  const base = { signal: null, timedOut: false, output: '', pid: 1 } as const;
  assert.equal(describeFailure({ ...base, code: 0 }, 30_000), null);
  assert.equal(describeFailure({ ...base, code: 3 }, 30_000), 'exit 3');
  assert.equal(describeFailure({ ...base, code: null, timedOut: true }, 30_000), 'timed out after 30s, killed');
  assert.equal(describeFailure({ ...base, code: null, signal: 'SIGSEGV' }, 30_000), 'killed by SIGSEGV');
  assert.equal(describeFailure({ ...base, code: null, startError: 'ENOENT' }, 30_000), 'cannot run: ENOENT');
});
