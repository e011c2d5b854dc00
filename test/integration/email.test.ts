// Email alerts received by a real MTA: Debian's exim4 runs on the lab's client host with a config of its
// own (every message appended to one mbox under the lab's directory), and two lvsd directors in the UML
// lab's director-pair send to it. The judge is what exim delivered, read from that mbox, and exim's log.
// (a) a master stopping makes the backup master: "[d2] VRRP Instance VI_1 - Entering MASTER state";
// (b) a real server's link going down: "[d2] Realserver 10.0.1.11:80 of virtual server web - DOWN";
// (c) the other one too: "[d2] Virtualserver web - DOWN" (quorum lost), then UP when both are back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootKernel, Lab, type LabHost, type LabKernel, type LabProcess } from '../../src/lab/index.js';

const LVSD = fileURLToPath(new URL('../../../bin/lvsd.js', import.meta.url));
const MTA = '192.0.2.100';
const MTA_PORT = 2525;

let kernel: LabKernel;
let lab: Lab;
let mbox: string;
let mainlog: string;
let client: LabHost;

/** exim as an MTA that accepts everything and delivers it to one mbox; no DNS, no TLS certificate. */
function eximConfig(dir: string): string {
  return `primary_hostname = mta.lab.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = ${dir}/spool
log_file_path = ${dir}/spool/%slog
pid_file_path = ${dir}/exim.pid
daemon_smtp_ports = ${MTA_PORT}
local_interfaces = ${MTA}
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  accept
begin routers
everything:
  driver = accept
  transport = mailbox
begin transports
mailbox:
  driver = appendfile
  file = ${dir}/mail/mbox
  envelope_to_add
  delivery_date_add
  user = Debian-exim
  group = Debian-exim
  mode = 0644
`;
}

before(async () => {
  if (!existsSync('/usr/sbin/exim')) throw new Error('exim4-daemon-light is not installed; run bash scripts/setup.sh');
  kernel = await bootKernel();
  lab = await Lab.start('director-pair', { kernel });
  client = lab.host('client');
  // The spool and the mailbox live in the kernel's own /run: on the lab's host-filesystem directory exim,
  // as root, was refused its log file (EACCES through hostfs). The test reads them through the client host.
  const dir = `/run/lvsd-email-test-${process.pid}`;
  await client.run(['sh', '-c', `mkdir -p ${dir}/spool ${dir}/mail && chown -R Debian-exim:Debian-exim ${dir}`]);
  // The config too: exim re-executes itself as Debian-exim to deliver, and must read it again then.
  const conf = `${dir}/exim.conf`;
  const w = await client.exec(['sh', '-c', `cat > ${conf}`], { input: eximConfig(dir) });
  assert.equal(w.code, 0, w.stderr);
  mbox = join(dir, 'mail', 'mbox');
  mainlog = join(dir, 'spool', 'mainlog');
  const exim = await client.spawn(['/usr/sbin/exim', '-C', conf, '-bd', '-odi']);
  await client.waitForTcp(MTA_PORT, { process: exim, timeoutMs: 20_000 });
});
after(async () => { await lab?.stop(); await kernel?.stop(); });

function lvsdConfig(name: string, priority: number): string {
  const dir = lab.dir;
  return `
global:
  router_id: ${name}
  state_file: ${dir}/${name}-state.json
  control: { listen: "unix:${dir}/${name}.sock" }
  email:
    to: [ops@lab.test, oncall@lab.test]
    from: lvsd-${name}@lab.test
    smtp_server: "${MTA}:${MTA_PORT}"
    helo_name: ${name}.lab.test
    connect_timeout: 5s
    vrrp_alerts: true
    check_alerts: true
vrrp_instances:
  - name: VI_1
    interface: eth0
    vrid: 51
    version: 3
    advert_interval: 100ms
    priority: ${priority}
    virtual_ips: [192.0.2.10/24]
virtual_services:
  - name: web
    address: 192.0.2.10:80
    scheduler: rr
    forwarding: nat
    checks: [{ type: tcp, interval: 300ms, timeout: 200ms, delay_before_retry: 100ms }]
    real_servers:
      - address: 10.0.1.11:80
      - address: 10.0.1.12:80
`;
}

async function startLvsd(h: LabHost, name: string, priority: number): Promise<LabProcess> {
  const file = join(lab.dir, `${name}.yaml`);
  writeFileSync(file, lvsdConfig(name, priority));
  const p = await h.spawnNode(LVSD, ['run', '-c', file]);
  await p.waitFor(/"msg":"ready"/, { timeoutMs: 30_000 });
  return p;
}

interface Mail { headers: Map<string, string>; body: string; raw: string }
/** The mbox as exim wrote it: one message per "From " separator line, headers unfolded. */
async function mails(): Promise<Mail[]> {
  const text = (await client.exec(['cat', mbox])).stdout;
  return text.split(/^From \S+ .*\n/m).filter((m) => m.trim()).map((raw) => {
    const [head = '', ...rest] = raw.split('\n\n');
    const headers = new Map<string, string>();
    for (const l of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
      const i = l.indexOf(':');
      if (i > 0) headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
    }
    return { headers, body: rest.join('\n\n').trim(), raw };
  });
}
async function waitMail(subject: string, timeoutMs: number): Promise<{ mail: Mail; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const all = await mails();
    const m = all.find((x) => x.headers.get('subject') === subject);
    if (m) return { mail: m, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) {
      const log = (await client.exec(['sh', '-c', `cat ${mainlog} ${mainlog.replace('mainlog', 'paniclog')} 2>&1`])).stdout.slice(-1500) || '(no exim log)';
      assert.fail(`no mail "${subject}" within ${timeoutMs} ms; subjects delivered: ${JSON.stringify(all.map((x) => x.headers.get('subject')))}; exim:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('exim receives the alert for a VRRP takeover and for a real server going down', { timeout: 180_000 }, async () => {
  const d1 = lab.host('director1');
  const d2 = lab.host('director2');
  const a = await startLvsd(d1, 'd1', 150);
  const b = await startLvsd(d2, 'd2', 100);
  try {
    await a.waitFor(/"msg":"vi_1: \w+ -> master/i, { timeoutMs: 15_000 });
    await waitMail('[d1] VRRP Instance VI_1 - Entering MASTER state', 15_000);

    // (a) The master stops: d2 takes over and mails. (d1 mails nothing on its way out: lvsd's engine reports
    // no transition for an instance it stops.)
    const stopped = Date.now();
    await a.stop(10_000);
    const takeover = await waitMail('[d2] VRRP Instance VI_1 - Entering MASTER state', 15_000);
    const m = takeover.mail;
    assert.equal(m.headers.get('from'), 'lvsd-d2@lab.test');
    assert.equal(m.headers.get('to'), 'ops@lab.test, oncall@lab.test');
    assert.equal(m.body, '=> VRRP Instance is now owning VRRP VIPs <=');
    assert.match(m.headers.get('received') ?? '', /from \[192\.0\.2\.3\] \(helo=d2\.lab\.test\)/);
    const envelopes = (await mails()).filter((x) => x.headers.get('subject') === '[d2] VRRP Instance VI_1 - Entering MASTER state').map((x) => x.headers.get('envelope-to')).sort();
    assert.deepEqual(envelopes, ['oncall@lab.test', 'ops@lab.test'], 'one copy per recipient in the mailbox');
    const takeoverMs = Date.now() - stopped;

    // (b) rs1's link goes down: its TCP check fails and d2 mails DOWN with the checker's reason.
    const down = Date.now();
    await lab.host('rs1').run(['ip', 'link', 'set', 'eth0', 'down']);
    const rsDown = await waitMail('[d2] Realserver 10.0.1.11:80 of virtual server web - DOWN', 15_000);
    assert.match(rsDown.mail.body, /^=> CHECK failed on service: .+ <=$/);
    const downMs = Date.now() - down;
    // (c) rs2 too: no live weight left, the service loses its quorum and d2 mails that (keepalived
    // SMTP_MSG_VS); both back, it regains it.
    await lab.host('rs2').run(['ip', 'link', 'set', 'eth0', 'down']);
    const lost = await waitMail('[d2] Virtualserver web - DOWN', 15_000);
    assert.equal(lost.mail.body, '=> Lost quorum <=');
    await lab.host('rs1').run(['ip', 'link', 'set', 'eth0', 'up']);
    await lab.host('rs2').run(['ip', 'link', 'set', 'eth0', 'up']);
    await waitMail('[d2] Realserver 10.0.1.11:80 of virtual server web - UP', 15_000);
    const gained = await waitMail('[d2] Virtualserver web - UP', 15_000);
    assert.equal(gained.mail.body, '=> Gained quorum <=');

    const metrics = await d2.run(['curl', '-s', 'http://127.0.0.1:9641/metrics']);
    const sent = Number(/^lvsd_email_alerts_total\{result="sent"\} (\d+)/m.exec(metrics)?.[1]);
    assert.ok(sent >= 3, `d2 counted ${sent} sent`);
    assert.match(metrics, /^lvsd_email_alerts_total\{result="failed"\} 0$/m);
    assert.match(metrics, /^lvsd_email_alerts_total\{result="dropped"\} 0$/m);
    const log = await client.run(['cat', mainlog]);
    assert.match(log, /<= lvsd-d2@lab\.test H=\(d2\.lab\.test\) \[192\.0\.2\.3\]/);
    assert.doesNotMatch(log, /rejected|frozen/i);
    console.log(JSON.stringify({ mails: (await mails()).length, stop_to_takeover_mail_ms: takeoverMs, link_down_to_mail_ms: downMs }));
  } finally {
    await b.stop(10_000).catch(() => {});
    await a.stop(10_000).catch(() => {});
  }
});
