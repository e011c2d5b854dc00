// Accept mode off (src/strict): which VIPs are dropped, the nft JSON against what nft 1.0.6 itself
// lists for the same table written by hand in nft's own syntax, the transaction, the shell's retry and
// clean-up with a fake nft, and the config keys (accept: false, global.vrrp_strict and its refusals).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptInstances, deleteTransaction, effectiveAccept, noAcceptPlan, noAcceptPlanFor, replaceTransaction, tableObjects, INPUT_PRIORITY } from '../../src/strict/ruleset.js';
import { NoAcceptTable, describeFailure, type NftResult, type NftRunner } from '../../src/strict/nft.js';
import { parseConfig, type LvsdConfig } from '../../src/config/index.js';

// Captured: `nft -f` of this text in a scratch namespace, then `nft -j list table inet lvsd` (nftables
// 1.0.6, Debian 12, kernel 6.18); metainfo, table and handles removed:
//   table inet lvsd {
//     set vips4 { type ipv4_addr; elements = { 192.0.2.10, 192.0.2.11 } }
//     set vips6 { type ipv6_addr; elements = { 2001:db8::10 } }
//     chain no_accept {
//       type filter hook input priority 100; policy accept;
//       ip daddr @vips4 counter drop comment "accept_mode false (RFC 5798 6.1)"
//       ip6 daddr @vips6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept comment "neighbour discovery for the VIPs (RFC 5798 6.4.3)"
//       ip6 daddr @vips6 counter drop comment "accept_mode false (RFC 5798 6.1)"
//     } }
const NFT_LISTED = [
  { set: { family: 'inet', name: 'vips4', table: 'lvsd', type: 'ipv4_addr', elem: ['192.0.2.10', '192.0.2.11'] } },
  { set: { family: 'inet', name: 'vips6', table: 'lvsd', type: 'ipv6_addr', elem: ['2001:db8::10'] } },
  { chain: { family: 'inet', table: 'lvsd', name: 'no_accept', type: 'filter', hook: 'input', prio: 100, policy: 'accept' } },
  { rule: { family: 'inet', table: 'lvsd', chain: 'no_accept', comment: 'accept_mode false (RFC 5798 6.1)', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '@vips4' } }, { counter: { packets: 0, bytes: 0 } }, { drop: null }] } },
  { rule: { family: 'inet', table: 'lvsd', chain: 'no_accept', comment: 'neighbour discovery for the VIPs (RFC 5798 6.4.3)', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip6', field: 'daddr' } }, right: '@vips6' } }, { match: { op: '==', left: { payload: { protocol: 'icmpv6', field: 'type' } }, right: { set: ['nd-neighbor-solicit', 'nd-neighbor-advert'] } } }, { accept: null }] } },
  { rule: { family: 'inet', table: 'lvsd', chain: 'no_accept', comment: 'accept_mode false (RFC 5798 6.1)', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip6', field: 'daddr' } }, right: '@vips6' } }, { counter: { packets: 0, bytes: 0 } }, { drop: null }] } },
];

/** Key order does not matter to nft; objects of one kind keep their order (rules are evaluated in order). */
const canon = (objs: unknown[]): string[] => {
  const sortKeys = (v: unknown): unknown => Array.isArray(v) ? v.map(sortKeys) : v && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sortKeys(x)])) : v;
  const kind = (o: unknown) => Object.keys(o as object)[0]!;
  const order = ['set', 'chain', 'rule'];
  return objs.map((o, i) => ({ o, i })).sort((a, b) => order.indexOf(kind(a.o)) - order.indexOf(kind(b.o)) || a.i - b.i).map(({ o }) => JSON.stringify(sortKeys(o)));
};

const inst = (name: string, vips: string[], accept: boolean, owner = false) => ({ name, accept, owner, vips });

test('the table for two IPv4 VIPs and one IPv6 VIP is what nft lists for the same table written in its own syntax', () => {
  const plan = noAcceptPlan([inst('v4', ['192.0.2.11', '192.0.2.10'], false), inst('v6', ['2001:db8::10'], false)]);
  assert.deepEqual(canon(tableObjects(plan)), canon(NFT_LISTED));
});

test('accept mode off: non-owners with accept false or under vrrp_strict; the owner always accepts; VIPs deduplicated and sorted', () => {
  assert.equal(effectiveAccept(true, false, false), true);
  assert.equal(effectiveAccept(false, false, false), false);
  assert.equal(effectiveAccept(true, false, true), false);
  assert.equal(effectiveAccept(false, true, true), true, 'RFC 5798 6.4.3: the owner accepts');
  const plan = noAcceptPlan([
    inst('a', ['192.0.2.20', '192.0.2.10'], false), inst('b', ['192.0.2.10'], false), inst('c', ['192.0.2.30'], true),
    inst('owner', ['192.0.2.40'], false, true), inst('six', ['fe80::1', '2001:db8::1'], false),
  ]);
  assert.deepEqual(plan, { ipv4: ['192.0.2.10', '192.0.2.20'], ipv6: ['2001:db8::1', 'fe80::1'], instances: ['a', 'b', 'six'] });
  assert.deepEqual(noAcceptPlan([inst('c', ['192.0.2.30'], true)]), { ipv4: [], ipv6: [], instances: [] });
  const v4only = tableObjects(noAcceptPlan([inst('a', ['192.0.2.1'], false)]));
  assert.deepEqual(v4only.map((o) => Object.keys(o)[0]), ['chain', 'set', 'rule'], 'no IPv6 set or rules without IPv6 VIPs');
  assert.equal((v4only[0] as { chain: { prio: number } }).chain.prio, INPUT_PRIORITY);
  assert.ok(INPUT_PRIORITY > 99, 'after ip_vs_remote_request4 / ip_vs_in_hook at NF_IP_PRI_NAT_SRC - 1 = 99');
});

test('one transaction replaces only table inet lvsd: add (so delete cannot fail), delete, then the new table; without VIPs only the delete', () => {
  const t = replaceTransaction(noAcceptPlan([inst('a', ['192.0.2.1'], false)])).nftables;
  assert.deepEqual(t.slice(0, 4), [
    { metainfo: { json_schema_version: 1 } },
    { add: { table: { family: 'inet', name: 'lvsd' } } },
    { delete: { table: { family: 'inet', name: 'lvsd' } } },
    { add: { table: { family: 'inet', name: 'lvsd' } } },
  ]);
  for (const c of t.slice(4)) {
    const o = Object.values((c as { add: Record<string, { table?: string; family?: string }> }).add)[0]!;
    assert.deepEqual([o.family, o.table], ['inet', 'lvsd'], 'every object is in lvsd\'s table');
  }
  assert.deepEqual(deleteTransaction().nftables, t.slice(0, 3));
});

test('from the config: accept false, vrrp_strict for all, the owner excepted', () => {
  const cfg = (strict: boolean) => ({
    global: { vrrp_strict: strict },
    vrrp_instances: [
      { name: 'x', accept: true, owner: false, priority: 100, virtual_ips: [{ address: '192.0.2.10' }] },
      { name: 'y', accept: false, owner: false, priority: 100, virtual_ips: [{ address: '192.0.2.11' }] },
      { name: 'o', accept: true, owner: true, priority: 255, virtual_ips: [{ address: '192.0.2.12' }] },
    ],
  }) as unknown as LvsdConfig;
  assert.deepEqual(noAcceptPlanFor(cfg(false)).ipv4, ['192.0.2.11']);
  assert.deepEqual(noAcceptPlanFor(cfg(true)).ipv4, ['192.0.2.10', '192.0.2.11']);
  assert.deepEqual(acceptInstances(cfg(true)).map((i) => i.accept), [false, false, true]);
});

// ---- the shell, with a fake nft ----

const ok: NftResult = { code: 0, signal: null, stderr: '' };
function fakeNft(results: NftResult[]): { run: NftRunner; inputs: string[] } {
  const inputs: string[] = [];
  return { inputs, run: async (_args, input) => { inputs.push(input); return results.shift() ?? ok; } };
}
const plan1 = noAcceptPlan([inst('vi_1', ['192.0.2.10'], false)]);
const none = noAcceptPlan([]);

test('apply: a failure is logged with nft\'s message, retried with a backoff, and converges; the log says when it is in force', async () => {
  const lines: string[] = [];
  const f = fakeNft([{ code: 1, signal: null, stderr: 'Error: Could not process rule: Operation not supported\n' }]);
  const t = new NoAcceptTable({ log: (l) => lines.push(l), run: f.run, retryMs: [20, 40] });
  assert.equal(await t.apply(plan1), false);
  assert.match(lines[0]!, /nft exited with 1: Error: Could not process rule: Operation not supported; packets to the VIPs of vi_1 are NOT dropped .*trying again in 20 ms/);
  assert.deepEqual({ ...t.status, lastError: !!t.status.lastError }, { wanted: true, inForce: false, failures: 1, lastError: true });
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(f.inputs.length, 2);
  assert.equal(t.status.inForce, true);
  assert.match(lines[1]!, /table inet lvsd in force: packets to 192\.0\.2\.10 \(vi_1\) dropped in input at priority 100, after IPVS \(after 1 failed attempts\)/);
  assert.equal(await t.apply(plan1), true);
  assert.equal(f.inputs.length, 2, 'the same plan again: no nft run');
  await t.stop();
  assert.equal(f.inputs[2], JSON.stringify(deleteTransaction()), 'stop deletes the table');
});

test('apply: the newest plan wins when plans arrive while nft runs; stop without a table of ours runs nothing', async () => {
  const inputs: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const run: NftRunner = async (_a, input) => { inputs.push(input); if (inputs.length === 1) await gate; return ok; };
  const t = new NoAcceptTable({ log: () => {}, run });
  const first = t.apply(none);
  const p2 = noAcceptPlan([inst('a', ['192.0.2.2'], false)]);
  const p3 = noAcceptPlan([inst('a', ['192.0.2.3'], false)]);
  const second = t.apply(p2);
  const third = t.apply(p3);
  release();
  await Promise.all([first, second, third]);
  assert.equal(inputs.length, 2, 'the start-up clean-up, then only the newest plan');
  assert.equal(inputs[1], JSON.stringify(replaceTransaction(p3)));
  assert.equal(await t.apply(none), true);
  await t.stop();
  assert.equal(inputs.length, 3, 'nothing installed at stop: no delete run');
});

test('clean-up when no instance needs the table: nft missing or a kernel without nf_tables inet is not an error, not retried', async () => {
  const lines: string[] = [];
  const enoent = Object.assign(new Error('spawn nft ENOENT'), { code: 'ENOENT' });
  const f = fakeNft([{ code: null, signal: null, stderr: '', error: enoent }]);
  const t = new NoAcceptTable({ log: (l) => lines.push(l), run: f.run, retryMs: [10, 10] });
  assert.equal(await t.apply(none), true);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual([lines, f.inputs.length], [[], 1]);
});

test('describeFailure: missing nft, timeout, exit status with nft\'s stderr on one line', () => {
  assert.equal(describeFailure({ code: null, signal: null, stderr: '', error: Object.assign(new Error('x'), { code: 'ENOENT' }) }, 5000), 'nft not found (install the nftables package)');
  assert.equal(describeFailure({ code: null, signal: 'SIGKILL', stderr: '' }, 5000), 'nft killed after 5000 ms (timeout)');
  assert.equal(describeFailure({ code: 1, signal: null, stderr: 'Error: a\nb\x1b[1m\n' }, 5000).includes('\n'), false);
});

// ---- config ----

const yaml = (global: string, inst: string) => `${global}vrrp_instances:\n  - name: vi_1\n    interface: eth0\n    vrid: 1\n    version: 3\n    advert_interval: 100ms\n${inst}`;
const issues = (text: string): string[] => { const r = parseConfig(text, 'mem.yaml'); return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`); };

test('config: accept: false is accepted; vrrp_strict defaults to false; no_accept / strict_mode get hints', () => {
  const r = parseConfig(yaml('', '    virtual_ips: [192.0.2.10/24]\n    accept: false\n'), 'mem.yaml');
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  if (r.ok) { assert.equal(r.config.vrrp_instances[0]!.accept, false); assert.equal(r.config.global.vrrp_strict, false); }
  assert.match(issues(yaml('', '    virtual_ips: [192.0.2.10/24]\n    no_accept: true\n')).join('\n'), /write accept: false/);
  assert.match(issues(yaml('', '    virtual_ips: [192.0.2.10/24]\n    strict_mode: true\n')).join('\n'), /global\.vrrp_strict/);
});

test('config: vrrp_strict refuses unicast, authentication, preempt_delay and a first IPv6 VIP that is not link-local, each at its key', () => {
  const strict = 'global:\n  vrrp_strict: true\n';
  assert.deepEqual(issues(yaml(strict, '    virtual_ips: [192.0.2.10/24]\n')), []);
  assert.deepEqual(issues(yaml(strict, '    virtual_ips: [fe80::10/64, 2001:db8::10/64]\n')), []);
  const u = issues(yaml(strict, '    virtual_ips: [192.0.2.10/24]\n    unicast: {peers: [192.0.2.2]}\n    preempt_delay: 5s\n'));
  assert.ok(u.some((l) => /^vrrp_instances\[0\]\.unicast: vrrp_strict: unicast adverts are not allowed/.test(l)), u.join('\n'));
  assert.ok(u.some((l) => /^vrrp_instances\[0\]\.preempt_delay: vrrp_strict: preempt_delay is not allowed/.test(l)), u.join('\n'));
  const a = issues(yaml(strict, '    virtual_ips: [192.0.2.10/24]\n    version: 2\n    advert_interval: 1s\n    authentication: {type: pass, password: x}\n').replace('    version: 3\n    advert_interval: 100ms\n', ''));
  assert.ok(a.some((l) => /^vrrp_instances\[0\]\.authentication: vrrp_strict: authentication is not allowed/.test(l)), a.join('\n'));
  const six = issues(yaml(strict, '    virtual_ips: [2001:db8::10/64]\n'));
  assert.ok(six.some((l) => /^vrrp_instances\[0\]\.virtual_ips\[0\]: vrrp_strict: the first IPv6 virtual IP must be a link-local address/.test(l)), six.join('\n'));
  assert.deepEqual(issues(yaml('', '    virtual_ips: [192.0.2.10/24]\n    unicast: {peers: [192.0.2.2]}\n    accept: false\n')), [], 'accept: false alone has no strict checks');
});
