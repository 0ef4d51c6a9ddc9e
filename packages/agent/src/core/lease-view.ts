/**
 * Classifies this agent's view of the Lease each cycle (style-anchors C7, after CNPG's leaseMissing /
 * leaseUnverifiable / leasePreempted): decide switches on the class, never on raw fields.
 *
 * Authority to renew the SQL write lease comes only from `mine` with `authorized: true`: the last SUCCESSFUL
 * Lease write was SENT within renewDeadline (ARCHITECTURE §4.4). A record that names this pod but whose last
 * renewal is older (API server unreachable, or this process has not renewed yet) is `mine` with
 * `authorized: false`: keep trying, never renew the SQL lease on it.
 */
import { holderStillValid, isClaimable, isLeaseFree, unchangedForMs } from "@sqlag/kube/lease-math";
import { annotations } from "@sqlag/api";
import type { DecideTiming, LeaseState, SqlLeaseAuthority } from "./types.js";

export type LeaseClass =
  /** Never read successfully. */
  | { kind: "unknown" }
  | { kind: "free"; epoch: number; resourceVersion?: string; betterCandidate?: string; fenced: boolean }
  | {
      kind: "mine";
      epoch: number;
      authorized: boolean;
      /** A renewal is due (renewInterval since the last successful one, or none yet). */
      renewDue: boolean;
      /** Renewals are failing: past renewInterval + one loop since the last success (or since agent start). */
      overdue: boolean;
      /** Past renewDeadline since the last success (or since agent start): authority is gone. */
      pastDeadline: boolean;
    }
  | { kind: "other"; holder: string; epoch: number; expired: boolean; unchangedMs: number; resourceVersion: string; betterCandidate?: string };

export function classifyLease(lease: LeaseState, podName: string, timing: DecideTiming, agentStartedAtMs: number, nowMs: number): LeaseClass {
  const observation = lease.observation;
  if (observation === undefined) return { kind: "unknown" };
  const record = observation.record;
  if (record === undefined || isLeaseFree(record)) {
    const betterCandidate = record?.annotations[annotations.betterCandidate];
    return {
      kind: "free",
      epoch: record?.leaseTransitions ?? 0,
      ...(record !== undefined ? { resourceVersion: record.resourceVersion } : {}),
      ...(betterCandidate !== undefined && betterCandidate !== "" ? { betterCandidate } : {}),
      fenced: record?.annotations[annotations.fenced] === "true",
    };
  }
  if (record.holderIdentity === podName) {
    const basisMs = lease.lastRenewSentAtMs ?? agentStartedAtMs;
    return {
      kind: "mine",
      epoch: record.leaseTransitions,
      authorized: holderStillValid(lease.lastRenewSentAtMs, timing.renewDeadlineMs, nowMs),
      renewDue: lease.lastRenewSentAtMs === undefined || nowMs - lease.lastRenewSentAtMs >= timing.renewIntervalMs,
      overdue: nowMs - basisMs > timing.renewIntervalMs + timing.loopIntervalMs,
      pastDeadline: nowMs - basisMs > timing.renewDeadlineMs,
    };
  }
  const betterCandidate = record.annotations[annotations.betterCandidate];
  return {
    kind: "other",
    holder: record.holderIdentity,
    epoch: record.leaseTransitions,
    expired: isClaimable(observation, nowMs),
    unchangedMs: unchangedForMs(observation, nowMs),
    resourceVersion: record.resourceVersion,
    ...(betterCandidate !== undefined && betterCandidate !== "" ? { betterCandidate } : {}),
  };
}

/**
 * The executor's last check right before it sends `ALTER AVAILABILITY GROUP … SET (WRITE_LEASE_VALIDITY = W)`:
 * with Lease authority, the elector's last SUCCESSFUL renewal must have been SENT within renewDeadline (a renewal
 * that just failed does not count); with failsafe authority, now must not be past the heartbeat's validity.
 */
export function sqlLeaseRenewalAllowed(authority: SqlLeaseAuthority, lastLeaseRenewSentAtMs: number | undefined, nowMs: number): boolean {
  switch (authority.kind) {
    case "lease":
      return holderStillValid(lastLeaseRenewSentAtMs, authority.renewDeadlineMs, nowMs);
    case "failsafe":
      return nowMs <= authority.validUntilMs && authority.heartbeatSentAtMs <= nowMs;
  }
}
