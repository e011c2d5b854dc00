// lvs_sync_daemon role: both (issue #14): an active/active pair runs the kernel's sync master and
// sync backup at once, whatever its VRRP states, so each director sends its connections and receives
// the other's. follow stays keepalived's behaviour (test/unit/daemon.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { SyncDaemonFollower, syncDaemonRecords, syncDaemonsWanted } from '../../src/daemon/sync-daemon.js';
import { IP_VS_STATE_BACKUP, IP_VS_STATE_MASTER } from '../../ipvs/constants.js';
import type { IpvsDaemon } from '../../ipvs/daemon.js';
import type { IpvsOp } from '../../ipvs/reconcile.js';

test('records: both gives a master and a backup with the same settings, master first; follow gives one', () => {
  const cfg = { interface: 'eth0', instance: 'vip1', role: 'both' as const, sync_id: 9, port: 8849 };
  assert.deepEqual(syncDaemonRecords(cfg, 1, 'both'), [
    { state: IP_VS_STATE_MASTER, mcastIfn: 'eth0', syncId: 9, mcastPort: 8849 },
    { state: IP_VS_STATE_BACKUP, mcastIfn: 'eth0', syncId: 9, mcastPort: 8849 },
  ]);
  assert.deepEqual(syncDaemonRecords({ interface: 'eth0', instance: 'vip1' }, 1, 'backup'), [{ state: IP_VS_STATE_BACKUP, mcastIfn: 'eth0', syncId: 1 }]);
});

test('wanted: both whatever the state; follow (or no role) by the state', () => {
  for (const s of ['master', 'backup', 'fault', 'initialize']) assert.equal(syncDaemonsWanted({ interface: 'eth0', instance: 'v', role: 'both' }, s), 'both');
  assert.equal(syncDaemonsWanted({ interface: 'eth0', instance: 'v', role: 'follow' }, 'master'), 'master');
  assert.equal(syncDaemonsWanted({ interface: 'eth0', instance: 'v' }, 'fault'), 'backup');
});

function fakeKernel(initial: IpvsDaemon[] = []) {
  const daemons = [...initial];
  const sent: string[] = [];
  return {
    daemons, sent,
    client: {
      daemons: async () => daemons.map((d) => ({ ...d })),
      apply: async (ops: IpvsOp[]) => ops.map((op) => {
        if (op.kind !== 'IPVS_CMD_NEW_DAEMON' && op.kind !== 'IPVS_CMD_DEL_DAEMON') throw new Error('unexpected op');
        sent.push(`${op.kind === 'IPVS_CMD_NEW_DAEMON' ? 'new' : 'del'} ${op.daemon.state === IP_VS_STATE_MASTER ? 'master' : 'backup'}`);
        const i = daemons.findIndex((d) => d.state === op.daemon.state);
        if (op.kind === 'IPVS_CMD_DEL_DAEMON') daemons.splice(i, 1); else daemons.push(op.daemon);
        return { ok: true as const };
      }),
    },
  };
}

test('follower with both: starts both, state changes touch nothing, a reload to follow drops the role the state does not want, stop removes both', async () => {
  const k = fakeKernel();
  const logs: string[] = [];
  const f = new SyncDaemonFollower(k.client, (_l, m) => logs.push(m));
  const both = { interface: 'eth0', instance: 'vip1', role: 'both' as const };
  await f.configure(both, 1, 'backup');
  assert.deepEqual(k.sent, ['new master', 'new backup']);
  assert.equal(f.status.role, 'both');
  assert.deepEqual(logs, ['IPVS sync daemon: master and backup on eth0 (sync id 1)']);
  await f.follow('master');
  await f.follow('fault');
  await f.follow('backup');
  assert.deepEqual(k.sent, ['new master', 'new backup'], 'VRRP transitions do not restart the daemons');
  await f.configure({ ...both, role: 'follow' }, 1, 'master');
  assert.deepEqual(k.daemons.map((d) => d.state), [IP_VS_STATE_MASTER]);
  await f.configure(both, 1, 'master');
  assert.deepEqual(k.daemons.map((d) => d.state).sort(), [IP_VS_STATE_MASTER, IP_VS_STATE_BACKUP].sort());
  await f.stop();
  assert.deepEqual(k.daemons, []);
});

test('config: role defaults to follow; only follow or both', () => {
  const base = `vrrp_instances:\n  - {name: v, interface: eth0, vrid: 1, virtual_ips: [192.0.2.10/24]}\nglobal:\n  lvs_sync_daemon: {interface: eth0, instance: v`;
  const r = parseConfig(`${base}}\n`, 'a.yaml');
  assert.ok(r.ok);
  assert.equal(r.config.global.lvs_sync_daemon?.role, 'follow');
  const bad = parseConfig(`${base}, role: master}\n`, 'b.yaml');
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`), ["4:57 global.lvs_sync_daemon.role: 'master' is not one of: follow, both"]);
});
