// The benchmark's ftrace reader (test/integration/vrrp-ftrace.ts) on lines the kernel wrote: a lone
// lvsd director (pid 24283) becoming master, recorded with the same events and filters
// (6.18 kernel, trace_clock mono). Its VIP add is the two netlink events; then the GARP on eth0,
// which the bridge floods to the other ports (pc, pb) in the same context.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrace, vipToAnnounceMs } from '../integration/vrrp-ftrace.js';

const TRACE = `# tracer: nop
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
            node-24283   [001] b.s1. 12577.519036: net_dev_start_xmit: dev=pc queue_mapping=0 skbaddr=000000002a74e940 vlan_tagged=0 vlan_proto=0x0000 vlan_tci=0x0000 protocol=0x0800 ip_summed=0 len=46 data_len=0 network_offset=14 transport_offset_valid=1 transport_offset=34 tx_flags=0 gso_size=0 gso_segs=0 gso_type=0x0
              ip-12762   [000] ..... 12577.519100: sk_data_ready: family=16 protocol=0 func=sock_def_readable
            node-24283   [001] .N... 12577.519155: sk_data_ready: family=16 protocol=0 func=sock_def_readable
            node-24283   [001] .N... 12577.519181: sk_data_ready: family=16 protocol=0 func=sock_def_readable
            node-24283   [001] bn... 12577.519875: net_dev_start_xmit: dev=eth0 queue_mapping=0 skbaddr=000000007db8a26c vlan_tagged=0 vlan_proto=0x0000 vlan_tci=0x0000 protocol=0x0806 ip_summed=0 len=42 data_len=0 network_offset=14 transport_offset_valid=1 transport_offset=14 tx_flags=0 gso_size=0 gso_segs=0 gso_type=0x0
            node-24283   [001] bNs1. 12577.519883: net_dev_start_xmit: dev=pc queue_mapping=0 skbaddr=00000000e0c65f9a vlan_tagged=0 vlan_proto=0x0000 vlan_tci=0x0000 protocol=0x0806 ip_summed=0 len=42 data_len=0 network_offset=14 transport_offset_valid=1 transport_offset=14 tx_flags=0 gso_size=0 gso_segs=0 gso_type=0x0
`;

test('parseTrace keeps the given threads only, with ms times, device, protocol and length', () => {
  const ev = parseTrace(TRACE, new Set([24283]));
  assert.equal(ev.length, 5);
  assert.deepEqual(ev[0], { pid: 24283, t: 12577519.036, event: 'xmit', dev: 'pc', protocol: 0x0800, len: 46 });
  assert.deepEqual(ev[1], { pid: 24283, t: 12577519.155, event: 'netlink' });
  assert.equal(ev[3]!.dev, 'eth0');
  assert.equal(parseTrace(TRACE, new Set([1])).length, 0);
});

test('vipToAnnounceMs: the earliest netlink event of the add -> the first GARP', () => {
  const r = vipToAnnounceMs(parseTrace(TRACE, new Set([24283])), 'ipv4');
  assert.ok(r);
  assert.equal(Math.round(r.ms * 1000), 720); // 519.875 - 519.155
  assert.equal(vipToAnnounceMs(parseTrace(TRACE, new Set([24283])), 'ipv6'), null, 'no NA in this trace');
});

test('vipToAnnounceMs: netlink work long before the announcement (start-up) is not the add', () => {
  const ev = [
    { pid: 1, t: 100, event: 'netlink' as const },
    { pid: 1, t: 400, event: 'netlink' as const },
    { pid: 1, t: 400.05, event: 'netlink' as const },
    { pid: 1, t: 400.25, event: 'xmit' as const, dev: 'eth0', protocol: 0x86dd, len: 86 },
  ];
  assert.equal(Math.round(vipToAnnounceMs(ev, 'ipv6')!.ms * 1000), 250);
  assert.equal(vipToAnnounceMs([{ pid: 1, t: 0, event: 'netlink' }, { pid: 1, t: 60, event: 'xmit', protocol: 0x0806, len: 42 }], 'ipv4'), null, 'more than 50 ms apart');
});
