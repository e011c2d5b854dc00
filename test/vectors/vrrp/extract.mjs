// Turn a tcpdump capture of VRRP adverts into a JSON test vector file (run by capture.sh).
// Each packet: the IP header + VRRP payload as hex (Ethernet header stripped), and the fields that
// tshark (an independent decoder) reads from it, so tests never judge our parser by our own encoder.
// Usage: node extract.mjs pcap/NAME.pcap conf/NAME.conf > NAME.json
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';

const [pcapPath, confPath] = process.argv.slice(2);
const buf = readFileSync(pcapPath);
const magic = buf.readUInt32LE(0);
if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${pcapPath}: not a little-endian pcap`);
if (buf.readUInt32LE(20) !== 1) throw new Error(`${pcapPath}: link type is not Ethernet`);
const frames = [];
for (let off = 24; off + 16 <= buf.length; ) {
  const caplen = buf.readUInt32LE(off + 8);
  const frame = buf.subarray(off + 16, off + 16 + caplen);
  off += 16 + caplen;
  let type = frame.readUInt16BE(12);
  let l3 = 14;
  if (type === 0x8100) { type = frame.readUInt16BE(16); l3 = 18; }
  frames.push(frame.subarray(l3).toString('hex'));
}

const fields = ['ip.src', 'ip.dst', 'ip.ttl', 'ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'vrrp.version', 'vrrp.type',
  'vrrp.virt_rtr_id', 'vrrp.prio', 'vrrp.addr_count', 'vrrp.auth_type', 'vrrp.adver_int', 'vrrp.short_adver_int',
  'vrrp.checksum', 'vrrp.checksum.status', 'vrrp.ip_addr', 'vrrp.ipv6_addr', 'vrrp.auth_string'];
const out = execFileSync('tshark', ['-r', pcapPath, '-T', 'fields', '-E', 'separator=\t', '-E', 'aggregator=,',
  '-E', 'occurrence=a', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
const rows = out.split('\n').filter((l) => l.length > 0);
if (rows.length !== frames.length) throw new Error(`tshark saw ${rows.length} packets, pcap has ${frames.length}`);

let packets = rows.map((row, i) => {
  const v = row.split('\t');
  const t = Object.fromEntries(fields.map((f, j) => [f, v[j] ?? '']).filter(([, x]) => x !== ''));
  return { hex: frames[i], tshark: t };
});
// A fast instance sends many identical-but-for-nothing adverts; keep the first six and the last two.
if (packets.length > 8) packets = [...packets.slice(0, 6), ...packets.slice(-2)];

const name = basename(pcapPath, '.pcap');
const version = execFileSync('keepalived', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  .split('\n')[0] || execFileSync('sh', ['-c', 'keepalived --version 2>&1 | head -1'], { encoding: 'utf8' }).trim();
const doc = {
  scenario: name,
  source: `${version.trim()} in a network namespace, captured with tcpdump on the veth peer (see capture.sh)`,
  config: readFileSync(confPath, 'utf8'),
  packets,
};
process.stdout.write(JSON.stringify(doc, null, 1) + '\n');
