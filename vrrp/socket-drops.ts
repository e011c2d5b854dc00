// Kernel-side drops of a VRRP socket: datagrams the kernel threw away because the socket's receive
// buffer was full (the reader fell behind, say under a flood), counted per socket in sk_drops and
// shown in the last column of /proc/net/raw and /proc/net/raw6, matched by the socket's inode. Read
// when a snapshot or a scrape asks (one small file per family), never per packet.
import { fstatSync, readFileSync } from 'node:fs';
import type { Family } from './address.js';

/**
 * inode -> drops from the text of /proc/net/raw or /proc/net/raw6 (net/ipv4/raw.c raw_sock_seq_show,
 * net/ipv6/datagram.c __ip6_dgram_sock_seq_show): after "sl:" come local, remote, st, tx:rx,
 * tr:tm->when, retrnsmt, uid, timeout, inode, ref, pointer, drops.
 */
export function parseProcNetRaw(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || !/^\d+:$/.test(f[0]!)) continue;
    const inode = Number(f[9]), drops = Number(f[12]);
    if (Number.isSafeInteger(inode) && inode > 0 && Number.isSafeInteger(drops)) out.set(inode, drops);
  }
  return out;
}

/** The socket inode of a descriptor (what /proc/self/fd/FD names as socket:[INODE]), or null. */
export function socketInode(fd: number): number | null {
  try { return fstatSync(fd).ino; } catch { return null; }
}

/** Drops of every raw socket of `family` in this network namespace; empty when /proc cannot be read. */
export function readSocketDrops(family: Family): Map<number, number> {
  try { return parseProcNetRaw(readFileSync(family === 'ipv4' ? '/proc/net/raw' : '/proc/net/raw6', 'utf8')); } catch { return new Map(); }
}

/** One reading of both tables, for a snapshot of several channels. */
export function socketDropTables(): Record<Family, Map<number, number>> {
  return { ipv4: readSocketDrops('ipv4'), ipv6: readSocketDrops('ipv6') };
}
