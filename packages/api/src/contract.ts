/**
 * The agent's HTTP contract (ARCHITECTURE §4.10): paths and the JSON bodies peers, probes and tools exchange.
 * Read-only endpoints never return secrets or SQL text; mutating ones require the shared peer token.
 */
import type { AvailabilityMode, ReplicaRole } from "./types.js";

export const agentPaths = {
  livez: "/livez",
  readyz: "/readyz",
  status: "/v1/status",
  primary: "/primary",
  replica: "/replica",
  metrics: "/metrics",
  preStop: "/v1/prestop",
  failsafe: "/v1/failsafe",
  sequence: "/v1/sequence",
} as const;

/** Header carrying the peer token (from the `<ag>-hadr` Secret) on mutating calls. */
export const PEER_TOKEN_HEADER = "x-sqlag-peer-token";

export type HealthVerdict = "healthy" | "unhealthy" | "unresponsive" | "down" | "unknown";

export interface LeaseView {
  holder: string;
  /** leaseTransitions, the epoch of every decision. */
  epoch: number;
  /** True when this agent holds it and its last renewal is within the renew deadline. */
  heldByMe: boolean;
  /** How long this observer has seen the same record, on its own monotonic clock. */
  observedUnchangedMs: number;
  expired: boolean;
}

export interface DatabaseSyncView {
  name: string;
  synchronizationState: string;
  isSuspended: boolean;
  databaseState: string;
}

export interface AgentStatus {
  pod: string;
  ag: string;
  mode: "availability-group" | "standalone";
  role: ReplicaRole;
  availabilityMode?: AvailabilityMode;
  health: HealthVerdict;
  healthDetail?: string;
  sqlReachable: boolean;
  /** sys.availability_groups.sequence_number as a decimal string (bigint). */
  sequenceNumber?: string;
  lease?: LeaseView;
  agExists?: boolean;
  groupId?: string;
  databases: DatabaseSyncView[];
  /** Set while the replica is stuck RESOLVING / NOT SYNCHRONIZING (ISO time, for bilateral recovery). */
  stuckSince?: string;
  stuckKind?: "resolving" | "not_synchronizing";
  /** The recovery ladder ran out of steps (ARCHITECTURE §4.8): an operator has to look at this replica. */
  stuckGaveUp?: boolean;
  lastReason: string;
  cycle: number;
  agentVersion: string;
  observedAt: string;
}

/** Epoch-tagged sequence-number report used by the promotion gate (ARCHITECTURE §4.5 step 3). */
export interface SequenceReportRequest {
  epoch: number;
  candidate: string;
}
export interface SequenceReport {
  pod: string;
  epoch: number;
  availabilityMode?: AvailabilityMode;
  /** 0 for asynchronous replicas and replicas that cannot read their configuration. */
  sequenceNumber: string;
  healthy: boolean;
}

/** Failsafe heartbeat from the holder during an API-server outage (ARCHITECTURE §4.9). */
export interface FailsafeHeartbeat {
  holder: string;
  epoch: number;
  /** Opaque id the holder uses to match the ack to the send time on its own clock. */
  heartbeatId: string;
}
export interface FailsafeAck {
  pod: string;
  epoch: number;
  heartbeatId: string;
  /** The acking agent will not claim the Lease for this long, measured on its own clock from the ack. */
  promiseMs: number;
}

export interface PreStopResponse {
  outcome: "not_primary" | "switched_over" | "no_eligible_target" | "timed_out" | "fenced";
  target?: string;
  durationMs: number;
}
