/**
 * @disruptive Issue 6 on the test cluster: the SQL endpoint link between the primary and one secondary is cut
 * (mssql-sim drops the traffic both ways) while the workload writes through the rw listener. No split brain and
 * no failover: the primary keeps committing with the other synchronous secondary, the cut one falls
 * NOT SYNCHRONIZING; healed, it is SYNCHRONIZED again (bilateral endpoint restart if the stale-transport quirk
 * bites). The invariant checker passes; the longest write pause is printed.
 */
import { expect } from "chai";
import { agNames } from "@sqlag/api";
import { applyAndWaitRunning, topologyReplicas, useAgScenario, waitForAg } from "../scenarios/ag-scenario.js";
import { note, reportSpecWallTime, step } from "../support/step.js";
import { crName, database, faultsOf, podRef, startFailoverWorkload, waitSynchronized } from "./failover-workload.js";

describe("@disruptive partition: endpoint link between the primary and one secondary cut", function () {
  reportSpecWallTime("partition");
  const scenario = useAgScenario("partition");

  it("keeps one writer, marks the cut secondary NOT SYNCHRONIZING and recovers it after the heal", async function () {
    const replicas = topologyReplicas["three-synchronous"];
    const podNames = replicas.map((_, ordinal) => agNames.pod(crName, ordinal));
    const running = await applyAndWaitRunning(scenario, crName, { replicas, databases: [{ name: database }] });
    const primary = running.status.primaryReplica ?? "";
    await waitSynchronized(scenario, 3, `${database} SYNCHRONIZED on all three replicas`);
    const workload = await startFailoverWorkload(scenario, "partition");
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const cut = podNames.find((pod) => pod !== primary) ?? "";
    const faults = faultsOf(scenario);
    const faultAtMs = Date.now();
    await step(`partition the endpoints of ${primary} and ${cut}`, () => faults.partitionSql(podRef(scenario, primary), podRef(scenario, cut)));
    await step(`${cut} NOT SYNCHRONIZING in the status`, () =>
      waitForAg(scenario, crName, "not synchronizing", (view) => view.status.databases?.find((db) => db.name === database)?.replicas.find((r) => r.replica === cut)?.synchronizationState === "NOT SYNCHRONIZING", 120_000),
    );
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const during = await waitForAg(scenario, crName, "still the same primary", () => true, 5_000);
    expect(during.status.primaryReplica, "no failover during the partition").to.equal(primary);
    const healedAtMs = Date.now();
    await step("heal the partition", () => faults.healSql(podRef(scenario, primary), podRef(scenario, cut)));
    await waitSynchronized(scenario, 3, `${cut} SYNCHRONIZED again`, (view) => view.status.primaryReplica === primary, 240_000);
    note(`${cut} SYNCHRONIZED again ${((Date.now() - healedAtMs) / 1000).toFixed(1)} s after the heal`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await workload.stop(faultAtMs, podNames.filter((pod) => pod !== primary), podNames);
  });
});
