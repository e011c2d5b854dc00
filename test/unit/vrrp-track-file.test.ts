// Track files, reverse, init_fail and sync-group tracking for VRRP (issue #17): keepalived.conf(5)'s rules
// ("Track files": weight 0 -> non-zero is FAULT; else value x weight added, below -253 FAULT; reverse
// negates; track_script "reverse") turned into effectivePriority's (weight, up) items, the priority that
// results, the file read through a real file and fs.watch, and the config keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { effectivePriority } from '../../vrrp/engine.js';
import { fileItem, trackFileValue, TrackFile, type TrackFileValue } from '../../vrrp/track-file.js';
import { RiseFall, reverseItem, trackedItems, type TrackBlock } from '../../vrrp/track.js';
import { formatIssue, parseConfig } from '../../src/config/index.js';

const v = (n: number): TrackFileValue => ({ ok: true, value: n });
const prio = (base: number, items: { weight: number | undefined; up: boolean | null }[]) => effectivePriority(base, items);

test('track file, weight 0 / none: 0 is up, anything else FAULT; reverse the other way', () => {
  assert.deepEqual(prio(100, [fileItem(v(0), undefined, false)]), { priority: 100, fault: false });
  assert.deepEqual(prio(100, [fileItem(v(1), undefined, false)]), { priority: 100, fault: true });
  assert.deepEqual(prio(100, [fileItem(v(-5), 0, false)]), { priority: 100, fault: true });
  assert.deepEqual(prio(100, [fileItem(v(0), 0, true)]), { priority: 100, fault: true });
  assert.deepEqual(prio(100, [fileItem(v(7), 0, true)]), { priority: 100, fault: false });
});

test('track file with a weight: value x weight added, clamped; below -253 FAULT; reverse subtracts', () => {
  assert.deepEqual(prio(100, [fileItem(v(3), 10, false)]), { priority: 130, fault: false });
  assert.deepEqual(prio(100, [fileItem(v(-3), 10, false)]), { priority: 70, fault: false });
  assert.deepEqual(prio(100, [fileItem(v(3), 10, true)]), { priority: 70, fault: false });
  assert.deepEqual(prio(100, [fileItem(v(0), 10, false)]), { priority: 100, fault: false });
  assert.deepEqual(prio(100, [fileItem(v(100), 10, false)]), { priority: 254, fault: false }); // 1000 -> 253 -> 254 max
  assert.deepEqual(prio(100, [fileItem(v(-99), 1, false)]), { priority: 1, fault: false }); // -99 -> priority floor 1
  assert.deepEqual(prio(100, [fileItem(v(-253), 1, false)]), { priority: 1, fault: false });
  assert.deepEqual(prio(100, [fileItem(v(-254), 1, false)]), { priority: 100, fault: true }); // keepalived: < -253 is FAULT
  assert.deepEqual(prio(100, [fileItem(v(254), 1, true)]), { priority: 100, fault: true });
  // missing / unreadable / not a number: FAULT whatever the weight (lvsd; keepalived reads 0)
  assert.deepEqual(prio(100, [fileItem({ ok: false, why: 'missing' }, 10, false)]), { priority: 100, fault: true });
  // not read yet: counts nothing
  assert.deepEqual(prio(100, [fileItem(null, 10, false)]), { priority: 100, fault: false });
  // the owner ignores weights but not a FAULT
  assert.deepEqual(prio(255, [fileItem(v(5), 10, false)]), { priority: 255, fault: false });
  assert.deepEqual(prio(255, [fileItem(v(5), undefined, false)]), { priority: 255, fault: true });
});

test('file bytes: the FILE_CHECK parser (decimal, hex, blanks; 64 bytes at most)', () => {
  assert.deepEqual(trackFileValue(Buffer.from(' 12\n')), v(12));
  assert.deepEqual(trackFileValue(Buffer.from('-0x10')), v(-16));
  assert.deepEqual(trackFileValue(Buffer.from('')), v(0));
  assert.equal(trackFileValue(Buffer.from('12abc')).ok, false);
  assert.equal(trackFileValue(Buffer.alloc(65, 0x31)).ok, false);
});

test('reverse (keepalived weight ... reverse) on up/down items', () => {
  const r = (weight: number | undefined, up: boolean) => prio(100, [reverseItem({ key: 'k', weight, up }, true)]);
  assert.deepEqual(r(10, true), { priority: 90, fault: false }); // positive: subtracted while up
  assert.deepEqual(r(10, false), { priority: 100, fault: false });
  assert.deepEqual(r(-10, false), { priority: 110, fault: false }); // negative: added while down
  assert.deepEqual(r(-10, true), { priority: 100, fault: false });
  assert.deepEqual(r(undefined, true), { priority: 100, fault: true }); // no weight: FAULT while up
  assert.deepEqual(r(undefined, false), { priority: 100, fault: false });
  assert.deepEqual(reverseItem({ key: 'k', weight: 5, up: null }, true).up, null);
});

test('init_fail: a script starts down, rise successes bring it up', () => {
  const rf = new RiseFall(2, 1, false);
  assert.equal(rf.up, false);
  assert.equal(rf.result(true), false);
  assert.equal(rf.result(true), true);
});

const block = (o: Partial<TrackBlock>): TrackBlock => ({ interfaces: [], scripts: [], virtual_services: [], processes: [], files: [], ...o });

test('trackedItems: item weight and reverse over the defaults; the group block counts for its members', () => {
  const defaults = {
    track_scripts: [{ name: 'chk', weight: -20, reverse: true }],
    track_processes: [{ name: 'haproxy', weight: 30 }],
    track_files: [{ name: 'prio', weight: 5 }],
  };
  const state = (k: string) => ({ 'script:chk': false, 'process:haproxy': true, 'interface:eth1': false } as Record<string, boolean>)[k] ?? null;
  const items = trackedItems(block({ scripts: [{ name: 'chk' }], processes: [{ name: 'haproxy', reverse: false }] }),
    block({ interfaces: [{ name: 'eth1', weight: -50 }], files: [{ name: 'prio', weight: 2 }] }), defaults, state, () => v(4));
  assert.deepEqual(items, [
    { key: 'script:chk', weight: 20, up: true }, // -20 reversed: +20 while down
    { key: 'process:haproxy', weight: 30, up: true },
    { key: 'interface:eth1', weight: -50, up: false },
    { key: 'file:prio', weight: 8, up: true }, // 4 x the item's weight 2
  ]);
  assert.deepEqual(effectivePriority(100, items), { priority: 108, fault: false });
});

test('TrackFile: a real file, written and renamed over, seen through fs.watch', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-tf-'));
  const path = join(dir, 'state');
  try {
    writeFileSync(path, '0\n');
    const seen: TrackFileValue[] = [];
    const f = new TrackFile({ name: 'st', path, interval: 60_000 }, (x) => seen.push(x), () => {});
    f.start();
    const wait = async (n: number) => { for (let i = 0; i < 200 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10)); };
    await wait(1);
    writeFileSync(join(dir, 'tmp'), '7');
    renameSync(join(dir, 'tmp'), path); // how tools replace such files
    await wait(2);
    rmSync(path);
    await wait(3);
    f.stop();
    assert.deepEqual(seen.map((x) => (x.ok ? x.value : x.why)), [0, 7, 'missing']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const base = `
vrrp_instances:
  - name: vi_1
    interface: eth0
    vrid: 1
    virtual_ips: [192.0.2.10/24]
    track:
      processes: [{name: haproxy}]
      files: [{name: prio, weight: 10, reverse: true}]
vrrp_sync_groups: []
`;

test('config: track_processes, track_files, reverse, init_fail, sync group track; unknown names refused', () => {
  const ok = parseConfig(`${base}
track_processes:
  - {name: haproxy, process: haproxy, quorum: 1, terminate_delay: 500ms}
track_files:
  - {name: prio, path: /run/prio}
track_scripts:
  - {name: chk, argv: [/bin/true], init_fail: true, reverse: true}
`, 'x.yaml');
  assert.ok(ok.ok, ok.ok ? '' : ok.errors.map(formatIssue).join('\n'));
  assert.equal(ok.config.track_processes[0]!.terminate_delay, 500);
  assert.equal(ok.config.track_files[0]!.interval, 5000);
  assert.equal(ok.config.track_scripts[0]!.init_fail, true);
  assert.equal(ok.config.vrrp_instances[0]!.track.files[0]!.reverse, true);
  const bad = parseConfig(`${base}
track_processes: []
track_files: []
`, 'x.yaml');
  assert.ok(!bad.ok);
  const text = bad.errors.map(formatIssue).join('\n');
  assert.match(text, /unknown track process 'haproxy'/);
  assert.match(text, /unknown track file 'prio'/);
  const hint = parseConfig(`${base.replace('vrrp_sync_groups: []', '')}
vrrp_track_process: {}
`, 'x.yaml');
  assert.ok(!hint.ok);
  assert.match(hint.errors.map(formatIssue).join('\n'), /track_processes/);
  const q = parseConfig(`${base}
track_processes: [{name: haproxy, process: haproxy, quorum: 3, quorum_max: 2}]
track_files: [{name: prio, path: /run/prio}]
`, 'x.yaml');
  assert.ok(!q.ok);
  assert.match(q.errors.map(formatIssue).join('\n'), /quorum_max 2 is below quorum 3/);
});
