// The /metrics endpoint: a plain node:http server on global.metrics.listen.
//
//   const m = await startMetrics({ daemon, listen: config.global.metrics.listen, log });
//   ... m.address  -> { address, port } actually bound (port 0 picks one)
//   await m.close();
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Listen } from '../config/model.js';
import { createBoundedServer, DEFAULT_LIMITS, type ListenerLimits } from '../listeners/index.js';
import { createRegistry, type MetricsRegistryOptions, type MetricsSource } from './registry.js';
import { SharedRender } from './shared-render.js';

export interface StartMetricsOptions extends MetricsRegistryOptions {
  daemon: MetricsSource;
  listen: Listen;
  /** Connection cap and deadlines (default DEFAULT_LIMITS; maxConnections from global.metrics.max_connections). */
  limits?: Partial<ListenerLimits>;
}

export interface MetricsServer {
  registry: Registry;
  /** Where it listens (tcp: the bound address and port; unix: the path). */
  address: AddressInfo | string;
  /** Drops the IPVS reading and the rendering cached for scrapes (the next scrape reads the kernel). */
  invalidate(): void;
  /** Renderings so far: scrapes close together share one (shared-render.ts). */
  renders(): number;
  close(): Promise<void>;
}

/** A scrape whose collection takes longer than this is answered 503 (or cut) rather than left hanging. */
const SCRAPE_TIMEOUT_MS = 10_000;

export async function startMetrics(opts: StartMetricsOptions): Promise<MetricsServer> {
  const { registry, ipvsCache, chunks } = createRegistry(opts.daemon, opts);
  const shared = new SharedRender(chunks);
  const log = opts.log ?? (() => {});

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<html><head><title>lvsd</title></head><body><h1>lvsd</h1><p><a href="/metrics">Metrics</a></p></body></html>\n');
      return;
    }
    if (path !== '/metrics') { res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found; try /metrics\n'); return; }
    // Streamed piece by piece (chunked): a 10,000-destination scrape is ~16 MB of text, and building
    // it in one go would hold the event loop (and VRRP's timers) for the whole render.
    const deadline = Date.now() + SCRAPE_TIMEOUT_MS;
    let started = false;
    try {
      for await (const piece of shared.pieces()) {
        if (Date.now() > deadline) throw new Error(`collecting took more than ${SCRAPE_TIMEOUT_MS} ms`);
        if (!started) { res.writeHead(200, { 'content-type': registry.contentType }); started = true; }
        if (req.method === 'HEAD') continue;
        if (!res.write(piece)) await new Promise<void>((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
        if (res.destroyed) return;
      }
      if (!started) res.writeHead(200, { 'content-type': registry.contentType });
      res.end();
    } catch (e) {
      log(`metrics: scrape failed: ${(e as Error).message}`);
      // Once the status line is out, cutting the connection is the only way to say the text is incomplete.
      if (started) { res.destroy(); return; }
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`scrape failed: ${(e as Error).message}\n`);
    }
  };

  // A scrape of 10,000 destinations streams for seconds: the idle deadline counts only silence.
  const limits: ListenerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const server = createBoundedServer('metrics', limits, (req, res) => { handle(req, res).catch((e: unknown) => { log(`metrics: ${(e as Error).message}`); res.destroy(); }); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => { server.off('error', reject); resolve(); };
    if (opts.listen.kind === 'unix') server.listen(opts.listen.path, done);
    else server.listen({ host: opts.listen.address, port: opts.listen.port }, done);
  });
  server.on('error', (e) => log(`metrics: ${e.message}`));
  const bound = server.address();
  return {
    registry,
    address: bound ?? '',
    invalidate: () => { ipvsCache.invalidate(); shared.invalidate(); },
    renders: () => shared.renders,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
