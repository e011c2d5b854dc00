// The kernel's process events connector (NETLINK_CONNECTOR, CN_IDX_PROC): the subscribe message and the
// events, as bytes. Pure: bytes in, values out; a malformed or foreign message is `null`, never a throw.
// Layouts: linux/connector.h (struct cn_msg), linux/cn_proc.h (struct proc_event); little-endian hosts.
//
//   netlink message = nlmsghdr (16) | cn_msg (20) | data (cn_msg.len bytes)
//   cn_msg          = idx u32 | val u32 | seq u32 | ack u32 | len u16 | flags u16
//   proc_event      = what u32 | cpu u32 | timestamp_ns u64 | event_data (union, at offset 16)
import { NLMSG_DONE, decodeMessages, encodeMessage } from '../src/netlink/message.js';

export const NETLINK_CONNECTOR = 11;
export const CN_IDX_PROC = 1;
export const CN_VAL_PROC = 1;
export const CN_MSG_LEN = 20;
export const PROC_CN_MCAST_LISTEN = 1;
export const PROC_CN_MCAST_IGNORE = 2;

export const PROC_EVENT_NONE = 0x0;
export const PROC_EVENT_FORK = 0x1;
export const PROC_EVENT_EXEC = 0x2;
export const PROC_EVENT_COMM = 0x200;
export const PROC_EVENT_EXIT = 0x80000000;

/** Offset of event_data in struct proc_event (what, cpu, then timestamp_ns aligned to 8). */
const EVENT_DATA = 16;

export type ProcEvent =
  /** A new task: a process when childPid === childTgid, else a thread. */
  | { type: 'fork'; parentPid: number; parentTgid: number; childPid: number; childTgid: number; timestampNs: bigint }
  | { type: 'exec'; pid: number; tgid: number; timestampNs: bigint }
  /** comm (the Name: of /proc/PID/status) changed by prctl(PR_SET_NAME) or a write to /proc/PID/comm. */
  | { type: 'comm'; pid: number; tgid: number; comm: string; timestampNs: bigint }
  /** A task ended: the process when pid === tgid (its leader), else one of its threads. */
  | { type: 'exit'; pid: number; tgid: number; exitCode: number; exitSignal: number; timestampNs: bigint }
  /** The answer to a subscribe message (what = NONE): err 0 is success. */
  | { type: 'ack'; err: number }
  /** Events lvsd does not use (uid, gid, sid, ptrace, coredump). */
  | { type: 'other'; what: number };

/**
 * The subscribe (or unsubscribe) message, sent to the kernel (port 0). The 4-byte form (just the op) is
 * what every kernel since 2.6.15 takes; 6.6+ read an 8-byte proc_input as a filter, and this form as
 * "all events". The kernel honours it only with CAP_NET_ADMIN in the initial user namespace, from a
 * process of the initial PID namespace (drivers/connector/cn_proc.c).
 */
export function encodeProcSubscribe(op: typeof PROC_CN_MCAST_LISTEN | typeof PROC_CN_MCAST_IGNORE, seq = 0, portId = 0): Buffer {
  const cn = Buffer.alloc(CN_MSG_LEN + 4);
  cn.writeUInt32LE(CN_IDX_PROC, 0);
  cn.writeUInt32LE(CN_VAL_PROC, 4);
  cn.writeUInt32LE(seq >>> 0, 8);
  cn.writeUInt32LE(0, 12);
  cn.writeUInt16LE(4, 16);
  cn.writeUInt16LE(0, 18);
  cn.writeUInt32LE(op, CN_MSG_LEN);
  // The connector core takes its messages as NLMSG_DONE (keepalived, libnl and the kernel's samples do).
  return encodeMessage({ type: NLMSG_DONE, flags: 0, seq, pid: portId, payload: cn });
}

/** One cn_msg (the payload of a netlink message) as a process event; null when it is not one or is cut short. */
export function decodeCnMsg(b: Buffer): ProcEvent | null {
  if (b.length < CN_MSG_LEN) return null;
  if (b.readUInt32LE(0) !== CN_IDX_PROC || b.readUInt32LE(4) !== CN_VAL_PROC) return null;
  const len = b.readUInt16LE(16);
  if (len > b.length - CN_MSG_LEN) return null;
  return decodeProcEvent(b.subarray(CN_MSG_LEN, CN_MSG_LEN + len));
}

/** struct proc_event; null when shorter than the member its `what` needs. */
export function decodeProcEvent(e: Buffer): ProcEvent | null {
  if (e.length < EVENT_DATA) return null;
  const what = e.readUInt32LE(0);
  const timestampNs = e.readBigUInt64LE(8);
  const d = EVENT_DATA;
  const need = (n: number) => e.length >= d + n;
  const i32 = (o: number) => e.readInt32LE(d + o);
  switch (what) {
    case PROC_EVENT_NONE:
      return need(4) ? { type: 'ack', err: e.readUInt32LE(d) } : null;
    case PROC_EVENT_FORK:
      return need(16) ? { type: 'fork', parentPid: i32(0), parentTgid: i32(4), childPid: i32(8), childTgid: i32(12), timestampNs } : null;
    case PROC_EVENT_EXEC:
      return need(8) ? { type: 'exec', pid: i32(0), tgid: i32(4), timestampNs } : null;
    case PROC_EVENT_COMM: {
      if (!need(24)) return null;
      const raw = e.subarray(d + 8, d + 24);
      const nul = raw.indexOf(0);
      return { type: 'comm', pid: i32(0), tgid: i32(4), comm: raw.subarray(0, nul < 0 ? raw.length : nul).toString('latin1'), timestampNs };
    }
    case PROC_EVENT_EXIT:
      return need(16) ? { type: 'exit', pid: i32(0), tgid: i32(4), exitCode: e.readUInt32LE(d + 8), exitSignal: e.readUInt32LE(d + 12), timestampNs } : null;
    default:
      return { type: 'other', what };
  }
}

/** Every process event in one datagram from the connector socket (anything else in it is skipped). */
export function decodeProcDatagram(buf: Buffer): ProcEvent[] {
  let msgs;
  try { msgs = decodeMessages(buf); } catch { return []; }
  const out: ProcEvent[] = [];
  for (const m of msgs) {
    const ev = decodeCnMsg(m.payload);
    if (ev) out.push(ev);
  }
  return out;
}
