// VrrpEngine.reload's pure parts: which changed fields apply in place and which restart an instance,
// and the two places it reaches into vrrp/ (preempt settings, the VIP list): if those fields are
// renamed, these tests fail instead of reload quietly restarting masters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import type { VrrpInstanceConfig } from '../../src/config/model.js';
import { instanceInternals, reloadPlan, setPreempt } from '../../vrrp/engine.js';
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
  assert.equal(setPreempt(m, false, 0), true);
  assert.deepEqual(m.handle(lower, 20).map((a) => a.type), ['arm-timer'], 'preempt off: accepted, timer re-armed');
  const d = backup();
  assert.equal(setPreempt(d, true, 1000), true);
  assert.deepEqual(d.handle(lower, 10).map((a) => a.type), ['arm-timer'], 'inside the new preempt delay: accepted');
  assert.deepEqual(d.handle(lower, 1100), [], 'after it: discarded');
});

test('instanceInternals finds the VIP list the instance advertises', () => {
  const ctx = {
    rtnl: {} as never, channel: { handlers: new Map() } as never, link: { ifindex: 2, mac: '02:00:00:00:00:01' },
    deviceLink: () => ({ ifindex: 2, mac: '02:00:00:00:00:01' }), primaryAddress: '192.0.2.1', ownAddresses: [], log: () => {}, onState: () => {},
  } satisfies InstanceContext;
  const inst = new VrrpInstance(instance('', '[192.0.2.10/24, 192.0.2.11/24]'), ctx);
  const f = instanceInternals(inst);
  assert.ok(f);
  assert.deepEqual(f.vipTexts, ['192.0.2.10', '192.0.2.11']);
  assert.equal(f.announcers, null);
  assert.equal(f.vipNl, null, 'no VIP socket before start');
  assert.ok('prepared' in f);
  assert.equal(typeof f.startAnnouncing, 'function');
});
