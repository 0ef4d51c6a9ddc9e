/**
 * Renders the objects of one SQLServerInstance: a one-pod StatefulSet with its data PVC, mssql.conf, a headless
 * and a client Service, and the agent sidecar in standalone mode (health, readiness, metrics; no Lease, no AG).
 */
import type { V1ConfigMap, V1Container, V1EnvVar, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import {
  agentEnv,
  annotations,
  CONTAINER_MSSQL,
  instanceNames,
  KIND_LABEL_INSTANCE,
  MSSQL_CONF_KEY,
  MSSQL_DATA_PATH,
  selectorLabels,
  VOLUME_DATA,
  withInstanceDefaults,
} from "@sqlag/api";
import type { EnvVar, ResolvedInstanceSpec, SQLServerInstance } from "@sqlag/api";
import { objectLabels, objectMeta } from "./metadata.js";
import type { OwnerIdentity } from "./metadata.js";
import { mssqlConfHash, renderMssqlConf, SQL_AGENT_ENABLED_KEY } from "./mssql-conf.js";
import {
  agentIdentityEnv,
  agentSidecar,
  agentTmpVolume,
  mssqlConfMount,
  mssqlConfVolume,
  mssqlSecurityContext,
  podSecurityContext,
  secretEnv,
  valueEnv,
} from "./pod-parts.js";
import { instanceAgentRules, renderAgentRbac } from "./rbac.js";
import { claimRetentionPolicy, dataClaimTemplate } from "./storage.js";
import type { RenderContext, RenderedObjects } from "./types.js";

export const INSTANCE_PORT_NAME_SQL = "mssql";

export function renderInstance(cr: SQLServerInstance, _ctx: RenderContext): RenderedObjects {
  const spec = withInstanceDefaults(cr.spec);
  const owner: OwnerIdentity = cr;
  const name = cr.metadata.name;
  const [serviceAccount, role, roleBinding] = renderAgentRbac(
    owner,
    KIND_LABEL_INSTANCE,
    { serviceAccount: instanceNames.serviceAccount(name), role: instanceNames.role(name), roleBinding: instanceNames.roleBinding(name) },
    instanceAgentRules({ crName: name, podName: instanceNames.pod(name), saPasswordSecretName: spec.saPasswordSecretRef.name }),
  );
  const mssqlConf = renderMssqlConf(spec.mssqlConf);
  return {
    applied: [
      serviceAccount,
      role,
      roleBinding,
      renderInstanceConfigMap(owner, mssqlConf),
      renderInstanceService(owner, spec, "headless"),
      renderInstanceService(owner, spec, "client"),
      renderInstanceStatefulSet(owner, spec, mssqlConf),
    ],
    createIfMissing: [],
  };
}

function renderInstanceConfigMap(owner: OwnerIdentity, mssqlConf: string): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: objectMeta(owner, instanceNames.configMap(owner.metadata.name), KIND_LABEL_INSTANCE, "config"),
    data: { [MSSQL_CONF_KEY]: mssqlConf },
  };
}

/**
 * Headless (stable pod DNS, published before ready) and client Service (type from the spec; only a ready
 * instance receives connections). Both target spec.port, where SQL Server listens (MSSQL_TCP_PORT).
 */
function renderInstanceService(owner: OwnerIdentity, spec: ResolvedInstanceSpec, which: "headless" | "client"): V1Service {
  const cr = owner.metadata.name;
  const headless = which === "headless";
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(owner, headless ? instanceNames.headlessService(cr) : instanceNames.clientService(cr), KIND_LABEL_INSTANCE, which),
    spec: {
      ...(headless ? { clusterIP: "None", publishNotReadyAddresses: true } : { type: spec.serviceType }),
      selector: selectorLabels(KIND_LABEL_INSTANCE, cr),
      ports: [{ name: INSTANCE_PORT_NAME_SQL, port: spec.port, targetPort: spec.port, protocol: "TCP" }],
    },
  };
}

/**
 * Environment variables sqlag sets on the mssql container of an instance. The user's `additionalEnvVars` come
 * first and validateInstance rejects any that collide with these, so nobody overrides the SA password or the
 * EULA by accident.
 */
export function instanceMssqlEnv(spec: ResolvedInstanceSpec): V1EnvVar[] {
  const agentEnabled = spec.mssqlConf[SQL_AGENT_ENABLED_KEY];
  return [
    valueEnv("ACCEPT_EULA", spec.acceptEula),
    valueEnv("MSSQL_PID", spec.edition),
    secretEnv("MSSQL_SA_PASSWORD", spec.saPasswordSecretRef),
    valueEnv("MSSQL_TCP_PORT", spec.port),
    ...(spec.timezone !== undefined ? [valueEnv("TZ", spec.timezone)] : []),
    ...(agentEnabled !== undefined ? [valueEnv("MSSQL_AGENT_ENABLED", agentEnabled)] : []),
  ];
}

function userEnv(additional: EnvVar[]): V1EnvVar[] {
  return additional.map((variable) => ({ ...variable }) as V1EnvVar);
}

function instanceMssqlContainer(spec: ResolvedInstanceSpec): V1Container {
  return {
    name: CONTAINER_MSSQL,
    image: spec.image,
    env: [...userEnv(spec.additionalEnvVars), ...instanceMssqlEnv(spec)],
    ports: [{ name: INSTANCE_PORT_NAME_SQL, containerPort: spec.port, protocol: "TCP" }],
    resources: spec.resources,
    securityContext: mssqlSecurityContext(),
    volumeMounts: [{ name: VOLUME_DATA, mountPath: MSSQL_DATA_PATH }, mssqlConfMount()],
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}

function instanceAgentEnv(cr: string, spec: ResolvedInstanceSpec): V1EnvVar[] {
  return [
    ...agentIdentityEnv("standalone", cr),
    valueEnv(agentEnv.sqlPort, spec.port),
    valueEnv(agentEnv.clusterDomain, spec.clusterDomain),
    secretEnv(agentEnv.saPassword, spec.saPasswordSecretRef),
    valueEnv(agentEnv.logLevel, spec.agent.logLevel),
  ];
}

function renderInstanceStatefulSet(owner: OwnerIdentity, spec: ResolvedInstanceSpec, mssqlConf: string): V1StatefulSet {
  const cr = owner.metadata.name;
  const podLabels = objectLabels(KIND_LABEL_INSTANCE, cr, "database");
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: objectMeta(owner, instanceNames.statefulSet(cr), KIND_LABEL_INSTANCE, "database"),
    spec: {
      replicas: 1,
      serviceName: instanceNames.headlessService(cr),
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate" },
      persistentVolumeClaimRetentionPolicy: claimRetentionPolicy(spec.storage),
      selector: { matchLabels: selectorLabels(KIND_LABEL_INSTANCE, cr) },
      template: {
        metadata: { labels: podLabels, annotations: { [annotations.mssqlConfHash]: mssqlConfHash(mssqlConf) } },
        spec: {
          serviceAccountName: instanceNames.serviceAccount(cr),
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
          securityContext: podSecurityContext(),
          ...(Object.keys(spec.nodeSelector).length > 0 ? { nodeSelector: spec.nodeSelector } : {}),
          ...(spec.tolerations.length > 0 ? { tolerations: spec.tolerations } : {}),
          initContainers: [agentSidecar({ agent: spec.agent, env: instanceAgentEnv(cr, spec), extraMounts: [] })],
          containers: [instanceMssqlContainer(spec)],
          volumes: [mssqlConfVolume(instanceNames.configMap(cr)), agentTmpVolume()],
        },
      },
      volumeClaimTemplates: [dataClaimTemplate(spec.storage, podLabels)],
    },
  };
}
