// What the lab could leave behind on the machine, captured so a test can compare before and after:
// namespaces, root-namespace links, processes, mounts, temporary directories. Other people's work
// runs on the same machine, so a diff is judged by ownership: everything a lab creates carries the
// creating process's pid in its name (see cleanup.ts), and `leaks` keeps only what carries that tag.
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_PREFIX, quietly } from './cleanup.js';

export interface Snapshot {
  netns: string[];
  links: string[];
  processes: string[];   // "pid cmdline"
  mounts: string[];
  tempEntries: string[];
}

function lines(s: string): string[] { return s.split('\n').map((l) => l.trim()).filter(Boolean); }

function listDir(dir: string): string[] {
  try { return readdirSync(dir).map((n) => join(dir, n)); } catch { return []; }
}

export function takeSnapshot(): Snapshot {
  const processes: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      // Processes the host backend starts carry LVSD_LAB_TAG, whatever their command line.
      let tag = '';
      try { tag = /(?:^|\0)LVSD_LAB_TAG=([^\0]*)/.exec(readFileSync(`/proc/${d}/environ`, 'utf8'))?.[1] ?? ''; } catch { /* not readable */ }
      if (cmd) processes.push(`${d} ${cmd}${tag ? ` [${tag}]` : ''}`);
    } catch { /* exited meanwhile */ }
  }
  return {
    netns: lines(quietly(['ip', 'netns', 'list'])).map((l) => l.split(' ')[0]!),
    links: lines(quietly(['ip', '-o', 'link', 'show'])).map((l) => l.split(':')[1]!.trim().split('@')[0]!),
    processes,
    // Mount point and source; the mount id changes with every remount, so it is left out.
    mounts: lines(readFileSync('/proc/self/mountinfo', 'utf8')).map((l) => { const f = l.split(' '); return `${f[4]} ${f[3]}`; }),
    tempEntries: [...listDir(tmpdir()), ...listDir('/dev/shm')],
  };
}

export type SnapshotDiff = { [K in keyof Snapshot]: string[] };

export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotDiff {
  const added = (a: string[], b: string[]): string[] => { const s = new Set(a); return b.filter((x) => !s.has(x)); };
  return {
    netns: added(before.netns, after.netns),
    links: added(before.links, after.links),
    processes: added(before.processes, after.processes),
    mounts: added(before.mounts, after.mounts),
    tempEntries: added(before.tempEntries, after.tempEntries),
  };
}

/** The tags a lab created by process `pid` puts in the names of what it creates. */
export function ownerTags(pid: number): string[] {
  // UML kernels: lvsdlab-PID-N-...; host labs: lvsdlab-PIDxN-... (directories), lvsdlabPIDxN- (namespaces).
  return [`${LAB_PREFIX}-${pid}-`, `${LAB_PREFIX}-${pid}x`, `${LAB_PREFIX}${pid}x`];
}

/** Added items that belong to labs of process `pid`; empty means nothing leaked. */
export function leaks(diff: SnapshotDiff, pid: number): SnapshotDiff {
  const tags = ownerTags(pid);
  const mine = (s: string): boolean => tags.some((t) => s.includes(t));
  return {
    netns: diff.netns.filter(mine),
    links: diff.links.filter(mine),
    processes: diff.processes.filter(mine),
    mounts: diff.mounts.filter(mine),
    tempEntries: diff.tempEntries.filter(mine),
  };
}

export function isEmpty(d: SnapshotDiff): boolean {
  return Object.values(d).every((v) => v.length === 0);
}

export function describeDiff(d: SnapshotDiff): string {
  return Object.entries(d).filter(([, v]) => v.length).map(([k, v]) => `${k}:\n  ${(v as string[]).join('\n  ')}`).join('\n') || '(none)';
}
