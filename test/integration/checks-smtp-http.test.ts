// SMTP checks against a real MTA and the completed HTTPS check against nginx with mutual TLS, in the UML
// lab (single-director), judged by the kernel's IPVS table as `ipvsadm -Ln` prints it and by the servers'
// own logs. One lab and one lvsd (checkers + balancer, dist/src/balancer/run.js) for every case:
//   - exim4 (Debian exim4-daemon-light) on rs1:25 with STARTTLS (a certificate made here with openssl):
//     an smtp check with starttls and a verified certificate -> up; exim stopped -> down "connection
//     refused", restarted -> up again;
//   - exim on rs2:25 whose connect ACL answers 421 -> down "banner 421 (got '...')";
//   - nginx on rs3:8443 with ssl_verify_client on (a CA made here): https check with the client
//     certificate -> up; without it -> down "status 400" (nginx answers 400 "No required SSL certificate
//     was sent"); two URLs, one 503 -> down "/down: status 503";
//   - nginx on rs3:8081: a POST with a body and an X-Probe header -> up, both seen in nginx's access log;
//     the same and an mTLS check with http_version "1.0" (lvsd's own HTTP/1.0 client) -> up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootKernel, Lab, type LabHost, type LabKernel, type LabProcess, ipvsadmLines, waitIpvsTable } from '../../src/lab/index.js';

const RUN = fileURLToPath(new URL('../../src/balancer/run.js', import.meta.url));
let kernel: LabKernel;
let lab: Lab;
let director: LabHost;
let tlsDir: string;
const exims = new Map<string, LabProcess>();

/** exim as an MTA on ADDRESS:25 (no DNS), STARTTLS with our certificate, `extra` appended (ACLs). */
function eximConfig(dir: string, address: string, extra = ''): string {
  return `primary_hostname = mta.lab.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = ${dir}/spool
log_file_path = ${dir}/spool/%slog
pid_file_path = ${dir}/exim.pid
daemon_smtp_ports = 25
local_interfaces = ${address}
host_lookup =
rfc1413_hosts =
tls_advertise_hosts = *
tls_certificate = ${dir}/mta.pem
tls_privatekey = ${dir}/mta.key
# A line per connection without MAIL, with the commands it saw (C=EHLO,STARTTLS,...): the judge of what the check said.
log_selector = +smtp_no_mail +smtp_connection
${extra}`;
}

/** Writes the config and certificate into the kernel's own /run (exim as root was refused files on the
 *  lab's host-filesystem directory, see email.test.ts) and starts exim in the foreground (-bdf: -bd forks
 *  into the background, and the test stops it to take rs1 out). */
async function startExim(host: LabHost, address: string, extra = ''): Promise<LabProcess> {
  const dir = `/run/lvsd-smtp-test-${process.pid}-${host.name}`;
  if (!exims.has(host.name)) {
    await host.run(['sh', '-c', `mkdir -p ${dir}/spool && cp ${tlsDir}/mta.pem ${tlsDir}/mta.key ${dir}/ && chown -R Debian-exim:Debian-exim ${dir} && chmod 640 ${dir}/mta.key`]);
    const w = await host.exec(['sh', '-c', `cat > ${dir}/exim.conf`], { input: eximConfig(dir, address, extra) });
    assert.equal(w.code, 0, w.stderr);
  }
  const p = await host.spawn(['/usr/sbin/exim', '-C', `${dir}/exim.conf`, '-bdf', '-odi']);
  await host.waitForTcp(25, { process: p, timeoutMs: 20_000 });
  exims.set(host.name, p);
  return p;
}

const NGINX_LOG = () => join(tlsDir, 'nginx', 'probe.log');
function nginxConfig(dir: string): string {
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type text/plain;
  access_log off;
  log_format probe '$request_method $uri $server_protocol x-probe="$http_x_probe" body="$request_body" ct="$http_content_length" $status';
  server {
    listen 8443 ssl;
    ssl_certificate ${dir}/../rs3.pem;
    ssl_certificate_key ${dir}/../rs3.key;
    ssl_client_certificate ${dir}/../ca.pem;
    ssl_verify_client on;
    location = /down { return 503 "maintenance\\n"; }
    location / { return 200 "mtls ok $ssl_client_s_dn\\n"; }
  }
  server {
    listen 8081;
    # proxy_pass reads the request body, so $request_body holds it for the log.
    location = /post { access_log ${dir}/probe.log probe; proxy_pass http://127.0.0.1:8082/; }
    location / { return 200 "plain\\n"; }
  }
  server { listen 127.0.0.1:8082; location / { return 200 "posted\\n"; } }
}
`;
}

before(async () => {
  if (!existsSync('/usr/sbin/exim')) throw new Error('exim4-daemon-light is not installed; run bash scripts/setup.sh');
  kernel = await bootKernel();
  lab = await Lab.start('single-director', { kernel, services: false });
  director = lab.host('director');
  tlsDir = join(lab.dir, 'tls');
  mkdirSync(join(tlsDir, 'nginx'), { recursive: true });
  // Certificates: the MTA's (self-signed, its name mta.lab.test), a CA, nginx's server certificate and
  // lvsd's client certificate signed by that CA.
  const ssl = (...a: string[]) => execFileSync('openssl', a, { cwd: tlsDir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'mta.key', '-out', 'mta.pem', '-days', '2', '-subj', '/CN=mta.lab.test', '-addext', 'subjectAltName=DNS:mta.lab.test');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=lvsd lab CA');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rs3.key', '-out', 'rs3.pem', '-days', '2', '-subj', '/CN=rs3.lab.test', '-addext', 'subjectAltName=DNS:rs3.lab.test');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=lvsd-checker');
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
  writeFileSync(join(tlsDir, 'nginx', 'nginx.conf'), nginxConfig(join(tlsDir, 'nginx')));
  await startExim(lab.host('rs1'), '10.0.1.11');
  await startExim(lab.host('rs2'), '10.0.1.12', 'acl_smtp_connect = busy\nbegin acl\nbusy:\n  defer message = 421 mta.lab.test too busy, try later\n');
  const rs3 = lab.host('rs3');
  const nginx = await rs3.spawn(['nginx', '-e', join(tlsDir, 'nginx', 'error.log'), '-p', join(tlsDir, 'nginx'), '-c', join(tlsDir, 'nginx', 'nginx.conf')]);
  await rs3.waitForTcp(8443, { process: nginx });
  await rs3.waitForTcp(8081, { process: nginx });
});
after(async () => { await lab?.stop(); await kernel?.stop(); });

/** `ipvsadm -Ln` as sorted lines (src/lab/ipvsadm.ts). */
const table = async (): Promise<string[]> => ipvsadmLines(await director.run(['ipvsadm', '-Ln']), {});
let lvsd: LabProcess | undefined;
const waitTable = (want: string[], timeoutMs = 15_000): Promise<number> =>
  waitIpvsTable(table, want, { timeoutMs, pollMs: 100, context: () => `${(lvsd?.output ?? '').slice(-2000)}${lvsd?.errors ?? ''}` });
type Verdict = { service: string; server: string; up: boolean; reason: string };
const verdicts = () => [...(lvsd?.output ?? '').matchAll(/^verdict (.*)$/gm)].map((m) => JSON.parse(m[1]!) as Verdict);
const lastVerdict = (service: string, server: string) => verdicts().filter((v) => v.service === service && v.server === server).at(-1);

test('SMTP (exim: STARTTLS, stopped, 421) and HTTPS (nginx mTLS, several URLs, POST) checks drive the IPVS table', { timeout: 120_000 }, async () => {
  const t0 = Date.now();
  // A generous timeout: RSA handshakes of four TLS checks at once on a loaded UML vCPU took over 1 s.
  const timing = 'interval: 300ms, timeout: 4s, retries: 1, rise: 1, delay_before_retry: 200ms';
  const mtls = `tls: {sni: rs3.lab.test, ca_file: ${tlsDir}/rs3.pem, cert_file: ${tlsDir}/client.pem, key_file: ${tlsDir}/client.key}`;
  const file = join(lab.dir, 'lvsd.yaml');
  writeFileSync(file, `
checks:
  - {name: mta, type: smtp, helo_name: director.lab.test, starttls: true, tls: {sni: mta.lab.test, ca_file: ${tlsDir}/mta.pem}, ${timing.replace('retries: 1', 'retries: 2')}}
virtual_services:
  - name: smtp
    address: 192.0.2.10:25
    forwarding: nat
    checks: [mta]
    real_servers: [{address: "10.0.1.11:25"}, {address: "10.0.1.12:25"}]
  - name: mtls
    address: 192.0.2.10:443
    forwarding: nat
    checks: [{type: https, ${mtls}, ${timing}}]
    real_servers: [{address: "10.0.1.13:8443"}]
  - name: nocert
    address: 192.0.2.10:444
    forwarding: nat
    checks: [{type: https, tls: {sni: rs3.lab.test, ca_file: ${tlsDir}/rs3.pem}, ${timing}}]
    real_servers: [{address: "10.0.1.13:8443"}]
  - name: urls
    address: 192.0.2.10:445
    forwarding: nat
    checks: [{type: https, ${mtls}, urls: [{path: /, body_regex: "^mtls ok .*CN=lvsd-checker"}, {path: /down}], ${timing}}]
    real_servers: [{address: "10.0.1.13:8443"}]
  - name: post
    address: 192.0.2.10:8081
    forwarding: nat
    checks: [{type: http, method: POST, path: /post, body: "state=probe", headers: {X-Probe: lvsd-lab}, body_regex_no_match: error, ${timing}}]
    real_servers: [{address: "10.0.1.13:8081"}]
  - name: post10
    address: 192.0.2.10:8082
    forwarding: nat
    checks: [{type: http, http_version: "1.0", method: POST, path: /post, body: "state=probe10", headers: {X-Probe: lvsd-lab-10}, ${timing}}]
    real_servers: [{address: "10.0.1.13:8081"}]
  - name: mtls10
    address: 192.0.2.10:446
    forwarding: nat
    checks: [{type: https, http_version: "1.0", ${mtls}, body_regex: "CN=lvsd-checker", ${timing}}]
    real_servers: [{address: "10.0.1.13:8443"}]
`);
  lvsd = await director.spawnNode(RUN, [file]);
  await lvsd.waitFor(/^ready /m, { timeoutMs: 30_000 });
  try {
    const healthy = ['192.0.2.10:25 > 10.0.1.11:25 w1', '192.0.2.10:443 > 10.0.1.13:8443 w1', '192.0.2.10:444 >', '192.0.2.10:445 >', '192.0.2.10:446 > 10.0.1.13:8443 w1',
      '192.0.2.10:8081 > 10.0.1.13:8081 w1', '192.0.2.10:8082 > 10.0.1.13:8081 w1'];
    const firstMs = await waitTable(healthy);
    // Servers start up (alpha off, as keepalived) and leave at their first failure, with its reason:
    // exim on rs2 answers 421; nginx answers 400 without a client certificate; /down is 503.
    assert.equal(lastVerdict('smtp', '10.0.1.12:25')?.reason, "banner 421 (got 'mta.lab.test too busy, try later')");
    assert.equal(lastVerdict('nocert', '10.0.1.13:8443')?.reason, 'status 400');
    assert.equal(lastVerdict('urls', '10.0.1.13:8443')?.reason, '/down: status 503');
    assert.ok(verdicts().filter((v) => v.server === '10.0.1.11:25').every((v) => v.up), 'rs1 passed STARTTLS and EHLO over TLS from the first probe');

    // exim stopped on rs1: connection refused, out of the table; started again: back. (retries 2: a probe
    // in flight when exim is killed ends "connection reset"; the next one, the second failure, is refused.)
    const stop = Date.now();
    exims.get('rs1')!.kill('SIGTERM');
    await exims.get('rs1')!.exited;
    await waitTable(healthy.map((l) => (l.startsWith('192.0.2.10:25 ') ? '192.0.2.10:25 >' : l)));
    const downMs = Date.now() - stop;
    assert.equal(lastVerdict('smtp', '10.0.1.11:25')?.reason, 'connection refused');
    await startExim(lab.host('rs1'), '10.0.1.11');
    await waitTable(healthy);

    // The POST reached nginx with its body, its header and a Content-Length; exim logged TLS sessions.
    const log = readFileSync(NGINX_LOG(), 'utf8').trim().split('\n');
    assert.ok(log.length >= 1, 'nginx logged the probes');
    assert.ok(log.includes('POST /post HTTP/1.1 x-probe="lvsd-lab" body="state=probe" ct="11" 200'), log.slice(-4).join('\n'));
    assert.ok(log.includes('POST /post HTTP/1.0 x-probe="lvsd-lab-10" body="state=probe10" ct="13" 200'), log.slice(-4).join('\n'));
    const mainlog = await lab.host('rs1').run(['sh', '-c', `cat /run/lvsd-smtp-test-${process.pid}-rs1/spool/mainlog`]);
    // exim's own log: the check's sessions with the EHLO name configured, STARTTLS and EHLO again, QUIT.
    assert.match(mainlog, /no MAIL in SMTP connection from \(director\.lab\.test\) \[10\.0\.1\.\d+\] .*X=TLS1\.[23]:.* C=EHLO,STARTTLS,EHLO,QUIT/, mainlog.slice(-1500));
    console.log(JSON.stringify({ first_table_ms: firstMs, exim_stop_to_out_ms: downMs, total_ms: Date.now() - t0 }));
  } finally {
    await lvsd.stop(5000);
  }
});
