// `npm run bench -- NAME [ARGS]`: runs test/bench/NAME.ts, which measures lvsd and its reference
// (ipvsadm, keepalived, iproute2) side by side in the same environment over several runs. Progress goes
// to stderr; the last line on stdout is one JSON object, the figure a closing note quotes.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';

export interface BenchResult {
  bench: string;
  metric: string;
  lvsd: number;
  reference: number;
  ratio: number; // lvsd / reference: below 1 means lvsd takes less of the metric
  unit: string;
  [detail: string]: unknown;
}

export type Bench = (args: string[]) => Promise<BenchResult | BenchResult[]>;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const here = fileURLToPath(new URL('.', import.meta.url));
  const available = readdirSync(here).filter((f) => f.endsWith('.js') && f !== 'main.js' && !f.startsWith('_')).map((f) => f.slice(0, -3));
  if (!name || !existsSync(new URL(`./${name}.js`, import.meta.url))) {
    process.stderr.write(`usage: npm run bench -- NAME\navailable: ${available.join(', ') || '(none yet)'}\n`);
    return 2;
  }
  const mod = (await import(`./${name}.js`)) as { run?: Bench };
  if (typeof mod.run !== 'function') { process.stderr.write(`bench ${name} exports no run()\n`); return 2; }
  const results = await mod.run(args);
  for (const r of Array.isArray(results) ? results : [results]) process.stdout.write(JSON.stringify(r) + '\n');
  return 0;
}

main(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e) => { console.error(e); process.exitCode = 1; });
