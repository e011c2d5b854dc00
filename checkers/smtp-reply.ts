// SMTP replies, pure: bytes in, replies out (RFC 5321 §4.2). A reply is one or more lines "NNN-text"
// ending with a line "NNN text" or "NNN" (§4.2.1: every line of a multi-line reply carries the same code).
// Bounded (§4.5.3.1.5: a reply line is at most 512 octets with its CRLF), and a reply at most
// MAX_REPLY_LINES lines / MAX_REPLY_BYTES bytes, so a server that talks without end costs no more than
// that; incremental and linear: each byte is scanned once, however the server splits its writes.
import { quoteValue } from '../src/text/quote.js';

/** RFC 5321 §4.5.3.1.5: "The maximum total length of a reply line including the reply code and the <CRLF> is 512 octets." */
export const MAX_LINE_BYTES = 512;
/** Our bounds on one (multi-line) reply: an EHLO answer has a dozen lines; 100 lines / 16 KiB is ample. */
export const MAX_REPLY_LINES = 100;
export const MAX_REPLY_BYTES = 16 * 1024;

export interface SmtpReply {
  /** The three-digit reply code (§4.2: 2yz completion, 3yz intermediate, 4yz transient, 5yz permanent). */
  code: number;
  /** Each line's text after the code and its separator (may be empty). */
  lines: string[];
}

export type FeedResult =
  | { kind: 'reply'; reply: SmtpReply }
  | { kind: 'more' }
  | { kind: 'error'; reason: string };

/**
 * Reads replies from a byte stream. feed() takes the next bytes and answers the first complete reply, or
 * 'more', or an error (then the reader is spent). Bytes after a reply stay buffered for the next call of
 * next() (pipelining; STARTTLS checks there are none: buffered(), see smtp.ts).
 */
export class SmtpReplyReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Where the scan for the next LF resumes (bytes before it hold no LF of the current line). */
  private scan = 0;
  private lines: string[] = [];
  private code = -1;
  private replyBytes = 0;
  private failed: string | undefined;

  /** Bytes received and not yet part of a returned reply. */
  buffered(): number { return this.buf.length; }

  feed(chunk: Uint8Array): FeedResult {
    if (this.failed !== undefined) return { kind: 'error', reason: this.failed };
    // Never more than one line's worth plus this chunk is held: complete lines are consumed below.
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    return this.next();
  }

  /** The next complete reply from what is buffered, without new bytes. */
  next(): FeedResult {
    if (this.failed !== undefined) return { kind: 'error', reason: this.failed };
    for (;;) {
      const lf = this.buf.indexOf(0x0a, this.scan);
      if (lf < 0) {
        this.scan = this.buf.length;
        if (this.buf.length >= MAX_LINE_BYTES) return this.fail(`reply line longer than ${MAX_LINE_BYTES} bytes`);
        return { kind: 'more' };
      }
      if (lf + 1 > MAX_LINE_BYTES) return this.fail(`reply line longer than ${MAX_LINE_BYTES} bytes`);
      // CRLF per §2.3.8; a bare LF is taken too (as keepalived does), the CR is not part of the text.
      const end = lf > 0 && this.buf[lf - 1] === 0x0d ? lf - 1 : lf;
      const line = this.buf.subarray(0, end).toString('latin1');
      this.buf = this.buf.subarray(lf + 1);
      this.scan = 0;
      this.replyBytes += lf + 1;
      const m = /^([2-5][0-9][0-9])([ -]|$)/.exec(line);
      if (!m) return this.fail(`malformed reply (got ${quoteValue(line)})`);
      const code = Number(m[1]);
      if (this.code >= 0 && code !== this.code) return this.fail(`reply codes differ within one reply (got ${this.code} then ${code})`);
      this.code = code;
      this.lines.push(line.slice(4));
      if (m[2] !== '-') {
        const reply: SmtpReply = { code, lines: this.lines };
        this.lines = [];
        this.code = -1;
        this.replyBytes = 0;
        return { kind: 'reply', reply };
      }
      if (this.lines.length >= MAX_REPLY_LINES) return this.fail(`reply longer than ${MAX_REPLY_LINES} lines`);
      if (this.replyBytes > MAX_REPLY_BYTES) return this.fail(`reply longer than ${MAX_REPLY_BYTES} bytes`);
    }
  }

  private fail(reason: string): FeedResult {
    this.failed = reason;
    this.buf = Buffer.alloc(0);
    this.lines = [];
    return { kind: 'error', reason };
  }
}

/** The EHLO keywords (§4.1.1.1: the lines after the first, each "KEYWORD [params]"), upper-cased. */
export function ehloKeywords(reply: SmtpReply): Set<string> {
  const out = new Set<string>();
  for (const l of reply.lines.slice(1)) {
    const k = /^[A-Za-z0-9][A-Za-z0-9-]*/.exec(l);
    if (k) out.add(k[0].toUpperCase());
  }
  return out;
}

/** A reply's first line for a reason: "421 (got 'mta.example busy')" style text, one line, cut. */
export function replyText(reply: SmtpReply): string {
  return quoteValue(reply.lines[0] ?? '', 60);
}

/** Parses a whole transcript (a test helper, and for captured vectors): every reply in order, or the error. */
export function parseReplies(bytes: Uint8Array): { replies: SmtpReply[]; error?: string; rest: number } {
  const r = new SmtpReplyReader();
  const replies: SmtpReply[] = [];
  let res = r.feed(bytes);
  while (res.kind === 'reply') { replies.push(res.reply); res = r.next(); }
  return res.kind === 'error' ? { replies, error: res.reason, rest: r.buffered() } : { replies, rest: r.buffered() };
}
