/**
 * Shared by the issue-6 failure specs (sql-crash, switchover, node-loss, api-outage, ...): the listener workload
 * across a failover (writes land on two primaries in turn, so only the invariants are checked, never "every write
 * on one pod"), a step that waits for every synchronous replica to be SYNCHRONIZED, and the fault menu.
 */
import { expect } from "chai";
import { CONTAINER_MSSQL } from "@sqlag/api";
import { eventually } from "../cluster/namespaces.js";
import { Faults } from "../faults/faults.js";
import { HttpMssqlAdmin } from "../faults/mssql-admin.js";
import { agentStatus, podsOf, serviceEndpoints, waitForAg, type AgScenario, type AgView } from "../scenarios/ag-scenario.js";
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

