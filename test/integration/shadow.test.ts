// `lvsd shadow` beside a live keepalived programming a real IPVS table (UML lab, single-director, nginx on
// rs1-3). keepalived is in charge; lvsd only reads. Judges: lvsd's report against what the test did to
// the kernel with ipvsadm, and ipvsadm -Ln to show lvsd wrote nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootKernel, Lab, type LabHost, type LabKernel, type LabProcess } from '../../src/lab/index.js';

const CLI = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let kernel: LabKernel;
let lab: Lab;
let d: LabHost;
let keepalived: LabProcess;

const KEEPALIVED = `global_defs {
  router_id shadow
}
virtual_server 192.0.2.10 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
${[11, 12, 13].map((n) => `  real_server 10.0.1.${n} 80 {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }`).join('\n')}
}
`;

/** The same service in lvsd.yaml; `rs3Check` replaces rs3's check (to make the two disagree). */
function lvsdYaml(rs3Check?: string): string {
  return `virtual_services:
  - name: web
    address: 192.0.2.10:80
    scheduler: rr
    forwarding: nat
    checks: [{ type: tcp, interval: 1s, timeout: 1s }]
    real_servers:
      - { address: 10.0.1.11:80 }
      - { address: 10.0.1.12:80 }
      - { address: 10.0.1.13:80${rs3Check ? `, checks: [${rs3Check}]` : ''} }
`;
}

before(async () => {
  kernel = await bootKernel();
  lab = await Lab.start('single-director', { kernel });
  d = lab.host('director');
  const conf = join(lab.dir, 'keepalived.conf');
  writeFileSync(conf, KEEPALIVED);
  keepalived = await d.spawn(['keepalived', '-n', '-C', '-l', '-f', conf, '-p', join(lab.dir, 'k.pid'), '-c', join(lab.dir, 'kc.pid'), '--vrrp_pid', join(lab.dir, 'kv.pid')]);
  for (let i = 0; i < 200; i++) {
    if ((await d.exec(['sh', '-c', 'grep -c "^  -> 0A" /proc/net/ip_vs'])).stdout.trim() === '3') return;
    await sleep(100);
  }
  throw new Error(`keepalived never programmed 3 real servers: ${keepalived.output.slice(-1000)}${keepalived.errors.slice(-1000)}`);
});
after(async () => { await keepalived?.stop(5000); await lab?.stop(); await kernel?.stop(); });

test('shadow beside keepalived: a clean report when both agree, and the table untouched', { timeout: 120_000 }, async () => {
  const file = join(lab.dir, 'agree.yaml');
  writeFileSync(file, lvsdYaml());
  const before = await d.run(['ipvsadm', '-Sn']);
  const r = await d.exec([process.execPath, CLI, 'shadow', '-c', file, '--duration', '4s', '--interval', '500ms', '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { clean: boolean; rounds: number; seen: unknown[] };
  assert.equal(summary.clean, true);
  assert.ok(summary.rounds >= 4, `rounds ${summary.rounds}`);
  assert.deepEqual(summary.seen, []);
  assert.equal(await d.run(['ipvsadm', '-Sn']), before, 'lvsd shadow wrote nothing');
});

test('shadow reports a check that disagrees, a weight changed by hand, and a missing service', { timeout: 120_000 }, async () => {
  const file = join(lab.dir, 'differ.yaml');
  // lvsd's check of rs3 wants status 500; nginx answers 200, so lvsd says down where keepalived says up.
  writeFileSync(file, lvsdYaml('{ type: http, status: 500, interval: 1s, timeout: 1s }'));
  const shadow = await d.spawnNode(CLI, ['shadow', '-c', file, '--interval', '500ms']);
  try {
    await shadow.waitFor(/\+ verdict web 10\.0\.1\.13:80: lvsd: down \(status 200\); the kernel: weight 1 \(keepalived: up\)/, { timeoutMs: 30_000 });
    await d.run(['ipvsadm', '-e', '-t', '192.0.2.10:80', '-r', '10.0.1.12:80', '-m', '-w', '5']);
    await shadow.waitFor(/\+ weight web 10\.0\.1\.12:80: weight 5 in the kernel, lvsd wants 1/, { timeoutMs: 15_000 });
    await d.run(['ipvsadm', '-e', '-t', '192.0.2.10:80', '-r', '10.0.1.12:80', '-m', '-w', '1']);
    await shadow.waitFor(/- weight web 10\.0\.1\.12:80/, { timeoutMs: 15_000 });
    await d.run(['ipvsadm', '-D', '-t', '192.0.2.10:80']);
    await shadow.waitFor(/\+ service-missing web: declared in lvsd.yaml, not in the kernel/, { timeoutMs: 15_000 });
    shadow.kill('SIGTERM');
    assert.equal((await shadow.exited).code, 1, shadow.output);
    assert.match(shadow.output, /now  service-missing web: declared in lvsd\.yaml, not in the kernel/);
    assert.match(shadow.output, /was  weight web 10\.0\.1\.12:80: weight 5 in the kernel, lvsd wants 1/);
    // Only these three kinds of difference were ever seen: nothing invented.
    const kinds = new Set([...shadow.output.matchAll(/^\S+ \+ (\S+) /gm)].map((m) => m[1]));
    assert.deepEqual([...kinds].sort(), ['service-missing', 'verdict', 'weight']);
  } finally {
    await shadow.stop(2000).catch(() => {});
  }
});
