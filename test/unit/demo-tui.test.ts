// The demo's terminal view as a pure function (src/demo/tui.ts renderView and the state builders):
// what a person sees for a given state, without a lab or a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderView, visibleLength, instancesFrom, realServersFrom, loadFrom, directorConfig, type ViewState } from '../../src/demo/tui.js';
import type { ControlStatus, VrrpStatus, ServerStatus } from '../../src/control/status.js';
import { natLayout } from '../../src/demo/nat.js';
import { drLayout } from '../../src/demo/dr.js';

function state(over: Partial<ViewState> = {}): ViewState {
  return {
    layout: 'nat', description: 'LVS-NAT pair', elapsedMs: 83_000,
    instances: [
      { name: 'public', vips: ['192.0.2.10'], master: 'director1', states: { director1: 'master', director2: 'backup' } },
      { name: 'gateway', vips: ['10.0.1.1'], master: 'director1', states: { director1: 'master', director2: 'backup' } },
    ],
    directors: [
      { name: 'director1', role: 'master', source: 'lvsd', metricsUrl: 'http://127.0.0.1:19641/metrics', statusUrl: 'http://127.0.0.1:19651/status', syncDaemons: ['master', 'backup'] },
      { name: 'director2', role: 'backup', source: 'lvsd', metricsUrl: 'http://127.0.0.1:19642/metrics', statusUrl: 'http://127.0.0.1:19652/status', syncDaemons: ['master', 'backup'] },
    ],
    realServers: [
      { name: 'rs1', endpoint: '10.0.1.11:80', running: true, broken: false, up: true, reason: 'status 200', inKernel: true, weight: 1, activeConns: 3, inactConns: 12 },
      { name: 'rs2', endpoint: '10.0.1.12:80', running: false, broken: false, up: false, reason: 'connection refused', inKernel: false, weight: null, activeConns: null, inactConns: null },
      { name: 'rs3', endpoint: '10.0.1.13:80', running: true, broken: true, up: false, reason: 'status 500', inKernel: false, weight: null, activeConns: null, inactConns: null },
    ],
    load: { rps: 79.6, ok: 6400, failed: 2, p50: 3, p99: 12, servers: { rs1: 3200, rs3: 3200 }, long: { conn: 1, open: true, exchanges: 812, total: 812, lastAt: 0, breaks: 0 }, recentFailures: ['09:30:01.123 new ECONNRESET'] },
    events: ['09:30:00 kill -9 director2 (links down): the backup takes over'],
    busy: undefined, killed: undefined,
    ...over,
  };
}

test('plain rendering: instances with their master, directors with localhost URLs, real servers with reasons, load, keys', () => {
  const text = renderView(state(), { width: 140, color: false }).join('\n');
  assert.match(text, /^lvsd demo: nat/);
  assert.match(text, /running 1:23/);
  assert.match(text, /^public +192\.0\.2\.10 +director1 +MASTER +backup/m);
  assert.match(text, /^gateway +10\.0\.1\.1 +director1 +MASTER +backup/m);
  assert.match(text, /^director1 +MASTER +master\+backup +http:\/\/127\.0\.0\.1:19641\/metrics +http:\/\/127\.0\.0\.1:19651\/status$/m);
  assert.match(text, /^rs1 +10\.0\.1\.11:80 +up +w=1 +3\/12 +running +status 200$/m);
  assert.match(text, /^rs2 +10\.0\.1\.12:80 +DOWN +no +- +stopped +connection refused$/m);
  assert.match(text, /^rs3 +10\.0\.1\.13:80 +DOWN +no +- +answers 500 +status 500$/m);
  assert.match(text, /client +80 req\/s +ok 6400 +failed 2 +p50 3 ms +p99 12 ms/);
  assert.match(text, /answered by: rs1 3200  rs3 3200/);
  assert.match(text, /long-lived connection #1: open, 812 exchanges \(0 breaks\)/);
  assert.match(text, /09:30:01\.123 new ECONNRESET/);
  assert.match(text, /k kill the master +1 2 3 stop\/start rs1-rs3 +b break\/fix a real server \(HTTP 500\) +q quit/);
  assert.match(text, /09:30:00 kill -9 director2/);
  assert.doesNotMatch(text, /\x1b/);
});

test('after a kill: r restarts the killed director, no master is shown loudly, the kernel view is labelled', () => {
  const s = state({
    killed: 'director1', busy: 'restarting director1',
    instances: [{ name: 'public', vips: ['192.0.2.10'], master: undefined, states: { director1: 'down', director2: 'backup' } }],
    directors: [
      { name: 'director1', role: 'down', source: 'kernel', syncDaemons: [] },
      { name: 'director2', role: 'backup', source: 'lvsd', syncDaemons: ['backup'] },
    ],
    load: undefined,
  });
  const text = renderView(s, { width: 140, color: false }).join('\n');
  assert.match(text, /^public +192\.0\.2\.10 +none +DOWN +backup/m);
  assert.match(text, /^director1 +DOWN +- +- +- \(kernel view\)$/m);
  assert.match(text, /… restarting director1/);
  assert.match(text, /r restart director1/);
  assert.doesNotMatch(text, /k kill the master/);
  assert.match(text, /client: starting/);
});

test('colour: escapes only around words, every row fits the width, rows fit the height', () => {
  const lines = renderView(state(), { width: 60, color: true, height: 20 });
  assert.ok(lines.length <= 20);
  for (const l of lines) assert.ok(visibleLength(l) <= 60, `${visibleLength(l)}: ${JSON.stringify(l)}`);
  const all = lines.join('\n');
  assert.match(all, /\x1b\[1;32mMASTER\x1b\[0m/);
  assert.match(all, /\x1b\[1;31mDOWN\x1b\[0m/);
  // A cut row ends with an ellipsis and a style reset, so colour never leaks to the next row.
  const cut = lines.find((l) => l.includes('…') && l.includes('\x1b['));
  if (cut) assert.match(cut, /…\x1b\[0m$/);
});

const vrrp = (name: string, st: string): VrrpStatus => ({
  name, vrid: 10, version: 3, interface: 'eth0', family: 4, state: st, priority: 150, basePriority: 150, configuredPriority: 150,
  masterAddress: null, vips: [], lastTransition: null, faultCauses: [],
  counters: { advertsSent: 0, advertsReceived: 0, becameMaster: 0, announcements: 0, vipErrors: 0, drops: {}, notes: {} },
});
const server = (s: string, up: boolean, reason: string): ServerStatus => ({
  server: s, address: s.split(':')[0]!, port: 80, up, reason, weight: up ? 1 : 0, configuredWeight: 1, drained: false, checks: ['http'],
  changedAt: null, inKernel: up, kernelWeight: up ? 1 : null, activeConns: up ? 2 : null, inactConns: up ? 5 : null,
});
const status = (states: Record<string, string>, servers: ServerStatus[] = []): ControlStatus => ({
  routerId: 'd', pid: 1, startedAt: '', uptimeSeconds: 5, configHash: '', reloads: { success: 0, failure: 0 },
  vrrp: Object.entries(states).map(([n, s]) => vrrp(n, s)),
  ipvs: { version: 0x10200, connTabSize: 4096, error: null },
  services: [{ name: 'web', endpoint: 'TCP 192.0.2.10:80', quorum: null, sorryServer: null, kernel: null, servers }],
  otherServices: [],
});

test('instances: the directors\' own states; a silent director counts as master only if the kernel shows it holding the VIP', () => {
  const configured = [{ name: 'public', vips: ['192.0.2.10'] }];
  assert.deepEqual(instancesFrom(configured, { director1: status({ public: 'MASTER' }), director2: status({ public: 'BACKUP' }) }, {}), [
    { name: 'public', vips: ['192.0.2.10'], master: 'director1', states: { director1: 'master', director2: 'backup' } },
  ]);
  assert.deepEqual(instancesFrom(configured, { director1: undefined, director2: status({ public: 'MASTER' }) }, { director1: [] }), [
    { name: 'public', vips: ['192.0.2.10'], master: 'director2', states: { director1: 'down', director2: 'master' } },
  ]);
  // Split brain is shown, not hidden.
  assert.equal(instancesFrom(configured, { director1: undefined, director2: status({ public: 'MASTER' }) }, { director1: ['192.0.2.10'] })[0]!.master, 'director1+director2');
});

test('real servers: lvsd\'s verdict and reason when a director answers, else presence in the kernel table', () => {
  const rs = [{ name: 'rs1', endpoint: '10.0.1.11:80', running: true, broken: false }, { name: 'rs2', endpoint: '10.0.1.12:80', running: false, broken: false }];
  const fromLvsd = realServersFrom(rs, status({}, [server('10.0.1.11:80', true, 'check passed'), server('10.0.1.12:80', false, 'connection refused')]), undefined);
  assert.deepEqual(fromLvsd.map((r) => [r.name, r.up, r.reason, r.inKernel, r.activeConns]), [['rs1', true, 'check passed', true, 2], ['rs2', false, 'connection refused', false, null]]);
  const kernel = [{ service: 'TCP 192.0.2.10:80', scheduler: 'rr', destinations: [{ server: '10.0.1.11:80', forward: 'Masq', weight: 1, active: 4, inactive: 0 }] }];
  const fromKernel = realServersFrom(rs, undefined, kernel);
  assert.deepEqual(fromKernel.map((r) => [r.name, r.up, r.reason, r.inKernel, r.weight, r.activeConns]), [['rs1', null, null, true, 1, 4], ['rs2', null, null, false, null, null]]);
});

test('load view: the last tick, the total failures and the last three failures with their time', () => {
  assert.equal(loadFrom(undefined, []), undefined);
  const tick = { ev: 'tick' as const, t: 0, ok: 10, failed: 1, rps: 40, p50: 2, p99: 9, max: 10, servers: { rs1: 10 }, long: { conn: 1, open: true, exchanges: 3, total: 3, lastAt: 0, breaks: 0 } };
  const fails = [1, 2, 3, 4].map((i) => ({ t: Date.UTC(2026, 0, 1, 9, 0, i), kind: 'new', reason: `E${i}` }));
  const v = loadFrom(tick, fails, 4)!;
  assert.equal(v.failed, 4);
  assert.deepEqual(v.recentFailures, ['09:00:02.000 new E2', '09:00:03.000 new E3', '09:00:04.000 new E4']);
});

test('directorConfig reads instances, metrics port and control socket from both layouts\' files', () => {
  const nat = directorConfig('director1', natLayout.configFor('director1', { preempt: true, dir: '/tmp/lab' }));
  assert.deepEqual(nat, {
    name: 'director1', metricsPort: 9641, controlPath: '/tmp/lab/director1.sock',
    instances: [{ name: 'public', vips: ['192.0.2.10'] }, { name: 'gateway', vips: ['10.0.1.1'] }],
  });
  const dr = directorConfig('director2', drLayout.configFor('director2', { preempt: false, dir: '/x' }));
  assert.deepEqual(dr.instances, [{ name: 'public', vips: ['192.0.2.10'] }]);
  assert.equal(dr.controlPath, '/x/director2.sock');
});
