// One rendering of the metrics serves every scrape that asks while it runs and for a short while after:
// a client opening scrapes as fast as it can (or 64 at once) then costs the main thread, where the
// health checks run, one render per window instead of one per request. The window is at least
// MIN_REUSE_MS and at least as long as the last render took, so rendering never takes more than about
// half of the thread however hard /metrics is hammered.

/** Scrapes this close together share one rendering (Prometheus scrapes every few seconds at most). */
export const MIN_REUSE_MS = 250;

interface Run { pieces: string[]; done: boolean; error?: unknown; startedAt: number; finishedAt: number; wake: Array<() => void> }

export class SharedRender {
  private run: Run | undefined;
  /** Renderings started so far (tests, and to see the effect). */
  renders = 0;

  constructor(private readonly render: () => AsyncIterable<string>, private readonly now: () => number = () => performance.now()) {}

  /** The pieces of the current rendering, or of a new one when the last is too old or failed. */
  async *pieces(): AsyncGenerator<string> {
    let r = this.run;
    if (!r || (r.done && (r.error !== undefined || this.now() - r.finishedAt > Math.max(MIN_REUSE_MS, r.finishedAt - r.startedAt)))) r = this.start();
    for (let i = 0; ; i++) {
      while (i >= r.pieces.length) {
        if (r.done) {
          if (r.error !== undefined) throw r.error;
          return;
        }
        await new Promise<void>((resolve) => r!.wake.push(resolve));
      }
      yield r.pieces[i]!;
    }
  }

  /** The next scrape renders afresh (a finished rendering is dropped; one in progress completes). */
  invalidate(): void {
    if (this.run?.done) this.run = undefined;
  }

  private start(): Run {
    const r: Run = { pieces: [], done: false, startedAt: this.now(), finishedAt: 0, wake: [] };
    this.run = r;
    this.renders++;
    const wakeAll = () => { const w = r.wake; r.wake = []; for (const f of w) f(); };
    void (async () => {
      try {
        for await (const p of this.render()) { r.pieces.push(p); wakeAll(); }
      } catch (e) {
        r.error = e ?? new Error('rendering failed');
      }
      r.done = true;
      r.finishedAt = this.now();
      wakeAll();
    })();
    return r;
  }
}
