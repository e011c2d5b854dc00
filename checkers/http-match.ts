// Pure judgements of an HTTP answer: expected status (ranges), MD5 digest of the body as keepalived's
// genhash prints it (MD5 over the body bytes only, lower-case hex), a regex the body must match, and one it
// must not match (keepalived regex_no_match).
import { createHash } from 'node:crypto';
import type { StatusRange } from '../src/config/model.js';
import { oneLine, quoteValue } from '../src/text/quote.js';

export const DEFAULT_STATUS: readonly StatusRange[] = [[200, 299]];

export function statusExpected(status: number, ranges: readonly StatusRange[] = DEFAULT_STATUS): boolean {
  return ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

/** genhash's digest: MD5 of the body (headers excluded), hex. */
export function bodyDigest(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex');
}

export interface BodyRules { digest?: string | undefined; regex?: RegExp | undefined; regexNoMatch?: RegExp | undefined }

/** Whether judgeBody needs the body at all. */
export function needsBody(rules: BodyRules): boolean {
  return rules.digest !== undefined || rules.regex !== undefined || rules.regexNoMatch !== undefined;
}

/** undefined when the body passes, else the reason. */
export function judgeBody(body: Buffer, rules: BodyRules): string | undefined {
  if (rules.digest !== undefined) {
    const got = bodyDigest(body);
    if (got !== rules.digest.toLowerCase()) return `digest mismatch (got ${got})`;
  }
  if (!rules.regex && !rules.regexNoMatch) return undefined;
  const text = body.toString('utf8');
  if (rules.regex && !rules.regex.test(text)) return 'body does not match the regex';
  // The operator's own expression, cut to one short line (it may be long or hold a newline).
  if (rules.regexNoMatch && rules.regexNoMatch.test(text)) return `body matches /${oneLine(rules.regexNoMatch.source, 40)}/`;
  return undefined;
}

/** Bound on a response's status line and header fields together (HTTP/1.0 path). */
export const MAX_HEAD_BYTES = 16 * 1024;

export type HeadResult =
  | { kind: 'more' }
  | { kind: 'head'; status: number; headers: Map<string, string>; headBytes: number }
  | { kind: 'error'; reason: string };

/**
 * The status line and header fields of an HTTP/1.x response (RFC 9112 §2.1, §4, §5), from the start of
 * `buf`: 'more' until the empty line arrives, an error past MAX_HEAD_BYTES or on a malformed line. Header
 * names lower-cased; a repeated field's values joined with ", " (RFC 9110 §5.3). Linear in the bytes.
 */
export function parseResponseHead(buf: Buffer): HeadResult {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length > MAX_HEAD_BYTES ? { kind: 'error', reason: `response head longer than ${MAX_HEAD_BYTES} bytes` } : { kind: 'more' };
  if (end + 4 > MAX_HEAD_BYTES) return { kind: 'error', reason: `response head longer than ${MAX_HEAD_BYTES} bytes` };
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] ([1-5][0-9][0-9])(?: .*)?$/.exec(lines[0]!);
  if (!m) return { kind: 'error', reason: `malformed status line (got ${quoteValue(lines[0]!)})` };
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const h = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(l);
    if (!h) return { kind: 'error', reason: `malformed header field (got ${quoteValue(l)})` };
    const k = h[1]!.toLowerCase();
    const prev = headers.get(k);
    headers.set(k, prev === undefined ? h[2]! : `${prev}, ${h[2]!}`);
  }
  return { kind: 'head', status: Number(m[1]), headers, headBytes: end + 4 };
}
