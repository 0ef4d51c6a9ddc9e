/**
 * Catalog views and DMVs with the exact column names and types of tds-and-sqlserver.md B2 (and the sys.* docs it
 * cites). Answers depend on which instance is asked (B6.3): a secondary shows only its own replica row in
 * sys.dm_hadr_availability_replica_states and only its local rows in sys.dm_hadr_database_replica_states.
 */
import type { Column, ColumnType, SqlValue } from "../tds/engine-port.js";
import { sameName, SYSTEM_DATABASES, type ReplicaConfig, type SyncState } from "./model.js";
import type { AgRuntime, ServerModel } from "./server-model.js";

export type Row = Record<string, SqlValue>;

export interface View {
  columns: Column[];
  rows: Row[];
}

export interface SessionSummary {
  id: number;
  login: string;
  appName: string;
  hostName: string;
  database: string;
}

const sysname: ColumnType = { kind: "nvarchar", length: 128 };
const desc: ColumnType = { kind: "nvarchar", length: 60 };
const uid: ColumnType = { kind: "uniqueidentifier" };
const int: ColumnType = { kind: "int" };
const tiny: ColumnType = { kind: "tinyint" };
const small: ColumnType = { kind: "smallint" };
const big: ColumnType = { kind: "bigint" };
const bit: ColumnType = { kind: "bit" };
const datetime: ColumnType = { kind: "datetime" };
const lsn: ColumnType = { kind: "numeric", precision: 25, scale: 0 };
const nv = (length: number | "max"): ColumnType => ({ kind: "nvarchar", length });
const vc = (length: number | "max"): ColumnType => ({ kind: "varchar", length });
const vb = (length: number | "max"): ColumnType => ({ kind: "varbinary", length });

function cols(spec: [string, ColumnType][]): Column[] {
  return spec.map(([name, type]) => ({ name, type, nullable: true }));
}

const AVAILABILITY_MODE = { ASYNCHRONOUS_COMMIT: 0, SYNCHRONOUS_COMMIT: 1, CONFIGURATION_ONLY: 4 } as const;
const FAILOVER_MODE = { AUTOMATIC: 0, MANUAL: 1, EXTERNAL: 2 } as const; // EXTERNAL = 2 assumed [U] (B2)
const CLUSTER_TYPE = { WSFC: 0, EXTERNAL: 1, NONE: 2 } as const; // docs order (B2); match on _desc
const SECONDARY_CONN = { NO: 0, READ_ONLY: 1, ALL: 2 } as const;
const ROLE = { RESOLVING: 0, PRIMARY: 1, SECONDARY: 2 } as const;
const SYNC_STATE: Record<SyncState, number> = { "NOT SYNCHRONIZING": 0, SYNCHRONIZING: 1, SYNCHRONIZED: 2, REVERTING: 3, INITIALIZING: 4 };
const HEALTH = ["NOT_HEALTHY", "PARTIALLY_HEALTHY", "HEALTHY"] as const;

export const VIEW_NAMES = [
  "availability_groups",
  "availability_replicas",
  "availability_databases_cluster",
  "dm_hadr_availability_replica_states",
  "dm_hadr_database_replica_states",
  "dm_hadr_availability_group_states",
  "dm_hadr_database_replica_cluster_states",
  "dm_hadr_availability_replica_cluster_states",
  "dm_hadr_automatic_seeding",
  "databases",
  "symmetric_keys",
  "certificates",
  "endpoints",
  "database_mirroring_endpoints",
  "tcp_endpoints",
  "server_principals",
  "sql_logins",
  "syslogins",
  "server_permissions",
  "server_role_members",
  "database_principals",
  "dm_exec_sessions",
  "kv",
];

export function resolveView(model: ServerModel, parts: string[], currentDb: string, sessions: SessionSummary[]): View | null {
  const name = (parts[parts.length - 1] as string).toLowerCase();
  const schema = parts.length >= 2 ? (parts[parts.length - 2] as string).toLowerCase() : null;
  if (name === "kv" || (schema !== "sys" && schema !== null)) return null; // user tables handled by the engine
  if (schema === null && !name.startsWith("sys")) return null;
  const now = model.now();
  switch (name) {
    case "availability_groups":
      return availabilityGroups(model);
    case "availability_replicas":
      return availabilityReplicas(model);
    case "availability_databases_cluster":
      return {
        columns: cols([["group_id", uid], ["group_database_id", uid], ["database_name", sysname], ["truncation_lsn", lsn]]),
        rows: [...model.ags.values()].flatMap((ag) =>
          ag.config.databases.map((d) => ({ group_id: ag.config.groupId, group_database_id: d.groupDatabaseId, database_name: d.name, truncation_lsn: 0 })),
        ),
      };
    case "dm_hadr_availability_replica_states":
      return replicaStates(model, now);
    case "dm_hadr_database_replica_states":
      return databaseReplicaStates(model, now);
    case "dm_hadr_availability_group_states":
      return groupStates(model);
    case "dm_hadr_database_replica_cluster_states":
      return databaseReplicaClusterStates(model);
    case "dm_hadr_availability_replica_cluster_states":
      return {
        columns: cols([["replica_id", uid], ["replica_server_name", nv(256)], ["group_id", uid], ["join_state", tiny], ["join_state_desc", desc]]),
        rows: [...model.ags.values()].flatMap((ag) =>
          ag.config.replicas.map((r) => {
            const joined = r.replicaId === ag.local.localReplicaId ? ag.local.joined : ag.role === "PRIMARY" ? !!ag.peers.get(r.replicaId)?.joined : true;
            return { replica_id: r.replicaId, replica_server_name: r.serverName, group_id: ag.config.groupId, join_state: joined ? 1 : 0, join_state_desc: joined ? "JOINED_STANDALONE" : "NOT_JOINED" };
          }),
        ),
      };
    case "dm_hadr_automatic_seeding":
      return {
        columns: cols([
          ["start_time", datetime], ["completion_time", datetime], ["ag_id", uid], ["ag_db_id", uid], ["ag_remote_replica_id", uid], ["operation_id", uid],
          ["is_source", bit], ["current_state", desc], ["performed_seeding", bit], ["failure_state", int], ["failure_state_desc", desc], ["error_code", int],
          ["number_of_attempts", int],
        ]),
        rows: [...model.ags.values()].flatMap((ag) =>
          ag.seeding.map((s) => ({
            start_time: new Date(s.startMs),
            completion_time: s.completionMs === null ? null : new Date(s.completionMs),
            ag_id: s.agId,
            ag_db_id: s.agDbId,
            ag_remote_replica_id: s.remoteReplicaId,
            operation_id: s.operationId,
            is_source: s.isSource,
            current_state: s.currentState,
            performed_seeding: s.performedSeeding,
            failure_state: s.failureState,
            failure_state_desc: s.failureStateDesc,
            error_code: s.failureState === null ? 0 : 1,
            number_of_attempts: s.attempts,
          })),
        ),
      };
    case "databases":
      return databases(model, now);
    case "symmetric_keys":
      return {
        columns: cols([
          ["name", sysname], ["principal_id", int], ["symmetric_key_id", int], ["key_length", int], ["key_algorithm", vc(2)], ["algorithm_desc", desc],
          ["create_date", datetime], ["modify_date", datetime], ["key_guid", uid],
        ]),
        rows:
          model.catalog.masterKeyCreatedMs === null || !sameName(currentDb, "master")
            ? []
            : [
                {
                  name: "##MS_DatabaseMasterKey##",
                  principal_id: 1,
                  symmetric_key_id: 101,
                  key_length: 256,
                  key_algorithm: "A3",
                  algorithm_desc: "AES_256",
                  create_date: new Date(model.catalog.masterKeyCreatedMs),
                  modify_date: new Date(model.catalog.masterKeyCreatedMs),
                  key_guid: "00000000-0000-0000-0000-000000000101",
                },
              ],
      };
    case "certificates":
      return {
        columns: cols([
          ["name", sysname], ["certificate_id", int], ["principal_id", int], ["pvt_key_encryption_type", vc(2)], ["pvt_key_encryption_type_desc", desc],
          ["is_active_for_begin_dialog", bit], ["issuer_name", sysname], ["cert_serial_number", sysname], ["sid", vb(85)], ["string_sid", nv(128)],
          ["subject", nv(4000)], ["expiry_date", datetime], ["start_date", datetime], ["thumbprint", vb(32)], ["attested_by", nv(260)],
          ["pvt_key_last_backup_date", datetime],
        ]),
        rows: sameName(currentDb, "master")
          ? model.catalog.certificates.map((c) => ({
              name: c.name,
              certificate_id: c.certificateId,
              principal_id: c.principalId,
              pvt_key_encryption_type: c.privateKeyPem ? "MK" : "NA",
              pvt_key_encryption_type_desc: c.privateKeyPem ? "ENCRYPTED_BY_MASTER_KEY" : "NO_PRIVATE_KEY",
              is_active_for_begin_dialog: true,
              issuer_name: c.issuer,
              cert_serial_number: c.serialHex,
              sid: null,
              string_sid: null,
              subject: c.subject,
              expiry_date: new Date(c.expiryDateMs),
              start_date: new Date(c.startDateMs),
              thumbprint: Buffer.from(c.thumbprintHex, "hex"),
              attested_by: null,
              pvt_key_last_backup_date: null,
            }))
          : [],
      };
    case "endpoints":
    case "database_mirroring_endpoints":
    case "tcp_endpoints":
      return endpoints(model, name);
    case "server_principals":
    case "sql_logins":
    case "syslogins":
      return serverPrincipals(model, name);
    case "server_permissions": {
      const principalId = (name: string): number | null => model.catalog.logins.find((l) => sameName(l.name, name))?.principalId ?? null;
      return {
        columns: cols([
          ["class", tiny], ["class_desc", desc], ["major_id", int], ["minor_id", int], ["grantee_principal_id", int], ["grantor_principal_id", int],
          ["type", vc(4)], ["permission_name", nv(128)], ["state", vc(1)], ["state_desc", desc],
        ]),
        rows: model.catalog.permissions.map((p) => ({
          class: p.securableClass === "ENDPOINT" ? 105 : p.securableClass === "AVAILABILITY GROUP" ? 108 : 100,
          class_desc: p.securableClass === "ENDPOINT" ? "ENDPOINT" : p.securableClass === "AVAILABILITY GROUP" ? "AVAILABILITY GROUP" : "SERVER",
          major_id: p.securableClass === "ENDPOINT" ? (model.catalog.endpoint?.endpointId ?? 0) : 0,
          minor_id: 0,
          grantee_principal_id: principalId(p.grantee),
          grantor_principal_id: 1,
          type: p.permission.slice(0, 4),
          permission_name: p.permission,
          state: p.state === "GRANT" ? "G" : "D",
          state_desc: p.state,
        })),
      };
    }
    case "server_role_members": {
      const principalId = (name: string): number | null =>
        name.toLowerCase() === "sysadmin" ? 3 : (model.catalog.logins.find((l) => sameName(l.name, name))?.principalId ?? null);
      return {
        columns: cols([["role_principal_id", int], ["member_principal_id", int]]),
        rows: model.catalog.serverRoleMembers.map((m) => ({ role_principal_id: principalId(m.role), member_principal_id: principalId(m.member) })),
      };
    }
    case "database_principals":
      return {
        columns: cols([["name", sysname], ["principal_id", int], ["type", vc(1)], ["type_desc", desc], ["default_schema_name", sysname], ["sid", vb(85)]]),
        rows: [
          { name: "dbo", principal_id: 1, type: "S", type_desc: "SQL_USER", default_schema_name: "dbo", sid: null },
          ...model.catalog.users.map((u, i) => ({ name: u.name, principal_id: 5 + i, type: "S", type_desc: "SQL_USER", default_schema_name: "dbo", sid: null })),
        ],
      };
    case "dm_exec_sessions":
      return {
        columns: cols([["session_id", small], ["login_name", sysname], ["program_name", sysname], ["host_name", sysname], ["database_id", small], ["is_user_process", bit]]),
        rows: sessions.map((s) => ({
          session_id: s.id,
          login_name: s.login,
          program_name: s.appName,
          host_name: s.hostName,
          database_id: databaseId(model, s.database),
          is_user_process: true,
        })),
      };
    default:
      return null;
  }
}

export function databaseId(model: ServerModel, name: string): number | null {
  const system = SYSTEM_DATABASES.indexOf(name.toLowerCase());
  if (system >= 0) return system + 1;
  return model.dbs.get(name.toLowerCase())?.record.databaseId ?? null;
}

function availabilityGroups(model: ServerModel): View {
  return {
    columns: cols([
      ["group_id", uid], ["name", sysname], ["resource_id", nv(40)], ["resource_group_id", nv(40)], ["failure_condition_level", int], ["health_check_timeout", int],
      ["automated_backup_preference", tiny], ["automated_backup_preference_desc", desc], ["version", small], ["basic_features", bit], ["dtc_support", bit],
      ["db_failover", bit], ["is_distributed", bit], ["cluster_type", tiny], ["cluster_type_desc", desc], ["required_synchronized_secondaries_to_commit", int],
      ["sequence_number", big], ["is_contained", bit],
    ]),
    rows: [...model.ags.values()].map((ag) => ({
      group_id: ag.config.groupId,
      name: ag.config.name,
      resource_id: ag.config.groupId.toLowerCase(),
      resource_group_id: ag.config.groupId.toLowerCase(),
      failure_condition_level: 3,
      health_check_timeout: 30000,
      automated_backup_preference: 2,
      automated_backup_preference_desc: "SECONDARY",
      version: 4,
      basic_features: false,
      dtc_support: false,
      db_failover: ag.config.dbFailover,
      is_distributed: false,
      cluster_type: CLUSTER_TYPE[ag.config.clusterType],
      cluster_type_desc: ag.config.clusterType.toLowerCase(), // real servers return lower-case (B2: treat case-insensitively)
      required_synchronized_secondaries_to_commit: ag.config.requiredSynchronizedSecondariesToCommit,
      sequence_number: BigInt(ag.config.sequenceNumber),
      is_contained: false,
    })),
  };
}

function availabilityReplicas(model: ServerModel): View {
  return {
    columns: cols([
      ["replica_id", uid], ["group_id", uid], ["replica_metadata_id", int], ["replica_server_name", nv(256)], ["owner_sid", vb(85)], ["endpoint_url", nv(128)],
      ["availability_mode", tiny], ["availability_mode_desc", desc], ["failover_mode", tiny], ["failover_mode_desc", desc], ["session_timeout", int],
      ["primary_role_allow_connections", tiny], ["primary_role_allow_connections_desc", desc], ["secondary_role_allow_connections", tiny],
      ["secondary_role_allow_connections_desc", desc], ["create_date", datetime], ["modify_date", datetime], ["backup_priority", int],
      ["read_only_routing_url", nv(256)], ["read_write_routing_url", nv(256)], ["seeding_mode", tiny], ["seeding_mode_desc", desc],
    ]),
    rows: [...model.ags.values()].flatMap((ag) =>
      ag.config.replicas.map((r, index) => ({
        replica_id: r.replicaId,
        group_id: ag.config.groupId,
        replica_metadata_id: r.replicaId === ag.local.localReplicaId ? 65536 + index : null,
        replica_server_name: r.serverName,
        owner_sid: Buffer.from([1]),
        endpoint_url: r.endpointUrl,
        availability_mode: AVAILABILITY_MODE[r.availabilityMode],
        availability_mode_desc: r.availabilityMode,
        failover_mode: FAILOVER_MODE[r.failoverMode],
        failover_mode_desc: r.failoverMode,
        session_timeout: r.sessionTimeoutSeconds,
        primary_role_allow_connections: r.primaryAllowConnections === "ALL" ? 2 : 3,
        primary_role_allow_connections_desc: r.primaryAllowConnections,
        secondary_role_allow_connections: SECONDARY_CONN[r.secondaryAllowConnections],
        secondary_role_allow_connections_desc: r.secondaryAllowConnections,
        create_date: new Date(r.createDateMs),
        modify_date: new Date(r.modifyDateMs),
        backup_priority: r.backupPriority,
        read_only_routing_url: null,
        read_write_routing_url: null,
        seeding_mode: r.seedingMode === "AUTOMATIC" ? 0 : 1,
        seeding_mode_desc: r.seedingMode,
      })),
    ),
  };
}

/** The local replica's database synchronization state as this instance sees it. */
export function localDbState(model: ServerModel, ag: AgRuntime, dbName: string): SyncState {
  const db = model.dbs.get(dbName.toLowerCase());
  if (!db || !db.record.hadr || db.record.hadr.suspended) return "NOT SYNCHRONIZING";
  if (ag.role === "PRIMARY") return ag.localReplica.availabilityMode === "SYNCHRONOUS_COMMIT" ? "SYNCHRONIZED" : "SYNCHRONIZING";
  // B2: when the primary is down secondaries report NOT SYNCHRONIZING even if they were synchronized.
  if (ag.role !== "SECONDARY" || !ag.upstream) return "NOT SYNCHRONIZING";
  return ag.localDbStates.get(dbName.toLowerCase()) ?? "SYNCHRONIZING";
}

function dbHealth(state: SyncState, replica: ReplicaConfig): number {
  if (replica.availabilityMode === "SYNCHRONOUS_COMMIT") return state === "SYNCHRONIZED" ? 2 : state === "SYNCHRONIZING" ? 1 : 0;
  return state === "SYNCHRONIZING" || state === "SYNCHRONIZED" ? 2 : 0;
}

function replicaHealth(model: ServerModel, ag: AgRuntime, replica: ReplicaConfig): number {
  if (replica.availabilityMode === "CONFIGURATION_ONLY") {
    if (replica.replicaId === ag.local.localReplicaId) return 2;
    return ag.peers.get(replica.replicaId)?.connected && ag.peers.get(replica.replicaId)?.joined ? 2 : 0;
  }
  const states =
    replica.replicaId === ag.local.localReplicaId
      ? ag.config.databases.map((d) => localDbState(model, ag, d.name))
      : ag.config.databases.map((d) => ag.peers.get(replica.replicaId)?.dbs.get(d.name.toLowerCase())?.state ?? "NOT SYNCHRONIZING");
  if (replica.replicaId !== ag.local.localReplicaId && !(ag.peers.get(replica.replicaId)?.connected && ag.peers.get(replica.replicaId)?.joined)) return 0;
  if (states.length === 0) return 2;
  const healths = states.map((s) => dbHealth(s, replica));
  if (healths.every((h) => h === 2)) return 2;
  if (healths.some((h) => h > 0)) return 1;
  return 0;
}

function replicaStates(model: ServerModel, now: number): View {
  const rows: Row[] = [];
  for (const ag of model.ags.values()) {
    for (const replica of ag.config.replicas) {
      const isLocal = replica.replicaId === ag.local.localReplicaId;
      if (!isLocal && ag.role !== "PRIMARY") continue; // B2: on a secondary only its own row
      const peer = ag.peers.get(replica.replicaId);
      // A replica that has not joined yet (or is unreachable) is not CONNECTED and its role is unknown to the primary.
      const peerJoined = !!peer?.connected && peer.joined && peer.role !== "NOT_JOINED";
      const role = isLocal ? ag.role : peerJoined ? (peer?.role as "PRIMARY" | "SECONDARY" | "RESOLVING") : "RESOLVING";
      const connected = isLocal ? (ag.role === "PRIMARY" ? true : !!ag.upstream) : peerJoined;
      const health = replicaHealth(model, ag, replica);
      const error = isLocal ? ag.lastConnectError : (peer?.lastConnectError ?? null);
      const operational = isLocal ? (ag.role === "PRIMARY" || ag.role === "SECONDARY" ? (ag.pendingRole ? 1 : 2) : 3) : null;
      const leaseTicks =
        isLocal && ag.role === "PRIMARY" && ag.leaseExpiresAtMs !== null ? BigInt(Math.max(0, ag.leaseExpiresAtMs - now)) : isLocal ? 0n : null;
      rows.push({
        replica_id: replica.replicaId,
        group_id: ag.config.groupId,
        is_local: isLocal,
        role: ROLE[role],
        role_desc: role,
        operational_state: operational,
        operational_state_desc: operational === null ? null : (["PENDING_FAILOVER", "PENDING", "ONLINE", "OFFLINE", "FAILED", "FAILED_NO_QUORUM"][operational] ?? null),
        connected_state: connected ? 1 : 0,
        connected_state_desc: connected ? "CONNECTED" : "DISCONNECTED",
        recovery_health: isLocal ? (ag.role === "RESOLVING" ? 0 : 1) : null,
        recovery_health_desc: isLocal ? (ag.role === "RESOLVING" ? "ONLINE_IN_PROGRESS" : "ONLINE") : null,
        synchronization_health: health,
        synchronization_health_desc: HEALTH[health] ?? null,
        last_connect_error_number: error?.number ?? null,
        last_connect_error_description: error?.description ?? null,
        last_connect_error_timestamp: error ? new Date(error.atMs) : null,
        write_lease_remaining_ticks: leaseTicks,
        current_configuration_commit_start_time_utc: isLocal && ag.configCommitStartMs !== null ? new Date(ag.configCommitStartMs) : null,
        is_internal: false,
      });
    }
  }
  return {
    columns: cols([
      ["replica_id", uid], ["group_id", uid], ["is_local", bit], ["role", tiny], ["role_desc", desc], ["operational_state", tiny], ["operational_state_desc", desc],
      ["connected_state", tiny], ["connected_state_desc", desc], ["recovery_health", tiny], ["recovery_health_desc", desc], ["synchronization_health", tiny],
      ["synchronization_health_desc", desc], ["last_connect_error_number", int], ["last_connect_error_description", nv(1024)],
      ["last_connect_error_timestamp", datetime], ["write_lease_remaining_ticks", big], ["current_configuration_commit_start_time_utc", datetime],
      ["is_internal", bit],
    ]),
    rows,
  };
}

function databaseReplicaStates(model: ServerModel, now: number): View {
  const rows: Row[] = [];
  for (const ag of model.ags.values()) {
    for (const d of ag.config.databases) {
      const db = model.dbs.get(d.name.toLowerCase());
      const end = db?.log[db.log.length - 1]?.lsn ?? 0;
      for (const replica of ag.config.replicas) {
        if (replica.availabilityMode === "CONFIGURATION_ONLY") continue;
        const isLocal = replica.replicaId === ag.local.localReplicaId;
        if (!isLocal && ag.role !== "PRIMARY") continue;
        if (isLocal && (!db || !db.record.hadr)) continue;
        const peerDb = ag.peers.get(replica.replicaId)?.dbs.get(d.name.toLowerCase());
        const state = isLocal ? localDbState(model, ag, d.name) : (peerDb?.state ?? "NOT SYNCHRONIZING");
        const hardened = isLocal ? end : (peerDb?.hardenedLsn ?? 0);
        const suspended = isLocal ? !!db?.record.hadr?.suspended : false;
        const lsnOf = (n: number): bigint => BigInt(n) * 100000n + 1n;
        rows.push({
          database_id: isLocal ? (db?.record.databaseId ?? null) : null,
          group_id: ag.config.groupId,
          replica_id: replica.replicaId,
          group_database_id: d.groupDatabaseId,
          is_local: isLocal,
          is_primary_replica: isLocal && ag.role === "PRIMARY",
          synchronization_state: SYNC_STATE[state],
          synchronization_state_desc: state,
          is_commit_participant: state === "SYNCHRONIZED",
          synchronization_health: dbHealth(state, replica),
          synchronization_health_desc: HEALTH[dbHealth(state, replica)] ?? null,
          // Availability databases are ONLINE on primary and secondary replicas alike; a RESOLVING replica's are RECOVERING.
          database_state: isLocal ? (ag.role === "RESOLVING" ? 2 : 0) : null,
          database_state_desc: isLocal ? (ag.role === "RESOLVING" ? "RECOVERING" : "ONLINE") : null,
          is_suspended: suspended,
          suspend_reason: suspended ? 5 : null,
          suspend_reason_desc: suspended ? (db?.record.hadr?.suspendReason ?? "SUSPEND_FROM_USER") : null,
          recovery_lsn: lsnOf(0),
          truncation_lsn: lsnOf(0),
          last_sent_lsn: lsnOf(end),
          last_sent_time: new Date(now),
          last_received_lsn: lsnOf(hardened),
          last_received_time: new Date(now),
          last_hardened_lsn: lsnOf(hardened),
          last_hardened_time: new Date(now),
          last_redone_lsn: lsnOf(hardened),
          last_redone_time: new Date(now),
          log_send_queue_size: BigInt(Math.max(0, end - hardened)),
          log_send_rate: 0n,
          redo_queue_size: 0n,
          redo_rate: 0n,
          filestream_send_rate: 0n,
          end_of_log_lsn: lsnOf(end),
          last_commit_lsn: lsnOf(hardened),
          last_commit_time: new Date(now),
          low_water_mark_for_ghosts: 0n,
          secondary_lag_seconds: isLocal && ag.role === "PRIMARY" ? null : 0n,
        });
      }
    }
  }
  return {
    columns: cols([
      ["database_id", int], ["group_id", uid], ["replica_id", uid], ["group_database_id", uid], ["is_local", bit], ["is_primary_replica", bit],
      ["synchronization_state", tiny], ["synchronization_state_desc", desc], ["is_commit_participant", bit], ["synchronization_health", tiny],
      ["synchronization_health_desc", desc], ["database_state", tiny], ["database_state_desc", desc], ["is_suspended", bit], ["suspend_reason", tiny],
      ["suspend_reason_desc", desc], ["recovery_lsn", lsn], ["truncation_lsn", lsn], ["last_sent_lsn", lsn], ["last_sent_time", datetime],
      ["last_received_lsn", lsn], ["last_received_time", datetime], ["last_hardened_lsn", lsn], ["last_hardened_time", datetime], ["last_redone_lsn", lsn],
      ["last_redone_time", datetime], ["log_send_queue_size", big], ["log_send_rate", big], ["redo_queue_size", big], ["redo_rate", big],
      ["filestream_send_rate", big], ["end_of_log_lsn", lsn], ["last_commit_lsn", lsn], ["last_commit_time", datetime], ["low_water_mark_for_ghosts", big],
      ["secondary_lag_seconds", big],
    ]),
    rows,
  };
}

function groupStates(model: ServerModel): View {
  return {
    columns: cols([
      ["group_id", uid], ["primary_replica", nv(128)], ["primary_recovery_health", tiny], ["primary_recovery_health_desc", desc], ["secondary_recovery_health", tiny],
      ["secondary_recovery_health_desc", desc], ["synchronization_health", tiny], ["synchronization_health_desc", desc],
    ]),
    rows: [...model.ags.values()].map((ag) => {
      const primary = ag.role === "PRIMARY" ? model.serverName : ag.upstreamServer;
      const healths = ag.role === "PRIMARY" ? ag.config.replicas.map((r) => replicaHealth(model, ag, r)) : [replicaHealth(model, ag, ag.localReplica)];
      const health = healths.every((h) => h === 2) ? 2 : healths.some((h) => h > 0) ? 1 : 0;
      return {
        group_id: ag.config.groupId,
        primary_replica: primary,
        primary_recovery_health: ag.role === "PRIMARY" ? 1 : null,
        primary_recovery_health_desc: ag.role === "PRIMARY" ? "ONLINE" : null,
        secondary_recovery_health: ag.role === "SECONDARY" ? 1 : null,
        secondary_recovery_health_desc: ag.role === "SECONDARY" ? "ONLINE" : null,
        synchronization_health: health,
        synchronization_health_desc: HEALTH[health] ?? null,
      };
    }),
  };
}

function databaseReplicaClusterStates(model: ServerModel): View {
  const rows: Row[] = [];
  for (const ag of model.ags.values()) {
    for (const replica of ag.config.replicas) {
      if (replica.availabilityMode === "CONFIGURATION_ONLY") continue;
      for (const d of ag.config.databases) {
        const isPrimary = replica.replicaId === ag.config.primaryReplicaId;
        const ready = isPrimary || (ag.config.failoverReady[replica.replicaId] ?? []).some((n) => sameName(n, d.name));
        const joined =
          replica.replicaId === ag.local.localReplicaId
            ? !!model.dbs.get(d.name.toLowerCase())?.record.hadr
            : ag.role === "PRIMARY"
              ? !!ag.peers.get(replica.replicaId)?.dbs.get(d.name.toLowerCase())?.exists
              : ready;
        rows.push({
          replica_id: replica.replicaId,
          group_database_id: d.groupDatabaseId,
          database_name: d.name,
          is_failover_ready: ready,
          is_pending_secondary_suspend: false,
          is_database_joined: joined,
          recovery_lsn: 0,
          truncation_lsn: 0,
        });
      }
    }
  }
  return {
    columns: cols([
      ["replica_id", uid], ["group_database_id", uid], ["database_name", sysname], ["is_failover_ready", bit], ["is_pending_secondary_suspend", bit],
      ["is_database_joined", bit], ["recovery_lsn", lsn], ["truncation_lsn", lsn],
    ]),
    rows,
  };
}

function databases(model: ServerModel, now: number): View {
  const rows: Row[] = SYSTEM_DATABASES.map((name, i) => ({
    name,
    database_id: i + 1,
    create_date: new Date(0),
    compatibility_level: 160,
    collation_name: "SQL_Latin1_General_CP1_CI_AS",
    user_access_desc: "MULTI_USER",
    is_read_only: false,
    state: 0,
    state_desc: "ONLINE",
    recovery_model: name === "tempdb" || name === "master" ? 3 : 1,
    recovery_model_desc: name === "tempdb" || name === "master" ? "SIMPLE" : "FULL",
    replica_id: null,
    group_database_id: null,
    is_encrypted: false,
  }));
  void now;
  for (const db of model.dbs.values()) {
    const ag = model.agOf(db);
    let state = 0;
    let stateDesc = "ONLINE";
    if (db.record.restoring) [state, stateDesc] = [1, "RESTORING"];
    else if (ag && ag.role === "RESOLVING") [state, stateDesc] = [2, "RECOVERING"];
    rows.push({
      name: db.record.name,
      database_id: db.record.databaseId,
      create_date: new Date(db.record.createDateMs),
      compatibility_level: 160,
      collation_name: "SQL_Latin1_General_CP1_CI_AS",
      user_access_desc: "MULTI_USER",
      is_read_only: false,
      state,
      state_desc: stateDesc,
      recovery_model: { FULL: 1, BULK_LOGGED: 2, SIMPLE: 3 }[db.record.recoveryModel],
      recovery_model_desc: db.record.recoveryModel,
      replica_id: ag ? ag.local.localReplicaId : null,
      group_database_id: db.record.hadr?.groupDatabaseId ?? null,
      is_encrypted: false,
    });
  }
  return {
    columns: cols([
      ["name", sysname], ["database_id", int], ["create_date", datetime], ["compatibility_level", tiny], ["collation_name", sysname], ["user_access_desc", desc],
      ["is_read_only", bit], ["state", tiny], ["state_desc", desc], ["recovery_model", tiny], ["recovery_model_desc", desc], ["replica_id", uid],
      ["group_database_id", uid], ["is_encrypted", bit],
    ]),
    rows,
  };
}

function endpoints(model: ServerModel, which: string): View {
  const base: [string, ColumnType][] = [
    ["name", sysname], ["endpoint_id", int], ["principal_id", int], ["protocol", tiny], ["protocol_desc", desc], ["type", tiny], ["type_desc", desc],
    ["state", tiny], ["state_desc", desc], ["is_admin_endpoint", bit],
  ];
  const rows: Row[] = [];
  const tsql = (name: string, id: number, protocol: number, protocolDesc: string): Row => ({
    name, endpoint_id: id, principal_id: 1, protocol, protocol_desc: protocolDesc, type: 2, type_desc: "TSQL", state: 0, state_desc: "STARTED", is_admin_endpoint: id === 1,
  });
  if (which === "endpoints") rows.push(tsql("Dedicated Admin Connection", 1, 2, "TCP"), tsql("TSQL Default TCP", 4, 2, "TCP"));
  if (which === "tcp_endpoints") rows.push({ ...tsql("Dedicated Admin Connection", 1, 2, "TCP"), port: 0, is_dynamic_port: true, ip_address: null }, { ...tsql("TSQL Default TCP", 4, 2, "TCP"), port: 0, is_dynamic_port: true, ip_address: null });
  const e = model.catalog.endpoint;
  if (e) {
    const row: Row = {
      name: e.name,
      endpoint_id: e.endpointId,
      principal_id: 1,
      protocol: 2,
      protocol_desc: "TCP",
      type: 4,
      type_desc: "DATABASE_MIRRORING",
      state: { STARTED: 0, STOPPED: 1, DISABLED: 2 }[e.state],
      state_desc: e.state,
      is_admin_endpoint: false,
    };
    if (which === "database_mirroring_endpoints") {
      const cert = model.catalog.certificates.find((c) => sameName(c.name, e.authenticationCertificate));
      Object.assign(row, {
        role: { NONE: 0, PARTNER: 1, WITNESS: 2, ALL: 3 }[e.role],
        role_desc: e.role,
        is_encryption_enabled: e.encryptionAlgorithm !== "NONE",
        connection_auth: e.authenticationCertificate ? 4 : 3,
        connection_auth_desc: e.authenticationCertificate ? "CERTIFICATE" : "NEGOTIATE",
        certificate_id: cert?.certificateId ?? 0,
        encryption_algorithm: e.encryptionAlgorithm === "AES" ? 2 : e.encryptionAlgorithm === "RC4" ? 1 : 0,
        encryption_algorithm_desc: e.encryptionAlgorithm,
      });
    }
    if (which === "tcp_endpoints") Object.assign(row, { port: e.port, is_dynamic_port: false, ip_address: e.ipAddress === "ALL" ? null : e.ipAddress });
    rows.push(row);
  }
  const extra: [string, ColumnType][] =
    which === "database_mirroring_endpoints"
      ? [["role", tiny], ["role_desc", desc], ["is_encryption_enabled", bit], ["connection_auth", tiny], ["connection_auth_desc", desc], ["certificate_id", int], ["encryption_algorithm", tiny], ["encryption_algorithm_desc", desc]]
      : which === "tcp_endpoints"
        ? [["port", int], ["is_dynamic_port", bit], ["ip_address", nv(45)]]
        : [];
  return { columns: cols([...base, ...extra]), rows };
}

function serverPrincipals(model: ServerModel, which: string): View {
  const logins = model.catalog.logins.filter((l) => which === "server_principals" || l.type === "SQL_LOGIN");
  const rows: Row[] = logins.map((l) => ({
    name: l.name,
    loginname: l.name,
    principal_id: l.principalId,
    sid: Buffer.from([l.principalId & 0xff]),
    type: l.type === "SQL_LOGIN" ? "S" : "C",
    type_desc: l.type,
    is_disabled: l.disabled,
    create_date: new Date(l.createDateMs),
    modify_date: new Date(l.createDateMs),
    default_database_name: "master",
  }));
  if (which === "server_principals") {
    rows.push({ name: "sysadmin", loginname: null, principal_id: 3, sid: Buffer.from([3]), type: "R", type_desc: "SERVER_ROLE", is_disabled: false, create_date: new Date(0), modify_date: new Date(0), default_database_name: null });
  }
  return {
    columns: cols([
      ["name", sysname], ["principal_id", int], ["sid", vb(85)], ["type", vc(1)], ["type_desc", desc], ["is_disabled", bit], ["create_date", datetime],
      ["modify_date", datetime], ["default_database_name", sysname], ...(which === "syslogins" ? ([["loginname", sysname]] as [string, ColumnType][]) : []),
    ]),
    rows,
  };
}
