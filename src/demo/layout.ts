// What a demo topology must say for DirectorLab to run it: the lab network, who plays which part,
// and each director's lvsd.yaml. nat.ts is the classic LVS-NAT pair; dr.ts (H8) the DR pair.
import { join } from 'node:path';
import type { Topology } from '../lab/index.js';

export interface LayoutOptions {
  /** VRRP preempt on the directors (false = keepalived nopreempt). */
  preempt: boolean;
  /** Directory shared with the lab (same path inside and out): control sockets, state files. */
  dir: string;
}

export interface Layout {
  /** Short name used on the command line (`--layout nat`). */
  name: string;
  description: string;
  topology: Topology;
  /** Director host names, the intended master first. */
  directors: readonly string[];
  realServers: readonly string[];
  /** Host that runs the load client. */
  client: string;
  /** Where clients send requests: the virtual service. */
  vip: { address: string; port: number };
  /** Every address the master holds (the sync group's VIPs), as `ip -o addr` prints them without prefix. */
  masterAddresses: readonly string[];
  /** The VRRP instance whose adverts are watched on the client LAN, with its advert interval. */
  watched: { vrid: number; interface: string; advertIntervalMs: number };
  /**
   * The watched instance's sync-group partners, each with a host on its LAN to watch it from. The
   * group goes master when the first of its instances' Master_Down timers runs out, so the advert
   * gap is measured from the earliest last advert among them.
   */
  groupWatch?: ReadonlyArray<{ vrid: number; host: string; interface: string }>;
  /** VRRP priority of each director (for Master_Down_Interval). */
  priorities: Readonly<Record<string, number>>;
  /** Real server host -> "address:port" as `ipvsadm -Ln` prints it. */
  realServerEndpoint(name: string): string;
  /** The lvsd.yaml text for one director. */
  configFor(director: string, opts: LayoutOptions): string;
  /** Extra per-real-server set-up before its web server starts (DR: VIP on lo, arp_ignore). */
  prepareRealServer?(host: { sh(script: string): Promise<string> }, name: string): Promise<void>;
}

/**
 * RFC 5798 section 6.1: Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time, Skew_Time =
 * ((256 - Priority) * Master_Adver_Interval) / 256, in centiseconds on the wire (v3).
 */
export function masterDownIntervalMs(advertIntervalMs: number, backupPriority: number): number {
  return 3 * advertIntervalMs + ((256 - backupPriority) * advertIntervalMs) / 256;
}

/**
 * The `global:` section every demo director gets: its own control socket and state file (the lab's
 * directors share one file system), metrics on all addresses for the host's forwarder, and the IPVS
 * sync daemon following one VRRP instance.
 */
export function demoGlobalYaml(director: string, dir: string, sync: { interface: string; instance: string; syncId: number }): string {
  return `global:
  router_id: ${director}
  metrics:
    listen: 0.0.0.0:9641
  control:
    listen: unix:${join(dir, `${director}.sock`)}
  state_file: ${join(dir, `${director}.state.json`)}
  log:
    level: info
    format: text
  lvs_sync_daemon:
    interface: ${sync.interface}
    instance: ${sync.instance}
    sync_id: ${sync.syncId}`;
}

/** The HTTP check both demo layouts give their real servers: fast, so a stopped server leaves in ~0.4 s. */
export const DEMO_CHECKS_YAML = `checks:
  - name: web
    type: http
    path: /
    interval: 200ms
    timeout: 200ms
    retries: 1
    rise: 1`;
