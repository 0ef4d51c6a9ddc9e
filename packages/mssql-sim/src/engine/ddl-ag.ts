/**
 * CREATE / ALTER / DROP AVAILABILITY GROUP (tds-and-sqlserver.md B3 table, all forms; B5 for RSSTC; pacemaker-agent.md
 * §3–§5 for FAILOVER with the external_cluster session context, OFFLINE, SET ROLE and the write lease).
 */
import { randomUUID } from "node:crypto";
import type { ResultItem } from "../tds/engine-port.js";
import type { AlterAgAction, DdlOption, ReplicaSpec, Statement } from "./ast.js";
import type { ExecContext } from "./engine.js";
import { Errors, SqlError } from "./errors.js";
import { sameName, type AgConfig, type AvailabilityMode, type ClusterType, type FailoverMode, type LocalAg, type ReplicaConfig } from "./model.js";
import { findOption, NotModelledError, optionText } from "./parser.js";
import { AgRuntime, type ServerModel } from "./server-model.js";

const INITIAL_SEQUENCE = ((1n << 32n) | 1n).toString(); // printed 1:1 by the Pacemaker agent (hi32:lo32)

export async function* executeAgStatement(ctx: ExecContext, statement: Statement): AsyncGenerator<ResultItem> {
  // B3 general rule: AG DDL only in master.
  if (!sameName(ctx.session.database, "master")) throw Errors.agDdlOutsideMaster();
  switch (statement.type) {
    case "createAg":
      createAg(ctx, statement);
      break;
    case "dropAg": {
      const ag = ctx.model.ags.get(statement.name.toLowerCase());
      if (!ag || !ctx.engine.hasAgPermission(ctx.session.login, statement.name, true) && !ctx.engine.isSysadmin(ctx.session.login)) throw Errors.agDoesNotExistDrop(statement.name);
      ctx.model.leaveAg(ag, "dropped");
      break;
    }
    case "alterAg":
      await alterAg(ctx, statement.name, statement.action);
      break;
    default:
      throw new NotModelledError(statement.text);
  }
  yield { kind: "done" };
}

function clusterTypeOf(options: DdlOption[]): ClusterType {
  const text = optionText(options, "CLUSTER_TYPE") ?? "WSFC";
  if (text !== "WSFC" && text !== "EXTERNAL" && text !== "NONE") throw Errors.syntax(`Incorrect syntax near '${text}'.`);
  return text;
}

function replicaFromSpec(model: ServerModel, spec: ReplicaSpec, clusterType: ClusterType, existing?: ReplicaConfig): ReplicaConfig {
  const now = model.now();
  const o = spec.options;
  const url = optionText(o, "ENDPOINT_URL") ?? existing?.endpointUrl;
  if (url === undefined) throw Errors.badEndpointUrl("");
  if (!/^TCP:\/\/[^:/\s]+:\d+\/?$/i.test(url)) throw Errors.badEndpointUrl(url);
  const modeText = optionText(o, "AVAILABILITY_MODE") ?? existing?.availabilityMode;
  if (!modeText) throw Errors.missingAvailabilityMode();
  if (!["SYNCHRONOUS_COMMIT", "ASYNCHRONOUS_COMMIT", "CONFIGURATION_ONLY"].includes(modeText)) throw Errors.syntax(`Incorrect syntax near '${modeText}'.`);
  const availabilityMode = modeText as AvailabilityMode;
  const failoverText = optionText(o, "FAILOVER_MODE") ?? existing?.failoverMode ?? (availabilityMode === "CONFIGURATION_ONLY" ? "EXTERNAL" : undefined);
  if (!failoverText) throw Errors.missingFailoverMode();
  const failoverMode = failoverText as FailoverMode;
  if (availabilityMode === "CONFIGURATION_ONLY" && clusterType !== "EXTERNAL") throw Errors.configOnlyNeedsExternal();
  if (clusterType === "EXTERNAL" && availabilityMode !== "CONFIGURATION_ONLY" && failoverMode !== "EXTERNAL") throw Errors.externalNeedsExternalFailover();
  if (clusterType === "NONE" && failoverMode !== "MANUAL") throw Errors.noneNeedsManualFailover();
  if (availabilityMode === "ASYNCHRONOUS_COMMIT" && failoverMode === "AUTOMATIC") throw Errors.asyncAutomatic();
  const secondary = findOption(o, "SECONDARY_ROLE")?.nested;
  const allow = (secondary && optionText(secondary, "ALLOW_CONNECTIONS")) ?? existing?.secondaryAllowConnections ?? "NO";
  const primary = findOption(o, "PRIMARY_ROLE")?.nested;
  const sessionTimeout = Number(optionText(o, "SESSION_TIMEOUT") ?? existing?.sessionTimeoutSeconds ?? model.timings.defaultSessionTimeoutSeconds);
  return {
    replicaId: existing?.replicaId ?? randomUUID().toUpperCase(),
    serverName: existing?.serverName ?? spec.serverName,
    endpointUrl: url,
    availabilityMode,
    failoverMode,
    seedingMode: (optionText(o, "SEEDING_MODE") ?? existing?.seedingMode ?? "MANUAL") as "AUTOMATIC",
    secondaryAllowConnections: (allow === "READ_ONLY" || allow === "ALL" ? allow : "NO") as "NO",
    primaryAllowConnections: ((primary && optionText(primary, "ALLOW_CONNECTIONS")) ?? existing?.primaryAllowConnections ?? "ALL") as "ALL",
    sessionTimeoutSeconds: Math.max(5, sessionTimeout),
    backupPriority: Number(optionText(o, "BACKUP_PRIORITY") ?? existing?.backupPriority ?? 50),
    createDateMs: existing?.createDateMs ?? now,
    modifyDateMs: now,
  };
}

function checkReplicaSet(replicas: ReplicaConfig[]): void {
  if (replicas.filter((r) => r.availabilityMode === "CONFIGURATION_ONLY").length > 1) throw Errors.configOnlyLimit();
  if (replicas.length > 9) throw new SqlError(35212, "The availability group cannot have more than 9 availability replicas (1 primary and 8 secondaries).", 16, 1);
}

function checkDatabaseCanJoin(ctx: ExecContext, dbName: string, agName: string): void {
  if (ctx.model.isSystemDatabase(dbName)) throw Errors.systemDatabase(dbName);
  const db = ctx.model.dbs.get(dbName.toLowerCase());
  if (!db) throw Errors.agDatabaseNotFound(dbName);
  if (db.record.hadr) {
    if (sameName(db.record.hadr.agName, agName)) throw Errors.databaseAlreadyInAg(dbName, agName);
    throw Errors.databaseInOtherAg(dbName);
  }
  // B3 ADD DATABASE: FULL recovery with at least one full backup.
  if (db.record.recoveryModel !== "FULL" || !db.record.hasFullBackup) throw Errors.databaseNotFullRecovery(dbName);
}

function leaseMs(model: ServerModel, seconds: number): number {
  return seconds * model.timings.leaseScale;
}

function createAg(ctx: ExecContext, statement: Extract<Statement, { type: "createAg" }>): void {
  const { model, engine, session } = ctx;
  if (!engine.isSysadmin(session.login) && !engine.hasServerPermission(session.login, "CREATE AVAILABILITY GROUP")) {
    throw new SqlError(15247, "User does not have permission to perform this action.", 16, 1);
  }
  if (model.ags.has(statement.name.toLowerCase())) throw Errors.agExists(statement.name);
  const clusterType = clusterTypeOf(statement.options);
  if (clusterType === "WSFC") throw Errors.wsfcUnsupported();
  const lease = optionText(statement.options, "WRITE_LEASE_VALIDITY");
  const rsstc = Number(optionText(statement.options, "REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT") ?? "0");
  const replicas = statement.replicas.map((spec) => replicaFromSpec(model, spec, clusterType));
  checkReplicaSet(replicas);
  const local = replicas.find((r) => sameName(r.serverName, model.serverName));
  if (!local) throw Errors.localNotInReplicaList(statement.name, model.serverName);
  if (local.availabilityMode === "CONFIGURATION_ONLY") throw Errors.configOnlyFailover(statement.name);
  if (rsstc < 0 || rsstc > replicas.filter((r) => r.availabilityMode !== "CONFIGURATION_ONLY").length - 1) {
    throw Errors.rsstcRange(replicas.filter((r) => r.availabilityMode !== "CONFIGURATION_ONLY").length - 1);
  }
  if (lease !== undefined) validateLease(Number(lease));
  for (const db of statement.databases) checkDatabaseCanJoin(ctx, db, statement.name);
  const config: AgConfig = {
    groupId: randomUUID().toUpperCase(),
    name: statement.name,
    clusterType,
    dbFailover: optionText(statement.options, "DB_FAILOVER") === "ON",
    writeLeaseValiditySeconds: lease === undefined || clusterType !== "EXTERNAL" ? null : Number(lease),
    requiredSynchronizedSecondariesToCommit: rsstc,
    sequenceNumber: INITIAL_SEQUENCE,
    replicas,
    databases: statement.databases.map((name) => ({ name: model.dbs.get(name.toLowerCase())?.record.name ?? name, groupDatabaseId: randomUUID().toUpperCase() })),
    primaryReplicaId: local.replicaId,
    failoverReady: {},
    forcedFailoverSequence: "0",
    createDateMs: model.now(),
  };
  const localAg: LocalAg = { config, localReplicaId: local.replicaId, joined: true, createAnyDatabaseGranted: false, lastRole: "PRIMARY" };
  for (const d of config.databases) {
    const db = model.dbs.get(d.name.toLowerCase());
    if (db) db.record.hadr = { agName: config.name, groupDatabaseId: d.groupDatabaseId, suspended: false, suspendReason: null, forcedFailoverSequenceSeen: "0" };
  }
  const runtime = new AgRuntime(localAg);
  model.catalog.ags.push(localAg);
  model.ags.set(config.name.toLowerCase(), runtime);
  model.setRole(runtime, "PRIMARY");
  if (config.writeLeaseValiditySeconds !== null) runtime.leaseExpiresAtMs = model.now() + leaseMs(model, config.writeLeaseValiditySeconds);
  // The initial configuration commits locally: the other replicas only learn it when they JOIN (B3).
  runtime.configCommitStartMs = null;
  model.saveCatalog();
  model.trackWritable(runtime);
  model.log("ag_created", { server: model.serverName, ag: config.name, replicas: replicas.map((r) => r.serverName) });
}

function validateLease(seconds: number): void {
  if (!Number.isFinite(seconds) || seconds < 5) throw Errors.leaseTooSmall();
  if (seconds > 3600) throw Errors.leaseTooLarge();
}

function requirePrimary(ag: AgRuntime): void {
  if (ag.role !== "PRIMARY" || ag.pendingRole) throw Errors.notPrimary(ag.config.name);
}

async function alterAg(ctx: ExecContext, name: string, action: AlterAgAction): Promise<void> {
  const { model, engine, session } = ctx;
  if (action.kind === "join") return join(ctx, name, action.options);
  const ag = model.ags.get(name.toLowerCase());
  if (!ag || (!engine.isSysadmin(session.login) && !engine.hasAgPermission(session.login, name, true))) throw Errors.agDoesNotExistAlter(name);
  const needsExternalContext = (): void => {
    // B3 / pacemaker §1.1: FAILOVER on an EXTERNAL AG must follow sp_set_session_context 'external_cluster' = 'yes' in the same session.
    if (ag.config.clusterType === "EXTERNAL" && String(session.context.get("external_cluster") ?? "").toLowerCase() !== "yes") throw Errors.externalNeedsContext(ag.config.name);
  };
  switch (action.kind) {
    case "grantCreateDb": {
      if (ag.localReplica.availabilityMode === "CONFIGURATION_ONLY") throw Errors.grantOnConfigOnly(ag.config.name);
      if (ag.role !== "PRIMARY" && !ag.upstream) throw Errors.notConnectedToPrimary();
      ag.local.createAnyDatabaseGranted = !action.deny;
      model.saveCatalog();
      model.sendStatus(ag);
      return;
    }
    case "addDatabase": {
      requirePrimary(ag);
      for (const db of action.databases) checkDatabaseCanJoin(ctx, db, ag.config.name);
      for (const dbName of action.databases) {
        const db = model.dbs.get(dbName.toLowerCase());
        if (!db) continue;
        const groupDatabaseId = randomUUID().toUpperCase();
        ag.config.databases.push({ name: db.record.name, groupDatabaseId });
        db.record.hadr = { agName: ag.config.name, groupDatabaseId, suspended: false, suspendReason: null, forcedFailoverSequenceSeen: ag.config.forcedFailoverSequence };
      }
      model.commitConfigurationChange(ag, "add_database");
      return;
    }
    case "removeDatabase": {
      requirePrimary(ag);
      for (const dbName of action.databases) {
        if (!ag.config.databases.some((d) => sameName(d.name, dbName))) throw new SqlError(35209, `Database '${dbName}' is not in availability group '${ag.config.name}'.`, 16, 1);
      }
      for (const dbName of action.databases) {
        ag.config.databases = ag.config.databases.filter((d) => !sameName(d.name, dbName));
        const db = model.dbs.get(dbName.toLowerCase());
        if (db) db.record.hadr = null;
        for (const list of Object.values(ag.config.failoverReady)) list.splice(0, list.length, ...list.filter((n) => !sameName(n, dbName)));
      }
      model.commitConfigurationChange(ag, "remove_database");
      return;
    }
    case "addReplica": {
      requirePrimary(ag);
      const added = action.replicas.map((spec) => {
        if (ag.config.replicas.some((r) => sameName(r.serverName, spec.serverName))) throw Errors.replicaExists(spec.serverName);
        return replicaFromSpec(model, spec, ag.config.clusterType);
      });
      checkReplicaSet([...ag.config.replicas, ...added]);
      ag.config.replicas.push(...added);
      model.commitConfigurationChange(ag, "add_replica");
      return;
    }
    case "modifyReplica": {
      requirePrimary(ag);
      const index = ag.config.replicas.findIndex((r) => sameName(r.serverName, action.replica.serverName));
      const existing = ag.config.replicas[index];
      if (!existing) throw Errors.modifyUnknownReplica(action.replica.serverName);
      const updated = replicaFromSpec(model, action.replica, ag.config.clusterType, existing);
      if ((existing.availabilityMode === "CONFIGURATION_ONLY") !== (updated.availabilityMode === "CONFIGURATION_ONLY")) {
        throw new SqlError(47112, "The availability mode of a configuration-only replica cannot be changed, and a replica cannot be changed into a configuration-only replica.", 16, 1);
      }
      ag.config.replicas[index] = updated;
      if (existing.availabilityMode !== updated.availabilityMode) ag.config.failoverReady[updated.replicaId] = [];
      model.commitConfigurationChange(ag, "modify_replica");
      return;
    }
    case "removeReplica": {
      requirePrimary(ag);
      const replica = ag.config.replicas.find((r) => sameName(r.serverName, action.serverName));
      if (!replica) throw Errors.replicaNotFound(action.serverName);
      if (replica.replicaId === ag.local.localReplicaId) throw Errors.removeLocalReplica(action.serverName);
      const peer = ag.peers.get(replica.replicaId);
      peer?.link?.send({ t: "removed" });
      peer?.link?.close();
      ag.peers.delete(replica.replicaId);
      ag.config.replicas = ag.config.replicas.filter((r) => r !== replica);
      delete ag.config.failoverReady[replica.replicaId];
      const maxRsstc = ag.config.replicas.filter((r) => r.availabilityMode !== "CONFIGURATION_ONLY").length - 1;
      ag.config.requiredSynchronizedSecondariesToCommit = Math.min(ag.config.requiredSynchronizedSecondariesToCommit, Math.max(0, maxRsstc));
      model.commitConfigurationChange(ag, "remove_replica");
      return;
    }
    case "failover": {
      if (ag.role === "PRIMARY") throw Errors.alreadyPrimary(ag.config.name);
      if (ag.pendingRole) throw Errors.failoverPending(ag.config.name);
      if (ag.config.clusterType === "NONE") throw Errors.noneOnlyForce();
      needsExternalContext();
      if (ag.localReplica.availabilityMode === "CONFIGURATION_ONLY") throw Errors.configOnlyFailover(ag.config.name);
      checkFailoverReady(model, ag);
      const oldPrimary = ag.config.primaryReplicaId;
      if (ag.upstream) ag.upstream.send({ t: "failoverRequest", from: model.serverName });
      model.log("failover_requested", { server: model.serverName, ag: ag.config.name, planned: !!ag.upstream });
      model.scheduleRoleChange(ag, "PRIMARY", () => becomePrimary(model, ag, oldPrimary, false));
      return;
    }
    case "forceFailover": {
      if (ag.role === "PRIMARY") throw Errors.alreadyPrimary(ag.config.name);
      if (ag.pendingRole) throw Errors.failoverPending(ag.config.name);
      needsExternalContext();
      if (ag.localReplica.availabilityMode === "CONFIGURATION_ONLY") throw Errors.configOnlyFailover(ag.config.name);
      const oldPrimary = ag.config.primaryReplicaId;
      model.log("forced_failover_requested", { server: model.serverName, ag: ag.config.name });
      model.scheduleRoleChange(ag, "PRIMARY", () => becomePrimary(model, ag, oldPrimary, true));
      return;
    }
    case "offline":
      // B3: role → RESOLVING asynchronously; writes stop at once (pending role change).
      if (ag.config.clusterType === "WSFC") throw new NotModelledError("OFFLINE on a WSFC availability group");
      model.log("offline_requested", { server: model.serverName, ag: ag.config.name });
      if (ag.role === "RESOLVING" && !ag.pendingRole) return;
      model.scheduleRoleChange(ag, "RESOLVING");
      return;
    case "online":
      throw new NotModelledError(`ALTER AVAILABILITY GROUP ${ag.config.name} ONLINE`);
    case "set":
      setOptions(ctx, ag, action.options);
      return;
  }
}

/** B5 / pacemaker §3.3 rule 5: FAILOVER needs every database joined and SYNCHRONIZED according to this replica's copy of the configuration (41142). */
function checkFailoverReady(model: ServerModel, ag: AgRuntime): void {
  const local = ag.localReplica;
  const ready = new Set((ag.config.failoverReady[local.replicaId] ?? []).map((n) => n.toLowerCase()));
  const ok =
    local.availabilityMode === "SYNCHRONOUS_COMMIT" &&
    ag.config.databases.every((d) => {
      const db = model.dbs.get(d.name.toLowerCase());
      // A former primary (its configuration still names itself primary: taken OFFLINE, or restarted) holds the
      // newest copy of its databases. becomePrimary() drops its own failoverReady entry because SQL Server never
      // marks the primary itself unsynchronized, and is_failover_ready reads 1 for the primary (views.ts); without
      // this, the replica with the highest sequence number after a full stop could never be promoted, which
      // contradicts Microsoft's Pacemaker flow (stop = OFFLINE, later promote = FAILOVER on that replica).
      return !!db?.record.hadr && !db.record.hadr.suspended && (ag.config.primaryReplicaId === local.replicaId || ready.has(d.name.toLowerCase()));
    });
  if (!ok) throw Errors.notSynchronized(ag.config.name, model.serverName);
}

function becomePrimary(model: ServerModel, ag: AgRuntime, oldPrimary: string | null, forced: boolean): void {
  ag.config.primaryReplicaId = ag.local.localReplicaId;
  if (oldPrimary && oldPrimary !== ag.local.localReplicaId) ag.config.failoverReady[oldPrimary] = [];
  delete ag.config.failoverReady[ag.local.localReplicaId];
  if (forced) {
    // FORCE_FAILOVER_ALLOW_DATA_LOSS: the other replicas' databases suspend until SET HADR RESUME (B3).
    const seq = BigInt(ag.config.sequenceNumber);
    ag.config.forcedFailoverSequence = ((((seq >> 32n) + 1n) << 32n) | 1n).toString();
    for (const id of Object.keys(ag.config.failoverReady)) ag.config.failoverReady[id] = [];
    for (const db of model.dbs.values()) {
      if (db.record.hadr && sameName(db.record.hadr.agName, ag.config.name)) {
        db.record.hadr.suspended = false;
        db.record.hadr.suspendReason = null;
        db.record.hadr.forcedFailoverSequenceSeen = ag.config.forcedFailoverSequence;
      }
    }
  }
  // Every failover starts a new epoch (high 32 bits, printed hi:lo by the Pacemaker agent), so a deposed primary's
  // later configuration bumps can never outrank the new primary's configuration.
  model.commitConfigurationChange(ag, forced ? "forced_failover" : "failover", true);
  ag.promotedAtMs = model.now();
  model.trackWritable(ag);
}

function setOptions(ctx: ExecContext, ag: AgRuntime, options: DdlOption[]): void {
  const { model } = ctx;
  for (const option of options) {
    const value = option.values.map((v) => v.text).join(" ");
    switch (option.name) {
      case "ROLE": {
        if (value !== "SECONDARY") throw new NotModelledError(`SET (ROLE = ${value})`);
        if (ag.config.clusterType === "WSFC") throw new NotModelledError("SET (ROLE = SECONDARY) on WSFC");
        // L13/L15 quirk: a latched replica refuses with 41104 and stays RESOLVING (pacemaker §5.2 treats it as non-fatal).
        if (ag.latch41104 && model.quirks.latch41104) throw Errors.previousError41104(ag.config.name);
        if (ag.role === "SECONDARY" && !ag.pendingRole) break;
        model.log("set_role_secondary", { server: model.serverName, ag: ag.config.name, from: ag.role });
        model.scheduleRoleChange(ag, "SECONDARY");
        break;
      }
      case "WRITE_LEASE_VALIDITY": {
        if (ag.config.writeLeaseValiditySeconds === null) throw Errors.leaseNotEnabled(ag.config.name);
        const seconds = Number(value);
        validateLease(seconds);
        const now = model.now();
        const next = now + leaseMs(model, seconds);
        if (ag.leaseExpiresAtMs !== null && ag.leaseExpiresAtMs > now && next < ag.leaseExpiresAtMs) throw Errors.leaseCannotShorten(ag.config.name);
        ag.leaseExpiresAtMs = next;
        model.trackWritable(ag);
        break;
      }
      case "REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT": {
        requirePrimary(ag);
        const k = Number(value);
        const max = ag.config.replicas.filter((r) => r.availabilityMode !== "CONFIGURATION_ONLY").length - 1;
        if (!Number.isInteger(k) || k < 0 || k > Math.max(0, max)) throw Errors.rsstcRange(Math.max(0, max));
        if (ag.config.requiredSynchronizedSecondariesToCommit !== k) {
          ag.config.requiredSynchronizedSecondariesToCommit = k;
          model.commitConfigurationChange(ag, "rsstc");
        }
        break;
      }
      case "DB_FAILOVER":
        requirePrimary(ag);
        ag.config.dbFailover = value === "ON";
        model.commitConfigurationChange(ag, "db_failover");
        break;
      case "FAILURE_CONDITION_LEVEL":
      case "HEALTH_CHECK_TIMEOUT":
      case "AUTOMATED_BACKUP_PREFERENCE":
      case "DTC_SUPPORT":
        requirePrimary(ag);
        break;
      default:
        throw new NotModelledError(`SET (${option.name} = ${value})`);
    }
  }
}

async function join(ctx: ExecContext, name: string, options: DdlOption[]): Promise<void> {
  const { model, engine, session } = ctx;
  if (!engine.isSysadmin(session.login) && !engine.hasServerPermission(session.login, "ALTER ANY AVAILABILITY GROUP")) throw Errors.agDoesNotExistAlter(name);
  if (model.ags.has(name.toLowerCase())) throw Errors.alreadyJoined(name);
  // B3 JOIN: the replica downloads the configuration from the primary over the endpoint (47106 on timeout).
  const deadline = model.now() + model.timings.joinConfigWaitMs;
  let pending = model.pendingJoins.get(name.toLowerCase());
  while (!pending && model.now() < deadline && !ctx.signal.aborted) {
    await model.sleep(Math.min(50, model.timings.joinConfigWaitMs), ctx.signal);
    pending = model.pendingJoins.get(name.toLowerCase());
  }
  if (!pending || pending.link.closed) throw Errors.joinConfigTimeout(name);
  const config = pending.config;
  if (clusterTypeOf(options) !== config.clusterType) throw Errors.clusterTypeMismatch(name);
  const local = config.replicas.find((r) => sameName(r.serverName, model.serverName));
  if (!local) throw Errors.replicaNotInAg(name, model.serverName);
  model.pendingJoins.delete(name.toLowerCase());
  const localAg: LocalAg = { config, localReplicaId: local.replicaId, joined: true, createAnyDatabaseGranted: false, lastRole: "SECONDARY" };
  const runtime = new AgRuntime(localAg);
  model.catalog.ags.push(localAg);
  model.ags.set(name.toLowerCase(), runtime);
  runtime.upstream = pending.link;
  runtime.upstreamServer = pending.link.peerServer;
  runtime.lastHeardFromPrimaryMs = model.now();
  model.setRole(runtime, "SECONDARY");
  pending.link.send({ t: "configAck", seq: config.sequenceNumber });
  model.sendStatus(runtime);
  model.saveCatalog();
  model.log("ag_joined", { server: model.serverName, ag: name, primary: runtime.upstreamServer });
}
