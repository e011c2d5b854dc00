// `lvsd run`: the daemon under signals. SIGTERM/SIGINT stop gracefully (Daemon.stop), SIGHUP reloads,
// SIGUSR2 makes every master give up mastership (as vrrp/main.js). Uncaught exceptions and the VRRP
// worker's death go through the policy in faults.ts. Resolves with the process exit code once the
// daemon has stopped.
import type { Logger } from '../log/index.js';
import { Daemon, DaemonConfigError, DaemonStartError, type DaemonOptions } from './daemon.js';
import { EXIT_SOFTWARE, FaultBudget } from './faults.js';
import { formatIssue } from '../config/index.js';
import { processReserve, raiseFileLimit } from '../listeners/index.js';

export const EXIT_CONFIG = 78; // EX_CONFIG (sysexits.h): systemd's RestartPreventExitStatus
export const EXIT_STARTUP = 1;

export interface RunOptions extends DaemonOptions {
  stderr?: (s: string) => void;
}

export async function runDaemon(file: string, opts: RunOptions = {}): Promise<number> {
  const stderr = opts.stderr ?? ((s: string) => { process.stderr.write(s); });
  // Descriptors are what a flood of clients would exhaust: take all the kernel allows (the unit sets
  // LimitNOFILE), then let the listeners keep a reserve of it for VRRP, scripts and checks.
  const limit = raiseFileLimit();
  processReserve.refresh();
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(file, opts);
    if (limit.error) daemon.log.warn(`cannot raise the file descriptor limit to ${limit.hard}: ${limit.error}; running with ${limit.soft}`, { component: 'daemon' });
    daemon.log.info(`file descriptors: limit ${limit.soft}, ${processReserve.reserve} kept from the listeners for VRRP, scripts and checks`, { component: 'daemon' });
  } catch (e) {
    if (e instanceof DaemonConfigError) {
      stderr(e.errors.map((i) => `${formatIssue(i)}\n`).join('') + `lvsd: ${e.message}; not started\n`);
      return EXIT_CONFIG;
    }
    stderr(`lvsd: ${e instanceof DaemonStartError ? e.message : `startup failed: ${(e as Error).stack ?? String(e)}`}\n`);
    return EXIT_STARTUP;
  }
  return superviseDaemon(daemon);
}

/** Signals and the fault policy for a started daemon; resolves with the exit code once it has stopped. */
export function superviseDaemon(daemon: Daemon): Promise<number> {
  return new Promise<number>((resolve) => {
    const log: Logger = daemon.log.child({ component: 'daemon' });
    let exiting = false;
    let exitCode = 0;
    /** Whoever stops the daemon (a signal, the fault policy, the control API), the process ends after it. */
    const finish = (code: number): void => {
      if (!exiting) exitCode = code;
      exiting = true;
      void daemon.stop();
    };
    const budget = new FaultBudget();
    const onFault = (kind: string) => (err: unknown): void => {
      daemon.faults.uncaught++;
      log.error(`${kind}: ${err instanceof Error ? err.message : String(err)}`, { err: err instanceof Error ? err : new Error(String(err)), count: daemon.faults.uncaught });
      if (exiting) return;
      if (!budget.spend(Date.now())) {
        log.error(`stopping: more than ${budget.maxInWindow} uncaught errors within ${budget.windowMs / 1000} s; exit ${EXIT_SOFTWARE} for a restart`);
        finish(EXIT_SOFTWARE);
        return;
      }
      log.warn('kept running: VRRP runs in its own thread and errors are rare');
    };
    // The VRRP worker ended without being asked: nobody advertises the VIPs it holds. Exit for a restart.
    const onVrrpExit = (code: number): void => {
      if (exiting) return;
      log.error(`stopping: the VRRP worker thread exited (code ${code}); its VIPs stay until lvsd starts again; exit ${EXIT_SOFTWARE} for a restart`);
      finish(EXIT_SOFTWARE);
    };
    daemon.engine.on('exit', onVrrpExit);
    const onUncaught = onFault('uncaught exception');
    const onRejection = onFault('unhandled promise rejection');
    const onTerm = (sig: string) => (): void => { log.info(`${sig}: stopping`); finish(0); };
    const onTermSig = onTerm('SIGTERM');
    const onIntSig = onTerm('SIGINT');
    const onHup = (): void => {
      log.info('SIGHUP: reload');
      daemon.reload().catch((e: unknown) => log.error('reload failed', { err: e as Error }));
    };
    const onUsr2 = (): void => { for (const n of daemon.engine.instances.keys()) void daemon.engine.giveUp(n); };
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onRejection);
    process.on('SIGTERM', onTermSig);
    process.on('SIGINT', onIntSig);
    process.on('SIGHUP', onHup);
    process.on('SIGUSR2', onUsr2);
    daemon.once('stopping', () => {
      exiting = true;
      process.off('SIGHUP', onHup);
      process.off('SIGUSR2', onUsr2);
      daemon.stop().then(() => resolve(exitCode), (e: unknown) => { log.error('stop failed', { err: e as Error }); resolve(EXIT_SOFTWARE); });
    });
  });
}
