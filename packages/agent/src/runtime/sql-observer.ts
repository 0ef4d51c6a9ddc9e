/**
 * Reads the local SQL Server into the core's `LocalSqlObservation` (ARCHITECTURE §4.1 "observe"). Read-only;
 * every query bounded by the signal. Connection failures become a reachability value, not an exception:
 * "refused" means the process is down, "timeout" that it is frozen or overloaded — decide() treats them
 * differently.
 */
import { sqlObjectNames } from "@sqlag/api";
import type { LocalAgView, LocalDatabaseView, LocalSqlObservation, AgReplicaView, EndpointState } from "../core/index.js";
import { SqlUnavailableError } from "../sql/errors.js";
import {
  mapDatabaseReplicaState,
  mapLocalReplicaState,
  mapMirroringEndpoint,
  mapReplicaConfiguration,
  mapSecurityState,
  mapServerIdentity,
  mapUserDatabase,
  type DatabaseReplicaState,
} from "../sql/mappers.js";
import {
  activeSeeding,
  databaseReplicaStates,
  localReplicaState,
  mirroringEndpointState,
  replicaStates,
  securityStateFor,
  serverIdentity,
  userDatabases,
  type Statement,
} from "../sql/statements.js";
import type { Row } from "../sql/mappers.js";

/** The query surface the observer needs; satisfied by ReconnectingSqlConnection. */
export interface SqlQuerier {
  query(statement: Statement, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Row[]>;
}

function allSynchronized(states: readonly DatabaseReplicaState[], replica: string): boolean | undefined {
  const rows = states.filter((s) => s.serverName.toLowerCase() === replica.toLowerCase());
  if (rows.length === 0) return undefined;
  return rows.every((s) => s.synchronizationState === "SYNCHRONIZED");
}

export async function observeLocalSql(sql: SqlQuerier, agName: string, wallNow: Date, signal: AbortSignal): Promise<LocalSqlObservation> {
  try {
    const q = (s: Statement): Promise<Row[]> => sql.query(s, { signal });
    const identityRow = (await q(serverIdentity))[0];
    const identity = identityRow === undefined ? undefined : mapServerIdentity(identityRow);

    const endpointRows = await q(mirroringEndpointState);
    const endpoint: EndpointState = endpointRows.length === 0 ? "missing" : mapMirroringEndpoint(endpointRows[0]!).state === "STARTED" ? "started" : "stopped";
    const securityRow = (await q(securityStateFor({ certificate: sqlObjectNames.certificate, endpointLogin: sqlObjectNames.endpointLogin, agentLogin: sqlObjectNames.agentLogin })))[0];
    const security = securityRow === undefined ? undefined : mapSecurityState(securityRow);
    const databases = (await q(userDatabases)).map(mapUserDatabase);

    const observation: LocalSqlObservation = {
      reachability: "reachable",
      ...(identity !== undefined ? { serverName: identity.serverName, hadrEnabled: identity.hadrEnabled } : {}),
      endpoint,
      endpointSecurityReady: security !== undefined && security.hasMasterKey && security.hasCertificate && security.hasEndpointLogin,
      userDatabases: databases.map((d) => d.name),
    };

    const localRow = (await q(localReplicaState(agName)))[0];
    if (localRow === undefined) return observation;
    const local = mapLocalReplicaState(localRow);
    const dbStates = (await q(databaseReplicaStates(agName))).map(mapDatabaseReplicaState);
    const seedingRows = await q(activeSeeding);
    const seedingReplicas = new Set(seedingRows.map((r) => String(r["replica_server_name"] ?? "").toLowerCase()));
    const replicas: AgReplicaView[] = (await q(replicaStates(agName))).map(mapReplicaConfiguration).map((r) => {
      const view: AgReplicaView = {
        name: r.serverName,
        availabilityMode: r.availabilityMode ?? "AsynchronousCommit",
        readableSecondary: r.readableSecondary,
        role: r.role,
      };
      if (r.connected !== undefined) view.connected = r.connected;
      const synced = allSynchronized(dbStates, r.serverName);
      if (synced !== undefined) view.allDatabasesSynchronized = synced;
      return view;
    });
    const localDbStates = dbStates.filter((s) => s.isLocal);
    const localDatabases: LocalDatabaseView[] = databases.map((d) => {
      const state = localDbStates.find((s) => s.database.toLowerCase() === d.name.toLowerCase());
      return {
        name: d.name,
        inAvailabilityGroup: d.inAvailabilityGroup,
        synchronizationState: state?.synchronizationState ?? "NOT SYNCHRONIZING",
        isSuspended: state?.isSuspended ?? false,
        seeding: seedingReplicas.size > 0 && (seedingReplicas.has(local.serverName.toLowerCase()) || local.role === "PRIMARY"),
        ...(state?.logSendQueueKb !== undefined ? { logSendQueueKb: state.logSendQueueKb } : {}),
        ...(state?.redoQueueKb !== undefined ? { redoQueueKb: state.redoQueueKb } : {}),
      };
    });
    const ag: LocalAgView = {
      groupId: local.groupId,
      role: local.role,
      availabilityMode: local.availabilityMode ?? "AsynchronousCommit",
      sequenceNumber: local.sequenceNumber,
      requiredSynchronizedSecondariesToCommit: local.requiredSynchronizedSecondariesToCommit,
      replicas,
      databases: localDatabases,
    };
    if (local.configurationCommitStartedAt !== undefined) {
      ag.configurationCommitAgeMs = Math.max(0, wallNow.getTime() - local.configurationCommitStartedAt.getTime());
    }
    return { ...observation, ag };
  } catch (e) {
    if (e instanceof SqlUnavailableError) {
      return { reachability: e.reason === "refused" ? "refused" : "timeout" };
    }
    throw e;
  }
}
