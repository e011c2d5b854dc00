// `npm run lab -- smoke` as people run it (the built CLI), judged by its exit status and report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../lab/cli.js', import.meta.url));
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
