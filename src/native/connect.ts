// A TCP connect with the socket options Node's net module cannot set before connecting: SO_MARK (so
// policy routing sees the mark on the SYN), SO_BINDTODEVICE, and a source address with a fixed port. The
// addon makes the socket, sets the options, binds and starts the non-blocking connect; completion is a
// writability poll and SO_ERROR, as connect(2) describes for EINPROGRESS.
//
//   const c = TcpConnect.start({ address: '10.0.1.11', port: 80, family: 4 }, { fwmark: 7 }, (err) => {
//     if (err) ... // err.code 'ECONNREFUSED', err.errno 111, err.syscall 'connect'
//     c.close({ reset: true });                     // TCP check: done
//     // or: new net.Socket({ fd: c.detach(), readable: true, writable: true }) // HTTP over it
//   });
//
// start() throws synchronously when the socket cannot even be set up (EPERM for SO_MARK without
// CAP_NET_ADMIN, ENODEV for an unknown interface, EADDRNOTAVAIL for a source address not on this host),
// with code, errno and syscall like every addon error.
import { getSystemErrorName } from 'node:util';
import { addon, encodeSockaddr, netnsPath, SOL_SOCKET } from './index.js';

export const SO_ERROR = 4, SO_LINGER = 13;
const POLL_WRITABLE = 2;

export interface TcpEndpoint { address: string; port: number; family: 4 | 6 }

export interface TcpConnectOptions {
  /** Source address, and port when given (SO_REUSEADDR, so consecutive probes can reuse it). */
  source?: { address: string; port?: number | undefined } | undefined;
  /** SO_MARK (needs CAP_NET_ADMIN). 0 or undefined: no mark. */
  fwmark?: number | undefined;
  /** SO_BINDTODEVICE: send through this interface only. */
  bindInterface?: string | undefined;
  /** Make the socket in this network namespace (a name under /run/netns or a path). */
  netns?: string | undefined;
}

export type ErrnoError = Error & { code: string; errno: number; syscall: string };

/** The Error every addon call throws, for an errno the kernel reported another way (SO_ERROR). */
export function errnoError(errno: number, syscall: string): ErrnoError {
  let code: string;
  try { code = getSystemErrorName(-errno); } catch { code = `E${errno}`; }
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno, syscall });
}

const sockaddr = (e: TcpEndpoint) =>
  encodeSockaddr({ family: e.family === 6 ? 'inet6' : 'inet', address: e.address, port: e.port });

export class TcpConnect {
  private poller: object | null = null;
  private state: 'connecting' | 'connected' | 'failed' | 'closed' | 'detached' = 'connecting';

  private constructor(readonly fd: number) {}

  /** Starts connecting; `done` is called once, with null when connected or the errno error; never after close(). */
  static start(to: TcpEndpoint, opts: TcpConnectOptions, done: (err: ErrnoError | null) => void): TcpConnect {
    const source = opts.source
      ? sockaddr({ address: opts.source.address, port: opts.source.port ?? 0, family: to.family })
      : null;
    const fd = addon.tcpConnect(sockaddr(to), source, opts.fwmark ?? 0, opts.bindInterface ?? null, opts.netns ? netnsPath(opts.netns) : null);
    const c = new TcpConnect(fd);
    const onWritable = () => {
      if (c.state !== 'connecting') return;
      c.stopPolling();
      let err: number;
      try { err = addon.getsockopt(fd, SOL_SOCKET, SO_ERROR); } catch (e) { c.state = 'failed'; done(e as ErrnoError); return; }
      c.state = err === 0 ? 'connected' : 'failed';
      done(err === 0 ? null : errnoError(err, 'connect'));
    };
    try {
      c.poller = addon.poll(fd, onWritable, true, POLL_WRITABLE);
    } catch (e) {
      addon.close(fd);
      throw e;
    }
    return c;
  }

  private stopPolling(): void {
    if (this.poller) { addon.pollStop(this.poller); this.poller = null; }
  }

  /** Closes the socket (at any point; a pending connect is abandoned and `done` is not called). With
   *  reset, a connected socket ends with RST instead of FIN: no TIME_WAIT on either side. */
  close(opts: { reset?: boolean } = {}): void {
    if (this.state === 'closed' || this.state === 'detached') return;
    const reset = opts.reset === true && this.state === 'connected';
    this.stopPolling();
    this.state = 'closed';
    addon.close(this.fd, reset);
  }

  /** SO_LINGER 0: whoever closes this socket later (e.g. Node, after detach) ends it with RST. */
  resetOnClose(): void {
    const linger = Buffer.alloc(8); // struct linger { int l_onoff = 1; int l_linger = 0; }
    linger.writeInt32LE(1, 0);
    addon.setsockopt(this.fd, SOL_SOCKET, SO_LINGER, linger);
  }

  /** Hands the connected descriptor over (e.g. to `new net.Socket({ fd })`), which then owns it. */
  detach(): number {
    if (this.state !== 'connected') throw new Error(`cannot detach a ${this.state} connection`);
    this.stopPolling();
    this.state = 'detached';
    return this.fd;
  }
}
