/**
 * Pure builders for what the agent publishes: its /v1/status DTO and, when it holds the Lease, the CR status
 * fields the agent owns (ARCHITECTURE §3: phase, primaryReplica, initializationComplete, groupId, epoch,
 * replicaStatuses, databases, conditions Available / FailoverReady / Synchronized). Conditions keep their
 * lastTransitionTime while their status does not change.
 */
import type { AgentStatus, AgPhase, Condition, DatabaseStatus, ReplicaStatus, SQLServerAvailabilityGroupStatus } from "@sqlag/api";
import type { Decision, Observation } from "../core/index.js";

export interface AgentStatusInput {
  pod: string;
  ag: string;
  version: string;
  cycle: number;
  observation: Observation;
  decision: Decision;
  wallNow: Date;
  wallTimeAtMs: (monotonicMs: number) => Date;
}

export function buildAgentStatus(input: AgentStatusInput): AgentStatus {
  const { observation: obs, decision } = input;
  const ag = obs.sql.ag;
  const lease = obs.lease.observation?.record;
  const status: AgentStatus = {
    pod: input.pod,
    ag: input.ag,
    mode: "availability-group",
    role: ag?.role ?? (obs.sql.reachability === "reachable" ? "UNKNOWN" : "UNKNOWN"),
    health: decision.report.health.verdict,
    sqlReachable: obs.sql.reachability === "reachable",
    agExists: ag !== undefined,
    databases: (ag?.databases ?? []).map((d) => ({ name: d.name, synchronizationState: d.synchronizationState, isSuspended: d.isSuspended, databaseState: "ONLINE" })),
    lastReason: decision.reason,
    cycle: input.cycle,
    agentVersion: input.version,
    observedAt: input.wallNow.toISOString(),
  };
  if (decision.report.health.detail !== undefined) status.healthDetail = decision.report.health.detail;
  if (ag !== undefined) {
    status.availabilityMode = ag.availabilityMode;
    status.sequenceNumber = ag.sequenceNumber.toString();
    status.groupId = ag.groupId;
  }
  if (lease !== undefined) {
    status.lease = {
      holder: lease.holderIdentity,
      epoch: lease.leaseTransitions,
      heldByMe: decision.report.isHolder,
      observedUnchangedMs: 0,
      expired: false,
    };
  }
  const stuck = decision.report.stuck;
  if (stuck !== undefined) {
    status.stuckSince = input.wallTimeAtMs(stuck.sinceMs).toISOString();
    status.stuckKind = stuck.kind;
    if (stuck.gaveUp) status.stuckGaveUp = true;
  }
  return status;
}

function condition(previous: readonly Condition[] | undefined, type: string, status: Condition["status"], reason: string, message: string, now: Date, generation?: number): Condition {
  const prior = previous?.find((c) => c.type === type);
  const lastTransitionTime = prior !== undefined && prior.status === status ? prior.lastTransitionTime : now.toISOString();
  return { type, status, reason, message, lastTransitionTime, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
}

export interface CrStatusInput {
  observation: Observation;
  decision: Decision;
  /** Peers' last /v1/status (fresh ones only). */
  peers: ReadonlyMap<string, AgentStatus>;
  self: AgentStatus;
  previous: SQLServerAvailabilityGroupStatus | undefined;
  generation: number | undefined;
  clusterName: string;
  now: Date;
}

/** The holder's view of the AG, or undefined when this agent must not publish (not the holder). */
export function buildCrStatus(input: CrStatusInput): SQLServerAvailabilityGroupStatus | undefined {
  const { observation: obs, decision } = input;
  if (!decision.report.isHolder) return undefined;
  const ag = obs.sql.ag;
  const spec = obs.cr?.spec;
  if (spec === undefined) return undefined;

  const replicaStatuses: ReplicaStatus[] = spec.replicas.map((replica) => {
    const pod = `${input.clusterName}-${replica.index}`;
    const local = ag?.replicas.find((r) => r.name.toLowerCase() === pod.toLowerCase());
    const view = pod === input.self.pod ? input.self : input.peers.get(pod);
    const status: ReplicaStatus = {
      name: replica.name,
      pod,
      role: view?.role ?? local?.role ?? "UNKNOWN",
      availabilityMode: replica.availabilityMode,
    };
    if (local?.connected !== undefined) status.connected = local.connected;
    if (local?.allDatabasesSynchronized !== undefined) status.synchronizationHealth = local.allDatabasesSynchronized ? "HEALTHY" : "NOT_HEALTHY";
    if (view?.sequenceNumber !== undefined) status.sequenceNumber = view.sequenceNumber;
    if (view !== undefined) {
      status.healthy = view.health === "healthy";
      status.lastSeenTime = view.observedAt;
    }
    return status;
  });
  // Replicas removed from the spec stay listed while they are still AG members (until this holder has run
  // REMOVE REPLICA): the controller keeps their pods until then, so a replica leaves the AG before its pod goes.
  const specPods = new Set(spec.replicas.map((replica) => `${input.clusterName}-${replica.index}`.toLowerCase()));
  for (const member of ag?.replicas ?? []) {
    if (specPods.has(member.name.toLowerCase())) continue;
    const leaving: ReplicaStatus = { name: member.name, pod: member.name, role: member.role, availabilityMode: member.availabilityMode };
    if (member.connected !== undefined) leaving.connected = member.connected;
    replicaStatuses.push(leaving);
  }

  const databases: DatabaseStatus[] = spec.databases.map((db) => {
    const replicas = spec.replicas
      .filter((r) => r.availabilityMode !== "ConfigurationOnly")
      .map((replica) => {
        const pod = `${input.clusterName}-${replica.index}`;
        const view = pod === input.self.pod ? input.self : input.peers.get(pod);
        const state = view?.databases.find((d) => d.name.toLowerCase() === db.name.toLowerCase());
        return { replica: pod, synchronizationState: state?.synchronizationState ?? "UNKNOWN" };
      });
    const local = ag?.databases.find((d) => d.name.toLowerCase() === db.name.toLowerCase());
    return { name: db.name, inAvailabilityGroup: local?.inAvailabilityGroup ?? false, replicas };
  });

  const primary = ag?.role === "PRIMARY" ? input.self.pod : undefined;
  const allJoined = ag !== undefined && spec.replicas.every((r) => replicaStatuses[r.index]?.role === "PRIMARY" || replicaStatuses[r.index]?.role === "SECONDARY");
  const syncReplicasSynchronized = spec.replicas
    .filter((r) => r.availabilityMode === "SynchronousCommit" && `${input.clusterName}-${r.index}` !== primary)
    .every((r) => ag?.replicas.find((x) => x.name === `${input.clusterName}-${r.index}`)?.allDatabasesSynchronized !== false);
  const phase: AgPhase = ag === undefined ? "Bootstrapping" : primary === undefined ? "Degraded" : allJoined && syncReplicasSynchronized ? "Running" : "Degraded";

  const prev = input.previous?.conditions;
  const conditions: Condition[] = [
    primary !== undefined
      ? condition(prev, "Available", "True", "PrimaryWritable", `Replica ${primary} is primary and holds the lease.`, input.now, input.generation)
      : condition(prev, "Available", "False", "NoPrimary", "No replica is primary yet; see the agent logs for the current reason.", input.now, input.generation),
    decision.report.failoverReady !== undefined
      ? condition(prev, "FailoverReady", decision.report.failoverReady.status, decision.report.failoverReady.reason, decision.report.failoverReady.message, input.now, input.generation)
      : condition(prev, "FailoverReady", "Unknown", "NotComputed", "The lease holder has not assessed failover readiness yet.", input.now, input.generation),
    syncReplicasSynchronized && ag !== undefined
      ? condition(prev, "Synchronized", "True", "AllSynchronized", "Every synchronous secondary has all databases SYNCHRONIZED.", input.now, input.generation)
      : condition(prev, "Synchronized", "False", "NotSynchronized", "A synchronous secondary is not SYNCHRONIZED; it cannot take over without data loss until it catches up.", input.now, input.generation),
  ];

  const views = [input.self, ...input.peers.values()];
  const gaveUp = views.filter((v) => v.stuckGaveUp === true);
  conditions.push(
    gaveUp.length > 0
      ? condition(
          prev,
          "ReplicaRecoveryFailed",
          "True",
          "RecoveryGaveUp",
          `Replica(s) ${gaveUp.map((v) => v.pod).join(", ")} stayed ${gaveUp.map((v) => v.stuckKind ?? "stuck").join("/")} after every automatic recovery step (SET ROLE = SECONDARY, endpoint restarts on both sides). Check the replica's SQL Server error log and endpoint connectivity; deleting the pod restarts it with its data.`,
          input.now,
          input.generation,
        )
      : condition(prev, "ReplicaRecoveryFailed", "False", "NoStuckReplica", "No replica needs manual recovery.", input.now, input.generation),
  );

  const status: SQLServerAvailabilityGroupStatus = {
    phase,
    initializationComplete: allJoined,
    replicaStatuses,
    databases,
    conditions,
  };
  if (primary !== undefined) status.primaryReplica = primary;
  if (ag !== undefined) status.groupId = ag.groupId;
  if (decision.report.epoch !== undefined) status.epoch = decision.report.epoch;
  return status;
}

/** Comparable form of a status: ignores lastSeenTime and transition times so only real changes cause writes. */
export function statusFingerprint(status: SQLServerAvailabilityGroupStatus): string {
  return JSON.stringify({
    ...status,
    replicaStatuses: status.replicaStatuses?.map(({ lastSeenTime: _t, ...rest }) => rest),
    conditions: status.conditions?.map(({ lastTransitionTime: _t, ...rest }) => rest),
  });
}
