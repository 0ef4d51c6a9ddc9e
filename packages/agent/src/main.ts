#!/usr/bin/env node
/**
 * Composition root of the sidecar agent: the only module that reads the environment, creates the logger, the
 * clock, the Kubernetes and SQL clients, and wires them (CONVENTIONS 8, 12). Exits non-zero with every
 * configuration problem listed; shuts down gracefully on SIGTERM (the native sidecar stops after SQL Server).
 */
import { readFileSync } from "node:fs";
import winston from "winston";
import { hadrSecretKeys } from "@sqlag/api";
import { CoreV1EventSink, EventRecorder, describeKubeError, loadKubeConfig, systemClock } from "@sqlag/kube";
import { ConfigError, loadAgentConfig, type AgentConfig } from "./config.js";
import { AgentMetrics } from "./http/metrics.js";
import { createAgentApp, listen, type AgentHttpHandlers } from "./http/server.js";
import { AgentLoop } from "./runtime/agent-loop.js";
import { agentConnectionOpener, type EndpointBase } from "./runtime/credentials.js";
import { AgentKube, toHadrSecret } from "./runtime/kube-io.js";
import { StandaloneAgent } from "./runtime/standalone.js";
import { ReconnectingSqlConnection } from "./sql/connection.js";
import { DiagnosticsMonitor } from "./sql/diagnostics-monitor.js";
import { FakeDnsTable } from "./runtime/fake-dns.js";
import { podFqdn } from "@sqlag/api";

const VERSION = "0.1.0";

function endpointBase(config: AgentConfig): EndpointBase {
  const base: EndpointBase = {
    host: config.sql.host,
    port: config.sql.port,
    encrypt: config.sql.encrypt,
    trustServerCertificate: config.sql.trustServerCertificate,
    connectTimeoutMs: 3000,
    requestTimeoutMs: 10_000,
  };
  if (config.sql.caFile !== undefined) base.caPem = readFileSync(config.sql.caFile, "utf8");
  return base;
}

async function main(): Promise<void> {
  let config: Readonly<AgentConfig>;
  try {
    config = loadAgentConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const problem of e.problems) console.error(`sqlag-agent: configuration problem: ${problem}`);
      process.exit(2);
    }
    throw e;
  }
  const logger = winston.createLogger({
    level: config.logLevel,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { component: "agent", pod: config.podName, ...(config.mode === "availability-group" ? { ag: config.agName } : {}) },
    transports: [new winston.transports.Console()],
  });
  const clock = systemClock;
  const metrics = new AgentMetrics(VERSION);
  const base = endpointBase(config);
  const shutdown = new AbortController();

  let agentPassword: string | undefined;
  const credentials = { saPassword: () => config.sql.saPassword, agentLoginPassword: () => agentPassword };
  const opener = (appName: string) => agentConnectionOpener(base, credentials, appName);
  const diagnostics = new DiagnosticsMonitor({
    open: opener("sqlag-agent-diagnostics"),
    intervalSeconds: Math.max(5, Math.round(config.healthCheckIntervalMs / 1000)),
    clock,
    reconnectDelayMs: 1000,
  });

  let handlers: AgentHttpHandlers & { stop(): Promise<void> };
  let beforeExit: () => Promise<void> = async () => undefined;
  if (config.mode === "standalone") {
    const agent = new StandaloneAgent({
      config,
      clock,
      sql: ReconnectingSqlConnection.fromOptions(() => ({ ...base, userName: "sa", password: config.sql.saPassword, appName: "sqlag-agent" })),
      diagnostics: new DiagnosticsMonitor({
        open: (signal) => ReconnectingSqlConnection.fromOptions(() => ({ ...base, userName: "sa", password: config.sql.saPassword, appName: "sqlag-agent-diagnostics" })).get(signal),
        intervalSeconds: Math.max(5, Math.round(config.healthCheckIntervalMs / 1000)),
        clock,
        reconnectDelayMs: 1000,
      }),
      metrics,
      logger,
      version: VERSION,
      loopIntervalMs: 2000,
    });
    handlers = agent;
    agent.start();
  } else {
    const kc = loadKubeConfig();
    const kube = new AgentKube({
      kc,
      clock,
      namespace: config.namespace,
      clusterName: config.clusterName,
      onInformerEvent: (event) =>
        event.type === "failed" ? logger.warn("Watch failed; restarting", { informer: event.informer, err: event.err, restartInMs: event.restartInMs }) : logger.debug("Watch event", event),
    });
    kube.onSecret((secret) => (agentPassword = safeAgentPassword(secret) ?? agentPassword));
    await kube.start(shutdown.signal);
    const events = new EventRecorder({
      sink: CoreV1EventSink.fromKubeConfig(kc),
      clock,
      component: "sqlag-agent",
      instance: config.podName,
      onError: (err) => logger.debug("Event not recorded", { err: describeKubeError(err) }),
    });
    const loop = new AgentLoop({
      config,
      clock,
      kube,
      observeSql: new ReconnectingSqlConnection(opener("sqlag-agent-observe")),
      leaseSql: new ReconnectingSqlConnection(opener("sqlag-agent-lease")),
      actionSql: new ReconnectingSqlConnection(opener("sqlag-agent-action")),
      diagnostics,
      metrics,
      logger,
      events,
      version: VERSION,
      ...(config.fakeDnsFile !== undefined ? { peerBaseUrl: fakePeerBaseUrl(new FakeDnsTable(config.fakeDnsFile), config) } : {}),
    });
    handlers = loop;
    beforeExit = () => loop.releaseIfSafe();
    loop.start();
  }
  diagnostics.start();

  const server = await listen(createAgentApp(handlers, metrics), config.httpPort, config.httpBindAddress);
  logger.info("Agent started", { mode: config.mode, httpPort: config.httpPort, version: VERSION });

  const stop = async (signal: string): Promise<void> => {
    logger.info("Shutting down", { signal });
    shutdown.abort(new Error(signal));
    await handlers.stop();
    await beforeExit();
    await diagnostics.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

function fakePeerBaseUrl(dns: FakeDnsTable, config: { clusterName: string; namespace: string; clusterDomain: string; httpPort: number }): (pod: string) => string | undefined {
  return (pod) => {
    const address = dns.resolve(podFqdn(pod, config.clusterName, config.namespace, config.clusterDomain));
    return address === undefined ? undefined : `http://${address}:${config.httpPort}`;
  };
}

function safeAgentPassword(secret: Parameters<typeof toHadrSecret>[0]): string | undefined {
  try {
    return toHadrSecret(secret).agentLoginPassword;
  } catch {
    const raw = secret.data?.[hadrSecretKeys.agentLoginPassword];
    return raw === undefined ? undefined : Buffer.from(raw, "base64").toString("utf8");
  }
}

main().catch((e: unknown) => {
  console.error("sqlag-agent: fatal", e instanceof Error ? e.message : e);
  process.exit(1);
});
