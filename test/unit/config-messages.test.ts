// What `lvsd check` prints about a hostile file stays one line per problem, with no raw control, line-break or
// bidi character, and a bounded length however long the echoed value is (issue #13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIssue, parseConfig, type ConfigIssue } from '../../src/config/index.js';

/** Anything a terminal or a line-oriented reader would act on. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function lines(text: string): string[] {
  const r = parseConfig(text, 'hostile.yaml');
  assert.ok(!r.ok, 'expected errors');
  return r.ok ? [] : r.errors.map(formatIssue);
}
function assertSafe(out: string[], maxLength = 1500): void {
  for (const l of out) {
    assert.ok(!UNSAFE.test(l), `raw control character in ${JSON.stringify(l.slice(0, 300))}`);
    assert.ok(l.length <= maxLength, `${l.length} characters: ${l.slice(0, 200)}…`);
  }
}
const service = (extra: string) => `virtual_services:\n  - {name: web, address: "192.0.2.1:80", forwarding: nat, ${extra}}\n`;

test('a value holding a newline, ESC or BEL is shown escaped in its one line', () => {
  const out = lines(service('scheduler: "wl\\nc\\e[2J\\a"'));
  assert.deepEqual(out, ["hostile.yaml:2:70: virtual_services[0].scheduler: 'wl\\nc\\x1b[2J\\x07' is not one of: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos"]);
  assertSafe(out);
});

test('C1 controls, line separators and bidi overrides are escaped in values', () => {
  const out = lines(service('scheduler: "rr\\u0085\\u2028\\u202e\\u2066x\\x9b"'));
  assert.match(out[0]!, /'rr\\u0085\\u2028\\u202e\\u2066x\\u009b' is not one of/);
  assertSafe(out);
});

test('a 2 MB value is cut in the message, with its length', () => {
  const out = lines(service(`scheduler: ${'r'.repeat(2 * 1024 * 1024)}`));
  assert.equal(out.length, 1);
  assert.match(out[0]!, /: 'r{60}'… \(2097152 characters\) is not one of: rr,/);
  assertSafe(out, 400);
});

test('a block scalar at the top level does not echo the whole file', () => {
  const text = `|\n${Array.from({ length: 1000 }, (_, i) => `  line ${i} \u001b[31mred\u0007`).join('\n')}\n`;
  const out = lines(text);
  assert.equal(out.length, 1);
  assert.match(out[0]!, /^hostile\.yaml:1:1: \(document\): expected a mapping with keys .*, got the string 'line 0 \\x1b\[31mred\\x07\\nline 1 [^']*'… \(18890 characters\)$/);
  assertSafe(out, 400);
});

test('unknown and duplicate keys holding control characters are quoted in the key path', () => {
  const out = lines('global:\n  "bad\\nkey\\e": 1\n  "x\\u202ey": 2\n  "x\\u202ey": 3\n');
  assert.deepEqual(out.map((l) => l.split(': ').slice(0, 2).join(': ')), [
    "hostile.yaml:2:3: global.'bad\\nkey\\x1b'",
    "hostile.yaml:3:3: global.'x\\u202ey'",
    "hostile.yaml:4:3: global.'x\\u202ey'",
  ]);
  assertSafe(out);
  const long = lines(`global:\n  ? ${'k'.repeat(100_000)}\n  : 1\n`);
  assert.match(long[0]!, /^hostile\.yaml:2:5: global\.'k{60}'… \(100000 characters\): unknown key; expected one of: /);
  assertSafe(long, 600);
});

test('values echoed by addresses, durations, names, paths and regular expressions are escaped and cut', () => {
  const cases = [
    service('persistence: {timeout: "5s\\n\\e]0;pwned\\a"}'),
    service('real_servers: [{address: "10.0.0.1:8\\n0"}]'),
    'vrrp_instances:\n  - {name: "a\\nb", interface: eth0, vrid: 1, virtual_ips: ["192.0.2.1/24\\e[0m"]}\n',
    'vrrp_instances:\n  - {name: a, interface: "et\\u202eh0", vrid: 1, virtual_ips: [{address: 192.0.2.1/24, device: "x\\ty", label: "lab\\nel"}]}\n',
    `checks:\n  - {name: c, type: http, body_regex: "(${'x'.repeat(10_000)}\\n"}\n`,
    'checks:\n  - {name: c, type: script, argv: ["rel\\n\\e[2J"]}\n',
    'global:\n  control: {listen: "unix:rel\\nx", token_file: "t\\ef"}\n',
    service('checks: ["no\\nsuch", {type: http, status: "2\\n00"}]'),
    service('persistence: {netmask: "255.0\\n"}'),
    `global:\n  state_file: "${'a\\n'.repeat(5000)}"\n`,
    `vrrp_instances: "${'x'.repeat(100_000)}"\n`,
  ];
  for (const text of cases) {
    const out = lines(text);
    assert.ok(out.length > 0);
    assertSafe(out, 1200);
  }
});

test('"unknown X" lists a few defined names, not all of them', () => {
  const checks = Array.from({ length: 5000 }, (_, i) => `  - {name: check-${i}, type: tcp}`).join('\n');
  const refs = Array.from({ length: 2000 }, () => '"nope"').join(', ');
  const text = `checks:\n${checks}\nvirtual_services:\n  - {name: web, address: "192.0.2.1:80", forwarding: nat, checks: [${refs}]}\n`;
  const r = parseConfig(text, 'h.yaml');
  assert.ok(!r.ok);
  if (r.ok) return;
  assert.equal(r.errors.length, 2000);
  assert.equal(r.errors[0]!.message, "unknown check 'nope'; defined: 'check-0', 'check-1', 'check-2', 'check-3', 'check-4', 'check-5', 'check-6', 'check-7', 'check-8', 'check-9', and 4990 more");
});

test('formatIssue escapes what a message forgot to, in the file name, path and message, and cuts it', () => {
  const issue: ConfigIssue = { file: 'a\nb.yaml', line: 1, col: 2, path: 'x\u001b[2Jy', message: `m\r\n\u202e${'z'.repeat(5000)}` };
  const l = formatIssue(issue);
  assert.ok(!UNSAFE.test(l));
  assert.ok(l.startsWith('a\\nb.yaml:1:2: x\\x1b[2Jy: m\\r\\n\\u202ezzz'), l.slice(0, 80));
  assert.ok(l.length < 1100, String(l.length));
  // An already escaped value keeps its backslashes as they are.
  assert.equal(formatIssue({ file: 'f', line: 1, col: 1, path: 'p', message: "'a\\nb' is bad" }), "f:1:1: p: 'a\\nb' is bad");
});
