/**
 * The promotion gate, exactly as Pacemaker's `promote` applies it (pacemaker-agent.md §3.3), with epoch-tagged
 * reports in place of attrd values (which had no freshness token):
 *  1. the candidate's local availability mode is SYNCHRONOUS_COMMIT;
 *  2. its own sequence number is > 0 and equals the maximum reported;
 *  3. the number of POSITIVE reports (its own included) is >= ⌊N/2⌋ + 1, where N counts the SYNCHRONOUS_COMMIT
 *     and CONFIGURATION_ONLY replicas of the candidate's LOCAL sys.availability_replicas (primary included).
 * Collecting (N − quorum) + 1 reports guarantees one reporter holds the newest committed configuration, so a
 * candidate at the maximum has it. SQL Server's own 41142 check in FAILOVER is the last line.
 */
import type { AvailabilityMode, SequenceReport } from "@sqlag/api";
import type { AgReplicaView } from "./types.js";

export interface GateInput {
  candidate: string;
  candidateMode: AvailabilityMode;
  /** The candidate's own sequence number (0 if it cannot read one). */
  candidateSequence: bigint;
  /** The candidate's local view of the AG's replicas. */
  replicas: readonly Pick<AgReplicaView, "name" | "availabilityMode">[];
  /** Peer reports; only those with this epoch count, one per pod, the candidate's own ignored. */
  reports: readonly SequenceReport[];
  epoch: number;
}

export type GateVerdict =
  | { pass: true; max: bigint; positive: number; required: number }
  | { pass: false; why: "not_synchronous"; detail: string }
  | { pass: false; why: "own_sequence_zero"; detail: string }
  | { pass: false; why: "not_max_sequence"; detail: string; betterCandidate: string; max: bigint }
  | { pass: false; why: "quorum_short"; detail: string; positive: number; required: number };

/** ⌊N/2⌋ + 1 with N = SYNC + CONFIGURATION_ONLY replicas (one stricter than ceil(N/2) for even N, as Pacemaker). */
export function requiredReports(replicas: readonly Pick<AgReplicaView, "availabilityMode">[]): number {
  const voters = replicas.filter((r) => r.availabilityMode === "SynchronousCommit" || r.availabilityMode === "ConfigurationOnly").length;
  return Math.floor(voters / 2) + 1;
}

function parseSequence(value: string): bigint {
  return /^\d+$/.test(value) ? BigInt(value) : 0n;
}

export function evaluatePromotionGate(input: GateInput): GateVerdict {
  if (input.candidateMode !== "SynchronousCommit") {
    return { pass: false, why: "not_synchronous", detail: `${input.candidateMode} replica cannot be promoted` };
  }
  const byPod = new Map<string, bigint>();
  for (const report of input.reports) {
    if (report.epoch !== input.epoch || report.pod === input.candidate) continue;
    byPod.set(report.pod, parseSequence(report.sequenceNumber));
  }
  const values = [input.candidateSequence, ...byPod.values()];
  let max = 0n;
  let maxPod = input.candidate;
  for (const [pod, value] of [[input.candidate, input.candidateSequence] as const, ...byPod.entries()]) {
    if (value > max) {
      max = value;
      maxPod = pod;
    }
  }
  if (input.candidateSequence <= 0n) {
    return { pass: false, why: "own_sequence_zero", detail: "own sequence number is 0: configuration unknown locally" };
  }
  if (input.candidateSequence < max) {
    return {
      pass: false,
      why: "not_max_sequence",
      detail: `replica has sequence number ${input.candidateSequence} but ${maxPod} has ${max}`,
      betterCandidate: maxPod,
      max,
    };
  }
  const positive = values.filter((v) => v > 0n).length;
  const required = requiredReports(input.replicas);
  if (positive < required) {
    return { pass: false, why: "quorum_short", detail: `need ${required} sequence-number reports, have ${positive}`, positive, required };
  }
  return { pass: true, max, positive, required };
}
