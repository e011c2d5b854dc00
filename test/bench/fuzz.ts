// `npm run bench -- fuzz [SECONDS] [SEED]`: the configuration fuzzer of test/unit/config-fuzz.test.ts run for
// minutes (default 300 s) with larger hostile snippets: mutated lvsd.yaml and keepalived.conf inputs through
// parseConfig and the keepalived importer. Reports the inputs tried, the slowest input of each kind, the
// largest heap seen, and every input that broke an invariant (an exception, a slow input, a raw control
// character or an overlong error line), each saved for replay. No tool validates lvsd.yaml, so that
// figure has no reference; a second figure compares `lvsd import-keepalived` with keepalived's own config
// test (`keepalived -t -f FILE`, as root when installed) on the unmutated keepalived corpus, run for run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './main.js';
import { median, round } from './_stats.js';
import { Fuzzer, loadCorpus } from '../fuzz/mutate.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LVSD = join(ROOT, 'bin/lvsd.js');
/** Slower than this an input counts as a problem: the unit test's bound. */
const MAX_MS = 15_000;
/** Hostile snippets up to ten times the unit test's size, where a superlinear cost would show. */
const MAX_SNIPPET = 2000;
const CORPUS_RUNS = 7;

export async function run(args: string[]): Promise<BenchResult[]> {
  const seconds = Number(args[0] ?? 300);
  const seed = Number(args[1] ?? 13);
  const fuzzer = new Fuzzer(loadCorpus(ROOT), seed, MAX_MS, MAX_SNIPPET);
  const saved = mkdtempSync(join(tmpdir(), 'lvsd-fuzz-findings-'));
  const tried = { yaml: 0, keepalived: 0 };
  const slowest = { yaml: 0, keepalived: 0 };
  const problems: string[] = [];
  let maxHeap = 0;
  const end = Date.now() + seconds * 1000;
  let report = Date.now() + 10_000;
  try {
    while (Date.now() < end) {
      const o = fuzzer.step();
      tried[o.kind]++;
      slowest[o.kind] = Math.max(slowest[o.kind], o.ms);
      maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
      if (o.problem) {
        const file = join(saved, `${problems.length}.${o.kind === 'yaml' ? 'yaml' : 'conf'}`);
        writeFileSync(file, fuzzer.lastInput);
        problems.push(`${o.problem} (saved as ${file})`);
        process.stderr.write(`fuzz: ${problems.at(-1)!.slice(0, 500)}\n`);
      }
      if (Date.now() > report) {
        report += 10_000;
        process.stderr.write(`fuzz: ${tried.yaml + tried.keepalived} inputs, slowest ${round(slowest.yaml)} / ${round(slowest.keepalived)} ms, heap ${round(maxHeap / 2 ** 20)} MB, ${problems.length} problems\n`);
      }
    }
  } finally {
    fuzzer.close();
  }
  const fuzz: BenchResult = {
    bench: 'fuzz', metric: 'slowest mutated input', lvsd: round(Math.max(slowest.yaml, slowest.keepalived)), reference: 0, ratio: 0, unit: 'ms',
    note: 'no reference tool validates lvsd.yaml; the figure is bounded by the fuzzer (an input over 15 s is a problem)',
    seconds, seed, inputs: tried, slowestMs: { yaml: round(slowest.yaml), keepalived: round(slowest.keepalived) },
    maxHeapMb: round(maxHeap / 2 ** 20), problems: problems.length, firstProblems: problems.slice(0, 10), savedTo: saved,
  };
  return [fuzz, corpusVsKeepalived()];
}

/** Median wall time of a command, in ms. */
function commandMs(cmd: string, argv: string[], cwd: string): number {
  const times: number[] = [];
  for (let i = 0; i < CORPUS_RUNS; i++) {
    const t = performance.now();
    spawnSync(cmd, argv, { cwd, stdio: 'ignore', timeout: 20_000 });
    times.push(performance.now() - t);
  }
  return median(times);
}

/**
 * `lvsd import-keepalived` and `keepalived -t -f` on each keepalived config of the importer's corpus: both
 * read and check the same file from a cold start (keepalived 2.2.7 ends its config test with SIGTERM when
 * scripts are configured; its time is measured all the same). The median over the files.
 */
function corpusVsKeepalived(): BenchResult {
  const dir = join(ROOT, 'test/import');
  const files = readdirSync(dir).filter((f) => f.endsWith('.conf')).sort();
  const lvsd = median(files.map((f) => commandMs(process.execPath, [LVSD, 'import-keepalived', f], dir)));
  const usable = process.getuid?.() === 0 && !spawnSync('keepalived', ['--version']).error;
  const keepalived = usable ? median(files.map((f) => commandMs('keepalived', ['-t', '-f', f], dir))) : 0;
  return {
    bench: 'fuzz-import-corpus', metric: 'one config read and checked from a cold start, median over the corpus', lvsd: round(lvsd),
    reference: round(keepalived), ratio: keepalived > 0 ? round(lvsd / keepalived, 2) : 0, unit: 'ms', files: files.length,
    note: usable ? 'reference: keepalived -t -f FILE (a C program; lvsd starts Node.js, most of its time)' : 'keepalived not installed or not root: no reference',
  };
}
