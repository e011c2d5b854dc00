// lvsd import-keepalived: no_accept, accept and vrrp_strict (src/import/convert-vrrp.ts strictInstance).
// What keepalived 2.2.7 itself does in strict mode with authentication and preempt_delay is read from
// its own -t output (root and keepalived needed), not assumed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import { importKeepalived } from '../../src/import/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-strict-'));
let n = 0;
function convert(conf: string): { yaml: string; doc: { global?: Record<string, unknown>; vrrp_instances: Record<string, unknown>[] }; notes: string[] } {
  const f = join(dir, `k${n++}.conf`);
  writeFileSync(f, conf);
  const r = importKeepalived(f, undefined, () => false);
  assert.ok(r.ok);
  const v = parseConfig(r.yaml, 'k.yaml');
  assert.ok(v.ok, `lvsd refuses the import:\n${r.yaml}\n${v.ok ? '' : JSON.stringify(v.errors)}`);
  return { yaml: r.yaml, doc: parseYaml(r.yaml), notes: r.notes.map((x) => `${x.line} ${x.kind}: ${x.message}`) };
}
const instance = (name: string, vrid: number, body: string) => `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id ${vrid}\n${body}  virtual_ipaddress {\n    192.0.2.${vrid}/24\n  }\n}\n`;

test('no_accept becomes accept: false (noted: lvsd drops after IPVS); accept stays lvsd\'s default; the owner always accepts', () => {
  const r = convert(instance('A', 1, '  priority 100\n  no_accept\n') + instance('B', 2, '  priority 100\n  accept\n') + instance('O', 3, '  priority 255\n  no_accept\n'));
  const [a, b, o] = r.doc.vrrp_instances;
  assert.equal(a!.accept, false);
  assert.equal('accept' in b!, false);
  assert.equal('accept' in o!, false, 'priority 255: RFC 5798 6.4.3, the owner accepts');
  assert.ok(r.notes.some((l) => /^\d+ changed: vrrp_instance A: no_accept: lvsd drops packets to the VIPs .* after IPVS \(input priority 100\)/.test(l)), r.notes.join('\n'));
  assert.equal(r.doc.global?.vrrp_strict, undefined);
});

test('vrrp_strict becomes global vrrp_strict: true, non-owners accept: false; authentication and preempt_delay left out as keepalived ignores them', () => {
  const r = convert(`global_defs {\n  vrrp_strict\n}\n` +
    instance('A', 1, '  priority 100\n  advert_int 1\n  preempt_delay 5\n  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n') +
    instance('O', 2, '  priority 255\n'));
  assert.equal(r.doc.global?.vrrp_strict, true);
  const [a, o] = r.doc.vrrp_instances;
  assert.equal(a!.accept, false);
  assert.equal('accept' in o!, false);
  assert.equal('authentication' in a!, false);
  assert.equal('preempt_delay' in a!, false);
  assert.ok(r.notes.some((l) => /changed: vrrp_instance A: authentication with vrrp_strict: keepalived ignores it/.test(l)), r.notes.join('\n'));
  assert.ok(r.notes.some((l) => /changed: vrrp_instance A: preempt_delay with vrrp_strict: keepalived resets it/.test(l)), r.notes.join('\n'));
  assert.ok(r.notes.some((l) => /^2 changed: global_defs: vrrp_strict: lvsd drops packets to the VIPs/.test(l)), r.notes.join('\n'));
});

test('vrrp_strict with unicast peers, or an explicit accept in VRRPv3: written as accept: false per instance instead of the global switch lvsd would refuse', () => {
  const uni = convert(`global_defs {\n  vrrp_strict\n}\n` + instance('A', 1, '  priority 100\n') +
    instance('U', 2, '  priority 100\n  unicast_peer {\n    192.0.2.99\n  }\n'));
  assert.equal(uni.doc.global?.vrrp_strict, undefined);
  assert.deepEqual(uni.doc.vrrp_instances.map((i) => i.accept), [false, false]);
  assert.ok(uni.notes.some((l) => /^2 changed: global_defs: vrrp_strict written as accept: false on each instance instead of global vrrp_strict: instance U has unicast peers/.test(l)), uni.notes.join('\n'));
  const acc = convert(`global_defs {\n  vrrp_strict\n  vrrp_version 3\n}\n` + instance('A', 1, '  priority 100\n  accept\n') + instance('B', 2, '  priority 100\n'));
  assert.equal(acc.doc.global?.vrrp_strict, undefined);
  assert.deepEqual(acc.doc.vrrp_instances.map((i) => i.accept), [true, false]);
  // VRRPv2 has no accept mode in strict mode (keepalived.conf(5)): accept: false stays, and the global switch.
  const v2 = convert(`global_defs {\n  vrrp_strict\n}\n` + instance('A', 1, '  priority 100\n  accept\n'));
  assert.equal(v2.doc.global?.vrrp_strict, true);
  assert.equal(v2.doc.vrrp_instances[0]!.accept, false);
});

test('keepalived 2.2.7 -t itself: in strict mode it ignores authentication and resets preempt_delay (what the importer follows)', (t) => {
  if (process.getuid?.() !== 0 || spawnSync('keepalived', ['--version']).error) { t.skip('needs root and keepalived'); return; }
  const conf = join(dir, 'ka.conf');
  writeFileSync(conf, `global_defs {\n  vrrp_strict\n}\n` + instance('V', 5, '  priority 100\n  advert_int 1\n  preempt_delay 5\n  authentication {\n    auth_type PASS\n    auth_pass x\n  }\n'));
  const r = spawnSync('unshare', ['-n', 'sh', '-c', `ip link add eth0 type veth peer name p0 && ip link set eth0 up && ip addr add 192.0.2.1/24 dev eth0 && timeout 20 keepalived -t -l -D -f ${conf} 2>&1; true`], { encoding: 'utf8' });
  assert.match(r.stdout, /\(V\) Strict mode does not support authentication\. Ignoring\./);
  assert.match(r.stdout, /\(V\) preempt_delay is incompatible with strict mode - resetting/);
});
