// `npm run demo [-- --scripted] [--layout nat|dr|ecmp] [--no-preempt]`: two lvsd directors doing LVS for
// three real servers in the kernel lab, with a client sending requests all along; `--layout ecmp` is
// three directors behind an ECMP router instead (src/demo/ecmp.ts).
//   --scripted    kill the master, restore it, stop a real server, restore it; print one JSON summary
//   (default)     the interactive view (src/demo/tui.ts) on a terminal, else the scripted run
// Progress goes to stderr, the summary (one JSON line) to stdout.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DirectorLab, Layout } from './director-lab.js';
import { natLayout } from './nat.js';
import { runScripted } from './scenario.js';

export interface DemoArgs { scripted: boolean; layout: string; preempt: boolean }

const USAGE = 'usage: npm run demo -- [--scripted] [--layout nat|dr|ecmp] [--no-preempt]\n';
const LAYOUTS = ['nat', 'dr', 'ecmp'];

export function parseDemoArgs(argv: string[]): DemoArgs | { error: string } {
  const out: DemoArgs = { scripted: false, layout: 'nat', preempt: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--scripted') out.scripted = true;
    else if (a === '--no-preempt') out.preempt = false;
    else if (a === '--layout') {
      const v = argv[++i];
      if (!v || !LAYOUTS.includes(v)) return { error: `--layout takes nat or dr (a VRRP pair) or ecmp, not ${JSON.stringify(v ?? '')}` };
      out.layout = v;
    } else if (a.startsWith('--layout=')) {
      const v = a.slice('--layout='.length);
      if (!LAYOUTS.includes(v)) return { error: `--layout takes nat or dr (a VRRP pair) or ecmp, not ${JSON.stringify(v)}` };
      out.layout = v;
    } else if (a === '-h' || a === '--help') return { error: '' };
    else return { error: `unknown argument ${JSON.stringify(a)}` };
  }
  return out;
}

/** A module of this directory if it has been built (tui.ts and dr.ts come from another engineer). */
async function optional<T>(name: string): Promise<T | undefined> {
  const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  if (!existsSync(file)) return undefined;
  return (await import(`./${name}.js`)) as T;
}

async function layoutByName(name: string): Promise<Layout> {
  if (name === 'nat') return natLayout;
  const dr = await optional<{ drLayout?: Layout }>('dr');
  if (!dr?.drLayout) throw new Error('the DR layout (src/demo/dr.ts) is not built yet');
  return dr.drLayout;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseDemoArgs(argv);
  if ('error' in args) {
    process.stderr.write(args.error ? `demo: ${args.error}\n${USAGE}` : USAGE);
    return args.error ? 2 : 0;
  }
  if (!args.scripted && !(process.stdin.isTTY && process.stdout.isTTY)) {
    // The live view needs a terminal to draw on and keys to read; a pipe or CI gets the same scenario unattended.
    process.stderr.write('demo: no terminal; running the scripted scenario (--scripted)\n');
    args.scripted = true;
  }
  if (args.layout === 'ecmp') {
    // Not a VRRP pair: its own lab, view and scenario. Exit 1 when a request failed or a connection broke.
    const ecmp = await import('./ecmp.js');
    if (!args.scripted) { await ecmp.runEcmpInteractive(); return 0; }
    const summary = await ecmp.runEcmpScripted();
    process.stdout.write(JSON.stringify(summary) + '\n');
    return summary.problems.length ? 1 : 0;
  }
  const layout = await layoutByName(args.layout);
  if (!args.scripted) {
    const tui = await optional<{ runInteractive?: (dl: DirectorLab) => Promise<void>; runInteractiveDemo?: (layout: Layout, opts: { preempt: boolean }) => Promise<void> }>('tui');
    if (tui?.runInteractiveDemo) { await tui.runInteractiveDemo(layout, { preempt: args.preempt }); return 0; }
    if (tui?.runInteractive) {
      const { DirectorLab } = await import('./director-lab.js');
      const dl = await DirectorLab.start({ layout, preempt: args.preempt, log: (l) => process.stderr.write(`demo: ${l}\n`) });
      try { await tui.runInteractive(dl); } finally { await dl.stop(); }
      return 0;
    }
    process.stderr.write('demo: the interactive view is not built yet; running the scripted scenario instead (--scripted)\n');
  }
  const summary = await runScripted(layout, { preempt: args.preempt });
  process.stdout.write(JSON.stringify(summary) + '\n');
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`demo: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
