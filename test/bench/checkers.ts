// `npm run bench -- checkers [scale|reaction|all] [SECONDS]`: lvsd's checkers against keepalived 2.2.7
// (Debian package), same lab kernel build (UML, 1 vCPU), same targets, a fresh kernel per phase.
//
// scale: 1,000 virtual services x 4 real servers (4,000 distinct addresses, answered by one nginx through
//   an AnyIP route in a "servers" namespace), TCP checks every 1 s. Checks/s are counted by an independent
//   reader, the servers namespace's TCP PassiveOpens (/proc/net/snmp); CPU from /proc/PID/stat
//   (utime+stime of every process of the implementation) and RSS from /proc/PID/status, over SECONDS
//   (default 20) after a warm-up. Where the vCPU goes: the guest's /proc/stat split (user, system, softirq,
//   idle) and nginx's own CPU over the same window. `scale SECONDS lvsd|keepalived` runs one side only;
//   `scale SECONDS both strace` then counts syscalls per check with `strace -c -f` for 10 s (slowed by
//   strace, so only the per-check ratio means anything).
// soak [SECONDS] [INTERVAL_MS]: healthy servers, TCP and HTTP checks at INTERVAL_MS (default 50) with
//   the timeout equal to the interval and retries 1, for SECONDS (default 600): every verdict is false.
// reaction: single-director lab, one service over rs1-3, keepalived's settings (interval 1 s, keepalived
//   retry 1 = lvsd retries 2, 1 s delay before retry, 1 s connect timeout); nginx on rs2 is killed and the
//   time until its destination leaves the kernel table is measured inside the lab (a shell loop reading
//   /proc/net/ip_vs), TCP and HTTP, RUNS=5 each.
// dns-scale [SECONDS] [SERVICES] [dns|udp], dns-reaction [RUNS] [dns|udp], dns-all [SECONDS] [SERVICES]: the DNS and
//   UDP checks against keepalived's DNS_CHECK and UDP_CHECK, knotd answering (see the section below).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './main.js';
import { bootKernel, Lab, type LabHost, type LabProcess } from '../../src/lab/index.js';
import type { Topology } from '../../src/lab/topology.js';
import { median, round } from './_stats.js';

const RUN = fileURLToPath(new URL('../../src/balancer/run.js', import.meta.url));
const log = (s: string) => process.stderr.write(`checkers bench: ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const scaleTopology: Topology = {
  name: 'checkers-bench',
  hosts: {
    director: { ifaces: { eth0: { peer: 'servers:eth0', addrs: ['10.0.0.1/24'] } }, routes: [{ dst: '10.1.0.0/16', via: '10.0.0.2' }] },
    servers: { ifaces: { eth0: { peer: 'director:eth0', addrs: ['10.0.0.2/24'] } } },
  },
};

const SERVICES = 1000, PER = 4;
const vip = (i: number) => `10.2.${i >> 8}.${(i & 255) + 0}`;
const rsAddr = (i: number, d: number) => { const k = i * PER + d + 1; return `10.1.${k >> 8}.${k & 255}`; };

function lvsdScaleConfig(): string {
  const lines = ['checks:', '  - {name: tcp1s, type: tcp, interval: 1s, timeout: 1s, retries: 2, delay_before_retry: 1s, warmup: 1s}', 'virtual_services:'];
  for (let i = 0; i < SERVICES; i++) {
    lines.push(`  - {name: s${i}, address: "${vip(i)}:80", forwarding: nat, scheduler: wlc, checks: [tcp1s], real_servers: [${
      Array.from({ length: PER }, (_, d) => `{address: "${rsAddr(i, d)}:8080"}`).join(', ')}]}`);
  }
  return lines.join('\n') + '\n';
}

function keepalivedScaleConfig(): string {
  const out = ['global_defs {\n  router_id bench\n}'];
  for (let i = 0; i < SERVICES; i++) {
    out.push(`virtual_server ${vip(i)} 80 {\n  delay_loop 1\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP\n${Array.from({ length: PER }, (_, d) =>
      `  real_server ${rsAddr(i, d)} 8080 {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }\n  }`).join('\n')}\n}`);
  }
  return out.join('\n') + '\n';
}

async function passiveOpens(h: LabHost): Promise<number> {
  const snmp = await h.run(['cat', '/proc/net/snmp']);
  const tcp = snmp.split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = tcp[0]!.split(/\s+/), values = tcp[1]!.split(/\s+/);
  return Number(values[names.indexOf('PassiveOpens')]);
}

/** CPU seconds (utime+stime, USER_HZ 100; stime alone as sysS) and RSS (kB) summed over pids. */
async function procUsage(h: LabHost, pids: number[]): Promise<{ cpuS: number; sysS: number; rssKb: number; minflt: number }> {
  const out = await h.sh(pids.map((p) => `cat /proc/${p}/stat; grep VmRSS /proc/${p}/status`).join('; '));
  let ticks = 0, sys = 0, rss = 0, minflt = 0;
  for (const l of out.split('\n')) {
    if (l.startsWith('VmRSS')) rss += Number(l.split(/\s+/)[1]);
    else if (l.trim()) { const f = l.slice(l.lastIndexOf(')') + 2).split(' '); ticks += Number(f[11]) + Number(f[12]); sys += Number(f[12]); minflt += Number(f[7]); }
  }
  return { cpuS: ticks / 100, sysS: sys / 100, rssKb: rss, minflt };
}

async function destinations(h: LabHost): Promise<number> {
  return Number((await h.sh('grep -c -- "-> [0-9A-F]" /proc/net/ip_vs || true')).trim());
}

/** The guest's aggregate CPU line of /proc/stat (USER_HZ ticks): user+nice, system, irq+softirq, idle. */
async function guestCpu(h: LabHost): Promise<{ user: number; system: number; softirq: number; idle: number }> {
  const f = (await h.run(['head', '-1', '/proc/stat'])).trim().split(/\s+/).slice(1).map(Number);
  return { user: f[0]! + f[1]!, system: f[2]!, idle: f[3]! + f[4]!, softirq: f[5]! + f[6]! };
}

/** Pids of a program in the lab kernel (one pid namespace for every host). */
async function pidsOf(h: LabHost, name: string): Promise<number[]> {
  return (await h.exec(['pgrep', '-x', name])).stdout.split('\n').filter(Boolean).map(Number);
}

/** `strace -c -f` on pids for `seconds`: syscalls per check (checks counted as the servers' PassiveOpens). */
async function syscallsPerCheck(d: LabHost, s: LabHost, pids: number[], seconds: number, count: (h: LabHost) => Promise<number> = passiveOpens): Promise<{ perCheck: number; top: Record<string, number> }> {
  const o0 = await count(s);
  const r = await d.exec(['timeout', '-s', 'INT', String(seconds), 'strace', '-c', '-f', ...pids.flatMap((p) => ['-p', String(p)])], { timeoutMs: (seconds + 30) * 1000 });
  const checks = (await count(s)) - o0;
  const top: Record<string, number> = {};
  let total = 0;
  for (const l of r.stderr.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(l);
    if (m && m[2] !== 'total') { top[m[2]!] = round(Number(m[1]) / checks, 2); total += Number(m[1]); }
  }
  return { perCheck: round(total / checks, 2), top };
}

interface ScaleFigures {
  checksPerS: number; cpuPercent: number; cpuSPer1000: number; rssMb: number; programmedMs: number;
  guest: { user: number; system: number; softirq: number; idle: number }; nginxCpuPercent: number; systemShare: number;
  syscalls?: { perCheck: number; top: Record<string, number> };
}

async function scalePhase(impl: 'lvsd' | 'keepalived', seconds: number, strace = false): Promise<ScaleFigures> {
  const kernel = await bootKernel();
  try {
    const lab = await Lab.start(scaleTopology, { kernel, services: false });
    try {
      const d = lab.host('director'), s = lab.host('servers');
      await s.run(['ip', 'route', 'add', 'local', '10.1.0.0/16', 'dev', 'lo']);
      await s.startNginx({ port: 8080 });
      let proc: LabProcess;
      let pids: number[];
      const t0 = Date.now();
      if (impl === 'lvsd') {
        const file = join(lab.dir, 'lvsd.yaml');
        writeFileSync(file, lvsdScaleConfig());
        const env = process.env.LVSD_BENCH_ENV ?? ''; // e.g. NODE_OPTIONS=... for an experiment (host variables do not reach UML)
        proc = await d.spawn(['sh', '-c', `${env} exec ${process.execPath} ${RUN} ${file} > ${join(lab.dir, 'lvsd.out')} 2>&1`]);
      } else {
        const file = join(lab.dir, 'keepalived.conf');
        writeFileSync(file, keepalivedScaleConfig());
        proc = await d.spawn(['keepalived', '-n', '-C', '-f', file, '-p', join(lab.dir, 'k.pid'), '-c', join(lab.dir, 'kc.pid'), '--vrrp_pid', join(lab.dir, 'kv.pid')]);
      }
      let programmedMs = -1;
      for (let i = 0; i < 600 && programmedMs < 0; i++) {
        if ((await destinations(d)) >= SERVICES * PER) programmedMs = Date.now() - t0;
        else await sleep(100);
      }
      if (programmedMs < 0) {
        const said = impl === 'lvsd' ? (await d.exec(['tail', '-c', '1500', join(lab.dir, 'lvsd.out')])).stdout : proc.output.slice(-500) + proc.errors.slice(-500);
        throw new Error(`${impl} never programmed ${SERVICES * PER} destinations; it said: ${said}`);
      }
      log(`${impl}: launch -> ${SERVICES * PER} destinations in ${programmedMs} ms`);
      if (impl === 'lvsd') {
        let m: RegExpExecArray | null = null;
        for (let i = 0; i < 100 && !m; i++) { m = /"pid":(\d+)/.exec(await d.run(['cat', join(lab.dir, 'lvsd.out')])); if (!m) await sleep(100); }
        pids = [Number(m![1])];
      }
      else pids = [Number((await d.run(['cat', join(lab.dir, 'k.pid')])).trim()), Number((await d.run(['cat', join(lab.dir, 'kc.pid')])).trim())];
      await sleep(5000); // warm-up: past the first (warmup-spread) round
      const nginx = await pidsOf(s, 'nginx');
      const o0 = await passiveOpens(s), u0 = await procUsage(d, pids), n0 = await procUsage(s, nginx), g0 = await guestCpu(d), w0 = Date.now();
      await sleep(seconds * 1000);
      const o1 = await passiveOpens(s), u1 = await procUsage(d, pids), n1 = await procUsage(s, nginx), g1 = await guestCpu(d), w1 = Date.now();
      const ticks = (g1.user - g0.user) + (g1.system - g0.system) + (g1.softirq - g0.softirq) + (g1.idle - g0.idle);
      const share = (k: keyof typeof g0) => round(((g1[k] - g0[k]) / ticks) * 100);
      const guest = { user: share('user'), system: share('system'), softirq: share('softirq'), idle: share('idle') };
      const wall = (w1 - w0) / 1000;
      const checksPerS = (o1 - o0) / wall;
      const cpu = u1.cpuS - u0.cpuS;
      const stillUp = await destinations(d);
      const syscalls = strace ? await syscallsPerCheck(d, s, pids, 10) : undefined;
      await proc.stop(10_000);
      const f: ScaleFigures = { checksPerS: round(checksPerS), cpuPercent: round((cpu / wall) * 100), cpuSPer1000: round(cpu / ((o1 - o0) / 1000), 3), rssMb: round(u1.rssKb / 1024), programmedMs,
        guest, nginxCpuPercent: round(((n1.cpuS - n0.cpuS) / wall) * 100), systemShare: round((u1.sysS - u0.sysS) / cpu, 3), ...(syscalls ? { syscalls } : {}) };
      log(`${impl}: ${JSON.stringify(f)} (destinations still up: ${stillUp})`);
      if (stillUp !== SERVICES * PER) log(`${impl}: WARNING ${SERVICES * PER - stillUp} destinations were taken out (false verdicts under load)`);
      return f;
    } finally { await lab.stop(); }
  } finally { await kernel.stop(); }
}

async function scale(seconds: number, which: string, strace: boolean): Promise<BenchResult[]> {
  if (which === 'lvsd' || which === 'keepalived') {
    const f = await scalePhase(which, seconds, strace);
    return [{ bench: 'checkers', metric: `scale ${which} only`, lvsd: which === 'lvsd' ? f.checksPerS : 0, reference: which === 'keepalived' ? f.checksPerS : 0, ratio: 0, unit: 'checks/s', ...f }];
  }
  const k = await scalePhase('keepalived', seconds, strace);
  const l = await scalePhase('lvsd', seconds, strace);
  const base = { bench: 'checkers', services: SERVICES, realServers: PER, interval_s: 1, due_per_s: SERVICES * PER, seconds };
  return [
    { ...base, metric: 'scale checks per second', lvsd: l.checksPerS, reference: k.checksPerS, ratio: round(l.checksPerS / k.checksPerS, 3), unit: 'checks/s' },
    { ...base, metric: 'scale CPU seconds per 1000 checks', lvsd: l.cpuSPer1000, reference: k.cpuSPer1000, ratio: round(l.cpuSPer1000 / k.cpuSPer1000, 3), unit: 's', lvsd_cpu_percent: l.cpuPercent, reference_cpu_percent: k.cpuPercent,
      lvsd_guest_cpu_split: l.guest, reference_guest_cpu_split: k.guest, lvsd_nginx_cpu_percent: l.nginxCpuPercent, reference_nginx_cpu_percent: k.nginxCpuPercent,
      ...(l.syscalls ? { lvsd_syscalls_per_check: l.syscalls, reference_syscalls_per_check: k.syscalls } : {}) },
    { ...base, metric: 'scale RSS', lvsd: l.rssMb, reference: k.rssMb, ratio: round(l.rssMb / k.rssMb, 3), unit: 'MB', reference_note: 'keepalived parent + checker process' },
    { ...base, metric: 'scale launch to all destinations programmed', lvsd: l.programmedMs, reference: k.programmedMs, ratio: round(l.programmedMs / k.programmedMs, 3), unit: 'ms' },
  ];
}

// ---- reaction ----

function lvsdReactionConfig(type: 'tcp' | 'http'): string {
  return `virtual_services:
  - name: web
    address: 192.0.2.10:80
    forwarding: nat
    checks: [{type: ${type}, interval: 1s, timeout: 1s, retries: 2, delay_before_retry: 1s}]
    real_servers: [{address: "10.0.1.11:8080"}, {address: "10.0.1.12:8080"}, {address: "10.0.1.13:8080"}]
`;
}
function keepalivedReactionConfig(type: 'tcp' | 'http'): string {
  const check = type === 'tcp'
    ? 'TCP_CHECK {\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }'
    : 'HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }';
  return `global_defs {\n  router_id bench\n}\nvirtual_server 192.0.2.10 80 {\n  delay_loop 1\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP\n${
    [11, 12, 13].map((n) => `  real_server 10.0.1.${n} 8080 {\n    weight 1\n    ${check}\n  }`).join('\n')}\n}\n`;
}

async function reactionPhase(impl: 'lvsd' | 'keepalived', type: 'tcp' | 'http', runs: number): Promise<{ downMs: number[]; upMs: number[] }> {
  const kernel = await bootKernel();
  try {
    const lab = await Lab.start('single-director', { kernel, services: false });
    try {
      const d = lab.host('director');
      const rs2 = lab.host('rs2');
      for (const h of ['rs1', 'rs3']) await lab.host(h).startNginx({ port: 8080 });
      let nginx = await rs2.startNginx({ port: 8080 });
      const file = join(lab.dir, impl === 'lvsd' ? 'lvsd.yaml' : 'keepalived.conf');
      writeFileSync(file, impl === 'lvsd' ? lvsdReactionConfig(type) : keepalivedReactionConfig(type));
      const proc = impl === 'lvsd'
        ? await d.spawnNode(RUN, [file])
        : await d.spawn(['keepalived', '-n', '-C', '-f', file, '-p', join(lab.dir, 'k.pid'), '-c', join(lab.dir, 'kc.pid'), '--vrrp_pid', join(lab.dir, 'kv.pid')]);
      // /proc/net/ip_vs prints addresses and ports in hex: 10.0.1.1N:8080 = 0A00010x:1F90.
      const has = (n: number) => `grep -q "0A0001${(10 + n).toString(16).toUpperCase().padStart(2, '0')}:1F90" /proc/net/ip_vs`;
      const waitFor = async (cond: string) => {
        for (let i = 0; i < 300; i++) { if ((await d.exec(['sh', '-c', cond])).code === 0) return; await sleep(100); }
        throw new Error(`never: ${cond}; ${proc.output.slice(-500)}`);
      };
      await waitFor(`${has(1)} && ${has(2)} && ${has(3)}`);
      const downMs: number[] = [], upMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        await sleep(1000 + Math.random() * 1000); // a random phase against the check interval
        const pid = (await d.run(['cat', join(lab.dir, `nginx-rs2-8080`, 'nginx.pid')])).trim();
        // Kill and watch in one shell inside the lab, so the figure has no round trip through the console.
        const out = await d.sh(`a=$(date +%s%N); kill -9 ${pid}; while ${has(2)}; do sleep 0.01; done; b=$(date +%s%N); echo $(( (b - a) / 1000 ))`, { timeoutMs: 60_000 });
        downMs.push(Number(out.trim()) / 1000);
        await nginx.exited.catch(() => {});
        const t = Date.now();
        nginx = await rs2.startNginx({ port: 8080 });
        await waitFor(has(2));
        upMs.push(Date.now() - t);
        log(`${impl} ${type} run ${i + 1}: down ${round(downMs.at(-1)!)} ms, back ${upMs.at(-1)} ms (incl. nginx start and polling)`);
      }
      await proc.stop(10_000);
      return { downMs, upMs };
    } finally { await lab.stop(); }
  } finally { await kernel.stop(); }
}

async function reaction(runs: number): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const type of ['tcp', 'http'] as const) {
    const k = await reactionPhase('keepalived', type, runs);
    const l = await reactionPhase('lvsd', type, runs);
    const lm = median(l.downMs), km = median(k.downMs);
    out.push({ bench: 'checkers', metric: `reaction ${type} real server stopped -> destination removed (median)`, lvsd: round(lm), reference: round(km), ratio: round(lm / km, 3), unit: 'ms',
      runs, lvsd_all: l.downMs.map((x) => round(x)), reference_all: k.downMs.map((x) => round(x)),
      settings: 'interval 1s, keepalived retry 1 (= lvsd retries 2), delay_before_retry 1s, connect timeout 1s' });
  }
  return out;
}

// ---- soak: healthy servers, fast checks, any verdict change is a false one ----

async function soak(seconds: number, intervalMs: number): Promise<BenchResult[]> {
  const kernel = await bootKernel();
  try {
    const lab = await Lab.start('single-director', { kernel });
    try {
      const d = lab.host('director');
      const file = join(lab.dir, 'soak.yaml');
      const check = (type: string) => `{type: ${type}, interval: ${intervalMs}ms, timeout: ${intervalMs}ms, retries: 1}`;
      writeFileSync(file, `virtual_services:
  - {name: tcp, address: "192.0.2.10:80", forwarding: nat, checks: [${check('tcp')}], real_servers: [{address: "10.0.1.11:80"}, {address: "10.0.1.12:80"}, {address: "10.0.1.13:80"}]}
  - {name: http, address: "192.0.2.10:81", forwarding: nat, checks: [${check('http')}], real_servers: [{address: "10.0.1.11:80"}, {address: "10.0.1.12:80"}, {address: "10.0.1.13:80"}]}
`);
      const p = await d.spawnNode(RUN, [file]);
      await p.waitFor(/^ready /m, { timeoutMs: 30_000 });
      const probesBefore = await passiveOpens(lab.host('rs1'));
      const t0 = Date.now();
      while (Date.now() - t0 < seconds * 1000) {
        await sleep(10_000);
        log(`soak: ${Math.round((Date.now() - t0) / 1000)} s, false verdicts so far: ${(p.output.match(/^verdict /gm) ?? []).length}`);
      }
      const opens = await passiveOpens(lab.host('rs1')) - probesBefore;
      const falseVerdicts = (p.output.match(/^verdict /gm) ?? []).length;
      const reasons = [...p.output.matchAll(/^verdict (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { reason: string }).reason);
      await p.stop(10_000);
      return [{ bench: 'checkers', metric: `soak false verdicts (${seconds} s, healthy servers, TCP+HTTP every ${intervalMs} ms, timeout ${intervalMs} ms, retries 1)`,
        lvsd: falseVerdicts, reference: 0, ratio: falseVerdicts === 0 ? 1 : Infinity, unit: 'verdicts', probes_seen_by_rs1: opens, reasons }];
    } finally { await lab.stop(); }
  } finally { await kernel.stop(); }
}

// ---- DNS and UDP checks (issue #16): keepalived DNS_CHECK and UDP_CHECK against lvsd's dns and udp ----
//
// dns-scale [SECONDS] [SERVICES]: SERVICES (default 250) UDP virtual services x 4 real servers, every one
//   checked each second (DNS_CHECK: www.example.test A; UDP_CHECK: the same query's bytes as payload, a
//   reply required), answered by one knotd on 0.0.0.0:53 behind an AnyIP route in the "servers" namespace.
//   Checks/s are counted by the servers namespace's own UDP InDatagrams (/proc/net/snmp); CPU as for scale.
// dns-reaction [RUNS]: single-director lab, one UDP service over rs1-3 with knotd on each, keepalived's
//   settings as in reaction; knotd on rs2 is killed (the kernel answers ICMP port unreachable at once) and
//   the time until 10.0.1.12:53 leaves /proc/net/ip_vs is measured inside the lab, RUNS (default 5) each.

type UdpKind = 'dns' | 'udp';
const DNS_QUERY_HEX = '00010100000100000000000003777777076578616d706c6504746573740000010001'; // id 1, RD, www.example.test A IN
const BENCH_ZONE = '$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 10.0.1.11\nwww A 192.0.2.1\n';

/** knotd in the foreground on `listen`, zone example.test from the lab directory, state under the kernel's private /tmp. */
async function startKnotd(h: LabHost, dir: string, listen: string): Promise<LabProcess> {
  const state = `/tmp/knot-${h.name}`;
  await h.run(['mkdir', '-p', state]);
  writeFileSync(join(dir, 'example.test.zone'), BENCH_ZONE);
  const conf = join(dir, `knot-${h.name}.conf`);
  writeFileSync(conf, `server:\n    rundir: ${state}\n    listen: ${listen}\ndatabase:\n    storage: ${state}\ntemplate:\n  - id: default\n    storage: ${dir}\n    file: "%s.zone"\n    zonefile-sync: -1\n    journal-content: none\nzone:\n  - domain: example.test\n`);
  const p = await h.spawn(['knotd', '-c', conf]);
  await p.waitFor(/server started/, { which: 'both', timeoutMs: 30_000 });
  return p;
}

function lvsdUdpCheck(kind: UdpKind, warmup: boolean): string {
  const timing = `interval: 1s, timeout: 1s, retries: 2, delay_before_retry: 1s${warmup ? ', warmup: 1s' : ''}`;
  return kind === 'dns'
    ? `{name: c, type: dns, query: www.example.test, query_type: A, ${timing}}`
    : `{name: c, type: udp, payload_hex: "${DNS_QUERY_HEX}", require_reply: true, ${timing}}`;
}
function keepalivedUdpCheck(kind: UdpKind): string {
  return kind === 'dns'
    ? 'DNS_CHECK {\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n      type A\n      name www.example.test\n    }'
    : `UDP_CHECK {\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n      payload ${DNS_QUERY_HEX}\n      require_reply\n    }`;
}

async function udpInDatagrams(h: LabHost): Promise<number> {
  const udp = (await h.run(['cat', '/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Udp:'));
  return Number(udp[1]!.split(/\s+/)[udp[0]!.split(/\s+/).indexOf('InDatagrams')]);
}

async function udpScalePhase(impl: 'lvsd' | 'keepalived', kind: UdpKind, seconds: number, services: number, strace = false): Promise<ScaleFigures & { falseDown: number; minorFaultsPerCheck: number }> {
  const kernel = await bootKernel();
  try {
    const lab = await Lab.start(scaleTopology, { kernel, services: false });
    try {
      const d = lab.host('director'), s = lab.host('servers');
      await s.run(['ip', 'route', 'add', 'local', '10.1.0.0/16', 'dev', 'lo']);
      await startKnotd(s, lab.dir, '0.0.0.0@53');
      const want = services * PER;
      let proc: LabProcess;
      const t0 = Date.now();
      if (impl === 'lvsd') {
        const file = join(lab.dir, 'lvsd.yaml');
        const lines = ['checks:', `  - ${lvsdUdpCheck(kind, true)}`, 'virtual_services:'];
        for (let i = 0; i < services; i++) {
          lines.push(`  - {name: s${i}, address: "${vip(i)}:53", protocol: udp, forwarding: nat, scheduler: wlc, checks: [c], real_servers: [${
            Array.from({ length: PER }, (_, k) => `{address: "${rsAddr(i, k)}:53"}`).join(', ')}]}`);
        }
        writeFileSync(file, lines.join('\n') + '\n');
        const env = process.env.LVSD_BENCH_ENV ?? ''; // as in scale: e.g. NODE_OPTIONS=... for an experiment
        proc = await d.spawn(['sh', '-c', `${env} exec ${process.execPath} ${RUN} ${file} > ${join(lab.dir, 'lvsd.out')} 2>&1`]);
      } else {
        const file = join(lab.dir, 'keepalived.conf');
        const out = ['global_defs {\n  router_id bench\n}'];
        for (let i = 0; i < services; i++) {
          out.push(`virtual_server ${vip(i)} 53 {\n  delay_loop 1\n  lb_algo wlc\n  lb_kind NAT\n  protocol UDP\n${Array.from({ length: PER }, (_, k) =>
            `  real_server ${rsAddr(i, k)} 53 {\n    weight 1\n    ${keepalivedUdpCheck(kind)}\n  }`).join('\n')}\n}`);
        }
        writeFileSync(file, out.join('\n') + '\n');
        proc = await d.spawn(['keepalived', '-n', '-C', '-f', file, '-p', join(lab.dir, 'k.pid'), '-c', join(lab.dir, 'kc.pid'), '--vrrp_pid', join(lab.dir, 'kv.pid')]);
      }
      let programmedMs = -1;
      for (let i = 0; i < 600 && programmedMs < 0; i++) {
        if ((await destinations(d)) >= want) programmedMs = Date.now() - t0;
        else await sleep(100);
      }
      if (programmedMs < 0) {
        const said = impl === 'lvsd' ? (await d.exec(['tail', '-c', '1500', join(lab.dir, 'lvsd.out')])).stdout : proc.output.slice(-500) + proc.errors.slice(-500);
        throw new Error(`${impl} never programmed ${want} destinations; it said: ${said}`);
      }
      let pids: number[];
      if (impl === 'lvsd') {
        let m: RegExpExecArray | null = null;
        for (let i = 0; i < 100 && !m; i++) { m = /"pid":(\d+)/.exec(await d.run(['cat', join(lab.dir, 'lvsd.out')])); if (!m) await sleep(100); }
        pids = [Number(m![1])];
      } else pids = [Number((await d.run(['cat', join(lab.dir, 'k.pid')])).trim()), Number((await d.run(['cat', join(lab.dir, 'kc.pid')])).trim())];
      await sleep(5000); // warm-up: past the first (warmup-spread) round
      const knot = await pidsOf(s, 'knotd');
      const o0 = await udpInDatagrams(s), u0 = await procUsage(d, pids), n0 = await procUsage(s, knot), g0 = await guestCpu(d), w0 = Date.now();
      await sleep(seconds * 1000);
      const o1 = await udpInDatagrams(s), u1 = await procUsage(d, pids), n1 = await procUsage(s, knot), g1 = await guestCpu(d), w1 = Date.now();
      const ticks = (g1.user - g0.user) + (g1.system - g0.system) + (g1.softirq - g0.softirq) + (g1.idle - g0.idle);
      const share = (k: keyof typeof g0) => round(((g1[k] - g0[k]) / ticks) * 100);
      const wall = (w1 - w0) / 1000, cpu = u1.cpuS - u0.cpuS, checks = o1 - o0;
      const stillUp = await destinations(d);
      const syscalls = strace ? await syscallsPerCheck(d, s, pids, 10, udpInDatagrams) : undefined;
      await proc.stop(10_000);
      const f = { ...(syscalls ? { syscalls } : {}), checksPerS: round(checks / wall), cpuPercent: round((cpu / wall) * 100), cpuSPer1000: round(cpu / (checks / 1000), 3), rssMb: round(u1.rssKb / 1024), programmedMs,
        guest: { user: share('user'), system: share('system'), softirq: share('softirq'), idle: share('idle') },
        nginxCpuPercent: round(((n1.cpuS - n0.cpuS) / wall) * 100), systemShare: round((u1.sysS - u0.sysS) / cpu, 3), falseDown: want - stillUp,
        // Minor page faults: in UML each one is a trip through the host, like a system call.
        minorFaultsPerCheck: round((u1.minflt - u0.minflt) / checks, 3) };
      log(`${impl} ${kind}: ${JSON.stringify(f)} (destinations still up: ${stillUp} of ${want}; nginxCpuPercent is knotd's here)`);
      return f;
    } finally { await lab.stop(); }
  } finally { await kernel.stop(); }
}

async function udpReactionPhase(impl: 'lvsd' | 'keepalived', kind: UdpKind, runs: number): Promise<number[]> {
  const kernel = await bootKernel();
  try {
    const lab = await Lab.start('single-director', { kernel, services: false });
    try {
      const d = lab.host('director');
      const rs = (n: number) => lab.host(`rs${n}`);
      for (const n of [1, 3]) await startKnotd(rs(n), lab.dir, `10.0.1.1${n}@53`);
      let knot = await startKnotd(rs(2), lab.dir, '10.0.1.12@53');
      const file = join(lab.dir, impl === 'lvsd' ? 'lvsd.yaml' : 'keepalived.conf');
      writeFileSync(file, impl === 'lvsd'
        ? `checks:\n  - ${lvsdUdpCheck(kind, false)}\nvirtual_services:\n  - {name: dns, address: "192.0.2.10:53", protocol: udp, forwarding: nat, checks: [c], real_servers: [{address: "10.0.1.11:53"}, {address: "10.0.1.12:53"}, {address: "10.0.1.13:53"}]}\n`
        : `global_defs {\n  router_id bench\n}\nvirtual_server 192.0.2.10 53 {\n  delay_loop 1\n  lb_algo wlc\n  lb_kind NAT\n  protocol UDP\n${
          [11, 12, 13].map((n) => `  real_server 10.0.1.${n} 53 {\n    weight 1\n    ${keepalivedUdpCheck(kind)}\n  }`).join('\n')}\n}\n`);
      const proc = impl === 'lvsd'
        ? await d.spawnNode(RUN, [file])
        : await d.spawn(['keepalived', '-n', '-C', '-f', file, '-p', join(lab.dir, 'k.pid'), '-c', join(lab.dir, 'kc.pid'), '--vrrp_pid', join(lab.dir, 'kv.pid')]);
      // /proc/net/ip_vs in hex: 10.0.1.1N:53 = 0A00010x:0035.
      const has = (n: number) => `grep -q "0A0001${(10 + n).toString(16).toUpperCase().padStart(2, '0')}:0035" /proc/net/ip_vs`;
      const waitFor = async (cond: string) => {
        for (let i = 0; i < 300; i++) { if ((await d.exec(['sh', '-c', cond])).code === 0) return; await sleep(100); }
        throw new Error(`never: ${cond}; ${proc.output.slice(-500)}`);
      };
      await waitFor(`${has(1)} && ${has(2)} && ${has(3)}`);
      const downMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        await sleep(1000 + Math.random() * 1000);
        const pid = (await rs(2).run(['pgrep', '-n', '-x', 'knotd'])).trim();
        const out = await d.sh(`a=$(date +%s%N); kill -9 ${pid}; while ${has(2)}; do sleep 0.01; done; b=$(date +%s%N); echo $(( (b - a) / 1000 ))`, { timeoutMs: 60_000 });
        downMs.push(Number(out.trim()) / 1000);
        await knot.exited.catch(() => {});
        knot = await startKnotd(rs(2), lab.dir, '10.0.1.12@53');
        await waitFor(has(2));
        log(`${impl} ${kind} run ${i + 1}: down ${round(downMs.at(-1)!)} ms`);
      }
      await proc.stop(10_000);
      return downMs;
    } finally { await lab.stop(); }
  } finally { await kernel.stop(); }
}

async function dnsScale(seconds: number, services: number, kinds: UdpKind[], strace = false): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const kind of kinds) {
    const k = await udpScalePhase('keepalived', kind, seconds, services, strace);
    const l = await udpScalePhase('lvsd', kind, seconds, services, strace);
    const base = { bench: 'checkers', check: kind, reference_check: kind === 'dns' ? 'DNS_CHECK' : 'UDP_CHECK', services, realServers: PER, interval_s: 1, due_per_s: services * PER, seconds };
    out.push(
      { ...base, metric: `${kind} scale checks per second`, lvsd: l.checksPerS, reference: k.checksPerS, ratio: round(l.checksPerS / k.checksPerS, 3), unit: 'checks/s',
        lvsd_false_down: l.falseDown, reference_false_down: k.falseDown },
      { ...base, metric: `${kind} scale CPU seconds per 1000 checks`, lvsd: l.cpuSPer1000, reference: k.cpuSPer1000, ratio: round(l.cpuSPer1000 / k.cpuSPer1000, 3), unit: 's',
        lvsd_cpu_percent: l.cpuPercent, reference_cpu_percent: k.cpuPercent, lvsd_system_share: l.systemShare, reference_system_share: k.systemShare,
        lvsd_guest_cpu_split: l.guest, reference_guest_cpu_split: k.guest, lvsd_knotd_cpu_percent: l.nginxCpuPercent, reference_knotd_cpu_percent: k.nginxCpuPercent,
        lvsd_rss_mb: l.rssMb, reference_rss_mb: k.rssMb, lvsd_minor_faults_per_check: l.minorFaultsPerCheck, reference_minor_faults_per_check: k.minorFaultsPerCheck, ...(l.syscalls ? { lvsd_syscalls_per_check: l.syscalls, reference_syscalls_per_check: k.syscalls } : {}) },
    );
  }
  return out;
}

async function dnsReaction(runs: number, kinds: UdpKind[]): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const kind of kinds) {
    const k = await udpReactionPhase('keepalived', kind, runs);
    const l = await udpReactionPhase('lvsd', kind, runs);
    const lm = median(l), km = median(k);
    out.push({ bench: 'checkers', metric: `reaction ${kind} real server stopped -> destination removed (median)`, lvsd: round(lm), reference: round(km), ratio: round(lm / km, 3), unit: 'ms',
      runs, lvsd_all: l.map((x) => round(x)), reference_all: k.map((x) => round(x)), reference_check: kind === 'dns' ? 'DNS_CHECK' : 'UDP_CHECK',
      settings: 'interval 1s, keepalived retry 1 (= lvsd retries 2), delay_before_retry 1s, timeout 1s; knotd killed -9 (ICMP port unreachable)' });
  }
  return out;
}

export async function run(args: string[]): Promise<BenchResult[]> {
  const what = args[0] ?? 'all';
  const n = Number(args[1] ?? 0);
  const results: BenchResult[] = [];
  if (what === 'scale' || what === 'all') results.push(...await scale(n || 20, (what === 'scale' && args[2]) || 'both', args[3] === 'strace'));
  if (what === 'reaction' || what === 'all') results.push(...await reaction(n || 5));
  if (what === 'soak') results.push(...await soak(n || 600, Number(args[2] ?? 50)));
  // dns-scale [SECONDS] [SERVICES] [dns|udp|both] [strace], dns-reaction [RUNS] [dns|udp|both]
  const kinds = (k: string | undefined): UdpKind[] => (k === 'dns' || k === 'udp' ? [k] : ['dns', 'udp']);
  if (what === 'dns-scale' || what === 'dns-all') results.push(...await dnsScale(n || 20, Number(args[2] ?? 0) || 250, kinds(args[3]), args[4] === 'strace'));
  if (what === 'dns-reaction' || what === 'dns-all') results.push(...await dnsReaction((what === 'dns-reaction' && n) || 5, kinds(what === 'dns-reaction' ? args[2] : args[3])));
  return results;
}
