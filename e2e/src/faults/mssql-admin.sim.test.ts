import { expect } from "chai";
import { SimCluster } from "@sqlag/mssql-sim/cluster";
import { startAdminServer, type AdminServer } from "@sqlag/mssql-sim/admin/http";
import { scaleTimings } from "@sqlag/mssql-sim/engine/timings";
import { HttpMssqlAdmin } from "./mssql-admin.js";

/** The harness's admin client against mssql-sim's real admin HTTP API (in process, no TDS). */
describe("HttpMssqlAdmin against mssql-sim's admin API", function () {
  this.timeout(20_000);
  let cluster: SimCluster;
  let server: AdminServer;
  let admin: HttpMssqlAdmin;

  before(async () => {
    cluster = new SimCluster({ timings: scaleTimings(0.02), tds: null });
    await cluster.add({ name: "sql-0", saPassword: "Sim-Passw0rd!" });
    server = await startAdminServer({ cluster, port: 0 });
    admin = new HttpMssqlAdmin("sql-0", server.port);
  });
  after(async () => {
    await server.close();
    await cluster.close();
  });

  it("partitions and heals one side of a peer link", async () => {
    await admin.partition("sql-1");
    expect([...cluster.get("sql-0").partitions]).to.deep.equal(["sql-1"]);
    await admin.heal("sql-1");
    expect(cluster.get("sql-0").partitions.size).to.equal(0);
  });

  it("reads ground truth: no writable interval and no keys before any AG exists", async () => {
    expect(await admin.writableIntervals()).to.deep.equal([]);
    expect(await admin.committedKeys("nodb")).to.deep.equal([]);
  });

  it("drives simulator-level crash and start", async () => {
    await admin.act("crash");
    expect(cluster.get("sql-0").state).to.equal("stopped");
    await admin.act("start");
    expect(cluster.get("sql-0").state).to.equal("running");
  });

  it("accepts the kubelet's DNS pushes (POST /v1/hosts)", async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/v1/hosts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ "sql-1.ag-hl.ns.svc.cluster.local": "127.0.16.9" }),
    });
    expect(response.status).to.equal(200);
    expect(await cluster.get("sql-0").model?.resolveHost("sql-1.ag-hl.ns.svc.cluster.local")).to.equal("127.0.16.9");
  });

  it("reports an unknown instance as a typed error", async () => {
    const stranger = new HttpMssqlAdmin("nobody", server.port);
    let failure: unknown;
    try {
      await stranger.partition("sql-0");
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).to.match(/MssqlAdminError: .*HTTP 404/);
  });
});
