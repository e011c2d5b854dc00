// Pure parts of the VRRP shell: GARP / unsolicited NA frames against keepalived's captured bytes,
// tracking arithmetic (keepalived's weight rules), rise/fall, notify argv, the precise timer's
// contract, and the channel's drop counting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { garpFrame, unsolicitedNaFrame } from '../../vrrp/announce.js';
import { effectivePriority } from '../../vrrp/engine.js';
import { notifyCommands } from '../../vrrp/notify.js';
import { lookupUser } from '../../src/scripts/run.js';
import { PreciseTimer } from '../../vrrp/precise-timer.js';
import { RiseFall } from '../../vrrp/track.js';
import { encodeAdvert } from '../../vrrp/packet.js';
import { tosByte, tosControl } from '../../vrrp/socket.js';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/vrrp/announce/keepalived.json', import.meta.url), 'utf8')) as {
  garp: { mac: string; vip: string; frame: string }; na: { mac: string; vip: string; frame: string };
};

test('unsolicited NA is byte for byte what keepalived sends (ICMPv6 checksum, O flag, hop limit 255, TLLA option)', () => {
  const f = unsolicitedNaFrame(vectors.na.mac, vectors.na.vip);
  assert.equal(f.toString('hex'), vectors.na.frame);
});

test('gratuitous ARP matches keepalived except the target hardware address (RFC 5227 §2.1.1: zero; keepalived: broadcast)', () => {
  const f = garpFrame(vectors.garp.mac, vectors.garp.vip);
  const ka = Buffer.from(vectors.garp.frame, 'hex');
  assert.equal(f.length, ka.length);
  assert.deepEqual(f.subarray(0, 32), ka.subarray(0, 32)); // Ethernet header, ARP header, sender MAC + IP
  assert.deepEqual(f.subarray(32, 38), Buffer.alloc(6));
  assert.deepEqual(f.subarray(38), ka.subarray(38)); // target IP = VIP
});

test('announce frames refuse bad input with TypeError', () => {
  assert.throws(() => garpFrame('02:00', '192.0.2.1'), TypeError);
  assert.throws(() => garpFrame('02:00:00:00:00:01', '2001:db8::1'), TypeError);
  assert.throws(() => unsolicitedNaFrame('02:00:00:00:00:01', '192.0.2.1'), TypeError);
});

test('effective priority follows keepalived: +weight while up, -|weight| while down, no weight = FAULT, clamped 1-254, owner fixed', () => {
  assert.deepEqual(effectivePriority(100, []), { priority: 100, fault: false });
  assert.deepEqual(effectivePriority(100, [{ weight: 20, up: true }, { weight: -30, up: false }]), { priority: 90, fault: false });
  assert.deepEqual(effectivePriority(100, [{ weight: 20, up: false }, { weight: -30, up: true }]), { priority: 100, fault: false });
  assert.deepEqual(effectivePriority(100, [{ weight: undefined, up: false }]), { priority: 100, fault: true });
  assert.deepEqual(effectivePriority(100, [{ weight: 0, up: true }]), { priority: 100, fault: false });
  assert.deepEqual(effectivePriority(250, [{ weight: 50, up: true }]), { priority: 254, fault: false });
  assert.deepEqual(effectivePriority(10, [{ weight: -50, up: false }]), { priority: 1, fault: false });
  assert.deepEqual(effectivePriority(255, [{ weight: -50, up: false }]), { priority: 255, fault: false });
  assert.deepEqual(effectivePriority(100, [{ weight: undefined, up: null }]), { priority: 100, fault: false }, 'unknown yet counts as nothing');
});

test('rise/fall: changes only after rise successes / fall failures in a row', () => {
  const rf = new RiseFall(2, 3);
  assert.equal(rf.result(true), null);
  assert.equal(rf.result(true), true);
  assert.equal(rf.result(false), true);
  assert.equal(rf.result(false), true);
  assert.equal(rf.result(true), true, 'a success resets the failure run');
  assert.equal(rf.result(false), true);
  assert.equal(rf.result(false), true);
  assert.equal(rf.result(false), false);
});

test('notify commands: per-state argv as configured, `any` with keepalived\'s INSTANCE|GROUP name STATE priority', () => {
  const cfg = { master: ['/bin/m'], backup: ['/bin/b', 'x'], any: ['/bin/n', '-v'] };
  assert.deepEqual(notifyCommands(cfg, 'INSTANCE', 'vi_1', 'master', 150), [['/bin/m'], ['/bin/n', '-v', 'INSTANCE', 'vi_1', 'MASTER', '150']]);
  assert.deepEqual(notifyCommands(cfg, 'GROUP', 'g', 'fault', 0), [['/bin/n', '-v', 'GROUP', 'g', 'FAULT', '0']]);
  assert.deepEqual(notifyCommands(cfg, 'INSTANCE', 'vi_1', 'stop', 0), [['/bin/n', '-v', 'INSTANCE', 'vi_1', 'STOP', '0']]);
  assert.deepEqual(notifyCommands(undefined, 'INSTANCE', 'x', 'backup', 1), []);
});

test('lookupUser reads /etc/passwd; unknown users are null', () => {
  assert.deepEqual(lookupUser('root'), { uid: 0, gid: 0 });
  assert.equal(lookupUser('no-such-user-lvsd'), null);
});

test('precise timer never fires early, re-arming replaces the deadline, cancel stops it', async () => {
  const fired: number[] = [];
  const t = new PreciseTimer(() => fired.push(performance.now()));
  const at = performance.now() + 30;
  t.arm(performance.now() + 5);
  t.arm(at);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! >= at, `fired ${(at - fired[0]!).toFixed(3)} ms early`);
  t.arm(performance.now() + 10);
  t.cancel();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(fired.length, 1);
  assert.equal(t.pending, false);
});

test('channel counts every drop by reason and delivers by VRID', { skip: process.getuid?.() !== 0 && 'needs root (raw socket)' }, async () => {
  const { VrrpChannel } = await import('../../vrrp/socket.js');
  const ch = new VrrpChannel({ ifname: 'lo', ifindex: 1, family: 'ipv6', joinGroup: false });
  try {
    const got: number[] = [];
    ch.handlers.set(7, (p) => got.push(p.priority));
    const msg = (vrid: number) => encodeAdvert({ version: 3, family: 'ipv6', vrid, priority: 150, advertIntervalMs: 100,
      addresses: ['2001:db8::10'], src: 'fe80::1', dst: 'ff02::12' });
    ch.receive(msg(7), 'fe80::1', 255, 'ff02::12');
    ch.receive(msg(7), 'fe80::1', 64, 'ff02::12');
    ch.receive(msg(9), 'fe80::1', 255, 'ff02::12');
    ch.receive(Uint8Array.of(0x31, 7), 'fe80::1', 255, 'ff02::12');
    const bad = msg(7); bad[6] ^= 0xff;
    ch.receive(bad, 'fe80::1', 255, 'ff02::12');
    assert.deepEqual(got, [150]);
    assert.equal(ch.drops.ttl_invalid, 1);
    assert.equal(ch.drops.vrid_unknown, 1);
    assert.equal(ch.drops.too_short, 1);
    assert.equal(ch.drops.checksum_invalid, 1);
  } finally { ch.close(); }
});

test('receive time: SO_TIMESTAMPNS mapped onto performance.now(), clamped to the last 5 ms, now without one', async () => {
  const { receiveTime } = await import('../../vrrp/socket.js');
  const ts = (realtimeMs: number) => {
    const b = Buffer.alloc(16);
    b.writeBigInt64LE(BigInt(Math.floor(realtimeMs / 1000)), 0);
    b.writeBigInt64LE(BigInt(Math.round((realtimeMs % 1000) * 1e6)), 8);
    return [{ level: 1, type: 35, data: b }];
  };
  const now = performance.now();
  const at = (msAgo: number) => receiveTime(ts(performance.timeOrigin + now - msAgo), now);
  assert.ok(Math.abs(at(1.25) - (now - 1.25)) < 0.01);
  assert.equal(at(60_000), now - 5, 'a clock step back is clamped');
  assert.equal(at(-60_000), now, 'never in the future');
  assert.equal(receiveTime([], now), now);
});

test('tosByte: DSCP in the upper six bits, ECN zero; default CS6 (0xc0, what keepalived 2.2.7 sends)', () => {
  assert.equal(tosByte(undefined), 0xc0);
  assert.equal(tosByte(48), 0xc0);
  assert.equal(tosByte(46), 0xb8); // EF
  assert.equal(tosByte(0), 0);
  assert.equal(tosByte(63), 0xfc);
});

test('tosControl: IP_TOS (SOL_IP 1) / IPV6_TCLASS (SOL_IPV6 67) as an int, as ip_cmsg_send and ip6_datagram_send_ctl read it', () => {
  assert.deepEqual(tosControl(true, 0xb8), { level: 0, type: 1, data: Buffer.from([0xb8, 0, 0, 0]) });
  assert.deepEqual(tosControl(false, 0x28), { level: 41, type: 67, data: Buffer.from([0x28, 0, 0, 0]) });
});
