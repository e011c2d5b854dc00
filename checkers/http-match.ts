// Pure judgements of an HTTP answer: expected status (ranges), MD5 digest of the body as keepalived's
// genhash prints it (MD5 over the body bytes only, lower-case hex), and a regex on the body.
import { createHash } from 'node:crypto';
import type { StatusRange } from '../src/config/model.js';

export const DEFAULT_STATUS: readonly StatusRange[] = [[200, 299]];

export function statusExpected(status: number, ranges: readonly StatusRange[] = DEFAULT_STATUS): boolean {
  return ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

/** genhash's digest: MD5 of the body (headers excluded), hex. */
export function bodyDigest(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex');
}

export interface BodyRules { digest?: string | undefined; regex?: RegExp | undefined }

/** undefined when the body passes, else the reason. */
export function judgeBody(body: Buffer, rules: BodyRules): string | undefined {
  if (rules.digest !== undefined) {
    const got = bodyDigest(body);
    if (got !== rules.digest.toLowerCase()) return `digest mismatch (got ${got})`;
  }
  if (rules.regex && !rules.regex.test(body.toString('utf8'))) return 'body does not match the regex';
  return undefined;
}
