// The lab itself, on the default backend (UML on this machine: its kernel has no IPVS): topologies,
// commands and processes in hosts, files, services, and IPVS NAT through real nginx real servers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootKernel, type LabKernel } from '../../src/lab/kernel.js';
import { Lab, LabCommandError } from '../../src/lab/lab.js';
import { natRoundRobin } from '../../src/lab/selftest/scenarios.js';

describe('lab (default backend)', () => {
  let kernel: LabKernel;
  // One kernel for the file: every test builds its own namespaces in it and removes them after.
  before(async () => { kernel = await bootKernel(); });
  after(async () => { await kernel?.stop(); });

  test('single-director: ipvsadm NAT service, curl through the VIP rotates over the 3 nginx real servers', async (t) => {
    const lab = await Lab.start('single-director', { kernel });
    t.after(() => lab.stop());
    const v4 = await natRoundRobin(lab, 4, 9);
    // ip_vs_new_dest() puts a new destination at the head of the service's list and ip_vs_rr
    // walks the list from the head, so the rotation is the reverse of the order of ipvsadm -a.
    assert.deepEqual(v4.answers, ['rs3', 'rs2', 'rs1', 'rs3', 'rs2', 'rs1', 'rs3', 'rs2', 'rs1'], v4.table);
    // The independent reader agrees: each destination holds three connections (IPVS counts live
    // connections at once; the --stats counters are only summed by the estimator every 2 s).
    for (const n of [11, 12, 13]) assert.match(v4.tableAfter, new RegExp(`10\\.0\\.1\\.${n}:80\\s+Masq\\s+1\\s+0\\s+3\\s`), v4.tableAfter);

    const v6 = await natRoundRobin(lab, 6, 6);
    assert.deepEqual(v6.answers, ['rs3', 'rs2', 'rs1', 'rs3', 'rs2', 'rs1'], v6.table);
  });

  test('exec: status, stdout, stderr, stdin, env, cwd, timeout; run() throws a typed error', async (t) => {
    const lab = await Lab.start('single-director', { kernel, services: false });
    t.after(() => lab.stop());
    const h = lab.host('rs1');
    const r = await h.exec(['sh', '-c', 'echo out; echo err >&2; cat; echo "$LABVAR"; pwd; exit 7'], { input: 'in\n', env: { LABVAR: 'v' }, cwd: '/usr' });
    assert.equal(r.code, 7);
    assert.equal(r.stdout, 'out\nin\nv\n/usr\n');
    assert.equal(r.stderr, 'err\n');
    const slow = await h.exec(['sleep', '10'], { timeoutMs: 300 });
    assert.equal(slow.signal, 'SIGKILL');
    assert.match(slow.error ?? '', /timed out/);
    await assert.rejects(h.run(['ls', '/nonexistent']), (e: unknown) => e instanceof LabCommandError && e.result.code === 2 && /nonexistent/.test(e.message));
    // A request far over UML's 4 KiB console buffer (it stalled the channel before flow control).
    assert.equal(await h.run(['sh', '-c', 'echo ${#PAD}'], { env: { PAD: 'x'.repeat(20_000) } }), '20000\n');
    // Big output (it takes a file in the shared directory instead of the console channel in UML).
    const big = await h.run(['seq', '1', '100000']);
    assert.equal(big.length, 588895);
    assert.ok(big.startsWith('1\n2\n') && big.endsWith('\n99999\n100000\n'));
    const missing = await h.exec(['/no/such/binary']);
    assert.notEqual(missing.code, 0);
    // Each host is its own network namespace: it sees only its own interfaces.
    const links = (await h.run(['ls', '/sys/class/net'])).trim().split('\n').filter((n) => !/^(tunl0|ip6tnl0|sit0)$/.test(n));
    assert.deepEqual(links.sort(), ['eth0', 'lo']);
  });

  test('spawn: streams, lines, stdin, signals, exit status', async (t) => {
    const lab = await Lab.start('single-director', { kernel, services: false });
    t.after(() => lab.stop());
    const h = lab.host('client');
    const p = await h.spawn(['sh', '-c', 'echo ready; while read l; do echo "got $l"; [ "$l" = bye ] && exit 3; done']);
    await p.waitFor('ready');
    await p.write('one\n');
    await p.waitFor(/got one/);
    await p.write('bye\n');
    assert.deepEqual(await p.exited, { code: 3, signal: null });
    assert.equal(p.output, 'ready\ngot one\ngot bye\n');

    const ticker = await h.spawn(['sh', '-c', 'for i in 1 2 3; do echo line$i; done; echo warn >&2']);
    const lines: string[] = [];
    for await (const l of ticker.lines()) lines.push(l);
    assert.deepEqual(lines, ['line1', 'line2', 'line3']);
    assert.equal((await ticker.exited).code, 0);
    assert.equal(ticker.errors, 'warn\n');

    const sleeper = await h.spawn(['sleep', '600']);
    assert.ok(sleeper.pid > 0);
    assert.deepEqual(await sleeper.stop(), { code: null, signal: 'SIGTERM' });
    // Left running on purpose: the lab's teardown must end it.
    await h.spawn(['sleep', '600']);
  });

  test('files: the lab directory is the same path inside and outside', async (t) => {
    const lab = await Lab.start('single-director', { kernel, services: false });
    t.after(() => lab.stop());
    const inside = join(lab.dir, 'from-inside.txt');
    await lab.host('director').sh(`ip -4 -o addr show dev eth0 > ${inside}`);
    assert.match(readFileSync(inside, 'utf8'), /192\.0\.2\.2\/24/);
    const outside = join(lab.dir, 'from-outside.txt');
    writeFileSync(outside, 'written by the test\n');
    assert.equal(await lab.host('rs2').run(['cat', outside]), 'written by the test\n');
  });

  test('two labs in one kernel at once get their own namespaces', async (t) => {
    const a = await Lab.start('single-director', { kernel, services: false });
    t.after(() => a.stop());
    const b = await Lab.start('single-director', { kernel, services: false });
    t.after(() => b.stop());
    assert.notEqual(a.host('director').ns, b.host('director').ns);
    await b.host('client').run(['ping', '-c', '1', '-W', '2', '192.0.2.10']);
    await a.stop();
    await b.host('client').run(['ping', '-c', '1', '-W', '2', '192.0.2.2']);
  });

  test('node real server in a host: runtime control of status, body, delay, hang; TLS', async (t) => {
    const lab = await Lab.start('single-director', { kernel, services: false });
    t.after(() => lab.stop());
    const c = lab.host('client');
    const rs = await lab.host('rs1').startRealServer({ port: 8080 });
    const curl = (url: string, ...args: string[]): Promise<string> =>
      c.run(['curl', '-s', '-w', ' %{http_code} %{time_total}', '--max-time', '3', ...args, url]);
    assert.match(await curl('http://10.0.1.11:8080/'), /^rs1\n 200 /);
    await rs.set({ status: 503, body: 'down\n' });
    assert.match(await curl('http://[2001:db8:2::11]:8080/x'), /^down\n 503 /);
    await rs.set({ reset: true });
    await rs.set({ delayMs: 400 });
    const [, secs] = /200 ([\d.]+)$/.exec(await curl('http://10.0.1.11:8080/'))!;
    assert.ok(Number(secs) >= 0.4, `answer after ${secs} s`);
    await rs.set({ delayMs: 0, mode: 'hang' });
    const hung = await c.exec(['curl', '-s', '--max-time', '1', 'http://10.0.1.11:8080/']);
    assert.equal(hung.code, 28); // curl: operation timed out
    await assert.rejects(rs.set({ status: 42 } as never), /status must be/);
    assert.ok(rs.requests().length >= 4);

    const tls = await lab.host('rs2').startRealServer({ port: 8443, tls: true, name: 'rs2.lab' });
    const body = await c.run(['curl', '-sS', '--cacert', tls.cert!, '--resolve', 'rs2.lab:8443:10.0.1.12', 'https://rs2.lab:8443/']);
    assert.equal(body, 'rs2.lab\n');
  });

  test('director-pair: both directors on both LANs, IPv4 and IPv6 usable at once (no DAD), raw sockets', async (t) => {
    const lab = await Lab.start('director-pair', { kernel, services: false });
    t.after(() => lab.stop());
    const d1 = lab.host('director1');
    // ping as root opens a SOCK_RAW ICMP socket; tcpdump an AF_PACKET one.
    const capture = await lab.host('director2').spawn(['tcpdump', '-n', '-l', '-c', '1', '-i', 'eth1', 'icmp6 and ip6[40] == 128']);
    await capture.waitFor(/listening on eth1/);
    for (const dst of ['192.0.2.3', '10.0.1.3', '10.0.1.13', '2001:db8:1::3', '2001:db8:2::3', '2001:db8:2::11', '192.0.2.100']) {
      await d1.run(['ping', '-c', '1', '-W', '2', dst]);
    }
    const seen = await capture.exited;
    assert.equal(seen.code, 0, capture.errors);
    assert.match(capture.output, /2001:db8:2::2 > 2001:db8:2::3: ICMP6, echo request/);
    const addrs = await d1.run(['ip', '-6', 'addr', 'show', 'dev', 'eth0']);
    assert.doesNotMatch(addrs, /tentative/);
  });
});
