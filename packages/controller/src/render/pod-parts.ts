/**
 * Pod template parts shared by the AG and the instance StatefulSets: the agent as a native sidecar, the
 * security contexts, downward-API environment and the mssql.conf volume.
 */
import type { V1Container, V1EnvVar, V1PodSecurityContext, V1Probe, V1SecurityContext, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { AGENT_HTTP_PORT, agentEnv, agentPaths, CONTAINER_AGENT, MSSQL_CONF_KEY, VOLUME_MSSQL_CONF } from "@sqlag/api";
import type { ResolvedAgentSpec, SecretKeyRef } from "@sqlag/api";

/** UID/GID of the `mssql` user in Microsoft's image; the agent image uses the same ids (see Dockerfile.agent). */
export const MSSQL_UID = 10001;

/**
 * SQL Server's container image reads `mssql.conf` from this directory at start (Microsoft's StatefulSet guidance
 * mounts the ConfigMap here). A directory mount instead of a `subPath` file over the data volume keeps the
 * kubelet's atomic ConfigMap updates; the content hash on the template restarts SQL Server when it changes.
 */
export const MSSQL_CONF_DIR = "/var/opt/config";

/** Where the `<ag>-hadr` Secret is mounted read-only in the agent (SQLAG_HADR_SECRET_DIR). */
export const HADR_SECRET_DIR = "/etc/sqlag/hadr";

/** Scratch space for the agent, whose root filesystem is read-only. */
export const AGENT_TMP_VOLUME = "agent-tmp";
export const AGENT_TMP_DIR = "/tmp";

/** Agent port name on the sidecar; probes and hooks use the number so they resolve from any container. */
export const AGENT_PORT_NAME = "http";

export function podSecurityContext(): V1PodSecurityContext {
  return {
    runAsUser: MSSQL_UID,
    runAsNonRoot: true,
    fsGroup: MSSQL_UID,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** SQL Server needs no Linux capabilities and never escalates; its image writes only under /var/opt/mssql. */
export function mssqlSecurityContext(): V1SecurityContext {
  return {
    runAsUser: MSSQL_UID,
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  };
}

export function agentSecurityContext(): V1SecurityContext {
  return {
    runAsUser: MSSQL_UID,
    runAsGroup: MSSQL_UID,
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function fieldEnv(name: string, fieldPath: string): V1EnvVar {
  return { name, valueFrom: { fieldRef: { apiVersion: "v1", fieldPath } } };
}

export function secretEnv(name: string, ref: SecretKeyRef): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
}

export function valueEnv(name: string, value: string | number): V1EnvVar {
  return { name, value: String(value) };
}

/** Downward-API identity every agent needs: who am I, where, on which node. */
export function agentIdentityEnv(mode: "availability-group" | "standalone", clusterName: string): V1EnvVar[] {
  return [
    valueEnv(agentEnv.mode, mode),
    valueEnv(agentEnv.clusterName, clusterName),
    fieldEnv(agentEnv.namespace, "metadata.namespace"),
    fieldEnv(agentEnv.podName, "metadata.name"),
    fieldEnv(agentEnv.podIp, "status.podIP"),
    fieldEnv(agentEnv.nodeName, "spec.nodeName"),
    // SQL Server listens on every address of the pod; the pod IP also works where loopback is shared.
    fieldEnv(agentEnv.sqlHost, "status.podIP"),
    // Encrypted, but SQL Server's certificate is its self-generated one and the connection never leaves the
    // pod's network namespace, so it is trusted rather than verified against a CA.
    valueEnv(agentEnv.sqlEncrypt, "true"),
    valueEnv(agentEnv.sqlTrustServerCertificate, "true"),
    valueEnv(agentEnv.httpPort, AGENT_HTTP_PORT),
  ];
}

function httpProbe(path: string, periodSeconds: number, failureThreshold: number, timeoutSeconds: number): V1Probe {
  return { httpGet: { path, port: AGENT_HTTP_PORT, scheme: "HTTP" }, periodSeconds, failureThreshold, timeoutSeconds, successThreshold: 1 };
}

export interface AgentSidecarOptions {
  agent: ResolvedAgentSpec;
  env: V1EnvVar[];
  extraMounts: V1VolumeMount[];
}

/**
 * The agent as a native sidecar: an init container with `restartPolicy: Always` starts before SQL Server and
 * stops after it, so the mssql preStop hook can still reach it. Readiness is the agent's verdict on SQL Server
 * (no shell probes that pass on error text); liveness only says the agent loop is alive. The startup probe gives
 * the agent time to load its configuration before liveness counts.
 */
export function agentSidecar(options: AgentSidecarOptions): V1Container {
  return {
    name: CONTAINER_AGENT,
    image: options.agent.image,
    restartPolicy: "Always",
    env: options.env,
    ports: [{ name: AGENT_PORT_NAME, containerPort: AGENT_HTTP_PORT, protocol: "TCP" }],
    startupProbe: httpProbe(agentPaths.livez, 2, 30, 2),
    readinessProbe: httpProbe(agentPaths.readyz, 5, 2, 3),
    livenessProbe: httpProbe(agentPaths.livez, 10, 3, 5),
    resources: options.agent.resources,
    securityContext: agentSecurityContext(),
    volumeMounts: [{ name: AGENT_TMP_VOLUME, mountPath: AGENT_TMP_DIR }, ...options.extraMounts],
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}

export function agentTmpVolume(): V1Volume {
  return { name: AGENT_TMP_VOLUME, emptyDir: { sizeLimit: "64Mi" } };
}

export function mssqlConfVolume(configMapName: string): V1Volume {
  return { name: VOLUME_MSSQL_CONF, configMap: { name: configMapName, items: [{ key: MSSQL_CONF_KEY, path: MSSQL_CONF_KEY }] } };
}

export function mssqlConfMount(): V1VolumeMount {
  return { name: VOLUME_MSSQL_CONF, mountPath: MSSQL_CONF_DIR, readOnly: true };
}
