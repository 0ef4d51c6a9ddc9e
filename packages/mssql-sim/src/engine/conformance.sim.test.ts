/**
 * Conformance suite through the real `tedious` driver over TCP (TLS inside PRELOGIN), organised by the sections of
 * tds-and-sqlserver.md Part B that each case encodes.
 */
import { expect } from "chai";
import { Request, type Connection } from "tedious";
import { connectTo, failure, run } from "./tedious-helpers.js";
import { X509Certificate } from "node:crypto";
import { SimCluster } from "../cluster.js";
import type { SqlInstance } from "../instance.js";
import { createAg, freePort, hex, provisionEndpoints, waitFor, type AgReplicaSpec } from "./provision.js";
import { scaleTimings } from "./timings.js";

const PASSWORD = "Sim-Passw0rd!";
const TIMINGS = { ...scaleTimings(0.02), sessionTimeoutScale: 30, joinConfigWaitMs: 5000, connectTimeoutMs: 1000, diagnosticsFirstResultMs: 20 };

function connect(instance: SqlInstance, overrides: { user?: string; password?: string; database?: string } = {}): Promise<Connection> {
  const login: { user?: string; password: string; database?: string } = { password: overrides.password ?? PASSWORD };
  if (overrides.user) login.user = overrides.user;
  if (overrides.database) login.database = overrides.database;
  return connectTo(instance.host, instance.port, login);
}

const scalar = async (c: Connection, sql: string): Promise<unknown> => (await run(c, sql)).sets[0]?.rows[0]?.[0];

describe("conformance through tedious (single instance)", function () {
  this.timeout(30000);
  let cluster: SimCluster;
  let sim: SqlInstance;
  let sa: Connection;

  before(async () => {
    cluster = new SimCluster({ saPassword: PASSWORD, timings: TIMINGS });
    sim = await cluster.add({ name: "SQLSIM-1", tls: "self-signed" });
    sa = await connect(sim);
  });
  after(async () => {
    sa.close();
    await cluster.close();
  });

  describe("B6.1 sessions and login", () => {
    it("bad password → ELOGIN with 18456 'Login failed for user'", async () => {
      const err = await failure(connect(sim, { password: "wrong" }));
      expect(err.code).to.equal("ELOGIN");
      expect(err.message).to.contain("Login failed for user 'sa'.");
    });
    it("unknown database → 4060", async () => {
      const err = await failure(connect(sim, { database: "nosuchdb" }));
      expect(err.message).to.contain('Cannot open database "nosuchdb"');
    });
    it("USE changes the database (ENVCHANGE) and sends INFO 5701", async () => {
      await run(sa, "IF NOT EXISTS (SELECT name FROM sys.databases WHERE name = N'usedb') CREATE DATABASE usedb");
      const out = await run(sa, "USE usedb");
      expect(out.databaseChanges).to.deep.equal(["usedb"]);
      expect(out.infos.map((i) => i.number)).to.include(5701);
      expect(await scalar(sa, "SELECT DB_NAME()")).to.equal("usedb");
      await run(sa, "USE master");
    });
  });

  describe("B2 scalars", () => {
    it("@@SERVERNAME is an unnamed nvarchar column; SERVERPROPERTY values are sql_variant", async () => {
      const out = await run(sa, "SELECT @@SERVERNAME; SELECT SERVERPROPERTY('IsHadrEnabled'), SERVERPROPERTY('HadrManagerStatus'), SERVERPROPERTY('ServerName'), SERVERPROPERTY('ProductMajorVersion'), SERVERPROPERTY('NoSuchProperty')");
      expect(out.sets[0]?.columns).to.deep.equal([""]);
      expect(out.sets[0]?.rows).to.deep.equal([["SQLSIM-1"]]);
      expect(out.sets[1]?.rows).to.deep.equal([[1, 1, "SQLSIM-1", "16", null]]);
      expect(await scalar(sa, "SELECT @@SPID")).to.be.a("number");
    });
    it("SESSION_CONTEXT after sp_set_session_context (EXEC form), scoped to the session", async () => {
      await run(sa, "EXEC sp_set_session_context @key = N'external_cluster', @value = N'yes'");
      expect(await scalar(sa, "SELECT SESSION_CONTEXT(N'external_cluster')")).to.equal("yes");
      const other = await connect(sim);
      expect(await scalar(other, "SELECT SESSION_CONTEXT(N'external_cluster')")).to.equal(null);
      other.close();
    });
  });

  describe("B4 certificates, endpoints, logins", () => {
    it("CREATE CERTIFICATE needs a master key (15581); duplicates 15578/15232; CERTENCODED is a DER certificate", async () => {
      const noKey = await failure(run(sa, "CREATE CERTIFICATE c0 WITH SUBJECT = 'x'"));
      expect(noKey.number).to.equal(15581);
      await run(sa, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk-Passw0rd1'");
      expect((await failure(run(sa, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk-Passw0rd1'"))).number).to.equal(15578);
      await run(sa, "CREATE CERTIFICATE [dbm_certificate] WITH SUBJECT = 'dbm'");
      expect((await failure(run(sa, "CREATE CERTIFICATE [dbm_certificate] WITH SUBJECT = 'dbm'"))).number).to.equal(15232);
      const der = (await scalar(sa, "SELECT CERTENCODED(CERT_ID('dbm_certificate'))")) as Buffer;
      expect(new X509Certificate(der).subject).to.contain("CN=dbm");
      expect(await scalar(sa, "SELECT COUNT(*) FROM sys.symmetric_keys WHERE name = '##MS_DatabaseMasterKey##'")).to.equal(1);
      expect(await scalar(sa, "SELECT pvt_key_encryption_type_desc FROM sys.certificates WHERE name = N'dbm_certificate'")).to.equal("ENCRYPTED_BY_MASTER_KEY");
    });
    it("CREATE CERTIFICATE FROM BINARY … WITH PRIVATE KEY: wrong password fails, right one imports (same thumbprint twice → 15232)", async () => {
      const row = (await run(sa, "SELECT CERTENCODED(CERT_ID('dbm_certificate')), CERTPRIVATEKEY(CERT_ID('dbm_certificate'), 'Export-Passw0rd')")).sets[0]?.rows[0] ?? [];
      const sql = (password: string, name: string) =>
        `CREATE CERTIFICATE [${name}] FROM BINARY = ${hex(row[0] as Buffer)} WITH PRIVATE KEY (BINARY = ${hex(row[1] as Buffer)}, DECRYPTION BY PASSWORD = '${password}')`;
      expect((await failure(run(sa, sql("wrong", "imported")))).number).to.equal(15466);
      expect((await failure(run(sa, sql("Export-Passw0rd", "imported")))).number).to.equal(15232);
    });
    it("CREATE ENDPOINT (DATA_MIRRORING synonym), 7862 for a second one, catalog views, STATE = STOPPED", async () => {
      const port = await freePort();
      await run(sa, `CREATE ENDPOINT [Hadr_endpoint] AS TCP (LISTENER_PORT = ${port}) FOR DATA_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [dbm_certificate], ENCRYPTION = REQUIRED ALGORITHM AES)`);
      expect((await failure(run(sa, `CREATE ENDPOINT [e2] AS TCP (LISTENER_PORT = ${port + 1}) FOR DATABASE_MIRRORING (ROLE = ALL)`))).number).to.equal(7862);
      const out = await run(sa, "SELECT e.state_desc, e.role_desc, e.connection_auth_desc, e.encryption_algorithm_desc, t.port FROM sys.database_mirroring_endpoints e JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id");
      expect(out.sets[0]?.rows).to.deep.equal([["STOPPED", "ALL", "CERTIFICATE", "AES", port]]);
      await run(sa, "ALTER ENDPOINT [Hadr_endpoint] STATE = STARTED");
      expect(await scalar(sa, "SELECT state_desc FROM sys.endpoints WHERE type_desc = 'DATABASE_MIRRORING'")).to.equal("STARTED");
    });
    it("CREATE LOGIN (15025 duplicate), CREATE USER, GRANT CONNECT / VIEW SERVER STATE; a SQL login can log in", async () => {
      await run(sa, "CREATE LOGIN [agent_login] WITH PASSWORD = 'Agent-Passw0rd1', CHECK_POLICY = OFF");
      expect((await failure(run(sa, "CREATE LOGIN [agent_login] WITH PASSWORD = 'x'"))).number).to.equal(15025);
      await run(sa, "CREATE USER [agent_user] FOR LOGIN [agent_login]; GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [agent_login]");
      const agent = await connect(sim, { user: "agent_login", password: "Agent-Passw0rd1" });
      const denied = await failure(run(agent, "SELECT COUNT(*) FROM sys.dm_hadr_availability_replica_states"));
      expect(denied.number).to.equal(300);
      await run(sa, "GRANT VIEW SERVER STATE TO [agent_login]");
      expect(await scalar(agent, "SELECT COUNT(*) FROM sys.dm_hadr_availability_replica_states")).to.equal(0);
      agent.close();
      expect(await scalar(sa, "SELECT permission_name FROM sys.server_permissions p JOIN sys.server_principals sp ON sp.principal_id = p.grantee_principal_id WHERE sp.name = N'agent_login' AND p.class_desc = 'ENDPOINT'")).to.equal("CONNECT");
    });
  });

  describe("B3 AG DDL errors (single instance)", () => {
    it("35208 outside master; 15151 for unknown AGs; 35237 without the local replica; 47102 for EXTERNAL without FAILOVER_MODE = EXTERNAL", async () => {
      await run(sa, "USE usedb");
      expect((await failure(run(sa, "ALTER AVAILABILITY GROUP [nope] OFFLINE"))).number).to.equal(35208);
      await run(sa, "USE master");
      expect((await failure(run(sa, "ALTER AVAILABILITY GROUP [nope] OFFLINE"))).number).to.equal(15151);
      expect((await failure(run(sa, "DROP AVAILABILITY GROUP [nope]"))).message).to.contain("Cannot drop the availability group 'nope'");
      const other = "CREATE AVAILABILITY GROUP [g] WITH (CLUSTER_TYPE = EXTERNAL) FOR REPLICA ON N'elsewhere' WITH (ENDPOINT_URL = N'TCP://elsewhere:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = EXTERNAL)";
      expect((await failure(run(sa, other))).number).to.equal(35237);
      const manual = "CREATE AVAILABILITY GROUP [g] WITH (CLUSTER_TYPE = EXTERNAL) FOR REPLICA ON N'SQLSIM-1' WITH (ENDPOINT_URL = N'TCP://sqlsim-1:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL)";
      expect((await failure(run(sa, manual))).number).to.equal(47102);
    });
    it("47116: SET (WRITE_LEASE_VALIDITY) on an AG created without the lease; sequence_number is a bigint (string in tedious)", async () => {
      await run(sa, "CREATE AVAILABILITY GROUP [nolease] WITH (CLUSTER_TYPE = EXTERNAL, DB_FAILOVER = ON) FOR REPLICA ON N'SQLSIM-1' WITH (ENDPOINT_URL = N'TCP://sqlsim-1:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = EXTERNAL, SEEDING_MODE = AUTOMATIC)");
      expect((await failure(run(sa, "ALTER AVAILABILITY GROUP [nolease] SET (WRITE_LEASE_VALIDITY = 30)"))).number).to.equal(47116);
      const out = await run(sa, "SELECT ag.sequence_number, ag.cluster_type_desc, ars.role_desc, ars.is_local FROM sys.availability_groups ag JOIN sys.dm_hadr_availability_replica_states ars ON ars.group_id = ag.group_id AND ars.is_local = 1 WHERE ag.name = N'nolease'");
      expect(out.sets[0]?.rows).to.deep.equal([["4294967297", "external", "PRIMARY", true]]);
      await run(sa, "GRANT ALTER, CONTROL, VIEW DEFINITION ON AVAILABILITY GROUP::[nolease] TO [agent_login]");
      const agent = await connect(sim, { user: "agent_login", password: "Agent-Passw0rd1" });
      expect(await scalar(agent, "SELECT COUNT(*) FROM sys.availability_groups WHERE name = N'nolease'")).to.equal(1);
      agent.close();
      await run(sa, "DROP AVAILABILITY GROUP [nolease]");
      expect(await scalar(sa, "SELECT COUNT(*) FROM sys.availability_groups")).to.equal(0);
    });
  });

  describe("B1 sp_server_diagnostics", () => {
    it("once: one result set with the documented columns and components; injected states show up", async () => {
      sim.setDiagnostics("system", "error");
      const out = await run(sa, "EXEC sp_server_diagnostics");
      expect(out.sets).to.have.length(1);
      expect(out.sets[0]?.columns).to.deep.equal(["create_time", "component_type", "component_name", "state", "state_desc", "data"]);
      const byName = Object.fromEntries((out.sets[0]?.rows ?? []).map((r) => [r[2], r]));
      expect(Object.keys(byName)).to.include.members(["system", "resource", "query_processing", "io_subsystem", "events"]);
      expect(byName.system?.[3]).to.equal(3);
      expect(byName.system?.[4]).to.equal("error");
      expect(byName.events?.[3]).to.equal(0);
      sim.setDiagnostics("system", "clean");
    });
    it("@repeat_interval 1–4 is an error; ≥ 5 streams a result set per interval until cancelled", async () => {
      expect((await failure(run(sa, "EXEC sp_server_diagnostics @repeat_interval = 3"))).class).to.equal(16);
      const sets = await new Promise<number>((resolve) => {
        let count = 0;
        const request = new Request("EXEC sp_server_diagnostics 5", () => resolve(count));
        request.on("columnMetadata", () => {
          count++;
          if (count === 3) sa.cancel();
        });
        sa.execSqlBatch(request);
      });
      expect(sets).to.equal(3);
      expect(await scalar(sa, "SELECT 1")).to.equal(1);
    });
  });

  describe("brief: anything not modelled fails loudly", () => {
    it("answers 'mssql-sim does not model: …' with class 16 and logs the statement", async () => {
      const err = await failure(run(sa, "UPDATE STATISTICS dbo.kv"));
      expect(err.message).to.match(/^mssql-sim does not model: UPDATE STATISTICS/);
      expect(err.class).to.equal(16);
      expect(sim.statementLog().some((s) => s.error === 50000 && s.text.startsWith("UPDATE STATISTICS"))).to.equal(true);
    });
    it("passwords never reach the statement log", () => {
      expect(sim.statementLog().some((s) => s.text.includes("Agent-Passw0rd1"))).to.equal(false);
    });
  });
});

describe("conformance through tedious (AG of two instances)", function () {
  this.timeout(30000);
  let cluster: SimCluster;
  let primary: Connection;
  let secondary: Connection;

  before(async () => {
    cluster = new SimCluster({ saPassword: PASSWORD, timings: TIMINGS });
    const replicas: AgReplicaSpec[] = [];
    for (const name of ["agsim-0", "agsim-1"]) {
      await cluster.add({ name, tls: "self-signed" });
      replicas.push({ name, endpointPort: await freePort() });
    }
    await provisionEndpoints(cluster, replicas);
    await createAg(cluster, { ag: "ag", replicas, database: "appdb", leaseSeconds: 600 });
    primary = await connect(cluster.get("agsim-0"));
    secondary = await connect(cluster.get("agsim-1"));
  });
  after(async () => {
    primary.close();
    secondary.close();
    await cluster.close();
  });

  it("workload: parameterised INSERT via sp_executesql, SELECT by key and COUNT(*) on both replicas", async () => {
    await run(primary, "USE appdb");
    await run(primary, "INSERT INTO kv (k, v) VALUES (@k, @v)", { k: "a", v: "1" });
    await run(primary, "INSERT INTO kv (k, v) VALUES (N'b', N'2')");
    expect((await failure(run(primary, "INSERT INTO kv (k, v) VALUES (@k, @v)", { k: "a", v: "dup" }))).number).to.equal(2627);
    expect((await run(primary, "SELECT v FROM kv WHERE k = @k", { k: "a" })).sets[0]?.rows).to.deep.equal([["1"]]);
    await run(secondary, "USE appdb");
    expect(await scalar(secondary, "SELECT COUNT(*) FROM kv")).to.equal(2);
    expect((await failure(run(secondary, "INSERT INTO kv (k, v) VALUES (N'c', N'3')"))).number).to.equal(3906);
    await run(primary, "USE master");
    await run(secondary, "USE master");
  });

  it("B2 DMV value fidelity: role rows per replica on the primary, only the local row on the secondary, bigint queues as strings", async () => {
    const onPrimary = await run(primary, "SELECT ar.replica_server_name, ars.role_desc, ars.connected_state_desc, ars.synchronization_health_desc FROM sys.dm_hadr_availability_replica_states ars JOIN sys.availability_replicas ar ON ar.replica_id = ars.replica_id ORDER BY ar.replica_server_name");
    expect(onPrimary.sets[0]?.rows).to.deep.equal([
      ["agsim-0", "PRIMARY", "CONNECTED", "HEALTHY"],
      ["agsim-1", "SECONDARY", "CONNECTED", "HEALTHY"],
    ]);
    expect(await scalar(secondary, "SELECT COUNT(*) FROM sys.dm_hadr_availability_replica_states")).to.equal(1);
    const drs = await run(primary, "SELECT synchronization_state_desc, log_send_queue_size, redo_queue_size, is_local FROM sys.dm_hadr_database_replica_states WHERE is_local = 0");
    expect(drs.sets[0]?.rows).to.deep.equal([["SYNCHRONIZED", "0", "0", false]]);
    const lease = await scalar(primary, "SELECT write_lease_remaining_ticks FROM sys.dm_hadr_availability_replica_states WHERE is_local = 1");
    expect(lease).to.be.a("string");
    expect(Number(lease)).to.be.greaterThan(0);
  });

  it("B3 pacemaker §1.1 shapes: the RSSTC idempotent batch and the sync-replica count", async () => {
    const rsstc = `DECLARE @num_ags INT; SELECT @num_ags = COUNT(*) FROM sys.availability_groups WHERE name = @ag AND required_synchronized_secondaries_to_commit = 0; IF @num_ags = 0 ALTER AVAILABILITY GROUP [ag] SET (REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT = 0)`;
    await run(primary, rsstc, { ag: "ag" });
    expect(await scalar(primary, "SELECT COUNT(*) FROM sys.availability_replicas ar JOIN sys.availability_groups ag ON ar.group_id = ag.group_id WHERE ag.name = N'ag' AND ar.availability_mode IN (1, 4)")).to.equal(2);
    const stopped = cluster.get("agsim-1");
    await stopped.crash();
    await waitFor("secondary seen as disconnected", async () => (await scalar(primary, "SELECT connected_state_desc FROM sys.dm_hadr_availability_replica_states WHERE is_local = 0")) === "DISCONNECTED");
    expect(await scalar(primary, "SELECT synchronization_state_desc FROM sys.dm_hadr_database_replica_states WHERE is_local = 0")).to.equal("NOT SYNCHRONIZING");
  });
});
