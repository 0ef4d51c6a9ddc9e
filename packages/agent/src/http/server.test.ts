import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { agentPaths, PEER_TOKEN_HEADER, type AgentStatus } from "@sqlag/api";
import { AgentMetrics } from "./metrics.js";
import { createAgentApp, listen, type AgentHttpHandlers } from "./server.js";

const status: AgentStatus = {
  pod: "ag-0",
  ag: "AG1",
  mode: "availability-group",
  role: "PRIMARY",
  health: "healthy",
  sqlReachable: true,
  databases: [],
  lastReason: "lease_renewed",
  cycle: 7,
  agentVersion: "test",
  observedAt: "2026-01-01T00:00:00.000Z",
};

function handlers(overrides: Partial<AgentHttpHandlers> = {}): AgentHttpHandlers {
  return {
    liveness: () => ({ ok: true, detail: "loop alive" }),
    readiness: () => ({ ok: false, detail: "SQL Server not answering" }),
    status: () => status,
    primary: () => ({ ok: true, detail: "primary" }),
    replica: () => ({ ok: false, detail: "not a secondary" }),
    preStop: async () => ({ outcome: "not_primary", durationMs: 1 }),
    failsafe: async (hb) => (hb.holder === "ag-0" ? { pod: "ag-1", epoch: hb.epoch, heartbeatId: hb.heartbeatId, promiseMs: 15000 } : undefined),
    sequence: async (req) => ({ pod: "ag-1", epoch: req.epoch, sequenceNumber: "42", healthy: true }),
    peerToken: () => "s3cret",
    preStopCallers: () => ["127.0.0.1"],
    preStopTimeoutMs: () => 1000,
    ...overrides,
  };
}

describe("agent HTTP API", () => {
  let server: Server;
  let base: string;
  const metrics = new AgentMetrics("test");

  before(async () => {
    server = await listen(createAgentApp(handlers(), metrics), 0, "127.0.0.1");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const cases: { name: string; path: string; status: number }[] = [
    { name: "liveness ok", path: agentPaths.livez, status: 200 },
    { name: "readiness failing → 503", path: agentPaths.readyz, status: 503 },
    { name: "primary → 200 on the primary", path: agentPaths.primary, status: 200 },
    { name: "replica → 503 on the primary", path: agentPaths.replica, status: 503 },
    { name: "unknown path → 404", path: "/nope", status: 404 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      expect((await fetch(base + c.path)).status).to.equal(c.status);
    });
  }

  it("serves the status DTO without secrets", async () => {
    const body = (await (await fetch(base + agentPaths.status)).json()) as AgentStatus;
    expect(body.pod).to.equal("ag-0");
    expect(JSON.stringify(body)).not.to.contain("s3cret");
  });

  it("serves Prometheus metrics from its own registry", async () => {
    const text = await (await fetch(base + agentPaths.metrics)).text();
    expect(text).to.contain('sqlag_build_info{version="test"} 1');
  });

  it("accepts preStop from the pod itself", async () => {
    const res = await fetch(base + agentPaths.preStop);
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { outcome: string }).outcome).to.equal("not_primary");
  });

  it("refuses mutating peer calls without the token", async () => {
    const res = await fetch(base + agentPaths.failsafe, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ holder: "ag-0", epoch: 1, heartbeatId: "h" }) });
    expect(res.status).to.equal(403);
  });

  it("acks a failsafe heartbeat from the holder with the token, and refuses another holder", async () => {
    const post = (holder: string): Promise<Response> =>
      fetch(base + agentPaths.failsafe, {
        method: "POST",
        headers: { "content-type": "application/json", [PEER_TOKEN_HEADER]: "s3cret" },
        body: JSON.stringify({ holder, epoch: 3, heartbeatId: "h1" }),
      });
    const ok = await post("ag-0");
    expect(ok.status).to.equal(200);
    expect(await ok.json()).to.deep.include({ epoch: 3, heartbeatId: "h1", promiseMs: 15000 });
    expect((await post("ag-9")).status).to.equal(409);
  });

  it("returns an epoch-tagged sequence report to peers", async () => {
    const res = await fetch(base + agentPaths.sequence, {
      method: "POST",
      headers: { "content-type": "application/json", [PEER_TOKEN_HEADER]: "s3cret" },
      body: JSON.stringify({ epoch: 5, candidate: "ag-1" }),
    });
    expect(await res.json()).to.deep.include({ epoch: 5, sequenceNumber: "42" });
  });

  it("validates request bodies", async () => {
    const res = await fetch(base + agentPaths.sequence, {
      method: "POST",
      headers: { "content-type": "application/json", [PEER_TOKEN_HEADER]: "s3cret" },
      body: JSON.stringify({ epoch: "x" }),
    });
    expect(res.status).to.equal(400);
  });
});
