import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const lvsd = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));

test('lvsd --version prints the package version', () => {
  const r = spawnSync(process.execPath, [lvsd, '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^lvsd \d+\.\d+\.\d+\n$/);
});
