// The reconciler's shell against a model of the kernel that answers like ip_vs_ctl.c (EEXIST, ENOENT,
// ESRCH, ENOENT for an unknown scheduler) and can be changed behind lvsd's back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkError } from '../../src/netlink/errors.js';
import { AF_INET, IP_VS_CONN_F_MASQ, IPPROTO_TCP } from '../../ipvs/constants.js';
import type { IpvsOpResult } from '../../ipvs/client.js';
import { destinationKey, type IpvsDestination } from '../../ipvs/destination.js';
import { explain } from '../../ipvs/errors.js';
import { indexTable, type IndexedTable, type IpvsOp } from '../../ipvs/reconcile.js';
import { serviceKey, type IpvsService } from '../../ipvs/service.js';
import { IpvsTableSync } from '../../ipvs/sync.js';
import type { IpvsKernelTable, IpvsTable } from '../../ipvs/table.js';

const svc = (addr: string, schedName = 'wlc'): IpvsService =>
  ({ af: AF_INET, protocol: IPPROTO_TCP, addr, port: 80, fwmark: 0, schedName, flags: 0, timeout: 0, netmask: 0xffffffff, peName: '' });
const dst = (addr: string, weight = 1): IpvsDestination =>
  ({ addrFamily: AF_INET, addr, port: 80, fwdMethod: IP_VS_CONN_F_MASQ, weight, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0 });

class ModelKernel {
  entries: IndexedTable = new Map();
  reads = 0;
  writes = 0;
  schedulers = new Set(['rr', 'wlc', 'wrr']);
  async table(): Promise<IpvsKernelTable> {
    this.reads++;
    return [...this.entries.values()].map((e) => ({ service: { ...e.service, stats: {} as never }, dests: [...e.dests.values()].map((d) => ({ ...d, activeConns: 0, inactConns: 0, persistConns: 0, stats: {} as never })) }));
  }
  private one(op: IpvsOp): number {
    if (!('service' in op)) return 0;
    const e = this.entries.get(serviceKey(op.service));
    const sched = (s: IpvsService) => (this.schedulers.has(s.schedName) ? 0 : 2);
    switch (op.kind) {
      case 'IPVS_CMD_NEW_SERVICE': if (e) return 17; if (sched(op.service)) return 2; this.entries.set(serviceKey(op.service), { service: { ...op.service }, dests: new Map() }); return 0;
      case 'IPVS_CMD_SET_SERVICE': if (!e) return 3; if (sched(op.service)) return 2; e.service = { ...op.service }; return 0;
      case 'IPVS_CMD_DEL_SERVICE': if (!e) return 3; this.entries.delete(serviceKey(op.service)); return 0;
      case 'IPVS_CMD_NEW_DEST': if (!e) return 3; if (e.dests.has(destinationKey(op.dest))) return 17; e.dests.set(destinationKey(op.dest), { ...op.dest }); return 0;
      case 'IPVS_CMD_SET_DEST': if (!e) return 3; if (!e.dests.has(destinationKey(op.dest))) return 2; e.dests.set(destinationKey(op.dest), { ...op.dest }); return 0;
      case 'IPVS_CMD_DEL_DEST': if (!e) return 3; return e.dests.delete(destinationKey(op.dest)) ? 0 : 2;
      default: return 0;
    }
  }
  async apply(ops: IpvsOp[]): Promise<IpvsOpResult[]> {
    this.writes += ops.length;
    return ops.map((op) => { const errno = this.one(op); return errno ? { ok: false, error: explain(op, new NetlinkError(errno)) } : { ok: true }; });
  }
}

const table = (): IpvsTable => [{ service: svc('10.0.0.1'), dests: [dst('192.168.0.1'), dst('192.168.0.2')] }, { service: svc('10.0.0.2'), dests: [dst('192.168.0.3')] }];

test('reads the kernel once, then works from its own copy: an unchanged table costs no read and no write', async () => {
  const k = new ModelKernel();
  const sync = new IpvsTableSync(k);
  assert.deepEqual(await sync.apply(table()), { writes: 5, rounds: 1, reread: false, errors: [] });
  assert.deepEqual(await sync.apply(table()), { writes: 0, rounds: 0, reread: false, errors: [] });
  assert.equal(k.reads, 1);
  assert.deepEqual([...sync.owned].sort(), ['2|6|10.0.0.1|80', '2|6|10.0.0.2|80']);
});

test('a caller mutating its desired records in place still gets its change written (the copy is not shared)', async () => {
  const k = new ModelKernel();
  const sync = new IpvsTableSync(k);
  const t = table();
  const desired = indexTable(t);
  await sync.apply(desired);
  desired.get(serviceKey(t[0]!.service))!.dests.get('192.168.0.2|80')!.weight = 0;
  const r = await sync.apply(desired, { only: [serviceKey(t[0]!.service)] });
  assert.equal(r.writes, 1);
  assert.equal(k.entries.get(serviceKey(t[0]!.service))!.dests.get('192.168.0.2|80')!.weight, 0);
});

test('another writer changed the kernel behind the copy: errors, one re-read, converged in round two', async () => {
  const k = new ModelKernel();
  const sync = new IpvsTableSync(k);
  await sync.apply(table());
  // Behind lvsd's back: a destination lvsd will edit vanishes, one it will add appears, a service appears.
  k.entries.get('2|6|10.0.0.1|80')!.dests.delete('192.168.0.1|80');
  k.entries.get('2|6|10.0.0.2|80')!.dests.set('192.168.0.9|80', dst('192.168.0.9'));
  k.entries.set('2|6|10.0.0.3|80', { service: svc('10.0.0.3', 'rr'), dests: new Map() });
  const want: IpvsTable = [{ service: svc('10.0.0.1'), dests: [dst('192.168.0.1', 5), dst('192.168.0.2')] },
    { service: svc('10.0.0.2'), dests: [dst('192.168.0.3'), dst('192.168.0.9', 3)] }, { service: svc('10.0.0.3'), dests: [] }];
  const r = await sync.apply(want);
  assert.equal(r.rounds, 2);
  assert.equal(r.reread, true);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(indexTable(await k.table()).get('2|6|10.0.0.1|80')!.dests.get('192.168.0.1|80')!.weight, 5);
  assert.equal(k.entries.get('2|6|10.0.0.3|80')!.service.schedName, 'wlc');
  assert.equal(k.entries.get('2|6|10.0.0.2|80')!.dests.get('192.168.0.9|80')!.weight, 3);
});

test('an error that does not go away (unknown scheduler) stops after at most two rounds and is reported', async () => {
  const k = new ModelKernel();
  const sync = new IpvsTableSync(k);
  const r = await sync.apply([{ service: svc('10.0.0.1', 'nosuch'), dests: [dst('192.168.0.1')] }, { service: svc('10.0.0.2'), dests: [] }]);
  assert.ok(r.rounds <= 2);
  assert.match(r.errors[0]!.message, /scheduler "nosuch" not found: kernel module ip_vs_nosuch/);
  assert.equal(r.errors[0]!.code, 'ENOENT');
  assert.ok(k.entries.has('2|6|10.0.0.2|80'), 'the rest of the table is programmed');
});

test('owned services dropped from the table are deleted; if the delete fails they stay owned for next time', async () => {
  const k = new ModelKernel();
  const sync = new IpvsTableSync(k);
  await sync.apply(table());
  const r = await sync.apply(table().slice(0, 1));
  assert.equal(r.writes, 1);
  assert.ok(!k.entries.has('2|6|10.0.0.2|80'));
  assert.deepEqual([...sync.owned], ['2|6|10.0.0.1|80']);
});

test('an incremental apply (`only`) keeps ownership exact without walking the whole table', async () => {
  const k = new ModelKernel();
  const sync = new IpvsTableSync(k, { owned: ['2|6|10.0.0.9|80'] });
  k.entries.set('2|6|10.0.0.8|80', { service: svc('10.0.0.8'), dests: new Map() }); // foreign
  const desired = indexTable(table());
  await sync.apply(desired);
  desired.delete('2|6|10.0.0.2|80');
  const r = await sync.apply(desired, { only: ['2|6|10.0.0.2|80', '2|6|10.0.0.8|80'] });
  assert.equal(r.writes, 1);
  assert.ok(!k.entries.has('2|6|10.0.0.2|80'));
  assert.ok(k.entries.has('2|6|10.0.0.8|80'), 'a foreign key passed in `only` is still foreign');
  assert.deepEqual([...sync.owned].sort(), ['2|6|10.0.0.1|80']);
});
