/**
 * The CRD schema and CEL rules on the real kube-apiserver (server-side dry-run): the samples and the
 * compatibility manifest are accepted, and every invalid variant of H1's named table (validation-cases.ts, the
 * same table the ajv + cel-js unit tests check) is rejected with exactly the message the table names. Running the
 * shared table here means the apiserver, its CEL cost limits and its defaulting are what is tested, not a copy.
 */
import { readdirSync } from "node:fs";
import { expect } from "chai";
import type { KubernetesObject } from "@kubernetes/client-node";
import { KIND_AVAILABILITY_GROUP, KIND_INSTANCE } from "@sqlag/api";
import { compatibilityManifest, minimalInstance } from "@sqlag/api/schema/fixtures";
import {
  acceptedAvailabilityGroupUpdates,
  invalidAvailabilityGroups,
  rejectedAvailabilityGroupUpdates,
  rejectedInstances,
  structurallyInvalidAvailabilityGroups,
  validAvailabilityGroups,
} from "@sqlag/api/schema/validation-cases";
import { apiStatus } from "../cluster/namespaces.js";
import { SqlagObjects } from "../support/custom-objects.js";
import { ensureSqlagInstalled } from "../support/install.js";
import { applyObject, inNamespace, readManifestFile, repoPath, serverMessage } from "../support/manifests.js";
import { useSpecFixture } from "../support/spec-fixture.js";
import { reportSpecWallTime } from "../support/step.js";

type Named = KubernetesObject & { metadata: { name: string; namespace?: string } };

let caseCounter = 0;
/** A copy in the spec namespace with a name unique to the case; a name that is itself under test (too long) stays. */
function forCase(object: object, namespace: string): Named {
  const copy = inNamespace(object as KubernetesObject, namespace) as Named;
  const name = copy.metadata.name;
  if (name.length <= 40) copy.metadata.name = `${name}-c${caseCounter++}`;
  return copy;
}

/** Runs the call and returns the apiserver's rejection (status + message); fails the test when it is accepted. */
async function rejection(call: () => Promise<unknown>): Promise<{ status: number | undefined; message: string }> {
  try {
    await call();
  } catch (error) {
    return { status: apiStatus(error), message: serverMessage(error) };
  }
  expect.fail("expected the apiserver to reject the object, it accepted it");
}

const sampleFiles = readdirSync(repoPath("manifests/samples"))
  .filter((file) => file.endsWith(".yaml") && file !== "kustomization.yaml")
  .sort();

describe("CRD validation on the real API server (server-side dry-run)", function () {
  reportSpecWallTime("crd-validation");
  const fixture = useSpecFixture("crd-validation");
  let objects: SqlagObjects;

  before(async function () {
    await ensureSqlagInstalled(fixture.kc);
    objects = new SqlagObjects(fixture.kc);
  });

  describe("accepted", function () {
    for (const file of sampleFiles) {
      it(`sample manifests/samples/${file} applies (SSA dry-run)`, async function () {
        const documents = readManifestFile(`manifests/samples/${file}`);
        expect(documents.length, "objects in the sample").to.be.greaterThan(0);
        for (const document of documents) {
          const applied = await applyObject(fixture.kc, inNamespace(document, fixture.namespace), { dryRun: true });
          expect(applied.metadata?.name).to.equal(document.metadata?.name);
        }
      });
    }

    it("the compatibility manifest (issue 2) is created unchanged apart from apiVersion, with defaults filled in", async function () {
      const stored = await objects.create(fixture.namespace, forCase(compatibilityManifest(), fixture.namespace), { dryRun: true, fieldValidation: "Strict" });
      expect(stored.kind).to.equal(KIND_AVAILABILITY_GROUP);
      expect((stored.spec as { agName?: string }).agName).to.equal("AG1");
    });

    for (const c of validAvailabilityGroups) {
      it(`AG: ${c.name}`, async function () {
        await objects.create(fixture.namespace, forCase(c.object, fixture.namespace), { dryRun: true, fieldValidation: "Strict" });
      });
    }

    it("instance: the minimal SQLServerInstance", async function () {
      const stored = await objects.create(fixture.namespace, forCase(minimalInstance(), fixture.namespace), { dryRun: true, fieldValidation: "Strict" });
      expect(stored.kind).to.equal(KIND_INSTANCE);
    });

    for (const c of acceptedAvailabilityGroupUpdates) {
      it(`AG update: ${c.name}`, async function () {
        const old = forCase(c.old, fixture.namespace);
        const stored = await objects.create(fixture.namespace, old);
        try {
          const updated = inNamespace(c.object as KubernetesObject, fixture.namespace) as Named;
          updated.metadata = { ...updated.metadata, name: old.metadata.name, resourceVersion: stored.metadata?.resourceVersion ?? "" };
          await objects.replace(fixture.namespace, updated, { dryRun: true, fieldValidation: "Strict" });
        } finally {
          await objects.delete(fixture.namespace, KIND_AVAILABILITY_GROUP, old.metadata.name);
        }
      });
    }
  });

  describe("rejected with the message the validation table names", function () {
    const createCases = [
      ...invalidAvailabilityGroups.map((c) => ({ label: `AG: ${c.name}`, ...c })),
      ...rejectedInstances.filter((c) => c.old === undefined).map((c) => ({ label: `instance: ${c.name}`, ...c })),
    ];
    for (const c of createCases) {
      it(c.label, async function () {
        const { status, message } = await rejection(() => objects.create(fixture.namespace, forCase(c.object, fixture.namespace), { dryRun: true }));
        expect(status, message).to.equal(422);
        for (const expected of c.messages) expect(message).to.contain(expected);
      });
    }

    const updateCases = [
      ...rejectedAvailabilityGroupUpdates.map((c) => ({ label: `AG update: ${c.name}`, ...c })),
      ...rejectedInstances.filter((c) => c.old !== undefined).map((c) => ({ label: `instance update: ${c.name}`, ...c })),
    ];
    for (const c of updateCases) {
      it(c.label, async function () {
        if (c.old === undefined) throw new Error(`update case "${c.name}" has no stored object`);
        const old = forCase(c.old, fixture.namespace);
        const stored = await objects.create(fixture.namespace, old);
        try {
          const updated = inNamespace(c.object as KubernetesObject, fixture.namespace) as Named;
          updated.metadata = { ...updated.metadata, name: old.metadata.name, resourceVersion: stored.metadata?.resourceVersion ?? "" };
          const { status, message } = await rejection(() => objects.replace(fixture.namespace, updated, { dryRun: true }));
          expect(status, message).to.equal(422);
          for (const expected of c.messages) expect(message).to.contain(expected);
        } finally {
          await objects.delete(fixture.namespace, old.kind ?? "", old.metadata.name);
        }
      });
    }

    for (const c of structurallyInvalidAvailabilityGroups) {
      it(`structural: ${c.name} (the apiserver words schema errors its own way; it must name the field)`, async function () {
        const object = forCase(c.object as object, fixture.namespace);
        const { status, message } = await rejection(() => objects.create(fixture.namespace, object, { dryRun: true, fieldValidation: "Strict" }));
        expect(status, message).to.be.oneOf([400, 422]);
        const leaf = c.path.split(".").at(-1) ?? c.path;
        const field = leaf === "spec" ? "spec" : leaf;
        expect(message).to.contain(field);
      });
    }

    it("covers at least 20 invalid variants", function () {
      expect(createCases.length + updateCases.length + structurallyInvalidAvailabilityGroups.length).to.be.at.least(20);
    });
  });
});
