// The daemon's email alerts: VRRP transitions and real-server verdicts in, messages to the
// EmailNotifier out, for the objects keepalived's smtp_alert rules pick (alerts.ts alertPolicy).
import { hostname } from 'node:os';
import { endpointText } from '../../checkers/outcome.js';
import { realServerPort } from '../balancer/records.js';
import type { LvsdConfig } from '../config/model.js';
import { alertPolicy, groupState, realServerAlert, virtualServerAlert, vrrpGroupAlert, vrrpInstanceAlert, type AlertPolicy } from './alerts.js';
import { EmailNotifier, type EmailCounters, type EmailNotifierOptions } from './email.js';

/** The balancer's name for a real server (its probed endpoint text). */
function serverName(vs: LvsdConfig['virtual_services'][number], i: number): string {
  const rs = vs.real_servers[i]!;
  return endpointText({ address: rs.address.address, family: rs.address.family, port: realServerPort(vs, rs) });
}

export class EmailAlerter {
  private policy: AlertPolicy;
  private routerId: string;
  private notifier: EmailNotifier | undefined;
  private readonly states = new Map<string, string>();
  private readonly groupMailed = new Map<string, string>();
  private readonly serverUp = new Map<string, boolean>();
  private readonly quorumUp = new Map<string, boolean>();
  /** Counters of notifiers replaced by a reload without email, kept so metrics never go backwards. */
  private readonly retired: EmailCounters = { sent: 0, failed: 0, dropped: 0, rate_limited: 0 };

  constructor(config: LvsdConfig, private readonly opts: EmailNotifierOptions) {
    this.policy = alertPolicy(config, serverName);
    this.routerId = config.global.router_id ?? hostname();
    if (config.global.email) this.notifier = new EmailNotifier(config.global.email, opts);
  }

  get counters(): EmailCounters {
    const c = this.notifier?.counters;
    const r = this.retired;
    return { sent: r.sent + (c?.sent ?? 0), failed: r.failed + (c?.failed ?? 0), dropped: r.dropped + (c?.dropped ?? 0), rate_limited: r.rate_limited + (c?.rate_limited ?? 0) };
  }
  get queued(): number { return this.notifier?.queued ?? 0; }
  get enabled(): boolean { return this.notifier !== undefined; }

  reload(config: LvsdConfig): void {
    this.policy = alertPolicy(config, serverName);
    this.routerId = config.global.router_id ?? hostname();
    const email = config.global.email;
    if (email && this.notifier) this.notifier.reconfigure(email);
    else if (email) this.notifier = new EmailNotifier(email, this.opts);
    else if (this.notifier) {
      this.notifier.close();
      for (const k of Object.keys(this.retired) as Array<keyof EmailCounters>) this.retired[k] += this.notifier.counters[k];
      this.notifier = undefined;
    }
  }

  onVrrpState(instance: string, to: string): void {
    this.states.set(instance, to);
    if (!this.notifier) return;
    if (this.policy.instances.has(instance)) {
      const m = vrrpInstanceAlert(this.routerId, instance, to);
      if (m) this.notifier.enqueue(m);
    }
    for (const [group, members] of this.policy.groups) {
      if (!members.includes(instance)) continue;
      const s = groupState(members, this.states);
      if (s === undefined || this.groupMailed.get(group) === s) continue;
      this.groupMailed.set(group, s);
      const m = vrrpGroupAlert(this.routerId, group, s);
      if (m) this.notifier.enqueue(m);
    }
  }

  /** A verdict event: mails only when up/down changed (weight-only changes are no news). */
  onVerdict(service: string, server: string, up: boolean, reason: string): void {
    const key = `${service}\0${server}`;
    const was = this.serverUp.get(key);
    this.serverUp.set(key, up);
    if (was === up || !this.notifier || !this.policy.servers(service, server)) return;
    this.notifier.enqueue(realServerAlert(this.routerId, service, server, up, reason));
  }

  /**
   * A quorum event: mails when it changed from the state last seen. `seed` records the state found at
   * start without mailing (as VRRP transitions during start are not mailed either).
   */
  onQuorum(service: string, up: boolean, seed = false): void {
    const was = this.quorumUp.get(service);
    this.quorumUp.set(service, up);
    if (seed || was === undefined || was === up || !this.notifier || !this.policy.services.has(service)) return;
    this.notifier.enqueue(virtualServerAlert(this.routerId, service, up));
  }

  flushed(): Promise<void> { return this.notifier?.flushed() ?? Promise.resolve(); }
  close(): void { this.notifier?.close(); }
}
