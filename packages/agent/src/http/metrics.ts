/**
 * Agent metrics (ARCHITECTURE §4.12, CONVENTIONS 13): own Registry, `sqlag_agent_` prefix, base units,
 * `_total` counters, 0/1 gauges over bounded label sets. Database names are bounded by spec.databases.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

const ROLES = ["primary", "secondary", "resolving", "unknown"] as const;
const VERDICTS = ["healthy", "unhealthy", "unresponsive", "down", "unknown"] as const;

export class AgentMetrics {
  readonly registry: Registry;
  readonly role: Gauge<"role">;
  readonly isLeaseHolder: Gauge;
  readonly health: Gauge<"verdict">;
  readonly sequenceNumber: Gauge;
  readonly databaseSynchronized: Gauge<"database" | "state">;
  readonly logSendQueueBytes: Gauge<"database">;
  readonly redoQueueBytes: Gauge<"database">;
  readonly failovers: Counter<"result">;
  readonly failoverDuration: Histogram;
  readonly switchovers: Counter<"result">;
  readonly switchoverDuration: Histogram;
  readonly leaseRenewDuration: Histogram;
  readonly leaseRenewFailures: Counter;
  readonly lastSuccessfulRenew: Gauge;
  readonly sqlWriteLeaseRenewals: Counter<"result">;
  readonly cycles: Counter<"reason">;
  readonly cycleDuration: Histogram;
  readonly sqlProbeDuration: Histogram;
  readonly recoveryActions: Counter<"action">;
  readonly unexpectedErrors: Counter;
  readonly buildInfo: Gauge<"version">;

  constructor(version: string, registry = new Registry()) {
    this.registry = registry;
    const r = [registry];
    this.role = new Gauge({ name: "sqlag_agent_role", help: "1 for the local replica's current role, 0 for the others.", labelNames: ["role"], registers: r });
    this.isLeaseHolder = new Gauge({ name: "sqlag_agent_is_lease_holder", help: "1 while this agent holds the primary Lease.", registers: r });
    this.health = new Gauge({ name: "sqlag_agent_health", help: "1 for the current health verdict of the local SQL Server.", labelNames: ["verdict"], registers: r });
    this.sequenceNumber = new Gauge({ name: "sqlag_agent_sequence_number", help: "sys.availability_groups.sequence_number of the local replica (precision limited to 2^53).", registers: r });
    this.databaseSynchronized = new Gauge({
      name: "sqlag_agent_database_synchronization_state",
      help: "1 for the local synchronization state of each AG database.",
      labelNames: ["database", "state"],
      registers: r,
    });
    this.logSendQueueBytes = new Gauge({ name: "sqlag_agent_log_send_queue_bytes", help: "Log not yet sent to this secondary.", labelNames: ["database"], registers: r });
    this.redoQueueBytes = new Gauge({ name: "sqlag_agent_redo_queue_bytes", help: "Log received but not yet redone.", labelNames: ["database"], registers: r });
    const durationBuckets = [0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60];
    this.failovers = new Counter({ name: "sqlag_agent_failovers_total", help: "Unplanned failovers attempted by this agent.", labelNames: ["result"], registers: r });
    this.failoverDuration = new Histogram({ name: "sqlag_agent_failover_duration_seconds", help: "From lease claim to local PRIMARY.", buckets: durationBuckets, registers: r });
    this.switchovers = new Counter({ name: "sqlag_agent_switchovers_total", help: "Planned failovers handled by this agent.", labelNames: ["result"], registers: r });
    this.switchoverDuration = new Histogram({ name: "sqlag_agent_switchover_duration_seconds", help: "From hand-over to PRIMARY on the target.", buckets: durationBuckets, registers: r });
    this.leaseRenewDuration = new Histogram({
      name: "sqlag_agent_lease_renew_duration_seconds",
      help: "Latency of Kubernetes Lease renewals.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.leaseRenewFailures = new Counter({ name: "sqlag_agent_lease_renew_failures_total", help: "Failed Kubernetes Lease renewals.", registers: r });
    this.lastSuccessfulRenew = new Gauge({ name: "sqlag_agent_last_successful_renew_timestamp_seconds", help: "Wall time of the last successful Lease renewal.", registers: r });
    this.sqlWriteLeaseRenewals = new Counter({ name: "sqlag_agent_sql_write_lease_renewals_total", help: "SQL write-lease renewals by result.", labelNames: ["result"], registers: r });
    this.cycles = new Counter({ name: "sqlag_agent_cycles_total", help: "Agent loop cycles by outcome reason code.", labelNames: ["reason"], registers: r });
    this.cycleDuration = new Histogram({ name: "sqlag_agent_cycle_duration_seconds", help: "Duration of one observe-decide-act cycle.", buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5], registers: r });
    this.sqlProbeDuration = new Histogram({ name: "sqlag_agent_sql_probe_duration_seconds", help: "Duration of the local SQL observation queries.", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: r });
    this.recoveryActions = new Counter({ name: "sqlag_agent_recovery_actions_total", help: "Recovery actions (set_role_secondary, restart_endpoint, …).", labelNames: ["action"], registers: r });
    this.unexpectedErrors = new Counter({ name: "sqlag_agent_unexpected_errors_total", help: "Errors caught at the loop boundary that had no specific handling.", registers: r });
    this.buildInfo = new Gauge({ name: "sqlag_build_info", help: "Build information.", labelNames: ["version"], registers: r });
    this.buildInfo.set({ version }, 1);
  }

  setRole(role: string): void {
    const current = role.toLowerCase();
    for (const r of ROLES) this.role.set({ role: r }, r === current ? 1 : 0);
  }

  setHealth(verdict: string): void {
    for (const v of VERDICTS) this.health.set({ verdict: v }, v === verdict ? 1 : 0);
  }

  setDatabaseStates(states: readonly { name: string; synchronizationState: string; logSendQueueKb?: number; redoQueueKb?: number }[]): void {
    this.databaseSynchronized.reset();
    this.logSendQueueBytes.reset();
    this.redoQueueBytes.reset();
    for (const db of states) {
      this.databaseSynchronized.set({ database: db.name, state: db.synchronizationState.toLowerCase().replace(/ /g, "_") }, 1);
      if (db.logSendQueueKb !== undefined) this.logSendQueueBytes.set({ database: db.name }, db.logSendQueueKb * 1024);
      if (db.redoQueueKb !== undefined) this.redoQueueBytes.set({ database: db.name }, db.redoQueueKb * 1024);
    }
  }
}
