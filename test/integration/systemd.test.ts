// The deployment files judged by systemd's own tools (systemd-analyze, systemd-sysusers), and the
// unit's privilege claims reproduced on the real kernel with setpriv: what lvsd and its scripts hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const unitPath = join(repo, 'deploy/systemd/lvsd.service');
const unit = readFileSync(unitPath, 'utf8');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const NO_ANALYZE = has('systemd-analyze') ? false : 'systemd-analyze is missing (scripts/setup.sh installs the systemd package)';

/** Values of `Key=` in the unit, in order (a key may repeat). */
function directive(key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
}

/** The committed unit with /usr/bin/lvsd pointing at this checkout (verify insists the binary exists). */
function localUnit(edit: (s: string) => string = (s) => s): string {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-unit-'));
  const file = join(dir, 'lvsd.service');
  writeFileSync(file, edit(unit.replaceAll('/usr/bin/lvsd ', `${join(repo, 'bin/lvsd.js')} `)));
  return file;
}

test('the committed unit starts /usr/bin/lvsd, checks the config first, and reloads with SIGHUP', () => {
  assert.deepEqual(directive('ExecStartPre'), ['/usr/bin/lvsd check -q -c /etc/lvsd/lvsd.yaml']);
  assert.deepEqual(directive('ExecStart'), ['/usr/bin/lvsd run -c /etc/lvsd/lvsd.yaml']);
  assert.deepEqual(directive('ExecReload'), ['/bin/kill -HUP $MAINPID']);
  assert.deepEqual(directive('Type'), ['exec']);
});

test('systemd-analyze verify accepts the unit without a single warning', { skip: NO_ANALYZE }, () => {
  const r = spawnSync('systemd-analyze', ['verify', localUnit()], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'verify exits 0 even on unknown keys; its warnings count as failures here');
  // The same check notices a typo and a bad value: the empty stderr above means something.
  const bad = spawnSync('systemd-analyze', ['verify', localUnit((s) => s.replace('ProtectClock=yes', 'ProtectClok=yes').replace('RestartSec=1s', 'RestartSec=soon'))], { encoding: 'utf8' });
  assert.match(bad.stderr, /Unknown key 'ProtectClok'/);
  assert.match(bad.stderr, /Failed to parse sec value/);
});

test('systemd-analyze security: exposure score (information only)', { skip: NO_ANALYZE }, (t) => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', localUnit()], { encoding: 'utf8' });
  const score = /Overall exposure level for \S+: ([\d.]+) (\w+)/.exec(r.stdout);
  assert.ok(score, r.stdout + r.stderr);
  t.diagnostic(`systemd-analyze security: exposure ${score[1]} ${score[2]} (0 = locked down, 10 = fully exposed)`);
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('✗'))) t.diagnostic(line.replace(/\s{2,}/g, '  ').trim());
});

test('sysusers: systemd-sysusers creates the lvsd group and a script user without a shell', { skip: has('systemd-sysusers') ? false : 'systemd-sysusers is missing' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'lvsd-sysusers-'));
  mkdirSync(join(root, 'etc'));
  const r = spawnSync('systemd-sysusers', [`--root=${root}`, '-'], { input: readFileSync(join(repo, 'deploy/systemd/lvsd.sysusers.conf')), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8').trim().split('\n').map((l) => l.split(':'));
  const group = readFileSync(join(root, 'etc/group'), 'utf8').trim().split('\n').map((l) => l.split(':'));
  const script = passwd.find((p) => p[0] === 'lvsd-script');
  assert.ok(script, 'lvsd-script user');
  assert.equal(script[6], '/usr/sbin/nologin');
  assert.ok(Number(script[2]) > 0 && Number(script[2]) < 1000, `a system uid: ${script[2]}`);
  assert.ok(group.some((g) => g[0] === 'lvsd'), 'lvsd group');
  assert.equal(readFileSync(join(root, 'etc/shadow'), 'utf8').match(/^lvsd-script:([^:]*):/m)?.[1], '!*', 'locked password');
  // The unit's Group= is the group sysusers creates.
  assert.deepEqual(directive('Group'), ['lvsd']);
});

// ---- the unit's privileges, reproduced with setpriv on this kernel ----

const CAPS: Record<string, number> = { CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_NICE: 23 };
const capMask = (names: string[]) => names.reduce((m, n) => { assert.ok(n in CAPS, `unknown capability ${n}`); return m | (1n << BigInt(CAPS[n]!)); }, 0n);
const setprivCaps = (names: string[]) => names.map((n) => `+${n.slice(4).toLowerCase()}`).join(',');

/** Node as the daemon: its own capability sets, and those of a script it starts as uid/gid 65534. */
const probe = `
const { spawnSync } = require('node:child_process');
const caps = (s) => Object.fromEntries([...s.matchAll(/^(Uid|Cap(?:Inh|Prm|Eff|Amb)|NoNewPrivs):\\s+(\\S+)/gm)].map((m) => [m[1], m[2]]));
const self = caps(require('node:fs').readFileSync('/proc/self/status', 'utf8'));
const r = spawnSync('/bin/cat', ['/proc/self/status'], { encoding: 'utf8', uid: 65534, gid: 65534 });
console.log(JSON.stringify({ self, script: r.error ? { error: r.error.code } : caps(r.stdout) }));`;

function runAs(setprivArgs: string[]) {
  const r = spawnSync('setpriv', [...setprivArgs, process.execPath, '-e', probe], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { self: Record<string, string>; script: Record<string, string> };
}

const NOT_ROOT = process.getuid?.() === 0 ? (has('setpriv') ? false : 'setpriv is missing') : 'needs root';

test('as the unit runs it: lvsd holds exactly the six capabilities, its scripts hold none', { skip: NOT_ROOT }, () => {
  const bounding = directive('CapabilityBoundingSet').join(' ').split(/\s+/);
  assert.deepEqual(directive('AmbientCapabilities'), ['']);
  assert.deepEqual(directive('User'), [], 'runs as uid 0 (see the unit for why)');
  assert.deepEqual(directive('NoNewPrivileges'), ['yes']);
  const want = capMask(bounding);
  const r = runAs(['--inh-caps=-all', `--bounding-set=-all,${setprivCaps(bounding)}`, '--no-new-privs']);
  assert.equal(BigInt(`0x${r.self.CapEff}`), want, 'lvsd: effective = the bounding set');
  assert.equal(BigInt(`0x${r.self.CapAmb}`), 0n);
  assert.equal(r.self.NoNewPrivs, '1');
  // NoNewPrivileges does not stop the switch to the script user: that is CAP_SETUID, not exec.
  assert.equal(r.script.Uid, '65534', JSON.stringify(r.script));
  for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) assert.equal(BigInt(`0x${r.script[k]}`), 0n, `script ${k}`);
});

test('why not User=lvsd with ambient capabilities: scripts would inherit them all across setuid', { skip: NOT_ROOT }, () => {
  const bounding = directive('CapabilityBoundingSet').join(' ').split(/\s+/);
  const caps = setprivCaps(bounding);
  const r = runAs(['--reuid=4242', '--regid=4242', '--clear-groups', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=-all,${caps}`, '--no-new-privs']);
  assert.equal(r.self.Uid, '4242');
  assert.equal(r.script.Uid, '65534');
  assert.equal(BigInt(`0x${r.script.CapEff}`), capMask(bounding), 'the script runs with CAP_NET_ADMIN, CAP_SETUID, ...');
});

test('the system call filter allows every call of `lvsd check` (the ExecStartPre), V8\'s pkey_alloc included', { skip: NO_ANALYZE || (has('strace') ? false : 'strace is missing') }, () => {
  const groups = new Map<string, string[]>();
  const expand = (name: string, seen = new Set<string>()): string[] => {
    if (!name.startsWith('@')) return [name];
    if (seen.has(name)) return [];
    seen.add(name);
    if (!groups.has(name)) {
      const r = spawnSync('systemd-analyze', ['syscall-filter', name], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      groups.set(name, r.stdout.split('\n').slice(1).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
    }
    return groups.get(name)!.flatMap((n) => expand(n, seen));
  };
  const allowed = new Set(directive('SystemCallFilter').join(' ').split(/\s+/).flatMap((n) => expand(n)));
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-strace-'));
  const out = join(dir, 'calls');
  const example = join(repo, 'deploy/examples/pair-dr.yaml');
  const r = spawnSync('strace', ['-f', '-qq', '-c', '-o', out, process.execPath, join(repo, 'bin/lvsd.js'), 'check', '-q', '-c', example], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const used = readFileSync(out, 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 5 && /^\d/.test(f[0]!) && f.at(-1) !== 'total').map((f) => f.at(-1)!);
  assert.ok(used.includes('execve') && used.length > 20, `strace summary read: ${used.join(' ')}`);
  // V8 asks for a memory protection key at every start; @system-service alone would refuse it.
  assert.ok(used.includes('pkey_alloc'), 'node calls pkey_alloc');
  assert.ok(!expand('@system-service').includes('pkey_alloc'));
  assert.deepEqual(used.filter((c) => !allowed.has(c)), [], 'system calls the unit would refuse with EPERM');
});

// ---- Prometheus ----

test('prometheus.yml scrapes two directors on the port lvsd listens on by default', () => {
  const prom = parseYaml(readFileSync(join(repo, 'deploy/prometheus/prometheus.yml'), 'utf8'));
  const defaults = parseConfig('{}', 'empty.yaml');
  assert.ok(defaults.ok);
  const listen = defaults.config.global.metrics.listen;
  assert.equal(listen.kind, 'tcp');
  const job = prom.scrape_configs.find((j: { job_name: string }) => j.job_name === 'lvsd');
  assert.equal(job.metrics_path, '/metrics');
  const targets: string[] = job.static_configs.flatMap((s: { targets: string[] }) => s.targets);
  assert.equal(targets.length, 2);
  for (const t of targets) assert.equal(Number(t.split(':').at(-1)), listen.kind === 'tcp' ? listen.port : NaN, t);
  // The relabel rule's regex, as Prometheus anchors it, gives the host without the port.
  const rule = job.relabel_configs[0];
  assert.equal(new RegExp(`^(?:${rule.regex})$`).exec(targets[0]!)?.[1], 'director1.example.net');
});
