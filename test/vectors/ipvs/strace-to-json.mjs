#!/usr/bin/env node
// Turns `strace -xx -s 65535 -e trace=sendmsg,recvmsg` logs of ipvsadm into test vectors: every
// netlink message of the IPVS generic netlink family that ipvsadm sent, and every one the kernel
// answered with (dump parts and error replies), as hex. strace decodes the 16-byte nlmsghdr into
// fields, so the header is kept as numbers and the payload (genlmsghdr + attributes) as bytes.
// Usage: node strace-to-json.mjs DIR > vectors.json   (DIR holds NAME.strace, NAME.cmd and NAME.out,
// what ipvsadm printed)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FLAG = { NLM_F_REQUEST: 1, NLM_F_MULTI: 2, NLM_F_ACK: 4, NLM_F_ECHO: 8, NLM_F_CAPPED: 0x100, NLM_F_ACK_TLVS: 0x200,
  NLM_F_ROOT: 0x100, NLM_F_MATCH: 0x200, NLM_F_DUMP: 0x300 };
const TYPE = { NLMSG_NOOP: 1, NLMSG_ERROR: 2, NLMSG_DONE: 3 };
const num = (s) => s.split('|').reduce((a, p) => a | (FLAG[p] ?? TYPE[p] ?? Number(p)), 0);
const typeOf = (s) => TYPE[s] ?? Number(s.split(' ')[0]);
const hex = (s) => s.replace(/\\x/g, '');

const hdr = /\{nlmsg_len=(\d+), nlmsg_type=([^,]+?)(?: \/\*[^*]*\*\/)?, nlmsg_flags=([^,]+), nlmsg_seq=(\d+), nlmsg_pid=(-?\d+)\}, (?:"((?:\\x[0-9a-f]{2})*)"|\{error=(-?\w+))/g;

const dir = process.argv[2];
const out = {};
for (const f of readdirSync(dir).filter((n) => n.endsWith('.strace')).sort()) {
  const name = f.slice(0, -7);
  const command = readFileSync(join(dir, name + '.cmd'), 'utf8').trim();
  const sent = [], received = [];
  let family = 0;
  for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
    const isSend = line.includes(' sendmsg(');
    if (!isSend && !(line.includes(' recvmsg(') && !line.includes('MSG_PEEK'))) continue;
    for (const m of line.matchAll(hdr)) {
      const type = typeOf(m[2]);
      if (type === 0x10) continue; // nlctrl (family resolution): not ours to test
      if (type >= 0x10 && !family) family = type;
      const msg = { len: Number(m[1]), type, flags: num(m[3]) };
      if (m[7] !== undefined) { msg.error = m[7]; if (m[7] === '0') continue; } else msg.payload = hex(m[6]);
      // strace prints the echoed request inside an error reply with the same pattern; skip it
      if (msg.type === family && !isSend && m.index > 0 && line.lastIndexOf('{error=', m.index) > 0) continue;
      (isSend ? sent : received).push(msg);
    }
  }
  const output = existsSync(join(dir, name + '.out')) ? readFileSync(join(dir, name + '.out'), 'utf8') : undefined;
  out[name] = { command, family, output, sent, received };
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
