// Calls the control API of a running lvsd: over its unix socket, or over TCP with a bearer token.
import { request } from 'node:http';

export type ControlEndpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; url: string; token?: string | undefined };

export interface ControlReply {
  status: number;
  /** The parsed JSON body (an object with ok/error on failures). */
  body: unknown;
}

/** The daemon is not there to ask: no socket, nothing listening, or it did not answer. */
export class ControlUnavailableError extends Error {
  override readonly name = 'ControlUnavailableError';
  constructor(message: string, readonly code: string | undefined) { super(message); }
}

export function endpointText(ep: ControlEndpoint): string {
  return ep.kind === 'unix' ? ep.socketPath : ep.url;
}

export function callControl(ep: ControlEndpoint, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 30_000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) { headers['content-type'] = 'application/json'; headers['content-length'] = String(Buffer.byteLength(payload)); }
    let url: URL;
    if (ep.kind === 'unix') url = new URL(path, 'http://lvsd');
    else {
      try { url = new URL(path.replace(/^\//, ''), ep.url.endsWith('/') ? ep.url : `${ep.url}/`); } catch { reject(new Error(`bad control URL '${ep.url}'`)); return; }
      if (url.protocol !== 'http:') { reject(new Error(`control URL '${ep.url}': only http:// is supported (put TLS in front of it if you need it)`)); return; }
      if (ep.token) headers.authorization = `Bearer ${ep.token}`;
    }
    // agent: false — one connection per call; a pooled keep-alive socket to a daemon that restarted fails with EPIPE.
    const req = request(url, { method, headers, agent: false, ...(ep.kind === 'unix' ? { socketPath: ep.socketPath } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try { parsed = JSON.parse(text); } catch { parsed = { ok: false, error: `not JSON from ${endpointText(ep)}: ${text.slice(0, 200)}` }; }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const where = endpointText(ep);
      switch (e.code) {
        case 'ENOENT': reject(new ControlUnavailableError(`lvsd is not running: no control socket at ${where}`, e.code)); break;
        case 'ECONNREFUSED': reject(new ControlUnavailableError(`lvsd is not running: nothing is listening at ${where}`, e.code)); break;
        case 'EACCES': reject(new ControlUnavailableError(`permission denied on ${where} (the control socket is root's)`, e.code)); break;
        case 'ETIMEDOUT': reject(new ControlUnavailableError(`lvsd at ${where} did not answer: ${e.message}`, e.code)); break;
        default: reject(new ControlUnavailableError(`cannot reach lvsd at ${where}: ${e.message}`, e.code));
      }
    });
    req.end(payload);
  });
}
