/**
 * SQL Server errors the model raises. Numbers and texts cite tds-and-sqlserver.md Part B (B3/B4), pacemaker-agent.md §5.2
 * and the peer-operator notes; "[U]" marks a modelling choice where the exact number is not documented.
 */
export class SqlError extends Error {
  constructor(
    readonly number: number,
    message: string,
    readonly severity = 16,
    readonly state = 1,
  ) {
    super(message);
    this.name = "SqlError";
  }
}

const e = (number: number, message: string, severity = 16, state = 1): SqlError => new SqlError(number, message, severity, state);

export const Errors = {
  // --- sessions / general ---
  loginFailed: (user: string) => e(18456, `Login failed for user '${user}'.`, 14, 1),
  cannotOpenDatabase: (db: string) => e(4060, `Cannot open database "${db}" requested by the login. The login failed.`, 11, 1),
  databaseDoesNotExist: (db: string) => e(911, `Database '${db}' does not exist. Make sure that the name is entered correctly.`, 16, 1),
  invalidObject: (name: string) => e(208, `Invalid object name '${name}'.`, 16, 1),
  invalidColumn: (name: string) => e(207, `Invalid column name '${name}'.`, 16, 1),
  mustDeclare: (name: string) => e(137, `Must declare the scalar variable "${name}".`, 15, 2),
  syntax: (message: string) => e(102, message, 15, 1),
  duplicateKey: (table: string, key: string) =>
    e(2627, `Violation of PRIMARY KEY constraint 'PK_${table}'. Cannot insert duplicate key in object 'dbo.${table}'. The duplicate key value is (${key}).`, 14, 1),
  objectExists: (name: string) => e(2714, `There is already an object named '${name}' in the database.`, 16, 6),
  databaseExists: (name: string) => e(1801, `Database '${name}' already exists. Choose a different database name.`, 16, 3),
  notModelled: (message: string) => e(50000, message, 16, 1),
  // --- availability database access (B3/B5; exact number for the lease case is [U]) ---
  readOnlyDatabase: (db: string) => e(3906, `Failed to update database "${db}" because the database is read-only.`, 16, 1),
  secondaryNotReadable: (db: string) =>
    e(
      976,
      `The target database, '${db}', is participating in an availability group and is currently not accessible for queries. Either data movement is suspended or the availability replica is not enabled for read access. To allow read-only access to this and other databases in the availability group, enable read access to one or more secondary availability replicas in the group.`,
      14,
      1,
    ),
  notPrimaryOrSecondary: (db: string) =>
    e(
      983,
      `Unable to access availability database '${db}' because the database replica is not in the PRIMARY or SECONDARY role. Connections to an availability database is permitted only when the database replica is in the PRIMARY or SECONDARY role. Try the operation again later.`,
      14,
      1,
    ),
  /** [U] ag_metadata: on lease expiry "all pending transactions fail and the DB becomes inaccessible"; the number is ours (983-family). */
  writeLeaseExpired: (db: string, ag: string) =>
    e(
      983,
      `Unable to access availability database '${db}' because the external write lease of availability group '${ag}' has expired. Writes resume after the lease is renewed with ALTER AVAILABILITY GROUP ... SET (WRITE_LEASE_VALIDITY = n).`,
      14,
      2,
    ),
  /** [U] B5: with fewer than RSSTC synchronized secondaries "commits on the primary fail" — number is ours. */
  rsstcNotMet: (db: string, required: number, acked: number) =>
    e(
      50001,
      `Remote harden of the commit in database '${db}' failed: REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT is ${required} but ${acked} synchronized secondary replicas acknowledged. [U: number per mssql-sim model]`,
      16,
      1,
    ),
  // --- AG DDL (B3) ---
  agDdlOutsideMaster: () => e(35208, "The operation encountered SQL Server error 35208 and has been rolled back. An availability group DDL operation can only be run in the master database. Change the database context to master and retry.", 16, 1),
  agDoesNotExistAlter: (ag: string) => e(15151, `Cannot alter the availability group '${ag}', because it does not exist or you do not have permission.`, 16, 1),
  agDoesNotExistDrop: (ag: string) => e(15151, `Cannot drop the availability group '${ag}', because it does not exist or you do not have permission.`, 16, 1),
  agExists: (ag: string) => e(41114, `Cannot create the availability group '${ag}' because an availability group with this name already exists. Specify a unique name for the new availability group.`, 16, 1),
  localNotInReplicaList: (ag: string, server: string) =>
    e(35237, `None of the specified replicas for availability group ${ag} maps to the instance of SQL Server to which you are connected. Reenter the command, specifying this server instance to host one of the replicas. This replica will be the initial primary replica. (local server: '${server}')`, 16, 1),
  externalNeedsExternalFailover: () => e(47102, "The command failed because CLUSTER_TYPE = EXTERNAL requires FAILOVER_MODE = EXTERNAL for every replica that is not a configuration-only replica.", 16, 1),
  noneNeedsManualFailover: () => e(47101, "The command failed because CLUSTER_TYPE = NONE requires FAILOVER_MODE = MANUAL.", 16, 1),
  wsfcUnsupported: () => e(47103, "CLUSTER_TYPE = WSFC is not supported by this instance: it is not a member of a Windows Server Failover Cluster.", 16, 1),
  configOnlyNeedsExternal: () => e(47114, "A configuration-only replica can only be used with CLUSTER_TYPE = EXTERNAL.", 16, 1),
  configOnlyLimit: () => e(47107, "An availability group can have at most one configuration-only replica.", 16, 1),
  asyncAutomatic: () => e(35211, "The command failed because ASYNCHRONOUS_COMMIT availability mode does not support FAILOVER_MODE = AUTOMATIC.", 16, 1),
  badEndpointUrl: (url: string) => e(35232, `The specified endpoint URL '${url}' is invalid. Specify a URL of the form TCP://system-address:port.`, 16, 1),
  missingFailoverMode: () => e(41197, "FAILOVER_MODE option has not been specified for the replica. Reenter the command, specifying a failover mode for the replica.", 16, 1),
  missingAvailabilityMode: () => e(41198, "AVAILABILITY_MODE option has not been specified for the replica. Reenter the command, specifying an availability mode for the replica.", 16, 1),
  agDatabaseNotFound: (db: string) => e(35238, `Database '${db}' cannot be added to an availability group. The database does not exist on this SQL Server instance. Verify that the database name is correct, then retry the operation.`, 16, 1),
  databaseInOtherAg: (db: string) => e(35244, `Database '${db}' cannot be added to an availability group. The database is currently joined to another availability group.`, 16, 1),
  databaseAlreadyInAg: (db: string, ag: string) => e(35280, `Database '${db}' cannot be added to availability group '${ag}'. The database is already joined to the specified availability group.`, 16, 1),
  systemDatabase: (db: string) => e(35249, `An attempt to add or join a system database, '${db}', to an availability group failed. Specify only user databases for this operation.`, 16, 1),
  /** [U] exact number not verified (B3 "[exact recovery-model/backup error numbers not verified]"). */
  databaseNotFullRecovery: (db: string) => e(1475, `Database "${db}" might contain bulk logged changes that have not been backed up, or it is not in the FULL recovery model with a full backup. Set RECOVERY FULL and take a full backup, then retry.`, 16, 105),
  notPrimary: (ag: string) =>
    e(41140, `Availability group '${ag}' cannot process the ALTER AVAILABILITY GROUP command, because the local availability replica is not the primary replica. Connect to the server instance that is currently hosting the primary replica of this availability group, and rerun the command.`, 16, 1),
  clusterTypeMismatch: (ag: string) => e(47100, `The CLUSTER_TYPE specified for JOIN of availability group '${ag}' does not match the cluster type of the availability group on the primary replica.`, 16, 1),
  joinConfigTimeout: (ag: string) => e(47106, `Cannot join availability group '${ag}'. Download configuration timeout. Please check primary configuration, network connectivity and firewall setup, then retry the operation.`, 16, 1),
  replicaNotInAg: (ag: string, server: string) =>
    e(41158, `Failed to join local availability replica to availability group '${ag}'. The operation encountered SQL Server error 35237 and has been rolled back. The local server '${server}' is not a replica of the availability group.`, 16, 1),
  alreadyJoined: (ag: string) => e(41106, `Cannot create or join availability group '${ag}': the local instance already hosts an availability replica of this availability group.`, 16, 1),
  grantOnConfigOnly: (ag: string) => e(47111, `The operation is not supported on a configuration-only replica of availability group '${ag}'.`, 16, 1),
  notConnectedToPrimary: () => e(35250, "The connection to the primary replica is not active. The command cannot be processed.", 16, 7),
  externalNeedsContext: (ag: string) =>
    e(47104, `This operation cannot be performed on the availability group '${ag}' because it has EXTERNAL cluster type. Use the cluster management tools to perform the operation.`, 16, 1),
  noneOnlyForce: () => e(47122, "Only force failover is supported in this version of SQL Server.", 16, 1),
  notSynchronized: (ag: string, server: string) =>
    e(
      41142,
      `The availability replica for availability group '${ag}' on this instance of SQL Server cannot become the primary replica. One or more databases are not synchronized or have not joined the availability group. If the availability replica uses the asynchronous-commit mode, consider performing a forced manual failover (with possible data loss). Otherwise, once all local secondary databases are joined and synchronized, you can perform a planned manual failover to this secondary replica (without data loss). (replica '${server}')`,
      16,
      34,
    ),
  alreadyPrimary: (ag: string) =>
    e(41122, `Cannot failover availability group '${ag}' to this instance of SQL Server. The local availability replica is already the primary replica of the availability group. To failover this availability group to another instance, run the failover command on that instance. If local instance is intended to host the primary replica of the availability group, no action is required.`, 16, 1),
  failoverPending: (ag: string) => e(41113, `Cannot failover availability group '${ag}' to this instance of SQL Server. The availability group is being failed over to this instance or is in the process of changing role. Wait for the operation to complete, then retry.`, 16, 1),
  configOnlyFailover: (ag: string) => e(47109, `Availability group '${ag}' cannot failover to this replica because it is a configuration-only replica.`, 16, 1),
  previousError41104: (ag: string) =>
    e(41104, `Failover of the availability group '${ag}' to the local replica failed because the availability group resource did not come online due to a previous error. To identify that error, check the SQL Server error log and the Windows Server Failover Cluster logs and system event log.`, 16, 1),
  leaseNotEnabled: (ag: string) => e(47116, `External Lease updates are not enabled for this availability group '${ag}'.`, 16, 1),
  leaseTooSmall: () => e(47117, "The write lease validity value must be at least 5 seconds. [U: range per mssql-sim model]", 16, 1),
  leaseTooLarge: () => e(47118, "The write lease validity value must be at most 3600 seconds. [U: range per mssql-sim model]", 16, 1),
  leaseCannotShorten: (ag: string) =>
    e(47119, `The current write lease of the availability group '${ag}' is still valid. The lease expiration time cannot be set to an earlier time than its current value.`, 16, 1),
  rsstcRange: (max: number) =>
    e(41202, `REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT must be between 0 and ${max}: the value cannot exceed the number of secondary replicas. [U: number per mssql-sim model]`, 16, 1),
  replicaExists: (server: string) => e(35282, `Availability replica '${server}' cannot be added because the availability group already contains a replica with that name.`, 16, 1),
  replicaNotFound: (server: string) => e(35283, `Availability replica '${server}' cannot be removed because it is not a replica of the availability group.`, 16, 1),
  removeLocalReplica: (server: string) => e(35284, `Availability replica '${server}' cannot be removed because it hosts the primary replica of the availability group.`, 16, 1),
  modifyUnknownReplica: (server: string) => e(35210, `Failed to modify options for availability replica '${server}': it is not a replica of the availability group.`, 16, 1),
  hadrNotOnPrimary: (db: string) => e(35240, `Database '${db}' cannot be joined to or unjoined from availability group because it is the primary database. This operation is not supported on the primary replica.`, 16, 1),
  databaseNotInAg: (db: string) => e(35242, `Cannot complete this ALTER DATABASE <database-name> SET HADR operation on database '${db}'. The database is not joined to an availability group.`, 16, 1),
  // --- security catalog (B4) ---
  masterKeyExists: () => e(15578, "There is already a master key in the database. Please drop it before performing this statement.", 16, 1),
  noMasterKey: () => e(15581, "Please create a master key in the database or open the master key in the session before performing this operation.", 16, 3),
  certificateExists: (name: string) => e(15232, `A certificate with name '${name}' already exists or this certificate already has been added to the database.`, 16, 1),
  /** [U] wrong DECRYPTION BY PASSWORD: B4 "wrong password → error [number not verified]". */
  decryptionFailed: () => e(15466, "An error occurred during decryption.", 16, 1),
  invalidCertificate: () => e(15468, "An error occurred during the generation of the certificate: the certificate, asymmetric key, or private key data is invalid.", 16, 1),
  certificateNotFound: (name: string) => e(15151, `Cannot find the certificate '${name}', because it does not exist or you do not have permission.`, 16, 1),
  endpointExists: () =>
    e(7862, "An endpoint of the requested type already exists.  Only one endpoint of this type is supported.  Use ALTER ENDPOINT or DROP the existing endpoint and execute the CREATE ENDPOINT statement.", 16, 1),
  endpointNotFound: (name: string) => e(15151, `Cannot find the endpoint '${name}', because it does not exist or you do not have permission.`, 16, 1),
  principalExists: (name: string) => e(15025, `The server principal '${name}' already exists.`, 16, 1),
  userExists: (name: string) => e(15023, `User, group, or role '${name}' already exists in the current database.`, 16, 1),
  principalNotFound: (name: string) => e(15151, `Cannot find the login '${name}', because it does not exist or you do not have permission.`, 16, 1),
  // --- sp_server_diagnostics (B1) ---
  diagnosticsInterval: () => e(35007, "The repeat_interval argument of sp_server_diagnostics must be 0 or at least 5 seconds. [U: number per mssql-sim model]", 16, 1),
  unknownProcedure: (name: string) => e(2812, `Could not find stored procedure '${name}'.`, 16, 62),
};
