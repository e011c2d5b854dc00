// `lvsd status | reload | drain | enable | give-up`: the control API of a running lvsd, for a person.
// Where to find the daemon: --socket or --url, else the control listen address of the configuration
// (-c FILE, default /etc/lvsd/lvsd.yaml), else /run/lvsd/control.sock.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatIssue, loadConfig } from '../config/index.js';
import { parseDuration } from '../config/duration.js';
import { callControl, ControlUnavailableError, type ControlEndpoint, type ControlReply } from '../control/client.js';
import { renderStatus, type ControlStatus } from '../control/status.js';

export const CONTROL_COMMANDS = ['status', 'reload', 'drain', 'enable', 'give-up'] as const;
export type ControlCommand = typeof CONTROL_COMMANDS[number];

export const DEFAULT_SOCKET = '/run/lvsd/control.sock';
const DEFAULT_CONFIG = '/etc/lvsd/lvsd.yaml';

// Exit codes: 0 done, 1 the daemon refused (unknown name, bad reload...), 2 usage, 69 (EX_UNAVAILABLE) no daemon.
const EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNAVAILABLE = 69;

const TARGET_HELP = `Where lvsd is (default: the control listen address in -c FILE or ${DEFAULT_CONFIG}, else ${DEFAULT_SOCKET}):
  -c, --config FILE      read global.control (listen, token_file) from FILE
  --socket PATH          the control unix socket
  --url URL              http://ADDRESS:PORT of a TCP control listener
  --token-file F         the bearer token for --url (calls from other hosts, and changes over TCP, need it)
  -h, --help             this help
`;

export const CONTROL_HELP: Record<ControlCommand, string> = {
  status: `Usage: lvsd status [--json] [TARGET]

The running daemon's state: VRRP instances and their states, then the virtual services as
\`ipvsadm -Ln\` lists them, each real server followed by its health and the reason.
  --json                 the status as JSON (what GET /status returns)
${TARGET_HELP}`,
  reload: `Usage: lvsd reload [TARGET]

Reload the configuration file, as SIGHUP does: a file with errors is refused (they are printed)
and the running configuration stays.
${TARGET_HELP}`,
  drain: `Usage: lvsd drain SERVICE SERVER [TARGET]

Set real server SERVER (address:port, or the address when unique) of virtual service SERVICE to
weight 0: no new connections, existing ones continue. Stays drained until \`lvsd enable\`, through
check changes and reloads, while the server is in the configuration.
${TARGET_HELP}`,
  enable: `Usage: lvsd enable SERVICE SERVER [TARGET]

Undo \`lvsd drain\`: the server's weight follows its checks and configuration again.
${TARGET_HELP}`,
  'give-up': `Usage: lvsd give-up INSTANCE [--hold DURATION] [TARGET]

Make VRRP instance INSTANCE leave mastership now (it sends priority 0, so a backup takes over at
once) and not take it back for DURATION (e.g. 30s, 5m; default: until lvsd restarts). INSTANCE may
also name an announced VIP group: its routes are withdrawn (after its soft drain) for DURATION;
--hold 0s announces it again.
  --hold DURATION        how long not to preempt
${TARGET_HELP}`,
};

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

const connectHost = (address: string): string => {
  // A listener on the wildcard is reachable on loopback.
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
};

function readToken(file: string): string | undefined {
  try { return readFileSync(file, 'utf8').trim() || undefined; } catch { return undefined; }
}

/** The endpoint from the options, else from the configuration, else the default socket. */
export async function resolveEndpoint(v: { config?: string | undefined; socket?: string | undefined; url?: string | undefined; 'token-file'?: string | undefined }, out: Out): Promise<ControlEndpoint | number> {
  if (v.socket !== undefined && v.url !== undefined) { out.stderr('lvsd: give --socket or --url, not both\n'); return EXIT_USAGE; }
  if (v.socket !== undefined) return { kind: 'unix', socketPath: v.socket };
  let token: string | undefined;
  if (v['token-file'] !== undefined) {
    try { token = readFileSync(v['token-file'], 'utf8').trim(); } catch (e) { out.stderr(`lvsd: cannot read the token file: ${(e as Error).message}\n`); return EXIT_USAGE; }
  }
  if (v.url !== undefined) return { kind: 'tcp', url: v.url, token };
  const file = v.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  if (file === undefined) return { kind: 'unix', socketPath: DEFAULT_SOCKET };
  const r = await loadConfig(file);
  if (!r.ok) {
    if (v.config !== undefined) {
      out.stderr(r.errors.map((e) => `${formatIssue(e)}\n`).join(''));
      out.stderr(`lvsd: cannot find the control address in ${file} (give --socket or --url)\n`);
      return EXIT_REFUSED;
    }
    out.stderr(`lvsd: ${file} has errors; trying ${DEFAULT_SOCKET}\n`);
    return { kind: 'unix', socketPath: DEFAULT_SOCKET };
  }
  const c = r.config.global.control;
  if (c.listen.kind === 'unix') return { kind: 'unix', socketPath: c.listen.path };
  return { kind: 'tcp', url: `http://${connectHost(c.listen.address)}:${c.listen.port}`, token: token ?? (c.token_file ? readToken(c.token_file) : undefined) };
}

const errorOf = (body: unknown): string => {
  const b = body as { error?: unknown } | null;
  return typeof b?.error === 'string' ? b.error : JSON.stringify(body);
};

function refused(out: Out, what: string, r: ControlReply): number {
  out.stderr(`lvsd: ${what}: ${errorOf(r.body)} (HTTP ${r.status})\n`);
  const errors = (r.body as { errors?: unknown } | null)?.errors;
  if (Array.isArray(errors)) {
    for (const e of errors) out.stderr(`  ${typeof e === 'string' ? e : isIssue(e) ? formatIssue(e) : JSON.stringify(e)}\n`);
  }
  return EXIT_REFUSED;
}
const isIssue = (e: unknown): e is Parameters<typeof formatIssue>[0] =>
  typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string' && typeof (e as { file?: unknown }).file === 'string';

export async function controlCommand(command: ControlCommand, argv: string[], out: Out): Promise<number> {
  const help = CONTROL_HELP[command];
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, strict: true, allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' }, socket: { type: 'string' }, url: { type: 'string' }, 'token-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...(command === 'status' ? { json: { type: 'boolean' } } : {}),
        ...(command === 'give-up' ? { hold: { type: 'string' } } : {}),
      },
    });
  } catch (e) {
    out.stderr(`lvsd: ${(e as Error).message}\n\n${help}`);
    return EXIT_USAGE;
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) { out.stdout(help); return EXIT_OK; }
  const pos = parsed.positionals;
  const want = command === 'drain' || command === 'enable' ? 2 : command === 'give-up' ? 1 : 0;
  if (pos.length !== want) {
    out.stderr(`lvsd: ${command} takes ${want === 0 ? 'no arguments' : want === 1 ? 'an INSTANCE' : 'SERVICE and SERVER'}\n\n${help}`);
    return EXIT_USAGE;
  }
  let hold: string | undefined;
  if (typeof v.hold === 'string') {
    const d = parseDuration(v.hold);
    if (!d.ok) { out.stderr(`lvsd: --hold: ${d.message}\n`); return EXIT_USAGE; }
    hold = v.hold;
  }

  const ep = await resolveEndpoint(v as Parameters<typeof resolveEndpoint>[0], out);
  if (typeof ep === 'number') return ep;
  try {
    switch (command) {
      case 'status': {
        const r = await callControl(ep, 'GET', '/status');
        if (r.status !== 200) return refused(out, 'status', r);
        out.stdout(v.json ? `${JSON.stringify(r.body, null, 2)}\n` : renderStatus(r.body as ControlStatus));
        return EXIT_OK;
      }
      case 'reload': {
        const r = await callControl(ep, 'POST', '/reload');
        if (r.status !== 200) return refused(out, 'reload refused', r);
        const b = r.body as { summary?: unknown; changes?: unknown };
        const said = b.summary ?? b.changes;
        out.stdout(`reloaded${said === undefined ? '' : `: ${typeof said === 'string' ? said : JSON.stringify(said)}`}\n`);
        return EXIT_OK;
      }
      case 'drain': case 'enable': {
        const [service, server] = pos as [string, string];
        const r = await callControl(ep, 'POST', `/servers/${command}`, { service, server });
        if (r.status !== 200) return refused(out, command, r);
        const b = r.body as { server: string; service: string; up?: boolean; weight?: number };
        out.stdout(command === 'drain'
          ? `drained ${b.service} ${b.server}: weight 0, existing connections continue\n`
          : `enabled ${b.service} ${b.server}${b.up === undefined ? '' : b.up ? `: up, weight ${b.weight ?? '?'}` : ': down (its checks fail), out of the table until they pass'}\n`);
        return EXIT_OK;
      }
      case 'give-up': {
        const r = await callControl(ep, 'POST', '/vrrp/give-up', { instance: pos[0], ...(hold !== undefined ? { hold } : {}) });
        if (r.status !== 200) return refused(out, 'give-up', r);
        const b = r.body as { instance?: string; group?: string; was?: string; state?: string };
        if (b.group !== undefined) out.stdout(`${b.group}: ${b.was ?? '?'} -> ${b.state ?? '?'}; not announced ${hold ? `for ${hold}` : 'until lvsd restarts'}\n`);
        else out.stdout(`${b.instance}: ${b.was ?? '?'} -> ${b.state ?? '?'}; no preemption ${hold ? `for ${hold}` : 'until lvsd restarts'}\n`);
        return EXIT_OK;
      }
    }
  } catch (e) {
    out.stderr(`lvsd: ${(e as Error).message}\n`);
    return e instanceof ControlUnavailableError ? EXIT_UNAVAILABLE : EXIT_REFUSED;
  }
}
