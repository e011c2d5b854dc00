// ipvlan (keepalived use_ipvlan, `ipvlan: {name, address, mode}`) in the UML lab: the host kernel has
// no ipvlan, the lab kernel loads ipvlan.ko. Two directors on one LAN run lvsd's VRRP engine
// (dist/vrrp/main.js) with a private-mode ipvlan each. Judged from outside: `ip -d link` (the ipvlan,
// its mode, its base interface, lvsd's mark), `ip addr` (the ipvlan's own address, the VIP on the
// master's ipvlan only), and after a SIGTERM the link gone and the VIP moved to the other director.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, bootKernel, type LabKernel, type LabHost, type LabProcess, type Topology } from '../../src/lab/index.js';
import { UML_BINARY } from '../../src/lab/uml.js';

const skip = !existsSync(UML_BINARY) && 'needs user-mode-linux (the host kernel has no ipvlan)';
const VRRP_MAIN = fileURLToPath(new URL('../../vrrp/main.js', import.meta.url));
const VIP = '192.0.2.50';
const LINK = 'ipvl50';

const topology: Topology = {
  name: 'ipvlan-pair',
  lans: { lan: {} },
  hosts: {
    d1: { ifaces: { eth0: { lan: 'lan', addrs: ['192.0.2.2/24'] } } },
    d2: { ifaces: { eth0: { lan: 'lan', addrs: ['192.0.2.3/24'] } } },
  },
};

const config = (priority: number, own: string) => `vrrp_instances:
  - name: v50
    interface: eth0
    vrid: 50
    priority: ${priority}
    version: 3
    advert_interval: 100ms
    virtual_ips: [${VIP}/24]
    ipvlan: {name: ${LINK}, address: ${own}, mode: private}
    garp: {delay: 0s, repeat: 1}
`;

let kernel: LabKernel | undefined;
before(async () => { if (!skip) kernel = await bootKernel({ backend: 'uml' }); });
after(async () => { await kernel?.stop(); });

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const showLink = async (h: LabHost) => (await h.exec(['ip', '-d', 'link', 'show', 'dev', LINK])).stdout;
const addrs = async (h: LabHost, dev: string) => (await h.exec(['ip', '-o', '-4', 'addr', 'show', 'dev', dev])).stdout;
const entered = (p: LabProcess, state: string, from = 0) => new RegExp(`v50: \\w+ -> ${state}`).test(p.output.slice(from));

test('ipvlan (private) on both directors, VIP on the master\'s ipvlan, link removed at SIGTERM, failover moves the VIP', { skip, timeout: 90_000 }, async (t) => {
  const lab = await Lab.start(topology, { kernel: kernel! });
  t.after(() => lab.stop());
  const [d1, d2] = [lab.host('d1'), lab.host('d2')];
  const start = async (h: LabHost, priority: number, own: string) => {
    const file = join(lab.dir, `${h.name}.yaml`);
    writeFileSync(file, config(priority, own));
    return h.spawnNode(VRRP_MAIN, ['-c', file]);
  };
  const p1 = await start(d1, 200, '192.0.2.52');
  await p1.waitUntil(() => entered(p1, 'master') || undefined, { timeoutMs: 15_000, what: 'd1 master' });
  const p2 = await start(d2, 100, '192.0.2.53');
  await p2.waitUntil(() => entered(p2, 'backup') || undefined, { timeoutMs: 15_000, what: 'd2 backup' });
  await sleep(1500); // > 3 x 100 ms + skew: a backup that did not hear the master's adverts would have taken over
  assert.ok(!entered(p2, 'master'), `d2 took over: it does not hear d1's adverts\n${p2.output}${p2.errors}`);

  for (const [h, own] of [[d1, '192.0.2.52'], [d2, '192.0.2.53']] as const) {
    const l = await showLink(h);
    t.diagnostic(`${h.name}: ${l.replace(/\s+/g, ' ').trim()}`);
    assert.match(l, new RegExp(`${LINK}@eth0: <[^>]*\\bUP\\b`), l);
    assert.match(l, /ipvlan\s+mode l2 private/, l);
    assert.match(l, /alias lvsd-vrrp-vmac/, l);
    const eth0Mac = /link\/ether (\S+)/.exec((await h.run(['ip', 'link', 'show', 'dev', 'eth0'])))?.[1];
    assert.ok(eth0Mac && l.includes(`link/ether ${eth0Mac} `), `the ipvlan shares eth0's MAC ${eth0Mac}`);
    assert.match(await addrs(h, LINK), new RegExp(` ${own.replace(/\./g, '\\.')}/32 `));
  }
  assert.match(await addrs(d1, LINK), / 192\.0\.2\.50\/24 /, 'the VIP on the master\'s ipvlan');
  assert.doesNotMatch(await addrs(d1, 'eth0'), /192\.0\.2\.50\//, 'not on eth0');
  assert.doesNotMatch(await addrs(d2, LINK) + await addrs(d2, 'eth0'), /192\.0\.2\.50\//, 'the backup holds no VIP');

  // The master stops: its ipvlan (and the VIP with it) goes; d2 takes over on its own ipvlan.
  const mark = p2.output.length;
  await p1.kill('SIGTERM');
  const s1 = await p1.exited;
  assert.equal(s1.code, 0, `${p1.output}${p1.errors}`);
  assert.equal(await showLink(d1), '', 'd1\'s ipvlan is gone');
  assert.doesNotMatch(await addrs(d1, 'eth0'), /192\.0\.2\.50\//);
  await p2.waitUntil(() => entered(p2, 'master', mark) || undefined, { timeoutMs: 5000, what: 'd2 master' });
  await sleep(200);
  assert.match(await addrs(d2, LINK), / 192\.0\.2\.50\/24 /, 'the VIP moved to d2\'s ipvlan');

  await p2.kill('SIGTERM');
  assert.equal((await p2.exited).code, 0, `${p2.output}${p2.errors}`);
  assert.equal(await showLink(d2), '', 'd2\'s ipvlan is gone');
});
