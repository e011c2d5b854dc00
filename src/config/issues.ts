// A configuration problem, located precisely enough that an editor can jump to it.
// Lines and columns are 1-based, as compilers and editors print them.
import { oneLine } from '../text/quote.js';

export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Key path of the offending node, e.g. `vrrp_instances[0].vrid`; `(file)` or `(yaml)` when no key applies. */
  readonly path: string;
  readonly message: string;
}

/** The longest key path and message formatIssue() prints; values in them are already cut to 60 characters. */
const MAX_PATH = 300;
const MAX_MESSAGE = 1000;

/**
 * `FILE:LINE:COL: KEY.PATH: message` — the one-line format `lvsd check` prints. Messages quote what they
 * echo (quoteValue); this is the defence behind that: no raw control, line-break or bidi character, in the
 * file name either, and a bounded length, whatever a message or a key taken from the file holds.
 */
export function formatIssue(i: ConfigIssue): string {
  return `${oneLine(i.file)}:${i.line}:${i.col}: ${oneLine(i.path, MAX_PATH)}: ${oneLine(i.message, MAX_MESSAGE)}`;
}

export function compareIssues(a: ConfigIssue, b: ConfigIssue): number {
  return a.line - b.line || a.col - b.col || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
    (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}
