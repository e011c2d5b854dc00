// Interfaces that change (issue #17): the up/down debounce against keepalived.conf(5)'s rules
// ("Interface up/down status change debouncing"), the deleted-VIP decisions (vip-watch.ts) against
// keepalived 2.2.7's behaviour and lvsd's re-add limit, and the config keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { LinkDebouncer, debounceStep, delaysByInterface, initialDebounce, type DebounceAction, type DebounceState } from '../../vrrp/links.js';
import { READD_LIMIT, READD_WINDOW_MS, VipWatch, vipDecisionLine, type VipWatchView } from '../../vrrp/vip-watch.js';

/** Runs events [time, up | 'timer'] through one interface, returning the reports (time, up). */
function run(events: [number, boolean | 'timer'][], downMs: number, upMs = downMs): { reports: [number, boolean][]; cancels: number; armed: number[] } {
  let s: DebounceState = initialDebounce();
  const reports: [number, boolean][] = [];
  let cancels = 0;
  const armed: number[] = [];
  for (const [t, e] of events) {
    const r = debounceStep(s, e === 'timer' ? { type: 'timer' } : { type: 'link', up: e }, t, { downMs, upMs });
    s = r.state;
    for (const a of r.actions as DebounceAction[]) {
      if (a.type === 'report') reports.push([t, a.up]);
      if (a.type === 'cancel') cancels++;
      if (a.type === 'arm') armed.push(a.at);
    }
  }
  return { reports, cancels, armed };
}

test('debounce: the first state seen is taken at once, whatever the delays', () => {
  assert.deepEqual(run([[0, true]], 500).reports, [[0, true]]);
  assert.deepEqual(run([[0, false]], 500).reports, [[0, false]]);
});

test('debounce: delay 0 acts at once (keepalived: "A delay of 0 means no delay in state change")', () => {
  assert.deepEqual(run([[0, true], [10, false], [20, true]], 0).reports, [[0, true], [10, false], [20, true]]);
});

test('debounce: a link that returns to its original state before the delay expires causes nothing', () => {
  // down at 100, up at 400: down_delay 500 never ran out; the timer that was armed for 600 is cancelled.
  const r = run([[0, true], [100, false], [400, true], [600, 'timer']], 500);
  assert.deepEqual(r.reports, [[0, true]]);
  assert.equal(r.cancels, 1);
  assert.deepEqual(r.armed, [600]);
});

test('debounce: a change that lasts past its delay is acted on when the delay expires, once', () => {
  const r = run([[0, true], [100, false], [350, false], [600, 'timer'], [700, 'timer']], 500);
  assert.deepEqual(r.reports, [[0, true], [600, false]]);
  assert.deepEqual(r.armed, [600]); // a repeated "down" keeps the first deadline
});

test('debounce: up_delay and down_delay apply by direction; up_delay defaults to down_delay', () => {
  const r = run([[0, true], [0, false], [100, 'timer'], [150, true], [1150, 'timer']], 100, 1000);
  assert.deepEqual(r.reports, [[0, true], [100, false], [1150, true]]);
  assert.deepEqual(delaysByInterface([{ interface: 'eth0', down_delay: 300 }]).get('eth0'), { downMs: 300, upMs: 300 });
  assert.deepEqual(delaysByInterface([{ interface: 'eth0', down_delay: 300, up_delay: 0 }]).get('eth0'), { downMs: 300, upMs: 0 });
});

test('debounce: a timer that fires early re-arms for the same deadline; a flap back during up_delay cancels', () => {
  const r = run([[0, false], [10, true], [500, 'timer'], [1010, 'timer']], 1000);
  assert.deepEqual(r.reports, [[0, false], [1010, true]]);
  assert.deepEqual(r.armed, [1010, 1010]);
  const f = run([[0, false], [10, true], [20, false], [2000, 'timer']], 1000);
  assert.deepEqual(f.reports, [[0, false]]);
  assert.equal(f.cancels, 1);
});

test('LinkDebouncer: per interface, unlisted interfaces have no delay, reload keeps a pending deadline', () => {
  const d = new LinkDebouncer(delaysByInterface([{ interface: 'eth0', down_delay: 500 }]));
  d.link('eth0', true, 0); d.link('eth1', true, 0);
  assert.deepEqual(d.link('eth1', false, 10), [{ type: 'report', up: false, heldMs: 0 }]);
  assert.deepEqual(d.link('eth0', false, 10), [{ type: 'arm', at: 510 }]);
  d.setDelays(new Map());
  assert.deepEqual(d.pending('eth0'), { up: false, at: 510, since: 10 });
  assert.deepEqual(d.timer('eth0', 510), [{ type: 'report', up: false, heldMs: 500 }]);
  assert.equal(d.reported('eth0'), false);
  assert.deepEqual(d.link('eth0', true, 600), [{ type: 'report', up: true, heldMs: 0 }]); // no delays any more
});

const view = (o: Partial<VipWatchView> = {}): VipWatchView => ({
  state: 'master', policy: 'readd', linkUp: true, vips: [{ address: '192.0.2.100', ifindex: 2 }, { address: '2001:db8::64', ifindex: 3 }], ...o,
});

test('vip-watch: only our VIP, on its own interface, while MASTER with the link up', () => {
  const w = new VipWatch();
  assert.deepEqual(w.deleted({ address: '192.0.2.100', ifindex: 2 }, view({ state: 'backup' }), 0), { kind: 'ignore' });
  assert.deepEqual(w.deleted({ address: '192.0.2.100', ifindex: 2 }, view({ state: 'fault' }), 0), { kind: 'ignore' });
  assert.deepEqual(w.deleted({ address: '192.0.2.100', ifindex: 2 }, view({ linkUp: false }), 0), { kind: 'ignore' });
  assert.deepEqual(w.deleted({ address: '192.0.2.100', ifindex: 7 }, view(), 0), { kind: 'ignore' });
  assert.deepEqual(w.deleted({ address: '192.0.2.1', ifindex: 2 }, view(), 0), { kind: 'ignore' });
  assert.deepEqual(w.deleted({ address: '2001:db8::64', ifindex: 3 }, view(), 0), { kind: 'readd', address: '2001:db8::64' });
});

test('vip-watch: fault and backup (keepalived 2.2.7: "If one of our VIPs/eVIPs has been deleted, transition to backup")', () => {
  const w = new VipWatch();
  assert.deepEqual(w.deleted({ address: '192.0.2.100', ifindex: 2 }, view({ policy: 'fault' }), 0), { kind: 'fault', address: '192.0.2.100', why: 'policy' });
  assert.deepEqual(w.deleted({ address: '192.0.2.100', ifindex: 2 }, view({ policy: 'backup' }), 0), { kind: 'backup', address: '192.0.2.100' });
});

test('vip-watch: re-adds are limited per window, then FAULT; a stale event of our own is not counted', () => {
  const w = new VipWatch();
  const del = (t: number) => w.deleted({ address: '192.0.2.100', ifindex: 2 }, view(), t);
  for (let i = 0; i < READD_LIMIT; i++) assert.equal(del(i * 100).kind, 'readd');
  assert.deepEqual(del(READD_LIMIT * 100), { kind: 'fault', address: '192.0.2.100', why: 'limit' });
  // After the FAULT the count starts over; spread out over the window, re-adds go on for ever.
  const w2 = new VipWatch();
  for (let i = 0; i < 50; i++) assert.equal(w2.deleted({ address: '192.0.2.100', ifindex: 2 }, view(), i * (READD_WINDOW_MS / READD_LIMIT + 1)).kind, 'readd');
  const w3 = new VipWatch();
  for (let i = 0; i < 20; i++) { assert.equal(w3.deleted({ address: '192.0.2.100', ifindex: 2 }, view(), i).kind, 'readd'); w3.notNeeded(); }
  assert.match(vipDecisionLine('vi_1', 'eth0', { kind: 'fault', address: '192.0.2.100', why: 'limit' }, 10_000), /5 re-adds in 10 s.*FAULT for 10000 ms/);
});

test('config: vip_deleted defaults to readd with a 10 s hold; interface_up_down_delays up_delay optional, max 255s', () => {
  const base = 'vrrp_instances:\n  - {name: v, interface: eth0, vrid: 1, virtual_ips: [192.0.2.100/24]}\n';
  const a = parseConfig(base, 'a.yaml');
  assert.ok(a.ok);
  assert.equal(a.config.vrrp_instances[0]!.vip_deleted, 'readd');
  assert.equal(a.config.vrrp_instances[0]!.vip_deleted_hold, 10_000);
  assert.deepEqual(a.config.global.interface_up_down_delays, []);
  const b = parseConfig(`global:\n  interface_up_down_delays:\n    - {interface: eth0, down_delay: 500ms}\n    - {interface: bond0, down_delay: 1s, up_delay: 0s}\n${base.replace('}', ', vip_deleted: fault, vip_deleted_hold: 2s}')}`, 'b.yaml');
  assert.ok(b.ok, JSON.stringify(!b.ok && b.errors));
  assert.deepEqual(b.config.global.interface_up_down_delays, [{ interface: 'eth0', down_delay: 500 }, { interface: 'bond0', down_delay: 1000, up_delay: 0 }]);
  assert.equal(b.config.vrrp_instances[0]!.vip_deleted, 'fault');
  assert.equal(b.config.vrrp_instances[0]!.vip_deleted_hold, 2000);
  const c = parseConfig(`global:\n  interface_up_down_delays: [{interface: eth0, down_delay: 256s}]\n${base.replace('}', ', vip_deleted: readd_twice}')}`, 'c.yaml');
  assert.ok(!c.ok);
  const msgs = c.errors.map((e) => `${e.path} ${e.message}`).join('\n');
  assert.match(msgs, /interface_up_down_delays/);
  assert.match(msgs, /vip_deleted/);
});

// The shell (interfaces.ts) with a stand-in engine: what reaches VRRP and when, without sockets.
import { InterfaceFollower, VIP_DELETED_CAUSE, type InterfaceHost } from '../../vrrp/interfaces.js';
import type { Link } from '../../src/netlink/rtnetlink.js';
import type { VrrpInstance } from '../../vrrp/instance.js';

const link = (name: string, index: number, up = true, mac = '02:00:00:00:00:01'): Link =>
  ({ index, name, flags: 0, up, lowerUp: up, operstate: up ? 'up' : 'down', type: 1, mac });

function stand(delays: { interface: string; down_delay: number; up_delay?: number }[], policy: 'readd' | 'fault' = 'fault') {
  const said: string[] = [], states: [string, boolean][] = [], events: unknown[] = [], relinks: unknown[] = [];
  const links = new Map<string, Link>();
  const inst = {
    name: 'vi_1', state: 'master', family: 'ipv4', link: { ifindex: 2, mac: '02:00:00:00:00:01' }, channel: {},
    config: { interface: 'eth0', virtual_ips: [{ address: '192.0.2.100' }], vip_deleted: policy, vip_deleted_hold: 40 },
    handle: (e: unknown) => events.push(e), readdVip: () => 'added', reannounce: () => true,
    relink(...args: unknown[]) { relinks.push(args); (this as { link: unknown }).link = args[0]; return true; },
  } as unknown as VrrpInstance;
  const instances = new Map([['vi_1', inst]]);
  let f!: InterfaceFollower;
  const host: InterfaceHost = {
    config: { global: { interface_up_down_delays: delays } } as never, instances, channels: new Map(), links,
    log: (l) => said.push(l),
    linkEvent: (l, deleted) => { const prev = links.get(l.name); links.set(l.name, l); f.link(prev, l, deleted); },
    linkState: (n, up) => states.push([n, up]), faultsChanged: () => {},
  };
  f = new InterfaceFollower(host);
  const event = (l: Link, deleted = false) => host.linkEvent(l, deleted);
  return { f, said, states, events, relinks, links, event };
}

test('follower: a flap within down_delay never reaches VRRP; a longer one does, after the delay; logged once each', async () => {
  const s = stand([{ interface: 'eth0', down_delay: 60, up_delay: 0 }]);
  s.links.set('eth0', link('eth0', 2));
  s.f.seed(s.links.values());
  s.event(link('eth0', 2, false));
  s.event(link('eth0', 2, true));
  await sleep(100);
  assert.deepEqual(s.states, []);
  assert.match(s.said.join('\n'), /interface eth0 up again after \d+ ms, within its down_delay 60 ms: no VRRP transition/);
  s.event(link('eth0', 2, false));
  await sleep(30);
  assert.deepEqual(s.states, []);
  await sleep(60);
  assert.deepEqual(s.states, [['eth0', false]]);
  s.event(link('eth0', 2, true)); // up_delay 0
  assert.deepEqual(s.states, [['eth0', false], ['eth0', true]]);
  s.f.close();
});

test('follower: a MAC change re-binds the instance; a rename away counts as that name deleted', () => {
  const s = stand([]);
  s.links.set('eth0', link('eth0', 2));
  s.f.seed(s.links.values());
  s.event(link('eth0', 2, true, '02:00:00:00:00:aa'));
  assert.deepEqual(s.relinks, [[{ ifindex: 2, mac: '02:00:00:00:00:aa' }, undefined, false]]);
  assert.match(s.said.join('\n'), /interface eth0 MAC 02:00:00:00:00:01 -> 02:00:00:00:00:aa: GARP\/NA rebuilt for vi_1; vi_1 announced/);
  s.event(link('lan0', 2, true)); // ip link set eth0 name lan0
  assert.deepEqual(s.states, [['eth0', false], ['lan0', true]]); // lan0: first seen, taken as it is
  assert.equal(s.links.get('eth0')!.index, 0);
  s.f.close();
});

test('follower: vip_deleted fault holds FAULT for vip_deleted_hold, then clears it; deletions on a down link are ignored', async () => {
  const s = stand([]);
  s.links.set('eth0', link('eth0', 2));
  s.f.seed(s.links.values());
  s.f.address('del', { family: 'inet', address: '192.0.2.100', prefixLength: 24, ifindex: 2, flags: 0, scope: 0 });
  assert.deepEqual(s.events, [{ type: 'fault', cause: VIP_DELETED_CAUSE, active: true }]);
  await sleep(80);
  assert.deepEqual(s.events.at(-1), { type: 'fault', cause: VIP_DELETED_CAUSE, active: false });
  s.links.set('eth0', link('eth0', 2, false));
  s.f.address('del', { family: 'inet', address: '192.0.2.100', prefixLength: 24, ifindex: 2, flags: 0, scope: 0 });
  assert.equal(s.events.length, 2);
  s.f.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
