// Metrics: the strict exposition reader (against the Prometheus documentation's own example), and the
// registry rendered from real lvsd objects: a Balancer running real TCP checks on this machine, a
// VrrpInstance driven through its state machine, an IPVS table as the kernel dumps it. Every scrape is
// parsed strictly, so a format error anywhere fails the test that produced it.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../../src/config/index.js';
import type { LvsdConfig } from '../../src/config/model.js';
import { Balancer } from '../../src/balancer/balancer.js';
import { VrrpInstance } from '../../vrrp/instance.js';
import { newDropCounters } from '../../vrrp/socket.js';
import { createRegistry, startMetrics, ALL_SPECS, IpvsStatsCache } from '../../src/metrics/index.js';
import { ExpositionError, parseExposition, sampleValue, samplesOf, type ParsedFamily } from '../../src/metrics/exposition.js';
import { zeroStats } from '../../ipvs/stats.js';
import type { IpvsKernelTable } from '../../ipvs/table.js';

function config(yaml: string): LvsdConfig {
  const r = parseConfig(yaml, 'test.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

describe('exposition reader', () => {
  test('reads the example of the Prometheus text format documentation', () => {
    // From prometheus.io "Exposition formats" (text format example), abridged.
    const text = [
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# Escaping in label values:',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      '',
      '# Minimalistic line:',
      'metric_without_timestamp_and_labels 12.47',
      '',
      '# A weird metric from before the epoch:',
      'something_weird{problem="division by zero"} +Inf -3982045',
      '',
      '# A histogram, which has a pretty complex representation in the text format:',
      '# HELP http_request_duration_seconds A histogram of the request duration.',
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_bucket{le="0.05"} 24054',
      'http_request_duration_seconds_bucket{le="0.1"} 33444',
      'http_request_duration_seconds_bucket{le="0.2"} 100392',
      'http_request_duration_seconds_bucket{le="0.5"} 129389',
      'http_request_duration_seconds_bucket{le="1"} 133988',
      'http_request_duration_seconds_bucket{le="+Inf"} 144320',
      'http_request_duration_seconds_sum 53423',
      'http_request_duration_seconds_count 144320',
      '',
    ].join('\n');
    const f = parseExposition(text);
    assert.equal(sampleValue(f, 'http_requests_total', { code: '400' }), 3);
    assert.equal(samplesOf(f, 'msdos_file_access_time_seconds')[0]!.labels.error, 'Cannot find file:\n"FILE.TXT"');
    assert.equal(samplesOf(f, 'msdos_file_access_time_seconds')[0]!.labels.path, 'C:\\DIR\\FILE.TXT');
    assert.equal(sampleValue(f, 'something_weird'), Infinity);
    assert.equal(f.get('http_request_duration_seconds')!.type, 'histogram');
    assert.equal(f.get('http_request_duration_seconds')!.samples.length, 8);
  });

  test('refuses what a scraper would refuse', () => {
    const bad: [string, RegExp][] = [
      ['a{b="c} 1\n', /unterminated/],
      ['a{b="\\x"} 1\n', /bad escape/],
      ['a 1\na 2\n', /given twice/],
      ['a 1\nb 1\na{x="1"} 1\n', /not together/],
      ['a one\n', /not a number/],
      ['a 1\n# TYPE a gauge\n', /after its samples/],
      ['# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="+Inf"} 4\nh_count 4\nh_sum 1\n', /not cumulative/],
      ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 4\nh_count 5\nh_sum 1\n', /differs from _count/],
      ['a 1', /newline/],
    ];
    for (const [text, why] of bad) assert.throws(() => parseExposition(text), (e: unknown) => e instanceof ExpositionError && why.test(e.message), text);
  });
});

async function scrape(source: Parameters<typeof createRegistry>[0]) {
  const { registry } = createRegistry(source, { processMetrics: false });
  return parseExposition(await registry.metrics());
}

describe('registry', () => {
  const servers: Server[] = [];
  after(() => { for (const s of servers) s.close(); });

  test('every spec is registered once, with a valid name, and lvsd_ or keepalived_ prefix', async () => {
    const names = new Set(ALL_SPECS.map((s) => s.name));
    assert.equal(names.size, ALL_SPECS.length);
    for (const s of ALL_SPECS) assert.match(s.name, /^(lvsd|keepalived)_[a-z0-9_]+$/);
    const { registry } = createRegistry({ config: undefined });
    const families = parseExposition(await registry.metrics());
    for (const s of ALL_SPECS) assert.equal(families.get(s.name)?.type, s.type, s.name);
    assert.ok(families.has('process_cpu_user_seconds_total'), 'prom-client process metrics');
    assert.ok(families.has('nodejs_eventloop_lag_seconds'));
  });

  test('daemon facts: reloads, config hash, start time, version', async () => {
    const started = new Date('2026-01-02T03:04:05Z');
    const f = await scrape({ config: config('global: {router_id: dir1}\n'), reloads: { success: 3, failure: 1 }, configHash: 'ab'.repeat(32), startedAt: started, faults: { uncaught: 2 } });
    assert.equal(sampleValue(f, 'lvsd_reloads_total', { result: 'success' }), 3);
    assert.equal(sampleValue(f, 'lvsd_reloads_total', { result: 'failure' }), 1);
    assert.equal(sampleValue(f, 'lvsd_config_info', { sha256: 'ab'.repeat(32) }), 1);
    assert.equal(sampleValue(f, 'lvsd_start_time_seconds'), started.getTime() / 1000);
    assert.equal(sampleValue(f, 'lvsd_info', { router_id: 'dir1' }), 1);
    assert.equal(sampleValue(f, 'lvsd_faults_total', { kind: 'uncaught' }), 2);
  });

  test('getters are read on every scrape (a reload that swaps objects is picked up)', async () => {
    const daemon = { config: config('global: {}\n'), reloads: { success: 0, failure: 0 }, configHash: 'one' };
    const { registry } = createRegistry(daemon, { processMetrics: false });
    assert.equal(sampleValue(parseExposition(await registry.metrics()), 'lvsd_config_info', { sha256: 'one' }), 1);
    daemon.configHash = 'two';
    daemon.reloads = { success: 1, failure: 0 };
    const f = parseExposition(await registry.metrics());
    assert.equal(sampleValue(f, 'lvsd_config_info', { sha256: 'two' }), 1);
    assert.equal(sampleValue(f, 'lvsd_config_info', { sha256: 'one' }), undefined);
    assert.equal(sampleValue(f, 'lvsd_reloads_total', { result: 'success' }), 1);
  });

  test('checks and real servers from a Balancer running real TCP checks', async () => {
    const open = createServer((s) => s.destroy());
    servers.push(open);
    await new Promise<void>((r) => open.listen(0, '127.0.0.1', r));
    const upPort = (open.address() as AddressInfo).port;
    // A port nobody listens on: bind and close one to get it.
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const downPort = (tmp.address() as AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    const cfg = config(`
checks:
  - {name: tcp-fast, type: tcp, interval: 1h, timeout: 1s, retries: 1, warmup: 1h}
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    checks: [tcp-fast]
    quorum: {min: 2}
    real_servers:
      - {address: "127.0.0.1:${upPort}", weight: 4}
      - {address: "127.0.0.1:${downPort}", weight: 6}
`);
    const b = new Balancer(cfg, { sync: { apply: async () => ({ writes: 0, errors: [] } as never) }, cleanupOnStop: false });
    await b.start();
    for (const inst of b.runner.instances.values()) await b.runner.run(inst);
    await new Promise((r) => setImmediate(r));
    try {
      const f = await scrape({ config: cfg, balancer: b });
      const up = { check: 'tcp-fast', type: 'tcp', target: `127.0.0.1:${upPort}` };
      const down = { check: 'tcp-fast', type: 'tcp', target: `127.0.0.1:${downPort}` };
      assert.equal(sampleValue(f, 'lvsd_check_up', up), 1);
      assert.equal(sampleValue(f, 'lvsd_check_up', down), 0);
      assert.equal(sampleValue(f, 'lvsd_check_probes_total', up), 1);
      assert.equal(sampleValue(f, 'lvsd_check_consecutive_failures', down), 1);
      assert.equal(sampleValue(f, 'lvsd_check_results_total', { reason: 'ok' }), 1);
      assert.equal(sampleValue(f, 'lvsd_check_results_total', { reason: 'connection refused' }), 1);
      assert.equal(sampleValue(f, 'lvsd_check_duration_seconds_count', { type: 'tcp' }), 2);
      assert.equal(sampleValue(f, 'lvsd_check_duration_seconds_bucket', { type: 'tcp', le: '+Inf' }), 2);
      assert.ok(sampleValue(f, 'lvsd_check_duration_seconds_sum', { type: 'tcp' })! > 0);
      assert.equal(sampleValue(f, 'lvsd_real_server_up', { service: 'web', server: `127.0.0.1:${upPort}` }), 1);
      assert.equal(sampleValue(f, 'lvsd_real_server_up', { service: 'web', server: `127.0.0.1:${downPort}` }), 0);
      assert.equal(sampleValue(f, 'lvsd_real_server_weight', { service: 'web', server: `127.0.0.1:${upPort}` }), 4);
      assert.equal(sampleValue(f, 'lvsd_real_server_transitions_total', { change: 'down', reason: 'connection refused' }), 1);
      assert.equal(sampleValue(f, 'lvsd_virtual_service_quorum', { service: 'web' }), 1, 'live weight 4 >= min 2');
    } finally {
      await b.stop();
    }
  });

  test('VRRP: a real VrrpInstance through backup -> master -> shutdown', async () => {
    const cfg = config(`
vrrp_instances:
  - {name: VI_1, interface: eth9, vrid: 51, priority: 100, advert_interval: 1s, virtual_ips: ["192.0.2.100/24", {address: "198.51.100.1/32", device: eth8}], garp: {delay: 2s}}
`);
    const drops = newDropCounters();
    const channel = { handlers: new Map(), send: () => {}, drops, received: 0, opts: { ifname: 'eth9', family: 'ipv4' as const } };
    const rtnl = { addAddress: async () => {}, removeAddress: async () => {} };
    const noLink = { ifindex: 0x7ffffff0, mac: '02:00:00:00:00:01' }; // no such interface: the GARP socket fails to bind, logged
    const inst = new VrrpInstance(cfg.vrrp_instances[0]!, {
      rtnl: rtnl as never, channel: channel as never, link: noLink, deviceLink: () => noLink,
      primaryAddress: '192.0.2.1', ownAddresses: ['192.0.2.1'], log: () => {}, onState: () => {},
    });
    const engine = { instances: new Map([['VI_1', inst]]), channels: new Map([['eth9/ipv4', channel]]) };
    const source = { config: cfg, engine };
    const { registry } = createRegistry(source, { processMetrics: false });
    const read = async () => parseExposition(await registry.metrics());
    const labels = { vrrp_instance: 'VI_1', interface: 'eth9', vrid: '51', family: 'ipv4' };
    try {
      let f = await read(); // first scrape starts observing the instance
      assert.equal(sampleValue(f, 'lvsd_vrrp_state', { ...labels, state: 'initialize' }), 1);
      inst.handle({ type: 'startup' });
      // A master at priority 150 advertises; this backup learns its address.
      inst.handle({ type: 'advert', priority: 150, advertIntervalMs: 1000, src: '192.0.2.2' });
      drops.ttl_invalid = 2;
      drops.too_short = 1;
      channel.received = 7;
      inst.counters.drops.auth_failure = 4;
      f = await read();
      assert.equal(sampleValue(f, 'lvsd_vrrp_state', { ...labels, state: 'backup' }), 1);
      assert.equal(sampleValue(f, 'lvsd_vrrp_state', { ...labels, state: 'master' }), 0);
      assert.equal(sampleValue(f, 'lvsd_vrrp_master_info', labels), 1);
      assert.equal(samplesOf(f, 'lvsd_vrrp_master_info', labels)[0]!.labels.master, '192.0.2.2');
      assert.equal(sampleValue(f, 'lvsd_vrrp_transitions_total', { ...labels, from: 'initialize', to: 'backup' }), 1);
      assert.equal(sampleValue(f, 'keepalived_vrrp_state', { iname: 'VI_1', intf: 'eth9', vrid: '51', ip_address: '192.0.2.100/24' }), 1);
      assert.equal(sampleValue(f, 'keepalived_vrrp_state', { iname: 'VI_1', intf: 'eth8', vrid: '51', ip_address: '198.51.100.1/32' }), 1);
      assert.equal(sampleValue(f, 'lvsd_vrrp_packets_dropped_total', { interface: 'eth9', vrrp_instance: '', reason: 'ttl_invalid' }), 2);
      assert.equal(sampleValue(f, 'lvsd_vrrp_packets_dropped_total', { vrrp_instance: 'VI_1', reason: 'auth_failure' }), 4);
      assert.equal(sampleValue(f, 'lvsd_vrrp_packets_received_total', { interface: 'eth9' }), 7);
      const ka = { iname: 'VI_1', intf: 'eth9', vrid: '51', state: 'BACKUP' };
      assert.equal(sampleValue(f, 'keepalived_ip_ttl_errors_total', ka), 2);
      assert.equal(sampleValue(f, 'keepalived_packet_length_errors_total', ka), 1);
      assert.equal(sampleValue(f, 'keepalived_authentication_failure_total', ka), 4);
      assert.equal(sampleValue(f, 'keepalived_gratuitous_arp_delay_total', ka), 2);

      // Master_Down_Timer expires: MASTER, adverts go out.
      inst.handle({ type: 'timer' }, performance.now() + 10_000);
      f = await read();
      assert.equal(sampleValue(f, 'lvsd_vrrp_state', { ...labels, state: 'master' }), 1);
      assert.equal(samplesOf(f, 'lvsd_vrrp_master_info', labels)[0]!.labels.master, '192.0.2.1', 'its own address');
      assert.equal(sampleValue(f, 'lvsd_vrrp_became_master_total', labels), 1);
      assert.equal(sampleValue(f, 'keepalived_become_master_total', { iname: 'VI_1', state: 'MASTER' }), 1);
      assert.equal(sampleValue(f, 'keepalived_vrrp_state', { iname: 'VI_1', ip_address: '192.0.2.100/24' }), 2);
      assert.ok(sampleValue(f, 'lvsd_vrrp_adverts_sent_total', labels)! >= 1);
      assert.equal(sampleValue(f, 'lvsd_vrrp_priority', labels), 100);

      await inst.stop(); // priority-0 advert, leaves MASTER
      f = await read();
      assert.equal(sampleValue(f, 'lvsd_vrrp_priority_zero_sent_total', labels), 1);
      assert.equal(sampleValue(f, 'lvsd_vrrp_released_master_total', labels), 1);
      assert.equal(sampleValue(f, 'keepalived_release_master_total', { iname: 'VI_1' }), 1);
      assert.equal(sampleValue(f, 'lvsd_vrrp_transitions_total', { ...labels, from: 'master', to: 'initialize' }), 1);
    } finally {
      await inst.stop();
    }
  });

  test('IPVS: kernel counters per service and destination, named after the config', async () => {
    const cfg = config(`
virtual_services:
  - {name: web, address: "192.0.2.10:80", forwarding: nat, real_servers: [{address: "10.0.1.11:80"}]}
`);
    const stats = (conns: bigint) => ({ ...zeroStats(), conns, inpkts: conns * 10n, outpkts: conns * 9n, inbytes: conns * 1000n, outbytes: 2n ** 40n });
    const table: IpvsKernelTable = [
      { service: { af: 2, protocol: 6, addr: '192.0.2.10', port: 80, fwmark: 0, schedName: 'wlc', flags: 2, timeout: 0, netmask: 0xffffffff, peName: '', stats: stats(5n) },
        dests: [{ addrFamily: 2, addr: '10.0.1.11', port: 80, fwdMethod: 0, weight: 3, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0,
          activeConns: 2, inactConns: 1, persistConns: 0, stats: stats(5n) }] },
      { service: { af: 10, protocol: 17, addr: '2001:db8::1', port: 53, fwmark: 0, schedName: 'rr', flags: 2, timeout: 0, netmask: 128, peName: '', stats: stats(1n) },
        dests: [{ addrFamily: 10, addr: '2001:db8::2', port: 53, fwdMethod: 3, weight: 1, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0,
          activeConns: 0, inactConns: 4, persistConns: 0, stats: stats(1n) }] },
      { service: { af: 2, protocol: 0, addr: '', port: 0, fwmark: 42, schedName: 'rr', flags: 2, timeout: 0, netmask: 0xffffffff, peName: '', stats: stats(0n) }, dests: [] },
    ];
    let reads = 0;
    const source = { config: cfg, ipvs: { table: async () => { reads++; return table; } } };
    const f = await scrape(source);
    assert.equal(reads, 1);
    // The server's fast path prints the same families, samples and values as prom-client's formatter.
    const both = createRegistry(source, { processMetrics: false, ipvsCacheMs: 0 });
    const norm = (m: Map<string, ParsedFamily>) => [...m.values()].filter((x) => x.name !== 'lvsd_ipvs_read_duration_seconds').map((x) => ({ ...x, samples: [...x.samples].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) }));
    assert.deepEqual(norm(parseExposition(await both.render())), norm(parseExposition(await both.registry.metrics())));
    const web = { service: 'web', vip: '192.0.2.10:80', protocol: 'tcp' };
    assert.equal(sampleValue(f, 'lvsd_ipvs_up'), 1);
    assert.equal(sampleValue(f, 'lvsd_ipvs_services'), 3);
    assert.equal(sampleValue(f, 'lvsd_ipvs_service_connections_total', web), 5);
    assert.equal(sampleValue(f, 'lvsd_ipvs_service_out_bytes_total', web), 2 ** 40);
    assert.equal(sampleValue(f, 'lvsd_ipvs_destination_active_connections', { ...web, server: '10.0.1.11:80' }), 2);
    assert.equal(sampleValue(f, 'lvsd_ipvs_destination_inactive_connections', { ...web, server: '10.0.1.11:80' }), 1);
    assert.equal(sampleValue(f, 'lvsd_ipvs_destination_in_packets_total', { ...web, server: '10.0.1.11:80' }), 50);
    assert.equal(sampleValue(f, 'lvsd_ipvs_destination_weight', { ...web, server: '10.0.1.11:80' }), 3);
    // A service lvsd does not manage keeps an empty name; IPv6 endpoints are bracketed; fwmark services by mark.
    assert.equal(sampleValue(f, 'lvsd_ipvs_destination_inactive_connections', { service: '', vip: '[2001:db8::1]:53', protocol: 'udp', server: '[2001:db8::2]:53' }), 4);
    assert.equal(sampleValue(f, 'lvsd_ipvs_service_connections_total', { vip: 'fwmark:42', protocol: '' }), 0);
    // gen2brain/keepalived_exporter labels: addr "IP:port" unbracketed, proto the protocol number.
    assert.equal(sampleValue(f, 'keepalived_lvs_vip_conn', { addr: '192.0.2.10:80', proto: '6' }), 5);
    assert.equal(sampleValue(f, 'keepalived_lvs_rs_in_bytes', { addr: '10.0.1.11:80', proto: '6' }), 5000);
    assert.equal(sampleValue(f, 'keepalived_lvs_rs_conn', { addr: '2001:db8::2:53', proto: '17' }), 1);
  });

  test('a part that throws is reported and logged; the other parts still answer', async () => {
    const logged: string[] = [];
    const broken = { runner: { instances: new Map(), counters: { byReason: new Map(), durations: new Map() } }, transitions: new Map(),
      serverStates: () => { throw new Error('half-reloaded'); }, quorumState: () => [] };
    const { registry } = createRegistry({ config: config('global: {}\n'), balancer: broken as never, reloads: { success: 2, failure: 0 } },
      { processMetrics: false, log: (m) => logged.push(m) });
    const f = parseExposition(await registry.metrics());
    assert.equal(sampleValue(f, 'lvsd_metrics_collect_errors', { part: 'checks' }), 1);
    assert.equal(sampleValue(f, 'lvsd_reloads_total', { result: 'success' }), 2);
    assert.match(logged.join('\n'), /collecting checks failed: half-reloaded/);
  });

  test('IPVS read failure: lvsd_ipvs_up 0, no table series, other parts unaffected', async () => {
    const f = await scrape({ config: config('global: {}\n'), reloads: { success: 1, failure: 0 }, ipvs: { table: async () => { throw new Error('EPERM'); } } });
    assert.equal(sampleValue(f, 'lvsd_ipvs_up'), 0);
    assert.equal(samplesOf(f, 'lvsd_ipvs_service_connections_total').length, 0);
    assert.equal(sampleValue(f, 'lvsd_reloads_total', { result: 'success' }), 1);
  });
});

describe('IPVS stats cache', () => {
  test('one read per TTL; concurrent scrapes share the read in flight; errors are cached too', async () => {
    let now = 0;
    let reads = 0;
    let fail = false;
    let release: () => void = () => {};
    const reader = { table: () => { reads++; return new Promise<IpvsKernelTable>((res, rej) => { release = () => (fail ? rej(new Error('boom')) : res([])); }); } };
    const cache = new IpvsStatsCache(() => reader, 1000, () => now);
    const a = cache.read();
    const b = cache.read();
    release();
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(reads, 1);
    assert.equal(ra, rb);
    now = 999;
    await cache.read();
    assert.equal(reads, 1, 'still fresh');
    now = 1000;
    fail = true;
    const c = cache.read();
    release();
    assert.equal((await c).error?.message, 'boom');
    assert.equal(reads, 2);
    await cache.read();
    assert.equal(reads, 2, 'the failure is cached for the TTL as well');
    cache.invalidate();
    fail = false;
    const d = cache.read();
    release();
    await d;
    assert.equal(reads, 3);
  });
});

describe('HTTP endpoint', () => {
  const get = (port: number, path: string, method = 'GET') => new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });

  test('GET /metrics answers the registry as Prometheus text; other paths and methods are refused', async () => {
    const m = await startMetrics({ daemon: { config: config('global: {}\n'), configHash: 'x', reloads: { success: 0, failure: 0 } }, listen: { kind: 'tcp', address: '127.0.0.1', port: 0, family: 4 } as never });
    try {
      const port = (m.address as AddressInfo).port;
      const r = await get(port, '/metrics');
      assert.equal(r.status, 200);
      assert.match(r.type, /^text\/plain; version=0\.0\.4/);
      const f = parseExposition(r.body);
      assert.equal(sampleValue(f, 'lvsd_config_info', { sha256: 'x' }), 1);
      assert.ok(f.has('process_resident_memory_bytes'));
      assert.equal((await get(port, '/nope')).status, 404);
      assert.equal((await get(port, '/metrics', 'POST')).status, 405);
      assert.equal((await get(port, '/')).status, 200);
    } finally {
      await m.close();
    }
  });

  test('a port in use is a startup error, not a crash', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const port = (busy.address() as AddressInfo).port;
      await assert.rejects(startMetrics({ daemon: { config: undefined }, listen: { kind: 'tcp', address: '127.0.0.1', port, family: 4 } as never }), /EADDRINUSE/);
    } finally {
      busy.close();
    }
  });
});
