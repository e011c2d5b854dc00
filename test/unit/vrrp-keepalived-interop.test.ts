// Interop on a real kernel: adverts built by encodeAdvert are sent (by a tiny Python raw-socket
// injector, test-only: lvsd's own sockets live in src/native) to a real keepalived 2.2.7 backup in
// a network namespace. keepalived is the judge: it must accept them as a higher-priority master
// (stay BACKUP past its Master_Down_Interval), then take over about Skew_Time after our priority-0
// advert. A rejected advert (checksum, auth, address list, interval) would make it MASTER at ~3.6 s.
// Needs root, keepalived and /usr/bin/python3; skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAdvert, type AdvertInput } from '../../vrrp/packet.js';

const PY = '/usr/bin/python3';
const NSA = 'lvsd-vi-a';
const NSB = 'lvsd-vi-b';
const canRun =
  process.getuid?.() === 0 &&
  existsSync(PY) &&
  spawnSync('keepalived', ['--version'], { stdio: 'ignore' }).status === 0;

const sh = (...args: string[]) => {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

const SENDER = `
import sys, json, socket, time
jobs = json.load(sys.stdin)
idx = socket.if_nametoindex('va')
s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s4.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s4.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
s4.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('192.0.2.1'))
s4.bind(('192.0.2.1', 0))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
s6.bind(('fe80::ff:fe00:a', 0, 0, idx))
t0 = time.monotonic()
for j in sorted(jobs, key=lambda j: j['at']):
    d = t0 + j['at'] / 1000 - time.monotonic()
    if d > 0:
        time.sleep(d)
    data = bytes.fromhex(j['hex'])
    if j['family'] == 'ipv4':
        s4.sendto(data, (j['dst'], 0))
    else:
        s6.sendto(data, (j['dst'], 0, 0, idx))
    print(j['name'], j['at'], flush=True)
`;

interface Instance {
  name: string;
  /** Where our adverts go: the multicast group unless the instance is unicast. */
  dst?: string;
  input: Omit<AdvertInput, 'priority'>;
  conf: string;
}

const instances: Instance[] = [
  {
    name: 'i_v2_pass',
    input: { version: 2, family: 'ipv4', vrid: 61, advertIntervalMs: 1000, addresses: ['192.0.2.161', '192.0.2.162'], auth: { type: 1, password: 'secret' } },
    conf: `version 2\n  virtual_router_id 61\n  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n  virtual_ipaddress {\n    192.0.2.161/32\n    192.0.2.162/32\n  }`,
  },
  {
    name: 'i_v3_ipv4',
    input: { version: 3, family: 'ipv4', vrid: 62, advertIntervalMs: 1000, addresses: ['192.0.2.170'], src: '192.0.2.1', dst: '224.0.0.18' },
    conf: `version 3\n  virtual_router_id 62\n  virtual_ipaddress {\n    192.0.2.170/32\n  }`,
  },
  {
    name: 'i_v3_ipv6',
    input: { version: 3, family: 'ipv6', vrid: 63, advertIntervalMs: 1000, addresses: ['fe80::63', '2001:db8::163'], src: 'fe80::ff:fe00:a', dst: 'ff02::12' },
    conf: `version 3\n  virtual_router_id 63\n  virtual_ipaddress {\n    fe80::63/64\n    2001:db8::163/128\n  }`,
  },
  {
    name: 'i_v3_unicast',
    dst: '192.0.2.2',
    input: { version: 3, family: 'ipv4', vrid: 64, advertIntervalMs: 1000, addresses: ['192.0.2.180'], src: '192.0.2.1', dst: '192.0.2.2' },
    conf: `version 3\n  virtual_router_id 64\n  unicast_src_ip 192.0.2.2\n  unicast_peer {\n    192.0.2.1\n  }\n  virtual_ipaddress {\n    192.0.2.180/32\n  }`,
  },
];

test('keepalived 2.2.7 accepts our adverts (v2+PASS, v3 IPv4, v3 IPv6, v3 unicast) and takes over on our priority 0', { skip: !canRun && 'needs root, keepalived and /usr/bin/python3', timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-vrrp-interop-'));
  const cleanup = () => {
    spawnSync('ip', ['netns', 'del', NSA]);
    spawnSync('ip', ['netns', 'del', NSB]);
  };
  cleanup();
  let keepalived: ReturnType<typeof spawn> | null = null;
  try {
    sh('ip', 'netns', 'add', NSA);
    sh('ip', 'netns', 'add', NSB);
    sh('ip', 'link', 'add', 'va', 'netns', NSA, 'type', 'veth', 'peer', 'name', 'vb', 'netns', NSB);
    for (const ns of [NSA, NSB]) {
      sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
      sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    }
    sh('ip', '-n', NSA, 'link', 'set', 'va', 'address', '02:00:00:00:00:0a');
    sh('ip', '-n', NSB, 'link', 'set', 'vb', 'address', '02:00:00:00:00:0b');
    sh('ip', '-n', NSA, 'addr', 'add', '192.0.2.1/24', 'dev', 'va');
    sh('ip', '-n', NSB, 'addr', 'add', '192.0.2.2/24', 'dev', 'vb');
    sh('ip', '-n', NSA, 'link', 'set', 'va', 'up');
    sh('ip', '-n', NSB, 'link', 'set', 'vb', 'up');

    const conf = join(dir, 'keepalived.conf');
    writeFileSync(conf, `global_defs {\n  router_id lvsd-interop\n}\n` + instances.map((i) =>
      `vrrp_instance ${i.name} {\n  state BACKUP\n  interface vb\n  priority 100\n  advert_int 1\n  ${i.conf}\n}\n`).join(''));
    const seen: { at: number; line: string }[] = [];
    const t0 = performance.now();
    keepalived = spawn('ip', ['netns', 'exec', NSB, 'keepalived', '-n', '-l', '-D', '--vrrp', '-f', conf, '-i', 'lvsd-interop',
      '-p', join(dir, 'k.pid'), '-r', join(dir, 'v.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (b: Buffer) => {
      for (const line of b.toString().split('\n')) if (line.trim()) seen.push({ at: performance.now() - t0, line });
    };
    keepalived.stdout!.on('data', onData);
    keepalived.stderr!.on('data', onData);
    const waitFor = async (pred: () => boolean, ms: number) => {
      const end = performance.now() + ms;
      while (!pred() && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
      return pred();
    };
    assert.ok(await waitFor(() => instances.every((i) => seen.some((s) => s.line.includes(`(${i.name}) Entering BACKUP STATE`))), 5000),
      `keepalived did not start:\n${seen.map((s) => s.line).join('\n')}`);

    // Our router: priority 200 every second for 5 s (past keepalived's 3609 ms Master_Down_Interval), then priority 0.
    const jobs: object[] = [];
    for (const i of instances) {
      for (let k = 0; k < 6; k++) {
        jobs.push({ name: i.name, at: k * 1000, family: i.input.family, dst: i.dst ?? (i.input.family === 'ipv4' ? '224.0.0.18' : 'ff02::12'),
          hex: Buffer.from(encodeAdvert({ ...i.input, priority: 200 })).toString('hex') });
      }
      jobs.push({ name: i.name, at: 5500, family: i.input.family, dst: i.dst ?? (i.input.family === 'ipv4' ? '224.0.0.18' : 'ff02::12'),
        hex: Buffer.from(encodeAdvert({ ...i.input, priority: 0 })).toString('hex') });
    }
    // Asynchronously, so keepalived's log lines are timestamped as they come.
    const sender = spawn('ip', ['netns', 'exec', NSA, PY, '-c', SENDER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let firstSentAt = -1;
    let senderErr = '';
    sender.stdout.on('data', () => { if (firstSentAt < 0) firstSentAt = performance.now() - t0; });
    sender.stderr.on('data', (b: Buffer) => { senderErr += b.toString(); });
    sender.stdin.end(JSON.stringify(jobs));
    const code = await new Promise<number | null>((r) => sender.on('exit', r));
    assert.equal(code, 0, senderErr);
    const stopAt = firstSentAt + 5500;
    assert.ok(await waitFor(() => instances.every((i) => seen.some((s) => s.line.includes(`(${i.name}) Entering MASTER STATE`))), 3000),
      `keepalived never took over:\n${seen.map((s) => s.line).join('\n')}`);

    const complaints = seen.filter((s) => /invalid|mismatch|passwd|checksum|wrong/i.test(s.line));
    assert.deepEqual(complaints.map((s) => s.line), [], 'keepalived complained about our packets');
    for (const i of instances) {
      const master = seen.find((s) => s.line.includes(`(${i.name}) Entering MASTER STATE`))!;
      // Not before our priority 0 (it accepted every priority-200 advert), and soon after it:
      // Skew_Time at priority 100 is 609.375 ms (+ keepalived's own latency and the sender's start-up).
      assert.ok(master.at > stopAt - 50, `${i.name} became MASTER at ${master.at.toFixed(0)} ms, before our priority 0 at ~${stopAt.toFixed(0)}`);
      assert.ok(master.at < stopAt + 1500, `${i.name} took ${(master.at - stopAt).toFixed(0)} ms after priority 0`);
      t.diagnostic(`${i.name}: keepalived MASTER ${(master.at - stopAt).toFixed(1)} ms after our priority-0 advert (Skew_Time 609.375)`);
    }
    const addrs = sh('ip', '-n', NSB, 'addr', 'show', 'dev', 'vb');
    for (const a of ['192.0.2.161', '192.0.2.162', '192.0.2.170', '2001:db8::163', '192.0.2.180']) assert.ok(addrs.includes(a), `${a} missing on keepalived's side`);
  } finally {
    if (keepalived?.pid) {
      keepalived.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
    }
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
