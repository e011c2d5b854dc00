import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { formatIssue, loadConfig, summarize } from '../config/index.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

// Exit codes: 0 ok, 1 invalid configuration (check) or startup failure (run), 2 usage error,
// 69 (EX_UNAVAILABLE) a subsystem not built yet, 70 (EX_SOFTWARE) run stopped after internal errors,
// 78 (EX_CONFIG) run refused an invalid configuration (systemd does not restart on it).
export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNAVAILABLE = 69;
export const EXIT_RUN_CONFIG = 78;

export const DEFAULT_CONFIG = '/etc/lvsd/lvsd.yaml';

const HELP = `lvsd ${pkg.version} — a load balancer for Linux directors (IPVS health checks and VRRP)

Usage:
  lvsd check [-c FILE]   validate a configuration; exit 0 when valid, 1 with every error when not
  lvsd run [-c FILE]     run the daemon
  lvsd ipvs [list|save|apply] ...
                         read or program the kernel's IPVS table (lvsd ipvs --help)
  lvsd doctor [-c FILE] [--json]
                         on this host: what the file needs that is missing (IPVS, sysctls,
                         interfaces, routing daemon) and how to fix it
  lvsd import-keepalived KEEPALIVED.CONF
                         print the equivalent lvsd.yaml; list what cannot be converted
  lvsd shadow [-c FILE]  beside a live keepalived, touching nothing: report every difference
                         between what lvsd would program and the kernel's table
  lvsd status [--json]   the running daemon: VRRP states, then the table as ipvsadm -Ln with health
  lvsd reload            reload the running daemon's configuration (as SIGHUP)
  lvsd drain|enable SERVICE SERVER
                         weight 0 for a real server (existing connections continue), or undo it
  lvsd give-up INSTANCE [--hold 30s]
                         make a VRRP instance leave mastership now
  lvsd events [--since N] [--follow]
                         the running daemon's events (VRRP, quorum, real servers) as NDJSON
  lvsd --version         print the version
  lvsd --help            print this help
  lvsd COMMAND --help    help for one command

FILE defaults to ${DEFAULT_CONFIG}.
`;

const COMMAND_HELP: Record<string, string> = {
  check: `Usage: lvsd check [-c FILE] [-q]

Validate FILE (default ${DEFAULT_CONFIG}) without touching the network. Prints
"ok: N vrrp instances, M virtual services, K real servers" and exits 0 when it is valid;
otherwise prints every problem, one per line, as FILE:LINE:COL: KEY.PATH: message, and exits 1.

Options:
  -c, --config FILE   the configuration file
  -q, --quiet         print nothing when valid
  -h, --help          this help
`,
  run: `Usage: lvsd run [-c FILE]

Validate FILE (default ${DEFAULT_CONFIG}), then run the health checkers, IPVS programming
and VRRP engine it describes, in the foreground, logging to stderr (JSON lines unless on a terminal).

Signals: SIGHUP reloads FILE (a bad file is refused, the running config stays); SIGTERM/SIGINT
stop (masters hand over with priority 0, the IPVS table stays except omega services);
SIGUSR2 makes every master give up mastership.
Exit: 0 stopped, 78 invalid configuration, 1 could not start, 70 stopped after internal errors.

Options:
  -c, --config FILE   the configuration file
  -h, --help          this help
`,
};

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
const processOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

function usage(out: Out, message: string, help: string): number {
  out.stderr(`lvsd: ${message}\n\n${help}`);
  return EXIT_USAGE;
}

async function validate(file: string, out: Out) {
  const r = await loadConfig(file);
  if (!r.ok) {
    out.stderr(r.errors.map((e) => `${formatIssue(e)}\n`).join(''));
    out.stderr(`${r.errors.length} error${r.errors.length === 1 ? '' : 's'} in ${file}\n`);
  }
  return r;
}

export async function main(argv: string[], out: Out = processOut): Promise<number> {
  const command = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  if (command === undefined) {
    let values;
    try {
      ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } } }));
    } catch (e) {
      return usage(out, (e as Error).message, HELP);
    }
    if (values.version) { out.stdout(`lvsd ${pkg.version}\n`); return EXIT_OK; }
    if (values.help) { out.stdout(HELP); return EXIT_OK; }
    return usage(out, 'missing command', HELP);
  }
  if (command === 'ipvs') {
    // Loaded on demand: `lvsd check` must not need the netlink code to validate a file.
    const { ipvsCommand } = await import('./ipvs-command.js');
    return ipvsCommand(argv.slice(1), out);
  }
  if (command === 'status' || command === 'reload' || command === 'drain' || command === 'enable' || command === 'give-up') {
    // The control API client (src/control), loaded on demand like ipvs.
    const { controlCommand } = await import('./control-command.js');
    return controlCommand(command, argv.slice(1), out);
  }
  if (command === 'events') {
    const { eventsCommand } = await import('./events-command.js');
    return eventsCommand(argv.slice(1), out);
  }
  if (command === 'doctor') {
    const { doctorCommand } = await import('../doctor/command.js');
    return doctorCommand(argv.slice(1), out);
  }
  if (command === 'shadow') {
    const { shadowCommand } = await import('../shadow/command.js');
    const code = await shadowCommand(argv.slice(1), out);
    // Checks' sockets or timers must not keep the process alive after the summary.
    setTimeout(() => process.exit(code), 500).unref();
    return code;
  }
  if (command === 'import-keepalived') {
    const { IMPORT_HELP, importCommand } = await import('../import/index.js');
    let parsed;
    try {
      parsed = parseArgs({ args: argv.slice(1), strict: true, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
    } catch (e) {
      return usage(out, (e as Error).message, IMPORT_HELP);
    }
    if (parsed.values.help) { out.stdout(IMPORT_HELP); return EXIT_OK; }
    if (parsed.positionals.length !== 1 || parsed.positionals[0] === '') return usage(out, 'import-keepalived needs exactly one file', IMPORT_HELP);
    return importCommand(parsed.positionals[0]!, out);
  }
  const help = COMMAND_HELP[command];
  if (help === undefined) return usage(out, `unknown command '${command}'`, HELP);

  let values: { config?: string | undefined; help?: boolean | undefined; quiet?: boolean | undefined };
  try {
    const parsed = parseArgs({
      args: argv.slice(1), strict: true, allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        ...(command === 'check' ? { quiet: { type: 'boolean', short: 'q' } } : {}),
      },
    });
    values = parsed.values as typeof values;
  } catch (e) {
    return usage(out, (e as Error).message, help);
  }
  if (values.help) { out.stdout(help); return EXIT_OK; }
  const file = values.config ?? DEFAULT_CONFIG;
  if (file === '') return usage(out, 'empty --config', help);

  if (command === 'run') {
    // Loaded on demand, as ipvs: the daemon pulls in netlink, VRRP and the checkers.
    const { runDaemon } = await import('../daemon/run.js');
    const code = await runDaemon(file, { stderr: out.stderr });
    // Stopped: a socket or timer some part forgot to close must not keep the process (and systemd) waiting.
    setTimeout(() => process.exit(code), 500).unref();
    return code;
  }
  // check
  const r = await validate(file, out);
  if (!r.ok) return EXIT_INVALID;
  if (!values.quiet) out.stdout(`${summarize(r.config)}\n`);
  return EXIT_OK;
}
