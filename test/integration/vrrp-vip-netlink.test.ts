// SyncRtnetlink against a real kernel: the answer to an address add/remove is there as soon as the
// sendmsg returns (the kernel handles rtnetlink inside it), errors carry errno and the kernel's own
// extended-ACK text, and `ip addr` (iproute2, an independent reader) sees what was done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { IFA_F_NODAD } from '../../src/netlink/rtnetlink.js';
import { SyncRtnetlink, prepareAddressRequest } from '../../vrrp/vip-netlink.js';
import { canRunNetns, sh } from './vrrp-netns.js';

const skip = !canRunNetns() && 'needs root and ip netns';

test('VIP add/remove answered synchronously; EEXIST / EADDRNOTAVAIL with the kernel message; ip addr agrees', { skip }, (t) => {
  const ns = `lvvip${process.pid}`;
  sh(['ip', 'netns', 'add', ns]);
  t.after(() => sh(['ip', 'netns', 'del', ns], { allowFail: true }));
  sh(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
  sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  const ifindex = Number(/^(\d+):/.exec(sh(['ip', '-n', ns, '-o', 'link', 'show', 'eth0']))![1]);
  const addrs = () => spawnSync('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout;
  const nl = SyncRtnetlink.open({ netns: ns });
  t.after(() => nl.close());
  const v4 = { ifindex, address: '192.0.2.10', prefixLength: 24, label: 'eth0:vip' };
  const v6 = { ifindex, address: '2001:db8::10', prefixLength: 64, flags: IFA_F_NODAD };
  const add = [prepareAddressRequest('add', v4), prepareAddressRequest('add', v6)];
  const del = [prepareAddressRequest('remove', v4), prepareAddressRequest('remove', v6)];

  assert.deepEqual(nl.apply(add), [null, null]);
  const shown = addrs();
  assert.match(shown, /inet 192\.0\.2\.10\/24 .*eth0:vip/);
  assert.match(shown, /inet6 2001:db8::10\/64 /);
  assert.doesNotMatch(shown, /2001:db8::10\/64 .*tentative/, 'nodad');

  const again = nl.apply(add); // the same requests reused: only the sequence numbers change
  assert.equal(again[0]?.code, 'EEXIST');
  assert.equal(again[0]?.errno, 17);
  assert.equal(again[1]?.code, 'EEXIST');

  assert.deepEqual(nl.apply(del), [null, null]);
  assert.doesNotMatch(addrs(), /192\.0\.2\.10|2001:db8::10/);
  const gone = nl.apply(del);
  assert.equal(gone[0]?.code, 'EADDRNOTAVAIL');
  assert.equal(gone[1]?.code, 'EADDRNOTAVAIL');
  assert.deepEqual(nl.apply([]), []);

  // A bad interface index: the kernel refuses with its own words (extended ACK).
  const bad = nl.apply([prepareAddressRequest('add', { ...v4, ifindex: 9999 })]);
  assert.equal(bad[0]?.code, 'ENODEV');
  t.diagnostic(`ENODEV message: ${bad[0]?.message}`);
});
