/**
 * Executes the SQL-side actions decided by the core (bootstrap, membership, promotion, demotion, recovery).
 * Each action is idempotent — it reads the catalog before creating anything — so a crash half-way is repaired
 * by the next cycle (ARCHITECTURE §4.6). Nothing here drops an AG, a database or a replica's data: there are
 * no statements for that.
 *
 * Errors are returned to the loop as classified exceptions; the loop reports the SQL error number back to
 * decide() through `Observation.completed`.
 */
import { endpointUrl, sqlObjectNames, type ResolvedAgSpec, type ResolvedReplica, type AvailabilityMode, type ReplicaRole } from "@sqlag/api";
import { isSqlError, sqlErrors } from "../sql/errors.js";
import { mapExportedCertificate, mapLocalReplicaState, mapMirroringEndpoint, mapSecurityState, mapUserDatabase, type Row } from "../sql/mappers.js";
import * as st from "../sql/statements.js";
import type { Clock } from "@sqlag/api";

export interface SqlExecutor {
  query(statement: st.Statement, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Row[]>;
  execute(statement: st.Statement, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>;
}

export interface HadrSecret {
  masterKeyPassword: string;
  certificatePassword: string;
  agentLoginPassword: string;
  peerToken?: string;
  certificate?: Buffer;
  privateKey?: Buffer;
}

export interface HadrSecretStore {
  read(signal: AbortSignal): Promise<HadrSecret>;
  /** Stores the exported certificate; resolves false if another agent published a different one first. */
  publishCertificate(certificate: Buffer, privateKey: Buffer, signal: AbortSignal): Promise<boolean>;
}

export interface SqlActionContext {
  sql: SqlExecutor;
  secrets: HadrSecretStore;
  clock: Clock;
  agName: string;
  clusterName: string;
  namespace: string;
  podName: string;
  endpointPort: number;
  /** Polling cadence while waiting for a role change (FAILOVER and OFFLINE return before it completes). */
  rolePollIntervalMs: number;
}

const TOLERATED_LEASE_ERRORS: readonly number[] = [sqlErrors.leaseNotEnabled, sqlErrors.leaseStillValid];

async function currentRole(ctx: SqlActionContext, signal: AbortSignal): Promise<ReplicaRole | undefined> {
  const row = (await ctx.sql.query(st.localReplicaState(ctx.agName), { signal }))[0];
  return row === undefined ? undefined : mapLocalReplicaState(row).role;
}

/** Polls until the local role satisfies `done`, bounded by the signal (Pacemaker polls every 1 s, unbounded). */
async function waitForRole(ctx: SqlActionContext, done: (role: ReplicaRole | undefined) => boolean, signal: AbortSignal): Promise<ReplicaRole | undefined> {
  for (;;) {
    const role = await currentRole(ctx, signal);
    if (done(role)) return role;
    await ctx.clock.sleep(ctx.rolePollIntervalMs, signal);
  }
}

/** Renews WRITE_LEASE_VALIDITY. 47116 (AG without lease) and 47119 (cannot shorten) count as success, as in Pacemaker. */
export async function renewSqlWriteLease(ctx: SqlActionContext, seconds: number, signal: AbortSignal, notAfter?: Date): Promise<void> {
  try {
    await ctx.sql.execute(st.renewWriteLease(ctx.agName, seconds, notAfter), { signal });
  } catch (e) {
    if (TOLERATED_LEASE_ERRORS.some((n) => isSqlError(e, n))) return;
    throw e;
  }
}

/** FAILOVER with the external_cluster context in one batch, then wait (bounded) for PRIMARY. */
export async function promote(ctx: SqlActionContext, signal: AbortSignal): Promise<void> {
  await ctx.sql.execute(st.failover(ctx.agName), { signal });
  await waitForRole(ctx, (role) => role === "PRIMARY", signal);
}

export async function offline(ctx: SqlActionContext, signal: AbortSignal): Promise<void> {
  await ctx.sql.execute(st.offline(ctx.agName), { signal });
  await waitForRole(ctx, (role) => role !== "PRIMARY", signal);
}

export async function setRoleSecondary(ctx: SqlActionContext, signal: AbortSignal): Promise<void> {
  await ctx.sql.execute(st.setRoleSecondary(ctx.agName), { signal });
}

export async function setRequiredSynchronizedSecondaries(ctx: SqlActionContext, value: number, signal: AbortSignal): Promise<void> {
  await ctx.sql.execute(st.setRequiredSynchronizedSecondaries(ctx.agName, value), { signal });
}

/** STOPPED then STARTED on the own mirroring endpoint: clears the transport's cached connections (§4.8). */
export async function restartEndpoint(ctx: SqlActionContext, offlineFirst: boolean, signal: AbortSignal): Promise<void> {
  if (offlineFirst) {
    try {
      await ctx.sql.execute(st.offline(ctx.agName), { signal });
    } catch (e) {
      // OFFLINE of a replica that is not primary or already RESOLVING may be refused; the restart still helps.
      if (!(e instanceof Error)) throw e;
    }
  }
  const rows = await ctx.sql.query(st.mirroringEndpointState, { signal });
  const endpoint = rows[0] === undefined ? undefined : mapMirroringEndpoint(rows[0]);
  if (endpoint === undefined) return;
  await ctx.sql.execute(st.setEndpointState(endpoint.name, "STOPPED"), { signal });
  await ctx.sql.execute(st.setEndpointState(endpoint.name, "STARTED"), { signal });
}

async function securityState(ctx: SqlActionContext, signal: AbortSignal): Promise<ReturnType<typeof mapSecurityState>> {
  const row = (
    await ctx.sql.query(
      st.securityStateFor({ certificate: sqlObjectNames.certificate, endpointLogin: sqlObjectNames.endpointLogin, agentLogin: sqlObjectNames.agentLogin }),
      { signal },
    )
  )[0];
  if (row === undefined) throw new Error("security state query returned no row");
  return mapSecurityState(row);
}

async function ensureMasterKey(ctx: SqlActionContext, secret: HadrSecret, hasMasterKey: boolean, signal: AbortSignal): Promise<void> {
  if (hasMasterKey) return;
  try {
    await ctx.sql.execute(st.createMasterKey(secret.masterKeyPassword), { signal });
  } catch (e) {
    if (!isSqlError(e, sqlErrors.masterKeyExists)) throw e;
  }
}

/** Holder, first step of creation: master key + certificate here, exported into the `<ag>-hadr` Secret. */
export async function publishCertificate(ctx: SqlActionContext, signal: AbortSignal): Promise<void> {
  const secret = await ctx.secrets.read(signal);
  if (secret.certificate !== undefined && secret.privateKey !== undefined) return;
  const security = await securityState(ctx, signal);
  await ensureMasterKey(ctx, secret, security.hasMasterKey, signal);
  if (!security.hasCertificate) {
    await ctx.sql.execute(st.createCertificate(sqlObjectNames.certificate, `sqlag ${ctx.agName} endpoint`), { signal });
  }
  const row = (await ctx.sql.query(st.exportCertificate(sqlObjectNames.certificate, secret.certificatePassword), { signal }))[0];
  if (row === undefined) throw new Error("certificate export returned no row");
  const exported = mapExportedCertificate(row);
  await ctx.secrets.publishCertificate(exported.certificate, exported.privateKey, signal);
}

/** The AG exists but its endpoint certificate is gone from this instance: exporting would need a new one. */
export class EndpointCertificateMissingError extends Error {
  constructor(certificate: string) {
    super(`the availability group exists but certificate ${certificate} is missing on this instance; refusing to create a different one (every replica must keep the same endpoint certificate)`);
    this.name = "EndpointCertificateMissingError";
  }
}

/**
 * Holder of an existing AG, when the `<ag>-hadr` Secret lost its certificate (deleted and re-created empty):
 * exports the certificate this instance's endpoint already uses, encrypted with the Secret's current
 * certificate password; resolves true when it wrote the Secret. Unlike publishCertificate it never creates a master key or a certificate: a new one
 * would differ from the certificate every other replica holds, and their endpoints would refuse each other.
 */
export async function republishExistingCertificate(ctx: SqlActionContext, signal: AbortSignal): Promise<boolean> {
  const secret = await ctx.secrets.read(signal);
  if (secret.certificate !== undefined && secret.privateKey !== undefined) return false;
  const security = await securityState(ctx, signal);
  if (!security.hasCertificate) throw new EndpointCertificateMissingError(sqlObjectNames.certificate);
  const row = (await ctx.sql.query(st.exportCertificate(sqlObjectNames.certificate, secret.certificatePassword), { signal }))[0];
  if (row === undefined) throw new Error("certificate export returned no row");
  const exported = mapExportedCertificate(row);
  return ctx.secrets.publishCertificate(exported.certificate, exported.privateKey, signal);
}

/** Every replica: endpoint login/user, the shared certificate, the endpoint and its CONNECT grant (reference B4). */
export async function prepareEndpoint(ctx: SqlActionContext, signal: AbortSignal): Promise<void> {
  const secret = await ctx.secrets.read(signal);
  let security = await securityState(ctx, signal);
  await ensureMasterKey(ctx, secret, security.hasMasterKey, signal);
  if (!security.hasEndpointLogin) {
    // The login only owns the certificate mapping; nobody logs in with it over TDS. 15025 (exists) means an
    // earlier attempt created it after our catalog read: the step is repaired, not failed.
    try {
      await ctx.sql.execute(st.createLoginWithPassword(sqlObjectNames.endpointLogin, secret.certificatePassword), { signal });
    } catch (e) {
      if (!isSqlError(e, sqlErrors.principalExists)) throw e;
    }
  }
  await ctx.sql.execute(st.createUserForLogin(sqlObjectNames.endpointUser, sqlObjectNames.endpointLogin), { signal });
  security = await securityState(ctx, signal);
  if (!security.hasCertificate) {
    if (secret.certificate === undefined || secret.privateKey === undefined) {
      throw new Error("the shared endpoint certificate is not published in the hadr Secret yet");
    }
    await ctx.sql.execute(
      st.importCertificate(sqlObjectNames.certificate, sqlObjectNames.endpointUser, secret.certificate, secret.privateKey, secret.certificatePassword),
      { signal },
    );
  }
  if (!security.hasMirroringEndpoint) {
    await ctx.sql.execute(st.createEndpoint(sqlObjectNames.endpoint, ctx.endpointPort, sqlObjectNames.certificate), { signal });
  } else {
    const rows = await ctx.sql.query(st.mirroringEndpointState, { signal });
    const endpoint = rows[0] === undefined ? undefined : mapMirroringEndpoint(rows[0]);
    if (endpoint !== undefined && endpoint.state !== "STARTED") {
      await ctx.sql.execute(st.setEndpointState(endpoint.name, "STARTED"), { signal });
    }
  }
  await ctx.sql.execute(st.grantConnectOnEndpoint(sqlObjectNames.endpoint, sqlObjectNames.endpointLogin), { signal });
}

export function replicaDefinition(ctx: Pick<SqlActionContext, "clusterName" | "namespace" | "endpointPort">, spec: ResolvedAgSpec, replica: ResolvedReplica): st.ReplicaDefinition {
  const pod = `${ctx.clusterName}-${replica.index}`;
  return {
    serverName: pod,
    endpointUrl: endpointUrl(pod, ctx.clusterName, ctx.namespace, spec.clusterDomain, spec.endpointPort),
    availabilityMode: replica.availabilityMode,
    readableSecondary: replica.readableSecondary,
  };
}

/** Holder only, and only when no replica has the AG and the CR records none (decide() checks both). */
export async function createAvailabilityGroup(ctx: SqlActionContext, spec: ResolvedAgSpec, signal: AbortSignal): Promise<void> {
  if ((await currentRole(ctx, signal)) !== undefined) return;
  const replicas = spec.replicas.map((r) => replicaDefinition(ctx, spec, r));
  await ctx.sql.execute(st.createAvailabilityGroup(ctx.agName, spec.timing.sqlWriteLeaseSeconds, replicas), { signal });
}

export async function joinAvailabilityGroup(ctx: SqlActionContext, grantCreateAnyDatabase: boolean, signal: AbortSignal): Promise<void> {
  if ((await currentRole(ctx, signal)) === undefined) {
    await ctx.sql.execute(st.joinAvailabilityGroup(ctx.agName), { signal });
  }
  if (grantCreateAnyDatabase) await ctx.sql.execute(st.grantCreateAnyDatabase(ctx.agName), { signal });
}

/** Declarative spec.databases: create if missing, FULL recovery, first full backup, ADD DATABASE (holder). */
export async function addDatabase(ctx: SqlActionContext, database: string, signal: AbortSignal): Promise<void> {
  const existing = (await ctx.sql.query(st.userDatabases, { signal })).map(mapUserDatabase).find((d) => d.name.toLowerCase() === database.toLowerCase());
  if (existing?.inAvailabilityGroup) return;
  if (existing === undefined) {
    try {
      await ctx.sql.execute(st.createDatabase(database), { signal });
    } catch (e) {
      if (!isSqlError(e, sqlErrors.databaseAlreadyExists)) throw e;
    }
  }
  if (existing?.recoveryModel !== "FULL") await ctx.sql.execute(st.setRecoveryFull(database), { signal });
  await ctx.sql.execute(st.backupDatabaseToNul(database), { signal });
  await ctx.sql.execute(st.addDatabaseToAg(ctx.agName, database), { signal });
}

export async function addReplica(ctx: SqlActionContext, spec: ResolvedAgSpec, replica: ResolvedReplica, signal: AbortSignal): Promise<void> {
  await ctx.sql.execute(st.addReplica(ctx.agName, replicaDefinition(ctx, spec, replica)), { signal });
}

export async function removeReplica(ctx: SqlActionContext, replicaName: string, signal: AbortSignal): Promise<void> {
  await ctx.sql.execute(st.removeReplica(ctx.agName, replicaName), { signal });
}

export async function modifyReplica(
  ctx: SqlActionContext,
  replicaName: string,
  change: { availabilityMode?: AvailabilityMode; readableSecondary?: boolean },
  signal: AbortSignal,
): Promise<void> {
  if (change.availabilityMode !== undefined && change.availabilityMode !== "ConfigurationOnly") {
    await ctx.sql.execute(st.modifyReplicaAvailabilityMode(ctx.agName, replicaName, change.availabilityMode), { signal });
  }
  if (change.readableSecondary !== undefined) {
    await ctx.sql.execute(st.modifyReplicaReadable(ctx.agName, replicaName, change.readableSecondary), { signal });
  }
}
