// The shell around ruleset.ts: runs `nft -j -f FILE` (Debian's nftables package) with a timeout, one
// run at a time, the newest wanted table winning; reports nft's stderr; after a failure it retries
// with a backoff until the kernel holds what the config asks for. Only lvsd's table `inet lvsd` is
// ever touched. Asynchronous spawn only: the VRRP engine's worker thread must keep its adverts on time.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oneLine } from '../text/quote.js';
import { deleteTransaction, planWantsTable, replaceTransaction, INPUT_PRIORITY, TABLE_FAMILY, TABLE_NAME, type NoAcceptPlan } from './ruleset.js';

export interface NftResult { code: number | null; signal: NodeJS.Signals | null; stderr: string; error?: NodeJS.ErrnoException }
/** Runs nft with `input` on stdin; never rejects. */
export type NftRunner = (args: string[], input: string, timeoutMs: number) => Promise<NftResult>;

const STDERR_MAX = 4096;

/**
 * `-` in args stands for the input, written to a private file first: nft opens `-f -` as /dev/stdin,
 * which fails (ENXIO) when stdin is a socket, as Node's stdio pipes are.
 */
export const runNft: NftRunner = async (args, input, timeoutMs) => {
  let dir: string | undefined;
  try {
    dir = await mkdtemp(join(tmpdir(), 'lvsd-nft-'));
    const file = join(dir, 'ruleset.json');
    await writeFile(file, input, { mode: 0o600 });
    return await spawnNft(args.map((a) => (a === '-' ? file : a)), timeoutMs);
  } catch (e) {
    return { code: null, signal: null, stderr: '', error: e as NodeJS.ErrnoException };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
};

function spawnNft(args: string[], timeoutMs: number): Promise<NftResult> {
  return new Promise((resolve) => {
    let stderr = '';
    let done = false;
    const finish = (r: NftResult) => { if (!done) { done = true; resolve(r); } };
    const child = spawn('nft', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    child.stderr!.on('data', (d: Buffer) => { if (stderr.length < STDERR_MAX) stderr += d.toString('utf8', 0, Math.min(d.length, STDERR_MAX - stderr.length)); });
    child.on('error', (error: NodeJS.ErrnoException) => finish({ code: null, signal: null, stderr, error }));
    child.on('close', (code, signal) => finish({ code, signal, stderr }));
  });
}

/** Why a run failed, in one line with nft's own message (escaped: it may echo our input). */
export function describeFailure(r: NftResult, timeoutMs: number): string {
  if (r.error?.code === 'ENOENT') return 'nft not found (install the nftables package)';
  if (r.error) return `nft could not start: ${r.error.code ?? ''} ${r.error.message}`.trim();
  if (r.signal) return r.signal === 'SIGKILL' ? `nft killed after ${timeoutMs} ms (timeout)` : `nft killed by ${r.signal}`;
  const msg = oneLine(r.stderr.trim(), 400);
  return `nft exited with ${r.code}${msg ? `: ${msg}` : ''}`;
}

export interface NoAcceptTableOptions {
  log: (line: string) => void;
  run?: NftRunner;
  timeoutMs?: number;
  /** First and longest wait before trying again after a failure. */
  retryMs?: [number, number];
}

export interface NoAcceptStatus {
  /** Some instance has accept mode off: the table should exist. */
  wanted: boolean;
  /** The kernel holds the table the config asks for (or, when not wanted, none). */
  inForce: boolean;
  failures: number;
  lastError: string | null;
}

/** lvsd's table for accept mode off: apply(plan) whenever the config changes, stop() at shutdown. */
export class NoAcceptTable {
  private readonly run: NftRunner;
  private readonly timeoutMs: number;
  private readonly retryMs: [number, number];
  private desired: { plan: NoAcceptPlan; input: string } | null = null;
  /** The input the kernel last accepted; null: unknown (nothing run yet). */
  private applied: string | null = null;
  private running: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;
  private backoff: number;
  private stopped = false;
  private failuresValue = 0;
  private lastErrorValue: string | null = null;

  constructor(private readonly opts: NoAcceptTableOptions) {
    this.run = opts.run ?? runNft;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.retryMs = opts.retryMs ?? [1000, 30_000];
    this.backoff = this.retryMs[0];
  }

  get status(): NoAcceptStatus {
    const wanted = !!this.desired && planWantsTable(this.desired.plan);
    return { wanted, inForce: !!this.desired && this.applied === this.desired.input, failures: this.failuresValue, lastError: this.lastErrorValue };
  }

  /**
   * Makes the kernel's `inet lvsd` match the plan (first call: also removes a table a crashed run
   * left). Resolves once this plan (or a newer one) was tried; true if it is in force.
   */
  async apply(plan: NoAcceptPlan): Promise<boolean> {
    if (this.stopped) return false;
    const input = JSON.stringify(replaceTransaction(plan));
    this.desired = { plan, input };
    if (this.retry) { clearTimeout(this.retry); this.retry = null; this.backoff = this.retryMs[0]; }
    await this.converge();
    return this.applied === input;
  }

  /** Deletes lvsd's table (whatever the config said) and stops retrying. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) { clearTimeout(this.retry); this.retry = null; }
    await this.running;
    const wasWanted = this.status.wanted || (this.applied !== null && this.applied !== JSON.stringify(deleteTransaction()));
    if (!wasWanted) return; // nothing of ours was installed: no nft run at shutdown
    const r = await this.run(['-j', '-f', '-'], JSON.stringify(deleteTransaction()), this.timeoutMs);
    if (r.code === 0) this.opts.log(`no_accept: table ${TABLE_FAMILY} ${TABLE_NAME} deleted`);
    else this.opts.log(`no_accept: deleting table ${TABLE_FAMILY} ${TABLE_NAME} failed: ${describeFailure(r, this.timeoutMs)}`);
  }

  private converge(): Promise<void> {
    if (this.running) return this.running.then(() => (this.desired && this.applied !== this.desired.input && !this.retry && !this.stopped ? this.converge() : undefined));
    this.running = this.loop().finally(() => { this.running = null; });
    return this.running;
  }

  private async loop(): Promise<void> {
    while (this.desired && this.applied !== this.desired.input && !this.stopped) {
      const { plan, input } = this.desired;
      const r = await this.run(['-j', '-f', '-'], input, this.timeoutMs);
      if (this.desired.input !== input) continue; // a newer plan arrived meanwhile: apply that one
      if (r.code === 0 && !r.error) {
        this.applied = input;
        this.backoff = this.retryMs[0];
        if (planWantsTable(plan)) {
          const vips = [...plan.ipv4, ...plan.ipv6];
          this.opts.log(`no_accept: table ${TABLE_FAMILY} ${TABLE_NAME} in force: packets to ${vips.join(' ')} (${plan.instances.join(', ')}) dropped in input at priority ${INPUT_PRIORITY}, after IPVS${this.failuresValue ? ` (after ${this.failuresValue} failed attempts)` : ''}`);
        }
        this.failuresValue = 0;
        this.lastErrorValue = null;
        return;
      }
      const why = describeFailure(r, this.timeoutMs);
      if (!planWantsTable(plan)) {
        // Only clean-up of a table no instance needs: nft missing, or a kernel without nf_tables inet,
        // cannot hold a table of ours either. Said once, not retried.
        if (r.error?.code !== 'ENOENT' && !/not supported|No such file/i.test(r.stderr)) this.opts.log(`no_accept: removing a leftover table ${TABLE_FAMILY} ${TABLE_NAME} failed: ${why}`);
        this.applied = input;
        return;
      }
      this.failuresValue++;
      this.lastErrorValue = why;
      const wait = this.backoff;
      this.backoff = Math.min(this.retryMs[1], this.backoff * 2);
      this.opts.log(`no_accept: ${why}; packets to the VIPs of ${plan.instances.join(', ')} are NOT dropped (accept mode in effect); trying again in ${wait} ms`);
      this.retry = setTimeout(() => { this.retry = null; void this.converge(); }, wait);
      this.retry.unref?.();
      return;
    }
  }
}
