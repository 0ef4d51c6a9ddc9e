/**
 * What each benchmark row is compared with (pure data): our target from issues 5 and 6 (some depend on the AG's
 * timing settings), the best-known peer figure from /work/shared/reference/ha-peers.md §0/§6, and the existing
 * SQL Server operator's published figure from reference/peer-sql-on-k8s-operator.md §6.4. Where the source gives
 * a range, the ratio uses its LOW end (the comparison most favourable to the peer), and the text keeps the range.
 */

export type MetricId =
  | "sql-crash"
  | "graceful-delete"
  | "node-loss"
  | "freeze"
  | "api-outage"
  | "switchover"
  | "lost-writes"
  | "overlapping-writers"
  | "bootstrap"
  | "api-requests"
  | "agent-rss"
  | "agent-cpu"
  | "controller-200";

/** The failure scenarios, in the order the bench runs them. */
export const scenarioIds = ["sql-crash", "graceful-delete", "node-loss", "freeze", "api-outage", "switchover"] as const;
export type ScenarioId = (typeof scenarioIds)[number];

export function isScenarioId(value: string): value is ScenarioId {
  return (scenarioIds as readonly string[]).includes(value);
}

/** The AG timing settings the targets depend on (spec.timing / automaticFailover; ARCHITECTURE §4.11 defaults). */
export interface TimingSettings {
  readonly leaseDurationSeconds: number;
  readonly sqlWriteLeaseSeconds: number;
  readonly failoverThresholdSeconds: number;
}

export const defaultTimingSettings: TimingSettings = { leaseDurationSeconds: 15, sqlWriteLeaseSeconds: 8, failoverThresholdSeconds: 10 };

export interface ReferenceFigure {
  /** The value the ratio divides by, in the metric's unit; undefined when the source gives none. */
  readonly value: number | undefined;
  readonly text: string;
  readonly source: string;
}

export interface MetricDefinition {
  readonly id: MetricId;
  readonly title: string;
  readonly unit: "s" | "count" | "MiB" | "req/min/replica" | "% of one core";
  /** Upper bound we aim for; undefined = no target set by the issues. */
  readonly target: (timing: TimingSettings) => number | undefined;
  readonly targetText: (timing: TimingSettings) => string;
  readonly peer?: ReferenceFigure;
  readonly existingOperator?: ReferenceFigure;
}

const haPeers = "reference/ha-peers.md §0, §6";
const existing = "reference/peer-sql-on-k8s-operator.md §6.4";

export const metricDefinitions: Readonly<Record<MetricId, MetricDefinition>> = {
  "sql-crash": {
    id: "sql-crash",
    title: "SQL process crash → writes resume (s)",
    unit: "s",
    target: () => 5,
    targetText: () => "≤ 5 s (issue 6)",
    peer: { value: 2, text: "KubeDB MSSQL 2–10 s typical (vendor)", source: haPeers },
    existingOperator: { value: 31, text: "role switch ≈ T+31 s (30 s threshold); all synchronized 110–131 s", source: existing },
  },
  "graceful-delete": {
    id: "graceful-delete",
    title: "graceful delete of the primary pod (preStop) (s)",
    unit: "s",
    target: () => 2,
    targetText: () => "≤ 2 s (planned, issue 6)",
    peer: { value: 2, text: "CNPG clean hand-off bounded by retryPeriod 2 s", source: haPeers },
    existingOperator: { value: 6, text: "≈ 6 s with preStop (README); < 3 s outage (LESSONS L39)", source: existing },
  },
  "node-loss": {
    id: "node-loss",
    title: "node loss (no preStop) → writes resume (s)",
    unit: "s",
    target: (t) => t.leaseDurationSeconds + 3,
    targetText: (t) => `≤ leaseDuration + 3 = ${t.leaseDurationSeconds + 3} s (issue 6)`,
    peer: { value: 40, text: "CNPG 40–55 s before failover starts (docs; users 40–80 s); Patroni ≈ 45 s", source: haPeers },
    existingOperator: { value: 31, text: "role switch ≈ T+31 s; end to end 68–139 s (LESSONS L34)", source: existing },
  },
  freeze: {
    id: "freeze",
    title: "frozen primary (SIGSTOP) → writes resume (s)",
    unit: "s",
    target: (t) => t.failoverThresholdSeconds + t.sqlWriteLeaseSeconds + 3,
    targetText: (t) => `≤ failoverThreshold + W + 3 = ${t.failoverThresholdSeconds + t.sqlWriteLeaseSeconds + 3} s (issue 6)`,
    peer: { value: 30, text: "CNPG isolation self-fence ≈ 30 s (docs)", source: haPeers },
    existingOperator: { value: 113, text: "failover at T+113 s (v0.45) / T+135 s (6b3e66c)", source: existing },
  },
  "api-outage": {
    id: "api-outage",
    title: "API server cut from the primary, peers reachable (s)",
    unit: "s",
    target: () => 0,
    targetText: () => "0 s (issue 6)",
    peer: { value: undefined, text: "Patroni failsafe_mode keeps the leader (no figure); CNPG self-fences ≈ 30 s", source: haPeers },
    existingOperator: { value: undefined, text: "no figure; its controller is a single point of failure (§7.2)", source: "reference/peer-sql-on-k8s-operator.md §7.2" },
  },
  switchover: {
    id: "switchover",
    title: "switchover (annotation) write gap (s)",
    unit: "s",
    target: () => 2,
    targetText: () => "≤ 2 s (issue 6)",
    peer: { value: 2, text: "CNPG clean hand-off bounded by retryPeriod 2 s", source: haPeers },
    existingOperator: { value: 1, text: "role switch ≈ 1 s, listener ≈ 2 s, all healthy ≈ 60 s (README timeline)", source: existing },
  },
  "lost-writes": {
    id: "lost-writes",
    title: "acknowledged writes lost (all runs)",
    unit: "count",
    target: () => 0,
    targetText: () => "0",
  },
  "overlapping-writers": {
    id: "overlapping-writers",
    title: "overlapping-writer intervals (all runs)",
    unit: "count",
    target: () => 0,
    targetText: () => "0",
  },
  bootstrap: {
    id: "bootstrap",
    title: "bootstrap after the last SQL instance is ready (s)",
    unit: "s",
    target: () => 5,
    targetText: () => "≤ 5 s (issue 5, simulator timings)",
  },
  "api-requests": {
    id: "api-requests",
    title: "Kubernetes API requests at steady state",
    unit: "req/min/replica",
    target: () => 40,
    targetText: () => "≤ 40 (issue 5)",
    peer: { value: 30, text: "client-go Lease renew every 2 s = 30 PUT/min for the holder alone", source: "reference/ha-peers.md §3, §6" },
  },
  "agent-rss": {
    id: "agent-rss",
    title: "agent resident memory",
    unit: "MiB",
    target: () => 80,
    targetText: () => "≤ 80 MiB (issue 5)",
  },
  "agent-cpu": {
    id: "agent-cpu",
    title: "agent CPU at steady state",
    unit: "% of one core",
    target: () => undefined,
    targetText: () => "— (no target set)",
  },
  "controller-200": {
    id: "controller-200",
    title: "controller: 200 AG resources created → all Reconciled (s)",
    unit: "s",
    target: () => undefined,
    targetText: () => "— (no target set)",
  },
};

/** "0.13×" — measured / reference, lower is better; "—" when either side is missing or the reference is 0. */
export function formatRatio(measured: number | undefined, reference: number | undefined): string {
  if (measured === undefined || reference === undefined || reference === 0 || !Number.isFinite(measured)) return "—";
  const ratio = measured / reference;
  return `${ratio < 0.1 ? ratio.toFixed(3) : ratio.toFixed(2)}×`;
}
