/**
 * Benchmark (printed, never asserted — tests check behaviour, not speed): queries per second on one tedious
 * connection, instance start time, and resident memory per instance. Run: `node packages/mssql-sim/dist/bench.js`.
 * Targets from issue 3: ≥ 2,000 simple queries/s, start < 1 s, < 50 MiB per instance.
 */
import { performance } from "node:perf_hooks";
import { Connection, Request, TYPES } from "tedious";
import { SimCluster } from "./cluster.js";
import { DirectClient } from "./engine/direct-client.js";
import { scaleTimings } from "./engine/timings.js";
import type { SqlInstance } from "./instance.js";

const PASSWORD = "Bench-Passw0rd!";

function connect(instance: SqlInstance): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const connection = new Connection({
      server: instance.host,
      authentication: { type: "default", options: { userName: "sa", password: PASSWORD } },
      options: { port: instance.port, encrypt: true, trustServerCertificate: true, database: "master" },
    });
    connection.connect((err) => (err ? reject(err) : resolve(connection)));
  });
}

function execute(connection: Connection, sql: string, params?: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = new Request(sql, (err) => (err ? reject(err) : resolve()));
    if (params) {
      for (const [k, v] of Object.entries(params)) request.addParameter(k, TYPES.NVarChar, v);
      connection.execSql(request);
    } else connection.execSqlBatch(request);
  });
}

async function rate(label: string, count: number, fn: (i: number) => Promise<void>): Promise<void> {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < count; i++) await fn(i);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(`${label.padEnd(48)} ${(count / seconds).toFixed(0).padStart(7)} /s   (${(count / cpuSeconds).toFixed(0)} per CPU-second)`);
}

async function main(): Promise<void> {
  const cluster = new SimCluster({ saPassword: PASSWORD, timings: { ...scaleTimings(0.05), startupMs: 0 } });

  const startBegin = performance.now();
  const instance = await cluster.add({ name: "bench-0", tls: "self-signed" });
  console.log(`instance start (TDS port answering, startupMs = 0)      ${(performance.now() - startBegin).toFixed(0)} ms`);
  const restartBegin = performance.now();
  await instance.restart();
  console.log(`instance restart (stop + start, certificate reused)     ${(performance.now() - restartBegin).toFixed(0)} ms`);

  const direct = new DirectClient(instance);
  await direct.query("CREATE DATABASE benchdb; ALTER DATABASE benchdb SET RECOVERY FULL");
  await direct.query("USE benchdb; CREATE TABLE kv (k nvarchar(64) PRIMARY KEY, v nvarchar(4000))");

  const connection = await connect(instance);
  const n = 3000;
  await rate("tedious SELECT 1 (one connection)", n, () => execute(connection, "SELECT 1"));
  await rate("tedious SELECT @@SERVERNAME, SERVERPROPERTY(...)", n, () => execute(connection, "SELECT @@SERVERNAME, SERVERPROPERTY('IsHadrEnabled')"));
  await rate("tedious role query (pacemaker §1.1 join)", 1000, () =>
    execute(connection, "SELECT ars.role, ars.role_desc FROM sys.availability_groups ag INNER JOIN sys.dm_hadr_availability_replica_states ars ON ars.group_id = ag.group_id AND ars.is_local = 1 WHERE ag.name = N'ag'"),
  );
  await execute(connection, "USE benchdb");
  await rate("tedious INSERT kv via sp_executesql (no AG)", n, (i) => execute(connection, "INSERT INTO kv (k, v) VALUES (@k, @v)", { k: `k${i}`, v: "value" }));
  await rate("tedious SELECT v FROM kv WHERE k = @k", n, (i) => execute(connection, "SELECT v FROM kv WHERE k = @k", { k: `k${i}` }));
  await rate("in-process engine SELECT 1 (no TDS)", 20000, async () => void (await direct.query("SELECT 1")));
  connection.close();

  // Memory: RSS growth per additional idle instance (TDS listener + endpoint-less model).
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const extra = 5;
  for (let i = 1; i <= extra; i++) await cluster.add({ name: `bench-${i}`, tls: "self-signed" });
  global.gc?.();
  const rssAfter = process.memoryUsage().rss;
  console.log(`RSS of this process with ${extra + 1} instances             ${(rssAfter / 1048576).toFixed(1)} MiB`);
  console.log(`RSS growth per extra instance                          ${((rssAfter - rssBefore) / extra / 1048576).toFixed(1)} MiB`);
  console.log(`RSS of a one-instance process (first instance + runtime) ${(rssBefore / 1048576).toFixed(1)} MiB`);
  await cluster.close();
  console.log(`RSS of a fresh 'mssql-sim serve' process (one instance) ${(await serveProcessRssMiB()).toFixed(1)} MiB`);
}

/** Start the CLI as its own process, wait until it serves, read VmRSS from /proc, then SIGTERM it. */
async function serveProcessRssMiB(): Promise<number> {
  const { spawn } = await import("node:child_process");
  const { readFileSync } = await import("node:fs");
  const { fileURLToPath } = await import("node:url");
  const cli = fileURLToPath(new URL("./cli.js", import.meta.url));
  const child = spawn(process.execPath, [cli, "serve", "--name", "rss-probe", "--port", "0", "--sa-password", PASSWORD, "--timings-scale", "0.05"], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => {
    child.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes('"event":"serving"')) resolve();
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
  return kb / 1024;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
