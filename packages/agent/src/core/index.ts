/** The agent's pure decision core: everything the runtime needs to observe → decide → execute → publish. */
export * from "./types.js";
export { decide } from "./decide.js";
export { assertNever } from "./assert-never.js";
export { assessHealth, failingComponent, unresponsiveStrikes, HEALTH_LEVELS, type HealthPolicy } from "./health-policy.js";
export { classifyLease, sqlLeaseRenewalAllowed, type LeaseClass } from "./lease-view.js";
export { evaluatePromotionGate, requiredReports, type GateInput, type GateVerdict } from "./promotion-gate.js";
export { rankCandidates, rankOf, contentionDelayMs, parseSequenceNumber, type CandidateView } from "./ranking.js";
export { requiredSynchronizedSecondariesFor, requiredSynchronizedSecondariesForMembership } from "./rsstc.js";
export { computeFailoverReadiness, type ReadinessInput, type ReadinessReplica } from "./failover-ready.js";
