// Test/benchmark helper for VRRP: a LAN of host network namespaces (directors a, b and a client) on
// one bridge, lvsd's VRRP entry or keepalived running inside them, and a packet capture. Namespaces
// carry this process's pid so parallel runs never collide; stop() removes everything it made.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const VRRP_MAIN = join(ROOT, 'dist/vrrp/main.js');

export const canRunNetns = (): boolean => process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
export const haveKeepalived = (): boolean => spawnSync('keepalived', ['--version'], { stdio: 'ignore' }).status === 0;

export function sh(args: string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout ?? '';
}

export interface Node { ns: string; ifname: string; v4: string; v6: string; mac: string }

let counter = 0;
/** Lans not stopped yet: removed on process exit too, so a failing test or benchmark leaves nothing. */
const live = new Set<VrrpLan>();
process.on('exit', () => { for (const l of live) l.stop(); });

export class VrrpLan {
  readonly prefix: string;
  readonly nodes: Record<string, Node> = {};
  readonly dir: string;
  private procs: ChildProcess[] = [];

  /** `tag`: the first letters of every name made (namespaces, links), e.g. 'lvh' for the hostile-input tests. */
  constructor(names: string[] = ['a', 'b', 'c'], tag = 'lvv') {
    this.prefix = `${tag.slice(0, 3)}${process.pid % 100000}x${counter++}`;
    this.dir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    live.add(this);
    const br = `${this.prefix}-br`;
    try {
      sh(['ip', 'netns', 'add', br]);
      sh(['ip', '-n', br, 'link', 'add', 'br0', 'type', 'bridge']);
      sh(['ip', '-n', br, 'link', 'set', 'br0', 'up']);
      names.forEach((n, i) => {
        const ns = `${this.prefix}-${n}`;
        sh(['ip', 'netns', 'add', ns]);
        sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
        const mac = `02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`;
        sh(['ip', 'link', 'add', `${this.prefix}${n}`, 'address', mac, 'netns', ns, 'type', 'veth', 'peer', 'name', `p${n}`, 'netns', br]);
        sh(['ip', '-n', ns, 'link', 'set', `${this.prefix}${n}`, 'name', 'eth0']);
        sh(['ip', '-n', br, 'link', 'set', `p${n}`, 'master', 'br0', 'up']);
        const v4 = `192.0.2.${i + 1}`, v6 = `2001:db8::${i + 1}`;
        sh(['ip', '-n', ns, 'addr', 'add', `${v4}/24`, 'dev', 'eth0']);
        sh(['ip', '-n', ns, 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad']);
        sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
        this.nodes[n] = { ns, ifname: 'eth0', v4, v6, mac };
      });
    } catch (e) {
      this.stop();
      throw e;
    }
  }

  get bridgeNs(): string { return `${this.prefix}-br`; }

  /** Runs a command in a node's namespace. */
  exec(node: string, args: string[], opts: { allowFail?: boolean } = {}): string {
    return sh(['ip', 'netns', 'exec', this.nodes[node]!.ns, ...args], opts);
  }

  file(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }

  read(name: string): string {
    const p = join(this.dir, name);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }

  /** Starts a process in a node's namespace; its stdout+stderr lines are collected. */
  spawn(node: string, args: string[]): Proc {
    const child = spawn('ip', ['netns', 'exec', this.nodes[node]!.ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(child);
    return new Proc(child);
  }

  lvsd(node: string, yaml: string): Proc {
    const cfg = this.file(`${node}-${counter++}.yaml`, yaml);
    return this.spawn(node, [process.execPath, VRRP_MAIN, '-c', cfg]);
  }

  /** keepalived (VRRP only) in the foreground; its state comes from the -D log (kaState). */
  keepalived(node: string, conf: string): Proc {
    const cfg = this.file(`${node}-keepalived.conf`, `global_defs {\n  router_id ${this.prefix}${node}\n}\n${conf}`);
    const pid = join(this.dir, `${node}-ka`);
    return this.spawn(node, ["keepalived", "-n", "-l", "-D", "--vrrp", "-f", cfg, "-i", `${this.prefix}${node}`,
      "-p", `${pid}.pid`, "-r", `${pid}-vrrp.pid`]);
  }

  addrs(node: string): string {
    return this.exec(node, ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
  }

  hasVip(node: string, vip: string): boolean {
    return this.addrs(node).includes(` ${vip}/`);
  }

  stop(): void {
    if (!live.delete(this)) return;
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
    // ip netns exec's child keeps running after the wrapper dies only if it is not in our group: kill
    // whatever is left in the namespaces before deleting them.
    for (const n of Object.values(this.nodes)) {
      const pids = sh(['ip', 'netns', 'pids', n.ns], { allowFail: true }).split('\n').filter(Boolean);
      for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
      sh(['ip', 'netns', 'del', n.ns], { allowFail: true });
    }
    sh(['ip', 'netns', 'del', this.bridgeNs], { allowFail: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class Proc {
  readonly lines: string[] = [];
  private waiters: { re: RegExp; from: number; resolve: (l: string) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => { if (w.re.test(line)) { w.resolve(line); return false; } return true; });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
  }

  /** Resolves with the first line (already seen, or to come) matching re. */
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}; output:\n${this.lines.join('\n')}`)), timeoutMs);
      this.waiters.push({ re, from: this.lines.length, resolve: (l) => { clearTimeout(t); resolve(l); } });
    });
  }

  /** Waits for a line matching re that appears after the current output, or after line `mark`. */
  waitForNext(re: RegExp, timeoutMs = 10_000, mark?: number): Promise<string> {
    if (mark !== undefined) {
      const seen = this.lines.slice(mark).find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}; output:\n${this.lines.join('\n')}`)), timeoutMs);
      this.waiters.push({ re, from: this.lines.length, resolve: (l) => { clearTimeout(t); resolve(l); } });
    });
  }

  kill(sig: NodeJS.Signals): void { try { this.child.kill(sig); } catch { /* gone */ } }
}

/** An lvsd VRRP instance in YAML. */
export function instanceYaml(o: {
  name: string; vrid: number; priority: number; version?: 2 | 3; interval?: string; vips: string[];
  preempt?: boolean; preemptDelay?: string; unicast?: { source: string; peers: string[] }; extra?: string;
}): string {
  return [
    `  - name: ${o.name}`,
    `    interface: eth0`,
    `    vrid: ${o.vrid}`,
    `    priority: ${o.priority}`,
    `    version: ${o.version ?? 3}`,
    `    advert_interval: ${o.interval ?? '100ms'}`,
    `    virtual_ips: [${o.vips.join(', ')}]`,
    ...(o.preempt === false ? ['    preempt: false'] : []),
    ...(o.preemptDelay ? [`    preempt_delay: ${o.preemptDelay}`] : []),
    ...(o.unicast ? [`    unicast: {source: ${o.unicast.source}, peers: [${o.unicast.peers.join(', ')}]}`] : []),
    ...(o.extra ? [o.extra] : []),
  ].join('\n');
}

export const configYaml = (instances: string[], more = ''): string => `vrrp_instances:\n${instances.join('\n')}\n${more}`;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
