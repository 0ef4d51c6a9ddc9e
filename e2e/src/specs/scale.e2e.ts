/**
 * Scaling a running AG on the test cluster, 3 → 5 → 3 (three synchronous replicas, then two asynchronous ones
 * appended, then removed again) while the workload writes through the rw listener: new replicas are added by
 * the primary (ADD REPLICA) and join (JOIN) with the database seeded; removed ones are taken out of the AG
 * (REMOVE REPLICA, checked in the primary's catalog and statement log) before their pods are deleted; the
 * invariants hold throughout.
 */
import { expect } from "chai";
import { agNames, type ReplicaSpec } from "@sqlag/api";
import { eventually } from "../cluster/namespaces.js";
import {
  agObject,
  applyAg,
  applyAndWaitRunning,
  podsOf,
  replicasOnPrimary,
  statementsWithTimesOn,
  topologyReplicas,
  useAgScenario,
  waitForAg,
  writeThroughListenerAndCheckInvariants,
  startWorkload,
} from "../scenarios/ag-scenario.js";
import { note, reportSpecWallTime, step } from "../support/step.js";

const crName = "mssql-ag";
const listenerName = "mssql-ag-listener";
const database = "appdb";

const synchronousThree = topologyReplicas["three-synchronous"];
const withTwoAsynchronous: ReplicaSpec[] = [
  ...synchronousThree,
  { name: "replica-3", availabilityMode: "AsynchronousCommit", failoverMode: "Manual", readableSecondary: true },
  { name: "replica-4", availabilityMode: "AsynchronousCommit", failoverMode: "Manual", readableSecondary: true },
];

describe("scale: 3 synchronous → +2 asynchronous → back to 3", function () {
  reportSpecWallTime("scale");
  const scenario = useAgScenario("scale");

  it("adds and joins new replicas, removes them from the AG before their pods go, and keeps the invariants", async function () {
    const allPods = withTwoAsynchronous.map((_, ordinal) => agNames.pod(crName, ordinal));
    const extraPods = allPods.slice(synchronousThree.length);
    const running = await applyAndWaitRunning(scenario, crName, { replicas: synchronousThree, databases: [{ name: database }] });
    const primary = running.status.primaryReplica ?? "";
    const primaryPod = async () => {
      const pod = (await podsOf(scenario, crName)).find((candidate) => candidate.metadata?.name === primary);
      if (pod === undefined) throw new Error(`primary pod ${primary} not found`);
      return pod;
    };
    await step(`${database} synchronised on the first three replicas`, () =>
      waitForAg(scenario, crName, "database synchronised", (view) => (view.status.databases?.find((db) => db.name === database)?.replicas ?? []).filter((replica) => replica.synchronizationState === "SYNCHRONIZED").length === 3, 60_000),
    );

    const workload = await startWorkload(scenario, { listenerName, database, keyPrefix: "scale" });

    const scaleUpAtMs = Date.now();
    await step("scale up: append replica-3 and replica-4 (AsynchronousCommit)", () => applyAg(scenario, agObject(scenario.fixture.namespace, crName, { replicas: withTwoAsynchronous, databases: [{ name: database }] })));
    const scaledUp = await step("5 replicas in the AG, the new ones SECONDARY and SYNCHRONIZING", () =>
      waitForAg(scenario, crName, "five replicas", (view) => {
        const statuses = view.status.replicaStatuses ?? [];
        const databaseReplicas = view.status.databases?.find((db) => db.name === database)?.replicas ?? [];
        return (
          statuses.length === 5 &&
          extraPods.every((pod) => statuses.some((status) => status.pod === pod && status.role === "SECONDARY" && status.connected === true)) &&
          extraPods.every((pod) => databaseReplicas.some((replica) => replica.replica === pod && replica.synchronizationState === "SYNCHRONIZING"))
        );
      }, 180_000),
    );
    note(`scale up 3→5 took ${((Date.now() - scaleUpAtMs) / 1000).toFixed(1)} s; replicaStatuses: ${JSON.stringify(scaledUp.status.replicaStatuses?.map((status) => [status.pod, status.role, status.availabilityMode]))}`);
    expect(await replicasOnPrimary(await primaryPod()), "sys.availability_replicas on the primary").to.deep.equal(allPods);
    const statementsAfterUp = await statementsWithTimesOn(scenario, primary);
    for (const pod of extraPods) {
      expect(statementsAfterUp.some((statement) => /ADD\s+REPLICA\s+ON/i.test(statement.text) && statement.text.includes(pod)), `ADD REPLICA ON ${pod} ran on the primary`).to.equal(true);
      const joined = (await statementsWithTimesOn(scenario, pod)).some((statement) => /ALTER\s+AVAILABILITY\s+GROUP\s+\S+\s+JOIN/i.test(statement.text));
      expect(joined, `${pod} ran JOIN`).to.equal(true);
    }

    // Watch the extra pods while scaling down: when each one started terminating (or vanished).
    const podGoneAtMs = new Map<string, number>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const pods = await podsOf(scenario, crName).catch(() => undefined);
        if (pods !== undefined) {
          for (const pod of extraPods) {
            const current = pods.find((candidate) => candidate.metadata?.name === pod);
            if (!podGoneAtMs.has(pod) && (current === undefined || current.metadata?.deletionTimestamp !== undefined)) podGoneAtMs.set(pod, Date.now());
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const scaleDownAtMs = Date.now();
    await step("scale down: remove replica-3 and replica-4 from the spec", () => applyAg(scenario, agObject(scenario.fixture.namespace, crName, { replicas: synchronousThree, databases: [{ name: database }] })));
    await step("the primary's catalog lists 3 replicas and the extra pods are gone", () =>
      eventually("scaled down", async () => {
        const names = await replicasOnPrimary(await primaryPod());
        const pods = (await podsOf(scenario, crName)).map((pod) => pod.metadata?.name);
        return names.length === 3 && extraPods.every((pod) => !pods.includes(pod)) ? true : undefined;
      }, { timeoutMs: 180_000 }),
    );
    watching = false;
    await watcher;
    note(`scale down 5→3 took ${((Date.now() - scaleDownAtMs) / 1000).toFixed(1)} s`);
    expect(await replicasOnPrimary(await primaryPod())).to.deep.equal(allPods.slice(0, 3));
    const statementsAfterDown = await statementsWithTimesOn(scenario, primary);
    for (const pod of extraPods) {
      const removal = statementsAfterDown.find((statement) => /REMOVE\s+REPLICA\s+ON/i.test(statement.text) && statement.text.includes(pod) && statement.atMs >= scaleDownAtMs);
      const goneAtMs = podGoneAtMs.get(pod);
      note(`${pod}: REMOVE REPLICA at +${removal === undefined ? "never" : `${removal.atMs - scaleDownAtMs} ms`}, pod terminating at +${goneAtMs === undefined ? "?" : `${goneAtMs - scaleDownAtMs} ms`}`);
      expect(removal, `REMOVE REPLICA ON ${pod} ran on the primary`).to.not.equal(undefined);
      expect(removal?.atMs ?? Infinity, `${pod} was removed from the AG before its pod started terminating`).to.be.lessThan(goneAtMs ?? -Infinity);
    }
    const view = await step("status back to 3 replicas, phase Running", () =>
      waitForAg(scenario, crName, "three replicas in status", (candidate) => candidate.status.phase === "Running" && (candidate.status.replicaStatuses ?? []).length === 3, 60_000),
    );
    expect(view.status.primaryReplica).to.equal(primary);

    await workload.stopAndCheck({ primary, synchronousSecondaries: allPods.slice(0, 3).filter((pod) => pod !== primary), podNames: allPods });
    await writeThroughListenerAndCheckInvariants(scenario, { listenerName, database, primary, synchronousSecondaries: allPods.slice(0, 3).filter((pod) => pod !== primary), podNames: allPods.slice(0, 3), keyPrefix: "scale-after", writeForMs: 2_000 });
  });
});
