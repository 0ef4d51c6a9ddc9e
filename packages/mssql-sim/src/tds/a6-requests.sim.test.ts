/**
 * A6 requests: SQL_BATCH text and RPC (ProcID form from execSql, name form from callProcedure), with every
 * parameter TYPE_INFO tedious sends, checked on the engine side exactly as received.
 */
import { expect } from "chai";
import { TYPES } from "tedious";
import type { Connection, Request } from "tedious";
import type { RpcParameter } from "./engine-port.js";
import type { TdsServer } from "./server.js";
import { batch, callProcedure, closeConnection, connect, execSql, StubEngine, startStubServer } from "./test-support.js";

describe("A6 requests", function () {
  let engine: StubEngine;
  let server: TdsServer;
  let logLines: string[];
  let connection: Connection;

  before(async function () {
    engine = new StubEngine();
    ({ server, logLines } = await startStubServer(engine));
    connection = await connect(server.address.port);
  });

  after(async function () {
    await closeConnection(connection);
    await server.close();
  });

  beforeEach(function () {
    engine.rpcs.length = 0;
    engine.batches.length = 0;
    engine.onRpc = () => [{ kind: "done" }];
  });

  const lastRpc = (): { procName: string; parameters: RpcParameter[] } => {
    const rpc = engine.rpcs.at(-1);
    if (rpc === undefined) throw new Error("no RPC reached the engine");
    return rpc;
  };

  it("SQL_BATCH: skips ALL_HEADERS and passes the UCS-2 text unchanged", async function () {
    const sql = "ALTER AVAILABILITY GROUP [ag1] FAILOVER; -- ünïcödé ✓";
    await batch(connection, sql);
    expect(engine.batches).to.deep.equal([sql]);
  });

  interface ParameterCase {
    name: string;
    add: (request: Request) => void;
    expected: Omit<RpcParameter, "output"> & { output?: boolean };
  }
  const when = new Date("2026-11-21T06:07:08.123Z");
  const parameterCases: ParameterCase[] = [
    { name: "NVarChar", add: (r) => r.addParameter("p", TYPES.NVarChar, "héllo ✓"), expected: { name: "@p", typeName: "nvarchar", value: "héllo ✓" } },
    { name: "NVarChar NULL", add: (r) => r.addParameter("p", TYPES.NVarChar, null), expected: { name: "@p", typeName: "nvarchar", value: null } },
    { name: "NVarChar(max) over 4000 characters (PLP)", add: (r) => r.addParameter("p", TYPES.NVarChar, "z".repeat(5000)), expected: { name: "@p", typeName: "nvarchar", value: "z".repeat(5000) } },
    { name: "VarChar (code page 1252)", add: (r) => r.addParameter("p", TYPES.VarChar, "café"), expected: { name: "@p", typeName: "varchar", value: "café" } },
    { name: "VarChar(max) (PLP)", add: (r) => r.addParameter("p", TYPES.VarChar, "v".repeat(9000)), expected: { name: "@p", typeName: "varchar", value: "v".repeat(9000) } },
    { name: "NChar", add: (r) => r.addParameter("p", TYPES.NChar, "ab"), expected: { name: "@p", typeName: "nchar", value: "ab" } },
    { name: "Char", add: (r) => r.addParameter("p", TYPES.Char, "ab"), expected: { name: "@p", typeName: "char", value: "ab" } },
    { name: "Int", add: (r) => r.addParameter("p", TYPES.Int, -42), expected: { name: "@p", typeName: "int", value: -42 } },
    { name: "Int NULL", add: (r) => r.addParameter("p", TYPES.Int, null), expected: { name: "@p", typeName: "int", value: null } },
    { name: "BigInt (as bigint, no precision lost)", add: (r) => r.addParameter("p", TYPES.BigInt, "9007199254740993"), expected: { name: "@p", typeName: "bigint", value: 9007199254740993n } },
    { name: "TinyInt", add: (r) => r.addParameter("p", TYPES.TinyInt, 200), expected: { name: "@p", typeName: "tinyint", value: 200 } },
    { name: "SmallInt", add: (r) => r.addParameter("p", TYPES.SmallInt, -300), expected: { name: "@p", typeName: "smallint", value: -300 } },
    { name: "Bit", add: (r) => r.addParameter("p", TYPES.Bit, true), expected: { name: "@p", typeName: "bit", value: true } },
    { name: "Bit NULL", add: (r) => r.addParameter("p", TYPES.Bit, null), expected: { name: "@p", typeName: "bit", value: null } },
    { name: "DateTime2", add: (r) => r.addParameter("p", TYPES.DateTime2, when), expected: { name: "@p", typeName: "datetime2", value: when } },
    { name: "DateTime", add: (r) => r.addParameter("p", TYPES.DateTime, when), expected: { name: "@p", typeName: "datetime", value: when } },
    { name: "Date", add: (r) => r.addParameter("p", TYPES.Date, new Date("2026-11-21T00:00:00Z")), expected: { name: "@p", typeName: "date", value: new Date("2026-11-21T00:00:00Z") } },
    {
      name: "UniqueIdentifier",
      add: (r) => r.addParameter("p", TYPES.UniqueIdentifier, "6f9619ff-8b86-d011-b42d-00c04fc964ff"),
      expected: { name: "@p", typeName: "uniqueidentifier", value: "6F9619FF-8B86-D011-B42D-00C04FC964FF" },
    },
    { name: "VarBinary", add: (r) => r.addParameter("p", TYPES.VarBinary, Buffer.from("deadbeef", "hex")), expected: { name: "@p", typeName: "varbinary", value: Buffer.from("deadbeef", "hex") } },
    { name: "VarBinary(max) (PLP)", add: (r) => r.addParameter("p", TYPES.VarBinary, Buffer.alloc(9000, 7)), expected: { name: "@p", typeName: "varbinary", value: Buffer.alloc(9000, 7) } },
    { name: "Float", add: (r) => r.addParameter("p", TYPES.Float, 1.25), expected: { name: "@p", typeName: "float", value: 1.25 } },
    { name: "Real", add: (r) => r.addParameter("p", TYPES.Real, 0.5), expected: { name: "@p", typeName: "real", value: 0.5 } },
    {
      name: "Decimal (exact text)",
      add: (r) => r.addParameter("p", TYPES.Decimal, -12.345, { precision: 10, scale: 3 }),
      expected: { name: "@p", typeName: "decimal", value: "-12.345" },
    },
    { name: "Numeric", add: (r) => r.addParameter("p", TYPES.Numeric, 38000000012300, { precision: 25, scale: 0 }), expected: { name: "@p", typeName: "numeric", value: "38000000012300" } },
    { name: "Int OUTPUT", add: (r) => r.addOutputParameter("p", TYPES.Int, 5), expected: { name: "@p", typeName: "int", value: 5, output: true } },
  ];

  for (const c of parameterCases) {
    it(`sp_executesql (ProcID 10) carries a parameter: ${c.name}`, async function () {
      const sql = "SELECT @p AS v";
      const outcome = await execSql(connection, sql, c.add);
      expect(outcome.error).to.equal(undefined);
      const rpc = lastRpc();
      expect(rpc.procName).to.equal("sp_executesql");
      expect(rpc.parameters).to.have.length(3);
      expect(rpc.parameters[0]).to.deep.equal({ name: "@statement", typeName: "nvarchar", value: sql, output: false });
      expect(rpc.parameters[1]?.name).to.equal("@params");
      expect(rpc.parameters[1]?.value).to.match(/^@p \w+/);
      expect(rpc.parameters[2]).to.deep.equal({ output: false, ...c.expected });
    });
  }

  it("sp_executesql without parameters sends only @statement; a statement over 4000 characters is PLP", async function () {
    const sql = `SELECT '${"s".repeat(4500)}'`;
    await execSql(connection, sql);
    expect(lastRpc().parameters).to.deep.equal([{ name: "@statement", typeName: "nvarchar", value: sql, output: false }]);
  });

  it("sp_executesql keeps the parameter order and the @params declaration", async function () {
    await execSql(connection, "SELECT v FROM kv WHERE k = @k AND n = @n", (r) => {
      r.addParameter("k", TYPES.NVarChar, "key-1");
      r.addParameter("n", TYPES.Int, 7);
    });
    const rpc = lastRpc();
    expect(rpc.parameters.map((p) => p.name)).to.deep.equal(["@statement", "@params", "@k", "@n"]);
    expect(rpc.parameters[1]?.value).to.equal("@k nvarchar(5), @n int");
  });

  it("callProcedure uses the name form and passes parameters", async function () {
    await callProcedure(connection, "sp_server_diagnostics", (r) => r.addParameter("repeat_interval", TYPES.Int, 0));
    expect(lastRpc()).to.deep.equal({
      procName: "sp_server_diagnostics",
      parameters: [{ name: "@repeat_interval", typeName: "int", value: 0, output: false }],
    });
  });

  const unsupported = [
    { name: "Time", add: (r: Request) => r.addParameter("t", TYPES.Time, new Date()), fragment: "RPC parameter type 0x29 (@t)" },
    { name: "DateTimeOffset", add: (r: Request) => r.addParameter("t", TYPES.DateTimeOffset, new Date()), fragment: "RPC parameter type 0x2b (@t)" },
    { name: "Money", add: (r: Request) => r.addParameter("t", TYPES.Money, 1), fragment: "RPC parameter type 0x6e (@t)" },
  ];
  for (const u of unsupported) {
    it(`fails loudly for a ${u.name} parameter, logs it, and keeps the connection`, async function () {
      const outcome = await execSql(connection, "SELECT @t", u.add);
      expect(outcome.error?.message).to.equal(`mssql-sim does not model: ${u.fragment}`);
      expect(logLines.some((line) => line.includes(u.fragment))).to.equal(true);
      expect(engine.rpcs).to.deep.equal([]);
      expect((await batch(connection, "SELECT 1")).error).to.equal(undefined);
    });
  }
});
