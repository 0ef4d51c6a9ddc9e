/**
 * One simulated SQL Server process: its engine, a TDS listener on (host, port), the mirroring endpoint listener
 * (inside ServerModel), a data directory, and the process states of the brief: running, stopped (connection
 * refused), frozen (sockets open, nothing answered, timers stopped), plus a startup delay.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimEngine } from "./engine/engine.js";
import { DEFAULT_QUIRKS, ServerModel, type DiagnosticState, type Quirks, type WritableInterval } from "./engine/server-model.js";
import { DEFAULT_TIMINGS, type SimTimings } from "./engine/timings.js";
import type { Engine } from "./tds/engine-port.js";

export type ProcessState = "stopped" | "starting" | "running" | "frozen";

export interface TdsServerHandle {
  address: { host: string; port: number };
  close(): Promise<void>;
  destroyAllConnections(): void;
  freeze(): void;
  thaw(): void;
}

export interface TdsServerFactory {
  startTdsServer(opts: { host: string; port: number; engine: Engine; tls?: { key: string; cert: string }; log?: (line: string) => void }): Promise<TdsServerHandle>;
  createSelfSignedCertificate?(cn: string, altNames: string[]): { key: string; cert: string };
}

export interface SqlInstanceOptions {
  name: string;
  /** IP the TDS port and the mirroring endpoint listen on (a pod's loopback IP in the e2e cluster). */
  host?: string;
  /** TDS port; 0 picks a free port on first start and keeps it across restarts. */
  port?: number;
  /** Listen for the mirroring endpoint here instead of the endpoint DDL's LISTENER_PORT. */
  endpointPort?: number;
  /** Data directory (created if missing); a temporary one when omitted. */
  dataDir?: string;
  saPassword: string;
  tls?: { key: string; cert: string } | "self-signed";
  timings?: SimTimings;
  quirks?: Quirks;
  /** Host-name → IP map used to resolve ENDPOINT_URLs (shared by reference, so a cluster can add names later). */
  hosts?: Record<string, string>;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Provide the TDS layer (defaults to ./tds/server.js); tests that drive the engine directly pass `null`. */
  tds?: TdsServerFactory | null;
  now?: () => number;
}

let defaultTdsFactory: Promise<TdsServerFactory> | null = null;

/** The TDS server module is loaded lazily so the engine can be used without the protocol layer. */
async function loadTdsFactory(): Promise<TdsServerFactory> {
  const serverModule = "./tds/server.js";
  const certModule = "./tds/tls-cert.js";
  defaultTdsFactory ??= (async () => {
    const server = (await import(serverModule)) as TdsServerFactory;
    let createSelfSignedCertificate: TdsServerFactory["createSelfSignedCertificate"];
    try {
      createSelfSignedCertificate = ((await import(certModule)) as TdsServerFactory).createSelfSignedCertificate;
    } catch {
      createSelfSignedCertificate = undefined;
    }
    return createSelfSignedCertificate ? { startTdsServer: server.startTdsServer, createSelfSignedCertificate } : { startTdsServer: server.startTdsServer };
  })();
  return defaultTdsFactory;
}

export class SqlInstance {
  state: ProcessState = "stopped";
  model: ServerModel | null = null;
  engine: SimEngine | null = null;
  private tds: TdsServerHandle | null = null;
  readonly dataDir: string;
  readonly host: string;
  port: number;
  timings: SimTimings;
  quirks: Quirks;
  /** Survive restarts: injected faults belong to the environment, not the process. */
  readonly partitions = new Set<string>();
  readonly diagnostics = new Map<string, DiagnosticState>();
  private readonly history: WritableInterval[] = [];
  private readonly statements: { atMs: number; session: number; text: string; error?: number }[] = [];
  private tls: { key: string; cert: string } | undefined;
  private startGeneration = 0;

  constructor(readonly options: SqlInstanceOptions) {
    this.host = options.host ?? "127.0.0.1";
    this.port = options.port ?? 0;
    this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `mssql-sim-${options.name}-`));
    this.timings = options.timings ?? DEFAULT_TIMINGS;
    this.quirks = options.quirks ?? DEFAULT_QUIRKS;
  }

  get name(): string {
    return this.options.name;
  }

  private log(event: string, fields: Record<string, unknown>): void {
    this.options.log?.(event, fields);
  }

  /** Start the process: after the startup delay the TDS port answers; AG replicas come up RESOLVING. */
  async start(): Promise<void> {
    if (this.state !== "stopped") return;
    this.state = "starting";
    const generation = ++this.startGeneration;
    this.log("instance_starting", { instance: this.name });
    await new Promise((resolve) => setTimeout(resolve, this.timings.startupMs));
    if (generation !== this.startGeneration) return;
    const modelOptions: ConstructorParameters<typeof ServerModel>[0] = {
      serverName: this.name,
      saPassword: this.options.saPassword,
      dataDir: this.dataDir,
      host: this.host,
      timings: this.timings,
      quirks: this.quirks,
      hosts: this.options.hosts ?? {},
      log: (event, fields) => this.log(event, fields),
    };
    if (this.options.endpointPort !== undefined) modelOptions.endpointPortOverride = this.options.endpointPort;
    if (this.options.now) modelOptions.now = this.options.now;
    const model = new ServerModel(modelOptions);
    // Environment faults outlive the process.
    for (const peer of this.partitions) model.partitionedPeers.add(peer);
    for (const [component, state] of this.diagnostics) model.diagnostics.set(component, state);
    await model.start();
    this.model = model;
    this.engine = new SimEngine(model);
    const factory = this.options.tds === undefined ? await loadTdsFactory() : this.options.tds;
    if (factory) {
      if (this.options.tls === "self-signed") {
        if (!factory.createSelfSignedCertificate) throw new Error("TDS layer offers no createSelfSignedCertificate");
        this.tls ??= factory.createSelfSignedCertificate(this.name, [this.name, this.host, "localhost"]);
      } else if (this.options.tls) this.tls = this.options.tls;
      const tdsOptions: Parameters<TdsServerFactory["startTdsServer"]>[0] = {
        host: this.host,
        port: this.port,
        engine: this.engine,
        log: (line) => this.log("tds", { instance: this.name, line }),
      };
      if (this.tls) tdsOptions.tls = this.tls;
      this.tds = await factory.startTdsServer(tdsOptions);
      this.port = this.tds.address.port;
    }
    this.state = "running";
    this.log("instance_running", { instance: this.name, host: this.host, port: this.port });
  }

  private async shutdown(crash: boolean): Promise<void> {
    this.startGeneration++;
    const model = this.model;
    const tds = this.tds;
    this.tds = null;
    if (tds) {
      if (crash) tds.destroyAllConnections();
      else tds.destroyAllConnections();
      await tds.close();
    }
    if (model) {
      if (this.state === "frozen") model.thaw();
      await model.stop();
      this.history.push(...model.writableHistory);
      this.statements.push(...model.statementLog);
      if (this.statements.length > 5000) this.statements.splice(0, this.statements.length - 5000);
    }
    this.model = null;
    this.engine = null;
    this.state = "stopped";
  }

  /** Clean stop (SHUTDOWN): sessions closed, data on disk. */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    await this.shutdown(false);
    this.log("instance_stopped", { instance: this.name });
  }

  /** Crash (kill -9): connections reset; only hardened log survives, which is all of it by construction. */
  async crash(): Promise<void> {
    if (this.state === "stopped") return;
    await this.shutdown(true);
    this.log("instance_crashed", { instance: this.name });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** SIGSTOP equivalent: sockets stay open, nothing is answered, timers stop. */
  freeze(): void {
    if (this.state !== "running") return;
    this.tds?.freeze();
    this.model?.freeze();
    this.state = "frozen";
    this.log("instance_frozen", { instance: this.name });
  }

  thaw(): void {
    if (this.state !== "frozen") return;
    this.state = "running";
    this.model?.thaw();
    this.tds?.thaw();
    this.log("instance_thawed", { instance: this.name });
  }

  /** Drop all endpoint traffic to and from `peer` (by server name) on this side. */
  partition(peer: string): void {
    this.partitions.add(peer.toLowerCase());
    this.model?.partitionedPeers.add(peer.toLowerCase());
    this.log("partitioned", { instance: this.name, peer });
  }

  heal(peer: string): void {
    this.partitions.delete(peer.toLowerCase());
    this.model?.partitionedPeers.delete(peer.toLowerCase());
    this.log("healed", { instance: this.name, peer });
  }

  setDiagnostics(component: string, state: DiagnosticState): void {
    this.diagnostics.set(component, state);
    this.model?.diagnostics.set(component, state);
  }

  setTimings(timings: SimTimings): void {
    this.timings = timings;
    if (this.model) this.model.timings = timings;
  }

  setQuirks(quirks: Quirks): void {
    this.quirks = quirks;
    if (this.model) this.model.quirks = quirks;
  }

  // ---- ground truth ---------------------------------------------------------------------------------------------

  /** AGs whose primary on this instance accepts writes right now. */
  writableAgs(): string[] {
    if (!this.model || this.state !== "running") return [];
    return [...this.model.ags.values()].filter((ag) => this.model?.canWriteNow(ag)).map((ag) => ag.config.name);
  }

  writableIntervals(): WritableInterval[] {
    return [...this.history, ...(this.model?.writableHistory ?? [])];
  }

  /** Keys committed (hardened) in `db` on this instance; read from disk while the process is down. */
  committedKeys(db: string): string[] {
    if (this.model) return [...(this.model.dbs.get(db.toLowerCase())?.kv.keys() ?? [])];
    const offline = new ServerModel({ serverName: this.name, saPassword: this.options.saPassword, dataDir: this.dataDir, host: this.host });
    const record = offline.catalog.databases.find((d) => d.name.toLowerCase() === db.toLowerCase());
    if (!record) return [];
    return [...new Set(offline.store.readLog(record.databaseId).map((e) => e.key))];
  }

  statementLog(): { atMs: number; session: number; text: string; error?: number }[] {
    return [...this.statements, ...(this.model?.statementLog ?? [])];
  }

  /** A compact view for admin clients: process state and per-AG role/sequence. */
  summary(): Record<string, unknown> {
    return {
      name: this.name,
      state: this.state,
      host: this.host,
      port: this.port,
      dataDir: this.dataDir,
      partitions: [...this.partitions],
      ags: this.model
        ? [...this.model.ags.values()].map((ag) => ({
            name: ag.config.name,
            role: ag.role,
            pendingRole: ag.pendingRole?.target ?? null,
            sequenceNumber: ag.config.sequenceNumber,
            writable: this.model?.canWriteNow(ag) ?? false,
            leaseExpiresAtMs: ag.leaseExpiresAtMs,
            latch41104: ag.latch41104,
          }))
        : [],
    };
  }
}
