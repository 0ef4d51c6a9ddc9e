/**
 * Keeps the three descriptions of the API in step: the TypeScript types (types.ts), the schema (schema/*.ts)
 * and the committed YAML (crds/*.yaml). The fixtures below are typed `DeepRequired<…>`, so adding a field to a
 * type breaks compilation here until the fixture has it, and the key-by-key walk then fails until the schema
 * has it too (and the other way round).
 */
import { expect } from "chai";
import type {
  AgPhase,
  AvailabilityMode,
  ClusterType,
  Condition,
  Edition,
  FailoverMode,
  HealthThreshold,
  InstancePhase,
  ReclaimPolicy,
  ReplicaRole,
  ServiceType,
  SQLServerAvailabilityGroup,
  SQLServerAvailabilityGroupSpec,
  SQLServerAvailabilityGroupStatus,
  SQLServerInstanceSpec,
  SQLServerInstanceStatus,
  StorageSpec,
  Toleration,
  AgentSpec,
} from "../types.js";
import {
  ACCEPT_EULA_VALUES,
  AG_PHASES,
  AGENT_LOG_LEVELS,
  AVAILABILITY_MODES,
  CLUSTER_TYPES,
  CONDITION_STATUSES,
  EDITIONS,
  FAILOVER_MODES,
  HEALTH_THRESHOLDS,
  INSTANCE_PHASES,
  RECLAIM_POLICIES,
  REPLICA_ROLES,
  SERVICE_TYPES,
  TOLERATION_EFFECTS,
  TOLERATION_OPERATORS,
} from "../types.js";
import { availabilityGroupCrd, instanceCrd } from "./crd.js";
import { compatibilityManifest } from "./fixtures.js";
import { staleCrdFiles } from "./generate.js";
import type { JsonSchemaProps } from "./openapi.js";
import { validateCustomResource } from "./validation-harness.js";

type DeepRequired<T> = T extends (infer U)[] ? DeepRequired<U>[] : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;

const resources = { limits: { cpu: "2", memory: "4Gi" }, requests: { cpu: "500m", memory: "2Gi" } };
const storage: DeepRequired<StorageSpec> = { storageClassName: "fast", dataVolumeSize: "20Gi", accessModes: ["ReadWriteOnce"], reclaimPolicy: "Retain" };
const toleration: DeepRequired<Toleration> = { key: "dedicated", operator: "Equal", value: "sql", effect: "NoExecute", tolerationSeconds: 300 };
const agent: DeepRequired<AgentSpec> = { image: "ghcr.io/sqlag/agent:0.1.0", resources, logLevel: "debug" };
const condition: DeepRequired<Condition> = {
  type: "Reconciled",
  status: "True",
  reason: "Applied",
  message: "All objects are applied.",
  lastTransitionTime: "2026-01-01T00:00:00Z",
  observedGeneration: 3,
};

const fullAgSpec: DeepRequired<SQLServerAvailabilityGroupSpec> = {
  agName: "AG1",
  image: "mcr.microsoft.com/mssql/server:2025-latest",
  edition: "Enterprise",
  acceptEula: "Y",
  saPasswordSecretRef: { name: "mssql-secret", key: "SA_PASSWORD" },
  replicas: [
    { name: "primary", availabilityMode: "SynchronousCommit", failoverMode: "Automatic", readableSecondary: false },
    { name: "secondary-1", availabilityMode: "SynchronousCommit", failoverMode: "Automatic", readableSecondary: true },
    { name: "secondary-2", availabilityMode: "AsynchronousCommit", failoverMode: "Manual", readableSecondary: true },
  ],
  storage,
  mssqlConf: { "sqlagent.enabled": "true" },
  resources,
  endpointPort: 5022,
  clusterType: "EXTERNAL",
  automaticFailover: { enabled: true, failoverThresholdSeconds: 30, healthThreshold: "system" },
  listener: { name: "rw", port: 1433, serviceType: "LoadBalancer" },
  readOnlyListener: { name: "ro", port: 1433, serviceType: "ClusterIP" },
  nodeSelector: { "kubernetes.io/os": "linux" },
  tolerations: [toleration],
  databases: [{ name: "Sales" }],
  timing: {
    leaseDurationSeconds: 15,
    renewIntervalSeconds: 2,
    renewDeadlineSeconds: 5,
    sqlWriteLeaseSeconds: 8,
    healthCheckIntervalSeconds: 5,
    disablePrimaryOnQuorumTimeoutSeconds: 60,
  },
  requiredSynchronizedSecondariesToCommit: 1,
  clusterDomain: "cluster.local",
  terminationGracePeriodSeconds: 120,
  agent,
};

const fullAgStatus: DeepRequired<SQLServerAvailabilityGroupStatus> = {
  observedGeneration: 3,
  phase: "Running",
  primaryReplica: "mssql-ag-0",
  initializationComplete: true,
  groupId: "6f1c2b2e-0000-4000-8000-000000000001",
  epoch: 2,
  replicaStatuses: [
    {
      name: "primary",
      pod: "mssql-ag-0",
      role: "PRIMARY",
      availabilityMode: "SynchronousCommit",
      synchronizationHealth: "HEALTHY",
      connected: true,
      sequenceNumber: "4294967298",
      healthy: true,
      lastSeenTime: "2026-01-01T00:00:00Z",
    },
  ],
  databases: [{ name: "Sales", inAvailabilityGroup: true, replicas: [{ replica: "primary", synchronizationState: "SYNCHRONIZED" }] }],
  conditions: [condition],
};

const fullInstanceSpec: DeepRequired<SQLServerInstanceSpec> = {
  image: "mcr.microsoft.com/mssql/server:2025-latest",
  edition: "Developer",
  acceptEula: "y",
  saPasswordSecretRef: { name: "mssql-secret", key: "SA_PASSWORD" },
  storage,
  mssqlConf: { "memory.memorylimitmb": "2048" },
  resources,
  port: 1433,
  serviceType: "NodePort",
  timezone: "Etc/UTC",
  // valueFrom is typed loosely in types.ts; the fixture lists every source the schema knows.
  additionalEnvVars: [
    {
      name: "EXTRA",
      value: "1",
      valueFrom: {
        secretKeyRef: { name: "s", key: "k", optional: true },
        configMapKeyRef: { name: "c", key: "k", optional: false },
        fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" },
        resourceFieldRef: { containerName: "mssql", resource: "limits.memory", divisor: "1Mi" },
      },
    },
  ],
  nodeSelector: { "kubernetes.io/os": "linux" },
  tolerations: [toleration],
  clusterDomain: "cluster.local",
  terminationGracePeriodSeconds: 60,
  agent,
};

const fullInstanceStatus: DeepRequired<SQLServerInstanceStatus> = {
  observedGeneration: 1,
  phase: "Running",
  readyReplicas: 1,
  currentImage: "mcr.microsoft.com/mssql/server:2025-latest",
  serviceName: "mssql",
  conditions: [condition],
};

/** Differences between a fully populated value and a schema, walking both key by key. */
function drift(value: unknown, schema: JsonSchemaProps, path: string): string[] {
  const problems: string[] = [];
  if (schema.type === "array") {
    if (!Array.isArray(value) || value.length === 0) return [`${path}: schema has an array, the fixture has ${JSON.stringify(value)}`];
    for (const item of value) problems.push(...drift(item, schema.items ?? {}, `${path}[]`));
    return problems;
  }
  if (schema.type === "object") {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${path}: schema has an object, the fixture has ${JSON.stringify(value)}`];
    const record = value as Record<string, unknown>;
    if (schema.properties !== undefined) {
      for (const key of Object.keys(schema.properties)) if (!(key in record)) problems.push(`${path}.${key}: in the schema, not in the type`);
      for (const key of Object.keys(record)) if (!(key in schema.properties)) problems.push(`${path}.${key}: in the type, not in the schema`);
      for (const [key, child] of Object.entries(schema.properties)) if (key in record) problems.push(...drift(record[key], child, `${path}.${key}`));
    } else if (schema.additionalProperties !== undefined) {
      for (const [key, child] of Object.entries(record)) problems.push(...drift(child, schema.additionalProperties, `${path}.${key}`));
    } else {
      problems.push(`${path}: object schema without properties or additionalProperties`);
    }
    return problems;
  }
  const typeOk =
    schema.type === "string" ? typeof value === "string" : schema.type === "integer" ? Number.isInteger(value) : schema.type === "boolean" ? typeof value === "boolean" : false;
  if (!typeOk) problems.push(`${path}: schema type ${schema.type}, fixture value ${JSON.stringify(value)}`);
  if (schema.enum !== undefined && !schema.enum.includes(value as string)) problems.push(`${path}: ${JSON.stringify(value)} is not in the schema enum`);
  return problems;
}

function openApi(definition: ReturnType<typeof availabilityGroupCrd>): JsonSchemaProps {
  const version = definition.spec.versions[0];
  if (version === undefined) throw new Error("CRD has no version");
  return version.schema.openAPIV3Schema;
}
const agSchema = openApi(availabilityGroupCrd());
const instanceSchema = openApi(instanceCrd());

/** The schema node at a dotted path; `[]` steps into array items. */
function nodeAt(schema: JsonSchemaProps, path: string): JsonSchemaProps {
  let node: JsonSchemaProps | undefined = schema;
  for (const step of path.split(".")) {
    const isList = step.endsWith("[]");
    node = node?.properties?.[isList ? step.slice(0, -2) : step];
    if (isList) node = node?.items;
  }
  if (node === undefined) throw new Error(`no schema node at ${path}`);
  return node;
}

/*
 * One object per union, keyed by its members: TypeScript rejects a missing or extra key, so Object.keys is
 * exactly the union, and the test compares it with the exported list and the schema enum.
 */
const editions: Record<Edition, true> = { Developer: true, Express: true, Standard: true, Enterprise: true, EnterpriseCore: true };
const availabilityModes: Record<AvailabilityMode, true> = { SynchronousCommit: true, AsynchronousCommit: true, ConfigurationOnly: true };
const failoverModes: Record<FailoverMode, true> = { Automatic: true, Manual: true };
const clusterTypes: Record<ClusterType, true> = { EXTERNAL: true, NONE: true };
const healthThresholds: Record<HealthThreshold, true> = { system: true, resource: true, query_processing: true };
const serviceTypes: Record<ServiceType, true> = { ClusterIP: true, NodePort: true, LoadBalancer: true };
const reclaimPolicies: Record<ReclaimPolicy, true> = { Retain: true, Delete: true };
const acceptEula: Record<NonNullable<SQLServerAvailabilityGroupSpec["acceptEula"]>, true> = { Y: true, y: true };
const logLevels: Record<NonNullable<AgentSpec["logLevel"]>, true> = { error: true, warn: true, info: true, debug: true };
const tolerationOperators: Record<NonNullable<Toleration["operator"]>, true> = { Exists: true, Equal: true };
const tolerationEffects: Record<NonNullable<Toleration["effect"]>, true> = { NoSchedule: true, PreferNoSchedule: true, NoExecute: true };
const conditionStatuses: Record<Condition["status"], true> = { True: true, False: true, Unknown: true };
const agPhases: Record<AgPhase, true> = { Pending: true, Bootstrapping: true, Running: true, Degraded: true, Failed: true };
const replicaRoles: Record<ReplicaRole, true> = { PRIMARY: true, SECONDARY: true, RESOLVING: true, UNKNOWN: true };
const instancePhases: Record<InstancePhase, true> = { Pending: true, Running: true, Upgrading: true, Failed: true };

describe("schema drift", () => {
  describe("types and schema have the same fields", () => {
    const cases: { name: string; value: unknown; schema: JsonSchemaProps }[] = [
      { name: "SQLServerAvailabilityGroup spec", value: fullAgSpec, schema: nodeAt(agSchema, "spec") },
      { name: "SQLServerAvailabilityGroup status", value: fullAgStatus, schema: nodeAt(agSchema, "status") },
      { name: "SQLServerInstance spec", value: fullInstanceSpec, schema: nodeAt(instanceSchema, "spec") },
      { name: "SQLServerInstance status", value: fullInstanceStatus, schema: nodeAt(instanceSchema, "status") },
    ];
    for (const { name, value, schema } of cases) {
      it(name, () => {
        expect(drift(value, schema, name.split(" ")[1] ?? "")).to.deep.equal([]);
      });
    }

    it("the fully populated AG fixture is itself a valid resource", () => {
      const object = { apiVersion: "sqlag.io/v1alpha1", kind: "SQLServerAvailabilityGroup", metadata: { name: "full", namespace: "default" }, spec: fullAgSpec, status: fullAgStatus };
      expect(validateCustomResource(agSchema, object)).to.deep.equal([]);
    });
  });

  describe("enum lists match the types, the exported constants and the schema", () => {
    const cases: { name: string; union: Record<string, true>; exported: readonly string[]; schemaPaths: [JsonSchemaProps, string][] }[] = [
      { name: "Edition", union: editions, exported: EDITIONS, schemaPaths: [[agSchema, "spec.edition"], [instanceSchema, "spec.edition"]] },
      { name: "AvailabilityMode", union: availabilityModes, exported: AVAILABILITY_MODES, schemaPaths: [[agSchema, "spec.replicas[].availabilityMode"], [agSchema, "status.replicaStatuses[].availabilityMode"]] },
      { name: "FailoverMode", union: failoverModes, exported: FAILOVER_MODES, schemaPaths: [[agSchema, "spec.replicas[].failoverMode"]] },
      { name: "ClusterType", union: clusterTypes, exported: CLUSTER_TYPES, schemaPaths: [[agSchema, "spec.clusterType"]] },
      { name: "HealthThreshold", union: healthThresholds, exported: HEALTH_THRESHOLDS, schemaPaths: [[agSchema, "spec.automaticFailover.healthThreshold"]] },
      {
        name: "ServiceType",
        union: serviceTypes,
        exported: SERVICE_TYPES,
        schemaPaths: [[agSchema, "spec.listener.serviceType"], [agSchema, "spec.readOnlyListener.serviceType"], [instanceSchema, "spec.serviceType"]],
      },
      { name: "ReclaimPolicy", union: reclaimPolicies, exported: RECLAIM_POLICIES, schemaPaths: [[agSchema, "spec.storage.reclaimPolicy"], [instanceSchema, "spec.storage.reclaimPolicy"]] },
      { name: "acceptEula", union: acceptEula, exported: ACCEPT_EULA_VALUES, schemaPaths: [[agSchema, "spec.acceptEula"], [instanceSchema, "spec.acceptEula"]] },
      { name: "agent logLevel", union: logLevels, exported: AGENT_LOG_LEVELS, schemaPaths: [[agSchema, "spec.agent.logLevel"], [instanceSchema, "spec.agent.logLevel"]] },
      { name: "toleration operator", union: tolerationOperators, exported: TOLERATION_OPERATORS, schemaPaths: [[agSchema, "spec.tolerations[].operator"]] },
      { name: "toleration effect", union: tolerationEffects, exported: TOLERATION_EFFECTS, schemaPaths: [[agSchema, "spec.tolerations[].effect"]] },
      { name: "condition status", union: conditionStatuses, exported: CONDITION_STATUSES, schemaPaths: [[agSchema, "status.conditions[].status"], [instanceSchema, "status.conditions[].status"]] },
      { name: "AgPhase", union: agPhases, exported: AG_PHASES, schemaPaths: [[agSchema, "status.phase"]] },
      { name: "ReplicaRole", union: replicaRoles, exported: REPLICA_ROLES, schemaPaths: [[agSchema, "status.replicaStatuses[].role"]] },
      { name: "InstancePhase", union: instancePhases, exported: INSTANCE_PHASES, schemaPaths: [[instanceSchema, "status.phase"]] },
    ];
    for (const { name, union, exported, schemaPaths } of cases) {
      it(name, () => {
        const expected = Object.keys(union).sort();
        expect([...exported].sort(), "exported constant").to.deep.equal(expected);
        for (const [schema, path] of schemaPaths) expect([...(nodeAt(schema, path).enum ?? [])].sort(), path).to.deep.equal(expected);
      });
    }
  });

  it("the TypeScript types accept the compatibility manifest as written for the existing operator", () => {
    // Written out as a typed literal: if a field of that manifest had no place in the types, this would not compile.
    const typed: SQLServerAvailabilityGroup = {
      apiVersion: "sqlag.io/v1alpha1",
      kind: "SQLServerAvailabilityGroup",
      metadata: { name: "mssql-ag", namespace: "default" },
      spec: {
        acceptEula: "Y",
        agName: "AG1",
        automaticFailover: { enabled: true, failoverThresholdSeconds: 30, healthThreshold: "system" },
        clusterType: "EXTERNAL",
        edition: "Developer",
        endpointPort: 5022,
        image: "mcr.microsoft.com/mssql/server:2025-latest",
        listener: { name: "mssql-ag-listener", port: 1433, serviceType: "LoadBalancer" },
        mssqlConf: { "sqlagent.enabled": "true" },
        readOnlyListener: { name: "mssql-ag-listener-ro", port: 1433, serviceType: "LoadBalancer" },
        replicas: [
          { availabilityMode: "SynchronousCommit", failoverMode: "Automatic", name: "primary" },
          { availabilityMode: "SynchronousCommit", failoverMode: "Automatic", name: "secondary-1", readableSecondary: true },
          { availabilityMode: "AsynchronousCommit", failoverMode: "Manual", name: "secondary-2", readableSecondary: true },
        ],
        resources: { limits: { cpu: "2", memory: "4Gi" }, requests: { cpu: "500m", memory: "2Gi" } },
        saPasswordSecretRef: { key: "SA_PASSWORD", name: "mssql-ag-secret" },
        storage: { dataVolumeSize: "20Gi", reclaimPolicy: "Retain" },
      },
    };
    expect(compatibilityManifest()).to.deep.equal(typed);
  });

  it("the committed crds/*.yaml are what the generator produces (run `npm run generate:crds` if this fails)", () => {
    expect(staleCrdFiles(), "stale CRD files: run `npm run generate:crds` and commit crds/").to.deep.equal([]);
  });
});
