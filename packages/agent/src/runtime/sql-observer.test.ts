import { expect } from "chai";
import { SqlQueryError } from "../sql/errors.js";
import type { Row } from "../sql/mappers.js";
import { observeLocalSql } from "./sql-observer.js";
import { FakeSql, sqlError } from "./testing/fake-sql.js";

const AG = "AG1";
const WALL_NOW = new Date("2026-01-01T00:01:00.000Z");
const GROUP_ID = "6F9619FF-8B86-D011-B42D-00C04FC964FF";

/** A reachable instance named `server` with endpoint security in place and the listed user databases. */
function instance(server: string, databases: Row[] = []): FakeSql {
  return new FakeSql()
    .answer("server_identity", [{ server_name: server, property_server_name: server, is_hadr_enabled: 1, product_major_version: 16 }])
    .answer("mirroring_endpoint_state", [{ name: "Hadr_endpoint", state_desc: "STARTED", role_desc: "ALL", connection_auth_desc: "CERTIFICATE", encryption_algorithm_desc: "AES", port: 5022 }])
    .answer("security_state", [{ master_keys: 1, certificates: 1, endpoint_logins: 1, agent_logins: 1, mirroring_endpoints: 1 }])
    .answer("user_databases", databases);
}

function replicaRow(server: string, role: string, mode = "SYNCHRONOUS_COMMIT", readable = "READ_ONLY"): Row {
  return {
    replica_server_name: server,
    endpoint_url: `TCP://${server}:5022`,
    availability_mode_desc: mode,
    failover_mode_desc: "EXTERNAL",
    secondary_role_allow_connections_desc: readable,
    role_desc: role,
    connected_state_desc: "CONNECTED",
    synchronization_health_desc: "HEALTHY",
  };
}

function dbState(database: string, server: string, isLocal: boolean, state: string): Row {
  return {
    database_name: database,
    replica_server_name: server,
    is_local: isLocal,
    synchronization_state_desc: state,
    synchronization_health_desc: state === "SYNCHRONIZED" ? "HEALTHY" : "NOT_HEALTHY",
    database_state_desc: "ONLINE",
    is_suspended: false,
    log_send_queue_size: 0,
    redo_queue_size: 0,
  };
}

/** Adds an AG in which `server` has `role`; configuration commit started 12 s before WALL_NOW. */
function withAg(sql: FakeSql, server: string, role: string, dbStates: Row[], commitStartedAt: Date | null = new Date(WALL_NOW.getTime() - 12_000)): FakeSql {
  return sql
    .answer("local_replica_state", [
      {
        group_id: GROUP_ID,
        sequence_number: "4294967299",
        required_synchronized_secondaries_to_commit: 1,
        cluster_type_desc: "EXTERNAL",
        role: role === "PRIMARY" ? 1 : 2,
        role_desc: role,
        operational_state_desc: "ONLINE",
        connected_state_desc: "CONNECTED",
        synchronization_health_desc: "HEALTHY",
        current_configuration_commit_start_time_utc: commitStartedAt,
        write_lease_remaining_ticks: null,
        replica_server_name: server,
        availability_mode: 1,
        availability_mode_desc: "SYNCHRONOUS_COMMIT",
        failover_mode_desc: "EXTERNAL",
      },
    ])
    .answer("database_replica_states", dbStates)
    .answer("replica_states", [replicaRow("ag1-0", role === "PRIMARY" ? "PRIMARY" : "SECONDARY"), replicaRow("ag1-1", role === "PRIMARY" ? "SECONDARY" : "PRIMARY"), replicaRow("ag1-2", "SECONDARY", "ASYNCHRONOUS_COMMIT", "NO")]);
}

const appdb: Row = { name: "appdb", state_desc: "ONLINE", recovery_model_desc: "FULL", group_database_id: "0D1C2B3A-0000-0000-0000-000000000001" };

describe("observeLocalSql", () => {
  const signal = new AbortController().signal;

  const unreachableCases: { name: string; reason: "refused" | "timeout" }[] = [
    { name: "a refused connection means the process is down", reason: "refused" },
    { name: "a timeout means frozen or overloaded", reason: "timeout" },
  ];
  for (const c of unreachableCases) {
    it(`${c.name}: reachability ${c.reason}, nothing else`, async () => {
      const observation = await observeLocalSql(new FakeSql().goUnreachable(c.reason), AG, WALL_NOW, signal);
      expect(observation).to.deep.equal({ reachability: c.reason });
    });
  }

  it("no AG here: identity, endpoint and security facts, user databases, and no `ag`", async () => {
    const sql = instance("ag1-0", [{ name: "legacy", state_desc: "ONLINE", recovery_model_desc: "SIMPLE", group_database_id: null }]);
    const observation = await observeLocalSql(sql, AG, WALL_NOW, signal);
    expect(observation).to.deep.equal({
      reachability: "reachable",
      serverName: "ag1-0",
      hadrEnabled: true,
      endpoint: "started",
      endpointSecurityReady: true,
      userDatabases: ["legacy"],
    });
    // Read-only: no statement other than queries was sent, and the AG's own views stop after the local row.
    expect(sql.sent.every((s) => s.kind === "query")).to.equal(true);
    expect(sql.names()).to.not.include("database_replica_states");
  });

  it("no endpoint and no master key yet: endpoint missing, security not ready", async () => {
    const sql = instance("ag1-0").answer("mirroring_endpoint_state", []).answer("security_state", [{ master_keys: 0, certificates: 0, endpoint_logins: 0, agent_logins: 1, mirroring_endpoints: 0 }]);
    const observation = await observeLocalSql(sql, AG, WALL_NOW, signal);
    expect(observation.endpoint).to.equal("missing");
    expect(observation.endpointSecurityReady).to.equal(false);
  });

  it("AG present on the primary: role, exact sequence number, replicas with synchronization, databases and configuration-commit age", async () => {
    const sql = withAg(instance("ag1-0", [appdb]), "ag1-0", "PRIMARY", [
      dbState("appdb", "ag1-0", true, "SYNCHRONIZED"),
      dbState("appdb", "ag1-1", false, "SYNCHRONIZED"),
      dbState("appdb", "ag1-2", false, "SYNCHRONIZING"),
    ]);
    const { ag } = await observeLocalSql(sql, AG, WALL_NOW, signal);
    expect(ag).to.not.equal(undefined);
    expect(ag!.groupId).to.equal(GROUP_ID);
    expect(ag!.role).to.equal("PRIMARY");
    expect(ag!.sequenceNumber).to.equal(4294967299n);
    expect(ag!.availabilityMode).to.equal("SynchronousCommit");
    expect(ag!.requiredSynchronizedSecondariesToCommit).to.equal(1);
    expect(ag!.configurationCommitAgeMs).to.equal(12_000);
    expect(ag!.replicas.map((r) => [r.name, r.role, r.availabilityMode, r.readableSecondary, r.allDatabasesSynchronized])).to.deep.equal([
      ["ag1-0", "PRIMARY", "SynchronousCommit", true, true],
      ["ag1-1", "SECONDARY", "SynchronousCommit", true, true],
      ["ag1-2", "SECONDARY", "AsynchronousCommit", false, false],
    ]);
    expect(ag!.databases).to.deep.equal([{ name: "appdb", inAvailabilityGroup: true, synchronizationState: "SYNCHRONIZED", isSuspended: false, seeding: false, logSendQueueKb: 0, redoQueueKb: 0 }]);
  });

  it("no configuration commit in progress: no age is reported", async () => {
    const sql = withAg(instance("ag1-0", [appdb]), "ag1-0", "PRIMARY", [dbState("appdb", "ag1-0", true, "SYNCHRONIZED")], null);
    const { ag } = await observeLocalSql(sql, AG, WALL_NOW, signal);
    expect(ag).to.not.have.property("configurationCommitAgeMs");
  });

  const notSynchronizingCases: { name: string; dbStates: Row[] }[] = [
    { name: "the local row says NOT SYNCHRONIZING", dbStates: [dbState("appdb", "ag1-0", true, "NOT SYNCHRONIZING")] },
    { name: "a database in the AG has no local row at all (not joined yet)", dbStates: [] },
  ];
  for (const c of notSynchronizingCases) {
    it(`secondary, ${c.name}: the database reads 'NOT SYNCHRONIZING'`, async () => {
      const sql = withAg(instance("ag1-0", [appdb]), "ag1-0", "SECONDARY", c.dbStates);
      const { ag } = await observeLocalSql(sql, AG, WALL_NOW, signal);
      expect(ag!.role).to.equal("SECONDARY");
      expect(ag!.databases[0]?.synchronizationState).to.equal("NOT SYNCHRONIZING");
    });
  }

  it("seeding toward this replica is in progress: its databases report seeding", async () => {
    const sql = withAg(instance("ag1-0", [appdb]), "ag1-0", "SECONDARY", [dbState("appdb", "ag1-0", true, "NOT SYNCHRONIZING")]).answer("active_seeding", [
      { current_state: "SEEDING", replica_server_name: "AG1-0" },
    ]);
    const { ag } = await observeLocalSql(sql, AG, WALL_NOW, signal);
    expect(ag!.databases[0]?.seeding).to.equal(true);
  });

  it("a SQL error other than unreachability is not hidden as a reachability value", async () => {
    const sql = instance("ag1-0").failNext("user_databases", sqlError(229, "permission denied"));
    let thrown: unknown;
    try {
      await observeLocalSql(sql, AG, WALL_NOW, signal);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).to.be.instanceOf(SqlQueryError);
    expect((thrown as SqlQueryError).number).to.equal(229);
  });
});
