/**
 * One failure scenario run against a Running AG in the lab: a workload writes through the rw listener Service,
 * the fault hits the primary, the run ends a few seconds after writes resume (or at a bound), the fault is healed,
 * and the invariant checker reads the simulators' ground truth. The measured outage is the longest gap without an
 * acknowledged write that starts at or after the fault (the workload writes every 10 ms, so a gap above
 * `gapThresholdMs` is unavailability, not pacing).
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Pod } from "@kubernetes/client-node";
import { annotations, API_GROUP, API_VERSION, agNames, CONTAINER_MSSQL, labels, PLURAL_AVAILABILITY_GROUPS } from "@sqlag/api";
import { HttpMssqlAdmin } from "../faults/mssql-admin.js";
import type { Lab } from "../playground/lab.js";
import { queryRows } from "../support/sql.js";
import { samplePassword } from "../support/sqlag-fixtures.js";
import { EndpointSliceRecorder, listServiceSlices, readyEndpoints } from "../workload/endpoints.js";
import { checkInvariants, gatherEvidence } from "../workload/invariants.js";
import { unavailabilityWindows, type WorkloadJournal } from "../workload/journal.js";
import { KeyWriter } from "../workload/writer.js";
import { DiscoveryV1Api } from "@kubernetes/client-node";
import { reachableAddressOf } from "../kubelet/ip-allocator.js";
import type { ScenarioId } from "./figures.js";

export const gapThresholdMs = 250;
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface ScenarioRunResult {
  readonly scenario: ScenarioId;
  readonly run: number;
  readonly oldPrimary: string;
  readonly newPrimary: string | undefined;
  /** Longest write gap from the fault on (0 when no gap exceeded the threshold). */
  readonly outageSeconds: number;
  readonly acknowledged: number;
  readonly lostWrites: number;
  readonly overlappingWriters: number;
  readonly listenerViolations: number;
  readonly violations: readonly string[];
}

export interface ScenarioContext {
  readonly lab: Lab;
  readonly agName: string;
  readonly database: string;
  readonly listenerService: string;
  readonly progress: (line: string) => void;
  /** How long the API outage lasts: longer than leaseDuration, so a wrong failover would have happened. */
  readonly apiOutageMs: number;
  /** Give up waiting for writes to resume after this long (the run then reports its gap as measured so far). */
  readonly resumeBoundMs: number;
}

export async function ensureKvTable(context: ScenarioContext): Promise<void> {
  const slices = await listServiceSlices(context.lab.kc.makeApiClient(DiscoveryV1Api), context.lab.namespace, context.listenerService);
  const [endpoint] = readyEndpoints(slices);
  if (endpoint === undefined) throw new Error(`the rw listener ${context.listenerService} has no ready endpoint`);
  await queryRows(
    { address: reachableAddressOf(endpoint.address), port: endpoint.port, userName: "sa", password: samplePassword() },
    `USE [${context.database}]; IF OBJECT_ID('kv') IS NULL CREATE TABLE kv (k nvarchar(64) PRIMARY KEY, v nvarchar(4000))`,
  );
}

function primaryPodOf(pods: readonly V1Pod[]): V1Pod | undefined {
  return pods.find((pod) => pod.metadata?.labels?.[labels.role] === "primary");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Injects the fault on `primary`; returns the function that heals it (after the measurement). */
async function inject(context: ScenarioContext, scenario: ScenarioId, primary: V1Pod): Promise<() => Promise<void>> {
  const { lab } = context;
  const ref = { namespace: lab.namespace, name: primary.metadata?.name ?? "" };
  switch (scenario) {
    case "sql-crash":
      lab.faults.crashContainer(ref, CONTAINER_MSSQL);
      return async () => undefined;
    case "graceful-delete":
      await lab.faults.deletePod(ref);
      return async () => undefined;
    case "node-loss": {
      const node = lab.faults.nodeOf(ref);
      await lab.faults.killNode(node);
      return async () => {
        await lab.faults.reviveNode(node);
        // The StatefulSet controller only replaces the pod once it is gone; a real cluster's pod GC would do this.
        await lab.faults.forceDeletePod(ref).catch(() => undefined);
      };
    }
    case "freeze":
      lab.faults.freezeContainer(ref, CONTAINER_MSSQL);
      return async () => lab.faults.thawContainer(ref, CONTAINER_MSSQL);
    case "api-outage":
      lab.faults.cutApiAccess(ref, "blackhole");
      return async () => lab.faults.restoreApiAccess(ref);
    case "switchover":
      await lab.kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
        {
          group: API_GROUP,
          version: API_VERSION,
          namespace: lab.namespace,
          plural: PLURAL_AVAILABILITY_GROUPS,
          name: context.agName,
          body: { metadata: { annotations: { [annotations.switchoverTo]: "any" } } },
        },
        mergePatch,
      );
      return async () => undefined;
  }
}

/** The longest gap that ends after `faultAtMs` (a gap in progress at the fault counts from the fault). */
export function outageAfterFault(journal: WorkloadJournal, faultAtMs: number, endMs: number): number {
  const windows = unavailabilityWindows(journal, gapThresholdMs, endMs).windows.filter((window) => window.toMs > faultAtMs);
  return windows.reduce((longest, window) => Math.max(longest, window.toMs - Math.max(window.fromMs, faultAtMs)), 0);
}

export async function runScenarioOnce(context: ScenarioContext, scenario: ScenarioId, run: number): Promise<ScenarioRunResult> {
  const { lab } = context;
  const pods = await lab.pods(context.agName);
  const primary = primaryPodOf(pods);
  if (primary === undefined) throw new Error("no pod is labelled primary");
  const oldPrimary = primary.metadata?.name ?? "";
  const podNames = pods.map((pod) => pod.metadata?.name ?? "");
  const password = samplePassword();
  const recorder = new EndpointSliceRecorder(lab.kc, lab.namespace, context.listenerService);
  await recorder.start();
  const writer = new KeyWriter({
    kubeConfig: lab.kc,
    namespace: lab.namespace,
    serviceName: context.listenerService,
    database: context.database,
    userName: "sa",
    password,
    keyPrefix: `${scenario}-${run}-${Date.now()}`,
    retryDelayMs: 100,
    writeIntervalMs: 10,
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 3_000,
  });
  writer.start();
  await sleep(3_000);
  const faultAtMs = Date.now();
  context.progress(`    ${scenario} #${run}: fault on ${oldPrimary}`);
  const heal = await inject(context, scenario, primary);
  // Writes must resume and keep going for 3 s; an API outage lasts its fixed time whatever happens.
  const boundMs = scenario === "api-outage" ? context.apiOutageMs : context.resumeBoundMs;
  for (;;) {
    await sleep(250);
    const now = Date.now();
    const acknowledged = writer.journal.acknowledged;
    const lastAckMs = acknowledged.at(-1)?.atMs ?? 0;
    const resumedAtMs = acknowledged.find((write) => write.atMs > faultAtMs && (scenario === "api-outage" || write.podName !== oldPrimary || scenario === "sql-crash"))?.atMs;
    if (scenario === "api-outage" ? now - faultAtMs >= boundMs : resumedAtMs !== undefined && now - resumedAtMs >= 3_000 && now - lastAckMs < 1_000) break;
    if (now - faultAtMs >= boundMs) {
      context.progress(`    ${scenario} #${run}: writes did not resume within ${Math.round(boundMs / 1000)} s`);
      break;
    }
  }
  await heal();
  const endMs = Date.now();
  const journal = await writer.stop();
  const samples = await recorder.stop();
  const outageSeconds = outageAfterFault(journal, faultAtMs, endMs) / 1000;
  const instances = podNames.map((pod) => new HttpMssqlAdmin(pod, lab.kubelet.pod(lab.namespace, pod)?.container(CONTAINER_MSSQL)?.adminPort ?? 0));
  const newPrimary = primaryPodOf(await lab.pods(context.agName))?.metadata?.name;
  // Synchronous secondaries must hold every acknowledged key; they catch up asynchronously after the heal, so
  // check the current primary plus the replicas that are up (a crashed old primary is checked once it is back).
  await sleep(2_000);
  const evidence = await gatherEvidence({ journal, database: context.database, instances, synchronousSecondaries: [], listenerSamples: samples });
  const report = checkInvariants(evidence);
  return {
    scenario,
    run,
    oldPrimary,
    newPrimary,
    outageSeconds,
    acknowledged: journal.acknowledged.length,
    lostWrites: report.lostWrites.reduce((sum, lost) => sum + lost.missingKeys.length, 0),
    overlappingWriters: report.concurrentWritable.length,
    listenerViolations: report.listener.samplesWithSeveralPods.length,
    violations: report.violations,
  };
}

/** After a run: the AG is Running again with every pod Ready and a labelled primary (so runs are independent). */
export async function waitForRecovery(context: ScenarioContext, timeoutMs: number): Promise<void> {
  const { lab } = context;
  const deadlineMs = performance.now() + timeoutMs;
  while (performance.now() < deadlineMs) {
    const ag = await lab.readAg(context.agName).catch(() => undefined);
    const pods = await lab.pods(context.agName).catch(() => []);
    const annotationGone = (await lab.kc
      .makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: lab.namespace, plural: PLURAL_AVAILABILITY_GROUPS, name: context.agName })
      .then((object: { metadata?: { annotations?: Record<string, string> } }) => object.metadata?.annotations?.[annotations.switchoverTo] === undefined)
      .catch(() => false)) as boolean;
    const allReady = pods.length === (ag?.spec.replicas.length ?? -1) && pods.every((pod) => pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
    if (ag?.status.phase === "Running" && allReady && primaryPodOf(pods) !== undefined && annotationGone) return;
    await sleep(1_000);
  }
  throw new Error(`the AG did not recover (Running, all ${agNames.statefulSet(context.agName)} pods Ready) within ${Math.round(timeoutMs / 1000)} s`);
}
