// Track files for VRRP (keepalived track_file on instances and sync groups): an integer in a file puts
// an instance in FAULT or moves its priority. The file is read through checkers/file.ts (the same
// parser and bounded read as FILE_CHECK on real servers), at once when fs.watch on its directory
// reports a change (a rename over it included) and every `interval` in case a change was missed.
//
// keepalived.conf(5) "Track files", for VRRP: weight 0 -> 0 is OK and any other value is FAULT; else
// value x weight is added to the priority, and a result below -253 is FAULT; `reverse` negates (weight
// 0: 0 is FAULT, anything else OK). The sum is clamped to 1..254 by effectivePriority as for every
// tracked thing. Differences: a missing or unreadable file, or text that is not an integer, is FAULT
// (keepalived reads it as 0), as lvsd's FILE_CHECK does.
import { readHead, parseFileValue, watchFile, FILE_MAX_BYTES } from '../checkers/file.js';

/** The file's value now: a number, or why there is none. */
export type TrackFileValue = { ok: true; value: number } | { ok: false; why: string };

/** The largest change a track file may make before the instance is in FAULT instead (keepalived). */
export const TRACK_FILE_MIN_DELTA = -253;
export const TRACK_FILE_MAX_DELTA = 253;

/**
 * One track file as a tracked item (weight, up) in effectivePriority's terms (pure). No weight (or 0):
 * a status, FAULT unless the value is 0 (reverse: unless non-zero). Else the signed product, as a
 * weight that counts: a positive one while "up", a negative one while "down".
 */
export function fileItem(v: TrackFileValue | null, weight: number | undefined, reverse: boolean): { weight: number | undefined; up: boolean | null } {
  if (v === null) return { weight: weight || undefined, up: null };
  if (!v.ok) return { weight: undefined, up: false };
  if (!weight) return { weight: undefined, up: (v.value === 0) !== reverse };
  const delta = v.value * weight * (reverse ? -1 : 1);
  if (delta < TRACK_FILE_MIN_DELTA) return { weight: undefined, up: false };
  const d = Math.min(delta, TRACK_FILE_MAX_DELTA);
  return d >= 0 ? { weight: d, up: true } : { weight: d, up: false };
}

/** The bytes of a track file as its value (more than FILE_MAX_BYTES is refused). */
export function trackFileValue(bytes: Buffer): TrackFileValue {
  if (bytes.length > FILE_MAX_BYTES) return { ok: false, why: `longer than ${FILE_MAX_BYTES} bytes` };
  const v = parseFileValue(bytes.toString('latin1'));
  return v.ok ? v : { ok: false, why: v.why };
}

export interface TrackFileSpec { name: string; path: string; interval: number }

/** One watched file; onChange(value) whenever what it holds changes (and after the first read). */
export class TrackFile {
  private value: TrackFileValue | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unwatch: (() => void) | null = null;
  private reading = false;
  private again = false;
  private stopped = false;

  constructor(readonly spec: TrackFileSpec, private readonly onChange: (v: TrackFileValue) => void, private readonly log: (line: string) => void) {}

  get current(): TrackFileValue | null { return this.value; }

  start(): void {
    this.unwatch = watchFile(this.spec.path, () => this.read());
    this.timer = setInterval(() => this.read(), this.spec.interval);
    this.timer.unref?.();
    this.read();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unwatch?.();
  }

  /** Reads now; a change during a read reads once more after it. */
  read(): void {
    if (this.stopped) return;
    if (this.reading) { this.again = true; return; }
    this.reading = true;
    void readHead(this.spec.path).then((b) => trackFileValue(b), (e: NodeJS.ErrnoException) => ({ ok: false as const, why: e.code === 'ENOENT' ? 'missing' : e.code ?? e.message })).then((v) => {
      this.reading = false;
      if (this.stopped) return;
      const before = this.value;
      this.value = v;
      const same = before !== null && before.ok === v.ok && (v.ok ? (before as { value: number }).value === v.value : (before as { why: string }).why === v.why);
      if (!same) {
        this.log(`track file ${this.spec.name}: ${v.ok ? `value ${v.value}` : `${this.spec.path} ${v.why}`}`);
        this.onChange(v);
      }
      if (this.again) { this.again = false; this.read(); }
    });
  }
}

/** The track files instances use: a kept one (same settings) keeps its value, a changed one starts over. */
export class TrackFiles {
  private readonly files = new Map<string, TrackFile>();
  constructor(private readonly onChange: (name: string) => void, private readonly log: (line: string) => void) {}

  value(name: string): TrackFileValue | null { return this.files.get(name)?.current ?? null; }

  sync(specs: TrackFileSpec[]): string[] {
    const changes: string[] = [];
    const wanted = new Map(specs.map((s) => [s.name, s] as const));
    for (const [name, f] of this.files) {
      const s = wanted.get(name);
      if (s && s.path === f.spec.path && s.interval === f.spec.interval) continue;
      f.stop();
      this.files.delete(name);
      changes.push(`track file ${name}: ${s ? 'restarted' : 'stopped'}`);
    }
    for (const s of specs) {
      if (this.files.has(s.name)) continue;
      const f = new TrackFile({ name: s.name, path: s.path, interval: s.interval }, () => this.onChange(s.name), this.log);
      this.files.set(s.name, f);
      f.start();
    }
    return changes;
  }

  stop(): void {
    for (const f of this.files.values()) f.stop();
    this.files.clear();
  }
}
