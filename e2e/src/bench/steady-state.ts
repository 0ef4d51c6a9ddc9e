/**
 * Steady-state costs of a Running AG: Kubernetes API requests per minute per agent (counted from the apiserver's
 * audit log by the agents' ServiceAccount user name), agent RSS and CPU (from /proc of the processes the fake
 * kubelet started), and bootstrap time (last mssql-sim "serving" line → phase Running first observed).
 */
import { readFileSync, statSync } from "node:fs";
import { agNames, CONTAINER_AGENT, CONTAINER_MSSQL } from "@sqlag/api";
import type { Lab } from "../playground/lab.js";
import { processCpuSeconds, processRssMiB } from "./proc.js";

export interface SteadyStateResult {
  readonly windowSeconds: number;
  readonly agentRequests: number;
  readonly requestsPerMinutePerReplica: number;
  /** Verb and resource of the counted requests, for the note ("update leases": 90, …). */
  readonly requestsByVerbResource: Record<string, number>;
  readonly agentRssMiB: Record<string, number>;
  /** CPU seconds used over the window / window seconds, in % of one core. */
  readonly agentCpuPercent: Record<string, number>;
}

interface AuditEvent {
  readonly user?: { readonly username?: string };
  readonly verb?: string;
  readonly objectRef?: { readonly resource?: string; readonly subresource?: string };
}

/** Counts audit events (JSON lines) made by `username`, grouped by "verb resource[/subresource]". */
export function countAuditRequests(lines: readonly string[], username: string): { total: number; byVerbResource: Record<string, number> } {
  const byVerbResource: Record<string, number> = {};
  let total = 0;
  for (const line of lines) {
    if (line.trim() === "") continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      continue;
    }
    if (event.user?.username !== username) continue;
    total++;
    const key = `${event.verb ?? "?"} ${event.objectRef?.resource ?? "?"}${event.objectRef?.subresource !== undefined ? `/${event.objectRef.subresource}` : ""}`;
    byVerbResource[key] = (byVerbResource[key] ?? 0) + 1;
  }
  return { total, byVerbResource };
}

function fileSize(filePath: string): number {
  try {
    return statSync(filePath).size;
  } catch {
    return 0;
  }
}

export async function measureSteadyState(lab: Lab, agName: string, auditLogPath: string, windowMs: number): Promise<SteadyStateResult> {
  const pods = (await lab.pods(agName)).map((pod) => pod.metadata?.name ?? "");
  const agentPid = (pod: string) => lab.kubelet.pod(lab.namespace, pod)?.container(CONTAINER_AGENT)?.pid;
  const cpuBefore = new Map(pods.map((pod) => [pod, processCpuSeconds(agentPid(pod) ?? -1)]));
  const offset = fileSize(auditLogPath);
  const startedMs = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  // The audit backend batches for up to 1 s; wait for it so the window's last requests are in the file.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const windowSeconds = (performance.now() - startedMs - 2_000) / 1000;
  const text = readFileSync(auditLogPath).subarray(offset).toString("utf8");
  const username = `system:serviceaccount:${lab.namespace}:${agNames.serviceAccount(agName)}`;
  const { total, byVerbResource } = countAuditRequests(text.split("\n"), username);
  const agentRssMiB: Record<string, number> = {};
  const agentCpuPercent: Record<string, number> = {};
  for (const pod of pods) {
    const pid = agentPid(pod);
    if (pid === undefined) continue;
    const rss = processRssMiB(pid);
    if (rss !== undefined) agentRssMiB[pod] = rss;
    const before = cpuBefore.get(pod);
    const after = processCpuSeconds(pid);
    if (before !== undefined && after !== undefined) agentCpuPercent[pod] = ((after - before) / windowSeconds) * 100;
  }
  return {
    windowSeconds,
    agentRequests: total,
    requestsPerMinutePerReplica: pods.length === 0 ? 0 : total / (windowSeconds / 60) / pods.length,
    requestsByVerbResource: byVerbResource,
    agentRssMiB,
    agentCpuPercent,
  };
}

/** Wall-clock ms of the last `"event":"serving"` line across the pods' mssql-sim logs (the last SQL instance ready). */
export function lastSqlServingMs(lab: Lab, pods: readonly string[]): number | undefined {
  let latest: number | undefined;
  for (const pod of pods) {
    const logPath = lab.kubelet.pod(lab.namespace, pod)?.container(CONTAINER_MSSQL)?.logPath;
    if (logPath === undefined) continue;
    let text: string;
    try {
      text = readFileSync(logPath, "utf8");
    } catch {
      continue;
    }
    for (const match of text.matchAll(/^\{"ts":"([^"]+)","event":"serving"/gm)) {
      const atMs = Date.parse(match[1] ?? "");
      if (Number.isFinite(atMs) && (latest === undefined || atMs > latest)) latest = atMs;
    }
  }
  return latest;
}
