import { expect } from "chai";
import { classifySqlError, SqlQueryError, SqlUnavailableError, sqlErrors } from "./errors.js";
import {
  mapDatabaseReplicaState,
  mapDiagnosticsRow,
  mapLocalReplicaState,
  mapReplicaConfiguration,
  mapRole,
  RowShapeError,
} from "./mappers.js";
import {
  createAvailabilityGroup,
  createMasterKey,
  failover,
  InvalidIdentifierError,
  offline,
  quoteIdentifier,
  quoteString,
  renewWriteLease,
  replicaClause,
  serverDiagnostics,
  setRequiredSynchronizedSecondaries,
} from "./statements.js";

describe("sql/statements", () => {
  it("quotes identifiers and refuses anything that is not a plain identifier", () => {
    expect(quoteIdentifier("AG1")).to.equal("[AG1]");
    for (const bad of ["a]b", "1ag", "ag name", "", "x".repeat(129), "ag;DROP"]) {
      expect(() => quoteIdentifier(bad), bad).to.throw(InvalidIdentifierError);
    }
  });

  it("doubles quotes in string literals", () => {
    expect(quoteString("it's")).to.equal("N'it''s'");
  });

  it("builds the FAILOVER batch with the external_cluster session context first, in one batch", () => {
    const s = failover("AG1");
    expect(s.sql).to.equal(
      "EXEC sp_set_session_context @key = N'external_cluster', @value = N'yes'; ALTER AVAILABILITY GROUP [AG1] FAILOVER",
    );
    expect(s.sql).not.to.match(/FORCE_FAILOVER/);
  });

  it("demotes with OFFLINE and renews the write lease by seconds", () => {
    expect(offline("AG1").sql).to.equal("ALTER AVAILABILITY GROUP [AG1] OFFLINE");
    expect(renewWriteLease("AG1", 8).sql).to.equal("ALTER AVAILABILITY GROUP [AG1] SET (WRITE_LEASE_VALIDITY = 8)");
    // A renewal that reaches the server after the client's deadline (frozen process, SIGCONT) is not applied.
    expect(renewWriteLease("AG1", 8, new Date("2026-11-21T07:51:30.123Z")).sql).to.equal(
      "IF SYSUTCDATETIME() < CONVERT(datetime2, '2026-11-21T07:51:30.123', 126) ALTER AVAILABILITY GROUP [AG1] SET (WRITE_LEASE_VALIDITY = 8)",
    );
  });

  it("creates an EXTERNAL AG with the write lease and per-replica options; configuration-only omits failover options", () => {
    const s = createAvailabilityGroup("AG1", 8, [
      { serverName: "ag-0", endpointUrl: "TCP://ag-0.ag-hl.ns.svc.cluster.local:5022", availabilityMode: "SynchronousCommit", readableSecondary: false },
      { serverName: "ag-2", endpointUrl: "TCP://ag-2.ag-hl.ns.svc.cluster.local:5022", availabilityMode: "ConfigurationOnly", readableSecondary: false },
    ]);
    expect(s.sql).to.equal(
      "CREATE AVAILABILITY GROUP [AG1] WITH (CLUSTER_TYPE = EXTERNAL, DB_FAILOVER = ON, WRITE_LEASE_VALIDITY = 8) FOR REPLICA ON " +
        "N'ag-0' WITH (ENDPOINT_URL = N'TCP://ag-0.ag-hl.ns.svc.cluster.local:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, " +
        "FAILOVER_MODE = EXTERNAL, SEEDING_MODE = AUTOMATIC, SECONDARY_ROLE (ALLOW_CONNECTIONS = NO)), " +
        "N'ag-2' WITH (ENDPOINT_URL = N'TCP://ag-2.ag-hl.ns.svc.cluster.local:5022', AVAILABILITY_MODE = CONFIGURATION_ONLY)",
    );
  });

  it("marks statements carrying passwords as sensitive", () => {
    expect(createMasterKey("p'w").sensitive).to.equal(true);
    expect(createMasterKey("p'w").sql).to.contain("N'p''w'");
  });

  it("sets RSSTC idempotently with the AG name as a parameter", () => {
    const s = setRequiredSynchronizedSecondaries("AG1", 1);
    expect(s.params).to.deep.equal({ ag: { type: "nvarchar", value: "AG1" } });
    expect(s.sql).to.contain("IF @num_ags = 0 ALTER AVAILABILITY GROUP [AG1] SET (REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT = 1)");
    expect(() => setRequiredSynchronizedSecondaries("AG1", -1)).to.throw(RangeError);
  });

  it("refuses sp_server_diagnostics repeat intervals of 1..4 seconds (reference B1)", () => {
    expect(() => serverDiagnostics(3)).to.throw(RangeError);
    expect(serverDiagnostics(5).sql).to.equal("EXEC sp_server_diagnostics @repeat_interval = 5");
  });

  it("rejects replica names that are not host names", () => {
    expect(() => replicaClause({ serverName: "ag-0'--", endpointUrl: "TCP://x:1", availabilityMode: "SynchronousCommit", readableSecondary: true })).to.throw(
      InvalidIdentifierError,
    );
  });
});

describe("sql/mappers", () => {
  it("maps the local replica row, keeping bigint sequence numbers exact", () => {
    const state = mapLocalReplicaState({
      group_id: "6F9619FF-8B86-D011-B42D-00C04FC964FF",
      sequence_number: "38654705665",
      required_synchronized_secondaries_to_commit: 1,
      role: 1,
      role_desc: "PRIMARY",
      operational_state_desc: "ONLINE",
      connected_state_desc: "CONNECTED",
      synchronization_health_desc: "HEALTHY",
      current_configuration_commit_start_time_utc: null,
      write_lease_remaining_ticks: "7000",
      replica_server_name: "ag-0",
      availability_mode: 1,
      availability_mode_desc: "SYNCHRONOUS_COMMIT",
      failover_mode_desc: "EXTERNAL",
    });
    expect(state.sequenceNumber).to.equal(38654705665n);
    expect(state.role).to.equal("PRIMARY");
    expect(state.availabilityMode).to.equal("SynchronousCommit");
    expect(state.configurationCommitStartedAt).to.equal(undefined);
    expect(state.writeLeaseRemainingTicks).to.equal(7000n);
  });

  it("fails loudly on a wrong column type instead of guessing", () => {
    expect(() => mapLocalReplicaState({ group_id: 5 })).to.throw(RowShapeError);
  });

  it("maps role descriptions case-insensitively and unknown values to UNKNOWN", () => {
    expect(mapRole("resolving")).to.equal("RESOLVING");
    expect(mapRole(undefined)).to.equal("UNKNOWN");
  });

  it("maps replica configuration rows (remote rows have no runtime state on a secondary)", () => {
    const r = mapReplicaConfiguration({
      replica_server_name: "ag-1",
      endpoint_url: "TCP://ag-1:5022",
      availability_mode_desc: "CONFIGURATION_ONLY",
      secondary_role_allow_connections_desc: null,
      role_desc: null,
      connected_state_desc: null,
      synchronization_health_desc: null,
    });
    expect(r).to.deep.include({ availabilityMode: "ConfigurationOnly", role: "UNKNOWN", connected: undefined, readableSecondary: false });
  });

  it("keeps 'NOT SYNCHRONIZING' with its space", () => {
    const d = mapDatabaseReplicaState({
      database_name: "app",
      replica_server_name: "ag-1",
      is_local: true,
      synchronization_state_desc: "NOT SYNCHRONIZING",
      synchronization_health_desc: "NOT_HEALTHY",
      database_state_desc: null,
      is_suspended: false,
      log_send_queue_size: "0",
      redo_queue_size: "12",
    });
    expect(d.synchronizationState).to.equal("NOT SYNCHRONIZING");
    expect(d.redoQueueKb).to.equal(12);
  });

  it("lower-cases diagnostics component names", () => {
    expect(mapDiagnosticsRow({ component_type: "instance", component_name: "System", state: 3, state_desc: "error" }).componentName).to.equal("system");
  });
});

describe("sql/errors classifySqlError", () => {
  const requestError = (number: number, message: string): Error => Object.assign(new Error(message), { code: "EREQUEST", number, class: 16, state: 1 });

  it("keeps the SQL error number of a single ERROR token", () => {
    const e = classifySqlError(requestError(sqlErrors.notSynchronized, "not synchronized"));
    expect(e).to.be.instanceOf(SqlQueryError);
    expect((e as SqlQueryError).number).to.equal(41142);
  });

  it("unwraps tedious AggregateError (several ERROR tokens) and keeps every number", () => {
    const agg = new AggregateError([requestError(41104, "a"), requestError(41160, "b")], "multiple");
    const e = classifySqlError(agg) as SqlQueryError;
    expect(e).to.be.instanceOf(SqlQueryError);
    expect(e.number).to.equal(41104);
    expect(e.has(41160)).to.equal(true);
  });

  it("classifies refused connections as the process being down", () => {
    const socket = Object.assign(new Error("Failed to connect"), { code: "ESOCKET", cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    const e = classifySqlError(socket) as SqlUnavailableError;
    expect(e).to.be.instanceOf(SqlUnavailableError);
    expect(e.reason).to.equal("refused");
  });

  it("classifies timeouts and failed logins", () => {
    expect((classifySqlError(Object.assign(new Error("t"), { code: "ETIMEOUT" })) as SqlUnavailableError).reason).to.equal("timeout");
    expect((classifySqlError(Object.assign(new Error("Login failed"), { code: "ELOGIN" })) as SqlUnavailableError).reason).to.equal("login");
  });
});
