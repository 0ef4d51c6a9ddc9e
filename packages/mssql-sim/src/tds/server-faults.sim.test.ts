/**
 * Process-level faults the admin interface drives (ARCHITECTURE §6.1): freeze/thaw (SIGSTOP as seen from the
 * network), crash (sockets reset), and clean shutdown, as observed by tedious.
 */
import { expect } from "chai";
import { Connection } from "tedious";
import type { ResultItem } from "./engine-port.js";
import type { TdsServer } from "./server.js";
import { batch, closeConnection, connect, connectionConfig, sleep, StubEngine, startStubServer } from "./test-support.js";

const answer = (value: number): ResultItem[] => [
  { kind: "rows", columns: [{ name: "n", type: { kind: "int" } }], rows: [[value]] },
  { kind: "done", rowCount: 1 },
];

/** tedious wraps the per-address connect failures in an AggregateError under `cause`. */
function socketErrorCodes(error: Error): Array<string | undefined> {
  const cause = error.cause;
  if (!(cause instanceof AggregateError)) return [];
  return (cause.errors as Array<{ code?: string }>).map((e) => e.code);
}

describe("server faults: freeze, crash, shutdown", function () {
  let engine: StubEngine;
  let server: TdsServer;
  let port: number;
  let open: Connection[];

  beforeEach(async function () {
    engine = new StubEngine();
    engine.onBatch = (sql) => (sql.startsWith("set ") ? [{ kind: "done" }] : answer(Number(sql)));
    ({ server } = await startStubServer(engine));
    port = server.address.port;
    open = [];
  });

  afterEach(async function () {
    server.thaw();
    await Promise.all(open.map(closeConnection));
    await server.close();
  });

  it("freeze: a connected client's request times out (ETIMEOUT); its cancel is unanswered too, so the connection ends", async function () {
    const connection = await connect(port, { options: { requestTimeout: 200, cancelTimeout: 300 } });
    open.push(connection);
    const ended = new Promise<void>((resolve) => connection.once("end", () => resolve()));
    server.freeze();
    const outcome = await batch(connection, "1");
    expect(outcome.error?.code).to.equal("ETIMEOUT");
    expect(outcome.error?.message).to.equal("Failed to cancel request in 300ms");
    await ended;
    expect(engine.userBatches).to.deep.equal([]); // nothing was even read
  });

  it("freeze: a new client's connect times out (the TCP connection is accepted, nothing is answered)", async function () {
    server.freeze();
    const error = await connect(port, { options: { connectTimeout: 300 } }).then(
      () => expect.fail("connect should time out"),
      (e: Error & { code?: string }) => e,
    );
    expect(error.code).to.equal("ETIMEOUT");
    expect(error.message).to.equal(`Failed to connect to 127.0.0.1:${port} in 300ms`);
    expect(engine.logins).to.deep.equal([]);
  });

  it("thaw: work held during the freeze resumes where it stopped", async function () {
    const connection = await connect(port);
    open.push(connection);
    server.freeze();
    const pendingConnect = connect(port, { options: { connectTimeout: 10_000 } });
    const pendingQuery = batch(connection, "5");
    let settled = false;
    void pendingQuery.then(() => (settled = true));
    await sleep(200);
    expect(settled).to.equal(false);
    expect(engine.logins).to.have.length(1);
    server.thaw();
    expect((await pendingQuery).rows).to.deep.equal([[5]]);
    const late = await pendingConnect;
    open.push(late);
    expect((await batch(late, "6")).rows).to.deep.equal([[6]]);
  });

  it("destroyAllConnections: clients see a socket error, new connects are refused, sessions end", async function () {
    const connection = await connect(port);
    const ended = new Promise<void>((resolve) => connection.once("end", () => resolve()));
    const errors: Array<Error & { code?: string }> = [];
    connection.on("error", (error) => errors.push(error));
    server.destroyAllConnections();
    await ended;
    expect(errors.map((e) => e.code)).to.deep.equal(["ESOCKET"]);
    expect(errors[0]?.message).to.match(/ECONNRESET/);
    expect(engine.endedSessions).to.deep.equal([51]);
    const refused = await connect(port).then(
      () => expect.fail("connect should be refused"),
      (e: Error) => e,
    );
    expect(socketErrorCodes(refused)).to.deep.equal(["ECONNREFUSED"]);
  });

  it("destroyAllConnections while a request is running: the request fails with a socket error", async function () {
    const connection = await connect(port);
    engine.onBatch = async function* (_sql, signal) {
      await sleep(60_000, signal).catch(() => {});
      yield { kind: "done" } as ResultItem; // only after the abort, when it can no longer be sent
    };
    const pending = batch(connection, "1");
    await sleep(50);
    server.destroyAllConnections();
    const outcome = await pending;
    expect(outcome.error?.message).to.equal("read ECONNRESET");
    expect(engine.abortedRequests).to.deep.equal(["1"]);
  });

  it("close(): connected clients are ended, and a new connect gets ECONNREFUSED", async function () {
    const connection = await connect(port);
    const ended = new Promise<void>((resolve) => connection.once("end", () => resolve()));
    await server.close();
    await ended;
    expect(engine.endedSessions).to.deep.equal([51]);
    const refused = await new Promise<Error & { code?: string }>((resolve) => {
      const client = new Connection(connectionConfig(port));
      client.on("error", () => {});
      client.connect((error) => resolve(error as Error & { code?: string }));
    });
    expect(refused.code).to.equal("ESOCKET");
    expect(socketErrorCodes(refused)).to.deep.equal(["ECONNREFUSED"]);
  });

  for (const stop of ["close", "destroyAllConnections"] as const) {
    it(`restart: after ${stop}() a new server listens on the same port at once and clients reconnect`, async function () {
      const connection = await connect(port);
      const ended = new Promise<void>((resolve) => connection.once("end", () => resolve()));
      if (stop === "close") await server.close();
      else server.destroyAllConnections();
      await ended;
      ({ server } = await startStubServer(engine, { port }));
      const again = await connect(port);
      open.push(again);
      expect((await batch(again, "9")).rows).to.deep.equal([[9]]);
    });
  }

  it("close() of a frozen server still completes", async function () {
    const connection = await connect(port);
    open.push(connection);
    server.freeze();
    void batch(connection, "1");
    await sleep(50);
    await server.close();
  });
});
