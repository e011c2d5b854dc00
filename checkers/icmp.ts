// PING_CHECK: an ICMP / ICMPv6 echo request; up when the matching echo reply comes back within the timeout.
//
// Raw sockets (SOCK_RAW, IPPROTO_ICMP / IPPROTO_ICMPV6), not ping datagram sockets: lvsd runs with
// CAP_NET_RAW, while ping sockets (SOCK_DGRAM, IPPROTO_ICMP, as keepalived uses) work only for groups in
// net.ipv4.ping_group_range, which is "1 0" (nobody) on Debian by default and a host setting lvsd should
// not depend on. Raw sockets also see the ICMP errors routers send about our requests.
//
// Many checks, few sockets: one raw socket per (family, source, fwmark, interface), shared by every probe
// in flight through it, with one poll; it is opened by the first probe and closed when the last one in
// flight ends. A raw ICMP socket receives a copy of every ICMP message the host gets (other processes'
// pings too), so replies are matched on the sender (the probed address), the identifier (one random
// 16-bit number per lvsd process), the sequence (one per probe in flight on the socket, never two alike)
// and the payload (a random cookie per probe); errors on the echo request they quote (destination,
// identifier, sequence). ICMP_FILTER / ICMP6_FILTER keep everything but echo replies and errors in the
// kernel.
import { randomBytes, randomInt } from 'node:crypto';
import {
  AF_INET, AF_INET6, addressBytes, formatAddress, ICMP6_FILTER, ICMP_FILTER, IPPROTO_ICMP, IPPROTO_ICMPV6, SO_BINDTODEVICE, SO_MARK,
  SOCK_RAW, SOL_RAW, SOL_SOCKET, Socket,
} from '../src/native/index.js';
import { deadline, type Deadline } from './deadline.js';
import { decodeIcmp, encodeEchoRequest, icmp6Filter, icmpFilter } from './icmp-packet.js';
import { describeSocketError, down, formatMs, up, type CheckOutcome, type CheckTarget } from './outcome.js';
import { expire, type ProbeRoute } from './tcp.js';

export interface IcmpProbeOptions extends Omit<ProbeRoute, 'sourcePort'> {
  timeout: number;
  /** Payload bytes after the 8-byte ICMP header (ping's -s; default 56). */
  size: number;
}

/** This process's echo identifier. */
export const ECHO_ID = randomInt(0, 0x10000);
/** Datagrams read per wake-up of a shared socket at most (it is polled again at once if more wait). */
const READS_PER_WAKEUP = 64;

interface Pending {
  to: string;
  payload: Buffer;
  finish: (r: CheckOutcome) => void;
}

/** Where probes leave from, as the shared socket's key. */
function socketKey(family: 4 | 6, o: IcmpProbeOptions): string {
  return JSON.stringify([family, o.sourceAddress ?? '', o.fwmark ?? 0, o.bindInterface ?? '']);
}

/** Matches replies and errors to the probes in flight on one socket: pure bookkeeping, no I/O (tested directly). */
export class EchoTable {
  readonly pending = new Map<number, Pending>();
  private nextSeq = randomInt(0, 0x10000);

  constructor(readonly family: 4 | 6, readonly id: number) {}

  /** A free sequence number, or undefined when all 65,536 are in flight. */
  allocate(): number | undefined {
    if (this.pending.size >= 0x10000) return undefined;
    while (this.pending.has(this.nextSeq)) this.nextSeq = (this.nextSeq + 1) & 0xffff;
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) & 0xffff;
    return seq;
  }

  /** Handles one received packet: settles the probe it answers (true), or ignores it (false). */
  receive(bytes: Buffer, from?: string): boolean {
    const m = decodeIcmp(this.family, bytes, from);
    if (!m) return false;
    if (m.kind === 'echo-reply') {
      if (m.id !== this.id) return false;
      const p = this.pending.get(m.seq);
      if (!p || p.to !== m.from || !m.payload.equals(p.payload)) return false;
      this.pending.delete(m.seq);
      p.finish(up());
      return true;
    }
    if (m.kind === 'error' && m.quoted && m.quoted.id === this.id) {
      const p = this.pending.get(m.quoted.seq);
      if (!p || p.to !== m.quoted.to) return false;
      this.pending.delete(m.quoted.seq);
      p.finish(down(m.reason));
      return true;
    }
    return false;
  }
}

class SharedEchoSocket {
  readonly table: EchoTable;
  private readonly sock: Socket;

  constructor(readonly key: string, readonly family: 4 | 6, o: IcmpProbeOptions, private readonly onIdle: () => void) {
    this.table = new EchoTable(family, ECHO_ID);
    const v6 = family === 6;
    const sock = Socket.open(v6 ? AF_INET6 : AF_INET, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    try {
      if (v6) sock.setsockopt(IPPROTO_ICMPV6, ICMP6_FILTER, icmp6Filter());
      else {
        const mask = Buffer.alloc(4);
        mask.writeUInt32LE(icmpFilter(), 0);
        sock.setsockopt(SOL_RAW, ICMP_FILTER, mask);
      }
      if (o.fwmark) sock.setsockopt(SOL_SOCKET, SO_MARK, o.fwmark | 0);
      if (o.bindInterface) sock.setsockopt(SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(`${o.bindInterface}\0`));
      if (o.sourceAddress !== undefined) sock.bind({ family: v6 ? 'inet6' : 'inet', address: o.sourceAddress });
      sock.onReadable(() => this.readable(), { keepAlive: false });
    } catch (e) {
      sock.close();
      throw e;
    }
    this.sock = sock;
  }

  private readable(): void {
    for (let i = 0; i < READS_PER_WAKEUP; i++) {
      let r;
      try {
        // An IPv4 error quotes at most 576 bytes (RFC 1812 4.3.2.3), an ICMPv6 one the minimum MTU; a
        // reply is at most the header plus our payload: 64 KiB holds either, and longer is cut (and then
        // does not match).
        r = this.sock.recv({ size: 65_536 });
      } catch {
        continue; // a socket error (e.g. an ICMP error for a raw socket without IP_RECVERR): nothing to read
      }
      if (!r) break;
      const from = r.from.family === 'inet' || r.from.family === 'inet6' ? r.from.address : undefined;
      this.table.receive(r.data, from);
    }
    this.maybeIdle();
  }

  /** Sends one echo request; `finish` is called once, by a reply, an error, or the caller's timeout (settle). */
  send(to: string, size: number, finish: (r: CheckOutcome) => void): number | undefined {
    const seq = this.table.allocate();
    if (seq === undefined) { finish(down('too many pings in flight')); return undefined; }
    const payload = echoPayload(size);
    this.table.pending.set(seq, { to, payload, finish });
    try {
      const sent = this.sock.send(encodeEchoRequest(this.family, ECHO_ID, seq, payload), { to: { family: this.family === 6 ? 'inet6' : 'inet', address: to } });
      if (sent === null) this.settle(seq, down('send buffer full'));
    } catch (e) {
      this.settle(seq, down(describeSocketError(e)));
    }
    return seq;
  }

  /** Ends a probe from outside (its timeout): forgets its sequence number. */
  settle(seq: number, r: CheckOutcome): void {
    const p = this.table.pending.get(seq);
    if (!p) return;
    this.table.pending.delete(seq);
    p.finish(r);
    this.maybeIdle();
  }

  maybeIdle(): void {
    if (this.table.pending.size === 0) {
      this.sock.close();
      this.onIdle();
    }
  }
}

/** The payload of one echo request: a random 8-byte cookie, then ping's pattern (0x10, 0x11, ...). */
export function echoPayload(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i + 8) & 0xff;
  randomBytes(Math.min(8, size)).copy(b, 0);
  return b;
}

const sockets = new Map<string, SharedEchoSocket>();

/** Sockets open now (for tests: 0 once every probe has ended). */
export function openEchoSockets(): number { return sockets.size; }

export function probeIcmp(t: CheckTarget, o: IcmpProbeOptions): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    const key = socketKey(t.family, o);
    let shared = sockets.get(key);
    if (!shared) {
      try {
        const s: SharedEchoSocket = new SharedEchoSocket(key, t.family, o, () => { if (sockets.get(key) === s) sockets.delete(key); });
        shared = s;
      } catch (e) {
        resolve(down(describeSocketError(e)));
        return;
      }
      sockets.set(key, shared);
    }
    const s = shared;
    let timer: Deadline | undefined;
    let done = false;
    const finish = (r: CheckOutcome) => {
      if (done) return;
      done = true;
      timer?.cancel();
      resolve(r);
    };
    // The probed address as the kernel writes a sender, so a reply's source compares as a string.
    const to = formatAddress(addressBytes(t.address));
    const seq = s.send(to, o.size, finish);
    if (seq === undefined || done) { s.maybeIdle(); return; }
    timer = deadline(o.timeout, () => expire(() => s.settle(seq, down(`no reply after ${formatMs(o.timeout)}`))));
  });
}
