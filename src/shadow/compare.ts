// Shadow mode's core: what lvsd would program (its desired table and its checks' verdicts) against what
// the kernel holds (programmed by the keepalived still in charge), as differences an operator reads
// before cutting over. Pure: tables and verdicts in, differences out.
//
// keepalived's verdict on a real server is visible in the kernel: present with its weight means up,
// absent (or weight 0 with inhibit_on_failure) means down. So a real server lvsd finds healthy that is
// missing from the kernel is a disagreement of verdicts, not a table difference, and is named so.
import type { IpvsDestination } from '../../ipvs/destination.js';
import { IP_VS_SVC_F_HASHED } from '../../ipvs/constants.js';
import type { IndexedTable } from '../../ipvs/reconcile.js';
import type { IpvsService } from '../../ipvs/service.js';

export type DifferenceKind =
  /** A service lvsd.yaml declares is not in the kernel. */
  | 'service-missing'
  /** Scheduler, flags, persistence or persistence engine differ. */
  | 'service-settings'
  /** lvsd's check and keepalived's (the kernel's table) disagree about a real server. */
  | 'verdict'
  /** Both agree the server is up, but the weight differs. */
  | 'weight'
  /** Forwarding method or thresholds differ. */
  | 'destination-settings'
  /** The kernel has a real server lvsd.yaml does not list for that service. */
  | 'destination-extra'
  /** keepalived's VRRP state on this director differs from the one lvsd would hold (vrrp.ts). */
  | 'vrrp-state'
  /** Adverts lvsd would refuse (password, interval, addresses): after a cut-over the pair would split. */
  | 'vrrp-advert';

export interface Difference {
  kind: DifferenceKind;
  /** lvsd's name of the service (of the VRRP instance for vrrp-* kinds). */
  service: string;
  /** address:port as ipvsadm prints it, for destination differences. */
  server?: string;
  /** One line, for people. */
  detail: string;
}

/** lvsd's view of one real server: its checks' verdict (service name + server as in ServerState). */
export interface ServerView { service: string; server: string; up: boolean; reason: string; weight: number }

const FWD: Record<number, string> = { 0: 'masq', 1: 'local', 2: 'tunnel', 3: 'droute', 4: 'bypass' };

export function serverText(af: number, addr: string, port: number): string {
  return af === 10 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Stable identity of a difference, so a report can say when one appears and when it is gone. */
export function differenceKey(d: Difference): string {
  return `${d.kind}|${d.service}|${d.server ?? ''}|${d.detail}`;
}

function serviceSettings(want: IpvsService, have: IpvsService): string[] {
  const out: string[] = [];
  if (want.schedName !== have.schedName) out.push(`scheduler ${have.schedName} in the kernel, ${want.schedName} in lvsd.yaml`);
  const wf = want.flags & ~IP_VS_SVC_F_HASHED, hf = have.flags & ~IP_VS_SVC_F_HASHED;
  if (wf !== hf) out.push(`flags 0x${hf.toString(16)} in the kernel, 0x${wf.toString(16)} in lvsd.yaml`);
  if (want.timeout !== have.timeout) out.push(`persistence ${have.timeout} s in the kernel, ${want.timeout} s in lvsd.yaml`);
  if ((want.netmask >>> 0) !== (have.netmask >>> 0)) out.push(`persistence netmask ${have.netmask >>> 0} in the kernel, ${want.netmask >>> 0} in lvsd.yaml`);
  if (want.peName !== have.peName) out.push(`persistence engine '${have.peName}' in the kernel, '${want.peName}' in lvsd.yaml`);
  return out;
}

function destinationSettings(want: IpvsDestination, have: IpvsDestination): string[] {
  const out: string[] = [];
  if (want.fwdMethod !== have.fwdMethod) out.push(`forwarding ${FWD[have.fwdMethod] ?? have.fwdMethod} in the kernel, ${FWD[want.fwdMethod] ?? want.fwdMethod} in lvsd.yaml`);
  if (want.uThresh !== have.uThresh || want.lThresh !== have.lThresh) out.push(`thresholds ${have.lThresh}-${have.uThresh} in the kernel, ${want.lThresh}-${want.uThresh} in lvsd.yaml`);
  return out;
}

/**
 * Differences between lvsd's desired table (services keyed by serviceKey, named by `names`) and the
 * kernel's, only for the services lvsd declares (others belong to someone else). `servers` carries
 * lvsd's verdicts, to tell a disagreement of checks from a table difference.
 */
export function compareTables(desired: IndexedTable, actual: IndexedTable, names: ReadonlyMap<string, string>, servers: readonly ServerView[]): Difference[] {
  const verdicts = new Map<string, ServerView>();
  for (const s of servers) verdicts.set(`${s.service}|${s.server}`, s);
  const out: Difference[] = [];
  for (const [key, want] of desired) {
    const service = names.get(key) ?? key;
    const have = actual.get(key);
    if (!have) {
      out.push({ kind: 'service-missing', service, detail: 'declared in lvsd.yaml, not in the kernel' });
      continue;
    }
    for (const detail of serviceSettings(want.service, have.service)) out.push({ kind: 'service-settings', service, detail });
    for (const [dk, w] of want.dests) {
      const server = serverText(w.addrFamily, w.addr, w.port);
      const v = verdicts.get(`${service}|${server}`);
      const h = have.dests.get(dk);
      const lvsdUp = v ? v.up : w.weight > 0;
      const lvsdSays = v ? `${v.up ? 'up' : 'down'} (${v.reason})` : `weight ${w.weight}`;
      if (!h) {
        if (lvsdUp) out.push({ kind: 'verdict', service, server, detail: `lvsd: ${lvsdSays}; the kernel: not in the table (keepalived: down)` });
        else out.push({ kind: 'destination-settings', service, server, detail: `lvsd keeps it with weight 0 (${lvsdSays}); the kernel: not in the table` });
        continue;
      }
      if (w.weight !== h.weight) {
        if ((w.weight > 0) !== (h.weight > 0)) {
          out.push({ kind: 'verdict', service, server, detail: `lvsd: ${lvsdSays}, weight ${w.weight}; the kernel: weight ${h.weight} (keepalived: ${h.weight > 0 ? 'up' : 'down or drained'})` });
        } else {
          out.push({ kind: 'weight', service, server, detail: `weight ${h.weight} in the kernel, lvsd wants ${w.weight}` });
        }
      }
      for (const detail of destinationSettings(w, h)) out.push({ kind: 'destination-settings', service, server, detail });
    }
    for (const [dk, h] of have.dests) {
      if (want.dests.has(dk)) continue;
      const server = serverText(h.addrFamily, h.addr, h.port);
      const v = verdicts.get(`${service}|${server}`);
      if (v) out.push({ kind: 'verdict', service, server, detail: `lvsd: down (${v.reason}); the kernel: weight ${h.weight} (keepalived: up)` });
      else out.push({ kind: 'destination-extra', service, server, detail: `in the kernel with weight ${h.weight}, not in lvsd.yaml` });
    }
  }
  return out;
}
