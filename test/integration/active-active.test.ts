// VRRP active/active without lost flows (issue #14, deploy/examples/active-active.yaml in the lab):
// director1 is master of VIP .10, director2 of VIP .20, both serve the same DR pool with mh; lvsd
// sets net.ipv4.vs.sloppy_tcp and runs the kernel's sync daemon in both roles. A long-lived TCP
// connection through director1's VIP keeps talking through director2 after director1 dies (kill -9
// and links down). Judges: sysctl(8) and `ipvsadm -L --daemon` / `ipvsadm -Lnc` on the directors, and
// the load client's own connection (data sent after the failover, the reply read).
// Also `lvsd doctor` on a director before and after lvsd runs.
//
// LVSD_AA_VARIANT shows what each part of the fix does; the first test then runs without it and is
// expected to fail where the part missing was the one that mattered. Not for CI:
//   none        keepalived's defaults: sync follows vip2 only (director1 is its backup, so it sends
//               nothing), global.ipvs.sysctls: off (sloppy_tcp stays 0);
//   sloppy-only the same, with sloppy_tcp=1 set by hand: mh alone must pick the same real server;
//   sync-only   role: both, sysctls off: the synced connection alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { Lab, bootKernel, isRoot, type LabKernel } from '../../src/lab/index.js';
import { drTopology, realServerScript, DR_ADDRESSES } from '../../src/demo/dr.js';
import { DEMO_CHECKS_YAML, demoGlobalYaml, type Layout, type LayoutOptions } from '../../src/demo/layout.js';
import { DirectorLab } from '../../src/demo/director-lab.js';
import { LoadClient } from '../../src/demo/load.js';

const skip = !isRoot() && 'the lab needs root';
const variant = process.env.LVSD_AA_VARIANT as 'none' | 'sloppy-only' | 'sync-only' | undefined;
const broken = variant !== undefined;
const LVSD = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));
const VIP1 = DR_ADDRESSES.vip4; // 192.0.2.10, director1's
const VIP2 = '192.0.2.20'; // director2's
const REAL_SERVERS = ['rs1', 'rs2', 'rs3'] as const;
const ADVERT_MS = 100;
const PRIO: Record<string, [number, number]> = { director1: [150, 100], director2: [100, 150] };
let kernel: LabKernel | undefined;

before(async () => { if (!skip) kernel = await bootKernel(); });
after(async () => { await kernel?.stop(); });

function config(director: string, opts: LayoutOptions): string {
  const [p1, p2] = PRIO[director]!;
  const servers = REAL_SERVERS.map((h) => `      - address: ${DR_ADDRESSES[h]}:80`).join('\n');
  const service = (name: string, vip: string) => `  - name: ${name}
    address: ${vip}:80
    scheduler: mh
    scheduler_flags: [mh-fallback, mh-port]
    forwarding: dr
    checks: [web]
    real_servers:
${servers}`;
  const global = variant === 'none' || variant === 'sloppy-only'
    ? `${demoGlobalYaml(director, opts.dir, { interface: 'eth0', instance: 'vip2', syncId: 30 })}\n  ipvs:\n    sysctls: off`
    : `${demoGlobalYaml(director, opts.dir, { interface: 'eth0', instance: 'vip1', syncId: 30 })}\n    role: both${variant === 'sync-only' ? '\n  ipvs:\n    sysctls: off' : ''}`;
  return `# lvsd active/active, ${director}
${global}

vrrp_instances:
  - {name: vip1, interface: eth0, vrid: 31, priority: ${p1}, version: 3, advert_interval: ${ADVERT_MS}ms, virtual_ips: [${VIP1}/24], preempt: ${opts.preempt}}
  - {name: vip2, interface: eth0, vrid: 32, priority: ${p2}, version: 3, advert_interval: ${ADVERT_MS}ms, virtual_ips: [${VIP2}/24], preempt: ${opts.preempt}}

${DEMO_CHECKS_YAML}

virtual_services:
${service('web1', VIP1)}
${service('web2', VIP2)}
`;
}

const layout: Layout = {
  name: 'active-active',
  description: 'two DR directors, each master of one VIP, the same pool behind both with mh',
  topology: drTopology,
  directors: ['director1', 'director2'],
  realServers: REAL_SERVERS,
  client: 'client',
  vip: { address: VIP1, port: 80 },
  masterAddresses: [VIP1],
  watched: { vrid: 31, interface: 'eth0', advertIntervalMs: ADVERT_MS },
  priorities: { director1: 150, director2: 100 },
  realServerEndpoint: (name) => `${DR_ADDRESSES[name as (typeof REAL_SERVERS)[number]]}:80`,
  configFor: config,
  prepareRealServer: async (host) => { await host.sh(`${realServerScript(VIP1)} && ip addr replace ${VIP2}/32 dev lo`); },
};

const LOAD = { rate: 40, keepalive: 2, fresh: 2, timeoutMs: 3000, tickMs: 250 };
const IN_FLIGHT = LOAD.keepalive + LOAD.fresh + 1;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('active/active pair: lvsd sets sloppy_tcp and runs sync in both roles; director1 killed, the long-lived connection through its VIP keeps talking through director2', { skip, timeout: 240_000 }, async (t) => {
  const dl = await DirectorLab.start({ layout, kernel: kernel!, preempt: true, log: (l) => t.diagnostic(l) });
  t.after(() => dl.stop());
  await dl.host('client').run(['sysctl', '-q', '-w', 'net.ipv4.neigh.eth0.locktime=0']);
  await dl.waitForTable('director2');
  // Each director master of its own VIP.
  const holdings = async () => [...(await Promise.all(['director1', 'director2'].map(async (d) => [d, await dl.host(d).run(['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])] as const)))];
  for (let end = Date.now() + 15_000; ; await sleep(200)) {
    const h = await holdings();
    if (h[0]![1].includes(` ${VIP1}/`) && h[1]![1].includes(` ${VIP2}/`) && !h[0]![1].includes(` ${VIP2}/`)) break;
    if (Date.now() > end) throw new Error(`not active/active: ${JSON.stringify(h)}`);
  }
  if (variant === 'sloppy-only') for (const d of ['director1', 'director2']) await dl.host(d).run(['sysctl', '-q', '-w', 'net.ipv4.vs.sloppy_tcp=1']);
  for (const d of ['director1', 'director2']) {
    const sys = (await dl.host(d).run(['sysctl', '-n', 'net.ipv4.vs.sloppy_tcp', 'net.ipv4.vs.schedule_icmp'])).trim().split('\n');
    const daemons = (await dl.host(d).run(['ipvsadm', '-L', '--daemon'])).trim();
    t.diagnostic(`${d}: sloppy_tcp ${sys[0]} schedule_icmp ${sys[1]}; ipvsadm -L --daemon: ${daemons.replace(/\n/g, ' | ')}`);
    if (broken) continue;
    assert.deepEqual(sys, ['1', '1'], `${d}: lvsd set the sysctls`);
    assert.match(daemons, /^master sync daemon \(mcast=eth0, syncid=30[,)]/m, d);
    assert.match(daemons, /^backup sync daemon \(mcast=eth0, syncid=30[,)]/m, d);
  }
  if (!broken) {
    // lvsd's own account (/status): what it changed, from what.
    const st = (await dl.status('director1')).control;
    assert.deepEqual(st?.sysctls?.sysctls.map((e) => [e.key, e.state, e.value, e.was]), [
      ['net.ipv4.vs.sloppy_tcp', 'set', '1', '0'], ['net.ipv4.vs.schedule_icmp', 'set', '1', '0'],
    ]);
    assert.equal(st?.sysctls?.mode, 'auto');
  }

  const load = await dl.startLoad(LOAD);
  await load.flowing(40);
  await sleep(1500);
  // director2 never saw a packet for VIP1: a VIP1 connection in its table came by the sync daemon.
  const synced = (await dl.host('director2').run(['ipvsadm', '-Lnc'])).split('\n').filter((l) => l.includes(`${VIP1}:80`));
  t.diagnostic(`director2's connections to director1's VIP (from sync): ${synced.length}`);
  if (!broken) assert.ok(synced.length > 0, 'director2 received director1\'s connections');

  const { at } = await dl.killDirector('director1');
  await dl.waitForMaster('director2', 5000);
  await load.flowing(40, 20_000);
  await sleep(LOAD.timeoutMs + 500);
  const tick = await load.after(at + LOAD.timeoutMs + 500);
  const failed = load.failuresBetween(at - LOAD.timeoutMs);
  const breaks = load.longEvents.filter((e) => e.what === 'break' && e.t >= at);
  t.diagnostic(`failover: ${failed.length} failed of ${tick.ok + tick.failed} (${JSON.stringify(LoadClient.byReason(failed))}); long-lived connection: ${JSON.stringify(tick.long)}; breaks after the kill: ${JSON.stringify(breaks)}`);
  assert.equal(breaks.length, 0, `the long-lived connection broke after the kill: ${JSON.stringify(breaks)}`);
  assert.ok(tick.long.exchanges > 0 && tick.long.lastAt > at, `no exchange on the long-lived connection after the kill: ${JSON.stringify(tick.long)}`);
  assert.ok(failed.length <= IN_FLIGHT, `${failed.length} failed requests > ${IN_FLIGHT} in flight`);
});

test('lvsd doctor on a director: sloppy_tcp 0 is a problem (exit 1, with the fix); after lvsd run sets it, all well (exit 0); --json; reset by hand, a reload sets it again', { skip: skip || broken, timeout: 180_000 }, async (t) => {
  const lab = await Lab.start(drTopology, { kernel, services: false });
  t.after(() => lab.stop());
  const d = lab.host('director1');
  const file = join(lab.dir, 'director1.yaml');
  writeFileSync(file, config('director1', { preempt: true, dir: lab.dir }));
  await d.run(['modprobe', 'ip_vs']).catch(() => '');
  const doctor = (...a: string[]) => d.exec([process.execPath, LVSD, 'doctor', '-c', file, ...a]);
  const before = await doctor();
  t.diagnostic(`doctor before lvsd (exit ${before.code}):\n${before.stdout}${before.stderr}`);
  assert.equal(before.code, 1);
  assert.match(before.stdout, /^FAIL sysctl net\.ipv4\.vs\.sloppy_tcp: net\.ipv4\.vs\.sloppy_tcp is 0, needs 1: web1, web2 are active\/active \(lvs_sync_daemon role: both\): a director must accept the middle of a TCP connection another director started, not only a SYN\n {5}fix: run lvsd with global\.ipvs\.sysctls: auto \(the default\), which sets it, or: sysctl -w net\.ipv4\.vs\.sloppy_tcp=1$/m);
  assert.match(before.stdout, /^ok {3}ipvs: IPVS \d+\.\d+\.\d+ answers/m);

  const p = await d.spawnNode(LVSD, ['run', '-c', file]);
  t.after(() => p.stop(5000));
  await p.waitFor(/\bready\b/, { which: 'both', timeoutMs: 30_000 });
  assert.equal((await d.run(['sysctl', '-n', 'net.ipv4.vs.sloppy_tcp'])).trim(), '1');
  const afterRun = await doctor();
  t.diagnostic(`doctor with lvsd running (exit ${afterRun.code}):\n${afterRun.stdout}`);
  assert.equal(afterRun.code, 0);
  assert.match(afterRun.stdout, /^ok {3}sysctl net\.ipv4\.vs\.sloppy_tcp: net\.ipv4\.vs\.sloppy_tcp = 1$/m);
  const json = JSON.parse((await doctor('--json')).stdout) as { ok: boolean; findings: Array<{ status: string; check: string }> };
  assert.equal(json.ok, true);
  assert.ok(json.findings.some((f) => f.check === 'sysctl net.ipv4.vs.sloppy_tcp' && f.status === 'ok'));
  // lvsd logged the change once.
  const changes = () => (p.errors + p.output).match(/sysctl net\.ipv4\.vs\.sloppy_tcp 0 -> 1/g)?.length ?? 0;
  assert.equal(changes(), 1);
  // Someone resets it; a reload (SIGHUP, file unchanged) sets it again and says so once more.
  await d.run(['sysctl', '-q', '-w', 'net.ipv4.vs.sloppy_tcp=0']);
  assert.equal((await doctor()).code, 1);
  await p.kill('SIGHUP');
  for (const end = Date.now() + 10_000; changes() < 2; await sleep(100)) if (Date.now() > end) throw new Error(`no second change logged:\n${p.errors.slice(-2000)}`);
  assert.equal((await d.run(['sysctl', '-n', 'net.ipv4.vs.sloppy_tcp'])).trim(), '1');
  assert.equal((await doctor()).code, 0);
});
