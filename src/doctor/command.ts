// `lvsd doctor [-c FILE] [--json]`: on the live host, for a configuration, what is wrong and how to fix
// it. Reads only (IPVS info, /proc/sys, /sys/class/net, /proc/*/comm, lvsd's route table); the
// judgement is findings.ts. Exit 0 when nothing fails, 1 when something does or the file is invalid.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatIssue, loadConfig } from '../config/index.js';
import type { LvsdConfig } from '../config/model.js';
import { sysctlNeeds } from '../sysctl/plan.js';
import { readSysctls } from '../sysctl/keeper.js';
import { diagnose, healthy, renderFindings, type HostFacts } from './findings.js';

export const DOCTOR_HELP = `Usage: lvsd doctor [-c FILE] [--json]

On this host, for FILE (default /etc/lvsd/lvsd.yaml): whether IPVS answers, whether the sysctls the
file needs are set (net.ipv4.vs.sloppy_tcp, sloppy_sctp and schedule_icmp for services shared by several
directors, ip_forward for NAT), whether the interfaces it names exist and, with announced VIPs, whether
a routing daemon runs and lvsd's routes are in its table. Each problem comes with its fix.
Exit: 0 all well, 1 a problem (or an invalid file), 2 usage.

Options:
  -c, --config FILE   the configuration file
  --json              the findings as JSON
  -h, --help          this help
`;

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

/** IPVS_INFO_ATTR_VERSION packs major.minor.patch in three bytes (ipvsadm prints it so). */
function ipvsVersion(v: number): string { return `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`; }

async function ipvsFact(): Promise<HostFacts['ipvs']> {
  try {
    const { IpvsClient } = await import('../../ipvs/client.js');
    const c = await IpvsClient.open();
    try { return { ok: true, version: ipvsVersion((await c.info()).version) }; } finally { c.close(); }
  } catch (e) { return { ok: false, error: (e as Error).message }; }
}

async function processNames(): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p))) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => undefined);
    if (comm !== undefined) out.push(comm.trim());
  }
  return out;
}

function announceRoutes(table: number, protocol: number): Promise<HostFacts['announceRoutes']> {
  return new Promise((resolve) => {
    execFile('ip', ['-j', 'route', 'show', 'table', String(table), 'proto', String(protocol)], { timeout: 5000 }, (err, stdout) => {
      if (err) { resolve({ ok: false, error: err.message }); return; }
      try {
        const routes = (JSON.parse(stdout || '[]') as Array<{ dst?: string }>).map((r) => (r.dst ?? '').replace(/\/(32|128)$/, ''));
        resolve({ ok: true, routes });
      } catch (e) { resolve({ ok: false, error: `ip -j: ${(e as Error).message}` }); }
    });
  });
}

export async function gatherFacts(cfg: LvsdConfig): Promise<HostFacts> {
  // IPVS first: opening it loads ip_vs, which is what creates net.ipv4.vs.*.
  const ipvs = await ipvsFact();
  const sysctls = await readSysctls(sysctlNeeds(cfg).map((n) => n.key));
  const interfaces = new Set(await readdir('/sys/class/net').catch(() => [] as string[]));
  const routingDaemons = cfg.announce.length ? await processNames() : [];
  const routes: HostFacts['announceRoutes'] = cfg.announce.length ? await announceRoutes(cfg.global.announce.table, cfg.global.announce.protocol) : { ok: true, routes: [] };
  return { ipvs, sysctls, interfaces, routingDaemons, announceRoutes: routes };
}

export async function doctorCommand(argv: string[], out: Out): Promise<number> {
  let values: { config?: string | undefined; json?: boolean | undefined; help?: boolean | undefined };
  try {
    values = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (e) {
    out.stderr(`lvsd: ${(e as Error).message}\n\n${DOCTOR_HELP}`);
    return 2;
  }
  if (values.help) { out.stdout(DOCTOR_HELP); return 0; }
  const file = values.config ?? '/etc/lvsd/lvsd.yaml';
  const r = await loadConfig(file);
  if (!r.ok) {
    if (values.json) out.stdout(`${JSON.stringify({ ok: false, config: file, errors: r.errors.map(formatIssue), findings: [] })}\n`);
    else out.stderr(`${r.errors.map((e) => `${formatIssue(e)}\n`).join('')}${r.errors.length} error${r.errors.length === 1 ? '' : 's'} in ${file} (lvsd check shows the same)\n`);
    return 1;
  }
  const findings = diagnose(r.config, await gatherFacts(r.config));
  const ok = healthy(findings);
  if (values.json) out.stdout(`${JSON.stringify({ ok, config: file, findings })}\n`);
  else out.stdout(renderFindings(findings));
  return ok ? 0 : 1;
}
