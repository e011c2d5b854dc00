// LVS-DR in the lab (src/demo/dr.ts). First the layout itself, with one director programmed by
// ipvsadm: the real servers hold the VIP on lo and stay silent on ARP for it, the director forwards
// at layer 2 and never sees a reply. Judges: tcpdump on the client (who answers ARP for the VIP),
// ipvsadm -Ln --stats on the director (DR: packets in, none out), and the bodies nginx serves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, bootKernel, isRoot, type LabKernel } from '../lab/index.js';
import { drLayout, drTopology, DR_ADDRESSES } from '../../src/demo/dr.js';

const skip = !isRoot() && 'the lab needs root';
const VIP = DR_ADDRESSES.vip4;
let kernel: LabKernel | undefined;

before(async () => { if (!skip) kernel = await bootKernel(); });
after(async () => { await kernel?.stop(); });

async function mac(lab: Lab, host: string): Promise<string> {
  const out = await lab.host(host).run(['cat', '/sys/class/net/eth0/address']);
  return out.trim();
}

test('DR layout, one director by hand: VIP on the real servers\' lo, only the director answers ARP, replies bypass it', { skip, timeout: 120_000 }, async (t) => {
  const lab = await Lab.start(drTopology, { kernel });
  t.after(() => lab.stop());
  for (const rs of drLayout.realServers) {
    await drLayout.prepareRealServer!(lab.host(rs), rs);
    await lab.host(rs).startNginx();
  }
  for (const rs of drLayout.realServers) {
    const lo = await lab.host(rs).run(['ip', '-o', '-4', 'addr', 'show', 'dev', 'lo']);
    assert.match(lo, new RegExp(` ${VIP.replace(/\./g, '\\.')}/32 `), `${rs} lo: ${lo}`);
    const sys = await lab.host(rs).run(['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce']);
    assert.deepEqual(sys.trim().split('\n'), ['1', '2'], rs);
  }

  const d = lab.host('director1');
  await d.sh([
    `ip addr add ${VIP}/24 dev eth0`,
    `ipvsadm -A -t ${VIP}:80 -s rr`,
    ...drLayout.realServers.map((rs) => `ipvsadm -a -t ${VIP}:80 -r ${drLayout.realServerEndpoint(rs)} -g`),
  ].join(' && '));

  // Who answers ARP for the VIP: capture on the client while it resolves the VIP from scratch.
  const client = lab.host('client');
  await client.run(['ip', 'neigh', 'flush', 'dev', 'eth0']);
  const dump = await client.spawn(['tcpdump', '-l', '-n', '-e', '-i', 'eth0', 'arp']);
  await dump.waitFor('listening on', { which: 'stderr' });
  const bodies: string[] = [];
  for (let i = 0; i < 6; i++) bodies.push(await client.run(['curl', '-sS', '--max-time', '5', `http://${VIP}/`]));
  await new Promise((r) => setTimeout(r, 300));
  await dump.stop();
  const replies = dump.output.split('\n').filter((l) => new RegExp(`Reply ${VIP.replace(/\./g, '\\.')} is-at`).test(l));
  const d1 = await mac(lab, 'director1');
  t.diagnostic(`ARP replies for the VIP: ${replies.length}, ${replies.map((l) => /is-at (\S+?),?\s/.exec(l)?.[1]).join(' ')}; director1 is ${d1}`);
  assert.ok(replies.length >= 1, `no ARP reply for the VIP seen:\n${dump.output}`);
  for (const l of replies) assert.match(l, new RegExp(`is-at ${d1}`), `an ARP reply for the VIP not from director1: ${l}`);

  // Round robin over the three: every real server answered through the VIP.
  assert.deepEqual([...new Set(bodies.map((b) => b.trim()))].sort(), ['rs1', 'rs2', 'rs3']);

  // DR: the director only sees the client's packets; each real server answered from the VIP directly.
  // The kernel sums its per-CPU counters every 2 s (estimator), so read until all six are counted.
  let stats = '', conns = '', inPkts = '', outPkts = '';
  for (const end = Date.now() + 6000; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
    stats = await d.run(['ipvsadm', '-Ln', '--stats', '-t', `${VIP}:80`]);
    [, , conns = '', inPkts = '', outPkts = ''] = stats.split('\n').find((l) => l.startsWith('TCP'))!.trim().split(/\s+/);
    if (conns === '6') break;
  }
  t.diagnostic(`director1 service stats: conns ${conns} inpkts ${inPkts} outpkts ${outPkts}`);
  assert.equal(conns, '6');
  assert.ok(Number(inPkts) >= 6 * 5, stats);
  assert.equal(outPkts, '0', stats);
});
