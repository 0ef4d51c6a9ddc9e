/**
 * Pod placement for the fake kubelet, which binds pods itself instead of running kube-scheduler.
 *
 * Pure: the caller passes the candidate nodes and the pods already placed (including bindings it just made
 * and the informer has not reflected yet). Filters follow kube-scheduler's semantics for the fields our
 * manifests use — nodeSelector, required node affinity (matchExpressions), taints vs tolerations, required pod
 * anti-affinity — and scoring implements preferred pod anti-affinity: a node loses a term's weight for every
 * term that an already placed pod in its topology domain matches. Ties go to the node with fewer pods, then
 * to the name, so the result is deterministic.
 */
import type {
  V1LabelSelector,
  V1LabelSelectorRequirement,
  V1NodeSelectorRequirement,
  V1Pod,
  V1PodAffinityTerm,
  V1Taint,
  V1Toleration,
} from "@kubernetes/client-node";

export interface SchedulableNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly V1Taint[];
  /** A killed node accepts nothing. */
  readonly ready: boolean;
}

export interface PlacedPod {
  readonly namespace: string;
  readonly nodeName: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type PlacementDecision =
  | { readonly kind: "bind"; readonly nodeName: string; readonly score: number }
  | { readonly kind: "unschedulable"; readonly message: string };

export function matchesLabelSelector(selector: V1LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  // A missing selector matches nothing in affinity terms (kube-scheduler treats nil as "no objects").
  if (selector == null) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((requirement) => matchesRequirement(requirement, labels));
}

function matchesRequirement(
  requirement: V1LabelSelectorRequirement | V1NodeSelectorRequirement,
  labels: Readonly<Record<string, string>>,
): boolean {
  const present = Object.prototype.hasOwnProperty.call(labels, requirement.key);
  const value = labels[requirement.key];
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case "In":
      return present && values.includes(value ?? "");
    case "NotIn":
      return !present || !values.includes(value ?? "");
    case "Exists":
      return present;
    case "DoesNotExist":
      return !present;
    case "Gt":
    case "Lt": {
      if (!present || values.length !== 1) return false;
      const actual = Number(value);
      const bound = Number(values[0]);
      if (!Number.isInteger(actual) || !Number.isInteger(bound)) return false;
      return requirement.operator === "Gt" ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

/** True when some toleration tolerates the taint (kube's `Toleration.ToleratesTaint`). */
export function toleratesTaint(tolerations: readonly V1Toleration[], taint: V1Taint): boolean {
  return tolerations.some((toleration) => {
    if (toleration.effect != null && toleration.effect !== "" && toleration.effect !== taint.effect) return false;
    if (toleration.key != null && toleration.key !== "" && toleration.key !== taint.key) return false;
    const operator = toleration.operator ?? "Equal";
    if (operator === "Exists") return true;
    // An empty key with Equal is invalid in the API; treat it as not tolerating.
    if (toleration.key == null || toleration.key === "") return false;
    return (toleration.value ?? "") === (taint.value ?? "");
  });
}

function nodeFilterFailure(pod: V1Pod, node: SchedulableNode, placed: readonly PlacedPod[]): string | undefined {
  if (!node.ready) return "node is not ready";
  for (const [key, value] of Object.entries(pod.spec?.nodeSelector ?? {})) {
    if (node.labels[key] !== value) return `node does not match nodeSelector ${key}=${value}`;
  }
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required != null) {
    // Terms are ORed; expressions within a term are ANDed.
    const anyTerm = required.nodeSelectorTerms.some((term) =>
      (term.matchExpressions ?? []).every((requirement) => matchesRequirement(requirement, node.labels)),
    );
    if (!anyTerm) return "node does not match required node affinity";
  }
  const tolerations = pod.spec?.tolerations ?? [];
  for (const taint of node.taints) {
    if (taint.effect !== "NoSchedule" && taint.effect !== "NoExecute") continue;
    if (!toleratesTaint(tolerations, taint)) return `node has untolerated taint ${taint.key}=${taint.value ?? ""}:${taint.effect}`;
  }
  const requiredAnti = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  for (const term of requiredAnti) {
    if (countTermMatches(pod, term, node, placed, []) > 0) return "node violates required pod anti-affinity";
  }
  return undefined;
}

/** Pods in the node's topology domain (same value of `term.topologyKey`) that the term selects. */
function countTermMatches(
  pod: V1Pod,
  term: V1PodAffinityTerm,
  node: SchedulableNode,
  placed: readonly PlacedPod[],
  allNodes: readonly SchedulableNode[],
): number {
  const domainValue = node.labels[term.topologyKey];
  if (domainValue == null) return 0;
  const namespaces = term.namespaces != null && term.namespaces.length > 0 ? term.namespaces : [pod.metadata?.namespace ?? "default"];
  const nodesInDomain = new Set<string>([node.name]);
  for (const other of allNodes) {
    if (other.labels[term.topologyKey] === domainValue) nodesInDomain.add(other.name);
  }
  return placed.filter(
    (candidate) =>
      nodesInDomain.has(candidate.nodeName) &&
      namespaces.includes(candidate.namespace) &&
      matchesLabelSelector(term.labelSelector, candidate.labels),
  ).length;
}

export function choosePlacement(pod: V1Pod, nodes: readonly SchedulableNode[], placed: readonly PlacedPod[]): PlacementDecision {
  const failures: string[] = [];
  const feasible: SchedulableNode[] = [];
  for (const node of nodes) {
    const failure = nodeFilterFailure(pod, node, placed);
    if (failure == null) feasible.push(node);
    else failures.push(`${node.name}: ${failure}`);
  }
  if (feasible.length === 0) {
    return { kind: "unschedulable", message: `0/${nodes.length} nodes are available: ${failures.join("; ") || "no nodes registered"}.` };
  }
  const preferred = pod.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  const scored = feasible.map((node) => {
    let score = 0;
    for (const weighted of preferred) {
      if (countTermMatches(pod, weighted.podAffinityTerm, node, placed, nodes) > 0) score -= weighted.weight;
    }
    const load = placed.filter((candidate) => candidate.nodeName === node.name).length;
    return { node, score, load };
  });
  scored.sort((a, b) => b.score - a.score || a.load - b.load || a.node.name.localeCompare(b.node.name));
  const best = scored[0];
  if (best == null) throw new Error("unreachable: feasible nodes exist");
  return { kind: "bind", nodeName: best.node.name, score: best.score };
}
