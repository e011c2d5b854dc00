// lvsd import-keepalived: keepalived's top-level interface_up_down_delays block (keepalived.conf(5),
// "Interface up/down status change debouncing": `ifname down_delay [up_delay]` in seconds, up_delay
// defaulting to down_delay, at most 255 s) becomes global.interface_up_down_delays with the same meaning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertKeepalived } from './import-convert.js';

const convert = (text: string) => convertKeepalived(text);

const INSTANCE = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`;

test('interface_up_down_delays: down and up in seconds; up defaults to down (keepalived.conf(5))', () => {
  const r = convert(`interface_up_down_delays {
  eth0 0.5 2
  bond0 1.25
  eth1 0
}
${INSTANCE}`);
  assert.deepEqual(r.config.global.interface_up_down_delays, [
    { interface: 'eth0', down_delay: 500, up_delay: 2000 },
    { interface: 'bond0', down_delay: 1250, up_delay: 1250 },
    { interface: 'eth1', down_delay: 0, up_delay: 0 },
  ]);
  assert.ok(!r.notes.some((n) => /interface_up_down_delays/.test(n.message)), JSON.stringify(r.notes));
});

test('interface_up_down_delays: out of range, not a number, or microseconds: skipped or rounded, and said', () => {
  const r = convert(`interface_up_down_delays {
  eth0 256
  eth1 fast
  eth2 0.0005 1
}
${INSTANCE}`);
  assert.deepEqual(r.config.global.interface_up_down_delays, [{ interface: 'eth2', down_delay: 1, up_delay: 1000 }]);
  const notes = r.notes.map((n) => `${n.kind} ${n.line} ${n.message}`).join('\n');
  assert.match(notes, /skipped 2 interface_up_down_delays: 'eth0 256'/);
  assert.match(notes, /skipped 3 interface_up_down_delays: 'eth1 fast'/);
  assert.match(notes, /changed 4 interface_up_down_delays: eth2: 0.0005s rounded to 1 ms/);
});
