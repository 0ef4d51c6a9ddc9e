#!/usr/bin/env node
/**
 * npm run playground [-- --sample <file>] [--scenario failover|switchover|api-outage] [--timeout <s>]
 * npm run playground -- fault <action> [pod]        (talks to a running playground)
 *
 * Starts the test cluster (real etcd/kube-apiserver/kube-controller-manager + the fake kubelet with 3 nodes),
 * installs sqlag from manifests/install, applies the SA password Secret and a sample AG, waits for phase Running
 * and then shows a live status table with a timeline of what changed, until Ctrl-C tears everything down. With
 * --scenario it runs one scripted fault with the workload writing through the rw listener and exits with a
 * summary. If the AG does not reach Running it prints the agents' last reasons and exits non-zero.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { CoreV1Api } from "@kubernetes/client-node";
import { agNames } from "@sqlag/api";
import { testbinsDir } from "../cluster/testbins.js";
import { ensureKvTable, runScenarioOnce, waitForRecovery, type ScenarioContext } from "../bench/scenarios.js";
import type { ScenarioId } from "../bench/figures.js";
import { repoPath } from "../support/manifests.js";
import { ControlServer, faultActions, faultHelp, isFaultAction, sendFault } from "./control.js";
import { AgNotRunningError, Lab, type AgView } from "./lab.js";
import { diffViews, renderStatusTable } from "./view.js";

const runName = "playground";
const socketPath = repoPath(".sqlag-run", "playground.sock");
const demoScenarios: Readonly<Record<string, ScenarioId>> = { failover: "sql-crash", switchover: "switchover", "api-outage": "api-outage" };
const startedMs = Date.now();
const progress = (line: string) => process.stderr.write(`[playground +${((Date.now() - startedMs) / 1000).toFixed(1)}s] ${line}\n`);
/** Events about these kinds go into the timeline (the agents record theirs on the AG and on their own pods). */
const timelineKinds = new Set(["SQLServerAvailabilityGroup", "Pod", "Lease", "StatefulSet"]);
const clock = () => new Date().toISOString().slice(11, 19);

async function faultCommand(positionals: readonly string[]): Promise<number> {
  const [, action, pod] = positionals;
  if (action === undefined || !isFaultAction(action)) {
    process.stderr.write(`usage: npm run playground -- fault <action> [pod]   (default pod: the primary)\n${faultActions.map((name) => `  ${name.padEnd(12)} ${faultHelp[name]}`).join("\n")}\n`);
    return 2;
  }
  try {
    const answer = await sendFault(socketPath, { action, ...(pod !== undefined ? { pod } : {}) });
    process.stdout.write(answer.text);
    return answer.status === 200 ? 0 : 1;
  } catch (error) {
    process.stderr.write(`no playground is running (${socketPath}: ${error instanceof Error ? error.message : String(error)})\n`);
    return 1;
  }
}

function copyPasteCommands(lab: Lab, agName: string): string {
  const kubectl = `${testbinsDir()}/kubectl --kubeconfig ${lab.controlPlane.adminKubeconfigPath}`;
  const fault = "node e2e/dist/playground/cli.js fault";
  return [
    `admin kubeconfig: ${lab.controlPlane.adminKubeconfigPath}`,
    `logs:             ${lab.workDir} (kubelet/pods/<ns>_<pod>/ holds each container's log)`,
    "",
    "Try (from the repository root, in another terminal):",
    `  ${kubectl} get sqlag`,
    `  ${kubectl} get pods -L sqlag.io/role -o wide`,
    `  ${kubectl} annotate sqlag ${agName} sqlag.io/switchover-to=any --overwrite     # planned switchover`,
    `  ${fault} crash          # kill the primary's SQL Server (unplanned failover)`,
    `  ${fault} kill-node      # lose the primary's node (no preStop); later: ${fault} revive-node <pod>`,
    `  ${fault} freeze         # freeze the primary's SQL Server; later: ${fault} thaw <pod>`,
    `  ${fault} cut-api        # cut the primary's agent from the API server; later: ${fault} restore-api <pod>`,
    `  (npm run playground -- fault <action> [pod] works too, after a rebuild check)`,
  ].join("\n");
}

/** New Events in the namespace since `sinceMs` (agents and controller record them), oldest first. */
async function newEvents(lab: Lab, seen: Set<string>, sinceMs: number): Promise<string[]> {
  const list = await lab.kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: lab.namespace }).catch(() => undefined);
  const lines: { atMs: number; text: string }[] = [];
  for (const event of list?.items ?? []) {
    const uid = event.metadata?.uid ?? "";
    const atMs = new Date(event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp ?? 0).getTime();
    if (seen.has(uid) || atMs < sinceMs) continue;
    seen.add(uid);
    if (!timelineKinds.has(event.involvedObject.kind ?? "")) continue;
    lines.push({ atMs, text: `Event ${event.type ?? ""} ${event.involvedObject.kind ?? ""}/${event.involvedObject.name ?? ""} ${event.reason ?? ""}: ${event.message ?? ""}`.trim() });
  }
  return lines.sort((a, b) => a.atMs - b.atMs).map((line) => line.text);
}

async function liveView(lab: Lab, agName: string, control: ControlServer | undefined, stopped: () => boolean): Promise<void> {
  const timeline: string[] = [];
  const seenEvents = new Set<string>();
  const eventsSinceMs = startedMs;
  let previous: AgView | undefined;
  let lastRendered = "";
  const tty = process.stdout.isTTY === true;
  const header = `${copyPasteCommands(lab, agName)}\n${control !== undefined ? `control socket: ${control.socketPath}\n` : ""}Ctrl-C tears everything down.\n`;
  // Without a terminal to redraw, the commands are printed once and each change is appended below.
  if (!tty) process.stdout.write(`${header}\n`);
  while (!stopped()) {
    const view = await lab.view(agName).catch(() => undefined);
    if (view !== undefined) {
      for (const line of diffViews(previous, view)) timeline.push(`${clock()} ${line}`);
      previous = view;
    }
    for (const line of await newEvents(lab, seenEvents, eventsSinceMs)) timeline.push(`${clock()} ${line}`);
    while (timeline.length > 15) timeline.shift();
    const body = [
      view === undefined ? "(status unavailable)" : renderStatusTable(agName, view),
      "",
      "timeline:",
      ...timeline.map((line) => `  ${line}`),
    ].join("\n");
    if (body !== lastRendered) {
      lastRendered = body;
      process.stdout.write(tty ? `\x1b[2J\x1b[H${header}\n${body}\n` : `\n--- ${clock()} ---\n${body}\n`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      sample: { type: "string", default: "manifests/samples/ag-3sync.yaml" },
      scenario: { type: "string" },
      timeout: { type: "string", default: "240" },
    },
  });
  if (positionals[0] === "fault") return faultCommand(positionals);
  if (positionals.length > 0) {
    process.stderr.write(`unknown command ${positionals[0] ?? ""}; usage: npm run playground [-- --sample <file>] [--scenario failover|switchover|api-outage] | fault <action> [pod]\n`);
    return 2;
  }
  const scenario = values.scenario === undefined ? undefined : demoScenarios[values.scenario];
  if (values.scenario !== undefined && scenario === undefined) {
    process.stderr.write(`--scenario must be one of ${Object.keys(demoScenarios).join(", ")}\n`);
    return 2;
  }

  // A holder, not `let`s: the signal handler must see what has started so far.
  const started: { lab?: Lab; control?: ControlServer } = {};
  let stopping = false;
  const teardown = async () => {
    await started.control?.stop().catch(() => undefined);
    await started.lab?.stop();
  };
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (started.lab === undefined) {
      progress(`${signal}: tearing down as soon as the control plane has started`);
      return;
    }
    progress(`${signal}: tearing down`);
    void teardown().then(() => process.exit(0));
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  const lab = await Lab.start({ progress, namespace: "default", runName });
  started.lab = lab;
  if (stopping) {
    await teardown();
    return 130;
  }
  try {
    progress("waiting for the controller Deployment (runs on the fake kubelet like any pod)");
    await lab.waitForControllerReady();
    progress(`applying manifests/samples/sa-password-secret.yaml and ${values.sample}`);
    const applied = await lab.applySample(values.sample);
    progress(`waiting for ${applied.name} to reach phase Running (up to ${values.timeout} s)`);
    let lastLine = "";
    await lab.waitForRunning(applied.name, Number(values.timeout) * 1000, (view) => {
      const line = `  phase ${view.phase}; ${view.pods.map((pod) => `${pod.pod}:${pod.sqlRole}/${pod.lastReason}`).join(" ") || "no pods yet"}`;
      if (line !== lastLine) progress(line);
      lastLine = line;
    });
    progress(`${applied.name} is Running`);

    if (scenario !== undefined) return await runDemo(lab, applied.name, applied.spec.databases?.[0]?.name ?? "appdb", agNames.listenerService(applied.name, applied.spec.listener?.name), scenario);

    started.control = await ControlServer.start(socketPath, lab, applied.name, (line) => progress(line));
    await liveView(lab, applied.name, started.control, () => stopping);
    return 0;
  } catch (error) {
    if (error instanceof AgNotRunningError) {
      process.stderr.write(`\nThe playground cannot show a working AG yet:\n${error.message}\nLogs are under ${lab.workDir}.\n`);
    } else {
      process.stderr.write(`\nplayground failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    return 1;
  } finally {
    if (!stopping) {
      stopping = true;
      await teardown();
    }
  }
}

async function runDemo(lab: Lab, agName: string, database: string, listenerService: string, scenario: ScenarioId): Promise<number> {
  const context: ScenarioContext = { lab, agName, database, listenerService, progress, apiOutageMs: 30_000, resumeBoundMs: 90_000 };
  await waitForRecovery(context, 120_000);
  await ensureKvTable(context);
  progress(`scenario ${scenario}: the workload writes through ${listenerService}; the fault hits the primary after 3 s`);
  const result = await runScenarioOnce(context, scenario, 1);
  const summary = [
    "",
    `scenario:            ${scenario}`,
    `primary:             ${result.oldPrimary} → ${result.newPrimary ?? "(none labelled)"}`,
    `write outage:        ${result.outageSeconds.toFixed(2)} s (longest gap without an acknowledged write after the fault)`,
    `acknowledged writes: ${result.acknowledged}`,
    `lost writes:         ${result.lostWrites}`,
    `overlapping writers: ${result.overlappingWriters}`,
    `invariants:          ${result.violations.length === 0 ? "OK" : `VIOLATED\n  - ${result.violations.join("\n  - ")}`}`,
    `logs:                ${path.relative(process.cwd(), lab.workDir)}`,
    "",
  ].join("\n");
  process.stdout.write(summary);
  return result.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`playground failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
