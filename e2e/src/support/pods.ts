/**
 * Pod readers for assertions and for failure messages: when a wait times out, the message must say what the pods
 * were doing (phase, container states, restarts, last termination) instead of only "timed out".
 */
import { readFileSync } from "node:fs";
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

/** What the fake kubelet itself knows about a pod's containers; the API view alone cannot tell a crash loop from a lost status patch. */
export interface KubeletPodView {
  pod(namespace: string, name: string): { readonly containers: readonly { readonly name: string; readonly running: boolean; readonly restartCount: number; readonly logPath: string }[] } | undefined;
}

function logTail(logPath: string, lineCount: number): string {
  try {
    return readFileSync(logPath, "utf8").trimEnd().split("\n").slice(-lineCount).map((line) => `        ${line.slice(0, 300)}`).join("\n");
  } catch {
    return "        (no log)";
  }
}

/**
 * A diagnosis for a pod that did not become Ready: the API view, the kubelet's view, and the tail of each
 * container log. When the kubelet runs containers the API does not show, its status patches are being rejected.
 */
export async function diagnosePod(core: CoreV1Api, kubelet: KubeletPodView, namespace: string, name: string): Promise<string> {
  let apiView: V1Pod | undefined;
  try {
    apiView = await core.readNamespacedPod({ name, namespace });
  } catch {
    apiView = undefined;
  }
  const lines = [`API: ${apiView !== undefined ? describePod(apiView) : "(pod not found)"}`];
  const handle = kubelet.pod(namespace, name);
  if (handle === undefined) {
    lines.push("kubelet: not running this pod");
  } else {
    lines.push(`kubelet: ${handle.containers.map((container) => `${container.name} running=${container.running} restarts=${container.restartCount}`).join("; ")}`);
    const apiStatuses = (apiView?.status?.initContainerStatuses?.length ?? 0) + (apiView?.status?.containerStatuses?.length ?? 0);
    if (handle.containers.some((container) => container.running) && apiStatuses === 0) {
      lines.push("!! the kubelet runs containers but the API shows no container status: the kubelet's pod status patches are being rejected");
    }
    for (const container of handle.containers) lines.push(`    ${container.name} log tail:\n${logTail(container.logPath, 6)}`);
  }
  return lines.join("\n");
}
