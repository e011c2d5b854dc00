// `npm run demo -- --layout ecmp --scripted` end to end, as a person runs it (dist/src/demo/main.js in
// its own process, booting its own lab): three lvsd directors behind the ECMP router, one killed
// (link down, kill -9), one drained (SIGTERM), both brought back, under load. The JSON line's figures
// come from outside lvsd: the router's FIB, IPVS counters in each director, the client's own counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isRoot } from '../../src/lab/index.js';
import type { EcmpSummary } from '../../src/demo/ecmp-view.js';

const skip = !isRoot() && 'the lab needs root';
const MAIN = fileURLToPath(new URL('../../src/demo/main.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Without NODE_TEST_CONTEXT: node --test sets it, and a node process that inherits it reports to
    // the test runner on stdout instead of printing its own output.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const p = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '', stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('demo --layout ecmp --scripted: nothing broken, the dead director leaves the router within BFD time, shares move as they should', { skip, timeout: 900_000 }, async (t) => {
  const r = await run(['--layout', 'ecmp', '--scripted']);
  t.diagnostic(`progress:\n${r.stderr.split('\n').slice(-25).join('\n')}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one JSON line on stdout: ${r.stdout}`);
  const s = JSON.parse(lines[0]!) as EcmpSummary;
  t.diagnostic(`summary: ${lines[0]}`);
  assert.deepEqual(s.problems, []);
  assert.equal(r.code, 0);

  assert.equal(s.layout, 'ecmp');
  assert.equal(s.failed_requests, 0);
  assert.equal(s.broken_long_lived_connections, 0);
  assert.equal(s.long_lived_connections, 12);
  assert.ok(s.requests_ok > 500, `${s.requests_ok} requests answered`);

  // The dead director: gone from the router by BFD, well before BGP's hold time (9 s), never before
  // BFD could have noticed.
  assert.equal(s.killed, 'director1');
  assert.ok(s.dead_removed_ms !== null && s.dead_removed_ms >= s.bfd_detect_ms - 300 && s.dead_removed_ms < 9000, `dead director out after ${s.dead_removed_ms} ms (BFD ${s.bfd_detect_ms} ms)`);
  assert.deepEqual(s.nexthops_after_kill, ['director2', 'director3']);

  // The drained one: out of the router's FIB while lvsd still serves (soft drain), then withdrawn
  // after the drain delay (4 s) and exited.
  assert.equal(s.drained, 'director2');
  assert.ok(s.drain_removed_ms !== null && s.drain_withdrawn_ms !== null && s.drain_exit_ms !== null);
  assert.ok(s.drain_removed_ms < s.drain_withdrawn_ms, `out of the FIB ${s.drain_removed_ms} ms, withdrawn ${s.drain_withdrawn_ms} ms after SIGTERM`);
  assert.ok(s.drain_withdrawn_ms >= 3900, `withdrawn ${s.drain_withdrawn_ms} ms into a 4 s drain`);
  assert.deepEqual(s.nexthops_after_drain, ['director3']);

  // Shares of the inbound packets: all three before, none for the dead one after, all on the last one
  // after the drain, all three again once both are back.
  for (const d of ['director1', 'director2', 'director3']) assert.ok(s.shares.before[d]! > 0, `${d} before: ${JSON.stringify(s.shares.before)}`);
  assert.equal(s.shares.after_kill.director1, 0);
  assert.deepEqual(s.shares.after_drain, { director1: 0, director2: 0, director3: 1 });
  assert.deepEqual(s.nexthops_after_restore, ['director1', 'director2', 'director3']);
  for (const d of ['director1', 'director2', 'director3']) assert.ok(s.shares.restored[d]! > 0, `${d} after coming back: ${JSON.stringify(s.shares.restored)}`);
});
