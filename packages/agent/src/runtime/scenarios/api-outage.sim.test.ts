/**
 * Issue 6, API-server scenarios on the simulator tier (ARCHITECTURE §4.4, §4.9), with the workload writing
 * through the listener and the four invariants checked at the end (scenario-kit):
 *  7. every agent loses the API server for twice the Lease duration: the failsafe heartbeats keep the primary
 *     writing, nobody is promoted;
 *  8. the primary is cut from the API server AND from its peers: it fences itself, a peer is promoted after the
 *     Lease expires, and it rejoins once healed.
 */
import { expect } from "chai";
import { HARNESS_TIMING_SECONDS, eventually } from "../testing/sim-harness.js";
import { AG_NAME, healthyAg, holderOf, reportOutage, sleep, useScenario } from "../testing/scenario-kit.js";

describe("issue 6 scenarios: API server outages (3 synchronous replicas on mssql-sim)", function () {
  this.timeout(180_000);
  const scenario = useScenario(this);

  it("7. API server unreachable for every agent for 2 × leaseDuration: no failover, the primary never stops accepting writes", async () => {
    const { harness, primary, writer } = await scenario.setUp("api-outage");
    const epoch = harness.cluster.leaseRecord()?.leaseTransitions;
    const cutAtMs = performance.now();
    const cutAtWallMs = Date.now();
    for (const pod of harness.cluster.podNames()) harness.cluster.cutFromApi(pod);
    await sleep(2 * HARNESS_TIMING_SECONDS.leaseDurationSeconds * 1000);
    const restoredAtMs = performance.now();
    const restoredAtWallMs = Date.now();
    for (const pod of harness.cluster.podNames()) harness.cluster.restoreApi(pod);

    const acksDuring = writer.acks.filter((a) => a.atMs > cutAtMs && a.atMs < restoredAtMs);
    console.log(
      `      [7 API outage for every agent, ${2 * HARNESS_TIMING_SECONDS.leaseDurationSeconds} s (target 0 s)] longest pause between acks ${(writer.maxGapMs(cutAtMs, restoredAtMs) / 1000).toFixed(2)} s; ${acksDuring.length} writes acknowledged during the outage; errors ${[...writer.errors].map(([k, n]) => `${k}×${n}`).join(" ") || "none"}`,
    );
    expect(acksDuring.length, "writes acknowledged during the outage").to.be.greaterThan(0);
    expect(acksDuring.every((a) => a.pod === primary), "every write during the outage on the primary").to.equal(true);
    // Ground truth: one writable interval of the primary spans the whole outage (it never lost its SQL lease).
    const spanning = harness.sim
      .writableIntervals()
      .filter((i) => i.server === primary && i.ag === AG_NAME && i.fromMs <= cutAtWallMs && (i.toMs === null || i.toMs >= restoredAtWallMs));
    expect(spanning, `${primary} writable throughout the outage`).to.have.length(1);
    expect(harness.cluster.leaseRecord(), "no failover").to.include({ holderIdentity: primary, leaseTransitions: epoch });

    await eventually("the Lease renewed again by the primary", () => harness.agent(primary).loop.status().lease?.heldByMe === true, 15_000);
    await eventually("a healthy AG after the outage", () => healthyAg(harness), 30_000);
    await scenario.finish();
  });

  it("8. primary cut from the API server and from its peers: self-fenced, a peer promoted, the old primary rejoins when healed", async () => {
    const { harness, primary, writer } = await scenario.setUp("cut-primary");
    const cutAtMs = performance.now();
    harness.cluster.cutFromApi(primary);
    harness.cutPeerTraffic(primary);
    await eventually(`${primary} to stop accepting writes`, () => !harness.sim.writableNow().some((x) => x.instance === primary), 30_000, 50);
    const fencedAfterMs = performance.now() - cutAtMs;
    const ack = await eventually("writes on a promoted peer", () => writer.acks.find((a) => a.atMs > cutAtMs && a.pod !== primary), 60_000, 50);
    console.log(`      ${primary} stopped writing ${(fencedAfterMs / 1000).toFixed(2)} s after the cut`);
    reportOutage(`8 primary cut from API and peers (bound ≈ leaseDuration ${HARNESS_TIMING_SECONDS.leaseDurationSeconds} s + promotion)`, writer.outageAround(cutAtMs, primary), writer);
    expect(holderOf(harness)).to.equal(ack.pod);

    harness.cluster.restoreApi(primary);
    harness.restorePeerTraffic(primary);
    await eventually(`${primary} to rejoin as SECONDARY`, () => harness.agent(primary).loop.status().role === "SECONDARY", 60_000);
    await eventually("a healthy AG after the heal", () => healthyAg(harness), 90_000);
    await scenario.finish();
  });
});
