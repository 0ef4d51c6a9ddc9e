/**
 * A9 cancellation, timeouts and ATTENTION, plus A1 streaming. The ordering rule under test: the interrupted
 * response message is ended first (DONE + EOM), then a separate message carries DONE(ATTN); results the engine
 * produces afterwards are never sent. Any other order wedges tedious until cancelTimeout kills the connection.
 */
import { expect } from "chai";
import { TYPES } from "tedious";
import type { Connection } from "tedious";
import type { ResultItem } from "./engine-port.js";
import { PacketType } from "./protocol.js";
import type { TdsServer } from "./server.js";
import { batch, callProcedure, closeConnection, connect, sleep, StubEngine, startStubServer, TEST_PASSWORD, TEST_USER } from "./test-support.js";
import { buildSqlBatch, doneStatuses, RawTdsClient } from "./test-raw-client.js";

const rowSet = (value: number): ResultItem => ({ kind: "rows", columns: [{ name: "n", type: { kind: "int" } }], rows: [[value]] });

/** sp_server_diagnostics in repeat mode: a result set every `intervalMs` until the signal aborts. */
function repeatingDiagnostics(intervalMs: number) {
  return async function* (_procName: string, _parameters: unknown, signal: AbortSignal): AsyncGenerator<ResultItem> {
    for (let n = 1; ; n++) {
      yield rowSet(n);
      yield { kind: "done", rowCount: 1 };
      try {
        await sleep(intervalMs, signal);
      } catch {
        return;
      }
    }
  };
}

describe("A9 cancellation, timeouts and ATTENTION", function () {
  let engine: StubEngine;
  let server: TdsServer;
  let connection: Connection | undefined;
  let raw: RawTdsClient | undefined;

  beforeEach(async function () {
    engine = new StubEngine();
    ({ server } = await startStubServer(engine));
    connection = undefined;
    raw = undefined;
  });

  afterEach(async function () {
    raw?.close();
    if (connection !== undefined) await closeConnection(connection);
    await server.close();
  });

  it("streams repeat-mode result sets as they are produced; cancel() → ECANCEL and the connection stays usable", async function () {
    connection = await connect(server.address.port);
    const open = connection;
    engine.onRpc = repeatingDiagnostics(30);
    let doneInProcCount = 0;
    const outcome = await callProcedure(open, "sp_server_diagnostics", (request) => {
      request.addParameter("repeat_interval", TYPES.Int, 5);
      request.on("doneInProc", () => {
        doneInProcCount += 1;
        // The request is still open: these events can only come from non-EOM packets (A1 streaming).
        if (doneInProcCount === 3) open.cancel();
      });
    });
    expect(outcome.error?.code).to.equal("ECANCEL");
    expect(outcome.rows.slice(0, 3)).to.deep.equal([[1], [2], [3]]);
    expect(engine.abortedRequests).to.deep.equal(["sp_server_diagnostics"]);

    engine.onBatch = () => [rowSet(42), { kind: "done", rowCount: 1 }];
    const next = await batch(open, "SELECT 42");
    expect(next.error).to.equal(undefined);
    expect(next.rows).to.deep.equal([[42]]);
  });

  it("requestTimeout → ETIMEOUT, the engine sees the abort, and the next request gets only its own results", async function () {
    connection = await connect(server.address.port, { options: { requestTimeout: 150 } });
    engine.onBatch = async function* (sql, signal) {
      if (sql === "SLOW") {
        await sleep(2000, signal);
        yield rowSet(-1);
      } else {
        yield rowSet(Number(sql));
      }
    };
    const slow = await batch(connection, "SLOW");
    expect(slow.error?.code).to.equal("ETIMEOUT");
    expect(slow.error?.message).to.equal("Timeout: Request failed to complete in 150ms");
    expect(engine.abortedRequests).to.deep.equal(["SLOW"]);
    for (const n of [1, 2, 3]) expect((await batch(connection, String(n))).rows).to.deep.equal([[n]]);
  });

  it("results an engine produces after ATTENTION (ignoring the signal) are never sent", async function () {
    connection = await connect(server.address.port, { options: { requestTimeout: 100 } });
    engine.onBatch = async function* (sql) {
      if (sql === "STUBBORN") {
        await sleep(300); // ignores the abort signal on purpose
        yield rowSet(-1);
        yield { kind: "done", rowCount: 1 };
      } else {
        yield rowSet(Number(sql));
      }
    };
    expect((await batch(connection, "STUBBORN")).error?.code).to.equal("ETIMEOUT");
    expect((await batch(connection, "1")).rows).to.deep.equal([[1]]);
    await sleep(400);
    expect((await batch(connection, "2")).rows).to.deep.equal([[2]]);
  });

  it("on the wire: the interrupted response ends with DONE(0)+EOM, then a separate DONE(ATTN) message", async function () {
    raw = await RawTdsClient.connect(server.address.port);
    await raw.login(TEST_USER, TEST_PASSWORD, "agdb");
    engine.onBatch = async function* (_sql, signal) {
      yield { kind: "info", number: 0, state: 1, severity: 0, message: "started" } as ResultItem;
      await sleep(60_000, signal).catch(() => {});
    };
    raw.send(PacketType.SqlBatch, buildSqlBatch("WAITFOR DELAY '01:00:00'"));
    await sleep(50);
    raw.send(PacketType.Attention, Buffer.alloc(0));
    const interrupted = await raw.nextMessage();
    const acknowledgement = await raw.nextMessage();
    expect(doneStatuses(interrupted.payload)).to.deep.equal([0x0000]);
    expect(acknowledgement.payload.length).to.equal(13);
    expect(doneStatuses(acknowledgement.payload)).to.deep.equal([0x0020]);
  });

  it("ATTENTION while idle is still acknowledged with DONE(ATTN) (MS-TDS 3.3.5.9)", async function () {
    raw = await RawTdsClient.connect(server.address.port);
    await raw.login(TEST_USER, TEST_PASSWORD, "agdb");
    raw.send(PacketType.Attention, Buffer.alloc(0));
    expect(doneStatuses((await raw.nextMessage()).payload)).to.deep.equal([0x0020]);
    raw.send(PacketType.SqlBatch, buildSqlBatch("SELECT 1"));
    expect(doneStatuses((await raw.nextMessage()).payload)).to.deep.equal([0x0000]);
  });

  it("cancel() of a batch that streams rows: ECANCEL, then the connection is reusable", async function () {
    connection = await connect(server.address.port);
    const open = connection;
    engine.onBatch = async function* (sql, signal) {
      if (sql !== "STREAM") {
        yield rowSet(7);
        return;
      }
      for (let n = 1; !signal.aborted; n++) {
        yield rowSet(n);
        await sleep(20, signal).catch(() => {});
      }
    };
    const outcome = await batch(open, "STREAM", (request) => request.on("row", () => open.cancel()));
    expect(outcome.error?.code).to.equal("ECANCEL");
    expect((await batch(open, "SELECT 7")).rows).to.deep.equal([[7]]);
  });
});
