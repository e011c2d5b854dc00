// Fuzz of lvsd.yaml validation and of the keepalived importer (issue #13): the examples, the broken
// configurations and the importer's keepalived corpus, mutated with a seeded generator (test/fuzz/mutate.ts:
// flips, long runs of blanks, control characters, deep nesting, huge numbers, alias bombs, repeated lines,
// self-doubling parameters, include loops, braces). Every input must end in a result, not an exception,
// within a generous time; every error line must be one printable line; and the heap must not grow with
// the number of inputs. `npm run bench -- fuzz [SECONDS]` runs the same for minutes.
// LVSD_FUZZ_SEED and LVSD_FUZZ_INPUTS replay or widen a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { Fuzzer, loadCorpus } from '../fuzz/mutate.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SEED = Number(process.env.LVSD_FUZZ_SEED ?? 13);
/** About 10 s on a loaded 2-core machine. */
const INPUTS = Number(process.env.LVSD_FUZZ_INPUTS ?? 2000);
/** Per input: generous (an alias bomb decodes a million values in about a second); a quadratic path takes minutes. */
const MAX_MS = 15_000;
/** What the heap may gain over the whole run, after a collection: results are dropped, nothing may pile up. */
const MAX_HEAP_GROWTH_MB = 64;
const WARM_UP = 100;

test(`fuzz: ${INPUTS} mutated lvsd.yaml and keepalived.conf inputs (seed ${SEED}) end in results, in bounded time and heap, with one printable line per error`, () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heapMb = () => { gc(); return process.memoryUsage().heapUsed / 2 ** 20; };
  const fuzzer = new Fuzzer(loadCorpus(root), SEED, MAX_MS);
  const problems: string[] = [];
  const slowest = { yaml: 0, keepalived: 0 };
  let lines = 0;
  try {
    let base = 0;
    const heap: number[] = [];
    for (let i = 0; i < INPUTS; i++) {
      if (i === WARM_UP) base = heapMb();
      const o = fuzzer.step();
      slowest[o.kind] = Math.max(slowest[o.kind], o.ms);
      lines += o.lines;
      if (o.problem) problems.push(o.problem);
      if (i > WARM_UP && i % 500 === 0) heap.push(heapMb());
    }
    heap.push(heapMb());
    assert.deepEqual(problems, [], `${problems.length} inputs broke an invariant`);
    // Errors were found and checked, not skipped: the mutations do reach the messages.
    assert.ok(lines > INPUTS, `only ${lines} error lines for ${INPUTS} inputs`);
    const grew = Math.max(...heap) - base;
    assert.ok(grew < MAX_HEAP_GROWTH_MB, `heap grew ${grew.toFixed(0)} MB over ${INPUTS} inputs (${base.toFixed(0)} MB after warm-up; ${heap.map((h) => h.toFixed(0)).join(', ')} MB)`);
  } finally {
    fuzzer.close();
  }
});
