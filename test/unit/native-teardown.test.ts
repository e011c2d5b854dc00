// A worker that dies with sockets still polled must not take the process with it. Before the addon's
// environment cleanup hook, worker.terminate() on a worker holding a polled socket aborted Node in
// uv_loop_close() ("while having open handles", SIGABRT); freeing the closed handles through a
// function of the addon then crashed instead (SIGSEGV: Node unloads the addon with the worker).
// Each scenario runs in a child process, judged by its exit status and signal, and by the main thread
// still receiving datagrams on its own polled socket after the worker is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const nativeIndex = new URL('../../src/native/index.js', import.meta.url).href;

/** Worker body (ES module source; Socket and constants in scope), then what the main thread does. */
function run(workerBody: string, opts: { mainUsesAddon?: boolean; how: 'terminate' | 'throw' | 'exit' }) {
  const workerSrc = `import { parentPort } from 'node:worker_threads';
    const { Socket, AF_INET, SOCK_DGRAM } = await import(${JSON.stringify(nativeIndex)});
    const open = () => { const s = Socket.open(AF_INET, SOCK_DGRAM, 0); s.bind({ family: 'inet', address: '127.0.0.1' }); return s; };
    ${workerBody}
    parentPort.postMessage('ready');
    parentPort.on('message', (m) => { if (m === 'throw') throw new Error('worker bug'); if (m === 'exit') process.exit(3); });`;
  const main = `import { Worker } from 'node:worker_threads';
    import { createSocket } from 'node:dgram';
    const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
    let mine, received = 0;
    if (${opts.mainUsesAddon ? 'true' : 'false'}) {
      const { Socket, AF_INET, SOCK_DGRAM } = await import(${JSON.stringify(nativeIndex)});
      mine = Socket.open(AF_INET, SOCK_DGRAM, 0); mine.bind({ family: 'inet', address: '127.0.0.1' });
      mine.onReadable(() => { while (mine.recv()) received++; });
    }
    for (let round = 0; round < 3; round++) {
      const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(${JSON.stringify(workerSrc)})));
      w.on('error', () => {});
      await new Promise((r, j) => { w.once('message', r); w.once('error', j); });
      const gone = new Promise((r) => w.once('exit', r));
      if (${JSON.stringify(opts.how)} === 'terminate') await w.terminate(); else w.postMessage(${JSON.stringify(opts.how)});
      out({ round, code: await gone });
    }
    if (mine) {
      const tx = createSocket('udp4');
      const port = mine.localAddress().port;
      await new Promise((r) => tx.send('x', port, '127.0.0.1', r));
      const end = Date.now() + 2000;
      while (!received && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      tx.close(); mine.close();
      out({ received });
    }
    out({ done: true });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', main], { encoding: 'utf8', timeout: 30_000 });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, signal: r.signal, stderr: r.stderr, lines };
}

const polled = `const a = open(); a.onReadable(() => {});
  const b = open(); b.onReadable(() => {}, { keepAlive: false });`;

for (const how of ['terminate', 'throw', 'exit'] as const) {
  test(`a worker with two polled sockets, ${how === 'terminate' ? 'terminate()d' : how === 'throw' ? 'dying of an uncaught error' : 'calling process.exit'}, three times: the process lives on`, () => {
    const r = run(polled, { how });
    assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.lines.filter((l) => 'round' in l).length, 3);
    assert.ok(r.lines.some((l) => l.done), r.stderr);
  });
}

test('the main thread uses the addon too: after three workers were terminated, its own polled socket still receives', () => {
  const r = run(polled, { how: 'terminate', mainUsesAddon: true });
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.lines.find((l) => 'received' in l), { received: 1 });
});

test('a worker that stopped polling just before terminate() (close callback still pending) does not crash the process', () => {
  const r = run(`const a = open(); a.onReadable(() => {}); a.close();
    const b = open(); b.onReadable(() => {}); b.stopPolling();`, { how: 'terminate' });
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.lines.some((l) => l.done));
});
