/**
 * Controller metrics (CONVENTIONS 13): own Registry passed in, `sqlag_controller_` prefix, bounded labels
 * (kind ∈ {availabilitygroup, instance}, result ∈ ReconcileResult).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ReconcileResult } from "./reconcile/reconcile.js";

export type ReconcileKind = "availabilitygroup" | "instance";

export interface ControllerMetrics {
  observeReconcile(kind: ReconcileKind, result: ReconcileResult | "unexpected_error", durationSeconds: number): void;
  setLeader(isLeader: boolean): void;
}

export interface ControllerMetricsSources {
  queueDepth: () => number;
  informerHealth: () => { informer: string; synced: boolean; healthy: boolean }[];
}

export function createControllerMetrics(registry: Registry, sources: ControllerMetricsSources, build: { version: string; commit: string }): ControllerMetrics {
  const reconcileTotal = new Counter({
    name: "sqlag_controller_reconcile_total",
    help: "Reconciles by kind and result.",
    labelNames: ["kind", "result"] as const,
    registers: [registry],
  });
  const reconcileDuration = new Histogram({
    name: "sqlag_controller_reconcile_duration_seconds",
    help: "Duration of one reconcile, including API calls.",
    labelNames: ["kind"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: "sqlag_controller_queue_depth",
    help: "Keys waiting in the work queue.",
    registers: [registry],
    collect() {
      this.set(sources.queueDepth());
    },
  });
  const isLeader = new Gauge({
    name: "sqlag_controller_is_leader",
    help: "1 while this replica holds the controller leader-election Lease.",
    registers: [registry],
  });
  isLeader.set(0);
  new Gauge({
    name: "sqlag_controller_informer_synced",
    help: "1 once the informer's cache has synced.",
    labelNames: ["informer"] as const,
    registers: [registry],
    collect() {
      for (const i of sources.informerHealth()) this.set({ informer: i.informer }, i.synced ? 1 : 0);
    },
  });
  new Gauge({
    name: "sqlag_controller_informer_healthy",
    help: "0 when the informer has been unable to watch for longer than the threshold.",
    labelNames: ["informer"] as const,
    registers: [registry],
    collect() {
      for (const i of sources.informerHealth()) this.set({ informer: i.informer }, i.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: "sqlag_build_info",
    help: "Build of the running binary (value is always 1).",
    labelNames: ["component", "version", "commit"] as const,
    registers: [registry],
  }).set({ component: "controller", version: build.version, commit: build.commit }, 1);

  return {
    observeReconcile(kind, result, durationSeconds) {
      reconcileTotal.inc({ kind, result });
      reconcileDuration.observe({ kind }, durationSeconds);
    },
    setLeader(leader) {
      isLeader.set(leader ? 1 : 0);
    },
  };
}
