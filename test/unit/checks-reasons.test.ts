// Issue #16: each new check's failure reason reaches what an operator reads, `lvsd status` (the status
// the control API builds and the CLI renders) and the metrics (lvsd_check_results_total by reason). The
// probes run for real against servers on the loopback: a closed UDP port (the kernel's ICMP port
// unreachable), a DNS responder answering SERVFAIL, an SMTP listener greeting 421, an HTTP server whose
// second URL answers 503. The lab tests (test/integration/checks-*.test.ts) run the same checks against
// Debian's servers and judge the IPVS table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { parseConfig } from '../../src/config/index.js';
import { Balancer } from '../../src/balancer/balancer.js';
import { buildStatus, renderStatus } from '../../src/control/status.js';
import type { ControlTarget } from '../../src/control/target.js';
import { collectChecks } from '../../src/metrics/checks.js';
import type { Samples } from '../../src/metrics/family.js';
import type { IndexedTable } from '../../ipvs/reconcile.js';
import type { ApplyReport } from '../../ipvs/sync.js';

const sink = { async apply(_d: IndexedTable): Promise<ApplyReport> { return { writes: 0, rounds: 1, reread: false, errors: [] }; } };
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the reasons of udp, dns, smtp and http(urls) failures in lvsd status and in lvsd_check_results_total', async (t) => {
  // A UDP port nobody listens on: bound, then closed.
  const closed = createSocket('udp4');
  await new Promise<void>((r) => closed.bind(0, '127.0.0.1', r));
  const udpPort = (closed.address() as AddressInfo).port;
  closed.close();
  // DNS: the query sent back as a response with RCODE 2 (SERVFAIL), RFC 1035 §4.1.1.
  const dns = createSocket('udp4');
  dns.on('message', (q, rinfo) => {
    const r = Buffer.from(q);
    r[2] = 0x81; r[3] = 0x82; // QR, RD; RA, RCODE 2
    dns.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => dns.bind(0, '127.0.0.1', r));
  const smtp = createTcpServer((c) => { c.end('421 4.3.2 busy, try later\r\n'); });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const http = createHttpServer((req, res) => { res.statusCode = req.url === '/down' ? 503 : 200; res.end('ok'); });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.after(() => { dns.close(); smtp.close(); http.close(); });
  const port = (s: { address(): AddressInfo | string | null }) => (s.address() as AddressInfo).port;

  const parsed = parseConfig(`
checks:
  - {name: u, type: udp, payload: ping, interval: 100ms, timeout: 500ms}
  - {name: d, type: dns, query: example.org, query_type: A, interval: 100ms, timeout: 500ms}
  - {name: m, type: smtp, interval: 100ms, timeout: 500ms}
  - {name: h, type: http, urls: [{path: /}, {path: /down}], interval: 100ms, timeout: 500ms}
virtual_services:
  - {name: udp, address: "192.0.2.10:7", protocol: udp, checks: [u], forwarding: nat, real_servers: [{address: "127.0.0.1:${udpPort}"}]}
  - {name: dns, address: "192.0.2.10:53", protocol: udp, checks: [d], forwarding: nat, real_servers: [{address: "127.0.0.1:${port(dns)}"}]}
  - {name: mail, address: "192.0.2.10:25", checks: [m], forwarding: nat, real_servers: [{address: "127.0.0.1:${port(smtp)}"}]}
  - {name: web, address: "192.0.2.10:80", checks: [h], forwarding: nat, real_servers: [{address: "127.0.0.1:${port(http)}"}]}
`, 'reasons.yaml');
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
  if (!parsed.ok) return;
  const bal = new Balancer(parsed.config, { sync: sink });
  t.after(() => bal.stop());
  await bal.start();
  const want = { udp: /^ICMP port unreachable$/, dns: /^RCODE SERVFAIL/, mail: /^banner 421/, web: /^\/down: status 503/ };
  let st: Awaited<ReturnType<typeof buildStatus>> | undefined;
  const target: ControlTarget = { config: parsed.config, balancer: bal as unknown as ControlTarget['balancer'], reload: async () => ({}), reloads: { success: 0, failure: 0 }, configHash: '', startedAt: Date.now() };
  for (let i = 0; i < 50; i++) {
    st = await buildStatus(target);
    if (Object.entries(want).every(([n, re]) => re.test(st!.services.find((s) => s.name === n)?.servers[0]?.reason ?? ''))) break;
    await wait(100);
  }
  for (const [n, re] of Object.entries(want)) {
    const s = st!.services.find((x) => x.name === n)!.servers[0]!;
    assert.equal(s.up, false, `${n} down`);
    assert.match(s.reason ?? '', re, n);
  }
  const text = renderStatus(st!);
  for (const re of [/DOWN +ICMP port unreachable\n/, /DOWN +RCODE SERVFAIL\n/, /DOWN +banner 421 \(got '4\.3\.2 busy, try later'\)\n/, /DOWN +\/down: status 503\n/]) assert.match(text, re);
  const samples: Samples = new Map();
  collectChecks(bal, samples);
  const reasons = (samples.get('lvsd_check_results_total') ?? []).map((s) => s.labels.reason);
  for (const r of ['ICMP port unreachable', 'RCODE SERVFAIL', 'banner 421', '/down: status 503']) assert.ok(reasons.includes(r), `${r} in ${JSON.stringify(reasons)}`);
});
