import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, chownSync, mkdirSync, rmSync, existsSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, lookupUser, parsePasswd, runProgram, scriptSecurityProblem } from '../../src/scripts/run.js';

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

// Script security: a program root runs must not be changeable by anyone but root, through the program
// itself or any directory above it (keepalived's enable_script_security, always on in lvsd).
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;
function secDir(name: string, mode = 0o755): string {
  const d = join(dir, name);
  mkdirSync(d);
  chmodSync(d, mode);
  return d;
}
function marker(d: string, name: string, mode = 0o755): { program: string; ran: string } {
  const ran = join(d, `${name}.ran`);
  const program = join(d, name);
  writeFileSync(program, `#!/bin/sh\ntouch ${ran}\n`);
  chmodSync(program, mode);
  return { program, ran };
}
async function refused(program: string, ran: string, why: RegExp): Promise<void> {
  const r = await runProgram({ argv: [program], timeoutMs: 5000 });
  assert.match(r.startError ?? '', /^refused by script security: /);
  assert.match(r.startError!, why);
  assert.match(describeFailure(r, 5000)!, /^cannot run: refused by script security/);
  assert.equal(existsSync(ran), false, 'the program did not run');
}
async function runs(program: string, ran: string): Promise<void> {
  const r = await runProgram({ argv: [program], timeoutMs: 5000 });
  assert.equal(r.startError, undefined);
  assert.equal(r.code, 0);
  assert.equal(existsSync(ran), true);
}

test('script security: a root-owned 0755 program in root-owned 0755 directories runs', { skip: !asRoot && 'needs root' }, async () => {
  const { program, ran } = marker(secDir('sec-ok'), 'ok');
  assert.equal(scriptSecurityProblem(program), null);
  await runs(program, ran);
  assert.equal(scriptSecurityProblem('/bin/sh'), null, '/bin is a root-owned symlink to usr/bin on Debian');
});

test('script security: a program owned by a non-root user is refused (its owner can chmod it)', { skip: !asRoot && 'needs root' }, async () => {
  const { program, ran } = marker(secDir('sec-owner'), 'owned', 0o700);
  chownSync(program, NOBODY, 0);
  await refused(program, ran, new RegExp(`${program} is owned by uid ${NOBODY}`));
});

test('script security: group-writable is refused for a non-root group, allowed for group root', { skip: !asRoot && 'needs root' }, async () => {
  const d = secDir('sec-group');
  const g = marker(d, 'groupw', 0o775);
  chownSync(g.program, 0, NOBODY);
  await refused(g.program, g.ran, new RegExp(`is writable by group ${NOBODY}`));
  const r = marker(d, 'rootgroupw', 0o775);
  chownSync(r.program, 0, 0);
  await runs(r.program, r.ran);
});

test('script security: a world-writable program is refused', { skip: !asRoot && 'needs root' }, async () => {
  const { program, ran } = marker(secDir('sec-world'), 'worldw', 0o777);
  await refused(program, ran, /is writable by everyone/);
});

test('script security: a parent directory writable by others is refused (the program could be replaced)', { skip: !asRoot && 'needs root' }, async () => {
  const open = secDir('sec-opendir', 0o777);
  const inner = join(open, 'inner');
  mkdirSync(inner, 0o755);
  const a = marker(inner, 'deep');
  await refused(a.program, a.ran, new RegExp(`${open} is writable by everyone`));
  const owned = secDir('sec-userdir');
  chownSync(owned, NOBODY, NOBODY);
  const b = marker(owned, 'inuserdir');
  await refused(b.program, b.ran, new RegExp(`${owned} is owned by uid ${NOBODY}`));
  const grp = secDir('sec-groupdir', 0o775);
  chownSync(grp, 0, NOBODY);
  const c = marker(grp, 'ingroupdir');
  await refused(c.program, c.ran, new RegExp(`${grp} is writable by group ${NOBODY}`));
});

test('script security: a sticky world-writable directory above is allowed (like /tmp: others cannot replace root entries)', { skip: !asRoot && 'needs root' }, async () => {
  const sticky = secDir('sec-sticky', 0o1777);
  const inner = join(sticky, 'inner');
  mkdirSync(inner, 0o755);
  const { program, ran } = marker(inner, 'understicky');
  await runs(program, ran);
});

test('script security: symbolic links are judged on both the path as written and the real path', { skip: !asRoot && 'needs root' }, async () => {
  const safe = secDir('sec-links');
  const bad = secDir('sec-badtarget', 0o777);
  const target = marker(bad, 'target');
  const link = join(safe, 'link');
  symlinkSync(target.program, link);
  await refused(link, target.ran, new RegExp(`${bad} is writable by everyone`));
  const good = marker(safe, 'goodtarget');
  const link2 = join(safe, 'link2');
  symlinkSync(good.program, link2);
  await runs(link2, good.ran);
});

test('script security: a relative program is refused; a missing one is judged on the directories that exist', { skip: !asRoot && 'needs root' }, async () => {
  assert.equal(scriptSecurityProblem('bin/true'), 'bin/true is not an absolute path');
  assert.equal(scriptSecurityProblem(join(dir, 'does-not-exist')), null, 'spawn reports ENOENT');
  const open = secDir('sec-missing', 0o777);
  const r = await runProgram({ argv: [join(open, 'not-yet')], timeoutMs: 1000 });
  assert.match(r.startError ?? '', new RegExp(`refused by script security: ${open} is writable by everyone`), 'anyone could create it');
});
