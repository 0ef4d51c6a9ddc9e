/**
 * @disruptive Issue 6 on the test cluster: the primary's SQL Server process is killed (SIGKILL of the mssql
 * container; the kubelet restarts it) while the workload writes through the rw listener's EndpointSlices. A
 * synchronous secondary takes over, the listener follows the writer, the old primary rejoins as a SYNCHRONIZED
 * secondary, and the invariant checker (mssql-sim ground truth + the journal + the listener samples) passes.
 * The write-unavailability window is printed (issue 6 target: ≤ 5 s), not asserted.
 */
import { agNames, CONTAINER_MSSQL } from "@sqlag/api";
import { applyAndWaitRunning, topologyReplicas, useAgScenario, waitForAg } from "../scenarios/ag-scenario.js";
import { note, reportSpecWallTime, step } from "../support/step.js";
import { crName, database, faultsOf, podRef, startFailoverWorkload, waitSynchronized } from "./failover-workload.js";

describe("@disruptive sql-crash: the primary's SQL Server process is killed", function () {
  reportSpecWallTime("sql-crash");
  const scenario = useAgScenario("sql-crash");

  it("a synchronous secondary takes over, the old primary rejoins, the invariants hold", async function () {
    const replicas = topologyReplicas["three-synchronous"];
    const podNames = replicas.map((_, ordinal) => agNames.pod(crName, ordinal));
    const running = await applyAndWaitRunning(scenario, crName, { replicas, databases: [{ name: database }] });
    const primary = running.status.primaryReplica ?? "";
    await waitSynchronized(scenario, 3, `${database} SYNCHRONIZED on all three replicas`);
    const workload = await startFailoverWorkload(scenario, "sql-crash");
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const faultAtMs = Date.now();
    await step(`SIGKILL the mssql container of ${primary}`, () => faultsOf(scenario).crashContainer(podRef(scenario, primary), CONTAINER_MSSQL));
    const failedOver = await step("another replica is primary", () =>
      waitForAg(scenario, crName, "failover", (view) => view.status.primaryReplica !== undefined && view.status.primaryReplica !== primary, 120_000),
    );
    const newPrimary = failedOver.status.primaryReplica ?? "";
    note(`${newPrimary} primary in the status ${((Date.now() - faultAtMs) / 1000).toFixed(1)} s after the crash`);
    await waitSynchronized(scenario, 3, `${primary} rejoins and every synchronous replica is SYNCHRONIZED`, (view) => view.status.primaryReplica === newPrimary);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await workload.stop(faultAtMs, podNames.filter((pod) => pod !== newPrimary), podNames);
  });
});
