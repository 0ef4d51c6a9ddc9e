/**
 * Health monitor of ARCHITECTURE §4.3: a dedicated connection runs `sp_server_diagnostics` in repeat mode and
 * records one result set per interval. It only records facts (when the last result set arrived, its component
 * states, why the connection failed); the pure health policy in core turns a snapshot into a verdict — so "no
 * result set for interval + grace" becomes an unresponsive strike, never "healthy by default".
 */
import type { Clock } from "@sqlag/api";
import type { SqlConnection } from "./connection.js";
import { classifySqlError, SqlUnavailableError } from "./errors.js";
import { mapDiagnosticsRow, type DiagnosticsComponent } from "./mappers.js";
import { serverDiagnostics } from "./statements.js";

export interface DiagnosticsSnapshot {
  /** Monotonic time the monitor started watching (strikes count from here until the first result set). */
  startedAtMs: number;
  lastResultSetAtMs: number | undefined;
  components: readonly DiagnosticsComponent[];
  /** Set while the last connection attempt failed; cleared by the next result set. */
  connectionFailure: { reason: SqlUnavailableError["reason"] | "query"; atMs: number; message: string } | undefined;
  /** Consecutive refused connects: the process is down (it restarts RESOLVING and cannot take writes). */
  consecutiveRefusals: number;
}

export interface DiagnosticsMonitorOptions {
  /** Opens the dedicated connection (credentials are the caller's business). */
  open: (signal?: AbortSignal) => Promise<SqlConnection>;
  intervalSeconds: number;
  clock: Clock;
  /** Wait after a failure before reconnecting. */
  reconnectDelayMs: number;
  onResultSet?: (components: readonly DiagnosticsComponent[]) => void;
  onFailure?: (failure: NonNullable<DiagnosticsSnapshot["connectionFailure"]>) => void;
}

export class DiagnosticsMonitor {
  private snapshotValue: DiagnosticsSnapshot;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: DiagnosticsMonitorOptions) {
    this.snapshotValue = {
      startedAtMs: options.clock.nowMs(),
      lastResultSetAtMs: undefined,
      components: [],
      connectionFailure: undefined,
      consecutiveRefusals: 0,
    };
  }

  snapshot(): DiagnosticsSnapshot {
    return this.snapshotValue;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopController.abort(new Error("diagnostics monitor stopped"));
    await this.loop;
  }

  private async run(): Promise<void> {
    const { clock } = this.options;
    const stop = this.stopController.signal;
    while (!stop.aborted) {
      let connection: SqlConnection | undefined;
      try {
        connection = await this.options.open(stop);
        this.recordConnected();
        await connection.stream(
          serverDiagnostics(this.options.intervalSeconds),
          (rows) => {
            const components = rows.map(mapDiagnosticsRow);
            this.snapshotValue = {
              ...this.snapshotValue,
              lastResultSetAtMs: clock.nowMs(),
              components,
              connectionFailure: undefined,
              consecutiveRefusals: 0,
            };
            this.options.onResultSet?.(components);
          },
          stop,
        );
        if (!stop.aborted) this.recordFailure(new SqlUnavailableError("sp_server_diagnostics stream ended", "socket"));
      } catch (e) {
        if (stop.aborted) break;
        this.recordFailure(classifySqlError(e));
      } finally {
        await connection?.close().catch(() => undefined);
      }
      if (stop.aborted) break;
      await clock.sleep(this.options.reconnectDelayMs, stop).catch(() => undefined);
    }
  }

  /**
   * A login succeeded, so the process is up: the refusals that made the verdict "down" are history. When the
   * process had been refused (not started yet, or restarted), its earlier result sets say nothing about the new
   * process, so the unresponsive window starts again from this login. Without this the verdict stays "down"
   * from the login until the first result set (an interval later), and an agent that started before its SQL
   * Server (the sidecar always does) steps down from the AG it just created.
   */
  private recordConnected(): void {
    if (this.snapshotValue.consecutiveRefusals === 0 && this.snapshotValue.connectionFailure?.reason !== "refused") return;
    this.snapshotValue = {
      ...this.snapshotValue,
      startedAtMs: this.options.clock.nowMs(),
      lastResultSetAtMs: undefined,
      components: [],
      connectionFailure: undefined,
      consecutiveRefusals: 0,
    };
  }

  private recordFailure(error: Error): void {
    const reason: SqlUnavailableError["reason"] | "query" = error instanceof SqlUnavailableError ? error.reason : "query";
    const failure = { reason, atMs: this.options.clock.nowMs(), message: error.message };
    this.snapshotValue = {
      ...this.snapshotValue,
      connectionFailure: failure,
      consecutiveRefusals: reason === "refused" ? this.snapshotValue.consecutiveRefusals + 1 : 0,
    };
    this.options.onFailure?.(failure);
  }
}
