/**
 * @disruptive Issue 6 on the test cluster: the CR is deleted (the StatefulSet, pods, Services and Lease are
 * garbage-collected; `storage.reclaimPolicy: Retain` keeps the data volumes) and the same CR is applied again.
 * The existing AG on the retained volumes must be adopted through a normal election (ARCHITECTURE §4.6, §5
 * invariant 4): the same group_id on every instance and in the new status, no CREATE AVAILABILITY GROUP and no
 * DROP issued by the new pods, one primary, every replica SYNCHRONIZED, and every acknowledged write present.
 */
import { expect } from "chai";
import { agNames, KIND_AVAILABILITY_GROUP, type SQLServerAvailabilityGroupSpec } from "@sqlag/api";
import { createHash } from "node:crypto";
import { AppsV1Api, type V1Secret } from "@kubernetes/client-node";
import { agObject, applyAg, applyAndWaitRunning, podsOf, roleLabelOf, sqlOnPod, statementsWithTimesOn, topologyReplicas, useAgScenario, waitForAg, type AgScenario } from "../scenarios/ag-scenario.js";
import { eventually } from "../cluster/namespaces.js";
import { note, reportSpecWallTime, step } from "../support/step.js";
import { crName, database, startFailoverWorkload, waitSynchronized } from "./failover-workload.js";

/** group_id of the AG as each instance's catalog reports it (the ground truth, one row per pod). */
async function groupIdsOnInstances(scenario: AgScenario): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const pod of await podsOf(scenario, crName)) {
    const rows = await sqlOnPod(pod, "SELECT CONVERT(nvarchar(36), group_id) AS group_id FROM sys.availability_groups");
    ids.set(pod.metadata?.name ?? "?", String(rows[0]?.[0] ?? "(no AG)").toUpperCase());
  }
  return ids;
}

/** Identity of the `<ag>-hadr` Secret: uid, owner references and a digest of its data (never the values). */
async function hadrSecretIdentity(scenario: AgScenario): Promise<{ uid: string; owned: boolean; keys: string[]; digest: string }> {
  const secret: V1Secret = await scenario.fixture.core.readNamespacedSecret({ namespace: scenario.fixture.namespace, name: agNames.hadrSecret(crName) });
  const data = secret.data ?? {};
  const keys = Object.keys(data).sort();
  const digest = createHash("sha256").update(keys.map((key) => `${key}=${data[key]}`).join("\n")).digest("hex").slice(0, 16);
  return { uid: secret.metadata?.uid ?? "", owned: (secret.metadata?.ownerReferences ?? []).length > 0, keys, digest };
}

describe("@disruptive adoption: CR deleted and re-applied over retained volumes", function () {
  reportSpecWallTime("adoption");
  const scenario = useAgScenario("adoption");

  it("adopts the existing AG (same group_id, nothing created or dropped) and keeps every acknowledged write", async function () {
    const replicas = topologyReplicas["three-synchronous"];
    const podNames = replicas.map((_, ordinal) => agNames.pod(crName, ordinal));
    const baseStorage = agObject(scenario.fixture.namespace, crName).spec.storage;
    const spec: Partial<SQLServerAvailabilityGroupSpec> = { replicas, databases: [{ name: database }], storage: { ...baseStorage, reclaimPolicy: "Retain" } };
    const before = await applyAndWaitRunning(scenario, crName, spec);
    await waitSynchronized(scenario, 3, `${database} SYNCHRONIZED on all three replicas`);
    const groupIdBefore = (before.status.groupId ?? "").toUpperCase();
    expect(groupIdBefore, "status.groupId before the deletion").to.not.equal("");
    const truthBefore = await groupIdsOnInstances(scenario);
    note(`group_id before: status ${groupIdBefore}; instances ${[...truthBefore].map(([pod, id]) => `${pod}=${id}`).join(", ")}`);
    expect(new Set(truthBefore.values()), "every instance has the AG of the status").to.deep.equal(new Set([groupIdBefore]));

    // storage.reclaimPolicy Retain: the Secret (passwords, peer token, endpoint certificate) must outlive the CR
    // like the volumes do, or the retained instances would face new passwords and no certificate (ADR 0006).
    const secretBefore = await hadrSecretIdentity(scenario);
    note(`hadr Secret before: keys ${secretBefore.keys.join(", ")}; owned by the CR: ${secretBefore.owned}; data digest ${secretBefore.digest}`);
    expect(secretBefore.keys, "the bootstrap exported the endpoint certificate").to.include.members(["certificate", "privateKey"]);
    expect(secretBefore.owned, "the hadr Secret has no owner reference while volumes are retained").to.equal(false);

    const workload = await startFailoverWorkload(scenario, "adoption");
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const apps = scenario.fixture.kc.makeApiClient(AppsV1Api);
    const namespace = scenario.fixture.namespace;
    const faultAtMs = Date.now();
    await step("delete the CR and wait for the garbage collector to remove the StatefulSet and its pods", async () => {
      await scenario.objects().delete(namespace, KIND_AVAILABILITY_GROUP, crName);
      await eventually("StatefulSet and pods gone", async () => {
        const sets = await apps.listNamespacedStatefulSet({ namespace });
        const pods = await podsOf(scenario, crName);
        return sets.items.length === 0 && pods.length === 0 ? true : undefined;
      }, { timeoutMs: 180_000, intervalMs: 500 });
    });
    note(`CR, StatefulSet and pods gone ${((Date.now() - faultAtMs) / 1000).toFixed(1)} s after the delete`);

    const secretAfterDelete = await hadrSecretIdentity(scenario);
    expect(secretAfterDelete, "the hadr Secret survived the CR deletion unchanged").to.deep.equal(secretBefore);

    const reappliedAtMs = Date.now();
    await step("re-apply the same CR", () => applyAg(scenario, agObject(namespace, crName, spec)));
    const after = await step("the existing AG adopted: Running, a primary, the same status.groupId", () =>
      waitForAg(scenario, crName, "adopted and Running", (view) => view.status.phase === "Running" && view.status.primaryReplica !== undefined && view.status.groupId !== undefined, 180_000),
    );
    note(`re-applied→Running ${((Date.now() - reappliedAtMs) / 1000).toFixed(1)} s, primary ${after.status.primaryReplica ?? "?"}, status.groupId ${after.status.groupId ?? "?"}`);
    expect((after.status.groupId ?? "").toUpperCase(), "status.groupId after the re-creation").to.equal(groupIdBefore);
    const synced = await waitSynchronized(scenario, 3, `${database} SYNCHRONIZED on all three replicas again`);
    const primary = synced.status.primaryReplica ?? "";

    const truthAfter = await groupIdsOnInstances(scenario);
    note(`group_id after: ${[...truthAfter].map(([pod, id]) => `${pod}=${id}`).join(", ")}`);
    expect(new Set(truthAfter.values()), "every instance still has the same AG").to.deep.equal(new Set([groupIdBefore]));
    const primaries = (await podsOf(scenario, crName)).filter((pod) => roleLabelOf(pod) === "primary").map((pod) => pod.metadata?.name);
    expect(primaries, "exactly one pod labelled primary").to.deep.equal([primary]);

    expect(await hadrSecretIdentity(scenario), "the re-applied CR kept the same hadr Secret (uid, data)").to.deep.equal(secretBefore);

    await step("no CREATE AVAILABILITY GROUP, certificate or master key and no DROP on the new pods", async () => {
      for (const pod of podNames) {
        const statements = (await statementsWithTimesOn(scenario, pod)).filter((s) => s.atMs >= reappliedAtMs);
        const destructive = statements.filter((s) => /CREATE\s+(AVAILABILITY\s+GROUP|CERTIFICATE|MASTER\s+KEY)|DROP\s+(AVAILABILITY\s+GROUP|DATABASE|CERTIFICATE|ENDPOINT|MASTER\s+KEY|LOGIN)/i.test(s.text));
        expect(destructive.map((s) => s.text.slice(0, 120)), `creating/dropping statements on ${pod}`).to.deep.equal([]);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await workload.stop(faultAtMs, podNames.filter((pod) => pod !== primary), podNames);
  });
});
