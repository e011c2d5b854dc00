// TCP_CHECK: up when a connection to the target completes within the timeout. The connection is closed
// at once; nothing is sent.
import { connect } from 'node:net';
import { describeSocketError, down, formatMs, up, type CheckOutcome, type CheckTarget } from './outcome.js';

export interface TcpProbeOptions {
  timeout: number;
  sourceAddress?: string | undefined;
  sourcePort?: number | undefined;
}

export function probeTcp(t: CheckTarget, o: TcpProbeOptions): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    let done = false;
    const sock = connect({
      host: t.address, port: t.port, family: t.family,
      ...(o.sourceAddress ? { localAddress: o.sourceAddress } : {}),
      ...(o.sourcePort ? { localPort: o.sourcePort } : {}),
    });
    const finish = (r: CheckOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish(down(`timed out after ${formatMs(o.timeout)}`)), o.timeout);
    sock.once('connect', () => finish(up()));
    sock.once('error', (e) => finish(down(describeSocketError(e))));
  });
}
