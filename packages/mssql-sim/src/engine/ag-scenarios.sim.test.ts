import { expect } from "chai";
import { overlappingWriters, SimCluster } from "../cluster.js";
import { DirectClient, DirectSqlError } from "./direct-client.js";
import { createAg, freePort, provisionEndpoints, roleOf, waitFor, type AgReplicaSpec } from "./provision.js";
import { scaleTimings } from "./timings.js";

const TIMINGS = { ...scaleTimings(0.02), sessionTimeoutScale: 30, commitWaitLimitMs: 600, earlyReconnectWindowMs: 400, joinConfigWaitMs: 5000, connectTimeoutMs: 1000 };
const log = process.env.SIMLOG ? (event: string, fields: Record<string, unknown>) => console.log(event, JSON.stringify(fields)) : undefined;

async function expectSqlError(promise: Promise<unknown>, number: number): Promise<DirectSqlError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(DirectSqlError);
    expect((err as DirectSqlError).number, (err as Error).message).to.equal(number);
    return err as DirectSqlError;
  }
  expect.fail(`expected SQL error ${number}`);
}

async function threeReplicaCluster(modes: AgReplicaSpec["mode"][] = ["SYNCHRONOUS_COMMIT", "SYNCHRONOUS_COMMIT", "SYNCHRONOUS_COMMIT"], agOptions: { leaseSeconds?: number; rsstc?: number } = {}) {
  const cluster = new SimCluster(log ? { timings: TIMINGS, tds: null, log } : { timings: TIMINGS, tds: null });
  const names = ["sqla", "sqlb", "sqlc"].slice(0, modes.length);
  const replicas: AgReplicaSpec[] = [];
  for (const [i, name] of names.entries()) {
    await cluster.add({ name });
    const spec: AgReplicaSpec = { name, endpointPort: await freePort() };
    const mode = modes[i];
    if (mode) spec.mode = mode;
    replicas.push(spec);
  }
  await provisionEndpoints(cluster, replicas);
  await createAg(cluster, { ag: "ag1", replicas, database: "appdb", ...agOptions });
  const clients = Object.fromEntries(names.map((n) => [n, new DirectClient(cluster.get(n))])) as Record<string, DirectClient>;
  return { cluster, replicas, clients };
}

describe("AG scenarios (multi-instance, endpoint links over TCP)", function () {
  this.timeout(30000);
  let cluster: SimCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it("B3 CREATE/JOIN/ADD DATABASE: three replicas synchronize and writes replicate", async () => {
    const setup = await threeReplicaCluster();
    cluster = setup.cluster;
    const { sqla, sqlb } = setup.clients as Record<string, DirectClient>;
    expect(await roleOf(sqla!, "ag1")).to.equal("PRIMARY");
    expect(await roleOf(sqlb!, "ag1")).to.equal("SECONDARY");
    await sqla!.execSql("USE appdb; INSERT INTO kv (k, v) VALUES (@k, @v)", { k: "key1", v: "value1" });
    expect(cluster.committedKeys("sqlb", "appdb")).to.deep.equal(["key1"]);
    expect(cluster.committedKeys("sqlc", "appdb")).to.deep.equal(["key1"]);
    const read = await sqlb!.query("USE appdb; SELECT v FROM kv WHERE k = N'key1'");
    expect(read.recordsets[0]?.rows).to.deep.equal([["value1"]]);
    await expectSqlError(sqlb!.query("USE appdb; INSERT INTO kv (k, v) VALUES (N'x', N'y')"), 3906);
    expect(cluster.writableNow()).to.deep.equal([{ instance: "sqla", ag: "ag1" }]);
  });

  const FAILOVER = "EXEC sp_set_session_context @key = N'external_cluster', @value = N'yes'; ALTER AVAILABILITY GROUP [ag1] FAILOVER";
  const FORCE = "EXEC sp_set_session_context @key = N'external_cluster', @value = N'yes'; ALTER AVAILABILITY GROUP [ag1] FORCE_FAILOVER_ALLOW_DATA_LOSS";
  const put = (client: DirectClient, k: string) => client.execSql("USE appdb; INSERT INTO kv (k, v) VALUES (@k, @v)", { k, v: `v-${k}` });
  const syncStates = async (client: DirectClient) =>
    Object.fromEntries(
      (await client.rows("SELECT ar.replica_server_name, drs.synchronization_state_desc FROM sys.dm_hadr_database_replica_states drs JOIN sys.availability_replicas ar ON ar.replica_id = drs.replica_id WHERE drs.is_local = 0")).map((r) => [
        r.replica_server_name,
        r.synchronization_state_desc,
      ]),
    );

  it("B5 synchronous commit: the write is acknowledged only after the sync secondary hardened it, or after session_timeout dropped it", async () => {
    const setup = await threeReplicaCluster();
    cluster = setup.cluster;
    const { sqla } = setup.clients as Record<string, DirectClient>;
    cluster.partition("sqla", "sqlb");
    let settled = false;
    const write = put(sqla!, "during-partition").then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(settled, "commit must wait for the silent synchronous secondary").to.equal(false);
    await write;
    expect((await syncStates(sqla!)).sqlb).to.equal("NOT SYNCHRONIZING");
    expect(cluster.committedKeys("sqlc", "appdb")).to.include("during-partition");
    expect(cluster.committedKeys("sqlb", "appdb")).to.not.include("during-partition");
    cluster.heal("sqla", "sqlb");
    await waitFor("sqlb resynchronized", async () => (await syncStates(sqla!)).sqlb === "SYNCHRONIZED");
    expect(cluster.committedKeys("sqlb", "appdb")).to.include("during-partition");
  });

  it("B3 FAILOVER: needs the external_cluster session context (47104); after a primary crash a synchronized secondary takes over and the others follow", async () => {
    const setup = await threeReplicaCluster();
    cluster = setup.cluster;
    const { sqla, sqlb, sqlc } = setup.clients as Record<string, DirectClient>;
    await put(sqla!, "before-crash");
    await expectSqlError(sqlb!.query("ALTER AVAILABILITY GROUP [ag1] FAILOVER"), 47104);
    await expectSqlError(sqla!.query(FAILOVER), 41122);
    await cluster.crash("sqla");
    await sqlb!.query(FAILOVER);
    await waitFor("sqlb primary", async () => (await roleOf(sqlb!, "ag1")) === "PRIMARY");
    await put(sqlb!, "after-failover");
    await waitFor("sqlc follows the new primary", () => cluster!.committedKeys("sqlc", "appdb").includes("after-failover"));
    expect(cluster.committedKeys("sqlb", "appdb")).to.include("before-crash");
    expect(cluster.writableNow()).to.deep.equal([{ instance: "sqlb", ag: "ag1" }]);
    const seqB = await sqlb!.scalar("SELECT sequence_number FROM sys.availability_groups WHERE name = N'ag1'");
    await waitFor("sqlc has the newest configuration", async () => (await sqlc!.scalar("SELECT sequence_number FROM sys.availability_groups WHERE name = N'ag1'")) === seqB);
  });

  it("B3 FAILOVER: 41142 on a secondary whose database was not synchronized when the primary was lost", async () => {
    const setup = await threeReplicaCluster();
    cluster = setup.cluster;
    const { sqla, sqlc } = setup.clients as Record<string, DirectClient>;
    await sqlc!.query("ALTER DATABASE [appdb] SET HADR SUSPEND");
    await put(sqla!, "sqlc-misses-this");
    await waitFor("sqlc unsynchronized", async () => (await syncStates(sqla!)).sqlc === "NOT SYNCHRONIZING");
    await cluster.crash("sqla");
    await expectSqlError(sqlc!.query(FAILOVER), 41142);
    expect(await roleOf(sqlc!, "ag1")).to.equal("SECONDARY");
  });

  it("B3 FORCE_FAILOVER_ALLOW_DATA_LOSS: the async target loses what it had not hardened; other databases suspend until RESUME", async () => {
    const setup = await threeReplicaCluster(["SYNCHRONOUS_COMMIT", "SYNCHRONOUS_COMMIT", "ASYNCHRONOUS_COMMIT"]);
    cluster = setup.cluster;
    cluster.setQuirks({ latch41104: false, bilateralTransportCache: false });
    const { sqla, sqlb, sqlc } = setup.clients as Record<string, DirectClient>;
    await put(sqla!, "everyone-has-this");
    await waitFor("async got it", () => cluster!.committedKeys("sqlc", "appdb").includes("everyone-has-this"));
    cluster.partition("sqla", "sqlc");
    await put(sqla!, "lost-on-sqlc");
    await cluster.crash("sqla");
    await expectSqlError(sqlc!.query(FAILOVER), 41142);
    await sqlc!.query(FORCE);
    await waitFor("sqlc primary", async () => (await roleOf(sqlc!, "ag1")) === "PRIMARY");
    expect(cluster.committedKeys("sqlc", "appdb")).to.deep.equal(["everyone-has-this"]);
    await put(sqlc!, "after-force");
    await waitFor("sqlb suspended from partner", async () => (await sqlb!.rows("SELECT is_suspended, suspend_reason_desc FROM sys.dm_hadr_database_replica_states WHERE is_local = 1"))[0]?.suspend_reason_desc === "SUSPEND_FROM_PARTNER");
    await sqlb!.query("ALTER DATABASE [appdb] SET HADR RESUME");
    await waitFor("sqlb reverted to the new primary's log", () => {
      const keys = cluster!.committedKeys("sqlb", "appdb");
      return keys.includes("after-force") && !keys.includes("lost-on-sqlc");
    });
  });

  it("B3 external write lease: writes stop when the lease expires, the role stays PRIMARY, renewal resumes writes (47119, 47116)", async () => {
    const setup = await threeReplicaCluster(["SYNCHRONOUS_COMMIT", "SYNCHRONOUS_COMMIT"], { leaseSeconds: 5 });
    cluster = setup.cluster;
    const { sqla } = setup.clients as Record<string, DirectClient>;
    await sqla!.query("ALTER AVAILABILITY GROUP [ag1] SET (WRITE_LEASE_VALIDITY = 20)");
    await put(sqla!, "within-lease");
    await expectSqlError(sqla!.query("ALTER AVAILABILITY GROUP [ag1] SET (WRITE_LEASE_VALIDITY = 5)"), 47119);
    await waitFor("lease expired", async () => {
      try {
        await put(sqla!, `probe-${Date.now()}`);
        return false;
      } catch (err) {
        return (err as DirectSqlError).number === 983;
      }
    });
    expect(await roleOf(sqla!, "ag1")).to.equal("PRIMARY");
    expect(await sqla!.scalar("SELECT write_lease_remaining_ticks FROM sys.dm_hadr_availability_replica_states WHERE is_local = 1")).to.equal(0n);
    expect(cluster.writableNow()).to.deep.equal([]);
    await sqla!.query("ALTER AVAILABILITY GROUP [ag1] SET (WRITE_LEASE_VALIDITY = 20)");
    await put(sqla!, "after-renewal");
  });

  it("B5 REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT: commits fail when fewer synchronized secondaries acknowledge", async () => {
    const setup = await threeReplicaCluster(undefined, { rsstc: 1 });
    cluster = setup.cluster;
    const { sqla } = setup.clients as Record<string, DirectClient>;
    await cluster.crash("sqlb");
    await put(sqla!, "one-secondary-is-enough");
    await cluster.crash("sqlc");
    await waitFor("both dropped", async () => Object.values(await syncStates(sqla!)).every((s) => s === "NOT SYNCHRONIZING"));
    await expectSqlError(put(sqla!, "needs-one-ack"), 50001);
    await sqla!.query("ALTER AVAILABILITY GROUP [ag1] SET (REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT = 0)");
    await put(sqla!, "alone-with-rsstc-0");
  });

  it("pacemaker §3.3/§4.4 configuration-only replica: joins, carries sequence_number, and its absence leaves the configuration commit pending", async () => {
    const setup = await threeReplicaCluster(["SYNCHRONOUS_COMMIT", "SYNCHRONOUS_COMMIT", "CONFIGURATION_ONLY"]);
    cluster = setup.cluster;
    const { sqla, sqlc } = setup.clients as Record<string, DirectClient>;
    const seqA = await sqla!.scalar("SELECT sequence_number FROM sys.availability_groups WHERE name = N'ag1'");
    await waitFor("config-only replica has the sequence number", async () => (await sqlc!.scalar("SELECT sequence_number FROM sys.availability_groups")) === seqA);
    await expectSqlError(sqlc!.query("ALTER AVAILABILITY GROUP [ag1] GRANT CREATE ANY DATABASE"), 47111);
    const commitStart = "SELECT current_configuration_commit_start_time_utc FROM sys.dm_hadr_availability_replica_states WHERE is_local = 1";
    expect(await sqla!.scalar(commitStart)).to.equal(null);
    await cluster.crash("sqlc");
    await cluster.crash("sqlb");
    await waitFor("configuration change stuck without quorum", async () => (await sqla!.scalar(commitStart)) instanceof Date);
    await cluster.start("sqlc");
    await waitFor("quorum restored by the witness", async () => (await sqla!.scalar(commitStart)) === null);
  });

  it("peer-operator LESSONS L13/L15: the 41104 latch after a too-early reconnect, cleared by restarting both endpoints", async () => {
    const setup = await threeReplicaCluster(["SYNCHRONOUS_COMMIT", "SYNCHRONOUS_COMMIT"]);
    cluster = setup.cluster;
    cluster.setTimings({ earlyReconnectWindowMs: 60000 });
    const { sqlb } = setup.clients as Record<string, DirectClient>;
    await cluster.crash("sqla");
    await sqlb!.query(FAILOVER);
    await waitFor("sqlb primary", async () => (await roleOf(sqlb!, "ag1")) === "PRIMARY");
    await cluster.start("sqla");
    const sqla = new DirectClient(cluster.get("sqla"));
    await waitFor("latched", () => cluster!.get("sqla").model?.ags.get("ag1")?.latch41104);
    await expectSqlError(sqla.query("ALTER AVAILABILITY GROUP [ag1] SET (ROLE = SECONDARY)"), 41104);
    expect(await roleOf(sqla, "ag1")).to.equal("RESOLVING");
    await sqla.query("ALTER ENDPOINT [Hadr_endpoint] STATE = STOPPED; ALTER ENDPOINT [Hadr_endpoint] STATE = STARTED");
    await sqla.query("ALTER AVAILABILITY GROUP [ag1] SET (ROLE = SECONDARY)");
    await waitFor("sqla secondary", async () => (await roleOf(sqla, "ag1")) === "SECONDARY");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await syncStates(sqlb!)).sqla, "one-sided restart leaves the transport stale").to.equal("NOT SYNCHRONIZING");
    await sqlb!.query("ALTER ENDPOINT [Hadr_endpoint] STATE = STOPPED; ALTER ENDPOINT [Hadr_endpoint] STATE = STARTED");
    await waitFor("sqla synchronized after the bilateral restart", async () => (await syncStates(sqlb!)).sqla === "SYNCHRONIZED");
  });

  it("B2 sys.dm_hadr_automatic_seeding: one completed row per seeded secondary on the primary", async () => {
    const setup = await threeReplicaCluster();
    cluster = setup.cluster;
    const rows = await (setup.clients.sqla as DirectClient).rows("SELECT current_state, performed_seeding, completion_time FROM sys.dm_hadr_automatic_seeding");
    expect(rows).to.have.length(2);
    for (const row of rows) {
      expect(row.current_state).to.equal("COMPLETED");
      expect(row.performed_seeding).to.equal(true);
      expect(row.completion_time).to.be.instanceOf(Date);
    }
  });

  it("frozen primary (SIGSTOP): secondaries see silence, one takes over, the thawed old primary keeps PRIMARY but cannot write; never two writers", async () => {
    const setup = await threeReplicaCluster(undefined, { leaseSeconds: 10 });
    cluster = setup.cluster;
    cluster.setQuirks({ latch41104: false, bilateralTransportCache: false });
    const { sqla, sqlb } = setup.clients as Record<string, DirectClient>;
    await sqla!.query("ALTER AVAILABILITY GROUP [ag1] SET (WRITE_LEASE_VALIDITY = 10)");
    await put(sqla!, "before-freeze");
    cluster.freeze("sqla");
    await waitFor("sqlb lost the primary", () => !cluster!.get("sqlb").model?.ags.get("ag1")?.upstream);
    await new Promise((resolve) => setTimeout(resolve, 250)); // let the old primary's lease (10 s × 0.02) lapse before promoting
    await sqlb!.query("ALTER AVAILABILITY GROUP [ag1] SET (WRITE_LEASE_VALIDITY = 10)");
    await sqlb!.query(FAILOVER);
    await waitFor("sqlb primary", async () => (await roleOf(sqlb!, "ag1")) === "PRIMARY");
    await put(sqlb!, "after-failover");
    cluster.thaw("sqla");
    await expectSqlError(put(sqla!, "split-brain-attempt"), 983);
    expect(await roleOf(sqla!, "ag1")).to.equal("PRIMARY");
    await sqla!.query("ALTER AVAILABILITY GROUP [ag1] OFFLINE");
    await waitFor("sqla resolving", async () => (await roleOf(sqla!, "ag1")) === "RESOLVING");
    await sqla!.query("ALTER AVAILABILITY GROUP [ag1] SET (ROLE = SECONDARY)");
    await waitFor("sqla follows sqlb", () => cluster!.committedKeys("sqla", "appdb").includes("after-failover"));
    expect(cluster.committedKeys("sqla", "appdb")).to.not.include("split-brain-attempt");
    expect(overlappingWriters(cluster.writableIntervals(), Date.now())).to.deep.equal([]);
  });

  it("B3 FAILOVER: a former primary taken OFFLINE (Pacemaker stop) can be promoted again: it holds the newest copy, no 41142", async () => {
    const setup = await threeReplicaCluster();
    cluster = setup.cluster;
    const { sqla } = setup.clients as Record<string, DirectClient>;
    await put(sqla!, "before-stop");
    await sqla!.query("ALTER AVAILABILITY GROUP [ag1] OFFLINE");
    await waitFor("sqla resolving", async () => (await roleOf(sqla!, "ag1")) === "RESOLVING");
    await sqla!.query(FAILOVER);
    await waitFor("sqla primary again", async () => (await roleOf(sqla!, "ag1")) === "PRIMARY");
    await put(sqla!, "after-promotion");
    expect(cluster.committedKeys("sqla", "appdb")).to.include.members(["before-stop", "after-promotion"]);
  });

  it("persistence: a restarted replica keeps its data, comes back RESOLVING, and rejoins with SET (ROLE = SECONDARY)", async () => {
    const setup = await threeReplicaCluster();
    cluster = setup.cluster;
    cluster.setQuirks({ latch41104: false, bilateralTransportCache: false });
    const { sqla } = setup.clients as Record<string, DirectClient>;
    await put(sqla!, "k1");
    await cluster.restart("sqlb");
    const sqlb = new DirectClient(cluster.get("sqlb"));
    expect(cluster.committedKeys("sqlb", "appdb")).to.deep.equal(["k1"]);
    expect(await roleOf(sqlb, "ag1")).to.equal("RESOLVING");
    await expectSqlError(sqlb.query("SELECT COUNT(*) FROM appdb.dbo.kv"), 983);
    await sqlb.query("ALTER AVAILABILITY GROUP [ag1] SET (ROLE = SECONDARY)");
    await put(sqla!, "k2");
    await waitFor("sqlb catches up", () => cluster!.committedKeys("sqlb", "appdb").includes("k2"));
    await cluster.restart("sqla");
    expect(await roleOf(sqla!, "ag1")).to.equal("RESOLVING");
    await expectSqlError(put(sqla!, "k3"), 983);
    expect(cluster.writableNow()).to.deep.equal([]);
  });

  it("B3 planned FAILOVER with the primary alive: roles swap without data loss and the old primary follows as SECONDARY", async () => {
    const setup = await threeReplicaCluster();
    cluster = setup.cluster;
    cluster.setQuirks({ latch41104: false, bilateralTransportCache: false });
    const { sqla, sqlb } = setup.clients as Record<string, DirectClient>;
    await put(sqla!, "before-switchover");
    await sqlb!.query(FAILOVER);
    await waitFor("roles swapped", async () => (await roleOf(sqlb!, "ag1")) === "PRIMARY" && (await roleOf(sqla!, "ag1")) === "SECONDARY");
    await put(sqlb!, "after-switchover");
    await waitFor("old primary follows", () => cluster!.committedKeys("sqla", "appdb").includes("after-switchover"));
    await expectSqlError(put(sqla!, "on-old-primary"), 3906);
    expect(overlappingWriters(cluster.writableIntervals(), Date.now())).to.deep.equal([]);
  });

  it("B3 ADD REPLICA / REMOVE REPLICA: a new replica joins and is seeded; a removed one leaves with its database RESTORING", async () => {
    const setup = await threeReplicaCluster(["SYNCHRONOUS_COMMIT", "SYNCHRONOUS_COMMIT"]);
    cluster = setup.cluster;
    const { sqla } = setup.clients as Record<string, DirectClient>;
    await cluster.add({ name: "sqld" });
    const d: AgReplicaSpec = { name: "sqld", endpointPort: await freePort() };
    const sqld = new DirectClient(cluster.get("sqld"));
    const exported = await sqla!.query("SELECT CERTENCODED(CERT_ID('dbm_certificate')), CERTPRIVATEKEY(CERT_ID('dbm_certificate'), 'X-Passw0rd1')");
    const [der, key] = exported.recordsets[0]?.rows[0] ?? [];
    await sqld.query(`CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk-Passw0rd1'; CREATE CERTIFICATE [dbm_certificate] FROM BINARY = 0x${(der as Buffer).toString("hex")} WITH PRIVATE KEY (BINARY = 0x${(key as Buffer).toString("hex")}, DECRYPTION BY PASSWORD = 'X-Passw0rd1')`);
    await sqld.query(`CREATE LOGIN [dbm_login] WITH PASSWORD = 'Lg-Passw0rd1'; CREATE ENDPOINT [Hadr_endpoint] STATE = STARTED AS TCP (LISTENER_PORT = ${d.endpointPort}) FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [dbm_certificate], ENCRYPTION = REQUIRED ALGORITHM AES); GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [dbm_login]`);
    await expectSqlError(sqla!.query(`ALTER AVAILABILITY GROUP [ag1] ADD REPLICA ON N'sqlb' WITH (ENDPOINT_URL = N'TCP://sqlb:1', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = EXTERNAL)`), 35282);
    await sqla!.query(`ALTER AVAILABILITY GROUP [ag1] ADD REPLICA ON N'sqld' WITH (ENDPOINT_URL = N'TCP://sqld:${d.endpointPort}', AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = EXTERNAL, SEEDING_MODE = AUTOMATIC)`);
    await sqld.query("ALTER AVAILABILITY GROUP [ag1] JOIN WITH (CLUSTER_TYPE = EXTERNAL)");
    await put(sqla!, "before-grant");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cluster.committedKeys("sqld", "appdb"), "no seeding before GRANT CREATE ANY DATABASE").to.deep.equal([]);
    await sqld.query("ALTER AVAILABILITY GROUP [ag1] GRANT CREATE ANY DATABASE");
    await waitFor("seeded after the grant", () => cluster!.committedKeys("sqld", "appdb").includes("before-grant"));
    await expectSqlError(sqla!.query("ALTER AVAILABILITY GROUP [ag1] REMOVE REPLICA ON N'sqla'"), 35284);
    await sqla!.query("ALTER AVAILABILITY GROUP [ag1] REMOVE REPLICA ON N'sqld'");
    await waitFor("sqld left the AG", async () => (await sqld.scalar("SELECT COUNT(*) FROM sys.availability_groups")) === 0);
    expect(await sqld.scalar("SELECT state_desc FROM sys.databases WHERE name = N'appdb'")).to.equal("RESTORING");
  });

  it("B4: without CONNECT on the secondary's endpoint the primary cannot deliver the configuration (JOIN 47106, DISCONNECTED)", async () => {
    cluster = new SimCluster(log ? { timings: TIMINGS, tds: null, log } : { timings: TIMINGS, tds: null });
    const replicas: AgReplicaSpec[] = [];
    for (const name of ["sqla", "sqlb"]) {
      await cluster.add({ name });
      replicas.push({ name, endpointPort: await freePort() });
    }
    await provisionEndpoints(cluster, replicas);
    const sqlb = new DirectClient(cluster.get("sqlb"));
    await sqlb.query("DENY CONNECT ON ENDPOINT::[Hadr_endpoint] TO [dbm_login]");
    cluster.setTimings({ joinConfigWaitMs: 300 });
    const sqla = new DirectClient(cluster.get("sqla"));
    await sqla.query(`CREATE AVAILABILITY GROUP [ag1] WITH (CLUSTER_TYPE = EXTERNAL) FOR REPLICA ON ${replicas.map((r) => `N'${r.name}' WITH (ENDPOINT_URL = N'TCP://${r.name}:${r.endpointPort}', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = EXTERNAL, SEEDING_MODE = AUTOMATIC)`).join(", ")}`);
    await expectSqlError(sqlb.query("ALTER AVAILABILITY GROUP [ag1] JOIN WITH (CLUSTER_TYPE = EXTERNAL)"), 47106);
    const remote = await sqla.rows("SELECT connected_state_desc, last_connect_error_number FROM sys.dm_hadr_availability_replica_states WHERE is_local = 0");
    expect(remote[0]?.connected_state_desc).to.equal("DISCONNECTED");
    expect(remote[0]?.last_connect_error_number).to.be.a("number");
    await sqlb.query("GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [dbm_login]");
    cluster.setTimings({ joinConfigWaitMs: 5000 });
    await sqlb.query("ALTER AVAILABILITY GROUP [ag1] JOIN WITH (CLUSTER_TYPE = EXTERNAL)");
    expect(await roleOf(sqlb, "ag1")).to.equal("SECONDARY");
  });
});
