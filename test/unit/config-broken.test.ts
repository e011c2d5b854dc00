// Every file in test/config/broken/ must be refused with exactly the problems listed for it in
// test/config/broken/expected.json ("LINE:COL: KEY.PATH: message", in order), by the library and by
// the `lvsd check` binary (exit 1, one line per problem on stderr, prefixed with the file name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = join(root, 'test/config/broken');
const lvsd = join(root, 'bin/lvsd.js');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, string[]>;

test('the corpus and its expectations list the same files, and there are at least 45', () => {
  const files = readdirSync(dir).filter((f) => f !== 'expected.json');
  assert.deepEqual([...files, 'missing.yaml'].sort(), Object.keys(expected).sort());
  assert.ok(files.length >= 45, `only ${files.length} broken configs`);
  for (const [f, lines] of Object.entries(expected)) assert.ok(lines.length > 0, `${f} expects no error`);
});

for (const [file, lines] of Object.entries(expected)) {
  test(`library refuses ${file} with the exact positions, paths and messages`, async () => {
    const r = await loadConfig(join(dir, file));
    assert.equal(r.ok, false);
    if (r.ok) return;
    const got = r.errors.map((e) => `${e.line}:${e.col}: ${e.path}: ${e.message}`);
    assert.deepEqual(got, lines);
    for (const e of r.errors) assert.equal(e.file, join(dir, file));
  });
}

test('lvsd check exits 1 and prints FILE:LINE:COL: KEY.PATH: message for every broken config', async () => {
  // One `lvsd check` per file, as a user runs it; a few at a time (each is a Node start, ~0.3 s of CPU).
  const files = Object.entries(expected);
  const results = new Map<string, { status: number | null; stdout: string; stderr: string }>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const [file] = files[next++]!;
      const { status, stdout, stderr } = await checkOne(file);
      results.set(file, { status, stdout, stderr });
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, 2 * availableParallelism()) }, worker));
  for (const [file, lines] of files) {
    const r = results.get(file)!;
    assert.equal(r.status, 1, `${file}: exit ${r.status}\n${r.stderr}`);
    assert.equal(r.stdout, '', file);
    const errLines = r.stderr.trimEnd().split('\n');
    assert.deepEqual(errLines.slice(0, -1), lines.map((l) => `${file}:${l}`), file);
    assert.equal(errLines.at(-1), `${lines.length} error${lines.length === 1 ? '' : 's'} in ${file}`);
  }
});

function checkOne(file: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [lvsd, 'check', '-c', file], { cwd: dir, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (typeof err?.code === 'string') { reject(err); return; } // not started at all (ENOENT...)
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

test('errors come sorted by position', () => {
  for (const [file, lines] of Object.entries(expected)) {
    const pos = lines.map((l) => l.split(':', 2).map(Number) as [number, number]);
    for (let i = 1; i < pos.length; i++) {
      const [a, b] = [pos[i - 1]!, pos[i]!];
      assert.ok(a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]), `${file}: ${lines[i - 1]} before ${lines[i]}`);
    }
  }
});
