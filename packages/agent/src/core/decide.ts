/**
 * decide(observation, memory, config, nowMs) → { decision, memory }: the agent's whole HA protocol as one pure,
 * deterministic function (ARCHITECTURE §4.1–4.9; Microsoft's Pacemaker agent with a Kubernetes Lease in place of
 * Pacemaker). No I/O, no clock reads, no randomness; the observation is never mutated (tests deep-freeze it).
 *
 * Invariants every branch keeps:
 *  1. One writer. Only the Lease holder may be PRIMARY. A PRIMARY that is not the holder goes OFFLINE at once;
 *     a holder that is not PRIMARY never pretends: it runs the promotion gate or gives the Lease up.
 *  2. Two leases. The SQL write lease is renewed only by the holder, only as a step right after a Lease
 *     renewal, and the executor sends it only while that renewal was SENT within renewDeadline
 *     (`SqlLeaseAuthority`). With W + renewDeadline + margin <= leaseDuration (checked by loadAgentConfig), no
 *     contender can see the Lease expire before the old primary's SQL lease has lapsed. During an API-server
 *     outage the only other authority is a failsafe heartbeat that EVERY synchronous and configuration-only peer
 *     acknowledged within renewDeadline; peers that acked do not claim for leaseDuration after the ack.
 *  3. Fencing before release. A holder that steps down stops renewing the SQL lease, issues OFFLINE, and releases
 *     the Lease (annotated fenced) only once fenced: role reads RESOLVING, the process is down, or
 *     lastSqlRenewal + W + margin has passed on its own clock. Until then it keeps the Lease renewed.
 *  4. The promotion gate is Pacemaker's, exactly: own sequence number > 0 and equal to the maximum of this
 *     epoch's reports, positive reports >= ⌊N/2⌋+1 with N = SYNC + CONFIGURATION_ONLY replicas in the local
 *     list. 41142 is a clean refusal (release, back off); any other FAILOVER error is an unknown state (re-read
 *     the role, never retry blindly).
 *  5. Never FORCE_FAILOVER_ALLOW_DATA_LOSS, never DROP anything. Demotion is OFFLINE, never SET ROLE =
 *     SECONDARY (which starts recovery and blocks a later FAILOVER); SET ROLE = SECONDARY only for a RESOLVING
 *     replica once a primary is known.
 *  6. The AG is created once: by the holder, only when no reachable replica has it and the CR records no group
 *     id; otherwise it is adopted.
 *  7. One slow action at a time: while one runs, decide emits only short actions (renew, label, release).
 */
import { agNames, ordinalOfPod, roleLabelValues, type AgentStatus, type ResolvedAgSpec, type ResolvedReplica, type RoleLabelValue } from "@sqlag/api";
import { assertNever } from "./assert-never.js";
import { computeFailoverReadiness, type ReadinessReplica } from "./failover-ready.js";
import { assessHealth } from "./health-policy.js";
import { classifyLease, type LeaseClass } from "./lease-view.js";
import { evaluatePromotionGate } from "./promotion-gate.js";
import { contentionDelayMs, parseSequenceNumber, rankOf, type CandidateView } from "./ranking.js";
import { requiredSynchronizedSecondariesForMembership } from "./rsstc.js";
import {
  isLongAction,
  type Action,
  type AgentMemory,
  type CompletedAction,
  type DecideConfig,
  type DecideResult,
  type DecisionReport,
  type HealthAssessment,
  type LocalAgView,
  type Observation,
  type PromotionRound,
  type ReasonCode,
  type StepDownCause,
} from "./types.js";

/** Everything derived once per cycle; branches read it and never recompute. */
interface Context {
  readonly obs: Observation;
  readonly config: DecideConfig;
  readonly nowMs: number;
  readonly me: string;
  readonly health: HealthAssessment;
  readonly lease: LeaseClass;
  readonly spec: ResolvedAgSpec | undefined;
  /** The own replica in the spec (by pod ordinal), if listed. */
  readonly mySpec: ResolvedReplica | undefined;
  /** Pods with a /v1/status fresher than peerStatusMaxAgeMs. */
  readonly freshPeers: ReadonlyMap<string, AgentStatus>;
  /** No long action is running: this cycle may start one. */
  readonly canStartLong: boolean;
}

interface Outcome {
  reason: ReasonCode;
  actions: Action[];
  memory: AgentMemory;
  report?: Partial<DecisionReport>;
}

// ---------------------------------------------------------------------------------------------------------
// Entry point

export function decide(observation: Observation, memory: AgentMemory, config: DecideConfig, nowMs: number): DecideResult {
  const health = assessHealth(
    observation.diagnostics,
    { threshold: config.healthThreshold, intervalMs: config.timing.healthCheckIntervalMs, graceMs: config.timing.healthCheckGraceMs },
    memory.unhealthySinceMs,
    nowMs,
  );
  const spec = observation.cr?.spec;
  const ordinal = ordinalOfPod(config.clusterName, config.podName);
  const freshPeers = new Map<string, AgentStatus>();
  for (const peer of observation.peers) {
    if (peer.status !== undefined && peer.statusAgeMs !== undefined && peer.statusAgeMs <= config.policy.peerStatusMaxAgeMs) {
      freshPeers.set(peer.pod, peer.status);
    }
  }
  const ctx: Context = {
    obs: observation,
    config,
    nowMs,
    me: config.podName,
    health,
    lease: classifyLease(observation.lease, config.podName, config.timing, observation.self.agentStartedAtMs, nowMs),
    spec,
    mySpec: spec !== undefined && ordinal !== undefined ? spec.replicas[ordinal] : undefined,
    freshPeers,
    canStartLong: observation.inProgress === undefined,
  };

  let next: AgentMemory = foldCompleted(ctx, { ...memory, cycle: memory.cycle + 1 }, observation.completed);
  const unhealthy = health.verdict === "unhealthy" || health.verdict === "unresponsive" || health.verdict === "down";
  next = withOptional(next, "unhealthySinceMs", unhealthy ? health.unhealthySinceMs : undefined);
  const claimable = (ctx.lease.kind === "free" || (ctx.lease.kind === "other" && ctx.lease.expired));
  next = withOptional(next, "claimableSinceMs", claimable ? (next.claimableSinceMs ?? nowMs) : undefined);

  const outcome = decideBranch(ctx, next);
  const actions = enforceSingleLongAction(outcome.actions, ctx.canStartLong);
  const report: DecisionReport = {
    health,
    isHolder: ctx.lease.kind === "mine" && ctx.lease.authorized,
    ...(ctx.lease.kind === "mine" ? { holder: ctx.me } : ctx.lease.kind === "other" ? { holder: ctx.lease.holder } : {}),
    ...(ctx.lease.kind !== "unknown" ? { epoch: ctx.lease.epoch } : {}),
    ...stuckReport(outcome.memory),
    ...outcome.report,
  };
  return {
    decision: { reason: outcome.reason, actions, report },
    memory: { ...outcome.memory, lastReason: outcome.reason },
  };
}

function decideBranch(ctx: Context, memory: AgentMemory): Outcome {
  const { obs } = ctx;
  const sql = obs.sql;
  if (sql.reachability === "reachable" && sql.serverName !== undefined && sql.serverName.toLowerCase() !== ctx.me.toLowerCase()) {
    return outcome("identity_mismatch", [], memory, {
      detail: `@@SERVERNAME is ${sql.serverName} but this pod is ${ctx.me}: the replica name must equal the pod's host name`,
    });
  }
  if (ctx.spec !== undefined && ctx.spec.agName !== ctx.config.agName) {
    // A PRIMARY still obeys the safety self-checks; it just does nothing the spec would drive.
    if (sql.ag?.role !== "PRIMARY") {
      return outcome("bad_config", [], memory, {
        detail: `the CR's agName ${ctx.spec.agName} differs from the agent's ${ctx.config.agName}; the pod must be re-rendered`,
      });
    }
  }
  if (sql.reachability !== "reachable") return decideSqlUnreachable(ctx, memory);
  const ag = sql.ag;
  if (ag === undefined) return decideWithoutAg(ctx, memory);
  if (ag.role === "PRIMARY") return decidePrimary(ctx, memory, ag);
  if (ctx.lease.kind === "mine") return decideHolderNotPrimary(ctx, memory, ag);
  return decideSecondary(ctx, memory, ag);
}

// ---------------------------------------------------------------------------------------------------------
// Folding finished actions into memory

function foldCompleted(ctx: Context, memory: AgentMemory, completed: readonly CompletedAction[]): AgentMemory {
  let next = memory;
  for (const done of completed) {
    switch (done.kind) {
      case "collectSequenceReports": {
        const round = next.promotion;
        if (round === undefined || done.epoch !== round.epoch) break;
        const fresh = (done.sequenceReports ?? []).filter((r) => r.epoch === round.epoch && r.pod !== ctx.me);
        const merged = new Map(round.reports.map((r) => [r.pod, r]));
        for (const report of fresh) merged.set(report.pod, report);
        next = { ...next, promotion: { ...round, reports: [...merged.values()] } };
        break;
      }
      case "promote": {
        const round = next.promotion;
        if (round === undefined || done.epoch !== round.epoch || done.ok) break;
        next = {
          ...next,
          promotion: done.sqlErrorNumber === 41142 ? { ...round, refused41142: true } : { ...round, failedUnknownAtMs: done.finishedAtMs },
        };
        break;
      }
      case "sendFailsafeHeartbeats": {
        const required = failsafeRequiredPeers(ctx);
        const acked = new Set(done.failsafeAckedBy ?? []);
        if (!done.ok && acked.size === 0) break;
        if (done.epoch === undefined || !required.every((pod) => acked.has(pod))) break;
        if (next.failsafe !== undefined && next.failsafe.epoch === done.epoch && next.failsafe.fullyAckedSentAtMs >= done.startedAtMs) break;
        next = { ...next, failsafe: { fullyAckedSentAtMs: done.startedAtMs, epoch: done.epoch } };
        break;
      }
      case "offline": {
        if (!done.ok && next.stepDown !== undefined) {
          const { offlineIssuedAtMs: _retry, ...rest } = next.stepDown;
          next = { ...next, stepDown: rest };
        }
        break;
      }
      case "renewSqlWriteLease":
        if (done.ok) next = withOptional(next, "sqlLeaseRejectedErrorNumber", undefined);
        else if (done.sqlErrorNumber === 47117 || done.sqlErrorNumber === 47118) next = { ...next, sqlLeaseRejectedErrorNumber: done.sqlErrorNumber };
        break;
      case "joinAg":
      case "bootstrapStep":
      case "addDatabase":
      case "addReplica":
      case "modifyReplica":
      case "removeReplica":
        if (!done.ok) next = { ...next, retryNotBeforeMs: done.finishedAtMs + ctx.config.policy.retryBackOffMs };
        break;
      default:
        break;
    }
  }
  return next;
}

// ---------------------------------------------------------------------------------------------------------
// Local SQL not reachable

function decideSqlUnreachable(ctx: Context, memory: AgentMemory): Outcome {
  const { obs, lease } = ctx;
  const ownLabel = labelOwnPod(ctx, undefined, false);
  if (lease.kind !== "mine") {
    if (obs.self.preStopRequested) return outcome("prestop_not_primary", ownLabel, memory, { preStop: "not_primary" });
    return outcome("sql_unreachable", ownLabel, memory, { detail: `local SQL Server ${obs.sql.reachability}` });
  }
  // Holder whose SQL Server cannot be reached: it renews nothing in SQL; step down once that is warranted.
  if (obs.sql.reachability === "refused" || ctx.health.verdict === "down") {
    return stepDown(ctx, memory, "process_down");
  }
  if (memory.stepDown !== undefined) return continueStepDown(ctx, memory);
  if (automaticFailoverEnabled(ctx) && unhealthyPastThreshold(ctx)) return stepDown(ctx, memory, "unresponsive");
  return outcome("sql_unreachable", [...ownLabel, ...renewLeaseIfDue(ctx)], memory, { detail: `local SQL Server ${obs.sql.reachability}` });
}

// ---------------------------------------------------------------------------------------------------------
// No AG locally: bootstrap, adoption, join

function decideWithoutAg(ctx: Context, memory: AgentMemory): Outcome {
  const { obs, lease, spec, mySpec } = ctx;
  if (obs.self.preStopRequested) {
    const release: Action[] = lease.kind === "mine" ? [{ kind: "releaseLease", fenced: true, releaseReason: "prestop_not_primary" }] : [];
    return outcome("prestop_not_primary", release, memory, { preStop: "not_primary" });
  }
  if (spec === undefined) return outcome("waiting_for_spec", renewLeaseIfDue(ctx), memory);
  if (mySpec === undefined) {
    return outcome("replica_not_in_spec", [], memory, { detail: `${ctx.me} is not one of the ${spec.replicas.length} replicas in the spec` });
  }
  const peersWithAg = [...ctx.freshPeers.values()].filter((s) => s.agExists === true);
  const someoneHasAg = peersWithAg.length > 0 || obs.cr?.recordedGroupId !== undefined;
  const endpointReady = obs.sql.endpoint === "started" && obs.sql.endpointSecurityReady === true;
  const retryBlocked = memory.retryNotBeforeMs !== undefined && ctx.nowMs < memory.retryNotBeforeMs;

  if (lease.kind === "mine") {
    if (!lease.authorized) return outcome("lease_unverifiable", [{ kind: "renewLease" }], memory);
    if (someoneHasAg) {
      // Adopt, never re-create: the replica that has the AG should hold the Lease.
      return releaseLease(ctx, memory, "adopting_existing_ag", true, undefined, {
        detail: obs.cr?.recordedGroupId !== undefined ? "the CR records an AG group id" : `AG exists on ${peersWithAg.map((p) => p.pod).join(", ")}`,
      });
    }
    if (mySpec.availabilityMode !== "SynchronousCommit") return releaseLease(ctx, memory, "releasing_not_promotable", true);
    const renew = renewLeaseIfDue(ctx);
    if (!ctx.canStartLong) return outcome("action_in_progress", renew, memory);
    if (retryBlocked) return outcome("retry_backoff", renew, memory);
    if (!obs.hadrCertificatePublished) {
      return outcome("bootstrap_publishing_certificate", [...renew, { kind: "bootstrapStep", step: "publishCertificate" }], memory);
    }
    if (!endpointReady) return outcome("bootstrap_preparing_endpoint", [...renew, { kind: "bootstrapStep", step: "prepareEndpoint" }], memory);
    return outcome("bootstrap_creating_ag", [...renew, { kind: "bootstrapStep", step: "createAvailabilityGroup" }], memory);
  }

  if (!ctx.canStartLong) return outcome("action_in_progress", [], memory);
  const holderStatus = lease.kind === "other" ? ctx.freshPeers.get(lease.holder) : undefined;
  const primaryWithAg = holderStatus !== undefined && holderStatus.agExists === true && holderStatus.role === "PRIMARY";
  const prepare: Action[] = obs.hadrCertificatePublished && !endpointReady && !retryBlocked ? [{ kind: "bootstrapStep", step: "prepareEndpoint" }] : [];

  if (primaryWithAg || someoneHasAg) {
    if (!primaryWithAg) return outcome(prepare.length > 0 ? "bootstrap_preparing_endpoint" : "waiting_for_existing_ag", prepare, memory);
    if (!obs.hadrCertificatePublished) return outcome("bootstrap_waiting_for_certificate", [], memory);
    if (retryBlocked) return outcome("retry_backoff", [], memory);
    if (!endpointReady) return outcome("bootstrap_preparing_endpoint", prepare, memory);
    return outcome("joining_ag", [{ kind: "joinAg", grantCreateAnyDatabase: mySpec.availabilityMode !== "ConfigurationOnly" }], memory);
  }

  // Nobody has the AG: the synchronous replicas race for the free Lease, lowest ordinal first.
  if (lease.kind === "free" || (lease.kind === "other" && lease.expired)) {
    if (mySpec.availabilityMode !== "SynchronousCommit" || obs.self.terminating) {
      return outcome(prepare.length > 0 ? "bootstrap_preparing_endpoint" : "bootstrap_waiting_for_holder", prepare, memory);
    }
    const synchronous = spec.replicas.filter((r) => r.availabilityMode === "SynchronousCommit");
    const rank = synchronous.findIndex((r) => r.index === mySpec.index);
    const waitUntil = (memory.claimableSinceMs ?? ctx.nowMs) + contentionDelayMs(rank, ctx.config.policy.candidateDelayStepMs);
    if (ctx.nowMs < waitUntil) return outcome("waiting_for_rank", prepare, memory);
    return outcome("bootstrap_claiming_lease", [claimAction(lease)], memory);
  }
  return outcome(prepare.length > 0 ? "bootstrap_preparing_endpoint" : "bootstrap_waiting_for_holder", prepare, memory);
}

// ---------------------------------------------------------------------------------------------------------
// Local replica is PRIMARY

function decidePrimary(ctx: Context, memory: AgentMemory, ag: LocalAgView): Outcome {
  const { lease, obs } = ctx;
  if (lease.kind === "other") {
    // Pacemaker's split-brain guard: a primary that is not the chosen one demotes itself at once.
    return demoteNow(ctx, memory, "demoting_lost_lease", `the Lease is held by ${lease.holder}`);
  }
  if (lease.kind === "free") {
    if (memory.stepDown !== undefined || ctx.health.verdict !== "healthy" || obs.self.terminating) {
      return demoteNow(ctx, memory, "demoting_lost_lease", "the Lease is free and this primary is stepping down");
    }
    // A live primary with nobody holding the Lease (e.g. the Lease was recreated): adopt it through a CAS claim.
    return outcome("claiming_lease_as_primary", [claimAction(lease)], memory);
  }
  if (lease.kind === "unknown" || !lease.authorized) return decidePrimaryWithoutAuthority(ctx, memory, ag);

  // Holder with a valid Lease.
  if (memory.stepDown !== undefined) return continueStepDown(ctx, memory);
  if (automaticFailoverEnabled(ctx)) {
    if (ctx.health.verdict === "down") return stepDown(ctx, memory, "process_down");
    if (unhealthyPastThreshold(ctx)) return stepDown(ctx, memory, ctx.health.verdict === "unresponsive" ? "unresponsive" : "unhealthy");
  }
  if (ag.configurationCommitAgeMs !== undefined && ag.configurationCommitAgeMs > ctx.config.timing.disablePrimaryOnQuorumTimeoutMs) {
    return stepDown(ctx, memory, "stuck_configuration_commit");
  }
  if (obs.self.preStopRequested || obs.self.terminating) return plannedFailover(ctx, memory, ag, "any", true);
  const switchoverTo = obs.cr?.switchoverTo;
  if (switchoverTo !== undefined && switchoverTo !== "" && switchoverTo !== ctx.me) return plannedFailover(ctx, memory, ag, switchoverTo, false);
  const steady = steadyPrimary(ctx, memory, ag);
  if (ctx.health.verdict !== "healthy" && ctx.health.verdict !== "unknown" && automaticFailoverEnabled(ctx)) {
    return { ...steady, reason: "unhealthy_below_threshold", report: { ...steady.report, ...(ctx.health.detail !== undefined ? { detail: ctx.health.detail } : {}) } };
  }
  return steady;
}

/** Primary whose Lease authority is gone or unknown: the failsafe of §4.9, else self-fence (C18). */
function decidePrimaryWithoutAuthority(ctx: Context, memory: AgentMemory, ag: LocalAgView): Outcome {
  const { lease, nowMs, config } = ctx;
  const epoch = lease.kind === "mine" ? lease.epoch : undefined;
  const heartbeats: Action[] = epoch !== undefined ? [{ kind: "sendFailsafeHeartbeats", epoch, peers: failsafeRequiredPeers(ctx) }] : [];
  if (memory.stepDown !== undefined) return continueStepDown(ctx, memory);
  const failsafe = memory.failsafe;
  if (epoch !== undefined && failsafe !== undefined && failsafe.epoch === epoch && nowMs - failsafe.fullyAckedSentAtMs <= config.timing.renewDeadlineMs) {
    const renewSql: Action[] = sqlRenewalDue(ctx)
      ? [
          {
            kind: "renewSqlWriteLease",
            sqlWriteLeaseSeconds: config.timing.sqlWriteLeaseMs / 1000,
            authority: { kind: "failsafe", heartbeatSentAtMs: failsafe.fullyAckedSentAtMs, validUntilMs: failsafe.fullyAckedSentAtMs + config.timing.renewDeadlineMs },
          },
        ]
      : [];
    // Heartbeats and the SQL renewal first: the Lease renewal will most likely fail and would skip what follows.
    return outcome("failsafe_acked", [...heartbeats, ...primaryLabels(ctx, ag), ...renewSql, { kind: "renewLease" }], memory, {
      failoverReady: failoverReadiness(ctx, ag),
    });
  }
  const pastDeadline = lease.kind === "mine" ? lease.pastDeadline : nowMs - ctx.obs.self.agentStartedAtMs > config.timing.renewDeadlineMs;
  if (!pastDeadline) {
    // Authority not proven yet (this process has not renewed) but not lapsed either: try, and ask the peers.
    return outcome("lease_renewal_overdue", [...heartbeats, { kind: "renewLease" }], memory);
  }
  // Neither the API server nor every peer vouches for this primary: it fences itself.
  const fenced = stepDown(ctx, memory, "lease_unverifiable", "failsafe_not_acked");
  return { ...fenced, actions: [...heartbeats, ...fenced.actions.filter((a) => a.kind !== "renewLease"), { kind: "renewLease" }] };
}

function steadyPrimary(ctx: Context, memory: AgentMemory, ag: LocalAgView): Outcome {
  const { lease } = ctx;
  let next = memory;
  let reason: ReasonCode = "primary_steady";
  const actions: Action[] = [];
  if (next.promotion !== undefined) {
    reason = "promoted";
    const { promotion: _done, ...rest } = next;
    next = rest;
  }
  if (lease.kind === "mine" && lease.overdue) {
    // Renewals are failing: keep trying, and start collecting failsafe acks before the authority lapses.
    actions.push(
      { kind: "sendFailsafeHeartbeats", epoch: lease.epoch, peers: failsafeRequiredPeers(ctx) },
      { kind: "renewLease" },
      renewSqlAfterLease(ctx),
    );
    reason = "lease_renewal_overdue";
  } else if (lease.kind === "mine" && lease.renewDue) {
    // Heartbeats ride on every renewal, before it: a Lease write that hangs on a blackholed API server blocks
    // the cycle for its whole timeout, and a holder that only started collecting acks once overdue had none
    // when its authority lapsed, so it fenced itself although every peer was reachable (e2e API outage).
    const peers = failsafeRequiredPeers(ctx);
    if (peers.length > 0) actions.push({ kind: "sendFailsafeHeartbeats", epoch: lease.epoch, peers });
    actions.push({ kind: "renewLease" }, renewSqlAfterLease(ctx));
    if (reason === "primary_steady") reason = "lease_renewed";
  } else if (reason === "promoted") {
    // Pacemaker renews the SQL lease again right after FAILOVER; it always rides on a fresh Lease renewal.
    actions.push({ kind: "renewLease" }, renewSqlAfterLease(ctx));
  }
  const desiredRsstc = requiredSynchronizedSecondariesForMembership(ag.replicas, ctx.spec?.requiredSynchronizedSecondariesToCommit);
  if (desiredRsstc !== ag.requiredSynchronizedSecondariesToCommit) {
    actions.push({ kind: "setRequiredSynchronizedSecondaries", value: desiredRsstc });
    if (reason === "primary_steady") reason = "rsstc_updated";
  }
  const labels = primaryLabels(ctx, ag);
  if (labels.length > 0) {
    actions.push(...labels);
    if (reason === "primary_steady") reason = "labels_updated";
  }
  const report: Partial<DecisionReport> = { failoverReady: failoverReadiness(ctx, ag) };
  if (ctx.obs.cr?.switchoverTo === ctx.me) report.detail = "switchover target is already the primary";
  if (next.sqlLeaseRejectedErrorNumber !== undefined && reason === "primary_steady") {
    // Keeps serving while the current SQL lease lasts; the condition tells the user what to change.
    reason = "bad_config";
    report.detail = `SQL Server rejected WRITE_LEASE_VALIDITY = ${ctx.config.timing.sqlWriteLeaseMs / 1000} s (error ${next.sqlLeaseRejectedErrorNumber}); choose sqlWriteLeaseSeconds in the range SQL Server accepts`;
  }

  const stuckPeerSeen = [...ctx.freshPeers.values()].some((s) => s.pod !== ctx.me && s.stuckSince !== undefined);
  next = withOptional(next, "peerStuckSeenSinceMs", stuckPeerSeen ? (next.peerStuckSeenSinceMs ?? ctx.nowMs) : undefined);
  if (ctx.canStartLong) {
    const republish = republishCertificateAction(ctx, next);
    if (republish !== undefined) {
      actions.push(republish);
      if (reason === "primary_steady" || reason === "lease_renewed" || reason === "labels_updated" || reason === "rsstc_updated") reason = "bootstrap_publishing_certificate";
      return outcome(reason, actions, next, { ...report, detail: "the hadr Secret has no endpoint certificate; exporting the one this AG uses" });
    }
    const membership = membershipAction(ctx, next, ag);
    if (membership !== undefined) {
      actions.push(membership.action);
      if (reason === "primary_steady" || reason === "lease_renewed" || reason === "labels_updated" || reason === "rsstc_updated") reason = membership.reason;
      return outcome(reason, actions, next, report);
    }
    const assist = peerAssistRestart(ctx, next, ag);
    if (assist !== undefined) {
      actions.push({ kind: "restartEndpoint", offlineFirst: false });
      return outcome("recovery_restarting_endpoint_for_peer", actions, assist, { ...report, detail: "a peer reports a stuck replica" });
    }
  }
  return outcome(reason, actions, next, report);
}

/**
 * Holder of an existing AG whose `<ag>-hadr` Secret has no certificate (the Secret was deleted and the
 * controller re-created it empty, ADR 0006): export the certificate this AG's endpoints already use, so a
 * replaced or added replica can import it. Never a new certificate: every replica must keep the same one.
 */
function republishCertificateAction(ctx: Context, memory: AgentMemory): Action | undefined {
  if (ctx.obs.hadrCertificatePublished || ctx.lease.kind !== "mine") return undefined;
  if (memory.retryNotBeforeMs !== undefined && ctx.nowMs < memory.retryNotBeforeMs) return undefined;
  return { kind: "bootstrapStep", step: "republishCertificate" };
}

/** Day-2 membership and databases, one long action per cycle (holder only). */
function membershipAction(ctx: Context, memory: AgentMemory, ag: LocalAgView): { action: Action; reason: ReasonCode } | undefined {
  const spec = ctx.spec;
  if (spec === undefined || spec.agName !== ctx.config.agName) return undefined;
  if (memory.retryNotBeforeMs !== undefined && ctx.nowMs < memory.retryNotBeforeMs) return undefined;
  const podOf = (replica: ResolvedReplica): string => agNames.pod(ctx.config.clusterName, replica.index);
  const inAg = new Map(ag.replicas.map((r) => [r.name.toLowerCase(), r]));
  for (const replica of spec.replicas) {
    if (!inAg.has(podOf(replica).toLowerCase())) return { action: { kind: "addReplica", replica }, reason: "adding_replica" };
  }
  const specPods = new Set(spec.replicas.map((r) => podOf(r).toLowerCase()));
  for (const replica of ag.replicas) {
    const name = replica.name.toLowerCase();
    if (!specPods.has(name) && name !== ctx.me.toLowerCase()) {
      return { action: { kind: "removeReplica", replicaName: replica.name }, reason: "removing_replica" };
    }
  }
  for (const replica of spec.replicas) {
    const current = inAg.get(podOf(replica).toLowerCase());
    if (current === undefined) continue;
    // CONFIGURATION_ONLY cannot be changed in place; the rest can (MODIFY REPLICA).
    const modeChange =
      current.availabilityMode !== replica.availabilityMode &&
      current.availabilityMode !== "ConfigurationOnly" &&
      replica.availabilityMode !== "ConfigurationOnly";
    const readableChange = replica.availabilityMode !== "ConfigurationOnly" && current.readableSecondary !== replica.readableSecondary;
    if (modeChange || readableChange) {
      return {
        action: {
          kind: "modifyReplica",
          replica,
          ...(modeChange ? { availabilityMode: replica.availabilityMode } : {}),
          ...(readableChange ? { readableSecondary: replica.readableSecondary } : {}),
        },
        reason: "modifying_replica",
      };
    }
  }
  const joined = new Set(ag.databases.filter((d) => d.inAvailabilityGroup).map((d) => d.name.toLowerCase()));
  for (const database of spec.databases) {
    if (!joined.has(database.name.toLowerCase())) return { action: { kind: "addDatabase", database: database.name }, reason: "adding_database" };
  }
  return undefined;
}

/**
 * §4.8 holder side: restart the own endpoint when a peer reports being stuck; rate-limited; never while seeding.
 * Not at once: a deposed primary reports stuck (41104) right after the promotion, and a reconnect inside the
 * early window after a failover caches a stale transport again (peer-sql-on-k8s-operator LESSONS L13/L15, the
 * simulator's latch). A restart then was wasted and blocked the useful one for endpointRestartMinInterval
 * (rejoin ≈ 95 s on the test cluster). The holder restarts once it has seen the peer stuck as long as the peer
 * waits before restarting its own endpoint, plus two loop intervals so its side comes second and its re-dial
 * meets a cleared peer.
 */
function peerAssistRestart(ctx: Context, memory: AgentMemory, ag: LocalAgView): AgentMemory | undefined {
  const seenSinceMs = memory.peerStuckSeenSinceMs;
  if (seenSinceMs === undefined) return undefined;
  if (ctx.nowMs - seenSinceMs < ctx.config.policy.stuckBeforeEndpointRestartMs + 2 * ctx.config.timing.loopIntervalMs) return undefined;
  if (ag.databases.some((d) => d.seeding)) return undefined;
  const last = memory.lastPeerAssistRestartAtMs;
  if (last !== undefined && ctx.nowMs - last < ctx.config.policy.endpointRestartMinIntervalMs) return undefined;
  return { ...memory, lastPeerAssistRestartAtMs: ctx.nowMs };
}

// ---------------------------------------------------------------------------------------------------------
// Planned failover (switchover annotation, preStop)

function plannedFailover(ctx: Context, memory: AgentMemory, ag: LocalAgView, requested: string, preStop: boolean): Outcome {
  const eligible = ag.replicas.filter(
    (r) =>
      r.name.toLowerCase() !== ctx.me.toLowerCase() &&
      r.availabilityMode === "SynchronousCommit" &&
      r.connected !== false &&
      r.allDatabasesSynchronized === true &&
      peerNotUnhealthy(ctx, r.name),
  );
  let target: string | undefined;
  if (requested === "any") {
    target = [...eligible].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0]?.name;
  } else {
    target = eligible.find((r) => r.name.toLowerCase() === requested.toLowerCase())?.name;
  }
  if (target === undefined) {
    const steady = steadyPrimary(ctx, memory, ag);
    if (preStop) {
      return { ...steady, reason: "prestop_no_eligible_target", report: { ...steady.report, preStop: "no_eligible_target" } };
    }
    const known = ag.replicas.some((r) => r.name.toLowerCase() === requested.toLowerCase());
    return {
      ...steady,
      reason: known ? "switchover_target_not_synchronized" : "switchover_no_eligible_target",
      report: {
        ...steady.report,
        detail:
          requested === "any"
            ? "no synchronous secondary is SYNCHRONIZED and healthy"
            : known
              ? `${requested} is not a SYNCHRONIZED synchronous replica`
              : `${requested} is not a replica of the AG`,
      },
    };
  }
  const started = stepDown(ctx, memory, "switchover", preStop ? "prestop_switching_over" : "switchover_demoting", target);
  return preStop ? { ...started, report: { ...started.report, preStop: "switching_over" } } : started;
}

// ---------------------------------------------------------------------------------------------------------
// Step-down (fencing) of a holder

function stepDown(ctx: Context, memory: AgentMemory, cause: StepDownCause, reasonOverride?: ReasonCode, handOverTo?: string): Outcome {
  const next: AgentMemory = {
    ...memory,
    stepDown: { cause, startedAtMs: ctx.nowMs, ...(handOverTo !== undefined ? { handOverTo } : {}) },
  };
  const continued = continueStepDown(ctx, next);
  const reason: ReasonCode =
    reasonOverride ??
    (cause === "process_down"
      ? "sql_process_down"
      : cause === "unresponsive"
        ? "fencing_unresponsive_primary"
        : cause === "stuck_configuration_commit"
          ? "stuck_configuration_commit"
          : cause === "lease_unverifiable"
            ? "failsafe_not_acked"
            : "fencing_unhealthy_primary");
  // The first cycle names the cause; a release in the same cycle (process already down) keeps its own reason.
  return continued.reason === "released_lease_fenced" || continued.reason === "switchover_handing_over" ? continued : { ...continued, reason };
}

/**
 * One cycle of an ongoing step-down: keep the Lease renewed (so nobody waits for expiry), never renew the SQL
 * lease, issue OFFLINE once, and release (or hand over) with fenced once the replica provably cannot write.
 */
function continueStepDown(ctx: Context, memory: AgentMemory): Outcome {
  const stepDownMemory = memory.stepDown;
  if (stepDownMemory === undefined) throw new Error("continueStepDown without a step-down in memory");
  const { obs, lease, config, nowMs } = ctx;
  const preStopReport: Partial<DecisionReport> = obs.self.preStopRequested ? { preStop: "switching_over" } : {};
  const unlabel = labelOwnPod(ctx, roleLabelValues.resolving, false);
  if (lease.kind !== "mine") {
    return outcome("demoting_lost_lease", unlabel, memory, preStopReport);
  }
  const role = obs.sql.reachability === "reachable" ? obs.sql.ag?.role : undefined;
  const processDown = obs.sql.reachability === "refused" || ctx.health.verdict === "down";
  const leaseBound = obs.sqlWriteLease.renewalInFlight
    ? undefined
    : (obs.sqlWriteLease.lastRenewalAttemptEndedAtMs ?? obs.self.agentStartedAtMs) + config.timing.sqlWriteLeaseMs + config.timing.leaseSafetyMarginMs;
  const sqlLeaseLapsed = leaseBound !== undefined && nowMs >= leaseBound;
  const fenced = processDown || (obs.sql.reachability === "reachable" && role !== undefined && role !== "PRIMARY") || sqlLeaseLapsed;
  if (fenced && lease.authorized) {
    const target = stepDownMemory.handOverTo;
    const backedOff: AgentMemory = { ...memory, contentionBackOffUntilMs: nowMs + config.policy.contentionBackOffMs };
    if (target !== undefined) {
      return outcome("switchover_handing_over", [...unlabel, { kind: "handOverLease", target, fenced: true }], backedOff, preStopReport);
    }
    return outcome(
      processDown && stepDownMemory.cause === "process_down" ? "sql_process_down" : "released_lease_fenced",
      [...unlabel, { kind: "releaseLease", fenced: true, releaseReason: releaseReasonFor(stepDownMemory.cause) }],
      backedOff,
      obs.self.preStopRequested ? { preStop: "fenced" } : {},
    );
  }
  // Fencing steps before the Lease renewal: a failed renewal skips whatever follows it.
  const actions: Action[] = [...unlabel];
  let next = memory;
  if (!fenced && stepDownMemory.offlineIssuedAtMs === undefined && obs.sql.reachability === "reachable" && ctx.canStartLong) {
    actions.push({ kind: "offline" });
    next = { ...memory, stepDown: { ...stepDownMemory, offlineIssuedAtMs: nowMs } };
  }
  actions.push(...renewLeaseIfDue(ctx));
  const detail =
    leaseBound !== undefined && !fenced ? `SQL write lease ends at the latest in ${Math.max(0, leaseBound - nowMs)} ms` : undefined;
  return outcome(fenced ? "lease_unverifiable" : "waiting_for_sql_lease_expiry", actions, next, {
    ...preStopReport,
    ...(detail !== undefined ? { detail } : {}),
  });
}

function releaseReasonFor(cause: StepDownCause): ReasonCode {
  switch (cause) {
    case "process_down":
      return "sql_process_down";
    case "unresponsive":
      return "fencing_unresponsive_primary";
    case "unhealthy":
      return "fencing_unhealthy_primary";
    case "stuck_configuration_commit":
      return "stuck_configuration_commit";
    case "lease_unverifiable":
      return "failsafe_not_acked";
    case "switchover":
      return "switchover_handing_over";
  }
}

/** Not the holder but PRIMARY: OFFLINE now (unless already running). */
function demoteNow(ctx: Context, memory: AgentMemory, reason: ReasonCode, detail: string): Outcome {
  const actions: Action[] = [...labelOwnPod(ctx, roleLabelValues.resolving, false)];
  if (ctx.canStartLong) actions.push({ kind: "offline" });
  return outcome(ctx.canStartLong ? reason : "action_in_progress", actions, memory, { detail });
}

// ---------------------------------------------------------------------------------------------------------
// Holder whose replica is not PRIMARY: promote through the gate, or give the Lease up

function decideHolderNotPrimary(ctx: Context, memory: AgentMemory, ag: LocalAgView): Outcome {
  const { obs, lease, config, nowMs } = ctx;
  if (lease.kind !== "mine") throw new Error("decideHolderNotPrimary without the Lease");
  if (memory.stepDown !== undefined) return continueStepDown(ctx, memory);
  // A Lease handed to us (switchover) or left from a previous incarnation has no renewal by this process yet:
  // carry on, every action list below starts with the renewal. Renewals that stopped succeeding mean the API
  // server is out of reach: nothing can be promoted then.
  if (!lease.authorized && obs.lease.lastRenewSentAtMs !== undefined) return outcome("lease_unverifiable", [{ kind: "renewLease" }], memory);
  if (obs.self.preStopRequested || obs.self.terminating) {
    return releaseLease(ctx, memory, "prestop_not_primary", true, undefined, { preStop: "not_primary" });
  }
  if (ctx.health.verdict === "unknown" && ag.availabilityMode === "SynchronousCommit") {
    // Just started: the first diagnostics result is at most one interval away; giving the Lease up now would only churn.
    return outcome("waiting_for_health_verdict", renewLeaseIfDue(ctx), memory);
  }
  if (ctx.health.verdict !== "healthy" || ag.availabilityMode !== "SynchronousCommit") {
    return releaseLease(ctx, memory, "releasing_not_promotable", true, undefined, {
      detail: ctx.health.verdict !== "healthy" ? `local health is ${ctx.health.verdict}` : `${ag.availabilityMode} replica cannot be promoted`,
    });
  }

  let round: PromotionRound = memory.promotion !== undefined && memory.promotion.epoch === lease.epoch ? memory.promotion : { epoch: lease.epoch, startedAtMs: nowMs, reports: [] };
  let next: AgentMemory = { ...memory, promotion: round };
  const renew = renewLeaseIfDue(ctx);

  if (round.refused41142 === true) {
    return releaseLease(ctx, withoutPromotion(next), "promote_refused_41142", true, undefined, {
      detail: "FAILOVER refused with 41142: a database is not synchronized or not joined on this replica",
    });
  }
  if (round.failedUnknownAtMs !== undefined) {
    if (nowMs - round.failedUnknownAtMs < config.policy.promotionSettleMs) {
      return outcome("promote_failed_unknown_state", renew, next, { detail: "FAILOVER failed; re-reading the role before doing anything else" });
    }
    return releaseLease(ctx, withoutPromotion(next), "promote_failed_unknown_state", true);
  }
  if (obs.inProgress !== undefined) return outcome("action_in_progress", renew, next);

  const stillPrimary = [...ctx.freshPeers.values()].find((s) => s.pod !== ctx.me && s.role === "PRIMARY");
  if (stillPrimary !== undefined) {
    return outcome("waiting_for_old_primary_to_fence", renew, next, { detail: `${stillPrimary.pod} still reports PRIMARY` });
  }

  const peers = ag.replicas.map((r) => r.name).filter((name) => name.toLowerCase() !== ctx.me.toLowerCase());
  const collect = (): Outcome => {
    round = { ...round, reportsRequestedAtMs: nowMs };
    next = { ...next, promotion: round };
    return outcome(
      round.reports.length === 0 ? "collecting_sequence_numbers" : "waiting_for_quorum",
      [...renew, { kind: "collectSequenceReports", epoch: round.epoch, peers }],
      next,
    );
  };
  if (round.reportsRequestedAtMs === undefined && peers.length > 0) return collect();

  // Replicas whose agents report, with their SQL Server reachable, that no AG of this name exists locally never
  // joined: they hold nothing of it and are not voters. Without this, a creator that lost PRIMARY before anyone
  // joined (fenced by a loop stall during bootstrap, or restarted) waits forever for reports nobody can give,
  // while the others wait for a PRIMARY to join (found by the sim recovery scenario's bootstrap).
  const neverJoined = new Set([...ctx.freshPeers.values()].filter((s) => s.sqlReachable && s.agExists === false).map((s) => s.pod.toLowerCase()));
  const verdict = evaluatePromotionGate({
    candidate: ctx.me,
    candidateMode: ag.availabilityMode,
    candidateSequence: ag.sequenceNumber,
    replicas: ag.replicas.filter((r) => !neverJoined.has(r.name.toLowerCase())),
    reports: round.reports,
    epoch: round.epoch,
  });
  if (verdict.pass) {
    if (round.promoteIssuedAtMs !== undefined) {
      // FAILOVER returned OK yet the role is not PRIMARY: treat as unknown, never fire it again blindly.
      return outcome("promote_failed_unknown_state", renew, { ...next, promotion: { ...round, failedUnknownAtMs: nowMs } });
    }
    next = { ...next, promotion: { ...round, promoteIssuedAtMs: nowMs } };
    return outcome(
      "promoting_max_sequence",
      [{ kind: "renewLease" }, renewSqlAfterLease(ctx), { kind: "promote", epoch: round.epoch }],
      next,
      { detail: `sequence ${verdict.max}, ${verdict.positive} of ${verdict.required} required reports` },
    );
  }
  switch (verdict.why) {
    case "not_max_sequence":
      return releaseLease(ctx, withoutPromotion(next), "not_max_sequence", true, verdict.betterCandidate, { detail: verdict.detail });
    case "quorum_short":
      if (nowMs - round.startedAtMs < config.policy.promotionQuorumWaitMs) {
        const lastAsk = round.reportsRequestedAtMs ?? 0;
        if (nowMs - lastAsk >= config.policy.sequenceReportRetryMs && peers.length > 0) {
          const asked = collect();
          return { ...asked, reason: "waiting_for_quorum", report: { detail: verdict.detail } };
        }
        return outcome("waiting_for_quorum", renew, next, { detail: verdict.detail });
      }
      return releaseLease(ctx, withoutPromotion(next), "quorum_short_releasing", true, undefined, { detail: verdict.detail });
    case "own_sequence_zero":
    case "not_synchronous":
      return releaseLease(ctx, withoutPromotion(next), "releasing_not_promotable", true, undefined, { detail: verdict.detail });
    default:
      return assertNever(verdict, "gate verdict");
  }
}

// ---------------------------------------------------------------------------------------------------------
// Not the holder, not PRIMARY: steady secondary, RESOLVING handling, recovery, contention

function decideSecondary(ctx: Context, memory: AgentMemory, ag: LocalAgView): Outcome {
  const { obs, lease, config } = ctx;
  let next: AgentMemory = withOptional(memory, "peerStuckSeenSinceMs", undefined);
  if (next.stepDown !== undefined) next = withOptional(next, "stepDown", undefined);
  if (next.promotion !== undefined) next = withoutPromotion(next);
  const ownRoleLabel = ag.role === "SECONDARY" ? roleLabelValues.secondary : roleLabelValues.resolving;
  const labels = labelOwnPod(ctx, ownRoleLabel, ag.role === "SECONDARY" && (ctx.mySpec?.readableSecondary ?? false));
  if (obs.self.preStopRequested) return outcome("prestop_not_primary", labels, next, { preStop: "not_primary" });

  const claimable = lease.kind === "free" || (lease.kind === "other" && lease.expired);
  if (claimable) return contend(ctx, next, ag, labels);

  if (lease.kind === "other") {
    const holderIsPrimary = ctx.freshPeers.get(lease.holder)?.role === "PRIMARY" || ag.primaryReplica?.toLowerCase() === lease.holder.toLowerCase();
    if (ag.role === "RESOLVING" || ag.role === "UNKNOWN") {
      if (!holderIsPrimary) {
        next = withOptional(next, "recovery", undefined);
        return outcome("resolving_waiting_for_primary", labels, next, { detail: `${lease.holder} holds the Lease but is not PRIMARY yet` });
      }
      return recover(ctx, next, "resolving", labels, [{ kind: "setRoleSecondary" }], "resolving_set_role_secondary");
    }
    // SECONDARY
    const notSynchronizing =
      holderIsPrimary && ag.databases.some((d) => d.inAvailabilityGroup && !d.seeding && d.synchronizationState === "NOT SYNCHRONIZING");
    if (notSynchronizing) return recover(ctx, next, "not_synchronizing", labels, [], "secondary_not_synchronizing");
    next = withOptional(next, "recovery", undefined);
    const stalled = lease.unchangedMs > config.timing.renewIntervalMs * 2 + config.timing.loopIntervalMs;
    if (stalled) return outcome("waiting_for_lease_expiry", labels, next, { detail: `${lease.holder} has not renewed for ${lease.unchangedMs} ms` });
    return outcome(labels.length > 0 ? "labels_updated" : "steady_secondary", labels, next);
  }
  // Lease never read (API server unreachable since start): nothing to decide safely.
  return outcome("lease_unverifiable", labels, next);
}

/**
 * §4.8: the ladder for a replica that stays RESOLVING (41104) or NOT SYNCHRONIZING: first the gentle action,
 * then after stuckBeforeEndpointRestart OFFLINE + restart of the own endpoint, at most once per
 * endpointRestartMinInterval, a bounded number of times, never while seeding; then give up with a condition.
 */
function recover(
  ctx: Context,
  memory: AgentMemory,
  kind: "resolving" | "not_synchronizing",
  labels: Action[],
  gentle: Action[],
  gentleReason: ReasonCode,
): Outcome {
  const { nowMs, config, obs } = ctx;
  const previous = memory.recovery !== undefined && memory.recovery.kind === kind ? memory.recovery : undefined;
  const recovery = previous ?? { kind, stuckSinceMs: nowMs, endpointRestarts: 0, gaveUp: false };
  let next: AgentMemory = { ...memory, recovery };
  const stuckForMs = nowMs - recovery.stuckSinceMs;
  const seeding = obs.sql.ag?.databases.some((d) => d.seeding) ?? false;
  if (stuckForMs >= config.policy.stuckBeforeEndpointRestartMs && !seeding) {
    if (recovery.endpointRestarts >= config.policy.maxEndpointRestarts) {
      next = { ...next, recovery: { ...recovery, gaveUp: true } };
      return outcome("recovery_gave_up", labels, next, {
        detail: `still ${kind === "resolving" ? "RESOLVING" : "NOT SYNCHRONIZING"} after ${recovery.endpointRestarts} endpoint restarts`,
      });
    }
    const last = recovery.lastEndpointRestartAtMs;
    const rateOk = last === undefined || nowMs - last >= config.policy.endpointRestartMinIntervalMs;
    if (rateOk && ctx.canStartLong) {
      next = { ...next, recovery: { ...recovery, endpointRestarts: recovery.endpointRestarts + 1, lastEndpointRestartAtMs: nowMs } };
      return outcome("recovery_restarting_endpoint", [...labels, { kind: "restartEndpoint", offlineFirst: kind === "resolving" }], next);
    }
  }
  const gentleDue =
    ctx.canStartLong && (recovery.lastAttemptAtMs === undefined || nowMs - recovery.lastAttemptAtMs >= config.policy.retryBackOffMs);
  if (gentleDue && gentle.length > 0) {
    next = { ...next, recovery: { ...recovery, lastAttemptAtMs: nowMs } };
    return outcome(gentleReason, [...labels, ...gentle], next);
  }
  return outcome(gentleReason, labels, next);
}

/** The Lease is free or expired: compete if eligible, after the rank-based delay (§4.5 step 1). */
function contend(ctx: Context, memory: AgentMemory, ag: LocalAgView, labels: Action[]): Outcome {
  const { obs, lease, nowMs, config } = ctx;
  const next = withOptional(memory, "recovery", undefined);
  const idleReason: ReasonCode = ag.role === "RESOLVING" && lease.kind === "free" ? "resolving_no_holder" : "not_eligible_for_promotion";
  if (!automaticFailoverEnabled(ctx)) {
    return outcome(ag.role === "RESOLVING" ? "resolving_no_holder" : "automatic_failover_disabled", labels, next);
  }
  if (obs.self.terminating) return outcome("terminating", labels, next);
  // The promise protects a holder that may keep its SQL lease alive on failsafe authority. Acks are only given to
  // the holder this agent sees, so a free Lease annotated fenced seen after the ack is that holder's own release,
  // which it makes only once it cannot write: the promise has nothing left to protect (scenario: SQL crash).
  const promiseEndedByFencedRelease = lease.kind === "free" && lease.fenced;
  if (!promiseEndedByFencedRelease && obs.lastFailsafeAckAtMs !== undefined && nowMs < obs.lastFailsafeAckAtMs + config.timing.leaseDurationMs) {
    return outcome("failsafe_promise_active", labels, next, { detail: "acknowledged a failsafe heartbeat; not claiming until the promise ends" });
  }
  if (memory.contentionBackOffUntilMs !== undefined && nowMs < memory.contentionBackOffUntilMs) {
    return outcome("contention_backoff", labels, next);
  }
  const eligible =
    ctx.health.verdict === "healthy" && ag.availabilityMode === "SynchronousCommit" && ctx.mySpec?.failoverMode === "Automatic";
  if (!eligible) {
    return outcome(idleReason, labels, next, {
      detail:
        ctx.health.verdict !== "healthy"
          ? `local health is ${ctx.health.verdict}`
          : ag.availabilityMode !== "SynchronousCommit"
            ? `${ag.availabilityMode} replicas are never promoted automatically`
            : "failoverMode is Manual",
    });
  }
  const preferred = lease.kind === "free" || lease.kind === "other" ? lease.betterCandidate : undefined;
  const candidates: CandidateView[] = [{ pod: ctx.me, sequenceNumber: ag.sequenceNumber, preferred: preferred === ctx.me }];
  for (const status of ctx.freshPeers.values()) {
    if (status.pod === ctx.me || !peerCanCompete(ctx, status)) continue;
    candidates.push({ pod: status.pod, sequenceNumber: parseSequenceNumber(status.sequenceNumber), preferred: preferred === status.pod });
  }
  const rank = rankOf(ctx.me, candidates) ?? 0;
  const waitUntil = (memory.claimableSinceMs ?? nowMs) + contentionDelayMs(rank, config.policy.candidateDelayStepMs);
  if (nowMs < waitUntil) return outcome("waiting_for_rank", labels, next, { detail: `rank ${rank} of ${candidates.length}` });
  if (lease.kind === "other" || lease.kind === "free") return outcome("claiming_expired_lease", [...labels, claimAction(lease)], next);
  return outcome(idleReason, labels, next);
}

function peerCanCompete(ctx: Context, status: AgentStatus): boolean {
  const ordinal = ordinalOfPod(ctx.config.clusterName, status.pod);
  const replica = ordinal !== undefined ? ctx.spec?.replicas[ordinal] : undefined;
  return (
    status.role !== "PRIMARY" &&
    status.sqlReachable &&
    status.health === "healthy" &&
    status.availabilityMode === "SynchronousCommit" &&
    replica?.failoverMode === "Automatic"
  );
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

function outcome(reason: ReasonCode, actions: Action[], memory: AgentMemory, report?: Partial<DecisionReport>): Outcome {
  return report === undefined ? { reason, actions, memory } : { reason, actions, memory, report };
}

function withOptional<K extends keyof AgentMemory>(memory: AgentMemory, key: K, value: AgentMemory[K] | undefined): AgentMemory {
  if (value === undefined) {
    if (!(key in memory)) return memory;
    const copy = { ...memory };
    delete copy[key];
    return copy;
  }
  return memory[key] === value ? memory : { ...memory, [key]: value };
}

function withoutPromotion(memory: AgentMemory): AgentMemory {
  return withOptional(memory, "promotion", undefined);
}

function releaseLease(
  ctx: Context,
  memory: AgentMemory,
  reason: ReasonCode,
  fenced: boolean,
  betterCandidate?: string,
  report?: Partial<DecisionReport>,
): Outcome {
  const next: AgentMemory = { ...withoutPromotion(memory), contentionBackOffUntilMs: ctx.nowMs + ctx.config.policy.contentionBackOffMs };
  return outcome(
    reason,
    [{ kind: "releaseLease", fenced, releaseReason: reason, ...(betterCandidate !== undefined ? { betterCandidate } : {}) }],
    next,
    report,
  );
}

function claimAction(lease: LeaseClass): Action {
  const resourceVersion = lease.kind === "free" || lease.kind === "other" ? lease.resourceVersion : undefined;
  return resourceVersion !== undefined ? { kind: "claimLease", expectedResourceVersion: resourceVersion } : { kind: "claimLease" };
}

function renewLeaseIfDue(ctx: Context): Action[] {
  return ctx.lease.kind === "mine" && (ctx.lease.renewDue || !ctx.lease.authorized) ? [{ kind: "renewLease" }] : [];
}

function renewSqlAfterLease(ctx: Context): Action {
  return {
    kind: "renewSqlWriteLease",
    sqlWriteLeaseSeconds: ctx.config.timing.sqlWriteLeaseMs / 1000,
    authority: { kind: "lease", renewDeadlineMs: ctx.config.timing.renewDeadlineMs },
  };
}

function sqlRenewalDue(ctx: Context): boolean {
  const last = ctx.obs.sqlWriteLease.lastRenewalAttemptEndedAtMs;
  return !ctx.obs.sqlWriteLease.renewalInFlight && (last === undefined || ctx.nowMs - last >= ctx.config.timing.renewIntervalMs);
}

function automaticFailoverEnabled(ctx: Context): boolean {
  return ctx.spec === undefined ? true : ctx.spec.automaticFailover.enabled;
}

function unhealthyPastThreshold(ctx: Context): boolean {
  const since = ctx.health.unhealthySinceMs;
  return since !== undefined && ctx.nowMs - since >= ctx.config.timing.failoverThresholdMs;
}

/** Synchronous and configuration-only replicas other than this one: every one must ack a failsafe heartbeat. */
function failsafeRequiredPeers(ctx: Context): string[] {
  const replicas = ctx.obs.sql.ag?.replicas ?? [];
  return replicas
    .filter((r) => (r.availabilityMode === "SynchronousCommit" || r.availabilityMode === "ConfigurationOnly") && r.name.toLowerCase() !== ctx.me.toLowerCase())
    .map((r) => r.name);
}

function peerNotUnhealthy(ctx: Context, pod: string): boolean {
  const status = ctx.freshPeers.get(pod);
  return status === undefined || status.health === "healthy";
}

function labelOwnPod(ctx: Context, role: RoleLabelValue | undefined, readable: boolean): Action[] {
  const current = ctx.obs.podLabels.find((l) => l.pod === ctx.me);
  const currentReadable = current?.readable ?? false;
  if (current?.role === role && currentReadable === readable) return [];
  return [{ kind: "labelPod", pod: ctx.me, ...(role !== undefined ? { role } : {}), readable }];
}

/** The new primary strips `primary` from every other pod before labelling itself (one rw endpoint at most). */
function primaryLabels(ctx: Context, _ag: LocalAgView): Action[] {
  const others: Action[] = ctx.obs.podLabels
    .filter((l) => l.pod !== ctx.me && l.role === roleLabelValues.primary)
    .map((l): Action => ({ kind: "labelPod", pod: l.pod, readable: false }));
  return [...others, ...labelOwnPod(ctx, roleLabelValues.primary, false)];
}

function failoverReadiness(ctx: Context, ag: LocalAgView) {
  const replicas: ReadinessReplica[] = ag.replicas.map((r) => {
    const ordinal = ordinalOfPod(ctx.config.clusterName, r.name);
    const specReplica = ordinal !== undefined ? ctx.spec?.replicas[ordinal] : undefined;
    const isPrimary = r.name.toLowerCase() === ctx.me.toLowerCase();
    const status = ctx.freshPeers.get(r.name);
    return {
      name: r.name,
      availabilityMode: r.availabilityMode,
      failoverMode: specReplica?.failoverMode ?? "Manual",
      isPrimary,
      healthy: isPrimary || (r.connected !== false && (status === undefined || status.health === "healthy")),
      synchronized: isPrimary || r.allDatabasesSynchronized === true,
    };
  });
  return computeFailoverReadiness({ automaticFailoverEnabled: automaticFailoverEnabled(ctx), replicas });
}

function stuckReport(memory: AgentMemory): Partial<DecisionReport> {
  const recovery = memory.recovery;
  if (recovery === undefined) return {};
  return { stuck: { kind: recovery.kind, sinceMs: recovery.stuckSinceMs, gaveUp: recovery.gaveUp } };
}

/** Last line of invariant 7: never start a long action while one runs, never two in one decision. */
function enforceSingleLongAction(actions: readonly Action[], canStartLong: boolean): Action[] {
  let longSeen = false;
  return actions.filter((action) => {
    if (!isLongAction(action)) return true;
    if (!canStartLong || longSeen) return false;
    longSeen = true;
    return true;
  });
}
