/**
 * Issue 6, planned failover scenarios on the simulator tier (ARCHITECTURE §4.7), with the workload writing
 * through the listener and the four invariants checked at the end (scenario-kit):
 *  1. switchover by the `sqlag.io/switchover-to` annotation, to a named pod and to `any`; a target that is not
 *     SYNCHRONIZED is refused with a reason and an Event, and nothing moves;
 *  2. the primary pod is deleted gracefully: its preStop hands the primary over before SQL Server stops.
 */
import { expect } from "chai";
import { annotations } from "@sqlag/api";
import { type SimHarness, eventually } from "../testing/sim-harness.js";
import { type ListenerWriter, healthyAg, holderOf, reportOutage, sleep, useScenario } from "../testing/scenario-kit.js";

describe("issue 6 scenarios: planned failover (3 synchronous replicas on mssql-sim)", function () {
  this.timeout(180_000);
  const scenario = useScenario(this);

  function switchoverAnnotation(harness: SimHarness): string | undefined {
    return harness.cluster.cr.metadata.annotations?.[annotations.switchoverTo];
  }

  /** Requests a switchover and waits until `expected` (or any other pod) writes through the listener. */
  async function switchOver(harness: SimHarness, writer: ListenerWriter, request: string, from: string, label: string): Promise<string> {
    const requestedAtMs = performance.now();
    harness.cluster.annotateCr(annotations.switchoverTo, request);
    const ack = await eventually(`writes on the switchover target (${request})`, () => writer.acks.find((a) => a.atMs > requestedAtMs && a.pod !== from), 60_000, 50);
    reportOutage(label, writer.outageAround(requestedAtMs, from), writer);
    if (request !== "any") expect(ack.pod).to.equal(request);
    await eventually("the switchover annotation removed once carried out", () => switchoverAnnotation(harness) === undefined, 15_000);
    await eventually("a healthy AG after the switchover", () => healthyAg(harness), 60_000);
    expect(holderOf(harness)).to.equal(ack.pod);
    return ack.pod;
  }

  it("1. switchover by annotation to a named pod and to any; a target that is not SYNCHRONIZED is refused and nothing happens", async () => {
    const { harness, primary, writer } = await scenario.setUp("switchover");

    const named = harness.cluster.podNames().find((p) => p !== primary)!;
    const second = await switchOver(harness, writer, named, primary, `1 switchover to ${named} (target gap ≤ 2 s)`);
    await writer.waitForAcks(10, 20_000);
    const third = await switchOver(harness, writer, "any", second, "1 switchover to any (target gap ≤ 2 s)");
    expect(third).to.not.equal(second);
    await writer.waitForAcks(10, 20_000);

    // Refused: the target is cut from the primary's endpoint, so it falls out of SYNCHRONIZED.
    const target = harness.cluster.podNames().find((p) => p !== third)!;
    harness.sim.partition(third, target);
    await eventually(
      `${target} not SYNCHRONIZED in the status`,
      () => harness.cluster.status?.databases?.[0]?.replicas.find((r) => r.replica === target)?.synchronizationState !== "SYNCHRONIZED",
      30_000,
    );
    const epoch = harness.cluster.leaseRecord()?.leaseTransitions;
    harness.cluster.annotateCr(annotations.switchoverTo, target);
    await eventually("the holder to report the refusal", () => harness.agent(third).loop.status().lastReason === "switchover_target_not_synchronized", 15_000);
    await eventually(
      "a SwitchoverRefused Event",
      () => harness.cluster.events.find((e) => e.reason === "SwitchoverRefused" && e.type === "Warning" && e.message.includes(target)),
      15_000,
    );
    await sleep(3000);
    expect(harness.cluster.leaseRecord(), "nothing moved").to.include({ holderIdentity: third, leaseTransitions: epoch });
    expect(harness.sim.writableNow()).to.deep.equal([{ instance: third, ag: "AG1" }]);
    expect(switchoverAnnotation(harness), "a refused request stays visible").to.equal(target);

    harness.cluster.annotateCr(annotations.switchoverTo, null);
    harness.sim.heal(third, target);
    await eventually("a healthy AG after the heal", () => healthyAg(harness), 90_000);
    await scenario.finish();
  });

  it("2. primary pod deleted gracefully: preStop hands over to a synchronized secondary before SQL Server stops", async () => {
    const { harness, primary, writer } = await scenario.setUp("prestop");

    // kubectl delete pod: deletionTimestamp set, the kubelet runs the preStop hook, then stops the containers.
    const deletedAtMs = performance.now();
    harness.cluster.markTerminating(primary);
    const answer = await harness.preStop(primary);
    console.log(`      preStop answered ${JSON.stringify(answer)} after ${((performance.now() - deletedAtMs) / 1000).toFixed(2)} s`);
    expect(answer.outcome).to.equal("switched_over");
    expect(answer.target).to.be.a("string").and.not.equal(primary);
    expect(harness.sim.writableNow().map((x) => x.instance), "the old primary no longer writes when preStop returns").to.not.include(primary);
    await harness.stopAgent(primary);
    await harness.sim.stop(primary);
    const ack = await eventually("writes on the new primary", () => writer.acks.find((a) => a.atMs > deletedAtMs && a.pod !== primary), 30_000, 50);
    expect(ack.pod).to.equal(answer.target);
    reportOutage("2 graceful delete with preStop (target gap ≤ 2 s)", writer.outageAround(deletedAtMs, primary), writer);

    // The StatefulSet re-creates the pod on the retained volume; it rejoins as a secondary.
    harness.cluster.replacePod(primary);
    await harness.sim.start(primary);
    await harness.restartAgent(primary);
    await eventually("a healthy AG after the pod came back", () => healthyAg(harness), 90_000);
    expect(holderOf(harness)).to.equal(answer.target);
    await scenario.finish();
  });
});
