// DNS_CHECK: one query (name, type, class IN) to the real server, over UDP (default) or TCP; up when the
// response's ID and question match, its RCODE is an accepted one, and its answer section holds every
// expected address. The codec is dns-message.ts; here are the sockets and the deadline.
//
// UDP: a fresh socket (random source port) and a random 16-bit ID per probe, connect()ed to the target,
// so the kernel reports an ICMP port unreachable for it as ECONNREFUSED on the next receive (udp(7)):
// "ICMP port unreachable" at once instead of silence until the timeout. Datagrams that are not a response
// to this query (another ID, QR clear, shorter than a header) are ignored, as keepalived ignores them; the
// deadline bounds how long. A reply with TC set (RFC 1035 §4.2.1: more than 512 bytes) is asked again
// over TCP within the same deadline, as resolvers do (RFC 7766 §5); keepalived, UDP only, judges the
// truncated reply by its RCODE. The socket is libuv's UDP handle (see udpWrap below); with a source
// address/port, SO_MARK or SO_BINDTODEVICE it is node:dgram's, bound first (so it has a descriptor; the
// options are set through the addon) before it connects.
//
// TCP (RFC 1035 §4.2.2, RFC 7766): a two-byte length, then the message, each way; the reply is read up to
// its announced length (at most 65,535 bytes), then the connection is closed. Connections come from
// net.connect, or from the addon when a source, fwmark or interface is set (tcp.ts connectRouted).
import { randomFillSync } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { addon, SO_BINDTODEVICE, SO_MARK, SOL_SOCKET } from '../src/native/index.js';
import type { TcpConnect } from '../src/native/connect.js';
import { deadline, type Deadline } from './deadline.js';
import { encodeQuery, judgeResponse, parseHeader, parseMessage, UDP_MAX_BYTES, type DnsExpect, type DnsQuery } from './dns-message.js';
import { describeSocketError, down, timedOut, up, type CheckOutcome, type CheckTarget } from './outcome.js';
import { connectRouted, expire, routed, type ProbeRoute } from './tcp.js';
import { udpWrap, type UdpWrapBinding } from './udp-wrap.js';

export interface DnsProbeOptions extends ProbeRoute {
  timeout: number;
  /** The question: name and type (class IN); the ID is drawn per probe. */
  query: Omit<DnsQuery, 'id'>;
  transport: 'udp' | 'tcp';
  expect: DnsExpect;
}

/** IDs from the system's CSPRNG, drawn 2,048 at a time (one getrandom call, not one per probe). */
const ids = new Uint16Array(2048);
let idsLeft = 0;
function randomId(): number {
  if (idsLeft === 0) { randomFillSync(ids); idsLeft = ids.length; }
  return ids[--idsLeft]!;
}

/** Encoded queries by the check's options object (the runner builds it once per check). */
const templates = new WeakMap<DnsProbeOptions, Buffer>();

/** A probe in flight: one deadline across the UDP attempt and a TCP retry after a truncated reply. */
class DnsAttempt {
  private done = false;
  private readonly timer: Deadline;
  /** Closes whatever socket the current step holds. */
  cleanup: (() => void) | undefined;
  readonly query: DnsQuery;
  readonly bytes: Buffer;

  constructor(readonly t: CheckTarget, readonly o: DnsProbeOptions, private readonly resolve: (r: CheckOutcome) => void) {
    this.query = { ...o.query, id: randomId() };
    // The query's bytes are encoded once per check; each probe copies them with its own ID.
    let template = templates.get(o);
    if (!template) templates.set(o, template = encodeQuery({ ...o.query, id: 0 }));
    this.bytes = Buffer.from(template);
    this.bytes.writeUInt16BE(this.query.id, 0);
    this.timer = deadline(o.timeout, () => expire(() => this.finish(timedOut(o.timeout))));
  }

  get finished(): boolean { return this.done; }

  finish(r: CheckOutcome): void {
    if (this.done) return;
    this.done = true;
    this.timer.cancel();
    const c = this.cleanup;
    this.cleanup = undefined;
    c?.();
    this.resolve(r);
  }

  /** The verdict on a whole response whose ID and QR matched. */
  judge(msg: Uint8Array, prefix = ''): CheckOutcome {
    const p = parseMessage(msg);
    const reason = p.ok ? judgeResponse(this.query, p.message, this.o.expect) : p.reason;
    return reason === undefined ? up() : down(prefix + reason);
  }
}

export function probeDns(t: CheckTarget, o: DnsProbeOptions): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    let a: DnsAttempt;
    try {
      a = new DnsAttempt(t, o, resolve);
    } catch (e) {
      resolve(down(`bad query: ${(e as Error).message}`)); // the config's validation refuses such names first
      return;
    }
    if (o.transport === 'tcp') startTcp(a, ''); else startUdp(a);
  });
}

/** The socket's errors as an operator reads them: ECONNREFUSED on a connected UDP socket is the ICMP error. */
function udpError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'ICMP port unreachable';
  if (code === 'EHOSTUNREACH') return 'ICMP host unreachable';
  if (code === 'ENETUNREACH') return 'ICMP network unreachable';
  return describeSocketError(e);
}

/** Node keeps a dgram socket's handle under a symbol ('state symbol'); its fd exists once bound. */
function udpFd(s: UdpSocket): number | undefined {
  const sym = Object.getOwnPropertySymbols(s).find((x) => x.description === 'state symbol');
  const state = sym ? (s as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>)[sym] : undefined;
  const fd = state?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** A datagram on the probe's socket: the response to this query is judged; anything else is ignored. */
function onDatagram(a: DnsAttempt, msg: Buffer): void {
  if (a.finished) return;
  const h = parseHeader(msg);
  if (!h || h.id !== a.query.id || !h.qr) return; // not the response to this query: keep waiting
  // The socket gives a datagram whole, however long; a DNS server without EDNS sends at most 512 bytes.
  if (msg.length > UDP_MAX_BYTES) { a.finish(down(`reply longer than ${UDP_MAX_BYTES} bytes (got ${msg.length})`)); return; }
  if (h.tc) {
    a.cleanup?.();
    startTcp(a, 'over TCP after a truncated reply: ');
    return;
  }
  a.finish(a.judge(msg));
}



function startUdpHandle(a: DnsAttempt, b: UdpWrapBinding): void {
  const { t } = a;
  const v6 = t.family === 6;
  const handle = new b.UDP();
  a.cleanup = () => handle.close();
  // nread < 0: a libuv error (negative errno) from recvmsg; on a connected socket ECONNREFUSED is the ICMP error.
  const fail = (status: number) => {
    let code: string;
    try { code = getSystemErrorName(status); } catch { code = `errno ${-status}`; }
    a.finish(down(udpError({ code })));
  };
  handle.onmessage = (nread, _h, buf) => { if (nread < 0) fail(nread); else if (buf) onDatagram(a, buf); };
  let err = v6 ? handle.connect6(t.address, t.port) : handle.connect(t.address, t.port);
  if (err === 0) err = handle.recvStart();
  if (err === 0) {
    const req = new b.SendWrap();
    req.oncomplete = (status) => { if (status < 0) fail(status); };
    err = v6 ? handle.send6(req, [a.bytes], 1, true) : handle.send(req, [a.bytes], 1, true);
    if (err > 0) err = 0; // sent at once (the byte count); oncomplete is not called then
  }
  if (err < 0) fail(err);
}

function startUdp(a: DnsAttempt): void {
  const { t, o } = a;
  if (udpWrap && !routed(o)) { startUdpHandle(a, udpWrap); return; }
  const sock = createSocket({ type: t.family === 6 ? 'udp6' : 'udp4', reuseAddr: o.sourcePort !== undefined });
  a.cleanup = () => { try { sock.close(); } catch { /* already closed */ } };
  sock.on('error', (e) => a.finish(down(udpError(e))));
  sock.on('message', (msg: Buffer) => onDatagram(a, msg));
  const send = () => {
    sock.connect(t.port, t.address, () => {
      if (!a.finished) sock.send(a.bytes, (e) => { if (e) a.finish(down(udpError(e))); });
    });
  };
  if (!routed(o)) { send(); return; }
  sock.bind({ address: o.sourceAddress ?? (t.family === 6 ? '::' : '0.0.0.0'), port: o.sourcePort ?? 0 }, () => {
    if (a.finished) return;
    try {
      if (o.fwmark !== undefined || o.bindInterface !== undefined) {
        const fd = udpFd(sock);
        if (fd === undefined) { a.finish(down('fwmark and bind_interface need a UDP socket descriptor this Node does not expose')); return; }
        if (o.fwmark !== undefined) addon.setsockopt(fd, SOL_SOCKET, SO_MARK, o.fwmark);
        if (o.bindInterface !== undefined) addon.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(`${o.bindInterface}\0`));
      }
    } catch (e) {
      a.finish(down(describeSocketError(e)));
      return;
    }
    send();
  });
}

/** `prefix` goes before every failure reason (after a truncated UDP reply, the reader should know TCP spoke). */
function startTcp(a: DnsAttempt, prefix: string): void {
  const { t, o } = a;
  const framed = Buffer.alloc(2 + a.bytes.length);
  framed.writeUInt16BE(a.bytes.length, 0);
  a.bytes.copy(framed, 2);
  const fail = (e: unknown) => a.finish(down(prefix + describeSocketError(e)));
  const talk = (sock: Socket) => {
    a.cleanup = () => sock.destroy();
    const chunks: Buffer[] = [];
    let have = 0, want = -1;
    sock.on('error', fail);
    sock.on('data', (chunk: Buffer) => {
      if (a.finished) return;
      chunks.push(chunk);
      have += chunk.length;
      if (want < 0 && have >= 2) {
        const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
        want = head.readUInt16BE(0);
      }
      if (want < 0 || have < 2 + want) return; // at most 2 + 65,535 bytes are kept
      const msg = Buffer.concat(chunks, have).subarray(2, 2 + want);
      const h = parseHeader(msg);
      if (!h) { a.finish(down(`${prefix}reply shorter than a DNS header (got ${msg.length} bytes)`)); return; }
      if (h.id !== a.query.id) { a.finish(down(`${prefix}reply for another query (got ID ${h.id}, sent ${a.query.id})`)); return; }
      if (!h.qr) { a.finish(down(`${prefix}not a response (QR clear)`)); return; }
      a.finish(a.judge(msg, prefix)); // TC over TCP (a reply cut at 65,535 bytes) is judged as it is
    });
    sock.on('end', () => a.finish(down(`${prefix}connection closed ${have ? 'in the middle of the reply' : 'without a reply'}`)));
    sock.write(framed);
  };
  if (!routed(o)) {
    const sock = connect({ host: t.address, port: t.port, family: t.family, noDelay: true });
    a.cleanup = () => sock.destroy();
    sock.once('connect', () => { if (!a.finished) talk(sock); });
    sock.on('error', fail);
    return;
  }
  let conn: TcpConnect | undefined;
  a.cleanup = () => conn?.close({ reset: o.sourcePort !== undefined });
  try {
    conn = connectRouted(t, o, (err) => {
      if (a.finished) return;
      if (err) { fail(err); return; }
      let sock: Socket;
      try {
        // A fixed source port must not be left in TIME_WAIT, or the next probe's connect fails.
        if (o.sourcePort !== undefined) conn!.resetOnClose();
        sock = new Socket({ fd: conn!.detach(), readable: true, writable: true });
      } catch (e) {
        fail(e);
        return;
      }
      talk(sock);
    });
  } catch (e) {
    fail(e);
  }
}
