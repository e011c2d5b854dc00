// Which sysctls a config needs (src/sysctl/plan.ts) and what the keeper does with /proc/sys
// (src/sysctl/keeper.ts, on a directory laid out as /proc/sys in a temporary directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import type { LvsdConfig } from '../../src/config/model.js';
import { planSysctls, sharedServices, sysctlNeeds, satisfied } from '../../src/sysctl/plan.js';
import { SysctlKeeper, sysctlPath } from '../../src/sysctl/keeper.js';

function cfg(yaml: string): LvsdConfig {
  const r = parseConfig(yaml, 'test.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`).join('\n'));
  return r.config;
}

const ECMP = `
virtual_services:
  - {name: web, address: 203.0.113.10:80, scheduler: mh, forwarding: dr}
  - {name: sig, address: 203.0.113.10:2905, protocol: sctp, scheduler: mh, forwarding: dr}
  - {name: other, address: 192.0.2.50:80, forwarding: nat}
announce:
  - {name: vip, addresses: [203.0.113.10], virtual_services: [web]}
`;

const AA = `
global:
  lvs_sync_daemon: {interface: eth0, instance: vip1, role: both}
vrrp_instances:
  - {name: vip1, interface: eth0, vrid: 1, priority: 200, virtual_ips: [198.51.100.10/24]}
virtual_services:
  - {name: app, address: 198.51.100.10:443, scheduler: mh, forwarding: dr}
`;

test('shared services: those gating an announced group or on an announced address; every one with sync role both; none in a plain pair', () => {
  assert.deepEqual(sharedServices(cfg(ECMP)).map((s) => s.name), ['web', 'sig']);
  assert.deepEqual(sharedServices(cfg(AA)).map((s) => s.name), ['app']);
  assert.deepEqual(sharedServices(cfg(AA.replace(', role: both', ''))).map((s) => s.name), []);
});

test('needs: sloppy_tcp, sloppy_sctp and schedule_icmp for shared services (settable), ip_forward for NAT (checked only)', () => {
  const n = sysctlNeeds(cfg(ECMP));
  assert.deepEqual(n.map((x) => [x.key, x.settable, x.services]), [
    ['net.ipv4.vs.sloppy_tcp', true, ['web']],
    ['net.ipv4.vs.sloppy_sctp', true, ['sig']],
    ['net.ipv4.vs.schedule_icmp', true, ['web', 'sig']],
    ['net.ipv4.ip_forward', false, ['other']],
  ]);
  assert.equal(n[0]!.why, 'web is announced by several directors: a director must accept the middle of a TCP connection another director started, not only a SYN');
  assert.equal(sysctlNeeds(cfg(AA))[0]!.why, 'app is active/active (lvs_sync_daemon role: both): a director must accept the middle of a TCP connection another director started, not only a SYN');
  // A plain VRRP pair with DR needs nothing; IPv6 NAT needs IPv6 forwarding.
  assert.deepEqual(sysctlNeeds(cfg(AA.replace(', role: both', ''))), []);
  const v6 = sysctlNeeds(cfg(`virtual_services:\n  - {name: w6, address: "[2001:db8::1]:80", forwarding: nat}\n`));
  assert.deepEqual(v6.map((x) => x.key), ['net.ipv6.conf.all.forwarding']);
});

test('plan: auto sets what it may, verify only reports, off does nothing; any non-zero value satisfies; a missing key is reported', () => {
  const needs = sysctlNeeds(cfg(ECMP));
  const now = new Map<string, string | undefined>([
    ['net.ipv4.vs.sloppy_tcp', '0'], ['net.ipv4.vs.sloppy_sctp', '2'], ['net.ipv4.vs.schedule_icmp', undefined], ['net.ipv4.ip_forward', '0'],
  ]);
  assert.deepEqual(planSysctls(needs, now, 'auto').map((a) => [a.key, a.action]), [
    ['net.ipv4.vs.sloppy_tcp', 'set'], ['net.ipv4.vs.sloppy_sctp', 'ok'], ['net.ipv4.vs.schedule_icmp', 'missing'], ['net.ipv4.ip_forward', 'wrong'],
  ]);
  assert.deepEqual(planSysctls(needs, now, 'verify').map((a) => a.action), ['wrong', 'ok', 'missing', 'wrong']);
  assert.deepEqual(planSysctls(needs, now, 'off'), []);
  assert.deepEqual(['1', '2', '-1', '0', '', 'x', undefined].map(satisfied), [true, true, true, false, false, false, false]);
});

function fakeProc(values: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'lvsd-sysctl-'));
  for (const [k, v] of Object.entries(values)) {
    mkdirSync(dirname(sysctlPath(k, root)), { recursive: true });
    writeFileSync(sysctlPath(k, root), `${v}\n`);
  }
  return root;
}

test('keeper: writes the settable ones, logs each change once (a second apply with nothing new logs nothing), keeps the outcome for /status', async () => {
  const root = fakeProc({ 'net.ipv4.vs.sloppy_tcp': '0', 'net.ipv4.vs.sloppy_sctp': '0', 'net.ipv4.vs.schedule_icmp': '0', 'net.ipv4.ip_forward': '0' });
  try {
    const logs: string[] = [];
    const k = new SysctlKeeper((level, m) => logs.push(`${level} ${m}`), root);
    const c = cfg(ECMP);
    const st = await k.apply(c);
    assert.equal(readFileSync(sysctlPath('net.ipv4.vs.sloppy_tcp', root), 'utf8'), '1\n');
    assert.equal(readFileSync(sysctlPath('net.ipv4.ip_forward', root), 'utf8'), '0\n', 'ip_forward is never written');
    assert.deepEqual(st.sysctls.map((e) => [e.key, e.state, e.value, e.was]), [
      ['net.ipv4.vs.sloppy_tcp', 'set', '1', '0'], ['net.ipv4.vs.sloppy_sctp', 'set', '1', '0'], ['net.ipv4.vs.schedule_icmp', 'set', '1', '0'], ['net.ipv4.ip_forward', 'wrong', '0', undefined],
    ]);
    assert.deepEqual(logs, [
      'info sysctl net.ipv4.vs.sloppy_tcp 0 -> 1: web is announced by several directors: a director must accept the middle of a TCP connection another director started, not only a SYN',
      'info sysctl net.ipv4.vs.sloppy_sctp 0 -> 1: sig is announced by several directors: a director must accept the middle of an SCTP association another director started, not only an INIT',
      'info sysctl net.ipv4.vs.schedule_icmp 0 -> 1: web, sig are announced by several directors: an ICMP error about a flow (path MTU discovery) may reach a director without its state, which must schedule it like the flow instead of dropping it',
      "warn sysctl net.ipv4.ip_forward is 0, needs 1: other forwards by NAT: the real servers' replies are routed through this director, which drops them unless it forwards (set it in /etc/sysctl.d/; lvsd does not make the host a router on its own); fix: echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/60-lvsd.conf && sysctl -p /etc/sysctl.d/60-lvsd.conf",
    ]);
    // Reload: nothing changed, nothing logged; the status still says lvsd set them.
    const again = await k.apply(c);
    assert.equal(logs.length, 4);
    assert.deepEqual(again.sysctls.map((e) => e.state), ['set', 'set', 'set', 'wrong']);
    // Someone sets sloppy_tcp back to 0: the next reload sets it again and says so.
    writeFileSync(sysctlPath('net.ipv4.vs.sloppy_tcp', root), '0\n');
    await k.apply(c);
    assert.equal(logs.length, 5);
    assert.match(logs[4]!, /^info sysctl net\.ipv4\.vs\.sloppy_tcp 0 -> 1: /);
    // And again at once (no apply saw it set in between): a new change, logged again.
    writeFileSync(sysctlPath('net.ipv4.vs.sloppy_tcp', root), '0\n');
    await k.apply(c);
    assert.equal(logs.length, 6);
    assert.match(logs[5]!, /^info sysctl net\.ipv4\.vs\.sloppy_tcp 0 -> 1: /);
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('keeper: verify writes nothing and warns; a key the kernel lacks is a warning, not a crash', async () => {
  const root = fakeProc({ 'net.ipv4.vs.sloppy_tcp': '0' });
  try {
    const logs: string[] = [];
    const k = new SysctlKeeper((level, m) => logs.push(`${level} ${m}`), root);
    const c = cfg(`global: {ipvs: {sysctls: verify}}\n${ECMP.replace('  - {name: sig, address: 203.0.113.10:2905, protocol: sctp, scheduler: mh, forwarding: dr}\n', '').replace('  - {name: other, address: 192.0.2.50:80, forwarding: nat}\n', '')}`);
    const st = await k.apply(c);
    assert.equal(readFileSync(sysctlPath('net.ipv4.vs.sloppy_tcp', root), 'utf8'), '0\n');
    assert.deepEqual(st.sysctls.map((e) => [e.key, e.state]), [['net.ipv4.vs.sloppy_tcp', 'wrong'], ['net.ipv4.vs.schedule_icmp', 'missing']]);
    assert.deepEqual(logs.map((l) => l.split(':')[0]), ['warn sysctl net.ipv4.vs.sloppy_tcp is 0, needs 1', 'warn sysctl net.ipv4.vs.schedule_icmp does not exist in this kernel']);
    assert.equal(st.sysctls[0]!.fix, 'run lvsd with global.ipvs.sysctls: auto (the default), which sets it, or: sysctl -w net.ipv4.vs.sloppy_tcp=1');
  } finally { rmSync(root, { recursive: true, force: true }); }
});
