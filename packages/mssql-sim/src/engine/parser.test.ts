import { expect } from "chai";
import type { Statement } from "./ast.js";
import { redactSql } from "./engine.js";
import { NotModelledError, optionText, parseBatch } from "./parser.js";
import { scaleTimings, DEFAULT_TIMINGS } from "./timings.js";
import { SqlSyntaxError, tokenize } from "./tokenizer.js";

describe("tokenizer", () => {
  const cases: { name: string; sql: string; expected: [string, string][] }[] = [
    { name: "N'' strings with doubled quotes", sql: "N'it''s'", expected: [["string", "it's"]] },
    { name: "bracket identifiers keep case and may contain ]]", sql: "[Hadr_]]endpoint]", expected: [["quoted", "Hadr_]endpoint"]] },
    { name: "binary literal", sql: "0xDEADbeef", expected: [["binary", "DEADbeef"]] },
    { name: "keywords upper-cased, @@globals", sql: "select @@servername", expected: [["word", "SELECT"], ["variable", "@@SERVERNAME"]] },
    { name: "line and nested block comments are skipped", sql: "-- c\n/* a /* b */ c */ 1", expected: [["number", "1"]] },
    { name: "two-character operators", sql: "a<>b::c", expected: [["word", "A"], ["punct", "<>"], ["word", "B"], ["punct", "::"], ["word", "C"]] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(tokenize(c.sql).map((t) => [t.kind, t.value])).to.deep.equal(c.expected);
    });
  }
  it("an unclosed string is a syntax error", () => {
    expect(() => tokenize("SELECT 'abc")).to.throw(SqlSyntaxError);
  });
});

describe("parser: statement shapes the agents send (pacemaker §1.1, §10; peer operator §3)", () => {
  const types = (sql: string): string[] => parseBatch(sql).map((s) => s.type);
  const cases: { name: string; sql: string; types: string[] }[] = [
    { name: "failover batch with session context", sql: "EXEC sp_set_session_context @key = N'external_cluster', @value = N'yes'; ALTER AVAILABILITY GROUP [ag] FAILOVER", types: ["exec", "alterAg"] },
    { name: "GO-less multi-statement batch without semicolons", sql: "SET NOCOUNT ON\nSELECT 1\nSELECT 2", types: ["setOption", "select", "select"] },
    { name: "RSSTC idempotent batch", sql: "DECLARE @num_ags INT; SELECT @num_ags = COUNT(*) FROM sys.availability_groups WHERE name = 'ag' AND required_synchronized_secondaries_to_commit = 1; IF @num_ags = 0 ALTER AVAILABILITY GROUP [ag] SET (REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT = 1)", types: ["declare", "select", "if"] },
    { name: "IF NOT EXISTS (SELECT …) CREATE", sql: "IF NOT EXISTS (SELECT * FROM sys.symmetric_keys WHERE name = '##MS_DatabaseMasterKey##') CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'x'", types: ["if"] },
    { name: "BEGIN … END block", sql: "IF 1 = 1 BEGIN CREATE CERTIFICATE [c] WITH SUBJECT = 's', EXPIRY_DATE = '20300101'; END", types: ["if"] },
    { name: "tedious initial SET batch", sql: "set textsize 2147483647\nset quoted_identifier on\nset transaction isolation level read committed\nset ansi_nulls, ansi_padding on", types: ["setOption", "setOption", "setOption", "setOption"] },
    { name: "endpoint restart with WAITFOR", sql: "ALTER ENDPOINT [e] STATE = STOPPED; WAITFOR DELAY '00:00:03'; ALTER ENDPOINT [e] STATE = STARTED", types: ["alterEndpoint", "waitfor", "alterEndpoint"] },
    { name: "workload DDL and DML", sql: "CREATE TABLE kv (k nvarchar(64) PRIMARY KEY, v nvarchar(4000)); INSERT INTO kv (k, v) VALUES (@k, @v); SELECT v FROM kv WHERE k = @k", types: ["createTable", "insert", "select"] },
    { name: "permission lists", sql: "GRANT ALTER, CONTROL, VIEW DEFINITION ON AVAILABILITY GROUP::[ag] TO [agent]; GRANT VIEW SERVER STATE TO [agent]; GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [dbm_login]", types: ["grant", "grant", "grant"] },
    { name: "database preparation", sql: "CREATE DATABASE [d]; ALTER DATABASE [d] SET RECOVERY FULL; BACKUP DATABASE [d] TO DISK = N'NUL'", types: ["createDatabase", "alterDatabase", "backupDatabase"] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(types(c.sql)).to.deep.equal(c.types);
    });
  }

  it("CREATE AVAILABILITY GROUP: options, databases, replicas with nested SECONDARY_ROLE", () => {
    const [stmt] = parseBatch(
      "CREATE AVAILABILITY GROUP [ag] WITH (CLUSTER_TYPE = EXTERNAL, DB_FAILOVER = ON, WRITE_LEASE_VALIDITY = 20) FOR DATABASE [d1], d2 REPLICA ON N'a' WITH (ENDPOINT_URL = N'TCP://a:5022', AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = EXTERNAL, SEEDING_MODE = AUTOMATIC, SECONDARY_ROLE (ALLOW_CONNECTIONS = READ_ONLY)), N'w' WITH (ENDPOINT_URL = N'TCP://w:5022', AVAILABILITY_MODE = CONFIGURATION_ONLY)",
    ) as Statement[];
    if (stmt?.type !== "createAg") expect.fail("not a createAg");
    expect(optionText(stmt.options, "WRITE_LEASE_VALIDITY")).to.equal("20");
    expect(stmt.databases).to.deep.equal(["d1", "d2"]);
    expect(stmt.replicas.map((r) => r.serverName)).to.deep.equal(["a", "w"]);
    const secondaryRole = stmt.replicas[0]?.options.find((o) => o.name === "SECONDARY_ROLE");
    expect(optionText(secondaryRole?.nested ?? [], "ALLOW_CONNECTIONS")).to.equal("READ_ONLY");
  });

  it("CREATE ENDPOINT: multi-word option values (ENCRYPTION = REQUIRED ALGORITHM AES)", () => {
    const [stmt] = parseBatch("CREATE ENDPOINT [e] STATE = STARTED AS TCP (LISTENER_PORT = 5022, LISTENER_IP = (0.0.0.0)) FOR DATA_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE [c], ENCRYPTION = REQUIRED ALGORITHM AES)");
    if (stmt?.type !== "createEndpoint") expect.fail("not a createEndpoint");
    expect(optionText(stmt.mirroring, "ENCRYPTION")).to.equal("REQUIRED ALGORITHM AES");
    expect(optionText(stmt.tcp, "LISTENER_IP")).to.equal("0.0.0.0");
    expect(stmt.state).to.equal("STARTED");
  });

  const notModelled = ["UPDATE STATISTICS dbo.kv", "BEGIN TRANSACTION", "MERGE INTO kv USING x ON 1 = 1", "SELECT k FROM kv GROUP BY k", "DECLARE @t TABLE (a int)"];
  for (const sql of notModelled) {
    it(`not modelled, loudly: ${sql}`, () => {
      expect(() => parseBatch(sql)).to.throw(NotModelledError, /^mssql-sim does not model: /);
    });
  }
});

describe("redaction and timings", () => {
  it("passwords and private keys never reach logs", () => {
    const redacted = redactSql("CREATE LOGIN l WITH PASSWORD = N'se''cret'; CREATE CERTIFICATE c FROM BINARY = 0x01 WITH PRIVATE KEY (BINARY = 0xABCDEF, DECRYPTION BY PASSWORD = 'p')");
    expect(redacted).to.not.match(/se''cret|ABCDEF|'p'/);
  });
  it("scaleTimings shrinks durations but keeps the SESSION_TIMEOUT default in seconds", () => {
    const scaled = scaleTimings(0.1);
    expect(scaled.roleChangeDelayMs).to.equal(DEFAULT_TIMINGS.roleChangeDelayMs / 10);
    expect(scaled.defaultSessionTimeoutSeconds).to.equal(10);
  });
});
