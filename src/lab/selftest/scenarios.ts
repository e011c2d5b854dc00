// Scenarios shared by the lab's own tests, written once and run on every backend that can run them.
import type { Lab } from '../lab.js';

/**
 * Programs a round-robin NAT virtual service with ipvsadm on the director and fetches the VIP `count`
 * times from the client, one connection per request. Returns the real servers that answered, in order.
 */
export async function natRoundRobin(lab: Lab, family: 4 | 6, count: number): Promise<{ answers: string[]; table: string; tableAfter: string }> {
  const d = lab.host('director');
  const a = lab.addresses;
  const vip = family === 4 ? `${a.vip4}:80` : `[${a.vip6}]:80`;
  const rs = (n: number): string => family === 4 ? `${a[`rs${n}_4`]}:80` : `[${a[`rs${n}_6`]}]:80`;
  await d.run(['ipvsadm', '-A', '-t', vip, '-s', 'rr']);
  for (const n of [1, 2, 3]) await d.run(['ipvsadm', '-a', '-t', vip, '-r', rs(n), '-m']);
  const table = await d.run(['ipvsadm', '-Ln', '-t', vip]);
  const url = family === 4 ? `http://${a.vip4}/` : `http://[${a.vip6}]/`;
  // One curl per request inside a single shell: a new connection each time, one round trip to the lab.
  const out = await lab.host('client').sh(`for i in $(seq ${count}); do curl -sS --max-time 5 ${url} || echo FAIL; done`);
  const tableAfter = await d.run(['ipvsadm', '-Ln', '-t', vip]);
  return { answers: out.trim().split('\n'), table, tableAfter };
}
