/**
 * Health policy of ARCHITECTURE §4.3, after Pacemaker's `monitor_policy` (pacemaker-agent.md §2.2–2.3):
 * the healthThreshold selects a level (system = 3, resource = 4, query_processing = 5); every component at or
 * below the level must be present and not in state 3 (error). Warnings (2) and unknown (0) are healthy, a
 * MISSING component is not. A result set that does not arrive within interval + grace is an unresponsive
 * strike — silence is never "healthy by default" — and a refused connection means the process is down.
 */
import type { HealthThreshold } from "@sqlag/api";
import type { DiagnosticsFacts, HealthAssessment } from "./types.js";

export const HEALTH_LEVELS: Readonly<Record<HealthThreshold, number>> = { system: 3, resource: 4, query_processing: 5 };

/** Components checked at each level, most severe first (the first failing one is reported). */
const COMPONENTS_BY_LEVEL: readonly { name: string; level: number }[] = [
  { name: "system", level: 3 },
  { name: "resource", level: 4 },
  { name: "query_processing", level: 5 },
];

const COMPONENT_STATE_ERROR = 3;

export interface HealthPolicy {
  threshold: HealthThreshold;
  intervalMs: number;
  graceMs: number;
}

/** Unresponsive strikes: how many interval windows have passed past interval + grace without a result set. */
export function unresponsiveStrikes(facts: DiagnosticsFacts, policy: HealthPolicy, nowMs: number): number {
  const since = facts.lastResultSetAtMs ?? facts.startedAtMs;
  const silentMs = nowMs - since;
  const firstStrikeAfterMs = policy.intervalMs + policy.graceMs;
  if (silentMs <= firstStrikeAfterMs) return 0;
  return 1 + Math.floor((silentMs - firstStrikeAfterMs) / policy.intervalMs);
}

/** Verdict of the latest component states alone (no timing): undefined when healthy. */
export function failingComponent(components: DiagnosticsFacts["components"], threshold: HealthThreshold): string | undefined {
  const level = HEALTH_LEVELS[threshold];
  for (const component of COMPONENTS_BY_LEVEL) {
    if (component.level > level) continue;
    const row = components.find((c) => c.componentName.toLowerCase() === component.name);
    if (row === undefined) return `component ${component.name} missing from sp_server_diagnostics`;
    if (row.state === COMPONENT_STATE_ERROR) return `component ${component.name} in error state`;
  }
  return undefined;
}

/**
 * The verdict for this cycle. `previousUnhealthySinceMs` carries the start of the current unhealthy streak
 * (kept in AgentMemory) so the failover threshold measures how long it has lasted.
 */
export function assessHealth(
  facts: DiagnosticsFacts,
  policy: HealthPolicy,
  previousUnhealthySinceMs: number | undefined,
  nowMs: number,
): HealthAssessment {
  const strikes = unresponsiveStrikes(facts, policy, nowMs);
  const unhealthy = (detail: string, verdict: "unhealthy" | "unresponsive" | "down", sinceMs: number): HealthAssessment => ({
    verdict,
    unresponsiveStrikes: strikes,
    unhealthySinceMs: previousUnhealthySinceMs ?? sinceMs,
    detail,
  });
  if (facts.consecutiveRefusals > 0 && facts.connectionFailure?.reason === "refused") {
    return unhealthy("local SQL Server refused the connection: process down", "down", facts.connectionFailure.atMs);
  }
  if (strikes > 0) {
    const since = (facts.lastResultSetAtMs ?? facts.startedAtMs) + policy.intervalMs + policy.graceMs;
    return unhealthy(`no sp_server_diagnostics result for ${nowMs - (facts.lastResultSetAtMs ?? facts.startedAtMs)} ms`, "unresponsive", since);
  }
  if (facts.lastResultSetAtMs === undefined) {
    // Still inside the first window: not known yet, and not a reason to act either way.
    return { verdict: "unknown", unresponsiveStrikes: 0 };
  }
  const failing = failingComponent(facts.components, policy.threshold);
  if (failing !== undefined) return unhealthy(failing, "unhealthy", facts.lastResultSetAtMs);
  return { verdict: "healthy", unresponsiveStrikes: 0 };
}
