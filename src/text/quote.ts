// Escaping text for messages. A value an operator (or an attacker) wrote is echoed in errors and log lines;
// raw, it could break the one-message-per-line formats (`FILE:LINE:COL: PATH: message`), send ESC or BEL
// sequences to the operator's terminal, reorder what the terminal shows (bidi overrides, as in "Trojan
// Source"), or fill the screen (a 2 MB value). Everything here is O(max): a long value costs no more than
// a short one, however often it is echoed.

/** Shown as `\xHH` (C0 controls other than \n \r \t, and DEL) or `\uHHHH` (the rest). */
function isEscaped(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
    c === 0x2028 || c === 0x2029 || // line and paragraph separators: line breaks to some terminals and editors
    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || // bidi embeddings, overrides, isolates
    c === 0x200e || c === 0x200f || c === 0x061c; // bidi marks (LRM, RLM, ALM): invisible, they reorder neighbours
}

/** Any character isEscaped() is true of, or any surrogate (a lone one is escaped; a pair takes the slow path too). */
const NEEDS_ESCAPE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ud800-\udfff]/;

const NAMED: Readonly<Record<number, string>> = { 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

function escapeCode(c: number): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  return c < 0x80 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

/**
 * The escaped text and whether it was cut. At most `max` characters of output; an escape or a surrogate
 * pair is never split. `extra` lists further characters shown with a backslash (the backslash itself, a quote).
 */
function render(s: string, max: number, extra: string): { text: string; cut: boolean } {
  // Most values need nothing: returned as they are, without building a copy character by character.
  if (s.length <= max && !NEEDS_ESCAPE.test(s) && ![...extra].some((c) => s.includes(c))) return { text: s, cut: false };
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let piece: string;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) piece = s.slice(i, i + 2);
    else if (isEscaped(c) || (c >= 0xd800 && c <= 0xdfff)) piece = escapeCode(c); // a lone surrogate prints as U+FFFD: show which
    else if (extra.includes(s[i]!)) piece = `\\${s[i]!}`;
    else piece = s[i]!;
    if (out.length + piece.length > max) return { text: out, cut: true };
    out += piece;
    if (piece.length === 2 && !piece.startsWith('\\')) i++;
  }
  return { text: out, cut: false };
}

/** What follows a cut value: the ellipsis, and how long the whole was (UTF-16 units: O(1), and exact for text without emoji). */
const rest = (s: string, cut: boolean): string => (cut ? `… (${s.length} characters)` : '');

/**
 * `value` in single quotes for a message: control, line-break and bidi characters escaped (`\n`, `\x1b`,
 * `\u202e`), the backslash and the quote escaped, cut to `max` characters with `… (N characters)` after it.
 */
export function quoteValue(value: string, max = 60): string {
  const r = render(value, max, "\\'");
  return `'${r.text}'${rest(value, r.cut)}`;
}

/** The unquoted form of quoteValue(): for values a message shows bare (a number with a unit, a name). */
export function escapeText(s: string, max = 60): string {
  const r = render(s, max, '\\');
  return r.text + rest(s, r.cut);
}

/**
 * Text that is already a message (its values quoted) made safe to print as one line: control, line-break and
 * bidi characters escaped, backslashes left as they are (they may be the escapes of quoted values), cut to `max`.
 * The last line of defence of the one-line formats, for what a caller forgot to quote.
 */
export function oneLine(s: string, max = Infinity): string {
  const r = render(s, max, '');
  return r.text + rest(s, r.cut);
}
