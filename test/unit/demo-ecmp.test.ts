// The ECMP demo's pure parts (src/demo/ecmp-view.ts): the readings from ipvsadm, the shares and rates,
// the screen for a given state, and the scripted run's summary and verdict, without a lab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseDirectorReading, ratesFrom, sharesOf, growth, longTotals, renderEcmpView, ecmpLoadFrom, summarizeEcmp,
  type EcmpViewState, type EcmpRecord, type DirectorReading,
} from '../../src/demo/ecmp-view.js';
import { visibleLength } from '../../src/demo/tui.js';
import { parseDemoArgs } from '../../src/demo/main.js';
import type { LongState, TickLine } from '../../src/demo/load.js';

const STATS = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  203.0.113.10:80                  1234    56789        0  4567890        0
  -> 10.0.1.11:80                      400    20000        0  1500000        0
  -> 10.0.1.12:80                      434    18000        0  1500000        0
`;
const TABLE = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  203.0.113.10:80 mh (mh-port)
  -> 10.0.1.11:80                 Route   1      4          30
  -> 10.0.1.12:80                 Route   1      3          25
  -> 10.0.1.13:80                 Route   1      5          20
`;

test('a director reading: the service line of ipvsadm --stats --exact, entries summed from the table', () => {
  assert.deepEqual(parseDirectorReading(1000, STATS, TABLE), { at: 1000, conns: 1234, inPkts: 56789, active: 12, inactive: 75 });
  // No such service (lvsd gone with its table, or ipvsadm's error on stderr): no reading.
  assert.equal(parseDirectorReading(1000, '', ''), undefined);
  assert.equal(parseDirectorReading(1000, 'Memory allocation problem\n', ''), undefined);
});

const r = (at: number, conns: number, inPkts: number): DirectorReading => ({ at, conns, inPkts, active: 0, inactive: 0 });

test('rates and shares over a window of readings; a dead director\'s counters stand still and its share falls to 0', () => {
  const rates = ratesFrom({
    director1: [r(0, 0, 0), r(1000, 10, 100), r(2000, 20, 200), r(3000, 30, 300)],
    director2: [r(0, 0, 0), r(1000, 10, 100), r(2000, 20, 200), r(3000, 30, 300)],
    director3: [r(0, 0, 0), r(1000, 10, 100), r(2000, 10, 100), r(3000, 10, 100)],
  }, 2000);
  // Window: from the newest reading at least 2 s old (t=1000) to the newest (t=3000).
  assert.deepEqual(rates.director1, { connsPerSec: 10, pktsPerSec: 100, share: 0.5 });
  assert.deepEqual(rates.director2, { connsPerSec: 10, pktsPerSec: 100, share: 0.5 });
  assert.deepEqual(rates.director3, { connsPerSec: 0, pktsPerSec: 0, share: 0 });
  // Polls further apart than the window (a busy lab): the oldest reading there is.
  assert.deepEqual(ratesFrom({ a: [r(0, 0, 0), r(5000, 50, 500)] }, 3000).a, { connsPerSec: 10, pktsPerSec: 100, share: 1 });
  assert.deepEqual(ratesFrom({ a: [r(0, 0, 0), r(2000, 10, 100), r(4000, 50, 500)] }, 3000).a, { connsPerSec: 12.5, pktsPerSec: 125, share: 1 });
  // One reading is no rate; a counter that went back (table recreated) counts from the reset.
  const more = ratesFrom({ a: [r(0, 0, 0)], b: [r(0, 500, 5000), r(1000, 5, 50)] }, 3000);
  assert.equal(more.a, undefined);
  assert.deepEqual(more.b, { connsPerSec: 5, pktsPerSec: 50, share: 1 });
  assert.deepEqual(sharesOf({ a: 1, b: 1, c: 1 }), { a: 0.333, b: 0.333, c: 0.333 });
  assert.deepEqual(sharesOf({ a: 0, b: 0 }), { a: 0, b: 0 });
  assert.deepEqual(growth({ a: { conns: 5, inPkts: 50 }, b: undefined, c: { conns: 9, inPkts: 90 } },
    { a: { conns: 8, inPkts: 80 }, b: { conns: 2, inPkts: 20 }, c: undefined }),
  { a: { conns: 3, inPkts: 30 }, b: { conns: 2, inPkts: 20 }, c: { conns: 0, inPkts: 0 } });
});

const long = (over: Partial<LongState> = {}): LongState => ({ conn: 1, open: true, exchanges: 10, total: 10, lastAt: 0, breaks: 0, ...over });
function tick(t: number, over: Partial<TickLine> = {}): TickLine {
  return { ev: 'tick', t, ok: 100, failed: 0, rps: 60, p50: 3, p99: 9, max: 12, servers: { rs1: 40, rs2: 30, rs3: 30 }, long: long(), ...over };
}

test('long-lived totals: every connection of a tick with --long N, the one without', () => {
  assert.deepEqual(longTotals(tick(0, { longs: [long(), long({ open: false, breaks: 1, total: 5 }), long()] })), { count: 3, open: 2, exchanges: 25, breaks: 1 });
  assert.deepEqual(longTotals(tick(0)), { count: 1, open: 1, exchanges: 10, breaks: 0 });
  assert.deepEqual(longTotals(undefined), { count: 0, open: 0, exchanges: 0, breaks: 0 });
});

function viewState(over: Partial<EcmpViewState> = {}): EcmpViewState {
  const base = { linkUp: true, lvsdRunning: true, routingRunning: true, active: 4, inactive: 30 };
  return {
    description: '3 lvsd directors behind an ECMP router', routing: 'frr', vip: '203.0.113.10', elapsedMs: 125_000,
    nexthops: ['10.0.1.3', '10.0.1.4'], lastFibChange: '13:01:02.345',
    directors: [
      { ...base, name: 'director1', address: '10.0.1.2', condition: 'killed', linkUp: false, lvsdRunning: false, routingRunning: false, announce: null, nexthop: false, rates: { connsPerSec: 0, pktsPerSec: 0, share: 0 }, active: 2, inactive: 9 },
      { ...base, name: 'director2', address: '10.0.1.3', condition: 'draining', announce: { state: 'soft-draining', metric: 1000, reason: '' }, nexthop: true, rates: { connsPerSec: 11.6, pktsPerSec: 402, share: 0.41 } },
      { ...base, name: 'director3', address: '10.0.1.4', condition: 'running', announce: { state: 'announced', reason: '' }, nexthop: true, rates: { connsPerSec: 15, pktsPerSec: 580, share: 0.59 } },
    ],
    selected: 1,
    load: ecmpLoadFrom(tick(5000, { longs: Array.from({ length: 12 }, () => long()), rps: 59.6, ok: 4000 }), [{ ev: 'fail', kind: 'new', started: 0, t: Date.UTC(2026, 0, 1, 13, 1, 2, 500), reason: 'ECONNRESET' }], [tick(1000, { max: 1800 }), tick(5000)]),
    events: ['13:01:00 director1 killed (link down, kill -9): out of the router\'s FIB after 1620 ms'],
    busy: undefined,
    ...over,
  };
}

test('the live screen: router next hops, one row per director with its share, the client, keys for the selected director', () => {
  const text = renderEcmpView(viewState(), { width: 160, color: false }).join('\n');
  assert.match(text, /^lvsd demo: ecmp/);
  assert.match(text, /running 2:05/);
  assert.match(text, /^router  next hops for 203\.0\.113\.10\/32: 10\.0\.1\.3 10\.0\.1\.4 \(2 paths\) +last FIB change 13:01:02\.345$/m);
  assert.match(text, /^ {2}director1 +10\.0\.1\.2 +DOWN +KILLED +DOWN +- +no +0% +0 +0 +2\/9$/m);
  assert.match(text, /^> director2 +10\.0\.1\.3 +up +draining +up +soft-drain m1000 +yes +41% +12 +402 +4\/30$/m);
  assert.match(text, /^ {2}director3 +10\.0\.1\.4 +up +running +up +announced +yes +59% +15 +580 +4\/30$/m);
  assert.match(text, /client +60 req\/s +ok 4000 +failed 1 +p50 3 ms +p99 9 ms +slowest 1800 ms/);
  assert.match(text, /answered by: rs1 40  rs2 30  rs3 30/);
  assert.match(text, /long-lived connections: 12 open of 12, 120 exchanges, 0 broken/);
  assert.match(text, /13:01:02\.500 new ECONNRESET/);
  assert.match(text, /1 2 3 select +k kill director2 \(link down, kill -9\) +d drain director2 \(SIGTERM\) +r bring director2 back +q quit/);
  assert.match(text, /13:01:00 director1 killed/);
  assert.doesNotMatch(text, /\x1b/);
});

test('the live screen: no next hop is said loudly; a withdrawn group shows why; colour stays within the width', () => {
  const s = viewState({ nexthops: [], load: undefined, busy: 'killing director3' });
  s.directors[2] = { ...s.directors[2]!, announce: { state: 'withdrawn', reason: 'quorum' }, nexthop: false, rates: undefined, active: null, inactive: null };
  const text = renderEcmpView(s, { width: 160, color: false }).join('\n');
  assert.match(text, /next hops for 203\.0\.113\.10\/32: none \(the VIP is unreachable\)/);
  assert.match(text, /^ {2}director3 +10\.0\.1\.4 +up +running +up +withdrawn: quorum +no +- +- +- +-$/m);
  s.directors[0] = { ...s.directors[0]!, condition: 'starting', linkUp: true, routingRunning: true };
  assert.match(renderEcmpView(s, { width: 160, color: false }).join('\n'), /^ {2}director1 +10\.0\.1\.2 +up +starting +up /m);
  assert.match(text, /client: starting…/);
  assert.match(text, /… killing director3/);
  assert.match(renderEcmpView(viewState({ nexthops: undefined }), { width: 160, color: false }).join('\n'), /next hops for 203\.0\.113\.10\/32: \?/);
  for (const width of [40, 80, 120]) {
    const lines = renderEcmpView(viewState(), { width, color: true });
    for (const l of lines) assert.ok(visibleLength(l) <= width, `${visibleLength(l)} > ${width}: ${JSON.stringify(l)}`);
    assert.ok(lines.some((l) => l.includes('\x1b[')));
  }
  assert.ok(renderEcmpView(viewState({ events: Array.from({ length: 20 }, (_, i) => `event ${i}`) }), { width: 100, color: false, height: 22 }).length <= 22);
});

const ADDR = { director1: '10.0.1.2', director2: '10.0.1.3', director3: '10.0.1.4' };
const cnt = (a: number, b: number, c: number) => ({ director1: { conns: a, inPkts: a * 10 }, director2: { conns: b, inPkts: b * 10 }, director3: { conns: c, inPkts: c * 10 } });

function record(over: Partial<EcmpRecord> = {}): EcmpRecord {
  return {
    routing: 'frr', directors: ['director1', 'director2', 'director3'], longCount: 12, bfd: { intervalMs: 300, multiplier: 5 },
    marks: { steady: 10_000, kill: 20_000, drain: 30_000, restore: 36_000, end: 40_000 },
    failures: [], longEvents: [],
    ticks: [tick(9_000, { max: 50_000 }), tick(15_000, { ok: 500, max: 40 }), tick(22_000, { max: 2100, ok: 900 }), tick(40_500, { ok: 2000, longs: Array.from({ length: 12 }, () => long({ total: 100 })) })],
    killed: { director: 'director1', how: 'link down, then kill -9 of lvsd and frr', at: 20_000, fibChangeAt: 21_620, nexthopsAfter: ['10.0.1.3', '10.0.1.4'] },
    drained: { director: 'director2', at: 30_000, fibChangeAt: 30_180, nexthopsAfter: ['10.0.1.4'], exitedAt: 34_300, exitCode: 0, withdrawnAt: 34_100 },
    restored: { at: 36_000, fibAllAt: 38_500, nexthopsAfter: ['10.0.1.2', '10.0.1.3', '10.0.1.4'] },
    counters: {
      before: [cnt(0, 0, 0), cnt(30, 30, 40)],
      after_kill: [cnt(30, 30, 40), cnt(30, 80, 90)],
      after_drain: [cnt(30, 80, 90), { ...cnt(30, 80, 190), director2: undefined }],
      // director2's table was made again when its lvsd came back: its counters start from 0.
      restored: [{ ...cnt(30, 80, 190), director2: undefined }, { ...cnt(50, 20, 210) }],
    },
    addresses: ADDR,
    ...over,
  };
}

test('the summary of a clean run: times from the kill and the SIGTERM, shares per period, no problems', () => {
  const s = summarizeEcmp(record());
  assert.equal(s.failed_requests, 0);
  assert.deepEqual(s.failed_by_phase, { steady: 0, kill: 0, drain: 0, restore: 0 });
  assert.equal(s.broken_long_lived_connections, 0);
  assert.equal(s.long_lived_connections, 12);
  assert.equal(s.long_lived_exchanges, 1200);
  assert.equal(s.requests_ok, 2000, 'the last tick up to the end of the run (the one just after it)');
  assert.equal(s.slowest_request_ms, 2100, 'ticks before the steady phase do not count');
  assert.equal(s.dead_removed_ms, 1620);
  assert.equal(s.bfd_detect_ms, 1500);
  assert.equal(s.drain_removed_ms, 180);
  assert.equal(s.drain_withdrawn_ms, 4100);
  assert.equal(s.drain_exit_ms, 4300);
  assert.deepEqual(s.nexthops_after_kill, ['director2', 'director3']);
  assert.deepEqual(s.nexthops_after_drain, ['director3']);
  assert.equal(s.rejoin_ms, 2500);
  assert.deepEqual(s.nexthops_after_restore, ['director1', 'director2', 'director3']);
  assert.deepEqual(s.shares, {
    before: { director1: 0.3, director2: 0.3, director3: 0.4 },
    after_kill: { director1: 0, director2: 0.5, director3: 0.5 },
    after_drain: { director1: 0, director2: 0, director3: 1 },
    restored: { director1: 0.333, director2: 0.333, director3: 0.333 },
  });
  assert.deepEqual(s.new_connections.after_kill, { director1: 0, director2: 50, director3: 50 });
  assert.deepEqual(s.problems, []);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(s)));
});

test('the summary says what broke: failures by phase, broken connections, a dead director the router kept, a drain that never ended', () => {
  const s = summarizeEcmp(record({
    failures: [
      { ev: 'fail', kind: 'new', started: 9_000, t: 9_500, reason: 'before the run' },
      { ev: 'fail', kind: 'keepalive', started: 20_100, t: 21_000, reason: 'ECONNRESET' },
      { ev: 'fail', kind: 'long', started: 20_100, t: 25_000, reason: 'closed by peer' },
      { ev: 'fail', kind: 'new', started: 31_000, t: 31_100, reason: 'ECONNREFUSED' },
      { ev: 'fail', kind: 'new', started: 37_000, t: 37_100, reason: 'ECONNREFUSED' },
      { ev: 'fail', kind: 'new', started: 40_000, t: 40_100, reason: 'after the run' },
    ],
    longEvents: [
      { ev: 'long', t: 25_000, what: 'break', conn: 1, exchanges: 50, slot: 4, reason: 'closed by peer' },
      { ev: 'long', t: 25_100, what: 'open', conn: 2, exchanges: 0, slot: 4 },
    ],
    killed: { director: 'director1', how: 'x', at: 20_000, fibChangeAt: undefined, nexthopsAfter: ['10.0.1.2', '10.0.1.3', '10.0.1.4'] },
    drained: { director: 'director2', at: 30_000, fibChangeAt: 30_200, nexthopsAfter: ['10.0.1.4'], exitedAt: undefined, exitCode: undefined, withdrawnAt: undefined },
    restored: { at: 36_000, fibAllAt: undefined, nexthopsAfter: ['10.0.1.2', '10.0.1.4'] },
    counters: { before: [cnt(0, 0, 0), cnt(0, 30, 40)], after_kill: [cnt(0, 30, 40), cnt(5, 50, 60)], after_drain: [cnt(5, 50, 60), cnt(5, 50, 80)], restored: [cnt(5, 50, 80), cnt(9, 50, 90)] },
  }));
  assert.equal(s.failed_requests, 4);
  assert.deepEqual(s.failed_by_phase, { steady: 0, kill: 2, drain: 1, restore: 1 });
  assert.deepEqual(s.failed_by_reason, { 'keepalive: ECONNRESET': 1, 'long: closed by peer': 1, 'new: ECONNREFUSED': 2 });
  assert.equal(s.broken_long_lived_connections, 1);
  assert.equal(s.dead_removed_ms, null);
  assert.equal(s.drain_exit_ms, null);
  assert.equal(s.rejoin_ms, null);
  assert.deepEqual(s.problems, [
    '4 failed request(s)',
    '1 long-lived connection(s) broke',
    'the router still forwards to the killed director1',
    'the drained lvsd exited never',
    'director1 still forwarded packets after it was killed',
    'director1 carried no traffic before the kill',
    'the router does not forward to director2 after bringing it back',
  ]);
});

test('the command line: --layout ecmp, with or without --scripted; an unknown layout names the three', () => {
  assert.deepEqual(parseDemoArgs(['--layout', 'ecmp']), { scripted: false, layout: 'ecmp', preempt: true });
  assert.deepEqual(parseDemoArgs(['--layout=ecmp', '--scripted']), { scripted: true, layout: 'ecmp', preempt: true });
  assert.match((parseDemoArgs(['--layout', 'anycast']) as { error: string }).error, /nat or dr \(a VRRP pair\) or ecmp, not "anycast"/);
  assert.match((parseDemoArgs(['--layout']) as { error: string }).error, /or ecmp, not ""/);
});
