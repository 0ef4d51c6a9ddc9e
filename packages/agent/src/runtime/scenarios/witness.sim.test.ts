/**
 * Issue 6, scenario 13 on the simulator tier (ARCHITECTURE §4.5 "consequence to surface"): with exactly two
 * synchronous replicas and no configuration-only replica, losing the primary must NOT lead to an automatic
 * failover (the quorum gate cannot be met without data-loss risk) and FailoverReady=False says why; with a
 * ConfigurationOnly witness the same fault fails over. Workload through the listener, invariants at the end.
 */
import { expect } from "chai";
import { HARNESS_TIMING_SECONDS, SimHarness, eventually } from "../testing/sim-harness.js";
import {
  LabelSampler,
  ListenerWriter,
  bootstrapScenario,
  conditionOf,
  dumpOnFailure,
  expectInvariants,
  healthyAg,
  reportOutage,
  scenarioManifest,
  sleep,
} from "../testing/scenario-kit.js";

describe("issue 6 scenarios: two synchronous replicas without and with a witness (mssql-sim)", function () {
  this.timeout(240_000);
  let h: SimHarness | undefined;
  let writer: ListenerWriter | undefined;
  let sampler: LabelSampler | undefined;

  afterEach(async function () {
    sampler?.stop();
    await writer?.stop();
    dumpOnFailure(this, h);
    await h?.stop();
    h = undefined;
    writer = undefined;
    sampler = undefined;
  });

  it("13a. two synchronous replicas (third asynchronous), no witness: the primary dies, NO automatic failover, FailoverReady=False explains why", async () => {
    const harness = new SimHarness({
      cr: scenarioManifest((cr) => {
        cr.spec.replicas[2] = { ...cr.spec.replicas[2]!, availabilityMode: "AsynchronousCommit", failoverMode: "Manual" };
      }),
    });
    h = harness;
    const { primary, groupId } = await bootstrapScenario(harness);
    const failoverReady = await eventually("FailoverReady=False", () => {
      const c = conditionOf(harness, "FailoverReady");
      return c?.status === "False" ? c : undefined;
    }, 15_000);
    console.log(`      FailoverReady=False ${failoverReady.reason}: ${failoverReady.message}`);
    expect(failoverReady.reason).to.equal("TwoSynchronousReplicasWithoutWitness");
    expect(failoverReady.message).to.match(/ConfigurationOnly/);

    const w = new ListenerWriter(harness, "no-witness");
    writer = w;
    const s = new LabelSampler(harness);
    sampler = s;
    s.start();
    w.start();
    await w.waitForAcks(10, 20_000);

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
    expect(w.acks.filter((a) => a.atMs > faultAtMs), "no write acknowledged while no replica may be primary").to.deep.equal([]);

    // The primary's SQL Server returns: with both synchronous replicas reporting, the gate passes again.
    await harness.sim.start(primary);
    await eventually("a healthy AG once the primary's SQL Server is back", () => healthyAg(harness), 120_000);
    reportOutage("13a no witness (manual recovery: until the primary's SQL Server returned)", w.outageAround(faultAtMs), w);
    await w.waitForAcks(5, 20_000);
    s.stop();
    await w.stop();
    await expectInvariants(harness, w, s, { groupId });
  });

  it("13b. two synchronous replicas and a ConfigurationOnly witness: the primary dies and the other synchronous replica takes over", async () => {
    const harness = new SimHarness({
      cr: scenarioManifest((cr) => {
        cr.spec.replicas[2] = { name: "witness", availabilityMode: "ConfigurationOnly", failoverMode: "Manual" };
      }),
    });
    h = harness;
    const { primary, groupId } = await bootstrapScenario(harness);
    expect(primary).to.not.equal("mssql-ag-2");
    await eventually("FailoverReady=True", () => conditionOf(harness, "FailoverReady")?.status === "True", 15_000);
    const w = new ListenerWriter(harness, "witness");
    writer = w;
    const s = new LabelSampler(harness);
    sampler = s;
    s.start();
    w.start();
    await w.waitForAcks(10, 20_000);

    const faultAtMs = performance.now();
    await harness.sim.crash(primary);
    const ack = await eventually("writes on the other synchronous replica", () => w.acks.find((a) => a.atMs > faultAtMs && a.pod !== primary), 60_000, 50);
    reportOutage("13b witness, SQL crash", w.outageAround(faultAtMs, primary), w);
    expect(ack.pod).to.not.equal("mssql-ag-2");

    await harness.sim.start(primary);
    await eventually("a healthy AG after the old primary returned", () => healthyAg(harness), 120_000);
    await w.waitForAcks(5, 20_000);
    s.stop();
    await w.stop();
    await expectInvariants(harness, w, s, { groupId });
  });
});
