/**
 * The user-facing API of sqlag: spec and status of the two custom resources, group `sqlag.io`, version
 * `v1alpha1`. Field names follow the existing SQL Server operator so its manifests apply with only the
 * `apiVersion` changed (ARCHITECTURE §1). The CRD schemas in `crds/` are generated from `schema/`, and a test
 * keeps these types and that schema from drifting.
 *
 * Durations exposed to users end in `Seconds`; internal code converts once and uses `…Ms`.
 */

export const API_GROUP = "sqlag.io";
export const API_VERSION = "v1alpha1";
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

export const KIND_AVAILABILITY_GROUP = "SQLServerAvailabilityGroup";
export const KIND_INSTANCE = "SQLServerInstance";
export const PLURAL_AVAILABILITY_GROUPS = "sqlserveravailabilitygroups";
export const PLURAL_INSTANCES = "sqlserverinstances";

export type Edition = "Developer" | "Express" | "Standard" | "Enterprise" | "EnterpriseCore";
export const EDITIONS: readonly Edition[] = ["Developer", "Express", "Standard", "Enterprise", "EnterpriseCore"];

export type AvailabilityMode = "SynchronousCommit" | "AsynchronousCommit" | "ConfigurationOnly";
export const AVAILABILITY_MODES: readonly AvailabilityMode[] = ["SynchronousCommit", "AsynchronousCommit", "ConfigurationOnly"];

export type FailoverMode = "Automatic" | "Manual";
export type ClusterType = "EXTERNAL" | "NONE";
export type HealthThreshold = "system" | "resource" | "query_processing";
export type ServiceType = "ClusterIP" | "NodePort" | "LoadBalancer";
export type ReclaimPolicy = "Retain" | "Delete";

/** Reference to one key of a Secret in the CR's namespace. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/** Kubernetes quantities and objects are kept structurally loose here so the api package stays I/O free. */
export type Quantity = string;
export interface ResourceRequirements {
  limits?: Record<string, Quantity>;
  requests?: Record<string, Quantity>;
}
export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  tolerationSeconds?: number;
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

export interface StorageSpec {
  storageClassName?: string;
  dataVolumeSize?: Quantity;
  accessModes?: string[];
  /** Retain keeps the PVCs after the CR (and its StatefulSet) is deleted; Delete removes them. */
  reclaimPolicy?: ReclaimPolicy;
}

export interface ListenerSpec {
  name: string;
  port?: number;
  serviceType?: ServiceType;
}

export interface AutomaticFailoverSpec {
  enabled?: boolean;
  failoverThresholdSeconds?: number;
  healthThreshold?: HealthThreshold;
}

export interface ReplicaSpec {
  /** Stable name of the replica; the i-th replica runs in pod `<cr>-<i>`. */
  name: string;
  availabilityMode?: AvailabilityMode;
  /** Defaults to Automatic for synchronous replicas of an EXTERNAL AG, otherwise Manual. */
  failoverMode?: FailoverMode;
  readableSecondary?: boolean;
}

export interface DatabaseSpec {
  name: string;
}

/** HA timing of the agents (ARCHITECTURE §4.4, §4.11). */
export interface TimingSpec {
  leaseDurationSeconds?: number;
  renewIntervalSeconds?: number;
  renewDeadlineSeconds?: number;
  sqlWriteLeaseSeconds?: number;
  healthCheckIntervalSeconds?: number;
  disablePrimaryOnQuorumTimeoutSeconds?: number;
}

export interface AgentSpec {
  image?: string;
  resources?: ResourceRequirements;
  logLevel?: "error" | "warn" | "info" | "debug";
}

export interface SQLServerAvailabilityGroupSpec {
  agName: string;
  image?: string;
  edition?: Edition;
  acceptEula?: "Y" | "y";
  saPasswordSecretRef: SecretKeyRef;
  replicas: ReplicaSpec[];
  storage?: StorageSpec;
  mssqlConf?: Record<string, string>;
  resources?: ResourceRequirements;
  endpointPort?: number;
  clusterType?: ClusterType;
  automaticFailover?: AutomaticFailoverSpec;
  listener?: ListenerSpec;
  readOnlyListener?: ListenerSpec;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  databases?: DatabaseSpec[];
  timing?: TimingSpec;
  /** Overrides the computed REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT (0 when 2 sync replicas, else ⌊n/2⌋). */
  requiredSynchronizedSecondariesToCommit?: number;
  clusterDomain?: string;
  terminationGracePeriodSeconds?: number;
  agent?: AgentSpec;
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type AgPhase = "Pending" | "Bootstrapping" | "Running" | "Degraded" | "Failed";

export type ReplicaRole = "PRIMARY" | "SECONDARY" | "RESOLVING" | "UNKNOWN";

export interface ReplicaStatus {
  name: string;
  pod: string;
  role: ReplicaRole;
  availabilityMode: AvailabilityMode;
  /** HEALTHY / PARTIALLY_HEALTHY / NOT_HEALTHY from sys.dm_hadr_availability_replica_states. */
  synchronizationHealth?: string;
  connected?: boolean;
  sequenceNumber?: string;
  healthy?: boolean;
  lastSeenTime?: string;
}

export interface DatabaseReplicaState {
  replica: string;
  synchronizationState: string;
}

export interface DatabaseStatus {
  name: string;
  inAvailabilityGroup: boolean;
  replicas: DatabaseReplicaState[];
}

export interface SQLServerAvailabilityGroupStatus {
  /** Owned by the controller (field manager sqlag-controller). */
  observedGeneration?: number;
  /** Owned by the lease-holding agent (field manager sqlag-agent). */
  phase?: AgPhase;
  primaryReplica?: string;
  initializationComplete?: boolean;
  /** sys.availability_groups.group_id recorded at creation; bootstrap never runs again once it is set. */
  groupId?: string;
  epoch?: number;
  replicaStatuses?: ReplicaStatus[];
  databases?: DatabaseStatus[];
  conditions?: Condition[];
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface SQLServerAvailabilityGroup {
  apiVersion: typeof API_GROUP_VERSION;
  kind: typeof KIND_AVAILABILITY_GROUP;
  metadata: ObjectMeta;
  spec: SQLServerAvailabilityGroupSpec;
  status?: SQLServerAvailabilityGroupStatus;
}

export interface SQLServerInstanceSpec {
  image?: string;
  edition?: Edition;
  acceptEula?: "Y" | "y";
  saPasswordSecretRef: SecretKeySelectorCompat;
  storage?: StorageSpec;
  mssqlConf?: Record<string, string>;
  resources?: ResourceRequirements;
  port?: number;
  serviceType?: ServiceType;
  timezone?: string;
  additionalEnvVars?: EnvVar[];
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  clusterDomain?: string;
  terminationGracePeriodSeconds?: number;
  agent?: AgentSpec;
}

/** Same shape as SecretKeyRef; kept as an alias so Instance manifests of the existing operator validate. */
export type SecretKeySelectorCompat = SecretKeyRef;

export type InstancePhase = "Pending" | "Running" | "Upgrading" | "Failed";

export interface SQLServerInstanceStatus {
  observedGeneration?: number;
  phase?: InstancePhase;
  readyReplicas?: number;
  currentImage?: string;
  serviceName?: string;
  conditions?: Condition[];
}

export interface SQLServerInstance {
  apiVersion: typeof API_GROUP_VERSION;
  kind: typeof KIND_INSTANCE;
  metadata: ObjectMeta;
  spec: SQLServerInstanceSpec;
  status?: SQLServerInstanceStatus;
}

/*
 * Value lists of the remaining string unions, for the CRD schema's enums (schema/) and for code that iterates
 * them. `as const satisfies` keeps each list a subset of its union; schema/drift.test.ts checks it is complete.
 */
export const FAILOVER_MODES = ["Automatic", "Manual"] as const satisfies readonly FailoverMode[];
export const CLUSTER_TYPES = ["EXTERNAL", "NONE"] as const satisfies readonly ClusterType[];
export const HEALTH_THRESHOLDS = ["system", "resource", "query_processing"] as const satisfies readonly HealthThreshold[];
export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const satisfies readonly ServiceType[];
export const RECLAIM_POLICIES = ["Retain", "Delete"] as const satisfies readonly ReclaimPolicy[];
export const ACCEPT_EULA_VALUES = ["Y", "y"] as const satisfies readonly NonNullable<SQLServerAvailabilityGroupSpec["acceptEula"]>[];
export const AGENT_LOG_LEVELS = ["error", "warn", "info", "debug"] as const satisfies readonly NonNullable<AgentSpec["logLevel"]>[];
export const TOLERATION_OPERATORS = ["Exists", "Equal"] as const satisfies readonly NonNullable<Toleration["operator"]>[];
export const TOLERATION_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const satisfies readonly NonNullable<Toleration["effect"]>[];
export const CONDITION_STATUSES = ["True", "False", "Unknown"] as const satisfies readonly Condition["status"][];
export const AG_PHASES = ["Pending", "Bootstrapping", "Running", "Degraded", "Failed"] as const satisfies readonly AgPhase[];
export const REPLICA_ROLES = ["PRIMARY", "SECONDARY", "RESOLVING", "UNKNOWN"] as const satisfies readonly ReplicaRole[];
export const INSTANCE_PHASES = ["Pending", "Running", "Upgrading", "Failed"] as const satisfies readonly InstancePhase[];
