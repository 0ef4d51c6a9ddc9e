/**
 * The agent's HTTP API (ARCHITECTURE §4.10). Read-only endpoints expose state without secrets; mutating ones
 * (/v1/failsafe, /v1/sequence) require the peer token from the `<ag>-hadr` Secret; /v1/prestop is called by
 * the pod's own preStop hook over the pod network, so it accepts loopback/pod-IP callers only.
 * Liveness reflects only the agent loop and never calls the API server (ha-peers.md §5 #10).
 */
import { timingSafeEqual } from "node:crypto";
import type { Server } from "node:http";
import express, { type Request, type Response } from "express";
import { agentPaths, PEER_TOKEN_HEADER, type AgentStatus, type FailsafeAck, type FailsafeHeartbeat, type PreStopResponse, type SequenceReport, type SequenceReportRequest } from "@sqlag/api";
import type { AgentMetrics } from "./metrics.js";

export interface Check {
  ok: boolean;
  detail: string;
}

/** What the HTTP layer needs from the agent runtime: a port, so the server has no knowledge of the loop. */
export interface AgentHttpHandlers {
  liveness(): Check;
  readiness(): Check;
  status(): AgentStatus;
  /** 200 only when this pod is the writable primary (holder, PRIMARY, write lease valid). */
  primary(): Check;
  /** 200 only when this pod is a healthy secondary. */
  replica(): Check;
  preStop(signal: AbortSignal): Promise<PreStopResponse>;
  failsafe(heartbeat: FailsafeHeartbeat): Promise<FailsafeAck | undefined>;
  sequence(request: SequenceReportRequest): Promise<SequenceReport>;
  /** Peer token, or undefined until the Secret carries one (mutating calls are refused meanwhile). */
  peerToken(): string | undefined;
  /** Addresses allowed to call /v1/prestop (loopback and the pod's own IP). */
  preStopCallers(): readonly string[];
  /** Upper bound for a preStop call (the pod's grace period minus SQL Server's shutdown time). */
  preStopTimeoutMs(): number;
}

function tokenMatches(expected: string | undefined, given: string | undefined): boolean {
  if (expected === undefined || given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function normaliseAddress(address: string | undefined): string {
  return (address ?? "").replace(/^::ffff:/, "");
}

export function createAgentApp(handlers: AgentHttpHandlers, metrics: AgentMetrics): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(express.json({ limit: "16kb" }));

  const sendCheck = (res: Response, check: Check): void => {
    res.status(check.ok ? 200 : 503).type("text/plain").send(check.detail);
  };
  const requirePeer = (req: Request, res: Response): boolean => {
    if (tokenMatches(handlers.peerToken(), req.header(PEER_TOKEN_HEADER))) return true;
    res.status(403).json({ error: "peer token missing or wrong" });
    return false;
  };

  app.get(agentPaths.livez, (_req, res) => sendCheck(res, handlers.liveness()));
  app.get(agentPaths.readyz, (_req, res) => sendCheck(res, handlers.readiness()));
  app.get(agentPaths.primary, (_req, res) => sendCheck(res, handlers.primary()));
  app.get(agentPaths.replica, (_req, res) => sendCheck(res, handlers.replica()));
  app.get(agentPaths.status, (_req, res) => {
    res.json(handlers.status());
  });
  app.get(agentPaths.metrics, async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const preStop = async (req: Request, res: Response): Promise<void> => {
    const caller = normaliseAddress(req.socket.remoteAddress);
    if (!handlers.preStopCallers().includes(caller)) {
      res.status(403).json({ error: `preStop is accepted only from the pod itself, not ${caller}` });
      return;
    }
    const signal = AbortSignal.timeout(handlers.preStopTimeoutMs());
    res.json(await handlers.preStop(signal));
  };
  // The kubelet's preStop httpGet uses GET; POST is accepted for manual use.
  app.get(agentPaths.preStop, preStop);
  app.post(agentPaths.preStop, preStop);

  app.post(agentPaths.failsafe, async (req, res) => {
    if (!requirePeer(req, res)) return;
    const body = req.body as Partial<FailsafeHeartbeat>;
    if (typeof body.holder !== "string" || typeof body.epoch !== "number" || typeof body.heartbeatId !== "string") {
      res.status(400).json({ error: "expected {holder, epoch, heartbeatId}" });
      return;
    }
    const ack = await handlers.failsafe({ holder: body.holder, epoch: body.epoch, heartbeatId: body.heartbeatId });
    if (ack === undefined) res.status(409).json({ error: "heartbeat refused: holder or epoch does not match this agent's view" });
    else res.json(ack);
  });

  app.post(agentPaths.sequence, async (req, res) => {
    if (!requirePeer(req, res)) return;
    const body = req.body as Partial<SequenceReportRequest>;
    if (typeof body.epoch !== "number" || typeof body.candidate !== "string") {
      res.status(400).json({ error: "expected {epoch, candidate}" });
      return;
    }
    res.json(await handlers.sequence({ epoch: body.epoch, candidate: body.candidate }));
  });

  app.use((_req, res) => {
    res.status(404).json({ error: "not found" });
  });
  return app;
}

export function listen(app: express.Express, port: number, host = "0.0.0.0"): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
  });
}
