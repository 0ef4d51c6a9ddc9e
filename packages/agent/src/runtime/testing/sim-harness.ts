/**
 * Simulator-tier harness: N mssql-sim instances in-process, each on its own loopback IP (so every instance can
 * listen on the spec's one endpoint port and every agent on the one HTTP port, as pods do), and N real
 * `AgentLoop`s with their real SQL adapters (tedious over TCP, TLS with the simulator's self-signed certificate)
 * on one `FakeCluster`. Endpoint host names (`<pod>.<ag>-hl.<ns>.svc.<domain>`) resolve to the instances
 * through the simulator's host map.
 */
import { request as httpRequest, type Server } from "node:http";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { Writable } from "node:stream";
import winston from "winston";
import { agentPaths, hadrSecretKeys, type PreStopResponse, type SQLServerAvailabilityGroup } from "@sqlag/api";
import { systemClock } from "@sqlag/kube";
import { SimCluster } from "@sqlag/mssql-sim/cluster";
import type { SimTimings } from "@sqlag/mssql-sim/engine/timings";
import { DEFAULT_QUIRKS } from "@sqlag/mssql-sim/engine/server-model";
import type { AvailabilityGroupAgentConfig } from "../../config.js";
import { DEFAULT_DECIDE_POLICY, type DecidePolicy, type DecideTiming } from "../../core/index.js";
import { AgentMetrics } from "../../http/metrics.js";
import { createAgentApp, listen } from "../../http/server.js";
import { ReconnectingSqlConnection, SqlConnection } from "../../sql/connection.js";
import { DiagnosticsMonitor } from "../../sql/diagnostics-monitor.js";
import type { Statement } from "../../sql/statements.js";
import { AgentLoop } from "../agent-loop.js";
import { agentConnectionOpener, type EndpointBase } from "../credentials.js";
import { FakeCluster } from "./fake-cluster.js";

export const SIM_SA_PASSWORD = "Sim-Harness-Passw0rd!";

/** Scaled-down simulator timings; the SQL write lease stays in real seconds (the agents' safety argument uses them). */
export const HARNESS_SIM_TIMINGS: SimTimings = {
  startupMs: 100,
  roleChangeDelayMs: 150,
  defaultSessionTimeoutSeconds: 10,
  sessionTimeoutScale: 100,
  heartbeatMs: 100,
  reconnectMs: 150,
  seedingMs: 300,
  joinConfigWaitMs: 5000,
  commitWaitLimitMs: 3000,
  diagnosticsFirstResultMs: 50,
  diagnosticsIntervalScale: 100,
  leaseScale: 1000,
  earlyReconnectWindowMs: 1000,
  connectTimeoutMs: 1000,
};

/**
 * Short agent timings: W + renewDeadline + margin (2) = 5 + 2 + 2 <= leaseDuration 9. W is 5, not lower: the
 * simulator refuses WRITE_LEASE_VALIDITY below 5 s with 47117 (its own, undocumented range; see the report).
 */
export const HARNESS_TIMING_SECONDS = { leaseDurationSeconds: 9, renewIntervalSeconds: 1, renewDeadlineSeconds: 2, sqlWriteLeaseSeconds: 5 } as const;

export interface HarnessAgent {
  pod: string;
  ip: string;
  loop: AgentLoop;
  diagnostics: DiagnosticsMonitor;
  server: Server;
  logs: string[];
  /** False once `stopAgent` ran (the agent process is gone; its HTTP port refuses). */
  running: boolean;
}

export interface SimHarnessOptions {
  cr: SQLServerAvailabilityGroup;
  /** Third octet of the 127.x.y.z addresses, so parallel runs do not collide. */
  subnet?: number;
  simTimings?: SimTimings;
  policy?: Partial<DecidePolicy>;
}

/** Binds `port` (0 = any) on `host` and releases it; resolves the port, or undefined when it is taken. */
function probePort(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** A port free on every one of `hosts` (each instance and agent listens on its own address with the same port). */
async function freePortOnAll(hosts: readonly string[], exclude: readonly number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below Linux's ephemeral range (32768–60999), so no outgoing connection can take the port before we bind it.
    const port = await probePort(hosts[0]!, 20000 + Math.floor(Math.random() * 12768));
    if (port === undefined || exclude.includes(port)) continue;
    const free = await Promise.all(hosts.slice(1).map((h) => probePort(h, port)));
    if (free.every((p) => p === port)) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(", ")}`);
}

export class SimHarness {
  readonly sim: SimCluster;
  readonly agents: HarnessAgent[] = [];
  cluster!: FakeCluster;
  /** Monotonic time (performance.now) at which the last SQL instance answered. */
  lastInstanceReadyAtMs = 0;
  private httpPort = 0;
  private readonly ips: string[] = [];
  /** Agents whose HTTP traffic to and from their peers is dropped (a network partition between agents). */
  private readonly peerTrafficCut = new Set<string>();

  constructor(private readonly options: SimHarnessOptions) {
    this.sim = new SimCluster({ saPassword: SIM_SA_PASSWORD, timings: options.simTimings ?? HARNESS_SIM_TIMINGS, quirks: DEFAULT_QUIRKS });
  }

  get clusterName(): string {
    return this.options.cr.metadata.name;
  }

  podName(ordinal: number): string {
    return `${this.clusterName}-${ordinal}`;
  }

  /** Starts the SQL instances (one per spec replica), then the agents. */
  async start(): Promise<void> {
    const cr = structuredClone(this.options.cr);
    const subnet = this.options.subnet ?? 100 + (process.pid % 100);
    const replicas = cr.spec.replicas.length;
    for (let i = 0; i < replicas; i++) this.ips.push(`127.77.${subnet}.${i + 1}`);
    for (let i = 0; i < replicas; i++) await this.sim.add({ name: this.podName(i), host: this.ips[i]!, tls: "self-signed" });
    this.lastInstanceReadyAtMs = performance.now();
    // Chosen after the TDS listeners took their ports, and free on every address.
    cr.spec.endpointPort = await freePortOnAll(this.ips);
    this.httpPort = await freePortOnAll(this.ips, [cr.spec.endpointPort]);
    this.cluster = new FakeCluster({ clock: systemClock, cr, podIp: (ordinal) => this.ips[ordinal]! });
    for (let i = 0; i < replicas; i++) this.agents.push(await this.startAgent(i));
  }

  private config(ordinal: number): AvailabilityGroupAgentConfig {
    const t = HARNESS_TIMING_SECONDS;
    const timing: DecideTiming = {
      loopIntervalMs: 250,
      leaseDurationMs: t.leaseDurationSeconds * 1000,
      renewIntervalMs: t.renewIntervalSeconds * 1000,
      renewDeadlineMs: t.renewDeadlineSeconds * 1000,
      sqlWriteLeaseMs: t.sqlWriteLeaseSeconds * 1000,
      leaseSafetyMarginMs: 2000,
      healthCheckIntervalMs: 5000,
      healthCheckGraceMs: 2000,
      failoverThresholdMs: 10_000,
      disablePrimaryOnQuorumTimeoutMs: 60_000,
    };
    const instance = this.sim.get(this.podName(ordinal));
    return {
      mode: "availability-group",
      httpBindAddress: this.ips[ordinal]!,
      clusterName: this.clusterName,
      namespace: this.cluster.namespace,
      podName: this.podName(ordinal),
      podIp: this.ips[ordinal]!,
      httpPort: this.httpPort,
      logLevel: "info",
      sql: { host: instance.host, port: instance.port, encrypt: true, trustServerCertificate: true, saPassword: SIM_SA_PASSWORD },
      healthCheckIntervalMs: timing.healthCheckIntervalMs,
      healthThreshold: "system",
      agName: this.options.cr.spec.agName,
      endpointPort: this.cluster.cr.spec.endpointPort ?? 5022,
      clusterDomain: "cluster.local",
      hadrSecretDir: "/nonexistent",
      timing,
      policy: {
        ...DEFAULT_DECIDE_POLICY.policy,
        candidateDelayStepMs: 500,
        contentionBackOffMs: 3000,
        retryBackOffMs: 1000,
        stuckBeforeEndpointRestartMs: 5000,
        endpointRestartMinIntervalMs: 10_000,
        ...this.options.policy,
      },
    };
  }

  private async startAgent(ordinal: number): Promise<HarnessAgent> {
    const config = this.config(ordinal);
    const pod = config.podName;
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString("utf8").trimEnd());
        if (logs.length > 2000) logs.splice(0, logs.length - 2000);
        done();
      },
    });
    const logger = winston.createLogger({
      level: "info",
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      defaultMeta: { pod },
      transports: [new winston.transports.Stream({ stream: sink })],
    });
    const base: EndpointBase = {
      host: config.sql.host,
      port: config.sql.port,
      encrypt: config.sql.encrypt,
      trustServerCertificate: config.sql.trustServerCertificate,
      connectTimeoutMs: 1500,
      requestTimeoutMs: 5000,
    };
    const cluster = this.cluster;
    const credentials = {
      saPassword: () => SIM_SA_PASSWORD,
      agentLoginPassword: () => {
        const raw = cluster.hadrSecret().data?.[hadrSecretKeys.agentLoginPassword];
        return raw === undefined ? undefined : Buffer.from(raw, "base64").toString("utf8");
      },
    };
    const opener = (appName: string): ((signal?: AbortSignal) => Promise<SqlConnection>) => agentConnectionOpener(base, credentials, appName);
    const diagnostics = new DiagnosticsMonitor({ open: opener("sqlag-agent-diagnostics"), intervalSeconds: 5, clock: systemClock, reconnectDelayMs: 250 });
    const metrics = new AgentMetrics("test");
    const loop = new AgentLoop({
      config,
      clock: systemClock,
      kube: cluster.portFor(pod),
      observeSql: new ReconnectingSqlConnection(opener("sqlag-agent-observe")),
      leaseSql: new ReconnectingSqlConnection(opener("sqlag-agent-lease")),
      actionSql: new ReconnectingSqlConnection(opener("sqlag-agent-action")),
      diagnostics,
      metrics,
      logger,
      events: cluster.eventRecorder(pod),
      version: "test",
      peerBaseUrl: (peer) => {
        if (this.peerTrafficCut.has(pod) || this.peerTrafficCut.has(peer)) return undefined;
        const ip = cluster.pod(peer)?.status?.podIP;
        return ip === undefined ? undefined : `http://${ip}:${this.httpPort}`;
      },
    });
    const server = await listen(createAgentApp(loop, metrics), this.httpPort, config.httpBindAddress);
    diagnostics.start();
    loop.start();
    return { pod, ip: config.podIp ?? "", loop, diagnostics, server, logs, running: true };
  }

  private async shutdownAgent(a: HarnessAgent): Promise<void> {
    a.running = false;
    // Peers keep HTTP connections alive; close() alone would wait for them.
    const closed = new Promise<void>((resolve) => a.server.close(() => resolve()));
    a.server.closeAllConnections();
    await Promise.all([a.loop.stop(), a.diagnostics.stop(), closed]);
  }

  /**
   * The agent process dies (container crash, node loss, SIGKILL): its loop, health monitor and HTTP API stop
   * without releasing the Lease or touching SQL. The SQL instance is left as it is.
   */
  async stopAgent(pod: string): Promise<void> {
    const agent = this.agent(pod);
    if (agent.running) await this.shutdownAgent(agent);
  }

  /** A fresh agent process for `pod` (new memory, new monotonic start), as the kubelet restarts a container. */
  async restartAgent(pod: string): Promise<HarnessAgent> {
    await this.stopAgent(pod);
    const index = this.agents.findIndex((a) => a.pod === pod);
    const ordinal = this.agents[index] !== undefined ? this.ips.indexOf(this.agents[index].ip) : -1;
    if (ordinal < 0) throw new Error(`no agent slot for ${pod}`);
    const fresh = await this.startAgent(ordinal);
    const logs = this.agents[index]!.logs;
    // Keep the earlier incarnation's log lines in front, for a failed test's output.
    fresh.logs.unshift(...logs.slice(-200), `---- ${pod} agent restarted`);
    this.agents[index] = fresh;
    return fresh;
  }

  /** The kubelet's preStop hook: GET /v1/prestop on the pod's own agent, from the pod's own address. */
  preStop(pod: string, timeoutMs = 60_000): Promise<PreStopResponse> {
    const agent = this.agent(pod);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: agent.ip, port: this.httpPort, path: agentPaths.preStop, method: "GET", localAddress: agent.ip, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 200) reject(new Error(`preStop answered ${res.statusCode}: ${body}`));
            else resolve(JSON.parse(body) as PreStopResponse);
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("preStop timed out")));
      req.on("error", reject);
      req.end();
    });
  }

  /** Drops `pod`'s agent-to-agent HTTP traffic (both directions) until `restorePeerTraffic`. */
  cutPeerTraffic(pod: string): void {
    this.peerTrafficCut.add(pod);
  }

  restorePeerTraffic(pod: string): void {
    this.peerTrafficCut.delete(pod);
  }

  agent(pod: string): HarnessAgent {
    const agent = this.agents.find((a) => a.pod === pod);
    if (agent === undefined) throw new Error(`no agent for ${pod}`);
    return agent;
  }

  /** A client connection as sa to one instance (the test's own workload client). */
  async client(pod: string): Promise<SqlConnection> {
    const instance = this.sim.get(pod);
    return SqlConnection.open({
      host: instance.host,
      port: instance.port,
      userName: "sa",
      password: SIM_SA_PASSWORD,
      encrypt: true,
      trustServerCertificate: true,
      connectTimeoutMs: 1500,
      requestTimeoutMs: 5000,
      appName: "sim-harness-workload",
    });
  }

  /** One statement on a fresh connection (closed afterwards). */
  async run(pod: string, statement: Statement): Promise<void> {
    const connection = await this.client(pod);
    try {
      await connection.execute(statement);
    } finally {
      await connection.close();
    }
  }

  /** The last `lines` log lines of every agent, for a failed test's output. */
  dumpLogs(lines = 60): string {
    return this.agents.map((a) => `---- ${a.pod}\n${a.logs.slice(-lines).join("\n")}`).join("\n");
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.agents.filter((a) => a.running).map((a) => this.shutdownAgent(a)));
    await this.sim.close();
    // Each instance keeps its data in a temporary directory; many scenarios would otherwise fill /tmp.
    for (const instance of this.sim.instances.values()) rmSync(instance.dataDir, { recursive: true, force: true });
  }
}

/** Polls `probe` until it returns a truthy value (returned) or `timeoutMs` passes (throws with the last state). */
export async function eventually<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      lastError = e;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
