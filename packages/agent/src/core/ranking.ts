/**
 * Candidate ranking for unplanned failover (ARCHITECTURE §4.5 step 1). Best effort: built from the peers'
 * /v1/status, so it only spreads contenders out in time (no thundering herd); the CAS claim decides who holds
 * the Lease, and the promotion gate decides whether the holder may promote.
 *
 * Order: a replica the previous contender named as better candidate first, then higher sequence number, then
 * pod name (deterministic tie-break). Only SYNCHRONOUS_COMMIT, healthy, reachable, Automatic replicas compete.
 */
export interface CandidateView {
  pod: string;
  sequenceNumber: bigint;
  /** Named in the Lease's better-candidate annotation by the last holder that failed the gate. */
  preferred: boolean;
}

export function compareCandidates(a: CandidateView, b: CandidateView): number {
  if (a.preferred !== b.preferred) return a.preferred ? -1 : 1;
  if (a.sequenceNumber !== b.sequenceNumber) return a.sequenceNumber > b.sequenceNumber ? -1 : 1;
  return a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0;
}

export function rankCandidates(candidates: readonly CandidateView[]): CandidateView[] {
  return [...candidates].sort(compareCandidates);
}

/** 0-based rank of `pod` among the candidates, or undefined when it is not one. */
export function rankOf(pod: string, candidates: readonly CandidateView[]): number | undefined {
  const index = rankCandidates(candidates).findIndex((c) => c.pod === pod);
  return index < 0 ? undefined : index;
}

/** Rank-based delay before claiming: rank 0 at once, each further rank one step later. */
export function contentionDelayMs(rank: number, stepMs: number): number {
  return Math.max(0, rank) * stepMs;
}

export function parseSequenceNumber(value: string | undefined): bigint {
  return value !== undefined && /^\d+$/.test(value) ? BigInt(value) : 0n;
}
