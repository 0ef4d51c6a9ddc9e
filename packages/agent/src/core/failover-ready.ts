/**
 * The `FailoverReady` condition the holder publishes continuously (ARCHITECTURE §4.5): can an automatic
 * failover happen right now without risking data? It mirrors what the promotion gate would need if the
 * primary vanished this instant, and explains in a full sentence what to change when the answer is no —
 * notably the layout of exactly two synchronous replicas and no configuration-only witness, where the
 * quorum of ⌊2/2⌋+1 = 2 reports can never be met without the primary.
 */
import type { AvailabilityMode, FailoverMode } from "@sqlag/api";
import { requiredReports } from "./promotion-gate.js";
import type { FailoverReadiness } from "./types.js";

export interface ReadinessReplica {
  name: string;
  availabilityMode: AvailabilityMode;
  failoverMode: FailoverMode;
  /** The replica is PRIMARY (the one whose loss we reason about). */
  isPrimary: boolean;
  /** Connected to the primary and its agent reports healthy (best effort). */
  healthy: boolean;
  /** Every AG database on it is SYNCHRONIZED. */
  synchronized: boolean;
}

export interface ReadinessInput {
  automaticFailoverEnabled: boolean;
  replicas: readonly ReadinessReplica[];
}

export function computeFailoverReadiness(input: ReadinessInput): FailoverReadiness {
  if (!input.automaticFailoverEnabled) {
    return {
      status: "False",
      reason: "AutomaticFailoverDisabled",
      message: "Automatic failover is disabled; set spec.automaticFailover.enabled to true with clusterType EXTERNAL to enable it.",
    };
  }
  const synchronous = input.replicas.filter((r) => r.availabilityMode === "SynchronousCommit");
  const witnesses = input.replicas.filter((r) => r.availabilityMode === "ConfigurationOnly");
  if (synchronous.length === 2 && witnesses.length === 0) {
    return {
      status: "False",
      reason: "TwoSynchronousReplicasWithoutWitness",
      message:
        "With exactly two synchronous replicas and no configuration-only replica, the surviving replica can never collect " +
        "the 2 sequence-number reports the promotion gate needs once the primary is lost; add a replica with " +
        "availabilityMode ConfigurationOnly (a witness) or a third synchronous replica.",
    };
  }
  const targets = synchronous.filter((r) => !r.isPrimary && r.failoverMode === "Automatic");
  if (targets.length === 0) {
    return {
      status: "False",
      reason: "NoAutomaticFailoverTarget",
      message: "No secondary is synchronous with failoverMode Automatic; set availabilityMode SynchronousCommit and failoverMode Automatic on at least one secondary.",
    };
  }
  const ready = targets.filter((r) => r.healthy && r.synchronized);
  if (ready.length === 0) {
    return {
      status: "False",
      reason: "NoSynchronizedSecondary",
      message: `None of the automatic failover targets (${targets.map((t) => t.name).join(", ")}) is healthy and SYNCHRONIZED; check their agents' status and database synchronization.`,
    };
  }
  const required = requiredReports(input.replicas);
  const voters = input.replicas.filter(
    (r) => !r.isPrimary && r.healthy && (r.availabilityMode === "SynchronousCommit" || r.availabilityMode === "ConfigurationOnly"),
  ).length;
  if (voters < required) {
    return {
      status: "False",
      reason: "QuorumNotAvailable",
      message: `Without the primary only ${voters} synchronous or configuration-only replicas are healthy but the promotion gate needs ${required}; bring the missing replicas back.`,
    };
  }
  return {
    status: "True",
    reason: "Ready",
    message: `${ready.length} synchronized secondary replica(s) can take over automatically (${ready.map((r) => r.name).join(", ")}).`,
  };
}
