// The test-side handle of a realserver.ts process running in a lab host.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LabProcess } from './process.js';
import type { RealServerState } from './realserver.js';

export interface RealServerOptions {
  port?: number;
  /** Serve HTTPS with a self-signed certificate for `name` (made with openssl in the lab directory). */
  tls?: boolean;
  adminPort?: number;
  name?: string;
}

export class RealServerHandle {
  constructor(readonly process: LabProcess, readonly name: string, readonly port: number, readonly cert?: string) {}

  /** Changes the server's behaviour; resolves with the new state once the server acknowledged it. */
  async set(change: Partial<RealServerState> | { reset: true }): Promise<RealServerState> {
    const acks = (): string[] => [...this.process.output.matchAll(/^state (.*)$/gm)].map((m) => m[1]!);
    const seen = acks().length;
    await this.process.write(JSON.stringify(change) + '\n');
    const line = await this.process.waitUntil(() => acks()[seen], { timeoutMs: 10_000, what: 'a state acknowledgement' });
    const ack = JSON.parse(line) as { ok: boolean; errors: string[]; state: RealServerState };
    if (!ack.ok) throw new Error(`realserver ${this.name}: ${ack.errors.join('; ')}`);
    return ack.state;
  }

  /** Requests served so far, as logged: "METHOD URL FROM". */
  requests(): string[] {
    return [...this.process.output.matchAll(/^request (.*)$/gm)].map((m) => m[1]!);
  }

  stop(): Promise<unknown> { return this.process.stop(); }
}

/** A self-signed certificate and key for `cn` in dir (reused when present). */
export function selfSignedCert(dir: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  if (!existsSync(cert)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  }
  return { cert, key };
}
