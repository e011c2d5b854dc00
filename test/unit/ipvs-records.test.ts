// IPVS records against the bytes ipvsadm 1.31 sent to, and received from, a 6.1 kernel
// (test/vectors/ipvs/vectors.json, captured with strace in UML; see its README).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeAttributes } from '../../src/netlink/attributes.js';
import { NetlinkDecodeError } from '../../src/netlink/errors.js';
import {
  AF_INET, AF_INET6, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_TUNNEL_TYPE_GRE,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE, IP_VS_CONN_F_TUNNEL_TYPE_IPIP, IP_VS_STATE_BACKUP, IP_VS_STATE_MASTER,
  IP_VS_SVC_F_HASHED, IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED_MH_FALLBACK,
  IP_VS_SVC_F_SCHED_MH_PORT, IP_VS_SVC_F_SCHED_SH_FALLBACK, IP_VS_SVC_F_SCHED_SH_PORT, IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
  IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPVS_CMD_ATTR_DEST, IPVS_CMD_ATTR_SERVICE,
} from '../../ipvs/constants.js';
import type { IpvsDestination } from '../../ipvs/destination.js';
import * as msg from '../../ipvs/messages.js';
import { defaultNetmask, type IpvsService, type IpvsServiceKey } from '../../ipvs/service.js';
import { parseSave, renderList, renderSave, sortTable } from '../../ipvs/ipvsadm-format.js';
import type { IpvsKernelTable } from '../../ipvs/table.js';

interface Msg { len: number; type: number; flags: number; payload?: string; error?: string }
interface Vector { command: string; family: number; output?: string; sent: Msg[]; received: Msg[] }
const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/ipvs/vectors.json', import.meta.url), 'utf8')) as Record<string, Vector>;

/** The IPVS command ipvsadm sent after its start-up GET_INFO. */
const sentPayload = (name: string, i = 1): Buffer => Buffer.from(vectors[name]!.sent[i]!.payload!, 'hex');
const received = (name: string): Buffer[] => vectors[name]!.received.filter((m) => m.payload).map((m) => Buffer.from(m.payload!, 'hex'));

const svc = (s: Partial<IpvsService> & Pick<IpvsService, 'af'>): IpvsService => ({
  protocol: IPPROTO_TCP, addr: '', port: 0, fwmark: 0, schedName: 'wlc', flags: 0, timeout: 0, netmask: defaultNetmask(s.af), peName: '', ...s,
});
const dest = (d: Partial<IpvsDestination> & Pick<IpvsDestination, 'addr' | 'port'>): IpvsDestination => ({
  addrFamily: AF_INET, fwdMethod: IP_VS_CONN_F_DROUTE, weight: 1, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0, ...d,
});

const web: IpvsServiceKey = { af: AF_INET, protocol: IPPROTO_TCP, addr: '10.0.0.1', port: 80, fwmark: 0 };

// Full service entries: our bytes equal ipvsadm's, byte for byte.
const services: [string, IpvsService][] = [
  ['add_svc_tcp_rr', svc({ ...web, schedName: 'rr' })],
  ['add_svc_tcp_persist', svc({ ...web, port: 443, schedName: 'wlc', flags: IP_VS_SVC_F_PERSISTENT, timeout: 300, netmask: 0xffffff00 })],
  ['add_svc_udp6_sh', svc({ af: AF_INET6, protocol: IPPROTO_UDP, addr: '2001:db8::1', port: 53, schedName: 'sh', flags: IP_VS_SVC_F_SCHED_SH_FALLBACK | IP_VS_SVC_F_SCHED_SH_PORT })],
  ['add_svc_fwmark_mh', svc({ af: AF_INET, protocol: 0, fwmark: 42, schedName: 'mh', flags: IP_VS_SVC_F_SCHED_MH_FALLBACK | IP_VS_SVC_F_SCHED_MH_PORT })],
  ['add_svc_sctp_pe_sip', svc({ af: AF_INET, protocol: IPPROTO_SCTP, addr: '10.0.0.2', port: 5060, schedName: 'rr', flags: IP_VS_SVC_F_PERSISTENT, timeout: 60, peName: 'sip' })],
  ['add_svc_udp_ops', svc({ af: AF_INET, protocol: IPPROTO_UDP, addr: '10.0.0.3', port: 53, schedName: 'rr', flags: IP_VS_SVC_F_ONEPACKET })],
];
for (const [name, s] of services) {
  test(`IPVS_CMD_NEW_SERVICE matches ipvsadm byte for byte: ${vectors[name]!.command}`, () => {
    assert.equal(msg.newService(s).payload.toString('hex'), sentPayload(name).toString('hex'));
  });
}

test('IPVS_CMD_SET_SERVICE matches ipvsadm -E (scheduler change)', () => {
  assert.equal(msg.setService(svc({ ...web, schedName: 'wrr' })).payload.toString('hex'), sentPayload('edit_svc_wrr').toString('hex'));
});

// Destination commands: the DEST nest is byte-identical; our SERVICE nest carries only the service's
// identity (the kernel parses it without full_entry), so it must equal the identifying part of ipvsadm's.
const dests: [string, IpvsServiceKey, IpvsDestination, (k: IpvsServiceKey, d: IpvsDestination) => msg.IpvsCommand][] = [
  ['add_dest_masq', web, dest({ addr: '192.168.1.2', port: 8080, fwdMethod: IP_VS_CONN_F_MASQ, weight: 3, uThresh: 100, lThresh: 10 }), msg.newDest],
  ['add_dest_route', web, dest({ addr: '192.168.1.3', port: 80, weight: 1 }), msg.newDest],
  ['add_dest_ipip', web, dest({ addr: '192.168.1.4', port: 80, fwdMethod: IP_VS_CONN_F_TUNNEL, weight: 2, tunType: IP_VS_CONN_F_TUNNEL_TYPE_IPIP }), msg.newDest],
  ['add_dest_gue', web, dest({ addr: '192.168.1.5', port: 80, fwdMethod: IP_VS_CONN_F_TUNNEL, weight: 2, tunType: IP_VS_CONN_F_TUNNEL_TYPE_GUE, tunPort: 6080, tunFlags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM }), msg.newDest],
  ['add_dest_gre', web, dest({ addr: '192.168.1.6', port: 80, fwdMethod: IP_VS_CONN_F_TUNNEL, weight: 1, tunType: IP_VS_CONN_F_TUNNEL_TYPE_GRE, tunFlags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM }), msg.newDest],
  ['add_dest6', { af: AF_INET6, protocol: IPPROTO_UDP, addr: '2001:db8::1', port: 53, fwmark: 0 }, dest({ addrFamily: AF_INET6, addr: '2001:db8::10', port: 53, fwdMethod: IP_VS_CONN_F_MASQ, weight: 5 }), msg.newDest],
  ['add_dest_fwmark6mixed', { af: AF_INET, protocol: 0, addr: '', port: 0, fwmark: 42 }, dest({ addr: '192.168.1.7', port: 0 }), msg.newDest],
  ['edit_dest_weight0', web, dest({ addr: '192.168.1.2', port: 8080, fwdMethod: IP_VS_CONN_F_MASQ, weight: 0 }), msg.setDest],
  ['del_dest', web, dest({ addr: '192.168.1.3', port: 80, weight: 1 }), msg.delDest],
];
const KEY_ATTRS = [1, 2, 3, 4, 5]; // IPVS_SVC_ATTR_AF, _PROTOCOL, _ADDR, _PORT, _FWMARK
for (const [name, key, d, build] of dests) {
  test(`destination command matches ipvsadm: ${vectors[name]!.command}`, () => {
    const ours = msg.decodeGenl(build(key, d).payload);
    const theirs = msg.decodeGenl(sentPayload(name));
    assert.equal(ours.cmd, theirs.cmd);
    assert.equal(ours.attrs.raw(IPVS_CMD_ATTR_DEST)!.data.toString('hex'), theirs.attrs.raw(IPVS_CMD_ATTR_DEST)!.data.toString('hex'));
    const keyOf = (n: ReturnType<typeof decodeAttributes>) => n.list.filter((a) => KEY_ATTRS.includes(a.type)).map((a) => `${a.type}=${a.data.toString('hex')}`);
    assert.deepEqual(keyOf(ours.attrs.nested(IPVS_CMD_ATTR_SERVICE)!), keyOf(theirs.attrs.nested(IPVS_CMD_ATTR_SERVICE)!));
    assert.equal(ours.attrs.raw(IPVS_CMD_ATTR_SERVICE)!.nested, true);
  });
}

test('IPVS_CMD_DEL_SERVICE carries the identity ipvsadm -D sends', () => {
  const ours = msg.decodeGenl(msg.delService({ ...web, port: 443 }).payload).attrs.nested(IPVS_CMD_ATTR_SERVICE)!;
  const theirs = msg.decodeGenl(sentPayload('del_svc')).attrs.nested(IPVS_CMD_ATTR_SERVICE)!;
  for (const t of KEY_ATTRS) assert.deepEqual(ours.binary(t), theirs.binary(t));
});

test('daemon, config, zero and flush commands match ipvsadm byte for byte', () => {
  const same = (c: msg.IpvsCommand, name: string) => assert.equal(c.payload.toString('hex'), sentPayload(name).toString('hex'), name);
  same(msg.newDaemon({ state: IP_VS_STATE_MASTER, mcastIfn: 'lo', syncId: 5 }), 'start_daemon_master');
  same(msg.newDaemon({ state: IP_VS_STATE_BACKUP, mcastIfn: 'lo', syncId: 7, syncMaxlen: 1400, mcastGroup: '224.0.0.82', mcastPort: 8850, mcastTtl: 2 }), 'start_daemon_backup_full');
  same(msg.delDaemon(IP_VS_STATE_MASTER), 'stop_daemon_master');
  same(msg.setConfig({ tcp: 900, tcpFin: 120, udp: 300 }), 'set_timeouts');
  same(msg.zero(), 'zero');
  same(msg.flush(), 'flush');
  assert.equal(msg.getInfo().payload.toString('hex'), sentPayload('zero', 0).toString('hex'), 'GET_INFO');
});

test('dump requests match ipvsadm -Ln: GET_SERVICE, then GET_DEST per service', () => {
  const sent = vectors.list_n!.sent.map((m) => m.payload!);
  assert.equal(msg.getServices().payload.toString('hex'), sent[1]);
  const keys: IpvsServiceKey[] = [web, { ...web, port: 443 }, { af: AF_INET, protocol: IPPROTO_UDP, addr: '10.0.0.3', port: 53, fwmark: 0 },
    { af: AF_INET, protocol: IPPROTO_SCTP, addr: '10.0.0.2', port: 5060, fwmark: 0 },
    { af: AF_INET6, protocol: IPPROTO_UDP, addr: '2001:db8::1', port: 53, fwmark: 0 }, { af: AF_INET, protocol: 0, addr: '', port: 0, fwmark: 42 }];
  keys.forEach((k, i) => assert.equal(msg.getDests(k).payload.toString('hex'), sent[2 + i], `GET_DEST ${i}`));
  assert.equal(msg.getDaemons().payload.toString('hex'), vectors.list_daemon!.sent[1]!.payload);
  assert.equal(msg.getConfig().payload.toString('hex'), vectors.list_timeout!.sent[1]!.payload);
});

/** The kernel's answers to ipvsadm -Ln: info, 6 services, then the destinations of each in turn. */
function kernelTable(name: string): { info: msg.IpvsInfo; table: IpvsKernelTable } {
  const replies = received(name);
  const info = msg.decodeInfoMessage(replies[0]!);
  const svcs = replies.filter((p) => p[0] === 1).map(msg.decodeServiceMessage);
  const destReplies = replies.filter((p) => p[0] === 5);
  const counts = [5, 0, 0, 0, 1, 1]; // from ipvsadm's own listing of this table
  // ipvsadm asked for each service's destinations in its sorted order (see the GET_DEST requests).
  const sorted = sortTable(svcs.map((service) => ({ service, dests: [] }))).map((e) => e.service);
  const table: IpvsKernelTable = sorted.map((service, i) => {
    const start = counts.slice(0, i).reduce((a, b) => a + b, 0);
    return { service, dests: destReplies.slice(start, start + counts[i]!).map((p) => msg.decodeDestMessage(p, service.af)) };
  });
  return { info, table };
}

test('decoded kernel dumps render exactly as ipvsadm -Ln and -Ln --stats printed them', () => {
  const { info, table } = kernelTable('list_n');
  assert.deepEqual(info, { version: 0x010201, connTabSize: 4096 });
  assert.equal(renderList(info, table), vectors.list_n!.output);
  assert.equal(renderList(info, kernelTable('list_stats').table, { format: 'stats' }), vectors.list_stats!.output);
});

test('decoded kernel dumps give the records ipvsadm -Sn printed, and render to the same text', () => {
  const { table } = kernelTable('save');
  assert.equal(renderSave(table), vectors.save!.output);
  assert.notEqual(renderSave(table, { nosort: true }), vectors.save!.output, 'the kernel dumps in hash order; ipvsadm sorts');
  const parsed = parseSave(vectors.save!.output!);
  const strip = (t: typeof parsed) => t.map(({ service, dests }) => ({
    service: { ...service, flags: service.flags & ~IP_VS_SVC_F_HASHED },
    dests: dests.map((d) => ({ ...d })),
  }));
  const fromKernel = table.map(({ service: { stats: _s, ...service }, dests }) => ({
    service, dests: dests.map(({ stats: _t, activeConns: _a, inactConns: _i, persistConns: _p, ...d }) => d),
  }));
  // -Sn has no thresholds: the table's masq destination was edited to weight 0 without them anyway.
  assert.deepEqual(strip(parsed), strip(sortTable(fromKernel)));
  assert.ok(table.every(({ service }) => service.flags & IP_VS_SVC_F_HASHED), 'the kernel marks its services HASHED');
});

test('sync daemons and timeouts decode to what ipvsadm printed', () => {
  const daemons = received('list_daemon').filter((p) => p[0] === 9).map(msg.decodeDaemonMessage);
  assert.deepEqual(daemons, [
    { state: IP_VS_STATE_MASTER, mcastIfn: 'lo', syncId: 5, syncMaxlen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 },
    { state: IP_VS_STATE_BACKUP, mcastIfn: 'lo', syncId: 7, syncMaxlen: 1400, mcastGroup: '224.0.0.82', mcastPort: 8850, mcastTtl: 2 },
  ]);
  const cfg = received('list_timeout').filter((p) => p[0] === 12).map(msg.decodeConfigMessage);
  assert.deepEqual(cfg, [{ tcp: 900, tcpFin: 120, udp: 300 }]);
});

test('truncated or corrupted answers throw NetlinkDecodeError and nothing else', () => {
  const samples = [...received('list_n'), ...received('list_daemon')];
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let n = 0; n < 3000; n++) {
    const base = samples[n % samples.length]!;
    const b = Buffer.from(base.subarray(0, Math.floor(rand() * (base.length + 1))));
    for (let k = 0; k < 3 && b.length; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    for (const decode of [msg.decodeServiceMessage, (p: Buffer) => msg.decodeDestMessage(p, AF_INET), msg.decodeDaemonMessage, msg.decodeConfigMessage, msg.decodeInfoMessage]) {
      try { decode(b); } catch (e) { if (!(e instanceof NetlinkDecodeError)) throw e; }
    }
  }
});
