// `npm run bench -- netlink [--runs N]`: latency of adding then removing one address (a VIP) through
// lvsd's netlink transport vs `ip addr add` + `ip addr del` as child processes (what a daemon that
// shells out to iproute2 pays), in a fresh network namespace, interleaved run by run.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Rtnetlink, IFA_F_NODAD } from '../../src/netlink/index.js';
import type { BenchResult } from './main.js';
import { median } from './_stats.js';

const run$ = promisify(execFile);

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]!; };
const round = (x: number) => Math.round(x * 10000) / 10000;

export async function run(args: string[]): Promise<BenchResult> {
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? Number(args[i + 1]) : 500;
  const ns = `lvsd-bench-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const rt = Rtnetlink.open({ netns: ns });
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
    const ifindex = (await rt.listLinks()).find((l) => l.name === 'v0')!.index;
    const lvsd4: number[] = [], ip4: number[] = [], lvsd6: number[] = [], ip6: number[] = [];
    const v4 = { ifindex, address: '192.0.2.10', prefixLength: 24 };
    const v6 = { ifindex, address: '2001:db8::10', prefixLength: 64, flags: IFA_F_NODAD };
    const ipCmd = (...a: string[]) => run$('ip', ['-n', ns, ...a]);
    for (let r = 0; r < runs; r++) {
      let t = process.hrtime.bigint();
      await rt.addAddress(v4);
      await rt.removeAddress(v4);
      lvsd4.push(Number(process.hrtime.bigint() - t) / 1e6);

      t = process.hrtime.bigint();
      await ipCmd('addr', 'add', '192.0.2.10/24', 'dev', 'v0');
      await ipCmd('addr', 'del', '192.0.2.10/24', 'dev', 'v0');
      ip4.push(Number(process.hrtime.bigint() - t) / 1e6);

      t = process.hrtime.bigint();
      await rt.addAddress(v6);
      await rt.removeAddress(v6);
      lvsd6.push(Number(process.hrtime.bigint() - t) / 1e6);

      t = process.hrtime.bigint();
      await ipCmd('-6', 'addr', 'add', '2001:db8::10/64', 'dev', 'v0', 'nodad');
      await ipCmd('-6', 'addr', 'del', '2001:db8::10/64', 'dev', 'v0');
      ip6.push(Number(process.hrtime.bigint() - t) / 1e6);
      if ((r + 1) % 100 === 0) process.stderr.write(`netlink bench: ${r + 1}/${runs} runs\n`);
    }
    const lvsd = median(lvsd4), reference = median(ip4);
    return {
      bench: 'netlink', metric: 'addr_add_del_median', lvsd: round(lvsd), reference: round(reference), ratio: round(lvsd / reference), unit: 'ms',
      runs, lvsd_p90: round(pct(lvsd4, 0.9)), reference_p90: round(pct(ip4, 0.9)),
      ipv6_lvsd: round(median(lvsd6)), ipv6_reference: round(median(ip6)),
    };
  } finally {
    rt.close();
    execFileSync('ip', ['netns', 'del', ns]);
  }
}
