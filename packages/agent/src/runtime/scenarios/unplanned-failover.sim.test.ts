/**
 * Issue 6, unplanned failover scenarios on the simulator tier: three synchronous replicas, three real agents,
 * a workload writing through the listener, and the four invariants checked at the end of each (scenario-kit).
 *  3. the primary's SQL process crashes;
 *  4. node loss: the primary's SQL Server and agent die at once, no preStop;
 *  5. the primary's SQL Server freezes (SIGSTOP) while its agent keeps running;
 *  6. the primary's agent crashes while its SQL Server keeps running; the restarted agent does not reclaim.
 */
import { expect } from "chai";
import { HARNESS_TIMING_SECONDS, SimHarness, eventually } from "../testing/sim-harness.js";
import {
  LabelSampler,
  ListenerWriter,
  bootstrapScenario,
  dumpOnFailure,
  expectInvariants,
  healthyAg,
  holderOf,
  reportOutage,
  scenarioManifest,
} from "../testing/scenario-kit.js";

describe("issue 6 scenarios: unplanned failover (3 synchronous replicas on mssql-sim)", function () {
  this.timeout(180_000);
  let h: SimHarness | undefined;
  let writer: ListenerWriter | undefined;
  let sampler: LabelSampler | undefined;

  async function setUp(prefix: string): Promise<{ h: SimHarness; primary: string; groupId: string; writer: ListenerWriter; sampler: LabelSampler }> {
    const harness = new SimHarness({ cr: scenarioManifest() });
    h = harness;
    const { primary, groupId } = await bootstrapScenario(harness);
    writer = new ListenerWriter(harness, prefix);
    sampler = new LabelSampler(harness);
    sampler.start();
    writer.start();
    await writer.waitForAcks(10, 20_000);
    return { h: harness, primary, groupId, writer, sampler };
  }

  /** Waits until the writer got acknowledgements from a replica other than `oldPrimary` after `faultAtMs`. */
  async function writesResumeElsewhere(w: ListenerWriter, oldPrimary: string, faultAtMs: number, timeoutMs = 60_000): Promise<string> {
    const ack = await eventually("writes acknowledged by a new primary", () => w.acks.find((a) => a.atMs > faultAtMs && a.pod !== oldPrimary), timeoutMs, 50);
    return ack.pod;
  }

  afterEach(async function () {
    sampler?.stop();
    await writer?.stop();
    dumpOnFailure(this, h);
    await h?.stop();
    h = undefined;
    writer = undefined;
    sampler = undefined;
  });

  it("3. primary SQL process crash: a synchronous secondary takes over, the old primary rejoins, invariants hold", async () => {
    const s = await setUp("sql-crash");
    const faultAtMs = performance.now();
    await s.h.sim.crash(s.primary);
    const newPrimary = await writesResumeElsewhere(s.writer, s.primary, faultAtMs);
    reportOutage("3 sql-crash (target ≤ 5 s)", s.writer.outageAround(faultAtMs, s.primary), s.writer);
    expect(newPrimary).to.not.equal(s.primary);

    await s.h.sim.start(s.primary);
    await eventually("a healthy AG with the old primary SYNCHRONIZED again", () => healthyAg(s.h), 90_000);
    await s.writer.waitForAcks(5, 20_000);
    s.sampler.stop();
    await s.writer.stop();
    await expectInvariants(s.h, s.writer, s.sampler, { groupId: s.groupId });
  });

  it("4. node loss: SQL Server and agent of the primary die together without preStop; failover after the Lease expires", async () => {
    const s = await setUp("node-loss");
    const faultAtMs = performance.now();
    await Promise.all([s.h.stopAgent(s.primary), s.h.sim.crash(s.primary)]);
    const newPrimary = await writesResumeElsewhere(s.writer, s.primary, faultAtMs);
    reportOutage(`4 node-loss (target ≤ leaseDuration ${HARNESS_TIMING_SECONDS.leaseDurationSeconds} s + 3 s)`, s.writer.outageAround(faultAtMs, s.primary), s.writer);
    expect(holderOf(s.h)).to.equal(newPrimary);

    // The node comes back: the instance restarts RESOLVING and a fresh agent brings it back as a secondary.
    await s.h.sim.start(s.primary);
    await s.h.restartAgent(s.primary);
    await eventually("a healthy AG after the node returned", () => healthyAg(s.h), 90_000);
    await s.writer.waitForAcks(5, 20_000);
    s.sampler.stop();
    await s.writer.stop();
    await expectInvariants(s.h, s.writer, s.sampler, { groupId: s.groupId });
  });

  it("5. frozen primary: fenced by its own SQL lease, then a secondary is promoted; thawed, it rejoins as secondary", async () => {
    const s = await setUp("frozen");
    const faultAtMs = performance.now();
    s.h.sim.freeze(s.primary);
    const newPrimary = await writesResumeElsewhere(s.writer, s.primary, faultAtMs, 90_000);
    reportOutage("5 frozen primary (target ≤ failoverThreshold 10 s + W 5 s + 3 s)", s.writer.outageAround(faultAtMs, s.primary), s.writer);
    expect(newPrimary).to.not.equal(s.primary);

    s.h.sim.thaw(s.primary);
    await eventually(`${s.primary} to come back as SECONDARY`, () => s.h.agent(s.primary).loop.status().role === "SECONDARY", 60_000);
    await eventually("a healthy AG after the thaw", () => healthyAg(s.h), 90_000);
    await s.writer.waitForAcks(5, 20_000);
    s.sampler.stop();
    await s.writer.stop();
    await expectInvariants(s.h, s.writer, s.sampler, { groupId: s.groupId });
  });

  it("6. agent crash on the primary: its SQL lease lapses, another replica is promoted, the restarted agent does not reclaim", async () => {
    const s = await setUp("agent-crash");
    const faultAtMs = performance.now();
    await s.h.stopAgent(s.primary);
    await eventually(`${s.primary} to stop accepting writes once its SQL lease lapsed`, () => !s.h.sim.writableNow().some((w) => w.instance === s.primary), 30_000, 50);
    const newPrimary = await writesResumeElsewhere(s.writer, s.primary, faultAtMs);
    reportOutage("6 agent crash on the primary", s.writer.outageAround(faultAtMs, s.primary), s.writer);
    expect(holderOf(s.h)).to.equal(newPrimary);

    const restartedAtMs = performance.now();
    await s.h.restartAgent(s.primary);
    await eventually(`${s.primary} to be demoted to SECONDARY by its restarted agent`, () => s.h.agent(s.primary).loop.status().role === "SECONDARY", 60_000);
    await eventually("a healthy AG after the agent restarted", () => healthyAg(s.h), 90_000);
    expect(s.sampler.holdersSince(restartedAtMs), "Lease holders after the restart").to.not.include(s.primary);
    expect(holderOf(s.h)).to.equal(newPrimary);
    await s.writer.waitForAcks(5, 20_000);
    s.sampler.stop();
    await s.writer.stop();
    await expectInvariants(s.h, s.writer, s.sampler, { groupId: s.groupId });
  });
});
