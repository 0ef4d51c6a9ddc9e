/**
 * Shared by the issue-6 failure specs (sql-crash, switchover, node-loss, api-outage, ...): the listener workload
 * across a failover (writes land on two primaries in turn, so only the invariants are checked, never "every write
 * on one pod"), a step that waits for every synchronous replica to be SYNCHRONIZED, and the fault menu.
 */
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { CoordinationV1Api, type CoreV1Event } from "@kubernetes/client-node";
import { agNames, CONTAINER_AGENT, CONTAINER_MSSQL } from "@sqlag/api";
import { eventually } from "../cluster/namespaces.js";
import { Faults } from "../faults/faults.js";
import { HttpMssqlAdmin } from "../faults/mssql-admin.js";
import { agentPortOf, agentStatus, podsOf, serviceEndpoints, waitForAg, type AgScenario, type AgView } from "../scenarios/ag-scenario.js";
import { reachableAddressOf } from "../kubelet/ip-allocator.js";
import { queryRows } from "../support/sql.js";
import { samplePassword } from "../support/sqlag-fixtures.js";
import { note, step } from "../support/step.js";
import { EndpointSliceRecorder } from "../workload/endpoints.js";
import { assertInvariants, checkInvariants, gatherEvidence } from "../workload/invariants.js";
import { unavailabilityWindows, type WorkloadJournal } from "../workload/journal.js";
import { KeyWriter } from "../workload/writer.js";

export const crName = "mssql-ag";
export const listenerName = "mssql-ag-listener";
export const database = "appdb";

export function faultsOf(scenario: AgScenario): Faults {
  return new Faults(scenario.fixture.kubelet, scenario.fixture.kc);
}

export function podRef(scenario: AgScenario, name: string): { namespace: string; name: string } {
  return { namespace: scenario.fixture.namespace, name };
}

/** Waits until `count` replicas report the database SYNCHRONIZED (and optionally `extra` holds). */
export function waitSynchronized(scenario: AgScenario, count: number, what: string, extra: (view: AgView) => boolean = () => true, timeoutMs = 180_000): Promise<AgView> {
  return step(what, () =>
    waitForAg(scenario, crName, what, (view) => extra(view) && (view.status.databases?.find((db) => db.name === database)?.replicas ?? []).filter((r) => r.synchronizationState === "SYNCHRONIZED").length === count, timeoutMs),
  );
}

/**
 * Waits until `pod`'s own agent reports it SECONDARY with the database SYNCHRONIZED. The CR status alone can be
 * stale for a replica that was frozen or cut off (the primary's DMV row lags), so a rejoin is judged here.
 */
export async function waitRejoined(scenario: AgScenario, pod: string, timeoutMs = 300_000): Promise<void> {
  await step(`${pod} reports itself SECONDARY with ${database} SYNCHRONIZED`, () =>
    eventually(`${pod} rejoined`, async () => {
      const current = (await podsOf(scenario, crName)).find((candidate) => candidate.metadata?.name === pod);
      if (current === undefined) return undefined;
      const status = await agentStatus(current).catch(() => undefined);
      return status?.role === "SECONDARY" && status.databases.some((db) => db.name === database && db.synchronizationState === "SYNCHRONIZED") ? true : undefined;
    }, { timeoutMs }),
  );
}

export interface FailoverWorkload {
  /** Stops the writer, prints the write-unavailability windows that end after `faultAtMs`, checks the invariants. */
  stop(faultAtMs: number, synchronousSecondaries: readonly string[], podNames: readonly string[]): Promise<WorkloadJournal>;
}

/** The workload across a failover: writes may land on two primaries in turn, so only the invariants are checked. */
export async function startFailoverWorkload(scenario: AgScenario, keyPrefix: string): Promise<FailoverWorkload> {
  const { fixture } = scenario;
  const password = samplePassword();
  await step(`create table kv in ${database} through the rw listener`, async () => {
    const [endpoint] = await serviceEndpoints(scenario, listenerName);
    if (endpoint === undefined) throw new Error("the rw listener has no endpoint");
    await queryRows({ address: endpoint.address, port: endpoint.port, userName: "sa", password }, `USE [${database}]; IF OBJECT_ID('kv') IS NULL CREATE TABLE kv (k nvarchar(64) PRIMARY KEY, v nvarchar(4000))`);
  });
  const recorder = new EndpointSliceRecorder(fixture.kc, fixture.namespace, listenerName);
  await recorder.start();
  const writer = new KeyWriter({ kubeConfig: fixture.kc, namespace: fixture.namespace, serviceName: listenerName, database, userName: "sa", password, keyPrefix: `${keyPrefix}-${Date.now()}`, retryDelayMs: 100, writeIntervalMs: 10 });
  writer.start();
  return {
    stop: async (faultAtMs, synchronousSecondaries, podNames) => {
      const journal = await writer.stop();
      const samples = await recorder.stop();
      const availability = unavailabilityWindows(journal, 500);
      const around = availability.windows.filter((w) => w.toMs >= faultAtMs);
      note(
        `workload: ${journal.acknowledged.length} writes acknowledged (on ${[...new Set(journal.acknowledged.map((w) => w.podName))].join(", ")}), ${journal.failures.length} failures; ` +
          `write-unavailability after the fault: ${around.map((w) => `${(w.durationMs / 1000).toFixed(2)} s`).join(", ") || "none over 0.5 s"}`,
      );
      expect(journal.acknowledged.length, "writes acknowledged through the rw Service").to.be.greaterThan(0);
      await step("invariant checker passes (one writer, no lost writes, listener on the writer)", async () => {
        const instances = podNames.map((pod) => new HttpMssqlAdmin(pod, fixture.kubelet.pod(fixture.namespace, pod)?.container(CONTAINER_MSSQL)?.adminPort ?? 0));
        const gather = () => gatherEvidence({ journal, database, instances, synchronousSecondaries, listenerSamples: samples });
        const evidence = await eventually("the invariants hold", async () => {
          const gathered = await gather();
          return checkInvariants(gathered).ok ? gathered : undefined;
        }, { timeoutMs: 30_000 }).catch(gather);
        assertInvariants(checkInvariants(evidence));
      });
      return journal;
    },
  };
}


// ---- recovery and agent-crash helpers (append-only) --------------------------------------------------------

/** mssql-sim's `GET /v1/instances/:name` summary with the fields the recovery specs read. */
export interface InstanceSummary {
  readonly name: string;
  readonly state: string;
  readonly ags: readonly { name: string; role: string; pendingRole?: string | null; writable: boolean; latch41104?: boolean; sequenceNumber?: string | number }[];
}

/** The admin port of the pod's CURRENT mssql process (a restarted container gets a new one). */
function currentAdminPort(scenario: AgScenario, pod: string): number {
  const adminPort = scenario.fixture.kubelet.pod(scenario.fixture.namespace, pod)?.container(CONTAINER_MSSQL)?.adminPort;
  if (adminPort === undefined) throw new Error(`pod ${pod} has no mssql container with an admin port`);
  return adminPort;
}

async function adminCall(scenario: AgScenario, pod: string, method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${currentAdminPort(scenario, pod)}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: method === "POST" ? JSON.stringify(body ?? {}) : undefined,
    signal: AbortSignal.timeout(3_000),
  });
  if (!response.ok) throw new Error(`mssql-sim admin ${method} ${path} on ${pod}: HTTP ${response.status}`);
  return response.json();
}

export async function instanceSummary(scenario: AgScenario, pod: string): Promise<InstanceSummary> {
  return (await adminCall(scenario, pod, "GET", `/v1/instances/${encodeURIComponent(pod)}`)) as InstanceSummary;
}

/** Switches mssql-sim's field quirks of the pod's current process (`POST /v1/quirks`); returns the quirks now in force. */
export async function setSimQuirks(scenario: AgScenario, pod: string, quirks: { latch41104?: boolean; bilateralTransportCache?: boolean }): Promise<Record<string, boolean>> {
  const answer = (await adminCall(scenario, pod, "POST", "/v1/quirks", quirks)) as { quirks?: Record<string, boolean> };
  return answer.quirks ?? {};
}

/** The pod's agent log lines (the file survives agent restarts: every incarnation appends to it). */
export function agentLogLines(scenario: AgScenario, pod: string): string[] {
  const logPath = scenario.fixture.kubelet.pod(scenario.fixture.namespace, pod)?.container(CONTAINER_AGENT)?.logPath;
  if (logPath === undefined) return [];
  try {
    return readFileSync(logPath, "utf8").split("\n").filter((line) => line !== "");
  } catch {
    return [];
  }
}

/** Wall-clock time of a JSON log line (winston `timestamp`), or NaN. */
export function logLineTimeMs(line: string): number {
  return Date.parse(/"timestamp":"([^"]+)"/.exec(line)?.[1] ?? "");
}

/** The value of one sample of the pod agent's /metrics, e.g. `sqlag_agent_recovery_actions_total{action="restart_endpoint"}`; 0 when absent. */
export async function agentMetricValue(scenario: AgScenario, pod: string, sample: string): Promise<number> {
  const current = (await podsOf(scenario, crName)).find((candidate) => candidate.metadata?.name === pod);
  if (current === undefined) throw new Error(`pod ${pod} not found`);
  const url = `http://${reachableAddressOf(current.status?.podIP ?? "")}:${agentPortOf(current)}/metrics`;
  const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const text = await response.text();
  for (const line of text.split("\n")) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return 0;
}

/** Events of the namespace whose reason is `reason` (e.g. the agents' ActionFailed Warnings). */
export async function eventsWithReason(scenario: AgScenario, reason: string): Promise<CoreV1Event[]> {
  const list = await scenario.fixture.core.listNamespacedEvent({ namespace: scenario.fixture.namespace });
  return list.items.filter((event) => event.reason === reason);
}

/** The AG's `<cr>-primary` Lease: holder and epoch (leaseTransitions). */
export async function primaryLease(scenario: AgScenario): Promise<{ holder: string; epoch: number; renewTimeMs: number }> {
  const lease = await scenario.fixture.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: agNames.lease(crName), namespace: scenario.fixture.namespace });
  const renewTime: unknown = lease.spec?.renewTime;
  const renewTimeMs = renewTime instanceof Date ? renewTime.getTime() : Date.parse(String(renewTime ?? ""));
  return { holder: lease.spec?.holderIdentity ?? "", epoch: lease.spec?.leaseTransitions ?? 0, renewTimeMs };
}

/** First wall-clock time each observed state of one replica was seen (e.g. `latch41104`, `stuck:resolving`, `agent:SECONDARY`). */
export interface ReplicaWatch {
  /** When `key` was first seen so far (undefined: not yet). */
  seenAtMs(key: string): number | undefined;
  stop(): Promise<Map<string, number>>;
}

/**
 * Samples one replica every `intervalMs` — its mssql-sim summary (role, writable, latch41104; through the current
 * process's admin port) and its agent's /v1/status (role, stuckKind) — and records when each state was first seen.
 * The 41104 latch lives for seconds only (until the endpoint restart), so it has to be watched, not read once.
 */
export function watchReplica(scenario: AgScenario, pod: string, intervalMs = 200): ReplicaWatch {
  const firstSeen = new Map<string, number>();
  const see = (key: string): void => {
    if (!firstSeen.has(key)) firstSeen.set(key, Date.now());
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all([
        instanceSummary(scenario, pod)
          .then((summary) => {
            const ag = summary.ags[0];
            see(`sql:${summary.state}`);
            if (ag === undefined) return;
            see(`sql:${ag.role}`);
            if (ag.writable) see("sql:writable");
            else see("sql:not-writable");
            if (ag.latch41104 === true) see("latch41104");
          })
          .catch(() => see("sql:unreachable")),
        podsOf(scenario, crName)
          .then(async (pods) => {
            const current = pods.find((candidate) => candidate.metadata?.name === pod);
            if (current === undefined) return;
            const status = await agentStatus(current);
            see(`agent:${status.role}`);
            if (status.stuckKind !== undefined) see(`stuck:${status.stuckKind}`);
            if (status.stuckGaveUp === true) see("stuck:gave-up");
          })
          .catch(() => see("agent:unreachable")),
      ]);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    seenAtMs: (key) => firstSeen.get(key),
    stop: async () => {
      running = false;
      await loop;
      return firstSeen;
    },
  };
}

/** Seconds from `fromMs` to a recorded state, for notes ("never" when it was not seen). */
export function secondsAfter(firstSeen: ReadonlyMap<string, number>, key: string, fromMs: number): string {
  const atMs = firstSeen.get(key);
  return atMs === undefined ? "never" : `${((atMs - fromMs) / 1000).toFixed(1)} s`;
}
