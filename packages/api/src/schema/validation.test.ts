import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import { availabilityGroupCrd, instanceCrd } from "./crd.js";
import { minimalInstance } from "./fixtures.js";
import type { JsonSchemaProps } from "./openapi.js";
import {
  acceptedAvailabilityGroupUpdates,
  invalidAvailabilityGroups,
  rejectedAvailabilityGroupUpdates,
  rejectedInstances,
  structurallyInvalidAvailabilityGroups,
  validAvailabilityGroups,
} from "./validation-cases.js";
import type { Violation } from "./validation-harness.js";
import { validateCustomResource } from "./validation-harness.js";

function schemaOf(definition: ReturnType<typeof availabilityGroupCrd>): JsonSchemaProps {
  const version = definition.spec.versions[0];
  if (version === undefined) throw new Error("CRD has no version");
  return version.schema.openAPIV3Schema;
}
const agSchema = schemaOf(availabilityGroupCrd());
const instanceSchema = schemaOf(instanceCrd());

const messages = (violations: Violation[]): string[] => violations.map((v) => v.message);

describe("CRD validation (structural schema + CEL rules)", () => {
  describe("accepts", () => {
    for (const { name, object } of validAvailabilityGroups) {
      it(name, () => {
        expect(validateCustomResource(agSchema, object)).to.deep.equal([]);
      });
    }

    it("a minimal SQLServerInstance", () => {
      expect(validateCustomResource(instanceSchema, minimalInstance())).to.deep.equal([]);
    });
  });

  describe("rejects invalid AGs with a message that says what to change", () => {
    for (const { name, object, messages: expected } of invalidAvailabilityGroups) {
      it(name, () => {
        const violations = validateCustomResource(agSchema, object);
        expect(violations.every((v) => v.source === "cel"), JSON.stringify(violations)).to.equal(true);
        expect(messages(violations)).to.deep.equal(expected);
      });
    }
  });

  describe("rejects structurally invalid AGs", () => {
    for (const { name, object, path, keyword } of structurallyInvalidAvailabilityGroups) {
      it(name, () => {
        const violations = validateCustomResource(agSchema, object);
        expect(violations.some((v) => v.source === "structural" && v.path === path && v.message.startsWith(keyword)), JSON.stringify(violations)).to.equal(true);
      });
    }
  });

  describe("updates (transition rules with oldSelf)", () => {
    for (const { name, object, messages: expected, old } of rejectedAvailabilityGroupUpdates) {
      it(`rejects: ${name}`, () => {
        expect(old).to.not.equal(undefined);
        expect(messages(validateCustomResource(agSchema, object, old))).to.deep.equal(expected);
      });
    }
    for (const { name, object, old } of acceptedAvailabilityGroupUpdates) {
      it(`accepts: ${name}`, () => {
        expect(validateCustomResource(agSchema, object, old)).to.deep.equal([]);
      });
    }
  });

  describe("SQLServerInstance", () => {
    for (const { name, object, messages: expected, old } of rejectedInstances) {
      it(`rejects: ${name}`, () => {
        expect(messages(validateCustomResource(instanceSchema, object, old))).to.deep.equal(expected);
      });
    }
  });

  describe("samples in manifests/samples", () => {
    const samplesDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../manifests/samples");
    const files = existsSync(samplesDir) ? readdirSync(samplesDir).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml") : [];
    it("every sqlag custom resource in the samples validates", () => {
      const failures: string[] = [];
      let checked = 0;
      for (const file of files) {
        for (const document of parseAllDocuments(readFileSync(join(samplesDir, file), "utf8"))) {
          const object = document.toJS() as { kind?: string } | null;
          const schema = object?.kind === "SQLServerAvailabilityGroup" ? agSchema : object?.kind === "SQLServerInstance" ? instanceSchema : undefined;
          if (schema === undefined) continue;
          checked += 1;
          const violations = validateCustomResource(schema, object);
          if (violations.length > 0) failures.push(`${file}: ${JSON.stringify(violations)}`);
        }
      }
      expect(failures).to.deep.equal([]);
      if (files.length > 0) expect(checked, "sqlag resources found in the samples").to.be.greaterThan(0);
    });
  });
});
