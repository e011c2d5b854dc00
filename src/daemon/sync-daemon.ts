// The kernel's IPVS connection-sync daemon following a VRRP instance (keepalived lvs_sync_daemon):
// while the instance is MASTER the kernel runs a sync master (and no backup), otherwise a sync backup
// (and no master), so the director that holds the VIPs sends connection state and the other one
// receives it. With role: both (an active/active pair, each director master of some VIPs) the kernel
// runs both at once, whatever the instance's state: each director sends the connections it schedules
// and receives the other's, so whichever survives already knows every flow. The kernel allows it:
// the master's socket does not loop its own messages back (IP_MULTICAST_LOOP off, ip_vs_sync.c), so a
// director never receives its own connections. syncDaemonRecords is pure; SyncDaemonFollower is the
// shell that asks the kernel.
import type { IpvsDaemon } from '../../ipvs/daemon.js';
import { IP_VS_STATE_BACKUP, IP_VS_STATE_MASTER } from '../../ipvs/constants.js';
import { reconcileDaemons, type IpvsOp } from '../../ipvs/reconcile.js';
import type { IpvsOpResult } from '../../ipvs/client.js';
import type { LvsSyncDaemonConfig } from '../config/model.js';

export type SyncRole = 'master' | 'backup';
/** What the kernel runs: one role, or both at once (role: both). */
export type SyncDaemonsWanted = SyncRole | 'both';
/** The config's lvs_sync_daemon; role may be left out (follow), as in configs built by hand. */
export type SyncDaemonSettings = Omit<LvsSyncDaemonConfig, 'role'> & { role?: LvsSyncDaemonConfig['role'] };

/** MASTER -> sync master; BACKUP, FAULT, INIT -> sync backup (a director that is not master receives). */
export function syncRoleFor(vrrpState: string): SyncRole {
  return vrrpState === 'master' ? 'master' : 'backup';
}

/** role: both -> both daemons whatever the state; follow -> the role the instance's state picks. */
export function syncDaemonsWanted(cfg: SyncDaemonSettings, vrrpState: string): SyncDaemonsWanted {
  return cfg.role === 'both' ? 'both' : syncRoleFor(vrrpState);
}

/** The sync daemons the kernel should run: one per role, master first. sync_id defaults to the instance's VRID, as keepalived. */
export function syncDaemonRecords(cfg: SyncDaemonSettings, vrid: number, role: SyncDaemonsWanted): IpvsDaemon[] {
  const states = role === 'both' ? [IP_VS_STATE_MASTER, IP_VS_STATE_BACKUP] : [role === 'master' ? IP_VS_STATE_MASTER : IP_VS_STATE_BACKUP];
  return states.map((state) => {
    const d: IpvsDaemon = { state, mcastIfn: cfg.interface, syncId: cfg.sync_id ?? vrid };
    if (cfg.maxlen !== undefined) d.syncMaxlen = cfg.maxlen;
    if (cfg.group !== undefined) d.mcastGroup = cfg.group.address;
    if (cfg.port !== undefined) d.mcastPort = cfg.port;
    if (cfg.ttl !== undefined) d.mcastTtl = cfg.ttl;
    return d;
  });
}

/** What the follower needs of IpvsClient. */
export interface SyncDaemonClient {
  daemons(): Promise<IpvsDaemon[]>;
  apply(ops: IpvsOp[]): Promise<IpvsOpResult[]>;
}

export interface SyncDaemonStatus { role: SyncDaemonsWanted | 'stopped'; instance?: string; lastError?: string; changes: number }

/**
 * Serialises role changes: one kernel round at a time, the latest wish wins. Errors are reported to
 * the caller's log and kept in status; they never throw into the VRRP engine.
 */
export class SyncDaemonFollower {
  private cfg: SyncDaemonSettings | undefined;
  private vrid = 0;
  private want: SyncDaemonsWanted | 'stopped' = 'stopped';
  private running: Promise<void> | undefined;
  private again = false;
  /** Whether lvsd started daemons: only then does it stop them (a config without the key leaves the kernel's alone). */
  private managing = false;
  readonly status: SyncDaemonStatus = { role: 'stopped', changes: 0 };

  constructor(private readonly client: SyncDaemonClient, private readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void) {}

  /** New config (start or reload); undefined stops what lvsd started. */
  configure(cfg: SyncDaemonSettings | undefined, vrid: number, vrrpState: string | undefined): Promise<void> {
    this.cfg = cfg;
    this.vrid = vrid;
    if (cfg) this.status.instance = cfg.instance; else delete this.status.instance;
    this.want = cfg ? syncDaemonsWanted(cfg, vrrpState ?? 'backup') : 'stopped';
    return this.kick();
  }

  /** The followed instance changed state. */
  follow(vrrpState: string): Promise<void> {
    if (!this.cfg) return Promise.resolve();
    const role = syncDaemonsWanted(this.cfg, vrrpState);
    if (role === this.want) return this.running ?? Promise.resolve();
    this.want = role;
    return this.kick();
  }

  stop(): Promise<void> { this.cfg = undefined; this.want = 'stopped'; return this.kick(); }

  private kick(): Promise<void> {
    if (this.running) { this.again = true; return this.running; }
    this.running = (async () => {
      do {
        this.again = false;
        await this.converge();
      } while (this.again);
    })().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async converge(): Promise<void> {
    const want = this.want;
    if (want === 'stopped' && !this.managing) return;
    try {
      const desired = want === 'stopped' || !this.cfg ? [] : syncDaemonRecords(this.cfg, this.vrid, want);
      const ops = reconcileDaemons(desired, await this.client.daemons());
      const results = ops.length ? await this.client.apply(ops) : [];
      const failed = results.filter((r): r is Extract<IpvsOpResult, { ok: false }> => !r.ok);
      if (failed.length) throw failed[0]!.error;
      this.managing = want !== 'stopped';
      if (this.status.role !== want) {
        this.status.changes++;
        this.log('info', `IPVS sync daemon: ${want === 'stopped' ? 'stopped' : `${want === 'both' ? 'master and backup' : want} on ${this.cfg!.interface} (sync id ${this.cfg!.sync_id ?? this.vrid})`}`);
      }
      this.status.role = want;
      delete this.status.lastError;
    } catch (e) {
      this.status.lastError = (e as Error).message;
      this.log('error', `IPVS sync daemon: cannot become ${want}: ${(e as Error).message}`);
    }
  }
}
