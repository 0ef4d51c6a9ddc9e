/**
 * @disruptive Issue 6 on the test cluster: a whole-cluster cold restart. Every container of every AG pod (SQL
 * Server and agent) is killed at once, without preStop, and the kubelet restarts them. Exactly one replica
 * becomes primary again — one with the highest sequence number — and no acknowledged write is lost; the
 * invariant checker passes. The time until writes resume is printed.
 */
import { expect } from "chai";
import { agNames, CONTAINER_AGENT, CONTAINER_MSSQL } from "@sqlag/api";
import { agentStatus, applyAndWaitRunning, instanceTruth, podsOf, topologyReplicas, useAgScenario, waitForAg } from "../scenarios/ag-scenario.js";
import { eventually } from "../cluster/namespaces.js";
import { note, reportSpecWallTime, step } from "../support/step.js";
import { crName, database, faultsOf, podRef, startFailoverWorkload, waitSynchronized } from "./failover-workload.js";

describe("@disruptive cold-restart: every SQL Server and agent of the AG killed at once", function () {
  reportSpecWallTime("cold-restart");
  const scenario = useAgScenario("cold-restart");

  it("comes back with one primary holding the highest sequence number and every acknowledged write", async function () {
    const replicas = topologyReplicas["three-synchronous"];
    const podNames = replicas.map((_, ordinal) => agNames.pod(crName, ordinal));
    await applyAndWaitRunning(scenario, crName, { replicas, databases: [{ name: database }] });
    await waitSynchronized(scenario, 3, `${database} SYNCHRONIZED on all three replicas`);
    const workload = await startFailoverWorkload(scenario, "cold-restart");
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const sequenceBefore = new Map<string, bigint>();
    for (const pod of podNames) {
      const truth = await instanceTruth(scenario, pod);
      sequenceBefore.set(pod, BigInt(String(truth.ags[0]?.sequenceNumber ?? 0)));
    }
    const max = [...sequenceBefore.values()].reduce((a, b) => (a > b ? a : b));
    note(`sequence numbers before: ${[...sequenceBefore].map(([pod, n]) => `${pod}=${n}`).join(", ")}`);

    const cyclesBefore = new Map<string, number>();
    for (const pod of await podsOf(scenario, crName)) {
      const status = await agentStatus(pod);
      cyclesBefore.set(status.pod, status.cycle);
    }
    const faults = faultsOf(scenario);
    const faultAtMs = Date.now();
    await step("SIGKILL every mssql and agent container", () => {
      for (const pod of podNames) {
        faults.crashContainer(podRef(scenario, pod), CONTAINER_MSSQL);
        faults.crashContainer(podRef(scenario, pod), CONTAINER_AGENT);
      }
    });
    // The CR status is stale right after the kill; judge the restart by the agents themselves: every agent is a
    // new process (its cycle counter restarted), one reports PRIMARY, the others SECONDARY with appdb SYNCHRONIZED.
    const restarted = new Set<string>();
    const primary = await step("one primary again and every other replica SYNCHRONIZED (new agent processes)", () =>
      eventually("cold restart converged", async () => {
        const pods = await podsOf(scenario, crName);
        const statuses = await Promise.all(pods.map((pod) => agentStatus(pod).catch(() => undefined)));
        for (const s of statuses) if (s !== undefined && s.cycle < (cyclesBefore.get(s.pod) ?? 0)) restarted.add(s.pod);
        if (statuses.length !== podNames.length || restarted.size !== podNames.length) return undefined;
        const primaries = statuses.filter((s) => s?.role === "PRIMARY");
        const synced = statuses.filter((s) => s?.role === "SECONDARY" && s.databases.some((db) => db.name === database && db.synchronizationState === "SYNCHRONIZED"));
        return primaries.length === 1 && synced.length === podNames.length - 1 ? primaries[0]?.pod : undefined;
      }, { timeoutMs: 300_000, intervalMs: 250 }),
    );
    note(`primary after the cold restart: ${primary} (${((Date.now() - faultAtMs) / 1000).toFixed(1)} s after the kill)`);
    expect(sequenceBefore.get(primary), `${primary} had the highest sequence number`).to.equal(max);
    await waitForAg(scenario, crName, "status names the primary", (view) => view.status.primaryReplica === primary, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await workload.stop(faultAtMs, podNames.filter((pod) => pod !== primary), podNames);
  });
});
