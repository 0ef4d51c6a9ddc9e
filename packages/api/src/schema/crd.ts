/**
 * The two CustomResourceDefinitions, built from the schemas in this directory. This is the single source of
 * truth: `generate.ts` writes `crds/*.yaml` from it, and schema/drift.test.ts fails when the YAML or the
 * TypeScript types drift from it.
 */
import {
  API_GROUP,
  API_VERSION,
  KIND_AVAILABILITY_GROUP,
  KIND_INSTANCE,
  PLURAL_AVAILABILITY_GROUPS,
  PLURAL_INSTANCES,
} from "../types.js";
import type { JsonSchemaProps } from "./openapi.js";
import { objectProp, stringProp } from "./openapi.js";
import { availabilityGroupSpecSchema, availabilityGroupStatusSchema, MAX_AG_RESOURCE_NAME_LENGTH } from "./availability-group.js";
import { instanceSpecSchema, instanceStatusSchema } from "./instance.js";

export const SHORT_NAME_AVAILABILITY_GROUP = "sqlag";
export const SHORT_NAME_INSTANCE = "sqli";
/**
 * `kubectl get sqlag-all` lists both kinds. Not `sqlag`: kubectl resolves a category before a short name, so a
 * category named like the AG short name turns `kubectl get sqlag` into a two-kind listing and makes
 * `kubectl patch/edit sqlag <name>` fail with "you must specify only one resource" (seen on kube-apiserver 1.36).
 */
export const CRD_CATEGORY = "sqlag-all";
/** Longest SQLServerInstance name; same StatefulSet revision-label bound as for availability groups. */
export const MAX_INSTANCE_RESOURCE_NAME_LENGTH = 52;

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "boolean" | "date" | "number";
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: "Namespaced";
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JsonSchemaProps };
    }[];
  };
}

const AGE_COLUMN: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since the resource was created." };

function rootSchema(kind: string, description: string, spec: JsonSchemaProps, status: JsonSchemaProps, maxNameLength: number): JsonSchemaProps {
  return objectProp(
    description,
    {
      apiVersion: stringProp(`API version of this object: ${API_GROUP}/${API_VERSION}.`, { maxLength: 64 }),
      kind: stringProp(`Kind of this object: ${kind}.`, { maxLength: 64 }),
      // The apiserver forbids anything but `type` here (and name/generateName constraints): no description.
      metadata: { type: "object" },
      spec,
      status,
    },
    {
      required: ["spec"],
      rules: [
        {
          rule: `self.metadata.name.size() <= ${maxNameLength} && !self.metadata.name.contains('.')`,
          message: `metadata.name must be at most ${maxNameLength} characters without '.': it names the StatefulSet and its pods; choose a shorter name`,
        },
      ],
    },
  );
}

function crd(options: {
  kind: string;
  plural: string;
  shortName: string;
  columns: PrinterColumn[];
  schema: JsonSchemaProps;
}): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${options.plural}.${API_GROUP}`, labels: { "app.kubernetes.io/part-of": "sqlag" } },
    spec: {
      group: API_GROUP,
      names: {
        kind: options.kind,
        listKind: `${options.kind}List`,
        plural: options.plural,
        singular: options.kind.toLowerCase(),
        shortNames: [options.shortName],
        categories: [CRD_CATEGORY],
      },
      scope: "Namespaced",
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: options.columns,
          schema: { openAPIV3Schema: options.schema },
        },
      ],
    },
  };
}

export function availabilityGroupCrd(): CustomResourceDefinition {
  return crd({
    kind: KIND_AVAILABILITY_GROUP,
    plural: PLURAL_AVAILABILITY_GROUPS,
    shortName: SHORT_NAME_AVAILABILITY_GROUP,
    columns: [
      { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Lifecycle phase of the availability group." },
      { name: "Primary", type: "string", jsonPath: ".status.primaryReplica", description: "Pod that is the primary replica." },
      { name: "Init", type: "boolean", jsonPath: ".status.initializationComplete", description: "Whether the availability group has been created." },
      AGE_COLUMN,
    ],
    schema: rootSchema(
      KIND_AVAILABILITY_GROUP,
      "A SQL Server Always On availability group run by sqlag: a StatefulSet of SQL Server pods, each with an agent sidecar that manages membership and failover through a Kubernetes Lease.",
      availabilityGroupSpecSchema(),
      availabilityGroupStatusSchema(),
      MAX_AG_RESOURCE_NAME_LENGTH,
    ),
  });
}

export function instanceCrd(): CustomResourceDefinition {
  return crd({
    kind: KIND_INSTANCE,
    plural: PLURAL_INSTANCES,
    shortName: SHORT_NAME_INSTANCE,
    columns: [
      { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Lifecycle phase of the instance." },
      { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas", description: "Number of ready SQL Server pods." },
      { name: "Image", type: "string", jsonPath: ".status.currentImage", description: "SQL Server image in use." },
      AGE_COLUMN,
    ],
    schema: rootSchema(
      KIND_INSTANCE,
      "A standalone SQL Server instance for development and test, run by sqlag as a one-pod StatefulSet with the agent sidecar for health and metrics.",
      instanceSpecSchema(),
      instanceStatusSchema(),
      MAX_INSTANCE_RESOURCE_NAME_LENGTH,
    ),
  });
}

/** Both CRDs with the file name each is written to under `crds/`. */
export function allCrds(): { fileName: string; crd: CustomResourceDefinition }[] {
  return [availabilityGroupCrd(), instanceCrd()].map((definition) => ({
    fileName: `${API_GROUP}_${definition.spec.names.plural}.yaml`,
    crd: definition,
  }));
}
