// The control API with a fake daemon: a real unix socket in a temp dir and a real TCP listener on
// 127.0.0.1; routing, errors, the token policy, and the CLI commands talking to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authorize, bearerToken, isLoopback, tokensEqual } from '../../src/control/auth.js';
import { callControl, type ControlEndpoint } from '../../src/control/client.js';
import { socketMode, startControl } from '../../src/control/server.js';
import type { ControlStatus } from '../../src/control/status.js';
import type { ControlTarget } from '../../src/control/target.js';
import { controlCommand } from '../../src/cli/control-command.js';
import { fakeTarget, serverStates } from './control-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'lvsd-control-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function recordingTarget(over: Partial<ControlTarget> = {}) {
  const calls: unknown[][] = [];
  const base = fakeTarget();
  const target: ControlTarget = {
    ...base,
    balancer: {
      serverStates, quorumState: () => [],
      setDrained: (service, server, drained) => { calls.push(['setDrained', service, server, drained]); return true; },
      settled: async () => { calls.push(['settled']); },
    },
    engine: { instances: base.engine!.instances, giveUp: (name, holdMs) => { calls.push(['giveUp', name, holdMs]); return true; } },
    ...over,
  };
  return { target, calls };
}

/** Raw HTTP, so tests can send what the client never would. */
function raw(ep: { socketPath?: string; port?: number; host?: string }, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; json: any }>((resolve, reject) => {
    const req = request({ ...ep, method, path, headers }, (res) => {
      let t = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { t += c; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(t) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const out = () => {
  const o = { stdout: '', stderr: '' };
  return { o, io: { stdout: (s: string) => { o.stdout += s; }, stderr: (s: string) => { o.stderr += s; } } };
};

test("the socket's mode: 0600 for a root-group daemon, 0660 with a group of its own (systemd's Group=lvsd, for operators)", () => {
  assert.equal(socketMode(0), 0o600);
  assert.equal(socketMode(990), 0o660);
});

test('unix socket: created 0600 in a new directory; every endpoint answers JSON with clear errors', async () => {
  const { target, calls } = recordingTarget();
  const path = join(dir, 'run', 'lvsd', 'control.sock');
  const srv = await startControl({ daemon: target, listen: { kind: 'unix', path } });
  try {
    assert.equal(srv.address, `unix:${path}`);
    const st = statSync(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    const ep = { socketPath: path };

    const status = await raw(ep, 'GET', '/status');
    assert.equal(status.status, 200);
    assert.equal(status.headers['content-type'], 'application/json');
    assert.equal((status.json as ControlStatus).routerId, 'dir1');
    assert.equal((status.json as ControlStatus).services[0]?.servers[0]?.reason, 'status 200');

    const drain = await raw(ep, 'POST', '/servers/drain', JSON.stringify({ service: 'web', server: '10.0.1.11:80' }));
    assert.equal(drain.status, 200);
    assert.deepEqual(drain.json, { ok: true, service: 'web', server: '10.0.1.11:80', drained: true, up: true, weight: 2 });
    // A bare address names the server when only one has it.
    assert.equal((await raw(ep, 'POST', '/servers/enable', JSON.stringify({ service: 'web', server: '10.0.1.12' }))).status, 200);
    assert.equal((await raw(ep, 'POST', '/servers/enable', JSON.stringify({ service: 'dns', server: '2001:db8::1' }))).status, 200);
    assert.deepEqual(calls, [['setDrained', 'web', '10.0.1.11:80', true], ['settled'], ['setDrained', 'web', '10.0.1.12:80', false], ['settled'], ['setDrained', 'dns', '[2001:db8::1]:53', false], ['settled']]);

    const unknownSvc = await raw(ep, 'POST', '/servers/drain', JSON.stringify({ service: 'nope', server: '10.0.1.11:80' }));
    assert.equal(unknownSvc.status, 404);
    assert.equal(unknownSvc.json.error, "unknown virtual service 'nope'; defined: web, dns");
    const unknownSrv = await raw(ep, 'POST', '/servers/drain', JSON.stringify({ service: 'web', server: '10.0.1.99:80' }));
    assert.equal(unknownSrv.status, 404);
    assert.equal(unknownSrv.json.error, "unknown real server '10.0.1.99:80' in web; its real servers: 10.0.1.11:80, 10.0.1.12:80, 10.0.1.13:80");
    const missing = await raw(ep, 'POST', '/servers/drain', JSON.stringify({ service: 'web' }));
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error, "'server' is required (a non-empty string)");

    calls.length = 0;
    const gu = await raw(ep, 'POST', '/vrrp/give-up', JSON.stringify({ instance: 'VI_1', hold: '30s' }));
    assert.equal(gu.status, 200);
    assert.equal(gu.json.holdMs, 30000);
    assert.equal((await raw(ep, 'POST', '/vrrp/give-up', JSON.stringify({ instance: 'VI_1' }))).json.holdMs, null);
    assert.deepEqual(calls, [['giveUp', 'VI_1', 30000], ['giveUp', 'VI_1', undefined]]);
    const guBad = await raw(ep, 'POST', '/vrrp/give-up', JSON.stringify({ instance: 'VI_1', hold: 30 }));
    assert.equal(guBad.status, 400);
    assert.match(guBad.json.error, /^hold: a duration needs a unit/);
    const guUnknown = await raw(ep, 'POST', '/vrrp/give-up', JSON.stringify({ instance: 'VI_9' }));
    assert.equal(guUnknown.status, 404);
    assert.equal(guUnknown.json.error, "unknown VRRP instance 'VI_9'; defined: VI_1");

    assert.equal((await raw(ep, 'POST', '/reload')).status, 200);
    assert.equal((await raw(ep, 'POST', '/servers/drain', '{not json')).status, 400);
    assert.equal((await raw(ep, 'POST', '/servers/drain', '[1]')).json.error, 'the body must be a JSON object');
    const big = await raw(ep, 'POST', '/servers/drain', JSON.stringify({ service: 'x'.repeat(70_000) }));
    assert.equal(big.status, 413);
    const wrong = await raw(ep, 'GET', '/reload');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'POST');
    const none = await raw(ep, 'GET', '/nothing');
    assert.equal(none.status, 404);
    assert.match(none.json.error, /^no such endpoint '\/nothing'; endpoints: \/status, \/reload/);
  } finally {
    await srv.close();
  }
  assert.equal(existsSync(path), false, 'close removes the socket');
});

test('reload: refused (bad file) is 422 with the errors; a throw is 500', async () => {
  const path = join(dir, 'reload.sock');
  const refused = { ok: false, reason: '1 error in /etc/lvsd/lvsd.yaml', errors: ['/etc/lvsd/lvsd.yaml:3:5: vrid: must be at most 255'] };
  let next: () => Promise<unknown> = async () => refused;
  const { target } = recordingTarget({ reload: () => next() });
  const srv = await startControl({ daemon: target, listen: { kind: 'unix', path } });
  try {
    const r = await raw({ socketPath: path }, 'POST', '/reload');
    assert.equal(r.status, 422);
    assert.equal(r.json.error, '1 error in /etc/lvsd/lvsd.yaml; the running configuration stays');
    assert.deepEqual(r.json.errors, refused.errors);
    const { o, io } = out();
    assert.equal(await controlCommand('reload', ['--socket', path], io), 1);
    assert.equal(o.stderr, 'lvsd: reload refused: 1 error in /etc/lvsd/lvsd.yaml; the running configuration stays (HTTP 422)\n  /etc/lvsd/lvsd.yaml:3:5: vrid: must be at most 255\n');
    next = async () => { throw new Error('engine exploded'); };
    const t = await raw({ socketPath: path }, 'POST', '/reload');
    assert.deepEqual([t.status, t.json], [500, { ok: false, error: 'engine exploded' }]);
  } finally { await srv.close(); }
});

test('a stale socket file is replaced; a live one is not; a non-socket is never touched', async () => {
  const path = join(dir, 'stale.sock');
  // Another process answering on the path.
  const old = createServer();
  await new Promise<void>((r) => old.listen(path, r));
  const live = await startControl({ daemon: fakeTarget(), listen: { kind: 'unix', path } }).then(() => 'started', (e: Error) => e.message);
  assert.match(live, /another process \(another lvsd\?\) is answering on/);
  // Closing a node server unlinks its socket; a process that exits while listening leaves a dead one.
  await new Promise<void>((r) => old.close(() => r()));
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
  assert.ok(statSync(path).isSocket(), 'the dead socket file is there');
  const srv = await startControl({ daemon: fakeTarget(), listen: { kind: 'unix', path } });
  assert.equal((await raw({ socketPath: path }, 'GET', '/status')).status, 200);
  await srv.close();

  const file = join(dir, 'not-a-socket');
  writeFileSync(file, 'keep me');
  await assert.rejects(startControl({ daemon: fakeTarget(), listen: { kind: 'unix', path: file } }), /exists and is not a socket; not touching it/);
});

test('TCP on 127.0.0.1: status without a token, changes only with the right token', async () => {
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 's3cret-token\n', { mode: 0o600 });
  const { target, calls } = recordingTarget();
  const srv = await startControl({ daemon: target, listen: { kind: 'tcp', address: '127.0.0.1', port: 0, family: 4 }, tokenFile });
  const port = Number(srv.address.split(':')[1]);
  const ep = { host: '127.0.0.1', port };
  const body = JSON.stringify({ service: 'web', server: '10.0.1.11:80' });
  try {
    assert.equal((await raw(ep, 'GET', '/status')).status, 200);
    const no = await raw(ep, 'POST', '/servers/drain', body);
    assert.equal(no.status, 401);
    assert.equal(no.headers['www-authenticate'], 'Bearer realm="lvsd"');
    assert.equal(no.json.error, 'changes over TCP need Authorization: Bearer <token> (the token in token_file)');
    assert.equal((await raw(ep, 'POST', '/servers/drain', body, { authorization: 'Bearer s3cret-tokem' })).json.error, 'wrong token');
    assert.equal((await raw(ep, 'POST', '/servers/drain', body, { authorization: 'Basic czNjcmV0LXRva2Vu' })).status, 401);
    assert.deepEqual(calls, [], 'nothing refused reached the daemon');
    assert.equal((await raw(ep, 'POST', '/servers/drain', body, { authorization: 'bearer s3cret-token' })).status, 200);
    assert.deepEqual(calls[0], ['setDrained', 'web', '10.0.1.11:80', true]);

    // The CLI finds the token through --token-file.
    const { o, io } = out();
    assert.equal(await controlCommand('drain', ['web', '10.0.1.12:80', '--url', `http://127.0.0.1:${port}`, '--token-file', tokenFile], io), 0, o.stderr);
    assert.equal(o.stdout, 'drained web 10.0.1.12:80: weight 0, existing connections continue\n');
    const bad = out();
    assert.equal(await controlCommand('drain', ['web', '10.0.1.12:80', '--url', `http://127.0.0.1:${port}`], bad.io), 1);
    assert.match(bad.o.stderr, /^lvsd: drain: changes over TCP need Authorization: Bearer <token> .*\(HTTP 401\)\n$/);
  } finally { await srv.close(); }

  // Without a token file, TCP serves loopback reads only.
  const open = await startControl({ daemon: target, listen: { kind: 'tcp', address: '127.0.0.1', port: 0, family: 4 } });
  const p2 = Number(open.address.split(':')[1]);
  try {
    assert.equal((await raw({ host: '127.0.0.1', port: p2 }, 'GET', '/status')).status, 200);
    assert.equal((await raw({ host: '127.0.0.1', port: p2 }, 'POST', '/reload', '', { authorization: 'Bearer anything' })).status, 403);
  } finally { await open.close(); }
});

test('authorize: the policy table', () => {
  const t = (transport: 'unix' | 'tcp', remoteAddress: string | undefined, method: string, authorization?: string, token: string | undefined = 'tok') =>
    authorize({ transport, remoteAddress, method, authorization, token });
  assert.equal(t('unix', undefined, 'POST').ok, true);
  assert.equal(t('tcp', '127.0.0.1', 'GET').ok, true);
  assert.equal(t('tcp', '::ffff:127.0.0.5', 'GET').ok, true);
  assert.equal(t('tcp', '::1', 'GET').ok, true);
  assert.deepEqual(t('tcp', '127.0.0.1', 'POST'), { ok: false, status: 401, error: 'changes over TCP need Authorization: Bearer <token> (the token in token_file)' });
  assert.deepEqual(t('tcp', '10.0.0.1', 'GET'), { ok: false, status: 401, error: 'calls from other hosts need Authorization: Bearer <token>' });
  assert.equal(t('tcp', '10.0.0.1', 'GET', 'Bearer tok').ok, true);
  assert.equal(t('tcp', '10.0.0.1', 'POST', 'Bearer tok').ok, true);
  assert.equal(t('tcp', '10.0.0.1', 'POST', 'Bearer to').ok, false);
  assert.equal(t('tcp', '10.0.0.1', 'POST', 'Bearer ', '').ok, false);
  assert.equal(t('tcp', '10.0.0.1', 'GET', 'Bearer x', undefined).ok, false);
  assert.equal(t('tcp', '::ffff:10.0.0.1', 'GET').ok, false);
  assert.equal(t('tcp', undefined, 'GET').ok, false);
  for (const a of ['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
  for (const a of ['10.0.0.1', '::2', '::ffff:10.1.1.1', 'fe80::1', '', 'localhost', undefined]) assert.equal(isLoopback(a), false, String(a));
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('BEARER  abc '), 'abc');
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken(undefined), undefined);
  assert.equal(tokensEqual('abc', 'abc'), true);
  assert.equal(tokensEqual('abc', 'abd'), false);
  assert.equal(tokensEqual('abc', 'abcd'), false);
});

test('CLI: status text and JSON, drain, give-up; clear messages when lvsd is not running', async () => {
  const { target } = recordingTarget();
  const path = join(dir, 'cli.sock');
  const srv = await startControl({ daemon: target, listen: { kind: 'unix', path } });
  try {
    let r = out();
    assert.equal(await controlCommand('status', ['--socket', path], r.io), 0, r.o.stderr);
    assert.match(r.o.stdout, /^lvsd on dir1 /);
    assert.match(r.o.stdout, /\n  VI_1  MASTER  priority 140 \(base 150\)/);
    assert.match(r.o.stdout, /\n  -> 10\.0\.1\.11:80 +Masq +2 +5 +1 +up +status 200\n/);
    r = out();
    assert.equal(await controlCommand('status', ['--json', '--socket', path], r.io), 0);
    assert.equal((JSON.parse(r.o.stdout) as ControlStatus).vrrp[0]?.name, 'VI_1');
    r = out();
    assert.equal(await controlCommand('give-up', ['VI_1', '--hold', '1m30s', '--socket', path], r.io), 0);
    assert.equal(r.o.stdout, 'VI_1: master -> master; no preemption for 1m30s\n');
    r = out();
    assert.equal(await controlCommand('enable', ['web', '10.0.1.13:80', '--socket', path], r.io), 0);
    assert.equal(r.o.stdout, 'enabled web 10.0.1.13:80: down (its checks fail), out of the table until they pass\n');
    r = out();
    assert.equal(await controlCommand('drain', ['web', 'nope', '--socket', path], r.io), 1);
    assert.equal(r.o.stderr, "lvsd: drain: unknown real server 'nope' in web; its real servers: 10.0.1.11:80, 10.0.1.12:80, 10.0.1.13:80 (HTTP 404)\n");
  } finally { await srv.close(); }

  let r = out();
  assert.equal(await controlCommand('status', ['--socket', path], r.io), 69);
  assert.equal(r.o.stderr, `lvsd: lvsd is not running: no control socket at ${path}\n`);
  // A socket file nobody listens on.
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
  r = out();
  assert.equal(await controlCommand('reload', ['--socket', path], r.io), 69);
  assert.equal(r.o.stderr, `lvsd: lvsd is not running: nothing is listening at ${path}\n`);
  r = out();
  assert.equal(await controlCommand('status', ['--url', 'http://127.0.0.1:1'], r.io), 69);
  assert.equal(r.o.stderr, 'lvsd: lvsd is not running: nothing is listening at http://127.0.0.1:1\n');

  // Usage errors: exit 2 with help.
  for (const [cmd, args] of [['drain', ['web']], ['give-up', []], ['status', ['extra']], ['status', ['--bogus']], ['give-up', ['VI_1', '--hold', '30']], ['status', ['--socket', 'a', '--url', 'http://b']]] as const) {
    r = out();
    assert.equal(await controlCommand(cmd, [...args], r.io), 2, `${cmd} ${args.join(' ')}`);
    assert.match(r.o.stderr, /^lvsd: /);
  }
  r = out();
  assert.equal(await controlCommand('drain', ['--help'], r.io), 0);
  assert.match(r.o.stdout, /^Usage: lvsd drain SERVICE SERVER/);
});

test('CLI finds the daemon through the config file: unix path, or TCP address with its token_file', async () => {
  const sock = join(dir, 'cfg.sock');
  const cfg = join(dir, 'unix.yaml');
  writeFileSync(cfg, `global:\n  control:\n    listen: unix:${sock}\n`);
  const srv = await startControl({ daemon: fakeTarget(), listen: { kind: 'unix', path: sock } });
  try {
    const r = out();
    assert.equal(await controlCommand('status', ['-c', cfg, '--json'], r.io), 0, r.o.stderr);
  } finally { await srv.close(); }

  const tokenFile = join(dir, 'cfg-token');
  writeFileSync(tokenFile, 'tok-from-config');
  const { target, calls } = recordingTarget();
  const tcp = await startControl({ daemon: target, listen: { kind: 'tcp', address: '127.0.0.1', port: 0, family: 4 }, tokenFile });
  const port = Number(tcp.address.split(':')[1]);
  const cfg2 = join(dir, 'tcp.yaml');
  writeFileSync(cfg2, `global:\n  control:\n    listen: 127.0.0.1:${port}\n    token_file: ${tokenFile}\n`);
  try {
    const r = out();
    assert.equal(await controlCommand('drain', ['web', '10.0.1.11:80', '-c', cfg2], r.io), 0, r.o.stderr);
    assert.deepEqual(calls[0], ['setDrained', 'web', '10.0.1.11:80', true]);
  } finally { await tcp.close(); }

  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'global:\n  control:\n    listen: nowhere\n');
  const r = out();
  assert.equal(await controlCommand('status', ['-c', bad], r.io), 1);
  assert.match(r.o.stderr, /bad\.yaml:3:\d+: global\.control\.listen: .*\nlvsd: cannot find the control address in .*bad\.yaml \(give --socket or --url\)\n$/);
});

test('client: a non-http URL is refused before connecting', async () => {
  const ep: ControlEndpoint = { kind: 'tcp', url: 'https://127.0.0.1:1' };
  await assert.rejects(callControl(ep, 'GET', '/status'), /only http:\/\/ is supported/);
});

test('logs: a token file others can read is warned about; refusals and every change are logged with the peer', async () => {
  const records: [string, string, Record<string, unknown> | undefined][] = [];
  const log = {
    debug: () => {}, info: (m: string, f?: Record<string, unknown>) => { records.push(['info', m, f]); },
    log: (l: string, m: string, f?: Record<string, unknown>) => { records.push([l, m, f]); },
    warn: (m: string, f?: Record<string, unknown>) => { records.push(['warn', m, f]); },
    error: (m: string, f?: Record<string, unknown>) => { records.push(['error', m, f]); },
  } as unknown as import('../../src/log/index.js').Logger;
  const tokenFile = join(dir, 'loose-token');
  writeFileSync(tokenFile, 'tok', { mode: 0o644 });
  const { target } = recordingTarget();
  const srv = await startControl({ daemon: target, listen: { kind: 'tcp', address: '127.0.0.1', port: 0, family: 4 }, tokenFile, log });
  const port = Number(srv.address.split(':')[1]);
  try {
    assert.ok(records.some(([l, m]) => l === 'warn' && m === `control token file ${tokenFile} is readable by others (mode 644); chmod 600 it`), JSON.stringify(records));
    const body = JSON.stringify({ service: 'web', server: '10.0.1.11:80' });
    await raw({ host: '127.0.0.1', port }, 'POST', '/servers/drain', body);
    await raw({ host: '127.0.0.1', port }, 'POST', '/servers/drain', body, { authorization: 'Bearer tok' });
    const refused = records.find(([, m]) => m === 'control call refused');
    assert.deepEqual(refused?.[2], { path: '/servers/drain', peer: '127.0.0.1', status: 401, reason: 'changes over TCP need Authorization: Bearer <token> (the token in token_file)' });
    const done = records.find(([, m]) => m === 'control /servers/drain');
    assert.deepEqual(done?.[2], { peer: '127.0.0.1', status: 200, service: 'web', server: '10.0.1.11:80' });
    // Anyone who can connect can be refused as often as they like: five lines a minute, the rest counted.
    for (let i = 0; i < 30; i++) await raw({ host: '127.0.0.1', port }, 'POST', '/servers/drain', body);
    assert.equal(records.filter(([, m]) => m === 'control call refused').length, 5);
  } finally { await srv.close(); }
});

test('a request target that is not a path is a 400 before authorization, and a body cut short is no error: nothing logged at error level', async () => {
  const records: [string, string][] = [];
  const push = (l: string) => (m: string) => { records.push([l, m]); };
  const log = { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error'), log: (l: string, m: string) => { records.push([l, m]); } } as unknown as import('../../src/log/index.js').Logger;
  const { target } = recordingTarget();
  const tokenFile = join(dir, 'cut-token');
  writeFileSync(tokenFile, 'x', { mode: 0o600 });
  const srv = await startControl({ daemon: target, listen: { kind: 'tcp', address: '127.0.0.1', port: 0, family: 4 }, tokenFile, log });
  const port = Number(srv.address.split(':')[1]);
  const exchange = (text: string, end = true) => new Promise<string>((resolve) => {
    const c = connect(port, '127.0.0.1', () => { c.write(text); if (end) c.end(); else setTimeout(() => c.destroy(), 100); });
    let got = '';
    c.on('data', (b) => { got += b.toString(); });
    c.on('close', () => resolve(got));
    c.on('error', () => {});
  });
  try {
    for (const t of ['//[', 'http://lvsd/status', '*', '//evil/status']) {
      const got = await exchange(`GET ${t} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      assert.match(got, /^HTTP\/1.1 400 /, t);
      assert.match(got, /the request target must be a path/);
    }
    // A body announced as 1000 bytes, 10 sent, then the caller hangs up.
    await exchange('POST /servers/drain HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\nauthorization: Bearer x\r\n\r\n{"service"', false);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(records.filter(([l]) => l === 'error'), [], JSON.stringify(records));
  } finally { await srv.close(); }
});
