/** The schema's defaults must say exactly what withDefaults() does, so `kubectl get -o yaml` tells the truth. */
import { expect } from "chai";
import type { SQLServerAvailabilityGroup, SQLServerInstance } from "../types.js";
import { withDefaults, withInstanceDefaults } from "../defaults.js";
import { availabilityGroupCrd, instanceCrd } from "./crd.js";
import type { CustomResourceDefinition } from "./crd.js";
import { applySchemaDefaults } from "./defaulting.js";
import { compatibilityManifest, minimalAvailabilityGroup, minimalInstance } from "./fixtures.js";
import type { JsonSchemaProps } from "./openapi.js";

function schemaOf(crd: CustomResourceDefinition): JsonSchemaProps {
  const version = crd.spec.versions[0];
  if (version === undefined) throw new Error("no version");
  return version.schema.openAPIV3Schema;
}
const agSchema = schemaOf(availabilityGroupCrd());
const instanceSchema = schemaOf(instanceCrd());

type Path = (string | number)[];

function get(value: unknown, path: Path): unknown {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/** Leaves (scalars and lists of scalars) present in `defaulted` but absent from `input`: what the schema added. */
function addedLeaves(defaulted: unknown, input: unknown, path: Path = []): Path[] {
  if (defaulted === null || typeof defaulted !== "object" || (Array.isArray(defaulted) && defaulted.every((v) => typeof v !== "object"))) {
    return input === undefined ? [path] : [];
  }
  return Object.entries(defaulted).flatMap(([key, child]) => {
    const step = Array.isArray(defaulted) ? Number(key) : key;
    return addedLeaves(child, get(input, [step]), [...path, step]);
  });
}

const name = (path: Path): string => path.map((step) => (typeof step === "number" ? `[${step}]` : `.${step}`)).join("");

describe("schema defaults agree with withDefaults()", () => {
  const agCases: { name: string; object: SQLServerAvailabilityGroup; minimumDefaults: number }[] = [
    { name: "minimal AG", object: minimalAvailabilityGroup(), minimumDefaults: 25 },
    { name: "compatibility manifest", object: compatibilityManifest(), minimumDefaults: 15 },
    {
      name: "clusterType NONE without failover settings",
      object: { ...minimalAvailabilityGroup(), spec: { ...minimalAvailabilityGroup().spec, clusterType: "NONE" } },
      minimumDefaults: 20,
    },
  ];
  for (const { name: caseName, object, minimumDefaults } of agCases) {
    it(`${caseName}: every value the schema fills in is the resolved value`, () => {
      const defaulted = applySchemaDefaults(agSchema, object);
      const resolved = withDefaults(object.spec);
      const added = addedLeaves(defaulted.spec, object.spec);
      expect(added.length).to.be.at.least(minimumDefaults);
      for (const path of added) expect(get(defaulted.spec, path), name(path)).to.deep.equal(get(resolved, path));
      expect(withDefaults(defaulted.spec)).to.deep.equal(resolved);
    });
  }

  it("leaves computed defaults to withDefaults: failoverMode and automaticFailover.enabled", () => {
    const defaulted = applySchemaDefaults(agSchema, minimalAvailabilityGroup());
    expect(defaulted.spec.replicas.map((r) => r.failoverMode)).to.deep.equal([undefined, undefined, undefined]);
    expect(defaulted.spec.automaticFailover).to.deep.equal({ failoverThresholdSeconds: 10, healthThreshold: "system" });
  });

  const instanceCases: { name: string; object: SQLServerInstance }[] = [
    { name: "minimal instance", object: minimalInstance() },
    { name: "instance with storage and port", object: { ...minimalInstance(), spec: { ...minimalInstance().spec, port: 14330, storage: { storageClassName: "fast" } } } },
  ];
  for (const { name: caseName, object } of instanceCases) {
    it(`${caseName}: every value the schema fills in is the resolved value`, () => {
      const defaulted = applySchemaDefaults(instanceSchema, object);
      const resolved = withInstanceDefaults(object.spec);
      const added = addedLeaves(defaulted.spec, object.spec);
      expect(added.length).to.be.at.least(10);
      for (const path of added) expect(get(defaulted.spec, path), name(path)).to.deep.equal(get(resolved, path));
      expect(withInstanceDefaults(defaulted.spec)).to.deep.equal(resolved);
    });
  }
});
