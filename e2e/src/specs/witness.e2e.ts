/**
 * @disruptive Issue 6 on the test cluster: two synchronous replicas and a ConfigurationOnly witness report
 * FailoverReady=True, and when the primary's SQL Server is killed the other synchronous replica takes over (the
 * witness's sequence-number report completes the quorum). The witness is never promoted and holds no database.
 * (The no-witness half of scenario 13 is covered on the simulator tier, where the primary can stay down.)
 */
import { expect } from "chai";
import { agNames, CONTAINER_MSSQL } from "@sqlag/api";
import { applyAndWaitRunning, topologyReplicas, useAgScenario, waitForAg } from "../scenarios/ag-scenario.js";
import { note, reportSpecWallTime, step } from "../support/step.js";
import { crName, database, faultsOf, podRef, startFailoverWorkload, waitSynchronized } from "./failover-workload.js";

describe("@disruptive witness: two synchronous replicas and a ConfigurationOnly witness", function () {
  reportSpecWallTime("witness");
  const scenario = useAgScenario("witness");

  it("is FailoverReady and fails over to the other synchronous replica when the primary's SQL Server dies", async function () {
    const replicas = topologyReplicas["two-synchronous-witness"];
    const podNames = replicas.map((_, ordinal) => agNames.pod(crName, ordinal));
    const witness = podNames[replicas.findIndex((r) => r.availabilityMode === "ConfigurationOnly")] ?? "";
    const running = await applyAndWaitRunning(scenario, crName, { replicas, databases: [{ name: database }] });
    const primary = running.status.primaryReplica ?? "";
    expect(primary).to.not.equal(witness);
    await step("FailoverReady=True", () => waitForAg(scenario, crName, "failover ready", (view) => view.status.conditions?.some((c) => c.type === "FailoverReady" && c.status === "True") === true, 60_000));
    await waitSynchronized(scenario, 2, `${database} SYNCHRONIZED on both synchronous replicas`);
    const workload = await startFailoverWorkload(scenario, "witness");
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const faultAtMs = Date.now();
    await step(`SIGKILL the mssql container of ${primary}`, () => faultsOf(scenario).crashContainer(podRef(scenario, primary), CONTAINER_MSSQL));
    const failedOver = await step("the other synchronous replica is primary", () =>
      waitForAg(scenario, crName, "failover", (view) => view.status.primaryReplica !== undefined && view.status.primaryReplica !== primary, 120_000),
    );
    const newPrimary = failedOver.status.primaryReplica ?? "";
    note(`${newPrimary} primary in the status ${((Date.now() - faultAtMs) / 1000).toFixed(1)} s after the crash`);
    expect(newPrimary).to.not.equal(witness);
    await waitSynchronized(scenario, 2, `${primary} rejoins SYNCHRONIZED`, (view) => view.status.primaryReplica === newPrimary, 240_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const synchronous = podNames.filter((pod) => pod !== witness);
    await workload.stop(faultAtMs, synchronous.filter((pod) => pod !== newPrimary), synchronous);
  });
});
