// libuv's UDP handle without node:dgram's Socket around it, shared by the DNS and UDP probes.
export interface UdpHandle {
  connect(address: string, port: number): number;
  connect6(address: string, port: number): number;
  send(req: object, list: Buffer[], count: number, hasCallback: boolean): number;
  send6(req: object, list: Buffer[], count: number, hasCallback: boolean): number;
  recvStart(): number;
  close(): void;
  onmessage?: (nread: number, handle: unknown, buf?: Buffer) => void;
  /** The descriptor, once connect has created the socket (for setsockopt and the error queue through the addon). */
  readonly fd: number;
}
export interface UdpWrapBinding { UDP: new () => UdpHandle; SendWrap: new () => { oncomplete?: (status: number) => void } }

/**
 * libuv's UDP handle without node:dgram's Socket around it (as tcp.ts uses the TCP handle): no emitter, no
 * address lookup, no listening/connect events per probe. Same system calls (socket, bind, connect, sendmsg,
 * recvmsg, close); about a third less user CPU per probe on this machine (27 vs 33-47 us). The binding is
 * Node's internal process.binding('udp_wrap') (connect/connect6, send/send6 as lib/dgram.js calls them),
 * probed once at load; node:dgram is the fallback, and the path for source, fwmark and interface.
 */
export const udpWrap: UdpWrapBinding | undefined = (() => {
  try {
    const b = (process as unknown as { binding(name: string): UdpWrapBinding }).binding('udp_wrap');
    const p = b.UDP?.prototype as Partial<UdpHandle> | undefined;
    return typeof b.SendWrap === 'function' && typeof p?.connect === 'function' && typeof p.connect6 === 'function' && typeof p.send === 'function' && typeof p.send6 === 'function' ? b : undefined;
  } catch { return undefined; }
})();

export const fastUdpAvailable = udpWrap !== undefined;
