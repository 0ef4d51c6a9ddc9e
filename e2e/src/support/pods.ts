/**
 * Pod readers for assertions and for failure messages: when a wait times out, the message must say what the pods
 * were doing (phase, container states, restarts, last termination) instead of only "timed out".
 */
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";

export function podConditionStatus(pod: V1Pod | undefined, type: string): string | undefined {
  return pod?.status?.conditions?.find((condition) => condition.type === type)?.status;
}

export function isPodReady(pod: V1Pod | undefined): boolean {
  return podConditionStatus(pod, "Ready") === "True";
}

/** One line per container: name, state, ready, restarts, last termination reason. */
export function describePod(pod: V1Pod): string {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const containers = statuses.map((status) => {
    const state = status.state?.running != null ? "running" : status.state?.waiting != null ? `waiting(${status.state.waiting.reason ?? ""}: ${status.state.waiting.message ?? ""})` : status.state?.terminated != null ? `terminated(${status.state.terminated.reason ?? ""} ${status.state.terminated.exitCode})` : "unknown";
    const last = status.lastState?.terminated != null ? ` last=${status.lastState.terminated.reason ?? ""}/${status.lastState.terminated.exitCode}` : "";
    return `${status.name}=${state} ready=${status.ready} restarts=${status.restartCount}${last}`;
  });
  return `${pod.metadata?.name ?? "?"} node=${pod.spec?.nodeName ?? "-"} ip=${pod.status?.podIP ?? "-"} phase=${pod.status?.phase ?? "?"} ready=${podConditionStatus(pod, "Ready") ?? "-"} [${containers.join("; ")}]`;
}

export async function describePods(core: CoreV1Api, namespace: string, labelSelector?: string): Promise<string> {
  const pods = await core.listNamespacedPod({ namespace, ...(labelSelector !== undefined ? { labelSelector } : {}) });
  return pods.items.length === 0 ? `(no pods in ${namespace})` : pods.items.map(describePod).join("\n");
}
