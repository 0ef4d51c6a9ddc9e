/**
 * Benchmark: simple queries per second on one tedious connection against a stub engine (issue 3 target:
 * >= 2,000/s). Prints figures only; nothing asserts on them.
 *
 *   node packages/mssql-sim/dist/tds/bench.js [seconds-per-case]
 */
import { performance } from "node:perf_hooks";
import type { Connection } from "tedious";
import type { ResultItem } from "./engine-port.js";
import { batch, closeConnection, connect, execSql, StubEngine, startStubServer } from "./test-support.js";
import { createSelfSignedCertificate } from "./tls-cert.js";

const secondsPerCase = Number(process.argv[2] ?? "3");

const oneRow: ResultItem[] = [
  { kind: "rows", columns: [{ name: "", type: { kind: "int" } }], rows: [[1]] },
  { kind: "done", rowCount: 1 },
];

async function measure(label: string, connection: Connection, send: (connection: Connection) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200; i++) await send(connection); // warm up
  let count = 0;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const deadline = started + secondsPerCase * 1000;
  while (performance.now() < deadline) {
    await send(connection);
    count += 1;
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuMicrosPerQuery = (cpu.user + cpu.system) / count;
  // CPU per query (client and server together) is steadier than the wall-clock rate on a shared machine.
  console.log(
    `${label.padEnd(44)} ${Math.round(count / elapsedSeconds).toString().padStart(6)} queries/s wall` +
      `  ${Math.round(1e6 / cpuMicrosPerQuery).toString().padStart(6)} queries/s per CPU-second  (${count} in ${elapsedSeconds.toFixed(1)} s)`,
  );
}

async function main(): Promise<void> {
  const engine = new StubEngine();
  engine.onBatch = (sql) => (sql.startsWith("set ") ? [{ kind: "done" }] : oneRow);
  engine.onRpc = () => oneRow;
  const certificate = createSelfSignedCertificate("localhost", ["localhost", "127.0.0.1"]);
  const { server } = await startStubServer(engine, { tls: { key: certificate.key, cert: certificate.cert } });
  const plain = await connect(server.address.port, { options: { encrypt: false } });
  const encrypted = await connect(server.address.port, { options: { encrypt: true, trustServerCertificate: true } });

  console.log(`mssql-sim TDS benchmark: one connection, stub engine, ${secondsPerCase} s per case, node ${process.version}`);
  await measure("SQL_BATCH SELECT 1 (plaintext)", plain, (c) => batch(c, "SELECT 1"));
  await measure("sp_executesql SELECT 1 (plaintext)", plain, (c) => execSql(c, "SELECT 1"));
  await measure("SQL_BATCH SELECT 1 (TLS inside PRELOGIN)", encrypted, (c) => batch(c, "SELECT 1"));

  await closeConnection(plain);
  await closeConnection(encrypted);
  await server.close();
  const rssMiB = process.memoryUsage().rss / 1024 / 1024;
  console.log(`process RSS after the run: ${rssMiB.toFixed(0)} MiB (server and client in one process)`);
}

await main();
