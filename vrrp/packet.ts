// The VRRP advertisement codec: bytes in, values out, and back (RFC 3768 §5.3, RFC 5798 §5.2).
//
//   0                   1                   2                   3
//   | Version | Type  | Virtual Rtr ID |   Priority    | Count IPvX Addr |
//   v3: | (rsvd) | Max Adver Int (12 bits, centiseconds) |  Checksum  |
//   v2: |   Auth Type   | Adver Int (8 bits, seconds)    |  Checksum  |
//   IPvX addresses (4 or 16 bytes each), then v2 only: 8 bytes of authentication data.
//
// Reception is in two steps, like FRR's vrrpd: parseVrrp() answers "is this a valid VRRP packet?"
// using only the bytes and what the socket saw (source, destination, TTL); match.ts answers "is it
// for this instance?". Neither throws on any input: every refusal is a typed, enumerated reason.
import {
  addressLength,
  formatAddress,
  isMulticast,
  parseAddress,
  type Family,
} from './address.js';
import { internetChecksum, pseudoHeaderChecksum } from './checksum.js';
import {
  IPPROTO_VRRP,
  VRRP_AUTH_IP_AH,
  VRRP_AUTH_NONE,
  VRRP_AUTH_SIMPLE_PASSWORD,
  VRRP_HEADER_LENGTH,
  VRRP_TTL,
  VRRP_TYPE_ADVERTISEMENT,
  VRRP_V2_AUTH_DATA_LENGTH,
  VRRP_V2_MAX_ADVER_INT_S,
  VRRP_V3_MAX_ADVER_INT_CS,
} from './constants.js';
import type { PacketDropReason } from './reasons.js';

export type VrrpVersion = 2 | 3;

/** A decoded advertisement. Field names follow RFC 5798 §5.2 / RFC 3768 §5.3. */
export interface VrrpAdvertisement {
  version: VrrpVersion;
  family: Family;
  type: number;
  vrid: number;
  priority: number;
  /** The IPvX addresses, canonical text, in packet order; their count is `addresses.length`. */
  addresses: string[];
  /** The raw interval field: v2 Adver Int in seconds, v3 Max Adver Int in centiseconds. */
  adverInt: number;
  /** The same interval in milliseconds, for either version. */
  advertIntervalMs: number;
  /** v3: the 4 reserved bits in front of Max Adver Int (sent as 0, ignored on receipt). v2: 0. */
  reserved: number;
  /** v2 Auth Type; null for v3, which has no authentication (RFC 5798 §9). */
  authType: number | null;
  /** v2 Authentication Data (8 bytes); null for v3. */
  authData: Uint8Array | null;
  checksum: number;
  /** True when the checksum only matched over the multicast group (see ReceiveMeta.unicastChecksumCompat). */
  legacyChecksum: boolean;
  /** IP source and destination as the socket reported them. */
  src: string;
  dst: string;
  ttl: number;
}

/**
 * What parseVrrp returns: the fields as plain properties, except `addresses`, a getter that formats
 * the address block on first read. A forged flood of 255-address adverts (for another VRID, or a
 * list that is not ours) then costs no 255 strings per packet: match.ts compares the wire bytes.
 * Being on the prototype, `addresses` is not copied by a spread or JSON.stringify: read it.
 */
export class ParsedAdvertisement implements VrrpAdvertisement {
  #block: Uint8Array | null;
  #addresses: string[] | null = null;
  #src: Uint8Array;
  constructor(
    readonly version: VrrpVersion, readonly family: Family, readonly type: number, readonly vrid: number, readonly priority: number,
    /** The addresses as on the wire (count x 4 or 16 bytes), a copy. */
    block: Uint8Array,
    readonly adverInt: number, readonly advertIntervalMs: number, readonly reserved: number,
    readonly authType: number | null, readonly authData: Uint8Array | null, readonly checksum: number,
    readonly legacyChecksum: boolean, readonly src: string, readonly dst: string, readonly ttl: number,
    /** The source address as bytes (network order). */
    srcBytes: Uint8Array,
  ) {
    this.#block = block;
    this.#src = srcBytes;
  }

  /** `src` as bytes, for comparisons without parsing the text again. */
  get srcBytes(): Uint8Array {
    return this.#src;
  }

  get addresses(): string[] {
    if (this.#addresses === null) {
      const block = this.#block!, width = addressLength(this.family), out: string[] = [];
      for (let at = 0; at < block.length; at += width) out.push(formatAddress(block.subarray(at, at + width)));
      this.#addresses = out;
    }
    return this.#addresses;
  }

  /** Replacing the list (tests) also forgets the wire bytes, so the two never disagree. */
  set addresses(list: string[]) {
    this.#addresses = list;
    this.#block = null;
  }

  /** The address block as received, or null once `addresses` was replaced. */
  get addressBytes(): Uint8Array | null {
    return this.#block;
  }
}

export interface ReceiveMeta {
  family: Family;
  /** IP source / destination of the datagram (text or network-order bytes). */
  src: string | Uint8Array;
  dst: string | Uint8Array;
  /** IPv4 TTL or IPv6 Hop Limit as received (IP header, or IP_TTL / IPV6_HOPLIMIT control message). */
  ttlOrHopLimit: number;
  /**
   * Check TTL 255 on unicast-addressed adverts too (default true: RFC 5798 §7.1 makes no exception
   * for unicast). lvsd's channel (socket.ts) passes false: whether a unicast advert may carry less
   * depends on its sender (a peer's min_ttl / max_ttl), which match.ts checks per instance. Multicast
   * adverts are always checked here.
   */
  checkUnicastTtl?: boolean;
  /**
   * Also accept a unicast VRRPv3 IPv4 advert whose checksum was computed over the multicast group
   * 224.0.0.18 instead of the real destination, as keepalived up to 1.3.6 sent them; the packet is
   * flagged `legacyChecksum`. Default false here (parseVrrp alone is strict). lvsd's receive channel
   * (socket.ts) passes true and each instance decides with `unicast_checksum_compat` (default true):
   * keepalived 2.2.7 accepts them by default as well (vrrp.c vrrp_check_packet falls back to the group
   * address unless `old_unicast_checksum never`), and then also sends that way; lvsd always sends
   * the RFC 5798 checksum.
   */
  unicastChecksumCompat?: boolean;
}

export type ParseResult =
  | { ok: true; packet: VrrpAdvertisement }
  | { ok: false; reason: PacketDropReason; detail: string };

const VRRP_GROUP_IPV4 = Uint8Array.of(224, 0, 0, 18);

const drop = (reason: PacketDropReason, detail: string): ParseResult => ({ ok: false, reason, detail });

function toBytes(family: Family, a: string | Uint8Array): Uint8Array | null {
  if (typeof a === 'string') return parseAddress(family, a);
  return a.length === addressLength(family) ? a : null;
}

/** The length a VRRP message with `count` addresses must have. */
export function expectedLength(version: VrrpVersion, family: Family, count: number): number {
  return VRRP_HEADER_LENGTH + count * addressLength(family) + (version === 2 ? VRRP_V2_AUTH_DATA_LENGTH : 0);
}

/**
 * Step (a): validate a VRRP message (the IP payload, without the IP header) and decode it.
 * Checks, in RFC 5798 §7.1 order: TTL/hop limit, version, type, complete length, checksum, and for
 * v2 an authentication type lvsd implements. VRID, auth data and intervals are match.ts's business.
 */
export function parseVrrp(bytes: Uint8Array, meta: ReceiveMeta): ParseResult {
  const family = meta.family;
  const srcBytes = toBytes(family, meta.src);
  const dstBytes = toBytes(family, meta.dst);
  if (!srcBytes || !dstBytes) return drop('ip_header_invalid', `source or destination is not an ${family} address`);

  const ttl = meta.ttlOrHopLimit;
  if (ttl !== VRRP_TTL && (isMulticast(dstBytes) || meta.checkUnicastTtl !== false)) {
    return drop('ttl_invalid', `${family === 'ipv4' ? 'TTL' : 'hop limit'} ${ttl}, expected ${VRRP_TTL}`);
  }
  if (bytes.length < VRRP_HEADER_LENGTH) {
    return drop('too_short', `${bytes.length} bytes, the VRRP header alone is ${VRRP_HEADER_LENGTH}`);
  }
  const version = bytes[0]! >> 4;
  const type = bytes[0]! & 0x0f;
  if (version !== 2 && version !== 3) return drop('version_invalid', `version ${version}`);
  if (version === 2 && family === 'ipv6') return drop('version_invalid', 'version 2 over IPv6');
  if (type !== VRRP_TYPE_ADVERTISEMENT) return drop('type_invalid', `type ${type}`);

  const count = bytes[3]!;
  const want = expectedLength(version, family, count);
  if (bytes.length !== want) {
    return drop('length_mismatch', `${bytes.length} bytes, but ${count} addresses make ${want}`);
  }

  const checksum = (bytes[6]! << 8) | bytes[7]!;
  // Summing a message that includes its own checksum gives 0 when the checksum is right.
  let legacyChecksum = false;
  if ((version === 3 ? pseudoHeaderChecksum(srcBytes, dstBytes, bytes) : internetChecksum(bytes)) !== 0) {
    const group = VRRP_GROUP_IPV4;
    legacyChecksum =
      version === 3 && family === 'ipv4' && meta.unicastChecksumCompat === true && !isMulticast(dstBytes) &&
      pseudoHeaderChecksum(srcBytes, group, bytes) === 0;
    if (!legacyChecksum) {
      const expect = computeChecksum(version, bytes, srcBytes, dstBytes);
      return drop('checksum_invalid', `checksum 0x${hex4(checksum)}, computed 0x${hex4(expect)}`);
    }
  }

  let authType: number | null = null;
  let authData: Uint8Array | null = null;
  let adverInt: number;
  let reserved = 0;
  if (version === 2) {
    authType = bytes[4]!;
    adverInt = bytes[5]!;
    if (authType === VRRP_AUTH_IP_AH) {
      return drop('auth_type_unsupported', 'auth type 2 (IP Authentication Header) is not supported by lvsd');
    }
    if (authType !== VRRP_AUTH_NONE && authType !== VRRP_AUTH_SIMPLE_PASSWORD) {
      return drop('auth_type_unsupported', `auth type ${authType}`);
    }
    authData = bytes.slice(want - VRRP_V2_AUTH_DATA_LENGTH, want);
  } else {
    reserved = bytes[4]! >> 4;
    adverInt = ((bytes[4]! & 0x0f) << 8) | bytes[5]!;
  }

  // A copy (Buffer's own slice would share the receive buffer): the packet may outlive it.
  const block = Uint8Array.prototype.slice.call(bytes, VRRP_HEADER_LENGTH, VRRP_HEADER_LENGTH + count * addressLength(family));
  return {
    ok: true,
    packet: new ParsedAdvertisement(version, family, type, bytes[1]!, bytes[2]!, block, adverInt,
      version === 2 ? adverInt * 1000 : adverInt * 10, reserved, authType, authData, checksum, legacyChecksum,
      formatAddress(srcBytes), formatAddress(dstBytes), ttl, Uint8Array.prototype.slice.call(srcBytes)),
  };
}

export interface Ipv4Datagram {
  src: string;
  dst: string;
  ttl: number;
  protocol: number;
  headerLength: number;
  payload: Uint8Array;
}

/**
 * An IPv4 raw socket hands over the whole datagram; split off the header so parseVrrp sees the
 * same VRRP message an IPv6 raw socket would deliver. IPv4 header checksum is the kernel's job.
 */
export function parseIpv4Datagram(
  bytes: Uint8Array,
): { ok: true; datagram: Ipv4Datagram } | { ok: false; reason: PacketDropReason; detail: string } {
  if (bytes.length < 20) return { ok: false, reason: 'ip_header_invalid', detail: `${bytes.length} bytes` };
  if (bytes[0]! >> 4 !== 4) return { ok: false, reason: 'ip_header_invalid', detail: `IP version ${bytes[0]! >> 4}` };
  const headerLength = (bytes[0]! & 0x0f) * 4;
  if (headerLength < 20 || headerLength > bytes.length) {
    return { ok: false, reason: 'ip_header_invalid', detail: `header length ${headerLength}` };
  }
  const total = (bytes[2]! << 8) | bytes[3]!;
  if (total !== bytes.length) {
    return { ok: false, reason: 'length_mismatch', detail: `IP total length ${total}, received ${bytes.length}` };
  }
  const protocol = bytes[9]!;
  if (protocol === 51) {
    return { ok: false, reason: 'auth_type_unsupported', detail: 'IPsec AH (IP protocol 51) is not supported' };
  }
  if (protocol !== IPPROTO_VRRP) {
    return { ok: false, reason: 'ip_header_invalid', detail: `IP protocol ${protocol}` };
  }
  return {
    ok: true,
    datagram: {
      src: formatAddress(bytes.subarray(12, 16)),
      dst: formatAddress(bytes.subarray(16, 20)),
      ttl: bytes[8]!,
      protocol,
      headerLength,
      payload: bytes.subarray(headerLength),
    },
  };
}

/** Raised by the encoder for values the wire format cannot carry (config validation should stop them first). */
export class VrrpEncodeError extends Error {
  override readonly name = 'VrrpEncodeError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export type AdvertAuth = { type: 0 } | { type: 1; password: string | Uint8Array };

export interface AdvertInput {
  version: VrrpVersion;
  family: Family;
  vrid: number;
  priority: number;
  /** v2: whole seconds (1-255 s); v3: whole centiseconds (10-40950 ms). */
  advertIntervalMs: number;
  addresses: readonly (string | Uint8Array)[];
  /** v2 only; default none. */
  auth?: AdvertAuth;
  /** v3 only: the IP source and destination the packet will carry, for the pseudo-header checksum. */
  src?: string | Uint8Array;
  dst?: string | Uint8Array;
}

/**
 * keepalived's simple password: the configured string's bytes, cut to 8 and zero-padded
 * (RFC 3768 §5.3.10 "left justified, unused bytes zero").
 */
export function simplePasswordBytes(password: string | Uint8Array): Uint8Array {
  const raw = typeof password === 'string' ? new TextEncoder().encode(password) : password;
  const out = new Uint8Array(VRRP_V2_AUTH_DATA_LENGTH);
  out.set(raw.subarray(0, VRRP_V2_AUTH_DATA_LENGTH));
  return out;
}

/** Encode a VRRP advertisement (the IP payload), checksum filled in. */
export function encodeAdvert(input: AdvertInput): Uint8Array {
  const { version, family } = input;
  if (version !== 2 && version !== 3) throw new VrrpEncodeError('version', `version ${version} is not 2 or 3`);
  if (version === 2 && family === 'ipv6') throw new VrrpEncodeError('version', 'VRRPv2 is defined for IPv4 only');
  const byte = (field: string, v: number, lo = 0) => {
    if (!Number.isInteger(v) || v < lo || v > 255) throw new VrrpEncodeError(field, `${field} ${v} is not ${lo}-255`);
    return v;
  };
  const vrid = byte('vrid', input.vrid, 1);
  const priority = byte('priority', input.priority);
  const count = input.addresses.length;
  if (count > 255) throw new VrrpEncodeError('addresses', `${count} addresses, at most 255 fit`);

  let adverInt: number;
  if (version === 2) {
    adverInt = input.advertIntervalMs / 1000;
    if (!Number.isInteger(adverInt) || adverInt < 1 || adverInt > VRRP_V2_MAX_ADVER_INT_S) {
      throw new VrrpEncodeError('advertIntervalMs', `VRRPv2 needs whole seconds 1-255, not ${input.advertIntervalMs} ms`);
    }
  } else {
    adverInt = input.advertIntervalMs / 10;
    if (!Number.isInteger(adverInt) || adverInt < 1 || adverInt > VRRP_V3_MAX_ADVER_INT_CS) {
      throw new VrrpEncodeError(
        'advertIntervalMs',
        `VRRPv3 needs whole centiseconds 1-4095, not ${input.advertIntervalMs} ms`,
      );
    }
  }

  const length = expectedLength(version, family, count);
  const out = new Uint8Array(length);
  out[0] = (version << 4) | VRRP_TYPE_ADVERTISEMENT;
  out[1] = vrid;
  out[2] = priority;
  out[3] = count;
  if (version === 2) {
    const auth = input.auth ?? { type: 0 };
    out[4] = auth.type;
    out[5] = adverInt;
    if (auth.type === VRRP_AUTH_SIMPLE_PASSWORD) out.set(simplePasswordBytes(auth.password), length - 8);
    else if (auth.type !== VRRP_AUTH_NONE) throw new VrrpEncodeError('auth', `auth type ${(auth as { type: number }).type}`);
  } else {
    if (input.auth && input.auth.type !== VRRP_AUTH_NONE) {
      throw new VrrpEncodeError('auth', 'VRRPv3 has no authentication (RFC 5798 §9)');
    }
    out[4] = adverInt >> 8; // reserved bits stay 0
    out[5] = adverInt & 0xff;
  }
  const width = addressLength(family);
  input.addresses.forEach((a, i) => {
    const b = toBytes(family, a);
    if (!b) throw new VrrpEncodeError('addresses', `${String(a)} is not an ${family} address`);
    out.set(b, VRRP_HEADER_LENGTH + i * width);
  });

  let src: Uint8Array | null = null;
  let dst: Uint8Array | null = null;
  if (version === 3) {
    src = input.src === undefined ? null : toBytes(family, input.src);
    dst = input.dst === undefined ? null : toBytes(family, input.dst);
    if (!src || !dst) throw new VrrpEncodeError('src', 'VRRPv3 needs the IP source and destination for its checksum');
  }
  const sum = computeChecksum(version, out, src, dst);
  out[6] = sum >> 8;
  out[7] = sum & 0xff;
  return out;
}

/** The checksum a message should carry (its own checksum field is treated as zero). */
export function computeChecksum(
  version: VrrpVersion,
  message: Uint8Array,
  src: Uint8Array | null,
  dst: Uint8Array | null,
): number {
  const zeroed = message.slice();
  zeroed[6] = 0;
  zeroed[7] = 0;
  if (version === 2) return internetChecksum(zeroed);
  if (!src || !dst) throw new VrrpEncodeError('src', 'VRRPv3 checksum needs source and destination');
  return pseudoHeaderChecksum(src, dst, zeroed);
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');
