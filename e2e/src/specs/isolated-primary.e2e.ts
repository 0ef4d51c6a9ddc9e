/**
 * @disruptive Issue 6 on the test cluster, "primary cut from the API server and its peers" (ARCHITECTURE §4.4,
 * §4.9; simulator twin: packages/agent/src/runtime/scenarios/api-outage.sim.test.ts case 8). The primary pod
 * loses the API server (its API proxy blackholes), the SQL endpoint link to each peer (mssql-sim partition) and
 * its agent-to-agent HTTP both ways (peer HTTP partition), while the workload writes through the rw listener.
 * Nobody vouches for it, so it fences itself: its SQL write lease lapses and mssql-sim's ground truth shows it
 * stop being writable BEFORE any peer becomes writable. A peer is promoted once the Lease expires, the listener
 * follows it, and after the heal the old primary rejoins as a SYNCHRONIZED secondary. The invariant checker
 * passes; the fence time, the promotion time and the write-unavailability window are printed, not asserted.
 */
import { expect } from "chai";
import { agNames } from "@sqlag/api";
import { eventually } from "../cluster/namespaces.js";
import type { WritableInterval } from "../faults/mssql-admin.js";
import { applyAndWaitRunning, serviceEndpoints, topologyReplicas, useAgScenario } from "../scenarios/ag-scenario.js";
import { note, reportSpecWallTime, step } from "../support/step.js";
import { crName, database, faultsOf, listenerName, podRef, startFailoverWorkload, waitRejoined, waitSynchronized } from "./failover-workload.js";

describe("@disruptive isolated-primary: the primary cut from the API server and from its peers", function () {
  reportSpecWallTime("isolated-primary");
  const scenario = useAgScenario("isolated-primary");

  it("fences itself before a peer is promoted, the listener follows, it rejoins after the heal, the invariants hold", async function () {
    const replicas = topologyReplicas["three-synchronous"];
    const podNames = replicas.map((_, ordinal) => agNames.pod(crName, ordinal));
    const running = await applyAndWaitRunning(scenario, crName, { replicas, databases: [{ name: database }] });
    const primary = running.status.primaryReplica ?? "";
    const peers = podNames.filter((pod) => pod !== primary);
    await waitSynchronized(scenario, 3, `${database} SYNCHRONIZED on all three replicas`);
    const workload = await startFailoverWorkload(scenario, "isolated-primary");
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const faults = faultsOf(scenario);
    const intervalsOf = (pod: string): Promise<WritableInterval[]> => faults.mssqlAdmin(podRef(scenario, pod)).writableIntervals();
    const cutAtMs = Date.now();
    try {
      await step(`cut ${primary} from the API server, the SQL endpoints of ${peers.join(" and ")} and the peer agents`, async () => {
        faults.cutApiAccess(podRef(scenario, primary), "blackhole");
        for (const peer of peers) await faults.partitionSql(podRef(scenario, primary), podRef(scenario, peer));
        await faults.cutPeerHttp(podRef(scenario, primary));
      });

      const fencedAtMs = await step(`${primary} stops being writable (mssql-sim ground truth)`, () =>
        eventually(`${primary} not writable`, async () => {
          const intervals = await intervalsOf(primary);
          if (intervals.length === 0 || intervals.some((interval) => interval.toMs === undefined)) return undefined;
          return Math.max(...intervals.map((interval) => interval.toMs ?? 0));
        }, { timeoutMs: 60_000, intervalMs: 100 }),
      );
      note(`${primary} stopped being writable ${((fencedAtMs - cutAtMs) / 1000).toFixed(2)} s after the cut`);

      const promoted = await step("a peer is writable (promoted after the Lease expired)", () =>
        eventually("a writable peer", async () => {
          for (const peer of peers) {
            const open = (await intervalsOf(peer)).find((interval) => interval.toMs === undefined);
            if (open !== undefined) return { pod: peer, writableFromMs: open.fromMs };
          }
          return undefined;
        }, { timeoutMs: 120_000, intervalMs: 200 }),
      );
      note(`${promoted.pod} writable ${((promoted.writableFromMs - cutAtMs) / 1000).toFixed(2)} s after the cut, ${((promoted.writableFromMs - fencedAtMs) / 1000).toFixed(2)} s after ${primary} stopped`);
      // One writer, from ground truth: the cut primary's last writable interval ended before the new one began.
      expect(fencedAtMs, `${primary} stopped being writable before ${promoted.pod} became writable`).to.be.lessThan(promoted.writableFromMs);

      await step(`the rw listener lists only ${promoted.pod}`, () =>
        eventually("the listener on the new primary", async () => {
          const ready = (await serviceEndpoints(scenario, listenerName)).filter((endpoint) => endpoint.ready);
          return ready.length === 1 && ready[0]?.podName === promoted.pod ? true : undefined;
        }, { timeoutMs: 60_000 }),
      );

      await step(`heal: ${primary} gets the API server, its endpoints and its peers back`, async () => {
        faults.restoreApiAccess(podRef(scenario, primary));
        for (const peer of peers) await faults.healSql(podRef(scenario, primary), podRef(scenario, peer));
        await faults.healPeerHttp(podRef(scenario, primary));
      });
      const healedAtMs = Date.now();
      await waitRejoined(scenario, primary, 180_000);
      note(`${primary} SECONDARY with ${database} SYNCHRONIZED ${((Date.now() - healedAtMs) / 1000).toFixed(1)} s after the heal`);
      await waitSynchronized(scenario, 3, "every synchronous replica SYNCHRONIZED under the new primary", (view) => view.status.primaryReplica === promoted.pod, 120_000);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await workload.stop(cutAtMs, podNames.filter((pod) => pod !== promoted.pod), podNames);
    } finally {
      await faults.stopPeerHttpPartition();
    }
  });
});
