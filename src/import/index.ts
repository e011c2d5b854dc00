// `lvsd import-keepalived FILE`: keepalived.conf (and its includes) -> lvsd.yaml on stdout, with what
// could not be converted on stderr as FILE:LINE: context: reason.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { convertKeepalived, type ImportNote, type UserExists } from './convert.js';
import { emitYaml } from './emit.js';
import { MAX_INPUT_BYTES, ReadError, readKeepalived, STDIN_NAME } from './reader.js';
import { oneLine } from '../text/quote.js';

export { splitCommand, type SplitResult } from './command.js';
export { convertKeepalived, type ImportNote, type UserExists } from './convert.js';
export { readKeepalived, ReadError, type Statement } from './reader.js';

export const EXIT_IMPORT_OK = 0;
export const EXIT_IMPORT_UNREADABLE = 1;
export const EXIT_IMPORT_USAGE = 2;
export const EXIT_IMPORT_PARTIAL = 3;

export type ImportResult =
  | { ok: true; yaml: string; notes: ImportNote[]; exitCode: typeof EXIT_IMPORT_OK | typeof EXIT_IMPORT_PARTIAL }
  | { ok: false; error: string; exitCode: typeof EXIT_IMPORT_UNREADABLE };

/** A note's message, at most: its values are quoted and cut already; this bounds what a caller forgot. */
const MAX_NOTE = 1000;

/** `FILE:LINE: message`, one printable line whatever the file name or the message holds. */
export const formatNote = (n: ImportNote) => `${oneLine(n.file)}${n.line > 0 ? `:${n.line}` : ''}: ${oneLine(n.message, MAX_NOTE)}`;

/** Convert FILE (following its includes), or `stdin` when given (FILE is then `-`). Never throws on bad input. */
/** Whether NAME is a user here: getent (NSS: files, LDAP, ...), else /etc/passwd. */
const knownUsers = new Map<string, boolean>();
export function systemUserExists(name: string): boolean {
  let v = knownUsers.get(name);
  if (v === undefined) knownUsers.set(name, v = lookUpUser(name));
  return v;
}
function lookUpUser(name: string): boolean {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8', timeout: 5000 });
  if (!r.error && (r.status === 0 || r.status === 2)) return r.status === 0;
  try { return readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.split(':')[0] === name); } catch { return false; }
}

export function importKeepalived(file: string, stdin?: Uint8Array, userExists: UserExists = systemUserExists): ImportResult {
  const readNotes: ImportNote[] = [];
  let statements;
  try {
    statements = readKeepalived(file, (f, line, message, kind = 'skipped') => readNotes.push({ file: f, line, seq: -1, kind, message }), stdin ? { stdin } : {});
  } catch (e) {
    if (e instanceof ReadError) return { ok: false, error: e.message, exitCode: EXIT_IMPORT_UNREADABLE };
    throw e;
  }
  const { doc, notes: convNotes } = convertKeepalived(statements, userExists);
  const notes = [...readNotes, ...convNotes];
  const skipped = notes.filter((n) => n.kind === 'skipped');
  const changed = notes.filter((n) => n.kind === 'changed');
  const header = [
    `lvsd.yaml converted from ${stdin ? STDIN_NAME : file} by lvsd import-keepalived.`,
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
FILE - reads standard input (its includes are then relative to the current directory). Only
regular files are read, at most ${MAX_INPUT_BYTES / 1024 / 1024} MiB in all.

Exit status: 0 everything converted, 3 some items skipped (the YAML is still printed),
1 FILE cannot be read or parsed, 2 usage error.

Options:
  -h, --help   this help
`;

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

/**
 * Standard input, at most MAX_INPUT_BYTES + 1 bytes: reading stops one byte past the limit (the reader
 * then refuses it), so `lvsd import-keepalived - < /dev/zero` ends instead of filling memory.
 */
async function readStdin(input: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of input) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(b.subarray(0, MAX_INPUT_BYTES + 1 - n));
    n += chunks.at(-1)!.length;
    if (n > MAX_INPUT_BYTES) break; // leaving the loop ends the stream
  }
  return Buffer.concat(chunks);
}

export async function importCommand(file: string, out: Out, input: NodeJS.ReadableStream = process.stdin): Promise<number> {
  let stdin: Uint8Array | undefined;
  if (file === '-') {
    try { stdin = await readStdin(input); } catch (e) {
      out.stderr(`lvsd: ${STDIN_NAME}: cannot read: ${oneLine((e as NodeJS.ErrnoException).code ?? (e as Error).message)}\n`);
      return EXIT_IMPORT_UNREADABLE;
    }
  }
  const r = importKeepalived(file, stdin);
  if (!r.ok) { out.stderr(`lvsd: ${r.error}\n`); return r.exitCode; }
  out.stdout(r.yaml);
  for (const n of r.notes) out.stderr(`${formatNote(n)}${n.kind === 'changed' ? ' [changed]' : ''}\n`);
  if (r.exitCode === EXIT_IMPORT_PARTIAL) out.stderr(`lvsd: ${r.notes.filter((n) => n.kind === 'skipped').length} item(s) not converted\n`);
  return r.exitCode;
}
