// `lvsd ipvs`: the kernel's IPVS table read over generic netlink, printed as operators read
// `ipvsadm -Ln` (and `-Sn`); `lvsd ipvs apply` programs a table with the fewest commands (no flush).
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { IpvsClient } from '../../ipvs/client.js';
import { IpvsUnavailableError } from '../../ipvs/errors.js';
import { parseSave, renderList, renderSave, SaveParseError, type ListFormat } from '../../ipvs/ipvsadm-format.js';
import { reconcileDaemons, reconcileTimeouts } from '../../ipvs/reconcile.js';
import { serviceKey } from '../../ipvs/service.js';
import { IpvsTableSync } from '../../ipvs/sync.js';
import type { IpvsDaemon } from '../../ipvs/daemon.js';
import type { IpvsTable } from '../../ipvs/table.js';
import type { IpvsTimeouts } from '../../ipvs/timeouts.js';

export const IPVS_HELP = `Usage: lvsd ipvs [list] [--stats|--rate|--thresholds|--persistent-conn] [--exact] [--nosort]
       lvsd ipvs list --timeout | --daemon
       lvsd ipvs save
       lvsd ipvs apply [FILE] [--owned KEY]...

list    the kernel's IPVS table as \`ipvsadm -Ln\` prints it (addresses are always numeric);
        --timeout and --daemon print the protocol timeouts and sync daemons like ipvsadm -L does
save    the table as \`ipvsadm -Sn\` prints it
apply   make the kernel's table what FILE (or stdin) says, with the fewest commands and no flush:
        FILE is \`ipvsadm -Sn\` text, or JSON {"table": [...], "timeouts"?: {...}, "daemons"?: [...],
        "owned"?: [service keys]}. Services not in FILE are left alone unless listed in owned.
        Prints a JSON report {"writes", "rounds", "reread", "errors"}; exits 1 if errors remain.

Options:
  --netns NAME   use the IPVS table of network namespace NAME
  -h, --help     this help
`;

export interface IpvsCommandIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** The whole of standard input (for apply without FILE). */
  stdin?: () => Promise<string>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface ApplyInput { table: IpvsTable; timeouts?: Partial<IpvsTimeouts>; daemons?: IpvsDaemon[]; owned?: string[] }

function parseInput(text: string): ApplyInput {
  if (text.trimStart().startsWith('{')) {
    const j = JSON.parse(text) as ApplyInput;
    if (!Array.isArray(j.table)) throw new Error('JSON input needs a "table" array');
    return j;
  }
  return { table: parseSave(text) };
}

const DAEMON_STATE: Record<number, string> = { 1: 'master', 2: 'backup' };

/** Returns the exit code: 0 ok, 1 kernel refused something, 2 usage, 69 IPVS unavailable. */
export async function ipvsCommand(argv: string[], io: IpvsCommandIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        help: { type: 'boolean', short: 'h' }, numeric: { type: 'boolean', short: 'n' }, stats: { type: 'boolean' },
        rate: { type: 'boolean' }, thresholds: { type: 'boolean' }, 'persistent-conn': { type: 'boolean' },
        exact: { type: 'boolean' }, nosort: { type: 'boolean' }, timeout: { type: 'boolean' }, daemon: { type: 'boolean' },
        netns: { type: 'string' }, owned: { type: 'string', multiple: true },
      },
    });
  } catch (e) {
    io.stderr(`lvsd ipvs: ${(e as Error).message}\n\n${IPVS_HELP}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) { io.stdout(IPVS_HELP); return 0; }
  const sub = positionals[0] ?? 'list';
  if (!['list', 'save', 'apply'].includes(sub) || positionals.length > (sub === 'apply' ? 2 : 1)) {
    io.stderr(`lvsd ipvs: unknown arguments: ${positionals.join(' ')}\n\n${IPVS_HELP}`);
    return 2;
  }
  let input: ApplyInput | undefined;
  if (sub === 'apply') {
    try {
      const text = positionals[1] ? readFileSync(positionals[1], 'utf8') : await (io.stdin ?? readStdin)();
      input = parseInput(text);
    } catch (e) {
      io.stderr(`lvsd ipvs apply: ${e instanceof SaveParseError ? e.message : (e as Error).message}\n`);
      return 2;
    }
  }
  let client: IpvsClient;
  try {
    client = await IpvsClient.open(v.netns ? { netns: v.netns } : {});
  } catch (e) {
    io.stderr(`lvsd ipvs: ${(e as Error).message}\n`);
    return e instanceof IpvsUnavailableError ? 69 : 1;
  }
  try {
    if (sub === 'list' && v.timeout) {
      const t = await client.timeouts();
      io.stdout(`Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpFin} ${t.udp}\n`);
      return 0;
    }
    if (sub === 'list' && v.daemon) {
      for (const d of await client.daemons()) {
        io.stdout(`${DAEMON_STATE[d.state] ?? d.state} sync daemon (mcast=${d.mcastIfn}, syncid=${d.syncId}, maxlen=${d.syncMaxlen ?? 0}, ` +
          `group=${d.mcastGroup ?? ''}, port=${d.mcastPort ?? 0}, ttl=${d.mcastTtl ?? 0})\n`);
      }
      return 0;
    }
    if (sub === 'list') {
      const format: ListFormat = v.stats ? 'stats' : v.rate ? 'rate' : v.thresholds ? 'thresholds' : v['persistent-conn'] ? 'persistent-conn' : 'default';
      const [info, table] = [await client.info(), await client.table()];
      io.stdout(renderList(info, table, { format, exact: !!v.exact, nosort: !!v.nosort }));
      return 0;
    }
    if (sub === 'save') {
      io.stdout(renderSave(await client.table(), { nosort: !!v.nosort }));
      return 0;
    }
    const inp = input!;
    const owned = [...(inp.owned ?? []), ...(v.owned ?? []), ...inp.table.map((e) => serviceKey(e.service))];
    const sync = new IpvsTableSync(client, { owned });
    const report = await sync.apply(inp.table);
    // Timeouts and daemons are read only when the input manages them (ipvsadm -Sn text never does).
    const extra = [
      ...(inp.timeouts ? reconcileTimeouts(inp.timeouts, await client.timeouts()) : []),
      ...(inp.daemons ? reconcileDaemons(inp.daemons, await client.daemons()) : []),
    ];
    const extraErrors = (await client.apply(extra)).flatMap((r) => (r.ok ? [] : [r.error]));
    const errors = [...report.errors, ...extraErrors].map((e) => ({ message: e.message, code: e.code, errno: e.errno, kernelMessage: e.kernelMessage }));
    io.stdout(JSON.stringify({ writes: report.writes + extra.length, rounds: report.rounds, reread: report.reread, errors }) + '\n');
    return errors.length ? 1 : 0;
  } catch (e) {
    io.stderr(`lvsd ipvs: ${(e as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}
