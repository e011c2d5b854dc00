// What every part of the keepalived -> lvsd conversion shares: the notes it collects, keepalived's scalar
// forms (seconds, integers, command strings), name mapping, and key order.
import { type IpAddress } from '../config/address.js';
import { formatDuration } from '../config/duration.js';
import { splitCommand } from './command.js';
import { YList, YMap } from './emit.js';
import type { Statement } from './reader.js';
import { escapeText, quoteValue } from '../text/quote.js';

/** skipped: not in the output (exit 3). changed: converted to the nearest valid lvsd form (exit 0). seq: reading order. */
export type ImportNote = { file: string; line: number; seq: number; kind: 'skipped' | 'changed'; message: string };

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class Ctx {
  readonly notes: ImportNote[] = [];
  // What lvsd requires to be unique across the whole file (semantic.ts): taken by the first converted owner.
  readonly vrids = new Map<string, string>();
  readonly vipOwners = new Map<string, string>();
  readonly groupOf = new Map<string, string>();
  readonly serviceKeys = new Map<string, string>();
  /** The first command converted: scripts change user when keepalived's script_user was left to its default. */
  firstCommand: Statement | undefined;
  skip(s: Statement, where: string, why: string): void {
    this.notes.push({ file: s.file, line: s.line, seq: s.seq, kind: 'skipped', message: `${where}${where ? ': ' : ''}${why}` });
  }
  unsupported(s: Statement, where: string, why = 'has no lvsd equivalent (not supported)'): void {
    if (s.key.startsWith('@')) {
      // keepalived's conditional lines apply only to the director started with that config id (keepalived -i).
      this.skip(s, where, `${quoteValue([s.key, ...s.args].join(' '))} is conditional on keepalived config id ${quoteValue(s.key.replace(/^@\^?/, ''))}; lvsd has no config ids: write this director's value by hand`);
      return;
    }
    this.skip(s, where, `${quoteValue(s.key)} ${why}`);
  }
  change(s: Statement, where: string, what: string): string {
    this.notes.push({ file: s.file, line: s.line, seq: s.seq, kind: 'changed', message: `${where}${where ? ': ' : ''}${what}` });
    return what;
  }
}

// ---- scalars ----

/** keepalived timers are seconds, possibly fractional ("0.92"). */
export function seconds(s: Statement, ctx: Ctx, where: string, i = 0): number | undefined {
  const v = s.args[i];
  if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) { ctx.skip(s, where, `${quoteValue(s.key)} needs a number of seconds, got ${quoteValue(v ?? '')}`); return undefined; }
  return Math.round(Number(v) * 1000);
}
export function integer(s: Statement, ctx: Ctx, where: string, min: number, max: number, i = 0): number | undefined {
  const v = s.args[i];
  if (v === undefined || !/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) { ctx.skip(s, where, `${quoteValue(s.key)} needs an integer ${min}-${max}, got ${quoteValue(v ?? '')}`); return undefined; }
  return Number(v);
}
/** A port argument: decimal digits only, min-65535; undefined when it is not one. */
export function portNumber(text: string | undefined, min: 0 | 1): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= 65535 ? n : undefined;
}
export const dur = (ms: number) => formatDuration(ms);
export const hostPort = (ip: IpAddress, port?: number) => (port === undefined ? ip.address : ip.family === 6 ? `[${ip.address}]:${port}` : `${ip.address}:${port}`);

export function command(s: Statement, ctx: Ctx, where: string, argIndex = 0): YList | undefined {
  const text = s.args.slice(argIndex).join(' ');
  // keepalived takes the command from one quoted argument or, unquoted, from the rest of the line.
  const r = splitCommand(s.args.length - argIndex === 1 ? s.args[argIndex]! : text);
  if (!r.ok) { ctx.skip(s, where, `${quoteValue(s.key)} command ${quoteValue(text)} ${r.reason.startsWith('needs a shell') ? `${r.reason} (lvsd runs commands without a shell; put it in a script)` : r.reason}`); return undefined; }
  if (!r.argv[0]!.startsWith('/')) { ctx.skip(s, where, `${quoteValue(s.key)} command ${quoteValue(r.argv[0])} is a relative path (lvsd runs absolute paths only, with no PATH lookup)`); return undefined; }
  ctx.firstCommand ??= s;
  return new YList(r.argv, true);
}

export class Names {
  private readonly map = new Map<string, string>();
  private readonly used = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();
  constructor(private readonly what: string) {}
  add(original: string, s: Statement, ctx: Ctx): string {
    let n = NAME.test(original) ? original : original.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[_.-]+/, '').slice(0, 64) || this.what;
    const base = n;
    if (this.used.has(n)) {
      // Counting on from the last suffix given to this base: trying -2, -3, ... from the start each time
      // made 100,000 services of one address quadratic (a 1 MB file took 20 s).
      let i = this.nextSuffix.get(base) ?? 2;
      while (this.used.has(n = `${base.slice(0, 60)}-${i}`)) i++;
      this.nextSuffix.set(base, i + 1);
    }
    if (n !== original) ctx.change(s, `${this.what} ${escapeText(original)}`, `renamed to ${quoteValue(n)} (lvsd names are letters, digits, _ . -, at most 64, unique)`);
    this.map.set(original, n);
    this.used.add(n);
    return n;
  }
  get(original: string): string | undefined { return this.map.get(original); }
}


export function reorder(m: YMap, keys: string[]): YMap {
  const out = new YMap();
  for (const k of keys) { const e = m.entries.find((x) => x.key === k); if (e) out.entries.push(e); }
  for (const e of m.entries) if (!keys.includes(e.key)) out.entries.push(e);
  return out;
}

/** Keywords keepalived 2.2.7 no longer knows (it warns "Unknown keyword" and goes on), or that are at lvsd's behaviour already. */
const QUIET: Record<string, string> = {
  lvs_id: 'ignored: obsolete (keepalived 1.x; 2.2.7 reports it as an unknown keyword and ignores it)',
  nat_mask: 'ignored: obsolete (keepalived 1.x; 2.2.7 reports it as an unknown keyword and ignores it)',
  vrrp_skip_check_adv_addr: "ignored: lvsd accepts an advert whose address list differs, as keepalived without vrrp_strict, and only counts it (lvsd_vrrp_* 'address_list_mismatch'); skipping the comparison changes nothing else",
  skip_check_adv_addr: "ignored: lvsd accepts an advert whose address list differs, as keepalived without vrrp_strict, and only counts it (lvsd_vrrp_* 'address_list_mismatch'); skipping the comparison changes nothing else",
};
/** Keywords whose value is keepalived's default, which is also lvsd's behaviour: a quiet note when at it. */
export function quietKeyword(s: Statement, ctx: Ctx, where: string): boolean {
  const why = QUIET[s.key];
  if (why !== undefined) { ctx.change(s, where, `${quoteValue(s.key)} ${why}`); return true; }
  if ((s.key === 'vrrp_garp_interval' || s.key === 'vrrp_gna_interval' || s.key === 'garp_interval' || s.key === 'gna_interval') && /^0+(\.0+)?$/.test(s.args[0] ?? '')) {
    // keepalived 2.2.7 refuses 0 ("outside range") and keeps its default, which is 0: no delay between messages, as lvsd.
    ctx.change(s, where, `${quoteValue(`${s.key} ${s.args[0]}`)} ignored: at its default (no delay between gratuitous ARP/NA messages, as lvsd sends them)`);
    return true;
  }
  return false;
}
