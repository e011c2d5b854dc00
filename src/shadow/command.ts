// `lvsd shadow -c lvsd.yaml [--duration 10m] [--interval 1s] [--json]`: see shadow.ts. Prints each
// difference as it appears (+) and clears (-), then a summary; exit 0 when the last comparison was
// clean, 1 when not (or the config is invalid), 2 on a usage error.
import { parseArgs } from 'node:util';
import { formatIssue, loadConfig } from '../config/index.js';
import { parseDuration } from '../config/duration.js';
import { formatChange, Shadow, type ShadowChange, type ShadowSummary } from './shadow.js';

export const SHADOW_HELP = `Usage: lvsd shadow [-c FILE] [--duration 10m] [--interval 1s] [--json]

Run lvsd beside the keepalived in charge of this director, touching nothing: the health checks of
FILE run, the kernel's IPVS table is read (never written), VRRP is listened to (no advert is sent,
no address added), no notify command runs. Every interval
lvsd's desired table and its checks' verdicts are compared with the kernel's table; each difference
is printed when it appears (+) and when it clears (-):

  service-missing       a service of FILE is not in the kernel
  service-settings      scheduler, flags or persistence differ
  verdict               lvsd's check and keepalived's (what the kernel holds) disagree on a server
  weight                both say up, the weights differ
  destination-settings  forwarding method or thresholds differ
  destination-extra     the kernel has a real server FILE does not list
  vrrp-state            keepalived's VRRP state here differs from the one lvsd would hold
                        (lvsd listens to the adverts, never sends)
  vrrp-advert           adverts lvsd would refuse (password, interval, address list)

Stops after --duration, or on Ctrl-C / SIGTERM, with a summary. Cut over when it stays clean.
Exit: 0 clean at the end, 1 differences (or an invalid FILE), 2 usage.

Options:
  -c, --config FILE     the configuration file (default /etc/lvsd/lvsd.yaml)
  --duration TIME       stop after this long (default: until interrupted)
  --interval TIME       between comparisons (default 1s)
  --json                the summary as JSON
  -h, --help            this help
`;

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

function summaryText(s: ShadowSummary): string {
  const lines = [`${s.rounds} comparison${s.rounds === 1 ? '' : 's'}; ${s.clean ? 'clean at the end' : `${s.current.length} difference${s.current.length === 1 ? '' : 's'} at the end`}${s.readError ? `; the last kernel read failed: ${s.readError}` : ''}`];
  for (const v of s.vrrp) lines.push(`  vrrp ${v.instance}: lvsd would be ${v.wouldBe.state.toUpperCase()} (${v.wouldBe.why})`);
  for (const d of s.seen) lines.push(`  ${s.current.some((c) => c.kind === d.kind && c.service === d.service && c.server === d.server && c.detail === d.detail) ? 'now ' : 'was '} ${d.kind} ${d.service}${d.server ? ` ${d.server}` : ''}: ${d.detail} (${d.rounds} of ${s.rounds})`);
  return `${lines.join('\n')}\n`;
}

export async function shadowCommand(argv: string[], out: Out, signal?: AbortSignal): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: { config: { type: 'string', short: 'c' }, duration: { type: 'string' }, interval: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    out.stderr(`lvsd: ${(e as Error).message}\n\n${SHADOW_HELP}`);
    return 2;
  }
  if (values.help) { out.stdout(SHADOW_HELP); return 0; }
  const durations: Record<string, number | undefined> = {};
  for (const k of ['duration', 'interval'] as const) {
    if (values[k] === undefined) continue;
    const d = parseDuration(values[k]);
    if (!d.ok || d.value <= 0) { out.stderr(`lvsd: --${k}: ${d.ok ? 'must be more than 0' : d.message}\n`); return 2; }
    durations[k] = d.value;
  }
  const file = values.config ?? '/etc/lvsd/lvsd.yaml';
  const r = await loadConfig(file);
  if (!r.ok) {
    out.stderr(r.errors.map((e) => `${formatIssue(e)}\n`).join('') + `${r.errors.length} error${r.errors.length === 1 ? '' : 's'} in ${file}\n`);
    return 1;
  }
  let shadow: Shadow;
  try {
    shadow = await Shadow.start(r.config, { intervalMs: durations.interval ?? 1000, log: (level, msg) => { if (level !== 'debug') out.stderr(`lvsd shadow: ${msg}\n`); } });
  } catch (e) {
    out.stderr(`lvsd: cannot start shadow mode: ${(e as Error).message}\n`);
    return 1;
  }
  out.stderr(`lvsd shadow: comparing ${file} with the kernel's IPVS table every ${durations.interval ?? 1000} ms; nothing is written\n`);
  shadow.on('change', (c: ShadowChange) => out.stdout(`${new Date(c.at).toISOString()} ${formatChange(c)}\n`));
  await new Promise<void>((resolve) => {
    const done = () => { clearTimeout(timer); process.off('SIGINT', done); process.off('SIGTERM', done); signal?.removeEventListener('abort', done); resolve(); };
    const timer = durations.duration !== undefined ? setTimeout(done, durations.duration) : undefined;
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    signal?.addEventListener('abort', done);
  });
  await shadow.compare();
  await shadow.stop();
  const s = shadow.summary();
  out.stdout(values.json ? `${JSON.stringify(s)}\n` : summaryText(s));
  return s.clean ? 0 : 1;
}
