// Step (b) of reception: a valid advertisement (packet.ts) meets one configured instance.
// Decides whether the instance acts on it, and which oddities to log and count even when it does.
//
// Choices, against RFC 5798 §7.1 / RFC 3768 §7.1 and keepalived 2.2.7:
// - v2 Adver Int differing from ours: dropped (RFC 3768 §7.1 MUST; keepalived too).
//   v3 Max Adver Int differing: accepted and noted; a backup learns it (RFC 5798 §6.4.2).
// - Address list differing from our virtual addresses: accepted and noted. RFC 3768 lets a
//   receiver drop it; dropping would make two misconfigured routers both master, which is worse
//   than a log line and a counter.
// - Local address owner (priority 255): RFC 5798 §7.1 says drop every advert for the VRID. We hand
//   them to the state machine, which as Master discards them anyway except priority 0 (answered at
//   once). Another owner's advert is noted as `second_owner` and accepted: dropping it would leave
//   two masters for good; the state machine steps down to 254 instead, as keepalived does.
// - TTL / hop limit: parseVrrp enforces 255 for adverts to the multicast group; a unicast advert is
//   checked here, where its sender is known: 255 (RFC 5798 §7.1, which makes no exception for
//   unicast), or the min_ttl-max_ttl range of the peer it came from (peers behind routers).
//   keepalived 2.2.7 checks nothing on unicast instances unless a peer has a range.
// - Unicast source (keepalived check_unicast_src): with checkUnicastSource, an advert from an address
//   that is not a configured peer is dropped, whatever its destination (keepalived the same).
import { compareAddresses, formatAddress, isIpv6LinkLocal, parseAddress, type Family } from './address.js';
import { VRRP_AUTH_NONE, VRRP_PRIORITY_OWNER, VRRP_PRIORITY_STOP, VRRP_TTL } from './constants.js';
import { ParsedAdvertisement, simplePasswordBytes, type AdvertAuth, type VrrpAdvertisement, type VrrpVersion } from './packet.js';
import type { InstanceDropReason, InstanceNote, PacketDropReason } from './reasons.js';

/**
 * What matchInstance needs of an instance. Its address arrays are read as immutable: what is derived
 * from them (canonical text, the VIPs' wire bytes) is computed once per array and kept, so every
 * advert costs no re-parsing; give a new array when the addresses change.
 */
export interface InstanceView {
  vrid: number;
  version: VrrpVersion;
  family: Family;
  /** Current (effective) local priority; 255 means this router owns the addresses. */
  priority: number;
  /** Configured Advertisement_Interval in milliseconds. */
  advertIntervalMs: number;
  /** Configured virtual addresses. */
  addresses: readonly string[];
  /** v2 authentication; default none. */
  auth?: AdvertAuth;
  /** This router's own addresses on the interface (an advert from one of them is our own, looped back). */
  ownAddresses: readonly string[];
  /** Unicast peers (config unicast.peers), with the TTL range each may send with; none: multicast. */
  unicastPeers?: readonly UnicastPeerView[];
  /** Drop adverts whose source is not one of unicastPeers (keepalived check_unicast_src). */
  checkUnicastSource?: boolean;
}

/** A unicast peer as matchInstance reads it; without minTtl and maxTtl its adverts must carry TTL 255. */
export interface UnicastPeerView {
  address: string;
  /** Lowest TTL / hop limit accepted from it (default 0 when maxTtl is set). */
  minTtl?: number;
  /** Highest TTL / hop limit accepted from it (default 255 when minTtl is set). */
  maxTtl?: number;
}

export interface Note {
  note: InstanceNote;
  detail: string;
}

/**
 * `ttl_invalid` is a packet reason (counted where the channel counts it): a unicast advert whose TTL
 * is not 255 from a sender without a range; the channel cannot tell, as it does not know the peers.
 */
export type MatchResult =
  | { accept: true; notes: Note[] }
  | { accept: false; reason: InstanceDropReason | Extract<PacketDropReason, 'ttl_invalid'>; detail: string; notes: Note[] };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareAddresses(a, b) === 0;
}

/**
 * Per address array (by identity): its addresses as canonical text (parseVrrp's form) in order and as
 * a set, and as wire bytes: the block an advert listing them in this order carries, and one key per
 * address (addressKey) to compare a received block with as sets.
 */
interface Derived { canonical: string[]; set: Set<string>; block: Uint8Array | null; keyList: (number | string | null)[]; keys: Set<number | string> }
const derived = new WeakMap<readonly string[], Derived>();
function derive(family: Family, list: readonly string[]): Derived {
  let d = derived.get(list);
  if (!d) {
    const bytes = list.map((a) => parseAddress(family, a));
    const canonical = list.map((a, i) => (bytes[i] ? formatAddress(bytes[i]!) : a));
    const width = family === 'ipv4' ? 4 : 16;
    let block: Uint8Array | null = new Uint8Array(list.length * width);
    bytes.forEach((b, i) => { if (b) block!.set(b, i * width); else block = null; });
    const keyList = bytes.map((b) => (b ? addressKey(b, 0, width) : null));
    d = { canonical, set: new Set(canonical), block, keyList, keys: new Set(keyList.filter((k) => k !== null)) };
    derived.set(list, d);
  }
  return d;
}

/** A cheap, exact key for the address at `at`: the IPv4 address as a number, IPv6 as 8 UTF-16 units. */
function addressKey(b: Uint8Array, at: number, width: number): number | string {
  if (width === 4) return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
  let k = '';
  for (let i = at; i < at + 16; i += 2) k += String.fromCharCode((b[i]! << 8) | b[i + 1]!);
  return k;
}

/**
 * The address list check on a parsed advert's wire bytes: our VIPs in our order is one comparison;
 * otherwise one pass with a key per address (no set of theirs, no text but the at most 8 + 8
 * addresses the note names), so a flood of 255-address adverts stays cheap.
 */
function addressNote(block: Uint8Array, ours: Derived, family: Family): Note | null {
  if (ours.block && sameBytes(block, ours.block)) return null;
  const width = family === 'ipv4' ? 4 : 16;
  const count = block.length / width;
  const found = new Set<number | string>();
  const extra: string[] = [];
  let extras = 0;
  for (let at = 0; at < block.length; at += width) {
    const k = addressKey(block, at, width);
    if (ours.keys.has(k)) { found.add(k); continue; }
    extras++;
    if (extra.length < 8) { const t = formatAddress(block.subarray(at, at + width)); if (!extra.includes(t)) extra.push(t); }
  }
  const missing = ours.canonical.filter((_, i) => { const k = ours.keyList[i]; return k === null || k === undefined || !found.has(k); });
  if (!missing.length && !extras && count === ours.canonical.length) return null;
  const more = extras > extra.length ? ` and ${extras - extra.length} more` : '';
  return {
    note: 'address_list_mismatch',
    detail: `${count} addresses advertised, ${ours.canonical.length} configured` +
      (missing.length ? `; missing ${listed(missing)}` : '') + (extras ? `; extra ${extra.join(' ')}${more}` : ''),
  };
}

/** An address list for a log line: at most `max` shown, the rest counted (a packet may carry 255). */
function listed(a: string[], max = 8): string {
  return a.length <= max ? a.join(' ') : `${a.slice(0, max).join(' ')} and ${a.length - max} more`;
}

/** Per peer array (by identity): canonical address -> accepted TTL range, or null for 255 only. */
const peerRanges = new WeakMap<readonly UnicastPeerView[], Map<string, { min: number; max: number } | null>>();
function derivePeers(family: Family, peers: readonly UnicastPeerView[]): Map<string, { min: number; max: number } | null> {
  let m = peerRanges.get(peers);
  if (!m) {
    m = new Map();
    for (const p of peers) {
      const b = parseAddress(family, p.address);
      const ranged = p.minTtl !== undefined || p.maxTtl !== undefined;
      m.set(b ? formatAddress(b) : p.address, ranged ? { min: p.minTtl ?? 0, max: p.maxTtl ?? 255 } : null);
    }
    peerRanges.set(peers, m);
  }
  return m;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function matchInstance(packet: VrrpAdvertisement, view: InstanceView): MatchResult {
  const notes: Note[] = [];
  const drop = (reason: InstanceDropReason | 'ttl_invalid', detail: string): MatchResult => ({ accept: false, reason, detail, notes });

  if (packet.vrid !== view.vrid) return drop('vrid_unknown', `VRID ${packet.vrid}, this instance is ${view.vrid}`);
  if (packet.family !== view.family) return drop('family_mismatch', `${packet.family} advert, instance is ${view.family}`);
  if (packet.version !== view.version) {
    return drop('version_mismatch', `version ${packet.version}, instance speaks ${view.version}`);
  }
  // A parsed advert carries its source as bytes and canonical text already; others are parsed here.
  const parsed = packet instanceof ParsedAdvertisement ? packet : null;
  const srcBytes = parsed && parsed.family === view.family ? parsed.srcBytes : parseAddress(view.family, packet.src);
  const src = parsed || !srcBytes ? packet.src : formatAddress(srcBytes);
  if (derive(view.family, view.ownAddresses).set.has(src)) {
    return drop('own_source', `source ${src} is one of our addresses`);
  }
  const peers = view.unicastPeers?.length ? derivePeers(view.family, view.unicastPeers) : null;
  const range = peers?.get(src);
  if (view.checkUnicastSource && range === undefined) {
    return drop('unicast_src_unknown', `source ${src} is not one of the ${view.unicastPeers?.length ?? 0} unicast peers`);
  }
  if (range) {
    if (packet.ttl < range.min || packet.ttl > range.max) {
      return drop('ttl_out_of_range', `${view.family === 'ipv4' ? 'TTL' : 'hop limit'} ${packet.ttl} from ${src}, accepted ${range.min}-${range.max}`);
    }
  } else if (packet.ttl !== VRRP_TTL) {
    return drop('ttl_invalid', `${view.family === 'ipv4' ? 'TTL' : 'hop limit'} ${packet.ttl} from ${src}, expected ${VRRP_TTL} (no min_ttl / max_ttl for it)`);
  }

  if (packet.version === 2) {
    const auth = view.auth ?? { type: VRRP_AUTH_NONE };
    if (packet.authType !== auth.type) {
      return drop('auth_type_mismatch', `auth type ${packet.authType}, configured ${auth.type}`);
    }
    if (auth.type === 1 && (!packet.authData || !sameBytes(packet.authData, simplePasswordBytes(auth.password)))) {
      return drop('auth_failure', 'simple password differs');
    }
    if (packet.advertIntervalMs !== view.advertIntervalMs) {
      return drop(
        'advert_interval_mismatch',
        `Adver Int ${packet.adverInt} s, configured ${view.advertIntervalMs / 1000} s`,
      );
    }
  } else if (packet.advertIntervalMs !== view.advertIntervalMs) {
    notes.push({
      note: 'advert_interval_differs',
      detail: `Max Adver Int ${packet.advertIntervalMs} ms, configured ${view.advertIntervalMs} ms`,
    });
  }

  if (view.priority === VRRP_PRIORITY_OWNER && packet.priority === VRRP_PRIORITY_OWNER) {
    notes.push({ note: 'second_owner', detail: `${src} also claims priority 255 for VRID ${view.vrid}` });
  }

  const ours = derive(view.family, view.addresses);
  const block = parsed?.addressBytes;
  if (block) {
    const n = addressNote(block, ours, view.family);
    if (n) notes.push(n);
  } else if (!sameList(packet.addresses, ours.canonical)) {
    const advertised = packet.addresses;
    const theirs = new Set(advertised);
    const missing = ours.canonical.filter((a) => !theirs.has(a));
    const extra = [...theirs].filter((a) => !ours.set.has(a));
    if (missing.length > 0 || extra.length > 0 || advertised.length !== view.addresses.length) {
      notes.push({
        note: 'address_list_mismatch',
        detail: `${advertised.length} addresses advertised, ${view.addresses.length} configured` +
          (missing.length ? `; missing ${listed(missing)}` : '') + (extra.length ? `; extra ${listed(extra)}` : ''),
      });
    }
  }
  if (packet.priority === VRRP_PRIORITY_STOP) notes.push({ note: 'priority_zero', detail: `${src} is leaving` });
  if (view.family === 'ipv6' && srcBytes && !isIpv6LinkLocal(srcBytes)) notes.push({ note: 'source_not_link_local', detail: `source ${src}` });
  return { accept: true, notes };
}
