// A VRRP forger for the hostile-input tests (vrrp-hostile.test.ts): run inside a namespace, it sends
// well-formed VRRPv3 IPv4 adverts (TTL 255, right checksum) from its own address, as fast as asked.
//   node dist/test/integration/vrrp-forger.js '{"src":"192.0.2.3","vrid":1,"priority":0,"pps":10000,"ms":3000}'
// Prints one line, `sent N in MS ms (busy B) at EPOCH_MS` (B: sends the kernel refused with EAGAIN;
// EPOCH_MS: the first send), then exits.
import { performance } from 'node:perf_hooks';
import {
  AF_INET, IPPROTO_VRRP, IP_MULTICAST_IF, IP_MULTICAST_TTL, IP_TTL, SO_BINDTODEVICE, SOCK_RAW, SOL_IP, SOL_SOCKET, Socket, addressBytes, ifNameToIndex,
} from '../../src/native/index.js';
import { encodeAdvert } from '../../vrrp/packet.js';

interface Forgery {
  src: string;
  /** Default the VRRP group 224.0.0.18. */
  dst?: string;
  /** A unicast advert with its checksum computed over 224.0.0.18, as keepalived up to 1.3.6 sent them. */
  legacyChecksum?: boolean;
  ifname?: string;
  vrid: number;
  priority: number;
  /** Max Adver Int, ms (default 100). */
  intervalMs?: number;
  addresses?: string[];
  /** Wait this long after starting (node's own start-up is then behind us). */
  afterMs?: number;
  /** Print `ready` and send on SIGUSR2 instead (the test picks the moment). */
  onSignal?: boolean;
  /** Packets per second (0 or absent: `count` packets at once). */
  pps?: number;
  ms?: number;
  count?: number;
}

const f = JSON.parse(process.argv[2] ?? '{}') as Forgery;
const dst = f.dst ?? '224.0.0.18';
const ifname = f.ifname ?? 'eth0';
const ifindex = ifNameToIndex(ifname);
const s = Socket.open(AF_INET, SOCK_RAW, IPPROTO_VRRP);
s.setsockopt(SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(`${ifname}\0`));
s.setsockopt(SOL_IP, IP_TTL, 255);
s.setsockopt(SOL_IP, IP_MULTICAST_TTL, 255);
const mreqn = Buffer.alloc(12);
mreqn.writeInt32LE(ifindex, 8);
s.setsockopt(SOL_IP, IP_MULTICAST_IF, mreqn);
addressBytes(f.src); // refuses a bad address early
const msg = Buffer.from(encodeAdvert({ version: 3, family: 'ipv4', vrid: f.vrid, priority: f.priority, advertIntervalMs: f.intervalMs ?? 100,
  addresses: f.addresses ?? ['192.0.2.10'], src: f.src, dst: f.legacyChecksum ? '224.0.0.18' : dst }));
const to = { family: 'inet' as const, address: dst };

let sent = 0, busy = 0;
const one = () => { if (s.send(msg, { to }) === null) busy++; else sent++; };
let start = 0, startEpoch = 0;
if (f.onSignal) {
  const keep = setInterval(() => {}, 1000); // a signal listener alone does not keep node running
  process.once('SIGUSR2', () => { clearInterval(keep); run(); });
  process.stdout.write('ready\n');
} else setTimeout(run, f.afterMs ?? 0);

function run(): void {
start = performance.now();
startEpoch = Date.now();
if (!f.pps) {
  for (let i = 0; i < (f.count ?? 1); i++) one();
  finish();
} else {
  // Paced on the clock: every tick sends what is due by now, so the rate holds however late the loop runs.
  const end = start + (f.ms ?? 1000);
  const tick = () => {
    const now = performance.now();
    const due = Math.floor(((Math.min(now, end) - start) * f.pps!) / 1000);
    while (sent + busy < due) one();
    if (now >= end) finish();
    else setImmediate(tick);
  };
  tick();
}
}

function finish(): void {
  process.stdout.write(`sent ${sent} in ${(performance.now() - start).toFixed(0)} ms (busy ${busy}) at ${startEpoch}\n`);
  s.close();
}
