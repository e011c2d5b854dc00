// mapInSlices: how IpvsClient decodes a big dump without holding the event loop (issue #8). A fake clock
// makes the slicing deterministic; the last test checks, on the real loop, that other callbacks run between
// slices while the results keep their order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapInSlices } from '../../ipvs/client.js';

test('mapInSlices yields once a slice has run sliceMs, and never after the last item', async () => {
  let clock = 0;
  let yields = 0;
  const items = Array.from({ length: 10 }, (_, i) => i);
  const out = await mapInSlices(items, (x) => { clock += 2; return x * 10; },
    { sliceMs: 5, now: () => clock, yieldTurn: async () => { yields++; } });
  assert.deepEqual(out, items.map((x) => x * 10));
  // 2 ms per item, 5 ms slices: a yield after items 3, 6 and 9 (each slice restarts after the yield), not after 10.
  assert.equal(yields, 3);
});

test('mapInSlices does not yield when the work fits in one slice, and maps an empty list', async () => {
  let yields = 0;
  const yieldTurn = async () => { yields++; };
  assert.deepEqual(await mapInSlices([1, 2, 3], (x, i) => x + i, { sliceMs: 5, now: () => 0, yieldTurn }), [1, 3, 5]);
  assert.deepEqual(await mapInSlices([], (x: number) => x, { yieldTurn }), []);
  assert.equal(yields, 0);
});

test('an error from fn rejects the promise (a malformed entry fails the read, not the process)', async () => {
  await assert.rejects(mapInSlices([1, 2], (x) => { if (x === 2) throw new Error('bad entry'); return x; }), /bad entry/);
});

test('on the real loop, immediates and timers queued meanwhile run between slices', async () => {
  let clock = 0;
  const seen: string[] = [];
  setImmediate(() => seen.push('immediate'));
  const out = await mapInSlices([1, 2, 3, 4], (x) => { clock += 10; seen.push(`item ${x}`); return x; }, { sliceMs: 5, now: () => clock });
  assert.deepEqual(out, [1, 2, 3, 4]);
  assert.equal(seen[0], 'item 1');
  assert.equal(seen[1], 'immediate', 'the loop got a turn after the first slice');
});
