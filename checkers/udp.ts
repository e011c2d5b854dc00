// UDP_CHECK: send one datagram to the target and judge what comes back within the timeout.
//
// keepalived's semantics (check_udp.c): an ICMP error about the datagram (port unreachable above all) fails
// at once; silence until the timeout passes unless a reply is required; a reply, when required or matched,
// must arrive within the timeout and match. The reply's length bounds default to keepalived's (0 and 255
// bytes) and, as there, apply when the reply is matched (reply_hex / reply_regex) unless set explicitly.
// One difference: keepalived compares only as many bytes as the reply has, so a reply shorter than its
// expected bytes passes there; here the reply must start with all of reply_hex.
//
// The socket comes from the addon, not node:dgram, so SO_MARK, SO_BINDTODEVICE and a source address/port
// are set before anything is sent (as for TCP probes), and so IP_RECVERR / IPV6_RECVERR can be set: the
// kernel then queues every ICMP error about the connected peer on the socket's error queue
// (recvmsg(MSG_ERRQUEUE), struct sock_extended_err), with the ICMP type and code, which node:dgram cannot
// read. One socket per probe, connected to the target (the kernel then delivers only the target's
// datagrams to it, and prefers it over other sockets sharing a fixed source port), closed after.
import { getSystemErrorName } from 'node:util';
import {
  addon, AF_INET, AF_INET6, IP_RECVERR, IPPROTO_UDP, IPV6_RECVERR, MSG_ERRQUEUE, MSG_TRUNC, SO_BINDTODEVICE, SO_MARK, SO_REUSEADDR,
  SOCK_DGRAM, SOL_IP, SOL_IPV6, SOL_SOCKET, Socket,
} from '../src/native/index.js';
import { quoteValue } from '../src/text/quote.js';
import { deadline } from './deadline.js';
import { decodeExtendedError, extendedErrorReason } from './icmp-packet.js';
import { describeSocketError, down, formatMs, up, type CheckOutcome, type CheckTarget } from './outcome.js';
import { expire, routed, type ProbeRoute } from './tcp.js';
import { udpWrap, type UdpWrapBinding } from './udp-wrap.js';

/** The largest datagram read (the largest UDP payload); reply_regex sees at most the first REGEX_BYTES. */
export const MAX_REPLY_BYTES = 65_535;
export const REGEX_BYTES = 4096;
/** keepalived's defaults for min_reply_length / max_reply_length (check_udp.c: 0 and UINT8_MAX). */
export const DEFAULT_MIN_REPLY = 0, DEFAULT_MAX_REPLY = 255;

export interface UdpReplyRule {
  /** The reply must start with these bytes (compared under mask when one is given). */
  prefix?: Buffer | undefined;
  /** Bits of prefix that count: a '?' nibble of reply_hex (keepalived's X) is 0 here. */
  mask?: Buffer | undefined;
  /** The reply, as latin1 text (its first REGEX_BYTES), must match. */
  regex?: RegExp | undefined;
  minLength?: number | undefined;
  maxLength?: number | undefined;
}

export interface UdpProbeOptions extends ProbeRoute {
  timeout: number;
  payload: Buffer;
  /** Silence until the timeout fails (else it passes, as keepalived's default). */
  requireReply: boolean;
  reply?: UdpReplyRule | undefined;
}

/** Hex as the config writes it ("0a0b0c", spaces and colons allowed between bytes) to bytes; undefined if not hex. */
export function parseHex(s: string): Buffer | undefined {
  const compact = s.replace(/[\s:]/g, '');
  if (compact.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(compact)) return undefined;
  return Buffer.from(compact, 'hex');
}

/**
 * reply_hex to bytes and a mask: a '?' stands for a nibble that may be anything (keepalived's X in a
 * require_reply HEX_STR, "for some form of counter"). undefined if not such hex.
 */
export function parseHexPattern(s: string): { prefix: Buffer; mask: Buffer } | undefined {
  const compact = s.replace(/[\s:]/g, '');
  if (compact.length % 2 !== 0 || !/^[0-9a-fA-F?]*$/.test(compact)) return undefined;
  return {
    prefix: Buffer.from(compact.replace(/\?/g, '0'), 'hex'),
    mask: Buffer.from(compact.replace(/[0-9a-fA-F]/g, 'f').replace(/\?/g, '0'), 'hex'),
  };
}

function startsWithMasked(data: Buffer, prefix: Buffer, mask: Buffer | undefined): boolean {
  if (data.length < prefix.length) return false;
  if (!mask) return data.subarray(0, prefix.length).equals(prefix);
  for (let i = 0; i < prefix.length; i++) if ((data[i]! & mask[i]!) !== (prefix[i]! & mask[i]!)) return false;
  return true;
}

/** Why a reply fails the rule, or undefined when it passes. `length` is the datagram's real length. */
export function judgeUdpReply(data: Buffer, length: number, rule: UdpReplyRule): string | undefined {
  const matched = rule.prefix !== undefined || rule.regex !== undefined;
  const min = rule.minLength ?? (matched ? DEFAULT_MIN_REPLY : undefined);
  const max = rule.maxLength ?? (matched ? DEFAULT_MAX_REPLY : undefined);
  if (min !== undefined && length < min) return `reply shorter than ${min} bytes (got ${length})`;
  if (max !== undefined && length > max) return `reply longer than ${max} bytes (got ${length})`;
  if (rule.prefix && !startsWithMasked(data, rule.prefix, rule.mask))
    return `reply mismatch (got ${data.subarray(0, 16).toString('hex')}${data.length > 16 ? '...' : ''})`;
  if (rule.regex) {
    const text = data.subarray(0, REGEX_BYTES).toString('latin1');
    if (!rule.regex.test(text)) return `reply_regex no match (got ${quoteValue(text, 40)})`;
  }
  return undefined;
}

export function probeUdp(t: CheckTarget, o: UdpProbeOptions): Promise<CheckOutcome> {
  if (udpWrap && !routed(o)) return probeUdpHandle(t, o, udpWrap);
  return probeUdpRouted(t, o);
}

/** The ICMP error the kernel queued on the socket (IP_RECVERR), named by its type and code; undefined if none. */
function queuedIcmpError(fd: number, v6: boolean): string | undefined {
  let r;
  try { r = addon.recvmsg(fd, 256, MSG_ERRQUEUE); } catch { return undefined; }
  const cm = r?.control.find((c) => (v6 ? c.level === SOL_IPV6 && c.type === IPV6_RECVERR : c.level === SOL_IP && c.type === IP_RECVERR));
  const ee = cm && decodeExtendedError(cm.data);
  return ee ? extendedErrorReason(ee) : undefined;
}

/**
 * Without source, fwmark or interface: libuv's UDP handle (udp-wrap.ts), as the DNS probe uses it. The
 * addon's socket costs a poller of its own per probe (epoll_ctl add and delete, an ioctl) and a read of the
 * error queue on every wake-up: 18.5 system calls per check against keepalived's 10 in the bench. Here the
 * error queue is read only when libuv's recvmsg fails, which with IP_RECVERR is how the kernel reports an
 * ICMP error on a connected socket (sk_err, then the queued sock_extended_err names the type and code).
 */
function probeUdpHandle(t: CheckTarget, o: UdpProbeOptions, b: UdpWrapBinding): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    const v6 = t.family === 6;
    const handle = new b.UDP();
    let done = false;
    const finish = (r: CheckOutcome) => {
      if (done) return;
      done = true;
      timer.cancel();
      handle.close();
      resolve(r);
    };
    const timer = deadline(o.timeout, () => expire(() => finish(o.requireReply ? down(`no reply after ${formatMs(o.timeout)}`) : up())));
    const fail = (status: number) => {
      if (done) return;
      const icmp = handle.fd >= 0 ? queuedIcmpError(handle.fd, v6) : undefined;
      let code: string;
      try { code = getSystemErrorName(status); } catch { code = `errno ${-status}`; }
      finish(down(icmp ?? describeSocketError({ code })));
    };
    handle.onmessage = (nread, _h, buf) => {
      if (nread < 0) { fail(nread); return; }
      if (!buf || done) return;
      const bad = o.reply ? judgeUdpReply(buf, buf.length, o.reply) : undefined;
      finish(bad ? down(bad) : up());
    };
    let err = v6 ? handle.connect6(t.address, t.port) : handle.connect(t.address, t.port);
    if (err === 0) {
      try { addon.setsockopt(handle.fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_RECVERR : IP_RECVERR, 1); } catch (e) { finish(down(describeSocketError(e))); return; }
      err = handle.recvStart();
    }
    if (err === 0) {
      const req = new b.SendWrap();
      req.oncomplete = (status) => { if (status < 0) fail(status); };
      err = v6 ? handle.send6(req, [o.payload], 1, true) : handle.send(req, [o.payload], 1, true);
      if (err > 0) err = 0; // sent at once (the byte count); oncomplete is not called then
    }
    if (err < 0) fail(err);
  });
}

/** With source, fwmark or interface: the addon's socket, set up before anything is sent. */
function probeUdpRouted(t: CheckTarget, o: UdpProbeOptions): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    let done = false;
    let sock: Socket | undefined;
    const finish = (r: CheckOutcome) => {
      if (done) return;
      done = true;
      timer.cancel();
      sock?.close();
      resolve(r);
    };
    const timer = deadline(o.timeout, () => expire(() => finish(o.requireReply ? down(`no reply after ${formatMs(o.timeout)}`) : up())));
    const v6 = t.family === 6;
    const onReadable = () => {
      // An ICMP error first (POLLERR and POLLIN may come together); a handful of datagrams per wake-up at
      // most: one that fails the rule decides, so a flood cannot keep this loop going.
      for (let i = 0; i < 4 && !done && sock; i++) {
        const err = sock.recv({ size: 256, flags: MSG_ERRQUEUE });
        if (err) {
          const cm = err.control.find((c) => (v6 ? c.level === SOL_IPV6 && c.type === IPV6_RECVERR : c.level === SOL_IP && c.type === IP_RECVERR));
          const ee = cm && decodeExtendedError(cm.data);
          finish(down(ee ? extendedErrorReason(ee) : 'socket error'));
          return;
        }
        let r;
        try {
          r = sock.recv({ size: MAX_REPLY_BYTES, flags: MSG_TRUNC });
        } catch (e) {
          finish(down(describeSocketError(e)));
          return;
        }
        if (!r) return;
        const bad = o.reply ? judgeUdpReply(r.data, r.length, o.reply) : undefined;
        finish(bad ? down(bad) : up());
      }
    };
    try {
      sock = Socket.open(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, IPPROTO_UDP);
      sock.setsockopt(v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_RECVERR : IP_RECVERR, 1);
      if (o.fwmark) sock.setsockopt(SOL_SOCKET, SO_MARK, o.fwmark | 0);
      if (o.bindInterface) sock.setsockopt(SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(`${o.bindInterface}\0`));
      if (o.sourceAddress !== undefined || o.sourcePort !== undefined) {
        if (o.sourcePort) sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
        sock.bind({ family: v6 ? 'inet6' : 'inet', address: o.sourceAddress ?? (v6 ? '::' : '0.0.0.0'), port: o.sourcePort ?? 0 });
      }
      sock.connect({ family: v6 ? 'inet6' : 'inet', address: t.address, port: t.port });
      sock.onReadable(onReadable);
      if (sock.send(o.payload) === null) finish(down('send buffer full'));
    } catch (e) {
      finish(down(describeSocketError(e)));
    }
  });
}
