// A small schema language: each configuration type is declared once, and from that declaration come
// the TypeScript type (Infer<>), the validator that walks the YAML AST keeping positions, and the
// published JSON Schema (draft 2020-12). Validators collect every problem instead of stopping at the first.
import { isAlias, isMap, isScalar, isSeq, visit, type Document, type LineCounter } from 'yaml';
import { suggest } from './suggest.js';
import { formatDuration, parseDuration, type ParseResult } from './duration.js';
import { escapeText, quoteValue } from '../text/quote.js';

export type JsonSchema = { [k: string]: unknown };

/** Values decoded through YAML aliases, at most; generous for anchors reused across thousands of services. */
export const MAX_ALIASED_NODES = 1_000_000;

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

interface RawIssue { offset: number; path: string; message: string }

/** State of one validation run: the document, issues found, and where every key path sits in the file. */
export class DecodeContext {
  readonly issues: RawIssue[] = [];
  /** key path -> offset of its value node (or of its key, when the value is empty). */
  readonly positions = new Map<string, number>();
  /** For partial lists with dropped elements: position in the value -> index in the file. */
  readonly sectionIndex = new Map<string, number[]>();
  /** Names of dropped list elements, per list path. */
  private readonly droppedNames = new Map<string, Set<string>>();
  dropped(listPath: string): Set<string> {
    let set = this.droppedNames.get(listPath);
    if (!set) this.droppedNames.set(listPath, (set = new Set()));
    return set;
  }
  aliasDepth = 0;
  aliasedNodes = 0;
  aliasLimitReported = false;
  /** Each alias node's target, found in one pass: Alias.resolve() walks the whole document every time. */
  readonly aliasTargets = new Map<unknown, unknown>();
  constructor(readonly doc: Document.Parsed, readonly lineCounter: LineCounter) {
    const anchors = new Map<string, unknown>();
    // Document order: an alias refers to the latest anchor of its name before it (YAML 1.2 section 3.2.2.2).
    visit(doc, {
      Node: (_key, node) => {
        if (isAlias(node)) this.aliasTargets.set(node, anchors.get(node.source));
        else if (node.anchor) anchors.set(node.anchor, node);
      },
    });
  }
  report(offset: number, path: string, message: string): void { this.issues.push({ offset, path, message }); }
  /** Offset of a path, or of its nearest ancestor that appeared in the file (defaults have no position). */
  offsetOf(path: string): number {
    for (let p = path; ; p = parentPath(p)) {
      const o = this.positions.get(p);
      if (o !== undefined) return o;
      if (p === '') return 0;
    }
  }
  line(offset: number): number { return this.lineCounter.linePos(offset).line; }
}

export function parentPath(p: string): string {
  const m = /^(.*)(\.[^.[\]]+|\[\d+\])$/.exec(p);
  return m ? m[1]! : '';
}
export const joinKey = (base: string, key: string): string => (base ? `${base}.${key}` : key);
export const joinIndex = (base: string, i: number): string => `${base}[${i}]`;
/**
 * A key from the file as a path shows it (unknown and duplicate keys): a plain name as it is, anything
 * else quoted, so a key holding a newline, an escape sequence or 2 MB cannot spill out of its message.
 */
const shownKey = (key: string): string => (/^[A-Za-z0-9_-]{1,64}$/.test(key) ? key : quoteValue(key));

/** Where a value was found: its key path, and an offset to blame when the node itself is missing. */
export interface At { readonly path: string; readonly offset: number }

// YAML nodes as the `yaml` package gives them (Scalar, YAMLMap, YAMLSeq, Alias) or null for an absent value.
type YNode = unknown;

function resolve(node: YNode, ctx: DecodeContext): YNode {
  let n = node;
  for (let i = 0; i < 32 && isAlias(n); i++) n = ctx.aliasTargets.get(n) ?? n.resolve(ctx.doc);
  return n;
}
function offsetOfNode(node: YNode, fallback: number): number {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? r[0] : fallback;
}

/** What a node is, in words, for "expected X, got Y" messages. */
export function describe(node: YNode): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'an empty value';
    if (typeof v === 'string') return `the string ${quoteValue(v)}`;
    if (typeof v === 'number') return `the number ${v}`;
    if (typeof v === 'boolean') return `the boolean ${v}`;
  }
  return 'an unsupported YAML value';
}

export abstract class Type<T> {
  declare readonly _type: T;
  description: string | undefined;
  constructor(description?: string) { this.description = description; }
  /** Validate one YAML node; record every issue in ctx; INVALID when this value cannot be used. */
  decode(node: YNode, at: At, ctx: DecodeContext): T | Invalid {
    const viaAlias = isAlias(node);
    const n = resolve(node, ctx);
    if (viaAlias && n === undefined) {
      const name = (node as { source: string }).source;
      ctx.report(offsetOfNode(node, at.offset), at.path, `alias *${name} refers to no anchor; define &${name} before it`);
      return INVALID;
    }
    const offset = offsetOfNode(viaAlias ? node : n, at.offset);
    ctx.positions.set(at.path, offset);
    // Aliases of lists of aliases multiply (a "billion laughs"): bound the work done through them.
    if (viaAlias || ctx.aliasDepth > 0) {
      if (++ctx.aliasedNodes > MAX_ALIASED_NODES) {
        if (!ctx.aliasLimitReported) ctx.report(offset, at.path, `YAML aliases expand to more than ${MAX_ALIASED_NODES} values; write the configuration out instead`);
        ctx.aliasLimitReported = true;
        return INVALID;
      }
    }
    if (!viaAlias) return this.decodeNode(n, { path: at.path, offset }, ctx);
    ctx.aliasDepth++;
    try { return this.decodeNode(n, { path: at.path, offset }, ctx); } finally { ctx.aliasDepth--; }
  }
  protected abstract decodeNode(node: YNode, at: At, ctx: DecodeContext): T | Invalid;
  protected abstract schema(): JsonSchema;
  jsonSchema(): JsonSchema {
    const s = this.schema();
    return this.description ? { description: this.description, ...s } : s;
  }
}

export type Infer<S> = S extends Type<infer T> ? T : never;

// ---- scalars ----

/** A scalar decoded by a function: strings with structure (durations, addresses, ranges). */
export class CustomScalar<T> extends Type<T> {
  constructor(private readonly parse: (v: unknown) => ParseResult<T>, private readonly json: JsonSchema, description?: string) { super(description); }
  protected decodeNode(node: YNode, at: At, ctx: DecodeContext): T | Invalid {
    if (!isScalar(node) || node.value === null) {
      const r = this.parse(undefined);
      ctx.report(at.offset, at.path, r.ok ? `expected a value, got ${describe(node)}` : `${r.message}, got ${describe(node)}`);
      return INVALID;
    }
    const r = this.parse(node.value);
    if (!r.ok) { ctx.report(at.offset, at.path, r.message); return INVALID; }
    return r.value;
  }
  protected schema(): JsonSchema { return this.json; }
}

export interface StrOpts { minLength?: number; maxLength?: number; pattern?: RegExp; patternHelp?: string; check?: (s: string) => string | undefined }
export class Str extends Type<string> {
  constructor(private readonly o: StrOpts, description?: string) { super(description); }
  protected decodeNode(node: YNode, at: At, ctx: DecodeContext): string | Invalid {
    if (!isScalar(node) || typeof node.value !== 'string') {
      const quote = isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean') ? `; quote it: "${String(node.value)}"` : '';
      ctx.report(at.offset, at.path, `expected a string, got ${describe(node)}${quote}`);
      return INVALID;
    }
    const s = node.value;
    const o = this.o;
    const problem = o.check?.(s) ?? (
      o.minLength !== undefined && s.length < o.minLength ? (o.minLength === 1 ? 'must not be empty' : `must be at least ${o.minLength} characters`)
      : o.maxLength !== undefined && s.length > o.maxLength ? `must be at most ${o.maxLength} characters (got ${s.length})`
      : o.pattern && !o.pattern.test(s) ? `${quoteValue(s)} ${o.patternHelp ?? `does not match ${o.pattern.source}`}`
      : undefined);
    if (problem) { ctx.report(at.offset, at.path, problem); return INVALID; }
    return s;
  }
  protected schema(): JsonSchema {
    const s: JsonSchema = { type: 'string' };
    if (this.o.minLength !== undefined) s.minLength = this.o.minLength;
    if (this.o.maxLength !== undefined) s.maxLength = this.o.maxLength;
    if (this.o.pattern) s.pattern = this.o.pattern.source;
    return s;
  }
}

export class Int extends Type<number> {
  constructor(private readonly min: number, private readonly max: number, description?: string) { super(description); }
  protected decodeNode(node: YNode, at: At, ctx: DecodeContext): number | Invalid {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      const hint = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? '; remove the quotes' : typeof v === 'string' && /^\d+(\.\d+)?(ms|s|m|h)$/.test(v) ? '; this key is a count, not a duration' : '';
      ctx.report(at.offset, at.path, `expected an integer ${this.range()}, got ${describe(node)}${hint}`);
      return INVALID;
    }
    if (v < this.min || v > this.max) { ctx.report(at.offset, at.path, `${v} is out of range; must be ${this.range()}`); return INVALID; }
    return v;
  }
  private range(): string { return `${this.min}-${this.max}`; }
  protected schema(): JsonSchema { return { type: 'integer', minimum: this.min, maximum: this.max }; }
}

export class Bool extends Type<boolean> {
  protected decodeNode(node: YNode, at: At, ctx: DecodeContext): boolean | Invalid {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v === 'boolean') return v;
    // YAML 1.2 reads yes/no/on/off as strings; keepalived users write them.
    const hint = typeof v === 'string' && /^(yes|no|on|off|y|n)$/i.test(v) ? ` (YAML 1.2 reads '${v}' as a string); write ${/^(yes|on|y)$/i.test(v) ? 'true' : 'false'}` : '';
    ctx.report(at.offset, at.path, `expected true or false, got ${describe(node)}${hint}`);
    return INVALID;
  }
  protected schema(): JsonSchema { return { type: 'boolean' }; }
}

/** One of a fixed set of strings or numbers; misspellings get a suggestion. */
export class Enum<const V extends string | number> extends Type<V> {
  constructor(readonly values: readonly V[], description?: string, private readonly hints: Readonly<Record<string, string>> = {}) { super(description); }
  protected decodeNode(node: YNode, at: At, ctx: DecodeContext): V | Invalid {
    const v = isScalar(node) ? node.value : undefined;
    if ((this.values as readonly unknown[]).includes(v)) return v as V;
    const list = this.values.join(', ');
    const hint = typeof v === 'string' ? this.hints[v] ?? this.hints[v.toLowerCase()] : undefined;
    const got = typeof v === 'string' ? quoteValue(v) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : describe(node);
    if (hint) { ctx.report(at.offset, at.path, `${got} is not one of: ${list}; ${hint}`); return INVALID; }
    const near = typeof v === 'string' ? suggest(v, this.values.map(String)) : undefined;
    ctx.report(at.offset, at.path, `${got} is not one of: ${list}${near !== undefined ? `; did you mean '${near}'?` : ''}`);
    return INVALID;
  }
  protected schema(): JsonSchema { return this.values.length === 1 ? { const: this.values[0] } : { enum: [...this.values] }; }
}

// ---- containers ----

export interface ArrOpts {
  minItems?: number;
  maxItems?: number;
  /** Keep valid elements when others are invalid (errors are still reported); see DecodeContext.sectionIndex. */
  partial?: boolean;
}
export class Arr<T> extends Type<T[]> {
  constructor(readonly item: Type<T>, private readonly o: ArrOpts = {}, description?: string) { super(description); }
  protected decodeNode(node: YNode, at: At, ctx: DecodeContext): T[] | Invalid {
    if (!isSeq(node)) {
      ctx.report(at.offset, at.path, `expected a list, got ${describe(node)}${isScalar(node) && node.value !== null ? `; ${listHint(String(node.value))}` : ''}`);
      return INVALID;
    }
    const out: T[] = [];
    const kept: number[] = [];
    let bad = false;
    node.items.forEach((item, i) => {
      const v = this.item.decode(item, { path: joinIndex(at.path, i), offset: offsetOfNode(item, at.offset) }, ctx);
      if (v !== INVALID) { out.push(v); kept.push(i); return; }
      bad = true;
      // Remember the name of a dropped element, so references to it are not also called unknown.
      const m = resolve(item, ctx);
      const name = isMap(m) ? m.items.find((p) => isScalar(p.key) && p.key.value === 'name')?.value : undefined;
      if (isScalar(name) && typeof name.value === 'string') ctx.dropped(at.path).add(name.value);
    });
    if (bad && this.o.partial && out.length >= (this.o.minItems ?? 0)) {
      // Top-level sections: keep the valid elements so cross-reference rules can still run on them.
      ctx.sectionIndex.set(at.path, kept);
      return out;
    }
    if (this.o.minItems !== undefined && node.items.length < this.o.minItems) {
      ctx.report(at.offset, at.path, this.o.minItems === 1 ? 'must list at least one item' : `must list at least ${this.o.minItems} items`);
      return INVALID;
    }
    if (this.o.maxItems !== undefined && node.items.length > this.o.maxItems) {
      ctx.report(at.offset, at.path, `must list at most ${this.o.maxItems} items`);
      return INVALID;
    }
    return bad ? INVALID : out;
  }
  protected schema(): JsonSchema {
    const s: JsonSchema = { type: 'array', items: this.item.jsonSchema() };
    if (this.o.minItems !== undefined) s.minItems = this.o.minItems;
    if (this.o.maxItems !== undefined) s.maxItems = this.o.maxItems;
    return s;
  }
}

/** "write [x]" when x reads back as it is; a value that needed escaping or cutting was quoted by describe() already. */
function listHint(v: string): string {
  return quoteValue(v) === `'${v}'` ? `write [${v}]` : 'write it as a list: [...]';
}

export interface Opt<T> { readonly kind: 'opt'; readonly type: Type<T> }
export interface Def<T> { readonly kind: 'def'; readonly type: Type<T>; readonly value: T; readonly json: unknown }
export type Field = Type<any> | Opt<any> | Def<any>;
export type Fields = Readonly<Record<string, Field>>;

/** An optional key: absent means undefined. */
export const opt = <T>(type: Type<T>): Opt<T> => ({ kind: 'opt', type });
/** A key with a default; `json` is how the default is written in lvsd.yaml (for the JSON Schema). */
export const def = <T>(type: Type<T>, value: T, json?: unknown): Def<T> => ({ kind: 'def', type, value, json: json ?? value });
/** A duration key with a default written as a duration. */
export const defDuration = (type: Type<number>, ms: number): Def<number> => def(type, ms, formatDuration(ms));

type FieldValue<F> = F extends Opt<infer T> ? T : F extends Def<infer T> ? T : F extends Type<infer T> ? T : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjValue<F extends Fields> = Simplify<
  { -readonly [K in keyof F as F[K] extends Opt<any> ? never : K]: FieldValue<F[K]> } &
  { -readonly [K in keyof F as F[K] extends Opt<any> ? K : never]?: FieldValue<F[K]> }
>;

/** Reports a problem at a key path relative to the object being refined ('' is the object itself). */
export type Reporter = (relPath: string, message: string) => void;

export interface ObjOpts {
  /** Messages for keys that are not allowed but that people write (keepalived vocabulary, removed keys). */
  hints?: Readonly<Record<string, string>>;
}

export class Obj<F extends Fields> extends Type<ObjValue<F>> {
  private readonly refinements: Array<(v: ObjValue<F>, r: Reporter) => void> = [];
  constructor(readonly fields: F, private readonly o: ObjOpts = {}, description?: string) { super(description); }

  /** A rule over the whole object, run only when every key in it was valid; it reports, it does not reject. */
  refine(fn: (v: ObjValue<F>, report: Reporter) => void): this { this.refinements.push(fn); return this; }

  /** The value of an absent object: its defaults. Only for objects whose every key is optional. */
  defaults(): ObjValue<F> {
    const out: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(this.fields)) {
      if (f instanceof Type) throw new Error(`defaults(): required key '${k}'`);
      if (f.kind === 'def') out[k] = f.value;
    }
    return out as ObjValue<F>;
  }

  protected decodeNode(node: YNode, at: At, ctx: DecodeContext): ObjValue<F> | Invalid {
    return this.decodeMap(node, at, ctx, {});
  }

  decodeMap(node: YNode, at: At, ctx: DecodeContext, extraHints: Readonly<Record<string, string>>): ObjValue<F> | Invalid {
    if (!isMap(node)) {
      ctx.report(at.offset, at.path, `expected a mapping with keys ${Object.keys(this.fields).join(', ')}, got ${describe(node)}`);
      return INVALID;
    }
    const out: Record<string, unknown> = {};
    const seen = new Map<string, number>();
    let bad = false;
    const known = Object.keys(this.fields);
    for (const pair of node.items) {
      const keyNode = resolve(pair.key, ctx);
      const keyOffset = offsetOfNode(keyNode, at.offset);
      if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
        ctx.report(keyOffset, at.path || '(document)', `keys must be plain names, got ${describe(keyNode)}`);
        bad = true;
        continue;
      }
      const key = String(keyNode.value);
      const path = joinKey(at.path, shownKey(key));
      const first = seen.get(key);
      if (first !== undefined) {
        // Reported, but the shape stays usable (the first value wins), so cross-reference rules still run.
        ctx.report(keyOffset, path, `duplicate key; first set on line ${ctx.line(first)}`);
        continue;
      }
      seen.set(key, keyOffset);
      const field = Object.hasOwn(this.fields, key) ? this.fields[key] : undefined;
      if (!field) {
        const hint = this.o.hints?.[key] ?? extraHints[key];
        const near = suggest(key, known);
        // An unknown key is an error, but it does not spoil the keys that are known: cross-reference
        // rules still run, so a typo and a dangling reference are reported in the same pass.
        ctx.report(keyOffset, path, hint ? `unknown key; ${hint}` : near ? `unknown key; did you mean '${near}'?` : `unknown key; expected one of: ${known.join(', ')}`);
        continue;
      }
      const type = field instanceof Type ? field : field.type;
      const v = type.decode(pair.value, { path, offset: keyOffset }, ctx);
      if (v === INVALID) bad = true; else out[key] = v;
    }
    for (const [k, f] of Object.entries(this.fields)) {
      if (seen.has(k)) continue;
      if (f instanceof Type) {
        ctx.report(at.offset, at.path || '(document)', `missing required key '${k}'`);
        bad = true;
      } else if (f.kind === 'def') {
        out[k] = typeof f.value === 'object' && f.value !== null ? structuredClone(f.value) : f.value;
      }
    }
    if (bad) return INVALID;
    const value = out as ObjValue<F>;
    // A rule broken here is reported, but the value keeps its shape, so later cross-reference
    // rules still run and the operator sees every problem in one pass.
    const report: Reporter = (rel, message) => {
      const path = rel === '' ? at.path : rel.startsWith('[') ? at.path + rel : joinKey(at.path, rel);
      ctx.report(ctx.offsetOf(path), path || '(document)', message);
    };
    for (const fn of this.refinements) fn(value, report);
    return value;
  }

  protected schema(): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const [k, f] of Object.entries(this.fields)) {
      if (f instanceof Type) { properties[k] = f.jsonSchema(); required.push(k); }
      else if (f.kind === 'opt') properties[k] = f.type.jsonSchema();
      else properties[k] = { ...f.type.jsonSchema(), default: f.json };
    }
    const s: JsonSchema = { type: 'object', properties, additionalProperties: false };
    if (required.length) s.required = required;
    return s;
  }
}

/** A value written either as a scalar shorthand or as a mapping or list: dispatch on the YAML node kind. */
export class Alt<S, M> extends Type<S | M> {
  constructor(private readonly scalar: Type<S>, private readonly map: Type<M>, description?: string) { super(description); }
  protected decodeNode(node: YNode, at: At, ctx: DecodeContext): S | M | Invalid {
    // decode() records the position again under the same path; harmless.
    return isMap(node) || isSeq(node) ? this.map.decode(node, at, ctx) : this.scalar.decode(node, at, ctx);
  }
  protected schema(): JsonSchema { return { oneOf: [this.scalar.jsonSchema(), this.map.jsonSchema()] }; }
}

type VariantValues<V extends Record<string, Obj<any>>> = { [K in keyof V]: Infer<V[K]> }[keyof V];

/** Mappings told apart by a tag key (`type: http`); each variant declares the tag as a one-value Enum. */
export class Tagged<V extends Record<string, Obj<any>>> extends Type<VariantValues<V>> {
  /** Per variant: messages for keys that belong to other variants ("'tls' applies only to type https"). */
  private readonly hints = new Map<string, Record<string, string>>();
  constructor(private readonly tag: string, private readonly variants: V, description?: string,
    /** Messages for tag values that are not variants ("ping": "write 'icmp'"), as oneOf's hints. */
    private readonly tagHints: Readonly<Record<string, string>> = {}) {
    super(description);
    for (const [name, variant] of Object.entries(variants)) {
      const h: Record<string, string> = {};
      for (const other of Object.values(variants)) {
        for (const k of Object.keys(other.fields)) {
          if (Object.hasOwn(variant.fields, k) || h[k]) continue;
          const owners = Object.entries(variants).filter(([, o]) => Object.hasOwn(o.fields, k)).map(([n]) => n);
          h[k] = `'${k}' applies only to ${tag} ${owners.join(' or ')}, not ${name}`;
        }
      }
      this.hints.set(name, h);
    }
  }
  protected decodeNode(node: YNode, at: At, ctx: DecodeContext): VariantValues<V> | Invalid {
    const names = Object.keys(this.variants);
    if (!isMap(node)) { ctx.report(at.offset, at.path, `expected a mapping with '${this.tag}: ${names.join('|')}', got ${describe(node)}`); return INVALID; }
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === this.tag);
    if (!pair) { ctx.report(at.offset, at.path, `missing required key '${this.tag}' (one of: ${names.join(', ')})`); return INVALID; }
    const tagNode = resolve(pair.value, ctx);
    const tag = isScalar(tagNode) ? tagNode.value : undefined;
    const variant = typeof tag === 'string' && Object.hasOwn(this.variants, tag) ? this.variants[tag]! : undefined;
    if (!variant) {
      // Let the tag's own Enum-like message speak, with a suggestion.
      new Enum(names, undefined, this.tagHints).decode(pair.value, { path: joinKey(at.path, this.tag), offset: offsetOfNode(pair.key, at.offset) }, ctx);
      return INVALID;
    }
    const hints = this.hints.get(tag as string)!;
    return variant.decodeMap(node, at, ctx, hints) as VariantValues<V> | Invalid;
  }
  protected schema(): JsonSchema { return { oneOf: Object.values(this.variants).map((v) => v.jsonSchema()) }; }
}

// ---- constructors, so declarations read like the YAML they describe ----

export const str = (description?: string, o: StrOpts = {}): Str => new Str(o, description);
export const int = (min: number, max: number, description?: string): Int => new Int(min, max, description);
export const bool = (description?: string): Bool => new Bool(description);
export const oneOf = <const V extends string | number>(values: readonly V[], description?: string, hints?: Record<string, string>): Enum<V> => new Enum(values, description, hints);
export const arr = <T>(item: Type<T>, description?: string, o?: ArrOpts): Arr<T> => new Arr(item, o, description);
export const obj = <F extends Fields>(fields: F, description?: string, o?: ObjOpts): Obj<F> => new Obj(fields, o, description);
export const alt = <S, M>(scalar: Type<S>, map: Type<M>, description?: string): Alt<S, M> => new Alt(scalar, map, description);
export const tagged = <V extends Record<string, Obj<any>>>(tag: string, variants: V, description?: string, tagHints?: Record<string, string>): Tagged<V> =>
  new Tagged(tag, variants, description, tagHints);
export const custom = <T>(parse: (v: unknown) => ParseResult<T>, json: JsonSchema, description?: string): CustomScalar<T> => new CustomScalar(parse, json, description);

export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
/** A duration in milliseconds, written with a unit; bounds are inclusive. */
export function duration(description: string, min = 0, max = Number.MAX_SAFE_INTEGER): CustomScalar<number> {
  return custom((v) => {
    const r = parseDuration(v);
    if (!r.ok) return r;
    if (r.value < min || r.value > max) {
      return { ok: false, message: `${escapeText(String(v))} is out of range; must be ${formatDuration(min)}${max === Number.MAX_SAFE_INTEGER ? ' or more' : `-${formatDuration(max)}`}` };
    }
    return r;
  }, { type: 'string', pattern: DURATION_PATTERN }, description);
}

/** A type whose decoded value is reshaped (e.g. shorthand and long forms into one shape). */
export class Mapped<A, B> extends Type<B> {
  constructor(private readonly inner: Type<A>, private readonly fn: (a: A) => B) { super(inner.description); }
  protected decodeNode(node: YNode, at: At, ctx: DecodeContext): B | Invalid {
    const v = this.inner.decode(node, at, ctx);
    return v === INVALID ? INVALID : this.fn(v);
  }
  protected schema(): JsonSchema { return this.inner.jsonSchema(); }
  override jsonSchema(): JsonSchema { return this.inner.jsonSchema(); }
}
export const mapped = <A, B>(inner: Type<A>, fn: (a: A) => B): Mapped<A, B> => new Mapped(inner, fn);
