// Reading keepalived.conf: text -> a tree of statements, each with the file and line it came from.
// keepalived's grammar is line based: words separated by blanks, `"..."` quoting, `#` or `!` starting a
// comment anywhere (keepalived.conf(5) "comments"), `{` / `}` opening and closing blocks, and
// `include GLOB` (relative to the including file's directory) splicing other files in.
//
// Everything read is bounded (issue #13): the import is run on files of unknown origin, and /dev/zero, a
// FIFO, an include that fans out, braces that multiply or a parameter that doubles must end in an error
// naming the limit, not in exhausted memory or a wait forever. Each limit is far past any real configuration.
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { escapeText, oneLine } from '../text/quote.js';

export type Statement = {
  key: string;
  args: string[];
  children?: Statement[];
  file: string;
  line: number;
  /** Position in reading order across includes, for reporting in the order an operator reads the files. */
  seq: number;
};

export class ReadError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    // File names come from the file system and messages may hold them: one printable line, whatever they hold.
    super(oneLine(`${file}${line > 0 ? `:${line}` : ''}: ${message}`));
  }
}

/** Bytes read over all files, a file included twice counting twice: lvsd.yaml's own cap. */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;
/** Files loaded, repeats counted: each file including the next twice doubles the loads per level. */
export const MAX_FILE_LOADS = 4096;
export const MAX_INCLUDE_DEPTH = 16;
/** Patterns one include's {a,b} braces may expand to: {a,b}{a,b}... doubles with each pair. */
export const MAX_BRACE_PATTERNS = 1024;
/** Paths one include's glob may match (or hold at one directory level of its walk). */
export const MAX_GLOB_MATCHES = 4096;
/** An include's file name, at most: PATH_MAX, as no longer name can be opened. */
export const MAX_INCLUDE_NAME = 4096;
/** One line after parameter substitution: a definition that uses itself twice ($A=${A}${A}) doubles every round. */
export const MAX_SUBSTITUTED_LINE = 65_536;
/** One parameter's value: longer could only ever overflow the line it is used in. */
export const MAX_PARAMETER_VALUE = MAX_SUBSTITUTED_LINE;
/** Characters substitution produces over the whole input: many lines each just under the line limit add up. */
export const MAX_SUBSTITUTED_TOTAL = 16 * 1024 * 1024;
/** Words (keywords, values, braces) in the whole input: each becomes objects, 16 MiB of one-letter lines took 2 GB. */
export const MAX_WORDS = 2_000_000;
/** An include's file name as messages show it, at most (escaped, then cut). */
const SHOWN_NAME = 200;
/** Blocks inside blocks: keepalived's own go 4 deep (virtual_server, real_server, HTTP_GET, url). */
export const MAX_BLOCK_DEPTH = 64;

type Token = { text: string; quoted: boolean; file: string; line: number };
/** The end of a line: one shared token, as it needs no position (16 MiB of blank lines made 8M of them). */
const NEWLINE: Token = { text: '\n', quoted: false, file: '', line: 0 };

/** How file names appear in messages: relative to the top file's directory when below it. */
export type Namer = (path: string) => string;

/** What one import has read so far, checked against the limits above. */
class Budget {
  bytes = 0;
  loads = 0;
  substituted = 0;
  words = 0;
}

function tokenizeLine(raw: string, line: number, shown: string, out: Token[], budget: Budget): void {
  let j = 0;
  const push = (text: string, quoted: boolean) => {
    if (++budget.words > MAX_WORDS) {
      throw new ReadError(shown, line, `more than ${MAX_WORDS} words in all (the import's limit); is this really a keepalived configuration?`);
    }
    out.push({ text, quoted, file: shown, line });
  };
  while (j < raw.length) {
    const c = raw[j]!;
    if (c === ' ' || c === '\t') { j++; continue; }
    if (c === '#' || c === '!') break;
    if (c === '{' || c === '}') { push(c, false); j++; continue; }
    if (c === '"') {
      // keepalived reads script and notify lines with alloc_strvec_quoted_escaped (parser.c): inside double
      // quotes a backslash makes the next character literal, so "/bin/echo \"a b\"" is one word holding quotes.
      let end = j + 1;
      let text = '';
      for (; end < raw.length && raw[end] !== '"'; end++) {
        if (raw[end] === '\\' && (raw[end + 1] === '"' || raw[end + 1] === '\\')) end++;
        text += raw[end];
      }
      if (end >= raw.length) throw new ReadError(shown, line, 'unterminated quoted string');
      push(text, true);
      j = end + 1;
      continue;
    }
    let k = j;
    while (k < raw.length && !' \t{}"'.includes(raw[k]!) && !(raw[k] === '#' || raw[k] === '!')) k++;
    push(raw.slice(j, k), false);
    j = k;
  }
  out.push(NEWLINE);
}

// keepalived.conf(5) "Parameter substitution": `$NAME=VALUE` defines; `${NAME}`, or `$NAME` before a blank or the
// end of the line, is replaced at use, recursively; undefined names stay as they are.
const DEFINITION = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const BLANK = /\s/;

/**
 * One round of substitution, or undefined as soon as the output passes `max` characters: the check runs
 * while the line is built, so one round that would multiply it 10,000-fold (a line of 13,000 references to
 * a 64 KiB value: 845M characters, a RangeError) stops at `max`.
 */
function substituteOnce(s: string, params: ReadonlyMap<string, string>, max: number): string | undefined {
  let out = '';
  let from = 0; // s[from..i) is copied as it is
  for (let i = s.indexOf('$'); i >= 0; i = s.indexOf('$', i + 1)) {
    let end = -1, name = '';
    if (s[i + 1] === '{' && NAME_START.test(s[i + 2] ?? '')) {
      let k = i + 3;
      while (k < s.length && NAME_CHAR.test(s[k]!)) k++;
      if (s[k] === '}') { name = s.slice(i + 2, k); end = k + 1; }
    } else if (NAME_START.test(s[i + 1] ?? '')) {
      let k = i + 2;
      while (k < s.length && NAME_CHAR.test(s[k]!)) k++;
      if (k === s.length || BLANK.test(s[k]!)) { name = s.slice(i + 1, k); end = k; }
    }
    const value = end < 0 ? undefined : params.get(name);
    if (value === undefined) continue;
    if (out.length + (i - from) + value.length > max) return undefined;
    out += s.slice(from, i) + value;
    from = end;
    i = end - 1;
  }
  if (out.length + (s.length - from) > max) return undefined;
  return from === 0 ? s : out + s.slice(from);
}

/** The line with parameters replaced, or undefined when it grows past MAX_SUBSTITUTED_LINE. */
export function substitute(raw: string, params: ReadonlyMap<string, string>): string | undefined {
  if (params.size === 0 || !raw.includes('$')) return raw;
  let out = raw;
  for (let round = 0; round < 32; round++) {
    const next = substituteOnce(out, params, MAX_SUBSTITUTED_LINE);
    if (next === undefined) return undefined;
    if (next === out) return out;
    out = next;
  }
  return out;
}

// ---- include globs: *, ?, [...] per path segment and {a,b} braces, as glob(3) with GLOB_BRACE ----

/** A limit an include pattern ran into; the reader adds the file and line. */
export class GlobError extends Error {}

/** A pattern as literal text and brace groups; a group holds its alternatives, each a sequence again. */
type BracePart = string | BracePart[][];

/**
 * glob(3)'s GLOB_BRACE syntax: the first `{` with its matching `}` is a group of comma-separated
 * alternatives (which may hold groups); a `{` without a match makes the rest literal, as glibc does.
 */
function parseBraces(p: string, from: number, to: number): BracePart[] {
  const out: BracePart[] = [];
  let pos = from;
  while (pos < to) {
    const open = p.indexOf('{', pos);
    if (open < 0 || open >= to) break;
    let depth = 0, close = -1;
    const commas: number[] = [];
    for (let i = open; i < to && close < 0; i++) {
      if (p[i] === '{') depth++;
      else if (p[i] === '}') { if (--depth === 0) close = i; }
      else if (p[i] === ',' && depth === 1) commas.push(i);
    }
    if (close < 0) break;
    if (open > pos) out.push(p.slice(pos, open));
    const bounds = [open, ...commas, close];
    out.push(bounds.slice(1).map((b, k) => parseBraces(p, bounds[k]! + 1, b)));
    pos = close + 1;
  }
  if (pos < to) out.push(p.slice(pos, to));
  return out;
}

/** Every pattern a brace sequence stands for, in glob(3)'s order; past `max` a GlobError, before the list is built. */
function expandParts(parts: readonly BracePart[], max: number): string[] {
  let out = [''];
  for (const part of parts) {
    if (typeof part === 'string') { out = out.map((o) => o + part); continue; }
    const alternatives: string[] = [];
    for (const alt of part) {
      for (const a of expandParts(alt, max)) {
        alternatives.push(a);
        if (alternatives.length > max) throw new GlobError(`its braces expand to more than ${max} patterns (the import's limit); write several includes with fewer braces`);
      }
    }
    if (out.length * alternatives.length > max) throw new GlobError(`its braces expand to more than ${max} patterns (the import's limit); write several includes with fewer braces`);
    out = out.flatMap((o) => alternatives.map((a) => o + a));
  }
  return out;
}

export function expandBraces(p: string): string[] {
  return expandParts(parseBraces(p, 0, p.length), MAX_BRACE_PATTERNS);
}

/** One element of a path segment's pattern: a character, `?`, `*`, or a `[...]` class. */
type GlobItem = { kind: 'char'; c: string } | { kind: 'any' } | { kind: 'star' } | { kind: 'class'; negate: boolean; test: (c: string) => boolean };

function parseSegment(seg: string): GlobItem[] {
  const out: GlobItem[] = [];
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') { if (out.at(-1)?.kind !== 'star') out.push({ kind: 'star' }); continue; }
    if (c === '?') { out.push({ kind: 'any' }); continue; }
    if (c === '[') {
      // A ']' right after '[' (or '[!') belongs to the class, as in fnmatch(3).
      const end = seg.indexOf(']', i + 2);
      if (end >= 0) {
        let cls = seg.slice(i + 1, end);
        const negate = cls.startsWith('!') || cls.startsWith('^');
        if (negate) cls = cls.slice(1);
        const singles = new Set<string>();
        const ranges: Array<[string, string]> = [];
        for (let k = 0; k < cls.length; k++) {
          // A range whose ends are out of order matches nothing (it was a regular-expression error, thrown).
          if (cls[k + 1] === '-' && k + 2 < cls.length) { ranges.push([cls[k]!, cls[k + 2]!]); k += 2; } else singles.add(cls[k]!);
        }
        out.push({ kind: 'class', negate, test: (x) => singles.has(x) || ranges.some(([lo, hi]) => lo <= x && x <= hi) });
        i = end;
        continue;
      }
    }
    out.push({ kind: 'char', c });
  }
  return out;
}

/**
 * Whether `name` matches a segment pattern. The one-star backtracking of wildcard matchers: O(pattern x name)
 * at worst. The regular expression this was before ([^/]* per star) backtracked exponentially in the stars:
 * `include *a*a*a*a*a*a*a*a*a*a*b` beside a long file name of a's would never return.
 */
function segmentMatches(items: readonly GlobItem[], name: string): boolean {
  let p = 0, s = 0, starP = -1, starS = 0;
  const one = (it: GlobItem, c: string) => it.kind === 'any' || (it.kind === 'char' && it.c === c) || (it.kind === 'class' && it.test(c) !== it.negate);
  while (s < name.length) {
    const it = items[p];
    if (it !== undefined && it.kind === 'star') { starP = p++; starS = s; continue; }
    if (it !== undefined && one(it, name[s]!)) { p++; s++; continue; }
    if (starP < 0) return false;
    p = starP + 1;
    s = ++starS;
  }
  while (items[p]?.kind === 'star') p++;
  return p === items.length;
}

/** Sorted matches of an absolute glob pattern; hidden files match only a pattern starting with '.'. Limits are GlobErrors. */
export function globFiles(pattern: string): string[] {
  if (pattern.length > MAX_INCLUDE_NAME) throw new GlobError(`the file name is ${pattern.length} characters, longer than PATH_MAX (${MAX_INCLUDE_NAME})`);
  const found = new Set<string>();
  const tooMany = () => new GlobError(`it matches more than ${MAX_GLOB_MATCHES} paths (the import's limit); name fewer files`);
  for (const p of expandBraces(pattern)) {
    const segs = p.split('/').filter((s) => s !== '');
    let paths = ['/'];
    for (const seg of segs) {
      const next: string[] = [];
      const magic = /[*?[]/.test(seg);
      for (const dir of paths) {
        if (!magic) { next.push(join(dir, seg)); continue; }
        let entries: string[];
        try { entries = readdirSync(dir); } catch { continue; }
        const items = parseSegment(seg);
        for (const e of entries.sort()) {
          if (!segmentMatches(items, e) || (e.startsWith('.') && !seg.startsWith('.'))) continue;
          next.push(join(dir, e));
          if (next.length > MAX_GLOB_MATCHES) throw tooMany();
        }
      }
      paths = next;
    }
    for (const f of paths) {
      // Directories are passed over (conf.d/* beside a subdirectory); a device or a FIFO is kept, for the
      // reader to refuse with its reason rather than call it "no match".
      try { if (!statSync(f).isDirectory()) found.add(f); } catch { /* no match */ }
      if (found.size > MAX_GLOB_MATCHES) throw tooMany();
    }
  }
  return [...found].sort();
}

// ---- files ----

/** Why a file that is not a regular one is refused: reading a device or a FIFO may never end. */
function notRegular(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'is a directory, not a file (EISDIR)';
  if (st.isFIFO()) return 'is a FIFO (named pipe), not a regular file: reading it could wait forever';
  if (st.isCharacterDevice()) return 'is a character device, not a regular file: reading it may never end (/dev/zero)';
  if (st.isBlockDevice()) return 'is a block device, not a regular file';
  if (st.isSocket()) return 'is a socket, not a regular file';
  return 'is not a regular file';
}

/**
 * The bytes of a regular file, or why it cannot be read; at most `room + 1` bytes (one past the budget tells "too large" apart).
 * stat() first, so that a device is never opened (opening some has effects); then open without blocking
 * (a FIFO swapped in between would otherwise block the open) and check the opened file again.
 */
function readRegular(path: string, room: number): { bytes: Buffer } | { error: string } {
  const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  let st: Stats;
  try { st = statSync(path); } catch (e) { return { error: code(e) }; }
  const why = notRegular(st);
  if (why) return { error: why };
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY); } catch (e) { return { error: code(e) }; }
  try {
    const again = notRegular(fstatSync(fd));
    if (again) return { error: again };
    const want = Math.min(room + 1, st.size + 1);
    let buf = Buffer.alloc(Math.max(want, 1));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (buf.length > room) break;
        // The file grew since stat(): keep reading, still within the budget.
        const bigger = Buffer.alloc(Math.min(room + 1, buf.length * 2));
        buf.copy(bigger);
        buf = bigger;
      }
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    return { bytes: buf.subarray(0, n) };
  } catch (e) {
    return { error: code(e) };
  } finally {
    closeSync(fd);
  }
}

/** What `lvsd import-keepalived -` names standard input in messages. */
export const STDIN_NAME = '(stdin)';

export interface ReadOptions {
  /** The top file's content, already read (standard input, `-`): includes are then relative to the current directory. */
  stdin?: Uint8Array;
}

/** Read FILE and everything it includes into one statement tree. Throws ReadError on unreadable or malformed input. */
/** A note from reading: 'skipped' (not converted) unless the fault is one keepalived tolerates with the same meaning ('changed'). */
export type ReadNote = (file: string, line: number, message: string, kind?: 'skipped' | 'changed') => void;

export function readKeepalived(file: string, onNote: ReadNote, opts: ReadOptions = {}): Statement[] {
  const fromStdin = opts.stdin !== undefined;
  const top = fromStdin ? resolve(STDIN_NAME) : resolve(file);
  const base = dirname(top);
  const names: Namer = (p) => {
    if (p === top) return fromStdin ? STDIN_NAME : file;
    const rel = relative(base, p);
    return rel.startsWith('..') ? p : join(dirname(file), rel);
  };
  const tokens: Token[] = [];
  const params = new Map<string, string>();
  const budget = new Budget();

  const load = (path: string, depth: number, from?: { file: string; line: number }) => {
    const shown = names(path);
    const at = from ?? { file: shown, line: 0 };
    if (++budget.loads > MAX_FILE_LOADS) {
      throw new ReadError(at.file, at.line, `more than ${MAX_FILE_LOADS} files loaded (the import's limit, counting a file each time it is included); do includes fan out or loop? include each file once`);
    }
    let bytes: Uint8Array;
    if (path === top && opts.stdin !== undefined) bytes = opts.stdin;
    else {
      const r = readRegular(path, MAX_INPUT_BYTES - budget.bytes);
      if ('error' in r) {
        if (from) throw new ReadError(from.file, from.line, `cannot read included ${path}: ${r.error}`);
        throw new ReadError(file, 0, `cannot read: ${r.error}`);
      }
      bytes = r.bytes;
    }
    budget.bytes += bytes.length;
    if (budget.bytes > MAX_INPUT_BYTES) {
      throw new ReadError(at.file, at.line, `${from ? `including ${path} takes` : 'the file takes'} the input past ${MAX_INPUT_BYTES} bytes (the import's limit, counting every include); is this really a keepalived configuration?`);
    }
    if (bytes.includes(0)) throw new ReadError(shown, 0, 'not a text file (NUL byte)');
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    // Lines are handled in reading order, so definitions and includes apply where they appear. Found with
    // indexOf rather than split(): 16 MiB of empty lines would be an array of 8M strings first.
    for (let start = 0, line = 1; ; line++) {
      const nl = text.indexOf('\n', start);
      const end = nl < 0 ? text.length : nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      const original = text.slice(start, end);
      start = nl + 1;
      handleLine(original, line, path, shown, depth);
      if (nl < 0) break;
    }
  };
  /** One line of the file at `path`, shown as `shown`, `depth` includes down. */
  const handleLine = (original: string, line: number, path: string, shown: string, depth: number): void => {
    const def = DEFINITION.exec(original);
    if (def) {
      const value = def[2]!.trim();
      if (value.length > MAX_PARAMETER_VALUE) {
        throw new ReadError(shown, line, `the value of $${def[1]!} is ${value.length} characters, more than ${MAX_PARAMETER_VALUE} (the import's limit); shorten it`);
      }
      params.set(def[1]!, value);
      return;
    }
    const raw = substitute(original, params);
    if (raw === undefined) throw new ReadError(shown, line, `parameter substitution makes this line longer than ${MAX_SUBSTITUTED_LINE} characters (the import's limit); does a definition refer to itself?`);
    if (raw !== original) {
      budget.substituted += raw.length;
      if (budget.substituted > MAX_SUBSTITUTED_TOTAL) {
        throw new ReadError(shown, line, `parameter substitution has produced more than ${MAX_SUBSTITUTED_TOTAL} characters over the whole input (the import's limit); do definitions double each other?`);
      }
    }
    // An include line is read whole: its file name may hold braces ({a,b}), which glob expands.
    const inc = /^\s*(include[rmwba]?)(?:\s+("[^"]*"|[^\s#!]+))?\s*(?:[#!].*)?$/.exec(raw);
    if (inc) {
      if (inc[2] === undefined) throw new ReadError(shown, line, `${inc[1]} needs a file name`);
      if (depth >= MAX_INCLUDE_DEPTH) throw new ReadError(shown, line, `includes nested deeper than ${MAX_INCLUDE_DEPTH} (the import's limit); does an include loop back?`);
      const name = inc[2].replace(/^"(.*)"$/, '$1');
      let matches: string[];
      try { matches = globFiles(isAbsolute(name) ? name : join(dirname(path), name)); } catch (e) {
        if (e instanceof GlobError) throw new ReadError(shown, line, `include ${escapeText(name, SHOWN_NAME)}: ${e.message}`);
        throw e;
      }
      if (matches.length === 0) onNote(shown, line, `include ${escapeText(name, SHOWN_NAME)}: no file matches (keepalived ignores this too)`);
      // Spliced in at token level, so an included file may hold a whole block or part of one.
      for (const m of matches) load(m, depth + 1, { file: shown, line });
      return;
    }
    tokenizeLine(raw, line, shown, tokens, budget);
  };
  load(top, 0);

  let pos = 0;
  const parseBlock = (closer: Token | undefined, depth: number): Statement[] => {
    const list: Statement[] = [];
    let current: Statement | undefined;
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t === NEWLINE) { current = undefined; continue; }
      if (t.text === '}' && !t.quoted) {
        // keepalived 2.2.7 reports "Extra '}' found" and reads on, ignoring it.
        if (!closer) { onNote(t.file, t.line, "'}' without a matching '{': ignored, as keepalived ignores it (it warns \"Extra '}' found\")", 'changed'); continue; }
        return list;
      }
      if (t.text === '{' && !t.quoted) {
        // A block belongs to the statement on its line, or (brace on its own line) to the previous one.
        const owner = current ?? (list.length > 0 && list[list.length - 1]!.children === undefined ? list[list.length - 1] : undefined);
        if (!owner) throw new ReadError(t.file, t.line, "'{' without a keyword before it");
        if (depth >= MAX_BLOCK_DEPTH) throw new ReadError(t.file, t.line, `blocks nested deeper than ${MAX_BLOCK_DEPTH} (the import's limit; keepalived's go 4 deep); is a '}' missing?`);
        owner.children = parseBlock(t, depth + 1);
        current = undefined;
        continue;
      }
      if (current) current.args.push(t.text);
      else { current = { key: t.text, args: [], file: t.file, line: t.line, seq: pos }; list.push(current); }
    }
    // keepalived 2.2.7 warns "There are N missing '}'s or extra '{'s" and uses what it read: the block ends with the input.
    if (closer) onNote(closer.file, closer.line, "'{' is never closed: read as closed at the end of the input, as keepalived does (it warns \"There are N missing '}'s or extra '{'s\"); check that nothing after it was meant to stand outside the block", 'changed');
    return list;
  };
  return parseBlock(undefined, 0);
}
