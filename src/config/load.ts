// Reading lvsd.yaml: bytes -> YAML AST with positions -> typed, defaults-filled LvsdConfig, or every
// problem found, each with file:line:col and key path. Never throws on bad input.
import { readFile, stat } from 'node:fs/promises';
import { Composer, Lexer, LineCounter, Parser, type CST, type Document } from 'yaml';
import { compareIssues, type ConfigIssue } from './issues.js';
import { DecodeContext, INVALID } from './dsl.js';
import { lvsdConfigSchema, type LvsdConfig } from './model.js';
import { checkSemantics } from './semantic.js';
import { oneLine } from '../text/quote.js';
import { applyIncludes, shiftDocument, SourceMap, type IncludeHost } from './include.js';

/** `bytes`: what loadConfig read and validated, so a caller can hash exactly that without a second read. */
export type LoadResult = { ok: true; config: LvsdConfig; bytes?: Uint8Array; included?: Array<{ file: string; bytes: Uint8Array }> } | { ok: false; errors: ConfigIssue[] };

const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** The YAML parser's own messages, cut: they may quote the input. */
const MAX_ECHO = 200;

/**
 * YAML nesting allowed, at most. lvsd.yaml needs 8 (virtual_services[].real_servers[].checks[].tls); the
 * `yaml` package composes nodes recursively and runs out of stack near 800 levels, and V8 aborts the whole
 * process (not a catchable RangeError) when a regular expression is compiled that close to the stack limit.
 */
export const MAX_YAML_DEPTH = 64;

/**
 * The length of the longest prefix of `bytes` that is whole, valid UTF-8 (the WHATWG decoder's rules: no
 * overlong forms, surrogates or code points past U+10FFFF), found in one pass. The first bad byte is where
 * the character starting there is broken or cut short.
 */
export function validUtf8Length(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) { i++; continue; }
    let need: number, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) { need = 2; if (b === 0xe0) lo = 0xa0; else if (b === 0xed) hi = 0x9f; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; if (b === 0xf0) lo = 0x90; else if (b === 0xf4) hi = 0x8f; }
    else return i;
    if (i + need >= n) return i; // cut short by the end of the file
    const second = bytes[i + 1]!;
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += need + 1;
  }
  return n;
}

/** Line and column (1-based, columns in UTF-16 units as the YAML positions) of a byte offset. */
function bytePos(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1, lineStart = 0;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) { line++; lineStart = i + 1; }
  return { line, col: new TextDecoder().decode(bytes.subarray(lineStart, offset)).length + 1 };
}

/** The offset of the first CST node nested deeper than `max`, or undefined. Iterative: the input may be deep. */
function tooDeep(tokens: readonly CST.Token[], max: number): number | undefined {
  // Pushed in reverse, popped in document order: the first node found too deep is the first in the file.
  const stack: Array<[CST.Token, number]> = tokens.map((t): [CST.Token, number] => [t, 0]).reverse();
  while (stack.length > 0) {
    const [t, depth] = stack.pop()!;
    if (t.type === 'document') { if (t.value) stack.push([t.value, depth]); continue; }
    if (t.type !== 'block-map' && t.type !== 'block-seq' && t.type !== 'flow-collection') continue;
    if (depth + 1 > max) return t.offset;
    for (const item of [...(t.items as CST.CollectionItem[])].reverse()) {
      if (item.value) stack.push([item.value, depth + 1]);
      if (item.key) stack.push([item.key, depth + 1]);
    }
  }
  return undefined;
}

/**
 * Misplaced tokens at the top level at most, before reading stops: each costs the parser an error object,
 * and a large file that is not YAML at all (116,000 of them in 150 KB) took seconds to report in full.
 */
export const MAX_YAML_ERRORS = 100;

/**
 * Nodes the parser may hold open while reading, at most. Nesting past MAX_YAML_DEPTH is refused from the
 * syntax tree afterwards; this stops the reading itself long before the parser's own recursion: it closes
 * open nodes recursively, and a line of 6,000 compact levels (`- - - ...`) followed by another line
 * overflowed its stack.
 */
const MAX_PARSER_STACK = 2 * MAX_YAML_DEPTH;

/**
 * parseAllDocuments() in steps: the lexer's tokens are fed to the parser one at a time, so that reading
 * stops when the parser nests too deep (MAX_PARSER_STACK) or after MAX_YAML_ERRORS misplaced top-level
 * tokens (`stoppedAt`: where; only the part before is composed); nesting is then measured on the syntax tree
 * before the recursive composer sees it (`deep`: where it is too deep, and nothing is composed). Errors are
 * made without stack traces, which are most of their cost and never shown.
 */
function parseYaml(text: string, lineCounter: LineCounter): { list: Document.Parsed[]; deep?: number; stoppedAt?: number } {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const tokens: CST.Token[] = [];
    const parser = new Parser(lineCounter.addNewLine);
    lineCounter.addNewLine(0); // what Parser.parse() does first
    let stray = 0, stoppedAt: number | undefined, deepAt: number | undefined;
    reading: for (const lexeme of new Lexer().lex(text)) {
      for (const t of parser.next(lexeme)) {
        if (t.type === 'error' && ++stray > MAX_YAML_ERRORS) { stoppedAt = t.offset; break reading; }
        tokens.push(t);
      }
      if (parser.stack.length > MAX_PARSER_STACK) { deepAt = parser.offset; break; }
    }
    tokens.push(...parser.end());
    const deep = tooDeep(tokens, MAX_YAML_DEPTH) ?? deepAt;
    if (deep !== undefined) return { list: [], deep };
    const list = Array.from(new Composer({ uniqueKeys: false, strict: true }).compose(tokens));
    return stoppedAt === undefined ? { list } : { list, stoppedAt };
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Validate configuration text; `file` is only used in the messages. */
export function parseConfig(bytes: string | Uint8Array, file: string): LoadResult {
  let text: string;
  if (typeof bytes === 'string') text = bytes;
  else {
    // A binary file (or another encoding) is refused before YAML sees it, pointing at the first bad byte.
    const nul = bytes.indexOf(0);
    if (nul >= 0) {
      const p = bytePos(bytes, nul);
      return fail(file, p.line, p.col, `not a text file (NUL byte at offset ${nul}); expected YAML`);
    }
    const good = validUtf8Length(bytes);
    if (good < bytes.length) {
      const p = bytePos(bytes, good);
      return fail(file, p.line, p.col, `not valid UTF-8 (byte 0x${bytes[good]!.toString(16).padStart(2, '0')} at offset ${good}); expected YAML`);
    }
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return fail(file, 1, 1, 'the file is empty; expected a YAML mapping (see deploy/examples/)');

  const lineCounter = new LineCounter();
  // Offsets of included files lie past the main text (include.ts); the map names each one's file.
  const sources = new SourceMap();
  sources.add({ file, base: 0, length: text.length, lineCounter });
  const errors: ConfigIssue[] = [];
  const push = (offset: number, path: string, message: string) => { const p = sources.locate(offset); errors.push({ file: p.file, line: p.line, col: p.col, path, message }); };

  const { list, deep, stoppedAt } = parseYaml(text, lineCounter);
  if (deep !== undefined) {
    push(deep, '(yaml)', `YAML nested deeper than ${MAX_YAML_DEPTH} levels (lvsd.yaml needs at most 8); is this really lvsd.yaml?`);
    return { ok: false, errors };
  }
  if (stoppedAt !== undefined) push(stoppedAt, '(yaml)', `more than ${MAX_YAML_ERRORS} YAML syntax errors; stopped reading here (is this really lvsd.yaml?)`);
  // An error found at end of input (an unclosed bracket) is blamed on the end of the last line, not on a
  // line after it. trimEnd() removes what /\s+$/ matched, in one pass: that regular expression retried from
  // every blank of a long run and took seconds (quadratic).
  const syntaxErrors = (docs: Document.Parsed[], body: string, base: number) => {
    const lastChar = base + body.trimEnd().length;
    for (const d of docs) {
      for (const e of d.errors) {
        // The parser's messages can quote the input (a tag, a scalar): one line of it, cut.
        const first = e.message.split('\n')[0]!;
        push(Math.min(e.pos[0] + base, lastChar), '(yaml)', /call stack/i.test(first) ? 'YAML nested too deeply' : `YAML syntax error: ${oneLine(first, MAX_ECHO)}`);
      }
    }
    if (docs.length > 1) push(docs[1]!.range[0] + base, '(yaml)', 'more than one YAML document; lvsd.yaml is a single document');
  };
  syntaxErrors(list, text, 0);
  if (errors.length) return { ok: false, errors: errors.sort(compareIssues) };
  const doc = list[0];
  if (!doc || doc.contents === null) return fail(file, 1, 1, 'the file has no content (only comments?); expected a YAML mapping');

  // include: each file parsed with the same bounds as this one, then its list sections appended to ours.
  const host: IncludeHost = {
    map: sources,
    read: [],
    parse: (body, f, base) => {
      const lc = new LineCounter();
      sources.add({ file: f, base, length: body.length, lineCounter: lc });
      const before = errors.length;
      if (body.charCodeAt(0) === 0xfeff) body = ' ' + body.slice(1);
      const r = parseYaml(body, lc);
      if (r.deep !== undefined) { push(base + r.deep, '(yaml)', `YAML nested deeper than ${MAX_YAML_DEPTH} levels`); return undefined; }
      if (r.stoppedAt !== undefined) push(base + r.stoppedAt, '(yaml)', `more than ${MAX_YAML_ERRORS} YAML syntax errors; stopped reading here`);
      syntaxErrors(r.list, body, base);
      if (errors.length > before || !r.list[0]) return undefined;
      shiftDocument(r.list[0], base);
      return r.list[0];
    },
  };
  applyIncludes(doc, file, host, push);
  if (errors.length) return { ok: false, errors: sortByFile(errors, sources) };

  const ctx = new DecodeContext(doc, sources.asLineCounter());
  const cfg = lvsdConfigSchema.decode(doc.contents, { path: '', offset: 0 }, ctx);
  // Cross-reference rules run on whatever decoded: broken list elements were dropped (and reported),
  // the rest keep their place in the file through sectionIndex.
  if (cfg !== INVALID) {
    const info = {
      index: (section: string, i: number) => ctx.sectionIndex.get(section)?.[i] ?? i,
      dropped: (section: string) => ctx.dropped(section),
    };
    for (const s of checkSemantics(cfg, info)) ctx.report(ctx.offsetOf(s.path), s.path, s.message);
  }
  for (const i of ctx.issues) push(i.offset, i.path === '' ? '(document)' : i.path, sources.sources.length > 1 ? withPlace(i.message, ctx, sources) : i.message);
  if (errors.length || cfg === INVALID) {
    if (!errors.length) push(0, '(document)', 'invalid configuration');
    return { ok: false, errors: sortByFile(errors, sources) };
  }
  return host.read.length ? { ok: true, config: cfg, included: host.read } : { ok: true, config: cfg };
}

/** In reading order: the main file, then each included file as it was read; within a file by line. */
function sortByFile(errors: ConfigIssue[], sources: SourceMap): ConfigIssue[] {
  const rank = new Map<string, number>();
  sources.sources.forEach((s, i) => { if (!rank.has(s.file)) rank.set(s.file, i); });
  return errors.sort((a, b) => (rank.get(a.file) ?? 0) - (rank.get(b.file) ?? 0) || compareIssues(a, b));
}

/** With includes, "already virtual_services[2]" also says where that element is: it may be in another file. */
function withPlace(message: string, ctx: DecodeContext, sources: SourceMap): string {
  const m = /already (?:used on \S+ for IPv\d by )?((?:vrrp_instances|vrrp_sync_groups|track_scripts|checks|virtual_services|announce)\[\d+\])/.exec(message);
  const off = m ? ctx.positions.get(m[1]!) : undefined;
  if (off === undefined) return message;
  const p = sources.locate(off);
  return `${message} (${p.file}:${p.line}:${p.col})`;
}

/** Read and validate a configuration file. */
export async function loadConfig(file: string): Promise<LoadResult> {
  let bytes: Uint8Array;
  try {
    // Only regular files: reading /dev/zero or a FIFO would never end.
    const st = await stat(file);
    if (st.isDirectory()) return fail(file, 1, 1, 'cannot read: is a directory, not a file (EISDIR)', '(file)');
    if (!st.isFile()) return fail(file, 1, 1, 'cannot read: not a regular file', '(file)');
    if (st.size > MAX_CONFIG_BYTES) return fail(file, 1, 1, `the file is larger than ${MAX_CONFIG_BYTES} bytes; is it really lvsd.yaml?`, '(file)');
    bytes = await readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory, not a file' : err.message;
    return fail(file, 1, 1, `cannot read: ${why}${err.code ? ` (${err.code})` : ''}`, '(file)');
  }
  if (bytes.length > MAX_CONFIG_BYTES) return fail(file, 1, 1, `the file is larger than ${MAX_CONFIG_BYTES} bytes; is it really lvsd.yaml?`, '(file)');
  const r = parseConfig(bytes, file);
  if (!r.ok) return r;
  // The daemon hashes these bytes to tell whether a reload changes anything: included files count too.
  if (!r.included) return { ...r, bytes };
  const parts: Uint8Array[] = [bytes];
  for (const f of r.included) parts.push(new TextEncoder().encode(`\0${f.file}\0`), f.bytes);
  return { ...r, bytes: Buffer.concat(parts) };
}

function fail(file: string, line: number, col: number, message: string, path = '(file)'): LoadResult {
  return { ok: false, errors: [{ file, line, col, path, message }] };
}

/** What `lvsd check` prints for a valid file. */
export function summarize(cfg: LvsdConfig): string {
  const rs = cfg.virtual_services.reduce((n, s) => n + s.real_servers.length, 0);
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  return `ok: ${plural(cfg.vrrp_instances.length, 'vrrp instance')}, ${plural(cfg.virtual_services.length, 'virtual service')}, ${plural(rs, 'real server')}`;
}
