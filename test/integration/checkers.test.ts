// Checkers driving IPVS in the lab (UML kernel with IPVS, single-director topology), judged by the
// kernel's table as `ipvsadm -Ln` prints it. One booted lab serves every case: nginx on rs1-3 port 80 and
// realserver.ts on port 8080 (status, body, delay, mode controlled per test); lvsd's checkers + balancer
// run in the director from dist/src/balancer/run.js with a config written per case.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootKernel, Lab, type LabHost, type LabKernel, type LabProcess, type RealServerHandle, ipvsadmLines, waitIpvsTable } from '../../src/lab/index.js';

const RUN = fileURLToPath(new URL('../../src/balancer/run.js', import.meta.url));
let kernel: LabKernel;
let lab: Lab;
let director: LabHost;
const rs: RealServerHandle[] = [];
let caseNo = 0;

before(async () => {
  kernel = await bootKernel();
  lab = await Lab.start('single-director', { kernel });
  chmodSync(lab.dir, 0o755); // scripts run as nobody and read files here
  director = lab.host('director');
  for (const h of ['rs1', 'rs2', 'rs3']) rs.push(await lab.host(h).startRealServer({ port: 8080 }));
});
after(async () => { await lab?.stop(); await kernel?.stop(); });

/** `ipvsadm -Ln` as sorted lines (src/lab/ipvsadm.ts). */
const table = async (): Promise<string[]> => ipvsadmLines(await director.run(['ipvsadm', '-Ln']), {});

let current: LabProcess | undefined;
const waitTable = (want: string[], timeoutMs = 10_000): Promise<number> =>
  waitIpvsTable(table, want, { timeoutMs, pollMs: 50, context: () => `${(current?.output ?? '').slice(-1500)}${current?.errors ?? ''}` });

async function startLvsd(yaml: string): Promise<LabProcess> {
  const file = join(lab.dir, `case${++caseNo}.yaml`);
  writeFileSync(file, yaml);
  for (const r of rs) await r.set({ reset: true });
  const p = await director.spawnNode(RUN, [file]);
  current = p;
  await p.waitFor(/^ready /m, { timeoutMs: 30_000 });
  return p;
}

async function stopLvsd(p: LabProcess): Promise<void> {
  await p.stop(5000);
  assert.match(p.output, /^stopped$/m);
  assert.deepEqual(await table(), [], 'lvsd removes its services on exit');
}

const verdicts = (p: LabProcess) => [...p.output.matchAll(/^verdict (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { service: string; server: string; up: boolean; reason: string; at: number });
const RS = (n: number, port = 8080) => `10.0.1.1${n}:${port}`;

describe('checkers in the lab', () => {
  test('stopped and restarted server; HTTP status; rise and fall counts', async () => {
    const p = await startLvsd(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    scheduler: rr
    checks: [{type: http, path: /, interval: 200ms, timeout: 200ms, retries: 2, rise: 3, delay_before_retry: 200ms}]
    real_servers: [{address: "${RS(1)}"}, {address: "${RS(2)}"}, {address: "${RS(3)}"}]
`);
    await waitTable([`192.0.2.10:80 > ${RS(1)} w1`, `192.0.2.10:80 > ${RS(2)} w1`, `192.0.2.10:80 > ${RS(3)} w1`]);
    await rs[1]!.set({ status: 503 });
    await waitTable([`192.0.2.10:80 > ${RS(1)} w1`, `192.0.2.10:80 > ${RS(3)} w1`]);
    assert.equal(verdicts(p).at(-1)!.reason, 'status 503');
    await rs[1]!.set({ status: 200 });
    await waitTable([`192.0.2.10:80 > ${RS(1)} w1`, `192.0.2.10:80 > ${RS(2)} w1`, `192.0.2.10:80 > ${RS(3)} w1`]);
    assert.equal(verdicts(p).at(-1)!.reason, '3 successes in a row');
    // Stopped process: connection refused; restarted: back after rise.
    await rs[2]!.stop();
    await waitTable([`192.0.2.10:80 > ${RS(1)} w1`, `192.0.2.10:80 > ${RS(2)} w1`]);
    assert.equal(verdicts(p).at(-1)!.reason, 'connection refused');
    rs[2] = await lab.host('rs3').startRealServer({ port: 8080 });
    await waitTable([`192.0.2.10:80 > ${RS(1)} w1`, `192.0.2.10:80 > ${RS(2)} w1`, `192.0.2.10:80 > ${RS(3)} w1`]);
    // A single failure (retries 2) never takes a server out.
    await rs[0]!.set({ status: 500 });
    await new Promise((r) => setTimeout(r, 100));
    await rs[0]!.set({ status: 200 });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(verdicts(p).filter((v) => v.server === RS(1)).length, 0, 'one failure must not take rs1 out');
    await stopLvsd(p);
  });

  test('delay before retry: the confirming probe comes after delay_before_retry, not the interval', async () => {
    const p = await startLvsd(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    checks: [{type: http, interval: 3s, timeout: 500ms, retries: 2, delay_before_retry: 300ms}]
    real_servers: [{address: "${RS(1)}"}]
`);
    await waitTable([`192.0.2.10:80 > ${RS(1)} w1`]);
    await rs[0]!.set({ status: 503 });
    await waitTable([`192.0.2.10:80 >`], 8000);
    const firstFail = /^log debug (\d+) .*failed \(status 503\), 1\/2, retry in 300ms$/m.exec(p.output);
    assert.ok(firstFail, p.output);
    const gap = verdicts(p).at(-1)!.at - Number(firstFail[1]);
    assert.ok(gap >= 280 && gap < 1500, `down ${gap} ms after the first failure`);
    await stopLvsd(p);
  });

  test('inhibit-on-failure keeps a failed server at weight 0; slow answer past the timeout fails', async () => {
    const p = await startLvsd(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    inhibit_on_failure: true
    checks: [{type: http, interval: 500ms, timeout: 500ms, retries: 1}]
    real_servers: [{address: "${RS(1)}", weight: 4}, {address: "${RS(2)}", weight: 2}]
`);
    await waitTable([`192.0.2.10:80 > ${RS(1)} w4`, `192.0.2.10:80 > ${RS(2)} w2`]);
    await rs[0]!.set({ delayMs: 2000 });
    await waitTable([`192.0.2.10:80 > ${RS(1)} w0`, `192.0.2.10:80 > ${RS(2)} w2`]);
    assert.equal(verdicts(p).filter((v) => v.server === RS(1)).at(-1)!.reason, 'timed out after 500ms');
    await rs[0]!.set({ delayMs: 0 });
    await waitTable([`192.0.2.10:80 > ${RS(1)} w4`, `192.0.2.10:80 > ${RS(2)} w2`]);
    await stopLvsd(p);
  });

  test('quorum with hysteresis and the sorry server', async () => {
    const p = await startLvsd(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    quorum: {min: 2, hysteresis: 1}
    sorry_server: 10.0.1.13:80
    checks: [{type: http, interval: 300ms, timeout: 300ms, retries: 1}]
    real_servers: [{address: "${RS(1)}"}, {address: "${RS(2)}"}, {address: "${RS(3)}"}]
`);
    const all = [`192.0.2.10:80 > ${RS(1)} w1`, `192.0.2.10:80 > ${RS(2)} w1`, `192.0.2.10:80 > ${RS(3)} w1`];
    const sorry = [`192.0.2.10:80 > 10.0.1.13:80 w1`];
    await waitTable(all);
    await rs[0]!.set({ status: 503 });
    await rs[1]!.set({ status: 503 });
    await waitTable([all[2]!]); // live 1 >= min - hysteresis = 1: quorum kept
    await rs[2]!.set({ status: 503 });
    await waitTable(sorry); // live 0 < 1: lost, sorry server in
    assert.match(p.output, /quorum lost \(live weight 0, min 2, hysteresis 1\), sorry server in/);
    await rs[0]!.set({ status: 200 });
    await rs[1]!.set({ status: 200 });
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(await table(), sorry, 'live 2 < min + hysteresis = 3: quorum still lost');
    await rs[2]!.set({ status: 200 });
    await waitTable(all);
    assert.match(p.output, /quorum gained \(live weight 3/);
    await stopLvsd(p);
  });

  test('script check: dynamic weight from the exit code; a hung script is killed on timeout', async () => {
    const code = join(lab.dir, 'code');
    writeFileSync(code, '7\n');
    chmodSync(code, 0o644);
    const script = join(lab.dir, 'check.sh');
    writeFileSync(script, '#!/bin/sh\nc=$(cat "$1")\n[ "$c" = hang ] && exec sleep 30\nexit "$c"\n');
    chmodSync(script, 0o755);
    // The lab directory as the kernel inside sees it must let nobody in (hostfs shows host modes).
    await director.run(['chmod', '755', lab.dir]);
    const p = await startLvsd(`
global: {script_user: nobody}
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    checks: [{type: script, argv: [${script}, ${code}], dynamic_weight: true, interval: 1s, timeout: 800ms, retries: 1}]
    real_servers: [{address: "${RS(1)}", weight: 1}]
`);
    await waitTable([`192.0.2.10:80 > ${RS(1)} w5`]);
    writeFileSync(code, '12\n');
    await waitTable([`192.0.2.10:80 > ${RS(1)} w10`]);
    writeFileSync(code, 'hang\n');
    await waitTable([`192.0.2.10:80 >`], 5000);
    assert.equal(verdicts(p).at(-1)!.reason, 'timed out after 800ms, killed');
    const left = await director.exec(['pgrep', '-u', 'nobody', '-x', 'sleep']);
    assert.equal(left.stdout.trim(), '', 'the hung script was killed with its process group');
    writeFileSync(code, '0\n');
    await waitTable([`192.0.2.10:80 > ${RS(1)} w1`]);
    await stopLvsd(p);
  });

  test('one check shared by every service pointing at the same target probes once; a blackholed link times out', async () => {
    const services = [80, 81, 82, 83].map((port) => `
  - name: s${port}
    address: 192.0.2.10:${port}
    forwarding: nat
    checks: [shared]
    real_servers: [{address: "${RS(1)}"}, {address: "${RS(2)}"}]`).join('');
    const p = await startLvsd(`
checks:
  - {name: shared, type: http, path: /health, interval: 250ms, timeout: 250ms, retries: 1}
virtual_services:${services}
`);
    const want = (servers: number[]) => [80, 81, 82, 83].flatMap((port) => servers.map((n) => `192.0.2.10:${port} > ${RS(n)} w1`));
    await waitTable(want([1, 2]));
    assert.match(p.output, /^ready \{"writes":\d+,"checks":2,/m);
    const before = rs[0]!.requests().filter((r) => r.includes('/health')).length;
    await new Promise((r) => setTimeout(r, 2000));
    const probes = rs[0]!.requests().filter((r) => r.includes('/health')).length - before;
    assert.ok(probes >= 6 && probes <= 10, `${probes} probes in 2 s for 4 services at 250 ms: one shared check`);
    // Blackhole rs2 from the director: frames go to a MAC nobody has.
    await director.run(['ip', 'neigh', 'replace', '10.0.1.12', 'lladdr', '02:00:00:00:99:99', 'dev', 'eth1', 'nud', 'permanent']);
    try {
      await waitTable(want([1]));
      assert.deepEqual(new Set(verdicts(p).map((v) => v.reason)), new Set(['timed out after 250ms']));
      assert.equal(verdicts(p).length, 4);
    } finally {
      await director.run(['ip', 'neigh', 'del', '10.0.1.12', 'dev', 'eth1']);
    }
    await waitTable(want([1, 2]));
    await stopLvsd(p);
  });

  test('source address and port from the config reach the real server: HTTP from 192.0.2.2, TCP SYNs from 10.0.1.2:40500 probe after probe', async () => {
    const p = await startLvsd(`
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    checks: [{type: http, source: 192.0.2.2, interval: 500ms, timeout: 500ms, retries: 3}]
    real_servers: [{address: "${RS(1)}"}]
  - name: tcp
    address: 192.0.2.10:81
    forwarding: nat
    checks: [{type: tcp, source: "10.0.1.2:40500", interval: 300ms, timeout: 300ms, retries: 3}]
    real_servers: [{address: "${RS(2)}"}]
`);
    await waitTable([`192.0.2.10:80 > ${RS(1)} w1`, `192.0.2.10:81 > ${RS(2)} w1`]);
    // tcpdump in rs2 is the independent reader of what arrived on the wire.
    const dump = await lab.host('rs2').spawn(['tcpdump', '-i', 'eth0', '-n', '-l', '-c', '4', 'tcp dst port 8080 and tcp[tcpflags] & (tcp-syn|tcp-rst) != 0']);
    await dump.exited;
    const segments = dump.output.trim().split('\n').map((l) => /IP (\S+) > (\S+): Flags \[(\w)/.exec(l)?.slice(1).join(' '));
    // Each probe: a SYN, then RST (a fixed source port must not sit in TIME_WAIT for the next probe).
    assert.deepEqual(new Set(segments), new Set(['10.0.1.2.40500 10.0.1.12.8080 S', '10.0.1.2.40500 10.0.1.12.8080 R']), dump.output);
    const from = () => rs[0]!.requests().map((r) => r.split(' ').at(-1)?.replace(/^::ffff:/, '')).slice(-3);
    for (let i = 0; i < 100 && from().join() !== '192.0.2.2,192.0.2.2,192.0.2.2'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(from(), ['192.0.2.2', '192.0.2.2', '192.0.2.2']);
    assert.deepEqual(verdicts(p).filter((v) => v.service === 'tcp'), [], 'probes from a fixed source port never failed');
    await stopLvsd(p);
  });
});
