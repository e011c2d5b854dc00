// A real server whose behaviour a test changes at runtime, for checker tests that nginx cannot serve:
// a chosen status, body, headers or delay, a hung or reset connection, TLS.
//
//   node dist/src/lab/realserver.js --name rs1 [--port 8080] [--tls CERT KEY] [--admin-port 8081]
//
// Control: one JSON object per line on stdin, or a PUT/POST of the same JSON to
// http://HOST:ADMIN/state. Fields: status, body, headers, delayMs, mode ('normal' | 'hang': accept
// and never answer | 'reset': close the connection at once). {"reset": true} restores the defaults.
// Every change is acknowledged on stdout as `state {json}`; every request is logged as
// `request METHOD URL FROM`. It prints `listening PORT` once it accepts connections.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Socket } from 'node:net';

export interface RealServerState {
  status: number;
  body: string;
  headers: Record<string, string>;
  delayMs: number;
  mode: 'normal' | 'hang' | 'reset';
}

export function defaultState(name: string): RealServerState {
  return { status: 200, body: `${name}\n`, headers: {}, delayMs: 0, mode: 'normal' };
}

/** Applies a control message; unknown or ill-typed fields are reported, never applied. */
export function applyControl(state: RealServerState, name: string, msg: unknown): { state: RealServerState; errors: string[] } {
  const errors: string[] = [];
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return { state, errors: ['control message must be a JSON object'] };
  const m = msg as Record<string, unknown>;
  let next: RealServerState = m.reset === true ? defaultState(name) : { ...state, headers: { ...state.headers } };
  for (const [k, v] of Object.entries(m)) {
    switch (k) {
      case 'reset': break;
      case 'status':
        if (Number.isInteger(v) && (v as number) >= 100 && (v as number) <= 999) next.status = v as number; else errors.push('status must be an integer 100-999');
        break;
      case 'body': if (typeof v === 'string') next.body = v; else errors.push('body must be a string'); break;
      case 'delayMs': if (typeof v === 'number' && v >= 0) next.delayMs = v; else errors.push('delayMs must be a number >= 0'); break;
      case 'mode':
        if (v === 'normal' || v === 'hang' || v === 'reset') next.mode = v; else errors.push('mode must be normal, hang or reset');
        break;
      case 'headers':
        if (v && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'string')) next.headers = { ...(v as Record<string, string>) };
        else errors.push('headers must be an object of strings');
        break;
      default: errors.push(`unknown field ${k}`);
    }
  }
  if (errors.length) next = state;
  return { state: next, errors };
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function main(argv: string[]): void {
  const name = arg(argv, '--name') ?? 'realserver';
  const port = Number(arg(argv, '--port') ?? 8080);
  const adminPort = arg(argv, '--admin-port');
  const tlsAt = argv.indexOf('--tls');
  let state = defaultState(name);
  const out = (line: string): void => { process.stdout.write(line + '\n'); };
  const control = (msg: unknown): { ok: boolean; errors: string[]; state: RealServerState } => {
    const r = applyControl(state, name, msg);
    state = r.state;
    out(`state ${JSON.stringify({ ok: r.errors.length === 0, errors: r.errors, state })}`);
    return { ok: r.errors.length === 0, errors: r.errors, state };
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    out(`request ${req.method} ${req.url} ${req.socket.remoteAddress}`);
    const s = state;
    if (s.mode === 'hang') return;
    if (s.mode === 'reset') { req.socket.resetAndDestroy?.() ?? req.socket.destroy(); return; }
    const answer = (): void => {
      res.writeHead(s.status, { 'content-type': 'text/plain', 'x-lab-server': name, ...s.headers });
      res.end(s.body);
    };
    if (s.delayMs > 0) setTimeout(answer, s.delayMs); else answer();
  };

  const server = tlsAt >= 0
    ? createHttpsServer({ cert: readFileSync(argv[tlsAt + 1]!), key: readFileSync(argv[tlsAt + 2]!) }, handler)
    : createHttpServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.listen(port, '::', () => out(`listening ${port}`));

  if (adminPort) {
    createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        if (req.url !== '/state') { res.writeHead(404).end(); return; }
        if (req.method === 'GET') { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state) + '\n'); return; }
        let msg: unknown;
        try { msg = JSON.parse(body); } catch { res.writeHead(400).end('body is not JSON\n'); return; }
        const r = control(msg);
        res.writeHead(r.ok ? 200 : 400, { 'content-type': 'application/json' }).end(JSON.stringify(r) + '\n');
      });
    }).listen(Number(adminPort), '::');
  }

  createInterface({ input: process.stdin }).on('line', (line) => {
    if (!line.trim()) return;
    try { control(JSON.parse(line)); } catch { out(`state ${JSON.stringify({ ok: false, errors: ['not JSON'], state })}`); }
  });
  const stop = (): void => { server.close(); for (const s of sockets) s.destroy(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) main(process.argv.slice(2));
