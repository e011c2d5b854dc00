// The daemon's pure parts: the state file, the sync-daemon role and records, the fault policy, the
// lvs_sync_daemon / state_file config keys, and `lvsd run`'s exit code on a bad file. The kernel
// side (IPVS, VRRP, the sync daemon in the kernel) is in test/integration/daemon.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/index.js';
import { formatState, parseState, readState, writeState } from '../../src/daemon/state-file.js';
import { SyncDaemonFollower, syncDaemonRecords, syncRoleFor } from '../../src/daemon/sync-daemon.js';
import { FaultBudget } from '../../src/daemon/faults.js';
import { IP_VS_STATE_BACKUP, IP_VS_STATE_MASTER } from '../../ipvs/constants.js';
import type { IpvsDaemon } from '../../ipvs/daemon.js';
import type { IpvsOp } from '../../ipvs/reconcile.js';

const lvsd = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));

const INSTANCE = `
vrrp_instances:
  - name: VI_1
    interface: eth0
    vrid: 51
    virtual_ips: [192.0.2.10/24]
`;

test('state file: round trip, sorted and deduplicated; corrupt files give a reason, a missing one is empty', async () => {
  const s = parseState(formatState({ owned: ['b', 'a'] }));
  assert.deepEqual(s, { ok: true, state: { owned: ['a', 'b'] } });
  assert.deepEqual(parseState('{"version":1,"owned":["x","x"]}'), { ok: true, state: { owned: ['x'] } });
  for (const [text, why] of [['', /not JSON/], ['[]', /not a JSON object/], ['{"version":2,"owned":[]}', /version 2/], ['{"version":1,"owned":[1]}', /not a list of strings/]] as const) {
    const r = parseState(text);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, why);
  }
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-state-'));
  const path = join(dir, 'sub', 'state.json');
  assert.deepEqual(await readState(path), { ok: true, state: { owned: [] }, missing: true });
  await writeState(path, { owned: ['tcp 192.0.2.10:80'] });
  assert.deepEqual(await readState(path), { ok: true, state: { owned: ['tcp 192.0.2.10:80'] } });
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).version, 1);
});

test('sync daemon: MASTER runs a sync master, every other state a sync backup; sync_id defaults to the VRID', () => {
  assert.equal(syncRoleFor('master'), 'master');
  for (const s of ['backup', 'fault', 'initialize']) assert.equal(syncRoleFor(s), 'backup');
  assert.deepEqual(syncDaemonRecords({ interface: 'eth1', instance: 'VI_1' }, 51, 'master'), [{ state: IP_VS_STATE_MASTER, mcastIfn: 'eth1', syncId: 51 }]);
  assert.deepEqual(
    syncDaemonRecords({ interface: 'eth1', instance: 'VI_1', sync_id: 7, maxlen: 1400, port: 8849, ttl: 2, group: { address: '239.1.1.1', family: 4 } }, 51, 'backup'),
    [{ state: IP_VS_STATE_BACKUP, mcastIfn: 'eth1', syncId: 7, syncMaxlen: 1400, mcastPort: 8849, mcastTtl: 2, mcastGroup: '239.1.1.1' }],
  );
});

/** The kernel's sync daemons as a list the fake client edits (ops are applied as the kernel would). */
function fakeKernel(initial: IpvsDaemon[] = [], fail?: (op: IpvsOp) => boolean) {
  const daemons = [...initial];
  const sent: string[] = [];
  return {
    daemons, sent,
    client: {
      daemons: async () => daemons.map((d) => ({ ...d })),
      apply: async (ops: IpvsOp[]) => ops.map((op) => {
        if (op.kind !== 'IPVS_CMD_NEW_DAEMON' && op.kind !== 'IPVS_CMD_DEL_DAEMON') throw new Error('unexpected op');
        sent.push(`${op.kind === 'IPVS_CMD_NEW_DAEMON' ? 'new' : 'del'} ${op.daemon.state === IP_VS_STATE_MASTER ? 'master' : 'backup'}`);
        if (fail?.(op)) return { ok: false as const, error: Object.assign(new Error('EEXIST'), { isRace: false }) as never };
        const i = daemons.findIndex((d) => d.state === op.daemon.state);
        if (op.kind === 'IPVS_CMD_DEL_DAEMON') daemons.splice(i, 1); else daemons.push(op.daemon);
        return { ok: true as const };
      }),
    },
  };
}

test('sync daemon follower: backup at start, master on MASTER (backup stopped), back on BACKUP; stop removes only what lvsd started', async () => {
  const k = fakeKernel();
  const logs: string[] = [];
  const f = new SyncDaemonFollower(k.client, (_l, m) => logs.push(m));
  const cfg = { interface: 'eth1', instance: 'VI_1' };
  await f.configure(cfg, 51, 'backup');
  assert.deepEqual(k.daemons.map((d) => d.state), [IP_VS_STATE_BACKUP]);
  await f.follow('master');
  assert.deepEqual(k.daemons.map((d) => d.state), [IP_VS_STATE_MASTER]);
  assert.deepEqual(k.sent, ['new backup', 'new master', 'del backup']);
  await f.follow('fault');
  assert.deepEqual(k.daemons.map((d) => d.state), [IP_VS_STATE_BACKUP]);
  assert.equal(f.status.role, 'backup');
  // A quick MASTER -> BACKUP -> MASTER lands on the last wish.
  await Promise.all([f.follow('master'), f.follow('backup'), f.follow('master')]);
  assert.deepEqual(k.daemons.map((d) => d.state), [IP_VS_STATE_MASTER]);
  await f.stop();
  assert.deepEqual(k.daemons, []);
  assert.match(logs.join('\n'), /master on eth1 \(sync id 51\)/);

  // Without the key, the kernel's own sync daemons (started by someone else) are left alone.
  const foreign = fakeKernel([{ state: IP_VS_STATE_BACKUP, mcastIfn: 'eth9', syncId: 3 }]);
  const g = new SyncDaemonFollower(foreign.client, () => {});
  await g.configure(undefined, 0, undefined);
  await g.stop();
  assert.deepEqual(foreign.sent, []);
});

test('sync daemon follower: a kernel error is logged and kept in status, never thrown', async () => {
  const k = fakeKernel([], (op) => op.kind === 'IPVS_CMD_NEW_DAEMON');
  const logs: string[] = [];
  const f = new SyncDaemonFollower(k.client, (level, m) => logs.push(`${level} ${m}`));
  await f.configure({ interface: 'eth1', instance: 'VI_1' }, 51, 'master');
  assert.match(f.status.lastError ?? '', /EEXIST/);
  assert.match(logs.join('\n'), /^error IPVS sync daemon: cannot become master: EEXIST/m);
});

test('fault budget: five in a minute are tolerated, the sixth is not; old ones expire', () => {
  const b = new FaultBudget(5, 60_000);
  for (let i = 0; i < 5; i++) assert.equal(b.spend(i * 1000), true);
  assert.equal(b.spend(5000), false);
  assert.equal(b.spend(70_000), true); // the ones at 0-9 s have left the window
});

test('config: lvs_sync_daemon must follow a defined instance; group must be multicast; state_file has a default', () => {
  const ok = parseConfig(`global:\n  lvs_sync_daemon: { interface: eth1, instance: VI_1, sync_id: 51, ttl: 1, group: 224.0.0.81 }\n${INSTANCE}`, 'x.yaml');
  assert.equal(ok.ok, true, JSON.stringify(!ok.ok && ok.errors));
  if (ok.ok) {
    assert.equal(ok.config.global.state_file, '/var/lib/lvsd/state.json');
    assert.equal(ok.config.global.lvs_sync_daemon?.sync_id, 51);
  }
  const bad = parseConfig(`global:\n  state_file: state.json\n  lvs_sync_daemon: { interface: eth1, instance: VI_9, syncid: 3, group: 10.0.0.1 }\n${INSTANCE}`, 'x.yaml');
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    const msgs = bad.errors.map((e) => `${e.line}:${e.path}: ${e.message}`).join('\n');
    assert.match(msgs, /2:global\.state_file: .*must be an absolute path/);
    assert.match(msgs, /global\.lvs_sync_daemon\.syncid: unknown key; write 'sync_id'/);
  }
  const unknown = parseConfig(`global:\n  lvs_sync_daemon: { interface: eth1, instance: VI_9, group: 10.0.0.1 }\n${INSTANCE}`, 'x.yaml');
  assert.equal(unknown.ok, false);
  if (!unknown.ok) {
    const msgs = unknown.errors.map((e) => `${e.line}:${e.path}: ${e.message}`).join('\n');
    assert.match(msgs, /2:global\.lvs_sync_daemon\.instance: unknown VRRP instance 'VI_9'; defined: 'VI_1'/);
    assert.match(msgs, /global\.lvs_sync_daemon\.group: 10\.0\.0\.1 is not a multicast address/);
  }
});

test('lvsd run: an invalid file exits 78 (EX_CONFIG) with every error as file:line:col, and starts nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-run-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, `vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    vrid: 300\n    virtual_ips: [192.0.2.10/24]\n`);
  const r = spawnSync(process.execPath, [lvsd, 'run', '-c', file], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 78, r.stderr);
  assert.match(r.stderr, new RegExp(`^${file}:4:11: vrrp_instances\\[0\\]\\.vrid: `, 'm'));
  assert.match(r.stderr, /not started/);
  const missing = spawnSync(process.execPath, [lvsd, 'run', '-c', join(dir, 'none.yaml')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(missing.status, 78);
  assert.match(missing.stderr, /cannot read: no such file/);
});

test('VRRP engine lines become structured records: transitions carry instance/from/to/reason/priority; failures are warnings', async () => {
  const { vrrpLogRecord } = await import('../../src/daemon/vrrp-log.js');
  assert.deepEqual(vrrpLogRecord('VI_1: backup -> master (master-down-timer) priority 100'),
    { level: 'info', fields: { instance: 'VI_1', from: 'backup', to: 'master', reason: 'master-down-timer', priority: 100 } });
  assert.equal(vrrpLogRecord('VI_1: master -> backup (higher-priority-advert) priority 100').level, 'warn');
  assert.equal(vrrpLogRecord('VI_1: master -> initialize (shutdown) priority 100').level, 'info');
  assert.equal(vrrpLogRecord('VI_1: backup -> fault (interface) priority 100').level, 'warn');
  assert.deepEqual(vrrpLogRecord('VI_1: add 192.0.2.10: Operation not permitted'), { level: 'warn', fields: { instance: 'VI_1' } });
  assert.deepEqual(vrrpLogRecord('VI_1: advert to 224.0.0.18 failed: ENETUNREACH'), { level: 'warn', fields: { instance: 'VI_1' } });
  assert.deepEqual(vrrpLogRecord('notify /usr/local/bin/n: exit 3'), { level: 'warn', fields: {} });
  assert.deepEqual(vrrpLogRecord('track script chk: cannot run: ENOENT'), { level: 'warn', fields: {} });
});
