// The schema DSL on its own: one toy declaration gives a JSON Schema written out by hand here, a
// precise TypeScript type, and a validator that reports every problem at the right place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineCounter, parseDocument } from 'yaml';
import { DecodeContext, INVALID, arr, def, defDuration, duration, int, obj, oneOf, opt, str, tagged, type Infer } from '../../src/config/dsl.js';

const toy = obj({
  name: str('A name.', { minLength: 1 }),
  size: def(int(1, 10, 'How big.'), 3),
  every: defDuration(duration('How often.', 10), 1000),
  colour: opt(oneOf(['red', 'green'], 'Which colour.')),
  parts: def(arr(tagged('kind', {
    a: obj({ kind: oneOf(['a'] as const), x: int(0, 1) }),
    b: obj({ kind: oneOf(['b'] as const), y: opt(str()) }),
  })), []),
}, 'A toy.');

function decode(text: string) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const ctx = new DecodeContext(doc, lineCounter);
  const v = toy.decode(doc.contents, { path: '', offset: 0 }, ctx);
  return { v, issues: ctx.issues.map((i) => { const p = lineCounter.linePos(i.offset); return `${p.line}:${p.col} ${i.path}: ${i.message}`; }) };
}

test('the JSON Schema of a toy declaration is what JSON Schema 2020-12 says by hand', () => {
  assert.deepEqual(toy.jsonSchema(), {
    description: 'A toy.',
    type: 'object',
    properties: {
      name: { description: 'A name.', type: 'string', minLength: 1 },
      size: { description: 'How big.', type: 'integer', minimum: 1, maximum: 10, default: 3 },
      every: { description: 'How often.', type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$', default: '1s' },
      colour: { description: 'Which colour.', enum: ['red', 'green'] },
      parts: {
        type: 'array',
        items: {
          oneOf: [
            { type: 'object', properties: { kind: { const: 'a' }, x: { type: 'integer', minimum: 0, maximum: 1 } }, additionalProperties: false, required: ['kind', 'x'] },
            { type: 'object', properties: { kind: { const: 'b' }, y: { type: 'string' } }, additionalProperties: false, required: ['kind'] },
          ],
        },
        default: [],
      },
    },
    additionalProperties: false,
    required: ['name'],
  });
});

test('the inferred type has required, defaulted and optional keys, and a discriminated union', () => {
  type Toy = Infer<typeof toy>;
  const t: Toy = { name: 'n', size: 1, every: 5, parts: [{ kind: 'a', x: 1 }, { kind: 'b' }] };
  // @ts-expect-error size is required after defaults are filled
  const missing: Toy = { name: 'n', every: 5, parts: [] };
  // @ts-expect-error colour is 'red' | 'green'
  const wrong: Toy = { ...t, colour: 'blue' };
  const p = t.parts[0]!;
  if (p.kind === 'a') assert.equal(p.x, 1);
  void missing; void wrong;
});

test('decoding fills defaults and reports every problem with its position and key path', () => {
  const ok = decode('name: n\nparts:\n  - {kind: b}\n');
  assert.deepEqual(ok, { v: { name: 'n', size: 3, every: 1000, parts: [{ kind: 'b' }] }, issues: [] });
  const bad = decode('size: 11\nevery: 5\ncolor: red\nparts:\n  - {kind: a, x: 1, y: z}\n  - {kind: c}\n');
  assert.equal(bad.v, INVALID);
  assert.deepEqual(bad.issues, [
    '1:7 size: 11 is out of range; must be 1-10',
    '2:8 every: a duration needs a unit; write \'5s\' or \'5ms\'',
    "3:1 color: unknown key; did you mean 'colour'?",
    "5:21 parts[0].y: unknown key; 'y' applies only to kind b, not a",
    "6:12 parts[1].kind: 'c' is not one of: a, b",
    "1:1 (document): missing required key 'name'",
  ]);
});
