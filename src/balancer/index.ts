// The balancer's public surface: config + check verdicts -> the kernel's IPVS table.
export { Balancer, type BalancerOptions, type BalancerReloadSummary, type CheckState, type ServerState, type VerdictEvent, type QuorumEvent, type AppliedEvent, type TableSink } from './balancer.js';
export { decideService, nextQuorum, liveWeight, quorumPolicy, effectiveWeight, tableWeight, type ServerVerdict, type ServiceDecision } from './desired.js';
export { slowStartWeight, slowStartSteps, type SlowStartStep } from './slow-start.js';
export { serviceRecord, serviceRecords, destinationRecord, sorryRecord } from './records.js';
export { runBalancer } from './run.js';
