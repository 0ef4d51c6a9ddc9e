/**
 * Issue 6, scenario 13 on the simulator tier (ARCHITECTURE §4.5 "consequence to surface"): with exactly two
 * synchronous replicas and no configuration-only replica, losing the primary must NOT lead to an automatic
 * failover (the quorum gate cannot be met without data-loss risk) and FailoverReady=False says why; with a
 * ConfigurationOnly witness the same fault fails over. Workload through the listener, invariants at the end.
 */
import { expect } from "chai";
import { HARNESS_TIMING_SECONDS, eventually } from "../testing/sim-harness.js";
import { conditionOf, healthyAg, reportOutage, scenarioManifest, sleep, useScenario } from "../testing/scenario-kit.js";

describe("issue 6 scenarios: two synchronous replicas without and with a witness (mssql-sim)", function () {
  this.timeout(240_000);
  const scenario = useScenario(this);

  it("13a. two synchronous replicas (third asynchronous), no witness: the primary dies, NO automatic failover, FailoverReady=False explains why", async () => {
    const { harness, primary } = await scenario.bootstrap({
      cr: scenarioManifest((cr) => {
        cr.spec.replicas[2] = { ...cr.spec.replicas[2]!, availabilityMode: "AsynchronousCommit", failoverMode: "Manual" };
      }),
    });
    const failoverReady = await eventually("FailoverReady=False", () => {
      const c = conditionOf(harness, "FailoverReady");
      return c?.status === "False" ? c : undefined;
    }, 15_000);
    console.log(`      FailoverReady=False ${failoverReady.reason}: ${failoverReady.message}`);
    expect(failoverReady.reason).to.equal("TwoSynchronousReplicasWithoutWitness");
    expect(failoverReady.message).to.match(/ConfigurationOnly/);

    const { writer } = await scenario.startWorkload("no-witness");

    const faultAtMs = performance.now();
    await harness.sim.crash(primary);
    const survivor = harness.cluster.podNames().find((p) => p !== primary && p !== "mssql-ag-2")!;
    // Long enough for the Lease to expire twice over and for the gate to be tried repeatedly.
    const reasons = new Set<string>();
    const watchUntil = performance.now() + 2.5 * HARNESS_TIMING_SECONDS.leaseDurationSeconds * 1000;
    while (performance.now() < watchUntil) {
      expect(harness.sim.writableNow(), "no replica may become writable without the quorum").to.deep.equal([]);
      reasons.add(harness.agent(survivor).loop.status().lastReason);
      await sleep(100);
    }
    console.log(`      ${survivor} reasons while ${primary} was down: ${[...reasons].join(", ")}`);
    expect([...reasons].some((r) => r === "waiting_for_quorum" || r === "quorum_short_releasing"), "the survivor ran the quorum gate and stopped there").to.equal(true);
    expect(writer.acks.filter((a) => a.atMs > faultAtMs), "no write acknowledged while no replica may be primary").to.deep.equal([]);

    // The primary's SQL Server returns: with both synchronous replicas reporting, the gate passes again.
    await harness.sim.start(primary);
    await eventually("a healthy AG once the primary's SQL Server is back", () => healthyAg(harness), 120_000);
    reportOutage("13a no witness (manual recovery: until the primary's SQL Server returned)", writer.outageAround(faultAtMs), writer);
    await scenario.finish();
  });

  it("13b. two synchronous replicas and a ConfigurationOnly witness: the primary dies and the other synchronous replica takes over", async () => {
    const { harness, primary } = await scenario.bootstrap({
      cr: scenarioManifest((cr) => {
        cr.spec.replicas[2] = { name: "witness", availabilityMode: "ConfigurationOnly", failoverMode: "Manual" };
      }),
    });
    expect(primary).to.not.equal("mssql-ag-2");
    await eventually("FailoverReady=True", () => conditionOf(harness, "FailoverReady")?.status === "True", 15_000);
    const { writer } = await scenario.startWorkload("witness");

    const faultAtMs = performance.now();
    await harness.sim.crash(primary);
    const ack = await eventually("writes on the other synchronous replica", () => writer.acks.find((a) => a.atMs > faultAtMs && a.pod !== primary), 60_000, 50);
    reportOutage("13b witness, SQL crash", writer.outageAround(faultAtMs, primary), writer);
    expect(ack.pod).to.not.equal("mssql-ag-2");

    await harness.sim.start(primary);
    await eventually("a healthy AG after the old primary returned", () => healthyAg(harness), 120_000);
    await scenario.finish();
  });
});
