// Reading lvsd.yaml: bytes -> YAML AST with positions -> typed, defaults-filled LvsdConfig, or every
// problem found, each with file:line:col and key path. Never throws on bad input.
import { readFile, stat } from 'node:fs/promises';
import { LineCounter, parseAllDocuments } from 'yaml';
import { compareIssues, type ConfigIssue } from './issues.js';
import { DecodeContext, INVALID } from './dsl.js';
import { lvsdConfigSchema, type LvsdConfig } from './model.js';
import { checkSemantics } from './semantic.js';

/** `bytes`: what loadConfig read and validated, so a caller can hash exactly that without a second read. */
export type LoadResult = { ok: true; config: LvsdConfig; bytes?: Uint8Array } | { ok: false; errors: ConfigIssue[] };

const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

function posOf(text: string, offset: number): { line: number; col: number } {
  let line = 1, col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') { line++; col = 1; } else col++;
  }
  return { line, col };
}

/**
 * The length of the longest prefix of `bytes` that is whole, valid UTF-8. A streaming decode only
 * fails on a byte that cannot continue any valid text, so "decodes so far" is monotonic in the prefix
 * length and can be bisected (O(n log n); trying every length from the end took hours for a large file);
 * then at most 3 bytes of an unfinished character are dropped.
 */
function validUtf8Prefix(bytes: Uint8Array): number {
  const decodes = (n: number, stream: boolean) => {
    try { new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream }); return true; } catch { return false; }
  };
  let lo = 0, hi = bytes.length; // decodes(lo, true) holds; the answer is in [lo, hi]
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (decodes(mid, true)) lo = mid; else hi = mid - 1;
  }
  while (lo > 0 && !decodes(lo, false)) lo--;
  return lo;
}

/** Validate configuration text; `file` is only used in the messages. */
export function parseConfig(bytes: string | Uint8Array, file: string): LoadResult {
  let text: string;
  if (typeof bytes === 'string') text = bytes;
  else {
    // A binary file (or another encoding) is refused before YAML sees it, pointing at the first bad byte.
    const nul = bytes.indexOf(0);
    if (nul >= 0) {
      const p = posOf(new TextDecoder().decode(bytes.subarray(0, nul)), nul);
      return fail(file, p.line, p.col, `not a text file (NUL byte at offset ${nul}); expected YAML`);
    }
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const good = validUtf8Prefix(bytes);
      const p = posOf(new TextDecoder().decode(bytes.subarray(0, good)), good);
      return fail(file, p.line, p.col, `not valid UTF-8 (byte 0x${bytes[good]!.toString(16).padStart(2, '0')} at offset ${good}); expected YAML`);
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return fail(file, 1, 1, 'the file is empty; expected a YAML mapping (see deploy/examples/)');

  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true });
  const at = (offset: number) => lineCounter.linePos(offset);
  const errors: ConfigIssue[] = [];
  const push = (offset: number, path: string, message: string) => { const p = at(offset); errors.push({ file, line: p.line, col: p.col, path, message }); };

  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) push(0, '(yaml)', 'unexpected YAML stream');
  // An error found at end of input (an unclosed bracket) is blamed on the end of the last line, not on a line after it.
  const lastChar = text.replace(/\s+$/, '').length;
  for (const d of list) {
    for (const e of d.errors) {
      const first = e.message.split('\n')[0]!;
      push(Math.min(e.pos[0], lastChar), '(yaml)', /call stack/i.test(first) ? 'YAML nested too deeply' : `YAML syntax error: ${first}`);
    }
  }
  if (list.length > 1) push(list[1]!.range[0], '(yaml)', 'more than one YAML document; lvsd.yaml is a single document');
  if (errors.length) return { ok: false, errors: errors.sort(compareIssues) };
  const doc = list[0];
  if (!doc || doc.contents === null) return fail(file, 1, 1, 'the file has no content (only comments?); expected a YAML mapping');

  const ctx = new DecodeContext(doc, lineCounter);
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
  for (const i of ctx.issues) push(i.offset, i.path === '' ? '(document)' : i.path, i.message);
  if (errors.length || cfg === INVALID) {
    if (!errors.length) push(0, '(document)', 'invalid configuration');
    return { ok: false, errors: errors.sort(compareIssues) };
  }
  return { ok: true, config: cfg };
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
  return r.ok ? { ...r, bytes } : r;
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
