// The demo's localhost ports (src/demo/forward.ts): a port on the host's 127.0.0.1 carried into a
// lab host. Judged from the outside: curl on the host reads what nginx in the lab serves, an echo
// server in the lab returns a large upload byte for byte, and a closed port in the lab is a failed
// connection for curl, not a hang.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Lab, bootKernel, isRoot, type LabKernel } from '../../src/lab/index.js';
import { LabForward, LabForwards } from '../../src/demo/forward.js';

const skip = !isRoot() && 'the lab needs root';
let kernel: LabKernel | undefined;
let lab: Lab | undefined;

before(async () => {
  if (skip) return;
  kernel = await bootKernel();
  lab = await Lab.start('single-director', { kernel });
});
after(async () => { await lab?.stop(); await kernel?.stop(); });

/** curl as a separate program (asynchronously: the forwarder runs on this process's loop). */
function curl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

test('curl on the host reads nginx in a lab host through 127.0.0.1', { skip, timeout: 60_000 }, async (t) => {
  const fw = await LabForward.start(lab!.host('rs1'), { port: 80 });
  t.after(() => fw.close());
  assert.equal(fw.address, '127.0.0.1');
  const first = await curl([fw.url('/')]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, 'rs1\n');
  // Ten in parallel, each its own connection through the one relay.
  const many = await Promise.all(Array.from({ length: 10 }, () => new Promise<string>((resolve, reject) => {
    const s = connect(fw.port, '127.0.0.1');
    let text = '';
    s.on('data', (b) => { text += b.toString(); });
    s.on('end', () => resolve(text));
    s.on('error', reject);
    s.end('GET / HTTP/1.0\r\n\r\n');
  })));
  for (const m of many) assert.match(m, /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nrs1\n$/);
  const again = await curl([fw.url('/')]);
  t.diagnostic(`first curl ${first.ms} ms (relay already started), later ${again.ms} ms`);
});

test('a 1 MB upload comes back byte for byte from an echo server in the lab', { skip, timeout: 120_000 }, async (t) => {
  const rs2 = lab!.host('rs2');
  const echo = await rs2.spawn([process.execPath, '-e', "require('net').createServer({allowHalfOpen:true},(s)=>s.pipe(s)).listen(7007,'0.0.0.0',()=>console.log('up'))"]);
  t.after(() => echo.stop());
  await echo.waitFor('up');
  const fw = await LabForward.start(rs2, { port: 7007 });
  t.after(() => fw.close());
  const payload = randomBytes(1 << 20);
  const t0 = Date.now();
  const back = await new Promise<Buffer>((resolve, reject) => {
    const s = connect(fw.port, '127.0.0.1');
    const parts: Buffer[] = [];
    s.on('data', (b: Buffer) => parts.push(b));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
    s.end(payload);
  });
  t.diagnostic(`1 MiB up and back in ${Date.now() - t0} ms`);
  assert.equal(back.length, payload.length);
  assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(payload).digest('hex'));
});

test('a closed port in the lab is a failed connection, and several forwards share one relay per host', { skip, timeout: 60_000 }, async (t) => {
  const fws = await LabForwards.start([
    { name: 'closed', host: lab!.host('rs3'), target: { port: 9 }, listen: { port: 0 } },
    { name: 'nginx', host: lab!.host('rs3'), target: { port: 80 }, listen: { port: 0 } },
  ]);
  t.after(() => fws.close());
  const closed = await curl([fws.get('closed')!.url('/')]);
  assert.notEqual(closed.code, 0);
  assert.ok(closed.ms < 5000, `took ${closed.ms} ms`);
  const ok = await curl([fws.get('nginx')!.url('/')]);
  assert.equal(ok.stdout, 'rs3\n', ok.stderr);
  // ps sees every process in the kernel: count this host's relays by namespace instead.
  const pids = await lab!.host('rs3').exec(['ip', 'netns', 'pids', lab!.host('rs3').ns]);
  const cmdlines = await lab!.host('rs3').exec(['sh', '-c', `for p in ${pids.stdout.split(/\s+/).filter(Boolean).join(' ')}; do tr '\\0' ' ' < /proc/$p/cmdline; echo; done`]);
  assert.equal(cmdlines.stdout.split('\n').filter((l) => l.includes('--lvsd-relay')).length, 1, cmdlines.stdout);
});

test('a unix socket in a lab host (how lvsd\'s control API listens) is reachable on a host port', { skip, timeout: 60_000 }, async (t) => {
  const rs1 = lab!.host('rs1');
  const path = `/tmp/lvsd-forward-test-${process.pid}.sock`;
  const srv = await rs1.spawn([process.execPath, '-e', `require('http').createServer((q,s)=>s.end(JSON.stringify({path:q.url}))).listen(${JSON.stringify(path)},()=>console.log('up'))`]);
  t.after(async () => { await srv.stop(); await rs1.exec(['rm', '-f', path]); });
  await srv.waitFor('up');
  const fw = await LabForward.start(rs1, { path });
  t.after(() => fw.close());
  const r = await curl([fw.url('/status')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { path: '/status' });
});
