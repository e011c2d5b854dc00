// `npm run lab -- smoke` as people run it (the built CLI), judged by its exit status and report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/lab/cli.js', import.meta.url));
// As people run it: not as a child of a test runner.
const env = { ...process.env };
delete env.NODE_TEST_CONTEXT;

test('lab smoke passes on this machine', async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI, 'smoke'], { timeout: 120_000, env }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
  });
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  const lines = stdout.trim().split('\n');
  for (const item of ['debian packages', 'kernel + namespaces', 'ipvs', 'veth + bridge', 'raw sockets', 'nginx', 'curl through ipvs', 'node in a host', 'teardown']) {
    assert.ok(lines.some((l) => l.startsWith('PASS') && l.includes(item)), `no PASS line for ${item}:\n${stdout}`);
  }
  assert.match(lines.at(-1)!, /^smoke: all 9 checks passed$/);
});

test('lab CLI: usage errors exit 2, unknown topologies are named', async () => {
  const run = (args: string[]): Promise<{ code: number | null; stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env }, (err, _out, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }));
  });
  assert.equal((await run(['frobnicate'])).code, 2);
  const r = await run(['shell', 'no-such-topology']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown topology "no-such-topology"; known: single-director, director-pair/);
});

test('lab shell: an interactive shell on a real terminal inside a lab host, torn down on exit', { skip: existsSync('/usr/bin/script') ? false : 'script(1) from util-linux is needed for a pseudo-terminal' }, async () => {
  // script(1) gives the CLI a pseudo-terminal, as a person's terminal would.
  const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} shell single-director --host rs1 --no-services`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
  const waitFor = (re: RegExp, ms: number): Promise<void> => new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => { if (re.test(out)) resolve(); else if (Date.now() - t0 > ms) reject(new Error(`no ${re} in:\n${out}`)); else setTimeout(tick, 50); };
    tick();
  });
  await waitFor(/\[lab rs1\] .*# $/m, 90_000);
  child.stdin.write('echo "tty=$(tty) host=$LVSD_LAB_HOST"; ip -4 -o addr show dev eth0\n');
  await waitFor(/10\.0\.1\.11\/24/, 20_000);
  child.stdin.write('exit 7\n');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 7, out);
  assert.match(out, /tty=\/dev\/(tty2|pts\/\d+) host=rs1/);
  assert.match(out, /lab: torn down/);
});
