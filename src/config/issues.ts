// A configuration problem, located precisely enough that an editor can jump to it.
// Lines and columns are 1-based, as compilers and editors print them.
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Key path of the offending node, e.g. `vrrp_instances[0].vrid`; `(file)` or `(yaml)` when no key applies. */
  readonly path: string;
  readonly message: string;
}

/** `FILE:LINE:COL: KEY.PATH: message` — the one-line format `lvsd check` prints. */
export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.path}: ${i.message}`;
}

export function compareIssues(a: ConfigIssue, b: ConfigIssue): number {
  return a.line - b.line || a.col - b.col || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
    (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}
