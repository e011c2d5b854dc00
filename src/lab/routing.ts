// Routing daemons in lab hosts (issue #14): FRR (zebra, bfdd, bgpd) and BIRD 2, each started with a
// config rendered from a template in deploy/routing/, and their own readers (vtysh, birdc).
//
//   const cfg = renderTemplate(readFileSync('deploy/routing/frr.conf', 'utf8'), { HOSTNAME: 'director1', ... });
//   const frr = await startFrr(lab.host('director1'), cfg);   // await frr.json('show ip route json')
//   const bird = await startBird(lab.host('director2'), birdCfg);  // await bird.birdc('show route')
//
// FRR's daemons drop to the frr user, which cannot read the lab's private directory: the config is
// installed under /run/frr/<namespace>/ (FRR's pathspace, -N), where each host also gets its own
// sockets (zserv.api, *.vty), so several FRR instances share one kernel's /run. Daemons run in the
// foreground, so the lab stops them at teardown like any process.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabHost } from './lab.js';
import type { LabProcess } from './process.js';
import { MissingPackagesError, missingPackages } from './prereq.js';

/** FRR and BIRD are needed only by the tests that route; scripts/setup.sh installs both. */
function requirePackage(name: 'frr' | 'bird2'): void {
  const missing = missingPackages([name]);
  if (missing.length) throw new MissingPackagesError(missing);
}

/** Replaces every ${NAME}; an unknown name or a value never used is an error (a template and its caller disagree). */
export function renderTemplate(text: string, vars: Record<string, string | number>): string {
  const used = new Set<string>();
  const out = text.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_m, name: string) => {
    if (!(name in vars)) throw new Error(`template placeholder \${${name}} has no value`);
    used.add(name);
    return String(vars[name]);
  });
  const unused = Object.keys(vars).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`template has no placeholder for ${unused.join(', ')}`);
  return out;
}

/** Polls a shell condition inside the host (one round trip), e.g. a socket appearing. */
async function waitInHost(host: LabHost, condition: string, what: string, timeoutMs: number, proc?: LabProcess): Promise<void> {
  const tries = Math.ceil(timeoutMs / 50);
  const r = await host.exec(['sh', '-c', `i=0; while ! ${condition}; do i=$((i+1)); [ $i -ge ${tries} ] && exit 1; sleep 0.05; done`], { timeoutMs: timeoutMs + 10_000 });
  if (r.code !== 0) {
    const tail = proc ? `; ${proc.argv[0]} ${proc.running ? 'running' : `exited ${JSON.stringify(proc.exitStatus)}`}, output:\n${(proc.output + proc.errors).slice(-1500)}` : '';
    throw new Error(`${host.name}: ${what} not there after ${timeoutMs} ms${tail}`);
  }
}

export interface FrrHandle {
  readonly host: LabHost;
  /** The pathspace (-N): the host's namespace name. */
  readonly pathspace: string;
  readonly processes: LabProcess[];
  vtysh(...commands: string[]): Promise<string>;
  json<T = unknown>(command: string): Promise<T>;
  stop(): Promise<void>;
}

export const FRR_DAEMONS = ['zebra', 'bfdd', 'bgpd'] as const;

export async function startFrr(host: LabHost, config: string, opts: { daemons?: readonly string[]; timeoutMs?: number; logLevel?: 'warnings' | 'informational' | 'debugging' } = {}): Promise<FrrHandle> {
  requirePackage('frr');
  const ps = host.ns;
  const dir = `/run/frr/${ps}`;
  const file = join(host.lab.dir, `frr-${host.name}.conf`);
  writeFileSync(file, config);
  // Sockets left by daemons killed with -9 (an earlier lab in this kernel, or a restart) would pass the
  // readiness test below before the new daemon listens.
  await host.sh(`install -d -o frr -g frr -m 755 ${dir} && rm -f ${dir}/*.vty ${dir}/zserv.api && install -o frr -g frr -m 640 ${file} ${dir}/frr.conf`);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const processes: LabProcess[] = [];
  for (const d of opts.daemons ?? FRR_DAEMONS) {
    const p = await host.spawn([`/usr/lib/frr/${d}`, '-N', ps, '-f', `${dir}/frr.conf`, '-i', `${dir}/${d}.pid`, '--log', 'stdout', '--log-level', opts.logLevel ?? 'warnings']);
    processes.push(p);
    // The others register with zebra over zserv.api; each is up once its vty socket exists.
    await waitInHost(host, `[ -S ${dir}/${d}.vty ]`, `FRR ${d}'s vty socket`, timeoutMs, p);
  }
  const vtysh = (...commands: string[]): Promise<string> => host.run(['vtysh', '-N', ps, ...commands.flatMap((c) => ['-c', c])]);
  return {
    host, pathspace: ps, processes, vtysh,
    json: async <T>(command: string) => JSON.parse(await vtysh(command)) as T,
    stop: async () => { for (const p of [...processes].reverse()) await p.stop(3000); },
  };
}

export interface BirdHandle {
  readonly host: LabHost;
  readonly socket: string;
  readonly process: LabProcess;
  birdc(command: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startBird(host: LabHost, config: string, opts: { timeoutMs?: number } = {}): Promise<BirdHandle> {
  requirePackage('bird2');
  const file = join(host.lab.dir, `bird-${host.name}.conf`);
  // Its log on stderr as well, for the test's error messages (the sample logs to syslog).
  writeFileSync(file, `${config}\nlog stderr { warning, error, fatal };\n`);
  const socket = join(host.lab.dir, `bird-${host.name}.ctl`);
  const p = await host.spawn(['bird', '-f', '-c', file, '-s', socket, '-P', join(host.lab.dir, `bird-${host.name}.pid`)]);
  await waitInHost(host, `[ -S ${socket} ]`, 'BIRD\'s control socket', opts.timeoutMs ?? 60_000, p);
  return {
    host, socket, process: p,
    birdc: (command: string) => host.run(['birdc', '-s', socket, ...command.split(' ')]),
    stop: async () => { await p.stop(3000); },
  };
}
