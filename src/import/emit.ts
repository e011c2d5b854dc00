// A small YAML writer for the importer's output: block mappings and lists, flow lists for argv and short
// address lists, and comments attached to keys. Output is deterministic so golden files can compare it.
import { oneLine } from '../text/quote.js';
export type YScalar = string | number | boolean;
export type YValue = YScalar | YMap | YList;
export class YList { constructor(readonly items: YValue[], readonly flow = false) {} }
type Entry = { key: string; value: YValue; comments: string[]; trailing?: string };
export class YMap {
  readonly entries: Entry[] = [];
  set(key: string, value: YValue | undefined, comment?: string | string[], trailing?: string): this {
    if (value === undefined) return this;
    const comments = comment === undefined ? [] : Array.isArray(comment) ? comment : [comment];
    const i = this.entries.findIndex((e) => e.key === key);
    const entry: Entry = { key, value, comments, ...(trailing !== undefined ? { trailing } : {}) };
    if (i >= 0) this.entries[i] = entry; else this.entries.push(entry);
    return this;
  }
  get(key: string): YValue | undefined { return this.entries.find((e) => e.key === key)?.value; }
  delete(key: string): void { const i = this.entries.findIndex((e) => e.key === key); if (i >= 0) this.entries.splice(i, 1); }
  get size(): number { return this.entries.length; }
}

const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;
const NUMERIC = /^[-+]?(\.?\d|0x|0o|\.inf|\.nan)/i;

/**
 * What JSON.stringify leaves raw but YAML must not hold raw (DEL and C1 controls are outside YAML's printable
 * set) or a terminal must not get (line separators, bidi controls): written as \u escapes, which YAML's
 * double-quoted style reads back as the same characters.
 */
const UNPRINTABLE = /[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ufeff]/g;

export function scalar(v: YScalar, inFlow = false): string {
  if (typeof v !== 'string') return String(v);
  const plain = /^[A-Za-z0-9_/.][A-Za-z0-9_/.@%+=:,-]*$/.test(v) && !RESERVED.test(v) && !(NUMERIC.test(v) && !Number.isNaN(Number(v)))
    && !/:$/.test(v) && !(inFlow && v.includes(',')) && !/^\d+(:\d+)+$/.test(v);
  return plain ? v : JSON.stringify(v).replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A comment holding a line break (a file name can) would end the comment early: one comment line per line,
 * each without control characters (escaped), which YAML does not allow and a terminal would act on.
 */
const commentLines = (c: string) => c.split(/\r\n|\r|\n|\u2028|\u2029|\u0085/).map((l) => oneLine(l));

function isBlock(v: YValue): boolean {
  return (v instanceof YMap && v.size > 0) || (v instanceof YList && !v.flow && v.items.length > 0);
}

function inline(v: YValue): string {
  if (v instanceof YMap) return '{}';
  if (v instanceof YList) return `[${v.items.map((i) => (i instanceof YMap || i instanceof YList ? inline(i) : scalar(i, true))).join(', ')}]`;
  return scalar(v);
}

function emitMap(m: YMap, indent: number, out: string[], firstPrefix?: string): void {
  const pad = ' '.repeat(indent);
  m.entries.forEach((e, n) => {
    const lead = n === 0 && firstPrefix !== undefined ? firstPrefix : pad;
    for (const c of e.comments.flatMap(commentLines)) out.push(`${n === 0 && firstPrefix !== undefined ? firstPrefix.replace(/- $/, '') : pad}# ${c}`.replace(/\s+$/, ''));
    // A comment line between "- " and the first key would break the list item, so the comments above go first.
    const trailing = e.trailing !== undefined ? `  # ${e.trailing}` : '';
    if (isBlock(e.value)) {
      out.push(`${lead}${e.key}:${trailing}`);
      emitValue(e.value, indent + 2, out);
    } else out.push(`${lead}${e.key}: ${inline(e.value)}${trailing}`);
  });
}

function emitValue(v: YValue, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  if (v instanceof YMap) { emitMap(v, indent, out); return; }
  if (v instanceof YList) {
    for (const item of v.items) {
      if (item instanceof YMap && item.size > 0) emitMap(item, indent + 2, out, `${pad}- `);
      else out.push(`${pad}- ${inline(item)}`);
    }
  }
}

/** Render a document: header comment lines, then the mapping, sections separated by blank lines. */
export function emitYaml(doc: YMap, header: string[]): string {
  const out: string[] = header.flatMap(commentLines).map((h) => `# ${h}`.replace(/\s+$/, ''));
  doc.entries.forEach((e) => {
    if (out.length > 0) out.push('');
    const one = new YMap();
    one.entries.push(e);
    emitMap(one, 0, out);
  });
  return `${out.join('\n')}\n`;
}
