/** A1 packets and messages: framing, reassembly, splitting, IGNORE, RESETCONNECTION, unknown packet types. */
import { expect } from "chai";
import type { Connection } from "tedious";
import { PacketStatus, PacketType } from "./protocol.js";
import type { TdsServer } from "./server.js";
import { batch, closeConnection, connect, StubEngine, startStubServer, TEST_PASSWORD, TEST_USER } from "./test-support.js";
import { buildLogin7, buildPreLogin, buildSqlBatch, doneStatuses, errorMessages, RawTdsClient } from "./test-raw-client.js";

describe("A1 packets and messages", function () {
  let engine: StubEngine;
  let server: TdsServer;
  let logLines: string[];
  let raw: RawTdsClient | undefined;
  let connection: Connection | undefined;

  beforeEach(async function () {
    engine = new StubEngine();
    ({ server, logLines } = await startStubServer(engine));
    raw = undefined;
    connection = undefined;
  });

  afterEach(async function () {
    raw?.close();
    if (connection !== undefined) await closeConnection(connection);
    await server.close();
  });

  it("reassembles a request that tedious splits over several 4096-byte packets", async function () {
    connection = await connect(server.address.port);
    const sql = `SELECT '${"x".repeat(9000)}' AS long_literal`;
    engine.onBatch = () => [{ kind: "done" }];
    const outcome = await batch(connection, sql);
    expect(outcome.error).to.equal(undefined);
    expect(engine.userBatches).to.deep.equal([sql]);
  });

  it("splits a large response at the negotiated packet size and tedious reads it back", async function () {
    connection = await connect(server.address.port);
    const rows = Array.from({ length: 2000 }, (_, i) => [i, `replica-${i}-${"r".repeat(100)}`]);
    engine.onBatch = () => [
      { kind: "rows", columns: [{ name: "n", type: { kind: "int" } }, { name: "s", type: { kind: "nvarchar", length: 200 } }], rows },
      { kind: "done", rowCount: rows.length },
    ];
    const packetSizes: number[] = [];
    const outcome = await batch(connection, "SELECT big");
    expect(outcome.error).to.equal(undefined);
    expect(outcome.rowCount).to.equal(2000);
    expect(outcome.rows).to.deep.equal(rows);

    // The same response seen on the wire: every packet at most 4096 bytes, EOM only on the last.
    raw = await RawTdsClient.connect(server.address.port);
    await raw.login(TEST_USER, TEST_PASSWORD, "agdb");
    raw.socket.on("data", () => {});
    const chunks: Buffer[] = [];
    raw.socket.prependListener("data", (chunk: Buffer) => chunks.push(chunk));
    raw.send(PacketType.SqlBatch, buildSqlBatch("SELECT big"));
    const message = await raw.nextMessage();
    expect(message.payload.length).to.be.greaterThan(4096 * 50);
    const wire = Buffer.concat(chunks);
    const statuses: number[] = [];
    for (let offset = 0; offset < wire.length; ) {
      const length = wire.readUInt16BE(offset + 2);
      packetSizes.push(length);
      statuses.push(wire[offset + 1] as number);
      offset += length;
    }
    expect(Math.max(...packetSizes)).to.equal(4096);
    expect(statuses.slice(0, -1).every((status) => status === 0)).to.equal(true);
    expect(statuses.at(-1)).to.equal(PacketStatus.EndOfMessage);
  });

  it("adopts the packet size the client asks for in LOGIN7 (ENVCHANGE 4) and uses it for responses", async function () {
    connection = await connect(server.address.port, { options: { packetSize: 16384 } });
    const rows = Array.from({ length: 300 }, (_, i) => [`row-${i}-${"p".repeat(200)}`]);
    engine.onBatch = () => [{ kind: "rows", columns: [{ name: "s", type: { kind: "nvarchar", length: 300 } }], rows }];
    const outcome = await batch(connection, "SELECT big");
    expect(engine.logins[0]?.packetSize).to.equal(16384);
    expect(outcome.rows).to.deep.equal(rows);
  });

  const splits = [
    { name: "packets of 7 payload bytes", chunkBytes: 7 },
    { name: "packets of 512 payload bytes", chunkBytes: 512 },
  ];
  for (const split of splits) {
    it(`reassembles LOGIN7 and a batch sent as ${split.name}`, async function () {
      raw = await RawTdsClient.connect(server.address.port);
      raw.send(PacketType.PreLogin, buildPreLogin(), split);
      await raw.nextMessage();
      raw.send(PacketType.Login7, buildLogin7({ userName: TEST_USER, password: TEST_PASSWORD, database: "agdb" }), split);
      const login = await raw.nextMessage();
      expect(login.payload.includes(0xad)).to.equal(true);
      const sql = "SELECT name FROM sys.availability_groups -- " + "é".repeat(700);
      raw.send(PacketType.SqlBatch, buildSqlBatch(sql), split);
      const response = await raw.nextMessage();
      expect(doneStatuses(response.payload)).to.deep.equal([0]);
      expect(engine.batches).to.deep.equal([sql]);
      expect(engine.logins[0]).to.include({ userName: TEST_USER, password: TEST_PASSWORD, appName: "raw-client", hostName: "raw-client-host" });
    });
  }

  it("handles a packet whose header arrives one byte at a time", async function () {
    raw = await RawTdsClient.connect(server.address.port);
    await raw.login(TEST_USER, TEST_PASSWORD, "agdb");
    const payload = buildSqlBatch("SELECT 1");
    const header = Buffer.from([PacketType.SqlBatch, PacketStatus.EndOfMessage, 0, 8 + payload.length, 0, 0, 1, 0]);
    const packet = Buffer.concat([header, payload]);
    for (const byte of packet) {
      raw.writeBytes(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(doneStatuses((await raw.nextMessage()).payload)).to.deep.equal([0]);
    expect(engine.batches).to.deep.equal(["SELECT 1"]);
  });

  it("IGNORE|EOM: discards the abandoned request and answers a single DONE, without running it", async function () {
    raw = await RawTdsClient.connect(server.address.port);
    await raw.login(TEST_USER, TEST_PASSWORD, "agdb");
    raw.send(PacketType.SqlBatch, buildSqlBatch("DROP AVAILABILITY GROUP ag1"), {
      chunkBytes: 16,
      lastStatus: PacketStatus.EndOfMessage | PacketStatus.Ignore,
    });
    expect(doneStatuses((await raw.nextMessage()).payload)).to.deep.equal([0]);
    expect(engine.batches).to.deep.equal([]);
  });

  it("RESETCONNECTION (tedious connection.reset()): ends the engine session and starts a new one", async function () {
    connection = await connect(server.address.port);
    const resets: number[] = [];
    connection.on("resetConnection", () => resets.push(1));
    const reset = connection;
    await new Promise<void>((resolve, reject) => reset.reset((error) => (error ? reject(error) : resolve())));
    expect(engine.endedSessions).to.deep.equal([51]);
    expect(engine.logins).to.have.length(2);
    expect(resets).to.have.length(1);
    engine.onBatch = (_sql, _signal, session) => [
      { kind: "rows", columns: [{ name: "spid", type: { kind: "int" } }], rows: [[session.id]] },
    ];
    expect((await batch(connection, "SELECT @@SPID")).rows).to.deep.equal([[52]]);
  });

  const refused = [
    { name: "transaction manager (beginTransaction)", type: PacketType.TransactionManager, fragment: "packet type 0x0e (transaction manager" },
    { name: "bulk load", type: PacketType.BulkLoad, fragment: "packet type 0x07 (bulk load)" },
    { name: "an unknown type", type: 0x42, fragment: "packet type 0x42 (unknown)" },
  ];
  for (const r of refused) {
    it(`fails loudly for ${r.name}, logs it, and keeps the connection`, async function () {
      raw = await RawTdsClient.connect(server.address.port);
      await raw.login(TEST_USER, TEST_PASSWORD, "agdb");
      raw.send(r.type, Buffer.alloc(26));
      const response = await raw.nextMessage();
      const [message] = errorMessages(response.payload);
      expect(message).to.match(/^mssql-sim does not model: /);
      expect(message).to.contain(r.fragment);
      expect(doneStatuses(response.payload)).to.deep.equal([0x0002]);
      expect(logLines.some((line) => line.includes(r.fragment))).to.equal(true);
      raw.send(PacketType.SqlBatch, buildSqlBatch("SELECT 1"));
      expect(doneStatuses((await raw.nextMessage()).payload)).to.deep.equal([0]);
    });
  }

  it("tedious beginTransaction gets the not-modelled error as a RequestError", async function () {
    connection = await connect(server.address.port);
    const open = connection;
    const error = await new Promise<Error | undefined>((resolve) => open.beginTransaction((e) => resolve(e ?? undefined)));
    expect(error?.message).to.match(/^mssql-sim does not model: packet type 0x0e/);
  });

  it("refuses a TDS version other than 7.4 at login, naming it", async function () {
    raw = await RawTdsClient.connect(server.address.port);
    raw.send(PacketType.PreLogin, buildPreLogin());
    await raw.nextMessage();
    raw.send(PacketType.Login7, buildLogin7({ userName: TEST_USER, password: TEST_PASSWORD, database: "agdb", tdsVersion: 0x730b0003 }));
    const response = await raw.nextMessage();
    expect(errorMessages(response.payload)).to.deep.equal(["mssql-sim does not model: TDS version 0x730b0003 (only 7.4, 0x74000004)"]);
    expect(doneStatuses(response.payload)).to.deep.equal([0x0002]);
    expect(engine.logins).to.deep.equal([]);
  });

  it("closes the connection on a malformed packet header", async function () {
    raw = await RawTdsClient.connect(server.address.port);
    raw.writeBytes(Buffer.from([0x12, 0x01, 0x00, 0x03, 0, 0, 0, 0]));
    const error = await raw.nextMessage(2000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.equal("connection closed before a response message arrived");
    expect(logLines.some((line) => line.includes("shorter than the 8-byte header"))).to.equal(true);
  });
});
