// Process tracking (issue #17): the connector codec judged on datagrams captured from the kernel (6.18,
// this host: a node process spawning `/bin/sh -c 'printf renamed > /proc/$$/comm; exec /bin/sh -c "exit 3"'`),
// matching as keepalived.conf(5) "VRRP track processes" describes it, the quorum debounce, and the tracker
// driven by events against a fake /proc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeProcDatagram, decodeProcEvent, encodeProcSubscribe, PROC_CN_MCAST_IGNORE, PROC_CN_MCAST_LISTEN,
} from '../../vrrp/proc-connector.js';
import {
  matchesProcess, parseCmdline, parseProcStat, ProcessTracker, QuorumDebounce, quorumOk, readProc, type ProcessSpec,
} from '../../vrrp/track-process.js';

const hex = (s: string) => Buffer.from(s, 'hex');
// Captured with a NETLINK_CONNECTOR socket bound to CN_IDX_PROC after PROC_CN_MCAST_LISTEN (parent 9103, child 9159).
const ACK = '4c00000003000000aa140000000000000100000001000000aa140000010000002800000000000000000000008375892425250000000000000000000000000000000000000000000000000000';
const FORK = '4c00000003000000cd140000000000000100000001000000cd140000000000002800000001000000000000000751e330252500008f2300008f230000c7230000c72300000000000000000000';
const EXEC = '4c00000003000000d1140000000000000100000001000000d1140000000000002800000002000000000000002425093225250000c7230000c723000000000000000000000000000000000000';
const COMM = '4c00000003000000d3140000000000000100000001000000d31400000000000028000000000200000000000062be363325250000c7230000c723000072656e616d6564000000000000000000';
const EXIT = '4c00000003000000d5140000000000000100000001000000d51400000000000028000000000000800000000077c6703425250000c7230000c723000000030000110000008f2300008f230000';

test('kernel datagrams: ack, fork, exec, comm, exit', () => {
  assert.deepEqual(decodeProcDatagram(hex(ACK)), [{ type: 'ack', err: 0 }]);
  const [fork] = decodeProcDatagram(hex(FORK));
  assert.deepEqual({ ...fork, timestampNs: undefined }, { type: 'fork', parentPid: 9103, parentTgid: 9103, childPid: 9159, childTgid: 9159, timestampNs: undefined });
  const [exec] = decodeProcDatagram(hex(EXEC));
  assert.equal(exec!.type, 'exec');
  assert.deepEqual([(exec as { pid: number }).pid, (exec as { tgid: number }).tgid], [9159, 9159]);
  const [comm] = decodeProcDatagram(hex(COMM));
  assert.equal((comm as { comm: string }).comm, 'renamed');
  const [exit] = decodeProcDatagram(hex(EXIT));
  // exit_code is the wait status: exit 3 -> 3 << 8; exit_signal SIGCHLD (17).
  assert.deepEqual({ ...exit, timestampNs: undefined }, { type: 'exit', pid: 9159, tgid: 9159, exitCode: 0x300, exitSignal: 17, timestampNs: undefined });
  // timestamps are nanoseconds since boot, increasing through the process's life
  assert.ok((fork as { timestampNs: bigint }).timestampNs < (exit as { timestampNs: bigint }).timestampNs);
});

test('subscribe message: nlmsghdr NLMSG_DONE + cn_msg {CN_IDX_PROC, CN_VAL_PROC, len 4} + op', () => {
  const m = encodeProcSubscribe(PROC_CN_MCAST_LISTEN);
  // The same 40 bytes the capture above subscribed with (and keepalived / the kernel sample send).
  assert.equal(m.toString('hex'), '28000000030000000000000000000000' + '0100000001000000000000000000000004000000' + '01000000');
  assert.equal(encodeProcSubscribe(PROC_CN_MCAST_IGNORE).readUInt32LE(36), 2);
});

test('short, foreign and truncated input is skipped, never thrown', () => {
  assert.deepEqual(decodeProcDatagram(Buffer.alloc(0)), []);
  assert.deepEqual(decodeProcDatagram(hex(EXIT).subarray(0, 30)), []); // cut inside the message
  const foreign = hex(EXEC); foreign.writeUInt32LE(7, 16); // CN_IDX_DM
  assert.deepEqual(decodeProcDatagram(foreign), []);
  const short = hex(EXIT); short.writeUInt16LE(20, 32); // cn_msg.len too small for an exit event
  assert.deepEqual(decodeProcDatagram(short), []);
  assert.equal(decodeProcEvent(Buffer.alloc(8)), null);
  assert.deepEqual(decodeProcEvent(Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.alloc(36)])), { type: 'other', what: 4 }); // PROC_EVENT_UID
  // 10,000 random datagrams: linear, no throw
  for (let i = 0; i < 10_000; i++) {
    const b = hex(FORK);
    b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
    decodeProcDatagram(b.subarray(0, Math.floor(Math.random() * b.length)));
  }
});

const spec = (o: Partial<ProcessSpec>): ProcessSpec => ({ name: 'p', process: 'haproxy', full_command: false, quorum: 1, fork_delay: 0, terminate_delay: 0, ...o });

test('matching: name exactly (pgrep ^name$), argv with params as keepalived.conf(5)', () => {
  assert.ok(matchesProcess(spec({}), { comm: 'haproxy', argv: null }));
  assert.ok(!matchesProcess(spec({ process: 'ssh' }), { comm: 'sshd', argv: null }));
  // comm is cut at 15 bytes by the kernel: a longer configured name matches its first 15
  assert.ok(matchesProcess(spec({ process: 'a-very-long-daemon-name' }), { comm: 'a-very-long-dae', argv: null }));
  const argv = ['/usr/sbin/haproxy', '-f', '/etc/haproxy/haproxy.cfg', '-Ws'];
  assert.ok(matchesProcess(spec({ process: '/usr/sbin/haproxy', full_command: true }), { comm: 'haproxy', argv }));
  assert.ok(!matchesProcess(spec({ process: 'haproxy', full_command: true }), { comm: 'haproxy', argv }));
  // params: exact by default
  assert.ok(!matchesProcess(spec({ process: '/usr/sbin/haproxy', params: ['-f', '/etc/haproxy/haproxy.cfg'] }), { comm: 'haproxy', argv }));
  assert.ok(matchesProcess(spec({ process: '/usr/sbin/haproxy', params: ['-f', '/etc/haproxy/haproxy.cfg', '-Ws'] }), { comm: 'haproxy', argv }));
  // partial: the first n exactly
  assert.ok(matchesProcess(spec({ process: '/usr/sbin/haproxy', params: ['-f', '/etc/haproxy/haproxy.cfg'], param_match: 'partial' }), { comm: 'haproxy', argv }));
  assert.ok(!matchesProcess(spec({ process: '/usr/sbin/haproxy', params: ['-f', '/etc/haproxy/hap'], param_match: 'partial' }), { comm: 'haproxy', argv }));
  // initial: the last may be longer
  assert.ok(matchesProcess(spec({ process: '/usr/sbin/haproxy', params: ['-f', '/etc/haproxy/hap'], param_match: 'initial' }), { comm: 'haproxy', argv }));
  // param_match without params: no arguments at all
  assert.ok(!matchesProcess(spec({ process: '/usr/sbin/haproxy', param_match: 'partial' }), { comm: 'haproxy', argv }));
  assert.ok(matchesProcess(spec({ process: '/usr/sbin/haproxy', param_match: 'partial' }), { comm: 'haproxy', argv: ['/usr/sbin/haproxy'] }));
  assert.ok(matchesProcess(spec({ process: '/usr/sbin/haproxy' , params: [] , param_match: undefined, full_command: true }), { comm: 'x', argv: ['/usr/sbin/haproxy'] }));
});

test('quorum and quorum_max', () => {
  assert.ok(!quorumOk(0, { quorum: 1 }));
  assert.ok(quorumOk(2, { quorum: 1 }));
  assert.ok(!quorumOk(2, { quorum: 1, quorum_max: 1 }));
  assert.ok(quorumOk(0, { quorum: 0, quorum_max: 0 }));
  assert.ok(!quorumOk(1, { quorum: 0, quorum_max: 0 }));
});

test('/proc parsing: comm with spaces and parentheses, zombies, cmdline', () => {
  assert.deepEqual(parseProcStat('123 (a) b)) S 1 123'), { comm: 'a) b)', state: 'S' });
  assert.deepEqual(parseProcStat('9 (Web Content) Z 1'), { comm: 'Web Content', state: 'Z' });
  assert.equal(parseProcStat('garbage'), null);
  assert.deepEqual(parseCmdline(Buffer.from('/bin/sleep\x0030\x00')), ['/bin/sleep', '30']);
  assert.deepEqual(parseCmdline(Buffer.alloc(0)), []);
  // this very process, from the real /proc
  const me = readProc(process.pid, true)!;
  assert.ok(me.argv!.length >= 1 && me.argv!.includes(process.argv[1]!));
  assert.ok(me.comm.length > 0 && me.comm.length <= 15);
});

test('debounce: first answer at once; terminate_delay holds a loss, fork_delay a gain by fork only', () => {
  const d = new QuorumDebounce({ fork_delay: 500, terminate_delay: 1000 });
  assert.deepEqual(d.observe(true, 'scan', 0), { changed: true, recheckAt: null });
  assert.deepEqual(d.observe(false, 'exit', 10), { changed: false, recheckAt: 1010 });
  assert.equal(d.up, true);
  // back before the delay: nothing happened
  assert.deepEqual(d.observe(true, 'fork', 500), { changed: false, recheckAt: null });
  assert.deepEqual(d.observe(false, 'exit', 600), { changed: false, recheckAt: 1600 });
  assert.deepEqual(d.observe(false, 'timer', 1600), { changed: true, recheckAt: null });
  assert.equal(d.up, false);
  assert.deepEqual(d.observe(true, 'fork', 2000), { changed: false, recheckAt: 2500 });
  assert.deepEqual(d.observe(true, 'timer', 2500), { changed: true, recheckAt: null });
  const e = new QuorumDebounce({ fork_delay: 500, terminate_delay: 0 });
  e.observe(false, 'scan', 0);
  assert.deepEqual(e.observe(true, 'exec', 1), { changed: true, recheckAt: null }); // an exec is no fork: at once
  assert.deepEqual(e.observe(false, 'exit', 2), { changed: true, recheckAt: null });
});

test('tracker on events, with a fake /proc: only the named PID is read again', () => {
  const root = mkdtempSync(join(tmpdir(), 'lvsd-proc-'));
  const proc = (pid: number, comm: string, state = 'S', argv = [comm]) => {
    mkdirSync(join(root, String(pid)), { recursive: true });
    writeFileSync(join(root, String(pid), 'stat'), `${pid} (${comm}) ${state} 1 ${pid} 0`);
    writeFileSync(join(root, String(pid), 'cmdline'), argv.join('\0') + '\0');
  };
  try {
    proc(1, 'init'); proc(10, 'nginx'); proc(11, 'nginx', 'Z');
    const changes: string[] = [];
    let now = 0;
    const t = new ProcessTracker((n, up) => changes.push(`${n}=${up}`), () => {}, { procRoot: root, now: () => now });
    // Not opening the kernel socket in a unit test: feed events by hand (sync() would open it).
    (t as unknown as { started: boolean }).started = true;
    t.sync([spec({ name: 'web', process: 'nginx', quorum: 2 }), spec({ name: 'one', process: 'nginx', quorum: 1, quorum_max: 1 })]);
    assert.deepEqual(changes, ['web=false', 'one=true']); // the zombie does not count
    proc(12, 'bash');
    t.handle({ type: 'fork', parentPid: 10, parentTgid: 10, childPid: 12, childTgid: 12, timestampNs: 0n });
    assert.deepEqual(changes.slice(2), ['web=true', 'one=false']); // a forked nginx child counts as nginx
    t.handle({ type: 'exec', pid: 12, tgid: 12, timestampNs: 0n }); // ... until it execs bash
    assert.deepEqual(changes.slice(4), ['web=false', 'one=true']);
    t.handle({ type: 'fork', parentPid: 10, parentTgid: 10, childPid: 13, childTgid: 10, timestampNs: 0n }); // a thread
    assert.equal(changes.length, 6);
    t.handle({ type: 'exit', pid: 10, tgid: 10, exitCode: 9, exitSignal: 17, timestampNs: 0n });
    assert.deepEqual(changes.slice(6), ['one=false']);
    t.handle({ type: 'comm', pid: 12, tgid: 12, comm: 'nginx', timestampNs: 0n }); // bash renamed itself nginx
    assert.deepEqual(changes.slice(7), ['one=true']);
    assert.equal(t.up('web'), false);
    t.stop();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
