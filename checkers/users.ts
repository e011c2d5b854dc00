// User name -> uid/gid for scripts run unprivileged (Node has no getpwnam; /etc/passwd is the source of
// truth for system users, which is what script users are).
import { readFileSync } from 'node:fs';

export interface UserIds { uid: number; gid: number }

export function parsePasswd(text: string, name: string): UserIds | undefined {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) {
      const uid = Number(f[2]), gid = Number(f[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    }
  }
  return undefined;
}

export function lookupUser(name: string, passwd = '/etc/passwd'): UserIds | undefined {
  if (/^\d+$/.test(name)) return { uid: Number(name), gid: Number(name) };
  try { return parsePasswd(readFileSync(passwd, 'utf8'), name); } catch { return undefined; }
}
