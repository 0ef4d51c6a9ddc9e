/**
 * Standalone mode for `SQLServerInstance` pods (issue 5 item 8): the same diagnostics monitor, readiness,
 * liveness, metrics and /v1/status as an AG agent, with no Lease and no AG. Readiness is decided from a real
 * query answered by SQL Server, never from error text (the existing operator's shell probe passed on "Driver 18").
 */
import type { AgentStatus, Clock, FailsafeAck, PreStopResponse, SequenceReport } from "@sqlag/api";
import { assessHealth } from "../core/index.js";
import type { StandaloneAgentConfig } from "../config.js";
import type { AgentHttpHandlers, Check } from "../http/server.js";
import type { AgentMetrics } from "../http/metrics.js";
import type { DiagnosticsMonitor } from "../sql/diagnostics-monitor.js";
import { SqlUnavailableError } from "../sql/errors.js";
import { ping } from "../sql/statements.js";
import type { SqlQuerier } from "./sql-observer.js";
import type winston from "winston";

export interface StandaloneDeps {
  config: StandaloneAgentConfig;
  clock: Clock;
  sql: SqlQuerier;
  diagnostics: DiagnosticsMonitor;
  metrics: AgentMetrics;
  logger: winston.Logger;
  version: string;
  loopIntervalMs: number;
}

export class StandaloneAgent implements AgentHttpHandlers {
  private reachable: "reachable" | "refused" | "timeout" = "timeout";
  private lastCycleEndedAtMs: number;
  private unhealthySinceMs: number | undefined;
  private verdict: AgentStatus["health"] = "unknown";
  private detail: string | undefined;
  private cycle = 0;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: StandaloneDeps) {
    this.lastCycleEndedAtMs = deps.clock.nowMs();
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopController.abort(new Error("agent stopping"));
    await this.loop;
  }

  private async run(): Promise<void> {
    const { clock, config, metrics, logger } = this.deps;
    const stop = this.stopController.signal;
    while (!stop.aborted) {
      this.cycle += 1;
      const started = clock.nowMs();
      const previous = this.reachable;
      try {
        await this.deps.sql.query(ping, { signal: AbortSignal.timeout(3000) });
        this.reachable = "reachable";
      } catch (e) {
        this.reachable = e instanceof SqlUnavailableError && e.reason === "refused" ? "refused" : "timeout";
      }
      metrics.sqlProbeDuration.observe((clock.nowMs() - started) / 1000);
      const health = assessHealth(
        this.deps.diagnostics.snapshot(),
        { threshold: config.healthThreshold, intervalMs: config.healthCheckIntervalMs, graceMs: 2000 },
        this.unhealthySinceMs,
        clock.nowMs(),
      );
      this.verdict = health.verdict;
      this.detail = health.detail;
      this.unhealthySinceMs = health.unhealthySinceMs;
      metrics.setHealth(health.verdict);
      metrics.setRole(this.reachable === "reachable" ? "primary" : "unknown");
      const reason = this.reachable === "reachable" ? "standalone_serving" : `sql_${this.reachable}`;
      metrics.cycles.inc({ reason });
      if (previous !== this.reachable || this.cycle === 1) logger.info(`Local SQL Server ${this.reachable}`, { reason, health: health.verdict });
      this.lastCycleEndedAtMs = clock.nowMs();
      await clock.sleep(this.deps.loopIntervalMs, stop).catch(() => undefined);
    }
  }

  liveness(): Check {
    const ageMs = this.deps.clock.nowMs() - this.lastCycleEndedAtMs;
    return ageMs <= 10 * this.deps.loopIntervalMs + 5000 ? { ok: true, detail: "loop alive" } : { ok: false, detail: `agent loop stalled for ${Math.round(ageMs)} ms` };
  }

  readiness(): Check {
    if (this.reachable !== "reachable") return { ok: false, detail: `local SQL Server ${this.reachable}` };
    if (this.verdict === "unhealthy" || this.verdict === "down") return { ok: false, detail: this.detail ?? `SQL Server ${this.verdict}` };
    return { ok: true, detail: "SQL Server answers queries" };
  }

  status(): AgentStatus {
    return {
      pod: this.deps.config.podName,
      ag: "",
      mode: "standalone",
      role: "UNKNOWN",
      health: this.verdict,
      ...(this.detail !== undefined ? { healthDetail: this.detail } : {}),
      sqlReachable: this.reachable === "reachable",
      databases: [],
      lastReason: this.reachable === "reachable" ? "standalone_serving" : `sql_${this.reachable}`,
      cycle: this.cycle,
      agentVersion: this.deps.version,
      observedAt: this.deps.clock.wallNow().toISOString(),
    };
  }

  primary(): Check {
    return this.readiness();
  }

  replica(): Check {
    return { ok: false, detail: "a standalone instance has no replicas" };
  }

  async preStop(): Promise<PreStopResponse> {
    return { outcome: "not_primary", durationMs: 0 };
  }

  async failsafe(): Promise<FailsafeAck | undefined> {
    return undefined;
  }

  async sequence(): Promise<SequenceReport> {
    return { pod: this.deps.config.podName, epoch: 0, sequenceNumber: "0", healthy: this.verdict === "healthy" };
  }

  peerToken(): string | undefined {
    return undefined;
  }

  preStopCallers(): readonly string[] {
    return ["127.0.0.1", "::1", ...(this.deps.config.podIp !== undefined ? [this.deps.config.podIp] : [])];
  }

  preStopTimeoutMs(): number {
    return 5000;
  }
}
