// SMTP_CHECK: connect, read the 220 greeting, EHLO (HELO when EHLO is refused with 5xx), optionally
// STARTTLS and EHLO again over TLS, QUIT. Up when every step got its expected reply within the timeout.
//
// keepalived (check_smtp.c, 2.x) sends HELO only and wants 250; it reads one line per reply (so a
// multi-line reply's tail is taken for the next reply). lvsd sends EHLO first, as RFC 5321 §3.2 asks of
// clients, and falls back to HELO when the server answers EHLO with 5xx (§4.1.4: "a client SHOULD fall
// back to HELO" for servers that do not know EHLO); a 4xx is a transient refusal and fails the check.
// Replies are read whole (multi-line, §4.2.1) by smtp-reply.ts, which bounds them.
//
// The same connect paths as TCP_CHECK (tcp.ts): net.connect, or the addon's socket for a source
// address/port, fwmark or bind_interface, wrapped as a net.Socket. One deadline covers the conversation.
import { connect, isIP, Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { TcpConnect } from '../src/native/connect.js';
import type { CheckConfig } from '../src/config/model.js';
import { readCa } from './http.js';
import { deadline } from './deadline.js';
import { describeSocketError, down, formatMs, up, type CheckOutcome, type CheckTarget } from './outcome.js';
import { ehloKeywords, replyText, SmtpReplyReader, type SmtpReply } from './smtp-reply.js';
import { connectRouted, expire, routed, type ProbeRoute } from './tcp.js';

export interface SmtpTlsOptions {
  sni?: string | undefined;
  verify: boolean;
  ca?: string | Buffer | undefined;
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
}

export interface SmtpProbeOptions extends ProbeRoute {
  timeout: number;
  heloName: string;
  /** STARTTLS (RFC 3207) after EHLO, then EHLO again over TLS. */
  starttls?: SmtpTlsOptions | undefined;
}

/** What the probe is waiting for, as a reason names it: "timed out after 2s waiting for the banner". */
type Stage = 'the connection' | 'the banner' | 'the EHLO reply' | 'the HELO reply' | 'the STARTTLS reply' | 'the TLS handshake' | 'the EHLO reply over TLS' | 'the QUIT reply';

class Failure extends Error {}

/** One SMTP conversation over a socket: send a line, await a whole reply. */
class Conversation {
  private readonly reader = new SmtpReplyReader();
  private waiter: ((r: SmtpReply) => void) | undefined;
  private failWaiter: ((e: Error) => void) | undefined;
  private stream: Socket | TLSSocket;
  private closed = false;
  stage: Stage = 'the banner';

  constructor(socket: Socket) {
    this.stream = socket;
    this.attach(socket);
  }

  private readonly onData = (chunk: Buffer) => {
    if (!this.waiter) {
      // Nothing asked for: a server talking out of turn. Kept (bounded by the reader) for the next reply.
      const r = this.reader.feed(chunk);
      if (r.kind === 'error') this.fail(new Failure(r.reason));
      else if (r.kind === 'reply' && this.pending.push(r.reply) > 2) this.fail(new Failure('replies out of turn'));
      return;
    }
    this.deliver(this.reader.feed(chunk));
  };
  private readonly onEnd = () => { this.closed = true; this.fail(new Failure(`connection closed before ${this.stage}`)); };
  private readonly onError = (e: Error) => this.fail(e);
  private readonly pending: SmtpReply[] = [];

  private attach(s: Socket | TLSSocket): void {
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.onError);
  }
  private detach(s: Socket | TLSSocket): void {
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
  }

  private deliver(r: ReturnType<SmtpReplyReader['feed']>): void {
    if (r.kind === 'more') return;
    if (r.kind === 'error') return this.fail(new Failure(r.reason));
    const w = this.waiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    w?.(r.reply);
  }

  private failure: Error | undefined;
  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    const f = this.failWaiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    f?.(e);
  }

  reply(stage: Stage): Promise<SmtpReply> {
    this.stage = stage;
    if (this.failure) return Promise.reject(this.failure);
    const queued = this.pending.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
      const r = this.reader.next();
      if (r.kind !== 'more') this.deliver(r);
    });
  }

  send(line: string): void {
    if (!this.closed) this.stream.write(`${line}\r\n`);
  }

  /** RFC 3207 §4.2 / §5: no bytes may follow the 220 to STARTTLS in clear text (they would be taken as
   *  sent over TLS: the command injection of CVE-2011-0411); then TLS over the same connection. */
  async startTls(t: CheckTarget, o: SmtpTlsOptions): Promise<void> {
    if (this.reader.buffered() > 0 || this.pending.length > 0) throw new Failure('data after the STARTTLS reply');
    const raw = this.stream as Socket;
    this.detach(raw);
    raw.on('error', () => {}); // the TLS socket reports it
    this.stage = 'the TLS handshake';
    const servername = o.sni !== undefined && isIP(o.sni) === 0 ? o.sni : undefined;
    const tls = tlsConnect({
      socket: raw,
      ...(servername ? { servername } : {}),
      // The name (or address) the certificate must carry when verifying.
      host: o.sni ?? t.address,
      rejectUnauthorized: o.verify,
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.cert ? { cert: o.cert, key: o.key } : {}),
    });
    this.stream = tls;
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', resolve);
      tls.on('error', reject);
      tls.once('close', () => reject(new Failure('connection closed during the TLS handshake')));
    });
    this.attach(tls);
  }

  destroy(): void {
    this.stream.destroy();
  }
}

export function probeSmtp(t: CheckTarget, o: SmtpProbeOptions): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    let done = false;
    let conv: Conversation | undefined;
    let conn: TcpConnect | undefined;
    let sock: Socket | undefined;
    let stage: Stage = 'the connection';
    const finish = (r: CheckOutcome) => {
      if (done) return;
      done = true;
      timer.cancel();
      if (conv) conv.destroy();
      else if (sock) sock.destroy();
      else conn?.close({ reset: o.sourcePort !== undefined });
      resolve(r);
    };
    const timer = deadline(o.timeout, () => expire(() => finish(down(`timed out after ${formatMs(o.timeout)} waiting for ${conv?.stage ?? stage}`))));
    const talk = (s: Socket) => {
      conv = new Conversation(s);
      converse(conv, t, o).then(finish, (e: unknown) => finish(down(e instanceof Failure ? e.message : describeSocketError(e))));
    };
    try {
      if (routed(o)) {
        conn = connectRouted(t, o, (err) => {
          if (err) return finish(down(describeSocketError(err)));
          // A fixed source port must not be left in TIME_WAIT (see tcp.ts).
          if (o.sourcePort !== undefined) conn!.resetOnClose();
          sock = new Socket({ fd: conn!.detach(), readable: true, writable: true });
          talk(sock);
        });
      } else {
        sock = connect({ host: t.address, port: t.port, family: t.family });
        sock.on('error', (e) => { if (!conv) finish(down(describeSocketError(e))); });
        sock.once('connect', () => { stage = 'the banner'; talk(sock!); });
      }
    } catch (e) {
      finish(down(describeSocketError(e)));
    }
  });
}

const isCode = (r: SmtpReply, code: number) => r.code === code;

async function converse(c: Conversation, t: CheckTarget, o: SmtpProbeOptions): Promise<CheckOutcome> {
  // §4.2 / §3.1: the greeting is 220; 554 (or 421) means no service here.
  const banner = await c.reply('the banner');
  if (!isCode(banner, 220)) return down(`banner ${banner.code} (got ${replyText(banner)})`);
  c.send(`EHLO ${o.heloName}`);
  let ehlo = await c.reply('the EHLO reply');
  let esmtp = true;
  if (!isCode(ehlo, 250)) {
    if (ehlo.code < 500) return down(`EHLO ${ehlo.code} (got ${replyText(ehlo)})`);
    c.send(`HELO ${o.heloName}`);
    const helo = await c.reply('the HELO reply');
    if (!isCode(helo, 250)) return down(`EHLO ${ehlo.code}, HELO ${helo.code} (got ${replyText(helo)})`);
    ehlo = helo;
    esmtp = false;
  }
  if (o.starttls) {
    // RFC 3207 §4: STARTTLS is offered as an EHLO keyword; a HELO session has none.
    if (!esmtp || !ehloKeywords(ehlo).has('STARTTLS')) return down('STARTTLS not offered');
    c.send('STARTTLS');
    const go = await c.reply('the STARTTLS reply');
    if (!isCode(go, 220)) return down(`STARTTLS ${go.code} (got ${replyText(go)})`);
    await c.startTls(t, o.starttls);
    // §4.2: the client SHOULD send EHLO again; the server forgets what it knew before TLS.
    c.send(`EHLO ${o.heloName}`);
    const again = await c.reply('the EHLO reply over TLS');
    if (!isCode(again, 250)) return down(`EHLO over TLS ${again.code} (got ${replyText(again)})`);
  }
  c.send('QUIT');
  // keepalived waits for a line after QUIT and takes any; so does lvsd (a server may just close, too).
  // A close or a reset instead of the 221 is no failure either: the server did all that was asked of it.
  try { await c.reply('the QUIT reply'); } catch { /* closed */ }
  return up();
}

type NoName<T> = T extends unknown ? Omit<T, 'name'> : never;
export type SmtpCheckConfig = NoName<Extract<CheckConfig, { type: 'smtp' }>>;

/** The probe of one smtp check for one target: TLS files read once here, not per probe. */
export function smtpProbe(check: SmtpCheckConfig, target: CheckTarget, route: ProbeRoute): () => Promise<CheckOutcome> {
  const starttls = check.starttls
    ? { sni: check.tls.sni, verify: check.tls.verify, ca: readCa(check.tls.ca_file), cert: readCa(check.tls.cert_file), key: readCa(check.tls.key_file) }
    : undefined;
  const o: SmtpProbeOptions = { timeout: check.timeout, heloName: check.helo_name, starttls, ...route };
  return () => probeSmtp(target, o);
}
