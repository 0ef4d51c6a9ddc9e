/**
 * REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT (pacemaker-agent.md §3.4): n = synchronous replicas in the AG
 * (configuration-only excluded, the primary included); n == 2 → 0 (losing the only secondary must not block
 * writes; safety then rests on the witness and the sequence-number gate), otherwise ⌊n/2⌋; an override wins.
 * Computed from the AG's actual membership as the primary sees it, not from the spec, so it follows scaling
 * only once the replicas were really added or removed. `requiredSynchronizedSecondaries` in @sqlag/api is the
 * same rule over a spec.
 */
import type { AgReplicaView } from "./types.js";

export function requiredSynchronizedSecondariesFor(synchronousReplicaCount: number, override?: number): number {
  if (override !== undefined) return override;
  return synchronousReplicaCount === 2 ? 0 : Math.floor(synchronousReplicaCount / 2);
}

export function requiredSynchronizedSecondariesForMembership(replicas: readonly AgReplicaView[], override?: number): number {
  return requiredSynchronizedSecondariesFor(replicas.filter((r) => r.availabilityMode === "SynchronousCommit").length, override);
}
