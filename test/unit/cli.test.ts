import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const lvsd = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));
const example = fileURLToPath(new URL('../../../deploy/examples/pair-dr.yaml', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [lvsd, ...args], { encoding: 'utf8' });

test('lvsd --version prints the package version', () => {
  const r = run('--version');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^lvsd \d+\.\d+\.\d+\n$/);
});

test('lvsd --help and per-command help exit 0 on stdout', () => {
  for (const args of [['--help'], ['-h'], ['check', '--help'], ['run', '-h']]) {
    const r = run(...args);
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.stdout, /Usage/);
    assert.equal(r.stderr, '');
  }
  assert.match(run('check', '--help').stdout, /FILE:LINE:COL: KEY\.PATH: message/);
});

test('usage errors exit 2 with a message and help on stderr', () => {
  for (const args of [[], ['frobnicate'], ['check', '--bogus'], ['check', '-c'], ['check', 'extra-positional'], ['--nope'], ['run', '-q']]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^lvsd: .+\n\n/);
    assert.equal(r.stdout, '');
  }
});

test('lvsd check on a valid file prints the summary; -q prints nothing; --config works like -c', () => {
  const r = run('check', '-c', example);
  assert.deepEqual([r.stdout, r.status], ['ok: 1 vrrp instance, 2 virtual services, 6 real servers\n', 0]);
  const q = run('check', '-q', '-c', example);
  assert.deepEqual([q.stdout, q.status], ['', 0]);
  assert.equal(run('check', `--config=${example}`).status, 0);
});

test('lvsd check on an invalid file prints every error as FILE:LINE:COL: KEY.PATH and exits 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-cli-'));
  const file = join(dir, 'lvsd.yaml');
  writeFileSync(file, 'vrrp_instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    virtual_ips: [192.0.2.1/24]\n    advert_intervall: 1s\n    state: BACKUP\n');
  const r = run('check', '-c', file);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.split('\n'), [
    `${file}:6:5: vrrp_instances[0].advert_intervall: unknown key; did you mean 'advert_interval'?`,
    `${file}:7:5: vrrp_instances[0].state: unknown key; lvsd has no 'state': every instance starts as BACKUP and the election picks the master by priority (RFC 5798 section 6.4). Give the intended master the higher priority; for the address owner use priority: 255 with owner: true`,
    `2 errors in ${file}`,
    '',
  ]);
});

test('lvsd check on a missing file and on a directory exits 1 naming the file', () => {
  const r = run('check', '-c', '/nonexistent/lvsd.yaml');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^\/nonexistent\/lvsd\.yaml:1:1: \(file\): cannot read: no such file \(ENOENT\)\n/);
  const d = run('check', '-c', tmpdir());
  assert.equal(d.status, 1);
  assert.match(d.stderr, /:1:1: \(file\): cannot read: is a directory/);
  // A device that never ends is refused, not read forever.
  const z = spawnSync(process.execPath, [lvsd, 'check', '-c', '/dev/zero'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(z.status, 1);
  assert.match(z.stderr, /^\/dev\/zero:1:1: \(file\): cannot read: not a regular file\n/);
});

test('lvsd run refuses a config it cannot read with exit 78 (EX_CONFIG) before touching anything', () => {
  // Not run against a valid example here: that would really start the daemon (test/integration/daemon.test.ts does).
  const bad = run('run', '-c', '/nonexistent/lvsd.yaml');
  assert.equal(bad.status, 78);
  assert.match(bad.stderr, /cannot read: no such file/);
});

test('lvsd ipvs is dispatched to the IPVS command (its help, without touching the kernel)', () => {
  const r = run('ipvs', '--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Usage: lvsd ipvs/);
  assert.match(run('--help').stdout, /lvsd ipvs/);
});
