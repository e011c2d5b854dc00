// A strict reader of the Prometheus text exposition format (version 0.0.4): what a scraper would accept,
// and nothing more. lvsd's tests read /metrics with it; tools can use it to read a director's metrics.
// Refused: bad names or escapes, a TYPE after the family's samples or given twice, samples of one
// family split apart, the same series twice, histogram buckets that are not cumulative or whose +Inf
// bucket differs from _count.

export interface ParsedSample { name: string; labels: Record<string, string>; value: number }
export interface ParsedFamily { name: string; type: string; help: string; samples: ParsedSample[] }

export class ExpositionError extends Error {
  override readonly name = 'ExpositionError';
  constructor(readonly line: number, message: string) { super(`line ${line}: ${message}`); }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, readonly string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

/** As Prometheus reads values (Go's strconv.ParseFloat): NaN and Inf in any case; prom-client writes "Nan". */
function parseValue(text: string, line: number): number {
  if (/^nan$/i.test(text)) return NaN;
  const inf = /^([-+]?)inf(inity)?$/i.exec(text);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new ExpositionError(line, `'${text}' is not a number`);
  return Number(text);
}

/** Reads `{a="x",b="y"}` starting at text[i] === '{'; returns the labels and the index after '}'. */
function parseLabels(text: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (!m) throw new ExpositionError(line, `bad label name at column ${i + 1}`);
    const name = m[0];
    i += name.length;
    if (text[i] !== '=' || text[i + 1] !== '"') throw new ExpositionError(line, `label ${name}: expected ="`);
    i += 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new ExpositionError(line, `label ${name}: unterminated value`);
      if (c === '"') { i++; break; }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === '\\') value += '\\'; else if (e === '"') value += '"'; else if (e === 'n') value += '\n';
        else throw new ExpositionError(line, `label ${name}: bad escape \\${e ?? ''}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    if (name in labels) throw new ExpositionError(line, `label ${name} given twice`);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new ExpositionError(line, `label name ${name} is reserved or invalid`);
    labels[name] = value;
    while (text[i] === ' ') i++;
    if (text[i] === ',') { i++; continue; }
    if (text[i] === '}') return { labels, end: i + 1 };
    throw new ExpositionError(line, `expected , or } at column ${i + 1}`);
  }
}

const seriesKey = (name: string, labels: Record<string, string>): string =>
  `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;

export function parseExposition(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const seen = new Set<string>();
  const closed = new Set<string>(); // families whose samples ended (another family's sample followed)
  let current: string | undefined;
  const familyOf = (sampleName: string): string => {
    for (const [name, f] of families) {
      const suffixes = SUFFIXES[f.type] ?? [];
      if (sampleName === name || suffixes.some((s) => sampleName === name + s)) return name;
    }
    return sampleName;
  };
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new ExpositionError(lines.length, 'the text must end with a newline');
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name!)) throw new ExpositionError(line, `bad metric name ${name}`);
      let f = families.get(name!);
      if (!f) families.set(name!, f = { name: name!, type: 'untyped', help: '', samples: [] });
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new ExpositionError(line, `unknown type ${rest}`);
        if (f.samples.length) throw new ExpositionError(line, `TYPE of ${name} after its samples`);
        if ((f as { typed?: boolean }).typed) throw new ExpositionError(line, `TYPE of ${name} given twice`);
        (f as { typed?: boolean }).typed = true;
        f.type = rest;
      } else {
        f.help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      }
      return;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (!nm) throw new ExpositionError(line, 'a sample must start with a metric name');
    const name = nm[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === '{') ({ labels, end: i } = parseLabels(raw, i, line));
    if (raw[i] !== ' ') throw new ExpositionError(line, 'expected a space before the value');
    const parts = raw.slice(i + 1).trim().split(/ +/);
    if (parts.length < 1 || parts.length > 2 || parts[0] === '') throw new ExpositionError(line, 'expected a value and an optional timestamp');
    const value = parseValue(parts[0]!, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new ExpositionError(line, `bad timestamp ${parts[1]}`);
    const fam = familyOf(name);
    if (current !== fam) {
      if (closed.has(fam)) throw new ExpositionError(line, `samples of ${fam} are not together`);
      if (current !== undefined) closed.add(current);
      current = fam;
    }
    let f = families.get(fam);
    if (!f) families.set(fam, f = { name: fam, type: 'untyped', help: '', samples: [] });
    const key = seriesKey(name, labels);
    if (seen.has(key)) throw new ExpositionError(line, `series ${key} given twice`);
    seen.add(key);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: ParsedFamily): void {
  const groups = new Map<string, { buckets: { le: number; v: number }[]; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = seriesKey('', rest);
    let g = groups.get(key);
    if (!g) groups.set(key, g = { buckets: [] });
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new ExpositionError(0, `${f.name}_bucket without le`);
      g.buckets.push({ le: parseValue(le, 0), v: s.value });
    } else if (s.name === `${f.name}_count`) g.count = s.value;
  }
  for (const [key, g] of groups) {
    const sorted = [...g.buckets].sort((a, b) => a.le - b.le);
    for (let i = 1; i < sorted.length; i++) if (sorted[i]!.v < sorted[i - 1]!.v) throw new ExpositionError(0, `${f.name}${key}: buckets are not cumulative`);
    const inf = sorted[sorted.length - 1];
    if (!inf || inf.le !== Infinity) throw new ExpositionError(0, `${f.name}${key}: no +Inf bucket`);
    if (g.count !== inf.v) throw new ExpositionError(0, `${f.name}${key}: +Inf bucket ${inf.v} differs from _count ${g.count}`);
  }
}

/** The value of the one sample of `name` whose labels include `labels`; undefined if none, throws if several. */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const matches: ParsedSample[] = [];
  for (const f of families.values()) {
    for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) matches.push(s);
  }
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}

/** Every sample of `name` whose labels include `labels`. */
export function samplesOf(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): ParsedSample[] {
  const out: ParsedSample[] = [];
  for (const f of families.values()) for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) out.push(s);
  return out;
}
