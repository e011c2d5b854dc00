// Issue #13: start-up and reload apply the same validation of what the kernel must offer. On a kernel
// without IPVS (this host's; each namespace sees the host kernel), `lvsd run` refuses a config with
// virtual services; a reload that adds them used to report success, start checks and program nothing.
// Now it is refused with the same reason, and the running configuration stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { IpvsClient } from '../../ipvs/client.js';
import { ROOT, VrrpLan, canRunNetns, configYaml, instanceYaml } from './vrrp-netns.js';

const LVSD = join(ROOT, 'bin/lvsd.js');

async function kernelHasIpvs(): Promise<boolean> {
  try { (await IpvsClient.open()).close(); return true; } catch { return false; }
}

const skip = !canRunNetns() ? 'needs root and ip netns' : (await kernelHasIpvs()) ? 'this kernel has IPVS: nothing to refuse' : false;

test('without IPVS: start-up refuses virtual services, and so does a reload that adds them (the old config keeps running)', { skip, timeout: 60_000 }, async (t) => {
  const l = new VrrpLan(['a']);
  t.after(() => l.stop());
  const sock = join(l.dir, 'a.sock');
  const vrrpOnly = `global:\n  state_file: ${l.dir}/state.json\n  control: { listen: "unix:${sock}" }\n  metrics: { listen: "127.0.0.1:9641" }\n${configYaml([instanceYaml({ name: 'vi_1', vrid: 9, priority: 150, interval: '1s', vips: ['192.0.2.10/24'] })])}`;
  const withService = `${vrrpOnly}virtual_services:\n  - name: web\n    address: 192.0.2.10:80\n    forwarding: dr\n    real_servers: [{ address: 192.0.2.1:80 }]\n`;

  // Start-up with a virtual service: refused, nothing started.
  const cfgBad = l.file('bad.yaml', withService);
  const start = spawnSync('ip', ['netns', 'exec', l.nodes.a!.ns, process.execPath, LVSD, 'run', '-c', cfgBad], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(start.status, 1, start.stderr);
  assert.match(start.stderr, /cannot start IPVS/);

  // VRRP only starts; the same virtual service added by reload is refused the same way.
  const cfg = l.file('a.yaml', vrrpOnly);
  const a = l.spawn('a', [process.execPath, LVSD, 'run', '-c', cfg]);
  await a.waitFor(/"msg":"ready"/, 15_000);
  l.file('a.yaml', withService);
  const r = spawnSync('ip', ['netns', 'exec', l.nodes.a!.ns, process.execPath, LVSD, 'reload', '--socket', sock], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /reload refused: the new config has virtual services or lvs_sync_daemon, but this kernel offers no IPVS .*lvsd would refuse to start with it too/);
  await a.waitFor(/"msg":"reload refused: the new config has virtual services/);
  // Nothing of the new file was applied: no check started, the status still shows no service.
  assert.ok(!a.lines.some((x) => /"component":"balancer"|192\.0\.2\.1:80/.test(x)), a.lines.join('\n'));
  const st = JSON.parse(spawnSync('ip', ['netns', 'exec', l.nodes.a!.ns, process.execPath, LVSD, 'status', '--json', '--socket', sock], { encoding: 'utf8' }).stdout) as { services: unknown[]; reloads?: unknown };
  assert.deepEqual(st.services, []);
  a.kill('SIGTERM');
  assert.equal(await a.exited, 0);
});
