/**
 * Two `mssql-sim serve` processes form an AG: replication crosses process boundaries over the endpoint links,
 * the admin HTTP API partitions/heals and reports ground truth, SIGSTOP/SIGCONT freezes a process for real,
 * and SIGTERM exits cleanly (brief: Architecture of the simulator; Administration).
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Connection } from "tedious";
import { freePort, hex, waitFor } from "../engine/provision.js";
import { connectTo, run } from "../engine/tedious-helpers.js";
import { AdminClient } from "./client.js";

const PASSWORD = "Mp-Passw0rd!";
const CLI = fileURLToPath(new URL("../cli.js", import.meta.url));

interface Served {
  name: string;
  child: ChildProcess;
  port: number;
  admin: AdminClient;
  lines: string[];
  exited: Promise<number | null>;
}

async function serve(name: string, hosts: string): Promise<Served> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `mssql-sim-mp-${name}-`));
  const child = spawn(process.execPath, [CLI, "serve", "--name", name, "--port", String(port), "--sa-password", PASSWORD, "--data-dir", dataDir, "--tls-self-signed", "--timings-scale", "0.02", "--hosts", hosts], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const serving = await waitFor("serve ready", () => lines.find((l) => l.includes('"event":"serving"')), 20000);
  const adminPort = (JSON.parse(serving) as { adminPort: number }).adminPort;
  return { name, child, port, admin: new AdminClient(`127.0.0.1:${adminPort}`), lines, exited };
}

describe("multi-process: two mssql-sim serve processes form an AG", function () {
  this.timeout(60000);
  const procs: Served[] = [];
  const connections: Connection[] = [];

  after(async () => {
    for (const c of connections) c.close();
    for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
  });

  it("replicates across processes, partitions and heals through the admin API, freezes with SIGSTOP, exits on SIGTERM", async () => {
    const hosts = "mp-0=127.0.0.1,mp-1=127.0.0.1";
    procs.push(await serve("mp-0", hosts), await serve("mp-1", hosts));
    const [p0, p1] = procs as [Served, Served];
    const c0 = await connectTo("127.0.0.1", p0.port, { password: PASSWORD });
    const c1 = await connectTo("127.0.0.1", p1.port, { password: PASSWORD });
    connections.push(c0, c1);
    const [e0, e1] = [await freePort(), await freePort()];

    await run(c0, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk-Passw0rd1'; CREATE CERTIFICATE [dbm] WITH SUBJECT = 'dbm'");
    const exported = (await run(c0, "SELECT CERTENCODED(CERT_ID('dbm')), CERTPRIVATEKEY(CERT_ID('dbm'), 'Ex-Passw0rd1')")).sets[0]?.rows[0] ?? [];
    await run(c1, `CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk-Passw0rd1'; CREATE CERTIFICATE [dbm] FROM BINARY = ${hex(exported[0] as Buffer)} WITH PRIVATE KEY (BINARY = ${hex(exported[1] as Buffer)}, DECRYPTION BY PASSWORD = 'Ex-Passw0rd1')`);
    for (const [c, port] of [[c0, e0], [c1, e1]] as [Connection, number][]) {
      await run(c, `CREATE LOGIN [dbm_login] WITH PASSWORD = 'Lg-Passw0rd1'; CREATE USER [dbm_user] FOR LOGIN [dbm_login];
        CREATE ENDPOINT [Hadr_endpoint] STATE = STARTED AS TCP (LISTENER_PORT = ${port}) FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [dbm], ENCRYPTION = REQUIRED ALGORITHM AES);
        GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [dbm_login]`);
    }
    const replica = (name: string, port: number) =>
      `N'${name}' WITH (ENDPOINT_URL = N'TCP://${name}.mp-headless.default.svc.cluster.local:${port}', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = EXTERNAL, SEEDING_MODE = AUTOMATIC, SECONDARY_ROLE (ALLOW_CONNECTIONS = ALL))`;
    await run(c0, `CREATE AVAILABILITY GROUP [mpag] WITH (CLUSTER_TYPE = EXTERNAL, DB_FAILOVER = ON) FOR REPLICA ON ${replica("mp-0", e0)}, ${replica("mp-1", e1)}`);
    await run(c1, "ALTER AVAILABILITY GROUP [mpag] JOIN WITH (CLUSTER_TYPE = EXTERNAL); ALTER AVAILABILITY GROUP [mpag] GRANT CREATE ANY DATABASE");
    await run(c0, "CREATE DATABASE appdb; ALTER DATABASE appdb SET RECOVERY FULL; BACKUP DATABASE appdb TO DISK = 'NUL'");
    await run(c0, "USE appdb; CREATE TABLE kv (k nvarchar(64) PRIMARY KEY, v nvarchar(4000)); USE master; ALTER AVAILABILITY GROUP [mpag] ADD DATABASE appdb");
    const secondaryState = async () => (await run(c0, "SELECT synchronization_state_desc FROM master.sys.dm_hadr_database_replica_states WHERE is_local = 0")).sets[0]?.rows[0]?.[0];
    await waitFor("secondary synchronized", async () => (await secondaryState()) === "SYNCHRONIZED", 20000);

    await run(c0, "USE appdb");
    await run(c0, "INSERT INTO kv (k, v) VALUES (@k, @v)", { k: "cross-process", v: "1" });
    expect((await p1.admin.committedKeys("mp-1", "appdb")).keys).to.deep.equal(["cross-process"]);
    expect((await p0.admin.writableNow()).writable).to.deep.equal([{ instance: "mp-0", ag: "mpag" }]);

    await p0.admin.partition("mp-0", "mp-1");
    await p1.admin.partition("mp-1", "mp-0");
    await run(c0, "INSERT INTO kv (k, v) VALUES (@k, @v)", { k: "while-partitioned", v: "2" });
    expect((await p1.admin.committedKeys("mp-1", "appdb")).keys).to.not.include("while-partitioned");
    await p0.admin.heal("mp-0", "mp-1");
    await p1.admin.heal("mp-1", "mp-0");
    await waitFor("healed link catches up", async () => (await p1.admin.committedKeys("mp-1", "appdb")).keys.includes("while-partitioned"), 20000);

    const localConnected = async () => (await run(c1, "SELECT connected_state_desc FROM sys.dm_hadr_availability_replica_states WHERE is_local = 1")).sets[0]?.rows[0]?.[0];
    p0.child.kill("SIGSTOP");
    await waitFor("secondary notices the frozen primary", async () => (await localConnected()) === "DISCONNECTED", 20000);
    p0.child.kill("SIGCONT");
    await waitFor("reconnected after SIGCONT", async () => (await localConnected()) === "CONNECTED", 20000);

    for (const p of procs) p.child.kill("SIGTERM");
    expect(await Promise.all(procs.map((p) => p.exited))).to.deep.equal([0, 0]);
    expect(p0.lines.some((l) => l.includes('"event":"exited"'))).to.equal(true);
    for (const line of p0.lines) expect(() => JSON.parse(line), line).to.not.throw();
  });
});
