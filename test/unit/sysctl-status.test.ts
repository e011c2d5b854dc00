// The sysctls in /status and `lvsd status` (src/control/status.ts): present only when the config
// needs one, each with its value, what lvsd did and, when unsatisfied, the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStatus, renderStatus } from '../../src/control/status.js';
import type { SysctlStatus } from '../../src/sysctl/keeper.js';
import { fakeTarget } from './control-fixture.js';

const status: SysctlStatus = {
  mode: 'auto',
  sysctls: [
    { key: 'net.ipv4.vs.sloppy_tcp', want: 1, value: '1', state: 'set', was: '0', why: 'w' },
    { key: 'net.ipv4.vs.schedule_icmp', want: 1, value: '1', state: 'ok', why: 'w' },
    { key: 'net.ipv4.ip_forward', want: 1, value: '0', state: 'wrong', why: 'w', fix: 'sysctl -w net.ipv4.ip_forward=1' },
  ],
};

test('/status carries the sysctls and lvsd status lists them; none needed, no section', async () => {
  const st = await buildStatus(fakeTarget({ sysctls: { status: () => status } }));
  assert.deepEqual(st.sysctls, status);
  const text = renderStatus(st);
  assert.ok(text.includes([
    'Sysctls (global.ipvs.sysctls: auto)',
    '  net.ipv4.vs.sloppy_tcp = 1: set by lvsd (was 0)',
    '  net.ipv4.vs.schedule_icmp = 1: ok',
    '  net.ipv4.ip_forward = 0: WRONG, needs 1; fix: sysctl -w net.ipv4.ip_forward=1',
  ].join('\n')), text);
  const none = await buildStatus(fakeTarget({ sysctls: { status: () => ({ mode: 'auto', sysctls: [] }) } }));
  assert.equal(none.sysctls, undefined);
  assert.doesNotMatch(renderStatus(none), /Sysctls/);
});
