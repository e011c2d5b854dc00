// lvsd's IPVS client and reconciler against a real kernel with IPVS (the lab: UML here), judged by
// ipvsadm. For each case the same table is programmed twice, in two fresh namespaces: by ipvsadm commands
// in "ref" and by `lvsd ipvs apply` of hand-written kernel records in "lvsd"; `ipvsadm -Sn` (and
// `-Ln --thresholds`) must print the same in both. Then lvsd adopts ipvsadm's table with zero writes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootKernel, type LabKernel } from '../../src/lab/kernel.js';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import type { Topology } from '../../src/lab/topology.js';
import {
  AF_INET, AF_INET6, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL, IP_VS_CONN_F_TUNNEL_TYPE_GRE,
  IP_VS_CONN_F_TUNNEL_TYPE_GUE, IP_VS_CONN_F_TUNNEL_TYPE_IPIP, IP_VS_STATE_BACKUP, IP_VS_STATE_MASTER, IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3, IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
  IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPVS_SCHEDULERS,
} from '../../ipvs/constants.js';
import type { IpvsDestination } from '../../ipvs/destination.js';
import { renderSave } from '../../ipvs/ipvsadm-format.js';
import { defaultNetmask, serviceKey, type IpvsService } from '../../ipvs/service.js';
import type { IpvsTable } from '../../ipvs/table.js';

const CLI = fileURLToPath(new URL('../../src/cli/ipvs-command.js', import.meta.url));
const DRIVER = `import { ipvsCommand } from ${JSON.stringify(CLI)}; process.exitCode = await ipvsCommand(process.argv.slice(1));`;
const DIST_IPVS = fileURLToPath(new URL('../../ipvs/', import.meta.url));

// Builders for kernel records. `svc('tcp', '10.0.0.1', 80, 'rr')`; `dst('192.168.1.2', 8080, 'masq')`.
const PROTO = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, sctp: IPPROTO_SCTP } as const;
const af = (a: string) => (a.includes(':') ? AF_INET6 : AF_INET);
function svc(proto: keyof typeof PROTO, addr: string, port: number, schedName: string, x: Partial<IpvsService> = {}): IpvsService {
  return { af: af(addr), protocol: PROTO[proto], addr, port, fwmark: 0, schedName, flags: 0, timeout: 0, netmask: defaultNetmask(af(addr)), peName: '', ...x };
}
function fwm(mark: number, family: number, schedName: string, x: Partial<IpvsService> = {}): IpvsService {
  return { af: family, protocol: 0, addr: '', port: 0, fwmark: mark, schedName, flags: 0, timeout: 0, netmask: defaultNetmask(family), peName: '', ...x };
}
const FWD = { masq: IP_VS_CONN_F_MASQ, route: IP_VS_CONN_F_DROUTE, tunnel: IP_VS_CONN_F_TUNNEL } as const;
function dst(addr: string, port: number, fwd: keyof typeof FWD, x: Partial<IpvsDestination> = {}): IpvsDestination {
  return { addrFamily: af(addr), addr, port, fwdMethod: FWD[fwd], weight: 1, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0, ...x };
}

interface Case { name: string; ipvsadm: string[]; table: IpvsTable; timeouts?: object; daemons?: object[]; compare?: string[][]; needs?: string }

const CASES: Case[] = [
  {
    name: 'every scheduler',
    ipvsadm: IPVS_SCHEDULERS.flatMap((s, i) => [`-A -t 10.0.0.${i + 1}:80 -s ${s}`, `-a -t 10.0.0.${i + 1}:80 -r 192.168.1.1:80 -m -w 2`, `-a -t 10.0.0.${i + 1}:80 -r 192.168.1.2:80 -m -w 3`]),
    table: IPVS_SCHEDULERS.map((s, i) => ({ service: svc('tcp', `10.0.0.${i + 1}`, 80, s), dests: [dst('192.168.1.1', 80, 'masq', { weight: 2 }), dst('192.168.1.2', 80, 'masq', { weight: 3 })] })),
  },
  {
    name: 'scheduler flags: sh-fallback,sh-port, mh-fallback,mh-port, flag-3; one-packet scheduling',
    ipvsadm: ['-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port', '-A -t 10.0.0.2:80 -s mh -b mh-fallback,mh-port', '-A -t 10.0.0.3:80 -s dh -b flag-3', '-A -u 10.0.0.4:53 -s rr -o'],
    table: [
      { service: svc('tcp', '10.0.0.1', 80, 'sh', { flags: IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 }), dests: [] },
      { service: svc('tcp', '10.0.0.2', 80, 'mh', { flags: IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 }), dests: [] },
      { service: svc('tcp', '10.0.0.3', 80, 'dh', { flags: IP_VS_SVC_F_SCHED3 }), dests: [] },
      { service: svc('udp', '10.0.0.4', 53, 'rr', { flags: IP_VS_SVC_F_ONEPACKET }), dests: [] },
    ],
  },
  {
    name: 'forwarding: masq, route, tunnel ipip / gue (csum, nocsum, remcsum) / gre; thresholds',
    ipvsadm: ['-A -t 10.0.0.1:80 -s wlc', '-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 3 -x 100 -y 10', '-a -t 10.0.0.1:80 -r 192.168.1.3:80 -g -w 1',
      '-a -t 10.0.0.1:80 -r 192.168.1.4:80 -i -w 2', '-a -t 10.0.0.1:80 -r 192.168.1.5:80 -i --tun-type gue --tun-port 6080 --tun-csum -w 2',
      '-a -t 10.0.0.1:80 -r 192.168.1.6:80 -i --tun-type gue --tun-port 6081 --tun-nocsum', '-a -t 10.0.0.1:80 -r 192.168.1.7:80 -i --tun-type gue --tun-port 6082 --tun-remcsum',
      '-a -t 10.0.0.1:80 -r 192.168.1.8:80 -i --tun-type gre --tun-csum -x 5', '-a -t 10.0.0.1:80 -r 192.168.1.9:80 -i --tun-type gre'],
    table: [{ service: svc('tcp', '10.0.0.1', 80, 'wlc'), dests: [
      dst('192.168.1.2', 8080, 'masq', { weight: 3, uThresh: 100, lThresh: 10 }), dst('192.168.1.3', 80, 'route'),
      dst('192.168.1.4', 80, 'tunnel', { weight: 2, tunType: IP_VS_CONN_F_TUNNEL_TYPE_IPIP }),
      dst('192.168.1.5', 80, 'tunnel', { weight: 2, tunType: IP_VS_CONN_F_TUNNEL_TYPE_GUE, tunPort: 6080, tunFlags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM }),
      dst('192.168.1.6', 80, 'tunnel', { tunType: IP_VS_CONN_F_TUNNEL_TYPE_GUE, tunPort: 6081 }),
      dst('192.168.1.7', 80, 'tunnel', { tunType: IP_VS_CONN_F_TUNNEL_TYPE_GUE, tunPort: 6082, tunFlags: IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM }),
      dst('192.168.1.8', 80, 'tunnel', { tunType: IP_VS_CONN_F_TUNNEL_TYPE_GRE, tunFlags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM, uThresh: 5 }),
      dst('192.168.1.9', 80, 'tunnel', { tunType: IP_VS_CONN_F_TUNNEL_TYPE_GRE }),
    ] }],
  },
  {
    name: 'IPv6 services, SCTP, fwmark (IPv4 and IPv6) and a mixed-family tunnel destination',
    ipvsadm: ['-A -t [2001:db8::1]:443 -s wrr', '-a -t [2001:db8::1]:443 -r [2001:db8::10]:8443 -m -w 4', '-a -t [2001:db8::1]:443 -r [2001:db8::11]:443 -g',
      '-A --sctp-service 10.0.0.2:5060 -s rr', '-a --sctp-service 10.0.0.2:5060 -r 192.168.1.2:5060 -m',
      '-A -f 42 -s lc', '-a -f 42 -r 192.168.1.7 -g -w 3', '-A -f 7 -6 -s wlc', '-a -f 7 -6 -r 2001:db8::5 -g -w 2', '-a -f 7 -6 -r 192.168.1.9 -i -w 2'],
    table: [
      { service: svc('tcp', '2001:db8::1', 443, 'wrr'), dests: [dst('2001:db8::10', 8443, 'masq', { weight: 4 }), dst('2001:db8::11', 443, 'route')] },
      { service: svc('sctp', '10.0.0.2', 5060, 'rr'), dests: [dst('192.168.1.2', 5060, 'masq')] },
      { service: fwm(42, AF_INET, 'lc'), dests: [dst('192.168.1.7', 0, 'route', { weight: 3 })] },
      { service: fwm(7, AF_INET6, 'wlc'), dests: [dst('2001:db8::5', 0, 'route', { weight: 2 }), dst('192.168.1.9', 0, 'tunnel', { weight: 2, tunType: IP_VS_CONN_F_TUNNEL_TYPE_IPIP })] },
    ],
  },
  {
    name: 'persistence: timeout, IPv4 netmask, IPv6 prefix, fwmark, persistence engine sip',
    needs: 'pe_sip',
    ipvsadm: ['-A -t 10.0.0.1:443 -s wlc -p 300 -M 255.255.255.0', '-A -t [2001:db8::2]:80 -s rr -p 10 -M 64', '-A -f 9 -s lc -p 60 -M 255.255.0.0',
      '-A -u 10.0.0.5:5060 -s rr -p 60 --pe sip', '-A -t 10.0.0.6:80 -s rr -p'],
    table: [
      { service: svc('tcp', '10.0.0.1', 443, 'wlc', { flags: IP_VS_SVC_F_PERSISTENT, timeout: 300, netmask: 0xffffff00 }), dests: [] },
      { service: svc('tcp', '2001:db8::2', 80, 'rr', { flags: IP_VS_SVC_F_PERSISTENT, timeout: 10, netmask: 64 }), dests: [] },
      { service: fwm(9, AF_INET, 'lc', { flags: IP_VS_SVC_F_PERSISTENT, timeout: 60, netmask: 0xffff0000 }), dests: [] },
      { service: svc('udp', '10.0.0.5', 5060, 'rr', { flags: IP_VS_SVC_F_PERSISTENT, timeout: 60, peName: 'sip' }), dests: [] },
      { service: svc('tcp', '10.0.0.6', 80, 'rr', { flags: IP_VS_SVC_F_PERSISTENT, timeout: 360 }), dests: [] },
    ],
  },
  {
    name: 'protocol timeouts',
    ipvsadm: ['--set 7200 60 120'],
    table: [],
    timeouts: { tcp: 7200, tcpFin: 60, udp: 120 },
    compare: [['ipvsadm', '-L', '--timeout']],
  },
  {
    name: 'sync daemons: master with defaults, backup with every option',
    ipvsadm: ['--start-daemon master --mcast-interface eth0 --syncid 5',
      '--start-daemon backup --mcast-interface eth0 --syncid 7 --sync-maxlen 1400 --mcast-group 224.0.0.82 --mcast-port 8850 --mcast-ttl 2'],
    table: [],
    daemons: [{ state: IP_VS_STATE_MASTER, mcastIfn: 'eth0', syncId: 5 },
      { state: IP_VS_STATE_BACKUP, mcastIfn: 'eth0', syncId: 7, syncMaxlen: 1400, mcastGroup: '224.0.0.82', mcastPort: 8850, mcastTtl: 2 }],
    compare: [['ipvsadm', '-L', '--daemon']],
  },
];

// Two namespaces on one LAN: IPv4 destinations need a local routing table (ip_vs_new_dest checks
// inet_addr_type) and sync daemons a multicast-capable interface with a route.
const pair: Topology = {
  name: 'ipvs-pair',
  lans: { lan: {} },
  hosts: {
    ref: { ifaces: { eth0: { lan: 'lan', addrs: ['192.168.0.254/16', '2001:db8:ff::1/64'] } }, routes: [{ dst: 'default', via: '192.168.0.1' }] },
    lvsd: { ifaces: { eth0: { lan: 'lan', addrs: ['192.168.0.253/16', '2001:db8:ff::2/64'] } }, routes: [{ dst: 'default', via: '192.168.0.1' }] },
  },
};

interface Report { writes: number; rounds: number; reread: boolean; errors: { message: string; code: string }[] }

// One lab kernel for the file; each suite builds its own namespaces in it.
let kernel: LabKernel;
before(async () => { kernel = await bootKernel(); });
after(async () => { await kernel?.stop(); });

describe('IPVS through lvsd, judged by ipvsadm (lab kernel)', () => {
  let lab: Lab;
  let ref: LabHost, ours: LabHost;
  let peSip = false;
  let n = 0;

  before(async () => {
    lab = await Lab.start(pair, { kernel });
    ref = lab.host('ref');
    ours = lab.host('lvsd');
    // The sip persistence engine is not among the lab's modules; load it if this kernel has it.
    const mods = `/usr/lib/uml/modules/${kernel.release}/kernel/net/netfilter`;
    const r = await ref.exec(['sh', '-c', `insmod ${mods}/nf_conntrack_sip.ko; insmod ${mods}/ipvs/ip_vs_pe_sip.ko; grep -q ip_vs_pe_sip /proc/modules`]);
    peSip = r.code === 0;
  });
  after(async () => { await lab?.stop(); });

  const lvsd = (host: LabHost, args: string[], input?: string) => host.exec([process.execPath, '--input-type=module', '-e', DRIVER, ...args], input === undefined ? {} : { input });
  async function apply(host: LabHost, input: object | string, args: string[] = []): Promise<Report> {
    const file = join(lab.dir, `ipvs-input-${++n}`);
    writeFileSync(file, typeof input === 'string' ? input : JSON.stringify(input));
    const r = await lvsd(host, ['apply', file, ...args]);
    assert.ok(r.stdout.trim(), `lvsd ipvs apply printed nothing: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(r.code, report.errors.length ? 1 : 0, r.stderr);
    return report;
  }
  const ipvsadm = (host: LabHost, cmds: string[]) => host.sh(cmds.map((c) => `ipvsadm ${c}`).join(' && '));
  const clear = async () => {
    for (const h of [ref, ours]) await h.sh('ipvsadm -C; ipvsadm --stop-daemon master 2>/dev/null; ipvsadm --stop-daemon backup 2>/dev/null; ipvsadm --set 900 120 300; true');
  };

  for (const c of CASES) {
    test(`${c.name}: lvsd's table equals ipvsadm's, and lvsd adopts ipvsadm's with zero writes`, async (t) => {
      if (c.needs === 'pe_sip' && !peSip) { t.skip('ip_vs_pe_sip not available in this kernel'); return; }
      await clear();
      await ipvsadm(ref, c.ipvsadm);
      const input = { table: c.table, ...(c.timeouts ? { timeouts: c.timeouts } : {}), ...(c.daemons ? { daemons: c.daemons } : {}) };
      const report = await apply(ours, input);
      assert.deepEqual(report.errors, []);
      const expectedWrites = c.table.reduce((a, e) => a + 1 + e.dests.length, 0) + (c.timeouts ? 1 : 0) + (c.daemons?.length ?? 0);
      assert.equal(report.writes, expectedWrites, 'one command per entry');
      for (const argv of c.compare ?? [['ipvsadm', '-Sn'], ['ipvsadm', '-Ln', '--thresholds'], ['ipvsadm', '-Ln', '--persistent-conn']]) {
        assert.equal(await ours.run(argv), await ref.run(argv), argv.join(' '));
      }
      // The same records against the table ipvsadm built: nothing to do.
      assert.deepEqual(await apply(ref, input), { writes: 0, rounds: 0, reread: false, errors: [] }, 'adoption of ipvsadm\'s table');
      // lvsd's own readers print what ipvsadm prints.
      const list = await lvsd(ours, ['list']);
      assert.equal(list.stdout, await ours.run(['ipvsadm', '-Ln']), `lvsd ipvs list ${list.stderr}`);
      if (!c.compare) {
        assert.equal((await lvsd(ours, ['save'])).stdout, await ours.run(['ipvsadm', '-Sn']), 'lvsd ipvs save');
        for (const f of ['--thresholds', '--persistent-conn', '--rate', '--stats']) {
          assert.equal((await lvsd(ours, ['list', f])).stdout, await ours.run(['ipvsadm', '-Ln', f]), `lvsd ipvs list ${f}`);
        }
        assert.equal(renderSave(c.table), await ref.run(['ipvsadm', '-Sn']), 'the records render as ipvsadm -Sn prints them');
      } else {
        assert.equal((await lvsd(ours, ['list', ...c.compare[0]!.slice(2)])).stdout, await ours.run(c.compare[0]!), `lvsd ipvs list ${c.compare[0]!.slice(2).join(' ')}`);
      }
    });
  }

  test('restart with an unchanged table: zero writes; a weight change: one write; a drain: one write; foreign services untouched', async () => {
    await clear();
    await ipvsadm(ours, ['-A -t 10.9.9.9:80 -s rr', '-a -t 10.9.9.9:80 -r 192.168.9.9:80 -m']);
    const foreign = await ours.run(['ipvsadm', '-Ln', '-t', '10.9.9.9:80']);
    const table: IpvsTable = Array.from({ length: 20 }, (_, i) => ({
      service: svc('tcp', `10.1.0.${i + 1}`, 80, 'wrr'), dests: [1, 2, 3, 4].map((d) => dst(`192.168.2.${d}`, 80, 'masq')),
    }));
    assert.equal((await apply(ours, { table })).writes, 100);
    assert.deepEqual(await apply(ours, { table }), { writes: 0, rounds: 0, reread: false, errors: [] });
    table[7]!.dests[2]!.weight = 9;
    assert.equal((await apply(ours, { table })).writes, 1);
    assert.match(await ours.run(['ipvsadm', '-Ln', '-t', '10.1.0.8:80']), /192\.168\.2\.3:80\s+Masq\s+9\s/);
    table[7]!.dests[2]!.weight = 0;
    assert.equal((await apply(ours, { table })).writes, 1);
    assert.match(await ours.run(['ipvsadm', '-Ln', '-t', '10.1.0.8:80']), /192\.168\.2\.3:80\s+Masq\s+0\s/);
    // Forwarding method, scheduler and persistence are edited in place too: one write each.
    table[7]!.dests[2]!.fwdMethod = IP_VS_CONN_F_DROUTE;
    assert.equal((await apply(ours, { table })).writes, 1);
    assert.match(await ours.run(['ipvsadm', '-Sn']), /-a -t 10\.1\.0\.8:80 -r 192\.168\.2\.3:80 -g -w 0\n/);
    table[3]!.service = { ...table[3]!.service, schedName: 'sh', flags: IP_VS_SVC_F_PERSISTENT, timeout: 120, netmask: 0xffffff00 };
    assert.equal((await apply(ours, { table })).writes, 1);
    assert.match(await ours.run(['ipvsadm', '-Sn']), /-A -t 10\.1\.0\.4:80 -s sh -p 120 -M 255\.255\.255\.0\n(-a -t 10\.1\.0\.4:80 .*\n){4}/);
    assert.equal(await ours.run(['ipvsadm', '-Ln', '-t', '10.9.9.9:80']), foreign, 'the foreign service is as it was');
  });

  test('owned services no longer declared are deleted; foreign ones stay; identity changes are del+add', async () => {
    await clear();
    await ipvsadm(ours, ['-A -u 10.9.9.9:53 -s rr']);
    const A = svc('tcp', '10.1.0.1', 80, 'rr'), B = svc('tcp', '10.1.0.2', 80, 'rr');
    await apply(ours, { table: [{ service: A, dests: [dst('192.168.2.1', 80, 'masq')] }, { service: B, dests: [dst('192.168.2.2', 80, 'masq')] }] });
    const B6 = svc('tcp', '2001:db8::2', 80, 'rr');
    const r = await apply(ours, { table: [{ service: A, dests: [dst('192.168.2.1', 80, 'masq')] }, { service: B6, dests: [] }], owned: [serviceKey(A), serviceKey(B)] });
    assert.equal(r.writes, 2); // DEL_SERVICE B (its destination goes with it), NEW_SERVICE B6
    assert.equal(await ours.run(['ipvsadm', '-Sn']), '-A -t 10.1.0.1:80 -s rr\n-a -t 10.1.0.1:80 -r 192.168.2.1:80 -m -w 1\n-A -u 10.9.9.9:53 -s rr\n-A -t [2001:db8::2]:80 -s rr\n');
  });

  test('an unknown scheduler: an error naming it and its module ip_vs_NAME, with the kernel\'s ENOENT', async () => {
    await clear();
    const r = await apply(ours, { table: [{ service: svc('tcp', '10.1.0.1', 80, 'nosuch'), dests: [dst('192.168.2.1', 80, 'masq')] }] });
    assert.equal(r.errors[0]!.code, 'ENOENT');
    assert.match(r.errors[0]!.message, /IPVS_CMD_NEW_SERVICE tcp 10\.1\.0\.1:80: scheduler "nosuch" not found: kernel module ip_vs_nosuch is not loaded/);
    assert.equal(await ours.run(['ipvsadm', '-Sn']), '');
  });

  test('EEXIST/ENOENT/ESRCH races with ipvsadm between read and apply converge in a second round', async () => {
    await clear();
    await ipvsadm(ours, ['-A -t 10.1.0.1:80 -s rr', '-a -t 10.1.0.1:80 -r 192.168.2.1:80 -m', '-a -t 10.1.0.1:80 -r 192.168.2.2:80 -m',
      '-A -t 10.1.0.3:80 -s rr']);
    const desired: IpvsTable = [
      { service: svc('tcp', '10.1.0.1', 80, 'rr'), dests: [dst('192.168.2.1', 80, 'masq', { weight: 5 }), dst('192.168.2.2', 80, 'masq'), dst('192.168.2.3', 80, 'masq', { weight: 2 })] },
      { service: svc('tcp', '10.1.0.2', 80, 'wlc'), dests: [dst('192.168.2.4', 80, 'masq')] },
      { service: svc('tcp', '10.1.0.3', 80, 'wrr'), dests: [] },
    ];
    // Read the kernel, let ipvsadm change it, then apply what the stale read implies.
    const script = `
      import { IpvsClient } from ${JSON.stringify(join(DIST_IPVS, 'client.js'))};
      import { IpvsTableSync } from ${JSON.stringify(join(DIST_IPVS, 'sync.js'))};
      import { execSync } from 'node:child_process';
      const client = await IpvsClient.open();
      const sync = new IpvsTableSync(client, { owned: process.argv[2] ? JSON.parse(process.argv[2]) : [] });
      await sync.refresh();
      execSync(${JSON.stringify([
        'ipvsadm -d -t 10.1.0.1:80 -r 192.168.2.1:80', // our SET_DEST meets ENOENT
        'ipvsadm -a -t 10.1.0.1:80 -r 192.168.2.3:80 -m', // our NEW_DEST meets EEXIST
        'ipvsadm -A -t 10.1.0.2:80 -s rr', // our NEW_SERVICE meets EEXIST
        'ipvsadm -D -t 10.1.0.3:80', // our SET_SERVICE meets ESRCH
      ].join(' && '))});
      const report = await sync.apply(JSON.parse(process.argv[1]));
      console.log(JSON.stringify({ ...report, errors: report.errors.map((e) => e.message) }));
      client.close();`;
    const r = await ours.exec([process.execPath, '--input-type=module', '-e', script, JSON.stringify(desired), JSON.stringify(desired.map((e) => serviceKey(e.service)))]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Report & { errors: string[] };
    assert.deepEqual(report.errors, []);
    assert.equal(report.reread, true);
    assert.equal(report.rounds, 2);
    assert.equal(await ours.run(['ipvsadm', '-Sn']), renderSave(desired));
  });
});

describe('IPVS statistics through lvsd after real traffic (lab kernel, NAT)', () => {

  test('lvsd ipvs list --stats equals ipvsadm -Ln --stats after curl through a NAT VIP; a drain keeps the connections', async (t) => {
    const lab = await Lab.start('single-director', { kernel });
    t.after(() => lab.stop());
    const a = lab.addresses;
    const d = lab.host('director');
    const table: IpvsTable = [{ service: svc('tcp', a.vip4!, 80, 'rr'), dests: [1, 2, 3].map((i) => dst(a[`rs${i}_4`]!, 80, 'masq')) }];
    const file = join(lab.dir, 'stats-table.json');
    writeFileSync(file, JSON.stringify({ table }));
    const applied = await d.exec([process.execPath, '--input-type=module', '-e', DRIVER, 'apply', file]);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    const out = await lab.host('client').sh(`for i in $(seq 12); do curl -sS --max-time 5 http://${a.vip4}/ || echo FAIL; done`);
    assert.deepEqual(out.trim().split('\n').sort(), ['rs1', 'rs1', 'rs1', 'rs1', 'rs2', 'rs2', 'rs2', 'rs2', 'rs3', 'rs3', 'rs3', 'rs3']);
    // The counters dumped are summed by the kernel's estimator every 2 s: let it run once after the traffic.
    await new Promise((r) => setTimeout(r, 2500));
    const ours = await d.exec([process.execPath, '--input-type=module', '-e', DRIVER, 'list', '--stats', '--exact']);
    const theirs = await d.run(['ipvsadm', '-Ln', '--stats', '--exact']);
    assert.equal(ours.stdout, theirs, ours.stderr);
    assert.match(theirs, new RegExp(`TCP  ${a.vip4!.replace(/\./g, '\\.')}:80\\s+12\\s`), 'twelve connections counted');
    // Drain rs2: weight 0 in place; its (TIME_WAIT) connections stay with it.
    table[0]!.dests[1]!.weight = 0;
    writeFileSync(file, JSON.stringify({ table }));
    const drained = await d.exec([process.execPath, '--input-type=module', '-e', DRIVER, 'apply', file]);
    assert.equal(JSON.parse(drained.stdout).writes, 1);
    assert.match(await d.run(['ipvsadm', '-Ln']), new RegExp(`${a.rs2_4!.replace(/\./g, '\\.')}:80\\s+Masq\\s+0\\s+0\\s+4\\s`));
    const after = await lab.host('client').sh(`for i in $(seq 4); do curl -sS --max-time 5 http://${a.vip4}/; done`);
    assert.ok(!after.includes('rs2'), after);
  });
});
