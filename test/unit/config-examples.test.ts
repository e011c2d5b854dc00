// The shipped example configurations must pass `lvsd check`, through the library and through the
// binary; and the published JSON Schema must accept them too, judged by an independent validator
// (Python's jsonschema, Draft 2020-12, reading the YAML with PyYAML) when this machine has it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { formatIssue, loadConfig } from '../../src/config/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const examples = join(root, 'deploy/examples');
const files = readdirSync(examples).filter((f) => f.endsWith('.yaml')).sort();
const lvsd = join(root, 'bin/lvsd.js');

test('there are at least the three required examples', () => {
  for (const f of ['single-director-nat.yaml', 'pair-dr.yaml', 'active-active.yaml']) assert.ok(files.includes(f), f);
});

for (const f of files) {
  test(`example ${f} is valid (library)`, async () => {
    const r = await loadConfig(join(examples, f));
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  });
  test(`example ${f} is valid (lvsd check exits 0 with a summary)`, () => {
    const r = spawnSync(process.execPath, [lvsd, 'check', '-c', join(examples, f)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ok: \d+ vrrp instances?, \d+ virtual services?, \d+ real servers?\n$/);
    assert.equal(r.stderr, '');
  });
}

test('example summaries count what the files hold', async () => {
  const r = spawnSync(process.execPath, [lvsd, 'check', '-c', join(examples, 'single-director-nat.yaml')], { encoding: 'utf8' });
  assert.equal(r.stdout, 'ok: 2 vrrp instances, 1 virtual service, 3 real servers\n');
  const aa = await loadConfig(join(examples, 'active-active.yaml'));
  assert.ok(aa.ok);
  if (!aa.ok) return;
  // YAML anchors (&pool4 / *pool4) are followed: both services got the pool.
  assert.deepEqual(aa.config.virtual_services.map((s) => s.real_servers.length), [3, 3, 2, 2]);
  assert.deepEqual(aa.config.vrrp_instances.map((v) => [v.vrid, v.priority, v.virtual_ips[0]!.family]), [[1, 200, 4], [2, 100, 4], [1, 200, 6], [2, 100, 6]]);
});

const python = spawnSync('python3', ['-c', 'import jsonschema, yaml'], { encoding: 'utf8' });
const pythonJudge = (yamlFiles: string[]): Array<{ file: string; errors: string[] }> => {
  const script = `
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
out = []
for f in sys.argv[2:]:
    out.append({"file": f, "errors": [e.message for e in v.iter_errors(yaml.safe_load(open(f)))]})
print(json.dumps(out))
`;
  const r = spawnSync('python3', ['-c', script, join(root, 'deploy/lvsd.schema.json'), ...yamlFiles], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Array<{ file: string; errors: string[] }>;
};

test('an independent JSON Schema validator accepts every example against deploy/lvsd.schema.json', { skip: python.status !== 0 && 'python3 jsonschema/yaml not installed' }, () => {
  for (const r of pythonJudge(files.map((f) => join(examples, f)))) assert.deepEqual(r.errors, [], r.file);
});

// Shape mistakes (not cross-reference rules) must be caught by the published schema as well, so an
// editor flags them while typing.
const SHAPE_BROKEN = [
  'misspelled-key.yaml', 'keepalived-state.yaml', 'keepalived-top-level-key.yaml', 'vrid-quoted.yaml', 'vrid-out-of-range.yaml',
  'priority-zero.yaml', 'version-4.yaml', 'duration-unitless.yaml', 'duration-negative.yaml', 'duration-bad-unit.yaml',
  'password-too-long.yaml', 'unknown-scheduler.yaml', 'check-type-misspelled.yaml', 'tls-on-http-check.yaml', 'bad-digest.yaml',
  'missing-forwarding.yaml', 'weight-negative.yaml', 'notify-shell-string.yaml', 'keepalived-lb-kind.yaml', 'many-errors.yaml',
];
test('the independent validator also rejects the shape errors of the broken corpus', { skip: python.status !== 0 && 'python3 jsonschema/yaml not installed' }, () => {
  for (const r of pythonJudge(SHAPE_BROKEN.map((f) => join(root, 'test/config/broken', f)))) assert.notDeepEqual(r.errors, [], r.file);
});
