// include: in lvsd.yaml (issue #15): conf.d globs relative to the including file, lists appended in order,
// errors at the right file:line:col, duplicates named with both places, and the bounds (cycles, depth,
// files, what an included file may hold). One case runs through `lvsd check`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIssue, loadConfig } from '../../src/config/index.js';
import { MAX_INCLUDE_DEPTH } from '../../src/config/include.js';

const LVSD = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-include-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
const svc = (name: string, addr: string, extra = '') => `  - name: ${name}\n    address: ${addr}\n    forwarding: nat\n${extra}`;

test('conf.d/*.yaml: sorted, relative to the including file, nested includes, lists appended in order', async (t) => {
  const dir = tree({
    'lvsd.yaml': `global:\n  router_id: lb1\ninclude: [conf.d/*.yaml, checks.yaml]\nvirtual_services:\n${svc('main', '192.0.2.10:80')}`,
    'conf.d/20-b.yaml': `virtual_services:\n${svc('b', '192.0.2.10:8080', '    checks: [web-check]\n')}`,
    'conf.d/10-a.yaml': `include: [../more/x.yaml]\nvirtual_services:\n${svc('a', '192.0.2.10:443')}`,
    'conf.d/.hidden.yaml': 'virtual_services: [oops]\n',
    'conf.d/notes.txt': 'not yaml: [\n',
    'more/x.yaml': `vrrp_instances:\n  - {name: VI_1, interface: eth0, vrid: 51, virtual_ips: [192.0.2.10/24]}\n`,
    'checks.yaml': 'checks:\n  - {name: web-check, type: tcp}\n',
  });
  t.after(() => rmSync(dir, { recursive: true }));
  const r = await loadConfig(join(dir, 'lvsd.yaml'));
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  assert.deepEqual(r.config.virtual_services.map((s) => s.name), ['main', 'a', 'b']);
  assert.deepEqual(r.config.vrrp_instances.map((v) => v.name), ['VI_1']);
  assert.deepEqual(r.config.checks.map((c) => c.name), ['web-check']);
  assert.deepEqual(r.included?.map((f) => f.file.slice(dir.length + 1)), ['conf.d/10-a.yaml', 'more/x.yaml', 'conf.d/20-b.yaml', 'checks.yaml']);
  // The bytes the daemon hashes cover the included files: a reload sees an include change.
  const before = Buffer.from(r.bytes!).toString('hex');
  writeFileSync(join(dir, 'checks.yaml'), 'checks:\n  - {name: web-check, type: tcp, interval: 2s}\n');
  const r2 = await loadConfig(join(dir, 'lvsd.yaml'));
  assert.ok(r2.ok);
  assert.notEqual(Buffer.from(r2.bytes!).toString('hex'), before);
});

test('errors point at the included file, line and column; a duplicate names both places', async (t) => {
  const dir = tree({
    'lvsd.yaml': `include:\n  - conf.d/*.yaml\nvirtual_services:\n${svc('web', '192.0.2.10:80')}`,
    'conf.d/a.yaml': `# a comment\nvirtual_services:\n${svc('api', '192.0.2.10:443', '    scheduler: wlcx\n')}`,
    'conf.d/b.yaml': `virtual_services:\n${svc('web', '192.0.2.11:80')}`,
    'conf.d/c.yaml': 'virtual_services:\n  - name: [unclosed\n',
  });
  t.after(() => rmSync(dir, { recursive: true }));
  const r = await loadConfig(join(dir, 'lvsd.yaml'));
  assert.ok(!r.ok);
  const lines = r.errors.map((e) => formatIssue(e).replace(dir + '/', ''));
  assert.equal(lines.length, 1, 'a syntax error in an include stops before validation, as in the main file');
  assert.match(lines[0]!, /^conf\.d\/c\.yaml:2:\d+: \(yaml\): YAML syntax error/);
  writeFileSync(join(dir, 'conf.d/c.yaml'), '# fixed\n');
  const r2 = await loadConfig(join(dir, 'lvsd.yaml'));
  assert.ok(!r2.ok);
  assert.deepEqual(r2.errors.map((e) => formatIssue(e).replace(new RegExp(`${dir}/`, 'g'), '')), [
    "conf.d/a.yaml:6:16: virtual_services[1].scheduler: 'wlcx' is not one of: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos; did you mean 'wlc'?",
    "conf.d/b.yaml:2:11: virtual_services[2].name: duplicate virtual service name 'web'; already virtual_services[0] (lvsd.yaml:4:5)",
  ]);
});

test('bounds: cycles, depth, a missing file, wildcards in directories, global in an include', async (t) => {
  const files: Record<string, string> = {
    'lvsd.yaml': 'include: [a.yaml, missing.yaml, "*/x.yaml", g.yaml]\n',
    'a.yaml': 'include: [b.yaml]\n',
    'b.yaml': 'include: [a.yaml]\n',
    'g.yaml': 'global:\n  router_id: x\n',
  };
  const dir = tree(files);
  t.after(() => rmSync(dir, { recursive: true }));
  const r = await loadConfig(join(dir, 'lvsd.yaml'));
  assert.ok(!r.ok);
  const lines = r.errors.map((e) => formatIssue(e).replace(new RegExp(`${dir}/`, 'g'), ''));
  assert.deepEqual(lines, [
    "lvsd.yaml:1:19: include[1]: cannot read 'missing.yaml': no such file (ENOENT)",
    "lvsd.yaml:1:33: include[2]: '*/x.yaml': wildcards are allowed in the file name only (conf.d/*.yaml)",
    "b.yaml:1:11: include[0]: 'a.yaml' includes itself (through 3 files); an include cycle is refused",
    'g.yaml:1:1: global: an included file may only add to vrrp_instances, vrrp_sync_groups, track_scripts, track_processes, track_files, checks, virtual_services, announce; global belongs in the main file',
  ]);
  // A chain deeper than the bound.
  const deep: Record<string, string> = { 'lvsd.yaml': 'include: [d0.yaml]\n' };
  for (let i = 0; i <= MAX_INCLUDE_DEPTH + 1; i++) deep[`d${i}.yaml`] = `include: [d${i + 1}.yaml]\n`;
  const dir2 = tree(deep);
  t.after(() => rmSync(dir2, { recursive: true }));
  const r2 = await loadConfig(join(dir2, 'lvsd.yaml'));
  assert.ok(!r2.ok);
  assert.match(formatIssue(r2.errors[0]!), new RegExp(`d${MAX_INCLUDE_DEPTH - 1}\\.yaml:1:1: include: includes nested deeper than ${MAX_INCLUDE_DEPTH} levels`));
  // A symlink back to the main file is a cycle too.
  const dir3 = tree({ 'lvsd.yaml': 'include: [conf.d/*.yaml]\n' });
  mkdirSync(join(dir3, 'conf.d'));
  symlinkSync(join(dir3, 'lvsd.yaml'), join(dir3, 'conf.d', 'loop.yaml'));
  t.after(() => rmSync(dir3, { recursive: true }));
  const r3 = await loadConfig(join(dir3, 'lvsd.yaml'));
  assert.ok(!r3.ok);
  assert.match(formatIssue(r3.errors[0]!), /include\[0\]: '.*loop\.yaml' includes itself/);
});

test('lvsd check follows includes and prints the included file\'s position', (t) => {
  const dir = tree({
    'lvsd.yaml': `include: [conf.d/*.yaml]\nvirtual_services:\n${svc('web', '192.0.2.10:80')}`,
    'conf.d/api.yaml': `virtual_services:\n${svc('api', '192.0.2.10:443')}`,
  });
  t.after(() => rmSync(dir, { recursive: true }));
  let r = spawnSync(process.execPath, [LVSD, 'check', '-c', join(dir, 'lvsd.yaml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /ok: 0 vrrp instances, 2 virtual services/);
  writeFileSync(join(dir, 'conf.d/api.yaml'), `virtual_services:\n${svc('api', '192.0.2.10:443', '    scheduler: nope\n')}`);
  r = spawnSync(process.execPath, [LVSD, 'check', '-c', join(dir, 'lvsd.yaml')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stdout + r.stderr, new RegExp(`${dir}/conf\\.d/api\\.yaml:5:16: virtual_services\\[1\\]\\.scheduler: 'nope' is not one of`));
});
