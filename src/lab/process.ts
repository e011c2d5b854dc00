// A long-running process inside a lab host, seen from the test: its output as streams and lines,
// its stdin, signals, and its exit.
import { PassThrough } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ProcEvent } from './protocol.js';

export interface ExitStatus { code: number | null; signal: NodeJS.Signals | null; error?: string }

export interface ProcessControl {
  write(handle: number, data: Buffer | null): Promise<void>;
  kill(handle: number, signal: NodeJS.Signals): Promise<void>;
}

export class LabProcess {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  /** Everything written so far, for assertions and error messages. */
  output = '';
  errors = '';
  readonly exited: Promise<ExitStatus>;
  exitStatus: ExitStatus | undefined;
  handle = -1;
  /** The process id in the lab kernel (the host's, on the host backend). */
  pid = -1;
  // A character split across two chunks must not become two U+FFFDs in output/errors.
  private readonly outText = new StringDecoder('utf8');
  private readonly errText = new StringDecoder('utf8');
  private settle!: (s: ExitStatus) => void;
  private readonly waiters = new Set<() => void>();

  constructor(readonly host: string, readonly argv: string[], private readonly control: ProcessControl) {
    this.exited = new Promise((resolve) => { this.settle = resolve; });
  }

  /** Feeds events from the kernel; internal to the lab. */
  event(ev: ProcEvent): void {
    if (ev.ev === 'data') {
      const buf = Buffer.from(ev.data, 'base64');
      if (ev.fd === 1) { this.stdout.write(buf); this.output += this.outText.write(buf); } else { this.stderr.write(buf); this.errors += this.errText.write(buf); }
      for (const w of [...this.waiters]) w();
    } else {
      this.exitStatus = { code: ev.code, signal: ev.signal, ...(ev.error ? { error: ev.error } : {}) };
      this.output += this.outText.end();
      this.errors += this.errText.end();
      this.stdout.end();
      this.stderr.end();
      this.settle(this.exitStatus);
      for (const w of [...this.waiters]) w();
    }
  }

  get running(): boolean { return this.exitStatus === undefined; }

  /**
   * Resolves with the first match of `pattern` in the output (stdout, or stderr with which='stderr',
   * or both), counting output already seen. Rejects on timeout or exit without a match.
   */
  waitFor(pattern: RegExp | string, opts: { timeoutMs?: number; which?: 'stdout' | 'stderr' | 'both' } = {}): Promise<RegExpMatchArray> {
    const re = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
    const which = opts.which ?? 'both';
    const text = (): string => which === 'stdout' ? this.output : which === 'stderr' ? this.errors : this.output + '\n' + this.errors;
    return this.waitUntil(() => text().match(re) ?? undefined, { timeoutMs: opts.timeoutMs ?? 30_000, what: String(re) });
  }

  /** Resolves with the first defined value of `probe`, evaluated now and after every output. */
  waitUntil<T>(probe: () => T | undefined, opts: { timeoutMs?: number; what?: string } = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const what = opts.what ?? 'the awaited output';
    return new Promise((resolve, reject) => {
      const tail = (): string => `output:\n${(this.output + this.errors).slice(-2000)}`;
      const done = (): void => { clearTimeout(timer); this.waiters.delete(check); };
      const check = (): void => {
        let v: T | undefined;
        try { v = probe(); } catch (e) { done(); reject(e); return; }
        if (v !== undefined) { done(); resolve(v); return; }
        if (!this.running) {
          done();
          reject(new Error(`${this.host}: ${this.argv.join(' ')} exited (${this.exitStatus?.code ?? this.exitStatus?.signal}) before ${what}; ${tail()}`));
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.host}: no ${what} from ${this.argv.join(' ')} within ${timeoutMs} ms; ${tail()}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Complete stdout lines as they arrive. */
  async *lines(which: 'stdout' | 'stderr' = 'stdout'): AsyncGenerator<string> {
    let tail = '';
    for await (const chunk of which === 'stdout' ? this.stdout : this.stderr) {
      const parts = (tail + (chunk as Buffer).toString('utf8')).split('\n');
      tail = parts.pop() ?? '';
      yield* parts;
    }
    if (tail) yield tail;
  }

  async write(data: string | Buffer): Promise<void> {
    await this.control.write(this.handle, typeof data === 'string' ? Buffer.from(data) : data);
  }

  async end(): Promise<void> { await this.control.write(this.handle, null); }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) await this.control.kill(this.handle, signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited after graceMs. */
  async stop(graceMs = 2000): Promise<ExitStatus> {
    if (!this.running) return this.exitStatus!;
    await this.kill('SIGTERM').catch(() => {});
    const timer = setTimeout(() => { void this.kill('SIGKILL').catch(() => {}); }, graceMs);
    const s = await this.exited;
    clearTimeout(timer);
    return s;
  }
}
