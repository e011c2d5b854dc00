// A whole IPVS table: services, each with its destinations. The reconciler compares two of these;
// the client reads the kernel's into one.
import type { IpvsDestination, IpvsDestinationEntry } from './destination.js';
import type { IpvsService, IpvsServiceEntry } from './service.js';

export interface IpvsTableEntry<S extends IpvsService = IpvsService, D extends IpvsDestination = IpvsDestination> {
  service: S;
  dests: D[];
}

/** What lvsd wants in the kernel. */
export type IpvsTable = IpvsTableEntry[];
/** What the kernel dumped: records with their counters. */
export type IpvsKernelTable = IpvsTableEntry<IpvsServiceEntry, IpvsDestinationEntry>[];
