// The lab's public surface, for tests and benchmarks: import { Lab } from '../../src/lab/index.js'.
export { Lab, LabHost, LabCommandError, type ExecOptions, type SpawnOptions, type LabOptions } from './lab.js';
export { LabProcess, type ExitStatus } from './process.js';
export { bootKernel, chooseBackend, hostHasIpvs, isRoot, LabKernelError, stopAllLabs, type Backend, type LabKernel, type KernelOptions } from './kernel.js';
export { singleDirector, directorPair, ecmp, ECMP_ADDRESSES, ECMP_DIRECTORS, TOPOLOGIES, ADDRESSES, REAL_SERVERS, topologyByName } from './topologies.js';
export { TopologyError } from './topology.js';
export type { Topology, HostSpec, IfaceSpec, LanSpec, RouteSpec, ServiceSpec } from './topology.js';
export type { ExecResult } from './protocol.js';
export { RealServerHandle, type RealServerOptions } from './realserver-handle.js';
export type { RealServerState } from './realserver.js';
export { takeSnapshot, diffSnapshots, leaks, isEmpty, describeDiff, type Snapshot } from './snapshot.js';
export { MissingPackagesError, missingPackages, requirePackages } from './prereq.js';
export { renderTemplate, startFrr, startBird, FRR_DAEMONS, type FrrHandle, type BirdHandle } from './routing.js';
export {
  EcmpCluster, FibWatch, ecmpLvsdYaml, fibNexthops, waitFib, stamped, logTime, failedRequests, cutRealServers,
  ECMP_ROUTER_AS, ECMP_DIRECTOR_AS, ECMP_LVSD_TABLE, ECMP_BFD, ECMP_VIP, ECMP_DIRECTOR_ADDRESS, ECMP_ALL_NEXTHOPS, LVSD_BIN,
  type EcmpDirector, type EcmpOptions, type EcmpLvsdOptions, type IpvsStats,
} from './ecmp.js';
export { startFlows, summarize as summarizeFlows, FlowsHandle, type FlowsOptions, type FlowsReport, type LongFlowReport } from './flows.js';
export { ipvsadmLines, waitIpvsTable, type IpvsadmLineOptions } from './ipvsadm.js';
