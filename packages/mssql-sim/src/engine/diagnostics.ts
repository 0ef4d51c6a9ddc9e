/**
 * sp_server_diagnostics (tds-and-sqlserver.md B1): @repeat_interval 0 = once, 1–4 = error, ≥ 5 = one result set
 * every n seconds until the client cancels. Component states are injectable (ServerModel.diagnostics).
 */
import type { Column, ColumnType, ResultItem, SqlValue } from "../tds/engine-port.js";
import type { ExecContext } from "./engine.js";
import { Errors } from "./errors.js";

const STATE_NUMBER = { unknown: 0, clean: 1, warning: 2, error: 3 } as const;
const sysname: ColumnType = { kind: "nvarchar", length: 128 };

export const DIAGNOSTICS_COLUMNS: Column[] = [
  { name: "create_time", type: { kind: "datetime" }, nullable: true },
  { name: "component_type", type: sysname, nullable: true },
  { name: "component_name", type: sysname, nullable: true },
  { name: "state", type: { kind: "int" }, nullable: true },
  { name: "state_desc", type: sysname, nullable: true },
  { name: "data", type: { kind: "varchar", length: "max" }, nullable: true }, // B1: documented varchar(max) holding XML text
];

const DATA: Record<string, (state: number) => string> = {
  system: (s) =>
    `<system spinlockBackoffs="0" sickSpinlockType="none" sickSpinlockTypeAfterAv="none" latchWarnings="0" isAccessViolationOccurred="0" writeAccessViolationCount="0" totalDumpRequests="0" intervalDumpRequests="0" nonYieldingTasksReported="${s === 3 ? 1 : 0}" pageFaults="0" systemCpuUtilization="5" sqlCpuUtilization="1" BadPagesDetected="0" BadPagesFixed="0" LastBadPageAddress="0x0"/>`,
  resource: (s) =>
    `<resource lastNotification="RESOURCE_MEMPHYSICAL_HIGH" outOfMemoryExceptions="${s === 3 ? 1 : 0}" isAnyPoolOutOfMemory="${s === 3 ? 1 : 0}" processOutOfMemoryPeriod="0"><memoryReport name="Process/System Counts" unit="Value"/></resource>`,
  query_processing: (s) =>
    `<queryProcessing maxWorkers="512" workersCreated="40" workersIdle="20" tasksCompletedWithinInterval="100" pendingTasks="0" oldestPendingTaskWaitingTime="0" hasUnresolvableDeadlockOccurred="0" hasDeadlockedSchedulersOccurred="${s === 3 ? 1 : 0}" trackingNonYieldingScheduler="0x0"/>`,
  io_subsystem: (s) => `<ioSubsystem ioLatchTimeouts="${s >= 2 ? 1 : 0}" intervalLongIos="0" totalLongIos="0"><longestPendingRequests/></ioSubsystem>`,
  events: () => `<events><session startTime="2026-01-01T00:00:00" droppedEvents="0" largestDroppedEvent="0"><RingBufferTarget truncated="0" processingTime="0" totalEventsProcessed="0" eventCount="0" droppedCount="0" memoryUsed="0"/></session></events>`,
};

function resultSet(ctx: ExecContext): { columns: Column[]; rows: SqlValue[][] } {
  const created = new Date(ctx.model.now());
  const rows: SqlValue[][] = [];
  for (const component of ["system", "resource", "query_processing", "io_subsystem", "events"]) {
    // B1: `events` always reports 0 (unknown).
    const state = component === "events" ? 0 : STATE_NUMBER[ctx.model.diagnostics.get(component) ?? "clean"];
    const desc = ["unknown", "clean", "warning", "error"][state] as string;
    rows.push([created, "instance", component, state, desc, (DATA[component] as (s: number) => string)(state)]);
  }
  for (const ag of ctx.model.ags.values()) {
    const state = ag.role === "RESOLVING" ? 2 : 1;
    rows.push([
      created,
      "alwaysOn:AvailabilityGroup",
      ag.config.name,
      state,
      state === 1 ? "clean" : "warning",
      `<availabilityGroup name="${ag.config.name}" role="${ag.role}" sequenceNumber="${ag.config.sequenceNumber}"/>`,
    ]);
  }
  return { columns: DIAGNOSTICS_COLUMNS, rows };
}

export async function* runDiagnostics(ctx: ExecContext, repeatIntervalSeconds: number): AsyncGenerator<ResultItem> {
  if (repeatIntervalSeconds < 0 || (repeatIntervalSeconds > 0 && repeatIntervalSeconds < 5)) throw Errors.diagnosticsInterval();
  await ctx.model.sleep(ctx.model.timings.diagnosticsFirstResultMs, ctx.signal);
  if (ctx.signal.aborted) return;
  const first = resultSet(ctx);
  yield { kind: "rows", columns: first.columns, rows: first.rows };
  yield { kind: "done", rowCount: first.rows.length };
  if (repeatIntervalSeconds === 0) return;
  for (;;) {
    await ctx.model.sleep(repeatIntervalSeconds * ctx.model.timings.diagnosticsIntervalScale, ctx.signal);
    if (ctx.signal.aborted || !ctx.model.running) return;
    const next = resultSet(ctx);
    yield { kind: "rows", columns: next.columns, rows: next.rows };
    yield { kind: "done", rowCount: next.rows.length };
  }
}
