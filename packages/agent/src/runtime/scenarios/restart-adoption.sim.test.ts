/**
 * Issue 6, whole-cluster scenarios on the simulator tier, with the workload writing through the listener and the
 * four invariants checked at the end (scenario-kit):
 * 11. cold restart: every SQL Server and every agent goes down at once and comes back: exactly one primary, the
 *     replica with the highest sequence number, and no acknowledged write lost;
 * 12. the CR is deleted and re-created over retained volumes (new CR, no status, new Lease): the existing AG is
 *     adopted with the same group_id, never re-created (ARCHITECTURE §4.6, §5 invariant 4).
 */
import { expect } from "chai";
import { type SimHarness, eventually } from "../testing/sim-harness.js";
import { AG_NAME, healthyAg, reportOutage, useScenario } from "../testing/scenario-kit.js";

function sequenceNumberOf(harness: SimHarness, pod: string): bigint {
  const summary = harness.sim.get(pod).summary() as { ags: { name: string; sequenceNumber: unknown }[] };
  const ag = summary.ags.find((a) => a.name.toLowerCase() === AG_NAME.toLowerCase());
  return BigInt(String(ag?.sequenceNumber ?? 0));
}

function createAgStatements(harness: SimHarness): string[] {
  return harness.cluster.podNames().flatMap((pod) => harness.sim.statementLog(pod).filter((e) => /CREATE\s+AVAILABILITY\s+GROUP/i.test(e.text) && e.error === undefined).map(() => pod));
}

describe("issue 6 scenarios: whole-cluster restart and adoption (3 synchronous replicas on mssql-sim)", function () {
  this.timeout(240_000);
  const scenario = useScenario(this);

  it("11. whole-cluster cold restart: one primary, the one with the highest sequence number, nothing lost", async () => {
    const { harness, primary, writer } = await scenario.setUp("cold-restart");
    const pods = harness.cluster.podNames();
    // Power loss: every agent and SQL Server at once, no preStop, no release.
    const faultAtMs = performance.now();
    await Promise.all(pods.flatMap((pod) => [harness.stopAgent(pod), harness.sim.crash(pod)]));
    for (const pod of pods) await harness.sim.start(pod);
    // As persisted at the crash: the instances are back (RESOLVING), no agent has acted yet.
    const sequence = new Map(pods.map((pod) => [pod, sequenceNumberOf(harness, pod)]));
    const max = [...sequence.values()].reduce((a, b) => (a > b ? a : b));
    console.log(`      sequence numbers at the crash: ${[...sequence].map(([p, n]) => `${p}=${n}`).join(", ")} (primary was ${primary})`);
    expect(max > 0n, "sequence numbers read back").to.equal(true);
    for (const pod of pods) await harness.restartAgent(pod);
    const newPrimary = await eventually("a healthy AG after the cold restart", () => healthyAg(harness), 120_000);
    reportOutage("11 cold restart (restart time included)", writer.outageAround(faultAtMs), writer);
    expect(sequence.get(newPrimary), `${newPrimary}'s sequence number before the restart`).to.equal(max);
    expect(createAgStatements(harness), "CREATE AVAILABILITY GROUP statements").to.have.length(1);
    await scenario.finish();
  });

  it("12. CR deleted and re-created over retained volumes: the AG is adopted (same group_id), never re-created", async () => {
    const { harness, primary, groupId, writer } = await scenario.setUp("adoption");
    const pods = harness.cluster.podNames();
    // kubectl delete: the StatefulSet and its pods go (volumes retained), the Lease is garbage-collected.
    const faultAtMs = performance.now();
    await Promise.all(pods.map((pod) => harness.stopAgent(pod)));
    await Promise.all(pods.map((pod) => harness.sim.stop(pod)));
    const oldUid = harness.cluster.cr.metadata.uid;
    harness.cluster.recreateCr();
    expect(harness.cluster.cr.metadata.uid).to.not.equal(oldUid);
    expect(harness.cluster.status, "a re-created CR has no status").to.equal(undefined);
    expect(harness.cluster.leaseRecord()).to.include({ holderIdentity: "", leaseTransitions: 0 });

    // kubectl apply: new pods on the retained volumes.
    for (const pod of pods) harness.cluster.replacePod(pod);
    for (const pod of pods) await harness.sim.start(pod);
    for (const pod of pods) await harness.restartAgent(pod);
    const newPrimary = await eventually("the existing AG adopted and healthy", () => healthyAg(harness), 120_000);
    reportOutage("12 CR re-created (restart time included)", writer.outageAround(faultAtMs), writer);
    console.log(`      adopted with ${newPrimary} as primary (was ${primary}); status.groupId ${harness.cluster.status?.groupId}`);
    expect(harness.cluster.status?.groupId?.toUpperCase(), "the new status records the existing group_id").to.equal(groupId.toUpperCase());
    expect(createAgStatements(harness), "CREATE AVAILABILITY GROUP statements").to.have.length(1);
    await scenario.finish();
  });
});
