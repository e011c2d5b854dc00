// Track scripts (keepalived vrrp_script): argv run periodically without a shell, as an unprivileged
// user, in its own process group so a timeout kills everything it started; rise/fall debounce.
import type { TrackScriptConfig } from '../src/config/model.js';
import { runProgram, type UserIds } from '../src/scripts/run.js';
import { fileItem, type TrackFileValue } from './track-file.js';

/** rise/fall counting (pure): returns the new up/down state after one result. */
export class RiseFall {
  private run = 0;
  constructor(private readonly rise: number, private readonly fall: number, public up: boolean | null = null) {}
  result(ok: boolean): boolean | null {
    const towards = ok;
    if (this.up === towards) { this.run = 0; return this.up; }
    this.run++;
    if (this.run >= (ok ? this.rise : this.fall)) { this.up = ok; this.run = 0; }
    return this.up;
  }
}

export class TrackScript {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private lastStartError: string | undefined;
  private readonly rf: RiseFall;
  private stopped = false;

  constructor(readonly config: TrackScriptConfig, private readonly user: UserIds | null,
    private readonly onChange: (up: boolean) => void, private readonly log: (line: string) => void) {
    // Unknown until the first result; with init_fail (keepalived's) failed until `rise` successes.
    this.rf = new RiseFall(config.rise, config.fall, config.init_fail ? false : null);
    if (this.rf.up === false) onChange(false); // init_fail: instances start with it down, before they start
  }

  get up(): boolean | null { return this.rf.up; }

  start(): void {
    this.runOnce();
    this.timer = setInterval(() => this.runOnce(), this.config.interval);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  private runOnce(): void {
    if (this.running || this.stopped) return; // an overrunning script is never started twice
    this.running = true;
    const timeoutMs = this.config.timeout ?? this.config.interval;
    void runProgram({ argv: this.config.argv, user: this.user, timeoutMs, maxOutput: 0 }).then((r) => {
      this.running = false;
      // Once per reason, not every interval (a refused or missing script fails each run the same way).
      if (r.startError && r.startError !== this.lastStartError) this.log(`track script ${this.config.name}: cannot run: ${r.startError}`);
      this.lastStartError = r.startError;
      if (this.stopped) return;
      const before = this.rf.up;
      const after = this.rf.result(r.code === 0);
      if (after !== null && after !== before) this.onChange(after);
    });
  }
}

/**
 * keepalived's `reverse` on a tracked thing (pure): the weight works the other way round. A positive
 * weight is subtracted while up, a negative one added while down, and without weight the instance is
 * in FAULT while the thing is up. Expressed as the opposite weight on the opposite state, so
 * effectivePriority and the status arithmetic need no rule of their own.
 */
export function reverseItem<T extends { weight: number | undefined; up: boolean | null }>(item: T, reverse: boolean | undefined): T {
  if (!reverse) return item;
  return { ...item, weight: item.weight ? -item.weight : item.weight, up: item.up === null ? null : !item.up };
}

/** An instance's (or a sync group's) `track` block, as the config has it. */
export interface TrackBlock {
  interfaces: { name: string; weight?: number; reverse?: boolean }[];
  scripts: { name: string; weight?: number; reverse?: boolean }[];
  virtual_services: { name: string; weight?: number; reverse?: boolean }[];
  processes: { name: string; weight?: number; reverse?: boolean }[];
  files: { name: string; weight?: number; reverse?: boolean }[];
}
/** The defaults each kind of tracked thing carries at the top level (track_scripts, track_processes, track_files). */
export interface TrackDefaults {
  track_scripts: { name: string; weight?: number; reverse?: boolean }[];
  track_processes: { name: string; weight?: number; reverse?: boolean }[];
  track_files: { name: string; weight?: number; reverse?: boolean }[];
}

/**
 * What an instance tracks, each as (key, weight, up) for effectivePriority (pure): its own block, then
 * its sync group's (which counts for every member, keepalived's sync group track_*). A weight and
 * reverse on the item win over the tracked thing's own. Files turn their value into a weight
 * (track-file.ts fileItem); reverse is folded in (reverseItem).
 */
export function trackedItems(own: TrackBlock, group: TrackBlock | undefined, defaults: TrackDefaults,
  state: (key: string) => boolean | null, fileValue: (name: string) => TrackFileValue | null): { key: string; weight: number | undefined; up: boolean | null }[] {
  const out: { key: string; weight: number | undefined; up: boolean | null }[] = [];
  const find = (list: { name: string; weight?: number; reverse?: boolean }[], name: string) => list.find((x) => x.name === name);
  for (const t of group ? [own, group] : [own]) {
    for (const i of t.interfaces) out.push(reverseItem({ key: `interface:${i.name}`, weight: i.weight, up: state(`interface:${i.name}`) }, i.reverse));
    for (const s of t.scripts) {
      const d = find(defaults.track_scripts, s.name);
      out.push(reverseItem({ key: `script:${s.name}`, weight: s.weight ?? d?.weight, up: state(`script:${s.name}`) }, s.reverse ?? d?.reverse));
    }
    for (const v of t.virtual_services) out.push(reverseItem({ key: `vs:${v.name}`, weight: v.weight, up: state(`vs:${v.name}`) }, v.reverse));
    for (const p of t.processes) {
      const d = find(defaults.track_processes, p.name);
      out.push(reverseItem({ key: `process:${p.name}`, weight: p.weight ?? d?.weight, up: state(`process:${p.name}`) }, p.reverse ?? d?.reverse));
    }
    for (const f of t.files) {
      const d = find(defaults.track_files, f.name);
      out.push({ key: `file:${f.name}`, ...fileItem(fileValue(f.name), f.weight ?? d?.weight, f.reverse ?? d?.reverse ?? false) });
    }
  }
  return out;
}
