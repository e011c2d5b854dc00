// The /metrics endpoint: a plain node:http server on global.metrics.listen.
//
//   const m = await startMetrics({ daemon, listen: config.global.metrics.listen, log });
//   ... m.address  -> { address, port } actually bound (port 0 picks one)
//   await m.close();
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Listen } from '../config/model.js';
import { createRegistry, type MetricsRegistryOptions, type MetricsSource } from './registry.js';

export interface StartMetricsOptions extends MetricsRegistryOptions {
  daemon: MetricsSource;
  listen: Listen;
}

export interface MetricsServer {
  registry: Registry;
  /** Where it listens (tcp: the bound address and port; unix: the path). */
  address: AddressInfo | string;
  /** Drops the IPVS reading cached for scrapes (the next scrape reads the kernel). */
  invalidate(): void;
  close(): Promise<void>;
}

/** A scrape that takes longer than this is answered 503 rather than left hanging. */
const SCRAPE_TIMEOUT_MS = 10_000;

export async function startMetrics(opts: StartMetricsOptions): Promise<MetricsServer> {
  const { registry, ipvsCache } = createRegistry(opts.daemon, opts);
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
    let timer: NodeJS.Timeout | undefined;
    try {
      const body = await Promise.race([
        registry.metrics(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`collecting took more than ${SCRAPE_TIMEOUT_MS} ms`)), SCRAPE_TIMEOUT_MS); }),
      ]);
      res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      log(`metrics: scrape failed: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`scrape failed: ${(e as Error).message}\n`);
    } finally {
      clearTimeout(timer);
    }
  };

  const server = createServer((req, res) => { handle(req, res).catch((e: unknown) => { log(`metrics: ${(e as Error).message}`); res.destroy(); }); });
  server.on('clientError', (_e, socket) => socket.destroy());
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
    invalidate: () => ipvsCache.invalidate(),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
