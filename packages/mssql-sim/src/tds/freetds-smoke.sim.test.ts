/**
 * Second, independent client (issue 3): FreeTDS `tsql` (Debian freetds-bin), a TDS implementation unrelated
 * to tedious, proves the server follows MS-TDS rather than one driver's habits. Plaintext and TLS inside
 * PRELOGIN (FreeTDS offers encryption by default, so it takes the TLS path when the server has a certificate).
 *
 * The tool is required: when it is missing the suite FAILS and names the script that installs it.
 */
import { spawn, spawnSync } from "node:child_process";
import { expect } from "chai";
import type { ResultItem } from "./engine-port.js";
import type { TdsServer } from "./server.js";
import { StubEngine, startStubServer, TEST_PASSWORD, TEST_USER } from "./test-support.js";
import { createSelfSignedCertificate } from "./tls-cert.js";

const INSTALL_HINT = "FreeTDS `tsql` is not installed: run scripts/ensure-test-tools.sh (installs Debian freetds-bin)";

interface TsqlResult {
  exitCode: number | null;
  output: string;
}

/** Runs tsql with `script` on stdin; asynchronous because the server lives in this process. */
function runTsql(port: number, password: string, script: string): Promise<TsqlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("tsql", ["-H", "127.0.0.1", "-p", String(port), "-U", TEST_USER, "-P", password, "-D", "agdb"], {
      env: { ...process.env, TDSVER: "7.4", LANG: "C.UTF-8" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, output });
    });
    child.stdin.end(script);
  });
}

const agRow: ResultItem[] = [
  {
    kind: "rows",
    columns: [
      { name: "name", type: { kind: "nvarchar", length: 128 } },
      { name: "group_id", type: { kind: "uniqueidentifier" } },
      { name: "last_hardened_lsn", type: { kind: "numeric", precision: 25, scale: 0 } },
      { name: "is_local", type: { kind: "bit" } },
      { name: "sequence_number", type: { kind: "bigint" } },
      { name: "edition", type: { kind: "sql_variant" } },
    ],
    rows: [["ag-é", "6f9619ff-8b86-d011-b42d-00c04fc964ff", 38000000012300001n, true, 9007199254740993n, "Developer Edition (64-bit)"]],
  },
  { kind: "done", rowCount: 1 },
];

describe("second client: FreeTDS tsql", function () {
  let engine: StubEngine;
  let server: TdsServer;
  let logLines: string[];

  before(function () {
    const probe = spawnSync("tsql", ["-C"], { encoding: "utf8" });
    if (probe.error !== undefined || probe.status !== 0) throw new Error(INSTALL_HINT);
  });

  afterEach(async function () {
    await server.close();
  });

  async function start(withTls: boolean): Promise<void> {
    engine = new StubEngine();
    engine.onBatch = (sql) => {
      if (sql.includes("sys.availability_groups")) return agRow;
      if (sql.includes("FAILOVER")) {
        return [
          {
            kind: "error",
            number: 41142,
            state: 34,
            severity: 16,
            message: "The availability replica for availability group 'ag1' on this instance cannot become the primary replica.",
          },
          { kind: "done", error: true },
        ];
      }
      return [{ kind: "done" }];
    };
    const tls = withTls ? createSelfSignedCertificate("localhost", ["localhost", "127.0.0.1"]) : undefined;
    ({ server, logLines } = await startStubServer(engine, tls === undefined ? {} : { tls }));
  }

  for (const withTls of [false, true]) {
    const mode = withTls ? "TLS inside PRELOGIN" : "plaintext";
    it(`logs in, runs a batch and decodes every value (${mode})`, async function () {
      await start(withTls);
      const result = await runTsql(server.address.port, TEST_PASSWORD, "SELECT name FROM sys.availability_groups\ngo\nexit\n");
      expect(result.exitCode, result.output).to.equal(0);
      // FreeTDS keeps numeric(25,0) exact, unlike tedious's JS numbers (A5).
      expect(result.output).to.contain(
        "ag-é\t6F9619FF-8B86-D011-B42D-00C04FC964FF\t38000000012300001\t1\t9007199254740993\tDeveloper Edition (64-bit)",
      );
      expect(result.output).to.contain("(1 row affected)");
      expect(engine.userBatches).to.deep.equal(["SELECT name FROM sys.availability_groups\n"]);
      expect(engine.logins[0]).to.include({ userName: TEST_USER, password: TEST_PASSWORD, database: "agdb", appName: "TSQL" });
      expect(logLines.some((line) => line.includes("TLS established inside PRELOGIN"))).to.equal(withTls);
    });
  }

  it("reports a server error with its number, severity and state", async function () {
    await start(false);
    const result = await runTsql(server.address.port, TEST_PASSWORD, "ALTER AVAILABILITY GROUP ag1 FAILOVER\ngo\nexit\n");
    expect(result.output).to.match(/Msg 41142 \(severity 16, state 34\)/);
    expect(result.output).to.contain("cannot become the primary replica");
  });

  it("a bad password fails the login with the 18456 text", async function () {
    await start(false);
    const result = await runTsql(server.address.port, "wrong", "exit\n");
    expect(result.exitCode).to.not.equal(0);
    expect(result.output).to.contain(`Login failed for user '${TEST_USER}'.`);
  });
});
