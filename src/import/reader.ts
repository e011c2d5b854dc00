// Reading keepalived.conf: text -> a tree of statements, each with the file and line it came from.
// keepalived's grammar is line based: words separated by blanks, `"..."` quoting, `#` or `!` starting a
// comment anywhere (keepalived.conf(5) "comments"), `{` / `}` opening and closing blocks, and
// `include GLOB` (relative to the including file's directory) splicing other files in.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

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
    super(`${file}${line > 0 ? `:${line}` : ''}: ${message}`);
  }
}

type Token = { text: string; quoted: boolean; file: string; line: number } | { text: '\n'; quoted: false; file: string; line: number };

/** How file names appear in messages: relative to the top file's directory when below it. */
export type Namer = (path: string) => string;

const MAX_INCLUDE_DEPTH = 16;

function tokenizeLine(raw: string, line: number, shown: string, out: Token[]): void {
  let j = 0;
  while (j < raw.length) {
    const c = raw[j]!;
    if (c === ' ' || c === '\t') { j++; continue; }
    if (c === '#' || c === '!') break;
    if (c === '{' || c === '}') { out.push({ text: c, quoted: false, file: shown, line }); j++; continue; }
    if (c === '"') {
      const end = raw.indexOf('"', j + 1);
      if (end < 0) throw new ReadError(shown, line, 'unterminated quoted string');
      out.push({ text: raw.slice(j + 1, end), quoted: true, file: shown, line });
      j = end + 1;
      continue;
    }
    let k = j;
    while (k < raw.length && !' \t{}"'.includes(raw[k]!) && !(raw[k] === '#' || raw[k] === '!')) k++;
    out.push({ text: raw.slice(j, k), quoted: false, file: shown, line });
    j = k;
  }
  out.push({ text: '\n', quoted: false, file: shown, line });
}

// keepalived.conf(5) "Parameter substitution": `$NAME=VALUE` defines; `${NAME}`, or `$NAME` before a blank or the
// end of the line, is replaced at use, recursively; undefined names stay as they are.
const DEFINITION = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
// A definition that uses itself twice ($A=${A}${A}) doubles the line every round: stop long before memory runs out.
const MAX_SUBSTITUTED_LINE = 65_536;
/** The line with parameters replaced, or undefined when it grows past MAX_SUBSTITUTED_LINE. */
function substitute(raw: string, params: Map<string, string>): string | undefined {
  if (params.size === 0 || !raw.includes('$')) return raw;
  let out = raw;
  for (let round = 0; round < 32; round++) {
    const next = out.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=\s|$)/g, (m, braced: string | undefined, bare: string | undefined) => params.get((braced ?? bare)!) ?? m);
    if (next.length > MAX_SUBSTITUTED_LINE) return undefined;
    if (next === out) return out;
    out = next;
  }
  return out;
}

// ---- include globs: *, ?, [...] per path segment and {a,b} braces, as glob(3) with GLOB_BRACE ----

function expandBraces(p: string): string[] {
  const open = p.indexOf('{');
  if (open < 0) return [p];
  let depth = 0;
  const parts: string[] = [];
  let start = open + 1;
  for (let i = open; i < p.length; i++) {
    if (p[i] === '{') depth++;
    else if (p[i] === '}') {
      depth--;
      if (depth === 0) {
        parts.push(p.slice(start, i));
        const pre = p.slice(0, open), post = p.slice(i + 1);
        return parts.flatMap((part) => expandBraces(pre + part + post));
      }
    } else if (p[i] === ',' && depth === 1) { parts.push(p.slice(start, i)); start = i + 1; }
  }
  return [p];
}

function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      let cls = seg.slice(i + 1, end);
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Sorted matches of an absolute glob pattern; hidden files match only a pattern starting with '.'. */
export function globFiles(pattern: string): string[] {
  const found = new Set<string>();
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
        const re = segmentRegex(seg);
        for (const e of entries.sort()) if (re.test(e) && (!e.startsWith('.') || seg.startsWith('.'))) next.push(join(dir, e));
      }
      paths = next;
    }
    for (const f of paths) {
      try { if (statSync(f).isFile()) found.add(f); } catch { /* no match */ }
    }
  }
  return [...found].sort();
}

/** Read FILE and everything it includes into one statement tree. Throws ReadError on unreadable or malformed input. */
export function readKeepalived(file: string, onNote: (file: string, line: number, message: string) => void): Statement[] {
  const top = resolve(file);
  const base = dirname(top);
  const names: Namer = (p) => {
    if (p === top) return file;
    const rel = relative(base, p);
    return rel.startsWith('..') ? p : join(dirname(file), rel);
  };
  const tokens: Token[] = [];
  const params = new Map<string, string>();
  const load = (path: string, depth: number, from?: { file: string; line: number }) => {
    let text: string;
    try { text = readFileSync(path, 'utf8'); } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (from) throw new ReadError(from.file, from.line, `cannot read included ${path}: ${err.code ?? err.message}`);
      throw new ReadError(file, 0, `cannot read: ${err.code ?? err.message}`);
    }
    if (text.includes('\0')) throw new ReadError(names(path), 0, 'not a text file (NUL byte)');
    const shown = names(path);
    // Lines are handled in reading order, so definitions and includes apply where they appear.
    text.split(/\r?\n/).forEach((original, i) => {
      const line = i + 1;
      const def = DEFINITION.exec(original);
      if (def) { params.set(def[1]!, def[2]!.trim()); return; }
      const raw = substitute(original, params);
      if (raw === undefined) throw new ReadError(shown, line, `parameter substitution makes this line longer than ${MAX_SUBSTITUTED_LINE} characters (a definition that refers to itself?)`);
      // An include line is read whole: its file name may hold braces ({a,b}), which glob expands.
      const inc = /^\s*(include[rmwba]?)(?:\s+("[^"]*"|[^\s#!]+))?\s*(?:[#!].*)?$/.exec(raw);
      if (inc) {
        if (inc[2] === undefined) throw new ReadError(shown, line, `${inc[1]} needs a file name`);
        if (depth >= MAX_INCLUDE_DEPTH) throw new ReadError(shown, line, `includes nested deeper than ${MAX_INCLUDE_DEPTH}`);
        const name = inc[2].replace(/^"(.*)"$/, '$1');
        const matches = globFiles(isAbsolute(name) ? name : join(dirname(path), name));
        if (matches.length === 0) onNote(shown, line, `include ${name}: no file matches (keepalived ignores this too)`);
        // Spliced in at token level, so an included file may hold a whole block or part of one.
        for (const m of matches) load(m, depth + 1, { file: shown, line });
        return;
      }
      tokenizeLine(raw, line, shown, tokens);
    });
  };
  load(top, 0);

  let pos = 0;
  const parseBlock = (closer: Token | undefined): Statement[] => {
    const list: Statement[] = [];
    let current: Statement | undefined;
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t.text === '\n' && !t.quoted) { current = undefined; continue; }
      if (t.text === '}' && !t.quoted) {
        if (!closer) throw new ReadError(t.file, t.line, "'}' without a matching '{'");
        return list;
      }
      if (t.text === '{' && !t.quoted) {
        // A block belongs to the statement on its line, or (brace on its own line) to the previous one.
        const owner = current ?? (list.length > 0 && list[list.length - 1]!.children === undefined ? list[list.length - 1] : undefined);
        if (!owner) throw new ReadError(t.file, t.line, "'{' without a keyword before it");
        owner.children = parseBlock(t);
        current = undefined;
        continue;
      }
      if (current) current.args.push(t.text);
      else { current = { key: t.text, args: [], file: t.file, line: t.line, seq: pos }; list.push(current); }
    }
    if (closer) throw new ReadError(closer.file, closer.line, "'{' is never closed");
    return list;
  };
  return parseBlock(undefined);
}
