/**
 * Rendering the playground's live status (pure): the table of pods and the timeline entries that follow from two
 * consecutive views. Kept apart from the I/O so the format is unit-tested.
 */
import type { AgView } from "./lab.js";

function pad(cells: readonly string[][]): string[] {
  const widths = (cells[0] ?? []).map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)));
  return cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd());
}

export function formatLag(lagKiB: number | undefined): string {
  if (lagKiB === undefined) return "-";
  return lagKiB < 1024 ? `${lagKiB.toFixed(0)} KiB` : `${(lagKiB / 1024).toFixed(1)} MiB`;
}

export function renderStatusTable(agName: string, view: AgView): string {
  const rows = [
    ["POD", "NODE", "READY", "ROLE LABEL", "SQL ROLE", "SYNCHRONIZATION", "LAG", "AGENT REASON"],
    ...view.pods.map((pod) => [pod.pod, pod.node, pod.ready ? "yes" : "no", pod.roleLabel, pod.sqlRole, pod.synchronization, formatLag(pod.lagKiB), pod.lastReason]),
  ];
  return [
    `AG ${agName}: phase ${view.phase}, primary ${view.primaryReplica}, lease holder ${view.leaseHolder}${view.leaseTransitions !== undefined ? ` (epoch ${view.leaseTransitions})` : ""}`,
    `listener endpoint(s): ${view.listenerEndpoints.length > 0 ? view.listenerEndpoints.join(", ") : "(none ready)"}`,
    `conditions: ${view.conditions.length > 0 ? view.conditions.join(" ") : "(none yet)"}`,
    "",
    ...pad(rows),
  ].join("\n");
}

/** What changed between two views, as timeline lines (role labels, SQL roles, lease holder, phase, listener). */
export function diffViews(before: AgView | undefined, after: AgView): string[] {
  const lines: string[] = [];
  if (before === undefined) return [`phase ${after.phase}, lease holder ${after.leaseHolder}`];
  if (before.phase !== after.phase) lines.push(`phase ${before.phase} → ${after.phase}`);
  if (before.leaseHolder !== after.leaseHolder) lines.push(`lease holder ${before.leaseHolder} → ${after.leaseHolder}${after.leaseTransitions !== undefined ? ` (epoch ${after.leaseTransitions})` : ""}`);
  if (before.primaryReplica !== after.primaryReplica) lines.push(`status.primaryReplica ${before.primaryReplica} → ${after.primaryReplica}`);
  for (const pod of after.pods) {
    const previous = before.pods.find((candidate) => candidate.pod === pod.pod);
    if (previous === undefined) {
      lines.push(`${pod.pod} appeared on ${pod.node}`);
      continue;
    }
    if (previous.roleLabel !== pod.roleLabel) lines.push(`${pod.pod} role label ${previous.roleLabel} → ${pod.roleLabel}`);
    if (previous.sqlRole !== pod.sqlRole) lines.push(`${pod.pod} SQL role ${previous.sqlRole} → ${pod.sqlRole}`);
    if (previous.ready !== pod.ready) lines.push(`${pod.pod} ${pod.ready ? "Ready" : "not Ready"}`);
  }
  for (const pod of before.pods) if (!after.pods.some((candidate) => candidate.pod === pod.pod)) lines.push(`${pod.pod} gone`);
  if (before.listenerEndpoints.join() !== after.listenerEndpoints.join()) lines.push(`listener → ${after.listenerEndpoints.join(", ") || "(none ready)"}`);
  return lines;
}
