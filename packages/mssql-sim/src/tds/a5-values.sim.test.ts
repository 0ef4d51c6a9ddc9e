/**
 * A5 TYPE_INFO and value encodings: every ColumnType the engine may declare, decoded by real tedious, with the
 * exact JS values tedious hands to the agent (bigint as string, upper-case GUIDs, numeric as number, Date).
 */
import { expect } from "chai";
import type { Connection } from "tedious";
import type { ColumnType, SqlValue } from "./engine-port.js";
import type { TdsServer } from "./server.js";
import { batch, closeConnection, connect, execSql, StubEngine, startStubServer } from "./test-support.js";

interface ValueCase {
  name: string;
  type: ColumnType;
  value: SqlValue;
  expected: unknown;
}

const longText = "AG".repeat(2500) + "é";
const longBytes = Buffer.alloc(10_000, 0xab);
const when = new Date("2026-11-21T06:07:08.123Z");

const cases: ValueCase[] = [
  { name: "sysname (nvarchar(128))", type: { kind: "nvarchar", length: 128 }, value: "ag-sqlag ñ", expected: "ag-sqlag ñ" },
  { name: "nvarchar(60) with a space inside the value", type: { kind: "nvarchar", length: 60 }, value: "NOT SYNCHRONIZING", expected: "NOT SYNCHRONIZING" },
  { name: "nvarchar empty string", type: { kind: "nvarchar", length: 10 }, value: "", expected: "" },
  { name: "nvarchar(max) longer than a packet (PLP)", type: { kind: "nvarchar", length: "max" }, value: longText, expected: longText },
  { name: "nvarchar(max) empty (PLP)", type: { kind: "nvarchar", length: "max" }, value: "", expected: "" },
  { name: "varchar in code page 1252", type: { kind: "varchar", length: 20 }, value: "café €5", expected: "café €5" },
  { name: "varchar(max) (PLP)", type: { kind: "varchar", length: "max" }, value: "x".repeat(9000), expected: "x".repeat(9000) },
  { name: "tinyint", type: { kind: "tinyint" }, value: 255, expected: 255 },
  { name: "smallint", type: { kind: "smallint" }, value: -32768, expected: -32768 },
  { name: "int", type: { kind: "int" }, value: 2147483647, expected: 2147483647 },
  { name: "int from a bigint value", type: { kind: "int" }, value: -5n, expected: -5 },
  { name: "bigint is a string in tedious", type: { kind: "bigint" }, value: 9223372036854775807n, expected: "9223372036854775807" },
  { name: "bigint from a number", type: { kind: "bigint" }, value: 42, expected: "42" },
  { name: "bit true", type: { kind: "bit" }, value: true, expected: true },
  { name: "bit 0", type: { kind: "bit" }, value: 0, expected: false },
  { name: "datetime (1/300 s ticks)", type: { kind: "datetime" }, value: when, expected: when },
  { name: "datetime before 1900", type: { kind: "datetime" }, value: new Date("1899-12-31T23:59:59.000Z"), expected: new Date("1899-12-31T23:59:59.000Z") },
  { name: "datetime2(7)", type: { kind: "datetime2", scale: 7 }, value: when, expected: when },
  { name: "datetime2(3)", type: { kind: "datetime2", scale: 3 }, value: when, expected: when },
  { name: "datetime2(0) rounds to the second", type: { kind: "datetime2", scale: 0 }, value: new Date("2026-01-02T03:04:05.600Z"), expected: new Date("2026-01-02T03:04:06.000Z") },
  { name: "datetime2 at 0001-01-01", type: { kind: "datetime2", scale: 7 }, value: new Date("0001-01-01T00:00:00.000Z"), expected: new Date("0001-01-01T00:00:00.000Z") },
  {
    name: "uniqueidentifier comes back upper-case",
    type: { kind: "uniqueidentifier" },
    value: "6f9619ff-8b86-d011-b42d-00c04fc964ff",
    expected: "6F9619FF-8B86-D011-B42D-00C04FC964FF",
  },
  { name: "varbinary(16)", type: { kind: "varbinary", length: 16 }, value: Buffer.from("0102ff", "hex"), expected: Buffer.from("0102ff", "hex") },
  { name: "varbinary(max) (PLP)", type: { kind: "varbinary", length: "max" }, value: longBytes, expected: longBytes },
  { name: "numeric(25,0) from bigint (an LSN)", type: { kind: "numeric", precision: 25, scale: 0 }, value: 38000000012300001n, expected: 38000000012300000 },
  { name: "numeric(25,0) small", type: { kind: "numeric", precision: 25, scale: 0 }, value: 123456789012345n, expected: 123456789012345 },
  { name: "numeric(10,2) from a decimal string", type: { kind: "numeric", precision: 10, scale: 2 }, value: "12345.67", expected: 12345.67 },
  { name: "numeric(5,1) negative number", type: { kind: "numeric", precision: 5, scale: 1 }, value: -0.5, expected: -0.5 },
  { name: "numeric(38,0) wide", type: { kind: "numeric", precision: 38, scale: 0 }, value: 10n ** 30n, expected: 1e30 },
  { name: "xml", type: { kind: "xml" }, value: "<instance name=\"x\"/>", expected: "<instance name=\"x\"/>" },
  { name: "sql_variant int (SERVERPROPERTY('IsHadrEnabled'))", type: { kind: "sql_variant" }, value: 1, expected: 1 },
  { name: "sql_variant nvarchar (SERVERPROPERTY('ServerName'))", type: { kind: "sql_variant" }, value: "SQL-0", expected: "SQL-0" },
  { name: "sql_variant bigint", type: { kind: "sql_variant" }, value: 5000000000n, expected: "5000000000" },
  { name: "sql_variant float", type: { kind: "sql_variant" }, value: 1.5, expected: 1.5 },
  { name: "sql_variant bit", type: { kind: "sql_variant" }, value: true, expected: true },
  { name: "sql_variant datetime", type: { kind: "sql_variant" }, value: when, expected: when },
  { name: "sql_variant varbinary", type: { kind: "sql_variant" }, value: Buffer.from([1, 2, 3]), expected: Buffer.from([1, 2, 3]) },
];

const nullableTypes: ColumnType[] = [
  { kind: "nvarchar", length: 128 },
  { kind: "nvarchar", length: "max" },
  { kind: "varchar", length: 10 },
  { kind: "varchar", length: "max" },
  { kind: "tinyint" },
  { kind: "smallint" },
  { kind: "int" },
  { kind: "bigint" },
  { kind: "bit" },
  { kind: "datetime" },
  { kind: "datetime2", scale: 7 },
  { kind: "uniqueidentifier" },
  { kind: "varbinary", length: 8000 },
  { kind: "varbinary", length: "max" },
  { kind: "numeric", precision: 25, scale: 0 },
  { kind: "xml" },
  { kind: "sql_variant" },
];

describe("A5 TYPE_INFO and value encodings", function () {
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

  for (const c of cases) {
    it(`${c.name}: batch and sp_executesql`, async function () {
      const items = () => [{ kind: "rows" as const, columns: [{ name: "v", type: c.type }], rows: [[c.value]] }];
      engine.onBatch = items;
      engine.onRpc = items;
      for (const outcome of [await batch(connection, "SELECT v"), await execSql(connection, "SELECT v")]) {
        expect(outcome.error).to.equal(undefined);
        expect(outcome.rows).to.deep.equal([[c.expected]]);
      }
    });
  }

  it("NULL of every type comes back as null, in one row", async function () {
    engine.onBatch = () => [
      {
        kind: "rows",
        columns: nullableTypes.map((type, i) => ({ name: `c${i}`, type })),
        rows: [nullableTypes.map(() => null)],
      },
    ];
    const outcome = await batch(connection, "SELECT nulls");
    expect(outcome.error).to.equal(undefined);
    expect(outcome.rows).to.deep.equal([nullableTypes.map(() => null)]);
  });

  it("column metadata: names (including the empty name of SELECT @@SERVERNAME), types and nullability", async function () {
    engine.onBatch = () => [
      {
        kind: "rows",
        columns: [
          { name: "", type: { kind: "nvarchar", length: 128 } },
          { name: "replica_id", type: { kind: "uniqueidentifier" }, nullable: false },
          { name: "last_hardened_lsn", type: { kind: "numeric", precision: 25, scale: 0 } },
        ],
        rows: [["SQL-0", "6F9619FF-8B86-D011-B42D-00C04FC964FF", 1n]],
      },
    ];
    let metadata: Array<{ colName: string; type: { name: string }; dataLength?: number; precision?: number; scale?: number; flags: number }> = [];
    await batch(connection, "SELECT @@SERVERNAME, ...", (request) =>
      request.on("columnMetadata", (columns) => (metadata = columns as unknown as typeof metadata)),
    );
    expect(metadata.map((m) => [m.colName, m.type.name])).to.deep.equal([
      ["", "NVarChar"],
      ["replica_id", "UniqueIdentifier"],
      ["last_hardened_lsn", "NumericN"],
    ]);
    expect(metadata[0]?.dataLength).to.equal(256);
    expect([metadata[2]?.precision, metadata[2]?.scale]).to.deep.equal([25, 0]);
    expect(metadata.map((m) => m.flags & 1)).to.deep.equal([1, 0, 1]);
  });

  const mismatches: Array<{ name: string; type: ColumnType; value: SqlValue; nullable?: boolean; fragment: string }> = [
    { name: "a string in an int column", type: { kind: "int" }, value: "abc", fragment: "expected an integer" },
    { name: "too long for nvarchar(5)", type: { kind: "nvarchar", length: 5 }, value: "toolong", fragment: "exceed nvarchar(5)" },
    { name: "not a GUID", type: { kind: "uniqueidentifier" }, value: "nope", fragment: "is not a GUID" },
    { name: "NULL in a NOT NULL column", type: { kind: "int" }, value: null, nullable: false, fragment: "declared NOT NULL" },
    { name: "out of tinyint range", type: { kind: "tinyint" }, value: 256, fragment: "outside tinyint range" },
    { name: "does not fit numeric(3,0)", type: { kind: "numeric", precision: 3, scale: 0 }, value: 1000, fragment: "does not fit numeric(3,0)" },
  ];
  for (const m of mismatches) {
    it(`an engine value that does not fit its column fails loudly: ${m.name}`, async function () {
      engine.onBatch = () => [
        { kind: "rows", columns: [{ name: "v", type: m.type, ...(m.nullable === undefined ? {} : { nullable: m.nullable }) }], rows: [[m.value]] },
        { kind: "done", rowCount: 1 },
      ];
      const outcome = await batch(connection, "SELECT bad");
      expect(outcome.error?.message).to.match(/^mssql-sim internal error: column "v"/);
      expect(outcome.error?.message).to.contain(m.fragment);
      expect(outcome.rows).to.deep.equal([]);
      // The connection stays usable.
      engine.onBatch = () => [{ kind: "done" }];
      expect((await batch(connection, "SELECT 1")).error).to.equal(undefined);
    });
  }
});
