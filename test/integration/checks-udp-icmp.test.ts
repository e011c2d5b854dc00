// UDP and ICMP echo checks driving IPVS in the lab (issue #16): one UML kernel and one single-director lab
// for every case. The real servers run socat from Debian: an echo service (UDP-RECVFROM,fork PIPE, IPv4 and
// IPv6 on one socket) on rs1 and rs2, and one that reads datagrams and never answers on rs3. lvsd's checkers
// and balancer run in the director (dist/src/balancer/run.js); the judge is the kernel's table as
// `ipvsadm -Ln` prints it, and the reasons are lvsd's own verdict lines.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootKernel, Lab, type LabHost, type LabKernel, type LabProcess, ipvsadmLines, waitIpvsTable } from '../../src/lab/index.js';

const RUN = fileURLToPath(new URL('../../src/balancer/run.js', import.meta.url));
let kernel: LabKernel;
let lab: Lab;
let director: LabHost;
let lvsd: LabProcess | undefined;
const echo = new Map<string, LabProcess>();
let silent: LabProcess;

/** socat's UDP echo on port 7 (IPv4 and IPv6): one child per datagram, which sends it back; -T1 ends idle children. */
async function startEcho(host: string): Promise<void> {
  const p = await lab.host(host).spawn(['socat', '-T1', 'UDP6-RECVFROM:7,fork,ipv6only=0', 'PIPE']);
  echo.set(host, p);
  await lab.host(host).sh('i=0; while ! grep -qE "^ *[0-9]+: [0-9A-F]+:0007 " /proc/net/udp6; do i=$((i+1)); [ $i -gt 200 ] && exit 1; sleep 0.02; done');
}

before(async () => {
  kernel = await bootKernel();
  lab = await Lab.start('single-director', { kernel });
  director = lab.host('director');
  await startEcho('rs1');
  await startEcho('rs2');
  // Swallows datagrams: reads them (and prints them, so the test sees they arrived) and never answers.
  silent = await lab.host('rs3').spawn(['socat', '-u', 'UDP6-RECV:7,ipv6only=0', 'STDOUT']);
  await lab.host('rs3').sh('i=0; while ! grep -qE "^ *[0-9]+: [0-9A-F]+:0007 " /proc/net/udp6; do i=$((i+1)); [ $i -gt 200 ] && exit 1; sleep 0.02; done');
  // rs3 and rs2 also route addresses nobody has, and answer for them with ICMP errors as a router does for
  // its unreachable and prohibit routes (RFC 1812 5.2.7.1): errors about our probes from another host.
  // A router sends one source such errors at about one a second after a burst of five (the kernel's
  // ip_error: route/error_cost, error_burst; per-peer icmp_ratelimit on top, switched off here), and the
  // probes here come faster: one kind of error per router (rs3: echo requests, rs2: UDP datagrams), and the
  // UDP check of 10.0.9.10 decides on its first failure. Past that limit a UDP check sees "no reply"
  // (without require_reply: up), as it would in the field.
  await lab.host('rs3').sh('sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 && ' +
    'ip route add unreachable 10.0.9.9 && ip -6 route add unreachable 2001:db8:9::9');
  await lab.host('rs2').sh('sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0 && ip route add prohibit 10.0.9.10');
  await director.sh('ip route add 10.0.9.9 via 10.0.1.13 && ip route add 10.0.9.10 via 10.0.1.12 && ip -6 route add 2001:db8:9::/64 via 2001:db8:2::13');
  const file = join(lab.dir, 'udp-icmp.yaml');
  writeFileSync(file, CONFIG);
  lvsd = await director.spawnNode(RUN, [file]);
  await lvsd.waitFor(/^ready /m, { timeoutMs: 30_000 });
});
after(async () => {
  if (lvsd) {
    await lvsd.stop(5000);
    assert.match(lvsd.output, /^stopped$/m);
  }
  await lab?.stop();
  await kernel?.stop();
});

// 10.0.1.14 and 2001:db8:2::14 are on the servers' LAN, and nobody has them. The UDP checks wait 1 s and
// confirm a failure once: socat forks a child per datagram, which in UML on a loaded machine took more
// than 300 ms now and then (a false "no reply" in one run of three).
const CONFIG = `
virtual_services:
  - name: echo
    address: 192.0.2.10:7
    protocol: udp
    forwarding: nat
    checks: [{type: udp, payload: "lvsd probe", reply_regex: "^lvsd probe$", interval: 300ms, timeout: 1s, retries: 2, delay_before_retry: 200ms}]
    real_servers: [{address: "10.0.1.11:7"}, {address: "10.0.1.12:7"}, {address: "10.0.1.13:7"},
      {address: "10.0.9.10:7", checks: [{type: udp, payload: "lvsd probe", require_reply: true, interval: 1s, timeout: 1s, retries: 1}]}]
  - name: echo6
    address: "[2001:db8:1::10]:7"
    protocol: udp
    forwarding: nat
    checks: [{type: udp, payload_hex: "6c 76 73 64 36", reply_hex: "6c76736436", interval: 300ms, timeout: 1s, retries: 2, delay_before_retry: 200ms}]
    real_servers: [{address: "[2001:db8:2::11]:7"}, {address: "[2001:db8:2::13]:7"}]
  - name: ping
    address: 192.0.2.10:80
    forwarding: nat
    checks: [{type: icmp, interval: 300ms, timeout: 500ms, retries: 1}]
    real_servers: [{address: "10.0.1.11:80"}, {address: "10.0.1.12:80"}, {address: "10.0.1.14:80"}, {address: "10.0.9.9:80"}]
  - name: ping6
    address: "[2001:db8:1::10]:80"
    forwarding: nat
    checks: [{type: icmp, interval: 300ms, timeout: 500ms, retries: 1}]
    real_servers: [{address: "[2001:db8:2::12]:80"}, {address: "[2001:db8:2::14]:80"}, {address: "[2001:db8:9::9]:80"}]
`;

/** `ipvsadm -Ln` as sorted lines (src/lab/ipvsadm.ts). */
const table = async (): Promise<string[]> => ipvsadmLines(await director.run(['ipvsadm', '-Ln']), { protocol: true, weight: false });

const waitTable = (want: string[], timeoutMs = 10_000): Promise<number> =>
  waitIpvsTable(table, want, { timeoutMs, pollMs: 50, context: () => `${(lvsd?.output ?? '').slice(-2000)}${lvsd?.errors ?? ''}` });

type Verdict = { service: string; server: string; up: boolean; reason: string; at: number };
const verdicts = () => [...(lvsd?.output ?? '').matchAll(/^verdict (.*)$/gm)].map((m) => JSON.parse(m[1]!) as Verdict);
const lastVerdict = (service: string, server: string) => verdicts().filter((v) => v.service === service && v.server === server).at(-1);

const ECHO = (...n: number[]) => n.map((i) => `UDP 192.0.2.10:7 > 10.0.1.1${i}:7`);
const ECHO6 = (...n: number[]) => n.map((i) => `UDP [2001:db8:1::10]:7 > [2001:db8:2::1${i}]:7`);
const PING = (...n: number[]) => n.map((i) => `TCP 192.0.2.10:80 > 10.0.1.1${i}:80`);
const PING6 = (...n: number[]) => n.map((i) => `TCP [2001:db8:1::10]:80 > [2001:db8:2::1${i}]:80`);
const HEALTHY = [...ECHO(1, 2), ...ECHO6(1), ...PING(1, 2), ...PING6(2)];

describe('UDP and ICMP echo checks in the lab', () => {
  test('answering servers are in, a server that swallows datagrams and addresses nobody has are out, for the right reasons', async () => {
    await waitTable(HEALTHY);
    assert.equal(lastVerdict('echo', '10.0.1.13:7')?.reason, 'no reply after 1s');
    assert.equal(lastVerdict('echo6', '[2001:db8:2::13]:7')?.reason, 'no reply after 1s');
    assert.equal(lastVerdict('ping', '10.0.1.14:80')?.reason, 'no reply after 500ms');
    assert.equal(lastVerdict('ping6', '[2001:db8:2::14]:80')?.reason, 'no reply after 500ms');
    // ICMP errors from rs3 and rs2 (routers here) about our echo requests and datagrams, by name.
    assert.equal(lastVerdict('ping', '10.0.9.9:80')?.reason, 'ICMP host unreachable');
    assert.equal(lastVerdict('ping6', '[2001:db8:9::9]:80')?.reason, 'ICMPv6 no route to destination');
    assert.equal(lastVerdict('echo', '10.0.9.10:7')?.reason, 'ICMP communication administratively prohibited');
    // socat on rs3 printed what it swallowed: lvsd's payloads, IPv4 and IPv6.
    assert.match(silent.output, /lvsd probe/);
    assert.match(silent.output, /lvsd6/);
    assert.equal(verdicts().filter((v) => ['10.0.1.11:7', '10.0.1.12:7', '[2001:db8:2::11]:7', '10.0.1.11:80', '10.0.1.12:80', '[2001:db8:2::12]:80'].includes(v.server)).length, 0,
      'no healthy server ever failed');
  });

  test('echo service stopped: ICMP port unreachable takes it out at once; restarted: back', async () => {
    const t0 = Date.now();
    await echo.get('rs1')!.stop(2000);
    // echo6 had rs1 only (rs3 swallows): the service stays, empty.
    const ms = await waitTable([...ECHO(2), 'UDP [2001:db8:1::10]:7 >', ...PING(1, 2), ...PING6(2)]);
    assert.equal(lastVerdict('echo', '10.0.1.11:7')?.reason, 'ICMP port unreachable');
    assert.equal(lastVerdict('echo6', '[2001:db8:2::11]:7')?.reason, 'ICMPv6 port unreachable');
    console.log(`# udp-icmp: echo service stopped -> out of the table in ${Date.now() - t0} ms (socat's children linger up to 1 s; table polled for ${ms} ms)`);
    await startEcho('rs1');
    await waitTable(HEALTHY);
    assert.equal(lastVerdict('echo', '10.0.1.11:7')?.up, true);
  });

  test('a host whose interface is down: its pings and its UDP probes get no reply; interface up: back', async () => {
    await lab.host('rs2').run(['ip', 'link', 'set', 'eth0', 'down']);
    try {
      await waitTable([...ECHO(1), ...ECHO6(1), ...PING(1), 'TCP [2001:db8:1::10]:80 >']);
      assert.equal(lastVerdict('ping', '10.0.1.12:80')?.reason, 'no reply after 500ms');
      assert.equal(lastVerdict('ping6', '[2001:db8:2::12]:80')?.reason, 'no reply after 500ms');
      assert.equal(lastVerdict('echo', '10.0.1.12:7')?.reason, 'no reply after 1s');
    } finally {
      // Link down flushed rs2's IPv6 address (keep_addr_on_down is 0) and its default routes: the topology's back.
      await lab.host('rs2').sh('ip link set eth0 up && ip -6 addr replace 2001:db8:2::12/64 dev eth0 nodad && ' +
        'ip route replace default via 10.0.1.1 && ip -6 route replace default via 2001:db8:2::1');
    }
    await waitTable(HEALTHY, 15_000);
  });

  test('the echo requests on the wire: one identifier for this lvsd, sequence numbers that differ', async () => {
    const dump = await lab.host('rs1').spawn(['tcpdump', '-i', 'eth0', '-n', '-l', '-c', '4', 'icmp[icmptype] == icmp-echo']);
    await dump.exited;
    const seen = [...dump.output.matchAll(/ICMP echo request, id (\d+), seq (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    assert.equal(seen.length, 4, dump.output);
    assert.equal(new Set(seen.map(([id]) => id)).size, 1, 'one identifier');
    assert.equal(new Set(seen.map(([, seq]) => seq)).size, 4, 'a new sequence number per probe');
  });
});
