/**
 * Issue 6, unplanned failover scenarios on the simulator tier: three synchronous replicas, three real agents,
 * a workload writing through the listener, and the four invariants checked at the end of each (scenario-kit).
 *  3. the primary's SQL process crashes;
 *  4. node loss: the primary's SQL Server and agent die at once, no preStop;
 *  5. the primary's SQL Server freezes (SIGSTOP) while its agent keeps running;
 *  6. the primary's agent crashes while its SQL Server keeps running; the restarted agent does not reclaim.
 */
import { expect } from "chai";
import { HARNESS_TIMING_SECONDS, eventually } from "../testing/sim-harness.js";
import { type ListenerWriter, healthyAg, holderOf, reportOutage, useScenario } from "../testing/scenario-kit.js";

describe("issue 6 scenarios: unplanned failover (3 synchronous replicas on mssql-sim)", function () {
  this.timeout(180_000);
  const scenario = useScenario(this);

  /** Waits until the writer got acknowledgements from a replica other than `oldPrimary` after `faultAtMs`. */
  async function writesResumeElsewhere(w: ListenerWriter, oldPrimary: string, faultAtMs: number, timeoutMs = 60_000): Promise<string> {
    const ack = await eventually("writes acknowledged by a new primary", () => w.acks.find((a) => a.atMs > faultAtMs && a.pod !== oldPrimary), timeoutMs, 50);
    return ack.pod;
  }

  it("3. primary SQL process crash: a synchronous secondary takes over, the old primary rejoins, invariants hold", async () => {
    const { harness, primary, writer } = await scenario.setUp("sql-crash");
    const faultAtMs = performance.now();
    await harness.sim.crash(primary);
    const newPrimary = await writesResumeElsewhere(writer, primary, faultAtMs);
    reportOutage("3 sql-crash (target ≤ 5 s)", writer.outageAround(faultAtMs, primary), writer);
    expect(newPrimary).to.not.equal(primary);

    await harness.sim.start(primary);
    await eventually("a healthy AG with the old primary SYNCHRONIZED again", () => healthyAg(harness), 90_000);
    await scenario.finish();
  });

  it("4. node loss: SQL Server and agent of the primary die together without preStop; failover after the Lease expires", async () => {
    const { harness, primary, writer } = await scenario.setUp("node-loss");
    const faultAtMs = performance.now();
    await Promise.all([harness.stopAgent(primary), harness.sim.crash(primary)]);
    const newPrimary = await writesResumeElsewhere(writer, primary, faultAtMs);
    reportOutage(`4 node-loss (target ≤ leaseDuration ${HARNESS_TIMING_SECONDS.leaseDurationSeconds} s + 3 s)`, writer.outageAround(faultAtMs, primary), writer);
    expect(holderOf(harness)).to.equal(newPrimary);

    // The node comes back: the instance restarts RESOLVING and a fresh agent brings it back as a secondary.
    await harness.sim.start(primary);
    await harness.restartAgent(primary);
    await eventually("a healthy AG after the node returned", () => healthyAg(harness), 90_000);
    await scenario.finish();
  });

  it("5. frozen primary: fenced by its own SQL lease, then a secondary is promoted; thawed, it rejoins as secondary", async () => {
    const { harness, primary, writer } = await scenario.setUp("frozen");
    const faultAtMs = performance.now();
    harness.sim.freeze(primary);
    const newPrimary = await writesResumeElsewhere(writer, primary, faultAtMs, 90_000);
    reportOutage("5 frozen primary (target ≤ failoverThreshold 10 s + W 5 s + 3 s)", writer.outageAround(faultAtMs, primary), writer);
    expect(newPrimary).to.not.equal(primary);

    harness.sim.thaw(primary);
    await eventually(`${primary} to come back as SECONDARY`, () => harness.agent(primary).loop.status().role === "SECONDARY", 60_000);
    await eventually("a healthy AG after the thaw", () => healthyAg(harness), 90_000);
    await scenario.finish();
  });

  it("6. agent crash on the primary: its SQL lease lapses, another replica is promoted, the restarted agent does not reclaim", async () => {
    const { harness, primary, writer, sampler } = await scenario.setUp("agent-crash");
    const faultAtMs = performance.now();
    await harness.stopAgent(primary);
    await eventually(`${primary} to stop accepting writes once its SQL lease lapsed`, () => !harness.sim.writableNow().some((w) => w.instance === primary), 30_000, 50);
    const newPrimary = await writesResumeElsewhere(writer, primary, faultAtMs);
    reportOutage("6 agent crash on the primary", writer.outageAround(faultAtMs, primary), writer);
    expect(holderOf(harness)).to.equal(newPrimary);

    const restartedAtMs = performance.now();
    await harness.restartAgent(primary);
    await eventually(`${primary} to be demoted to SECONDARY by its restarted agent`, () => harness.agent(primary).loop.status().role === "SECONDARY", 60_000);
    await eventually("a healthy AG after the agent restarted", () => healthyAg(harness), 90_000);
    expect(sampler.holdersSince(restartedAtMs), "Lease holders after the restart").to.not.include(primary);
    expect(holderOf(harness)).to.equal(newPrimary);
    await scenario.finish();
  });
});
