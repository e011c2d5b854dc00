// lvsd import-keepalived on hostile input (issue #13): only regular files, and every way the input can grow
// (bytes, include fan-out, braces, globs, parameter substitution, words, nesting) ends in a ReadError that
// names the limit, with file:line, instead of exhausted memory, a wait forever or a RangeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatNote, importKeepalived, readKeepalived, ReadError } from '../../src/import/index.js';
import {
  MAX_BLOCK_DEPTH, MAX_BRACE_PATTERNS, MAX_FILE_LOADS, MAX_GLOB_MATCHES, MAX_INPUT_BYTES, MAX_PARAMETER_VALUE, MAX_SUBSTITUTED_TOTAL, MAX_WORDS,
  expandBraces, globFiles, substitute,
} from '../../src/import/reader.js';

const lvsd = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'lvsd-import-bounds-'));
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** readKeepalived's ReadError for `files` (the first is read), checked against `re`, within `ms`. */
function refused(files: Record<string, string>, re: RegExp, ms = 5000): ReadError {
  const dir = tmp();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const t = performance.now();
  let caught: unknown;
  try { readKeepalived(join(dir, Object.keys(files)[0]!), () => {}); } catch (e) { caught = e; }
  const took = performance.now() - t;
  assert.ok(caught instanceof ReadError, `expected a ReadError, got ${String(caught)}`);
  assert.match(caught.message, re);
  assert.ok(took < ms, `${took.toFixed(0)} ms`);
  assert.ok(!UNSAFE.test(caught.message));
  return caught;
}

test('only regular files: a character device, a FIFO and a directory are refused with the reason, without reading', () => {
  const dir = tmp();
  const fifo = join(dir, 'fifo.conf');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const cases: Array<[string, RegExp]> = [
    ['/dev/zero', /^\/dev\/zero: cannot read: is a character device, not a regular file: reading it may never end/],
    [fifo, /fifo\.conf: cannot read: is a FIFO \(named pipe\), not a regular file: reading it could wait forever$/],
    [dir, /: cannot read: is a directory, not a file \(EISDIR\)$/],
  ];
  for (const [file, re] of cases) {
    const r = spawnSync(process.execPath, [lvsd, 'import-keepalived', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1, `${file}: ${r.stderr}`);
    assert.match(r.stderr.trim(), new RegExp(re.source.replace(/^\^/, '^lvsd: ')));
  }
  // An include of a device or a FIFO is refused the same way, at the include's line; a directory matched
  // by a glob is passed over, as before (conf.d/* beside a subdirectory).
  for (const [name, re] of [['/dev/zero', /k\.conf:3: cannot read included \/dev\/zero: is a character device/], ['fifo.c*', /k\.conf:3: cannot read included .*fifo\.conf: is a FIFO/]] as const) {
    writeFileSync(join(dir, 'k.conf'), `global_defs {\n}\ninclude ${name}\n`);
    const r = importKeepalived(join(dir, 'k.conf'));
    assert.ok(!r.ok, name);
    if (!r.ok) assert.match(r.error, re);
  }
  mkdirSync(join(dir, 'sub.conf'));
  writeFileSync(join(dir, 'k.conf'), 'include sub.c*\n');
  const d = importKeepalived(join(dir, 'k.conf'));
  assert.ok(d.ok && d.notes.some((n) => /include sub\.c\*: no file matches/.test(n.message)));
});

test('standard input (-) is read, and reading stops past the size limit', () => {
  const ok = spawnSync(process.execPath, [lvsd, 'import-keepalived', '-'], { input: 'global_defs {\n  router_id from-stdin\n}\n', encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^# lvsd\.yaml converted from \(stdin\) by lvsd import-keepalived\./);
  assert.match(ok.stdout, /router_id: from-stdin/);
  const zero = openSync('/dev/zero', 'r');
  try {
    const t = performance.now();
    const r = spawnSync(process.execPath, [lvsd, 'import-keepalived', '-'], { stdio: [zero, 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `lvsd: (stdin): the file takes the input past ${MAX_INPUT_BYTES} bytes (the import's limit, counting every include); is this really a keepalived configuration?\n`);
    assert.ok(performance.now() - t < 30_000);
  } finally { closeSync(zero); }
});

test('the total size counts every file read, a file included twice twice', () => {
  const big = `! ${'x'.repeat(6 * 1024 * 1024)}\n`;
  const e = refused({ 'k.conf': 'include a.conf\ninclude a.conf\ninclude a.conf\n', 'a.conf': big }, /k\.conf:3: including .*a\.conf takes the input past 16777216 bytes \(the import's limit, counting every include\)/);
  assert.equal(e.line, 3);
});

test('include fan-out is bounded by the number of files loaded, repeats counted', () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 14; i++) files[`f${i}.conf`] = i < 13 ? `include f${i + 1}.conf\n`.repeat(3) : 'global_defs {\n}\n';
  refused(files, new RegExp(`more than ${MAX_FILE_LOADS} files loaded \\(the import's limit, counting a file each time it is included\\); do includes fan out or loop\\? include each file once`));
});

test('brace expansion is bounded while expanding, not after building 2^n patterns', () => {
  refused({ 'k.conf': `include ${'{a,b}'.repeat(60)}\n` }, new RegExp(`k\\.conf:1: include .*: its braces expand to more than ${MAX_BRACE_PATTERNS} patterns \\(the import's limit\\); write several includes with fewer braces`), 2000);
  // The same order and results as glob(3)'s GLOB_BRACE for ordinary patterns.
  assert.deepEqual(expandBraces('a{b,c{d,e}}f{1,2}'), ['abf1', 'abf2', 'acdf1', 'acdf2', 'acef1', 'acef2']);
  assert.deepEqual(expandBraces('{x}{}y'), ['xy']);
  assert.deepEqual(expandBraces('a{b,c'), ['a{b,c']);
  assert.deepEqual(expandBraces('{a,b}{c'), ['a{c', 'b{c']);
  assert.deepEqual(expandBraces(`${'{'.repeat(2000)}x${'}'.repeat(2000)}`), ['x']);
  assert.equal(expandBraces('{a,b}'.repeat(10)).length, 1024);
});

test('globs: matches are bounded, a pattern of many stars is linear, a bad class matches nothing', () => {
  const dir = tmp();
  mkdirSync(join(dir, 'many'));
  for (let i = 0; i <= MAX_GLOB_MATCHES; i++) writeFileSync(join(dir, 'many', `f${i}.conf`), '');
  refused({ 'k.conf': `include ${join(dir, 'many')}/*.conf\n` }, new RegExp(`include .*many/\\*\\.conf: it matches more than ${MAX_GLOB_MATCHES} paths \\(the import's limit\\); name fewer files`));
  mkdirSync(join(dir, 'long'));
  writeFileSync(join(dir, 'long', 'a'.repeat(200)), '');
  writeFileSync(join(dir, 'long', 'abc.conf'), '');
  const t = performance.now();
  // As a regular expression ([^/]* per star) this backtracked for hours.
  assert.deepEqual(globFiles(join(dir, 'long', `${'*a'.repeat(30)}*b`)), []);
  assert.ok(performance.now() - t < 2000);
  assert.deepEqual(globFiles(join(dir, 'long', 'a?c.co[mn]f')).map((f) => f.slice(dir.length)), ['/long/abc.conf']);
  assert.deepEqual(globFiles(join(dir, 'long', '[!b]b*')).map((f) => f.slice(dir.length)), ['/long/abc.conf']);
  assert.deepEqual(globFiles(join(dir, 'long', '[z-a]*')), []);
  assert.deepEqual(globFiles(join(dir, 'long', '*[')), []);
});

test('parameter substitution: a doubling chain is stopped while the line is built, not by a RangeError', () => {
  // 13,000 references to a 65,000-character value: one round would be 845M characters.
  const lines = [`$A0=${'x'.repeat(60_000)}`, '$A1=${A0}', `$A2=${'${A1}'.repeat(13_000)}`, `$A3=${'${A2}'.repeat(13_000)}`, 'global_defs {', '  router_id ${A3}', '}'];
  const e = refused({ 'k.conf': lines.join('\n') }, /k\.conf:6: parameter substitution makes this line longer than 65536 characters \(the import's limit\); does a definition refer to itself\?/, 2000);
  assert.equal(e.line, 6);
  refused({ 'k.conf': `$A=${'y'.repeat(MAX_PARAMETER_VALUE + 1)}\n` }, new RegExp(`k\\.conf:1: the value of \\$A is ${MAX_PARAMETER_VALUE + 1} characters, more than ${MAX_PARAMETER_VALUE} \\(the import's limit\\); shorten it`));
  // Many lines each just under the line limit add up to the total limit.
  const many = [`$B=${'z'.repeat(60_000)}`, ...Array.from({ length: 300 }, () => '! ${B}')].join('\n');
  refused({ 'k.conf': many }, new RegExp(`parameter substitution has produced more than ${MAX_SUBSTITUTED_TOTAL} characters over the whole input \\(the import's limit\\); do definitions double each other\\?`));
});

/** The substitution as it was, one regular-expression replace per round checked after the round: the reference. */
function regexSubstitute(raw: string, params: Map<string, string>): string | undefined {
  if (params.size === 0 || !raw.includes('$')) return raw;
  let out = raw;
  for (let round = 0; round < 32; round++) {
    const next = out.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=\s|$)/g, (m, braced: string | undefined, bare: string | undefined) => params.get((braced ?? bare)!) ?? m);
    if (next.length > 65_536) return undefined;
    if (next === out) return out;
    out = next;
  }
  return out;
}

test('parameter substitution keeps keepalived\'s rules: the same lines as the regular expression it replaces', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'k.conf'), [
    '$BASE=10.2.${SUB}', '$SUB=0', '$ID=router', 'global_defs {', '  router_id $ID', '  x ${BASE}.100/32 $SUB $UNDEF $IDx ${ID}x', '}',
  ].join('\n'));
  const s = readKeepalived(join(dir, 'k.conf'), () => {});
  assert.deepEqual(s[0]!.children!.map((c) => [c.key, ...c.args]), [['router_id', 'router'], ['x', '10.2.0.100/32', '0', '$UNDEF', '$IDx', 'routerx']]);
  let seed = 7;
  const rand = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
  const pieces = ['$', '{', '}', 'A', 'B', 'AB', '_1', ' ', '\t', 'x', '${A}', '${B}', '$A', '$AB', '${C}', '$B ', '\u00a0', '1'];
  const text = (n: number) => Array.from({ length: rand(n) }, () => pieces[rand(pieces.length)]).join('');
  for (let k = 0; k < 20_000; k++) {
    const params = new Map<string, string>([['A', text(6)], ['B', text(4)], ['AB', text(3)]]);
    if (rand(3) === 0) params.set('C', '${C}${C}');
    const line = text(12);
    assert.equal(substitute(line, params), regexSubstitute(line, params), `${JSON.stringify(line)} with ${JSON.stringify([...params])}`);
  }
});

test('words and block nesting are bounded', () => {
  refused({ 'k.conf': 'a b c d e f g h\n'.repeat(Math.ceil(MAX_WORDS / 8) + 1) }, new RegExp(`more than ${MAX_WORDS} words in all \\(the import's limit\\); is this really a keepalived configuration\\?`), 10_000);
  const e = refused({ 'k.conf': 'a {\n'.repeat(100_000) }, new RegExp(`k\\.conf:${MAX_BLOCK_DEPTH + 1}: blocks nested deeper than ${MAX_BLOCK_DEPTH} \\(the import's limit; keepalived's go 4 deep\\); is a '\\}' missing\\?`));
  assert.equal(e.line, MAX_BLOCK_DEPTH + 1);
});

test('notes and errors are one printable line: values with control characters are quoted and escaped', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'k.conf'), 'global_defs {\n  bogus\x1b[2J\x07 1\n  router_id x\u202e\n  vrrp_version "3\x1b"\n}\nvrrp_instance "VI\x1b]0;t\x07" {\n  state "MASTER\u2028"\n}\n');
  const r = importKeepalived(join(dir, 'k.conf'));
  assert.ok(r.ok);
  if (!r.ok) return;
  const lines = r.notes.map(formatNote);
  assert.ok(lines.length >= 3);
  for (const l of lines) assert.ok(!UNSAFE.test(l), JSON.stringify(l));
  assert.ok(lines.includes(`${dir}/k.conf:2: global_defs: 'bogus\\x1b[2J\\x07' has no lvsd equivalent (not supported)`), lines.join('\n'));
  for (const l of r.yaml.split('\n')) assert.ok(!UNSAFE.test(l), JSON.stringify(l));
  assert.match(r.yaml, /router_id: "x\\u202e"/);
  // A file name with a newline (a glob can match one) stays on its line too.
  const weird = join(dir, 'a\nb.conf');
  writeFileSync(weird, 'a "b\n');
  const bad = importKeepalived(weird);
  assert.ok(!bad.ok);
  if (!bad.ok) assert.ok(!UNSAFE.test(bad.error) && bad.error.includes('a\\nb.conf'), bad.error);
});
