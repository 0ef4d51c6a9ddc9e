/**
 * Types of the agent's pure decision core (ARCHITECTURE §4.1): what the runtime observes each cycle
 * (`Observation`), what `decide` carries from one cycle to the next (`AgentMemory`), and what it asks the
 * executor to do (`Decision`, an ordered list of `Action`s with one stable reason code).
 *
 * The runtime is meant to be a thin loop:
 *   observe (read SQL, the diagnostics snapshot, the Lease view, the CR, the own pod, peers' /v1/status, and the
 *   outcomes of actions that finished since the last cycle) → decide → execute the actions in order (stop at the
 *   first failure; long ones on the single-slot runner) → publish (`decision.report`, labels, status, metrics).
 *
 * Times: every `…AtMs` is on THIS agent's monotonic clock (`Clock.nowMs`). Nothing here carries another host's
 * timestamp except as an opaque value for equality (the Lease record). Ages of remote data are `…AgeMs`.
 */
import type {
  AgentStatus,
  AvailabilityMode,
  HealthThreshold,
  HealthVerdict,
  ReplicaRole,
  ResolvedAgSpec,
  ResolvedReplica,
  RoleLabelValue,
  SequenceReport,
} from "@sqlag/api";
import type { LeaseObservation } from "@sqlag/kube/lease-math";

// ---------------------------------------------------------------------------------------------------------
// Configuration the core needs (a subset of AvailabilityGroupAgentConfig, which extends it)

export interface DecideTiming {
  /** Cadence of the loop (ARCHITECTURE §4.1). */
  loopIntervalMs: number;
  leaseDurationMs: number;
  renewIntervalMs: number;
  /** The holder renews the SQL lease only while its last successful Lease renewal was SENT within this. */
  renewDeadlineMs: number;
  /** W: the SQL write lease (WRITE_LEASE_VALIDITY). */
  sqlWriteLeaseMs: number;
  /** The margin of W + renewDeadline + margin <= leaseDuration. */
  leaseSafetyMarginMs: number;
  healthCheckIntervalMs: number;
  /** Extra wait beyond the diagnostics interval before a missing result set counts as an unresponsive strike. */
  healthCheckGraceMs: number;
  /** How long a component error must last before a primary steps down (a refused connection: at once). */
  failoverThresholdMs: number;
  /** configuration commit stuck longer than this → stop renewing, OFFLINE (Pacemaker, 60 s). */
  disablePrimaryOnQuorumTimeoutMs: number;
}

/** Fixed policy knobs (not in the environment; constants with names, in one place). */
export interface DecidePolicy {
  /** Rank-based contention: candidate of rank r waits r × this after the Lease became claimable. */
  candidateDelayStepMs: number;
  /** Peer /v1/status older than this is ignored for ranking, switchover and bootstrap checks. */
  peerStatusMaxAgeMs: number;
  /** How long a fresh holder waits for enough epoch-tagged sequence reports before giving the Lease up. */
  promotionQuorumWaitMs: number;
  /** Re-collect reports at most this often while waiting for quorum. */
  sequenceReportRetryMs: number;
  /** After giving the Lease up (gate failed, 41142, step-down) do not contend for this long. */
  contentionBackOffMs: number;
  /** A FAILOVER that neither succeeded nor failed cleanly: wait this long for the role to read PRIMARY. */
  promotionSettleMs: number;
  /** §4.8: stuck RESOLVING / NOT SYNCHRONIZING this long → OFFLINE + restart own endpoint. */
  stuckBeforeEndpointRestartMs: number;
  /** §4.8: at most one endpoint restart per this interval, per agent. */
  endpointRestartMinIntervalMs: number;
  /** §4.8: give up (condition) after this many endpoint restarts without recovery. */
  maxEndpointRestarts: number;
  /** Back-off between failed JOIN / bootstrap attempts. */
  retryBackOffMs: number;
}

export interface DecideConfig {
  podName: string;
  /** Name of the CR; pods are `<clusterName>-<ordinal>`. */
  clusterName: string;
  agName: string;
  healthThreshold: HealthThreshold;
  timing: DecideTiming;
  policy: DecidePolicy;
}

export const DEFAULT_DECIDE_POLICY = {
  loopIntervalMs: 1000,
  healthCheckGraceMs: 2000,
  policy: {
    candidateDelayStepMs: 1000,
    peerStatusMaxAgeMs: 5000,
    promotionQuorumWaitMs: 5000,
    sequenceReportRetryMs: 1000,
    contentionBackOffMs: 15_000,
    promotionSettleMs: 10_000,
    stuckBeforeEndpointRestartMs: 30_000,
    endpointRestartMinIntervalMs: 90_000,
    maxEndpointRestarts: 3,
    retryBackOffMs: 5000,
  } satisfies DecidePolicy,
} as const;

// ---------------------------------------------------------------------------------------------------------
// Observation

export type SqlReachability = "reachable" | "refused" | "timeout";
export type EndpointState = "missing" | "stopped" | "started";

/** One replica of the AG as listed in the LOCAL sys.availability_replicas (+ states where visible). */
export interface AgReplicaView {
  name: string;
  availabilityMode: AvailabilityMode;
  readableSecondary: boolean;
  role: ReplicaRole;
  /** Known only on the primary (dm_hadr_availability_replica_states for remote replicas). */
  connected?: boolean;
  /** Every AG database on this replica reads SYNCHRONIZED (primary's view). */
  allDatabasesSynchronized?: boolean;
}

export interface LocalDatabaseView {
  name: string;
  /** Joined to the AG locally (group_database_id not null). */
  inAvailabilityGroup: boolean;
  /** SYNCHRONIZED, SYNCHRONIZING, NOT SYNCHRONIZING, … (local replica). */
  synchronizationState: string;
  isSuspended: boolean;
  /** Automatic seeding to or from this replica is in progress. */
  seeding: boolean;
  /** Local log send queue (KB) from sys.dm_hadr_database_replica_states; published as a metric only. */
  logSendQueueKb?: number;
  /** Local redo queue (KB); published as a metric only. */
  redoQueueKb?: number;
}

export interface LocalAgView {
  groupId: string;
  role: ReplicaRole;
  availabilityMode: AvailabilityMode;
  sequenceNumber: bigint;
  requiredSynchronizedSecondariesToCommit: number;
  replicas: readonly AgReplicaView[];
  databases: readonly LocalDatabaseView[];
  /** Age of current_configuration_commit_start_time_utc (wall-clock difference taken by the adapter); absent when NULL. */
  configurationCommitAgeMs?: number;
  /** sys.dm_hadr_availability_group_states.primary_replica as seen locally, when known. */
  primaryReplica?: string;
}

export interface LocalSqlObservation {
  reachability: SqlReachability;
  /** @@SERVERNAME; must equal the pod name. Absent when not reachable. */
  serverName?: string;
  hadrEnabled?: boolean;
  /** Absent when reachable and no AG of this name exists locally. Undefined when not reachable. */
  ag?: LocalAgView;
  endpoint?: EndpointState;
  /** Local master key + certificate + endpoint login exist (prepared for the mirroring endpoint). */
  endpointSecurityReady?: boolean;
  /** User databases that exist locally (name only), to create spec.databases if missing. */
  userDatabases?: readonly string[];
}

/** Facts recorded by the diagnostics monitor (structurally the sql adapter's DiagnosticsSnapshot). */
export interface DiagnosticsFacts {
  startedAtMs: number;
  lastResultSetAtMs: number | undefined;
  components: readonly { componentName: string; state: number }[];
  connectionFailure: { reason: string; atMs: number } | undefined;
  consecutiveRefusals: number;
}

export interface LeaseState {
  /** The elector's folded view (lease-math `observeLease`); undefined until the first successful read. */
  observation?: LeaseObservation;
  /** Send time of this agent's last SUCCESSFUL Lease write (claim or renewal). */
  lastRenewSentAtMs?: number;
}

export interface SqlWriteLeaseState {
  /**
   * End (success, error or timeout) of the last SQL lease renewal statement this process sent: the latest
   * instant from which the server may have started a W-second lease. Absent if this process never sent one.
   */
  lastRenewalAttemptEndedAtMs?: number;
  /** A renewal statement is in flight right now (its effect cannot be bounded yet). */
  renewalInFlight: boolean;
}

export interface CrObservation {
  spec: ResolvedAgSpec;
  /** Value of `sqlag.io/switchover-to` (a pod name or "any"), if set. */
  switchoverTo?: string;
  /** status.groupId recorded at creation; bootstrap never runs once it is set. */
  recordedGroupId?: string;
}

export interface PodLabelView {
  pod: string;
  role?: RoleLabelValue;
  readable?: boolean;
}

export interface PeerObservation {
  pod: string;
  /** Last /v1/status received (best effort) and how old it is; absent when never reached. */
  status?: AgentStatus;
  statusAgeMs?: number;
}

/** What the runtime reports back about an action that finished since the previous cycle. */
export interface CompletedAction {
  kind: ActionKind;
  ok: boolean;
  startedAtMs: number;
  finishedAtMs: number;
  /** SQL error number when a statement failed (41142, 41104, 47116, 47117, 47119, …). */
  sqlErrorNumber?: number;
  /** Lease writes: the CAS lost (409). */
  conflict?: boolean;
  /** The epoch the action was issued for. */
  epoch?: number;
  /** collectSequenceReports: the reports received (any epoch; decide filters). */
  sequenceReports?: readonly SequenceReport[];
  /** sendFailsafeHeartbeats: pods that acknowledged the heartbeat sent at `startedAtMs`. */
  failsafeAckedBy?: readonly string[];
}

export interface Observation {
  self: {
    /** Monotonic time this agent process started (bounds SQL leases a previous incarnation may have set). */
    agentStartedAtMs: number;
    /** Own pod has a deletionTimestamp. */
    terminating: boolean;
    /** The pod's preStop hook called /v1/prestop and is waiting for an answer. */
    preStopRequested: boolean;
  };
  sql: LocalSqlObservation;
  diagnostics: DiagnosticsFacts;
  lease: LeaseState;
  sqlWriteLease: SqlWriteLeaseState;
  /** Undefined when the CR could not be read (API server unreachable before the first read). */
  cr?: CrObservation;
  /** The `<ag>-hadr` Secret already carries the shared certificate and private key. */
  hadrCertificatePublished: boolean;
  /** Current role labels of the AG's pods (own pod included), from the pod informer. */
  podLabels: readonly PodLabelView[];
  peers: readonly PeerObservation[];
  /** When this agent last acknowledged a holder's failsafe heartbeat (HTTP handler), on its own clock. */
  lastFailsafeAckAtMs?: number;
  /** The slow action running on the single-slot runner, if any. */
  inProgress?: { kind: ActionKind; startedAtMs: number; epoch?: number };
  /** Actions that finished since the previous cycle, oldest first. */
  completed: readonly CompletedAction[];
}

// ---------------------------------------------------------------------------------------------------------
// Memory: what decide must carry between cycles (returned, never mutated)

export type StepDownCause =
  | "unhealthy"
  | "unresponsive"
  | "process_down"
  | "stuck_configuration_commit"
  /** Neither the API server nor every peer (failsafe) confirms this holder any more: self-fence. */
  | "lease_unverifiable"
  | "switchover";

export interface StepDownMemory {
  cause: StepDownCause;
  startedAtMs: number;
  offlineIssuedAtMs?: number;
  /** Planned: hand the Lease to this pod once fenced instead of releasing it. */
  handOverTo?: string;
}

export interface PromotionRound {
  epoch: number;
  startedAtMs: number;
  reportsRequestedAtMs?: number;
  /** Reports of THIS epoch only (own report excluded: it is taken from the observation). */
  reports: readonly SequenceReport[];
  promoteIssuedAtMs?: number;
  /** FAILOVER was refused with 41142 (clean: a database is not synchronized or not joined here). */
  refused41142?: boolean;
  /** FAILOVER ended with an error other than 41142 at this time: state unknown, re-read the role. */
  failedUnknownAtMs?: number;
}

export interface RecoveryMemory {
  kind: "resolving" | "not_synchronizing";
  stuckSinceMs: number;
  endpointRestarts: number;
  lastEndpointRestartAtMs?: number;
  /** Last time the gentle step (SET ROLE = SECONDARY) was issued, so it is not repeated every cycle. */
  lastAttemptAtMs?: number;
  gaveUp: boolean;
}

export interface AgentMemory {
  cycle: number;
  /** First cycle the health verdict was not healthy (unhealthy/unresponsive/down), cleared when healthy again. */
  unhealthySinceMs?: number;
  /** First cycle this agent saw the Lease claimable; rank delays count from here. */
  claimableSinceMs?: number;
  stepDown?: StepDownMemory;
  promotion?: PromotionRound;
  recovery?: RecoveryMemory;
  /** Holder side of §4.8: last time the holder restarted its own endpoint for a stuck peer. */
  lastPeerAssistRestartAtMs?: number;
  /** Holder side of §4.8: since when (own clock) this holder has seen some peer report being stuck. */
  peerStuckSeenSinceMs?: number;
  /** §4.9: send time of the newest failsafe heartbeat every required peer acknowledged, and its epoch. */
  failsafe?: { fullyAckedSentAtMs: number; epoch: number };
  /** Do not claim the Lease before this time (after giving it up, or after a failed attempt). */
  contentionBackOffUntilMs?: number;
  /**
   * SQL Server rejected WRITE_LEASE_VALIDITY as out of range (47117/47118): a configuration error to surface as
   * a condition. Cleared by the next successful renewal. (47116 and 47119 are tolerated by the executor as
   * success, as in Pacemaker.)
   */
  sqlLeaseRejectedErrorNumber?: number;
  /** Back-off for idempotent setup steps (JOIN, bootstrap) after a failure. */
  retryNotBeforeMs?: number;
  lastReason?: ReasonCode;
}

export function initialMemory(): AgentMemory {
  return { cycle: 0 };
}

// ---------------------------------------------------------------------------------------------------------
// Decision

export type BootstrapStepKind =
  /** Holder creating the AG: master key + certificate, exported into the <ag>-hadr Secret. */
  | "publishCertificate"
  /** Holder of an existing AG: export its endpoint certificate into a Secret that lost it; never creates one. */
  | "republishCertificate"
  /** Any replica: import the shared certificate, endpoint, login/user, GRANT CONNECT (idempotent, catalog first). */
  | "prepareEndpoint"
  /** Holder: CREATE AVAILABILITY GROUP … CLUSTER_TYPE = EXTERNAL, WRITE_LEASE_VALIDITY, every spec replica. */
  | "createAvailabilityGroup";

/** How the executor must check, right before sending, that renewing the SQL write lease is still allowed. */
export type SqlLeaseAuthority =
  /** Only if the elector's last successful Lease renewal was SENT within renewDeadlineMs of now. */
  | { kind: "lease"; renewDeadlineMs: number }
  /** API-server outage (§4.9): only while now <= validUntilMs (= heartbeat send time + renewDeadline). */
  | { kind: "failsafe"; heartbeatSentAtMs: number; validUntilMs: number };

export type Action =
  | { kind: "renewLease" }
  /** CAS claim of a free or expired Lease; the new leaseTransitions is the epoch. */
  | { kind: "claimLease"; expectedResourceVersion?: string }
  | { kind: "releaseLease"; fenced: boolean; releaseReason: ReasonCode; betterCandidate?: string }
  /** Planned failover: CAS holderIdentity to the target (annotated fenced: this replica is OFFLINE already). */
  | { kind: "handOverLease"; target: string; fenced: boolean }
  | { kind: "renewSqlWriteLease"; sqlWriteLeaseSeconds: number; authority: SqlLeaseAuthority }
  /** Ask each peer for its sequence number tagged with this epoch (POST /v1/sequence). */
  | { kind: "collectSequenceReports"; epoch: number; peers: readonly string[] }
  /** sp_set_session_context external_cluster + ALTER AG FAILOVER in one batch; poll until PRIMARY, bounded. */
  | { kind: "promote"; epoch: number }
  | { kind: "setRequiredSynchronizedSecondaries"; value: number }
  /** ALTER AVAILABILITY GROUP … OFFLINE (demotion; never SET ROLE on a primary). */
  | { kind: "offline" }
  | { kind: "setRoleSecondary" }
  /**
   * STOPPED then STARTED on the own mirroring endpoint (clears the transport's stale connections, §4.8);
   * `offlineFirst`: ALTER AG OFFLINE before it (a replica stuck RESOLVING).
   */
  | { kind: "restartEndpoint"; offlineFirst: boolean }
  | { kind: "bootstrapStep"; step: BootstrapStepKind }
  | { kind: "joinAg"; grantCreateAnyDatabase: boolean }
  /** Create if missing, FULL recovery, first backup, ADD DATABASE (holder). */
  | { kind: "addDatabase"; database: string }
  | { kind: "addReplica"; replica: ResolvedReplica }
  | { kind: "modifyReplica"; replica: ResolvedReplica; availabilityMode?: AvailabilityMode; readableSecondary?: boolean }
  | { kind: "removeReplica"; replicaName: string }
  /** Failsafe heartbeat to these peers (POST /v1/failsafe), sent time = the action's start. */
  | { kind: "sendFailsafeHeartbeats"; epoch: number; peers: readonly string[] }
  /** Set (role defined) or remove (role undefined) `sqlag.io/role`, and `sqlag.io/readable`, on a pod. */
  | { kind: "labelPod"; pod: string; role?: RoleLabelValue; readable?: boolean };

export type ActionKind = Action["kind"];

/** Actions that may take longer than a loop cycle: run on the single-slot runner (§4.1). */
export const LONG_ACTION_KINDS: ReadonlySet<ActionKind> = new Set<ActionKind>([
  "promote",
  "offline",
  "setRoleSecondary",
  "restartEndpoint",
  "bootstrapStep",
  "joinAg",
  "addDatabase",
  "addReplica",
  "modifyReplica",
  "removeReplica",
  "collectSequenceReports",
]);

export function isLongAction(action: Action): boolean {
  return LONG_ACTION_KINDS.has(action.kind);
}

/** Every outcome code a cycle can have. Stable: tests, logs and metrics (`reason` label) rely on them. */
export const REASON_CODES = [
  // configuration and identity
  "bad_config",
  "identity_mismatch",
  "sql_unreachable",
  "waiting_for_spec",
  "replica_not_in_spec",
  // bootstrap and membership
  "bootstrap_claiming_lease",
  "bootstrap_waiting_for_holder",
  "bootstrap_publishing_certificate",
  "bootstrap_preparing_endpoint",
  "bootstrap_creating_ag",
  "bootstrap_waiting_for_certificate",
  "adopting_existing_ag",
  "waiting_for_existing_ag",
  "joining_ag",
  "adding_replica",
  "removing_replica",
  "modifying_replica",
  "adding_database",
  // steady state
  "lease_renewed",
  "primary_steady",
  "steady_secondary",
  "labels_updated",
  "rsstc_updated",
  "action_in_progress",
  "retry_backoff",
  // lease trouble and self-checks
  "claiming_lease_as_primary",
  "demoting_lost_lease",
  "lease_renewal_overdue",
  "lease_unverifiable",
  "failsafe_acked",
  "failsafe_not_acked",
  "failsafe_promise_active",
  "stuck_configuration_commit",
  // unhealthy primary and fencing
  "unhealthy_below_threshold",
  "fencing_unhealthy_primary",
  "fencing_unresponsive_primary",
  "sql_process_down",
  "waiting_for_sql_lease_expiry",
  "released_lease_fenced",
  "automatic_failover_disabled",
  // unplanned failover
  "waiting_for_lease_expiry",
  "waiting_for_rank",
  "contention_backoff",
  "not_eligible_for_promotion",
  "claiming_expired_lease",
  "collecting_sequence_numbers",
  "waiting_for_quorum",
  "quorum_short_releasing",
  "not_max_sequence",
  "waiting_for_old_primary_to_fence",
  "promoting_max_sequence",
  "promote_refused_41142",
  "promote_failed_unknown_state",
  "promoted",
  "releasing_not_promotable",
  "waiting_for_health_verdict",
  // RESOLVING and recovery
  "resolving_set_role_secondary",
  "resolving_waiting_for_primary",
  "resolving_no_holder",
  "secondary_not_synchronizing",
  "recovery_restarting_endpoint",
  "recovery_restarting_endpoint_for_peer",
  "recovery_gave_up",
  // planned failover
  "switchover_demoting",
  "switchover_handing_over",
  "switchover_target_not_synchronized",
  "switchover_no_eligible_target",
  "prestop_not_primary",
  "prestop_switching_over",
  "prestop_no_eligible_target",
  "terminating",
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

export type ConditionStatus = "True" | "False" | "Unknown";

/** FailoverReady as published by the holder (§4.5 "consequence to surface, not hide"). */
export interface FailoverReadiness {
  status: ConditionStatus;
  /** CamelCase condition reason. */
  reason: string;
  /** A full sentence with the fix. */
  message: string;
}

export interface HealthAssessment {
  verdict: HealthVerdict;
  unresponsiveStrikes: number;
  unhealthySinceMs?: number;
  /** Which component failed or why the monitor is silent (no secrets, no SQL text). */
  detail?: string;
}

/** What the runtime publishes this cycle (status, labels, metrics, conditions); no effect on SQL or the Lease. */
export interface DecisionReport {
  health: HealthAssessment;
  /** This agent holds the Lease and it is within its renew deadline. */
  isHolder: boolean;
  holder?: string;
  epoch?: number;
  /** Computed by the holder only. */
  failoverReady?: FailoverReadiness;
  /** §4.8: published in /v1/status so the holder can restart its side too. */
  stuck?: { kind: "resolving" | "not_synchronizing"; sinceMs: number; gaveUp: boolean };
  /** Answer for a pending /v1/prestop, once it is known. */
  preStop?: "not_primary" | "switching_over" | "no_eligible_target" | "fenced";
  /** Human-readable detail for the log line and events (no secrets). */
  detail?: string;
}

export interface Decision {
  reason: ReasonCode;
  /**
   * Executed in order. A failed `renewLease`, `claimLease` or `renewSqlWriteLease` skips the rest (what follows
   * may depend on it: the SQL renewal on the Lease renewal, FAILOVER on both); any other failure is reported and
   * the next action still runs. Fencing steps are therefore placed before a Lease renewal. Long actions (at
   * most one per decision, none while one runs) go to the single-slot runner; results come back in
   * `Observation.completed`.
   */
  actions: readonly Action[];
  report: DecisionReport;
}

export interface DecideResult {
  decision: Decision;
  memory: AgentMemory;
}
