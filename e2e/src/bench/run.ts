#!/usr/bin/env node
/**
 * npm run bench [-- --runs N] [--only sql-crash,switchover,...] [--resources 200] [--out bench/results]
 *
 * Measures, reports, never asserts: controller time to reconcile N AG resources (control plane + controller only,
 * measured first), then on a 3-node fake-kubelet cluster with the operator installed from manifests/install and
 * manifests/samples/ag-3sync.yaml: bootstrap time, steady-state API requests / agent RSS / CPU, and each failure
 * scenario K times with the workload and the invariant checker. Anything that cannot run is reported as
 * "not run: <reason>". Prints a table and writes bench/results/<timestamp>.json.
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { agNames } from "@sqlag/api";
import { Lab, AgNotRunningError } from "../playground/lab.js";
import { repoPath } from "../support/manifests.js";
import { measureControllerScale, type ControllerScaleResult } from "./controller-scale.js";
import { defaultTimingSettings, scenarioIds, type MetricId, type ScenarioId } from "./figures.js";
import { buildRow, renderSources, renderTable, writeReport, type BenchRow, type Measurement } from "./report.js";
import { ensureKvTable, runScenarioOnce, waitForRecovery, type ScenarioContext, type ScenarioRunResult } from "./scenarios.js";
import { summarize } from "./stats.js";
import { lastSqlServingMs, measureSteadyState, type SteadyStateResult } from "./steady-state.js";

const steadyStateIds = ["bootstrap", "api-requests", "agent-rss", "agent-cpu"] as const;
const selectable = ["controller-200", "steady-state", ...scenarioIds] as const;
type Selectable = (typeof selectable)[number];

const startedWallMs = Date.now();
function progress(line: string): void {
  process.stderr.write(`[bench +${((Date.now() - startedWallMs) / 1000).toFixed(1)}s] ${line}\n`);
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "5" },
      only: { type: "string" },
      resources: { type: "string", default: "200" },
      out: { type: "string", default: "bench/results" },
      "steady-window": { type: "string", default: "60" },
      sample: { type: "string", default: "manifests/samples/ag-3sync.yaml" },
    },
  });
  const runs = Number(values.runs);
  const resources = Number(values.resources);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  if (!Number.isInteger(resources) || resources < 1) throw new Error(`--resources must be a positive integer, got ${values.resources}`);
  const only = values.only === undefined ? [...selectable] : values.only.split(",").map((item) => item.trim());
  for (const item of only) {
    if (!(selectable as readonly string[]).includes(item)) throw new Error(`--only: unknown "${item}"; choose from ${selectable.join(", ")}`);
  }
  return { runs, resources, only: new Set(only as Selectable[]), out: values.out, steadyWindowMs: Number(values["steady-window"]) * 1000, sample: values.sample };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const startedAt = new Date().toISOString();
  const measurements = new Map<MetricId, Measurement>();
  const details: Record<string, unknown> = {};
  const notRun = (ids: readonly MetricId[], reason: string) => ids.forEach((id) => measurements.set(id, { kind: "not-run", reason }));
  const wantedScenarios = scenarioIds.filter((id) => options.only.has(id));
  const wantsCluster = options.only.has("steady-state") || wantedScenarios.length > 0;

  const runName = `bench-${startedAt.replace(/[:.]/g, "-")}`;
  const auditLogPath = repoPath(".sqlag-run", runName, "audit.log");
  let lab: Lab | undefined;
  let stopping = false;
  const stopLab = async () => {
    if (stopping) return;
    stopping = true;
    await lab?.stop();
  };
  process.on("SIGINT", () => void stopLab().then(() => process.exit(130)));

  try {
    lab = await Lab.start({
      progress,
      namespace: "default",
      runName,
      auditLogPath,
      beforeKubelet: async (controlPlane) => {
        if (!options.only.has("controller-200")) return notRun(["controller-200"], "not selected (--only)");
        progress(`controller: ${options.resources} AG resources → all Reconciled`);
        try {
          const result: ControllerScaleResult = await measureControllerScale({ controlPlane, resourceCount: options.resources, workDir: repoPath(".sqlag-run", runName), progress });
          details["controllerScale"] = result;
          measurements.set("controller-200", { kind: "value", value: result.allReconciledSeconds, detail: `${result.resourceCount} CRs; creates took ${result.createSeconds.toFixed(1)} s; controller RSS ${result.controllerRssMiB?.toFixed(0) ?? "?"} MiB` });
          progress(`controller: all ${result.resourceCount} Reconciled after ${result.allReconciledSeconds.toFixed(2)} s`);
        } catch (error) {
          notRun(["controller-200"], error instanceof Error ? error.message : String(error));
        }
      },
    });
  } catch (error) {
    const reason = `the test cluster did not start: ${error instanceof Error ? error.message : String(error)}`;
    notRun(["controller-200", ...steadyStateIds, ...scenarioIds, "lost-writes", "overlapping-writers"], reason);
  }

  let timing = defaultTimingSettings;
  if (lab !== undefined && wantsCluster) {
    try {
      await measureAg(lab, options, measurements, details, (value) => (timing = value), notRun, wantedScenarios);
    } catch (error) {
      const reason = error instanceof AgNotRunningError ? error.message.split("\n")[0] ?? error.message : error instanceof Error ? error.message : String(error);
      progress(`AG measurements stopped: ${error instanceof Error ? error.message : String(error)}`);
      for (const id of [...steadyStateIds, ...scenarioIds, "lost-writes", "overlapping-writers"] as const) if (!measurements.has(id)) notRun([id], reason);
    }
  }
  for (const id of [...steadyStateIds, ...scenarioIds, "lost-writes", "overlapping-writers", "controller-200"] as const) if (!measurements.has(id)) notRun([id], "not selected (--only)");
  await stopLab();

  const order: MetricId[] = [...scenarioIds, "lost-writes", "overlapping-writers", "bootstrap", "api-requests", "agent-rss", "agent-cpu", "controller-200"];
  const rows: BenchRow[] = order.map((id) => buildRow(id, measurements.get(id) ?? { kind: "not-run", reason: "not measured" }, timing));
  const report = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
    host: { cpus: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.release()}` },
    runsPerScenario: options.runs,
    timing,
    rows,
    details,
  };
  const filePath = writeReport(path.resolve(repoPath(), options.out), report);
  process.stdout.write(`${renderTable(rows)}\n\nRatios are measured p50 / reference (lower is better). Sources:\n${renderSources(rows)}\n\nwritten: ${path.relative(process.cwd(), filePath)}\n`);
}

async function measureAg(
  lab: Lab,
  options: ReturnType<typeof parseOptions>,
  measurements: Map<MetricId, Measurement>,
  details: Record<string, unknown>,
  setTiming: (timing: typeof defaultTimingSettings) => void,
  notRun: (ids: readonly MetricId[], reason: string) => void,
  wantedScenarios: readonly ScenarioId[],
): Promise<void> {
  progress("waiting for the controller Deployment");
  await lab.waitForControllerReady();
  progress(`applying ${options.sample}`);
  const applied = await lab.applySample(options.sample);
  const timing = applied.spec.timing ?? {};
  setTiming({
    leaseDurationSeconds: timing.leaseDurationSeconds ?? defaultTimingSettings.leaseDurationSeconds,
    sqlWriteLeaseSeconds: timing.sqlWriteLeaseSeconds ?? defaultTimingSettings.sqlWriteLeaseSeconds,
    failoverThresholdSeconds: applied.spec.automaticFailover?.failoverThresholdSeconds ?? defaultTimingSettings.failoverThresholdSeconds,
  });
  progress(`waiting for ${applied.name} to reach phase Running`);
  await lab.waitForRunning(applied.name, 240_000);
  const runningAtMs = Date.now();
  const podNames = applied.spec.replicas.map((_, ordinal) => agNames.pod(applied.name, ordinal));
  const servingMs = lastSqlServingMs(lab, podNames);
  if (servingMs !== undefined) {
    measurements.set("bootstrap", { kind: "value", value: (runningAtMs - servingMs) / 1000, detail: "last mssql-sim serving → Running seen, polled every 1 s" });
  } else notRun(["bootstrap"], "no mssql-sim serving line found");
  progress(`${applied.name} is Running`);

  if (options.only.has("steady-state")) {
    progress(`steady state: counting the agents' API requests for ${options.steadyWindowMs / 1000} s`);
    const steady: SteadyStateResult = await measureSteadyState(lab, applied.name, auditPathOf(lab), options.steadyWindowMs);
    details["steadyState"] = steady;
    measurements.set("api-requests", { kind: "value", value: steady.requestsPerMinutePerReplica, detail: `${steady.agentRequests} requests in ${steady.windowSeconds.toFixed(0)} s` });
    const rss = Object.values(steady.agentRssMiB);
    const cpu = Object.values(steady.agentCpuPercent);
    if (rss.length > 0) measurements.set("agent-rss", { kind: "value", value: Math.max(...rss), detail: `max of ${rss.length} agents` });
    if (cpu.length > 0) measurements.set("agent-cpu", { kind: "value", value: Math.max(...cpu), detail: `max of ${cpu.length} agents` });
  } else notRun(["api-requests", "agent-rss", "agent-cpu"], "not selected (--only)");

  const context: ScenarioContext = {
    lab,
    agName: applied.name,
    database: applied.spec.databases?.[0]?.name ?? "appdb",
    listenerService: agNames.listenerService(applied.name, applied.spec.listener?.name),
    progress,
    apiOutageMs: 2 * 15_000,
    resumeBoundMs: 90_000,
  };
  if (wantedScenarios.length > 0) await ensureKvTable(context);
  const allRuns: ScenarioRunResult[] = [];
  for (const scenario of wantedScenarios) {
    const outages: number[] = [];
    let failure: string | undefined;
    for (let run = 1; run <= options.runs; run++) {
      try {
        await waitForRecovery(context, 180_000);
        const result = await runScenarioOnce(context, scenario, run);
        allRuns.push(result);
        outages.push(result.outageSeconds);
        progress(`    ${scenario} #${run}: outage ${result.outageSeconds.toFixed(2)} s, ${result.oldPrimary} → ${result.newPrimary ?? "?"}, lost ${result.lostWrites}, overlaps ${result.overlappingWriters}`);
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
        progress(`    ${scenario} #${run}: ${failure}`);
        break;
      }
    }
    if (outages.length > 0) {
      measurements.set(scenario, { kind: "samples", samples: outages, summary: summarize(outages, scenario) });
    } else notRun([scenario], failure ?? "no run completed");
  }
  details["scenarioRuns"] = allRuns;
  if (allRuns.length > 0) {
    measurements.set("lost-writes", { kind: "value", value: allRuns.reduce((sum, run) => sum + run.lostWrites, 0), detail: `${allRuns.length} runs` });
    measurements.set("overlapping-writers", { kind: "value", value: allRuns.reduce((sum, run) => sum + run.overlappingWriters, 0), detail: `${allRuns.length} runs` });
  }
}

function auditPathOf(lab: Lab): string {
  return path.join(lab.workDir, "audit.log");
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
