// `lvsd shadow`'s VRRP half beside a live keepalived pair (host namespaces on a bridge: keepalived
// master in `a` at priority 150, keepalived backup in `b` at 100; lvsd shadow runs in `b` and only
// listens). Judged against keepalived's own state (its log and the VIP in `ip addr`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, VrrpLan, canRunNetns, haveKeepalived } from './vrrp-netns.js';

const skip = !canRunNetns() ? 'needs root and ip netns' : !haveKeepalived() ? 'needs keepalived' : false;
const LVSD = join(ROOT, 'bin/lvsd.js');
const VIP = '192.0.2.40';

const keepalivedConf = (state: string, priority: number) =>
  `vrrp_instance VI_1 {\n  state ${state}\n  interface eth0\n  virtual_router_id 40\n  priority ${priority}\n  version 2\n  advert_int 1\n` +
  `  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n  virtual_ipaddress {\n    ${VIP}/24\n  }\n}\n`;

const lvsdYaml = (priority: number, password: string) => `vrrp_instances:
  - name: VI_1
    interface: eth0
    vrid: 40
    version: 2
    advert_interval: 1s
    priority: ${priority}
    authentication: { type: pass, password: ${password} }
    virtual_ips: [${VIP}/24]
`;

interface Summary { clean: boolean; current: Array<{ kind: string; service: string; detail: string }>; vrrp: Array<{ instance: string; wouldBe: { state: string; why: string } }> }

function shadow(l: VrrpLan, yaml: string): { code: number | null; summary: Summary; stdout: string } {
  const file = l.file(`shadow-${Math.random().toString(36).slice(2)}.yaml`, yaml);
  const r = spawnSync('ip', ['netns', 'exec', l.nodes.b!.ns, process.execPath, LVSD, 'shadow', '-c', file, '--duration', '5s', '--interval', '500ms', '--json'], { encoding: 'utf8', timeout: 60_000 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '{}';
  return { code: r.status, summary: JSON.parse(last) as Summary, stdout: r.stdout + r.stderr };
}

test('shadow beside a keepalived pair: agrees with the backup here, says when lvsd would preempt, and when it would refuse the adverts', { skip, timeout: 120_000 }, async (t) => {
  const l = new VrrpLan(['a', 'b']);
  t.after(() => l.stop());
  const ka = l.keepalived('a', keepalivedConf('MASTER', 150));
  const kb = l.keepalived('b', keepalivedConf('BACKUP', 100));
  await ka.waitFor(/\(VI_1\) Entering MASTER STATE/, 15_000);
  await kb.waitFor(/\(VI_1\) Entering BACKUP STATE/, 15_000);
  assert.ok(l.hasVip('a', VIP) && !l.hasVip('b', VIP));
  const before = l.addrs('b');

  // The same settings as keepalived in b: lvsd would be BACKUP behind a, as keepalived is.
  const same = shadow(l, lvsdYaml(100, 'secret'));
  assert.equal(same.code, 0, same.stdout);
  assert.equal(same.summary.clean, true, same.stdout);
  assert.equal(same.summary.vrrp[0]?.wouldBe.state, 'backup');
  assert.match(same.summary.vrrp[0]!.wouldBe.why, /the master 192\.0\.2\.1 has priority 150, lvsd 100/);

  // A higher priority: lvsd would take over from a (preempt is on by default).
  const higher = shadow(l, lvsdYaml(200, 'secret'));
  assert.equal(higher.code, 1);
  assert.deepEqual(higher.summary.current.map((d) => d.kind), ['vrrp-state']);
  assert.match(higher.summary.current[0]!.detail, /^keepalived here: BACKUP; lvsd would be MASTER: lvsd \(priority 200\) outranks the master 192\.0\.2\.1 \(150\) and preempts$/);

  // Another password: lvsd would refuse a's adverts (and so would claim the VIP: the pair would split).
  const wrong = shadow(l, lvsdYaml(100, 'other'));
  assert.equal(wrong.code, 1);
  const kinds = wrong.summary.current.map((d) => d.kind).sort();
  assert.deepEqual(kinds, ['vrrp-advert', 'vrrp-state']);
  assert.match(wrong.summary.current.find((d) => d.kind === 'vrrp-advert')!.detail, /^adverts from 192\.0\.2\.1 would be refused: auth_failure/);

  // Listening only: keepalived's state and the addresses here are untouched, keepalived never saw a peer.
  assert.equal(l.addrs('b'), before);
  assert.ok(!kb.lines.some((x) => /Entering MASTER STATE/.test(x)), kb.lines.join('\n'));
  const masterAt = ka.lines.findIndex((x) => /\(VI_1\) Entering MASTER STATE/.test(x));
  assert.ok(!ka.lines.slice(masterAt).some((x) => /Entering BACKUP STATE|lower priority|higher priority/i.test(x)), ka.lines.join('\n'));
});
