// The reconciler's pure core: which commands, in which order, for which difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF_INET, AF_INET6, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_TUNNEL_TYPE_GUE,
  IP_VS_CONN_F_TUNNEL_TYPE_IPIP, IP_VS_STATE_BACKUP, IP_VS_STATE_MASTER, IP_VS_SVC_F_HASHED, IP_VS_SVC_F_PERSISTENT, IPPROTO_TCP,
  IPPROTO_UDP,
} from '../../ipvs/constants.js';
import { destinationKey, type IpvsDestination } from '../../ipvs/destination.js';
import { indexTable, reconcile, reconcileDaemons, reconcileTimeouts, type IndexedTable, type IpvsOp } from '../../ipvs/reconcile.js';
import { defaultNetmask, serviceKey, type IpvsService } from '../../ipvs/service.js';
import type { IpvsTable } from '../../ipvs/table.js';

const svc = (addr: string, port: number, extra: Partial<IpvsService> = {}): IpvsService => ({
  af: addr.includes(':') ? AF_INET6 : AF_INET, protocol: IPPROTO_TCP, addr, port, fwmark: 0, schedName: 'wlc', flags: 0,
  timeout: 0, netmask: defaultNetmask(addr.includes(':') ? AF_INET6 : AF_INET), peName: '', ...extra,
});
const dst = (addr: string, port = 80, extra: Partial<IpvsDestination> = {}): IpvsDestination => ({
  addrFamily: addr.includes(':') ? AF_INET6 : AF_INET, addr, port, fwdMethod: IP_VS_CONN_F_MASQ, weight: 1, uThresh: 0, lThresh: 0,
  tunType: 0, tunPort: 0, tunFlags: 0, ...extra,
});
const kinds = (ops: IpvsOp[]) => ops.map((o) => o.kind.replace('IPVS_CMD_', ''));
const A = svc('10.0.0.1', 80), B = svc('10.0.0.2', 80), F = svc('10.0.0.9', 25);
const keys = (...s: IpvsService[]) => new Set(s.map(serviceKey));

/** What the kernel would dump: our records plus its HASHED flag and counters. */
function asKernel(t: IpvsTable): IndexedTable {
  return indexTable(t.map(({ service, dests }) => ({
    service: { ...service, flags: service.flags | IP_VS_SVC_F_HASHED, stats: {} },
    dests: dests.map((d) => ({ ...d, activeConns: 3, inactConns: 1 })),
  })));
}

test('an empty kernel: each service, then its destinations', () => {
  const ops = reconcile(indexTable([{ service: A, dests: [dst('192.168.1.1'), dst('192.168.1.2')] }, { service: B, dests: [dst('192.168.1.3')] }]), new Map());
  assert.deepEqual(kinds(ops), ['NEW_SERVICE', 'NEW_DEST', 'NEW_DEST', 'NEW_SERVICE', 'NEW_DEST']);
});

test('adoption: an unchanged table already in the kernel costs zero commands', () => {
  const t: IpvsTable = [{ service: svc('10.0.0.1', 443, { flags: IP_VS_SVC_F_PERSISTENT, timeout: 300, netmask: 0xffffff00 }), dests: [dst('192.168.1.1'), dst('192.168.1.2', 80, { fwdMethod: IP_VS_CONN_F_DROUTE, tunPort: 99 })] },
    { service: svc('2001:db8::1', 53, { protocol: IPPROTO_UDP, schedName: 'sh' }), dests: [dst('2001:db8::10', 53)] },
    { service: { ...svc('10.0.0.1', 0), protocol: 0, addr: '', fwmark: 7 }, dests: [dst('192.168.1.9', 0, { fwdMethod: IP_VS_CONN_F_TUNNEL, tunType: IP_VS_CONN_F_TUNNEL_TYPE_GUE, tunPort: 6080 })] }];
  assert.deepEqual(reconcile(indexTable(t), asKernel(t)), []);
  assert.deepEqual(reconcile(indexTable(t), asKernel(t), { owned: new Set(t.map((e) => serviceKey(e.service))) }), []);
});

test('a single weight change is exactly one SET_DEST carrying the whole destination', () => {
  const before: IpvsTable = [{ service: A, dests: [dst('192.168.1.1'), dst('192.168.1.2')] }];
  const after: IpvsTable = [{ service: A, dests: [dst('192.168.1.1'), dst('192.168.1.2', 80, { weight: 5 })] }];
  const ops = reconcile(indexTable(after), asKernel(before), { owned: keys(A) });
  assert.deepEqual(ops, [{ kind: 'IPVS_CMD_SET_DEST', service: A, dest: dst('192.168.1.2', 80, { weight: 5 }) }]);
});

test('a drain is SET_DEST weight 0, not a delete', () => {
  const before: IpvsTable = [{ service: A, dests: [dst('192.168.1.1'), dst('192.168.1.2')] }];
  const ops = reconcile(indexTable([{ service: A, dests: [dst('192.168.1.1'), dst('192.168.1.2', 80, { weight: 0 })] }]), asKernel(before));
  assert.deepEqual(kinds(ops), ['SET_DEST']);
  assert.equal((ops[0] as { dest: IpvsDestination }).dest.weight, 0);
});

test('scheduler, persistence and pe changes are SET_SERVICE; destinations untouched', () => {
  const dests = [dst('192.168.1.1')];
  for (const change of [{ schedName: 'rr' }, { flags: IP_VS_SVC_F_PERSISTENT, timeout: 60 }, { netmask: 0xffffff00 }, { peName: 'sip' }]) {
    const ops = reconcile(indexTable([{ service: { ...A, ...change }, dests }]), asKernel([{ service: A, dests }]));
    assert.deepEqual(ops, [{ kind: 'IPVS_CMD_SET_SERVICE', service: { ...A, ...change } }], JSON.stringify(change));
  }
});

test('forwarding, thresholds and tunnel settings are edited in place', () => {
  const base = dst('192.168.1.1');
  for (const change of [{ fwdMethod: IP_VS_CONN_F_DROUTE }, { uThresh: 100 }, { lThresh: 5 },
    { fwdMethod: IP_VS_CONN_F_TUNNEL, tunType: IP_VS_CONN_F_TUNNEL_TYPE_GUE, tunPort: 6080 }]) {
    const ops = reconcile(indexTable([{ service: A, dests: [{ ...base, ...change }] }]), asKernel([{ service: A, dests: [base] }]));
    assert.deepEqual(kinds(ops), ['SET_DEST'], JSON.stringify(change));
  }
  // Tunnel settings of a destination that is not a tunnel mean nothing to the kernel: no write.
  assert.deepEqual(reconcile(indexTable([{ service: A, dests: [{ ...base, tunPort: 1 }] }]), asKernel([{ service: A, dests: [base] }])), []);
  const ipip = { ...base, fwdMethod: IP_VS_CONN_F_TUNNEL, tunType: IP_VS_CONN_F_TUNNEL_TYPE_IPIP };
  assert.deepEqual(reconcile(indexTable([{ service: A, dests: [{ ...ipip, tunPort: 1 }] }]), asKernel([{ service: A, dests: [ipip] }])), []);
});

test('destinations a declared service no longer lists are deleted; new ones added after', () => {
  const ops = reconcile(indexTable([{ service: { ...A, schedName: 'rr' }, dests: [dst('192.168.1.1', 80, { weight: 2 }), dst('192.168.1.3')] }]),
    asKernel([{ service: A, dests: [dst('192.168.1.1'), dst('192.168.1.2')] }]));
  assert.deepEqual(kinds(ops), ['SET_SERVICE', 'DEL_DEST', 'SET_DEST', 'NEW_DEST']);
  assert.equal((ops[1] as { dest: IpvsDestination }).dest.addr, '192.168.1.2');
});

test('owned services no longer desired are deleted first, with one DEL_SERVICE; foreign services stay', () => {
  const kernel = asKernel([{ service: A, dests: [dst('192.168.1.1')] }, { service: B, dests: [dst('192.168.1.2'), dst('192.168.1.4')] }, { service: F, dests: [dst('192.168.1.3')] }]);
  const C = svc('10.0.0.3', 80);
  const ops = reconcile(indexTable([{ service: A, dests: [dst('192.168.1.1')] }, { service: C, dests: [dst('192.168.1.5')] }]), kernel, { owned: keys(A, B) });
  assert.deepEqual(kinds(ops), ['DEL_SERVICE', 'NEW_SERVICE', 'NEW_DEST']);
  assert.equal((ops[0] as { service: IpvsService }).service.addr, '10.0.0.2');
  // Without ownership nothing is deleted: B is foreign then.
  assert.deepEqual(kinds(reconcile(indexTable([]), kernel)), []);
});

test('a change of identity (address family) is delete of the owned old service + add of the new', () => {
  const v4 = svc('10.0.0.1', 80), v6 = svc('2001:db8::1', 80);
  const ops = reconcile(indexTable([{ service: v6, dests: [dst('2001:db8::10')] }]), asKernel([{ service: v4, dests: [dst('192.168.1.1')] }]), { owned: keys(v4) });
  assert.deepEqual(kinds(ops), ['DEL_SERVICE', 'NEW_SERVICE', 'NEW_DEST']);
});

test('`only` limits the work to the services that changed', () => {
  const t = [{ service: A, dests: [dst('192.168.1.1', 80, { weight: 9 })] }, { service: B, dests: [dst('192.168.1.2', 80, { weight: 9 })] }];
  const kernel = asKernel([{ service: A, dests: [dst('192.168.1.1')] }, { service: B, dests: [dst('192.168.1.2')] }]);
  const ops = reconcile(indexTable(t), kernel, { only: [serviceKey(B)] });
  assert.deepEqual(ops.map((o) => (o as { service: IpvsService }).service.addr), ['10.0.0.2']);
});

test('timeouts: SET_CONFIG with only the differing ones; 0 and absent leave the kernel alone', () => {
  const cur = { tcp: 900, tcpFin: 120, udp: 300 };
  assert.deepEqual(reconcileTimeouts({ tcp: 900, tcpFin: 120, udp: 300 }, cur), []);
  assert.deepEqual(reconcileTimeouts({ tcp: 7200, udp: 0 }, cur), [{ kind: 'IPVS_CMD_SET_CONFIG', timeouts: { tcp: 7200 } }]);
  assert.deepEqual(reconcileTimeouts(undefined, cur), []);
});

test('sync daemons: unchanged = nothing; changed = DEL then NEW; kernel defaults accepted', () => {
  const master = { state: IP_VS_STATE_MASTER, mcastIfn: 'eth0', syncId: 5 };
  const dumped = { ...master, syncMaxlen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 };
  assert.deepEqual(reconcileDaemons([master], [dumped]), []);
  assert.deepEqual(kinds(reconcileDaemons([{ ...master, syncId: 6 }], [dumped])), ['DEL_DAEMON', 'NEW_DAEMON']);
  assert.deepEqual(kinds(reconcileDaemons([master, { ...master, state: IP_VS_STATE_BACKUP }], [])), ['NEW_DAEMON', 'NEW_DAEMON']);
  assert.deepEqual(kinds(reconcileDaemons([], [dumped])), ['DEL_DAEMON']);
  assert.deepEqual(reconcileDaemons(undefined, [dumped]), []);
});

// A model of the kernel's table: applying the ops must give exactly the desired table for lvsd's services
// and leave foreign ones as they were; the kernel's rules are enforced (EEXIST, ENOENT, dest needs service).
function applyModel(kernel: IndexedTable, ops: IpvsOp[]): void {
  for (const op of ops) {
    if (op.kind === 'IPVS_CMD_SET_CONFIG' || op.kind === 'IPVS_CMD_NEW_DAEMON' || op.kind === 'IPVS_CMD_DEL_DAEMON') continue;
    const k = serviceKey(op.service);
    const e = kernel.get(k);
    switch (op.kind) {
      case 'IPVS_CMD_NEW_SERVICE': assert.ok(!e, 'EEXIST'); kernel.set(k, { service: op.service, dests: new Map() }); break;
      case 'IPVS_CMD_SET_SERVICE': assert.ok(e, 'ENOENT'); e.service = op.service; break;
      case 'IPVS_CMD_DEL_SERVICE': assert.ok(e, 'ENOENT'); kernel.delete(k); break;
      case 'IPVS_CMD_NEW_DEST': assert.ok(e && !e.dests.has(destinationKey(op.dest)), 'NEW_DEST'); e.dests.set(destinationKey(op.dest), op.dest); break;
      case 'IPVS_CMD_SET_DEST': assert.ok(e && e.dests.has(destinationKey(op.dest)), 'SET_DEST'); e.dests.set(destinationKey(op.dest), op.dest); break;
      case 'IPVS_CMD_DEL_DEST': assert.ok(e && e.dests.delete(destinationKey(op.dest)), 'DEL_DEST'); break;
    }
  }
}

test('random tables: one pass converges, a second pass is empty, foreign services are untouched', () => {
  let seed = 42;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
  const randomTable = (): IpvsTable => Array.from({ length: rnd(6) }, () => ({
    service: svc(`10.0.0.${rnd(8)}`, 80, { schedName: ['rr', 'wlc'][rnd(2)]! }),
    dests: Array.from({ length: rnd(4) }, () => dst(`192.168.0.${rnd(6)}`, 80, { weight: rnd(3) })),
  }));
  for (let i = 0; i < 500; i++) {
    const desired = indexTable(randomTable());
    const kernel = indexTable(randomTable());
    const owned = new Set([...kernel.keys()].filter(() => rnd(2) === 0));
    const foreign = [...kernel].filter(([k]) => !owned.has(k) && !desired.has(k)).map(([k, e]) => [k, JSON.stringify([e.service, [...e.dests]])]);
    applyModel(kernel, reconcile(desired, kernel, { owned }));
    assert.deepEqual(reconcile(desired, kernel, { owned }), []);
    for (const [k, e] of desired) assert.deepEqual([...kernel.get(k)!.dests.keys()].sort(), [...e.dests.keys()].sort());
    for (const [k, v] of foreign) assert.equal(JSON.stringify([kernel.get(k!)!.service, [...kernel.get(k!)!.dests]]), v);
    for (const k of owned) if (!desired.has(k)) assert.ok(!kernel.has(k));
  }
});
