// Real-time scheduling for ONE thread. On Linux the policy belongs to a thread, not the process, so the
// VRRP worker can run at SCHED_FIFO (its adverts then leave on time under host load: see vrrp/README.md)
// while the main thread, whose checkers may busy the CPU, stays SCHED_OTHER and cannot starve the host.
//
//   setThreadScheduler('fifo', 10)   // the calling thread; throws an Error with code 'EPERM' without CAP_SYS_NICE
//   threadId()                       // gettid(): the thread's directory under /proc/self/task
//   threadScheduler(tid)             // { policy, priority } read back from /proc (an independent reader)
import { readFileSync } from 'node:fs';
import { addon } from './index.js';

export type SchedPolicy = 'fifo' | 'rr' | 'other';

/** Sets the calling thread's policy: 'fifo'/'rr' with priority 1..99, 'other' with 0. Errors carry
 *  code/errno/syscall ('EPERM' without CAP_SYS_NICE, 'EINVAL' for a priority out of range). */
export function setThreadScheduler(policy: SchedPolicy, priority: number): void {
  addon.setThreadScheduler(policy, priority);
}

/** The kernel's id of the calling thread (gettid). */
export function threadId(): number { return addon.threadId(); }

const POLICIES: Record<number, SchedPolicy | 'batch' | 'idle' | 'deadline'> = { 0: 'other', 1: 'fifo', 2: 'rr', 3: 'batch', 5: 'idle', 6: 'deadline' };

/** A thread's policy and real-time priority from /proc/<pid>/task/<tid>/stat (fields 40 and 41,
 *  rt_priority and policy, counted after the parenthesised command name, which may hold spaces). */
export function threadScheduler(tid: number, pid: number | 'self' = 'self'): { policy: string; priority: number } {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).trim().split(' '); // fields[0] is field 3 (state)
  const priority = Number(fields[40 - 3]), policy = Number(fields[41 - 3]);
  return { policy: POLICIES[policy] ?? `policy ${policy}`, priority };
}
