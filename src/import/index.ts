// `lvsd import-keepalived FILE`: keepalived.conf (and its includes) -> lvsd.yaml on stdout, with what
// could not be converted on stderr as FILE:LINE: context: reason.
import { convertKeepalived, type ImportNote } from './convert.js';
import { emitYaml } from './emit.js';
import { ReadError, readKeepalived } from './reader.js';

export { splitCommand, type SplitResult } from './command.js';
export { convertKeepalived, type ImportNote } from './convert.js';
export { readKeepalived, ReadError, type Statement } from './reader.js';

export const EXIT_IMPORT_OK = 0;
export const EXIT_IMPORT_UNREADABLE = 1;
export const EXIT_IMPORT_USAGE = 2;
export const EXIT_IMPORT_PARTIAL = 3;

export type ImportResult =
  | { ok: true; yaml: string; notes: ImportNote[]; exitCode: typeof EXIT_IMPORT_OK | typeof EXIT_IMPORT_PARTIAL }
  | { ok: false; error: string; exitCode: typeof EXIT_IMPORT_UNREADABLE };

export const formatNote = (n: ImportNote) => `${n.file}${n.line > 0 ? `:${n.line}` : ''}: ${n.message}`;

/** Convert FILE (following its includes). Never throws on bad input. */
export function importKeepalived(file: string): ImportResult {
  const readNotes: ImportNote[] = [];
  let statements;
  try {
    statements = readKeepalived(file, (f, line, message) => readNotes.push({ file: f, line, seq: -1, kind: 'skipped', message }));
  } catch (e) {
    if (e instanceof ReadError) return { ok: false, error: e.message, exitCode: EXIT_IMPORT_UNREADABLE };
    throw e;
  }
  const { doc, notes: convNotes } = convertKeepalived(statements);
  const notes = [...readNotes, ...convNotes];
  const skipped = notes.filter((n) => n.kind === 'skipped');
  const changed = notes.filter((n) => n.kind === 'changed');
  const header = [
    `lvsd.yaml converted from ${file} by lvsd import-keepalived.`,
    'keepalived defaults that lvsd does not share are written out; review before use (lvsd check -c FILE).',
  ];
  if (changed.length > 0) header.push('', `Changed to the nearest form lvsd accepts (${changed.length}):`, ...changed.map((n) => `  ${formatNote(n)}`));
  if (skipped.length > 0) header.push('', `Not converted (${skipped.length}):`, ...skipped.map((n) => `  ${formatNote(n)}`));
  let yaml = emitYaml(doc, header);
  if (doc.size === 0) yaml += '{}\n';
  return { ok: true, yaml, notes, exitCode: skipped.length > 0 ? EXIT_IMPORT_PARTIAL : EXIT_IMPORT_OK };
}

export const IMPORT_HELP = `Usage: lvsd import-keepalived FILE

Convert a keepalived configuration (following its include directives) into lvsd.yaml, printed on
stdout. What lvsd cannot express is listed on stderr as FILE:LINE: context: reason, and where
keepalived accepts something lvsd refuses, the nearest valid form is written with a comment.

Exit status: 0 everything converted, 3 some items skipped (the YAML is still printed),
1 FILE cannot be read or parsed, 2 usage error.

Options:
  -h, --help   this help
`;

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

export function importCommand(file: string, out: Out): number {
  const r = importKeepalived(file);
  if (!r.ok) { out.stderr(`lvsd: ${r.error}\n`); return r.exitCode; }
  out.stdout(r.yaml);
  for (const n of r.notes) out.stderr(`${formatNote(n)}${n.kind === 'changed' ? ' [changed]' : ''}\n`);
  if (r.exitCode === EXIT_IMPORT_PARTIAL) out.stderr(`lvsd: ${r.notes.filter((n) => n.kind === 'skipped').length} item(s) not converted\n`);
  return r.exitCode;
}
