// src/lab/flows.ts: the HTTP response framing of the long-lived flows and the figures drawn from a report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseReader, summarize, type FlowsReport } from '../../src/lab/flows.js';

test('ResponseReader frames keep-alive responses by Content-Length, across and within chunks', () => {
  const got: [number, string, boolean][] = [];
  const r = new ResponseReader((s, b, c) => got.push([s, b, c]));
  const one = 'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 4\r\n\r\nrs1\n';
  r.push(Buffer.from(one.slice(0, 20)));
  assert.equal(got.length, 0);
  r.push(Buffer.from(one.slice(20) + one + 'HTTP/1.1 503 x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  assert.deepEqual(got, [[200, 'rs1', false], [200, 'rs1', false], [503, '', true]]);
});

test('summarize: broken and stalled flows, the recovery time and request failures after `since`', () => {
  const since = 100_000;
  const rep: FlowsReport = {
    at: since + 12_000,
    long: [
      { localPort: 1, server: 'rs1', responses: 50, broken: false, gaps: [[99_900, since + 3100]] },
      { localPort: 2, server: 'rs2', responses: 50, broken: false, gaps: [[50_000, 51_500]] },
      { localPort: 3, server: 'rs3', responses: 9, broken: true, brokenAt: since + 500, error: 'ECONNRESET', gaps: [] },
      { localPort: 4, server: 'rs1', responses: 50, broken: false, gaps: [], waitingMs: 4000 },
    ],
    requests: { ok: 500, failed: 1, failures: [{ at: since + 200, ms: 10_000, error: 'timeout' }], slow: [{ at: since + 100, ms: 1200 }, { at: 10, ms: 900 }] },
  };
  const s = summarize(rep, since);
  assert.equal(s.long, 4);
  assert.equal(s.broken, 1);
  assert.equal(s.stalled, 1, 'the gap ending before `since` is not this failure');
  assert.equal(s.stillWaiting, 1);
  assert.equal(s.longestStallMs, 3200);
  assert.equal(s.recoveredMs, 3100);
  assert.equal(s.requestsFailed, 1);
  assert.equal(s.slowRequests, 1);
  assert.equal(s.slowestRequestMs, 1200);
  assert.equal(s.failures.length, 2);
});
