/**
 * The behavioural model through a second, independent TDS client (issue 3 deliverable 5): FreeTDS `tsql` runs
 * catalog queries and gets a documented AG error from the real engine, not from a stub.
 */
import { spawn } from "node:child_process";
import { expect } from "chai";
import { SimCluster } from "../cluster.js";
import type { SqlInstance } from "../instance.js";
import { scaleTimings } from "./timings.js";

const PASSWORD = "Tsql-Passw0rd!";

function tsql(instance: SqlInstance, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("tsql", ["-H", instance.host, "-p", String(instance.port), "-U", "sa", "-P", PASSWORD], { env: { ...process.env, TDSVER: "7.4", LANG: "C.UTF-8" } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
    child.on("error", () => reject(new Error("FreeTDS `tsql` is not installed: run scripts/ensure-test-tools.sh")));
    child.on("close", () => {
      clearTimeout(timer);
      resolve(output);
    });
    child.stdin.end(script);
  });
}

describe("second client: FreeTDS tsql against the behavioural model", function () {
  this.timeout(30000);
  let cluster: SimCluster;
  let sim: SqlInstance;
  before(async () => {
    cluster = new SimCluster({ saPassword: PASSWORD, timings: scaleTimings(0.05) });
    sim = await cluster.add({ name: "TSQL-SIM", tls: "self-signed" });
  });
  after(() => cluster.close());

  it("B2/B3: @@SERVERNAME, SERVERPROPERTY, sys.databases and a 15151 error arrive intact", async () => {
    const output = await tsql(
      sim,
      "SELECT @@SERVERNAME AS srv, CAST(SERVERPROPERTY('IsHadrEnabled') AS int) AS hadr\nGO\nSELECT name, state_desc FROM sys.databases WHERE database_id = 1\nGO\nALTER AVAILABILITY GROUP [missing] OFFLINE\nGO\nexit\n",
    );
    expect(output).to.contain("TSQL-SIM");
    expect(output).to.match(/master\s+ONLINE/);
    expect(output).to.contain("Msg 15151");
    expect(output).to.contain("Cannot alter the availability group 'missing'");
  });
});
