/**
 * The playground's admin hooks: a small HTTP server on a Unix socket (.sqlag-run/playground/control.sock) through
 * which `npm run playground -- fault <action> [pod]` injects faults into the running playground's fake cluster.
 * A socket file, not a TCP port: only local users with access to the checkout can reach it.
 */
import { createServer, request, type Server } from "node:http";
import { existsSync, rmSync } from "node:fs";
import { CONTAINER_MSSQL } from "@sqlag/api";
import type { Lab } from "./lab.js";

export const faultActions = ["crash", "kill-node", "revive-node", "freeze", "thaw", "cut-api", "restore-api", "delete"] as const;
export type FaultAction = (typeof faultActions)[number];

export function isFaultAction(value: string): value is FaultAction {
  return (faultActions as readonly string[]).includes(value);
}

export const faultHelp: Readonly<Record<FaultAction, string>> = {
  crash: "SIGKILL the pod's SQL Server (the kubelet restarts it)",
  "kill-node": "kill every process on the pod's node, no preStop (node loss)",
  "revive-node": "bring the pod's node back",
  freeze: "SIGSTOP the pod's SQL Server (a hung primary)",
  thaw: "SIGCONT it again",
  "cut-api": "cut the pod's agent from the API server (blackhole)",
  "restore-api": "restore the pod's API access",
  delete: "graceful pod delete (preStop switchover)",
};

export interface FaultRequest {
  readonly action: FaultAction;
  /** Default: the pod labelled primary. */
  readonly pod?: string;
}

export class ControlServer {
  private constructor(
    private readonly server: Server,
    readonly socketPath: string,
  ) {}

  static async start(socketPath: string, lab: Lab, agName: string, onFault: (line: string) => void): Promise<ControlServer> {
    if (existsSync(socketPath)) rmSync(socketPath);
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      req.on("end", () => {
        void (async () => {
          try {
            const parsed = JSON.parse(body) as FaultRequest;
            if (!isFaultAction(parsed.action)) throw new Error(`unknown action ${String(parsed.action)}; one of ${faultActions.join(", ")}`);
            const message = await applyFault(lab, agName, parsed);
            onFault(message);
            res.writeHead(200, { "content-type": "text/plain" }).end(`${message}\n`);
          } catch (error) {
            res.writeHead(400, { "content-type": "text/plain" }).end(`${error instanceof Error ? error.message : String(error)}\n`);
          }
        })();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    return new ControlServer(server, socketPath);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.socketPath, { force: true });
  }
}

async function applyFault(lab: Lab, agName: string, request: FaultRequest): Promise<string> {
  const pods = await lab.pods(agName);
  const pod = request.pod ?? pods.find((candidate) => candidate.metadata?.labels?.["sqlag.io/role"] === "primary")?.metadata?.name;
  if (pod === undefined) throw new Error("no pod named and none is labelled primary");
  const ref = { namespace: lab.namespace, name: pod };
  switch (request.action) {
    case "crash":
      lab.faults.crashContainer(ref, CONTAINER_MSSQL);
      break;
    case "kill-node":
      await lab.faults.killNode(lab.faults.nodeOf(ref));
      break;
    case "revive-node": {
      const node = pods.find((candidate) => candidate.metadata?.name === pod)?.spec?.nodeName;
      if (node === undefined) throw new Error(`pod ${pod} has no node`);
      await lab.faults.reviveNode(node);
      break;
    }
    case "freeze":
      lab.faults.freezeContainer(ref, CONTAINER_MSSQL);
      break;
    case "thaw":
      lab.faults.thawContainer(ref, CONTAINER_MSSQL);
      break;
    case "cut-api":
      lab.faults.cutApiAccess(ref, "blackhole");
      break;
    case "restore-api":
      lab.faults.restoreApiAccess(ref);
      break;
    case "delete":
      await lab.faults.deletePod(ref);
      break;
  }
  return `fault ${request.action} on ${pod}`;
}

/** The client side: sends one fault to a running playground and returns its answer. */
export function sendFault(socketPath: string, fault: FaultRequest): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: "/fault", method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(JSON.stringify(fault));
  });
}
