/**
 * Pure Lease arithmetic with client-go semantics (ARCHITECTURE §4.2). No I/O, no imports with side effects:
 * the agent's decision core imports this module directly (`@sqlag/kube/lease-math`).
 *
 * Invariants this encodes:
 * - Expiry is judged only on the OBSERVER's monotonic clock: a record counts as expired once this observer has
 *   seen the same (holderIdentity, renewTime, leaseTransitions) for leaseDurationSeconds. Another host's
 *   timestamps are compared for equality, never subtracted from our clock, so clock offsets between nodes do
 *   not matter — only clock rates do, and the safety margin of §4.4 absorbs those.
 * - An empty holder may be claimed at once.
 * - Every claim by a new holder bumps leaseTransitions, which is the epoch of all decisions.
 */

export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
  resourceVersion: string;
  annotations: Readonly<Record<string, string>>;
}

export interface LeaseObservation {
  record: LeaseRecord | undefined;
  /** Monotonic time at which this observer first saw the current (holder, renewTime, transitions). */
  observedAtMs: number;
}

function sameRenewal(a: LeaseRecord | undefined, b: LeaseRecord | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.holderIdentity === b.holderIdentity && a.renewTime === b.renewTime && a.leaseTransitions === b.leaseTransitions;
}

/** Folds a freshly read record into the observation; the timer restarts only when the renewal changed. */
export function observeLease(previous: LeaseObservation | undefined, record: LeaseRecord | undefined, nowMs: number): LeaseObservation {
  if (previous !== undefined && sameRenewal(previous.record, record)) {
    return { record, observedAtMs: previous.observedAtMs };
  }
  return { record, observedAtMs: nowMs };
}

export function isLeaseFree(record: LeaseRecord | undefined): boolean {
  return record === undefined || record.holderIdentity === "";
}

/** How long this observer has seen the current renewal unchanged. */
export function unchangedForMs(observation: LeaseObservation, nowMs: number): number {
  return Math.max(0, nowMs - observation.observedAtMs);
}

/** True when the Lease may be claimed by someone other than its holder: free, or unchanged for a full duration. */
export function isClaimable(observation: LeaseObservation, nowMs: number): boolean {
  const record = observation.record;
  if (isLeaseFree(record)) return true;
  return unchangedForMs(observation, nowMs) >= (record?.leaseDurationSeconds ?? 0) * 1000;
}

/**
 * The holder's own view: its lease is valid while its last SUCCESSFUL renewal was sent less than
 * renewDeadlineMs ago (measured from the send time, the conservative end).
 */
export function holderStillValid(lastRenewSentAtMs: number | undefined, renewDeadlineMs: number, nowMs: number): boolean {
  return lastRenewSentAtMs !== undefined && nowMs - lastRenewSentAtMs <= renewDeadlineMs;
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits (a 3-digit value is rejected with 400). */
export function toMicroTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
