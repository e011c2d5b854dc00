// Test helper: keepalived text -> lvsd import-keepalived -> a config lvsd accepts (the assertion says why not).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { importKeepalived, type UserExists } from '../../src/import/index.js';

export function convertKeepalived(text: string, userExists: UserExists = () => false) {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-'));
  writeFileSync(join(dir, 'k.conf'), text);
  const r = importKeepalived(join(dir, 'k.conf'), undefined, userExists);
  assert.ok(r.ok);
  const v = parseConfig(r.yaml, 'k.yaml');
  assert.ok(v.ok, v.ok ? '' : `${r.yaml}\n${JSON.stringify(v.errors, null, 1)}`);
  return { ...r, config: v.config };
}
