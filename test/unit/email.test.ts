// Email alerts (keepalived smtp_alert): the config, keepalived's rules for who mails, the messages, and
// the sender's bounds (queue, deadline, rate limit), the last against nodemailer and a relay that never answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { formatIssue, parseConfig, type LvsdConfig } from '../../src/config/index.js';
import { alertPolicy, groupState, headerText, realServerAlert, SubjectRateLimit, virtualServerAlert, vrrpInstanceAlert } from '../../src/notify/alerts.js';
import { EmailNotifier, QUEUE_MAX, type MailTransport } from '../../src/notify/email.js';
import { EmailAlerter } from '../../src/notify/alerter.js';

function config(text: string): LvsdConfig {
  const r = parseConfig(text, 't.yaml');
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  return r.config;
}
function errors(text: string): string[] {
  const r = parseConfig(text, 't.yaml');
  assert.ok(!r.ok, 'expected errors');
  return r.errors.map(formatIssue);
}

const EMAIL = 'global:\n  email: {to: [ops@example.com], smtp_server: "10.0.0.25"%EXTRA%}\n';
const PAIR = `vrrp_instances:
  - {name: VI_1, interface: eth0, vrid: 51, virtual_ips: [192.0.2.10/24]%I1%}
  - {name: VI_2, interface: eth1, vrid: 52, virtual_ips: [10.0.1.1/24]}
vrrp_sync_groups:
  - {name: G, instances: [VI_1, VI_2]%G%}
virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    real_servers: [{address: "10.0.1.11:80"}, {address: "10.0.1.12:80"%RS%}]%VS%
`;
const file = (o: { extra?: string; i1?: string; g?: string; rs?: string; vs?: string; email?: boolean }) =>
  (o.email === false ? '' : EMAIL.replace('%EXTRA%', o.extra ?? '')) +
  PAIR.replace('%I1%', o.i1 ?? '').replace('%G%', o.g ?? '').replace('%RS%', o.rs ?? '').replace('%VS%', o.vs ?? '');
const name = (vs: LvsdConfig['virtual_services'][number], i: number) => `${vs.real_servers[i]!.address.address}:80`;

test('config: keepalived defaults (port 25, 30 s, no alerts unless asked) and the spellings of smtp_server', () => {
  const c = config(file({}));
  assert.deepEqual(c.global.email, { to: ['ops@example.com'], smtp_server: { host: '10.0.0.25', port: 25 }, connect_timeout: 30_000, starttls: 'if_offered', vrrp_alerts: false, check_alerts: false });
  for (const [text, host, port] of [['mail.example.com', 'mail.example.com', 25], ['mail.example.com:587', 'mail.example.com', 587], ['[2001:db8::25]:2525', '2001:db8::25', 2525], ['2001:db8::25', '2001:db8::25', 25]] as const) {
    assert.deepEqual(config(`global:\n  email: {to: [a@b.c], smtp_server: "${text}"}\n`).global.email?.smtp_server, { host, port }, text);
  }
});

test('lvsd check: bad addresses, servers and email_alerts without global.email are refused at their line', () => {
  assert.deepEqual(errors('global:\n  email: {to: ["ops@example.com\\r\\nBcc: x@evil"], smtp_server: "10.0.0.25:0"}\n'), [
    "t.yaml:2:16: global.email.to[0]: 'ops@example.com\\r\\nBcc: x@evil' is not a plain email address (local@domain, no spaces, names or angle brackets)",
    "t.yaml:2:64: global.email.smtp_server: '10.0.0.25:0' is not host, host:port or [IPv6]:port (port 1-65535, default 25)",
  ]);
  const e = errors(file({ email: false, i1: ', email_alerts: true', rs: ', email_alerts: true' }));
  assert.equal(e.length, 2);
  assert.match(e[0]!, /^t\.yaml:2:\d+: vrrp_instances\[0\]\.email_alerts: email alerts need global\.email/);
  assert.match(e[1]!, /^t\.yaml:\d+:\d+: virtual_services\[0\]\.real_servers\[1\]\.email_alerts: email alerts need global\.email/);
  assert.match(errors('global_defs:\n  smtp_alert: true\n')[0]!, /write 'global'/);
  assert.match(errors('global:\n  smtp_server: 10.0.0.25\n')[0]!, /write 'email: \{smtp_server: \.\.\.\}'/);
  assert.match(errors(file({ i1: ', smtp_alert: true' }))[0]!, /write 'email_alerts'/);
});

test('who mails: the object\'s email_alerts, else the global switch of its kind, as keepalived resolves smtp_alert', () => {
  let p = alertPolicy(config(file({})), name);
  assert.deepEqual([...p.instances], []);
  assert.equal(p.servers('web', '10.0.1.11:80'), false);
  p = alertPolicy(config(file({ extra: ', vrrp_alerts: true', i1: ', email_alerts: false' })), name);
  assert.deepEqual([...p.instances], ['VI_2']);
  assert.deepEqual([...p.groups.keys()], ['G']);
  assert.equal(p.servers('web', '10.0.1.11:80'), false, 'vrrp_alerts says nothing about checks');
  p = alertPolicy(config(file({ vs: '\n    email_alerts: true', rs: ', email_alerts: false' })), name);
  assert.equal(p.servers('web', '10.0.1.11:80'), true, 'a real server inherits its virtual service');
  assert.equal(p.servers('web', '10.0.1.12:80'), false);
  p = alertPolicy(config(file({ extra: ', check_alerts: true', g: ', email_alerts: true' })), name);
  assert.equal(p.servers('web', '10.0.1.12:80'), true);
  assert.deepEqual([...p.instances], []);
  assert.deepEqual([...p.groups.keys()], ['G']);
});

test('messages: keepalived\'s subjects and bodies; nothing echoed can break a header line', () => {
  assert.deepEqual(vrrpInstanceAlert('lb1', 'VI_1', 'master'), { subject: '[lb1] VRRP Instance VI_1 - Entering MASTER state', body: '=> VRRP Instance is now owning VRRP VIPs <=' });
  assert.deepEqual(vrrpInstanceAlert('lb1', 'VI_1', 'backup'), { subject: '[lb1] VRRP Instance VI_1 - Entering BACKUP state', body: '=> VRRP Instance is no longer owning VRRP VIPs <=' });
  assert.equal(vrrpInstanceAlert('lb1', 'VI_1', 'initialize'), undefined);
  const m = realServerAlert('lb1\r\nBcc: x@evil', 'web', '10.0.1.11:80', false, 'status 503\r\n\r\n<html>');
  assert.equal(m.subject, '[lb1 Bcc: x@evil] Realserver 10.0.1.11:80 of virtual server web - DOWN');
  assert.ok(!/[\r\n]/.test(m.subject));
  assert.equal(m.body, '=> CHECK failed on service: status 503\n\n<html> <=');
  assert.equal(headerText('x'.repeat(5000)).length, 200);
  assert.equal(headerText('a\u2028b\u0085c'), 'a b c');
});

test('a sync group mails once all its instances share the new state', () => {
  const states = new Map([['VI_1', 'master']]);
  assert.equal(groupState(['VI_1', 'VI_2'], states), undefined);
  states.set('VI_2', 'backup');
  assert.equal(groupState(['VI_1', 'VI_2'], states), undefined);
  states.set('VI_2', 'master');
  assert.equal(groupState(['VI_1', 'VI_2'], states), 'master');
});

test('rate limit per subject: 5 a minute, others unaffected, the window slides', () => {
  const r = new SubjectRateLimit(5, 60_000);
  for (let i = 0; i < 5; i++) assert.ok(r.allow('a', i));
  assert.equal(r.allow('a', 10), false);
  assert.ok(r.allow('b', 10));
  assert.ok(r.allow('a', 60_001));
});

interface Sent { subject: string; text: string; to: string[]; from: string }
function fakeTransport(behave: (m: Sent) => Promise<unknown>) {
  const sent: Sent[] = [];
  let closes = 0;
  const factory = (): MailTransport => ({ sendMail: (m) => { sent.push(m); return behave(m); }, close: () => { closes++; } });
  return { sent, factory, closes: () => closes };
}
const emailCfg = (over: Partial<NonNullable<LvsdConfig['global']['email']>> = {}): NonNullable<LvsdConfig['global']['email']> => ({
  to: ['ops@example.com'], smtp_server: { host: '127.0.0.1', port: 25 }, connect_timeout: 100, starttls: 'never', vrrp_alerts: true, check_alerts: true, ...over,
});
const quiet = () => {};

test('the queue is bounded: a relay that never answers costs one message in flight and QUEUE_MAX waiting, the rest dropped', async () => {
  const t = fakeTransport(() => new Promise(() => {}));
  const n = new EmailNotifier(emailCfg({ connect_timeout: 60_000 }), { log: quiet, transport: t.factory, rateLimit: new SubjectRateLimit(1000) });
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) n.enqueue({ subject: `s${i}`, body: 'b' });
  assert.ok(performance.now() - t0 < 200, 'enqueue does not wait for the relay');
  assert.equal(n.queued, QUEUE_MAX + 1);
  assert.equal(n.counters.dropped, 200 - QUEUE_MAX - 1);
  n.close();
  assert.equal(n.counters.dropped, 199);
});

test('each send has a deadline; a failing relay is counted and the next message still goes', async () => {
  let calls = 0;
  const t = fakeTransport(() => (++calls === 1 ? new Promise(() => {}) : calls === 2 ? Promise.reject(new Error('550 no\r\nInjected: yes')) : Promise.resolve({})));
  const logs: string[] = [];
  const n = new EmailNotifier(emailCfg(), { log: (_l, m) => logs.push(m), transport: t.factory });
  const t0 = performance.now();
  n.enqueue({ subject: 'a', body: 'x\ny' });
  n.enqueue({ subject: 'b', body: 'x' });
  n.enqueue({ subject: 'c', body: 'x' });
  await n.flushed();
  const ms = performance.now() - t0;
  assert.ok(ms >= 290 && ms < 5000, `${ms} ms: the hung send ends at 3 x connect_timeout`);
  assert.deepEqual(n.counters, { sent: 1, failed: 2, dropped: 0, rate_limited: 0 });
  assert.equal(t.sent[0]!.text, 'x\r\ny');
  assert.ok(logs.every((l) => !/[\r\n]/.test(l)), 'a relay\'s reply is logged on one line');
  assert.equal(n.counters.sent, 1);
});

test('the alerter mails transitions, not repeats or weight changes, and counts what the limit holds back', async () => {
  const t = fakeTransport(() => Promise.resolve({}));
  const a = new EmailAlerter(config(file({ extra: ', vrrp_alerts: true, check_alerts: true' }).replace('global:\n', 'global:\n  router_id: lb1\n')), { log: quiet, transport: t.factory });
  a.onVrrpState('VI_1', 'master');
  a.onVrrpState('VI_2', 'master');
  a.onVerdict('web', '10.0.1.11:80', false, 'connection refused');
  a.onVerdict('web', '10.0.1.11:80', false, 'connection refused');
  a.onVerdict('web', '10.0.1.12:80', true, 'weight 5 from script');
  a.onVerdict('web', '10.0.1.12:80', true, 'weight 6 from script');
  await a.flushed();
  assert.deepEqual(t.sent.map((m) => m.subject), [
    '[lb1] VRRP Instance VI_1 - Entering MASTER state',
    '[lb1] VRRP Instance VI_2 - Entering MASTER state',
    '[lb1] VRRP Group G - Entering MASTER state',
    '[lb1] Realserver 10.0.1.11:80 of virtual server web - DOWN',
    '[lb1] Realserver 10.0.1.12:80 of virtual server web - UP',
  ]);
  // 12 flaps: 6 UP and 6 more DOWN (7 in all): 5 a minute of each subject go, 1 UP and 2 DOWN are held back.
  for (let i = 0; i < 12; i++) a.onVerdict('web', '10.0.1.11:80', i % 2 === 0, 'flap');
  await a.flushed();
  assert.equal(a.counters.rate_limited, 3);
  a.reload(config(file({ email: true }).replace(/global:\n.*\n/, '')));
  assert.equal(a.enabled, false);
  assert.equal(a.counters.sent, 14, 'counters survive a reload that removes email');
});

test('nodemailer against a relay that accepts TCP and never speaks: failed within the bounds, nothing thrown', async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => { sockets.push(s); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const logs: string[] = [];
  const n = new EmailNotifier(emailCfg({ smtp_server: { host: '127.0.0.1', port }, connect_timeout: 200 }), { log: (_l, m) => logs.push(m) });
  const t0 = performance.now();
  n.enqueue({ subject: '[lb1] VRRP Instance VI_1 - Entering MASTER state', body: 'x' });
  await n.flushed();
  const ms = performance.now() - t0;
  for (const s of sockets) s.destroy();
  server.close();
  assert.deepEqual(n.counters, { sent: 0, failed: 1, dropped: 0, rate_limited: 0 });
  assert.ok(ms >= 150 && ms < 3000, `${ms} ms: connect_timeout 200 ms bounds the greeting wait`);
  assert.match(logs.join('\n'), /email alert failed \(127\.0\.0\.1:\d+\): .*subject: \[lb1\] VRRP Instance VI_1/);
});

test('quorum: keepalived\'s "Virtualserver NAME - DOWN/UP" (Lost / Gained quorum) on changes only, for the services whose checks mail; the state found at start is not mailed', async () => {
  assert.deepEqual(virtualServerAlert('lb1', 'web', false), { subject: '[lb1] Virtualserver web - DOWN', body: '=> Lost quorum <=' });
  assert.deepEqual(virtualServerAlert('lb1', 'web', true), { subject: '[lb1] Virtualserver web - UP', body: '=> Gained quorum <=' });
  assert.deepEqual([...alertPolicy(config(file({})), name).services], []);
  assert.deepEqual([...alertPolicy(config(file({ vs: '\n    email_alerts: true' })), name).services], ['web']);
  assert.deepEqual([...alertPolicy(config(file({ extra: ', check_alerts: true', vs: '\n    email_alerts: false' })), name).services], []);
  const t = fakeTransport(() => Promise.resolve({}));
  const a = new EmailAlerter(config(file({ extra: ', check_alerts: true' }).replace('global:\n', 'global:\n  router_id: lb1\n')), { log: quiet, transport: t.factory });
  a.onQuorum('web', false, true); // found at start
  a.onQuorum('web', false);
  a.onQuorum('web', true);
  a.onQuorum('web', true);
  a.onQuorum('web', false);
  await a.flushed();
  assert.deepEqual(t.sent.map((m) => `${m.subject} ${m.text}`), [
    '[lb1] Virtualserver web - UP => Gained quorum <=',
    '[lb1] Virtualserver web - DOWN => Lost quorum <=',
  ]);
});
