import { expect } from "chai";
import type { V1StatefulSet } from "@kubernetes/client-node";
import { API_GROUP_VERSION, type Condition, type SQLServerAvailabilityGroup, type SQLServerInstance } from "@sqlag/api";
import { FakeApiError, FakeClock } from "@sqlag/testkit";
import * as renderers from "../render/index.js";
import { FakeClusterClient } from "./fake-cluster-client.js";
import { instanceStatusFromStatefulSet, reconcileAvailabilityGroup, reconcileInstance, type ReconcileDeps } from "./reconcile.js";

function ag(overrides: Partial<SQLServerAvailabilityGroup["spec"]> = {}, status?: SQLServerAvailabilityGroup["status"]): SQLServerAvailabilityGroup {
  const cr: SQLServerAvailabilityGroup = {
    apiVersion: API_GROUP_VERSION,
    kind: "SQLServerAvailabilityGroup",
    metadata: { name: "mssql-ag", namespace: "db", uid: "uid-ag", generation: 3 },
    spec: {
      agName: "AG1",
      saPasswordSecretRef: { name: "mssql-ag-secret", key: "SA_PASSWORD" },
      replicas: [
        { name: "primary", availabilityMode: "SynchronousCommit", failoverMode: "Automatic" },
        { name: "secondary-1", availabilityMode: "SynchronousCommit", failoverMode: "Automatic", readableSecondary: true },
        { name: "secondary-2", availabilityMode: "AsynchronousCommit", failoverMode: "Manual", readableSecondary: true },
      ],
      ...overrides,
    },
  };
  if (status !== undefined) cr.status = status;
  return cr;
}

function instance(status?: SQLServerInstance["status"]): SQLServerInstance {
  const cr: SQLServerInstance = {
    apiVersion: API_GROUP_VERSION,
    kind: "SQLServerInstance",
    metadata: { name: "dev", namespace: "db", uid: "uid-i", generation: 1 },
    spec: { saPasswordSecretRef: { name: "dev-sa", key: "password" }, image: "mcr.microsoft.com/mssql/server:2022-latest" },
  };
  if (status !== undefined) cr.status = status;
  return cr;
}

function deps(client: FakeClusterClient): ReconcileDeps {
  let n = 0;
  return { client, renderers, clock: new FakeClock(), randomSecret: () => `secret-${++n}`, requestTimeoutMs: 1_000 };
}

function reconciled(status: Record<string, unknown> | undefined): Condition | undefined {
  return (status?.conditions as Condition[] | undefined)?.find((c) => c.type === "Reconciled");
}

describe("reconcileAvailabilityGroup", () => {
  it("happy path: creates the once-objects, applies the rest, reports Reconciled=True and one Normal event", async () => {
    const client = new FakeClusterClient().withSecret("db", "mssql-ag-secret", ["SA_PASSWORD"]);
    const outcome = await reconcileAvailabilityGroup(ag(), deps(client));
    expect(outcome).to.deep.include({ result: "success", requeue: "none", reason: "ReconcileSucceeded" });
    expect(client.created.map((o) => o.kind).sort()).to.deep.equal(["Lease", "Secret"]);
    expect(client.applied.map((o) => o.kind)).to.include.members(["StatefulSet", "Service", "ConfigMap", "ServiceAccount", "Role", "RoleBinding", "PodDisruptionBudget"]);
    for (const obj of [...client.applied, ...client.created]) {
      // The hadr Secret outlives the CR while the volumes are retained (the default), ADR 0006.
      if (obj.kind === "Secret") continue;
      expect(obj.metadata?.ownerReferences?.[0], `${obj.kind} ${obj.metadata?.name}`).to.deep.include({ kind: "SQLServerAvailabilityGroup", uid: "uid-ag", controller: true });
    }
    expect(client.created.find((o) => o.kind === "Secret")?.metadata?.ownerReferences, "retained hadr Secret").to.equal(undefined);
    expect(client.statusPatches).to.have.length(1);
    const patch = client.statusPatches[0];
    expect(patch?.ref).to.deep.equal({ group: "sqlag.io", version: "v1alpha1", kind: "SQLServerAvailabilityGroup", plural: "sqlserveravailabilitygroups", namespace: "db", name: "mssql-ag" });
    expect(Object.keys(patch?.status ?? {}).sort()).to.deep.equal(["conditions", "observedGeneration"]);
    expect(patch?.status.observedGeneration).to.equal(3);
    expect(reconciled(patch?.status)).to.deep.include({ status: "True", reason: "ReconcileSucceeded", observedGeneration: 3, lastTransitionTime: "2026-01-01T00:00:00Z" });
    expect(client.events.map((e) => [e.type, e.reason])).to.deep.equal([["Normal", "ReconcileSucceeded"]]);
  });

  it("writes no status and no event when nothing changed", async () => {
    const client = new FakeClusterClient().withSecret("db", "mssql-ag-secret", ["SA_PASSWORD"]);
    const first = new FakeClusterClient().withSecret("db", "mssql-ag-secret", ["SA_PASSWORD"]);
    await reconcileAvailabilityGroup(ag(), deps(first));
    const status = first.statusPatches[0]?.status as SQLServerAvailabilityGroup["status"];
    await reconcileAvailabilityGroup(ag({}, { ...status, phase: "Running" }), deps(client));
    expect(client.statusPatches).to.have.length(0);
    expect(client.events).to.have.length(0);
    expect(client.applied.length).to.be.greaterThan(0);
  });

  const failures: { name: string; setup: (c: FakeClusterClient) => void; cr?: SQLServerAvailabilityGroup; result: string; reason: string; requeue: string; message: RegExp }[] = [
    { name: "missing secret", setup: () => undefined, result: "secret_not_found", reason: "SecretNotFound", requeue: "backoff", message: /Secret db\/mssql-ag-secret .* does not exist\. Create it .*kubectl -n db create secret generic mssql-ag-secret --from-literal=SA_PASSWORD=/ },
    { name: "missing key", setup: (c) => c.withSecret("db", "mssql-ag-secret", ["password"]), result: "secret_key_not_found", reason: "SecretKeyNotFound", requeue: "backoff", message: /has no key "SA_PASSWORD"/ },
    { name: "unreadable secret (403)", setup: (c) => c.secretFailures.push(new FakeApiError(403, "Forbidden")), result: "error", reason: "SecretUnreadable", requeue: "backoff", message: /403 Forbidden/ },
    {
      name: "bad spec",
      setup: (c) => c.withSecret("db", "mssql-ag-secret", ["SA_PASSWORD"]),
      cr: ag({ mssqlConf: { "hadr.hadrenabled": "0" } }),
      result: "invalid_spec",
      reason: "InvalidSpec",
      requeue: "none",
      message: /^The spec cannot be rendered: /,
    },
    { name: "apply error", setup: (c) => { c.withSecret("db", "mssql-ag-secret", ["SA_PASSWORD"]); c.applyFailures.push(FakeApiError.invalid("x")); }, result: "error", reason: "ApplyFailed", requeue: "backoff", message: /Applying \w+ db\/[\w-]+ failed \(Kubernetes API answered 400 BadRequest\)/ },
  ];
  for (const c of failures) {
    it(`${c.name}: Reconciled=False with the fix, a Warning event, requeue ${c.requeue}`, async () => {
      const client = new FakeClusterClient();
      c.setup(client);
      const outcome = await reconcileAvailabilityGroup(c.cr ?? ag(), deps(client));
      expect(outcome).to.deep.include({ result: c.result, reason: c.reason, requeue: c.requeue });
      expect(outcome.message).to.match(c.message);
      const condition = reconciled(client.statusPatches[0]?.status);
      expect(condition).to.deep.include({ status: "False", reason: c.reason, message: outcome.message });
      expect(client.events).to.deep.equal([{ target: { apiVersion: "sqlag.io/v1alpha1", kind: "SQLServerAvailabilityGroup", name: "mssql-ag", namespace: "db", uid: "uid-ag" }, type: "Warning", reason: c.reason, message: outcome.message }]);
      if (c.result !== "error") expect(client.applied).to.have.length(0);
    });
  }

  it("an invalid spec never reaches the renderer or the API", async () => {
    const client = new FakeClusterClient().withSecret("db", "mssql-ag-secret", ["SA_PASSWORD"]);
    let rendered = false;
    const d = deps(client);
    d.renderers = { ...renderers, validateAvailabilityGroup: () => ["Rename replica x; it is used twice."], renderAvailabilityGroup: (cr, ctx) => { rendered = true; return renderers.renderAvailabilityGroup(cr, ctx); } };
    const outcome = await reconcileAvailabilityGroup(ag(), d);
    expect(outcome.message).to.equal("The spec cannot be rendered: Rename replica x; it is used twice.");
    expect(rendered).to.equal(false);
    expect(client.applied).to.have.length(0);
  });

  it("a status write failure after a successful apply is retried with backoff", async () => {
    const client = new FakeClusterClient().withSecret("db", "mssql-ag-secret", ["SA_PASSWORD"]);
    client.statusFailures.push(FakeApiError.serverError());
    const outcome = await reconcileAvailabilityGroup(ag(), deps(client));
    expect(outcome).to.deep.include({ result: "error", reason: "StatusUpdateFailed", requeue: "backoff" });
  });

  it("keeps lastTransitionTime while the status stays False, and emits no second event for the same reason", async () => {
    const previous: Condition = { type: "Reconciled", status: "False", reason: "SecretNotFound", message: "old", lastTransitionTime: "2025-06-01T00:00:00Z", observedGeneration: 3 };
    const client = new FakeClusterClient();
    await reconcileAvailabilityGroup(ag({}, { observedGeneration: 3, conditions: [previous] }), deps(client));
    expect(reconciled(client.statusPatches[0]?.status)?.lastTransitionTime).to.equal("2025-06-01T00:00:00Z");
    expect(client.events).to.have.length(0);
  });

  it("does nothing for a CR being deleted", async () => {
    const client = new FakeClusterClient();
    const cr = ag();
    cr.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    expect((await reconcileAvailabilityGroup(cr, deps(client))).result).to.equal("skipped_deleting");
    expect(client.statusPatches).to.have.length(0);
  });
});

function sts(image: string, status: V1StatefulSet["status"], generation = 1): V1StatefulSet {
  return {
    metadata: { name: "dev", namespace: "db", generation },
    spec: { replicas: 1, serviceName: "dev-hl", selector: {}, template: { spec: { containers: [{ name: "mssql", image }] } } },
    ...(status !== undefined ? { status } : {}),
  };
}

describe("reconcileInstance", () => {
  it("happy path writes the controller-owned instance status and the Available condition", async () => {
    const client = new FakeClusterClient().withSecret("db", "dev-sa", ["password"]);
    const image = "mcr.microsoft.com/mssql/server:2022-latest";
    const outcome = await reconcileInstance(instance(), sts(image, { replicas: 1, readyReplicas: 1, observedGeneration: 1, currentRevision: "r1", updateRevision: "r1", updatedReplicas: 1 }), deps(client));
    expect(outcome.result).to.equal("success");
    const status = client.statusPatches[0]?.status ?? {};
    expect(status).to.deep.include({ phase: "Running", readyReplicas: 1, currentImage: image, serviceName: "dev", observedGeneration: 1 });
    const available = (status.conditions as Condition[]).find((c) => c.type === "Available");
    expect(available).to.deep.include({ status: "True", reason: "PodReady" });
  });

  it("missing secret on an instance is reported the same way", async () => {
    const client = new FakeClusterClient();
    const outcome = await reconcileInstance(instance(), undefined, deps(client));
    expect(outcome).to.deep.include({ result: "secret_not_found", requeue: "backoff" });
    expect(client.events[0]?.target.kind).to.equal("SQLServerInstance");
  });
});

describe("instanceStatusFromStatefulSet", () => {
  const image = "mcr.microsoft.com/mssql/server:2022-latest";
  const done = { replicas: 1, readyReplicas: 1, observedGeneration: 1, currentRevision: "r1", updateRevision: "r1", updatedReplicas: 1 };
  const cases: { name: string; sts: V1StatefulSet | undefined; previousImage?: string; phase: string; ready: number; currentImage: string | undefined; available: string }[] = [
    { name: "no StatefulSet yet", sts: undefined, phase: "Pending", ready: 0, currentImage: undefined, available: "False" },
    { name: "created, pod not ready", sts: sts(image, { replicas: 1, readyReplicas: 0, observedGeneration: 1, currentRevision: "r1", updateRevision: "r1", updatedReplicas: 1 }), phase: "Pending", ready: 0, currentImage: image, available: "False" },
    { name: "running", sts: sts(image, done), phase: "Running", ready: 1, currentImage: image, available: "True" },
    { name: "template image differs from the spec (not yet applied)", sts: sts("mcr.microsoft.com/mssql/server:2019-latest", done), phase: "Upgrading", ready: 1, currentImage: "mcr.microsoft.com/mssql/server:2019-latest", available: "True" },
    { name: "rollout in progress keeps the previous image", sts: sts(image, { ...done, updateRevision: "r2", updatedReplicas: 0 }, 2), previousImage: "old:1", phase: "Upgrading", ready: 1, currentImage: "old:1", available: "True" },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cr = instance(c.previousImage !== undefined ? { currentImage: c.previousImage } : undefined);
      const observed = instanceStatusFromStatefulSet(cr, c.sts);
      expect({ phase: observed.phase, ready: observed.readyReplicas, currentImage: observed.currentImage, available: observed.available.status }).to.deep.equal({
        phase: c.phase,
        ready: c.ready,
        currentImage: c.currentImage,
        available: c.available,
      });
    });
  }
});
