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
import { compareAddresses, formatAddress, isIpv6LinkLocal, parseAddress, type Family } from './address.js';
import { VRRP_AUTH_NONE, VRRP_PRIORITY_OWNER, VRRP_PRIORITY_STOP } from './constants.js';
import { simplePasswordBytes, type AdvertAuth, type VrrpAdvertisement, type VrrpVersion } from './packet.js';
import type { InstanceDropReason, InstanceNote } from './reasons.js';

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
}

export interface Note {
  note: InstanceNote;
  detail: string;
}

export type MatchResult =
  | { accept: true; notes: Note[] }
  | { accept: false; reason: InstanceDropReason; detail: string; notes: Note[] };

function canonical(family: Family, text: string): string {
  const b = parseAddress(family, text);
  return b ? formatAddress(b) : text;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareAddresses(a, b) === 0;
}

export function matchInstance(packet: VrrpAdvertisement, view: InstanceView): MatchResult {
  const notes: Note[] = [];
  const drop = (reason: InstanceDropReason, detail: string): MatchResult => ({ accept: false, reason, detail, notes });

  if (packet.vrid !== view.vrid) return drop('vrid_unknown', `VRID ${packet.vrid}, this instance is ${view.vrid}`);
  if (packet.family !== view.family) return drop('family_mismatch', `${packet.family} advert, instance is ${view.family}`);
  if (packet.version !== view.version) {
    return drop('version_mismatch', `version ${packet.version}, instance speaks ${view.version}`);
  }
  const src = canonical(view.family, packet.src);
  if (view.ownAddresses.some((a) => canonical(view.family, a) === src)) {
    return drop('own_source', `source ${src} is one of our addresses`);
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

  const ours = new Set(view.addresses.map((a) => canonical(view.family, a)));
  const theirs = new Set(packet.addresses);
  const missing = [...ours].filter((a) => !theirs.has(a));
  const extra = [...theirs].filter((a) => !ours.has(a));
  if (missing.length > 0 || extra.length > 0 || packet.addresses.length !== view.addresses.length) {
    notes.push({
      note: 'address_list_mismatch',
      detail: `${packet.addresses.length} addresses advertised, ${view.addresses.length} configured` +
        (missing.length ? `; missing ${missing.join(' ')}` : '') + (extra.length ? `; extra ${extra.join(' ')}` : ''),
    });
  }
  if (packet.priority === VRRP_PRIORITY_STOP) notes.push({ note: 'priority_zero', detail: `${src} is leaving` });
  if (view.family === 'ipv6') {
    const b = parseAddress('ipv6', src);
    if (b && !isIpv6LinkLocal(b)) notes.push({ note: 'source_not_link_local', detail: `source ${src}` });
  }
  return { accept: true, notes };
}
