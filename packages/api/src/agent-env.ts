/**
 * Environment variables the controller renders into the agent container and `loadAgentConfig` reads: the one
 * list both sides share, so a rename cannot silently break the agent.
 */
export const agentEnv = {
  /** "availability-group" or "standalone" (SQLServerInstance pods). */
  mode: "SQLAG_MODE",
  /** Name of the owning CR (SQLServerAvailabilityGroup or SQLServerInstance). */
  clusterName: "SQLAG_CLUSTER_NAME",
  namespace: "SQLAG_NAMESPACE",
  podName: "SQLAG_POD_NAME",
  podIp: "SQLAG_POD_IP",
  nodeName: "SQLAG_NODE_NAME",
  agName: "SQLAG_AG_NAME",
  httpPort: "SQLAG_HTTP_PORT",
  sqlHost: "SQLAG_SQL_HOST",
  sqlPort: "SQLAG_SQL_PORT",
  endpointPort: "SQLAG_ENDPOINT_PORT",
  clusterDomain: "SQLAG_CLUSTER_DOMAIN",
  saPassword: "SQLAG_SA_PASSWORD",
  /** Directory where the `<ag>-hadr` Secret is mounted (certificate, private key, passwords, peer token). */
  hadrSecretDir: "SQLAG_HADR_SECRET_DIR",
  leaseDurationSeconds: "SQLAG_LEASE_DURATION_SECONDS",
  renewIntervalSeconds: "SQLAG_RENEW_INTERVAL_SECONDS",
  renewDeadlineSeconds: "SQLAG_RENEW_DEADLINE_SECONDS",
  sqlWriteLeaseSeconds: "SQLAG_SQL_WRITE_LEASE_SECONDS",
  healthCheckIntervalSeconds: "SQLAG_HEALTH_CHECK_INTERVAL_SECONDS",
  failoverThresholdSeconds: "SQLAG_FAILOVER_THRESHOLD_SECONDS",
  healthThreshold: "SQLAG_HEALTH_THRESHOLD",
  disablePrimaryOnQuorumTimeoutSeconds: "SQLAG_DISABLE_PRIMARY_ON_QUORUM_TIMEOUT_SECONDS",
  /** SQL connection encryption: "true" (default, verify with CA or trust), "false" (tests only). */
  sqlEncrypt: "SQLAG_SQL_ENCRYPT",
  sqlTrustServerCertificate: "SQLAG_SQL_TRUST_SERVER_CERTIFICATE",
  sqlCaFile: "SQLAG_SQL_CA_FILE",
  logLevel: "SQLAG_LOG_LEVEL",
  /** Address the HTTP server binds (default 0.0.0.0). */
  httpHost: "SQLAG_HTTP_HOST",
  /** Set by the test harness only: JSON map of mountPath → host path (processes cannot mount volumes). */
  fakeMounts: "SQLAG_FAKE_MOUNTS",
  /**
   * Set by the test harness only: the pod's own loopback address. Pods of the fake kubelet share one network
   * namespace, so the agent binds its HTTP server there instead of 0.0.0.0.
   */
  fakePodIp: "SQLAG_FAKE_POD_IP",
  /** Set by the test harness only: JSON file {hostname: ip} standing in for cluster DNS of pod names. */
  fakeDnsFile: "SQLAG_FAKE_DNS_FILE",
} as const;

/** Keys of the `<ag>-hadr` Secret. The controller writes the password keys once; the bootstrap agent fills the rest. */
export const hadrSecretKeys = {
  masterKeyPassword: "masterKeyPassword",
  certificatePassword: "certificatePassword",
  agentLoginPassword: "agentLoginPassword",
  peerToken: "peerToken",
  certificate: "certificate",
  privateKey: "privateKey",
} as const;

/** Fixed SQL Server object names the agent creates (shared certificate pattern, ARCHITECTURE §4.6). */
export const sqlObjectNames = {
  agentLogin: "sqlag_agent",
  endpoint: "sqlag_hadr_endpoint",
  certificate: "sqlag_hadr_certificate",
  endpointLogin: "sqlag_hadr_login",
  endpointUser: "sqlag_hadr_user",
} as const;
