// FILE_CHECK (keepalived track_file on a real server): an integer in a file sets the server up, down or
// its weight. keepalived.conf(5), "Track files": with weight 0 a non-zero value is a failure and 0 is OK;
// otherwise value * weight is added to the real server's weight, and a result at or below -2^31
// (IPVS_WEIGHT_FAULT) is a failure; `reverse` negates (weight 0: 0 fails, non-zero is OK).
//
// The core (parseFileValue, judgeFileValue) is pure. The probe reads at most 64 bytes; the runner probes
// every interval, and fs.watch on the file's directory probes at once when the file changes (operators
// and tools replace such files by rename, which a watch on the file itself would lose with the old inode).
// Differences from keepalived: a missing or unreadable file fails ("file /run/x missing"; keepalived
// reads it as 0), text that is not an integer fails (keepalived's strtol takes "12abc" as 12).
import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { describeSocketError, down, up, type CheckOutcome } from './outcome.js';

/** Bytes read from the file: an int32 in decimal with a sign and a newline fits many times over. */
export const FILE_MAX_BYTES = 64;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

export type FileValue = { ok: true; value: number } | { ok: false; why: string };

/**
 * The integer a file holds: decimal or 0x-hex, optional sign, blanks and one line end around it. Empty
 * (or blank) is 0, as keepalived reads it. keepalived accepts -2^31..2^31; so does this.
 */
export function parseFileValue(text: string): FileValue {
  const t = text.trim();
  if (t === '') return { ok: true, value: 0 };
  const m = /^([+-]?)(?:0x([0-9a-f]{1,8})|(\d{1,10}))$/i.exec(t);
  if (!m) return { ok: false, why: 'not an integer' };
  const n = (m[1] === '-' ? -1 : 1) * (m[2] !== undefined ? parseInt(m[2], 16) : Number(m[3]));
  if (n < INT32_MIN || n > INT32_MAX + 1) return { ok: false, why: 'out of range' };
  return { ok: true, value: n };
}

export interface FileCheckPolicy {
  /** keepalived track_file weight: 0 = the value is a status, else its multiplier. */
  weight: number;
  reverse: boolean;
}

/** A value as the check's outcome; `name` is how reasons call the file ("file /run/x"). */
export function judgeFileValue(name: string, value: number, p: FileCheckPolicy): CheckOutcome {
  if (p.weight === 0) return (value === 0) !== p.reverse ? up() : down(`${name}: ${value}`);
  const delta = value * p.weight * (p.reverse ? -1 : 1);
  // keepalived weight_range(): at or below IPVS_WEIGHT_FAULT (-2^31) the checker is in FAULT.
  if (delta <= INT32_MIN) return down(`${name}: ${value}`);
  return { ok: true, weightDelta: Math.min(delta, INT32_MAX) };
}

/** The whole check on bytes already read (more than FILE_MAX_BYTES is refused). */
export function judgeFileBytes(name: string, bytes: Buffer, p: FileCheckPolicy): CheckOutcome {
  if (bytes.length > FILE_MAX_BYTES) return down(`${name}: longer than ${FILE_MAX_BYTES} bytes`);
  const v = parseFileValue(bytes.toString('latin1'));
  return v.ok ? judgeFileValue(name, v.value, p) : down(`${name}: ${v.why}`);
}

export interface FileProbeOptions extends FileCheckPolicy {
  path: string;
}

/** The probe plus a watch the runner starts once the check runs: wake() probes now. */
export interface WatchedProbe {
  (): Promise<CheckOutcome>;
  watch(wake: () => void): () => void;
}

/** Reads up to FILE_MAX_BYTES + 1 bytes (the extra one tells a file that is too long); VRRP's track files (vrrp/track-file.ts) too. */
export async function readHead(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(FILE_MAX_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const r = await fh.read(buf, n, buf.length - n, n);
      if (r.bytesRead === 0) break;
      n += r.bytesRead;
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

export function fileProbe(o: FileProbeOptions): WatchedProbe {
  const name = `file ${o.path}`;
  const probe = async (): Promise<CheckOutcome> => {
    let bytes: Buffer;
    try {
      bytes = await readHead(o.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return down(`${name} missing`);
      if (code === 'EACCES') return down(`${name} not readable`);
      if (code === 'EISDIR') return down(`${name} is a directory`);
      return down(`${name}: ${describeSocketError(e)}`);
    }
    return judgeFileBytes(name, bytes, o);
  };
  return Object.assign(probe, { watch: (wake: () => void) => watchFile(o.path, wake) });
}

/**
 * Calls wake() soon after the file is written, created, renamed over or deleted. Events of one change
 * come in bursts (a rename is two, a write several): they are gathered for 10 ms. A directory that does
 * not exist (yet) or a watch that fails is retried every 5 s; the periodic probe covers the meantime.
 */
export function watchFile(path: string, wake: () => void): () => void {
  const dir = dirname(path);
  const base = basename(path);
  let watcher: FSWatcher | undefined;
  let burst: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const arm = () => {
    retry = undefined;
    if (closed) return;
    try {
      watcher = watch(dir, { persistent: false }, (_event, file) => {
        if (file !== null && file !== base) return;
        if (!burst) burst = setTimeout(() => { burst = undefined; if (!closed) wake(); }, 10);
      });
      watcher.on('error', () => { watcher?.close(); watcher = undefined; if (!closed) retry = setTimeout(arm, 5000); });
    } catch {
      retry = setTimeout(arm, 5000);
    }
    retry?.unref();
  };
  arm();
  return () => {
    closed = true;
    watcher?.close();
    clearTimeout(burst);
    clearTimeout(retry);
  };
}
