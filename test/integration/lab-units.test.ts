// The lab's pure parts: the agent protocol's framing, topology validation and build plans, module
// ordering against the UML package's real modules.dep, the real server's control messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode, LineDecoder, MARKER } from '../../src/lab/protocol.js';
import { buildPlan, portNames, validate, TopologyError, type Topology } from '../../src/lab/topology.js';
import { directorPair, ecmp, singleDirector } from '../../src/lab/topologies.js';
import { renderTemplate } from '../../src/lab/routing.js';
import { resolveModules, UML_MODULES_ROOT, LAB_MODULES, umlRelease } from '../../src/lab/uml.js';
import { applyControl, defaultState } from '../../src/lab/realserver.js';

test('protocol: messages survive kernel log noise, split chunks and junk', () => {
  const d = new LineDecoder();
  const msg = encode({ ev: 'reply', id: 7, ok: true, result: { stdout: 'a\nb' } });
  const noisy = `[    3.1] random: crng init done\n${msg}garbage ${MARKER}{not json\n`;
  const got = [...d.push(noisy.slice(0, 40)), ...d.push(noisy.slice(40))];
  assert.deepEqual(got, [{ ev: 'reply', id: 7, ok: true, result: { stdout: 'a\nb' } }]);
  assert.equal(d.skipped, 2);
  // A marker in the middle of a line (console text glued in front) still frames the message.
  assert.deepEqual(d.push(`xx${encode({ ev: 'ready', uptime: 1, node: 'v20' })}`), [{ ev: 'ready', uptime: 1, node: 'v20' }]);
  assert.deepEqual(d.push(`${encode({ id: 1, op: 'ping' }).trimEnd()}\r\n`), [{ id: 1, op: 'ping' }]);
});

test('topology: validation names the problem', () => {
  const bad = (t: Partial<Topology>, re: RegExp): void =>
    assert.throws(() => validate({ name: 't', hosts: {}, ...t }), (e: unknown) => e instanceof TopologyError && re.test(e.message));
  bad({ hosts: { switch: {} } }, /reserved/);
  bad({ hosts: { Bad_Name: {} } }, /host name/);
  bad({ hosts: { a: { ifaces: { eth0: {} } } } }, /exactly one of lan or peer/);
  bad({ hosts: { a: { ifaces: { eth0: { lan: 'nope' } } } } }, /unknown LAN nope/);
  bad({ hosts: { a: { ifaces: { eth0: { peer: 'b:eth0' } } }, b: { ifaces: { eth0: { peer: 'a:eth1' } } } } }, /name each other/);
  bad({ lans: { l: {} }, hosts: { a: { ifaces: { eth0: { lan: 'l', addrs: ['10.0.0.1'] } } } } }, /not CIDR/);
  bad({ lans: { l: {} }, hosts: { a: { ifaces: { averyveryverylongname: { lan: 'l' } } } } }, /not a valid Linux name/);
  validate(singleDirector);
  validate(directorPair);
});

test('topology: plan sets accept_dad=0 before any link exists and enslaves ports last', () => {
  const plan = buildPlan(singleDirector, 'p-');
  assert.deepEqual(plan[0]!.argv, ['ip', '-batch', '-']);
  assert.equal(plan[0]!.input, ['switch', 'client', 'director', 'rs1', 'rs2', 'rs3'].map((n) => `netns add p-${n}\n`).join(''));
  const firstLink = plan.findIndex((s) => /link add/.test(s.input ?? ''));
  const sysctls = plan.map((s, i) => [s, i] as const).filter(([s]) => s.argv[0] === 'sysctl');
  assert.equal(sysctls.length, 6);
  for (const [s, i] of sysctls.slice(1)) {
    assert.ok(i < firstLink);
    assert.ok(s.argv.includes('net.ipv6.conf.default.accept_dad=0'));
  }
  assert.ok(sysctls.find(([s]) => s.ns === 'p-director')![0].argv.includes('net.ipv4.ip_forward=1'));
  const last = plan.at(-1)!;
  assert.equal(last.argv.join(' '), 'ip -n p-switch -batch -');
  assert.match(last.input!, /^link set director-eth0 master br-clients$/m);
  const rs1 = plan.filter((s) => s.argv.includes('p-rs1')).map((s) => s.input).join('');
  assert.match(rs1, /addr add 2001:db8:2::11\/64 dev eth0 nodad/);
  assert.match(rs1, /addr add 10\.0\.1\.11\/24 dev eth0\n/);
  assert.match(rs1, /route add ::\/0 via 2001:db8:2::1/);
  for (const name of portNames(directorPair).values()) assert.ok(name.length <= 15, name);
});

test('topology ecmp: the real servers hold the VIP on lo, the router hashes on L4, the directors leave sloppy_tcp to lvsd', () => {
  validate(ecmp);
  const plan = buildPlan(ecmp, 'p-');
  const of = (host: string) => plan.filter((s) => s.ns === `p-${host}` || s.argv.includes(`p-${host}`)).map((s) => `${s.argv.join(' ')}\n${s.input ?? ''}`).join('');
  assert.match(of('rs1'), /addr add 203\.0\.113\.10\/32 dev lo\n/);
  assert.match(of('rs1'), /net\.ipv4\.conf\.all\.arp_ignore=1/);
  assert.match(of('router'), /net\.ipv4\.fib_multipath_hash_policy=1/);
  // lvsd sets it (global.ipvs.sysctls: auto), and ecmp.test.ts checks that it did.
  assert.doesNotMatch(of('director2'), /sloppy_tcp/);
  assert.doesNotMatch(of('director2'), /dev lo/, 'the directors get the VIP from lvsd, not from the topology');
  assert.throws(() => validate({ name: 't', hosts: { a: { loopback: ['10.0.0.1'] } } }), /lo address .* is not CIDR/);
});

test('routing templates: every placeholder filled, no value unused', () => {
  assert.equal(renderTemplate('a ${X} b ${Y_2} ${X}', { X: 1, Y_2: 'z' }), 'a 1 b z 1');
  assert.throws(() => renderTemplate('a ${X} ${Z}', { X: 1 }), /\$\{Z\} has no value/);
  assert.throws(() => renderTemplate('a ${X}', { X: 1, W: 2 }), /no placeholder for W/);
});

test('topology: point-to-point links are created once, from the first side', () => {
  const t: Topology = { name: 'p2p', hosts: { a: { ifaces: { x0: { peer: 'b:y0', addrs: ['10.9.0.1/30'] } } }, b: { ifaces: { y0: { peer: 'a:x0' } } } } };
  const adds = buildPlan(t, '').map((s) => s.input ?? '').join('').match(/link add .*/g);
  assert.deepEqual(adds, ['link add x0 type veth peer name y0 netns b']);
});

test('uml: modules load after their dependencies (the package\'s own modules.dep)', { skip: existsSync(UML_MODULES_ROOT) ? false : 'user-mode-linux not installed' }, () => {
  const dep = readFileSync(join(UML_MODULES_ROOT, umlRelease(), 'modules.dep'), 'utf8');
  const { files, missing } = resolveModules(dep, LAB_MODULES);
  assert.deepEqual(missing, []);
  const at = (base: string): number => files.findIndex((f) => f.endsWith(`/${base}`));
  for (const [before, after] of [['crc-ccitt.ko', 'ipv6.ko'], ['ipv6.ko', 'ip_vs.ko'], ['nf_conntrack.ko', 'ip_vs.ko'], ['nf_defrag_ipv6.ko', 'nf_conntrack.ko'],
    ['ip_vs.ko', 'ip_vs_mh.ko'], ['llc.ko', 'stp.ko'], ['stp.ko', 'bridge.ko'], ['tunnel4.ko', 'ipip.ko']] as const) {
    assert.ok(at(before) >= 0 && at(before) < at(after), `${before} before ${after}`);
  }
  assert.equal(new Set(files).size, files.length);
});

test('real server control: applies valid changes, reports and refuses bad ones', () => {
  const s0 = defaultState('rs1');
  assert.equal(s0.body, 'rs1\n');
  const a = applyControl(s0, 'rs1', { status: 503, delayMs: 20, headers: { 'x-a': 'b' } });
  assert.deepEqual(a.errors, []);
  assert.equal(a.state.status, 503);
  const b = applyControl(a.state, 'rs1', { status: 99, mode: 'sideways', extra: 1 });
  assert.deepEqual(b.errors, ['status must be an integer 100-999', 'mode must be normal, hang or reset', 'unknown field extra']);
  assert.equal(b.state, a.state);
  assert.deepEqual(applyControl(a.state, 'rs1', { reset: true }).state, s0);
  assert.deepEqual(applyControl(s0, 'rs1', [1]).errors, ['control message must be a JSON object']);
});
