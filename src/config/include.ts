// `include:` in lvsd.yaml: other files (conf.d style globs) whose lists are appended to the main file's
// before validation. Each included document is parsed on its own and its nodes moved to an offset range
// of their own past the main text, so every position still names its file, line and column (SourceMap).
// Bounded: depth, number of files, total bytes; a file already on the include path is a cycle.
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { isMap, isScalar, isSeq, visit, type Document, type LineCounter, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { quoteValue } from '../text/quote.js';

export const MAX_INCLUDE_DEPTH = 8;
export const MAX_INCLUDE_FILES = 256;
export const MAX_INCLUDE_BYTES = 16 * 1024 * 1024;

/** The sections an included file may add to: lists whose elements are named, so duplicates are caught. */
export const INCLUDABLE = ['vrrp_instances', 'vrrp_sync_groups', 'track_scripts', 'track_processes', 'track_files', 'checks', 'virtual_services', 'announce'] as const;

/** One text in the combined offset space: offsets [base, base + length) are this file's. */
export interface Source { file: string; base: number; length: number; lineCounter: LineCounter }

/** Maps a combined offset to its file, line and column. */
export class SourceMap {
  readonly sources: Source[] = [];
  add(s: Source): void { this.sources.push(s); }
  /** The next free base offset (a gap of one keeps the end of one file apart from the next one's start). */
  get end(): number { const l = this.sources[this.sources.length - 1]; return l ? l.base + l.length + 1 : 0; }
  locate(offset: number): { file: string; line: number; col: number } {
    let src = this.sources[0]!;
    for (const s of this.sources) if (offset >= s.base) src = s;
    const p = src.lineCounter.linePos(Math.max(0, offset - src.base));
    return { file: src.file, line: p.line, col: p.col };
  }
  /** What DecodeContext asks of a LineCounter (lines only, for "first set on line N"). */
  asLineCounter(): LineCounter {
    return { linePos: (o: number) => { const l = this.locate(o); return { line: l.line, col: l.col }; } } as unknown as LineCounter;
  }
}

export type IncludeIssue = { offset: number; path: string; message: string };

/** What include() needs from parseConfig: parse one file's text into a document and register its source. */
export interface IncludeHost {
  /** Files read, in order, with their bytes (the daemon hashes them to tell a changed include on reload). */
  read: Array<{ file: string; bytes: Uint8Array }>;
  /** Parses TEXT of FILE at BASE; problems are reported by the host itself. undefined: the file had errors. */
  parse(text: string, file: string, base: number): Document.Parsed | undefined;
  map: SourceMap;
}

/** `*` and `?` in the last component only (conf.d/*.yaml); matches sorted by name, dot files left out. */
function expand(pattern: string, from: string): { files: string[] } | { error: string } {
  const full = isAbsolute(pattern) ? pattern : resolve(dirname(from), pattern);
  const dir = dirname(full), name = basename(full);
  if (/[*?[\]{}]/.test(dir)) return { error: `${quoteValue(pattern)}: wildcards are allowed in the file name only (conf.d/*.yaml)` };
  if (!/[*?]/.test(name)) return { files: [full] };
  const re = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  let names: string[];
  try { names = readdirSync(dir); } catch (e) { return { error: `${quoteValue(pattern)}: cannot list ${quoteValue(dir)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` }; }
  return { files: names.filter((n) => !n.startsWith('.') && re.test(n)).sort().map((n) => join(dir, n)) };
}

/**
 * Reads the `include` list of DOC (the file FILE), and of the files it includes, appending their list
 * sections to DOC's. Removes the `include` pair from every document it reads. Problems go to `report`
 * at the include entry that caused them.
 */
export function applyIncludes(doc: Document.Parsed, file: string, host: IncludeHost, report: (offset: number, path: string, message: string) => void): void {
  const state = { files: 0, bytes: 0 };
  const main = doc.contents;
  if (!isMap(main)) return;
  const stack = [safeReal(file)];
  walk(main as YAMLMap, file, 0, stack);

  function walk(map: YAMLMap, from: string, depth: number, chain: string[]): void {
    const i = map.items.findIndex((p) => isScalar(p.key) && p.key.value === 'include');
    if (i < 0) return;
    const pair = map.items[i] as Pair;
    map.items.splice(i, 1);
    const v = pair.value;
    const entries: Array<{ text: string; offset: number; path: string }> = [];
    const keyOffset = (pair.key as { range?: number[] }).range?.[0] ?? 0;
    if (isScalar(v) && typeof v.value === 'string') entries.push({ text: v.value, offset: v.range?.[0] ?? keyOffset, path: 'include' });
    else if (isSeq(v)) {
      (v as YAMLSeq).items.forEach((it, k) => {
        if (isScalar(it) && typeof it.value === 'string' && it.value !== '') entries.push({ text: it.value, offset: it.range?.[0] ?? keyOffset, path: `include[${k}]` });
        else report((it as { range?: number[] })?.range?.[0] ?? keyOffset, `include[${k}]`, 'expected a file name or a glob (conf.d/*.yaml)');
      });
    } else { report(keyOffset, 'include', 'expected a list of file names or globs, e.g. include: [conf.d/*.yaml]'); return; }
    if (depth >= MAX_INCLUDE_DEPTH) { report(keyOffset, 'include', `includes nested deeper than ${MAX_INCLUDE_DEPTH} levels; flatten them`); return; }
    for (const e of entries) {
      const x = expand(e.text, from);
      if ('error' in x) { report(e.offset, e.path, x.error); continue; }
      if (x.files.length === 0 && /[*?]/.test(e.text)) continue; // an empty conf.d is fine
      for (const f of x.files) {
        const real = safeReal(f);
        if (chain.includes(real)) { report(e.offset, e.path, `${quoteValue(f)} includes itself (through ${chain.length} file${chain.length === 1 ? '' : 's'}); an include cycle is refused`); continue; }
        if (++state.files > MAX_INCLUDE_FILES) { report(e.offset, e.path, `more than ${MAX_INCLUDE_FILES} included files; refused`); return; }
        let bytes: Buffer;
        try {
          const st = statSync(f);
          if (!st.isFile()) { report(e.offset, e.path, `${quoteValue(f)} is not a regular file`); continue; }
          if (state.bytes + st.size > MAX_INCLUDE_BYTES) { report(e.offset, e.path, `included files over ${MAX_INCLUDE_BYTES} bytes in all; refused`); return; }
          bytes = readFileSync(f);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          report(e.offset, e.path, `cannot read ${quoteValue(f)}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}${code ? ` (${code})` : ''}`);
          continue;
        }
        state.bytes += bytes.length;
        host.read.push({ file: f, bytes });
        const base = host.map.end;
        const sub = host.parse(bytes.toString('utf8'), f, base);
        if (!sub) continue;
        if (sub.contents === null) continue; // only comments
        if (!isMap(sub.contents)) { report(base, '(document)', 'an included file is a YAML mapping of list sections (virtual_services: [...], ...)'); continue; }
        const m = sub.contents as YAMLMap;
        walk(m, f, depth + 1, [...chain, real]);
        merge(main as YAMLMap, m);
      }
    }
  }

  function merge(into: YAMLMap, from: YAMLMap): void {
    for (const p of from.items) {
      const key = isScalar(p.key) ? String(p.key.value) : '';
      const keyAt = (p.key as { range?: number[] })?.range?.[0] ?? 0;
      if (!(INCLUDABLE as readonly string[]).includes(key)) {
        report(keyAt, /^[A-Za-z0-9_]{1,64}$/.test(key) ? key : key ? quoteValue(key) : '(document)', `an included file may only add to ${INCLUDABLE.join(', ')}${key === 'global' ? '; global belongs in the main file' : ''}`);
        continue;
      }
      if (!isSeq(p.value)) { into.items.push(p); continue; } // decoding reports the wrong type at its place
      const mine = into.items.find((q) => isScalar(q.key) && q.key.value === key);
      if (!mine) into.items.push(p);
      else if (isSeq(mine.value)) (mine.value as YAMLSeq).items.push(...(p.value as YAMLSeq).items);
      else report(keyAt, key, `the main file's ${key} is not a list; cannot add to it`);
    }
  }
}

function safeReal(f: string): string { try { return realpathSync(f); } catch { return resolve(f); } }

/** Moves every node of DOC by BASE in the combined offset space. */
export function shiftDocument(doc: Document.Parsed, base: number): void {
  if (base === 0) return;
  visit(doc, {
    Node: (_k, n) => {
      const r = (n as { range?: [number, number, number] }).range;
      if (r) (n as { range: [number, number, number] }).range = [r[0] + base, r[1] + base, r[2] + base];
    },
  });
}
