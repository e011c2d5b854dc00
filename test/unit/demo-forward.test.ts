// The mux frames of the demo's localhost forwarder (src/demo/forward.ts): pure codec tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodeFrame, parseFrame, FrameReader, MAX_FRAME_LINE } from '../../src/demo/forward.js';

test('frames: what the encoder writes the parser reads; junk is not a frame', () => {
  const data = randomBytes(300);
  const d = parseFrame(encodeFrame({ t: 'D', id: 7, data }).trimEnd());
  assert.ok(d && d.t === 'D' && d.id === 7 && d.data.equals(data));
  assert.deepEqual(parseFrame('O 3 9641 127.0.0.1'), { t: 'O', id: 3, port: 9641, address: '127.0.0.1' });
  assert.deepEqual(parseFrame('O 4 0 /run/lvsd/control.sock'), { t: 'O', id: 4, port: 0, address: '/run/lvsd/control.sock' });
  assert.equal(parseFrame('O 4 0 127.0.0.1'), undefined);
  assert.deepEqual(parseFrame('c 3 ECONNREFUSED'), { t: 'c', id: 3, reason: 'ECONNREFUSED' });
  for (const junk of ['', 'O 1 0 127.0.0.1', 'O 1 70000 x', 'D 1 !!', 'X 1', 'E 1 extra', 'lvsd: started']) assert.equal(parseFrame(junk), undefined, junk);
  const r = new FrameReader();
  const wire = encodeFrame({ t: 'o', id: 1 }) + encodeFrame({ t: 'd', id: 1, data: Buffer.from('hello') });
  const got = [...wire].flatMap((ch) => r.push(ch));
  assert.equal(got.length, 2);
});

test('frames split at every byte reassemble; other output between frames is skipped', () => {
  const r = new FrameReader();
  const data = randomBytes(1000);
  const wire = 'node: a warning\n' + encodeFrame({ t: 'd', id: 9, data }) + encodeFrame({ t: 'c', id: 9, reason: 'ECONNRESET\nx' });
  const got = [...Buffer.from(wire)].flatMap((b) => r.push(Buffer.from([b])));
  assert.equal(got.length, 2);
  assert.ok(got[0]!.t === 'd' && got[0]!.data.equals(data));
  assert.deepEqual(got[1], { t: 'c', id: 9, reason: 'ECONNRESET x' });
});

test('FrameReader: a line without end is dropped past MAX_FRAME_LINE instead of growing, and reading resumes after it', () => {
  const r = new FrameReader();
  const chunk = 'x'.repeat(64 * 1024);
  let frames = 0;
  // 64 MiB of one endless line: the tail never holds more than one cap's worth.
  for (let i = 0; i < 1024; i++) frames += r.push(chunk).length;
  assert.equal(frames, 0);
  assert.equal(r.overlong, 1);
  const after = r.push(`still the same line\n${encodeFrame({ t: 'E', id: 3 })}`);
  assert.deepEqual(after, [{ t: 'E', id: 3 }]);
  // A complete over-long line inside one chunk is skipped too.
  assert.deepEqual(r.push(`${'y'.repeat(MAX_FRAME_LINE + 1)}\n${encodeFrame({ t: 'C', id: 4 })}`), [{ t: 'C', id: 4 }]);
  assert.equal(r.overlong, 2);
});
