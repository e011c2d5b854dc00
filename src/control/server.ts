// The control API: JSON over HTTP (node:http) on a unix socket (default /run/lvsd/control.sock, mode
// 0600) or a TCP address. Who may call what: auth.ts.
//
//   const control = await startControl({ daemon, listen: config.global.control.listen, tokenFile, log });
//   ... await control.close();
//
// GET  /status                                  the whole status (status.ts)
// POST /reload                                  reload the configuration file
// POST /servers/drain   {service, server}       weight 0 in IPVS until enabled again
// POST /servers/enable  {service, server}
// POST /vrrp/give-up    {instance, hold?: "30s"} leave mastership, do not preempt for hold
// GET  /events?since=N&boot=B&follow=1          NDJSON: hello, a gap if events were lost, the retained
//                                               events after N, then (follow) live ones and heartbeats
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { readBoundedFile } from '../fs/read-bounded.js';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import type { Listen } from '../config/model.js';
import { parseDuration } from '../config/duration.js';
import { coalesced, createBoundedServer, type Coalesced, DEFAULT_LIMITS, listenerStats, type ListenerLimits } from '../listeners/index.js';
import { rateLimitedLogger, type Logger, type RateLimitedLogger } from '../log/index.js';
import { quoteValue } from '../text/quote.js';
import { authorize, type Transport } from './auth.js';
import { buildStatus } from './status.js';
import { streamEvents, type EventStreamLimits } from '../events/stream.js';
import type { ControlTarget } from './target.js';

export interface ControlOptions {
  daemon: ControlTarget;
  listen: Listen;
  /** File holding the bearer token (global.control.token_file); read on each call that needs it. */
  tokenFile?: string | undefined;
  log?: Logger | undefined;
  /** Connection cap and deadlines (default DEFAULT_LIMITS; maxConnections from global.control.max_connections). */
  limits?: Partial<ListenerLimits> | undefined;
  /** GET /events: heartbeat interval and the unsent-bytes bound (tests shorten them). */
  events?: Partial<EventStreamLimits> | undefined;
}

/** What a client can make us log, behind a rate limit (see rateLimitedLogger). */
interface Logs { log?: Logger | undefined; limited?: RateLimitedLogger | undefined; shared: Shared }

export interface ControlServer {
  /** 'unix:/run/lvsd/control.sock' or 'address:port' (the real port when 0 was asked for). */
  readonly address: string;
  close(): Promise<void>;
}

/** A refused call: HTTP status and words for the caller. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(readonly status: number, message: string) { super(message); }
}

/** Bodies are a few names; anything bigger is a mistake or an attack. */
const MAX_BODY = 64 * 1024;

const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${json(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new ControlError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw new ControlError(400, `the body is not JSON: ${(e as Error).message}`); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ControlError(400, 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

function field(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw new ControlError(400, `'${name}' is required (a non-empty string)`);
  return v;
}

const list = (names: readonly string[]): string => (names.length ? names.join(', ') : '(none)');

/**
 * The configured real server a caller means: its 'address:port' exactly, or its bare address when only
 * one real server of the service has it.
 */
export function resolveServer(target: ControlTarget, service: string, server: string): { service: string; server: string } {
  const vs = target.config.virtual_services.find((v) => v.name === service);
  if (!vs) throw new ControlError(404, `unknown virtual service ${quoteValue(service)}; defined: ${list(target.config.virtual_services.map((v) => v.name))}`);
  const names = (target.balancer?.serverStates() ?? []).filter((s) => s.service === service).map((s) => s.server);
  if (names.includes(server)) return { service, server };
  const bare = server.replace(/^\[(.*)\]$/, '$1');
  const byAddress = names.filter((n) => n.slice(0, n.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1') === bare);
  if (byAddress.length === 1) return { service, server: byAddress[0]! };
  if (byAddress.length > 1) throw new ControlError(409, `${quoteValue(server)} is ambiguous in ${service}: ${byAddress.join(', ')}; name the port`);
  throw new ControlError(404, `unknown real server ${quoteValue(server)} in ${service}; its real servers: ${list(names)}`);
}

async function setDrained(target: ControlTarget, body: Record<string, unknown>, drained: boolean) {
  const { service, server } = resolveServer(target, field(body, 'service'), field(body, 'server'));
  const b = target.balancer;
  if (!b?.setDrained) throw new ControlError(501, 'this lvsd cannot drain real servers (the balancer has no setDrained)');
  const r = await b.setDrained(service, server, drained);
  if (r === false) throw new ControlError(404, `the balancer does not know ${server} in ${service}`);
  // Answer once the kernel has it: `lvsd drain` returning means ipvsadm -Ln shows weight 0.
  await b.settled?.();
  const now = b.serverStates().find((s) => s.service === service && s.server === server);
  return { ok: true, service, server, drained, ...(now ? { up: now.up, weight: now.weight } : {}) };
}

async function giveUp(target: ControlTarget, body: Record<string, unknown>) {
  const instance = field(body, 'instance');
  let holdMs: number | undefined;
  if (body.hold !== undefined && body.hold !== null) {
    const d = parseDuration(body.hold);
    if (!d.ok) throw new ControlError(400, `hold: ${d.message}`);
    holdMs = d.value;
  }
  const engine = target.engine;
  const names = [...(engine?.instances.keys() ?? [])];
  // An announced VIP group (issue #14) by the same command: withdrawn (after its soft drain) for the hold.
  const announcer = target.announcer;
  if ((!engine || !engine.instances.has(instance)) && announcer?.giveUp && announcer.status().groups.some((g) => g.name === instance)) {
    const was = announcer.status().groups.find((g) => g.name === instance)!.state;
    announcer.giveUp(instance, holdMs ?? Infinity);
    return { ok: true, group: instance, was, state: announcer.status().groups.find((g) => g.name === instance)?.state ?? null, holdMs: holdMs ?? null };
  }
  if (!engine || !engine.instances.has(instance)) {
    const groups = announcer?.status().groups.map((g) => g.name) ?? [];
    throw new ControlError(404, `unknown VRRP instance ${quoteValue(instance)}; defined: ${list(names)}${groups.length ? `; announced VIP groups: ${list(groups)}` : ''}`);
  }
  const before = engine.instances.get(instance)!.state;
  if (!(await engine.giveUp(instance, holdMs))) throw new ControlError(404, `unknown VRRP instance ${quoteValue(instance)}; defined: ${list(names)}`);
  return { ok: true, instance, was: before, state: engine.instances.get(instance)?.state ?? null, holdMs: holdMs ?? null };
}

async function reload(target: ControlTarget): Promise<{ status: number; body: unknown }> {
  let r: unknown;
  try { r = await target.reload(); } catch (e) { return { status: 500, body: { ok: false, error: (e as Error)?.message ?? String(e) } }; }
  const obj = typeof r === 'object' && r !== null ? r as Record<string, unknown> : {};
  // A refused reload (bad file) is the caller's problem to fix: 422 with the daemon's reasons.
  if (obj.ok === false) {
    const why = typeof obj.error === 'string' ? obj.error : typeof obj.reason === 'string' ? obj.reason : 'refused';
    return { status: 422, body: { ...obj, ok: false, error: `${why}; the running configuration stays` } };
  }
  return { status: 200, body: { ...obj, ok: true } };
}

type Handler = (target: ControlTarget, body: Record<string, unknown>, shared: Shared) => Promise<{ status: number; body: unknown }>;
/** Answers shared by the callers of one server (see coalesce.ts). */
interface Shared { status: Coalesced<unknown> }
const ok = (p: Promise<unknown>) => p.then((body) => ({ status: 200, body }));
const ROUTES: Record<string, { method: 'GET' | 'POST'; handler: Handler; audit?: true }> = {
  '/status': { method: 'GET', handler: (_t, _b, shared) => ok(shared.status.get()) },
  '/reload': { method: 'POST', handler: (t) => reload(t), audit: true },
  '/servers/drain': { method: 'POST', handler: (t, b) => ok(setDrained(t, b, true)), audit: true },
  '/servers/enable': { method: 'POST', handler: (t, b) => ok(setDrained(t, b, false)), audit: true },
  '/vrrp/give-up': { method: 'POST', handler: (t, b) => ok(giveUp(t, b)), audit: true },
  // Streamed by src/events/stream.ts before the handler would run; listed for 404/405 and authorization.
  '/events': { method: 'GET', handler: () => Promise.resolve({ status: 500, body: { ok: false, error: 'not reached' } }) },
};

/** A bearer token is a line; a token file larger than this is a wrong path (/dev/zero, a log). */
const MAX_TOKEN_FILE = 4096;

async function readToken(file: string | undefined): Promise<string | undefined> {
  if (!file) return undefined;
  try {
    return (await readBoundedFile(file, MAX_TOKEN_FILE)).toString('utf8').trim() || undefined;
  } catch (e) {
    throw new ControlError(500, `cannot read the token file ${file}: ${(e as Error).message}`);
  }
}

/** The names a change was about, for the log; nothing else the caller sent. */
function auditFields(body: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['service', 'server', 'instance', 'hold']) {
    const v = body[k];
    if (typeof v === 'string') out[k] = v.slice(0, 200);
  }
  return out;
}

/** The request's path, or undefined when its target is not a path (`GET //[ HTTP/1.1`, `GET http://x`). */
function pathOf(url: string | undefined): string | undefined {
  if (!url || !url.startsWith('/') || url.startsWith('//')) return undefined;
  try { return new URL(url, 'http://lvsd').pathname; } catch { return undefined; }
}


async function handle(opts: ControlOptions & Logs, transport: Transport, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOf(req.url);
  if (path === undefined) {
    listenerStats('control').badRequests.malformed++;
    send(res, 400, { ok: false, error: 'the request target must be a path such as /status' });
    return;
  }
  const route = ROUTES[path];
  if (!route) { send(res, 404, { ok: false, error: `no such endpoint ${quoteValue(path, 100)}; endpoints: ${Object.keys(ROUTES).join(', ')}` }); return; }
  const method = req.method ?? 'GET';
  if (method !== route.method) { send(res, 405, { ok: false, error: `${path} takes ${route.method}` }, { allow: route.method }); return; }
  const token = transport === 'tcp' ? await readToken(opts.tokenFile) : undefined;
  const auth = authorize({ transport, remoteAddress: req.socket.remoteAddress, method, authorization: req.headers.authorization, token });
  if (!auth.ok) {
    opts.limited?.warn('refused', 'control call refused', { path, peer: req.socket.remoteAddress ?? 'unix', status: auth.status, reason: auth.error });
    send(res, auth.status, { ok: false, error: auth.error }, auth.status === 401 ? { 'www-authenticate': 'Bearer realm="lvsd"' } : {});
    return;
  }
  if (path === '/events') { streamEvents(opts.daemon.events, req, res, { ...opts.events, limited: opts.limited }); return; }
  const body = method === 'POST' ? await readBody(req) : {};
  const r = await route.handler(opts.daemon, body, opts.shared);
  // After a change, the next status must show it.
  if (route.audit) opts.shared.status.invalidate();
  if (route.audit) opts.log?.info(`control ${path}`, { peer: req.socket.remoteAddress ?? 'unix', status: r.status, ...auditFields(body) });
  send(res, r.status, r.body);
}

function onRequest(opts: ControlOptions & Logs, transport: Transport) {
  return (req: IncomingMessage, res: ServerResponse) => {
    handle(opts, transport, req, res).catch((e: unknown) => {
      // The caller hung up while sending its body: nobody to answer, nothing of ours went wrong.
      if (!(e instanceof ControlError) && ((e as NodeJS.ErrnoException)?.code === 'ECONNRESET' || req.socket.destroyed)) {
        listenerStats('control').badRequests.reset++;
        opts.limited?.info('aborted', 'control request aborted by the caller', { path: pathOf(req.url) ?? '(not a path)' });
        res.destroy();
        return;
      }
      const status = e instanceof ControlError ? e.status : 500;
      if (status === 500) opts.limited?.error('failed', 'control request failed', { err: e, path: pathOf(req.url) ?? '(not a path)' });
      if (!res.headersSent) send(res, status, { ok: false, error: (e as Error)?.message ?? String(e) });
      else res.destroy();
    });
  };
}

/** A stale socket from a crashed run is removed; a live one (another lvsd answering) is not. */
async function clearSocketPath(path: string): Promise<void> {
  let st;
  try { st = lstatSync(path); } catch { return; }
  if (!st.isSocket()) throw new Error(`control socket ${path} exists and is not a socket; not touching it`);
  const live = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another process (another lvsd?) is answering on ${path}`);
  unlinkSync(path);
}

function listenOn(server: Server, listen: Listen): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(new Error(`control API cannot listen on ${listenText(listen)}: ${e.message}`));
    server.once('error', onError);
    const done = () => { server.off('error', onError); resolve(); };
    if (listen.kind === 'tcp') { server.listen(listen.port, listen.address, done); return; }
    // The socket is created with no other-bits (umask), then chmod makes its mode certain: connecting
    // to it is everything the API allows. See socketMode() for the group.
    const old = process.umask(0o777 & ~socketMode());
    try { server.listen(listen.path, done); } finally { process.umask(old); }
  });
}

/**
 * 0600 for a daemon whose group is root (started by hand); 0660 when it runs with a group of its own,
 * as the systemd unit does (Group=lvsd), so operators added to that group can use the socket.
 */
export function socketMode(gid = process.getgid?.() ?? 0): number {
  return gid === 0 ? 0o600 : 0o660;
}

/** Say at start what would otherwise show up only as refused calls: no token, or one others can read. */
function checkTokenFile(file: string | undefined, log: Logger | undefined): void {
  if (!file) { log?.warn('control API on TCP without token_file: only status reads from loopback are served'); return; }
  try {
    const st = statSync(file);
    if (st.mode & 0o077) log?.warn(`control token file ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  } catch (e) {
    log?.error(`control token file ${file} cannot be read (${(e as Error).message}): calls that need the token will fail until it can`);
  }
}

export function listenText(listen: Listen): string {
  return listen.kind === 'unix' ? `unix:${listen.path}` : listen.family === 6 ? `[${listen.address}]:${listen.port}` : `${listen.address}:${listen.port}`;
}

export async function startControl(options: ControlOptions): Promise<ControlServer> {
  const { listen } = options;
  const log = options.log ?? options.daemon.log?.child({ component: 'control' });
  // /status reads the whole IPVS table: callers in a loop share one reading (coalesce.ts).
  const shared: Shared = { status: coalesced(() => buildStatus(options.daemon)) };
  const opts: ControlOptions & Logs = { ...options, log, limited: log ? rateLimitedLogger(log) : undefined, shared };
  const transport: Transport = listen.kind;
  // The operator's way in may use half of the descriptor reserve, so a flood of /metrics connections
  // (which stops at the whole reserve) cannot lock root out of `lvsd status` or `lvsd drain`.
  const server = createBoundedServer('control', { ...DEFAULT_LIMITS, ...options.limits }, onRequest(opts, transport), { reserveShare: 0.5 });
  let ino: number | undefined;
  if (listen.kind === 'unix') {
    mkdirSync(dirname(listen.path), { recursive: true, mode: 0o755 });
    await clearSocketPath(listen.path);
  }
  await listenOn(server, listen);
  let address = listenText(listen);
  if (listen.kind === 'unix') {
    chmodSync(listen.path, socketMode());
    ino = lstatSync(listen.path).ino;
  } else {
    const a = server.address();
    if (a && typeof a === 'object') address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }
  opts.log?.info('control API listening', { listen: address });
  if (listen.kind === 'tcp') checkTokenFile(opts.tokenFile, log);
  return {
    address,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      // Only our own socket file: a newer lvsd may already have replaced it.
      if (listen.kind === 'unix') {
        try { if (lstatSync(listen.path).ino === ino) unlinkSync(listen.path); } catch { /* already gone */ }
      }
    }),
  };
}
