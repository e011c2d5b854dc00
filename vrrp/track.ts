// Track scripts (keepalived vrrp_script): argv run periodically without a shell, as an unprivileged
// user, in its own process group so a timeout kills everything it started; rise/fall debounce.
import type { TrackScriptConfig } from '../src/config/model.js';
import { runProgram, type UserIds } from '../src/scripts/run.js';

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
    // keepalived starts a script as failed when rise > 1 is needed to go up; with rise 1 the first
    // success makes it up. Unknown until the first result.
    this.rf = new RiseFall(config.rise, config.fall);
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
