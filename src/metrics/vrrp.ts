// VRRP metrics: read at scrape time from the engine's instances and channels (the counters they keep,
// the master each instance sees).
import { INSTANCE_DROP_REASONS, INSTANCE_NOTES, PACKET_DROP_REASONS, type DropReason } from '../../vrrp/reasons.js';
import type { VrrpState } from '../../vrrp/state-machine.js';
import type { InstanceStatus } from '../../vrrp/view.js';
import { push, type Samples } from './family.js';
import { M } from './specs.js';

/** One instance as the collector reads it: the part of InstanceStatus (vrrp/view.ts) it uses; a VrrpInstance has it too. */
export type MetricsVrrpInstance = Pick<InstanceStatus, 'name' | 'state' | 'family' | 'config' | 'basePriority' | 'masterAddress' | 'counters'> & {
  readonly machine: { readonly priority: number };
  /** InstanceStatus.splitBrain; absent (a VrrpInstance, an older view): read from `diagnostics`, else 0. */
  readonly splitBrain?: { readonly active: boolean; readonly raised: number };
  readonly diagnostics?: { readonly splitBrain: { readonly active: boolean; readonly raised: number } };
};
/** What the collector reads of VRRP: the VrrpView's instances and channels (VrrpWorker, or an engine in tests). */
export interface VrrpMetricsView {
  readonly instances: ReadonlyMap<string, MetricsVrrpInstance>;
  readonly channels: ReadonlyMap<string, { readonly drops: Readonly<Record<string, number>>; readonly received: number;
    readonly opts: { readonly ifname: string; readonly family: 'ipv4' | 'ipv6' };
    /** Kernel drops of the channel's socket as of the worker's last snapshot (ChannelStatus); absent or null: no series. */
    readonly socketDrops?: number | null }>;
}

export const VRRP_STATES: readonly VrrpState[] = ['initialize', 'backup', 'master', 'fault'];
/** keepalived's numbering (vrrp.h VRRP_STATE_*), which keepalived_vrrp_state reports. */
const KEEPALIVED_STATE: Record<VrrpState, number> = { initialize: 0, backup: 1, master: 2, fault: 3 };
const KEEPALIVED_STATE_NAME: Record<VrrpState, string> = { initialize: 'INIT', backup: 'BACKUP', master: 'MASTER', fault: 'FAULT' };
/** A channel drops malformed packets and unknown VRIDs; an instance drops what is not for it (vrrp/socket.ts, match.ts). */
const CHANNEL_DROPS: readonly DropReason[] = [...PACKET_DROP_REASONS, 'vrid_unknown'];
const INSTANCE_DROPS: readonly DropReason[] = INSTANCE_DROP_REASONS.filter((r) => r !== 'vrid_unknown');

/** Adds every VRRP sample for the engine's current instances to `out`. */
export function collectVrrp(view: VrrpMetricsView, out: Samples, garpDelayMs: (inst: MetricsVrrpInstance) => number = (i) => i.config.garp.delay): void {
  push(out, M.kaUp, {}, 1);
  const channelOf = new Map<string, { drops: Readonly<Record<string, number>> }>();
  for (const ch of view.channels.values()) {
    const base = { interface: ch.opts.ifname, family: ch.opts.family };
    channelOf.set(`${ch.opts.ifname}/${ch.opts.family}`, ch);
    push(out, M.vrrpReceived, base, ch.received);
    if (typeof ch.socketDrops === 'number') push(out, M.vrrpSocketDrops, base, ch.socketDrops);
    for (const reason of CHANNEL_DROPS) push(out, M.vrrpDropped, { ...base, vrrp_instance: '', reason }, ch.drops[reason] ?? 0);
  }
  for (const inst of view.instances.values()) {
    const c = inst.counters;
    const cfg = inst.config;
    const labels = { vrrp_instance: inst.name, interface: cfg.interface, vrid: cfg.vrid, family: inst.family };
    const state = inst.state;
    for (const s of VRRP_STATES) push(out, M.vrrpState, { ...labels, state: s }, s === state ? 1 : 0);
    push(out, M.vrrpPriority, labels, inst.machine.priority);
    push(out, M.vrrpBasePriority, labels, inst.basePriority);
    push(out, M.vrrpMaster, { ...labels, master: inst.masterAddress ?? '' }, 1);
    for (const [key, n] of Object.entries(c.transitions)) {
      const [from, to] = key.split('>');
      push(out, M.vrrpTransitions, { ...labels, from: from!, to: to! }, n);
    }
    push(out, M.vrrpBecameMaster, labels, c.becameMaster);
    push(out, M.vrrpReleasedMaster, labels, c.releasedMaster);
    push(out, M.vrrpAdvertsSent, labels, c.advertsSent);
    push(out, M.vrrpAdvertsReceived, labels, c.advertsReceived);
    push(out, M.vrrpPriorityZeroSent, labels, c.priorityZeroSent);
    push(out, M.vrrpRepliesSuppressed, labels, c.repliesSuppressed ?? 0);
    push(out, M.vrrpIntervalClamped, labels, c.intervalsClamped ?? 0);
    push(out, M.vrrpForeignIgnored, { ...labels, kind: 'priority_zero' }, c.foreignStopsIgnored ?? 0);
    push(out, M.vrrpForeignIgnored, { ...labels, kind: 'earlier_master_down' }, c.foreignEarlierIgnored ?? 0);
    push(out, M.vrrpAnnouncements, labels, c.announcements);
    const sb = inst.splitBrain ?? inst.diagnostics?.splitBrain;
    push(out, M.vrrpSplitBrain, labels, sb?.active ? 1 : 0);
    push(out, M.vrrpSplitBrainRaised, labels, sb?.raised ?? 0);
    push(out, M.vrrpVipErrors, labels, c.vipErrors);
    for (const note of INSTANCE_NOTES) push(out, M.vrrpNotes, { ...labels, note }, c.notes[note] ?? 0);
    for (const reason of INSTANCE_DROPS) {
      push(out, M.vrrpDropped, { interface: cfg.interface, family: inst.family, vrrp_instance: inst.name, reason }, c.drops[reason] ?? 0);
    }

    // keepalived exporter names. Malformed packets are dropped per interface before the VRID is known,
    // so those counters carry the interface's count (exact with one instance per interface).
    const ch = channelOf.get(`${cfg.interface}/${inst.family}`)?.drops ?? {};
    const ka = { iname: inst.name, intf: cfg.interface, vrid: cfg.vrid, state: KEEPALIVED_STATE_NAME[state] };
    for (const vip of cfg.virtual_ips) {
      push(out, M.kaState, { iname: inst.name, intf: vip.device ?? cfg.interface, vrid: cfg.vrid, ip_address: `${vip.address}/${vip.prefix}` }, KEEPALIVED_STATE[state]);
    }
    push(out, M.kaAdvRcvd, ka, c.advertsReceived);
    push(out, M.kaAdvSent, ka, c.advertsSent);
    push(out, M.kaBecome, ka, c.becameMaster);
    push(out, M.kaRelease, ka, c.releasedMaster);
    push(out, M.kaLenErr, ka, (ch.length_mismatch ?? 0) + (ch.too_short ?? 0));
    push(out, M.kaIntErr, ka, c.drops.advert_interval_mismatch ?? 0);
    push(out, M.kaTtlErr, ka, (ch.ttl_invalid ?? 0) + (c.drops.ttl_out_of_range ?? 0));
    push(out, M.kaTypeErr, ka, ch.type_invalid ?? 0);
    push(out, M.kaAddrErr, ka, c.notes.address_list_mismatch ?? 0);
    push(out, M.kaAuthInvalid, ka, ch.auth_type_unsupported ?? 0);
    push(out, M.kaAuthMismatch, ka, c.drops.auth_type_mismatch ?? 0);
    push(out, M.kaAuthFailure, ka, c.drops.auth_failure ?? 0);
    push(out, M.kaPrioZeroRcvd, ka, c.notes.priority_zero ?? 0);
    push(out, M.kaPrioZeroSent, ka, c.priorityZeroSent);
    push(out, M.kaGarpDelay, ka, garpDelayMs(inst) / 1000);
  }
}
