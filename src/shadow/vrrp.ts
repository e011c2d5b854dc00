// Shadow mode's VRRP half: lvsd listens to the adverts on each instance's interface (it never sends)
// and says which state it would hold, beside the state keepalived holds here (the VIPs on the
// interface mean keepalived is MASTER on this director). Adverts lvsd would refuse (another password,
// interval or address list) are reported too: after a cut-over they would split the pair.
import { networkInterfaces } from 'node:os';
import type { VrrpInstanceConfig } from '../config/model.js';
import { instanceFamily } from '../config/vrrp-family.js';
import { ifNameToIndex } from '../native/index.js';
import { compareAddresses, parseAddress, type Family } from '../../vrrp/address.js';
import { matchInstance, type InstanceView } from '../../vrrp/match.js';
import type { VrrpAdvertisement } from '../../vrrp/packet.js';
import { VrrpChannel } from '../../vrrp/socket.js';
import { masterDownIntervalMs } from '../../vrrp/timers.js';
import type { Difference } from './compare.js';

/** The last advert heard for an instance, from another router. */
export interface Heard { src: string; priority: number; advertIntervalMs: number; at: number }

export interface WouldBe { state: 'master' | 'backup'; why: string }

/** Senders of refused adverts remembered per instance (the most recent ones). */
export const MAX_REFUSED_SENDERS = 8;

const familyOf = (ic: VrrpInstanceConfig): Family => (instanceFamily(ic) === 4 ? 'ipv4' : 'ipv6');

/** RFC 5798 §6.4 as a Backup would apply it to what it heard (pure). `own`: this router's primary address. */
export function lvsdWouldBe(ic: VrrpInstanceConfig, heard: Heard | undefined, now: number, own: string | undefined): WouldBe {
  const version = ic.version as 2 | 3;
  if (!heard || now - heard.at > masterDownIntervalMs(version, ic.priority, heard.advertIntervalMs)) {
    return { state: 'master', why: 'no master heard within Master_Down_Interval' };
  }
  const p = heard.priority;
  if (p === 0) return { state: 'master', why: `the master ${heard.src} is leaving (priority 0)` };
  let outranks = ic.priority > p;
  if (ic.priority === p && own) {
    const a = parseAddress(familyOf(ic), own), b = parseAddress(familyOf(ic), heard.src);
    outranks = a !== null && b !== null && compareAddresses(a, b) > 0;
  }
  if (!outranks) return { state: 'backup', why: `the master ${heard.src} has priority ${p}, lvsd ${ic.priority}` };
  if (!ic.preempt) return { state: 'backup', why: `lvsd (priority ${ic.priority}) outranks the master ${heard.src} (${p}) but preempt is off` };
  return { state: 'master', why: `lvsd (priority ${ic.priority}) outranks the master ${heard.src} (${p}) and preempts` };
}

interface Watched { ic: VrrpInstanceConfig; view: InstanceView; own: string | undefined; heard?: Heard; refused: Map<string, string> }

/** Addresses on an interface now, as Node sees them. */
function addressesOn(ifname: string): string[] {
  return (networkInterfaces()[ifname] ?? []).map((a) => a.address.replace(/%.*$/, ''));
}

export class VrrpObserver {
  private readonly channels = new Map<string, VrrpChannel>();
  private readonly watched: Watched[] = [];
  private readonly startedAt: number;

  constructor(instances: readonly VrrpInstanceConfig[], private readonly now: () => number = () => performance.now()) {
    this.startedAt = now();
    try {
      for (const ic of instances) {
        const family = familyOf(ic);
        const vips = new Set(ic.virtual_ips.map((v) => v.address));
        const mine = addressesOn(ic.interface).filter((a) => !vips.has(a) && (family === 'ipv4') === !a.includes(':'));
        const own = ic.unicast?.source?.address ?? (family === 'ipv4' ? mine[0] : mine.find((a) => a.startsWith('fe80')));
        const w: Watched = {
          ic, own, refused: new Map(),
          view: {
            vrid: ic.vrid, version: ic.version as 2 | 3, family, priority: ic.priority, advertIntervalMs: ic.advert_interval,
            addresses: ic.virtual_ips.map((v) => v.address), ownAddresses: mine,
            ...(ic.authentication ? { auth: { type: 1 as const, password: ic.authentication.password } } : {}),
          },
        };
        this.watched.push(w);
        const key = `${ic.interface}/${family}`;
        let ch = this.channels.get(key);
        if (!ch) {
          ch = new VrrpChannel({ ifname: ic.interface, ifindex: ifNameToIndex(ic.interface), family, joinGroup: true });
          this.channels.set(key, ch);
        }
        const prev = ch.handlers.get(ic.vrid);
        ch.handlers.set(ic.vrid, (p, rx) => { prev?.(p, rx); this.onAdvert(w, p, rx); });
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private onAdvert(w: Watched, p: VrrpAdvertisement, rx: number): void {
    const m = matchInstance(p, w.view);
    if (!m.accept) {
      if (m.reason === 'own_source') return;
      // A forger can send from any number of addresses: keep the latest few senders, not all of them.
      w.refused.delete(p.src);
      if (w.refused.size >= MAX_REFUSED_SENDERS) w.refused.delete(w.refused.keys().next().value!);
      w.refused.set(p.src, `${m.reason}${m.detail ? ` (${m.detail})` : ''}`);
      return;
    }
    w.refused.delete(p.src);
    w.heard = { src: p.src, priority: p.priority, advertIntervalMs: p.advertIntervalMs, at: rx };
  }

  /** Per instance: keepalived's state here against lvsd's, and adverts lvsd would refuse. */
  differences(): Difference[] {
    const out: Difference[] = [];
    const now = this.now();
    for (const w of this.watched) {
      const here = addressesOn(w.ic.interface);
      const keepalived = w.ic.virtual_ips.every((v) => here.includes(v.address)) ? 'master' : 'backup';
      const lvsd = lvsdWouldBe(w.ic, w.heard, now, w.own);
      // Until one Master_Down_Interval has passed, not hearing a master means nothing yet.
      const listening = now - this.startedAt > masterDownIntervalMs(w.ic.version as 2 | 3, w.ic.priority, w.ic.advert_interval);
      // Without VIPs keepalived's state does not show in the addresses: nothing to compare.
      if (listening && w.ic.virtual_ips.length > 0 && lvsd.state !== keepalived) {
        out.push({ kind: 'vrrp-state', service: w.ic.name, detail: `keepalived here: ${keepalived.toUpperCase()}; lvsd would be ${lvsd.state.toUpperCase()}: ${lvsd.why}` });
      }
      for (const [src, why] of w.refused) out.push({ kind: 'vrrp-advert', service: w.ic.name, detail: `adverts from ${src} would be refused: ${why}` });
    }
    return out;
  }

  /** What lvsd would be now, per instance (the summary). */
  states(): Array<{ instance: string; wouldBe: WouldBe; heard: Heard | null }> {
    const now = this.now();
    return this.watched.map((w) => ({ instance: w.ic.name, wouldBe: lvsdWouldBe(w.ic, w.heard, now, w.own), heard: w.heard ?? null }));
  }

  close(): void {
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
  }
}
