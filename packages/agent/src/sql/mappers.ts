/**
 * Pure row mappers: tedious rows (column name → value) to the agent's typed view. bigint columns arrive as
 * strings and GUIDs as upper-case strings (reference A5); *_desc values are compared case-insensitively.
 */
import type { AvailabilityMode, ReplicaRole } from "@sqlag/api";

export type Row = Readonly<Record<string, unknown>>;

export class RowShapeError extends Error {
  override readonly name = "RowShapeError";
}

function str(row: Row, column: string): string {
  const v = row[column];
  if (typeof v !== "string") throw new RowShapeError(`column ${column}: expected a string, got ${v === null ? "NULL" : typeof v}`);
  return v;
}
function optStr(row: Row, column: string): string | undefined {
  const v = row[column];
  if (v === null || v === undefined) return undefined;
  if (typeof v !== "string") throw new RowShapeError(`column ${column}: expected a string, got ${typeof v}`);
  return v;
}
function num(row: Row, column: string): number {
  const v = row[column];
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  throw new RowShapeError(`column ${column}: expected a number, got ${v === null ? "NULL" : typeof v}`);
}
function optNum(row: Row, column: string): number | undefined {
  const v = row[column];
  return v === null || v === undefined ? undefined : num(row, column);
}
function bool(row: Row, column: string): boolean {
  const v = row[column];
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  throw new RowShapeError(`column ${column}: expected a bit, got ${v === null ? "NULL" : typeof v}`);
}
/** bigint columns: tedious returns a decimal string; keep it exact as bigint. */
function bigintCol(row: Row, column: string): bigint {
  const v = row[column];
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "bigint") return v;
  throw new RowShapeError(`column ${column}: expected a bigint, got ${v === null ? "NULL" : typeof v}`);
}
function optDate(row: Row, column: string): Date | undefined {
  const v = row[column];
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v;
  throw new RowShapeError(`column ${column}: expected a datetime, got ${typeof v}`);
}

export function mapRole(roleDesc: string | undefined): ReplicaRole {
  switch ((roleDesc ?? "").toUpperCase()) {
    case "PRIMARY":
      return "PRIMARY";
    case "SECONDARY":
      return "SECONDARY";
    case "RESOLVING":
      return "RESOLVING";
    default:
      return "UNKNOWN";
  }
}

export function mapAvailabilityMode(desc: string | undefined): AvailabilityMode | undefined {
  switch ((desc ?? "").toUpperCase()) {
    case "SYNCHRONOUS_COMMIT":
      return "SynchronousCommit";
    case "ASYNCHRONOUS_COMMIT":
      return "AsynchronousCommit";
    case "CONFIGURATION_ONLY":
      return "ConfigurationOnly";
    default:
      return undefined;
  }
}

export interface ServerIdentity {
  serverName: string;
  hadrEnabled: boolean;
  productMajorVersion: number | undefined;
}

export function mapServerIdentity(row: Row): ServerIdentity {
  return {
    serverName: optStr(row, "server_name") ?? str(row, "property_server_name"),
    hadrEnabled: optNum(row, "is_hadr_enabled") === 1,
    productMajorVersion: optNum(row, "product_major_version"),
  };
}

export interface LocalReplicaState {
  groupId: string;
  sequenceNumber: bigint;
  requiredSynchronizedSecondariesToCommit: number;
  role: ReplicaRole;
  operationalState: string | undefined;
  connectedState: string | undefined;
  synchronizationHealth: string | undefined;
  configurationCommitStartedAt: Date | undefined;
  writeLeaseRemainingTicks: bigint | undefined;
  serverName: string;
  availabilityMode: AvailabilityMode | undefined;
  failoverMode: string | undefined;
}

export function mapLocalReplicaState(row: Row): LocalReplicaState {
  const ticks = row["write_lease_remaining_ticks"];
  return {
    groupId: str(row, "group_id"),
    sequenceNumber: bigintCol(row, "sequence_number"),
    requiredSynchronizedSecondariesToCommit: optNum(row, "required_synchronized_secondaries_to_commit") ?? 0,
    role: mapRole(optStr(row, "role_desc")),
    operationalState: optStr(row, "operational_state_desc"),
    connectedState: optStr(row, "connected_state_desc"),
    synchronizationHealth: optStr(row, "synchronization_health_desc"),
    configurationCommitStartedAt: optDate(row, "current_configuration_commit_start_time_utc"),
    writeLeaseRemainingTicks: ticks === null || ticks === undefined ? undefined : bigintCol(row, "write_lease_remaining_ticks"),
    serverName: str(row, "replica_server_name"),
    availabilityMode: mapAvailabilityMode(optStr(row, "availability_mode_desc")),
    failoverMode: optStr(row, "failover_mode_desc"),
  };
}

export interface ReplicaConfiguration {
  serverName: string;
  endpointUrl: string | undefined;
  availabilityMode: AvailabilityMode | undefined;
  readableSecondary: boolean;
  role: ReplicaRole;
  connected: boolean | undefined;
  synchronizationHealth: string | undefined;
}

export function mapReplicaConfiguration(row: Row): ReplicaConfiguration {
  const connected = optStr(row, "connected_state_desc");
  const allow = (optStr(row, "secondary_role_allow_connections_desc") ?? "NO").toUpperCase();
  return {
    serverName: str(row, "replica_server_name"),
    endpointUrl: optStr(row, "endpoint_url"),
    availabilityMode: mapAvailabilityMode(optStr(row, "availability_mode_desc")),
    readableSecondary: allow === "READ_ONLY" || allow === "ALL",
    role: mapRole(optStr(row, "role_desc")),
    connected: connected === undefined ? undefined : connected.toUpperCase() === "CONNECTED",
    synchronizationHealth: optStr(row, "synchronization_health_desc"),
  };
}

export interface DatabaseReplicaState {
  database: string;
  serverName: string;
  isLocal: boolean;
  synchronizationState: string;
  synchronizationHealth: string | undefined;
  databaseState: string | undefined;
  isSuspended: boolean;
  logSendQueueKb: number | undefined;
  redoQueueKb: number | undefined;
}

export function mapDatabaseReplicaState(row: Row): DatabaseReplicaState {
  return {
    database: str(row, "database_name"),
    serverName: str(row, "replica_server_name"),
    isLocal: bool(row, "is_local"),
    synchronizationState: (optStr(row, "synchronization_state_desc") ?? "NOT SYNCHRONIZING").toUpperCase(),
    synchronizationHealth: optStr(row, "synchronization_health_desc"),
    databaseState: optStr(row, "database_state_desc"),
    isSuspended: row["is_suspended"] === null || row["is_suspended"] === undefined ? false : bool(row, "is_suspended"),
    logSendQueueKb: optNum(row, "log_send_queue_size"),
    redoQueueKb: optNum(row, "redo_queue_size"),
  };
}

export interface SecurityState {
  hasMasterKey: boolean;
  hasCertificate: boolean;
  hasEndpointLogin: boolean;
  hasAgentLogin: boolean;
  hasMirroringEndpoint: boolean;
}

export function mapSecurityState(row: Row): SecurityState {
  return {
    hasMasterKey: num(row, "master_keys") > 0,
    hasCertificate: num(row, "certificates") > 0,
    hasEndpointLogin: num(row, "endpoint_logins") > 0,
    hasAgentLogin: num(row, "agent_logins") > 0,
    hasMirroringEndpoint: num(row, "mirroring_endpoints") > 0,
  };
}

export interface MirroringEndpoint {
  name: string;
  state: string;
  port: number;
}

export function mapMirroringEndpoint(row: Row): MirroringEndpoint {
  return { name: str(row, "name"), state: str(row, "state_desc").toUpperCase(), port: num(row, "port") };
}

export interface UserDatabase {
  name: string;
  state: string;
  recoveryModel: string;
  inAvailabilityGroup: boolean;
}

export function mapUserDatabase(row: Row): UserDatabase {
  return {
    name: str(row, "name"),
    state: str(row, "state_desc").toUpperCase(),
    recoveryModel: str(row, "recovery_model_desc").toUpperCase(),
    inAvailabilityGroup: optStr(row, "group_database_id") !== undefined,
  };
}

export interface DiagnosticsComponent {
  componentType: string;
  componentName: string;
  state: number;
  stateDesc: string;
}

export function mapDiagnosticsRow(row: Row): DiagnosticsComponent {
  return {
    componentType: str(row, "component_type"),
    componentName: str(row, "component_name").toLowerCase(),
    state: num(row, "state"),
    stateDesc: str(row, "state_desc"),
  };
}

export interface ExportedCertificate {
  certificate: Buffer;
  privateKey: Buffer;
}

export function mapExportedCertificate(row: Row): ExportedCertificate {
  const certificate = row["certificate"];
  const privateKey = row["private_key"];
  if (!Buffer.isBuffer(certificate) || !Buffer.isBuffer(privateKey)) {
    throw new RowShapeError("certificate export returned NULL: the certificate is missing or the login lacks permission");
  }
  return { certificate, privateKey };
}
