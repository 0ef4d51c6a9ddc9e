/**
 * Named validation cases for both kinds, with the exact message each rejection must produce. The unit tests
 * evaluate them against the schema with ajv + cel-js (validation.test.ts); an apiserver-level test can replay
 * the same tables with server-side dry-run against the real CRDs.
 */
import type { SQLServerAvailabilityGroup, SQLServerAvailabilityGroupSpec, SQLServerInstance, SQLServerInstanceSpec } from "../types.js";
import { compatibilityManifest, minimalAvailabilityGroup, minimalInstance } from "./fixtures.js";

export interface AcceptedCase<T> {
  name: string;
  object: T;
}
export interface RejectedCase<T> {
  name: string;
  object: T;
  /** Every message the CEL rules produce, in schema order. */
  messages: string[];
  /** For updates: the stored object. */
  old?: T;
}
export interface StructuralCase {
  name: string;
  object: unknown;
  /** Dotted path of the offending field and the start of ajv's message. */
  path: string;
  keyword: string;
}

export const REORDER_MESSAGE =
  "replicas may only be appended or removed at the end of the list: pod <name>-<i> runs the i-th replica, so keep existing entries in place with their names (do not rename or reorder)";

/** The compatibility manifest with `edit` applied to a copy of its spec. */
function ag(edit: (spec: SQLServerAvailabilityGroupSpec) => void): SQLServerAvailabilityGroup {
  const manifest = compatibilityManifest();
  edit(manifest.spec);
  return manifest;
}
function instance(edit: (spec: SQLServerInstanceSpec) => void): SQLServerInstance {
  const manifest = minimalInstance();
  edit(manifest.spec);
  return manifest;
}
const replica = (name: string, availabilityMode?: "SynchronousCommit" | "AsynchronousCommit" | "ConfigurationOnly", failoverMode?: "Automatic" | "Manual") => ({
  name,
  ...(availabilityMode !== undefined ? { availabilityMode } : {}),
  ...(failoverMode !== undefined ? { failoverMode } : {}),
});

export const validAvailabilityGroups: AcceptedCase<SQLServerAvailabilityGroup>[] = [
  { name: "the compatibility manifest of the existing operator (only apiVersion changed)", object: compatibilityManifest() },
  { name: "a minimal AG that relies on defaults", object: minimalAvailabilityGroup() },
  {
    name: "a clusterType NONE AG that omits failoverMode (the existing operator's defaulting trap)",
    object: ag((spec) => {
      spec.clusterType = "NONE";
      delete spec.automaticFailover;
      spec.replicas = [replica("a"), replica("b", "AsynchronousCommit")];
    }),
  },
  {
    name: "two synchronous replicas plus a ConfigurationOnly witness",
    object: ag((spec) => {
      spec.replicas = [replica("a"), replica("b"), replica("witness", "ConfigurationOnly")];
    }),
  },
  {
    name: "five synchronous replicas, one asynchronous and the maximum override of required secondaries",
    object: ag((spec) => {
      spec.replicas = ["a", "b", "c", "d", "e"].map((n) => replica(n, "SynchronousCommit")).concat([replica("f", "AsynchronousCommit")]);
      spec.requiredSynchronizedSecondariesToCommit = 4;
    }),
  },
  {
    name: "custom timing that keeps the fencing inequality",
    object: ag((spec) => {
      spec.timing = { leaseDurationSeconds: 30, renewIntervalSeconds: 3, renewDeadlineSeconds: 10, sqlWriteLeaseSeconds: 18, healthCheckIntervalSeconds: 10 };
    }),
  },
  {
    name: "databases, tolerations, node selector and a custom cluster domain",
    object: ag((spec) => {
      spec.databases = [{ name: "Sales" }, { name: "_audit_2024" }];
      spec.tolerations = [{ key: "dedicated", operator: "Equal", value: "sql", effect: "NoSchedule" }];
      spec.nodeSelector = { "kubernetes.io/os": "linux" };
      spec.clusterDomain = "corp.example";
    }),
  },
];

export const invalidAvailabilityGroups: RejectedCase<SQLServerAvailabilityGroup>[] = [
  {
    name: "agName starting with a digit",
    object: ag((spec) => (spec.agName = "1AG")),
    messages: ["agName must be a SQL identifier: start with a letter or underscore, then letters, digits or underscores only (e.g. AG1)"],
  },
  {
    name: "agName with a bracket-quoting hazard",
    object: ag((spec) => (spec.agName = "AG1]; DROP DATABASE x; --")),
    messages: ["agName must be a SQL identifier: start with a letter or underscore, then letters, digits or underscores only (e.g. AG1)"],
  },
  {
    name: "duplicate replica names",
    object: ag((spec) => (spec.replicas = [replica("a"), replica("b"), replica("a", "AsynchronousCommit")])),
    messages: ["replica names must be unique: rename the duplicate replica"],
  },
  {
    name: "a replica name that is not a DNS label",
    object: ag((spec) => (spec.replicas = [replica("Primary_1"), replica("b")])),
    messages: ["replica name must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. secondary-1)"],
  },
  {
    name: "six synchronous replicas",
    object: ag((spec) => (spec.replicas = ["a", "b", "c", "d", "e", "f"].map((n) => replica(n)))),
    messages: ["at most 5 replicas may be SynchronousCommit (SQL Server's limit, primary included): make the others AsynchronousCommit"],
  },
  {
    name: "two ConfigurationOnly replicas",
    object: ag((spec) => (spec.replicas = [replica("a"), replica("b"), replica("w1", "ConfigurationOnly"), replica("w2", "ConfigurationOnly")])),
    messages: ["at most one replica may be ConfigurationOnly: make the others SynchronousCommit or AsynchronousCommit, or remove them"],
  },
  {
    name: "no synchronous replica",
    object: ag((spec) => (spec.replicas = [replica("a", "AsynchronousCommit"), replica("b", "AsynchronousCommit")])),
    messages: ["at least one replica must be SynchronousCommit (the primary is synchronous): set availabilityMode: SynchronousCommit on one replica"],
  },
  {
    name: "an asynchronous replica with automatic failover",
    object: ag((spec) => (spec.replicas = [replica("a"), replica("b"), replica("c", "AsynchronousCommit", "Automatic")])),
    messages: ["replica c is AsynchronousCommit and cannot have failoverMode Automatic: set failoverMode: Manual or make it SynchronousCommit"],
  },
  {
    name: "a ConfigurationOnly replica with automatic failover",
    object: ag((spec) => (spec.replicas = [replica("a"), replica("b"), replica("w", "ConfigurationOnly", "Automatic")])),
    messages: ["replica w is ConfigurationOnly and cannot have failoverMode Automatic: set failoverMode: Manual or make it SynchronousCommit"],
  },
  {
    name: "a readable ConfigurationOnly replica",
    object: ag((spec) => (spec.replicas = [replica("a"), replica("b"), { ...replica("w", "ConfigurationOnly"), readableSecondary: true }])),
    messages: ["replica w is ConfigurationOnly, holds no databases and cannot be readable: remove readableSecondary or set it to false"],
  },
  {
    name: "clusterType NONE with an Automatic replica",
    object: ag((spec) => {
      spec.clusterType = "NONE";
      spec.automaticFailover = { enabled: false };
    }),
    messages: ["clusterType NONE supports manual failover only: set failoverMode: Manual (or omit it) on every replica, or use clusterType: EXTERNAL"],
  },
  {
    name: "clusterType NONE with a ConfigurationOnly replica",
    object: ag((spec) => {
      spec.clusterType = "NONE";
      delete spec.automaticFailover;
      spec.replicas = [replica("a"), replica("b"), replica("w", "ConfigurationOnly")];
    }),
    messages: ["a ConfigurationOnly replica needs clusterType EXTERNAL: remove it or use clusterType: EXTERNAL"],
  },
  {
    name: "clusterType NONE with automatic failover enabled",
    object: ag((spec) => {
      spec.clusterType = "NONE";
      spec.replicas = [replica("a"), replica("b")];
    }),
    messages: ["clusterType NONE has no automatic failover: set automaticFailover.enabled: false (or omit it), or use clusterType: EXTERNAL"],
  },
  {
    name: "failoverThresholdSeconds below 10",
    object: ag((spec) => (spec.automaticFailover = { enabled: true, failoverThresholdSeconds: 5 })),
    messages: ["automaticFailover.failoverThresholdSeconds must be at least 10: raise it to 10 or more"],
  },
  {
    name: "endpointPort equal to the SQL port",
    object: ag((spec) => (spec.endpointPort = 1433)),
    messages: ["endpointPort must differ from 1433, the SQL Server client port: use e.g. 5022"],
  },
  {
    name: "endpointPort out of range",
    object: ag((spec) => (spec.endpointPort = 70000)),
    messages: ["endpointPort must be between 1 and 65535"],
  },
  {
    name: "listener port 0",
    object: ag((spec) => (spec.listener = { name: "rw", port: 0 })),
    messages: ["listener.port must be between 1 and 65535"],
  },
  {
    name: "readOnlyListener port above 65535",
    object: ag((spec) => (spec.readOnlyListener = { name: "ro", port: 65536 })),
    messages: ["readOnlyListener.port must be between 1 and 65535"],
  },
  {
    name: "listener and readOnlyListener with the same name",
    object: ag((spec) => (spec.readOnlyListener = { name: "mssql-ag-listener" })),
    messages: ["listener and readOnlyListener need different names: rename one of them"],
  },
  {
    name: "secret ref without a name",
    object: ag((spec) => (spec.saPasswordSecretRef = { name: "", key: "SA_PASSWORD" })),
    messages: ["saPasswordSecretRef.name is empty: set it to the name of the Secret that holds the SA password"],
  },
  {
    name: "secret ref without a key",
    object: ag((spec) => (spec.saPasswordSecretRef = { name: "mssql-ag-secret", key: "" })),
    messages: ["saPasswordSecretRef.key is empty: set it to the Secret key that holds the SA password, e.g. SA_PASSWORD"],
  },
  {
    name: "a SQL write lease too long for the Kubernetes lease",
    object: ag((spec) => (spec.timing = { sqlWriteLeaseSeconds: 10 })),
    messages: [
      "timing must satisfy sqlWriteLeaseSeconds + renewDeadlineSeconds + 2 <= leaseDurationSeconds so a fenced primary stops writing before another is promoted: lower sqlWriteLeaseSeconds or renewDeadlineSeconds, or raise leaseDurationSeconds",
    ],
  },
  {
    name: "a renew interval as long as the renew deadline",
    object: ag((spec) => (spec.timing = { renewIntervalSeconds: 5 })),
    messages: [
      "timing must satisfy renewIntervalSeconds < renewDeadlineSeconds < leaseDurationSeconds: adjust these so the lease is renewed several times before it can expire",
    ],
  },
  {
    name: "a health check interval below 5 seconds",
    object: ag((spec) => (spec.timing = { healthCheckIntervalSeconds: 3 })),
    messages: ["timing.healthCheckIntervalSeconds must be at least 5 (sp_server_diagnostics' minimum repeat interval): raise it"],
  },
  {
    name: "a database name that is not an identifier",
    object: ag((spec) => (spec.databases = [{ name: "sales-db" }])),
    messages: ["database name must be a SQL identifier: start with a letter or underscore, then letters, digits or underscores only"],
  },
  {
    name: "a database listed twice",
    object: ag((spec) => (spec.databases = [{ name: "Sales" }, { name: "Sales" }])),
    messages: ["database names must be unique: remove the duplicate entry"],
  },
  {
    name: "more required synchronized secondaries than synchronous secondaries",
    object: ag((spec) => (spec.requiredSynchronizedSecondariesToCommit = 2)),
    messages: ["requiredSynchronizedSecondariesToCommit must be between 0 and the number of SynchronousCommit replicas minus one: lower it, or omit it to use the computed value"],
  },
  {
    name: "a cluster domain with upper case and underscores",
    object: ag((spec) => (spec.clusterDomain = "Cluster_Local")),
    messages: ["clusterDomain must be a DNS domain of lowercase letters, digits, '-' and '.', e.g. cluster.local"],
  },
  {
    name: "a resource name too long for the StatefulSet's pods",
    object: { ...compatibilityManifest(), metadata: { name: "a".repeat(53), namespace: "default" } },
    messages: ["metadata.name must be at most 52 characters without '.': it names the StatefulSet and its pods; choose a shorter name"],
  },
  {
    name: "an image reference with a space",
    object: ag((spec) => (spec.image = "mssql server")),
    messages: ["image must be a non-empty image reference without spaces, e.g. mcr.microsoft.com/mssql/server:2025-latest"],
  },
];

export const structurallyInvalidAvailabilityGroups: StructuralCase[] = [
  { name: "ten replicas", object: ag((spec) => (spec.replicas = [..."abcdefghij"].map((n) => replica(n, "AsynchronousCommit")))), path: "spec.replicas", keyword: "must NOT have more than 9 items" },
  { name: "no replicas", object: ag((spec) => (spec.replicas = [])), path: "spec.replicas", keyword: "must NOT have fewer than 1 items" },
  { name: "an unknown edition", object: ag((spec) => ((spec as { edition: string }).edition = "Datacenter")), path: "spec.edition", keyword: "must be equal to one of the allowed values" },
  { name: "a misspelled field", object: ag((spec) => Object.assign(spec, { replica: [] })), path: "spec", keyword: "must NOT have additional properties" },
  { name: "a missing agName", object: ag((spec) => delete (spec as Partial<SQLServerAvailabilityGroupSpec>).agName), path: "spec", keyword: "must have required property 'agName'" },
  { name: "a non-quantity volume size", object: ag((spec) => (spec.storage = { dataVolumeSize: "20 GB" })), path: "spec.storage.dataVolumeSize", keyword: "must match pattern" },
  { name: "an agName longer than 128", object: ag((spec) => (spec.agName = "A".repeat(129))), path: "spec.agName", keyword: "must NOT have more than 128 characters" },
];

/** Updates of the compatibility manifest (the stored object) that must be rejected. */
export const rejectedAvailabilityGroupUpdates: RejectedCase<SQLServerAvailabilityGroup>[] = [
  { name: "agName changed", object: ag((spec) => (spec.agName = "AG2")), messages: ["agName is immutable: renaming an availability group needs a new resource; keep the previous value"] },
  {
    name: "clusterType changed",
    object: ag((spec) => {
      spec.clusterType = "NONE";
      spec.automaticFailover = { enabled: false };
      spec.replicas = spec.replicas.map((r) => ({ ...r, failoverMode: "Manual" }));
    }),
    messages: ["clusterType is immutable: changing the cluster type needs a new availability group; keep the previous value"],
  },
  { name: "edition changed", object: ag((spec) => (spec.edition = "Enterprise")), messages: ["edition is immutable: changing the SQL Server edition needs a new resource; keep the previous value"] },
  {
    name: "storage class added",
    object: ag((spec) => (spec.storage = { ...spec.storage, storageClassName: "fast" })),
    messages: ["storage.storageClassName is immutable: keep the previous value (create a new resource to move the data to another StorageClass)"],
  },
  {
    name: "data volume size changed",
    object: ag((spec) => (spec.storage = { ...spec.storage, dataVolumeSize: "40Gi" })),
    messages: ["storage.dataVolumeSize is immutable: keep the previous value (expand the PersistentVolumeClaims directly if the StorageClass allows it)"],
  },
  {
    name: "access modes changed",
    object: ag((spec) => (spec.storage = { ...spec.storage, accessModes: ["ReadWriteOncePod"] })),
    messages: ["storage.accessModes is immutable: keep the previous access modes"],
  },
  {
    name: "a replica in the middle renamed",
    object: ag((spec) => (spec.replicas = spec.replicas.map((r) => (r.name === "secondary-1" ? { ...r, name: "secondary-x" } : r)))),
    messages: [REORDER_MESSAGE],
  },
  {
    name: "replicas reordered",
    object: ag((spec) => (spec.replicas = [...spec.replicas].reverse())),
    messages: [REORDER_MESSAGE],
  },
  {
    name: "a replica removed from the middle",
    object: ag((spec) => (spec.replicas = spec.replicas.filter((r) => r.name !== "secondary-1"))),
    messages: [REORDER_MESSAGE],
  },
].map((c) => ({ ...c, old: compatibilityManifest() }));

/** Updates of the compatibility manifest (the stored object) that must be accepted. */
export const acceptedAvailabilityGroupUpdates: (AcceptedCase<SQLServerAvailabilityGroup> & { old: SQLServerAvailabilityGroup })[] = [
  { name: "no change", object: compatibilityManifest() },
  { name: "a replica appended", object: ag((spec) => spec.replicas.push(replica("secondary-3", "AsynchronousCommit"))) },
  { name: "the last replica removed", object: ag((spec) => spec.replicas.pop()) },
  { name: "image, resources, listener port and a replica's availability mode changed", object: ag((spec) => {
    spec.image = "mcr.microsoft.com/mssql/server:2025-CU1";
    spec.resources = { requests: { cpu: "1", memory: "3Gi" } };
    spec.listener = { name: "mssql-ag-listener", port: 14330 };
    spec.replicas = spec.replicas.map((r) => (r.name === "secondary-2" ? { ...r, availabilityMode: "SynchronousCommit" } : r));
  }) },
  { name: "the defaulted storage written out explicitly", object: ag((spec) => (spec.storage = { dataVolumeSize: "20Gi", accessModes: ["ReadWriteOnce"], reclaimPolicy: "Delete" })) },
].map((c) => ({ ...c, old: compatibilityManifest() }));

export const rejectedInstances: RejectedCase<SQLServerInstance>[] = [
  { name: "port 0", object: instance((spec) => (spec.port = 0)), messages: ["port must be between 1 and 65535"] },
  { name: "secret ref without a name", object: instance((spec) => (spec.saPasswordSecretRef = { name: "", key: "SA_PASSWORD" })), messages: ["saPasswordSecretRef.name is empty: set it to the name of the Secret that holds the SA password"] },
  {
    name: "an env var with both value and valueFrom",
    object: instance((spec) => (spec.additionalEnvVars = [{ name: "MSSQL_AGENT_ENABLED", value: "true", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }])),
    messages: ["an environment variable takes value or valueFrom, not both: remove one"],
  },
  { name: "edition changed", object: instance((spec) => (spec.edition = "Standard")), messages: ["edition is immutable: changing the SQL Server edition needs a new resource; keep the previous value"], old: minimalInstance() },
  {
    name: "data volume size changed",
    object: instance((spec) => (spec.storage = { dataVolumeSize: "1Ti" })),
    messages: ["storage.dataVolumeSize is immutable: keep the previous value (expand the PersistentVolumeClaims directly if the StorageClass allows it)"],
    old: minimalInstance(),
  },
];
