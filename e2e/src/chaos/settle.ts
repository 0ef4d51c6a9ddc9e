/**
 * The chaos runner's "settled enough" judgement between faults, as a pure function of one observation of the
 * AG (the role labels, each agent's own /v1/status, mssql-sim's writable flag, the rw listener's ready
 * endpoints). A full resync after every fault would blow the spec's budget, so the runner waits only for what
 * the next step needs (its SettlePrecondition) on top of the baseline: every pod's agent answers, exactly one
 * pod is labelled primary, its agent says PRIMARY, the listener points at it only, and a probe write through the
 * listener commits there (so a primary waiting for a synchronous partner does not count as settled).
 */
import type { SettlePrecondition } from "./schedule.js";

export interface PodObservation {
  readonly name: string;
  /** The pod's `sqlag.io/role` label. */
  readonly roleLabel: string | undefined;
  /** The agent's own view; undefined when /v1/status did not answer. */
  readonly agent: { readonly role: string; readonly databaseSynchronized: boolean } | undefined;
  /** A probe write through the rw listener committed on this pod. undefined when not asked (non-primary). */
  readonly writable: boolean | undefined;
}

export interface AgObservation {
  readonly expectedPods: number;
  readonly pods: readonly PodObservation[];
  /** Pods behind the rw listener's ready endpoints. */
  readonly listenerPods: readonly string[];
}

export type SettleVerdict = { readonly settled: true; readonly primary: string; readonly secondaries: readonly string[] } | { readonly settled: false; readonly waitingFor: string };

/** The single pod labelled primary, if exactly one is (what the observer asks about writability). */
export function labelledPrimary(pods: readonly Pick<PodObservation, "name" | "roleLabel">[]): string | undefined {
  const labelled = pods.filter((pod) => pod.roleLabel === "primary");
  return labelled.length === 1 ? labelled[0]?.name : undefined;
}

/**
 * `targetOf` names the secondary the next step will hit (given the current secondaries), for the
 * spare-partner rule; without it, any SYNCHRONIZED secondary counts as the spare.
 */
export function judgeSettled(observation: AgObservation, precondition: SettlePrecondition, targetOf: (secondaries: readonly string[]) => string | undefined = () => undefined): SettleVerdict {
  const { pods } = observation;
  if (pods.length !== observation.expectedPods) return { settled: false, waitingFor: `${observation.expectedPods} pods (have ${pods.length})` };
  const silent = pods.filter((pod) => pod.agent === undefined).map((pod) => pod.name);
  if (silent.length > 0) return { settled: false, waitingFor: `the agents of ${silent.join(", ")} to answer` };
  const labelled = pods.filter((pod) => pod.roleLabel === "primary");
  if (labelled.length !== 1) return { settled: false, waitingFor: `exactly one pod labelled primary (have ${labelled.map((pod) => pod.name).join(", ") || "none"})` };
  const primary = labelled[0];
  if (primary === undefined) return { settled: false, waitingFor: "a primary" };
  if (primary.agent?.role !== "PRIMARY") return { settled: false, waitingFor: `${primary.name}'s agent to report PRIMARY (reports ${primary.agent?.role ?? "nothing"})` };
  if (primary.writable !== true) return { settled: false, waitingFor: `${primary.name} to accept writes` };
  if (observation.listenerPods.length !== 1 || observation.listenerPods[0] !== primary.name) {
    return { settled: false, waitingFor: `the listener to point at ${primary.name} only (points at ${observation.listenerPods.join(", ") || "nothing"})` };
  }
  const secondaries = pods.filter((pod) => pod !== primary);
  const synchronized = secondaries.filter((pod) => pod.agent?.role === "SECONDARY" && pod.agent.databaseSynchronized);
  if (synchronized.length < precondition.synchronizedSecondaries) {
    return { settled: false, waitingFor: `${precondition.synchronizedSecondaries} SYNCHRONIZED secondaries (have ${synchronized.map((pod) => pod.name).join(", ") || "none"})` };
  }
  const unjoined = secondaries.filter((pod) => pod.agent?.role !== "SECONDARY");
  if (precondition.everySecondaryJoined && unjoined.length > 0) return { settled: false, waitingFor: `${unjoined.map((pod) => pod.name).join(", ")} to rejoin as SECONDARY` };
  if (precondition.spareSynchronizedSecondary) {
    const target = targetOf(secondaries.map((pod) => pod.name));
    if (!synchronized.some((pod) => pod.name !== target)) return { settled: false, waitingFor: `a SYNCHRONIZED secondary besides ${target ?? "the target"}` };
  }
  return { settled: true, primary: primary.name, secondaries: secondaries.map((pod) => pod.name) };
}
