// Netlink transport: requests matched to their answers by sequence number, dumps, batches, and
// subscriptions that survive overflow. Protocol payloads (rtnetlink, genl, IPVS) are built elsewhere
// with AttributeWriter; this module only frames, sends, receives and matches.
//
//   const nl = NetlinkSocket.open(NETLINK_ROUTE, { netns?: 'name' | '/proc/PID/ns/net' });
//   await nl.request({ type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_EXCL, payload })
//       -> NetlinkMessage[] (replies before the ACK; [] for a plain ACK). NLM_F_REQUEST | NLM_F_ACK are added.
//       Rejects with NetlinkError { code: 'EEXIST', errno: 17, kernelMessage: 'ipv4: Address already assigned' },
//       NetlinkTimeoutError (code 'ETIMEDOUT') or NetlinkSocketError (code 'EBADF': closed; 'ENOBUFS': the
//       answer was lost in a receive-buffer overflow, so the outcome is unknown: re-read the state).
//   await nl.dump({ type: RTM_GETADDR, payload }) -> NetlinkMessage[] (NLM_F_DUMP added; runs one at a time
//       per socket, as the kernel requires; retried when the kernel flags NLM_F_DUMP_INTR).
//   await nl.batch([req, req, ...], { chunk? }) -> BatchResult[] in request order: { ok: true, replies } or
//       { ok: false, error }; `chunk` (default 256, at most 1024) messages per sendmsg, one chunk in flight
//       at a time, each message with its own ACK; one failure fails only itself.
//   nl.close()
//
//   const sub = NetlinkSubscription.open(NETLINK_ROUTE, [RTNLGRP_LINK, ...], {
//     message(m) {...},   // every multicast notification, in order
//     resync() {...},     // notifications were lost (the socket overflowed, ENOBUFS): re-dump your state
//     error?(e) {...},    // a datagram that could not be decoded (the subscription keeps running)
//   });
//   sub.close()
import {
  AF_NETLINK, NETLINK_ADD_MEMBERSHIP, NETLINK_CAP_ACK, NETLINK_EXT_ACK, SOCK_RAW, SOL_NETLINK, SOL_SOCKET,
  SO_RCVBUF, SO_RCVBUFFORCE, SO_SNDBUF, SO_SNDBUFFORCE, Socket, type Received,
} from '../native/index.js';
import { NetlinkError, NetlinkSocketError, NetlinkTimeoutError } from './errors.js';
import {
  NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
  decodeAck, decodeDone, decodeMessages, encodeHeader, nlmsgAlign, type NetlinkMessage,
} from './message.js';

export type { NetlinkMessage } from './message.js';

export interface NetlinkRequest {
  type: number;
  /** Extra flags (NLM_F_CREATE | NLM_F_EXCL, NLM_F_ECHO, ...); REQUEST and ACK are always set. */
  flags?: number;
  /** Family header + attributes. */
  payload?: Buffer;
}

export type BatchResult =
  | { ok: true; replies: NetlinkMessage[] }
  | { ok: false; error: NetlinkError | NetlinkTimeoutError | NetlinkSocketError };

export interface NetlinkSocketOptions {
  /** Network namespace to open the socket in: a name under /run/netns or a path. */
  netns?: string;
  /** Receive buffer in bytes (SO_RCVBUFFORCE, falling back to SO_RCVBUF). Default 8 MiB. */
  receiveBuffer?: number;
  /** Send buffer in bytes; bounds the size of one batch datagram. Default 4 MiB. */
  sendBuffer?: number;
  /** Default per-request timeout. Default 10 s. */
  timeoutMs?: number;
}

const RECV_SIZE = 256 * 1024; // larger than any datagram the kernel builds for a dump (32 KiB pages)
const MAX_READS_PER_WAKEUP = 256; // then yield to the event loop; the poll is level-triggered
// ...or after this long: each recv of a big dump makes the kernel build the next 32 KiB of it inside our
// syscall, so 256 reads of a 10k-entry IPVS dump held the loop for a long time under UML (issue #8).
// Per socket and wakeup; a table read keeps 8 dump sockets busy, all readable in the same poll phase, so
// the loop waits at most about 8 x this. (A budget shared by the sockets of one turn read 2-3x slower.)
const DRAIN_BUDGET_MS = 2;
const BATCH_CHUNK = 256; // messages per sendmsg by default
const MAX_IOV = 1024; // the kernel's UIO_MAXIOV (and the addon's limit)
const PAD = Buffer.alloc(4);

/** The iovec for one request as the transport sends it: header (REQUEST plus ACK, or DUMP), payload, padding. */
export function frameRequest(req: NetlinkRequest, seq: number, dump: boolean): Buffer[] {
  const payload = req.payload ?? PAD.subarray(0, 0);
  const flags = (req.flags ?? 0) | NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK);
  const iov = [encodeHeader(req.type, flags, seq, 0, payload.length)];
  if (payload.length) iov.push(payload);
  const pad = nlmsgAlign(payload.length) - payload.length;
  if (pad) iov.push(PAD.subarray(0, pad));
  return iov;
}

/** Datagrams from port id 0 come from the kernel; anything else is another process. */
function fromKernel(r: Received): boolean {
  return r.from.family === 'netlink' && r.from.pid === 0;
}

function setBuffer(s: Socket, force: number, plain: number, bytes: number): void {
  try { s.setsockopt(SOL_SOCKET, force, bytes); } catch { s.setsockopt(SOL_SOCKET, plain, bytes); }
}

/** Opens an AF_NETLINK socket with extended ACKs, capped ACKs and large buffers. */
function openNetlink(protocol: number, opts: NetlinkSocketOptions): Socket {
  const s = Socket.open(AF_NETLINK, SOCK_RAW, protocol, opts.netns ? { netns: opts.netns } : {});
  try {
    setBuffer(s, SO_RCVBUFFORCE, SO_RCVBUF, opts.receiveBuffer ?? 8 * 1024 * 1024);
    setBuffer(s, SO_SNDBUFFORCE, SO_SNDBUF, opts.sendBuffer ?? 4 * 1024 * 1024);
    // Extended ACK carries the kernel's reason text; capped ACKs do not echo our request back.
    try { s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1); } catch { /* kernels before 4.12 */ }
    try { s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1); } catch { /* kernels before 4.3 */ }
    s.bind({ family: 'netlink' });
    return s;
  } catch (e) {
    s.close();
    throw e;
  }
}

interface Pending {
  seq: number;
  type: number;
  dump: boolean;
  interrupted: boolean;
  replies: NetlinkMessage[];
  resolve(replies: NetlinkMessage[]): void;
  reject(e: Error): void;
}

export class NetlinkSocket {
  private readonly sock: Socket;
  private readonly pending = new Map<number, Pending>();
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private dumpChain: Promise<unknown> = Promise.resolve();
  private lost: NetlinkSocketError | undefined;
  private closed = false;
  readonly portId: number;
  readonly timeoutMs: number;
  /** Dumps in progress: while one is, drain() keeps to DRAIN_BUDGET_MS per wakeup. */
  private dumping = 0;
  /** Dumps run again because the kernel flagged them NLM_F_DUMP_INTR (the table changed mid-dump). */
  dumpRetries = 0;

  private constructor(sock: Socket, timeoutMs: number) {
    this.sock = sock;
    this.timeoutMs = timeoutMs;
    const local = sock.localAddress();
    this.portId = local.family === 'netlink' ? local.pid : 0;
    // Not keeping the process alive by itself: pending requests hold timers, which do.
    sock.onReadable(() => this.drain(), { keepAlive: false });
  }

  static open(protocol: number, opts: NetlinkSocketOptions = {}): NetlinkSocket {
    return new NetlinkSocket(openNetlink(protocol, opts), opts.timeoutMs ?? 10_000);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    if (this.seq === 0) this.seq = 1;
    return this.seq;
  }

  /** Sends one request and resolves with the replies that precede its ACK. */
  request(req: NetlinkRequest, opts: { timeoutMs?: number } = {}): Promise<NetlinkMessage[]> {
    return this.sendAll([req], false, opts.timeoutMs ?? this.timeoutMs)[0]!;
  }

  /** Runs a dump to NLMSG_DONE; retried up to `retries` times when the kernel marks it interrupted. */
  dump(req: NetlinkRequest, opts: { timeoutMs?: number; retries?: number } = {}): Promise<NetlinkMessage[]> {
    const run = async (): Promise<NetlinkMessage[]> => {
      const retries = opts.retries ?? 5;
      this.dumping++;
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            return await this.sendAll([req], true, opts.timeoutMs ?? this.timeoutMs)[0]!;
          } catch (e) {
            if (!(e instanceof NetlinkSocketError && e.code === 'EINTR') || attempt >= retries) throw e;
            this.dumpRetries++;
          }
        }
      } finally {
        this.dumping--;
      }
    };
    // The kernel runs one dump per socket at a time (EBUSY otherwise): queue them.
    const result = this.dumpChain.then(run, run);
    this.dumpChain = result.catch(() => undefined);
    return result;
  }

  /** Sends many requests, several per datagram; each gets its own result, in order. */
  async batch(reqs: NetlinkRequest[], opts: { timeoutMs?: number; chunk?: number } = {}): Promise<BatchResult[]> {
    const chunk = Math.max(1, Math.min(opts.chunk ?? BATCH_CHUNK, MAX_IOV));
    const results: BatchResult[] = [];
    for (let i = 0; i < reqs.length; i += chunk) {
      // One chunk in flight at a time, so the ACKs of a chunk never outgrow the receive buffer.
      const settled = await Promise.allSettled(this.sendAll(reqs.slice(i, i + chunk), false, opts.timeoutMs ?? this.timeoutMs));
      for (const s of settled) {
        results.push(s.status === 'fulfilled' ? { ok: true, replies: s.value } : { ok: false, error: s.reason as NetlinkError });
      }
    }
    return results;
  }

  private sendAll(reqs: NetlinkRequest[], dump: boolean, timeoutMs: number): Promise<NetlinkMessage[]>[] {
    if (this.closed) return reqs.map(() => Promise.reject(new NetlinkSocketError('netlink socket closed', 'EBADF')));
    const iov: Buffer[] = [];
    const entries: Pending[] = [];
    const promises = reqs.map((req) => {
      const seq = this.nextSeq();
      const parts = frameRequest(req, seq, dump);
      // Up to 3 iovecs per message; a big batch gets one (copied) buffer per message instead.
      if (reqs.length * 3 <= MAX_IOV) iov.push(...parts); else iov.push(Buffer.concat(parts));
      return new Promise<NetlinkMessage[]>((resolve, reject) => {
        const p: Pending = { seq, type: req.type, dump, interrupted: false, replies: [], resolve, reject };
        entries.push(p);
        this.pending.set(seq, p);
      });
    });
    // One timer for the whole datagram's answers.
    const timer = setTimeout(() => {
      for (const p of entries) {
        if (this.pending.get(p.seq) === p) {
          this.pending.delete(p.seq);
          p.reject(new NetlinkTimeoutError({ type: p.type, seq: p.seq }, timeoutMs));
        }
      }
    }, timeoutMs);
    let left = entries.length;
    for (const p of entries) {
      const { resolve, reject } = p;
      const done = () => { if (--left === 0) clearTimeout(timer); };
      p.resolve = (r) => { done(); resolve(r); };
      p.reject = (e) => { done(); reject(e); };
    }
    try {
      const sent = this.sock.send(iov);
      if (sent === null) throw Object.assign(new Error('netlink send would block'), { code: 'EAGAIN', errno: 11 });
    } catch (e) {
      const err = e as { message: string; code?: string; errno?: number };
      for (const p of entries) {
        this.pending.delete(p.seq);
        p.reject(new NetlinkSocketError(`netlink send failed: ${err.message}`, err.code ?? 'EIO', err.errno));
      }
    }
    return promises;
  }

  private drain(): void {
    const started = performance.now();
    for (let i = 0; i < MAX_READS_PER_WAKEUP && !this.closed; i++) {
      // Only dumps make the kernel work inside our recv; a batch's ACKs are queued already and cheap to read.
      // Two reads at least: a small dump's entries, then its NLMSG_DONE, in one wakeup (one turn each
      // doubled the loop turns of a table read on a slow UML boot).
      if (this.dumping && i > 1 && performance.now() - started >= DRAIN_BUDGET_MS) return; // still readable: polled again
      let r;
      try {
        r = this.sock.recv({ size: RECV_SIZE });
      } catch (e) {
        // ENOBUFS: some answers were dropped. Keep reading the ones that made it; see below.
        const err = e as { message: string; code?: string; errno?: number };
        this.lost ??= new NetlinkSocketError(`netlink answers lost: ${err.message}`, err.code ?? 'EIO', err.errno);
        continue;
      }
      if (!r) {
        // The queue is empty. The kernel answers a non-dump request inside our sendmsg, so every such
        // request still waiting after an overflow lost its answer: it fails now (its outcome is unknown:
        // the kernel may have applied it). Dumps are paced by our reads and are not lost.
        if (this.lost) {
          const e = this.lost;
          this.lost = undefined;
          for (const [seq, p] of this.pending) if (!p.dump) { this.pending.delete(seq); p.reject(e); }
        }
        return;
      }
      if (!fromKernel(r)) continue; // only the kernel answers requests
      let messages: NetlinkMessage[];
      try { messages = decodeMessages(r.data); } catch { continue; } // unmatched garbage: its request times out
      for (const m of messages) {
        try {
          this.dispatch(m);
        } catch (e) { // a malformed answer fails its own request, never the process
          const p = this.pending.get(m.seq);
          if (p) {
            this.pending.delete(m.seq);
            p.reject(new NetlinkSocketError(`undecodable answer: ${(e as Error).message}`, 'EPROTO'));
          }
        }
      }
    }
  }

  private dispatch(m: NetlinkMessage): void {
    const p = this.pending.get(m.seq);
    if (!p) return; // a late answer to a request that timed out, or a notification
    if (m.type === NLMSG_ERROR) {
      const ack = decodeAck(m);
      this.pending.delete(m.seq);
      if (ack.errno === 0) p.resolve(p.replies);
      else p.reject(new NetlinkError(ack.errno, ack.extAck, { type: p.type, seq: p.seq }));
      return;
    }
    if (m.type === NLMSG_DONE && p.dump) {
      const done = decodeDone(m);
      this.pending.delete(m.seq);
      if (done.errno) p.reject(new NetlinkError(done.errno, done.extAck, { type: p.type, seq: p.seq }));
      else if (p.interrupted || m.flags & NLM_F_DUMP_INTR) p.reject(new NetlinkSocketError('dump interrupted by a concurrent change', 'EINTR'));
      else p.resolve(p.replies);
      return;
    }
    if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) return;
    if (m.flags & NLM_F_DUMP_INTR) p.interrupted = true;
    p.replies.push(m);
  }

  private failAll(e: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(e);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    this.failAll(new NetlinkSocketError('netlink socket closed', 'EBADF'));
  }
}

export interface SubscriptionHandlers {
  message(m: NetlinkMessage): void;
  /** Notifications were lost: the consumer re-dumps. Called at most once per drained burst. */
  resync(): void;
  error?(e: Error): void;
}

export interface SubscriptionOptions {
  netns?: string;
  /** Accept datagrams from other processes too (NETLINK_USERSOCK and the like); default: the kernel's only. */
  acceptFromUserspace?: boolean;
  /** Receive buffer in bytes. Default 8 MiB. */
  receiveBuffer?: number;
}

export class NetlinkSubscription {
  private readonly sock: Socket;
  private closed = false;
  /** How many times the socket overflowed (ENOBUFS) since it was opened. */
  overflows = 0;

  /** This socket's netlink port id. */
  readonly portId: number;

  private constructor(sock: Socket, private readonly handlers: SubscriptionHandlers, private readonly acceptFromUserspace: boolean) {
    this.sock = sock;
    const local = sock.localAddress();
    this.portId = local.family === 'netlink' ? local.pid : 0;
    sock.onReadable(() => this.drain());
  }

  static open(protocol: number, groups: number[], handlers: SubscriptionHandlers, opts: SubscriptionOptions = {}): NetlinkSubscription {
    const s = openNetlink(protocol, { ...(opts.netns ? { netns: opts.netns } : {}), receiveBuffer: opts.receiveBuffer ?? 8 * 1024 * 1024, sendBuffer: 64 * 1024 });
    try {
      for (const g of groups) s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g);
    } catch (e) {
      s.close();
      throw e;
    }
    return new NetlinkSubscription(s, handlers, opts.acceptFromUserspace ?? false);
  }

  /** Joins another multicast group (e.g. a genl family's group id resolved at run time). */
  join(group: number): void { this.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group); }

  private drain(): void {
    let overflowed = false;
    for (let i = 0; i < MAX_READS_PER_WAKEUP && !this.closed; i++) {
      let r;
      try {
        r = this.sock.recv({ size: RECV_SIZE });
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOBUFS') { overflowed = true; this.overflows++; continue; }
        this.report(e as Error);
        break;
      }
      if (!r) break;
      if (!this.acceptFromUserspace && !fromKernel(r)) continue;
      let messages: NetlinkMessage[];
      try { messages = decodeMessages(r.data); } catch (e) { this.report(e as Error); continue; }
      for (const m of messages) {
        try { this.handlers.message(m); } catch (e) { this.report(e as Error); }
      }
    }
    if (overflowed && !this.closed) {
      try { this.handlers.resync(); } catch (e) { this.report(e as Error); }
    }
  }

  private report(e: Error): void {
    try { this.handlers.error?.(e); } catch { /* a consumer's error handler must not stop the subscription */ }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }
}
