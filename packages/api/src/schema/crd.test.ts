import { expect } from "chai";
import { parse } from "@marcbachmann/cel-js";
import { availabilityGroupCrd, allCrds, instanceCrd } from "./crd.js";
import type { CustomResourceDefinition } from "./crd.js";
import type { JsonSchemaProps } from "./openapi.js";

interface SchemaNode {
  path: string;
  node: JsonSchemaProps;
  /** Whether some ancestor is a list whose items the apiserver cannot correlate with the old object. */
  underUncorrelatedList: boolean;
}

function nodes(schema: JsonSchemaProps, path = "", underUncorrelatedList = false): SchemaNode[] {
  const out: SchemaNode[] = [{ path, node: schema, underUncorrelatedList }];
  for (const [key, child] of Object.entries(schema.properties ?? {})) out.push(...nodes(child, `${path}.${key}`, underUncorrelatedList));
  if (schema.additionalProperties !== undefined) out.push(...nodes(schema.additionalProperties, `${path}.*`, underUncorrelatedList));
  if (schema.items !== undefined) out.push(...nodes(schema.items, `${path}[]`, underUncorrelatedList || schema["x-kubernetes-list-type"] !== "map"));
  return out;
}

const crds: { name: string; crd: CustomResourceDefinition }[] = [
  { name: "SQLServerAvailabilityGroup", crd: availabilityGroupCrd() },
  { name: "SQLServerInstance", crd: instanceCrd() },
];

function schemaOf(crd: CustomResourceDefinition): JsonSchemaProps {
  const version = crd.spec.versions[0];
  if (version === undefined) throw new Error("no version");
  return version.schema.openAPIV3Schema;
}

describe("CRD definitions", () => {
  for (const { name, crd } of crds) {
    describe(name, () => {
      const all = nodes(schemaOf(crd));

      it("is namespaced v1alpha1 of sqlag.io, served and stored, with a status subresource and the sqlag-all category", () => {
        expect(crd.spec.group).to.equal("sqlag.io");
        expect(crd.spec.scope).to.equal("Namespaced");
        expect(crd.spec.names.categories).to.deep.equal(["sqlag-all"]);
        // A category equal to a short name would shadow it in kubectl.
        expect(crd.spec.names.categories).to.not.include.members(crd.spec.names.shortNames);
        expect(crd.spec.versions).to.have.length(1);
        expect(crd.spec.versions[0]).to.include({ name: "v1alpha1", served: true, storage: true });
        expect(crd.spec.versions[0]?.subresources).to.deep.equal({ status: {} });
        expect(crd.metadata.name).to.equal(`${crd.spec.names.plural}.sqlag.io`);
      });

      it("describes every field (kubectl explain shows these)", () => {
        const undocumented = all.filter(({ path, node }) => path !== "" && path !== ".metadata" && (node.description === undefined || node.description.trim().length < 5)).map(({ path }) => path);
        expect(undocumented).to.deep.equal([]);
      });

      it("states the default in the description of every defaulted scalar or list", () => {
        const silent = all
          .filter(({ node }) => node.default !== undefined && node.type !== "object" && !(node.description ?? "").includes("Default: "))
          .map(({ path }) => path);
        expect(silent).to.deep.equal([]);
      });

      it("bounds every string, list and map so the apiserver can estimate CEL cost", () => {
        const unbounded = all
          .filter(({ path, node }) => {
            if (path === ".metadata") return false;
            if (node.type === "string") return node.enum === undefined && node.maxLength === undefined;
            if (node.type === "array") return node.maxItems === undefined;
            if (node.type === "object" && node.additionalProperties !== undefined) return node.maxProperties === undefined;
            return false;
          })
          .map(({ path }) => path);
        expect(unbounded).to.deep.equal([]);
      });

      it("types everything (no preserve-unknown-fields) and keys map lists by required fields", () => {
        expect(all.filter(({ node }) => node["x-kubernetes-preserve-unknown-fields"] === true).map(({ path }) => path)).to.deep.equal([]);
        for (const { path, node } of all.filter(({ node }) => node["x-kubernetes-list-type"] === "map")) {
          const keys = node["x-kubernetes-list-map-keys"] ?? [];
          expect(keys.length, path).to.be.greaterThan(0);
          for (const key of keys) expect(node.items?.required ?? [], `${path} key ${key}`).to.include(key);
        }
      });

      it("writes every CEL rule and message expression in syntax the evaluator parses, with a message", () => {
        for (const { path, node } of all) {
          for (const rule of node["x-kubernetes-validations"] ?? []) {
            expect(() => parse(rule.rule), `${path}: ${rule.rule}`).to.not.throw();
            if (rule.messageExpression !== undefined) expect(() => parse(rule.messageExpression as string), `${path}: ${rule.messageExpression}`).to.not.throw();
            expect(rule.message.length, `${path}: ${rule.rule}`).to.be.greaterThan(10);
          }
        }
      });

      it("uses oldSelf only where the apiserver can correlate the old value", () => {
        const misplaced = all
          .filter(({ node, underUncorrelatedList }) => underUncorrelatedList && (node["x-kubernetes-validations"] ?? []).some((rule) => rule.rule.includes("oldSelf")))
          .map(({ path }) => path);
        expect(misplaced).to.deep.equal([]);
      });
    });
  }

  it("has the printer columns and short names users know from the existing operator", () => {
    const columns = (crd: CustomResourceDefinition) => crd.spec.versions[0]?.additionalPrinterColumns.map((c) => [c.name, c.type, c.jsonPath]);
    expect(availabilityGroupCrd().spec.names.shortNames).to.deep.equal(["sqlag"]);
    expect(instanceCrd().spec.names.shortNames).to.deep.equal(["sqli"]);
    expect(columns(availabilityGroupCrd())).to.deep.equal([
      ["Phase", "string", ".status.phase"],
      ["Primary", "string", ".status.primaryReplica"],
      ["Init", "boolean", ".status.initializationComplete"],
      ["Age", "date", ".metadata.creationTimestamp"],
    ]);
    expect(columns(instanceCrd())).to.deep.equal([
      ["Phase", "string", ".status.phase"],
      ["Ready", "integer", ".status.readyReplicas"],
      ["Image", "string", ".status.currentImage"],
      ["Age", "date", ".metadata.creationTimestamp"],
    ]);
  });

  it("writes one file per CRD under the names the install manifests reference", () => {
    expect(allCrds().map((entry) => entry.fileName)).to.deep.equal(["sqlag.io_sqlserveravailabilitygroups.yaml", "sqlag.io_sqlserverinstances.yaml"]);
  });
});
