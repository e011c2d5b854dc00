// Scrapes close together share one rendering (src/metrics/shared-render.ts), so a client hammering
// /metrics costs the main thread (and its health checks) one render per window, not one per request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config/index.js';
import { startMetrics } from '../../src/metrics/index.js';
import { MIN_REUSE_MS, SharedRender } from '../../src/metrics/shared-render.js';

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

test('40 concurrent scrapes are served by one rendering, each with the whole text', async () => {
  const r = parseConfig('global: {}\n', 'test.yaml');
  assert.ok(r.ok);
  const m = await startMetrics({ daemon: { config: r.config, configHash: 'x', reloads: { success: 0, failure: 0 } }, listen: { kind: 'tcp', address: '127.0.0.1', port: 0, family: 4 } as never });
  try {
    const port = (m.address as AddressInfo).port;
    const bodies = await Promise.all(Array.from({ length: 40 }, () => get(port)));
    // One rendering when the 40 requests arrive together; a loaded machine may spread them past the
    // reuse window, and still they share a few (the deterministic count is in the next test).
    assert.ok(m.renders() <= 4, `${m.renders()} renderings for 40 scrapes`);
    for (const b of bodies) { assert.equal(b, bodies[0]); assert.match(b, /lvsd_config_info\{sha256="x"\} 1/); }
    const before = m.renders();
    m.invalidate();
    await get(port);
    assert.equal(m.renders(), before + 1);
  } finally { await m.close(); }
});

test('SharedRender: reused for MIN_REUSE_MS or as long as the last render took, whichever is longer; a failure is not reused', async () => {
  let now = 0;
  let cost = 0;
  let fail = false;
  const s = new SharedRender(async function* () { if (fail) throw new Error('boom'); yield 'a'; now += cost; yield 'b'; }, () => now);
  const read = async () => { const out: string[] = []; for await (const p of s.pieces()) out.push(p); return out.join(''); };
  // Readers that ask together share one rendering and each get all of it.
  assert.deepEqual(await Promise.all(Array.from({ length: 40 }, () => read())), Array.from({ length: 40 }, () => 'ab'));
  assert.equal(s.renders, 1);
  s.invalidate();
  assert.equal(await read(), 'ab');
  now += MIN_REUSE_MS;
  assert.equal(await read(), 'ab');
  assert.equal(s.renders, 2);
  now += 1;
  await read();
  assert.equal(s.renders, 3, 'past the window');
  cost = 2_000; // a slow render (10,000 destinations) is reused for as long as it took
  s.invalidate();
  await read();
  now += 1_500;
  await read();
  assert.equal(s.renders, 4);
  now += 600;
  fail = true;
  await assert.rejects(read(), /boom/);
  await assert.rejects(read(), /boom/);
  assert.equal(s.renders, 6, 'a failed rendering is tried again on the next scrape');
});
