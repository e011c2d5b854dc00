// File check (keepalived FILE_CHECK / track_file) and agent weight (HAProxy agent-check): the pure cores
// against the texts their references give (HAProxy's own regression test reply and the replies of
// published agents; keepalived.conf(5)'s rules for track_file values), then the probes against real
// files, a real fs.watch, and agents served by Node's net and http servers on this machine.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_START, agentVerdict, applyAgentReply, parseAgentHttp, parseAgentReply, replyLine, type AgentState } from '../../checkers/agent-reply.js';
import { agentProbe, judgeAgentBytes } from '../../checkers/agent.js';
import { fileProbe, judgeFileBytes, judgeFileValue, parseFileValue, watchFile } from '../../checkers/file.js';
import { reasonStem } from '../../checkers/outcome.js';
import { initialState, step } from '../../checkers/verdict.js';
import { parseConfig } from '../../src/config/index.js';
import { CheckRunner } from '../../checkers/runner.js';
import { effectiveWeight } from '../../src/balancer/desired.js';

const dir = mkdtempSync(join(tmpdir(), 'lvsd-file-agent-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const replay = (lines: string[], from: AgentState = AGENT_START) => lines.reduce((s, l) => applyAgentReply(s, parseAgentReply(replyLine(l))), from);

describe('agent reply (HAProxy agent-check text)', () => {
  test("HAProxy's regression test reply (reg-tests/checks/agent-check.vtc): weight 100 -> 75, maint, down", () => {
    // The server of that test sends exactly this line; HAProxy then shows uweight 75 of iweight 100 and maxconn 30.
    const r = parseAgentReply(replyLine('75%,maxconn:30,maint,down\n'));
    assert.deepEqual(r, { percent: 75, admin: 'maint', health: 'down' });
    const s = applyAgentReply(AGENT_START, r);
    assert.deepEqual(agentVerdict(s), { ok: false, reason: 'agent: down' });
    const vs = parseConfig('virtual_services: [{name: a, address: "192.0.2.10:80", forwarding: nat, real_servers: [{address: "10.0.1.11:80", weight: 100}]}]', 't.yaml');
    assert.ok(vs.ok);
    assert.equal(effectiveWeight(vs.config.virtual_services[0]!, 0, { up: true, weightPercent: s.percent }), 75);
  });

  test('words of the manual, in any order, any case, separated by spaces, tabs or commas; the last of a kind wins', () => {
    // Replies of published agents: clearcare/agent_check ("UP 99%", "DRAIN 99%", "READY 100%"), the
    // gitlab-haproxy-agent contract (ready | drain | maint | N%), an agent answering CPU idle ("50%\n").
    assert.deepEqual(parseAgentReply('UP 99%'), { health: 'up', percent: 99 });
    assert.deepEqual(parseAgentReply('DRAIN 99%'), { admin: 'drain', percent: 99 });
    assert.deepEqual(parseAgentReply('READY 100%'), { admin: 'ready', percent: 100 });
    assert.deepEqual(parseAgentReply('50%'), { percent: 50 });
    assert.deepEqual(parseAgentReply('\tup,\t25% ,  10%'), { health: 'up', percent: 10 });
    assert.deepEqual(parseAgentReply('stopped # maintenance window 14:00'), { health: 'stopped', description: 'maintenance window 14:00' });
    assert.deepEqual(parseAgentReply('fail#disk full'), { health: 'fail', description: 'disk full' });
    assert.deepEqual(parseAgentReply('up bogus 80% other'), { health: 'up', percent: 80, unknown: 'bogus' });
    assert.deepEqual(parseAgentReply(''), {});
    assert.equal(replyLine('drain\r\nup\n'), 'drain');
  });

  test('drain is weight 0 and stays until the agent says ready; a weight alone never takes a server out', () => {
    assert.deepEqual(agentVerdict(replay(['50%'])), { ok: true, weightPercent: 50 });
    assert.deepEqual(agentVerdict(replay(['50%', 'drain'])), { ok: true, weightPercent: 0 });
    assert.deepEqual(agentVerdict(replay(['50%', 'drain', '80%'])), { ok: true, weightPercent: 0 });
    assert.deepEqual(agentVerdict(replay(['50%', 'drain', '80%', 'ready'])), { ok: true, weightPercent: 80 });
    assert.deepEqual(agentVerdict(replay(['maint'])), { ok: false, reason: 'agent: maint' });
    assert.deepEqual(agentVerdict(replay(['down # disk full', '90%'])), { ok: false, reason: 'agent: down: disk full' });
    assert.deepEqual(agentVerdict(replay(['down # disk full', 'up'])), { ok: true, weightPercent: 100 });
  });

  test("an agent's description is escaped and cut in the reason; the metrics' stem drops it", () => {
    const v = agentVerdict(replay([`down # ${'x'.repeat(100)}\x1b[31m`]));
    assert.ok(!v.ok);
    assert.ok(v.reason.length < 100 && !v.reason.includes('\x1b'), v.reason);
    assert.equal(reasonStem(v.reason), 'agent: down');
    assert.equal(reasonStem('agent: maint'), 'agent: maint');
  });

  test('bounded reads: a line of 512 bytes at most, an HTTP head of 8 KiB; EOF ends a line without newline', () => {
    const tcp = { protocol: 'tcp' as const };
    assert.deepEqual(judgeAgentBytes(Buffer.from('75'), tcp, false), { done: false });
    assert.deepEqual(judgeAgentBytes(Buffer.from('75%'), tcp, true), { done: true, line: '75%' });
    assert.deepEqual(judgeAgentBytes(Buffer.from('drain\n'), tcp, false), { done: true, line: 'drain' });
    assert.deepEqual(judgeAgentBytes(Buffer.from(''), tcp, true), { done: true, outcome: { ok: false, reason: 'agent sent nothing' } });
    assert.deepEqual(judgeAgentBytes(Buffer.alloc(513, 0x41), tcp, false), { done: true, outcome: { ok: false, reason: 'agent reply longer than 512 bytes' } });
    const http = { protocol: 'http' as const };
    assert.deepEqual(judgeAgentBytes(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n'), http, false), { done: false });
    assert.deepEqual(judgeAgentBytes(Buffer.from('HTTP/1.1 503 Service Unavailable\r\n\r\nup\n'), http, false), { done: true, outcome: { ok: false, reason: 'status 503' } });
    assert.deepEqual(judgeAgentBytes(Buffer.alloc(9000, 0x41), http, false), { done: true, outcome: { ok: false, reason: 'response head longer than 8192 bytes' } });
    assert.deepEqual(parseAgentHttp(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n\r\n')), { complete: false, why: 'not an HTTP response' });
  });

  test('the verdict core carries the percentage: a change is a weight event, not a transition', () => {
    const P = { interval: 1000, retries: 1, rise: 1, delay_before_retry: 1000, warmup: 0 };
    let r = step(P, initialState(false), { ok: true, weightPercent: 50 });
    assert.deepEqual(r.changes, [{ kind: 'weight', weight: undefined, weightPercent: 50 }]);
    r = step(P, r.state, { ok: true, weightPercent: 50 });
    assert.deepEqual(r.changes, []);
    r = step(P, r.state, { ok: true });
    assert.deepEqual(r.changes, [{ kind: 'weight', weight: undefined, weightPercent: undefined }]);
    // A check that never reports a percentage keeps its state as before (no new keys).
    assert.deepEqual(Object.keys(step(P, initialState(false), { ok: true }).state).sort(), ['failures', 'reason', 'successes', 'up', 'weight']);
  });
});

describe('agent probe against real servers on this machine', () => {
  async function listen(s: Server | ReturnType<typeof createHttpServer>): Promise<number> {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as AddressInfo).port;
  }
  const target = (port: number) => ({ address: '127.0.0.1', family: 4 as const, port });

  test('tcp: agent-send reaches the agent, its line sets the outcome; state persists between probes', async (t) => {
    let reply = '50%\n';
    const got: string[] = [];
    const srv = createTcpServer((c) => {
      c.once('data', (d) => { got.push(d.toString()); c.end(reply); });
    });
    t.after(() => srv.close());
    const probe = agentProbe(target(await listen(srv)), { timeout: 1000, protocol: 'tcp', send: 'web/rs1\n' });
    assert.deepEqual(await probe(), { ok: true, weightPercent: 50 });
    assert.deepEqual(got, ['web/rs1\n']);
    reply = 'drain\n';
    assert.deepEqual(await probe(), { ok: true, weightPercent: 0 });
    reply = '75%\n';
    assert.deepEqual(await probe(), { ok: true, weightPercent: 0 }, 'still drained: only ready ends a drain');
    reply = 'ready\n';
    assert.deepEqual(await probe(), { ok: true, weightPercent: 75 });
    reply = 'down # stopped by the deploy\n';
    assert.deepEqual(await probe(), { ok: false, reason: 'agent: down: stopped by the deploy' });
  });

  test('tcp: refused, silent past the timeout, endless line', async (t) => {
    const silent = createTcpServer(() => {});
    const endless = createTcpServer((c) => { const spam = () => { if (c.write('A'.repeat(4096))) setImmediate(spam); else c.once('drain', spam); }; c.on('error', () => {}); spam(); });
    t.after(() => { silent.close(); endless.close(); });
    const p1 = await listen(silent);
    const p2 = await listen(endless);
    const closed = createTcpServer();
    const p3 = await listen(closed);
    closed.close();
    assert.deepEqual(await agentProbe(target(p3), { timeout: 500, protocol: 'tcp' })(), { ok: false, reason: 'connection refused' });
    assert.deepEqual(await agentProbe(target(p1), { timeout: 300, protocol: 'tcp' })(), { ok: false, reason: 'timed out after 300ms' });
    assert.deepEqual(await agentProbe(target(p2), { timeout: 2000, protocol: 'tcp' })(), { ok: false, reason: 'agent reply longer than 512 bytes' });
  });

  test("http: Node's HTTP server answers the agent text in its body; a non-2xx status fails", async (t) => {
    let status = 200;
    let body = 'up 30%\n';
    const paths: string[] = [];
    const srv = createHttpServer((req, res) => { paths.push(req.url ?? ''); res.writeHead(status, { 'content-type': 'text/plain' }); res.end(body); });
    t.after(() => srv.close());
    const probe = agentProbe(target(await listen(srv)), { timeout: 1000, protocol: 'http', path: '/agent' });
    assert.deepEqual(await probe(), { ok: true, weightPercent: 30 });
    assert.deepEqual(paths, ['/agent']);
    body = 'maint';
    assert.deepEqual(await probe(), { ok: false, reason: 'agent: maint' });
    status = 500;
    assert.deepEqual(await probe(), { ok: false, reason: 'status 500' });
  });
});

describe('file check (keepalived FILE_CHECK / track_file)', () => {
  test('values as keepalived reads them (strtol base 0): decimal, sign, 0x hex, blanks; empty is 0', () => {
    assert.deepEqual(parseFileValue('1\n'), { ok: true, value: 1 });
    assert.deepEqual(parseFileValue('  -25 \n'), { ok: true, value: -25 });
    assert.deepEqual(parseFileValue('0x10'), { ok: true, value: 16 });
    assert.deepEqual(parseFileValue(''), { ok: true, value: 0 });
    assert.deepEqual(parseFileValue('2147483648'), { ok: true, value: 2147483648 }, 'keepalived accepts INT32_MAX + 1');
    assert.deepEqual(parseFileValue('2147483649'), { ok: false, why: 'out of range' });
    assert.deepEqual(parseFileValue('12abc'), { ok: false, why: 'not an integer' });
    assert.deepEqual(parseFileValue('1\n2\n'), { ok: false, why: 'not an integer' });
  });

  test('weight 0: 0 is up, anything else down ("file /run/x: 1"); reverse flips it', () => {
    const n = 'file /run/x';
    assert.deepEqual(judgeFileValue(n, 0, { weight: 0, reverse: false }), { ok: true });
    assert.deepEqual(judgeFileValue(n, 1, { weight: 0, reverse: false }), { ok: false, reason: 'file /run/x: 1' });
    assert.deepEqual(judgeFileValue(n, -3, { weight: 0, reverse: false }), { ok: false, reason: 'file /run/x: -3' });
    assert.deepEqual(judgeFileValue(n, 0, { weight: 0, reverse: true }), { ok: false, reason: 'file /run/x: 0' });
    assert.deepEqual(judgeFileValue(n, 7, { weight: 0, reverse: true }), { ok: true });
    assert.equal(reasonStem('file /run/x: -3'), 'file /run/x: value');
  });

  test('weight N: value x N adds to the real server weight; at or below -2^31 down (IPVS_WEIGHT_FAULT)', () => {
    const n = 'file /run/x';
    assert.deepEqual(judgeFileValue(n, 3, { weight: 5, reverse: false }), { ok: true, weightDelta: 15 });
    assert.deepEqual(judgeFileValue(n, 3, { weight: 5, reverse: true }), { ok: true, weightDelta: -15 });
    assert.deepEqual(judgeFileValue(n, -2147483648, { weight: 1, reverse: false }), { ok: false, reason: 'file /run/x: -2147483648' });
    const vs = parseConfig('virtual_services: [{name: a, address: "192.0.2.10:80", forwarding: nat, real_servers: [{address: "10.0.1.11:80", weight: 10}]}]', 't.yaml');
    assert.ok(vs.ok);
    const w = (v: object) => effectiveWeight(vs.config.virtual_services[0]!, 0, { up: true, ...v });
    assert.equal(w({ weightDelta: 15 }), 25);
    assert.equal(w({ weightDelta: -15 }), 0, 'a negative result is weight 0, as keepalived real_weight()');
    assert.equal(w({ weightDelta: 10, weightPercent: 50 }), 10, 'file delta first, then the agent percentage');
  });

  test('bytes: more than 64 fail; the reasons name the file', () => {
    assert.deepEqual(judgeFileBytes('file /x', Buffer.from('0\n'), { weight: 0, reverse: false }), { ok: true });
    assert.deepEqual(judgeFileBytes('file /x', Buffer.alloc(65, 0x30), { weight: 0, reverse: false }), { ok: false, reason: 'file /x: longer than 64 bytes' });
    assert.deepEqual(judgeFileBytes('file /x', Buffer.from('up\n'), { weight: 0, reverse: false }), { ok: false, reason: 'file /x: not an integer' });
  });

  test('the probe on a real file: missing, value, replaced by rename; the watch wakes on each change', async () => {
    const path = join(dir, 'maint');
    const probe = fileProbe({ path, weight: 0, reverse: false });
    assert.deepEqual(await probe(), { ok: false, reason: `file ${path} missing` });
    let wakes = 0;
    const stop = watchFile(path, () => { wakes++; });
    try {
      const waitWake = async (n: number) => { for (let i = 0; i < 200 && wakes < n; i++) await new Promise((r) => setTimeout(r, 10)); assert.ok(wakes >= n, `${wakes} wakes, wanted ${n}`); };
      writeFileSync(path, '0\n');
      await waitWake(1);
      assert.deepEqual(await probe(), { ok: true });
      const tmp = join(dir, '.maint.tmp');
      writeFileSync(tmp, '1\n');
      const before = wakes;
      renameSync(tmp, path);
      await waitWake(before + 1);
      assert.deepEqual(await probe(), { ok: false, reason: `file ${path}: 1` });
      writeFileSync(join(dir, 'other'), 'x');
      await new Promise((r) => setTimeout(r, 100));
      const settled = wakes;
      writeFileSync(join(dir, 'other'), 'y');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(wakes, settled, 'another file in the directory does not wake the check');
      unlinkSync(path);
      await waitWake(settled + 1);
      assert.deepEqual(await probe(), { ok: false, reason: `file ${path} missing` });
    } finally {
      stop();
    }
  });

  test('the runner wires the watch: a change is probed at once, long before the 60 s interval; release stops it', async () => {
    const path = join(dir, 'runner-flag');
    writeFileSync(path, '0\n');
    const r = parseConfig(`checks: [{name: f, type: file, path: ${path}, interval: 60s}]`, 't.yaml');
    assert.ok(r.ok);
    const runner = new CheckRunner();
    const changes: string[] = [];
    const listener = (_i: unknown, c: { kind: string }) => { changes.push(c.kind); };
    const inst = runner.acquire(r.config.checks[0]!, { address: '10.0.1.11', family: 4, port: 80 }, false, listener);
    runner.start();
    try {
      for (let i = 0; i < 100 && inst.probes < 1; i++) await new Promise((res) => setTimeout(res, 10));
      writeFileSync(path, '1\n');
      for (let i = 0; i < 200 && !changes.includes('down'); i++) await new Promise((res) => setTimeout(res, 10));
      assert.deepEqual(changes, ['down']);
      assert.equal(inst.state.reason, `file ${path}: 1`);
      runner.release(inst, listener);
      const probes = inst.probes;
      writeFileSync(path, '0\n');
      await new Promise((res) => setTimeout(res, 200));
      assert.equal(inst.probes, probes, 'released: the watch is gone');
    } finally {
      runner.stop();
    }
  });

  test('config: path absolute, weight and reverse; agent: port required, send only for tcp', () => {
    const ok = parseConfig(`
checks:
  - {name: f, type: file, path: /run/lvsd/maint}
  - {name: a, type: agent, port: 9999, send: "web\\n"}
  - {name: h, type: agent, port: 9999, protocol: http, path: /agent}
`, 't.yaml');
    assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.errors));
    const [f, a] = ok.config.checks as unknown as [{ weight: number; reverse: boolean }, { protocol: string; send: string }];
    assert.deepEqual([f.weight, f.reverse, a.protocol, a.send], [0, false, 'tcp', 'web\n']);
    const bad = parseConfig(`
checks:
  - {name: f, type: file, path: run/maint}
  - {name: a, type: agent}
  - {name: b, type: agent, port: 1, protocol: http, send: x}
  - {name: c, type: file, path: /x, track_file: x}
`, 't.yaml');
    assert.ok(!bad.ok);
    const msgs = bad.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
    assert.match(msgs, /checks\[0\]\.path: .*absolute path/);
    assert.match(msgs, /checks\[1\].*port/);
    assert.match(msgs, /checks\[2\]\.send: send is for protocol tcp/);
    assert.match(msgs, /track_file.*write 'path'/);
  });
});
