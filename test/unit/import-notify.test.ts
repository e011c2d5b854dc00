// lvsd import-keepalived: notify_master_rx_lower_pri, notify_priority_changes and global_defs
// vrrp_notify_priority_changes (keepalived.conf(5)), converted with the same meaning or noted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertKeepalived } from './import-convert.js';
import { parseConfig } from '../../src/config/index.js';

function convert(text: string) {
  const r = convertKeepalived(text, () => true);
  // The script_user note (no script_user in global_defs) is another feature's.
  return { ...r, notes: r.notes.filter((n) => !/script_user/.test(n.message)) };
}

const instance = (name: string, vrid: number, body: string) => `vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid}
  priority 100
  virtual_ipaddress {
    192.0.2.${vrid}/24
  }
${body}
}
`;

test('notify_master_rx_lower_pri: the same command, run as keepalived runs it', () => {
  const r = convert(instance('VI_1', 1, '  notify_master_rx_lower_pri "/usr/local/bin/reclaim-ip eni-1"'));
  assert.deepEqual(r.config.vrrp_instances[0]!.notify, { master_rx_lower_pri: ['/usr/local/bin/reclaim-ip', 'eni-1'] });
  assert.equal(r.exitCode, 0);
});

test('notify_priority_changes on an instance with notify: priority_changes, noted (FIFO words go to the notify command)', () => {
  const r = convert(instance('VI_1', 1, '  notify /bin/n\n  notify_priority_changes'));
  assert.deepEqual(r.config.vrrp_instances[0]!.notify, { any: ['/bin/n'], priority_changes: true });
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[9, 'changed']]);
  assert.match(r.notes[0]!.message, /MASTER_PRIORITY \/ BACKUP_PRIORITY go to the notify command/);
});

test('global vrrp_notify_priority_changes applies to each instance unless it says otherwise; without notify it is left out, noted', () => {
  const r = convert(`global_defs {
  vrrp_notify_priority_changes true
}
${instance('VI_1', 1, '  notify /bin/n')}${instance('VI_2', 2, '  notify /bin/n\n  notify_priority_changes off')}${instance('VI_3', 3, '  notify_master /bin/m')}`);
  const [a, b, c] = r.config.vrrp_instances;
  assert.equal(a!.notify?.priority_changes, true);
  assert.equal(b!.notify?.priority_changes, undefined);
  assert.deepEqual(c!.notify, { master: ['/bin/m'] });
  assert.deepEqual(r.notes.map((n) => n.kind), ['changed', 'skipped']);
  assert.match(r.notes[1]!.message, /vrrp_instance VI_3: vrrp_notify_priority_changes: .* this instance has none; left out/);
});

test('notify_priority_changes with a value keepalived does not read as a boolean: skipped with a note', () => {
  const r = convert(instance('VI_1', 1, '  notify /bin/n\n  notify_priority_changes maybe'));
  assert.equal(r.config.vrrp_instances[0]!.notify?.priority_changes, undefined);
  assert.equal(r.notes[0]!.kind, 'skipped');
});

test("lvsd check: keepalived's notify keywords under notify get a hint; group-only misuse is refused", () => {
  const base = `vrrp_instances:
  - name: a
    interface: eth0
    vrid: 1
    virtual_ips: [192.0.2.1/24]
    notify:
      notify_master_rx_lower_pri: [/bin/r]
`;
  const r = parseConfig(base, 'x.yaml');
  assert.ok(!r.ok);
  assert.match(JSON.stringify(r.errors), /write 'master_rx_lower_pri'/);
  const g = parseConfig(`vrrp_instances:
  - { name: a, interface: eth0, vrid: 1, virtual_ips: [192.0.2.1/24] }
  - { name: b, interface: eth0, vrid: 2, virtual_ips: [192.0.2.2/24] }
vrrp_sync_groups:
  - name: g
    instances: [a, b]
    notify: { priority_changes: true, any: [/bin/n] }
`, 'x.yaml');
  assert.ok(!g.ok);
  assert.match(JSON.stringify(g.errors), /a group has no priority of its own/);
});
