// The line protocol between the test process and the agent inside a UML kernel. One JSON object per
// line behind a fixed marker, so anything else on the channel (kernel log lines, a stray echo) is
// skipped instead of breaking the session. Process output travels base64-encoded: binary-safe and
// free of newlines.

export const MARKER = '@lvsdlab:';

export interface ExecRequest {
  argv: string[];
  ns?: string | undefined;          // network namespace (ip netns name); none = the kernel's root
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  input?: string | undefined;       // written to stdin, then stdin is closed
  timeoutMs?: number | undefined;   // SIGKILL after this long
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;                        // wall time measured where the command ran
  error?: string;                    // spawn failure or timeout
  /** Agent to host only: stdout too big for the console channel, left in this file instead. */
  stdoutFile?: string;
}

/** Above this, the agent hands stdout over through a file in the shared directory (the console
 *  channel carries about 1 MB/s; hostfs is a plain host write). */
export const SPOOL_THRESHOLD = 64 * 1024;

export type SpawnRequest = Omit<ExecRequest, 'input' | 'timeoutMs'> & {
  /** Run on this terminal (stdin/out/err, controlling tty, new session) instead of pipes: `lab shell`. */
  tty?: string | undefined;
};

export type ProcEvent =
  | { ev: 'data'; handle: number; fd: 1 | 2; data: string }
  | { ev: 'exit'; handle: number; code: number | null; signal: NodeJS.Signals | null; error?: string };

export type Request =
  | ({ id: number; op: 'exec' } & ExecRequest)
  | ({ id: number; op: 'spawn' } & SpawnRequest)
  | { id: number; op: 'write'; handle: number; data: string | null }
  | { id: number; op: 'kill'; handle: number; signal: NodeJS.Signals }
  | { id: number; op: 'ping' }
  | { id: number; op: 'shutdown' };

export type Reply =
  | { ev: 'ready'; uptime: number; node: string }
  /** Flow control: bytes of requests the agent has read so far (see RX_WINDOW). */
  | { ev: 'rx'; bytes: number }
  | { ev: 'reply'; id: number; ok: true; result: unknown }
  | { ev: 'reply'; id: number; ok: false; error: string }
  | ProcEvent;

/**
 * At most this many request bytes may be unread by the agent. UML's tty layer throttles a console
 * whose 4 KiB input buffer fills, and in UML 6.1 the channel then never resumes (measured: one
 * 4,200-byte request stalled it for good; 4,000 passed), so the host sends on credit.
 */
export const RX_WINDOW = 2048;

export function encode(msg: Request | Reply): string {
  return MARKER + JSON.stringify(msg) + '\n';
}

/** Splits a byte stream into messages; keeps the unfinished tail between calls. */
export class LineDecoder {
  private tail = '';
  skipped = 0;

  push(chunk: string): unknown[] {
    const text = this.tail + chunk;
    const lines = text.split('\n');
    this.tail = lines.pop() ?? '';
    // A line without a newline for 16 MiB is noise, not a message in progress.
    if (this.tail.length > 16 * 1024 * 1024) { this.tail = ''; this.skipped++; }
    const out: unknown[] = [];
    for (const raw of lines) {
      const at = raw.indexOf(MARKER);
      if (at < 0) { if (raw.trim()) this.skipped++; continue; }
      try {
        out.push(JSON.parse(raw.slice(at + MARKER.length).replace(/\r$/, '')));
      } catch {
        this.skipped++;
      }
    }
    return out;
  }
}
