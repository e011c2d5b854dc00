// `ipvsadm -Ln` as the lab tests compare it: one sorted line per destination ("192.0.2.10:80 > 10.0.1.11:80 w1")
// and a bare "192.0.2.10:80 >" for a service without destinations. ipvsadm is the independent reader of
// what lvsd programmed; this only reshapes its text so tests can compare whole tables.
import assert from 'node:assert/strict';

export interface IpvsadmLineOptions {
  /** Prefix each service with its protocol ("UDP 192.0.2.10:53"). Default false. */
  protocol?: boolean;
  /** Append the weight (" w1"). Default true. */
  weight?: boolean;
}

export function ipvsadmLines(out: string, o: IpvsadmLineOptions = {}): string[] {
  const lines: string[] = [];
  let svc = '';
  for (const l of out.split('\n')) {
    const s = /^(TCP|UDP|SCTP|FWM)\s+(\S+)/.exec(l);
    if (s) { svc = o.protocol ? `${s[1]} ${s[2]}` : s[2]!; lines.push(`${svc} >`); continue; }
    const d = /^\s+->\s+(\S+)\s+\S+\s+(\d+)/.exec(l);
    if (d && svc) lines.push(`${svc} > ${d[1]}${o.weight === false ? '' : ` w${d[2]}`}`);
  }
  // A service keeps its bare "svc >" line only when it has no destinations.
  return lines.filter((x) => !(x.endsWith('>') && lines.some((y) => y.startsWith(x + ' ')))).sort();
}

/**
 * Polls read() until it equals want (in any order); returns the ms it took. Otherwise fails with the last
 * table and context() (what lvsd said), so a test shows why the kernel never got there.
 */
export async function waitIpvsTable(read: () => Promise<string[]>, want: readonly string[],
  o: { timeoutMs: number; pollMs: number; context: () => string }): Promise<number> {
  const t0 = Date.now();
  const sorted = [...want].sort();
  let last: string[] = [];
  while (Date.now() - t0 < o.timeoutMs) {
    last = await read();
    if (JSON.stringify(last) === JSON.stringify(sorted)) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, o.pollMs));
  }
  assert.deepEqual(last, sorted, `IPVS table (ipvsadm -Ln) never reached the expected state; lvsd said:\n${o.context()}`);
  return -1;
}
