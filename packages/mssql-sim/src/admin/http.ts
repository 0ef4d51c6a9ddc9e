/**
 * HTTP admin interface on loopback (node:http, JSON) for the instances of one process: lifecycle, faults,
 * diagnostics, timings and ground truth. The e2e fake kubelet and the invariant checker call it; see README.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { SimCluster } from "../cluster.js";
import type { DiagnosticState } from "../engine/server-model.js";
import { DEFAULT_TIMINGS, scaleTimings, type SimTimings } from "../engine/timings.js";

export interface AdminServerOptions {
  cluster: SimCluster;
  /** Loopback only by default: the admin API can crash instances. */
  host?: string;
  port: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

const DIAGNOSTIC_STATES: DiagnosticState[] = ["unknown", "clean", "warning", "error"];
const COMPONENTS = ["system", "resource", "query_processing", "io_subsystem", "events"];

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return {};
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as Record<string, unknown>;
  } catch {
    throw new HttpError(400, "request body must be a JSON object");
  }
}

function requireString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== "string" || value === "") throw new HttpError(400, `'${key}' (string) is required`);
  return value;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { cluster } = options;
  const log = options.log ?? (() => undefined);

  const instanceOf = (name: string) => {
    const instance = cluster.instances.get(name.toLowerCase());
    if (!instance) throw new HttpError(404, `no instance named '${name}'`);
    return instance;
  };

  async function route(req: IncomingMessage, url: URL): Promise<unknown> {
    const parts = url.pathname.split("/").filter(Boolean);
    const method = req.method ?? "GET";
    if (parts[0] === "healthz") return { ok: true };
    if (parts[0] !== "v1") throw new HttpError(404, "not found");
    const [, resource, name, action] = parts;
    if (resource === "instances" && !name && method === "GET") return { instances: [...cluster.instances.values()].map((i) => i.summary()) };
    if (resource === "instances" && name) {
      const instance = instanceOf(decodeURIComponent(name));
      if (!action && method === "GET") return instance.summary();
      if (method === "GET" && action === "keys") {
        const db = url.searchParams.get("db");
        if (!db) throw new HttpError(400, "query parameter 'db' is required");
        return { instance: instance.name, db, keys: instance.committedKeys(db) };
      }
      if (method === "GET" && action === "statements") return { instance: instance.name, statements: instance.statementLog() };
      if (method !== "POST") throw new HttpError(405, "method not allowed");
      const body = await readJson(req);
      switch (action) {
        case "start":
          await instance.start();
          break;
        case "stop":
          await instance.stop();
          break;
        case "crash":
          await instance.crash();
          break;
        case "restart":
          await instance.restart();
          break;
        case "freeze":
          instance.freeze();
          break;
        case "thaw":
          instance.thaw();
          break;
        case "partition":
          instance.partition(requireString(body, "peer"));
          break;
        case "heal":
          instance.heal(requireString(body, "peer"));
          break;
        case "diagnostics": {
          const component = requireString(body, "component");
          const state = requireString(body, "state") as DiagnosticState;
          if (!COMPONENTS.includes(component)) throw new HttpError(400, `component must be one of ${COMPONENTS.join(", ")}`);
          if (!DIAGNOSTIC_STATES.includes(state)) throw new HttpError(400, `state must be one of ${DIAGNOSTIC_STATES.join(", ")}`);
          instance.setDiagnostics(component, state);
          break;
        }
        default:
          throw new HttpError(404, `unknown action '${action ?? ""}'`);
      }
      log("admin_action", { instance: instance.name, action, ...(typeof body.peer === "string" ? { peer: body.peer } : {}) });
      return instance.summary();
    }
    if (method === "POST" && (resource === "partition" || resource === "heal")) {
      const body = await readJson(req);
      const a = requireString(body, "a");
      const b = requireString(body, "b");
      instanceOf(a);
      instanceOf(b);
      if (resource === "partition") cluster.partition(a, b);
      else cluster.heal(a, b);
      log("admin_action", { action: resource, a, b });
      return { ok: true };
    }
    if (method === "POST" && resource === "timings") {
      const body = await readJson(req);
      const scale = body.scale;
      const base = typeof scale === "number" && scale > 0 ? scaleTimings(scale, DEFAULT_TIMINGS) : cluster.timings;
      const next: Record<string, number> = { ...(base as unknown as Record<string, number>) };
      for (const [key, value] of Object.entries(body)) {
        if (key === "scale") continue;
        if (!(key in DEFAULT_TIMINGS) || typeof value !== "number") throw new HttpError(400, `unknown timing '${key}' or not a number`);
        next[key] = value;
      }
      cluster.setTimings(next as unknown as SimTimings);
      log("admin_action", { action: "timings" });
      return { timings: cluster.timings };
    }
    if (method === "POST" && resource === "hosts") {
      // Late-bound name → IP entries for ENDPOINT_URL resolution (pods get their IPs after the process started).
      const body = await readJson(req);
      for (const [host, ip] of Object.entries(body)) {
        if (typeof ip !== "string" || ip === "") throw new HttpError(400, `host '${host}' needs an IP string`);
        cluster.hosts[host.toLowerCase()] = ip;
      }
      log("admin_action", { action: "hosts", hosts: Object.keys(body) });
      return { hosts: cluster.hosts };
    }
    if (method === "POST" && resource === "quirks") {
      const body = await readJson(req);
      const patch: { latch41104?: boolean; bilateralTransportCache?: boolean } = {};
      if (typeof body.latch41104 === "boolean") patch.latch41104 = body.latch41104;
      if (typeof body.bilateralTransportCache === "boolean") patch.bilateralTransportCache = body.bilateralTransportCache;
      cluster.setQuirks(patch);
      return { quirks: cluster.quirks };
    }
    if (method === "GET" && resource === "truth") {
      if (name === "writable") return { nowMs: Date.now(), writable: cluster.writableNow() };
      if (name === "intervals") return { nowMs: Date.now(), intervals: cluster.writableIntervals() };
    }
    throw new HttpError(404, "not found");
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://admin");
    route(req, url)
      .then((body) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      })
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: (err as Error).message }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
