// The configuration fuzzer shared by test/unit/config-fuzz.test.ts (seconds, in npm test) and
// test/bench/fuzz.ts (minutes): seeded mutations of the real inputs (deploy/examples, test/config,
// test/import) with hostile snippets spliced in, run through parseConfig and the keepalived importer, and
// the invariants every run must keep (issue #13): no exception (results only), a bounded time, and every
// error line one printable line of bounded length.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, parseConfig } from '../../src/config/index.js';
import { formatNote, importKeepalived } from '../../src/import/index.js';

/** xorshift32: small, fast and replayable from its seed. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 1; }
  next(): number { let s = this.s; s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; this.s = s >>>= 0; return s; }
  int(n: number): number { return n <= 1 ? 0 : this.next() % n; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  chance(p: number): boolean { return this.next() / 0x1_0000_0000 < p; }
  /** Mostly small, sometimes large: sizes where a quadratic cost shows without making every input slow. */
  size(max: number): number { return this.chance(0.8) ? 1 + this.int(Math.min(64, max)) : 1 + this.int(max); }
}

/** Characters a flip may put in: the ones parsers and terminals treat specially. */
const FLIP_CHARS = ['\x00', '\x07', '\x1b', '\t', '\r', '\n', ' ', '"', "'", '\\', ':', '-', '[', ']', '{', '}', ',', '#', '!', '&', '*', '|', '>', '$', '@', '%', '\x7f', '\x85', '\u2028', '\u202e', '\u2066', '\ud800', '\ufeff', 'é', '😀', '0', '9', 'a'];

/** Makes a snippet of about size `n`, choosing among variants with `rng`. */
export type Snippet = (n: number, rng: Rng) => string;

/** Snippets hostile to a YAML parser and to lvsd's schema. */
export const YAML_SNIPPETS: readonly Snippet[] = [
  (n) => `${' '.repeat(n * 100)}x`,
  (n) => `${'\t'.repeat(n)}`,
  () => '\x1b[2J\x1b]0;title\x07',
  () => '\u202e\u2066evil\u2069\u2028\u0085',
  () => '\x00',
  (n) => '['.repeat(n * 10),
  (n) => `${'['.repeat(n)}${']'.repeat(n)}`,
  (n) => `${'{a: '.repeat(n)}1${'}'.repeat(n)}`,
  (n) => `${'- '.repeat(n * 5)}x`,
  (n) => '9'.repeat(n * 20),
  (_n, rng) => rng.pick(['1e999', '-0x1F', '.inf', '0o777', '1_000', '-.nan', '18446744073709551617']),
  () => '&a [*a, *a]',
  () => '*nowhere',
  (n) => `x-bomb: &l0 [${Array(10).fill('lol').join(', ')}]\n${Array.from({ length: Math.min(n, 9) }, (_, i) => `x-l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`).join('\n')}\n`,
  () => '!!binary aGVsbG8=',
  () => '!custom/tag%0A%1B value',
  () => '%YAML 1.2\n---\n',
  () => '\n---\nsecond: doc\n',
  () => '"unclosed',
  () => "'unclosed",
  (n) => `|\n${'  block line \x1b[31m\n'.repeat(n)}`,
  () => '? [complex, key]\n: value\n',
  (n) => 'k'.repeat(n * 500),
  () => '\nglobal:\n  schedular: rr\n',
  () => '\n  "bad\\nkey\\e": 1\n',
  () => '\nvirtual_services:\n  - {name: v, address: "192.0.2.1:80", forwarding: nat, scheduler: "w\\nl\\u202ec"}\n',
  () => ': : : :',
  () => '\r\n\r',
];

/** Snippets hostile to the keepalived reader and converter. */
export const KEEPALIVED_SNIPPETS: readonly Snippet[] = [
  () => '\n$X=${X}${X}\nrouter_id ${X}\n',
  (n) => `\n$A=${'a'.repeat(n * 100)}\n$B=${'${A}'.repeat(n)}\n$C=${'${B}'.repeat(n)}\n  router_id \${C} $C\n`,
  () => '\ninclude k.conf\n',
  () => '\ninclude *.conf\n',
  () => '\ninclude conf.d/*.conf\ninclude servers/*.inc\n',
  (n) => `\ninclude ${'{a,b}'.repeat(n)}\n`,
  () => '\ninclude /dev/zero\n',
  () => '\ninclude [z-a]*\n',
  (n) => `\ninclude ${'*a'.repeat(n)}*b\n`,
  (n) => '{'.repeat(n),
  (n) => '}'.repeat(n),
  (n) => 'a {\n'.repeat(n * 2),
  () => '"',
  () => '\x1b[2J\x07\u202e\r',
  () => '\x00',
  (n) => ' '.repeat(n * 100),
  (n) => 'w'.repeat(n * 500),
  () => '\n@main router_id x\n@^backup priority 200\n',
  () => '\n~SEQ(i, 1, 100) x ${i}\n',
  (n) => '\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n}\n'.repeat(n),
  (n) => `\n  track_interface {\n${'    eth0\n'.repeat(n)}  }\n`,
  () => '\nvrrp_instance "V\x1bI" {\n  state MASTER\u2028\n  interface e\\th0\n}\n',
  () => '\n  notify_master "/bin/a | /bin/b\x1b"\n',
];

/** One to four random edits of `text`: flips, hostile snippets, duplicated lines, cuts, swaps. */
export function mutate(text: string, rng: Rng, snippets: readonly Snippet[], maxSize = 200): string {
  let t = text;
  for (let k = 1 + rng.int(4); k > 0; k--) {
    const at = rng.int(t.length + 1);
    switch (rng.int(7)) {
      case 0: { // flip characters
        const chars = [...t];
        for (let f = 1 + rng.int(4); f > 0 && chars.length > 0; f--) chars[rng.int(chars.length)] = rng.pick(FLIP_CHARS);
        t = chars.join('');
        break;
      }
      case 1: case 2: { // a hostile snippet, at a line start more often than not
        const s = rng.pick(snippets)(rng.size(maxSize), rng);
        const pos = rng.chance(0.6) ? t.lastIndexOf('\n', at - 1) + 1 : at;
        t = t.slice(0, pos) + s + t.slice(pos);
        break;
      }
      case 3: { // a line repeated
        const lines = t.split('\n');
        const i = rng.int(lines.length);
        lines.splice(i, 0, ...Array<string>(rng.size(maxSize * 10)).fill(lines[i]!));
        t = lines.join('\n');
        break;
      }
      case 4: t = t.slice(0, at) + t.slice(at + rng.int(200)); break; // a cut
      case 5: t = t.slice(0, at); break; // truncated
      default: { // two lines swapped
        const lines = t.split('\n');
        const i = rng.int(lines.length), j = rng.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        t = lines.join('\n');
      }
    }
  }
  return t;
}

/** UTF-8 bytes of `text` with a few bytes replaced: bad sequences, NUL, a BOM. */
export function mutateBytes(text: string, rng: Rng): Uint8Array {
  const b = Buffer.from(text, 'utf8');
  const seqs = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x80], [0x00], [0xef, 0xbb, 0xbf], [0x80]];
  const parts: Buffer[] = [];
  let from = 0;
  for (let k = 1 + rng.int(3); k > 0 && b.length > 0; k--) {
    const at = from + rng.int(Math.max(1, b.length - from));
    parts.push(b.subarray(from, at), Buffer.from(rng.pick(seqs)));
    from = Math.min(b.length, at + rng.int(2));
  }
  parts.push(b.subarray(from));
  return new Uint8Array(Buffer.concat(parts));
}

export interface Seed { readonly name: string; readonly text: string }
export interface Corpus { readonly yaml: readonly Seed[]; readonly keepalived: readonly Seed[] }

/** The inputs mutated: lvsd.yaml examples and broken files, and the keepalived configs of the importer's tests. */
export function loadCorpus(root: string): Corpus {
  const read = (dir: string, ext: RegExp): Seed[] =>
    readdirSync(join(root, dir)).filter((f) => ext.test(f)).sort().map((f) => ({ name: `${dir}/${f}`, text: readFileSync(join(root, dir, f), 'utf8') }));
  return {
    yaml: [...read('deploy/examples', /\.yaml$/), ...read('test/config/broken', /\.yaml$/)],
    keepalived: [...read('test/import', /\.conf$/), ...read('test/import/conf.d', /\.conf$/), ...read('test/import/servers', /\.inc$/)],
  };
}

/** What a line the operator reads must not hold: controls, line breaks, bidi overrides. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** The longest error line allowed: file name, path and a message with values cut to 60 characters. */
const MAX_LINE = 1600;

export interface Outcome {
  readonly kind: 'yaml' | 'keepalived';
  readonly ms: number;
  /** Lines of output checked: errors, notes. */
  readonly lines: number;
  /** An invariant broken, with what is needed to replay it; undefined when all held. */
  readonly problem?: string;
}

/** Why these lines break the one-printable-line rule (each at most `maxLength`), or undefined. */
function checkLines(lines: readonly string[], maxLength = MAX_LINE): string | undefined {
  for (const l of lines) {
    if (UNSAFE.test(l)) return `raw control character in ${JSON.stringify(l.slice(0, 200))}`;
    if (l.length > maxLength) return `line of ${l.length} characters: ${JSON.stringify(l.slice(0, 200))}`;
  }
  return undefined;
}

/**
 * Runs mutated inputs, one per step(), alternating lvsd.yaml and keepalived.conf. Keepalived inputs are
 * written as k.conf into a scratch directory that also holds the corpus's included files, so includes resolve.
 */
export class Fuzzer {
  readonly rng: Rng;
  private readonly dir: string;
  private n = 0;
  /** The input of the last step, to save or replay when it broke an invariant. */
  lastInput: string | Uint8Array = '';
  constructor(readonly corpus: Corpus, readonly seed: number, readonly maxMs: number, private readonly maxSize = 200) {
    this.rng = new Rng(seed);
    this.dir = mkdtempSync(join(tmpdir(), 'lvsd-fuzz-'));
    mkdirSync(join(this.dir, 'conf.d'));
    mkdirSync(join(this.dir, 'servers'));
    for (const s of corpus.keepalived) writeFileSync(join(this.dir, s.name.replace(/^test\/import\//, '')), s.text);
  }

  step(): Outcome {
    const i = this.n++;
    return i % 2 === 0 ? this.yaml(i) : this.keepalived(i);
  }

  private yaml(i: number): Outcome {
    const seed = this.rng.pick(this.corpus.yaml);
    const text = mutate(seed.text, this.rng, YAML_SNIPPETS, this.maxSize);
    const input: string | Uint8Array = this.rng.chance(0.25) ? mutateBytes(text, this.rng) : text;
    this.lastInput = input;
    const replay = `seed ${this.seed} input ${i} (from ${seed.name}, ${input.length} ${typeof input === 'string' ? 'characters' : 'bytes'})`;
    const t = performance.now();
    let lines: string[];
    try {
      const r = parseConfig(input, 'fuzz.yaml');
      lines = r.ok ? [] : r.errors.map(formatIssue);
      if (!r.ok && r.errors.length === 0) return { kind: 'yaml', ms: performance.now() - t, lines: 0, problem: `${replay}: refused without an error` };
    } catch (e) {
      return { kind: 'yaml', ms: performance.now() - t, lines: 0, problem: `${replay}: threw ${(e as Error).stack ?? String(e)}` };
    }
    const ms = performance.now() - t;
    const bad = checkLines(lines) ?? (ms > this.maxMs ? `took ${ms.toFixed(0)} ms` : undefined);
    return { kind: 'yaml', ms, lines: lines.length, ...(bad ? { problem: `${replay}: ${bad}` } : {}) };
  }

  private keepalived(i: number): Outcome {
    const seed = this.rng.pick(this.corpus.keepalived);
    const text = mutate(seed.text, this.rng, KEEPALIVED_SNIPPETS, this.maxSize);
    const replay = `seed ${this.seed} input ${i} (from ${seed.name}, ${text.length} characters)`;
    const file = join(this.dir, 'k.conf');
    writeFileSync(file, text);
    this.lastInput = text;
    const t = performance.now();
    let lines: string[], yaml: string[];
    try {
      const r = importKeepalived(file);
      lines = r.ok ? r.notes.map(formatNote) : [r.error];
      yaml = r.ok ? r.yaml.split('\n') : [];
    } catch (e) {
      return { kind: 'keepalived', ms: performance.now() - t, lines: 0, problem: `${replay}: threw ${(e as Error).stack ?? String(e)}` };
    }
    const ms = performance.now() - t;
    // The YAML may hold a long value on one line; it must still hold no raw control character.
    const bad = checkLines(lines) ?? checkLines(yaml, Infinity) ?? (ms > this.maxMs ? `took ${ms.toFixed(0)} ms` : undefined);
    return { kind: 'keepalived', ms, lines: lines.length, ...(bad ? { problem: `${replay}: ${bad}` } : {}) };
  }

  /** The scratch directory goes; the corpus is untouched. */
  close(): void { rmSync(this.dir, { recursive: true, force: true }); }
}
