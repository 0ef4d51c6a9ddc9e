/**
 * One place for defaults (CONVENTIONS 8). The CRD schema carries the same defaults so `kubectl get -o yaml`
 * shows them, but every program works on the resolved spec returned here, so a CR written before a default
 * existed, or an object built in a test, behaves the same.
 */
import type {
  AgentSpec,
  AvailabilityMode,
  ClusterType,
  Edition,
  FailoverMode,
  HealthThreshold,
  ListenerSpec,
  ReclaimPolicy,
  ResourceRequirements,
  SecretKeyRef,
  ServiceType,
  SQLServerAvailabilityGroupSpec,
  SQLServerInstanceSpec,
  Toleration,
  EnvVar,
} from "./types.js";

export const DEFAULT_SQL_IMAGE = "mcr.microsoft.com/mssql/server:2025-latest";
export const DEFAULT_AGENT_IMAGE = "ghcr.io/sqlag/agent:0.1.0";
export const DEFAULT_CONTROLLER_IMAGE = "ghcr.io/sqlag/controller:0.1.0";
export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";
export const SQL_PORT = 1433;
export const AGENT_HTTP_PORT = 8080;

export const DEFAULT_TIMING = {
  leaseDurationSeconds: 15,
  renewIntervalSeconds: 2,
  renewDeadlineSeconds: 5,
  sqlWriteLeaseSeconds: 8,
  healthCheckIntervalSeconds: 5,
  disablePrimaryOnQuorumTimeoutSeconds: 60,
} as const;

/**
 * Safety margin of the two-lease inequality W + renewDeadline + margin <= leaseDuration (ARCHITECTURE §4.4):
 * it absorbs clock-rate differences between nodes and the latency of the SQL renewal statement itself.
 */
export const LEASE_SAFETY_MARGIN_SECONDS = 2;

export interface ResolvedTiming {
  leaseDurationSeconds: number;
  renewIntervalSeconds: number;
  renewDeadlineSeconds: number;
  sqlWriteLeaseSeconds: number;
  healthCheckIntervalSeconds: number;
  disablePrimaryOnQuorumTimeoutSeconds: number;
}

export interface ResolvedReplica {
  name: string;
  index: number;
  availabilityMode: AvailabilityMode;
  failoverMode: FailoverMode;
  readableSecondary: boolean;
}

export interface ResolvedStorage {
  storageClassName?: string;
  dataVolumeSize: string;
  accessModes: string[];
  reclaimPolicy: ReclaimPolicy;
}

export interface ResolvedListener {
  name: string;
  port: number;
  serviceType: ServiceType;
}

export interface ResolvedAgentSpec {
  image: string;
  resources: ResourceRequirements;
  logLevel: NonNullable<AgentSpec["logLevel"]>;
}

/** An AG spec with every default applied: no optional fields left except those that are truly optional. */
export interface ResolvedAgSpec {
  agName: string;
  image: string;
  edition: Edition;
  acceptEula: "Y" | "y";
  saPasswordSecretRef: SecretKeyRef;
  replicas: ResolvedReplica[];
  storage: ResolvedStorage;
  mssqlConf: Record<string, string>;
  resources: ResourceRequirements;
  endpointPort: number;
  clusterType: ClusterType;
  automaticFailover: { enabled: boolean; failoverThresholdSeconds: number; healthThreshold: HealthThreshold };
  listener?: ResolvedListener;
  readOnlyListener?: ResolvedListener;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  databases: { name: string }[];
  timing: ResolvedTiming;
  requiredSynchronizedSecondariesToCommit?: number;
  clusterDomain: string;
  terminationGracePeriodSeconds: number;
  agent: ResolvedAgentSpec;
}

export interface ResolvedInstanceSpec {
  image: string;
  edition: Edition;
  acceptEula: "Y" | "y";
  saPasswordSecretRef: SecretKeyRef;
  storage: ResolvedStorage;
  mssqlConf: Record<string, string>;
  resources: ResourceRequirements;
  port: number;
  serviceType: ServiceType;
  timezone?: string;
  additionalEnvVars: EnvVar[];
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  clusterDomain: string;
  terminationGracePeriodSeconds: number;
  agent: ResolvedAgentSpec;
}

function resolveStorage(storage: SQLServerAvailabilityGroupSpec["storage"]): ResolvedStorage {
  return {
    ...(storage?.storageClassName !== undefined ? { storageClassName: storage.storageClassName } : {}),
    dataVolumeSize: storage?.dataVolumeSize ?? "10Gi",
    accessModes: storage?.accessModes ?? ["ReadWriteOnce"],
    reclaimPolicy: storage?.reclaimPolicy ?? "Retain",
  };
}

function resolveListener(listener: ListenerSpec | undefined): ResolvedListener | undefined {
  if (listener === undefined) return undefined;
  return { name: listener.name, port: listener.port ?? SQL_PORT, serviceType: listener.serviceType ?? "ClusterIP" };
}

function resolveAgent(agent: AgentSpec | undefined): ResolvedAgentSpec {
  return {
    image: agent?.image ?? DEFAULT_AGENT_IMAGE,
    resources: agent?.resources ?? { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "192Mi" } },
    logLevel: agent?.logLevel ?? "info",
  };
}

/**
 * Failover mode defaults per replica: automatic failover is only possible for synchronous replicas of an
 * EXTERNAL AG, so that is the only case that defaults to Automatic. (The existing operator defaulted every
 * replica to Automatic and its clusterType to NONE, which made a CR that omitted both invalid.)
 */
export function defaultFailoverMode(clusterType: ClusterType, availabilityMode: AvailabilityMode): FailoverMode {
  return clusterType === "EXTERNAL" && availabilityMode === "SynchronousCommit" ? "Automatic" : "Manual";
}

export function withDefaults(spec: SQLServerAvailabilityGroupSpec): ResolvedAgSpec {
  const clusterType = spec.clusterType ?? "EXTERNAL";
  const resolved: ResolvedAgSpec = {
    agName: spec.agName,
    image: spec.image ?? DEFAULT_SQL_IMAGE,
    edition: spec.edition ?? "Developer",
    acceptEula: spec.acceptEula ?? "Y",
    saPasswordSecretRef: { name: spec.saPasswordSecretRef.name, key: spec.saPasswordSecretRef.key },
    replicas: spec.replicas.map((replica, index) => {
      const availabilityMode = replica.availabilityMode ?? "SynchronousCommit";
      return {
        name: replica.name,
        index,
        availabilityMode,
        failoverMode: replica.failoverMode ?? defaultFailoverMode(clusterType, availabilityMode),
        readableSecondary: replica.readableSecondary ?? false,
      };
    }),
    storage: resolveStorage(spec.storage),
    mssqlConf: { ...(spec.mssqlConf ?? {}) },
    resources: spec.resources ?? {},
    endpointPort: spec.endpointPort ?? 5022,
    clusterType,
    automaticFailover: {
      enabled: (spec.automaticFailover?.enabled ?? true) && clusterType === "EXTERNAL",
      failoverThresholdSeconds: spec.automaticFailover?.failoverThresholdSeconds ?? 10,
      healthThreshold: spec.automaticFailover?.healthThreshold ?? "system",
    },
    nodeSelector: { ...(spec.nodeSelector ?? {}) },
    tolerations: spec.tolerations ?? [],
    databases: (spec.databases ?? []).map((db) => ({ name: db.name })),
    timing: { ...DEFAULT_TIMING, ...(spec.timing ?? {}) },
    clusterDomain: spec.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 120,
    agent: resolveAgent(spec.agent),
  };
  const listener = resolveListener(spec.listener);
  if (listener !== undefined) resolved.listener = listener;
  const readOnlyListener = resolveListener(spec.readOnlyListener);
  if (readOnlyListener !== undefined) resolved.readOnlyListener = readOnlyListener;
  if (spec.requiredSynchronizedSecondariesToCommit !== undefined) {
    resolved.requiredSynchronizedSecondariesToCommit = spec.requiredSynchronizedSecondariesToCommit;
  }
  return resolved;
}

export function withInstanceDefaults(spec: SQLServerInstanceSpec): ResolvedInstanceSpec {
  const resolved: ResolvedInstanceSpec = {
    image: spec.image ?? DEFAULT_SQL_IMAGE,
    edition: spec.edition ?? "Developer",
    acceptEula: spec.acceptEula ?? "Y",
    saPasswordSecretRef: { name: spec.saPasswordSecretRef.name, key: spec.saPasswordSecretRef.key },
    storage: resolveStorage(spec.storage),
    mssqlConf: { ...(spec.mssqlConf ?? {}) },
    resources: spec.resources ?? {},
    port: spec.port ?? SQL_PORT,
    serviceType: spec.serviceType ?? "ClusterIP",
    additionalEnvVars: spec.additionalEnvVars ?? [],
    nodeSelector: { ...(spec.nodeSelector ?? {}) },
    tolerations: spec.tolerations ?? [],
    clusterDomain: spec.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 60,
    agent: resolveAgent(spec.agent),
  };
  if (spec.timezone !== undefined) resolved.timezone = spec.timezone;
  return resolved;
}

/**
 * Number of synchronized secondaries a commit must reach (Pacemaker's rule, pacemaker-agent.md §3.4):
 * n = synchronous replicas (configuration-only excluded); n == 2 → 0, otherwise ⌊n/2⌋; an override wins.
 */
export function requiredSynchronizedSecondaries(spec: ResolvedAgSpec): number {
  if (spec.requiredSynchronizedSecondariesToCommit !== undefined) return spec.requiredSynchronizedSecondariesToCommit;
  const synchronous = spec.replicas.filter((r) => r.availabilityMode === "SynchronousCommit").length;
  return synchronous === 2 ? 0 : Math.floor(synchronous / 2);
}
