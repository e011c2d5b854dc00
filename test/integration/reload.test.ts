// VrrpEngine.reload on a real kernel: directors a and b and a client c as host network namespaces on
// one bridge (vrrp-netns.ts). a runs the engine through this file's driver mode (reload on SIGHUP,
// since the daemon's SIGHUP is not built yet), b runs lvsd's VRRP entry as the backup. Judges: tcpdump
// in the client (every advert a sends, with its priority: no gap, no priority 0, none from b), b's
// log (never master) and the kernel's addresses (ip addr). VRRP needs no IPVS, so host namespaces
// stand in for the UML lab here (seconds instead of a kernel boot per test).
// Balancer.reload and the admin drain run in the UML lab (IPVS): dist/src/balancer/run.js in the
// director, reloaded with SIGHUP, drained through its stdin, judged by `ipvsadm -Ln` and by the count
// of IPVS commands the reconciler sent.
//
//   node dist/test/integration/reload.test.js driver CONFIG.yaml     the driver, one JSON line per reload
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootKernel, Lab, type LabHost, type LabKernel, type LabProcess } from '../../src/lab/index.js';
import { VrrpLan, canRunNetns, configYaml, instanceYaml, sleep, type Proc } from './vrrp-netns.js';
import { loadConfig, formatIssue } from '../../src/config/index.js';
import { VrrpEngine } from '../../vrrp/engine.js';

const DRIVER = process.argv[2] === 'driver';

async function driver(file: string): Promise<void> {
  const load = async () => {
    const r = await loadConfig(file);
    if (!r.ok) throw new Error(r.errors.map((e) => formatIssue(e)).join('\n'));
    return r.config;
  };
  const engine = await VrrpEngine.start(await load());
  const out = (what: string, v: unknown) => process.stdout.write(`${what} ${JSON.stringify(v)}\n`);
  process.on('SIGHUP', () => {
    void load().then((c) => engine.reload(c)).then((s) => out('reloaded', s), (e: Error) => out('reload-failed', e.message));
  });
  process.on('SIGUSR1', () => out('instances', Object.fromEntries([...engine.instances].map(([n, i]) => [n,
    { state: i.state, priority: i.machine.priority, advertsSent: i.counters.advertsSent, becameMaster: i.counters.becameMaster }]))));
  process.on('SIGTERM', () => { void engine.stop().then(() => process.exit(0)); });
  out('ready', { pid: process.pid });
}

if (DRIVER) {
  driver(process.argv[3]!).catch((e: Error) => { process.stderr.write(`${e.message}\n`); process.exit(1); });
} else {
  const skip = !canRunNetns() && 'needs root and ip netns';
  const V4 = '192.0.2.10', V4B = '192.0.2.20';
  const SELF = fileURLToPath(import.meta.url);
  const MASTER = /: \w+ -> master/;

  const yaml = (priority: number, vips: string[], extra?: string) =>
    configYaml([instanceYaml({ name: 'vi_1', vrid: 1, priority, version: 3, interval: '100ms', vips, ...(extra ? { extra } : {}) })]);

  /** Adverts on the wire as tcpdump -tt prints them: time (s), source, priority. */
  function adverts(p: Proc): { t: number; src: string; prio: number }[] {
    return p.lines.flatMap((l) => {
      const m = /^(\d+\.\d+) IP (\S+) > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 1, prio (\d+)/.exec(l);
      return m ? [{ t: Number(m[1]), src: m[2]!, prio: Number(m[3]) }] : [];
    });
  }

  async function reload(l: VrrpLan, a: Proc, file: string, text: string): Promise<Record<string, unknown>> {
    l.file(file, text);
    const mark = a.lines.length;
    a.kill('SIGHUP');
    const line = await a.waitForNext(/^reload(ed|-failed) /, 5000, mark);
    // A summary object, or the error message (a string) when the reload was refused.
    return JSON.parse(line.slice(line.indexOf(' ') + 1)) as Record<string, unknown>;
  }

  test('a master stays master through reloads (same config, priority change, VIP set change): no advert missed, the backup never takes over',
    { skip, timeout: 60_000 }, async (t) => {
      const l = new VrrpLan();
      t.after(() => l.stop());
      const file = 'a.yaml';
      const a = l.spawn('a', [process.execPath, SELF, 'driver', l.file(file, yaml(200, [`${V4}/24`]))]);
      await a.waitFor(MASTER, 5000);
      const b = l.lvsd('b', yaml(100, [`${V4}/24`]));
      await b.waitFor(/vi_1: \w+ -> backup/, 5000);
      const dump = l.spawn('c', ['tcpdump', '-i', 'eth0', '-n', '-l', '-tt', 'ip proto 112']);
      await sleep(700); // tcpdump's "listening on" goes to stderr before it captures

      let s = await reload(l, a, file, yaml(200, [`${V4}/24`]));
      assert.deepEqual(s.unchanged, ['vi_1']);
      assert.deepEqual(s.changes, []);
      await sleep(400);

      s = await reload(l, a, file, yaml(150, [`${V4}/24`]));
      assert.deepEqual(s.updated, ['vi_1']);
      assert.deepEqual(s.changes, ['vi_1: priority 200 -> 150 (in place)']);
      await sleep(400);

      // The client has a stale entry for the new VIP pointing at b: a's GARP must move it (locktime 0).
      l.exec('c', ['sysctl', '-qw', 'net.ipv4.neigh.eth0.locktime=0']);
      l.exec('c', ['ip', 'neigh', 'replace', V4B, 'lladdr', l.nodes.b!.mac, 'dev', 'eth0', 'nud', 'stale']);
      s = await reload(l, a, file, yaml(150, [`${V4}/24`, `${V4B}/24`]));
      assert.deepEqual(s.changes, ['vi_1: virtual_ips (in place)']);
      assert.ok(l.hasVip('a', V4) && l.hasVip('a', V4B), l.addrs('a'));
      const neigh = () => /lladdr (\S+)/.exec(l.exec('c', ['ip', 'neigh', 'show', V4B, 'dev', 'eth0']))?.[1];
      for (let i = 0; i < 50 && neigh() !== l.nodes.a!.mac; i++) await sleep(20);
      assert.equal(neigh(), l.nodes.a!.mac, 'GARP for the added VIP');
      await sleep(400);

      s = await reload(l, a, file, yaml(150, [`${V4B}/24`]));
      assert.deepEqual(s.updated, ['vi_1']);
      assert.ok(!l.hasVip('a', V4) && l.hasVip('a', V4B), l.addrs('a'));
      await sleep(400);

      const mark = a.lines.length;
      a.kill('SIGUSR1');
      const inst = JSON.parse((await a.waitForNext(/^instances /, 2000, mark)).slice('instances '.length)) as Record<string, { state: string; priority: number; becameMaster: number }>;
      assert.deepEqual({ state: inst.vi_1!.state, priority: inst.vi_1!.priority, becameMaster: inst.vi_1!.becameMaster }, { state: 'master', priority: 150, becameMaster: 1 });
      dump.kill('SIGTERM');
      await dump.exited;

      const seen = adverts(dump);
      const fromA = seen.filter((x) => x.src === l.nodes.a!.v4);
      assert.ok(fromA.length >= 15, `${fromA.length} adverts from a captured:\n${dump.lines.join('\n')}`);
      assert.deepEqual(seen.filter((x) => x.src !== l.nodes.a!.v4), [], 'the backup sent nothing: it never took over');
      assert.deepEqual(fromA.filter((x) => x.prio === 0), [], 'no priority-0 advert (no shutdown)');
      const prios = [...new Set(fromA.map((x) => x.prio))];
      assert.deepEqual(prios, [200, 150]);
      const gaps = fromA.slice(1).map((x, i) => (x.t - fromA[i]!.t) * 1000);
      const maxGap = Math.max(...gaps);
      t.diagnostic(`${fromA.length} adverts, largest gap ${maxGap.toFixed(1)} ms at a 100 ms interval through 4 reloads`);
      assert.ok(maxGap < 200, `an advert missed: gap ${maxGap.toFixed(1)} ms`);
      assert.doesNotMatch(b.lines.join('\n'), MASTER);
      assert.ok(!l.hasVip('b', V4) && !l.hasVip('b', V4B));
      // Shutdown removes the list in force now, not the one the instance started with.
      a.kill('SIGTERM');
      await a.exited;
      assert.ok(!l.hasVip('a', V4B), l.addrs('a'));
      await b.waitFor(MASTER, 2000);
    });

  test('a restart-only change (vrid) restarts that instance alone; instances and track scripts come and go; a bad reload changes nothing',
    { skip, timeout: 60_000 }, async (t) => {
      const l = new VrrpLan(['a', 'c']);
      t.after(() => l.stop());
      const file = 'a.yaml';
      const a = l.spawn('a', [process.execPath, SELF, 'driver', l.file(file, yaml(200, [`${V4}/24`]))]);
      await a.waitFor(MASTER, 5000);
      const two = configYaml([
        instanceYaml({ name: 'vi_1', vrid: 1, priority: 200, version: 3, interval: '100ms', vips: [`${V4}/24`] }),
        instanceYaml({ name: 'vi_2', vrid: 2, priority: 200, version: 3, interval: '100ms', vips: [`${V4B}/24`] }),
      ]);
      let s = await reload(l, a, file, two);
      assert.deepEqual({ added: s.added, unchanged: s.unchanged }, { added: ['vi_2'], unchanged: ['vi_1'] });
      await a.waitFor(/vi_2: \w+ -> master/, 3000);
      assert.ok(l.hasVip('a', V4) && l.hasVip('a', V4B), l.addrs('a'));

      // An interface this machine does not have: refused before anything changes.
      const bad = two.replace(/(name: vi_2\n\s+interface: )eth0/, '$1nosuch0');
      assert.notEqual(bad, two);
      s = await reload(l, a, file, bad);
      assert.match(String(s), /^vrrp instance vi_2: no interface nosuch0$/);
      assert.ok(l.hasVip('a', V4) && l.hasVip('a', V4B), l.addrs('a'));

      s = await reload(l, a, file, two.replace('vrid: 2', 'vrid: 3'));
      assert.deepEqual({ restarted: s.restarted, unchanged: s.unchanged, changes: s.changes }, { restarted: ['vi_2'], unchanged: ['vi_1'], changes: ['vi_2: vrid changed (restarted)'] });
      await a.waitForNext(/vi_2: \w+ -> master/, 3000);
      assert.ok(l.hasVip('a', V4B), l.addrs('a'));

      // A track script added to vi_1 in place: it starts, and its failure takes the weight off.
      const tracked = configYaml([instanceYaml({ name: 'vi_1', vrid: 1, priority: 200, version: 3, interval: '100ms', vips: [`${V4}/24`],
        extra: '    track: {scripts: [{name: down, weight: -50}]}' })], 'track_scripts:\n  - {name: down, argv: [/bin/false], interval: 100ms}\n');
      s = await reload(l, a, file, tracked);
      assert.deepEqual({ removed: s.removed, updated: s.updated, changes: s.changes },
        { removed: ['vi_2'], updated: ['vi_1'], changes: ['vi_2: removed', 'vi_1: track (in place)', 'track script down: started'] });
      assert.ok(l.hasVip('a', V4) && !l.hasVip('a', V4B), l.addrs('a'));
      const priority = async () => {
        const mark = a.lines.length;
        a.kill('SIGUSR1');
        const line = await a.waitForNext(/^instances /, 2000, mark);
        const { state, priority: p } = (JSON.parse(line.slice('instances '.length)) as Record<string, { priority: number; state: string }>).vi_1!;
        return { state, priority: p };
      };
      for (let i = 0; i < 50 && (await priority()).priority !== 150; i++) await sleep(50);
      assert.deepEqual(await priority(), { state: 'master', priority: 150 });
      // A priority change beside a kept script: the script keeps running and its state (down) counts at once.
      s = await reload(l, a, file, tracked.replace('priority: 200', 'priority: 210'));
      assert.deepEqual(s.changes, ['vi_1: priority 200 -> 210 (in place)']);
      assert.deepEqual(await priority(), { state: 'master', priority: 160 });
      s = await reload(l, a, file, yaml(200, [`${V4}/24`]));
      assert.deepEqual(s.changes, ['vi_1: priority 210 -> 200, track (in place)', 'track script down: stopped']);
      assert.equal((await priority()).priority, 200);
      assert.ok(l.hasVip('a', V4) && !l.hasVip('a', V4B), l.addrs('a'));
      a.kill('SIGTERM');
      await a.exited;
    });

  describe('Balancer reload and drain on a kernel with IPVS (UML lab, single-director)', () => {
    const RUN = fileURLToPath(new URL('../../src/balancer/run.js', import.meta.url));
    let kernel: LabKernel;
    let lab: Lab;
    let director: LabHost;
    before(async () => {
      kernel = await bootKernel();
      lab = await Lab.start('single-director', { kernel });
      director = lab.host('director');
    });
    after(async () => { await lab?.stop(); await kernel?.stop(); });

    /** `ipvsadm -Ln` as sorted "10.0.1.11:80 w1" lines for the one service. */
    async function table(): Promise<string[]> {
      const out = await director.run(['ipvsadm', '-Ln']);
      return [...out.matchAll(/^\s+->\s+(\S+)\s+\S+\s+(\d+)/gm)].map((m) => `${m[1]} w${m[2]}`).sort();
    }
    async function waitTable(want: string[], p: LabProcess): Promise<void> {
      const end = Date.now() + 10_000;
      let last: string[] = [];
      while (Date.now() < end) {
        last = await table();
        if (JSON.stringify(last) === JSON.stringify([...want].sort())) return;
        await sleep(50);
      }
      assert.deepEqual(last, [...want].sort(), `ipvsadm -Ln; lvsd said:\n${p.output.slice(-1500)}${p.errors}`);
    }
    const yaml = (servers: string) => `
checks:
  - {name: t, type: tcp, interval: 200ms, timeout: 150ms, retries: 1}
virtual_services:
  - {name: web, address: "192.0.2.10:80", forwarding: nat, scheduler: wrr, checks: [t], real_servers: [${servers}]}
`;
    const RS = (n: number) => `10.0.1.1${n}:80`;

    test('reload: unchanged = no IPVS command, a weight change = one, a removed server = one; drain = weight 0 and back', { timeout: 120_000 }, async () => {
      const file = join(lab.dir, 'balancer.yaml');
      const all = `{address: "${RS(1)}"}, {address: "${RS(2)}"}, {address: "${RS(3)}"}`;
      writeFileSync(file, yaml(all));
      const p = await director.spawnNode(RUN, [file]);
      await p.waitFor(/^ready /m, { timeoutMs: 30_000 });
      await waitTable([`${RS(1)} w1`, `${RS(2)} w1`, `${RS(3)} w1`], p);
      let seen = 0;
      const reload = async (text: string) => {
        writeFileSync(file, text);
        await p.kill('SIGHUP');
        const answers = () => [...p.output.matchAll(/^reload(?:ed|-failed) (.*)$/gm)];
        const end = Date.now() + 10_000;
        while (answers().length <= seen) {
          if (Date.now() > end) throw new Error(`no answer to SIGHUP: ${p.output.slice(-800)}`);
          await sleep(50);
        }
        const line = answers()[seen++]!;
        assert.match(line[0], /^reloaded /);
        return JSON.parse(line[1]!) as { changes: string[]; checksKept: number; checksStarted: number; report: { writes: number; errors: string[] } };
      };
      let s = await reload(yaml(all));
      assert.deepEqual({ changes: s.changes, writes: s.report.writes, kept: s.checksKept }, { changes: [], writes: 0, kept: 3 });
      s = await reload(yaml(`{address: "${RS(1)}"}, {address: "${RS(2)}", weight: 5}, {address: "${RS(3)}"}`));
      assert.deepEqual({ writes: s.report.writes, errors: s.report.errors, started: s.checksStarted }, { writes: 1, errors: [], started: 0 });
      await waitTable([`${RS(1)} w1`, `${RS(2)} w5`, `${RS(3)} w1`], p);
      s = await reload(yaml(`{address: "${RS(1)}"}, {address: "${RS(2)}", weight: 5}`));
      assert.deepEqual({ writes: s.report.writes, changes: s.changes }, { writes: 1, changes: ['service web: changed', `service web: real server ${RS(3)} removed`, 'checks: 0 started, 1 stopped, 2 kept'] });
      await waitTable([`${RS(1)} w1`, `${RS(2)} w5`], p);

      await p.write(`drain web ${RS(1)}\n`);
      await p.waitFor(/^drained .*"drained":true/m, { timeoutMs: 10_000 });
      await waitTable([`${RS(1)} w0`, `${RS(2)} w5`], p);
      await p.write(`enable web ${RS(1)}\n`);
      await p.waitFor(/^drained .*"drained":false/m, { timeoutMs: 10_000 });
      await waitTable([`${RS(1)} w1`, `${RS(2)} w5`], p);
      assert.doesNotMatch(p.output, /^verdict /m, 'no verdict changed through reloads and drains');
      await p.stop(5000);
      await waitTable([], p);
    });
  });
}
