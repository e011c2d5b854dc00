// `lvsd events [--since N] [--follow]`: the running daemon's event stream (GET /events) as NDJSON on
// stdout: VRRP transitions and priority changes, quorum changes, real-server verdicts, and a gap line
// where events were lost. --follow stays connected; when the connection drops (lvsd restarting, a
// proxy) it reconnects and resumes after the last event it printed, so nothing is printed twice and
// anything lost is reported as a gap.
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import type { ControlEndpoint } from '../control/client.js';
import { resolveEndpoint } from './control-command.js';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

export const EVENTS_HELP = `Usage: lvsd events [--since N] [--follow] [TARGET]

Print the running daemon's events, one JSON object a line (NDJSON): vrrp_state, vrrp_priority,
quorum, real_server, each with a sequence number "seq"; a "gap" line says events were lost (they
left the daemon's ring, or the daemon restarted).
  --since N              only events after sequence number N (default: all the daemon retains)
  --follow               keep printing new events; on a lost connection reconnect and resume
                         after the last event printed
Where lvsd is (default: the control listen address in -c FILE or /etc/lvsd/lvsd.yaml, else /run/lvsd/control.sock):
  -c, --config FILE      read global.control (listen, token_file) from FILE
  --socket PATH          the control unix socket
  --url URL              http://ADDRESS:PORT of a TCP control listener
  --token-file F         the bearer token for --url
  -h, --help             this help
`;

/** One line is an event or a few words; anything longer is not lvsd talking. */
const MAX_LINE = 1024 * 1024;

export interface Cursor { since: number; boot?: string }

/** What one stream line does to the cursor and what is printed (pure). */
export function onStreamLine(text: string, cursor: Cursor): { print?: string; cursor: Cursor } {
  let v: { kind?: unknown; seq?: unknown; boot?: unknown };
  try { v = JSON.parse(text) as typeof v; } catch { return { cursor }; }
  if (typeof v !== 'object' || v === null) return { cursor };
  if (v.kind === 'hello') {
    // A new run: the daemon answered since/boot with a gap line if it had to.
    return { cursor: { ...cursor, ...(typeof v.boot === 'string' ? { boot: v.boot } : {}) } };
  }
  if (v.kind === 'heartbeat') return { cursor };
  if (v.kind === 'gap') return { print: text, cursor };
  if (typeof v.seq === 'number' && Number.isSafeInteger(v.seq)) {
    // Never twice: a resumed stream starts after since, but a line at or before it is dropped anyway.
    if (v.seq <= cursor.since) return { cursor };
    return { print: text, cursor: { ...cursor, since: v.seq } };
  }
  return { cursor };
}

/** One GET /events; resolves when the daemon ends the stream (or rejects on a connection error). */
export function readEventStream(ep: ControlEndpoint, cursor: Cursor, follow: boolean, onLine: (text: string) => void, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const qs = new URLSearchParams({ since: String(cursor.since), ...(cursor.boot ? { boot: cursor.boot } : {}), ...(follow ? { follow: '1' } : {}) });
    const path = `/events?${qs}`;
    const headers: Record<string, string> = { accept: 'application/x-ndjson' };
    let url: URL;
    if (ep.kind === 'unix') url = new URL(path, 'http://lvsd');
    else {
      url = new URL(path.slice(1), ep.url.endsWith('/') ? ep.url : `${ep.url}/`);
      if (ep.token) headers.authorization = `Bearer ${ep.token}`;
    }
    const req = request(url, { method: 'GET', headers, agent: false, ...(ep.kind === 'unix' ? { socketPath: ep.socketPath } : {}), ...(signal ? { signal } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => { if (chunks.length < 16) chunks.push(c); });
        res.on('end', () => {
          let msg = Buffer.concat(chunks).toString('utf8').slice(0, 500);
          try { msg = (JSON.parse(msg) as { error?: string }).error ?? msg; } catch { /* as sent */ }
          reject(Object.assign(new Error(`${msg} (HTTP ${res.statusCode})`), { status: res.statusCode }));
        });
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) { onLine(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
        if (buf.length > MAX_LINE) req.destroy(new Error(`a line over ${MAX_LINE} bytes`));
      });
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('the daemon closed the stream')));
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function eventsCommand(argv: string[], out: Out, signal?: AbortSignal): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: {
      since: { type: 'string' }, follow: { type: 'boolean', short: 'f' },
      config: { type: 'string', short: 'c' }, socket: { type: 'string' }, url: { type: 'string' }, 'token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    } }));
  } catch (e) {
    out.stderr(`lvsd: ${(e as Error).message}\n\n${EVENTS_HELP}`);
    return 2;
  }
  if (values.help) { out.stdout(EVENTS_HELP); return 0; }
  if (values.since !== undefined && !/^\d{1,15}$/.test(values.since)) { out.stderr(`lvsd: --since takes a sequence number\n\n${EVENTS_HELP}`); return 2; }
  const ep = await resolveEndpoint(values, out);
  if (typeof ep === 'number') return ep;
  let cursor: Cursor = { since: values.since ? Number(values.since) : 0 };
  const onLine = (text: string) => {
    const r = onStreamLine(text, cursor);
    cursor = r.cursor;
    if (r.print !== undefined) out.stdout(`${r.print}\n`);
  };
  let delay = 250;
  for (;;) {
    try {
      await readEventStream(ep, cursor, !!values.follow, onLine, signal);
      if (!values.follow) return 0;
      delay = 250; // the daemon ended a stream we were following (it is stopping): resume
    } catch (e) {
      if (signal?.aborted) return 0;
      const status = (e as { status?: number }).status;
      if (status !== undefined && status !== 503) { out.stderr(`lvsd: events: ${(e as Error).message}\n`); return 1; }
      if (!values.follow) { out.stderr(`lvsd: events: ${(e as Error).message}\n`); return 69; }
      out.stderr(`lvsd: events: ${(e as Error).message}; reconnecting after seq ${cursor.since}\n`);
    }
    await new Promise<void>((r) => { const t = setTimeout(r, delay); signal?.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true }); });
    if (signal?.aborted) return 0;
    delay = Math.min(5000, delay * 2);
  }
}
