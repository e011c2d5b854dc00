// keepalived runs notify and check commands as strings; lvsd runs argv lists with no shell. This splits a
// command string the way a POSIX shell splits plain words (quotes and backslashes), and refuses anything
// whose meaning needs a shell: pipes, lists, redirections, expansions, globbing.
export type SplitResult = { ok: true; argv: string[] } | { ok: false; reason: string };

const SHELL_ONLY: Array<[RegExp, string]> = [
  [/[|]/, 'a pipe or ||'],
  [/[&]/, '& or &&'],
  [/[;]/, "';' command list"],
  [/[<>]/, 'a redirection'],
  [/[$`]/, 'a $ or ` expansion'],
  [/[*?[]/, 'a glob pattern'],
  [/^~/, 'a ~ expansion'],
  [/[()]/, 'a subshell or parentheses'],
];

export function splitCommand(command: string): SplitResult {
  const argv: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (word !== undefined) { argv.push(word); word = undefined; }
      continue;
    }
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) return { ok: false, reason: "unterminated ' quote" };
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
      continue;
    }
    if (c === '"') {
      let s = '';
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) {
        if (command[j] === '$' || command[j] === '`') return { ok: false, reason: 'needs a shell: a $ or ` expansion inside double quotes' };
        if (command[j] === '\\' && j + 1 < command.length && '"\\$`'.includes(command[j + 1]!)) j++;
        s += command[j];
      }
      if (j >= command.length) return { ok: false, reason: 'unterminated " quote' };
      word = (word ?? '') + s;
      i = j;
      continue;
    }
    if (c === '\\') {
      if (i + 1 < command.length) { word = (word ?? '') + command[i + 1]; i++; }
      continue;
    }
    for (const [re, what] of SHELL_ONLY) {
      if (re.test(c) && (re.source !== '^~' || word === undefined)) return { ok: false, reason: `needs a shell: ${what}` };
    }
    word = (word ?? '') + c;
  }
  if (word !== undefined) argv.push(word);
  if (argv.length === 0) return { ok: false, reason: 'empty command' };
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[0]!)) return { ok: false, reason: 'needs a shell: a VAR=value assignment' };
  return { ok: true, argv };
}
