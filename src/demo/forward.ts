// Localhost ports for services inside the lab. The lab's hosts live in a kernel (UML) whose network
// the host cannot reach, so a port on 127.0.0.1 is carried to the lab host through the lab's own
// channel: one relay process per lab host (this file, run with --lvsd-relay) multiplexes every
// connection over its stdin/stdout, and connects to the target inside the host's namespace.
//
// One relay rather than one process per connection: inside UML a node start costs 0.5-0.7 s and a
// `spawn` round trip 40-60 ms, too slow for a status view polled five times a second.
//
// The mux protocol is one line per frame, ASCII, so frames survive any chunking of the stream:
//   host -> relay   O <id> <port> <address>   open a connection (port 0 and an absolute path: a unix socket)
//                   D <id> <base64>           bytes for the target
//                   E <id>                    the client finished sending (half close)
//                   C <id>                    the client is gone: destroy
//   relay -> host   o <id>                    connected
//                   d <id> <base64>           bytes from the target
//                   e <id>                    the target finished sending
//                   c <id> [reason]           closed (reason when it failed, e.g. ECONNREFUSED)
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { LabHost } from '../lab/lab.js';
import type { LabProcess } from '../lab/process.js';

export type Frame =
  | { t: 'O'; id: number; port: number; address: string }
  | { t: 'D' | 'd'; id: number; data: Buffer }
  | { t: 'E' | 'C' | 'o' | 'e'; id: number }
  | { t: 'c'; id: number; reason?: string };

export function encodeFrame(f: Frame): string {
  switch (f.t) {
    case 'O': return `O ${f.id} ${f.port} ${f.address}\n`;
    case 'D': case 'd': return `${f.t} ${f.id} ${f.data.toString('base64')}\n`;
    case 'c': return f.reason ? `c ${f.id} ${f.reason.replace(/[\r\n]+/g, ' ')}\n` : `c ${f.id}\n`;
    default: return `${f.t} ${f.id}\n`;
  }
}

/** Parses one frame line (without its newline); undefined for anything that is not a frame. */
export function parseFrame(line: string): Frame | undefined {
  const m = /^([ODECodec]) (\d{1,9})(?: (.*))?$/.exec(line);
  if (!m) return undefined;
  const t = m[1] as Frame['t'];
  const id = Number(m[2]);
  const rest = m[3];
  switch (t) {
    case 'O': {
      const o = /^(\d{1,5}) (\S+)$/.exec(rest ?? '');
      if (!o) return undefined;
      const port = Number(o[1]);
      const unix = port === 0 && o[2]!.startsWith('/');
      return unix || (port >= 1 && port <= 65535) ? { t, id, port, address: o[2]! } : undefined;
    }
    case 'D': case 'd':
      if (rest === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(rest)) return undefined;
      return { t, id, data: Buffer.from(rest, 'base64') };
    case 'c': return rest ? { t, id, reason: rest } : { t, id };
    default: return rest === undefined ? { t, id } : undefined;
  }
}

/**
 * The longest frame line kept: a data frame carries one socket read (64 KiB, 88 KiB in base64). A longer
 * line is not a frame; it is skipped up to its newline instead of growing the tail without bound.
 */
export const MAX_FRAME_LINE = 256 * 1024;

/** Splits a byte stream into frame lines, keeping the unfinished tail between chunks. */
export class FrameReader {
  private tail = '';
  /** Inside an over-long line: drop everything up to the next newline. */
  private skipping = false;
  /** Over-long lines dropped so far. */
  overlong = 0;
  push(chunk: Buffer | string): Frame[] {
    let text = chunk.toString();
    if (this.skipping) {
      const nl = text.indexOf('\n');
      if (nl < 0) return [];
      this.skipping = false;
      text = text.slice(nl + 1);
    }
    const lines = (this.tail + text).split('\n');
    this.tail = lines.pop() ?? '';
    if (this.tail.length > MAX_FRAME_LINE) { this.tail = ''; this.skipping = true; this.overlong++; }
    const out: Frame[] = [];
    for (const l of lines) {
      if (l.length > MAX_FRAME_LINE) { this.overlong++; continue; }
      const f = parseFrame(l);
      if (f) out.push(f);
    }
    return out;
  }
}

/** Connections one relay carries at most (the demo's views poll a few ports). */
export const MAX_RELAY_CONNECTIONS = 64;
/** A forwarded connection whose client reads nothing while the target sends is cut past this backlog. */
export const MAX_CLIENT_BACKLOG = 4 * 1024 * 1024;
/** A forwarded connection with no traffic for this long is closed. */
export const FORWARD_IDLE_MS = 60_000;

// ---- the relay: runs inside the lab host ----

function runRelay(): void {
  const sockets = new Map<number, Socket>();
  const send = (f: Frame): void => { process.stdout.write(encodeFrame(f)); };
  const reader = new FrameReader();
  process.stdin.on('data', (chunk: Buffer) => {
    for (const f of reader.push(chunk)) {
      if (f.t === 'O') {
        if (sockets.size >= MAX_RELAY_CONNECTIONS || sockets.has(f.id)) { send({ t: 'c', id: f.id, reason: 'EMFILE' }); continue; }
        const s = f.port === 0 ? connect({ path: f.address, allowHalfOpen: true }) : connect({ port: f.port, host: f.address, allowHalfOpen: true });
        sockets.set(f.id, s);
        let failure: string | undefined;
        s.on('connect', () => send({ t: 'o', id: f.id }));
        s.on('data', (b: Buffer) => send({ t: 'd', id: f.id, data: b }));
        s.on('end', () => send({ t: 'e', id: f.id }));
        s.on('error', (e: NodeJS.ErrnoException) => { failure = e.code ?? e.message; });
        s.on('close', () => {
          if (sockets.get(f.id) === s) sockets.delete(f.id);
          send(failure ? { t: 'c', id: f.id, reason: failure } : { t: 'c', id: f.id });
        });
      } else {
        const s = sockets.get(f.id);
        if (!s) continue;
        if (f.t === 'D') s.write(f.data);
        else if (f.t === 'E') s.end();
        else if (f.t === 'C') { sockets.delete(f.id); s.destroy(); }
      }
    }
  });
  // The host side is gone: nothing can read our output any more.
  process.stdin.on('end', () => process.exit(0));
}

// ---- the host side ----

export type ForwardTarget =
  | {
    /** TCP port inside the lab host. */
    port: number;
    /** Address inside the lab host; default 127.0.0.1 (reaches listeners on 0.0.0.0 too). */
    address?: string;
  }
  /** A unix socket in the lab host (e.g. lvsd's control socket), by absolute path. */
  | { path: string };

function openFrame(id: number, target: ForwardTarget): Frame {
  return 'path' in target ? { t: 'O', id, port: 0, address: target.path } : { t: 'O', id, port: target.port, address: target.address ?? '127.0.0.1' };
}

export interface ForwardListen {
  /** Port on the host; 0 picks a free one. */
  port: number;
  /** Default 127.0.0.1: only this machine. */
  address?: string;
}

/** One lab host's relay, shared by all of that host's forwards. Restarted when it has exited. */
class Relay {
  private proc: Promise<LabProcess> | undefined;
  private readonly conns = new Map<number, Socket>();
  private nextId = 1;
  private writing: Promise<void> = Promise.resolve();
  private readonly reader = new FrameReader();

  constructor(readonly host: LabHost) {}

  private process(): Promise<LabProcess> {
    if (!this.proc) {
      this.proc = this.host.spawnNode(fileURLToPath(import.meta.url), ['--lvsd-relay']).then((p) => {
        p.stdout.on('data', (b: Buffer) => { for (const f of this.reader.push(b)) this.onFrame(f); });
        void p.exited.then(() => {
          this.proc = undefined;
          // Whatever was open through it is gone.
          for (const s of this.conns.values()) s.destroy();
          this.conns.clear();
        });
        return p;
      });
      this.proc.catch(() => { this.proc = undefined; });
    }
    return this.proc;
  }

  /** Starts the relay now rather than on the first connection. */
  async warm(): Promise<void> { await this.process(); }

  private onFrame(f: Frame): void {
    const s = this.conns.get(f.id);
    if (!s) return;
    switch (f.t) {
      case 'o': break;
      case 'd':
        // A client that reads nothing would otherwise make this process buffer the target's output forever.
        if (s.writableLength > MAX_CLIENT_BACKLOG) { this.conns.delete(f.id); s.destroy(); void this.proc?.then((p) => this.send(p, { t: 'C', id: f.id })); break; }
        s.write(f.data);
        break;
      case 'e': s.end(); break;
      case 'c': this.conns.delete(f.id); if (f.reason) s.resetAndDestroy(); else s.end(); break;
    }
  }

  /** Sends frames in order, one lab write at a time; the client socket pauses meanwhile. */
  private send(p: LabProcess, f: Frame, s?: Socket): void {
    s?.pause();
    this.writing = this.writing.then(() => p.write(encodeFrame(f))).then(
      () => { if (s && this.conns.get(f.id) === s && !s.destroyed) s.resume(); },
      () => { s?.destroy(); },
    );
  }

  async accept(s: Socket, target: ForwardTarget): Promise<void> {
    s.pause();
    const id = this.nextId++;
    this.conns.set(id, s);
    let p: LabProcess;
    try {
      p = await this.process();
    } catch {
      this.conns.delete(id);
      s.destroy();
      return;
    }
    // The relay queues bytes while it connects, so data may flow as soon as the open is sent.
    s.on('data', (b: Buffer) => this.send(p, { t: 'D', id, data: b }, s));
    s.on('end', () => { if (this.conns.has(id)) this.send(p, { t: 'E', id }); });
    s.on('close', () => { if (this.conns.delete(id)) this.send(p, { t: 'C', id }); });
    s.on('error', () => { /* close follows */ });
    this.writing = this.writing.then(() => p.write(encodeFrame(openFrame(id, target)))).then(
      () => { if (this.conns.get(id) === s) s.resume(); },
      () => { s.destroy(); },
    );
  }

  async stop(): Promise<void> {
    for (const s of this.conns.values()) s.destroy();
    this.conns.clear();
    const p = await this.proc?.catch(() => undefined);
    if (p) await p.stop(500);
  }
}

/** A host port carried to a port in a lab host. */
export class LabForward {
  private constructor(private readonly server: Server, readonly host: LabHost, readonly target: ForwardTarget, private readonly relay: Relay, private readonly ownsRelay: boolean) {}

  /** The port actually listened on (useful with port 0). */
  get port(): number { return (this.server.address() as AddressInfo).port; }
  get address(): string { return (this.server.address() as AddressInfo).address; }
  /** http://127.0.0.1:PORT, for people and curl. */
  url(path = '/'): string { return `http://${this.address.includes(':') ? `[${this.address}]` : this.address}:${this.port}${path}`; }

  static async start(host: LabHost, target: ForwardTarget, listen: ForwardListen = { port: 0 }, relay?: Relay): Promise<LabForward> {
    const r = relay ?? new Relay(host);
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
      s.setTimeout(FORWARD_IDLE_MS, () => s.destroy());
      void r.accept(s, target);
    });
    // Past the cap new connections are closed on accept, never queued (the relay carries every one).
    server.maxConnections = MAX_RELAY_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.address ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    server.on('error', () => { /* after listen: per-connection errors only */ });
    await r.warm().catch(() => { /* reported per connection; the host may come back */ });
    return new LabForward(server, host, target, r, relay === undefined);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.ownsRelay) await this.relay.stop();
  }
}

export interface ForwardSpec {
  /** What the forward is called, e.g. 'director1 metrics'. */
  name: string;
  host: LabHost;
  target: ForwardTarget;
  listen: ForwardListen;
}

/** Several forwards that share one relay per lab host; close() ends them all. */
export class LabForwards {
  private constructor(readonly forwards: ReadonlyArray<{ name: string; forward: LabForward }>, private readonly relays: Relay[]) {}

  static async start(specs: ForwardSpec[]): Promise<LabForwards> {
    const relays = new Map<LabHost, Relay>();
    const started: Array<{ name: string; forward: LabForward }> = [];
    try {
      for (const s of specs) {
        let r = relays.get(s.host);
        if (!r) { r = new Relay(s.host); relays.set(s.host, r); }
        started.push({ name: s.name, forward: await LabForward.start(s.host, s.target, s.listen, r) });
      }
    } catch (e) {
      await Promise.all(started.map((f) => f.forward.close()));
      await Promise.all([...relays.values()].map((r) => r.stop()));
      throw e;
    }
    return new LabForwards(started, [...relays.values()]);
  }

  get(name: string): LabForward | undefined { return this.forwards.find((f) => f.name === name)?.forward; }

  async close(): Promise<void> {
    await Promise.all(this.forwards.map((f) => f.forward.close()));
    await Promise.all(this.relays.map((r) => r.stop()));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--lvsd-relay') runRelay();
