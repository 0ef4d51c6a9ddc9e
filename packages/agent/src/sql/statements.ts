/**
 * Every T-SQL statement the agent sends, as named builders (CONVENTIONS 16). Identifiers are validated and
 * bracket-quoted; string values go in as parameters where T-SQL allows it and as escaped N'' literals where it
 * does not (DDL options). Statements carrying a password are marked `sensitive`: callers log only `name`.
 *
 * Shapes follow Microsoft's Pacemaker agent (reference/pacemaker-agent.md §1.1, §10) and the Linux AG setup
 * procedure (reference/tds-and-sqlserver.md B3, B4).
 */
import type { AvailabilityMode } from "@sqlag/api";

export type SqlParamType = "nvarchar" | "int" | "bigint";
export interface SqlParam {
  type: SqlParamType;
  value: string | number | null;
}

export interface Statement {
  /** Stable name for logs and metrics; the SQL text itself is never logged. */
  readonly name: string;
  readonly sql: string;
  readonly params?: Readonly<Record<string, SqlParam>>;
  /** Contains a secret (password, private key): never log even in debug. */
  readonly sensitive?: boolean;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export class InvalidIdentifierError extends Error {
  override readonly name = "InvalidIdentifierError";
}

/** Bracket-quotes an identifier after checking it is a plain SQL identifier (defence in depth: the CRD checks too). */
export function quoteIdentifier(identifier: string): string {
  if (!IDENTIFIER.test(identifier)) {
    throw new InvalidIdentifierError(`"${identifier}" is not a valid SQL identifier: use letters, digits and _ , starting with a letter or _`);
  }
  return `[${identifier.replace(/]/g, "]]")}]`;
}

/** A Unicode string literal with embedded quotes doubled. */
export function quoteString(value: string): string {
  return `N'${value.replace(/'/g, "''")}'`;
}

/** Replica (server) names are host names (pod names): letters, digits and '-' only. */
export function quoteReplicaName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(name)) {
    throw new InvalidIdentifierError(`"${name}" is not a valid replica (host) name`);
  }
  return quoteString(name);
}

function hex(buffer: Buffer): string {
  return `0x${buffer.toString("hex").toUpperCase()}`;
}

const agParam = (ag: string): Record<string, SqlParam> => ({ ag: { type: "nvarchar", value: ag } });

// ---------------------------------------------------------------------------------------------------------
// Identity and server state
// ---------------------------------------------------------------------------------------------------------

export const serverIdentity: Statement = {
  name: "server_identity",
  sql:
    "SELECT @@SERVERNAME AS server_name, CAST(SERVERPROPERTY('ServerName') AS nvarchar(128)) AS property_server_name, " +
    "CAST(SERVERPROPERTY('IsHadrEnabled') AS int) AS is_hadr_enabled, " +
    "CAST(SERVERPROPERTY('ProductMajorVersion') AS int) AS product_major_version",
};

// ---------------------------------------------------------------------------------------------------------
// Availability group observation (pacemaker-agent.md §1.1)
// ---------------------------------------------------------------------------------------------------------

/** The local replica's row; no row means the AG does not exist here (or we lack VIEW permissions). */
export function localReplicaState(ag: string): Statement {
  return {
    name: "local_replica_state",
    sql:
      "SELECT ag.group_id, ag.sequence_number, ag.required_synchronized_secondaries_to_commit, ag.cluster_type_desc, " +
      "ars.role, ars.role_desc, ars.operational_state_desc, ars.connected_state_desc, ars.synchronization_health_desc, " +
      "ars.current_configuration_commit_start_time_utc, ars.write_lease_remaining_ticks, " +
      "ar.replica_server_name, ar.availability_mode, ar.availability_mode_desc, ar.failover_mode_desc " +
      "FROM sys.availability_groups ag " +
      "INNER JOIN sys.dm_hadr_availability_replica_states ars ON ars.group_id = ag.group_id AND ars.is_local = 1 " +
      "INNER JOIN sys.availability_replicas ar ON ar.replica_id = ars.replica_id " +
      "WHERE ag.name = @ag",
    params: agParam(ag),
  };
}

/** Every replica in the local copy of the configuration, with runtime state where this replica can see it. */
export function replicaStates(ag: string): Statement {
  return {
    name: "replica_states",
    sql:
      "SELECT ar.replica_server_name, ar.endpoint_url, ar.availability_mode, ar.availability_mode_desc, " +
      "ar.failover_mode_desc, ar.secondary_role_allow_connections_desc, " +
      "ars.role_desc, ars.connected_state_desc, ars.synchronization_health_desc " +
      "FROM sys.availability_groups ag " +
      "INNER JOIN sys.availability_replicas ar ON ar.group_id = ag.group_id " +
      "LEFT JOIN sys.dm_hadr_availability_replica_states ars ON ars.replica_id = ar.replica_id " +
      "WHERE ag.name = @ag",
    params: agParam(ag),
  };
}

/** Per-database state of the AG's databases, local rows and (on the primary) one row per secondary. */
export function databaseReplicaStates(ag: string): Statement {
  return {
    name: "database_replica_states",
    sql:
      "SELECT adc.database_name, ar.replica_server_name, drs.is_local, drs.synchronization_state_desc, " +
      "drs.synchronization_health_desc, drs.database_state_desc, drs.is_suspended, drs.log_send_queue_size, drs.redo_queue_size " +
      "FROM sys.availability_groups ag " +
      "INNER JOIN sys.dm_hadr_database_replica_states drs ON drs.group_id = ag.group_id " +
      "INNER JOIN sys.availability_replicas ar ON ar.replica_id = drs.replica_id " +
      "INNER JOIN sys.availability_databases_cluster adc ON adc.group_database_id = drs.group_database_id " +
      "WHERE ag.name = @ag",
    params: agParam(ag),
  };
}

/** Seeding in progress toward any replica; recovery never restarts endpoints while this returns rows. */
export const activeSeeding: Statement = {
  name: "active_seeding",
  sql:
    "SELECT s.current_state, ar.replica_server_name FROM sys.dm_hadr_automatic_seeding s " +
    "INNER JOIN sys.availability_replicas ar ON ar.replica_id = s.ag_remote_replica_id " +
    "WHERE s.completion_time IS NULL",
};

export const userDatabases: Statement = {
  name: "user_databases",
  sql: "SELECT name, state_desc, recovery_model_desc, group_database_id FROM sys.databases WHERE database_id > 4",
};

// ---------------------------------------------------------------------------------------------------------
// Security objects for the endpoint (shared-certificate pattern, ARCHITECTURE §4.6, reference B4)
// ---------------------------------------------------------------------------------------------------------

export const securityState: Statement = {
  name: "security_state",
  sql:
    "SELECT (SELECT COUNT(*) FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##') AS master_keys, " +
    "(SELECT COUNT(*) FROM sys.certificates WHERE name = @certificate) AS certificates, " +
    "(SELECT COUNT(*) FROM sys.server_principals WHERE name = @endpointLogin) AS endpoint_logins, " +
    "(SELECT COUNT(*) FROM sys.server_principals WHERE name = @agentLogin) AS agent_logins, " +
    "(SELECT COUNT(*) FROM sys.database_mirroring_endpoints) AS mirroring_endpoints",
};

export function securityStateFor(names: { certificate: string; endpointLogin: string; agentLogin: string }): Statement {
  return {
    ...securityState,
    params: {
      certificate: { type: "nvarchar", value: names.certificate },
      endpointLogin: { type: "nvarchar", value: names.endpointLogin },
      agentLogin: { type: "nvarchar", value: names.agentLogin },
    },
  };
}

export const mirroringEndpointState: Statement = {
  name: "mirroring_endpoint_state",
  sql:
    "SELECT e.name, e.state_desc, e.role_desc, e.connection_auth_desc, e.encryption_algorithm_desc, t.port " +
    "FROM sys.database_mirroring_endpoints e INNER JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id",
};

export function createMasterKey(password: string): Statement {
  return { name: "create_master_key", sql: `CREATE MASTER KEY ENCRYPTION BY PASSWORD = ${quoteString(password)}`, sensitive: true };
}

export function createCertificate(certificate: string, subject: string): Statement {
  return {
    name: "create_certificate",
    sql: `CREATE CERTIFICATE ${quoteIdentifier(certificate)} WITH SUBJECT = ${quoteString(subject)}, EXPIRY_DATE = '20991231'`,
  };
}

/** Exports the public certificate and its private key encrypted with `password` (CERTENCODED/CERTPRIVATEKEY). */
export function exportCertificate(certificate: string, password: string): Statement {
  return {
    name: "export_certificate",
    sql:
      `SELECT CERTENCODED(CERT_ID(${quoteString(certificate)})) AS certificate, ` +
      `CERTPRIVATEKEY(CERT_ID(${quoteString(certificate)}), ${quoteString(password)}) AS private_key`,
    sensitive: true,
  };
}

export function importCertificate(certificate: string, owner: string, certificateDer: Buffer, privateKey: Buffer, password: string): Statement {
  return {
    name: "import_certificate",
    sql:
      `CREATE CERTIFICATE ${quoteIdentifier(certificate)} AUTHORIZATION ${quoteIdentifier(owner)} FROM BINARY = ${hex(certificateDer)} ` +
      `WITH PRIVATE KEY (BINARY = ${hex(privateKey)}, DECRYPTION BY PASSWORD = ${quoteString(password)})`,
    sensitive: true,
  };
}

export function createLoginWithPassword(login: string, password: string): Statement {
  return {
    name: "create_login",
    sql: `CREATE LOGIN ${quoteIdentifier(login)} WITH PASSWORD = ${quoteString(password)}, CHECK_POLICY = OFF`,
    sensitive: true,
  };
}

export function alterLoginPassword(login: string, password: string): Statement {
  return { name: "alter_login_password", sql: `ALTER LOGIN ${quoteIdentifier(login)} WITH PASSWORD = ${quoteString(password)}`, sensitive: true };
}

export function createUserForLogin(user: string, login: string): Statement {
  return {
    name: "create_user",
    sql: `IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = ${quoteString(user)}) CREATE USER ${quoteIdentifier(user)} FOR LOGIN ${quoteIdentifier(login)}`,
  };
}

export function createEndpoint(endpoint: string, port: number, certificate: string): Statement {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`endpoint port ${port} out of range`);
  return {
    name: "create_endpoint",
    sql:
      `CREATE ENDPOINT ${quoteIdentifier(endpoint)} STATE = STARTED AS TCP (LISTENER_PORT = ${port}, LISTENER_IP = ALL) ` +
      `FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE ${quoteIdentifier(certificate)}, ENCRYPTION = REQUIRED ALGORITHM AES)`,
  };
}

export function setEndpointState(endpoint: string, state: "STARTED" | "STOPPED"): Statement {
  return { name: state === "STARTED" ? "start_endpoint" : "stop_endpoint", sql: `ALTER ENDPOINT ${quoteIdentifier(endpoint)} STATE = ${state}` };
}

export function grantConnectOnEndpoint(endpoint: string, login: string): Statement {
  return { name: "grant_connect_endpoint", sql: `GRANT CONNECT ON ENDPOINT::${quoteIdentifier(endpoint)} TO ${quoteIdentifier(login)}` };
}

/** What Pacemaker's login needs (pacemaker-agent.md §8.4): ALTER, CONTROL, VIEW DEFINITION on the AG, VIEW SERVER STATE. */
export function grantAgentPermissions(login: string, ag: string): Statement {
  const l = quoteIdentifier(login);
  const g = quoteIdentifier(ag);
  return {
    name: "grant_agent_permissions",
    sql:
      `GRANT ALTER, CONTROL, VIEW DEFINITION ON AVAILABILITY GROUP::${g} TO ${l}; ` +
      `GRANT VIEW SERVER STATE TO ${l}; GRANT ALTER ANY AVAILABILITY GROUP TO ${l}; GRANT ALTER ANY ENDPOINT TO ${l}; ` +
      `GRANT CREATE ANY DATABASE TO ${l}`,
  };
}

/**
 * Until the AG exists only server-level permissions can be granted; bootstrap runs as sa, which is why the
 * agent creates its own login and connects as sa only once (ARCHITECTURE §4.6).
 */
export function addLoginToSysadmin(login: string): Statement {
  return { name: "add_login_sysadmin", sql: `ALTER SERVER ROLE [sysadmin] ADD MEMBER ${quoteIdentifier(login)}` };
}

// ---------------------------------------------------------------------------------------------------------
// Availability group DDL (reference B3)
// ---------------------------------------------------------------------------------------------------------

export interface ReplicaDefinition {
  serverName: string;
  endpointUrl: string;
  availabilityMode: AvailabilityMode;
  readableSecondary: boolean;
}

const SQL_AVAILABILITY_MODE: Record<AvailabilityMode, string> = {
  SynchronousCommit: "SYNCHRONOUS_COMMIT",
  AsynchronousCommit: "ASYNCHRONOUS_COMMIT",
  ConfigurationOnly: "CONFIGURATION_ONLY",
};

/** One REPLICA ON clause; configuration-only replicas omit failover/seeding/secondary-role options (§4.1 of the reference). */
export function replicaClause(replica: ReplicaDefinition): string {
  const mode = SQL_AVAILABILITY_MODE[replica.availabilityMode];
  const common = `ENDPOINT_URL = ${quoteString(replica.endpointUrl)}, AVAILABILITY_MODE = ${mode}`;
  if (replica.availabilityMode === "ConfigurationOnly") return `${quoteReplicaName(replica.serverName)} WITH (${common})`;
  const readable = replica.readableSecondary ? "READ_ONLY" : "NO";
  return (
    `${quoteReplicaName(replica.serverName)} WITH (${common}, FAILOVER_MODE = EXTERNAL, SEEDING_MODE = AUTOMATIC, ` +
    `SECONDARY_ROLE (ALLOW_CONNECTIONS = ${readable}))`
  );
}

export function createAvailabilityGroup(ag: string, writeLeaseSeconds: number, replicas: readonly ReplicaDefinition[]): Statement {
  return {
    name: "create_availability_group",
    sql:
      `CREATE AVAILABILITY GROUP ${quoteIdentifier(ag)} WITH (CLUSTER_TYPE = EXTERNAL, DB_FAILOVER = ON, ` +
      `WRITE_LEASE_VALIDITY = ${Math.trunc(writeLeaseSeconds)}) FOR REPLICA ON ${replicas.map(replicaClause).join(", ")}`,
  };
}

export function joinAvailabilityGroup(ag: string): Statement {
  return { name: "join_availability_group", sql: `ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} JOIN WITH (CLUSTER_TYPE = EXTERNAL)` };
}

export function grantCreateAnyDatabase(ag: string): Statement {
  return { name: "grant_create_any_database", sql: `ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} GRANT CREATE ANY DATABASE` };
}

export function addReplica(ag: string, replica: ReplicaDefinition): Statement {
  return { name: "add_replica", sql: `ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} ADD REPLICA ON ${replicaClause(replica)}` };
}

export function removeReplica(ag: string, serverName: string): Statement {
  return { name: "remove_replica", sql: `ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} REMOVE REPLICA ON ${quoteReplicaName(serverName)}` };
}

export function modifyReplicaAvailabilityMode(ag: string, serverName: string, mode: Exclude<AvailabilityMode, "ConfigurationOnly">): Statement {
  return {
    name: "modify_replica_availability_mode",
    sql: `ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} MODIFY REPLICA ON ${quoteReplicaName(serverName)} WITH (AVAILABILITY_MODE = ${SQL_AVAILABILITY_MODE[mode]})`,
  };
}

export function modifyReplicaReadable(ag: string, serverName: string, readable: boolean): Statement {
  return {
    name: "modify_replica_readable",
    sql: `ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} MODIFY REPLICA ON ${quoteReplicaName(serverName)} WITH (SECONDARY_ROLE (ALLOW_CONNECTIONS = ${readable ? "READ_ONLY" : "NO"}))`,
  };
}

export function addDatabaseToAg(ag: string, database: string): Statement {
  return { name: "add_database", sql: `ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} ADD DATABASE ${quoteIdentifier(database)}` };
}

/**
 * Planned or unplanned failover of an EXTERNAL AG: the session context and the FAILOVER must be one batch on
 * one session (reference B3; 47104 without it). Never FORCE_FAILOVER_ALLOW_DATA_LOSS: there is no builder for it.
 */
export function failover(ag: string): Statement {
  return {
    name: "failover",
    sql: `EXEC sp_set_session_context @key = N'external_cluster', @value = N'yes'; ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} FAILOVER`,
  };
}

/** Demotion and fencing: OFFLINE (→ RESOLVING), never SET (ROLE = SECONDARY) (pacemaker-agent.md §5.1). */
export function offline(ag: string): Statement {
  return { name: "offline", sql: `ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} OFFLINE` };
}

export function setRoleSecondary(ag: string): Statement {
  return { name: "set_role_secondary", sql: `ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} SET (ROLE = SECONDARY)` };
}

/**
 * With `notAfter`, the renewal is guarded by the server's own clock (the agent is a sidecar: same node, same
 * clock): a request that reaches SQL Server late — queued in the socket of a frozen (SIGSTOP) process and run on
 * SIGCONT — must not extend the lease after the agent has counted W + margin from its deadline and released the
 * Lease. Found by the e2e freeze scenario: two writers for 85 ms after the thaw.
 */
export function renewWriteLease(ag: string, seconds: number, notAfter?: Date): Statement {
  const alter = `ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} SET (WRITE_LEASE_VALIDITY = ${Math.trunc(seconds)})`;
  if (notAfter === undefined) return { name: "renew_write_lease", sql: alter };
  // ISO 8601 without the zone (style 126); SYSUTCDATETIME() is UTC like toISOString().
  return { name: "renew_write_lease", sql: `IF SYSUTCDATETIME() < CONVERT(datetime2, '${notAfter.toISOString().slice(0, 23)}', 126) ${alter}` };
}

/** Idempotent RSSTC, exactly Pacemaker's shape: ALTER only when the value differs (pacemaker-agent.md §1.1). */
export function setRequiredSynchronizedSecondaries(ag: string, required: number): Statement {
  if (!Number.isInteger(required) || required < 0) throw new RangeError(`RSSTC ${required} must be a non-negative integer`);
  return {
    name: "set_rsstc",
    sql:
      "DECLARE @num_ags INT; SELECT @num_ags = COUNT(*) FROM sys.availability_groups WHERE name = @ag AND " +
      `required_synchronized_secondaries_to_commit = ${required}; IF @num_ags = 0 ALTER AVAILABILITY GROUP ${quoteIdentifier(ag)} ` +
      `SET (REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT = ${required})`,
    params: agParam(ag),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Databases (declarative spec.databases, ARCHITECTURE §4.6)
// ---------------------------------------------------------------------------------------------------------

export function createDatabase(database: string): Statement {
  return { name: "create_database", sql: `CREATE DATABASE ${quoteIdentifier(database)}` };
}

export function setRecoveryFull(database: string): Statement {
  return { name: "set_recovery_full", sql: `ALTER DATABASE ${quoteIdentifier(database)} SET RECOVERY FULL` };
}

/** The first full backup starts the log chain that ADD DATABASE requires; NUL keeps no file. */
export function backupDatabaseToNul(database: string): Statement {
  return { name: "backup_database", sql: `BACKUP DATABASE ${quoteIdentifier(database)} TO DISK = N'NUL'` };
}

// ---------------------------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------------------------

/** Repeat mode streams one result set every `intervalSeconds` (≥ 5) until cancelled (reference B1). */
export function serverDiagnostics(intervalSeconds: number): Statement {
  if (!Number.isInteger(intervalSeconds) || (intervalSeconds !== 0 && intervalSeconds < 5)) {
    throw new RangeError("sp_server_diagnostics repeat interval must be 0 or at least 5 seconds");
  }
  return { name: "server_diagnostics", sql: `EXEC sp_server_diagnostics @repeat_interval = ${intervalSeconds}` };
}

export const ping: Statement = { name: "ping", sql: "SELECT 1 AS ok" };
