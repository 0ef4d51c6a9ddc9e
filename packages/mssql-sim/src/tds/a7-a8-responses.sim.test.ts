/**
 * A7 response shapes (DONE / DONEINPROC / DONEPROC bits, RETURNSTATUS, row counts) and A8 how errors surface
 * in tedious (RequestError fields, AggregateError for several ERROR tokens, INFO, fatal errors).
 */
import { expect } from "chai";
import type { Connection } from "tedious";
import type { ResultItem } from "./engine-port.js";
import type { TdsServer } from "./server.js";
import { batch, callProcedure, closeConnection, connect, execSql, StubEngine, startStubServer } from "./test-support.js";

const oneRowSet = (value: number): ResultItem => ({
  kind: "rows",
  columns: [{ name: "n", type: { kind: "int" } }],
  rows: [[value]],
});

const error41142: ResultItem = {
  kind: "error",
  number: 41142,
  state: 34,
  severity: 16,
  message: "The availability replica for availability group 'ag1' on this instance cannot become the primary replica.",
  procName: "",
  lineNumber: 1,
};

describe("A7 response shapes", function () {
  let engine: StubEngine;
  let server: TdsServer;
  let connection: Connection;

  before(async function () {
    engine = new StubEngine();
    ({ server } = await startStubServer(engine));
    connection = await connect(server.address.port);
  });

  after(async function () {
    await closeConnection(connection);
    await server.close();
  });

  it("batch, one SELECT: COLMETADATA, ROW×n, DONE(COUNT n)", async function () {
    engine.onBatch = () => [
      { kind: "rows", columns: [{ name: "n", type: { kind: "int" } }], rows: [[1], [2], [3]] },
      { kind: "done", rowCount: 3 },
    ];
    const dones: Array<[number | undefined, boolean]> = [];
    const outcome = await batch(connection, "SELECT n", (r) => r.on("done", (rowCount, more) => dones.push([rowCount, more])));
    expect(outcome.events).to.deep.equal(["columnMetadata", "row", "row", "row", "done"]);
    expect(outcome.rowCount).to.equal(3);
    expect(dones).to.deep.equal([[3, false]]);
  });

  it("batch, k statements: DONE with MORE on all but the last, COUNT only where a row count is known", async function () {
    engine.onBatch = () => [
      oneRowSet(1),
      { kind: "done", rowCount: 1 },
      { kind: "done" }, // DDL
      { kind: "done", rowCount: 5 }, // DML
      oneRowSet(2),
      { kind: "done", rowCount: 1 },
    ];
    const dones: Array<[number | undefined, boolean]> = [];
    const outcome = await batch(connection, "SELECT; CREATE; INSERT; SELECT", (r) =>
      r.on("done", (rowCount, more) => dones.push([rowCount, more])),
    );
    expect(dones).to.deep.equal([
      [1, true],
      [undefined, true],
      [5, true],
      [1, false],
    ]);
    expect(outcome.rowCount).to.equal(7);
  });

  it("batch, DDL only: a single DONE(0); an engine that yields nothing still gets a final DONE", async function () {
    for (const items of [[{ kind: "done" }], []] as ResultItem[][]) {
      engine.onBatch = () => items;
      const dones: Array<[number | undefined, boolean]> = [];
      const outcome = await batch(connection, "CREATE ENDPOINT", (r) => r.on("done", (rowCount, more) => dones.push([rowCount, more])));
      expect(outcome.error).to.equal(undefined);
      expect(dones).to.deep.equal([[undefined, false]]);
    }
  });

  it("a result set without a trailing done is closed with DONE(COUNT) by the protocol layer", async function () {
    engine.onBatch = () => [oneRowSet(1), oneRowSet(2)];
    const dones: Array<[number | undefined, boolean]> = [];
    const outcome = await batch(connection, "SELECT; SELECT", (r) => r.on("done", (rowCount, more) => dones.push([rowCount, more])));
    expect(dones).to.deep.equal([
      [1, true],
      [1, false],
    ]);
    expect(outcome.rows).to.deep.equal([[1], [2]]);
  });

  it("batch EXEC of a streaming procedure: done items marked inProc become DONEINPROC at once", async function () {
    // The engine produces the second result set only after the client has seen the first DONEINPROC, so a
    // held-back token would stall until the fallback and show up as `clientSawFirstInTime === false`.
    let signalClientSawFirst!: () => void;
    const clientSawFirst = new Promise<boolean>((resolve) => (signalClientSawFirst = () => resolve(true)));
    let clientSawFirstInTime = false;
    engine.onBatch = async function* () {
      yield oneRowSet(1);
      yield { kind: "done", rowCount: 1, inProc: true } as ResultItem;
      clientSawFirstInTime = await Promise.race([clientSawFirst, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000))]);
      yield oneRowSet(2);
      yield { kind: "done", rowCount: 1, inProc: true } as ResultItem;
      yield { kind: "done" } as ResultItem;
    };
    const outcome = await batch(connection, "EXEC sp_server_diagnostics 5", (r) => r.once("doneInProc", () => signalClientSawFirst()));
    expect(clientSawFirstInTime).to.equal(true);
    expect(outcome.events).to.deep.equal(["columnMetadata", "row", "doneInProc", "columnMetadata", "row", "doneInProc", "done"]);
    expect(outcome.rowCount).to.equal(2);
  });

  it("sp_executesql with rows: DONEINPROC(MORE|COUNT), RETURNSTATUS 0, DONEPROC", async function () {
    engine.onRpc = () => [oneRowSet(7), { kind: "done", rowCount: 1 }];
    const inProc: Array<[number | undefined, boolean]> = [];
    const outcome = await execSql(connection, "SELECT @x", (r) => r.on("doneInProc", (rowCount, more) => inProc.push([rowCount, more])));
    expect(outcome.events).to.deep.equal(["columnMetadata", "row", "doneInProc", "doneProc"]);
    expect(inProc).to.deep.equal([[1, true]]);
    expect(outcome.doneProcReturnStatus).to.deep.equal([0]);
    expect(outcome.rowCount).to.equal(1);
    expect(outcome.rows).to.deep.equal([[7]]);
  });

  it("a procedure with several result sets: one DONEINPROC each, then RETURNSTATUS and DONEPROC", async function () {
    engine.onRpc = () => [oneRowSet(1), { kind: "done", rowCount: 1 }, oneRowSet(2), { kind: "done", rowCount: 1 }];
    const outcome = await callProcedure(connection, "sp_server_diagnostics");
    expect(outcome.events).to.deep.equal(["columnMetadata", "row", "doneInProc", "columnMetadata", "row", "doneInProc", "doneProc"]);
    expect(outcome.rowCount).to.equal(2);
  });

  it("sp_executesql with an error: ERROR, DONEINPROC(MORE|ERROR), RETURNSTATUS 1, DONEPROC(ERROR)", async function () {
    engine.onRpc = () => [error41142, { kind: "done", error: true }];
    const outcome = await execSql(connection, "ALTER AVAILABILITY GROUP ag1 FAILOVER");
    expect(outcome.error?.message).to.equal(error41142.kind === "error" ? error41142.message : "");
    expect(outcome.doneProcReturnStatus).to.deep.equal([1]);
    expect(outcome.events).to.deep.equal(["doneInProc", "doneProc"]);
  });

  it("an ERROR without a following done still marks the closing DONE with ERROR", async function () {
    engine.onBatch = () => [error41142];
    const outcome = await batch(connection, "ALTER AVAILABILITY GROUP ag1 FAILOVER");
    expect((outcome.error as { number?: number } | undefined)?.number).to.equal(41142);
  });
});

describe("A8 how errors surface in tedious", function () {
  let engine: StubEngine;
  let server: TdsServer;
  let logLines: string[];
  let connection: Connection;

  beforeEach(async function () {
    engine = new StubEngine();
    ({ server, logLines } = await startStubServer(engine));
    connection = await connect(server.address.port);
  });

  afterEach(async function () {
    await closeConnection(connection);
    await server.close();
  });

  it("one ERROR token → RequestError EREQUEST with number, state, class, serverName, procName, lineNumber", async function () {
    engine.onBatch = () => [{ ...error41142, procName: "sp_ag_failover", lineNumber: 12 } as ResultItem, { kind: "done", error: true }];
    const outcome = await batch(connection, "ALTER AVAILABILITY GROUP ag1 FAILOVER");
    expect(outcome.error).to.include({
      code: "EREQUEST",
      number: 41142,
      state: 34,
      class: 16,
      serverName: "SIMSQL-0",
      procName: "sp_ag_failover",
      lineNumber: 12,
    });
  });

  it("two ERROR tokens → AggregateError whose errors carry the numbers (agent code must look inside)", async function () {
    engine.onBatch = () => [
      { kind: "error", number: 41104, state: 1, severity: 16, message: "Failover of the availability group 'ag1' to the local replica failed." },
      { kind: "error", number: 41131, state: 2, severity: 16, message: "Failed to bring availability group 'ag1' online." },
      { kind: "done", error: true },
    ];
    const outcome = await batch(connection, "ALTER AVAILABILITY GROUP ag1 FAILOVER");
    expect(outcome.error).to.be.instanceOf(AggregateError);
    expect(outcome.error?.number).to.equal(undefined);
    expect((outcome.error?.errors as Array<{ number: number }>).map((e) => e.number)).to.deep.equal([41104, 41131]);
  });

  it("INFO → infoMessage; envchange-database → databaseChange; the request still succeeds", async function () {
    const infos: Array<{ number: number; message: string; class: number }> = [];
    const databases: string[] = [];
    connection.on("infoMessage", (info) => infos.push(info));
    connection.on("databaseChange", (name) => databases.push(name));
    engine.onBatch = () => [
      { kind: "envchange-database", newDatabase: "master", oldDatabase: "agdb" },
      { kind: "info", number: 5701, state: 2, severity: 0, message: "Changed database context to 'master'." },
      { kind: "done" },
      { kind: "info", number: 0, state: 1, severity: 0, message: "printed" },
      { kind: "done" },
    ];
    const outcome = await batch(connection, "USE master; PRINT 'printed'");
    expect(outcome.error).to.equal(undefined);
    expect(databases).to.deep.equal(["master"]);
    expect(infos.map((info) => [info.number, info.message, info.class])).to.deep.equal([
      [5701, "Changed database context to 'master'.", 0],
      [0, "printed", 0],
    ]);
  });

  it("a DONE with the ERROR bit but no ERROR token → tedious's generic unknown error", async function () {
    engine.onBatch = () => [{ kind: "done", error: true }];
    const outcome = await batch(connection, "SELECT");
    expect(outcome.error?.message).to.equal("An unknown error has occurred.");
  });

  it("fatal (severity >= 20): pending tokens are sent, then the connection closes and the session ends", async function () {
    engine.onBatch = () => [
      { kind: "error", number: 3624, state: 1, severity: 20, message: "A system assertion check has failed." },
      { kind: "fatal" },
      oneRowSet(1), // never sent
    ];
    const ended = new Promise<void>((resolve) => connection.once("end", () => resolve()));
    const outcome = await batch(connection, "DBCC CRASH");
    await ended;
    expect(outcome.error?.message).to.match(/A system assertion check has failed|Connection lost/);
    expect(outcome.rows).to.deep.equal([]);
    expect(engine.endedSessions).to.deep.equal([51]);
    expect(logLines.some((line) => line.includes("fatal error"))).to.equal(true);
  });

  it("an engine that throws → 'mssql-sim internal error', logged, connection usable", async function () {
    engine.onBatch = () => {
      throw new Error("boom");
    };
    const outcome = await batch(connection, "SELECT");
    expect(outcome.error?.message).to.equal("mssql-sim internal error: Error: boom");
    expect(logLines.some((line) => line.includes("boom"))).to.equal(true);
    engine.onBatch = () => [{ kind: "done" }];
    expect((await batch(connection, "SELECT 1")).error).to.equal(undefined);
  });

  it("an engine iterable that fails midway keeps the rows already sent and reports the failure", async function () {
    engine.onBatch = async function* () {
      yield oneRowSet(1);
      yield { kind: "done", rowCount: 1 } as ResultItem;
      throw new Error("lost the log");
    };
    const outcome = await batch(connection, "SELECT");
    expect(outcome.rows).to.deep.equal([[1]]);
    expect(outcome.error?.message).to.equal("mssql-sim internal error: Error: lost the log");
  });
});
