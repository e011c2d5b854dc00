// Bounded fuzz of every netlink decoder: random bytes and mutations of real kernel replies and iproute2
// requests (test/vectors/netlink). The only error allowed out of a decoder is NetlinkDecodeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  NetlinkDecodeError, decodeMessages, decodeAck, decodeDone, decodeAttributes, decodeLink, decodeAddress, decodeEvent,
  decodeFamily, decodeGenlHeader, genlAttributes, type Attributes,
} from '../../src/netlink/index.js';
import { decodeSockaddr, decodeControl } from '../../src/native/index.js';

const BUDGET_MS = Number(process.env.LVSD_FUZZ_MS ?? 2000);

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../test/vectors/netlink/${name}`, import.meta.url), 'utf8')) as { hex?: string; datagrams?: string[] }[];
const seeds: Buffer[] = [
  ...load('kernel-replies.json').flatMap((v) => v.datagrams!.map((h) => Buffer.from(h, 'hex'))),
  ...load('iproute2.json').map((v) => Buffer.from(v.hex!, 'hex')),
];

// A small deterministic generator, so a failure can be replayed from its seed.
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 0x100000000; };
}

function mutate(src: Buffer, r: () => number): Buffer {
  let b = Buffer.from(src);
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * Math.max(1, b.length));
    switch (Math.floor(r() * 7)) {
      case 0: if (b.length) b[at] = b[at]! ^ (1 << Math.floor(r() * 8)); break; // bit flip
      case 1: if (b.length) b[at] = Math.floor(r() * 256); break; // random byte
      case 2: b = b.subarray(0, Math.floor(r() * b.length)); break; // truncate
      case 3: b = Buffer.concat([b, Buffer.from(Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256)))]); break;
      case 4: if (at + 2 <= b.length) b.writeUInt16LE([0, 1, 3, 4, 0xffff, Math.floor(r() * 0x10000)][Math.floor(r() * 6)]!, at); break; // lengths
      case 5: if (at + 4 <= b.length) b.writeUInt32LE([0, 15, 16, 17, 0xffffffff, Math.floor(r() * 0x100000000)][Math.floor(r() * 6)]!, at); break;
      default: { const from = Math.floor(r() * b.length); b = Buffer.concat([b.subarray(0, at), b.subarray(from)]); } // splice
    }
  }
  return b;
}

function readEverything(a: Attributes): void {
  for (const x of a.list) {
    const readers: ((t: number) => unknown)[] = [
      (t) => a.u8(t), (t) => a.u16(t), (t) => a.u32(t), (t) => a.s32(t), (t) => a.u64(t), (t) => a.be16(t), (t) => a.be32(t),
      (t) => a.string(t), (t) => a.binary(t), (t) => a.ip(t), (t) => a.nested(t), (t) => a.nestedList(t),
    ];
    for (const f of readers) {
      try { f(x.type); } catch (e) { if (!(e instanceof NetlinkDecodeError)) throw e; }
    }
  }
}

/** Runs every decoder on the input; returns normally or throws NetlinkDecodeError, nothing else. */
function decodeAll(b: Buffer): void {
  const guard = (f: () => unknown) => { try { f(); } catch (e) { if (!(e instanceof NetlinkDecodeError)) throw e; } };
  guard(() => readEverything(decodeAttributes(b)));
  guard(() => readEverything(decodeAttributes(b, Math.min(4, b.length))));
  decodeSockaddr(b);
  decodeControl([{ level: 0, type: 8, data: b }, { level: 41, type: 52, data: b }, { level: 41, type: 50, data: b }], {});
  guard(() => {
    for (const m of decodeMessages(b)) {
      guard(() => decodeAck(m));
      guard(() => decodeDone(m));
      guard(() => decodeLink(m));
      guard(() => decodeAddress(m));
      guard(() => decodeEvent(m));
      guard(() => decodeFamily(m));
      guard(() => decodeGenlHeader(m.payload));
      guard(() => readEverything(genlAttributes(m)));
      guard(() => readEverything(decodeAttributes(m.payload, Math.min(16, m.payload.length))));
    }
  });
}

test(`netlink decoders throw only NetlinkDecodeError on random and mutated input (${BUDGET_MS} ms)`, (t) => {
  assert.ok(seeds.length >= 10);
  const seed = Number(process.env.LVSD_FUZZ_SEED ?? Date.now() % 0x7fffffff);
  const r = rng(seed);
  const deadline = Date.now() + BUDGET_MS;
  let cases = 0;
  while (Date.now() < deadline) {
    for (let i = 0; i < 200; i++, cases++) {
      const input = r() < 0.2
        ? Buffer.from(Array.from({ length: Math.floor(r() * 128) }, () => Math.floor(r() * 256)))
        : mutate(seeds[Math.floor(r() * seeds.length)]!, r);
      try {
        decodeAll(input);
      } catch (e) {
        assert.fail(`seed ${seed}, case ${cases}: ${(e as Error).name}: ${(e as Error).message} on ${input.toString('hex')}`);
      }
    }
  }
  t.diagnostic(`${cases} cases, seed ${seed}`);
  assert.ok(cases > 1000, `only ${cases} cases ran`);
});
