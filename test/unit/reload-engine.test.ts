// VrrpEngine.reload's pure parts: which changed fields apply in place and which restart an instance,
// and the two setters it applies in-place changes with (VrrpStateMachine.setPreempt,
// VrrpInstance.setVirtualIps); plus the public view of an instance (counters, masterAddress,
// lastTransition) that metrics, control and the worker read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import type { VrrpInstanceConfig } from '../../src/config/model.js';
import { reloadPlan } from '../../vrrp/engine.js';
import { encodeAdvert, parseVrrp } from '../../vrrp/packet.js';
import { VrrpInstance, type InstanceContext } from '../../vrrp/instance.js';
import { VrrpStateMachine } from '../../vrrp/state-machine.js';

/** An instance from YAML flow-mapping text ("priority: 150, preempt: false") over a base one. */
function instance(extra = '', vips = '[192.0.2.10/24]'): VrrpInstanceConfig {
  const base: Record<string, string> = { name: 'vi_1', interface: 'eth0', vrid: '1', priority: '100', version: '3', advert_interval: '100ms', virtual_ips: vips };
  const keys = new Set([...extra.matchAll(/(?:^|, )(\w+):/g)].map((m) => m[1]!));
  const text = [...Object.entries(base).filter(([k]) => !keys.has(k)).map(([k, v]) => `${k}: ${v}`), ...(extra ? [extra.replace(/^, /, '')] : [])].join(', ');
  const r = parseConfig(`vrrp_instances:\n  - {${text}}\n`, 't.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config.vrrp_instances[0]!;
}

test('the same config parsed twice is "same" (normalised configs compare deep-equal)', () => {
  assert.deepEqual(reloadPlan(instance(), instance()), { kind: 'same' });
  assert.deepEqual(reloadPlan(instance(', garp: {repeat: 5}'), instance()), { kind: 'same' }, 'a default written out is no change');
});

test('priority, preempt, track, notify, garp and the VIP list apply in place', () => {
  assert.deepEqual(reloadPlan(instance(), instance(', priority: 150')), { kind: 'in-place', fields: ['priority'] });
  assert.deepEqual(reloadPlan(instance(), instance(', preempt: false, preempt_delay: 5s')), { kind: 'in-place', fields: ['preempt', 'preempt_delay'] });
  assert.deepEqual(reloadPlan(instance(), instance(', notify: {master: [/bin/true]}, garp: {repeat: 2}')), { kind: 'in-place', fields: ['notify', 'garp'] });
  assert.deepEqual(reloadPlan(instance(), instance(', track: {interfaces: [{name: eth1, weight: -20}]}')), { kind: 'in-place', fields: ['track'] });
  assert.deepEqual(reloadPlan(instance(), instance('', '[192.0.2.10/24, 192.0.2.20/24]')), { kind: 'in-place', fields: ['virtual_ips'] });
});

test('vrid, interface, version, interval, unicast, owner and the VIP family restart the instance', () => {
  const fields = (a: VrrpInstanceConfig, b: VrrpInstanceConfig) => { const p = reloadPlan(a, b); return p.kind === 'restart' ? p.fields : p.kind; };
  assert.deepEqual(fields(instance(), instance(', vrid: 2')), ['vrid']);
  assert.deepEqual(fields(instance(), instance(', interface: eth1, priority: 120')), ['interface']);
  assert.deepEqual(fields(instance(), instance(', advert_interval: 200ms')), ['advert_interval']);
  assert.deepEqual(fields(instance(), instance(', unicast: {peers: [192.0.2.2]}')), ['unicast']);
  assert.deepEqual(fields(instance(), instance(', version: 2, advert_interval: 1s')), ['version', 'advert_interval']);
  assert.deepEqual(fields(instance(), instance(', priority: 255, owner: true')), ['owner', 'priority (address owner)']);
  assert.deepEqual(fields(instance(), instance('', '["2001:db8::10/64"]')), ['virtual_ips (family)']);
});

test('setPreempt changes what a Backup does with a lower-priority advert (RFC 5798 §6.4.2 Preempt_Mode)', () => {
  const backup = () => {
    const m = new VrrpStateMachine({ version: 3, family: 'ipv4', priority: 100, advertIntervalMs: 100, primaryAddress: '192.0.2.1' });
    m.handle({ type: 'startup' }, 0);
    return m;
  };
  const lower = { type: 'advert', priority: 50, advertIntervalMs: 100, src: '192.0.2.2' } as const;
  const m = backup();
  assert.deepEqual(m.handle(lower, 10), [], 'preempt on: discarded, Master_Down_Timer runs on');
  assert.equal(m.setPreempt(false, 0), undefined);
  assert.deepEqual(m.handle(lower, 20).map((a) => a.type), ['arm-timer'], 'preempt off: accepted, timer re-armed');
  const d = backup();
  assert.equal(d.setPreempt(true, 1000), undefined);
  assert.deepEqual(d.handle(lower, 10).map((a) => a.type), ['arm-timer'], 'inside the new preempt delay: accepted');
  assert.deepEqual(d.handle(lower, 1100), [], 'after it: discarded');
});

/** An unstarted instance (no VIP or packet socket) whose adverts are recorded instead of sent. */
function shellInstance(cfg: VrrpInstanceConfig) {
  const sent: { priority: number }[] = [];
  const states: string[] = [];
  const handlers = new Map<number, (p: never, rx: number) => void>();
  const ctx = {
    rtnl: {} as never,
    channel: { handlers, send: (msg: Uint8Array) => { sent.push({ priority: msg[2]! }); } } as never,
    link: { ifindex: 2, mac: '02:00:00:00:00:01' },
    deviceLink: () => ({ ifindex: 2, mac: '02:00:00:00:00:01' }), primaryAddress: '192.0.2.1', ownAddresses: ['192.0.2.1'], log: () => {},
    onState: (_i: unknown, from: string, to: string) => { states.push(`${from}>${to}`); },
  } satisfies InstanceContext;
  const inst = new VrrpInstance(cfg, ctx);
  /** An advert from `src` as the channel would hand it over (parsed from the wire bytes). */
  const receive = (priority: number, src: string) => {
    const bytes = encodeAdvert({ version: 3, family: 'ipv4', vrid: cfg.vrid, priority, advertIntervalMs: 100, addresses: cfg.virtual_ips.map((v) => v.address), src, dst: '224.0.0.18' });
    const r = parseVrrp(bytes, { family: 'ipv4', src, dst: '224.0.0.18', ttlOrHopLimit: 255 });
    if (!r.ok) throw new Error(JSON.stringify(r));
    handlers.get(cfg.vrid)!(r.packet as never, performance.now());
  };
  return { inst, sent, states, receive };
}

test('setVirtualIps on a backup changes the list its adverts are matched against', async () => {
  const { inst, receive } = shellInstance(instance('', '[192.0.2.10/24, 192.0.2.11/24]'));
  inst.handle({ type: 'startup' });
  inst.setVirtualIps(instance('', '[192.0.2.20/24]').virtual_ips);
  assert.deepEqual(inst.config.virtual_ips.map((v) => v.address), ['192.0.2.20']);
  const before = inst.counters.notes.address_list_mismatch;
  receive(150, '192.0.2.2'); // lists 192.0.2.20 (from the instance's config): matches the new list
  assert.equal(inst.counters.notes.address_list_mismatch, before);
  assert.equal(inst.counters.advertsReceived, 1);
  await inst.stop();
});

test('counters, masterAddress and lastTransition follow the transitions (RFC 5798 §6.4)', async () => {
  const { inst, sent, states, receive } = shellInstance(instance());
  const last = () => inst.lastTransition;
  assert.equal(inst.masterAddress, null);
  assert.equal(last(), null);
  assert.equal(inst.primaryAddress, '192.0.2.1');
  inst.handle({ type: 'startup' });
  assert.equal(inst.state, 'backup');
  receive(150, '192.0.2.2');
  assert.equal(inst.masterAddress, '192.0.2.2', 'a backup names the sender of the advert it accepted');
  receive(0, '192.0.2.2');
  assert.equal(inst.masterAddress, null, 'priority 0: the master is leaving');
  const down = inst.machine.timer!;
  inst.handle({ type: 'timer' }, down.at);
  assert.equal(inst.state, 'master');
  assert.equal(inst.masterAddress, '192.0.2.1', 'a master names itself');
  assert.equal(inst.counters.becameMaster, 1);
  assert.equal(last()?.to, 'master');
  assert.equal(last()?.reason, 'master-down-timer');
  assert.ok(Math.abs(last()!.at - Date.now()) < 5000, 'at is epoch milliseconds');
  inst.handle({ type: 'give-up', holdMs: 1000 });
  assert.equal(inst.state, 'backup');
  assert.equal(inst.masterAddress, null, 'unknown until the new master advertises');
  assert.equal(inst.counters.releasedMaster, 1);
  assert.equal(inst.counters.priorityZeroSent, 1);
  assert.deepEqual(sent.map((s) => s.priority), [100, 0]);
  assert.deepEqual(inst.counters.transitions, { 'initialize>backup': 1, 'backup>master': 1, 'master>backup': 1 });
  assert.deepEqual(states, ['initialize>backup', 'backup>master', 'master>backup']);
  await inst.stop();
  assert.equal((inst.counters.transitions as Record<string, number>)['backup>initialize'], 1);
});
