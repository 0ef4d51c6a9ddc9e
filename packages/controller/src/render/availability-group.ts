/**
 * Renders every Kubernetes object of one SQLServerAvailabilityGroup (ARCHITECTURE §3). Pure: the same CR (and
 * the same random source) always yields the same objects in the same order, so server-side apply is a no-op
 * when nothing changed and the pod template hash moves only when the template does.
 */
import type {
  V1ConfigMap,
  V1Container,
  V1Lease,
  V1ObjectMeta,
  V1PodDisruptionBudget,
  V1Secret,
  V1Service,
  V1StatefulSet,
} from "@kubernetes/client-node";
import {
  AGENT_HTTP_PORT,
  agentEnv,
  agentPaths,
  agNames,
  annotations,
  CONTAINER_MSSQL,
  hadrSecretKeys,
  KIND_LABEL_AG,
  labels,
  MSSQL_CONF_KEY,
  ordinalOfPod,
  MSSQL_DATA_PATH,
  roleLabelValues,
  selectorLabels,
  SQL_PORT,
  VOLUME_DATA,
  VOLUME_HADR_SECRET,
  withDefaults,
} from "@sqlag/api";
import type { ResolvedAgSpec, ResolvedListener, SQLServerAvailabilityGroup } from "@sqlag/api";
import { objectLabels, objectMeta } from "./metadata.js";
import type { OwnerIdentity } from "./metadata.js";
import { FORCED_AG_MSSQL_CONF, mssqlConfHash, renderMssqlConf, SQL_AGENT_ENABLED_KEY } from "./mssql-conf.js";
import {
  agentIdentityEnv,
  agentSidecar,
  agentTmpVolume,
  HADR_SECRET_DIR,
  mssqlConfMount,
  mssqlConfVolume,
  mssqlSecurityContext,
  podSecurityContext,
  secretEnv,
  valueEnv,
} from "./pod-parts.js";
import { agAgentRules, renderAgentRbac } from "./rbac.js";
import { claimRetentionPolicy, dataClaimTemplate } from "./storage.js";
import type { RenderContext, RenderedObjects } from "./types.js";

/** Port names on the mssql container and the Services; the endpoint port is named for the mirroring endpoint. */
export const PORT_NAME_SQL = "mssql";
export const PORT_NAME_ENDPOINT = "hadr";
export const PORT_NAME_AGENT = "http";

/** The rw listener is always rendered (default name `<ag>-listener`, port 1433, ClusterIP) so clients always have one address. */
export function resolvedRwListener(cr: string, spec: ResolvedAgSpec): ResolvedListener {
  return spec.listener ?? { name: agNames.listenerService(cr), port: SQL_PORT, serviceType: "ClusterIP" };
}

export function renderAvailabilityGroup(cr: SQLServerAvailabilityGroup, ctx: RenderContext): RenderedObjects {
  const spec = withDefaults(cr.spec);
  const owner: OwnerIdentity = cr;
  const name = cr.metadata.name;
  const [serviceAccount, role, roleBinding] = renderAgentRbac(
    owner,
    KIND_LABEL_AG,
    { serviceAccount: agNames.serviceAccount(name), role: agNames.role(name), roleBinding: agNames.roleBinding(name) },
    agAgentRules({
      crName: name,
      leaseName: agNames.lease(name),
      podNames: spec.replicas.map((replica) => agNames.pod(name, replica.index)),
      hadrSecretName: agNames.hadrSecret(name),
      saPasswordSecretName: spec.saPasswordSecretRef.name,
    }),
  );
  const mssqlConf = renderMssqlConf(spec.mssqlConf, FORCED_AG_MSSQL_CONF);
  const applied = [
    serviceAccount,
    role,
    roleBinding,
    renderAgConfigMap(owner, mssqlConf),
    renderHeadlessService(owner, spec),
    renderRwListener(owner, spec),
    ...(spec.readOnlyListener !== undefined ? [renderReadOnlyListener(owner, spec.readOnlyListener)] : []),
    renderAgStatefulSet(owner, spec, mssqlConf, agStatefulSetReplicaCount(cr)),
    renderPodDisruptionBudget(owner),
  ];
  return { applied, createIfMissing: [renderHadrSecret(owner, spec, ctx), renderLease(owner, spec)] };
}

function renderAgConfigMap(owner: OwnerIdentity, mssqlConf: string): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: objectMeta(owner, agNames.configMap(owner.metadata.name), KIND_LABEL_AG, "config"),
    data: { [MSSQL_CONF_KEY]: mssqlConf },
  };
}

/**
 * Peer DNS for the mirroring endpoints and the agents' HTTP API. `publishNotReadyAddresses` makes a restarting
 * replica resolvable at once: SQL Server does not retry a failed endpoint name lookup by itself.
 */
function renderHeadlessService(owner: OwnerIdentity, spec: ResolvedAgSpec): V1Service {
  const cr = owner.metadata.name;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(owner, agNames.headlessService(cr), KIND_LABEL_AG, "headless"),
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: selectorLabels(KIND_LABEL_AG, cr),
      ports: [
        { name: PORT_NAME_SQL, port: SQL_PORT, targetPort: SQL_PORT, protocol: "TCP" },
        { name: PORT_NAME_ENDPOINT, port: spec.endpointPort, targetPort: spec.endpointPort, protocol: "TCP" },
        { name: PORT_NAME_AGENT, port: AGENT_HTTP_PORT, targetPort: AGENT_HTTP_PORT, protocol: "TCP" },
      ],
    },
  };
}

/**
 * Client Services route on the role label the agent writes on its own pod. The target is always SQL Server's
 * port 1433 whatever the listener port is (the existing operator sent traffic to the listener port). Not-ready
 * pods are not published: a primary that cannot serve must not receive connections.
 */
function listenerService(owner: OwnerIdentity, listener: ResolvedListener, component: "listener" | "read-only-listener", roleSelector: Record<string, string>): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(owner, listener.name, KIND_LABEL_AG, component),
    spec: {
      type: listener.serviceType,
      selector: { ...selectorLabels(KIND_LABEL_AG, owner.metadata.name), ...roleSelector },
      ports: [{ name: PORT_NAME_SQL, port: listener.port, targetPort: SQL_PORT, protocol: "TCP" }],
    },
  };
}

function renderRwListener(owner: OwnerIdentity, spec: ResolvedAgSpec): V1Service {
  return listenerService(owner, resolvedRwListener(owner.metadata.name, spec), "listener", { [labels.role]: roleLabelValues.primary });
}

function renderReadOnlyListener(owner: OwnerIdentity, listener: ResolvedListener): V1Service {
  return listenerService(owner, listener, "read-only-listener", { [labels.role]: roleLabelValues.secondary, [labels.readable]: "true" });
}

function mssqlContainer(spec: ResolvedAgSpec): V1Container {
  const agentEnabled = spec.mssqlConf[SQL_AGENT_ENABLED_KEY];
  return {
    name: CONTAINER_MSSQL,
    image: spec.image,
    env: [
      valueEnv("ACCEPT_EULA", spec.acceptEula),
      valueEnv("MSSQL_PID", spec.edition),
      secretEnv("MSSQL_SA_PASSWORD", spec.saPasswordSecretRef),
      valueEnv("MSSQL_ENABLE_HADR", 1),
      ...(agentEnabled !== undefined ? [valueEnv("MSSQL_AGENT_ENABLED", agentEnabled)] : []),
    ],
    ports: [
      { name: PORT_NAME_SQL, containerPort: SQL_PORT, protocol: "TCP" },
      { name: PORT_NAME_ENDPOINT, containerPort: spec.endpointPort, protocol: "TCP" },
    ],
    resources: spec.resources,
    securityContext: mssqlSecurityContext(),
    volumeMounts: [{ name: VOLUME_DATA, mountPath: MSSQL_DATA_PATH }, mssqlConfMount()],
    // The agent hands the primary role over (or fences) before SQL Server gets SIGTERM; bounded by the grace period.
    lifecycle: { preStop: { httpGet: { path: agentPaths.preStop, port: AGENT_HTTP_PORT, scheme: "HTTP" } } },
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}

function agAgentEnv(cr: string, spec: ResolvedAgSpec) {
  const timing = spec.timing;
  return [
    ...agentIdentityEnv("availability-group", cr),
    valueEnv(agentEnv.agName, spec.agName),
    valueEnv(agentEnv.sqlPort, SQL_PORT),
    valueEnv(agentEnv.endpointPort, spec.endpointPort),
    valueEnv(agentEnv.clusterDomain, spec.clusterDomain),
    secretEnv(agentEnv.saPassword, spec.saPasswordSecretRef),
    valueEnv(agentEnv.hadrSecretDir, HADR_SECRET_DIR),
    valueEnv(agentEnv.leaseDurationSeconds, timing.leaseDurationSeconds),
    valueEnv(agentEnv.renewIntervalSeconds, timing.renewIntervalSeconds),
    valueEnv(agentEnv.renewDeadlineSeconds, timing.renewDeadlineSeconds),
    valueEnv(agentEnv.sqlWriteLeaseSeconds, timing.sqlWriteLeaseSeconds),
    valueEnv(agentEnv.healthCheckIntervalSeconds, timing.healthCheckIntervalSeconds),
    valueEnv(agentEnv.disablePrimaryOnQuorumTimeoutSeconds, timing.disablePrimaryOnQuorumTimeoutSeconds),
    valueEnv(agentEnv.failoverThresholdSeconds, spec.automaticFailover.failoverThresholdSeconds),
    valueEnv(agentEnv.healthThreshold, spec.automaticFailover.healthThreshold),
    valueEnv(agentEnv.logLevel, spec.agent.logLevel),
  ];
}

/**
 * Pods the StatefulSet keeps: one per spec replica, plus every higher ordinal the AG still has as a member
 * (the lease holder lists those in status.replicaStatuses until it ran REMOVE REPLICA for them). A replica
 * removed from the spec therefore leaves the AG before its pod is deleted (ARCHITECTURE §4.6 scale down); a
 * pod deleted first would leave a disconnected replica that synchronous commits may still wait for.
 */
export function agStatefulSetReplicaCount(cr: Pick<SQLServerAvailabilityGroup, "metadata" | "spec" | "status">): number {
  let count = cr.spec.replicas.length;
  for (const replicaStatus of cr.status?.replicaStatuses ?? []) {
    const ordinal = ordinalOfPod(cr.metadata.name, replicaStatus.pod);
    if (ordinal !== undefined && ordinal + 1 > count) count = ordinal + 1;
  }
  return count;
}

function renderAgStatefulSet(owner: OwnerIdentity, spec: ResolvedAgSpec, mssqlConf: string, replicaCount: number): V1StatefulSet {
  const cr = owner.metadata.name;
  const podLabels = objectLabels(KIND_LABEL_AG, cr, "database");
  const selector = selectorLabels(KIND_LABEL_AG, cr);
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: objectMeta(owner, agNames.statefulSet(cr), KIND_LABEL_AG, "database"),
    spec: {
      replicas: replicaCount,
      serviceName: agNames.headlessService(cr),
      // The agents coordinate among themselves, so pods need not start one after another.
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "RollingUpdate" },
      persistentVolumeClaimRetentionPolicy: claimRetentionPolicy(spec.storage),
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: podLabels, annotations: { [annotations.mssqlConfHash]: mssqlConfHash(mssqlConf) } },
        spec: {
          serviceAccountName: agNames.serviceAccount(cr),
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
          securityContext: podSecurityContext(),
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" } },
              ],
            },
          },
          ...(Object.keys(spec.nodeSelector).length > 0 ? { nodeSelector: spec.nodeSelector } : {}),
          ...(spec.tolerations.length > 0 ? { tolerations: spec.tolerations } : {}),
          initContainers: [
            agentSidecar({
              agent: spec.agent,
              env: agAgentEnv(cr, spec),
              extraMounts: [{ name: VOLUME_HADR_SECRET, mountPath: HADR_SECRET_DIR, readOnly: true }],
            }),
          ],
          containers: [mssqlContainer(spec)],
          volumes: [
            mssqlConfVolume(agNames.configMap(cr)),
            // Read by the agent (uid 10001 via fsGroup), never by SQL Server; the bootstrap agent fills it.
            { name: VOLUME_HADR_SECRET, secret: { secretName: agNames.hadrSecret(cr), defaultMode: 0o440 } },
            agentTmpVolume(),
          ],
        },
      },
      volumeClaimTemplates: [dataClaimTemplate(spec.storage, podLabels)],
    },
  };
}

/** At most one replica down by choice (drain, eviction): the AG keeps its synchronous partners. */
function renderPodDisruptionBudget(owner: OwnerIdentity): V1PodDisruptionBudget {
  const cr = owner.metadata.name;
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: objectMeta(owner, agNames.podDisruptionBudget(cr), KIND_LABEL_AG, "disruption-budget"),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(KIND_LABEL_AG, cr) } },
  };
}

/**
 * The `<ag>-hadr` Secret shell: generated passwords and the peer token. The bootstrap agent adds `certificate`
 * and `privateKey`; the controller never updates it, so rendering new random values here is harmless.
 *
 * Its lifetime follows the data volumes it unlocks (ADR 0006): with `storage.reclaimPolicy: Retain` it carries
 * no owner reference, so deleting the CR leaves it next to the retained PVCs and a re-applied CR finds it (create
 * once sees it exists) with the passwords, peer token and endpoint certificate the retained instances know.
 * Owned by the CR, it would be garbage-collected and re-created with new passwords and no certificate while
 * every retained instance still holds the old ones. With Delete the data goes, and the Secret goes with it.
 */
function renderHadrSecret(owner: OwnerIdentity, spec: ResolvedAgSpec, ctx: RenderContext): V1Secret {
  const generated = {
    [hadrSecretKeys.masterKeyPassword]: ctx.randomSecret(),
    [hadrSecretKeys.certificatePassword]: ctx.randomSecret(),
    [hadrSecretKeys.agentLoginPassword]: ctx.randomSecret(),
    [hadrSecretKeys.peerToken]: ctx.randomSecret(),
  };
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: hadrSecretMeta(owner, spec),
    type: "Opaque",
    data: Object.fromEntries(Object.entries(generated).map(([key, value]) => [key, Buffer.from(value, "utf8").toString("base64")])),
  };
}

function hadrSecretMeta(owner: OwnerIdentity, spec: ResolvedAgSpec): V1ObjectMeta {
  const meta = objectMeta(owner, agNames.hadrSecret(owner.metadata.name), KIND_LABEL_AG, "credentials");
  if (spec.storage.reclaimPolicy === "Delete") return meta;
  delete meta.ownerReferences;
  return meta;
}

/** The empty Lease the agents compete for; its holder is the failover manager. */
function renderLease(owner: OwnerIdentity, spec: ResolvedAgSpec): V1Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: objectMeta(owner, agNames.lease(owner.metadata.name), KIND_LABEL_AG, "lease"),
    spec: { leaseDurationSeconds: spec.timing.leaseDurationSeconds },
  };
}
