/**
 * The controller's HTTP surface: /healthz (the process loop answers; never calls the API server, so an API
 * outage cannot get the controller killed), /readyz (informers synced and watching), /metrics.
 */
import express, { type Express } from "express";
import type { Server } from "node:http";
import type { Registry } from "prom-client";

export interface HealthSources {
  /** Liveness: false only when the process is wedged (e.g. the leader election loop stopped unexpectedly). */
  alive(): { ok: boolean; reason?: string };
  /** Readiness with the reasons it is not ready. */
  ready(): { ok: boolean; reasons: string[] };
}

export function createHttpApp(health: HealthSources, registry: Registry): Express {
  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", (_req, res) => {
    const alive = health.alive();
    res.status(alive.ok ? 200 : 500).json(alive);
  });
  app.get("/readyz", (_req, res) => {
    const ready = health.ready();
    res.status(ready.ok ? 200 : 503).json(ready);
  });
  app.get("/metrics", async (_req, res) => {
    res.set("Content-Type", registry.contentType).send(await registry.metrics());
  });
  return app;
}

export function listen(app: Express, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host ?? "0.0.0.0", (err?: Error) => (err === undefined ? resolve(server) : reject(err)));
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
