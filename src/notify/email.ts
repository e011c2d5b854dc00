// Email alerts (keepalived smtp_alert) sent through nodemailer, off the paths that matter: VRRP and the
// checks only ever call enqueue(), which returns at once. One message is in flight at a time; the queue
// is bounded (a dead relay costs at most QUEUE_MAX messages, then new ones are dropped and counted), each
// send has a deadline, and a subject repeating too often is held back (SubjectRateLimit).
import { hostname } from 'node:os';
import nodemailer from 'nodemailer';
import type { EmailConfig } from '../config/model.js';
import { headerText, SubjectRateLimit, type AlertMessage } from './alerts.js';

export const QUEUE_MAX = 64;

export type EmailCounters = { sent: number; failed: number; dropped: number; rate_limited: number };

/** What sending needs; nodemailer's transport satisfies it, tests pass their own. */
export interface MailTransport {
  sendMail(m: { from: string; to: string[]; subject: string; text: string; headers?: Record<string, string> }): Promise<unknown>;
  close(): void;
}
export type TransportFactory = (email: EmailConfig, heloName: string) => MailTransport;

export interface EmailNotifierOptions {
  log: (level: 'info' | 'warn' | 'error' | 'debug', message: string) => void;
  transport?: TransportFactory;
  now?: () => number;
  rateLimit?: SubjectRateLimit;
}

/** nodemailer's SMTP transport with lvsd's bounds: every wait is connect_timeout at most. */
export const smtpTransport: TransportFactory = (email, heloName) => {
  const t = email.connect_timeout;
  const tlsOpts = email.starttls === 'never' ? { ignoreTLS: true }
    : email.starttls === 'required' ? { requireTLS: true, tls: { rejectUnauthorized: true } }
    // Opportunistic: encrypt when offered, as MTAs do between themselves; a self-signed relay still gets the alert.
      : { tls: { rejectUnauthorized: false } };
  return nodemailer.createTransport({
    host: email.smtp_server.host, port: email.smtp_server.port, secure: false, name: heloName,
    connectionTimeout: t, greetingTimeout: t, socketTimeout: t, dnsTimeout: t,
    ...tlsOpts,
  }) as unknown as MailTransport;
};

export class EmailNotifier {
  readonly counters: EmailCounters = { sent: 0, failed: 0, dropped: 0, rate_limited: 0 };
  private queue: AlertMessage[] = [];
  private sending = false;
  private closed = false;
  /** Ends the wait for the message in flight (set while one is). */
  private stopWaiting: (() => void) | undefined;
  private transport: MailTransport | undefined;
  private idle: Array<() => void> = [];
  private readonly limit: SubjectRateLimit;
  private readonly now: () => number;

  constructor(private email: EmailConfig, private readonly opts: EmailNotifierOptions) {
    this.limit = opts.rateLimit ?? new SubjectRateLimit();
    this.now = opts.now ?? Date.now;
  }

  get queued(): number { return this.queue.length + (this.sending ? 1 : 0); }

  /** A new global.email (reload): later messages use it; the one in flight finishes with the old. */
  reconfigure(email: EmailConfig): void {
    if (JSON.stringify(email) === JSON.stringify(this.email)) return;
    this.email = email;
    this.transport?.close();
    this.transport = undefined;
  }

  /** Never throws, never waits. */
  enqueue(m: AlertMessage): void {
    if (this.closed) return;
    if (!this.limit.allow(m.subject, this.now())) {
      this.counters.rate_limited++;
      this.opts.log('warn', `email alert held back (more than the rate limit for one subject): ${m.subject}`);
      return;
    }
    if (this.queue.length >= QUEUE_MAX) {
      this.counters.dropped++;
      this.opts.log('warn', `email alert dropped, ${QUEUE_MAX} waiting for the relay already: ${m.subject}`);
      return;
    }
    this.queue.push(m);
    if (!this.sending) void this.drain();
  }

  /** Resolves once nothing is queued or in flight (tests, stop). */
  flushed(): Promise<void> {
    if (!this.sending && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Stops sending: what is queued is dropped (counted), the message in flight may still arrive. */
  close(): void {
    this.closed = true;
    this.counters.dropped += this.queue.length;
    this.queue = [];
    this.transport?.close();
    this.transport = undefined;
    // Stop waiting for the message in flight: its deadline timer would keep the process alive for
    // three connect timeouts after lvsd is done with email.
    this.stopWaiting?.();
    if (!this.sending) this.wake();
  }

  private wake(): void { for (const r of this.idle.splice(0)) r(); }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      for (let m = this.queue.shift(); m; m = this.queue.shift()) await this.sendOne(m);
    } finally {
      this.sending = false;
      this.wake();
    }
  }

  private async sendOne(m: AlertMessage): Promise<void> {
    const email = this.email;
    const helo = email.helo_name ?? hostname();
    const from = email.from ?? `lvsd@${hostname()}`;
    // nodemailer's own timeouts bound each step; this deadline bounds the whole exchange (a relay
    // trickling bytes would otherwise keep resetting the socket timeout).
    const deadlineMs = email.connect_timeout * 3;
    let timer: NodeJS.Timeout | undefined;
    try {
      this.transport ??= (this.opts.transport ?? smtpTransport)(email, helo);
      const t = this.transport;
      const outcome = await Promise.race([
        t.sendMail({ from, to: [...email.to], subject: headerText(m.subject), text: m.body.replace(/\n/g, '\r\n'), headers: { 'X-Mailer': 'lvsd' } }).then(() => 'sent' as const),
        new Promise<never>((_, reject) => { timer = setTimeout(() => { t.close(); reject(new Error(`no answer within ${deadlineMs} ms`)); }, deadlineMs); }),
        new Promise<'closed'>((resolve) => { this.stopWaiting = () => resolve('closed'); }),
      ]);
      if (outcome === 'closed') return; // close() gave it up: neither sent nor failed as far as lvsd knows
      this.counters.sent++;
      this.opts.log('info', `email alert sent to ${email.to.length} recipient${email.to.length === 1 ? '' : 's'} through ${email.smtp_server.host}:${email.smtp_server.port}: ${m.subject}`);
    } catch (e) {
      this.counters.failed++;
      // A relay's reply is echoed: one line, bounded.
      this.opts.log('warn', `email alert failed (${email.smtp_server.host}:${email.smtp_server.port}): ${headerText(String((e as Error).message ?? e), 300)}; subject: ${m.subject}`);
      this.transport?.close();
      this.transport = undefined;
    } finally {
      clearTimeout(timer);
      this.stopWaiting = undefined;
    }
  }
}
