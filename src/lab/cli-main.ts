// `npm run lab -- COMMAND` (entered through cli.ts): the lab for people.
//   smoke                              prove the lab works here; one PASS/FAIL line per item
//   shell TOPOLOGY [--host H] [--backend uml|host] [--no-services]
//                                      boot it, open a shell in host H (default: the first director),
//                                      tear everything down when the shell exits
//   topologies                         list the ready-made topologies
import { execFileSync } from 'node:child_process';
import { Lab } from './lab.js';
import { chooseBackend, type Backend } from './kernel.js';
import { TOPOLOGIES, topologyByName } from './topologies.js';
import { runSmoke } from './smoke.js';
import { MissingPackagesError } from './prereq.js';

const USAGE = `usage: npm run lab -- smoke [--backend uml|host]
       npm run lab -- shell TOPOLOGY [--host HOST] [--backend uml|host] [--no-services]
       npm run lab -- topologies
topologies: ${Object.keys(TOPOLOGIES).join(', ')}
LVSD_LAB_BACKEND=uml|host forces a backend (default: host when root on a kernel with IPVS, else uml).`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

function flag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
}

function backendOption(args: string[]): Backend | undefined {
  const b = option(args, '--backend');
  if (b !== undefined && b !== 'uml' && b !== 'host') throw new Error('--backend must be uml or host');
  return b;
}

async function shell(args: string[]): Promise<number> {
  const hostName = option(args, '--host');
  const backend = backendOption(args);
  const services = !flag(args, '--no-services');
  const [name, ...rest] = args;
  if (!name || rest.length) { process.stderr.write(`${USAGE}\n`); return 2; }
  const topology = topologyByName(name);
  const chosen = chooseBackend(backend);
  const target = hostName ?? Object.keys(topology.hosts).find((h) => h.startsWith('director')) ?? Object.keys(topology.hosts)[0]!;
  if (!(target in topology.hosts)) throw new Error(`topology ${name} has no host ${target}; hosts: ${Object.keys(topology.hosts).join(', ')}`);
  const interactive = process.stdin.isTTY === true;
  process.stderr.write(`lab: starting ${name} on the ${chosen.backend} backend (${chosen.reason})...\n`);
  // Inside UML the user's terminal becomes the kernel's /dev/tty2: a real terminal for the shell.
  // UML puts the terminal in raw mode for its console; put back whatever the user had.
  const saved = interactive ? sttySave() : undefined;
  const lab = await Lab.start(topology, { backend: chosen.backend, services, ...(interactive && chosen.backend === 'uml' ? { terminalFd: 0 } : {}) });
  try {
    const h = lab.host(target);
    process.stderr.write(`lab: ${name} is up (boot ${lab.timings.bootMs} ms, network ${lab.timings.buildMs} ms, services ${lab.timings.servicesMs} ms)\n` +
      `lab: hosts ${[...lab.hosts.values()].map((x) => `${x.name}=${x.ns}`).join(' ')}; files in ${lab.dir}\n` +
      `lab: shell in ${target}; \`ip netns exec HOST CMD\` reaches the others; exit the shell to tear down\n`);
    const env = { PS1: `[lab ${target}] \\w\\$ `, LVSD_LAB_HOST: target, TERM: process.env.TERM ?? 'xterm' };
    let code: number | null;
    if (interactive && chosen.backend === 'uml') {
      let exited!: (code: number | null) => void;
      const done = new Promise<number | null>((resolve) => { exited = resolve; });
      const size = process.stdout.rows && process.stdout.columns ? `stty rows ${process.stdout.rows} cols ${process.stdout.columns}; ` : '';
      await lab.kernel.spawn({ argv: ['sh', '-c', `${size}exec bash --norc -i`], ns: h.ns, env, tty: '/dev/tty2' }, (ev) => { if (ev.ev === 'exit') exited(ev.code); });
      code = await done;
    } else {
      const p = await h.spawn(interactive ? ['bash', '--norc', '-i'] : ['bash', '--norc'], { env });
      p.stdout.pipe(process.stdout);
      p.stderr.pipe(process.stderr);
      process.stdin.on('data', (b: Buffer) => { void p.write(b).catch(() => {}); });
      process.stdin.on('end', () => { void p.end().catch(() => {}); });
      code = (await p.exited).code;
      process.stdin.pause();
      process.stdin.destroy();
    }
    return code ?? 1;
  } finally {
    await lab.stop();
    if (saved) sttyRestore(saved);
    process.stderr.write('lab: torn down\n');
  }
}

function sttySave(): string | undefined {
  try { return execFileSync('stty', ['-g'], { stdio: ['inherit', 'pipe', 'ignore'] }).toString().trim(); } catch { return undefined; }
}

function sttyRestore(saved: string): void {
  try { execFileSync('stty', [saved], { stdio: ['inherit', 'ignore', 'ignore'] }); } catch { /* not a terminal any more */ }
}

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const cmd = args.shift();
  switch (cmd) {
    case 'smoke': return runSmoke({ backend: backendOption(args) });
    case 'shell': return shell(args);
    case 'topologies':
      for (const t of Object.values(TOPOLOGIES)) process.stdout.write(`${t.name}: ${t.description ?? ''}\n  hosts: ${Object.keys(t.hosts).join(', ')}\n`);
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return cmd === undefined || cmd === '--help' || cmd === '-h' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`lab: ${e instanceof MissingPackagesError ? e.message : e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
