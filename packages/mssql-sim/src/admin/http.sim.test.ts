/** Admin HTTP API in one process: lifecycle, faults, diagnostics, timings and errors (brief: Administration). */
import { expect } from "chai";
import { SimCluster } from "../cluster.js";
import { DirectClient } from "../engine/direct-client.js";
import { scaleTimings } from "../engine/timings.js";
import { AdminClient, AdminRequestError } from "./client.js";
import { startAdminServer, type AdminServer } from "./http.js";

describe("admin HTTP API (in process)", function () {
  this.timeout(20000);
  let cluster: SimCluster;
  let server: AdminServer;
  let admin: AdminClient;

  before(async () => {
    cluster = new SimCluster({ timings: scaleTimings(0.02), tds: null });
    await cluster.add({ name: "adm-0" });
    await cluster.add({ name: "adm-1" });
    server = await startAdminServer({ cluster, port: 0 });
    admin = new AdminClient(`127.0.0.1:${server.port}`);
  });
  after(async () => {
    await server.close();
    await cluster.close();
  });

  it("lists instances and drives crash → start, freeze → thaw", async () => {
    expect((await admin.instances()).instances.map((i) => i.name)).to.deep.equal(["adm-0", "adm-1"]);
    expect((await admin.act("adm-0", "crash")).state).to.equal("stopped");
    expect((await admin.act("adm-0", "start")).state).to.equal("running");
    expect((await admin.act("adm-1", "freeze")).state).to.equal("frozen");
    expect((await admin.act("adm-1", "thaw")).state).to.equal("running");
  });

  it("injects diagnostics states seen by sp_server_diagnostics, partitions both sides, sets timings", async () => {
    await admin.setDiagnostics("adm-0", "resource", "error");
    const rows = await new DirectClient(cluster.get("adm-0")).rows("EXEC sp_server_diagnostics");
    expect(rows.find((r) => r.component_name === "resource")?.state_desc).to.equal("error");
    await admin.request("POST", "/v1/partition", { a: "adm-0", b: "adm-1" });
    expect(cluster.get("adm-1").partitions.has("adm-0")).to.equal(true);
    await admin.request("POST", "/v1/heal", { a: "adm-0", b: "adm-1" });
    expect(cluster.get("adm-1").partitions.size).to.equal(0);
    await admin.setHosts({ "Pod-9": "127.0.0.9" });
    expect(await cluster.get("adm-0").model?.resolveHost("pod-9.headless.ns.svc.cluster.local")).to.equal("127.0.0.9");
    const { timings } = await admin.setTimings({ roleChangeDelayMs: 7 });
    expect(timings.roleChangeDelayMs).to.equal(7);
    expect(cluster.get("adm-0").timings.roleChangeDelayMs).to.equal(7);
  });

  const errors: { name: string; call: () => Promise<unknown>; status: number }[] = [
    { name: "unknown instance → 404", call: () => admin.act("nobody", "crash"), status: 404 },
    { name: "unknown diagnostics state → 400", call: () => admin.setDiagnostics("adm-0", "system", "purple"), status: 400 },
    { name: "partition without a peer → 400", call: () => admin.request("POST", "/v1/instances/adm-0/partition", {}), status: 400 },
    { name: "unknown timing → 400", call: () => admin.setTimings({ warpSpeedMs: 1 }), status: 400 },
  ];
  for (const c of errors) {
    it(c.name, async () => {
      try {
        await c.call();
        expect.fail("expected an error");
      } catch (err) {
        expect(err).to.be.instanceOf(AdminRequestError);
        expect((err as AdminRequestError).status).to.equal(c.status);
      }
    });
  }
});
