import { expect } from "chai";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { createControllerMetrics } from "../metrics.js";
import { close, createHttpApp, listen } from "./server.js";

describe("controller HTTP server", () => {
  const cases: { name: string; alive: boolean; reasons: string[]; path: string; status: number; body: unknown }[] = [
    { name: "healthz answers 200 while alive", alive: true, reasons: [], path: "/healthz", status: 200, body: { ok: true } },
    { name: "healthz answers 500 once the election loop stopped", alive: false, reasons: [], path: "/healthz", status: 500, body: { ok: false, reason: "stopped" } },
    { name: "readyz answers 200 when synced", alive: true, reasons: [], path: "/readyz", status: 200, body: { ok: true, reasons: [] } },
    { name: "readyz answers 503 with the reasons", alive: true, reasons: ["informer ags has not synced"], path: "/readyz", status: 503, body: { ok: false, reasons: ["informer ags has not synced"] } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const registry = new Registry();
      const app = createHttpApp(
        { alive: () => (c.alive ? { ok: true } : { ok: false, reason: "stopped" }), ready: () => ({ ok: c.reasons.length === 0, reasons: c.reasons }) },
        registry,
      );
      const server = await listen(app, 0, "127.0.0.1");
      try {
        const port = (server.address() as AddressInfo).port;
        const response = await fetch(`http://127.0.0.1:${port}${c.path}`);
        expect(response.status).to.equal(c.status);
        expect(await response.json()).to.deep.equal(c.body);
      } finally {
        await close(server);
      }
    });
  }

  it("serves the sqlag_controller_* metrics from its own registry", async () => {
    const registry = new Registry();
    const metrics = createControllerMetrics(
      registry,
      { queueDepth: () => 3, informerHealth: () => [{ informer: "ags", synced: true, healthy: false }] },
      { version: "0.1.0", commit: "abc" },
    );
    metrics.observeReconcile("availabilitygroup", "success", 0.2);
    metrics.observeReconcile("instance", "secret_not_found", 0.01);
    metrics.setLeader(true);
    const server = await listen(createHttpApp({ alive: () => ({ ok: true }), ready: () => ({ ok: true, reasons: [] }) }, registry), 0, "127.0.0.1");
    try {
      const port = (server.address() as AddressInfo).port;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).to.equal(200);
      const text = await response.text();
      for (const line of [
        'sqlag_controller_reconcile_total{kind="availabilitygroup",result="success"} 1',
        'sqlag_controller_reconcile_total{kind="instance",result="secret_not_found"} 1',
        'sqlag_controller_reconcile_duration_seconds_count{kind="availabilitygroup"} 1',
        "sqlag_controller_queue_depth 3",
        "sqlag_controller_is_leader 1",
        'sqlag_controller_informer_synced{informer="ags"} 1',
        'sqlag_controller_informer_healthy{informer="ags"} 0',
        'sqlag_build_info{component="controller",version="0.1.0",commit="abc"} 1',
      ]) {
        expect(text).to.contain(line);
      }
    } finally {
      await close(server);
    }
  });
});
