/**
 * Scenario helpers shared by the sim-tier tests and the benchmark: provision a shared-certificate AG exactly as
 * ARCHITECTURE §4.6 (Microsoft's Linux procedure, file-free variant) describes, over in-process clients.
 */
import { createServer } from "node:net";
import type { SqlValue } from "../tds/engine-port.js";
import type { SimCluster } from "../cluster.js";
import { DirectClient } from "./direct-client.js";

/**
 * Ports are drawn from below Linux's default ephemeral range (32768–60999): a port the OS hands out with
 * `listen(0)` is an ephemeral one, and any outgoing connection of a parallel test may take it between this probe
 * and the caller's own bind (seen as EADDRINUSE on a loaded machine). Below the range only another listener can
 * collide, which the probe rules out and the random draw makes unlikely between concurrent callers.
 */
const UNEPHEMERAL_PORT_RANGE = { low: 20000, high: 32767 } as const;

export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = UNEPHEMERAL_PORT_RANGE.low + Math.floor(Math.random() * (UNEPHEMERAL_PORT_RANGE.high - UNEPHEMERAL_PORT_RANGE.low + 1));
    if ((await probeListen(host, candidate)) === candidate) return candidate;
  }
  const any = await probeListen(host, 0);
  if (any === undefined) throw new Error(`no free TCP port on ${host}`);
  return any;
}

/** Binds `port` (0: any) on `host` and closes again; the bound port, or undefined when the bind failed. */
function probeListen(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 10000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export function hex(value: SqlValue): string {
  return Buffer.isBuffer(value) ? `0x${value.toString("hex")}` : "NULL";
}

export interface AgReplicaSpec {
  name: string;
  mode?: "SYNCHRONOUS_COMMIT" | "ASYNCHRONOUS_COMMIT" | "CONFIGURATION_ONLY";
  endpointPort: number;
}

/** Master key, shared certificate, login/user, endpoint and CONNECT grant on every instance. */
export async function provisionEndpoints(cluster: SimCluster, replicas: AgReplicaSpec[]): Promise<void> {
  const [first, ...rest] = replicas;
  if (!first) return;
  const firstClient = new DirectClient(cluster.get(first.name));
  await firstClient.query("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master-Key-Passw0rd'");
  await firstClient.query("CREATE CERTIFICATE [dbm_certificate] WITH SUBJECT = 'dbm'");
  const exported = await firstClient.query("SELECT CERTENCODED(CERT_ID('dbm_certificate')), CERTPRIVATEKEY(CERT_ID('dbm_certificate'), 'Export-Passw0rd')");
  const [der, key] = exported.recordsets[0]?.rows[0] ?? [];
  for (const replica of rest) {
    const client = new DirectClient(cluster.get(replica.name));
    await client.query("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master-Key-Passw0rd'");
    await client.query(
      `CREATE CERTIFICATE [dbm_certificate] FROM BINARY = ${hex(der ?? null)} WITH PRIVATE KEY (BINARY = ${hex(key ?? null)}, DECRYPTION BY PASSWORD = 'Export-Passw0rd')`,
    );
    client.close();
  }
  for (const replica of replicas) {
    const client = new DirectClient(cluster.get(replica.name));
    await client.query(`
      CREATE LOGIN [dbm_login] WITH PASSWORD = 'Login-Passw0rd';
      CREATE USER [dbm_user] FOR LOGIN [dbm_login];
      CREATE ENDPOINT [Hadr_endpoint] STATE = STARTED AS TCP (LISTENER_PORT = ${replica.endpointPort}, LISTENER_IP = ALL)
        FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [dbm_certificate], ENCRYPTION = REQUIRED ALGORITHM AES);
      GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [dbm_login];`);
    client.close();
  }
  firstClient.close();
}

export function replicaClause(replica: AgReplicaSpec): string {
  const mode = replica.mode ?? "SYNCHRONOUS_COMMIT";
  const url = `ENDPOINT_URL = N'TCP://${replica.name}:${replica.endpointPort}'`;
  if (mode === "CONFIGURATION_ONLY") return `N'${replica.name}' WITH (${url}, AVAILABILITY_MODE = CONFIGURATION_ONLY)`;
  return `N'${replica.name}' WITH (${url}, AVAILABILITY_MODE = ${mode}, FAILOVER_MODE = EXTERNAL, SEEDING_MODE = AUTOMATIC, SECONDARY_ROLE (ALLOW_CONNECTIONS = ALL))`;
}

export interface CreateAgOptions {
  ag: string;
  replicas: AgReplicaSpec[];
  leaseSeconds?: number;
  rsstc?: number;
  database?: string;
}

/** CREATE AG on the first replica, JOIN + GRANT on the others, then create/back up/add a database and wait for SYNCHRONIZED. */
export async function createAg(cluster: SimCluster, options: CreateAgOptions): Promise<void> {
  const [primary, ...secondaries] = options.replicas;
  if (!primary) return;
  const p = new DirectClient(cluster.get(primary.name));
  const withClause = [`CLUSTER_TYPE = EXTERNAL`, `DB_FAILOVER = ON`];
  if (options.leaseSeconds !== undefined) withClause.push(`WRITE_LEASE_VALIDITY = ${options.leaseSeconds}`);
  if (options.rsstc !== undefined) withClause.push(`REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT = ${options.rsstc}`);
  await p.query(`CREATE AVAILABILITY GROUP [${options.ag}] WITH (${withClause.join(", ")}) FOR REPLICA ON ${options.replicas.map(replicaClause).join(",\n")}`);
  for (const replica of secondaries) {
    const client = new DirectClient(cluster.get(replica.name));
    await client.query(`ALTER AVAILABILITY GROUP [${options.ag}] JOIN WITH (CLUSTER_TYPE = EXTERNAL)`);
    if (replica.mode !== "CONFIGURATION_ONLY") await client.query(`ALTER AVAILABILITY GROUP [${options.ag}] GRANT CREATE ANY DATABASE`);
    client.close();
  }
  if (options.database) {
    const db = options.database;
    await p.query(`CREATE DATABASE [${db}]; ALTER DATABASE [${db}] SET RECOVERY FULL; BACKUP DATABASE [${db}] TO DISK = 'NUL'`);
    await p.query(`USE [${db}]; CREATE TABLE kv (k nvarchar(64) PRIMARY KEY, v nvarchar(4000)); USE master`);
    await p.query(`ALTER AVAILABILITY GROUP [${options.ag}] ADD DATABASE [${db}]`);
    const dataReplicas = secondaries.filter((r) => r.mode !== "CONFIGURATION_ONLY");
    await waitFor(
      "secondaries synchronized",
      async () => {
        const rows = await p.rows(`SELECT synchronization_state_desc FROM sys.dm_hadr_database_replica_states WHERE is_local = 0`);
        const wanted = dataReplicas.map((r) => (r.mode === "ASYNCHRONOUS_COMMIT" ? "SYNCHRONIZING" : "SYNCHRONIZED")).sort();
        return rows.length === dataReplicas.length && JSON.stringify(rows.map((r) => r.synchronization_state_desc).sort()) === JSON.stringify(wanted);
      },
      20000,
    );
  }
  p.close();
}

export async function roleOf(client: DirectClient, ag: string): Promise<string | null> {
  const rows = await client.rows(
    `SELECT ars.role_desc FROM sys.availability_groups ag INNER JOIN sys.dm_hadr_availability_replica_states ars ON ars.group_id = ag.group_id AND ars.is_local = 1 WHERE ag.name = N'${ag}'`,
  );
  return (rows[0]?.role_desc as string | undefined) ?? null;
}
