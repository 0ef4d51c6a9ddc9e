/**
 * Fluent builders for decide() tests (CONVENTIONS 15): `obs().holder("ag1-1").renewedAgoMs(20_000).sqlHealthy()`.
 *
 * The default world: CR `ag1`, AG `AG1`, three synchronous Automatic replicas `ag1-0..2`; this agent is `ag1-0`,
 * a healthy SECONDARY with sequence number 100; `ag1-1` is the healthy PRIMARY and holds the Lease (renewed
 * 500 ms ago); `ag1-2` is a healthy SECONDARY. All times are relative to NOW_MS on the agent's monotonic clock.
 * `build()` returns a deep-frozen Observation, so a decide() that mutates its input throws.
 *
 * These live beside the core (not in @sqlag/testkit) because testkit cannot depend on the agent package: the
 * agent's own tests depend on testkit, and TypeScript project references must not form a cycle.
 */
import { annotations, withDefaults, type AgentStatus, type AvailabilityMode, type ReplicaRole, type SequenceReport, type SQLServerAvailabilityGroupSpec } from "@sqlag/api";
import type { LeaseRecord } from "@sqlag/kube/lease-math";
import {
  DEFAULT_DECIDE_POLICY,
  initialMemory,
  type ActionKind,
  type AgentMemory,
  type AgReplicaView,
  type CompletedAction,
  type DecideConfig,
  type LocalDatabaseView,
  type Observation,
  type PodLabelView,
  type PromotionRound,
  type RecoveryMemory,
  type StepDownMemory,
} from "../types.js";

export const NOW_MS = 1_000_000;
export const CLUSTER = "ag1";
export const AG_NAME = "AG1";
export const ME = "ag1-0";

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] extends object ? Mutable<T[K]> : T[K] };

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}

export function testConfig(podName = ME, overrides: Partial<DecideConfig> = {}): DecideConfig {
  return {
    podName,
    clusterName: CLUSTER,
    agName: AG_NAME,
    healthThreshold: "system",
    timing: {
      loopIntervalMs: 1000,
      leaseDurationMs: 15_000,
      renewIntervalMs: 2000,
      renewDeadlineMs: 5000,
      sqlWriteLeaseMs: 8000,
      leaseSafetyMarginMs: 2000,
      healthCheckIntervalMs: 5000,
      healthCheckGraceMs: 2000,
      failoverThresholdMs: 10_000,
      disablePrimaryOnQuorumTimeoutMs: 60_000,
    },
    policy: { ...DEFAULT_DECIDE_POLICY.policy },
    ...overrides,
  };
}

export interface ReplicaSketch {
  name: string;
  mode?: AvailabilityMode;
  readable?: boolean;
  role?: ReplicaRole;
  connected?: boolean;
  synchronized?: boolean;
}

function pod(i: number): string {
  return `${CLUSTER}-${i}`;
}

function healthyStatus(podName: string, role: ReplicaRole, sequenceNumber: string): AgentStatus {
  return {
    pod: podName,
    ag: AG_NAME,
    mode: "availability-group",
    role,
    availabilityMode: "SynchronousCommit",
    health: "healthy",
    sqlReachable: true,
    sequenceNumber,
    agExists: true,
    databases: [],
    lastReason: role === "PRIMARY" ? "lease_renewed" : "steady_secondary",
    cycle: 1,
    agentVersion: "test",
    observedAt: "2026-01-01T00:00:00.000000Z",
  };
}

export class ObservationBuilder {
  private readonly o: Mutable<Observation>;
  private specInput: SQLServerAvailabilityGroupSpec;
  private hasCr = true;
  private leaseRecord: LeaseRecord | undefined;
  private leaseObservedAtMs: number;
  private leaseRead = true;

  constructor(
    readonly me: string = ME,
    readonly nowMs: number = NOW_MS,
  ) {
    this.leaseObservedAtMs = nowMs - 500;
    this.specInput = {
      agName: AG_NAME,
      saPasswordSecretRef: { name: "sa", key: "password" },
      replicas: [{ name: "r0" }, { name: "r1" }, { name: "r2" }],
    };
    this.leaseRecord = this.record(pod(1), 3);
    this.o = {
      self: { agentStartedAtMs: this.nowMs - 600_000, terminating: false, preStopRequested: false },
      sql: {
        reachability: "reachable",
        serverName: me,
        hadrEnabled: true,
        ag: {
          groupId: "6F9619FF-8B86-D011-B42D-00C04FC964FF",
          role: "SECONDARY",
          availabilityMode: "SynchronousCommit",
          sequenceNumber: 100n,
          requiredSynchronizedSecondariesToCommit: 1,
          replicas: [0, 1, 2].map((i) => ({
            name: pod(i),
            availabilityMode: "SynchronousCommit" as const,
            readableSecondary: false,
            role: i === 1 ? "PRIMARY" : ("SECONDARY" as ReplicaRole),
            connected: true,
            allDatabasesSynchronized: true,
          })),
          databases: [],
          primaryReplica: pod(1),
        },
        endpoint: "started",
        endpointSecurityReady: true,
        userDatabases: [],
      },
      diagnostics: {
        startedAtMs: this.nowMs - 600_000,
        lastResultSetAtMs: this.nowMs - 1000,
        components: [
          { componentName: "system", state: 1 },
          { componentName: "resource", state: 1 },
          { componentName: "query_processing", state: 1 },
          { componentName: "io_subsystem", state: 1 },
        ],
        connectionFailure: undefined,
        consecutiveRefusals: 0,
      },
      lease: {},
      sqlWriteLease: { renewalInFlight: false },
      hadrCertificatePublished: true,
      podLabels: [
        { pod: pod(0), role: "secondary", readable: false },
        { pod: pod(1), role: "primary", readable: false },
        { pod: pod(2), role: "secondary", readable: false },
      ],
      peers: [0, 1, 2]
        .map(pod)
        .filter((p) => p !== me)
        .map((p) => ({ pod: p, status: healthyStatus(p, p === pod(1) ? "PRIMARY" : "SECONDARY", "100"), statusAgeMs: 500 })),
      completed: [],
    };
  }

  private record(holder: string, transitions: number, extraAnnotations: Record<string, string> = {}): LeaseRecord {
    return {
      holderIdentity: holder,
      leaseDurationSeconds: 15,
      renewTime: "2026-01-01T00:00:00.000000Z",
      leaseTransitions: transitions,
      resourceVersion: "42",
      annotations: extraAnnotations,
    };
  }

  private get ag() {
    const ag = this.o.sql.ag;
    if (ag === undefined) throw new Error("builder: no AG in this observation");
    return ag;
  }

  // --- roles and the Lease -------------------------------------------------------------------------------

  role(role: ReplicaRole): this {
    this.ag.role = role;
    if (role === "PRIMARY") {
      for (const r of this.ag.replicas) r.role = r.name === this.me ? "PRIMARY" : "SECONDARY";
      this.ag.primaryReplica = this.me;
      for (const l of this.o.podLabels) l.role = l.pod === this.me ? "primary" : "secondary";
      for (const p of this.o.peers) if (p.status !== undefined) p.status = { ...p.status, role: "SECONDARY" };
    } else {
      const mine = this.ag.replicas.find((r) => r.name === this.me);
      if (mine !== undefined) mine.role = role;
    }
    return this;
  }

  /** This agent is the PRIMARY and the holder, renewed 500 ms ago (a steady primary). */
  primary(): this {
    return this.role("PRIMARY").holder(this.me).sqlLeaseRenewedAgoMs(500);
  }

  /** The Lease names `holder`; for this agent, its last successful renewal was sent 500 ms ago. */
  holder(holder: string, transitions = 3): this {
    this.leaseRecord = this.record(holder, transitions);
    this.leaseObservedAtMs = this.nowMs - 500;
    if (holder === this.me) {
      this.o.lease.lastRenewSentAtMs = this.nowMs - 500;
      if (this.o.sql.ag !== undefined && this.o.sql.ag.role !== "PRIMARY") {
        // A consistent world: the Lease moved here, so the previous primary is fenced (RESOLVING) by now.
        for (const p of this.o.peers) if (p.status?.role === "PRIMARY") p.status = { ...p.status, role: "RESOLVING" };
        for (const r of this.o.sql.ag.replicas) if (r.role === "PRIMARY") r.role = "RESOLVING";
        delete this.o.sql.ag.primaryReplica;
      }
    } else delete this.o.lease.lastRenewSentAtMs;
    return this;
  }

  /** Own holder: last successful renewal sent `ms` ago. Other holder: this observer has seen it unchanged for `ms`. */
  renewedAgoMs(ms: number): this {
    if (this.leaseRecord?.holderIdentity === this.me) this.o.lease.lastRenewSentAtMs = this.nowMs - ms;
    else this.leaseObservedAtMs = this.nowMs - ms;
    return this;
  }

  /** Lease record names this agent but this process has never renewed it (agent restart). */
  neverRenewedByThisProcess(): this {
    delete this.o.lease.lastRenewSentAtMs;
    return this;
  }

  leaseFree(extraAnnotations: Record<string, string> = {}, transitions = 3): this {
    this.leaseRecord = this.record("", transitions, extraAnnotations);
    this.leaseObservedAtMs = this.nowMs - 500;
    delete this.o.lease.lastRenewSentAtMs;
    return this;
  }

  /** Another holder whose record this observer has seen unchanged for a full lease duration and more. */
  leaseExpired(holder = pod(1)): this {
    return this.holder(holder).renewedAgoMs(16_000);
  }

  betterCandidate(podName: string): this {
    if (this.leaseRecord !== undefined) this.leaseRecord = { ...this.leaseRecord, annotations: { ...this.leaseRecord.annotations, [annotations.betterCandidate]: podName } };
    return this;
  }

  leaseNeverRead(): this {
    this.leaseRead = false;
    return this;
  }

  /** Agent process started `ms` ago; the diagnostics monitor started with it (no result set yet if ms < interval). */
  agentStartedAgoMs(ms: number): this {
    this.o.self.agentStartedAtMs = this.nowMs - ms;
    this.o.diagnostics.startedAtMs = this.nowMs - ms;
    if (this.o.diagnostics.lastResultSetAtMs !== undefined && this.o.diagnostics.lastResultSetAtMs < this.nowMs - ms) {
      this.o.diagnostics.lastResultSetAtMs = undefined;
    }
    return this;
  }

  // --- local SQL -----------------------------------------------------------------------------------------

  sqlHealthy(): this {
    this.o.sql.reachability = "reachable";
    this.o.diagnostics.lastResultSetAtMs = this.nowMs - 1000;
    this.o.diagnostics.connectionFailure = undefined;
    this.o.diagnostics.consecutiveRefusals = 0;
    return this;
  }

  componentError(component: "system" | "resource" | "query_processing"): this {
    this.o.diagnostics.components = this.o.diagnostics.components.map((c) => (c.componentName === component ? { ...c, state: 3 } : c));
    return this;
  }

  componentMissing(component: string): this {
    this.o.diagnostics.components = this.o.diagnostics.components.filter((c) => c.componentName !== component);
    return this;
  }

  /** No sp_server_diagnostics result set for `ms` (a frozen or wedged instance). */
  diagnosticsSilentForMs(ms: number): this {
    this.o.diagnostics.lastResultSetAtMs = this.nowMs - ms;
    return this;
  }

  /** The local SQL port refuses connections: the process is down. */
  sqlRefused(): this {
    this.o.sql = { reachability: "refused" };
    this.o.diagnostics.connectionFailure = { reason: "refused", atMs: this.nowMs - 200 };
    this.o.diagnostics.consecutiveRefusals = 2;
    return this;
  }

  sqlTimeout(): this {
    this.o.sql = { reachability: "timeout" };
    return this;
  }

  serverName(name: string): this {
    this.o.sql.serverName = name;
    return this;
  }

  /** No AG of this name locally (bootstrap or a fresh volume); endpoint not prepared, certificate not published. */
  noAg(): this {
    delete this.o.sql.ag;
    this.o.sql.endpoint = "missing";
    this.o.sql.endpointSecurityReady = false;
    this.o.hadrCertificatePublished = false;
    for (const p of this.o.peers) if (p.status !== undefined) p.status = { ...p.status, agExists: false, role: "UNKNOWN", sequenceNumber: "0" };
    for (const l of this.o.podLabels) delete l.role;
    return this;
  }

  certificatePublished(published = true): this {
    this.o.hadrCertificatePublished = published;
    return this;
  }

  endpointReady(): this {
    this.o.sql.endpoint = "started";
    this.o.sql.endpointSecurityReady = true;
    return this;
  }

  seq(sequenceNumber: bigint): this {
    this.ag.sequenceNumber = sequenceNumber;
    return this;
  }

  availabilityMode(mode: AvailabilityMode): this {
    this.ag.availabilityMode = mode;
    const mine = this.ag.replicas.find((r) => r.name === this.me);
    if (mine !== undefined) mine.availabilityMode = mode;
    return this;
  }

  /** Replaces the local replica list (sys.availability_replicas). */
  replicas(replicas: readonly ReplicaSketch[]): this {
    this.ag.replicas = replicas.map(
      (r): AgReplicaView => ({
        name: r.name,
        availabilityMode: r.mode ?? "SynchronousCommit",
        readableSecondary: r.readable ?? false,
        role: r.role ?? (r.name === this.ag.primaryReplica ? "PRIMARY" : "SECONDARY"),
        connected: r.connected ?? true,
        allDatabasesSynchronized: r.synchronized ?? true,
      }),
    );
    return this;
  }

  replicaState(name: string, state: Partial<Pick<AgReplicaView, "connected" | "allDatabasesSynchronized" | "readableSecondary">>): this {
    const replica = this.ag.replicas.find((r) => r.name === name);
    if (replica === undefined) throw new Error(`builder: no replica ${name}`);
    Object.assign(replica, state);
    return this;
  }

  rsstc(value: number): this {
    this.ag.requiredSynchronizedSecondariesToCommit = value;
    return this;
  }

  configurationCommitAgeMs(ms: number): this {
    this.ag.configurationCommitAgeMs = ms;
    return this;
  }

  databases(databases: readonly Partial<LocalDatabaseView>[]): this {
    this.ag.databases = databases.map((d) => ({
      name: d.name ?? "db",
      inAvailabilityGroup: d.inAvailabilityGroup ?? true,
      synchronizationState: d.synchronizationState ?? "SYNCHRONIZED",
      isSuspended: d.isSuspended ?? false,
      seeding: d.seeding ?? false,
    }));
    return this;
  }

  primaryReplica(name: string | undefined): this {
    if (name === undefined) delete this.ag.primaryReplica;
    else this.ag.primaryReplica = name;
    return this;
  }

  /** The last SQL write-lease renewal statement ended `ms` ago. */
  sqlLeaseRenewedAgoMs(ms: number): this {
    this.o.sqlWriteLease.lastRenewalAttemptEndedAtMs = this.nowMs - ms;
    return this;
  }

  sqlLeaseRenewalInFlight(): this {
    this.o.sqlWriteLease.renewalInFlight = true;
    return this;
  }

  // --- CR, pod, peers ------------------------------------------------------------------------------------

  spec(mutate: (spec: SQLServerAvailabilityGroupSpec) => void): this {
    mutate(this.specInput);
    return this;
  }

  noCr(): this {
    this.hasCr = false;
    return this;
  }

  switchoverTo(target: string): this {
    this.o.cr = { ...(this.o.cr ?? { spec: withDefaults(this.specInput) }), switchoverTo: target };
    return this;
  }

  recordedGroupId(groupId: string): this {
    this.o.cr = { ...(this.o.cr ?? { spec: withDefaults(this.specInput) }), recordedGroupId: groupId };
    return this;
  }

  preStop(): this {
    this.o.self.preStopRequested = true;
    this.o.self.terminating = true;
    return this;
  }

  terminating(): this {
    this.o.self.terminating = true;
    return this;
  }

  label(podName: string, role: PodLabelView["role"], readable = false): this {
    const existing = this.o.podLabels.find((l) => l.pod === podName);
    if (existing === undefined) this.o.podLabels.push({ pod: podName, ...(role !== undefined ? { role } : {}), readable });
    else {
      if (role === undefined) delete existing.role;
      else existing.role = role;
      existing.readable = readable;
    }
    return this;
  }

  peer(podName: string, status: Partial<AgentStatus>, ageMs = 500): this {
    const existing = this.o.peers.find((p) => p.pod === podName);
    const base = existing?.status ?? healthyStatus(podName, "SECONDARY", "100");
    const next = { pod: podName, status: { ...base, ...status }, statusAgeMs: ageMs };
    if (existing === undefined) this.o.peers.push(next);
    else Object.assign(existing, next);
    return this;
  }

  peerUnreachable(podName: string): this {
    const existing = this.o.peers.find((p) => p.pod === podName);
    if (existing !== undefined) {
      delete existing.status;
      delete existing.statusAgeMs;
    }
    return this;
  }

  failsafeAckedAgoMs(ms: number): this {
    this.o.lastFailsafeAckAtMs = this.nowMs - ms;
    return this;
  }

  // --- actions -------------------------------------------------------------------------------------------

  inProgress(kind: ActionKind, startedAgoMs = 500, epoch?: number): this {
    this.o.inProgress = { kind, startedAtMs: this.nowMs - startedAgoMs, ...(epoch !== undefined ? { epoch } : {}) };
    return this;
  }

  completed(action: Partial<CompletedAction> & Pick<CompletedAction, "kind">): this {
    this.o.completed.push({ ok: true, startedAtMs: this.nowMs - 800, finishedAtMs: this.nowMs - 100, ...action });
    return this;
  }

  build(): Observation {
    if (this.hasCr) {
      this.o.cr = { ...(this.o.cr ?? {}), spec: withDefaults(this.specInput) };
    } else {
      delete this.o.cr;
    }
    const observation: Observation = {
      ...(this.o as Observation),
      lease: this.leaseRead ? { ...this.o.lease, observation: { record: this.leaseRecord, observedAtMs: this.leaseObservedAtMs } } : {},
    };
    return deepFreeze(structuredClone(observation));
  }
}

/** An observation taken at `nowMs` (default NOW_MS); every "…AgoMs" is relative to it. */
export function obs(me: string = ME, nowMs: number = NOW_MS): ObservationBuilder {
  return new ObservationBuilder(me, nowMs);
}

/** Builder for AgentMemory (what earlier cycles left behind). */
export class MemoryBuilder {
  private m: AgentMemory = initialMemory();

  unhealthySinceAgoMs(ms: number): this {
    this.m = { ...this.m, unhealthySinceMs: NOW_MS - ms };
    return this;
  }

  claimableSinceAgoMs(ms: number): this {
    this.m = { ...this.m, claimableSinceMs: NOW_MS - ms };
    return this;
  }

  stepDown(stepDown: Omit<StepDownMemory, "startedAtMs"> & { startedAgoMs?: number }): this {
    const { startedAgoMs, ...rest } = stepDown;
    this.m = { ...this.m, stepDown: { ...rest, startedAtMs: NOW_MS - (startedAgoMs ?? 1000) } };
    return this;
  }

  promotion(round: Omit<PromotionRound, "startedAtMs" | "reports"> & { startedAgoMs?: number; reports?: readonly SequenceReport[] }): this {
    const { startedAgoMs, reports, ...rest } = round;
    this.m = { ...this.m, promotion: { ...rest, startedAtMs: NOW_MS - (startedAgoMs ?? 1000), reports: reports ?? [] } };
    return this;
  }

  recovery(recovery: Omit<RecoveryMemory, "stuckSinceMs"> & { stuckForMs: number }): this {
    const { stuckForMs, ...rest } = recovery;
    this.m = { ...this.m, recovery: { ...rest, stuckSinceMs: NOW_MS - stuckForMs } };
    return this;
  }

  failsafeFullyAckedAgoMs(ms: number, epoch = 3): this {
    this.m = { ...this.m, failsafe: { fullyAckedSentAtMs: NOW_MS - ms, epoch } };
    return this;
  }

  backOffForMs(ms: number): this {
    this.m = { ...this.m, contentionBackOffUntilMs: NOW_MS + ms };
    return this;
  }

  retryBlockedForMs(ms: number): this {
    this.m = { ...this.m, retryNotBeforeMs: NOW_MS + ms };
    return this;
  }

  peerStuckSeenAgoMs(ms: number): this {
    this.m = { ...this.m, peerStuckSeenSinceMs: NOW_MS - ms };
    return this;
  }

  lastPeerAssistRestartAgoMs(ms: number): this {
    this.m = { ...this.m, lastPeerAssistRestartAtMs: NOW_MS - ms };
    return this;
  }

  build(): AgentMemory {
    return deepFreeze(structuredClone(this.m));
  }
}

export function mem(): MemoryBuilder {
  return new MemoryBuilder();
}

/** An epoch-tagged sequence report from a peer. */
export function report(podName: string, sequenceNumber: bigint | number, epoch = 3, mode: AvailabilityMode = "SynchronousCommit"): SequenceReport {
  return { pod: podName, epoch, availabilityMode: mode, sequenceNumber: String(sequenceNumber), healthy: true };
}
