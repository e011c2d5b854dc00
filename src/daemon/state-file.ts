// The state file: which IPVS services lvsd created (IpvsTableSync.owned), so that after a restart the
// ones dropped from the config are removed and services another tool created are never touched.
// parseState is pure (text in, value out); readState/writeState are the file shell.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { readBoundedFile } from '../fs/read-bounded.js';
import { dirname } from 'node:path';

export const STATE_VERSION = 1;

export interface DaemonState {
  /** Service keys (ipvs/service.ts serviceKey) lvsd declared, or failed to delete. */
  owned: string[];
}

export type StateParse = { ok: true; state: DaemonState } | { ok: false; reason: string };

export function parseState(text: string): StateParse {
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { return { ok: false, reason: `not JSON: ${(e as Error).message}` }; }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'not a JSON object' };
  const o = v as Record<string, unknown>;
  if (o.version !== STATE_VERSION) return { ok: false, reason: `version ${JSON.stringify(o.version)}, expected ${STATE_VERSION}` };
  if (!Array.isArray(o.owned) || !o.owned.every((k): k is string => typeof k === 'string')) return { ok: false, reason: "'owned' is not a list of strings" };
  return { ok: true, state: { owned: [...new Set(o.owned)] } };
}

export function formatState(s: DaemonState): string {
  return `${JSON.stringify({ version: STATE_VERSION, owned: [...s.owned].sort(), written: new Date().toISOString() }, null, 2)}\n`;
}

/** 10,000 service keys take about 400 KB; anything far larger is not a state file lvsd wrote. */
const MAX_STATE_FILE = 16 * 1024 * 1024;

/** Missing file: an empty state (first start). Unreadable or corrupt: the reason, and the caller starts empty. */
export async function readState(path: string): Promise<StateParse & { missing?: boolean }> {
  let text: string;
  try { text = (await readBoundedFile(path, MAX_STATE_FILE)).toString('utf8'); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: true, state: { owned: [] }, missing: true };
    return { ok: false, reason: `cannot read: ${(e as Error).message}` };
  }
  return parseState(text);
}

/** Write to a temporary file and rename it over the old one: a crash mid-write leaves the old state whole. */
export async function writeState(path: string, s: DaemonState): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, formatState(s), { mode: 0o644 });
  await rename(tmp, path);
}
