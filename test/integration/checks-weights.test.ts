// File check, agent weight, slow start and fail-open in the lab (UML kernel with IPVS, single-director
// topology), judged by the kernel's table as `ipvsadm -Ln` prints it. One lab and one lvsd (checkers +
// balancer from dist/src/balancer/run.js) serve every case, each case on a service of its own:
//   :80 file check (weight 0) on rs1         :81 agent check: socat on rs1 and rs2 answers a file's text
//   :82 slow_start 3s, file checks           :83 fail_open, file checks on rs1 and rs2
// Files are written inside the lab's kernel (sh in the director, rename over the old file as tools do), so
// the file check's inotify watch sees them; the checks' intervals are long (20 s) so that only the watch
// can explain a fast reaction.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootKernel, Lab, type LabHost, type LabKernel, type LabProcess } from '../../src/lab/index.js';

const RUN = fileURLToPath(new URL('../../src/balancer/run.js', import.meta.url));
let kernel: LabKernel;
let lab: Lab;
let director: LabHost;
let lvsd: LabProcess;
const f = (name: string) => join(lab.dir, name);

/** Writes a file from inside the lab (a host the kernel runs), replacing it by rename. */
async function put(host: LabHost, name: string, text: string): Promise<void> {
  await host.run(['sh', '-c', 'printf "%s\\n" "$1" > "$2.tmp" && mv "$2.tmp" "$2"', 'put', text, f(name)]);
}

/** `ipvsadm -Ln` as sorted lines "192.0.2.10:80 > 10.0.1.11:80 w1" for one service port ("192.0.2.10:80 >" when empty). */
async function table(port: number): Promise<string[]> {
  const out = await director.run(['ipvsadm', '-Ln', '-t', `192.0.2.10:${port}`]);
  const lines = [...out.matchAll(/^\s+->\s+(\S+)\s+\S+\s+(\d+)/gm)].map((m) => `192.0.2.10:${port} > ${m[1]} w${m[2]}`).sort();
  return lines.length ? lines : [`192.0.2.10:${port} >`];
}

async function waitTable(port: number, want: string[], timeoutMs = 8000): Promise<number> {
  const t0 = Date.now();
  let last: string[] = [];
  while (Date.now() - t0 < timeoutMs) {
    last = await table(port);
    if (JSON.stringify(last) === JSON.stringify([...want].sort())) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(last, [...want].sort(), `IPVS table (ipvsadm -Ln) never reached the expected state; lvsd said:\n${lvsd.output.slice(-1500)}${lvsd.errors}`);
  return -1;
}

const verdicts = () => [...lvsd.output.matchAll(/^verdict (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { service: string; server: string; up: boolean; reason: string; weight: number });
const d = (port: number, rs: number, w: number, rsPort = 80) => `192.0.2.10:${port} > 10.0.1.1${rs}:${rsPort} w${w}`;

before(async () => {
  kernel = await bootKernel();
  lab = await Lab.start('single-director', { kernel });
  director = lab.host('director');
  for (const [name, text] of [['maint1', '0'], ['slow1', '0'], ['fo1', '0'], ['fo2', '0']] as const) writeFileSync(f(name), `${text}\n`);
  writeFileSync(f('agent1'), 'up 100%\n');
  writeFileSync(f('agent2'), 'up 100%\n');
  // A HAProxy agent on rs1 and rs2: socat answers each connection with the file's current text (cat, no shell).
  for (const [host, file] of [['rs1', 'agent1'], ['rs2', 'agent2']] as const) {
    const p = await lab.host(host).spawn(['socat', 'TCP-LISTEN:9999,reuseaddr,fork', `EXEC:cat ${f(file)}`]);
    await lab.host(host).waitForTcp(9999, { process: p });
  }
  const fileCheck = (name: string) => `{type: file, path: ${f(name)}, interval: 20s}`;
  const yaml = `
virtual_services:
  - name: file
    address: 192.0.2.10:80
    forwarding: nat
    real_servers:
      - {address: "10.0.1.11:80", checks: [${fileCheck('maint1')}]}
      - {address: "10.0.1.12:80", checks: []}
  - name: agent
    address: 192.0.2.10:81
    forwarding: nat
    checks: [{type: agent, port: 9999, send: "web\\n", interval: 300ms, timeout: 2s}]
    real_servers: [{address: "10.0.1.11:80", weight: 10}, {address: "10.0.1.12:80", weight: 10}]
  - name: slow
    address: 192.0.2.10:82
    forwarding: nat
    slow_start: 3s
    real_servers:
      - {address: "10.0.1.11:80", weight: 10, checks: [${fileCheck('slow1')}]}
      - {address: "10.0.1.12:80", weight: 10, checks: []}
  - name: failopen
    address: 192.0.2.10:83
    forwarding: nat
    fail_open: true
    real_servers:
      - {address: "10.0.1.11:80", weight: 3, checks: [${fileCheck('fo1')}]}
      - {address: "10.0.1.12:80", weight: 2, checks: [${fileCheck('fo2')}]}
`;
  writeFileSync(f('lvsd.yaml'), yaml);
  lvsd = await director.spawnNode(RUN, [f('lvsd.yaml')]);
  await lvsd.waitFor(/^ready /m, { timeoutMs: 30_000 });
});
after(async () => {
  if (lvsd?.running) {
    await lvsd.stop(5000);
    assert.match(lvsd.output, /^stopped$/m);
  }
  await lab?.stop();
  await kernel?.stop();
});

describe('file check, agent weight, slow start, fail-open in the kernel', () => {
  test('file check: 1 takes the destination out at once (inotify, not the 20 s interval), 0 puts it back', async () => {
    await waitTable(80, [d(80, 1, 1), d(80, 2, 1)]);
    await put(director, 'maint1', '1');
    const out = await waitTable(80, [d(80, 2, 1)], 3000);
    assert.equal(verdicts().filter((v) => v.service === 'file').at(-1)!.reason, `file ${f('maint1')}: 1`);
    await put(director, 'maint1', '0');
    const back = await waitTable(80, [d(80, 1, 1), d(80, 2, 1)], 3000);
    assert.ok(out < 2000 && back < 2000, `out after ${out} ms, back after ${back} ms`);
    await director.run(['rm', f('maint1')]);
    await waitTable(80, [d(80, 2, 1)], 3000);
    assert.equal(verdicts().filter((v) => v.service === 'file').at(-1)!.reason, `file ${f('maint1')} missing`);
    await put(director, 'maint1', '0');
    await waitTable(80, [d(80, 1, 1), d(80, 2, 1)], 3000);
  });

  test('agent: 50% halves the weight in the kernel, drain sets 0 (still in the table), down takes it out, ready up brings it back', async () => {
    const rs1 = lab.host('rs1');
    await waitTable(81, [d(81, 1, 10), d(81, 2, 10)]);
    await put(rs1, 'agent1', '50%');
    await waitTable(81, [d(81, 1, 5), d(81, 2, 10)]);
    await put(rs1, 'agent1', 'drain');
    await waitTable(81, [d(81, 1, 0), d(81, 2, 10)]);
    await put(rs1, 'agent1', 'down # deploy in progress');
    await waitTable(81, [d(81, 2, 10)]);
    const v = verdicts().filter((x) => x.service === 'agent').at(-1)!;
    assert.deepEqual([v.server, v.up, v.reason], ['10.0.1.11:80', false, 'agent: down: deploy in progress']);
    await put(rs1, 'agent1', 'up ready 100%');
    await waitTable(81, [d(81, 1, 10), d(81, 2, 10)]);
  });

  test('slow start: a server back from a failure ramps 1 -> 3 -> 6 -> 10 in the kernel over 3 s', async () => {
    await waitTable(82, [d(82, 1, 10), d(82, 2, 10)]);
    await put(director, 'slow1', '1');
    await waitTable(82, [d(82, 2, 10)], 3000);
    // The independent reader: ipvsadm in the director every 100 ms for 4.5 s, with the kernel's clock.
    const reader = await director.spawn(['sh', '-c',
      'end=$(($(date +%s%N) + 4500000000)); while [ "$(date +%s%N)" -lt $end ]; do echo "t $(date +%s%N)"; ipvsadm -Ln -t 192.0.2.10:82; sleep 0.05; done']);
    await put(director, 'slow1', '0');
    const t0 = Date.now();
    await reader.exited;
    // One reading per block: the kernel's time, then rs1's weight ('-' when rs1 is not in the table).
    const readings = reader.output.split(/^t /m).slice(1).map((block) => {
      const m = /->\s+10\.0\.1\.11:80\s+\S+\s+(\d+)/.exec(block);
      return { ms: Number(BigInt(/^(\d+)/.exec(block)![1]!) / 1_000_000n), w: m ? m[1]! : '-' };
    });
    const folded = readings.filter((s, i) => i === 0 || s.w !== readings[i - 1]!.w);
    while (folded[0]?.w === '-') folded.shift();
    assert.deepEqual(folded.map((s) => s.w), ['1', '3', '6', '10'], reader.output.slice(-3000));
    // Each weight changed between the reading before it and the reading that first shows it; step i is
    // 1 s x i after weight 1 came (ramp start), within those bounds and 150 ms for lvsd's timer and netlink.
    const bounds = folded.map((s) => { const j = readings.indexOf(s); return { lo: j > 0 ? readings[j - 1]!.ms : -Infinity, hi: s.ms }; });
    const text = folded.map((s, i) => `w${s.w} in (${bounds[i]!.lo - bounds[0]!.hi}, ${bounds[i]!.hi - bounds[0]!.hi}]`).join(', ');
    for (let i = 1; i < folded.length; i++) {
      const earliest = bounds[i]!.lo - bounds[0]!.hi;
      const latest = bounds[i]!.hi - bounds[0]!.lo;
      assert.ok(i * 1000 >= earliest - 150 && i * 1000 <= latest + 150, `step ${i} at ${i * 1000} ms is outside what the readings allow: ${text} ms after weight 1 was first seen`);
    }
    assert.ok(Date.now() - t0 < 10_000);
    assert.match(lvsd.output, /slow: real server 10\.0\.1\.11:80 slow start, weight 1 to 10 over 3s/);
  });

  test('fail-open: every server down keeps both in the kernel at their weights; quorum lost; one back -> only it', async () => {
    await waitTable(83, [d(83, 1, 3), d(83, 2, 2)]);
    await put(director, 'fo1', '1');
    await waitTable(83, [d(83, 2, 2)], 3000);
    await put(director, 'fo2', '1');
    await new Promise((r) => setTimeout(r, 500));
    // The last server's failure would empty the table; fail_open keeps both, at their weights.
    for (const v of verdicts().filter((x) => x.service === 'failopen')) assert.equal(v.up, false);
    assert.equal(verdicts().filter((x) => x.service === 'failopen').length, 2);
    await waitTable(83, [d(83, 1, 3), d(83, 2, 2)], 3000);
    assert.match(lvsd.output, /failopen: every real server is down; fail_open keeps all 2 in the table/);
    assert.match(lvsd.output, /^quorum \{"service":"failopen","up":false/m);
    await put(director, 'fo2', '0');
    await waitTable(83, [d(83, 2, 2)], 3000);
    await put(director, 'fo1', '0');
    await waitTable(83, [d(83, 1, 3), d(83, 2, 2)], 3000);
  });
});
