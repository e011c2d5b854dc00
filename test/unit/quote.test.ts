// src/text/quote.ts: values echoed in messages are one line, carry no terminal control or bidi characters,
// and are cut to a bounded length that is the same work for a 2 MB value as for a short one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeText, oneLine, quoteValue } from '../../src/text/quote.js';

/** Anything a terminal or a line-oriented reader would act on. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;

test('quoteValue: ordinary values are only quoted', () => {
  assert.equal(quoteValue('wlc'), "'wlc'");
  assert.equal(quoteValue(''), "''");
  assert.equal(quoteValue('192.0.2.1:80'), "'192.0.2.1:80'");
  assert.equal(quoteValue('héllo wörld ✓'), "'héllo wörld ✓'");
});

test('quoteValue: control, line-break and bidi characters are shown escaped', () => {
  assert.equal(quoteValue('a\nb\rc\td'), "'a\\nb\\rc\\td'");
  assert.equal(quoteValue('\x1b[2J\x07'), "'\\x1b[2J\\x07'");
  assert.equal(quoteValue('\x00\x7f'), "'\\x00\\x7f'");
  assert.equal(quoteValue('x\u0085y\u009b'), "'x\\u0085y\\u009b'");
  assert.equal(quoteValue('\u2028\u2029'), "'\\u2028\\u2029'");
  assert.equal(quoteValue('abc\u202edef\u2066\u2069'), "'abc\\u202edef\\u2066\\u2069'");
  for (let c = 0; c < 0x3000; c++) {
    const q = quoteValue(`a${String.fromCharCode(c)}b`);
    assert.ok(!UNSAFE.test(q), `U+${c.toString(16)} -> ${JSON.stringify(q)}`);
  }
});

test('quoteValue: the backslash and the quote are escaped, so the quoted text reads back unambiguously', () => {
  assert.equal(quoteValue("it's"), "'it\\'s'");
  assert.equal(quoteValue('a\\nb'), "'a\\\\nb'");
  assert.notEqual(quoteValue('a\\nb'), quoteValue('a\nb'));
});

test('quoteValue: surrogate pairs are kept whole; lone surrogates are shown', () => {
  assert.equal(quoteValue('😀'), "'😀'");
  assert.equal(quoteValue('a\ud800b'), "'a\\ud800b'");
  assert.equal(quoteValue('\udc00'), "'\\udc00'");
  // A cut never falls between the halves of a pair.
  assert.equal(quoteValue('ab😀', 3), "'ab'… (4 characters)");
  assert.equal(quoteValue('ab😀', 4), "'ab😀'");
});

test('quoteValue: a long value is cut at max with the length noted; an escape is never split', () => {
  const long = 'r'.repeat(2_097_152);
  assert.equal(quoteValue(long), `'${'r'.repeat(60)}'… (2097152 characters)`);
  assert.equal(quoteValue('abcdef', 3), "'abc'… (6 characters)");
  assert.equal(quoteValue('abcdef', 6), "'abcdef'");
  assert.equal(quoteValue('ab\ncd', 3), "'ab'… (5 characters)");
  assert.equal(quoteValue('\n'.repeat(100), 5), "'\\n\\n'… (100 characters)");
  // O(max): the same cost for 2 MB as for 2 KB.
  const t = performance.now();
  for (let i = 0; i < 100_000; i++) quoteValue(long);
  assert.ok(performance.now() - t < 5000, 'quoteValue of a 2 MB value is not O(max)');
});

test('escapeText: the unquoted form escapes controls and the backslash, not quotes', () => {
  assert.equal(escapeText('1000h'), '1000h');
  assert.equal(escapeText("a'b\\c\nd"), "a'b\\\\c\\nd");
  assert.equal(escapeText('x'.repeat(100), 10), `${'x'.repeat(10)}… (100 characters)`);
});

test('oneLine: escapes controls but leaves backslashes, for messages whose values are already quoted', () => {
  const msg = `unknown key ${quoteValue('a\nb')}`;
  assert.equal(oneLine(msg), msg);
  assert.equal(oneLine('raw\nline\x1b'), 'raw\\nline\\x1b');
  assert.equal(oneLine('x'.repeat(20), 5), 'xxxxx… (20 characters)');
  assert.equal(oneLine('plain'), 'plain');
});
