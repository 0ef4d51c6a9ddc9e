import type { Condition } from "@sqlag/api";

export const CONDITION_RECONCILED = "Reconciled";
export const CONDITION_AVAILABLE = "Available";

/** metav1.Time: RFC 3339 with whole seconds. */
export function toKubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Builds a condition, keeping the previous lastTransitionTime when the status did not change (Kubernetes
 * conventions: the time of the last STATUS transition, not of the last write).
 */
export function nextCondition(
  previous: readonly Condition[] | undefined,
  type: string,
  status: Condition["status"],
  reason: string,
  message: string,
  observedGeneration: number | undefined,
  now: Date,
): Condition {
  const before = previous?.find((c) => c.type === type);
  const condition: Condition = {
    type,
    status,
    reason,
    message,
    lastTransitionTime: before !== undefined && before.status === status ? before.lastTransitionTime : toKubeTime(now),
  };
  if (observedGeneration !== undefined) condition.observedGeneration = observedGeneration;
  return condition;
}

/** True when writing `next` would change nothing the reader sees. */
export function sameCondition(previous: readonly Condition[] | undefined, next: Condition): boolean {
  const before = previous?.find((c) => c.type === next.type);
  return (
    before !== undefined &&
    before.status === next.status &&
    before.reason === next.reason &&
    before.message === next.message &&
    before.observedGeneration === next.observedGeneration
  );
}
