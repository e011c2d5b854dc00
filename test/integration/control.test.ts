// The control API of a real `lvsd run` on a real kernel: the UML lab's director-pair, lvsd on director1
// only (it becomes master on its own), listening on TCP 0.0.0.0:9642 with a token file. Judges:
// `ipvsadm -Ln` (the kernel's table as ipvsadm reads it) for drain/enable, curl from the client host
// (a non-local peer) for the token policy, and the CLI's text as a person reads it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootKernel, Lab, type LabHost, type LabKernel, type LabProcess } from '../../src/lab/index.js';
import type { ControlStatus } from '../../src/control/status.js';

const LVSD = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));
const VIP = '192.0.2.10';
const GW = '10.0.1.1';
const PORT = 9642;
const TOKEN = 'lab-token-7f3a';

let kernel: LabKernel;
let lab: Lab;
let d1: LabHost;

before(async () => {
  kernel = await bootKernel();
  lab = await Lab.start('director-pair', { kernel });
  d1 = lab.host('director1');
});
after(async () => { await lab?.stop(); await kernel?.stop(); });

function configYaml(vrid = 51): string {
  const dir = lab.dir;
  return `
global:
  router_id: director1
  state_file: ${dir}/state.json
  control: { listen: "0.0.0.0:${PORT}", token_file: ${dir}/token }
  metrics: { listen: "127.0.0.1:9641" }
vrrp_instances:
  - name: VI_1
    interface: eth0
    vrid: ${vrid}
    version: 3
    advert_interval: 100ms
    priority: 200
    virtual_ips: [${VIP}/24]
  - name: VI_GW
    interface: eth1
    vrid: 52
    version: 3
    advert_interval: 100ms
    priority: 200
    virtual_ips: [${GW}/24]
vrrp_sync_groups:
  - name: director
    instances: [VI_1, VI_GW]
virtual_services:
  - name: web
    address: ${VIP}:80
    scheduler: rr
    forwarding: nat
    checks: [{ type: tcp, interval: 300ms, timeout: 200ms }]
    real_servers:
      - address: 10.0.1.11:80
      - address: 10.0.1.12:80
      - address: 10.0.1.13:80
`;
}

/** The weight of each destination of 192.0.2.10:80 in `ipvsadm -Ln`. */
async function weights(h: LabHost): Promise<Record<string, number>> {
  const out = await h.run(['ipvsadm', '-Ln', '-t', `${VIP}:80`]);
  const w: Record<string, number> = {};
  for (const m of out.matchAll(/^\s+->\s+(\d+\.\d+\.\d+\.\d+:\d+)\s+\S+\s+(\d+)/gm)) w[m[1]!] = Number(m[2]);
  return w;
}

async function until<T>(probe: () => Promise<T | undefined>, what: () => string, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timeout: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the control API of lvsd run (lab, director-pair)', { timeout: 240_000 }, () => {
  test('lvsd status shows the VRRP instances and the table; drain/enable change the weight in ipvsadm -Ln; non-local calls need the token', async (t) => {
    const file = join(lab.dir, 'lvsd.yaml');
    writeFileSync(file, configYaml());
    writeFileSync(join(lab.dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    const p: LabProcess = await d1.spawnNode(LVSD, ['run', '-c', file]);
    const tail = () => p.errors.slice(-3000);
    await p.waitFor(/"msg":"ready"/, { timeoutMs: 30_000 });
    await p.waitFor(/VI_1: \w+ -> master/, { timeoutMs: 15_000 });
    await until(async () => { const w = await weights(d1); return Object.keys(w).length === 3 ? w : undefined; }, () => `3 real servers in the table; lvsd: ${tail()}`);
    // Traffic through the VIP so the table has connections to show.
    for (let i = 0; i < 3; i++) assert.equal((await lab.host('client').exec(['curl', '-s', '-m', '3', `http://${VIP}/`])).code, 0);

    const cli = (...args: string[]) => d1.exec([process.execPath, LVSD, ...args, '-c', file]);

    // lvsd status, as a person reads it (loopback TCP: status needs no token).
    const st = await cli('status');
    assert.equal(st.code, 0, st.stderr);
    t.diagnostic(`lvsd status in the lab:\n${st.stdout}`);
    assert.match(st.stdout, /^lvsd on director1 \(pid \d+\): up \d+s, config [0-9a-f]{12}, reloads 0 ok \/ 0 failed\n/);
    assert.match(st.stdout, /\n {2}VI_1 {2}MASTER {2}priority 200 {2}vrid 51 v3 on eth0 {2}VIPs 192\.0\.2\.10\n/);
    assert.match(st.stdout, /\n {2}VI_GW {2}MASTER {2}priority 200 {2}vrid 52 v3 on eth1 {2}VIPs 10\.0\.1\.1\n/);
    assert.match(st.stdout, /\nIP Virtual Server version \d+\.\d+\.\d+ \(size=\d+\)\nProt LocalAddress:Port Scheduler Flags\n {2}-> RemoteAddress:Port {11}Forward Weight ActiveConn InActConn\n/);
    assert.match(st.stdout, /\nTCP {2}192\.0\.2\.10:80 rr {2}\[web, quorum up\]\n/);
    for (const rs of ['10.0.1.11:80', '10.0.1.12:80', '10.0.1.13:80']) assert.match(st.stdout, new RegExp(`\\n {2}-> ${rs.replace(/\./g, '\\.')} +Masq +1 +\\d+ +\\d+ +up +\\S`));

    // The JSON has the same table the kernel reports: three connections served through the VIP.
    const js = await cli('status', '--json');
    const status = JSON.parse(js.stdout) as ControlStatus;
    const web = status.services.find((s) => s.name === 'web')!;
    assert.equal(web.servers.reduce((n, s) => n + (s.activeConns ?? 0) + (s.inactConns ?? 0), 0), 3);
    assert.deepEqual(status.vrrp.map((v) => [v.name, v.state]), [['VI_1', 'master'], ['VI_GW', 'master']]);

    // Drain: weight 0 in the kernel when the command returns; enable: back to 1.
    const dr = await cli('drain', 'web', '10.0.1.12:80');
    assert.equal(dr.code, 0, dr.stderr);
    assert.equal(dr.stdout, 'drained web 10.0.1.12:80: weight 0, existing connections continue\n');
    assert.deepEqual(await weights(d1), { '10.0.1.11:80': 1, '10.0.1.12:80': 0, '10.0.1.13:80': 1 });
    assert.match((await cli('status')).stdout, /\n {2}-> 10\.0\.1\.12:80 +Masq +0 +\d+ +\d+ +drained +\(up: /);
    // rs3 stops answering director1 (its replies are dropped): its check times out, it leaves the table,
    // and the status says so with the reason.
    await lab.host('rs3').run(['ip', 'route', 'add', 'blackhole', '10.0.1.2/32']);
    const down = await until(async () => {
      const r = await cli('status');
      return /\n {2}-- 10\.0\.1\.13:80 +\(not in table\) +DOWN +\S/.test(r.stdout) ? r.stdout : undefined;
    }, () => `rs3 DOWN in lvsd status; lvsd: ${tail()}`);
    t.diagnostic(`lvsd status with rs2 drained and rs3 down:\n${down}`);
    assert.match(down, /\n {2}-- 10\.0\.1\.13:80 +\(not in table\) +DOWN +timed out after 200ms\n/);
    assert.deepEqual(await weights(d1), { '10.0.1.11:80': 1, '10.0.1.12:80': 0 });
    await lab.host('rs3').run(['ip', 'route', 'del', 'blackhole', '10.0.1.2/32']);
    await until(async () => ((await weights(d1))['10.0.1.13:80'] === 1 ? true : undefined), () => `rs3 back; lvsd: ${tail()}`);
    const en = await cli('enable', 'web', '10.0.1.12');
    assert.equal(en.code, 0, en.stderr);
    assert.deepEqual(await weights(d1), { '10.0.1.11:80': 1, '10.0.1.12:80': 1, '10.0.1.13:80': 1 });
    const unknown = await cli('drain', 'web', '10.0.1.99:80');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown real server '10\.0\.1\.99:80' in web; its real servers: 10\.0\.1\.11:80, 10\.0\.1\.12:80, 10\.0\.1\.13:80 \(HTTP 404\)/);

    // From the client host (a non-local peer): refused without the token, served with it.
    const curl = (...args: string[]) => lab.host('client').exec(['curl', '-s', '-m', '5', '-w', '\n%{http_code}', ...args]);
    const code = (r: { stdout: string }) => Number(r.stdout.trim().split('\n').at(-1));
    const base = `http://192.0.2.2:${PORT}`;
    const noToken = await curl(`${base}/status`);
    assert.equal(code(noToken), 401, noToken.stdout);
    assert.match(noToken.stdout, /calls from other hosts need Authorization: Bearer <token>/);
    assert.equal(code(await curl('-H', 'Authorization: Bearer wrong', `${base}/status`)), 401);
    assert.equal(code(await curl('-X', 'POST', '-d', '{"service":"web","server":"10.0.1.11:80"}', `${base}/servers/drain`)), 401);
    assert.equal((await weights(d1))['10.0.1.11:80'], 1, 'a refused drain changed nothing');
    assert.equal(code(await curl('-H', `Authorization: Bearer ${TOKEN}`, `${base}/status`)), 200);
    const remoteDrain = await curl('-H', `Authorization: Bearer ${TOKEN}`, '-X', 'POST', '-d', '{"service":"web","server":"10.0.1.11:80"}', `${base}/servers/drain`);
    assert.equal(code(remoteDrain), 200, remoteDrain.stdout);
    assert.equal((await weights(d1))['10.0.1.11:80'], 0);
    assert.equal(code(await curl('-H', `Authorization: Bearer ${TOKEN}`, '-X', 'POST', '-d', '{"service":"web","server":"10.0.1.11:80"}', `${base}/servers/enable`)), 200);
    assert.equal((await weights(d1))['10.0.1.11:80'], 1);

    // Reload through the API: the same file is accepted; a broken one is refused with its error, lvsd stays.
    const same = await cli('reload');
    assert.equal(same.code, 0, same.stderr);
    writeFileSync(file, configYaml(300));
    const broken = await d1.exec([process.execPath, LVSD, 'reload', '--url', `http://127.0.0.1:${PORT}`, '--token-file', join(lab.dir, 'token')]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /^lvsd: reload refused: 1 error in .*lvsd\.yaml; the running configuration stays \(HTTP 422\)\n {2}.*lvsd\.yaml:\d+:\d+: vrrp_instances\[0\]\.vrid: /);
    assert.ok(p.running);
    writeFileSync(file, configYaml());

    // Give up mastership: VI_1 leaves master at once (its sync group follows).
    const gu = await cli('give-up', 'VI_1', '--hold', '2s');
    assert.equal(gu.code, 0, gu.stderr);
    assert.equal(gu.stdout, 'VI_1: master -> backup; no preemption for 2s\n');
    const unknownVi = await cli('give-up', 'VI_9');
    assert.equal(unknownVi.code, 1);
    assert.match(unknownVi.stderr, /unknown VRRP instance 'VI_9'; defined: VI_1, VI_GW/);

    await p.stop(10_000);
    // Not running: the CLI says so (exit 69).
    const gone = await cli('status');
    assert.equal(gone.code, 69);
    assert.equal(gone.stderr, `lvsd: lvsd is not running: nothing is listening at http://127.0.0.1:${PORT}\n`);
  });
});
