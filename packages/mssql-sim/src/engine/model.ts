/**
 * Per-instance state (B6 items 2–3). `Catalog` is what survives a restart (written atomically to the data
 * directory on every DDL); databases' key-value rows are rebuilt from their per-database log files.
 */

export type AvailabilityMode = "ASYNCHRONOUS_COMMIT" | "SYNCHRONOUS_COMMIT" | "CONFIGURATION_ONLY";
export type FailoverMode = "AUTOMATIC" | "MANUAL" | "EXTERNAL";
export type SeedingMode = "AUTOMATIC" | "MANUAL";
export type ClusterType = "WSFC" | "EXTERNAL" | "NONE";
export type Role = "RESOLVING" | "PRIMARY" | "SECONDARY";
export type SyncState = "NOT SYNCHRONIZING" | "SYNCHRONIZING" | "SYNCHRONIZED" | "REVERTING" | "INITIALIZING";

export interface ReplicaConfig {
  replicaId: string;
  serverName: string;
  endpointUrl: string;
  availabilityMode: AvailabilityMode;
  failoverMode: FailoverMode;
  seedingMode: SeedingMode;
  secondaryAllowConnections: "NO" | "READ_ONLY" | "ALL";
  primaryAllowConnections: "ALL" | "READ_WRITE";
  sessionTimeoutSeconds: number;
  backupPriority: number;
  createDateMs: number;
  modifyDateMs: number;
}

/** The replicated AG configuration: every replica holds its own copy (B6.3), secondaries may be stale. */
export interface AgConfig {
  groupId: string;
  name: string;
  clusterType: ClusterType;
  dbFailover: boolean;
  /** Seconds from CREATE … WRITE_LEASE_VALIDITY; null = lease updates not enabled (47116). */
  writeLeaseValiditySeconds: number | null;
  requiredSynchronizedSecondariesToCommit: number;
  /** bigint as decimal string (B2: sequence_number bigint, monotonic). */
  sequenceNumber: string;
  replicas: ReplicaConfig[];
  databases: { name: string; groupDatabaseId: string }[];
  primaryReplicaId: string | null;
  /** replicaId → databases that are failover-ready (sys.dm_hadr_database_replica_cluster_states.is_failover_ready). */
  failoverReady: Record<string, string[]>;
  /** Sequence number at the last FORCE_FAILOVER_ALLOW_DATA_LOSS (databases of other replicas suspend, B3). */
  forcedFailoverSequence: string;
  createDateMs: number;
}

export interface LocalAg {
  config: AgConfig;
  localReplicaId: string;
  joined: boolean;
  createAnyDatabaseGranted: boolean;
  /** Last role before a stop/crash; the instance restarts as RESOLVING (pacemaker §5.1) but remembers it was primary. */
  lastRole: Role;
}

export interface CertificateRecord {
  name: string;
  certificateId: number;
  principalId: number;
  derBase64: string;
  privateKeyPem: string | null;
  subject: string;
  issuer: string;
  serialHex: string;
  startDateMs: number;
  expiryDateMs: number;
  thumbprintHex: string;
}

export interface EndpointRecord {
  name: string;
  endpointId: number;
  port: number;
  ipAddress: string;
  state: "STARTED" | "STOPPED" | "DISABLED";
  role: "NONE" | "PARTNER" | "WITNESS" | "ALL";
  authenticationCertificate: string | null;
  encryptionAlgorithm: "AES" | "RC4" | "NONE";
  encryptionRequired: boolean;
}

export interface LoginRecord {
  name: string;
  principalId: number;
  type: "SQL_LOGIN" | "CERTIFICATE_MAPPED_LOGIN" | "SERVER_ROLE";
  password: string | null;
  certificate: string | null;
  disabled: boolean;
  createDateMs: number;
}

export interface PermissionRecord {
  permission: string;
  securableClass: string; // SERVER, ENDPOINT, AVAILABILITY GROUP
  securable: string | null;
  grantee: string;
  state: "GRANT" | "DENY";
}

export interface DatabaseRecord {
  name: string;
  databaseId: number;
  recoveryModel: "FULL" | "SIMPLE" | "BULK_LOGGED";
  hasFullBackup: boolean;
  createDateMs: number;
  hasKvTable: boolean;
  /** AG membership: null when the database is not an availability database. */
  hadr: { agName: string; groupDatabaseId: string; suspended: boolean; suspendReason: string | null; forcedFailoverSequenceSeen: string } | null;
  /** RESTORING after leaving an AG on a secondary (B3 DROP/REMOVE REPLICA). */
  restoring: boolean;
}

export interface Catalog {
  serverName: string;
  saPassword: string;
  masterKeyCreatedMs: number | null;
  certificates: CertificateRecord[];
  endpoint: EndpointRecord | null;
  logins: LoginRecord[];
  users: { name: string; login: string | null }[];
  serverRoleMembers: { role: string; member: string }[];
  permissions: PermissionRecord[];
  databases: DatabaseRecord[];
  ags: LocalAg[];
  nextPrincipalId: number;
  nextDatabaseId: number;
  nextCertificateId: number;
}

/** One committed write in a database log (workload key-value table). */
export interface LogEntry {
  lsn: number;
  /** Sequence number at which the writing primary took the role: detects diverged logs after forced failover. */
  term: string;
  key: string;
  value: string | null;
}

export function emptyCatalog(serverName: string, saPassword: string): Catalog {
  return {
    serverName,
    saPassword,
    masterKeyCreatedMs: null,
    certificates: [],
    endpoint: null,
    logins: [{ name: "sa", principalId: 1, type: "SQL_LOGIN", password: null, certificate: null, disabled: false, createDateMs: 0 }],
    users: [],
    serverRoleMembers: [{ role: "sysadmin", member: "sa" }],
    permissions: [],
    databases: [],
    ags: [],
    nextPrincipalId: 256,
    nextDatabaseId: 5,
    nextCertificateId: 256,
  };
}

export const SYSTEM_DATABASES = ["master", "tempdb", "model", "msdb"];

export function sameName(a: string | null | undefined, b: string | null | undefined): boolean {
  return a != null && b != null && a.toLowerCase() === b.toLowerCase();
}
