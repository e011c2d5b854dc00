// A subscription that overflows must not take lvsd down (npm's netlink@0.3.0 aborts the process here):
// flood address events while the event loop is blocked into a socket with a tiny receive buffer, and
// check that the consumer is told to resync, re-dumps, ends with the kernel's state (judged by ip -j),
// and keeps receiving events afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Rtnetlink, watchRtnetlink, NetlinkSocketError, NetlinkSubscription, NetlinkDecodeError, encodeMessage, NLMSG_ERROR,
  type RtnlEvent, type NetlinkMessage,
} from '../../src/netlink/index.js';
import { Socket, AF_NETLINK, SOCK_RAW, NETLINK_USERSOCK, NETLINK_ROUTE } from '../../src/native/index.js';

test('an overflowing subscription signals resync, the consumer re-dumps to the right state, and events keep flowing', async (t) => {
  const ns = `lvsd-t-${randomBytes(4).toString('hex')}`;
  const batchFile = join(tmpdir(), `${ns}.batch`);
  const ip = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  execFileSync('ip', ['netns', 'add', ns]);
  const rt = Rtnetlink.open({ netns: ns });
  let sub: ReturnType<typeof watchRtnetlink> | undefined;
  try {
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('link', 'set', 'v0', 'up');
    const ifindex = (await rt.listLinks()).find((l) => l.name === 'v0')!.index;

    // The consumer: a set of IPv4 addresses on v0, kept by events, rebuilt by a dump on resync.
    const state = new Set<string>();
    let resyncs = 0, events = 0, dumping = false;
    const during: RtnlEvent[] = [];
    const apply = (e: RtnlEvent) => {
      if (e.kind !== 'address' || e.address.ifindex !== ifindex || e.address.family !== 'inet') return;
      if (e.action === 'new') state.add(e.address.address); else state.delete(e.address.address);
    };
    let resyncDone: Promise<void> = Promise.resolve();
    sub = watchRtnetlink({
      event(e) { events++; if (dumping) during.push(e); else apply(e); },
      resync() {
        resyncs++;
        dumping = true;
        resyncDone = rt.listAddresses({ family: 'inet', ifindex }).then((list) => {
          state.clear();
          for (const a of list) state.add(a.address);
          // Events seen while dumping are replayed on top: adds and removes are idempotent.
          for (const e of during.splice(0)) apply(e);
          dumping = false;
        });
      },
    }, { netns: ns, receiveBuffer: 4096 });

    // 3000 changes while this process cannot read: 1500 adds, then 1300 of them removed again.
    const lines: string[] = [];
    for (let i = 0; i < 1500; i++) lines.push(`addr add 10.${20 + (i >> 8)}.${i & 255}.1/32 dev v0`);
    for (let i = 0; i < 1300; i++) lines.push(`addr del 10.${20 + (i >> 8)}.${i & 255}.1/32 dev v0`);
    writeFileSync(batchFile, lines.join('\n') + '\n');
    execFileSync('ip', ['-n', ns, '-batch', batchFile]); // blocks the event loop

    const deadline = Date.now() + 10_000;
    while (resyncs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(resyncs >= 1, 'no resync was signalled');
    assert.ok(sub.overflows >= 1);
    t.diagnostic(`3000 changes; ${events} events delivered, ${sub.overflows} overflow(s), ${resyncs} resync(s)`);
    await resyncDone;
    await new Promise((r) => setTimeout(r, 100));
    await resyncDone;

    const theirs = new Set((JSON.parse(ip('-j', '-4', 'addr', 'show', 'dev', 'v0')) as { addr_info: { local: string }[] }[])[0]!.addr_info.map((a) => a.local));
    assert.equal(theirs.size, 200);
    assert.deepEqual([...state].sort(), [...theirs].sort());

    // Still alive and still listening.
    const before = events;
    ip('addr', 'add', '192.0.2.250/32', 'dev', 'v0');
    while (!state.has('192.0.2.250') && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 10));
    assert.ok(state.has('192.0.2.250'));
    assert.ok(events > before);
  } finally {
    sub?.close();
    rt.close();
    rmSync(batchFile, { force: true });
    execFileSync('ip', ['netns', 'del', ns]);
  }
});

test('dumps the kernel marks interrupted (NLM_F_DUMP_INTR) are retried and never returned half-changed', async (t) => {
  const ns = `lvsd-t-${randomBytes(4).toString('hex')}`;
  const batchFile = join(tmpdir(), `${ns}.batch`);
  execFileSync('ip', ['netns', 'add', ns]);
  const rt = Rtnetlink.open({ netns: ns });
  let churn: ReturnType<typeof spawn> | undefined;
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    // Enough addresses that one dump spans several datagrams, so changes can land between them.
    writeFileSync(batchFile, Array.from({ length: 3000 }, (_, i) => `addr add 10.50.${i >> 8}.${i & 255}/32 dev v0`).join('\n') + '\n');
    execFileSync('ip', ['-n', ns, '-batch', batchFile]);
    churn = spawn('bash', ['-c', `while ip -n ${ns} addr add 10.99.0.1/32 dev v0 && ip -n ${ns} addr del 10.99.0.1/32 dev v0; do :; done`], { stdio: 'ignore' });
    let dumps = 0, exhausted = 0;
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      try {
        const list = await rt.listAddresses({ family: 'inet' });
        dumps++;
        assert.equal(list.filter((a) => a.address.startsWith('10.50.')).length, 3000);
      } catch (e) {
        // Only when the table kept changing through every retry, and then said plainly.
        assert.ok(e instanceof NetlinkSocketError && e.code === 'EINTR', String(e));
        exhausted++;
      }
    }
    t.diagnostic(`${dumps} complete dumps, ${rt.socket.dumpRetries} retries, ${exhausted} gave up after 5 retries`);
    assert.ok(rt.socket.dumpRetries > 0, 'the churn never interrupted a dump');
    assert.ok(dumps > 0);
  } finally {
    churn?.kill();
    rt.close();
    rmSync(batchFile, { force: true });
    execFileSync('ip', ['netns', 'del', ns]);
  }
});

test('malformed datagrams are reported, never thrown; datagrams from other processes are ignored unless asked for', async () => {
  const got: NetlinkMessage[] = [];
  const errors: Error[] = [];
  const handlers = { message: (m: NetlinkMessage) => got.push(m), resync: () => undefined, error: (e: Error) => errors.push(e) };
  const open = NetlinkSubscription.open(NETLINK_USERSOCK, [], handlers, { acceptFromUserspace: true });
  const strict = NetlinkSubscription.open(NETLINK_USERSOCK, [], handlers);
  const rt = Rtnetlink.open();
  const peer = Socket.open(AF_NETLINK, SOCK_RAW, NETLINK_USERSOCK);
  const routePeer = Socket.open(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  try {
    peer.bind({ family: 'netlink' });
    routePeer.bind({ family: 'netlink' });
    const valid = encodeMessage({ type: 0x20, flags: 0, seq: 1, payload: Buffer.from('ok!!') });
    const garbage = [Buffer.from('0500000000'), Buffer.from('ffffffff000000000000000000000000', 'hex'), Buffer.alloc(3), valid.subarray(0, 18)];
    for (const g of [...garbage, valid]) {
      peer.send(g, { to: { family: 'netlink', pid: open.portId } });
      peer.send(g, { to: { family: 'netlink', pid: strict.portId } });
    }
    // A forged ACK and garbage to a request socket: ignored (not from the kernel), requests still work.
    routePeer.send(Buffer.concat([encodeMessage({ type: NLMSG_ERROR, flags: 0, seq: 1, payload: Buffer.alloc(20) }), Buffer.alloc(5)]),
      { to: { family: 'netlink', pid: rt.socket.portId } });
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.length, 1, 'the strict subscription must ignore userspace datagrams');
    assert.equal(got[0]!.payload.toString(), 'ok!!');
    assert.equal(errors.length, garbage.length); // each one reported once, by the subscription that accepts them
    assert.ok(errors.every((e) => e instanceof NetlinkDecodeError));
    assert.ok((await rt.listLinks()).some((l) => l.name === 'lo'));
  } finally {
    open.close(); strict.close(); rt.close(); peer.close(); routePeer.close();
  }
});
