// Every parser is linear or bounded (issue #13): each finding's input is measured at sizes n, 4n and 16n
// and the growth is compared, not the time. Quadratic work would take 256 times as long at 16n; the
// assertions allow 60. What is measured is this process's CPU time, the least of several runs: other
// processes on a shared 2-core machine take wall-clock time, not ours. The old code failed each finding's
// test (see each test for what it took).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, parseConfig } from '../../src/config/index.js';
import { editDistance } from '../../src/config/suggest.js';
import { checkSemantics } from '../../src/config/semantic.js';
import type { LvsdConfig } from '../../src/config/model.js';
import { globFiles, readKeepalived, ReadError } from '../../src/import/reader.js';
import { convertKeepalived } from '../../src/import/convert.js';

const RUNS = 7;
/** A quadratic algorithm makes 256 of 16; linear is 16, noise included well under this. */
const MAX_GROWTH = 60;
/** Below this a measurement is mostly noise (timer, JIT): a smaller time counts as this much. */
const FLOOR_MS = 3;

/** Milliseconds of CPU this process spent in `run` (user and system, all its threads: the collector's too). */
function cpuMs(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/**
 * The least CPU time of `run` on the inputs made for n, 4n and 16n (made before measuring, each run once to
 * warm up); asserts the time at 16n is at most MAX_GROWTH times the time at n. The sizes take turns, RUNS
 * rounds, so that what the machine does meanwhile falls on every size alike.
 */
function assertLinear(what: string, n: number, make: (size: number) => unknown, run: (input: any) => void): number[] {
  const inputs = [n, 4 * n, 16 * n].map(make);
  for (const input of inputs) run(input);
  const fastest = inputs.map(() => Infinity);
  for (let round = 0; round < RUNS; round++) {
    inputs.forEach((input, k) => { fastest[k] = Math.min(fastest[k]!, cpuMs(() => run(input))); });
  }
  const growth = fastest[2]! / Math.max(fastest[0]!, FLOOR_MS);
  const report = `${what}: ${fastest.map((m) => m.toFixed(1)).join(' / ')} ms at n, 4n, 16n: grew ${growth.toFixed(0)}x for 16x the input`;
  if (process.env.LVSD_BOUNDS_VERBOSE) console.log(report);
  assert.ok(growth < MAX_GROWTH, report);
  return fastest;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'lvsd-bounds-'));

// ---- lvsd.yaml ----

test('load.ts: a long run of blanks before the end (was /\\s+$/: 160k blanks took 10.5 s)', () => {
  assertLinear('trailing blanks', 10_000, (n) => `global: {}\n${' '.repeat(n)}x\n`, (text: string) => parseConfig(text, 'f.yaml'));
});

test('load.ts: the first bad UTF-8 byte of a large file (was bisected: O(n log n) decodes, 16 MiB took 2.9 s)', () => {
  assertLinear('bad UTF-8 at the end', 256 * 1024, (n) => {
    const b = new Uint8Array(n).fill(0x61);
    b[n - 1] = 0xff;
    return b;
  }, (b: Uint8Array) => parseConfig(b, 'f.yaml'));
});

test('load.ts: many errors in a big file are each located in O(log n)', () => {
  assertLinear('one error per key', 250, (n) => `global:\n${Array.from({ length: n }, (_, i) => `  bad_key_${i}: 1`).join('\n')}\n`, (text: string) => parseConfig(text, 'f.yaml'));
});

test('load.ts: deep YAML nesting is refused after a linear scan (the composer used to recurse into it)', () => {
  assertLinear('nested flow sequences', 500, (n) => `a: ${'['.repeat(n)}${']'.repeat(n)}\n`, (text: string) => parseConfig(text, 'f.yaml'));
});

test('suggest.ts: edit distance of two long strings is banded (the full table was O(m*n) in time and memory)', () => {
  assertLinear('editDistance with cutoff 3', 2_000, (n) => ['ab'.repeat(n / 2), 'ba'.repeat(n / 2)], ([a, b]: [string, string]) => editDistance(a, b, 3));
});

test('messages: what an error echoes does not grow with the value (a 2 MB scheduler name was echoed whole)', () => {
  const lengths = [10_000, 40_000, 160_000].map((n) => {
    const r = parseConfig(`virtual_services:\n  - {name: web, address: "192.0.2.1:80", forwarding: nat, scheduler: ${'q'.repeat(n)}}\n`, 'f.yaml');
    assert.ok(!r.ok);
    return r.ok ? 0 : r.errors.map(formatIssue).join('\n').length;
  });
  // The note of the length adds a digit; nothing else may grow.
  assert.ok(lengths[2]! - lengths[0]! <= 2, `error output ${lengths.join(' / ')} characters for values of 10k / 40k / 160k`);
});

test('semantic.ts: "unknown check" in many references with many checks defined (every message listed every name)', () => {
  // The cross-reference rules alone, on a decoded configuration: parsing the YAML would hide their growth.
  // What grew was the messages (n references, each listing n names): their size is measured, exactly.
  const config = (n: number) => ({
    vrrp_instances: [], vrrp_sync_groups: [], track_scripts: [], announce: [],
    checks: Array.from({ length: n }, (_, i) => ({ name: `check-${i}` })),
    virtual_services: [{ name: 'web', address: { address: '192.0.2.1', family: 4, port: 80 }, protocol: 'tcp', checks: Array.from({ length: n }, (_, i) => `nope-${i}`), real_servers: [] }],
  }) as unknown as LvsdConfig;
  const chars = [500, 2000, 8000].map((n) => checkSemantics(config(n)).reduce((sum, i) => sum + i.message.length, 0));
  assert.ok(chars[2]! / chars[0]! < 20, `messages of ${chars.join(' / ')} characters for n, 4n, 16n references and names`);
});

test('dsl.ts: a YAML alias bomb is bounded by the aliased-value cap, however wide', () => {
  // The AST is walked, not doc.toJS(), so the yaml package's maxAliasCount does not apply: dsl.ts counts
  // values decoded through aliases itself (MAX_ALIASED_NODES, 1,000,000). Services x real servers x checks,
  // f of each through aliases: f^3 values, past the cap from f = 101 on; the work stops growing there.
  const bomb = (f: number) => {
    const rep = (s: string, k: number) => Array(k).fill(s).join(', ');
    return [
      'checks:', '  - &c {name: c, type: tcp}', 'virtual_services:',
      `  - {name: web, address: "192.0.2.1:80", forwarding: nat, real_servers: &rl [&rs {address: 10.0.0.1, checks: [${rep('c', f)}]}, ${rep('*rs', f - 1)}]}`,
      ...Array.from({ length: f }, (_, i) => `  - {name: w${i}, address: "10.${i >> 8}.${i & 255}.1:80", forwarding: nat, real_servers: *rl}`),
    ].join('\n') + '\n';
  };
  const times = [200, 1600].map((k) => {
    const text = bomb(k);
    const t = performance.now();
    const r = parseConfig(text, 'f.yaml');
    const took = performance.now() - t;
    assert.ok(!r.ok);
    return took;
  });
  // 4,096 times the values, the same work: the input text is 16 times longer, the decoding stops at the cap.
  assert.ok(times[1]! < 4 * Math.max(times[0]!, 50), `alias bomb 200^3 / 1600^3: ${times.map((t) => t.toFixed(0)).join(' / ')} ms`);
});

// ---- keepalived.conf ----

function writeConf(text: string): string {
  const dir = tmp();
  writeFileSync(join(dir, 'k.conf'), text);
  return join(dir, 'k.conf');
}
/** Read (and convert) a file; a ReadError is a result too. */
function importFile(file: string): void {
  try { convertKeepalived(readKeepalived(file, () => {})); } catch (e) { if (!(e instanceof ReadError)) throw e; }
}

test('reader: include fan-out (each file including the next three times) is bounded by the file-load cap', () => {
  const chain = (levels: number) => {
    const dir = tmp();
    for (let i = 0; i < levels; i++) writeFileSync(join(dir, `f${i}.conf`), i + 1 < levels ? `include f${i + 1}.conf\n`.repeat(3) : '! leaf\n');
    return join(dir, 'f0.conf');
  };
  // 3^9 and 3^15 loads (below the include depth limit of 16): both stop at the cap of 4,096 loads.
  // Before the cap the first read 19,683 files and the second 14 million (hours).
  const times = [10, 16].map((levels) => {
    const file = chain(levels);
    const t = performance.now();
    importFile(file);
    return performance.now() - t;
  });
  assert.ok(times[1]! < 3 * Math.max(times[0]!, 50), `3^9 / 3^15 loads: ${times.map((t) => t.toFixed(0)).join(' / ')} ms`);
});

test('reader: {a,b} braces are bounded while expanding (2^n patterns were built first)', () => {
  assertLinear('brace groups', 12, (n) => writeConf(`include ${'{a,b}'.repeat(n)}\n`), importFile);
});

test('reader: a glob of many stars matches in linear time (the regular expression backtracked exponentially)', () => {
  const dir = tmp();
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'd', 'a'.repeat(250)), '');
  assertLinear('stars in a glob', 2, (n) => join(dir, 'd', `${'*a'.repeat(n)}*b`), (pattern: string) => globFiles(pattern));
});

test('reader: parameter substitution is linear in the lines using a long value', () => {
  assertLinear('substituted lines', 200, (n) => writeConf([`$V=${'v'.repeat(2000)}`, ...Array.from({ length: n }, () => '! ${V} $V')].join('\n')), importFile);
});

/** The conversion alone is timed: the statements are read before the clock starts. */
const statementsOf = (text: string) => readKeepalived(writeConf(text), () => {});

test('conversion: many services of one address are renamed in linear time (each rename counted from -2: a 1 MB file took 20 s)', () => {
  assertLinear('duplicate virtual servers', 1_000, (n) => statementsOf('virtual_server 10.0.0.1 80 {\n  protocol TCP\n}\n'.repeat(n)), convertKeepalived);
});

test('conversion: long track and peer lists (each entry was looked up by scanning the list)', () => {
  assertLinear('tracked interfaces and peers', 2_000, (n) => statementsOf([
    'vrrp_instance VI {', '  interface eth0', '  virtual_router_id 1', '  virtual_ipaddress {', '    192.0.2.1/24', '  }',
    '  track_interface {', ...Array.from({ length: n }, (_, i) => `    eth${i}`), '  }',
    '  unicast_peer {', ...Array.from({ length: n }, (_, i) => `    10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`), '  }',
    '}'].join('\n')), convertKeepalived);
});
