/**
 * Name builders for every object the controller renders and the agents address (CONVENTIONS 6): nobody else
 * concatenates these strings.
 */

export const FIELD_MANAGER_CONTROLLER = "sqlag-controller";
export const FIELD_MANAGER_AGENT = "sqlag-agent";

export const CONTAINER_MSSQL = "mssql";
export const CONTAINER_AGENT = "sqlag-agent";
export const VOLUME_DATA = "mssql-data";
export const VOLUME_MSSQL_CONF = "mssql-conf";
export const VOLUME_HADR_SECRET = "hadr";
export const MSSQL_CONF_KEY = "mssql.conf";
export const MSSQL_DATA_PATH = "/var/opt/mssql";

export const agNames = {
  statefulSet: (cr: string): string => cr,
  pod: (cr: string, ordinal: number): string => `${cr}-${ordinal}`,
  headlessService: (cr: string): string => `${cr}-hl`,
  listenerService: (cr: string, listenerName?: string): string => listenerName ?? `${cr}-listener`,
  readOnlyListenerService: (cr: string, listenerName?: string): string => listenerName ?? `${cr}-listener-ro`,
  configMap: (cr: string): string => `${cr}-mssql-conf`,
  hadrSecret: (cr: string): string => `${cr}-hadr`,
  lease: (cr: string): string => `${cr}-primary`,
  serviceAccount: (cr: string): string => `${cr}-agent`,
  role: (cr: string): string => `${cr}-agent`,
  roleBinding: (cr: string): string => `${cr}-agent`,
  podDisruptionBudget: (cr: string): string => cr,
  /** PVC created by the StatefulSet's volumeClaimTemplate for one ordinal. */
  dataClaim: (cr: string, ordinal: number): string => `${VOLUME_DATA}-${cr}-${ordinal}`,
} as const;

export const instanceNames = {
  statefulSet: (cr: string): string => cr,
  pod: (cr: string): string => `${cr}-0`,
  headlessService: (cr: string): string => `${cr}-hl`,
  clientService: (cr: string): string => cr,
  configMap: (cr: string): string => `${cr}-mssql-conf`,
  serviceAccount: (cr: string): string => `${cr}-agent`,
  role: (cr: string): string => `${cr}-agent`,
  roleBinding: (cr: string): string => `${cr}-agent`,
  dataClaim: (cr: string): string => `${VOLUME_DATA}-${cr}-0`,
} as const;

/** DNS name of a pod behind the AG's headless Service; the cluster domain is configurable, never assumed. */
export function podFqdn(pod: string, cr: string, namespace: string, clusterDomain: string): string {
  return `${pod}.${agNames.headlessService(cr)}.${namespace}.svc.${clusterDomain}`;
}

/** Database mirroring endpoint URL of a replica, as written into CREATE/ALTER AVAILABILITY GROUP. */
export function endpointUrl(pod: string, cr: string, namespace: string, clusterDomain: string, port: number): string {
  return `TCP://${podFqdn(pod, cr, namespace, clusterDomain)}:${port}`;
}

/** Base URL of a peer agent's HTTP API. */
export function agentBaseUrl(pod: string, cr: string, namespace: string, clusterDomain: string, port: number): string {
  return `http://${podFqdn(pod, cr, namespace, clusterDomain)}:${port}`;
}

/** Parses `<cr>-<ordinal>`; returns undefined for other names. */
export function ordinalOfPod(cr: string, pod: string): number | undefined {
  const prefix = `${cr}-`;
  if (!pod.startsWith(prefix)) return undefined;
  const rest = pod.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}
