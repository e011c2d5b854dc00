// lvsd import-keepalived: golden conversions of keepalived configs written for these tests (test/import/),
// each accepted by lvsd's own validator, each proven a valid keepalived config by keepalived 2.2.7 -t.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import { importKeepalived, readKeepalived, splitCommand, ReadError, systemUserExists } from '../../src/import/index.js';
import { scalar } from '../../src/import/emit.js';
import { keepalivedHex } from '../../src/import/convert-ipvs.js';

const lvsd = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../../../test/import/', import.meta.url));
const run = (args: string[], cwd = fixtures) => spawnSync(process.execPath, [lvsd, ...args], { encoding: 'utf8', cwd });

const FIXTURES: Record<string, number> = {
  'nat-http': 0, 'dr-pair': 0, 'active-active': 0, 'ipv6-v3': 0, include: 3, unsupported: 3,
  'lvs-dr-tutorial': 3, 'ansible-role': 0, 'vrrp-gateway': 0, 'fwmark-groups': 0, checks: 3,
};

/** What keepalived 2.2.7 -t says of the fixtures that hold faults it tolerates: the semantics the importer follows (issue #15). */
const KEEPALIVED_SAYS: Record<string, string[]> = {
  // keepalived makes the same two corrections the importer writes (and notes) for this file.
  'unsupported.conf': [
    'Virtual server [192.0.2.90]:tcp:80: hysteresis 3 >= quorum 2; setting hysteresis to 1',
    "WARNING - virtual server [192.0.2.90]:tcp:80 and real server [192.0.2.91]:tcp:8080 ports don't match - resetting",
  ],
  'lvs-dr-tutorial.conf': [
    "(Line 10) Unknown keyword 'lvs_id'",
    "(Line 12) number '0' outside range [0.000001, 4294.967295]",
    "(Line 12) vrrp_garp_interval '0' is invalid",
    "(Line 13) number '0' outside range [0.000001, 4294.967295]",
    "(Line 13) vrrp_gna_interval '0' is invalid",
    "(lvs-dr-tutorial.conf: Line 38) Unknown keyword 'nat_mask'",
    "(lvs-dr-tutorial.conf: Line 39) number '0' outside range [1, 2678400]",
    '(lvs-dr-tutorial.conf: Line 39) persistence_timeout invalid',
    "WARNING - virtual server [192.168.200.16]:tcp:80 and real server [192.168.200.2]:tcp:8080 ports don't match - resetting",
    "WARNING - virtual server [192.168.200.16]:tcp:80 and real server [192.168.200.3]:tcp:8080 ports don't match - resetting",
    '(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing',
    '(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing',
    'rc=5', // keepalived -t's exit after reporting config errors; keepalived itself runs such a file with these corrections
  ],
  'ansible-role.conf': [
    '(ansible-role.conf: Line 17) (VI_PUBLIC) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.',
    '(ansible-role.conf: Line 17)              Please use global lvs_sync_daemon',
    'rc=5',
  ],
  // keepalived ignores a real server's port on the group's fwmark service; the importer leaves it out (noted).
  'fwmark-groups.conf': [
    'WARNING - fwmark virtual server [DNS]:0, real server [10.0.0.31]:udp:53 has port specified - port will be ignored',
    'WARNING - fwmark virtual server [DNS]:0, real server [10.0.0.32]:udp:53 has port specified - port will be ignored',
    'rc=5',
  ],
  'vrrp-gateway.conf': [
    "(Line 8) number '0' outside range [0.000001, 4294.967295]",
    "(Line 8) vrrp_garp_interval '0' is invalid",
    "(Line 9) number '0' outside range [0.000001, 4294.967295]",
    "(Line 9) vrrp_gna_interval '0' is invalid",
    '(LAN_GW) Warning - nopreempt will not work with initial state MASTER - clearing',
    'rc=5',
  ],
};

test('the fixture list covers every keepalived config in test/import', () => {
  assert.deepEqual(readdirSync(fixtures).filter((f) => f.endsWith('.conf')).map((f) => f.slice(0, -5)).sort(), Object.keys(FIXTURES).sort());
});

for (const [name, exit] of Object.entries(FIXTURES)) {
  test(`import-keepalived ${name}.conf: golden YAML and notes, exit ${exit}, and lvsd's validator accepts the YAML`, () => {
    const r = run(['import-keepalived', `${name}.conf`]);
    if (process.env.UPDATE_GOLDEN) {
      writeFileSync(join(fixtures, `${name}.yaml`), r.stdout);
      writeFileSync(join(fixtures, `${name}.stderr`), r.stderr);
    }
    assert.equal(r.status, exit, r.stderr);
    assert.equal(r.stdout, readFileSync(join(fixtures, `${name}.yaml`), 'utf8'));
    assert.equal(r.stderr, readFileSync(join(fixtures, `${name}.stderr`), 'utf8'));
    const v = parseConfig(r.stdout, `${name}.yaml`);
    assert.ok(v.ok, v.ok ? '' : JSON.stringify(v.errors, null, 1));
    // Every note points at a real line, and a note naming a keyword points at the line that has it.
    for (const line of r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('lvsd: '))) {
      const m = /^([^:]+):(\d+): (.*)$/.exec(line);
      assert.ok(m, `note without file:line: ${line}`);
      const source = readFileSync(join(fixtures, m[1]!), 'utf8').split('\n')[Number(m[2]) - 1];
      assert.ok(source !== undefined && source.trim() !== '', `${line}: no such line`);
      const key = /'([A-Za-z_]+)' (has no|command|needs)/.exec(m[3]!)?.[1];
      if (key) assert.ok(source.includes(key), `${line}: line ${m[2]} is '${source.trim()}', not the '${key}' statement`);
    }
    if (exit === 3) assert.match(r.stderr, /^lvsd: \d+ item\(s\) not converted\n$/m);
  });
}

test('unsupported.conf: each thing lvsd cannot express is listed once with its line', () => {
  const r = importKeepalived(join(fixtures, 'unsupported.conf'));
  assert.ok(r.ok);
  const skipped = r.notes.filter((n) => n.kind === 'skipped').map((n) => `${n.line} ${n.message.replace(/:.*?'([^']+)'.*/, ' $1')}`);
  // The email keywords (lines 4-9, 60) convert since issue #15: global.email and email_alerts; SMTP_CHECK since #16.
  const keys = ['lvs_flush', 'dont_track_primary', 'mcast_src_ip', 'ha_suspend'];
  assert.ok(!r.notes.some((n) => /smtp|notification_email/.test(n.message)), 'email keywords convert');
  const text = readFileSync(join(fixtures, 'unsupported.conf'), 'utf8').split('\n');
  for (const k of keys) {
    const line = text.findIndex((l) => new RegExp(`^\\s*${k}\\b`).test(l)) + 1;
    assert.ok(line > 0, k);
    assert.ok(r.notes.some((n) => n.kind === 'skipped' && n.line === line && n.message.includes(`'${k}'`)), `${k} at line ${line} not listed: ${skipped.join('\n')}`);
  }
  // Shell-only and relative commands, AH, a second family, a lonely sync group.
  for (const re of [/needs a shell: a pipe/, /needs a shell: & or &&/, /needs a shell: a \$ or ` expansion/, /'check_web.sh' is a relative path/,
    /'logger' is a relative path/, /auth_type AH/, /IPv6 address in an IPv4 instance/, /SG_SOLO: has 1 converted member/,
    /track_script 'chk_shell' is not a converted vrrp_script/, /'brd 192.0.2.255'/, /'scope global'/]) {
    assert.ok(r.notes.some((n) => n.kind === 'skipped' && re.test(n.message)), `${re} not listed`);
  }
});

test('keepalived 2.2.7 -t accepts every fixture (independent check that they are real keepalived configs)', (t) => {
  if (process.getuid?.() !== 0 || spawnSync('keepalived', ['--version']).error) { t.skip('needs root and keepalived'); return; }
  // keepalived -t wants the interfaces and the scripts to exist: a private mount namespace puts stub scripts
  // on a tmpfs over /usr/local, a private network namespace holds veths named as the fixtures use.
  // keepalived 2.2.7 -t ends with SIGTERM whenever scripts are configured (even on errors), so the verdict is
  // its messages: a config error prints a line such as "(file: Line 15) Unknown keyword 'x'".
  const script = `set -e
mount -t tmpfs -o mode=755 lvsd-import-test /usr/local
for p in $(cat *.conf | grep -o '/usr/local/[A-Za-z0-9_./-]*' | sort -u); do
  mkdir -p "$(dirname "$p")"; printf '#!/bin/sh\\nexit 0\\n' > "$p"; chmod 755 "$p"
done
ip link set lo up
for i in eth0 eth1 eth2 bond0; do ip link add $i type veth peer name p-$i; ip link set $i up; ip link set p-$i up; done
for f in *.conf; do echo "== $f"; timeout 20 keepalived -t -f "$f" 2>&1 || echo "rc=$?"; done
`;
  const r = spawnSync('unshare', ['-m', '-n', 'sh', '-c', script], { cwd: fixtures, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const byFile = new Map<string, string[]>();
  let current = '';
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('== ')) { current = line.slice(3); byFile.set(current, []); continue; }
    if (line === '' || line === 'Terminated' || /^rc=(0|143)$/.test(line)) continue; // 143: the SIGTERM above, reported by sh
    byFile.get(current)!.push(line);
  }
  assert.deepEqual([...byFile.keys()].sort(), Object.keys(FIXTURES).map((n) => `${n}.conf`).sort());
  for (const [file, messages] of byFile) assert.deepEqual(messages, KEEPALIVED_SAYS[file] ?? [], `${file}: keepalived -t said:\n${messages.join('\n')}`);
  const u = readFileSync(join(fixtures, 'unsupported.yaml'), 'utf8');
  assert.match(u, /hysteresis: 1\n/);
  assert.match(u, /- address: 192\.0\.2\.91:80\n/);
});

// ---- exit codes and usage ----

test('usage: exit 2 without exactly one file; --help exits 0; an unreadable or malformed file exits 1', () => {
  for (const args of [['import-keepalived'], ['import-keepalived', 'a', 'b'], ['import-keepalived', '--bogus', 'x']]) {
    const r = run(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^lvsd: .+\n\nUsage: lvsd import-keepalived FILE/);
  }
  const h = run(['import-keepalived', '--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /Exit status: 0 everything converted, 3 some items skipped/);
  assert.match(run(['--help']).stdout, /lvsd import-keepalived KEEPALIVED\.CONF/);

  const missing = run(['import-keepalived', '/nonexistent/keepalived.conf']);
  assert.equal(missing.status, 1);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /^lvsd: \/nonexistent\/keepalived\.conf: cannot read: ENOENT\n$/);

  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-'));
  const cases: Array<[string, RegExp]> = [
    // A missing '}' or an extra one converts with a note (import-semantics.test.ts), as keepalived reads on.
    ['{\n  interface eth0\n}\n', /bad\.conf:1: '\{' without a keyword before it/],
    ['vrrp_script x {\n  script "/bin/true\n}\n', /bad\.conf:2: unterminated quoted string/],
    ['include missing-dir/\0\n', /not a text file/],
  ];
  for (const [text, re] of cases) {
    writeFileSync(join(dir, 'bad.conf'), text);
    const r = run(['import-keepalived', 'bad.conf'], dir);
    assert.equal(r.status, 1, text);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, re);
  }
});

test('an empty keepalived config converts to an empty, valid lvsd.yaml with exit 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-'));
  writeFileSync(join(dir, 'k.conf'), '! nothing here\n# really\n');
  const r = run(['import-keepalived', 'k.conf'], dir);
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
  assert.ok(parseConfig(r.stdout, 'x.yaml').ok);
});

test('vrrp_rt_priority becomes vrrp_realtime_priority (noted as changed: lvsd raises one thread); out of range is not converted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-'));
  writeFileSync(join(dir, 'ok.conf'), 'global_defs {\n  vrrp_rt_priority 50\n}\n');
  const ok = run(['import-keepalived', 'ok.conf'], dir);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal((parseYaml(ok.stdout) as { global: { vrrp_realtime_priority: number } }).global.vrrp_realtime_priority, 50);
  assert.match(ok.stderr, /ok\.conf:2:.*vrrp_rt_priority/);
  assert.ok(parseConfig(ok.stdout, 'x.yaml').ok);
  writeFileSync(join(dir, 'bad.conf'), 'global_defs {\n  vrrp_rt_priority 150\n}\n');
  const bad = run(['import-keepalived', 'bad.conf'], dir);
  assert.doesNotMatch(bad.stdout, /vrrp_realtime_priority/);
  assert.match(bad.stderr, /bad\.conf:2:.*vrrp_rt_priority/);
});

// ---- the reader ----

test('reader: comments start anywhere with # or !, quotes keep blanks, a brace may sit on the next line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-'));
  writeFileSync(join(dir, 'k.conf'), 'global_defs   # the globals\n{\n  router_id "my router" ! trailing\n}\nvrrp_script s { script "/bin/x a#b" }\n');
  const s = readKeepalived(join(dir, 'k.conf'), () => assert.fail('no notes expected'));
  assert.deepEqual(s.map((x) => [x.key, x.args, x.line]), [['global_defs', [], 1], ['vrrp_script', ['s'], 5]]);
  assert.deepEqual(s[0]!.children!.map((x) => [x.key, x.args, x.line]), [['router_id', ['my router'], 3]]);
  assert.deepEqual(s[1]!.children!.map((x) => [x.key, x.args]), [['script', ['/bin/x a#b']]]);
});

test('reader: include globs are relative to the including file, sorted, nested; no match is a note; a loop is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-'));
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'main.conf'), 'include d/*.conf\ninclude none/*.conf\n');
  writeFileSync(join(dir, 'd', 'b.conf'), 'global_defs {\n  router_id b\n}\n');
  writeFileSync(join(dir, 'd', 'a.conf'), 'include ../leaf.{x,y}\n');
  writeFileSync(join(dir, 'd', '.hidden.conf'), 'bogus\n');
  writeFileSync(join(dir, 'leaf.y'), 'vrrp_script s {\n}\n');
  const notes: string[] = [];
  const s = readKeepalived(join(dir, 'main.conf'), (f, l, m) => notes.push(`${f}:${l}: ${m}`));
  assert.deepEqual(s.map((x) => `${x.file}:${x.line} ${x.key}`), [`${dir}/leaf.y:1 vrrp_script`, `${dir}/d/b.conf:1 global_defs`]);
  assert.deepEqual(notes, [`${join(dir, 'main.conf')}:2: include none/*.conf: no file matches (keepalived ignores this too)`]);

  writeFileSync(join(dir, 'loop.conf'), 'include loop.conf\n');
  assert.throws(() => readKeepalived(join(dir, 'loop.conf'), () => {}), (e: unknown) => e instanceof ReadError && /nested deeper than 16/.test(e.message));
});

test('reader: a parameter that refers to itself twice is refused at its use instead of doubling until memory runs out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-'));
  writeFileSync(join(dir, 'bomb.conf'), '$A=x${A}${A}\nglobal_defs {\n  router_id ${A}\n}\n');
  assert.throws(() => readKeepalived(join(dir, 'bomb.conf'), () => {}), (e: unknown) => e instanceof ReadError && e.line === 3 && /longer than 65536 characters/.test(e.message));
});

// ---- commands ----

test('splitCommand: shell word splitting with quotes, and refusal of anything that needs a shell', () => {
  assert.deepEqual(splitCommand('/usr/local/bin/notify.sh master'), { ok: true, argv: ['/usr/local/bin/notify.sh', 'master'] });
  assert.deepEqual(splitCommand(`/bin/x 'a b' "c \\"d\\"" e\\ f  ''`), { ok: true, argv: ['/bin/x', 'a b', 'c "d"', 'e f', ''] });
  assert.deepEqual(splitCommand('/bin/x a=b --k=v x~y'), { ok: true, argv: ['/bin/x', 'a=b', '--k=v', 'x~y'] });
  for (const [cmd, why] of [['/bin/a | /bin/b', 'pipe'], ['/bin/a && /bin/b', '&'], ['/bin/a; /bin/b', ';'], ['/bin/a > /tmp/x', 'redirection'],
    ['/bin/a $HOME', '$'], ['/bin/a `id`', '`'], ['/bin/a "$X"', '$'], ['/bin/ls *.conf', 'glob'], ['/bin/a ~/x', '~'], ['(/bin/a)', 'subshell'],
    ['FOO=1 /bin/a', 'assignment'], ["/bin/a 'open", 'unterminated'], ['', 'empty']] as const) {
    const r = splitCommand(cmd);
    assert.ok(!r.ok && r.reason.includes(why), `${cmd}: ${JSON.stringify(r)}`);
  }
});

// ---- the YAML writer ----

test('scalar: strings YAML would read as something else are quoted, and read back unchanged', () => {
  for (const s of ['1111', 'true', 'no', 'on', 'null', '~', '-x', '0x10', '1e3', '.5', 'a: b', 'x#y', '#c', '[2001:db8::1]:80', '12:30', 'a,b', '', ' lead', 'with "quote"', '*star', '&anchor', '!tag', '%p', '@at', '`tick`', '1_000']) {
    assert.equal(parseYaml(`k: ${scalar(s)}`).k, s, `${s} -> ${scalar(s)}`);
    assert.deepEqual(parseYaml(`k: [${scalar(s, true)}]`).k, [s], `${s} in a flow list`);
  }
  for (const s of ['eth0', '/usr/bin/x', '192.0.2.1/24', '2001:db8::1', 'vs-192.0.2.1-80', 'VI_1']) assert.equal(scalar(s), s);
});

// ---- conversions beyond the fixtures ----

function convert(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-'));
  writeFileSync(join(dir, 'k.conf'), text);
  const r = importKeepalived(join(dir, 'k.conf'));
  assert.ok(r.ok);
  const v = parseConfig(r.yaml, 'k.yaml');
  assert.ok(v.ok, v.ok ? '' : `${r.yaml}\n${JSON.stringify(v.errors, null, 1)}`);
  return { ...r, config: v.config };
}

test('tracked interfaces and scripts: a repeat is skipped (also across blocks), an unconverted script is skipped, weights kept', () => {
  const r = convert(`vrrp_script chk_a {
  script "/usr/bin/true"
}
vrrp_script chk_b {
  script "/usr/bin/true"
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.10/24
  }
  track_interface {
    eth1 weight 10
    eth1
    eth2
  }
  track_interface {
    eth2 weight -5
    eth3 reverse
  }
  track_script {
    chk_a
    chk_nope
    chk_a weight 5
    chk_nope
  }
  track_script {
    chk_b weight 2 reverse
    chk_a
  }
}
`);
  const skipped = r.notes.filter((n) => n.kind === 'skipped').map((n) => `${n.line}: ${n.message}`);
  assert.deepEqual(skipped, [
    '17: vrrp_instance VI_1: track_interface eth1 is listed twice; the first is kept',
    '21: vrrp_instance VI_1: track_interface eth2 is listed twice; the first is kept',
    "26: vrrp_instance VI_1: track_script 'chk_nope' is not a converted vrrp_script",
    '27: vrrp_instance VI_1: track_script chk_a is listed twice; the first is kept',
    "28: vrrp_instance VI_1: track_script 'chk_nope' is not a converted vrrp_script",
    '32: vrrp_instance VI_1: track_script chk_a is listed twice; the first is kept',
  ]);
  const track = r.config.vrrp_instances[0]!.track;
  assert.deepEqual(track.interfaces.map((i) => [i.name, i.weight]), [['eth1', 10], ['eth2', undefined], ['eth3', undefined]]);
  assert.deepEqual(track.scripts.map((x) => [x.name, x.weight]), [['chk_a', undefined], ['chk_b', 2]]);
  // reverse is converted since issue #17 (track.ts reverseItem)
  assert.deepEqual(track.interfaces.map((i) => i.reverse), [undefined, undefined, true]);
  assert.deepEqual(track.scripts.map((x) => x.reverse), [undefined, true]);
});

test('nearest valid forms: sub-second v2 adverts, long passwords, v3 with authentication, port-0 services, no protocol', () => {
  const r = convert(`vrrp_instance A {
  interface eth0
  virtual_router_id 1
  advert_int 0.3
  authentication {
    auth_type PASS
    auth_pass 0123456789
  }
  virtual_ipaddress {
    192.0.2.1
  }
}
vrrp_instance B {
  interface eth0
  version 3
  virtual_router_id 2
  advert_int 0.123
  authentication {
    auth_type PASS
    auth_pass x
  }
  virtual_ipaddress {
    192.0.2.2
  }
}
virtual_server 192.0.2.1 0 {
  lb_kind DR
  protocol TCP
}
virtual_server 192.0.2.1 53 {
  lb_kind NAT
}
`);
  const [a, b] = r.config.vrrp_instances;
  assert.equal(a!.advert_interval, 1000);
  assert.equal(a!.authentication?.password, '01234567');
  assert.equal(b!.advert_interval, 120);
  assert.equal(b!.authentication, undefined);
  assert.equal(r.config.virtual_services[0]!.persistence?.timeout, 360_000);
  assert.equal(r.config.virtual_services[1]!.protocol, 'udp');
  assert.equal(r.exitCode, 3); // v3 authentication was dropped
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[4, 'changed'], [5, 'changed'], [17, 'changed'], [18, 'skipped'], [26, 'changed'], [30, 'changed']]);
});

test('checks: per-checker delay_loop, several url blocks, MISC default timeout, checks differing per real server stay per server', () => {
  const r = convert(`virtual_server 192.0.2.1 80 {
  delay_loop 20
  lb_kind NAT
  protocol TCP
  virtualhost www.example.org
  real_server 10.0.0.1 80 {
    HTTP_GET {
      url {
        path /a
      }
      url {
        path /b
        status_code 204
      }
      delay_loop 8
    }
  }
  real_server 10.0.0.2 80 {
    MISC_CHECK {
      misc_path /usr/local/bin/check
    }
  }
}
`);
  assert.equal(r.exitCode, 0);
  const vs = r.config.virtual_services[0]!;
  assert.deepEqual(vs.checks, []);
  const c1 = vs.real_servers[0]!.checks as Array<Record<string, unknown>>;
  // keepalived's several url blocks: one check whose urls must all pass (as one keepalived checker).
  assert.deepEqual(c1.map((c) => [c.type, c.host, c.interval, c.timeout]), [['http', 'www.example.org', 8000, 5000]]);
  assert.deepEqual((c1[0]!.urls as Array<Record<string, unknown>>).map((u) => [u.path, u.status]), [['/a', [[200, 299]]], ['/b', [[204, 204]]]]);
  const c2 = vs.real_servers[1]!.checks as Array<Record<string, unknown>>;
  assert.deepEqual(c2.map((c) => [c.type, c.argv, c.interval, c.timeout]), [['script', ['/usr/local/bin/check'], 20000, 20000]]);
});

test('names keepalived accepts but lvsd does not are renamed consistently, and references follow', () => {
  const r = convert(`vrrp_script chk:web {
  script /bin/true
}
vrrp_instance "VI 1" {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    192.0.2.1
  }
  track_script {
    chk:web
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {
    192.0.2.2
  }
}
vrrp_sync_group G {
  group {
    "VI 1"
    VI_2
  }
}
`);
  assert.deepEqual(r.config.track_scripts.map((s) => s.name), ['chk_web']);
  assert.deepEqual(r.config.vrrp_instances.map((s) => s.name), ['VI_1', 'VI_2']);
  assert.deepEqual(r.config.vrrp_instances[0]!.track.scripts.map((s) => s.name), ['chk_web']);
  assert.deepEqual(r.config.vrrp_sync_groups[0]!.instances, ['VI_1', 'VI_2']);
  assert.equal(r.exitCode, 0);
  assert.equal(r.notes.filter((n) => n.kind === 'changed' && n.message.includes('renamed')).length, 2);
  assert.equal(r.config.global.script_user, systemUserExists('keepalived_script') ? 'keepalived_script' : 'root'); // keepalived's rule
  assert.ok(r.notes.some((n) => n.line === 2 && n.message.startsWith('no script_user in global_defs')));
});

test('mutated fixtures never crash the importer, and whatever it prints passes lvsd\'s validator', () => {
  // Deterministic mutations (delete, duplicate, replace a word, insert a line) of the six fixtures. Cross-instance
  // rules (a VRID per interface, a VIP in one instance, a service once, a group per instance) are where
  // keepalived-valid pieces combine into something lvsd refuses; the importer must resolve them, not pass them on.
  let seed = 20261125;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const words = ['lb_kind', 'persistence_granularity', '128', 'weight', 'uthreshold 5 lthreshold 9', 'hysteresis', 'quorum', 'advert_int', 'version 3',
    'version 2', 'priority', 'sorry_server 2001:db8::9 80', 'real_server 2001:db8::2 80 {', 'delay_loop', 'connect_timeout', 'label', 'dev', 'eth1',
    'unicast_peer {', 'virtual_ipaddress {', '2001:db8::7', '192.0.2.200', '192.0.2.21', 'interface', 'virtual_router_id 21', '0', '255', '256', '-1',
    '0.001', '1e9', '99999999999', '::1', '10.0.0.1/33', 'eth0:very-long-label-x', '{', '}', '"', 'x'.repeat(80), 'DR', 'TUN', 'NAT', 'sh-port',
    'MASTER', 'group', 'fwmark', 'ip_family inet6', '/bin/a|b', '300-200', 'include /nonexistent/*'];
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-fuzz-'));
  const texts = Object.keys(FIXTURES).filter((n) => n !== 'include').map((n) => readFileSync(join(fixtures, `${n}.conf`), 'utf8'));
  let converted = 0;
  for (let i = 0; i < (Number(process.env.LVSD_FUZZ_N) || 1500); i++) {
    const lines = texts[rnd(texts.length)]!.split('\n');
    for (let k = 0, n = 1 + rnd(12); k < n; k++) {
      const li = rnd(lines.length);
      const op = rnd(5);
      if (op === 0) lines.splice(li, 1);
      else if (op === 1) lines.splice(li, 0, lines[rnd(lines.length)]!);
      else if (op === 4) lines.splice(li, 0, Array.from({ length: 1 + rnd(3) }, () => words[rnd(words.length)]).join(' '));
      else { const ws = lines[li]!.split(' '); ws[rnd(ws.length)] = words[rnd(words.length)]!; lines[li] = ws.join(' '); }
    }
    const text = lines.join('\n');
    writeFileSync(join(dir, 'k.conf'), text);
    const r = importKeepalived(join(dir, 'k.conf'));
    if (!r.ok) { assert.match(r.error, /k\.conf(:\d+)?: /); continue; }
    converted++;
    const v = parseConfig(r.yaml, 'k.yaml');
    assert.ok(v.ok, v.ok ? '' : `${text}\n---\n${r.yaml}\n${JSON.stringify(v.errors, null, 1)}`);
  }
  assert.ok(converted > 500, `only ${converted} mutants parsed`);
});

test("checker defaults follow keepalived.conf(5): retry counts extra checks, HTTP retries after 3s, warmup up to delay_loop", () => {
  const r = convert(`virtual_server 192.0.2.1 80 {
  delay_loop 7
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.1 80 {
    TCP_CHECK {
    }
    HTTP_GET {
      url {
        path /
      }
      retry 0
      warmup 0
    }
    MISC_CHECK {
      misc_path /usr/local/bin/check
    }
  }
}
`);
  const checks = r.config.virtual_services[0]!.checks as Array<Record<string, unknown>>;
  assert.deepEqual(checks.map((c) => [c.type, c.retries, c.delay_before_retry, c.warmup, c.timeout]), [
    ['tcp', 2, 1000, 7000, 5000], ['http', 1, 3000, 0, 5000], ['script', 1, 1000, 7000, 7000]]);
});

test('lb_kind TUN options: type, GUE port and checksum; options lvsd would refuse are left out with a note', () => {
  const r = convert(`virtual_server 192.0.2.1 80 {
  lb_kind TUN type gre remcsum
  protocol TCP
}
virtual_server 192.0.2.2 80 {
  lb_kind TUN type gue
  protocol TCP
}
virtual_server 192.0.2.3 80 {
  lvs_method TUN type gre csum
  protocol TCP
}
`);
  assert.deepEqual(r.config.virtual_services.map((s) => s.tunnel && [s.tunnel.type, s.tunnel.port, s.tunnel.checksum]), [['gre', undefined, 'none'], undefined, ['gre', undefined, 'csum']]);
  assert.deepEqual(r.notes.map((n) => [n.line, n.message.replace(/^[^:]*: /, '')]), [[2, 'remcsum is not an option of gre tunnels; left out'], [6, "tunnel type gue needs 'port N'; left out"]]);
});

test('state MASTER without a priority is the address owner in keepalived: priority 255, owner: true, noted', () => {
  const r = convert(`vrrp_instance A {
  state MASTER
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    192.0.2.1
  }
}
vrrp_instance B {
  state BACKUP
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {
    192.0.2.2
  }
}
`);
  assert.deepEqual(r.config.vrrp_instances.map((v) => [v.priority, v.owner]), [[255, true], [100, false]]);
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[2, 'changed']]);
  assert.match(r.yaml, /# state MASTER without a priority: written as priority 255 with owner: true/);
  assert.equal(r.exitCode, 0);
});

test("keepalived's own sample configs (if installed) convert without a crash to YAML lvsd accepts", (t) => {
  const dir = '/usr/share/doc/keepalived/samples';
  let files: string[];
  try { files = readdirSync(dir).filter((f) => f.startsWith('keepalived.conf') && !f.endsWith('.gz')); } catch { t.skip(`${dir} not installed`); return; }
  if (files.length === 0) { t.skip(`no samples in ${dir}`); return; }
  let owners = 0;
  for (const f of files) {
    const r = importKeepalived(join(dir, f));
    assert.ok(r.ok, f);
    const v = parseConfig(r.yaml, f);
    assert.ok(v.ok, `${f}: ${v.ok ? '' : JSON.stringify(v.errors.slice(0, 3))}`);
    for (const n of r.notes) assert.match(`${n.file}:${n.line}`, new RegExp(`${f.replace(/\./g, '\\.')}:\\d+$`));
    if (r.notes.some((n) => /conditional on keepalived config id 'low'/.test(n.message))) owners++;
  }
  assert.equal(owners, files.includes('keepalived.conf.conditional_conf') ? 1 : 0);
});

test('reader: $PARAMETER definitions substitute in reading order, recursively, across includes (keepalived.conf(5) example)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-'));
  writeFileSync(join(dir, 'defs.conf'), '$IF=eth1\n');
  writeFileSync(join(dir, 'k.conf'), `$ADDRESS_BASE=10.2.\${ADDRESS_BASE_SUB}
$ADDRESS_BASE_SUB=0
include defs.conf
vrrp_instance A {
  interface $IF
  virtual_router_id 9
  virtual_ipaddress {
    \${ADDRESS_BASE}.100/32
$ADDRESS_BASE_SUB=10
    \${ADDRESS_BASE}.100/32
  }
  notify_master "/usr/local/bin/x \${UNDEFINED} $IFX"
}
`);
  const s = readKeepalived(join(dir, 'k.conf'), () => {});
  const kids = s[0]!.children!;
  assert.deepEqual(kids[0]!.args, ['eth1']);
  assert.deepEqual(kids[2]!.children!.map((c) => [c.key, c.line]), [['10.2.0.100/32', 8], ['10.2.10.100/32', 10]]);
  assert.deepEqual(kids[3]!.args, ['/usr/local/bin/x ${UNDEFINED} $IFX']);
});

test('odd file names (a line break, spaces) in includes cannot break the YAML comments that cite them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-import-'));
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'd', 'odd\nname: x.conf'), 'vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  dont_track_primary\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n');
  writeFileSync(join(dir, 'k.conf'), 'include d/*.conf\n');
  const r = importKeepalived(join(dir, 'k.conf'));
  assert.ok(r.ok);
  assert.equal(r.exitCode, 3);
  const v = parseConfig(r.yaml, 'k.yaml');
  assert.ok(v.ok, r.yaml);
  assert.equal(v.config.vrrp_instances.length, 1);
});

test("keepalived's HEX_STR as keepalived.conf(5) reads its own example, and X nibbles as ?", () => {
  // keepalived.conf(5), UDP_CHECK: "Ab12f 3 456 546443123 would be interpreted as: AB 12 0F 03 45 06 54 64 43 12 03".
  assert.equal(keepalivedHex('Ab12f 3 456 546443123', false), 'ab120f0345065464431203');
  assert.equal(keepalivedHex('0X01 x', true), '0?010?');
  assert.equal(keepalivedHex('0X01', false), undefined, 'X only in require_reply');
  assert.equal(keepalivedHex('  ', false), undefined);
  assert.equal(keepalivedHex('0g', false), undefined);
});
