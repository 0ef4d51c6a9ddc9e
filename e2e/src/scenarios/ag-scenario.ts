/**
 * Shared steps for the AG behaviour specs (bootstrap, databases, scale): a namespace with a fake kubelet, sqlag
 * installed, a controller scoped to the namespace, and readers for what the specs assert — the CR's status,
 * the pods' role labels, the listener EndpointSlices, the agents' /v1/status and mssql-sim's ground truth. When
 * a test fails, the tail of every agent log is printed, since that is where an AG that never forms explains why.
 */
import { readFileSync } from "node:fs";
import { DiscoveryV1Api, type KubernetesObject, type V1Pod } from "@kubernetes/client-node";
import {
  agNames,
  CONTAINER_AGENT,
  CONTAINER_MSSQL,
  KIND_AVAILABILITY_GROUP,
  labels,
  type AgentStatus,
  type ReplicaSpec,
  type SQLServerAvailabilityGroupSpec,
  type SQLServerAvailabilityGroupStatus,
} from "@sqlag/api";
import { expect } from "chai";
import { eventually } from "../cluster/namespaces.js";
import { HttpMssqlAdmin } from "../faults/mssql-admin.js";
import { reachableAddressOf } from "../kubelet/ip-allocator.js";
import { useScopedController, type ControllerProcess } from "../support/controller-process.js";
import { SqlagObjects } from "../support/custom-objects.js";
import { ensureSqlagInstalled } from "../support/install.js";
import { kubectl } from "../support/kubectl.js";
import { applyObject } from "../support/manifests.js";
import { describePods } from "../support/pods.js";
import { queryRows } from "../support/sql.js";
import { applySamplePasswordSecret, compatibilityAg, samplePassword } from "../support/sqlag-fixtures.js";
import { useSpecFixture, type SpecFixture } from "../support/spec-fixture.js";
import { note, step } from "../support/step.js";
import { EndpointSliceRecorder, endpointsFromSlices, listServiceSlices, type ServiceEndpoint } from "../workload/endpoints.js";
import { assertInvariants, checkInvariants, gatherEvidence } from "../workload/invariants.js";
import { KeyWriter } from "../workload/writer.js";

export interface AgScenario {
  readonly fixture: SpecFixture;
  readonly controller: () => ControllerProcess;
  readonly objects: () => SqlagObjects;
}

/** How many lines of each agent log a failing test prints. */
const failureLogTailLines = 60;

/** Registers the hooks of an AG spec: namespace + kubelet, sqlag installed, a scoped controller, logs on failure. */
export function useAgScenario(prefix: string): AgScenario {
  const fixture = useSpecFixture(prefix, {
    kubelet: true,
    beforeTeardown: async () => note(`pods at the end:\n${await describePods(fixture.core, fixture.namespace)}`),
  });
  before(async function () {
    await step("install sqlag", () => ensureSqlagInstalled(fixture.kc));
  });
  const controller = useScopedController(fixture);
  let objects: SqlagObjects | undefined;
  afterEach(function () {
    if (this.currentTest?.state !== "failed") return;
    note(`controller log: ${controller.current().logPath}`);
    for (const handle of kubeletPods(fixture)) {
      const agentLog = handle.container(CONTAINER_AGENT)?.logPath;
      if (agentLog === undefined) continue;
      note(`── ${handle.name} agent log (last ${failureLogTailLines} lines, ${agentLog}) ──\n${tail(agentLog, failureLogTailLines)}`);
    }
  });
  return {
    fixture,
    controller: () => controller.current(),
    objects: () => (objects ??= new SqlagObjects(fixture.kc)),
  };
}

function kubeletPods(fixture: SpecFixture) {
  const handles = [];
  for (let ordinal = 0; ordinal < 16; ordinal += 1) {
    for (const cr of crNamesSeen) {
      const handle = fixture.kubelet.pod(fixture.namespace, agNames.pod(cr, ordinal));
      if (handle !== undefined) handles.push(handle);
    }
  }
  return handles;
}

/** CR names applied by this process (so failure dumps know which pods to look for). */
const crNamesSeen = new Set<string>();

function tail(filePath: string, lines: number): string {
  try {
    return readFileSync(filePath, "utf8").split("\n").slice(-lines - 1).join("\n");
  } catch (error) {
    return `(unreadable: ${error instanceof Error ? error.message : String(error)})`;
  }
}

export type AgTopology = "compatibility" | "three-synchronous" | "two-synchronous-witness";

export const topologyReplicas: Record<AgTopology, ReplicaSpec[]> = {
  compatibility: [
    { name: "primary", availabilityMode: "SynchronousCommit", failoverMode: "Automatic" },
    { name: "secondary-1", availabilityMode: "SynchronousCommit", failoverMode: "Automatic", readableSecondary: true },
    { name: "secondary-2", availabilityMode: "AsynchronousCommit", failoverMode: "Manual", readableSecondary: true },
  ],
  "three-synchronous": [
    { name: "replica-0", availabilityMode: "SynchronousCommit", failoverMode: "Automatic" },
    { name: "replica-1", availabilityMode: "SynchronousCommit", failoverMode: "Automatic", readableSecondary: true },
    { name: "replica-2", availabilityMode: "SynchronousCommit", failoverMode: "Automatic", readableSecondary: true },
  ],
  "two-synchronous-witness": [
    { name: "replica-0", availabilityMode: "SynchronousCommit", failoverMode: "Automatic" },
    { name: "replica-1", availabilityMode: "SynchronousCommit", failoverMode: "Automatic" },
    { name: "witness", availabilityMode: "ConfigurationOnly", failoverMode: "Manual" },
  ],
};

/** The compatibility manifest in `namespace`, with its replicas (and any other spec fields) overridden. */
export function agObject(namespace: string, name: string, spec: Partial<SQLServerAvailabilityGroupSpec> = {}): KubernetesObject & { spec: SQLServerAvailabilityGroupSpec } {
  const base = compatibilityAg(namespace, name) as KubernetesObject & { spec: SQLServerAvailabilityGroupSpec };
  return { ...base, spec: { ...base.spec, ...spec } };
}

/** Applies the SA password Secret and the AG (server-side apply, so a later apply with changed fields updates it). */
export async function applyAg(scenario: AgScenario, object: KubernetesObject): Promise<void> {
  crNamesSeen.add(object.metadata?.name ?? "");
  await applySamplePasswordSecret(scenario.fixture.kc, scenario.fixture.namespace);
  await applyObject(scenario.fixture.kc, object);
}

export interface AgView {
  readonly spec: SQLServerAvailabilityGroupSpec;
  readonly status: SQLServerAvailabilityGroupStatus;
  readonly generation: number;
}

export async function readAg(scenario: AgScenario, name: string): Promise<AgView> {
  const object = await scenario.objects().read(scenario.fixture.namespace, KIND_AVAILABILITY_GROUP, name);
  return {
    spec: object.spec as SQLServerAvailabilityGroupSpec,
    status: (object.status ?? {}) as SQLServerAvailabilityGroupStatus,
    generation: object.metadata?.generation ?? 0,
  };
}

export async function waitForAg(scenario: AgScenario, name: string, what: string, accept: (view: AgView) => boolean, timeoutMs = 180_000): Promise<AgView> {
  let last: AgView | undefined;
  try {
    return await eventually(
      what,
      async () => {
        last = await readAg(scenario, name);
        return accept(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    );
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; last status: ${JSON.stringify(last?.status ?? null)}`, { cause: error });
  }
}

export function podsOf(scenario: AgScenario, name: string): Promise<V1Pod[]> {
  return scenario.fixture.core
    .listNamespacedPod({ namespace: scenario.fixture.namespace, labelSelector: `${labels.cluster}=${name}` })
    .then((list) => list.items.sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "")));
}

export function roleLabelOf(pod: V1Pod): string | undefined {
  return pod.metadata?.labels?.[labels.role];
}

/** The agent's HTTP port from the pod spec (the sidecar's first containerPort). */
export function agentPortOf(pod: V1Pod): number {
  return pod.spec?.initContainers?.find((container) => container.name === CONTAINER_AGENT)?.ports?.[0]?.containerPort ?? 8080;
}

export async function agentStatus(pod: V1Pod): Promise<AgentStatus> {
  const url = `http://${reachableAddressOf(pod.status?.podIP ?? "")}:${agentPortOf(pod)}/v1/status`;
  const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as AgentStatus;
}

/** mssql-sim's `GET /v1/instances/:name` summary: the ground truth of one instance. */
export interface InstanceTruth {
  readonly name: string;
  readonly state: string;
  readonly ags: readonly { name: string; role: string; writable: boolean; sequenceNumber?: string | number }[];
}

function adminPortOf(scenario: AgScenario, pod: string): number {
  const adminPort = scenario.fixture.kubelet.pod(scenario.fixture.namespace, pod)?.container(CONTAINER_MSSQL)?.adminPort;
  if (adminPort === undefined) throw new Error(`pod ${pod} has no running mssql container with an admin port`);
  return adminPort;
}

async function adminGet(scenario: AgScenario, pod: string, path: string): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${adminPortOf(scenario, pod)}${path}`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`mssql-sim admin ${path} on ${pod}: HTTP ${response.status}`);
  return response.json();
}

export async function instanceTruth(scenario: AgScenario, pod: string): Promise<InstanceTruth> {
  return (await adminGet(scenario, pod, `/v1/instances/${encodeURIComponent(pod)}`)) as InstanceTruth;
}

/** Ready endpoints of a Service, translated to addresses this process can reach. */
export async function serviceEndpoints(scenario: AgScenario, serviceName: string): Promise<ServiceEndpoint[]> {
  const slices = await listServiceSlices(scenario.fixture.kc.makeApiClient(DiscoveryV1Api), scenario.fixture.namespace, serviceName);
  return endpointsFromSlices(slices).map((endpoint) => ({ ...endpoint, address: reachableAddressOf(endpoint.address) }));
}

/** The wall-clock time of the last `"event":"serving"` line across the pods' mssql logs (bootstrap's start line). */
export function lastServingMs(scenario: AgScenario, pods: readonly string[]): number | undefined {
  let latest: number | undefined;
  for (const pod of pods) {
    const logPath = scenario.fixture.kubelet.pod(scenario.fixture.namespace, pod)?.container(CONTAINER_MSSQL)?.logPath;
    if (logPath === undefined) continue;
    let text: string;
    try {
      text = readFileSync(logPath, "utf8");
    } catch {
      continue;
    }
    for (const match of text.matchAll(/^\{"ts":"([^"]+)","event":"serving"/gm)) {
      const atMs = Date.parse(match[1] ?? "");
      if (Number.isFinite(atMs) && (latest === undefined || atMs > latest)) latest = atMs;
    }
  }
  return latest;
}

/** Resident set size (KiB) of each pod's agent process, from `ps`. */
export function agentRssKiB(scenario: AgScenario, pods: readonly string[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const pod of pods) {
    const pid = scenario.fixture.kubelet.pod(scenario.fixture.namespace, pod)?.container(CONTAINER_AGENT)?.pid;
    if (pid === undefined) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (match !== null) sizes.set(pod, Number(match[1]));
    } catch {
      // The process ended between the lookup and the read.
    }
  }
  return sizes;
}

export interface WorkloadTarget {
  readonly listenerName: string;
  readonly database: string;
  readonly keyPrefix: string;
}

export interface WorkloadEvidenceScope {
  readonly primary: string;
  /** Instances that must hold every acknowledged key besides the primary. */
  readonly synchronousSecondaries: readonly string[];
  /** Every instance whose writable intervals count (all pods the AG had during the run). */
  readonly podNames: readonly string[];
}

export interface WorkloadCheck extends WorkloadTarget, WorkloadEvidenceScope {
  readonly writeForMs?: number;
}

export interface RunningWorkload {
  /** Stops the writer and the listener recorder, prints the journal summary and asserts the invariants. */
  stopAndCheck(scope: WorkloadEvidenceScope): Promise<void>;
}

/** Creates table kv through the rw listener, then starts the writer and the EndpointSlice recorder. */
export async function startWorkload(scenario: AgScenario, target: WorkloadTarget): Promise<RunningWorkload> {
  const { fixture } = scenario;
  const { listenerName, database } = target;
  const password = samplePassword();
  await step(`create table kv in ${database} through the rw listener`, async () => {
    const [endpoint] = await serviceEndpoints(scenario, listenerName);
    if (endpoint === undefined) throw new Error("the rw listener has no endpoint");
    await queryRows({ address: endpoint.address, port: endpoint.port, userName: "sa", password }, `USE [${database}]; IF OBJECT_ID('kv') IS NULL CREATE TABLE kv (k nvarchar(64) PRIMARY KEY, v nvarchar(4000))`);
  });
  const recorder = new EndpointSliceRecorder(fixture.kc, fixture.namespace, listenerName);
  await recorder.start();
  const writer = new KeyWriter({ kubeConfig: fixture.kc, namespace: fixture.namespace, serviceName: listenerName, database, userName: "sa", password, keyPrefix: `${target.keyPrefix}-${Date.now()}`, retryDelayMs: 100, writeIntervalMs: 10 });
  writer.start();
  return {
    stopAndCheck: async (scope) => {
      const stopRequestedAtMs = Date.now();
      const journal = await writer.stop();
      const samples = await recorder.stop();
      // stop() closes the connection under an in-flight INSERT; that one ambiguous failure is the harness's.
      const failuresWhileRunning = journal.failures.filter((failure) => failure.atMs < stopRequestedAtMs);
      const first = failuresWhileRunning[0];
      note(
        `workload: ${journal.acknowledged.length} writes acknowledged, ${failuresWhileRunning.length} failures while running${first !== undefined ? ` (first: ${first.stage} ${first.error})` : ""}, ${journal.failures.length - failuresWhileRunning.length} at stop`,
      );
      expect(journal.acknowledged.length, "writes acknowledged through the rw Service").to.be.greaterThan(0);
      expect(new Set(journal.acknowledged.map((write) => write.podName)), "every write went to the primary").to.deep.equal(new Set([scope.primary]));
      await step("invariant checker passes (one writer, no lost writes, listener on the writer)", async () => {
        const instances = scope.podNames.map((pod) => new HttpMssqlAdmin(pod, fixture.kubelet.pod(fixture.namespace, pod)?.container(CONTAINER_MSSQL)?.adminPort ?? 0));
        const gather = () => gatherEvidence({ journal, database, instances, synchronousSecondaries: scope.synchronousSecondaries, listenerSamples: samples });
        // Synchronous secondaries harden before the commit is acknowledged, but their kv view may lag a poll.
        const evidence = await eventually("the invariants hold", async () => {
          const gathered = await gather();
          return checkInvariants(gathered).ok ? gathered : undefined;
        }, { timeoutMs: 15_000 }).catch(gather);
        assertInvariants(checkInvariants(evidence));
      });
    },
  };
}

/** Writes through the rw Service for a few seconds and checks the invariants. */
export async function writeThroughListenerAndCheckInvariants(scenario: AgScenario, check: WorkloadCheck): Promise<void> {
  const workload = await startWorkload(scenario, check);
  await new Promise((resolve) => setTimeout(resolve, check.writeForMs ?? 5_000));
  await workload.stopAndCheck(check);
}

/** Statements mssql-sim executed on `pod` with their times (wall clock ms), failed ones excluded. */
export async function statementsWithTimesOn(scenario: AgScenario, pod: string): Promise<{ atMs: number; text: string }[]> {
  const body = (await adminGet(scenario, pod, `/v1/instances/${encodeURIComponent(pod)}/statements`)) as { statements: { atMs: number; text: string; error?: unknown }[] };
  return body.statements.filter((statement) => statement.error == null).map(({ atMs, text }) => ({ atMs, text }));
}

/** Applies the AG and waits for phase Running with a primary; prints the time it took. */
export async function applyAndWaitRunning(scenario: AgScenario, name: string, spec: Partial<SQLServerAvailabilityGroupSpec>): Promise<AgView> {
  const appliedAtMs = Date.now();
  await step(`apply AG ${name} (${(spec.replicas ?? []).map((replica) => replica.availabilityMode ?? "?").join(", ")})`, () => applyAg(scenario, agObject(scenario.fixture.namespace, name, spec)));
  const view = await step("phase Running with a primary", () =>
    waitForAg(scenario, name, "phase Running", (candidate) => candidate.status.phase === "Running" && candidate.status.primaryReplica !== undefined && candidate.status.initializationComplete === true, 240_000),
  );
  note(`applied→Running ${((Date.now() - appliedAtMs) / 1000).toFixed(1)} s, primary ${view.status.primaryReplica ?? "?"}`);
  return view;
}

/** Runs one batch as sa on a pod's SQL Server (through its published pod IP, translated). */
export async function sqlOnPod(pod: V1Pod, sqlText: string): Promise<unknown[][]> {
  return queryRows({ address: reachableAddressOf(pod.status?.podIP ?? ""), port: 1433, userName: "sa", password: samplePassword() }, sqlText);
}

/** Names of the replicas in the AG as the primary's own catalog lists them (sys.availability_replicas). */
export async function replicasOnPrimary(primary: V1Pod): Promise<string[]> {
  const rows = await sqlOnPod(primary, "SELECT replica_server_name FROM sys.availability_replicas");
  return rows.map((row) => String(row[0])).sort();
}

/**
 * Requests the API server dispatched per APF flow schema, from its /metrics. ServiceAccount clients (the agents,
 * and the scoped controller, which runs with its ServiceAccount token) fall into the "service-accounts" schema;
 * the kubelet and the control plane's own components do not.
 */
export function dispatchedRequestsByFlowSchema(scenario: AgScenario): Map<string, number> {
  const text = kubectl(["get", "--raw", "/metrics"], { kubeconfigPath: scenario.fixture.controlPlane.adminKubeconfigPath });
  const totals = new Map<string, number>();
  for (const match of text.matchAll(/^apiserver_flowcontrol_dispatched_requests_total\{([^}]*)\}\s+([0-9.e+]+)$/gm)) {
    const schema = /flow_schema="([^"]*)"/.exec(match[1] ?? "")?.[1] ?? "?";
    totals.set(schema, (totals.get(schema) ?? 0) + Number(match[2]));
  }
  return totals;
}

/** Prints ServiceAccount API requests per minute per agent over `windowMs` of steady state. */
export async function measureSteadyStateApiRequests(scenario: AgScenario, agentCount: number, windowMs = 60_000): Promise<void> {
  const before = dispatchedRequestsByFlowSchema(scenario);
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = dispatchedRequestsByFlowSchema(scenario);
  const deltas = [...after].map(([schema, total]) => [schema, total - (before.get(schema) ?? 0)] as const).filter(([, delta]) => delta > 0);
  const serviceAccounts = deltas.find(([schema]) => schema === "service-accounts")?.[1] ?? 0;
  const perMinute = (serviceAccounts * 60_000) / windowMs;
  note(`API requests in ${windowMs / 1000} s by flow schema: ${deltas.map(([schema, delta]) => `${schema}=${delta}`).join(", ") || "none"}`);
  note(`steady state: ${perMinute.toFixed(0)} ServiceAccount requests/min (${agentCount} agents + the scoped controller) ≈ ${(perMinute / agentCount).toFixed(1)} per agent per minute (upper bound)`);
}
