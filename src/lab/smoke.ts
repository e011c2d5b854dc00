// `npm run lab -- smoke`: proves the lab works on this machine, item by item, with the same tools a
// person would use to check by hand. Exit status 0 only if every item passes.
import { Lab } from './lab.js';
import { chooseBackend, type Backend } from './kernel.js';
import { missingPackages, LAB_PACKAGES } from './prereq.js';
import { describeDiff, diffSnapshots, isEmpty, leaks, takeSnapshot } from './snapshot.js';

interface Item { name: string; ok: boolean; detail: string; ms: number }

const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'];

export async function runSmoke(opts: { backend?: Backend | undefined; out?: (line: string) => void } = {}): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const items: Item[] = [];
  const check = async (name: string, fn: () => Promise<string>): Promise<boolean> => {
    const t0 = Date.now();
    try {
      const detail = await fn();
      items.push({ name, ok: true, detail, ms: Date.now() - t0 });
    } catch (e) {
      items.push({ name, ok: false, detail: (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 6).join(' | '), ms: Date.now() - t0 });
    }
    const it = items.at(-1)!;
    out(`${it.ok ? 'PASS' : 'FAIL'}  ${it.name.padEnd(22)} ${String(it.ms).padStart(6)} ms  ${it.detail}`);
    return it.ok;
  };
  const expect = (cond: boolean, msg: string): void => { if (!cond) throw new Error(msg); };

  const before = takeSnapshot();
  let lab: Lab | undefined;
  await check('debian packages', async () => {
    const missing = missingPackages();
    expect(missing.length === 0, `missing: ${missing.join(' ')}; install: sudo apt-get install ${missing.join(' ')}`);
    return LAB_PACKAGES.join(' ');
  });
  const chosen = chooseBackend(opts.backend);
  const booted = await check('kernel + namespaces', async () => {
    lab = await Lab.start('single-director', { backend: chosen.backend });
    return `${chosen.backend} backend (${chosen.reason}), kernel ${lab.kernel.release}, boot ${lab.timings.bootMs} ms, ` +
      `${lab.namespaces.length} namespaces in ${lab.timings.buildMs} ms`;
  });
  if (booted && lab) {
    const l = lab;
    const d = l.host('director');
    const c = l.host('client');
    await check('ipvs', async () => {
      const proc = await d.run(['cat', '/proc/net/ip_vs']);
      expect(/IP Virtual Server version/.test(proc), `/proc/net/ip_vs: ${proc}`);
      const ok: string[] = [];
      for (const [i, s] of SCHEDULERS.entries()) {
        const r = await d.exec(['ipvsadm', '-A', '-t', `198.51.100.1:${1000 + i}`, '-s', s]);
        expect(r.code === 0, `scheduler ${s}: ${r.stderr.trim()}`);
        ok.push(s);
      }
      await d.run(['ipvsadm', '-C']);
      return `${proc.split('\n')[0]}; schedulers ${ok.join(' ')}`;
    });
    await check('veth + bridge', async () => {
      const links = await l.host('rs1').run(['ip', '-o', 'link', 'show', 'eth0']);
      expect(/veth|link\/ether/.test(links), links);
      await c.run(['ping', '-c', '1', '-W', '2', '192.0.2.2']);
      await c.run(['ping', '-c', '1', '-W', '2', '2001:db8:1::2']);
      await c.run(['ping', '-c', '1', '-W', '2', '10.0.1.13']);
      return 'client -> director over the clients bridge (IPv4, IPv6), -> rs3 routed through the director';
    });
    await check('raw sockets', async () => {
      // ping as root opens SOCK_RAW (ICMP datagram sockets are off by default); tcpdump AF_PACKET.
      const cap = await l.host('director').spawn(['tcpdump', '-n', '-l', '-c', '2', '-i', 'eth0', 'icmp']);
      await cap.waitFor(/listening on eth0/);
      const trace = await c.exec(['strace', '-f', '-e', 'trace=socket', 'ping', '-c', '1', '-W', '2', '192.0.2.2']);
      expect(trace.code === 0, `ping: ${trace.stderr}`);
      expect(/SOCK_RAW/.test(trace.stderr), `ping opened no raw socket: ${trace.stderr.trim()}`);
      const st = await Promise.race([cap.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
      if (!st) await cap.stop();
      expect(/ICMP echo request/.test(cap.output) && /ICMP echo reply/.test(cap.output), `tcpdump saw: ${cap.output || cap.errors}`);
      return 'SOCK_RAW ICMP (ping, seen by strace), AF_PACKET capture (tcpdump saw request and reply)';
    });
    await check('nginx', async () => {
      const bodies: string[] = [];
      for (const n of [1, 2, 3]) bodies.push((await c.run(['curl', '-sS', '--max-time', '5', `http://10.0.1.1${n}/`])).trim());
      bodies.push((await c.run(['curl', '-sS', '--max-time', '5', 'http://[2001:db8:2::12]/'])).trim());
      expect(bodies.join(' ') === 'rs1 rs2 rs3 rs2', `answers: ${bodies.join(' ')}`);
      return `real servers answer ${bodies.join(' ')} (last over IPv6)`;
    });
    await check('curl through ipvs', async () => {
      await d.run(['ipvsadm', '-A', '-t', '192.0.2.10:80', '-s', 'rr']);
      for (const n of [11, 12, 13]) await d.run(['ipvsadm', '-a', '-t', '192.0.2.10:80', '-r', `10.0.1.${n}:80`, '-m']);
      const got = (await c.sh('for i in 1 2 3; do curl -sS --max-time 5 http://192.0.2.10/; done')).trim().split('\n');
      expect([...got].sort().join(' ') === 'rs1 rs2 rs3', `answers: ${got.join(' ')}`);
      return `NAT VIP 192.0.2.10:80 answered ${got.join(' ')}`;
    });
    await check('node in a host', async () => {
      const v = (await l.host('rs1').run([process.execPath, '-e', 'process.stdout.write(process.version)'])).trim();
      expect(v === process.version, `got ${v}`);
      return `node ${v} runs inside a lab host`;
    });
  }
  await check('teardown', async () => {
    await lab?.stop();
    const left = leaks(diffSnapshots(before, takeSnapshot()), process.pid);
    expect(isEmpty(left), describeDiff(left));
    return 'no namespaces, processes, mounts or temp files left';
  });
  const failed = items.filter((i) => !i.ok);
  out(failed.length === 0 ? `smoke: all ${items.length} checks passed` : `smoke: ${failed.length} of ${items.length} checks FAILED: ${failed.map((f) => f.name).join(', ')}`);
  return failed.length === 0 ? 0 : 1;
}
