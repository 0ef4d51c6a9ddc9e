/**
 * @disruptive Issue 6 on the test cluster: the primary's SQL Server process is frozen (SIGSTOP of the mssql
 * container: sockets stay open, nothing answers) while its agent keeps running. The agent's health monitor
 * gets no sp_server_diagnostics result (unresponsive strikes), the SQL write lease lapses on its own, the agent
 * releases the Lease once fenced, and a synchronous secondary is promoted (issue 6 target: ≤ failoverThreshold
 * + W + 3 s, printed, not asserted). Thawed, the old primary rejoins as a SYNCHRONIZED secondary; invariants hold.
 */
import { agNames, CONTAINER_MSSQL } from "@sqlag/api";
import { applyAndWaitRunning, topologyReplicas, useAgScenario, waitForAg } from "../scenarios/ag-scenario.js";
import { note, reportSpecWallTime, step } from "../support/step.js";
import { crName, database, faultsOf, podRef, startFailoverWorkload, waitRejoined, waitSynchronized } from "./failover-workload.js";

describe("@disruptive freeze: the primary's SQL Server is frozen (SIGSTOP)", function () {
  reportSpecWallTime("freeze");
  const scenario = useAgScenario("freeze");

  it("fences the frozen primary, promotes a synchronous secondary, and the thawed replica rejoins", async function () {
    const replicas = topologyReplicas["three-synchronous"];
    const podNames = replicas.map((_, ordinal) => agNames.pod(crName, ordinal));
    const running = await applyAndWaitRunning(scenario, crName, { replicas, databases: [{ name: database }] });
    const primary = running.status.primaryReplica ?? "";
    await waitSynchronized(scenario, 3, `${database} SYNCHRONIZED on all three replicas`);
    const workload = await startFailoverWorkload(scenario, "freeze");
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const faults = faultsOf(scenario);
    const faultAtMs = Date.now();
    await step(`SIGSTOP the mssql container of ${primary}`, () => faults.freezeContainer(podRef(scenario, primary), CONTAINER_MSSQL));
    const failedOver = await step("another replica is primary", () =>
      waitForAg(scenario, crName, "failover", (view) => view.status.primaryReplica !== undefined && view.status.primaryReplica !== primary, 180_000),
    );
    const newPrimary = failedOver.status.primaryReplica ?? "";
    const timing = running.spec.timing;
    note(`${newPrimary} primary in the status ${((Date.now() - faultAtMs) / 1000).toFixed(1)} s after the freeze (health interval ${timing?.healthCheckIntervalSeconds ?? 5} s, W ${timing?.sqlWriteLeaseSeconds ?? 8} s)`);
    await step(`SIGCONT ${primary}`, () => faults.thawContainer(podRef(scenario, primary), CONTAINER_MSSQL));
    await waitRejoined(scenario, primary);
    await waitSynchronized(scenario, 3, "every synchronous replica SYNCHRONIZED", (view) => view.status.primaryReplica === newPrimary, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await workload.stop(faultAtMs, podNames.filter((pod) => pod !== newPrimary), podNames);
  });
});
