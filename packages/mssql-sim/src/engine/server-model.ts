/**
 * The behavioural model of one SQL Server instance: catalog, databases, mirroring endpoint, and its replicas of
 * availability groups, with replication to other instances over real TCP links (link.ts).
 *
 * Rules encoded here cite tds-and-sqlserver.md Part B (B2–B5), pacemaker-agent.md (§3–§5) and the peer
 * operator's field notes (peer-sql-on-k8s-operator.md §4.6–§4.8, LESSONS L13/L15).
 */
import { randomUUID } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP, createConnection, createServer, type Server, type Socket } from "node:net";
import { Errors, SqlError } from "./errors.js";
import { Link, type DbStatus, type LinkMessage } from "./link.js";
import {
  emptyCatalog,
  sameName,
  SYSTEM_DATABASES,
  type AgConfig,
  type Catalog,
  type DatabaseRecord,
  type LocalAg,
  type LogEntry,
  type ReplicaConfig,
  type Role,
  type SyncState,
} from "./model.js";
import { DataStore } from "./store.js";
import { DEFAULT_TIMINGS, type SimTimings } from "./timings.js";

export interface Quirks {
  /** 41104 latch after a too-early reconnect of a deposed primary (peer operator §4.7, LESSONS L13). */
  latch41104: boolean;
  /** Stale mirroring transport cleared only by restarting BOTH endpoints (peer operator §4.8, LESSONS L15). */
  bilateralTransportCache: boolean;
}

export const DEFAULT_QUIRKS: Quirks = { latch41104: true, bilateralTransportCache: true };

export type DiagnosticComponent = "system" | "resource" | "query_processing" | "io_subsystem" | "events";
export type DiagnosticState = "unknown" | "clean" | "warning" | "error";

export interface ServerModelOptions {
  serverName: string;
  saPassword: string;
  dataDir: string | null;
  /** Address the mirroring endpoint listens on (the instance's own IP). */
  host: string;
  /** Listen on this port instead of the endpoint's LISTENER_PORT (tests running many instances on one IP). */
  endpointPortOverride?: number;
  timings?: SimTimings;
  quirks?: Quirks;
  /** Host-name → IP map for ENDPOINT_URL resolution (pod DNS names → 127.x addresses). */
  hosts?: Record<string, string>;
  now?: () => number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface DbRuntime {
  record: DatabaseRecord;
  log: LogEntry[];
  kv: Map<string, string | null>;
}

interface PeerDbState {
  state: SyncState;
  hardenedLsn: number;
  exists: boolean;
}

interface PeerState {
  replicaId: string;
  link: Link | null;
  dialing: boolean;
  connected: boolean;
  joined: boolean;
  role: Role | "NOT_JOINED";
  createDbGranted: boolean;
  lastHeardMs: number;
  lastConnectError: { number: number; description: string; atMs: number } | null;
  configAckSeq: string;
  dbs: Map<string, PeerDbState>;
}

export interface SeedingRow {
  startMs: number;
  completionMs: number | null;
  agId: string;
  agDbId: string;
  remoteReplicaId: string;
  operationId: string;
  isSource: boolean;
  currentState: string;
  performedSeeding: boolean;
  failureState: number | null;
  failureStateDesc: string | null;
  attempts: number;
  database: string;
}

interface PendingCommit {
  db: string;
  lsn: number;
  deadlineMs: number;
  resolve: () => void;
  reject: (error: SqlError) => void;
}

export interface WritableInterval {
  server: string;
  ag: string;
  fromMs: number;
  toMs: number | null;
}

/** Runtime of this instance's replica of one AG. */
export class AgRuntime {
  role: Role = "RESOLVING";
  pendingRole: { target: Role; timer: Timer } | null = null;
  promotedAtMs = 0;
  leaseExpiresAtMs: number | null = null;
  configCommitStartMs: number | null = null;
  peers = new Map<string, PeerState>();
  upstream: Link | null = null;
  upstreamServer: string | null = null;
  lastHeardFromPrimaryMs = 0;
  localDbStates = new Map<string, SyncState>();
  pendingCommits: PendingCommit[] = [];
  seeding: SeedingRow[] = [];
  latch41104 = false;
  lastConnectError: { number: number; description: string; atMs: number } | null = null;
  /** A newer primary was seen while this replica still believes it is primary (L13 stale primary). */
  newerPrimarySeen = false;

  constructor(public local: LocalAg) {}

  get config(): AgConfig {
    return this.local.config;
  }

  get localReplica(): ReplicaConfig {
    return this.config.replicas.find((r) => r.replicaId === this.local.localReplicaId) as ReplicaConfig;
  }

  get term(): string {
    return this.config.sequenceNumber;
  }
}

type Timer = { cancelled: boolean };

export class ServerModel {
  catalog: Catalog;
  readonly store: DataStore;
  timings: SimTimings;
  quirks: Quirks;
  readonly dbs = new Map<string, DbRuntime>();
  readonly ags = new Map<string, AgRuntime>();
  /** Configurations pushed by a primary before this instance ran JOIN. */
  readonly pendingJoins = new Map<string, { config: AgConfig; link: Link }>();
  readonly diagnostics = new Map<string, DiagnosticState>();
  readonly statementLog: { atMs: number; session: number; text: string; error?: number }[] = [];
  readonly writableHistory: WritableInterval[] = [];
  /** Peers whose cached mirroring transport is stale (quirk); cleared only by restarting this endpoint. */
  readonly staleTransport = new Set<string>();
  readonly partitionedPeers = new Set<string>();
  frozen = false;
  running = false;
  readonly now: () => number;
  readonly log: (event: string, fields: Record<string, unknown>) => void;
  private listener: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly links = new Set<Link>();
  private deferred: (() => void)[] = [];
  private readonly timers = new Set<{ handle: NodeJS.Timeout; timer: Timer }>();
  private readonly hosts: Record<string, string>;

  constructor(readonly options: ServerModelOptions) {
    this.store = new DataStore(options.dataDir);
    this.timings = options.timings ?? DEFAULT_TIMINGS;
    this.quirks = options.quirks ?? DEFAULT_QUIRKS;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.hosts = options.hosts ?? {};
    const loaded = this.store.loadCatalog();
    this.catalog = loaded ?? emptyCatalog(options.serverName, options.saPassword);
    // The SA password comes from the environment on every start (like MSSQL_SA_PASSWORD on first start).
    if (!loaded) this.catalog.saPassword = options.saPassword;
    for (const component of ["system", "resource", "query_processing", "io_subsystem", "events"]) this.diagnostics.set(component, "clean");
  }

  get serverName(): string {
    return this.catalog.serverName;
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /** Load databases from their logs, restart the endpoint, and bring every AG replica up as RESOLVING (pacemaker §5.1). */
  async start(): Promise<void> {
    this.dbs.clear();
    for (const record of this.catalog.databases) {
      const log = this.store.readLog(record.databaseId);
      const kv = new Map<string, string | null>();
      for (const entry of log) kv.set(entry.key, entry.value);
      this.dbs.set(record.name.toLowerCase(), { record, log, kv });
    }
    this.ags.clear();
    for (const local of this.catalog.ags) {
      const runtime = new AgRuntime(local);
      // EXTERNAL and NONE replicas come back RESOLVING after any restart; only the cluster manager promotes.
      runtime.role = "RESOLVING";
      this.ags.set(local.config.name.toLowerCase(), runtime);
    }
    this.running = true;
    this.frozen = false;
    this.staleTransport.clear();
    if (this.catalog.endpoint?.state === "STARTED") await this.startEndpointListener();
    this.scheduleTick();
    this.log("instance_started", { server: this.serverName, ags: [...this.ags.keys()] });
  }

  /** Stop: close every socket and timer. Data already hardened stays in the data directory. */
  async stop(): Promise<void> {
    this.running = false;
    for (const ag of this.ags.values()) {
      for (const commit of ag.pendingCommits) commit.reject(new SqlError(233, "A transport-level error has occurred: the server is shutting down.", 20, 0));
      ag.pendingCommits = [];
      if (ag.role === "PRIMARY") this.closeWritable(ag);
    }
    for (const { handle, timer } of this.timers) {
      timer.cancelled = true;
      clearTimeout(handle);
    }
    this.timers.clear();
    this.deferred = [];
    for (const link of [...this.links]) link.close();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await this.stopEndpointListener();
  }

  freeze(): void {
    this.closeAllWritable();
    this.frozen = true;
    for (const socket of this.sockets) socket.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const socket of this.sockets) socket.resume();
    const deferred = this.deferred;
    this.deferred = [];
    for (const fn of deferred) fn();
    this.reopenWritable();
  }

  /** setTimeout that respects freeze (callbacks wait for thaw) and stop (callbacks are dropped). */
  timer(ms: number, fn: () => void): Timer {
    const timer: Timer = { cancelled: false };
    const entry = {
      timer,
      handle: setTimeout(() => {
        this.timers.delete(entry);
        if (timer.cancelled || !this.running) return;
        if (this.frozen) this.deferred.push(() => !timer.cancelled && this.running && fn());
        else fn();
      }, ms),
    };
    this.timers.add(entry);
    return timer;
  }

  /** Resolves after `ms`, honouring freeze (used by request handlers: WAITFOR, diagnostics, JOIN waits). */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.timer(ms, resolve);
      signal?.addEventListener("abort", () => {
        timer.cancelled = true;
        resolve();
      });
    });
  }

  saveCatalog(): void {
    this.store.saveCatalog(this.catalog);
  }

  private scheduleTick(): void {
    this.timer(this.timings.heartbeatMs, () => {
      this.tick();
      this.scheduleTick();
    });
  }

  // ---- endpoint -----------------------------------------------------------------------------------------------

  async startEndpointListener(): Promise<void> {
    const endpoint = this.catalog.endpoint;
    if (!endpoint || this.listener) return;
    const port = this.options.endpointPortOverride ?? endpoint.port;
    const server = createServer((socket) => this.acceptSocket(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.options.host, () => resolve());
    });
    server.on("error", () => undefined);
    this.listener = server;
    this.log("endpoint_started", { server: this.serverName, host: this.options.host, port });
  }

  async stopEndpointListener(): Promise<void> {
    const listener = this.listener;
    this.listener = null;
    for (const link of [...this.links]) link.close();
    if (listener) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  /** ALTER ENDPOINT … STATE = STOPPED|STARTED: stopping drops every link; restarting clears this side's stale transport cache. */
  async setEndpointState(state: "STARTED" | "STOPPED"): Promise<void> {
    const endpoint = this.catalog.endpoint;
    if (!endpoint) return;
    endpoint.state = state;
    this.saveCatalog();
    if (state === "STOPPED") {
      await this.stopEndpointListener();
      for (const ag of this.ags.values()) for (const peer of ag.peers.values()) peer.link?.close();
    } else {
      this.staleTransport.clear();
      for (const ag of this.ags.values()) ag.latch41104 = false;
      await this.startEndpointListener();
    }
  }

  endpointCertificateThumbprint(): string | null {
    const certName = this.catalog.endpoint?.authenticationCertificate;
    return this.catalog.certificates.find((c) => sameName(c.name, certName))?.thumbprintHex ?? null;
  }

  /** B4 rule of thumb: this side accepts a peer iff it holds the peer's authenticating certificate and CONNECT was granted on its endpoint. */
  private authorizesPeer(thumbprint: string | null): boolean {
    if (!thumbprint) return false;
    if (!this.catalog.certificates.some((c) => c.thumbprintHex === thumbprint)) return false;
    const endpointName = this.catalog.endpoint?.name;
    return this.catalog.permissions.some(
      (p) => p.state === "GRANT" && p.permission === "CONNECT" && p.securableClass === "ENDPOINT" && sameName(p.securable, endpointName),
    );
  }

  isSilenced(peer: string | null): boolean {
    return peer != null && this.partitionedPeers.has(peer.toLowerCase());
  }

  private trackSocket(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    if (this.frozen) socket.pause();
  }

  private newLink(socket: Socket): Link {
    this.trackSocket(socket);
    const link = new Link(
      socket,
      (peer) => this.isSilenced(peer),
      (l, m) => {
        if (this.frozen) this.deferred.push(() => this.onLinkMessage(l, m));
        else this.onLinkMessage(l, m);
      },
      (l) => this.onLinkClosed(l),
    );
    this.links.add(link);
    return link;
  }

  private acceptSocket(socket: Socket): void {
    if (!this.running) {
      socket.destroy();
      return;
    }
    this.newLink(socket);
  }

  async resolveHost(host: string): Promise<string> {
    const lower = host.toLowerCase();
    const mapped = this.hosts[lower] ?? this.hosts[lower.split(".")[0] as string];
    if (mapped) return mapped;
    if (isIP(host)) return host;
    if (lower === "localhost") return "127.0.0.1";
    return (await lookup(host)).address;
  }

  private async dial(ag: AgRuntime, peer: PeerState): Promise<void> {
    const replica = ag.config.replicas.find((r) => r.replicaId === peer.replicaId);
    if (!replica) return;
    const match = /^TCP:\/\/([^:/]+):(\d+)\/?$/i.exec(replica.endpointUrl);
    if (!match) return;
    peer.dialing = true;
    try {
      const ip = await this.resolveHost(match[1] as string);
      const socket = createConnection({ host: ip, port: Number(match[2]) });
      const link = this.newLink(socket);
      link.peerServer = replica.serverName;
      const giveUp = this.timer(this.timings.connectTimeoutMs, () => {
        if (!peer.connected || peer.link !== link) {
          this.recordConnectError(ag, peer, 35201, `Connection attempt to '${replica.endpointUrl}' timed out.`);
          link.close();
        }
      });
      socket.once("connect", () => {
        peer.link = link;
        link.send({
          t: "hello",
          ag: ag.config.name,
          from: this.serverName,
          fromReplicaId: ag.local.localReplicaId,
          seq: ag.config.sequenceNumber,
          thumbprint: this.endpointCertificateThumbprint(),
          promotedAgeMs: this.now() - ag.promotedAtMs,
          clusterType: ag.config.clusterType,
        });
      });
      socket.once("close", () => {
        giveUp.cancelled = true;
        if (peer.link === link || peer.link === null) peer.dialing = false;
      });
      socket.once("error", (err: NodeJS.ErrnoException) => {
        this.recordConnectError(ag, peer, 35206, `Connection to '${replica.endpointUrl}' failed: ${err.code ?? err.message}.`);
      });
    } catch (err) {
      peer.dialing = false;
      this.recordConnectError(ag, peer, 11001, `Host for '${replica.endpointUrl}' could not be resolved: ${(err as Error).message}`);
    }
  }

  private recordConnectError(_ag: AgRuntime, peer: PeerState, number: number, description: string): void {
    peer.lastConnectError = { number, description, atMs: this.now() };
  }

  // ---- periodic work --------------------------------------------------------------------------------------------

  private tick(): void {
    const now = this.now();
    for (const ag of this.ags.values()) {
      if (ag.role === "PRIMARY" && !ag.pendingRole) {
        for (const replica of ag.config.replicas) {
          if (replica.replicaId === ag.local.localReplicaId) continue;
          const peer = this.peerState(ag, replica.replicaId);
          if (peer.connected && peer.link) {
            peer.link.send({ t: "ping" });
            if (now - peer.lastHeardMs > this.sessionTimeoutMs(replica)) {
              // B5: a secondary that stops acking is dropped after session_timeout.
              this.log("session_timeout", { server: this.serverName, ag: ag.config.name, peer: replica.serverName });
              this.recordConnectError(ag, peer, 35201, `Connection to '${replica.endpointUrl}' timed out after ${replica.sessionTimeoutSeconds} s.`);
              peer.link.close();
            }
          } else if (!peer.dialing && this.catalog.endpoint?.state === "STARTED" && this.listener && !this.isSilenced(replica.serverName)) {
            if (this.staleTransport.has(replica.serverName.toLowerCase())) continue;
            void this.dial(ag, peer);
          }
        }
        this.evaluateCommits(ag);
        this.retryConfigPush(ag);
      } else if (ag.upstream && ag.role !== "PRIMARY") {
        const primary = ag.config.replicas.find((r) => r.replicaId === ag.config.primaryReplicaId);
        const timeoutMs = primary ? this.sessionTimeoutMs(ag.localReplica) : this.timings.defaultSessionTimeoutSeconds * this.timings.sessionTimeoutScale;
        if (now - ag.lastHeardFromPrimaryMs > timeoutMs) ag.upstream.close();
      }
      this.trackWritable(ag);
    }
    this.trackAllWritable();
  }

  sessionTimeoutMs(replica: ReplicaConfig): number {
    return replica.sessionTimeoutSeconds * this.timings.sessionTimeoutScale;
  }

  peerState(ag: AgRuntime, replicaId: string): PeerState {
    let peer = ag.peers.get(replicaId);
    if (!peer) {
      peer = {
        replicaId,
        link: null,
        dialing: false,
        connected: false,
        joined: false,
        role: "NOT_JOINED",
        createDbGranted: false,
        lastHeardMs: 0,
        lastConnectError: null,
        configAckSeq: "0",
        dbs: new Map(),
      };
      ag.peers.set(replicaId, peer);
    }
    return peer;
  }

  // ---- link protocol ------------------------------------------------------------------------------------------

  private onLinkClosed(link: Link): void {
    this.links.delete(link);
    // A stopping or crashing process records nothing new: only what was already hardened survives.
    if (!this.running) return;
    for (const ag of this.ags.values()) {
      if (ag.upstream === link) {
        ag.upstream = null;
        ag.upstreamServer = null;
        this.log("primary_link_lost", { server: this.serverName, ag: ag.config.name });
      }
      for (const peer of ag.peers.values()) {
        if (peer.link !== link) continue;
        peer.link = null;
        peer.dialing = false;
        if (peer.connected) {
          peer.connected = false;
          this.onPeerDisconnected(ag, peer);
        }
      }
    }
    for (const [name, pending] of this.pendingJoins) if (pending.link === link) this.pendingJoins.delete(name);
  }

  private onPeerDisconnected(ag: AgRuntime, peer: PeerState): void {
    const replica = ag.config.replicas.find((r) => r.replicaId === peer.replicaId);
    this.log("replica_disconnected", { server: this.serverName, ag: ag.config.name, peer: replica?.serverName });
    let wasReady = false;
    for (const state of peer.dbs.values()) {
      if (state.state === "SYNCHRONIZED") wasReady = true;
      state.state = "NOT SYNCHRONIZING";
    }
    // B5 / pacemaker §3.4: marking a synchronized secondary unsynchronized is a configuration change that must commit on a quorum.
    if (wasReady && ag.role === "PRIMARY") {
      ag.config.failoverReady[peer.replicaId] = [];
      this.commitConfigurationChange(ag, "replica_unsynchronized");
    }
    this.evaluateCommits(ag);
  }

  private onLinkMessage(link: Link, message: LinkMessage): void {
    if (!this.running) return;
    switch (message.t) {
      case "hello":
        return this.onHello(link, message);
      case "welcome":
      case "reject":
      case "status":
      case "ack":
      case "configAck":
      case "pong":
      case "seedResult":
      case "failoverRequest":
        return this.onPrimarySideMessage(link, message);
      default:
        return this.onSecondarySideMessage(link, message);
    }
  }

  /** A primary dialled us. Validate transport, certificates and configuration freshness (B3 JOIN, B4, L13/L15). */
  private onHello(link: Link, hello: Extract<LinkMessage, { t: "hello" }>): void {
    link.peerServer = hello.from;
    const reject = (reason: Extract<LinkMessage, { t: "reject" }>["reason"], errorNumber: number, seq?: string): void => {
      link.send(seq ? { t: "reject", from: this.serverName, reason, errorNumber, seq } : { t: "reject", from: this.serverName, reason, errorNumber });
      this.timer(10, () => link.close());
    };
    if (this.catalog.endpoint?.state !== "STARTED") return reject("endpoint-stopped", 35206);
    if (this.staleTransport.has(hello.from.toLowerCase())) return reject("stale-transport", 35206);
    if (!this.authorizesPeer(hello.thumbprint)) {
      this.log("endpoint_auth_failed", { server: this.serverName, peer: hello.from });
      return reject("auth", 35206);
    }
    const ag = this.ags.get(hello.ag.toLowerCase());
    if (!ag) {
      // Not joined yet: keep the pushed configuration for JOIN (B3: the replica downloads config from the primary).
      link.send({ t: "welcome", from: this.serverName, thumbprint: this.endpointCertificateThumbprint() });
      return;
    }
    const mySeq = BigInt(ag.config.sequenceNumber);
    const theirSeq = BigInt(hello.seq);
    if (ag.role === "PRIMARY" && !ag.pendingRole) {
      if (theirSeq > mySeq) ag.newerPrimarySeen = true; // L13: stays PRIMARY until told otherwise
      return reject(theirSeq > mySeq ? "i-am-primary" : "stale-primary", 41104, ag.config.sequenceNumber);
    }
    if (theirSeq < mySeq) return reject("stale-primary", 35206, ag.config.sequenceNumber);
    // Already following a live primary: only a newer configuration may take over the link.
    if (ag.upstream && !ag.upstream.closed && !sameName(ag.upstreamServer, hello.from) && theirSeq <= mySeq) return reject("stale-primary", 35206, ag.config.sequenceNumber);
    const deposedPrimary = ag.local.lastRole === "PRIMARY" && theirSeq > mySeq;
    if (deposedPrimary && hello.promotedAgeMs < this.timings.earlyReconnectWindowMs && (this.quirks.latch41104 || this.quirks.bilateralTransportCache)) {
      // L13/L15: reconnecting too early after the failover leaves a stale transport on both sides.
      if (this.quirks.bilateralTransportCache) this.staleTransport.add(hello.from.toLowerCase());
      if (this.quirks.latch41104) ag.latch41104 = true;
      this.log("stale_transport", { server: this.serverName, peer: hello.from, ag: ag.config.name });
      return reject("stale-transport", 35206);
    }
    if (ag.upstream && ag.upstream !== link) ag.upstream.close();
    ag.upstream = link;
    ag.upstreamServer = hello.from;
    ag.lastHeardFromPrimaryMs = this.now();
    link.send({ t: "welcome", from: this.serverName, thumbprint: this.endpointCertificateThumbprint() });
  }

  private onSecondarySideMessage(link: Link, message: LinkMessage): void {
    const ag = [...this.ags.values()].find((a) => a.upstream === link);
    if (!ag) {
      if (message.t === "config") {
        const config = message.config;
        const listed = config.replicas.some((r) => sameName(r.serverName, this.serverName));
        if (listed) this.pendingJoins.set(config.name.toLowerCase(), { config, link });
        link.send({ t: "status", role: "NOT_JOINED", joined: false, createDbGranted: false, dbs: [] });
      }
      if (message.t === "ping") link.send({ t: "pong" });
      return;
    }
    ag.lastHeardFromPrimaryMs = this.now();
    switch (message.t) {
      case "ping":
        link.send({ t: "pong" });
        return;
      case "config":
        this.applyConfigFromPrimary(ag, message.config);
        link.send({ t: "configAck", seq: ag.config.sequenceNumber });
        this.sendStatus(ag);
        return;
      case "syncState":
        ag.localDbStates.set(message.db.toLowerCase(), message.state as SyncState);
        return;
      case "log": {
        const db = this.dbs.get(message.db.toLowerCase());
        if (!db || !db.record.hadr || db.record.hadr.suspended || ag.role !== "SECONDARY") return;
        const last = db.log[db.log.length - 1]?.lsn ?? 0;
        const fresh = message.entries.filter((e) => e.lsn > last);
        if (fresh.length === 0) return;
        if ((fresh[0] as LogEntry).lsn !== last + 1) {
          this.sendStatus(ag); // gap: ask the primary to resend from our end of log
          return;
        }
        this.hardenAndApply(db, fresh);
        link.send({ t: "ack", db: db.record.name, lsn: db.log[db.log.length - 1]?.lsn ?? 0 });
        return;
      }
      case "reset":
      case "seed":
        return this.onSeedOrReset(ag, link, message);
      case "removed":
        this.leaveAg(ag, "removed_from_ag");
        return;
      default:
        return;
    }
  }

  private onSeedOrReset(ag: AgRuntime, link: Link, message: Extract<LinkMessage, { t: "seed" | "reset" }>): void {
    const key = message.db.toLowerCase();
    let db = this.dbs.get(key);
    if (message.t === "seed") {
      if (db && !(db.record.hadr && sameName(db.record.hadr.agName, ag.config.name))) {
        // sys.dm_hadr_automatic_seeding failure_state 23: a database with that name already exists.
        link.send({ t: "seedResult", db: message.db, ok: false, failureState: 23, failureDesc: "Database with the same name already exists" });
        return;
      }
      if (!ag.local.createAnyDatabaseGranted || ag.role !== "SECONDARY") return;
      if (!db) db = this.createDatabaseRuntime(message.db);
    }
    if (!db) return;
    db.record.hadr = {
      agName: ag.config.name,
      groupDatabaseId: message.groupDatabaseId,
      suspended: false,
      suspendReason: null,
      forcedFailoverSequenceSeen: ag.config.forcedFailoverSequence,
    };
    db.record.restoring = false;
    db.record.recoveryModel = "FULL";
    db.log = [...message.entries];
    db.kv = new Map();
    for (const entry of db.log) db.kv.set(entry.key, entry.value);
    this.store.replaceLog(db.record.databaseId, db.log);
    this.saveCatalog();
    this.log(message.t === "seed" ? "seeded" : "reverted", { server: this.serverName, db: message.db, entries: db.log.length });
    if (message.t === "seed") link.send({ t: "seedResult", db: message.db, ok: true });
    link.send({ t: "ack", db: db.record.name, lsn: db.log[db.log.length - 1]?.lsn ?? 0 });
    this.sendStatus(ag);
  }

  private applyConfigFromPrimary(ag: AgRuntime, config: AgConfig): void {
    if (BigInt(config.sequenceNumber) < BigInt(ag.config.sequenceNumber)) return;
    const stillListed = config.replicas.find((r) => sameName(r.serverName, this.serverName));
    if (!stillListed) {
      this.leaveAg(ag, "removed_from_ag");
      return;
    }
    ag.local.config = config;
    ag.local.localReplicaId = stillListed.replicaId;
    // REMOVE DATABASE on the primary: the secondary copy leaves the AG and stays RESTORING (B3).
    for (const db of this.dbs.values()) {
      const hadr = db.record.hadr;
      if (hadr && sameName(hadr.agName, config.name) && !config.databases.some((d) => sameName(d.name, db.record.name))) {
        db.record.hadr = null;
        db.record.restoring = true;
      }
    }
    // B3 FORCE_FAILOVER_ALLOW_DATA_LOSS: the other replicas' databases are suspended (SUSPEND_FROM_PARTNER).
    for (const db of this.dbs.values()) {
      const hadr = db.record.hadr;
      if (!hadr || !sameName(hadr.agName, config.name)) continue;
      if (BigInt(config.forcedFailoverSequence) > BigInt(hadr.forcedFailoverSequenceSeen || "0")) {
        hadr.suspended = true;
        hadr.suspendReason = "SUSPEND_FROM_PARTNER";
        hadr.forcedFailoverSequenceSeen = config.forcedFailoverSequence;
      }
    }
    this.saveCatalog();
  }

  sendStatus(ag: AgRuntime): void {
    if (!ag.upstream) return;
    const dbs: DbStatus[] = ag.config.databases.map((d) => {
      const db = this.dbs.get(d.name.toLowerCase());
      const last = db?.log[db.log.length - 1];
      return {
        name: d.name,
        exists: !!db,
        inAg: !!db?.record.hadr && sameName(db.record.hadr.agName, ag.config.name),
        suspended: !!db?.record.hadr?.suspended,
        lastLsn: last?.lsn ?? 0,
        lastTerm: last?.term ?? "0",
      };
    });
    ag.upstream.send({ t: "status", role: ag.role, joined: ag.local.joined, createDbGranted: ag.local.createAnyDatabaseGranted, dbs });
  }

  private onPrimarySideMessage(link: Link, message: LinkMessage): void {
    let ag: AgRuntime | undefined;
    let peer: PeerState | undefined;
    for (const candidate of this.ags.values()) {
      for (const p of candidate.peers.values()) if (p.link === link) [ag, peer] = [candidate, p];
    }
    if (!ag || !peer) return;
    peer.lastHeardMs = this.now();
    const replica = ag.config.replicas.find((r) => r.replicaId === peer.replicaId);
    if (!replica) return;
    switch (message.t) {
      case "welcome":
        if (!this.authorizesPeer(message.thumbprint)) {
          this.recordConnectError(ag, peer, 35206, `Certificate of '${replica.serverName}' is not trusted by this endpoint.`);
          link.close();
          return;
        }
        peer.connected = true;
        peer.lastConnectError = null;
        this.log("replica_connected", { server: this.serverName, ag: ag.config.name, peer: replica.serverName });
        link.send({ t: "config", config: ag.config });
        return;
      case "reject":
        this.recordConnectError(ag, peer, message.errorNumber, `Connection to '${replica.serverName}' rejected: ${message.reason}.`);
        if (message.reason === "stale-transport" && this.quirks.bilateralTransportCache) this.staleTransport.add(replica.serverName.toLowerCase());
        if (message.reason === "i-am-primary" || (message.reason === "stale-primary" && message.seq && BigInt(message.seq) > BigInt(ag.config.sequenceNumber))) {
          ag.newerPrimarySeen = true;
        }
        link.close();
        return;
      case "configAck":
        peer.configAckSeq = message.seq;
        this.checkConfigQuorum(ag);
        return;
      case "pong":
        return;
      case "status":
        this.onPeerStatus(ag, peer, replica, message);
        return;
      case "ack": {
        const state = peer.dbs.get(message.db.toLowerCase());
        if (!state) return;
        state.hardenedLsn = Math.max(state.hardenedLsn, message.lsn);
        this.updatePeerDbState(ag, peer, replica, message.db);
        this.evaluateCommits(ag);
        return;
      }
      case "seedResult": {
        const row = ag.seeding.find((s) => s.remoteReplicaId === peer.replicaId && sameName(s.database, message.db) && s.completionMs === null);
        if (row) {
          row.completionMs = this.now();
          row.currentState = message.ok ? "COMPLETED" : "FAILED";
          row.performedSeeding = message.ok;
          if (!message.ok) {
            row.failureState = message.failureState ?? 0;
            row.failureStateDesc = message.failureDesc ?? null;
          }
        }
        return;
      }
      case "failoverRequest":
        // Planned failover (B3 FAILOVER): this primary becomes SECONDARY once the target has taken over.
        this.log("planned_failover_handoff", { server: this.serverName, ag: ag.config.name, to: message.from });
        this.scheduleRoleChange(ag, "SECONDARY");
        return;
      default:
        return;
    }
  }

  private onPeerStatus(ag: AgRuntime, peer: PeerState, replica: ReplicaConfig, status: Extract<LinkMessage, { t: "status" }>): void {
    peer.role = status.role;
    peer.joined = status.joined;
    peer.createDbGranted = status.createDbGranted;
    if (replica.availabilityMode === "CONFIGURATION_ONLY") return;
    for (const d of ag.config.databases) {
      const key = d.name.toLowerCase();
      const reported = status.dbs.find((s) => sameName(s.name, d.name));
      let state = peer.dbs.get(key);
      if (!state) {
        state = { state: "NOT SYNCHRONIZING", hardenedLsn: 0, exists: false };
        peer.dbs.set(key, state);
      }
      const db = this.dbs.get(key);
      if (!db) continue;
      state.exists = !!reported?.exists && !!reported.inAg;
      if (status.role !== "SECONDARY" || !status.joined) {
        this.setPeerDbState(ag, peer, d.name, "NOT SYNCHRONIZING");
        continue;
      }
      if (!reported?.exists || !reported.inAg) {
        this.setPeerDbState(ag, peer, d.name, "NOT SYNCHRONIZING");
        if (reported?.exists && !reported.inAg) continue; // name clash, seeding would fail (failure_state 23)
        if (replica.seedingMode === "AUTOMATIC" && status.createDbGranted) this.startSeeding(ag, peer, replica, d.name, d.groupDatabaseId);
        continue;
      }
      if (reported.suspended) {
        this.setPeerDbState(ag, peer, d.name, "NOT SYNCHRONIZING");
        continue;
      }
      const mine = db.log.find((e) => e.lsn === reported.lastLsn);
      const end = db.log[db.log.length - 1]?.lsn ?? 0;
      const diverged = reported.lastLsn > end || (reported.lastLsn > 0 && (!mine || mine.term !== reported.lastTerm));
      if (diverged) {
        // Log of a former primary that went past the forced-failover point: revert to the new primary's log.
        peer.link?.send({ t: "reset", db: d.name, groupDatabaseId: d.groupDatabaseId, entries: db.log });
        state.hardenedLsn = 0;
        this.setPeerDbState(ag, peer, d.name, "REVERTING");
        continue;
      }
      state.hardenedLsn = reported.lastLsn;
      const missing = db.log.filter((e) => e.lsn > reported.lastLsn);
      if (missing.length > 0) peer.link?.send({ t: "log", db: d.name, entries: missing });
      if (state.state === "NOT SYNCHRONIZING" || state.state === "REVERTING" || state.state === "INITIALIZING") this.setPeerDbState(ag, peer, d.name, "SYNCHRONIZING");
      this.updatePeerDbState(ag, peer, replica, d.name);
    }
    this.evaluateCommits(ag);
  }

  /** B5: a sync-commit secondary whose hardened log caught up is SYNCHRONIZED; async stays SYNCHRONIZING. */
  private updatePeerDbState(ag: AgRuntime, peer: PeerState, replica: ReplicaConfig, dbName: string): void {
    const state = peer.dbs.get(dbName.toLowerCase());
    const db = this.dbs.get(dbName.toLowerCase());
    if (!state || !db || state.state === "NOT SYNCHRONIZING" || state.state === "REVERTING") {
      if (state?.state === "REVERTING" && db && state.hardenedLsn >= (db.log[db.log.length - 1]?.lsn ?? 0)) state.state = "SYNCHRONIZING";
      else return;
    }
    const end = db.log[db.log.length - 1]?.lsn ?? 0;
    const bothSync = replica.availabilityMode === "SYNCHRONOUS_COMMIT" && ag.localReplica.availabilityMode === "SYNCHRONOUS_COMMIT";
    if (bothSync && state.hardenedLsn >= end && state.state !== "SYNCHRONIZED") this.setPeerDbState(ag, peer, dbName, "SYNCHRONIZED");
  }

  private setPeerDbState(ag: AgRuntime, peer: PeerState, dbName: string, next: SyncState): void {
    const key = dbName.toLowerCase();
    const state = peer.dbs.get(key) ?? { state: "NOT SYNCHRONIZING" as SyncState, hardenedLsn: 0, exists: false };
    peer.dbs.set(key, state);
    const previous = state.state;
    if (previous === next) return;
    state.state = next;
    peer.link?.send({ t: "syncState", db: dbName, state: next });
    const ready = new Set((ag.config.failoverReady[peer.replicaId] ?? []).map((n) => n.toLowerCase()));
    if (next === "SYNCHRONIZED" && !ready.has(key)) {
      ag.config.failoverReady[peer.replicaId] = [...(ag.config.failoverReady[peer.replicaId] ?? []), dbName];
      this.commitConfigurationChange(ag, "replica_synchronized");
    } else if (previous === "SYNCHRONIZED" && ready.has(key)) {
      ag.config.failoverReady[peer.replicaId] = (ag.config.failoverReady[peer.replicaId] ?? []).filter((n) => !sameName(n, dbName));
      this.commitConfigurationChange(ag, "replica_unsynchronized");
    }
  }

  private startSeeding(ag: AgRuntime, peer: PeerState, replica: ReplicaConfig, dbName: string, groupDatabaseId: string): void {
    if (ag.seeding.some((s) => s.remoteReplicaId === replica.replicaId && sameName(s.database, dbName) && s.completionMs === null)) return;
    const previous = ag.seeding.filter((s) => s.remoteReplicaId === replica.replicaId && sameName(s.database, dbName));
    const row: SeedingRow = {
      startMs: this.now(),
      completionMs: null,
      agId: ag.config.groupId,
      agDbId: groupDatabaseId,
      remoteReplicaId: replica.replicaId,
      operationId: randomUUID().toUpperCase(),
      isSource: true,
      currentState: "SEEDING",
      performedSeeding: false,
      failureState: null,
      failureStateDesc: null,
      attempts: previous.length + 1,
      database: dbName,
    };
    ag.seeding.push(row);
    this.setPeerDbState(ag, peer, dbName, "INITIALIZING");
    this.log("seeding_started", { server: this.serverName, ag: ag.config.name, db: dbName, peer: replica.serverName });
    this.timer(this.timings.seedingMs, () => {
      const db = this.dbs.get(dbName.toLowerCase());
      if (!peer.link || !peer.connected || !db || ag.role !== "PRIMARY") {
        row.completionMs = this.now();
        row.currentState = "FAILED";
        row.failureState = 24;
        row.failureStateDesc = "Seeding check message timeout";
        return;
      }
      peer.link.send({ t: "seed", db: dbName, groupDatabaseId, entries: db.log });
    });
  }

  // ---- configuration changes ------------------------------------------------------------------------------------

  /** sequence_number is bumped on every configuration change on the primary and replicated (B5, pacemaker §3.2). */
  commitConfigurationChange(ag: AgRuntime, reason: string, epochBump = false): void {
    const seq = BigInt(ag.config.sequenceNumber);
    ag.config.sequenceNumber = (epochBump ? (((seq >> 32n) + 1n) << 32n) | 1n : seq + 1n).toString();
    ag.configCommitStartMs = this.now();
    this.saveCatalog();
    this.log("configuration_change", { server: this.serverName, ag: ag.config.name, reason, sequenceNumber: ag.config.sequenceNumber });
    for (const peer of ag.peers.values()) if (peer.connected) peer.link?.send({ t: "config", config: ag.config });
    this.checkConfigQuorum(ag);
  }

  private retryConfigPush(ag: AgRuntime): void {
    if (ag.configCommitStartMs === null) return;
    for (const peer of ag.peers.values()) {
      if (peer.connected && peer.configAckSeq !== ag.config.sequenceNumber) peer.link?.send({ t: "config", config: ag.config });
    }
  }

  /** pacemaker §3.3 rule 4: configuration commits need ⌊N/2⌋+1 of the SYNCHRONOUS_COMMIT + CONFIGURATION_ONLY replicas. */
  checkConfigQuorum(ag: AgRuntime): void {
    if (ag.configCommitStartMs === null) return;
    const voters = ag.config.replicas.filter((r) => r.availabilityMode !== "ASYNCHRONOUS_COMMIT");
    const needed = Math.floor(voters.length / 2) + 1;
    let acks = 0;
    for (const voter of voters) {
      if (voter.replicaId === ag.local.localReplicaId) acks++;
      else if (ag.peers.get(voter.replicaId)?.connected && ag.peers.get(voter.replicaId)?.configAckSeq === ag.config.sequenceNumber) acks++;
    }
    if (acks >= needed) ag.configCommitStartMs = null;
  }

  // ---- roles --------------------------------------------------------------------------------------------------

  /** FAILOVER / SET (ROLE = SECONDARY) / OFFLINE return at once; the role changes after roleChangeDelayMs (B3). */
  scheduleRoleChange(ag: AgRuntime, target: Role, onDone?: () => void): void {
    if (ag.pendingRole) ag.pendingRole.timer.cancelled = true;
    const timer = this.timer(this.timings.roleChangeDelayMs, () => {
      ag.pendingRole = null;
      this.setRole(ag, target);
      onDone?.();
    });
    ag.pendingRole = { target, timer };
    if (ag.role === "PRIMARY") this.failPendingCommits(ag, (db) => Errors.notPrimaryOrSecondary(db));
    // Writes stop the moment a role change is pending: close the ground-truth interval now, not at the next tick.
    this.trackWritable(ag);
  }

  setRole(ag: AgRuntime, role: Role): void {
    const previous = ag.role;
    if (previous === role) return;
    ag.role = role;
    if (role !== "RESOLVING") ag.local.lastRole = role;
    this.log("role_changed", { server: this.serverName, ag: ag.config.name, from: previous, to: role, sequenceNumber: ag.config.sequenceNumber });
    if (previous === "PRIMARY") {
      this.failPendingCommits(ag, (db) => Errors.notPrimaryOrSecondary(db));
      for (const peer of ag.peers.values()) peer.link?.close();
      ag.peers.clear();
      ag.leaseExpiresAtMs = null;
      ag.configCommitStartMs = null;
    }
    if (role === "PRIMARY") {
      ag.upstream?.close();
      ag.upstream = null;
      ag.promotedAtMs = this.now();
      ag.newerPrimarySeen = false;
    }
    if (role === "SECONDARY") this.sendStatus(ag);
    if (role === "RESOLVING") {
      // OFFLINE: no primary link, databases unavailable.
      ag.upstream?.close();
    }
    this.saveCatalog();
    this.trackWritable(ag);
  }

  leaveAg(ag: AgRuntime, reason: string): void {
    if (ag.role === "PRIMARY") this.closeWritable(ag);
    for (const peer of ag.peers.values()) peer.link?.close();
    ag.upstream?.close();
    if (ag.pendingRole) ag.pendingRole.timer.cancelled = true;
    this.failPendingCommits(ag, (db) => Errors.notPrimaryOrSecondary(db));
    for (const db of this.dbs.values()) {
      if (db.record.hadr && sameName(db.record.hadr.agName, ag.config.name)) {
        // B3 DROP AG / REMOVE REPLICA: secondary copies go RESTORING; the primary's stay ONLINE.
        db.record.restoring = ag.role !== "PRIMARY";
        db.record.hadr = null;
      }
    }
    this.ags.delete(ag.config.name.toLowerCase());
    this.catalog.ags = this.catalog.ags.filter((a) => a !== ag.local);
    this.saveCatalog();
    this.log("left_ag", { server: this.serverName, ag: ag.config.name, reason });
  }

  // ---- writes -------------------------------------------------------------------------------------------------

  createDatabaseRuntime(name: string): DbRuntime {
    const record: DatabaseRecord = {
      name,
      databaseId: this.catalog.nextDatabaseId++,
      recoveryModel: "FULL",
      hasFullBackup: false,
      createDateMs: this.now(),
      hasKvTable: false,
      hadr: null,
      restoring: false,
    };
    this.catalog.databases.push(record);
    this.store.deleteLog(record.databaseId);
    const runtime: DbRuntime = { record, log: [], kv: new Map() };
    this.dbs.set(name.toLowerCase(), runtime);
    this.saveCatalog();
    return runtime;
  }

  hardenAndApply(db: DbRuntime, entries: LogEntry[]): void {
    this.store.appendLog(db.record.databaseId, entries);
    for (const entry of entries) {
      db.log.push(entry);
      db.kv.set(entry.key, entry.value);
    }
    if (!db.record.hasKvTable) {
      db.record.hasKvTable = true;
      this.saveCatalog();
    }
  }

  agOf(db: DbRuntime): AgRuntime | null {
    return db.record.hadr ? (this.ags.get(db.record.hadr.agName.toLowerCase()) ?? null) : null;
  }

  /** Throws the documented error when the database cannot be written right now (B3 lease, B5, 3906/983). */
  checkWritable(db: DbRuntime): void {
    if (db.record.restoring) throw new SqlError(927, `Database '${db.record.name}' cannot be opened. It is in the middle of a restore.`, 14, 1);
    const ag = this.agOf(db);
    if (!ag) return;
    if (ag.role === "SECONDARY") throw Errors.readOnlyDatabase(db.record.name);
    if (ag.role !== "PRIMARY" || ag.pendingRole) throw Errors.notPrimaryOrSecondary(db.record.name);
    if (this.leaseExpired(ag)) throw Errors.writeLeaseExpired(db.record.name, ag.config.name);
    if (db.record.hadr?.suspended) throw Errors.notPrimaryOrSecondary(db.record.name);
  }

  checkReadable(db: DbRuntime): void {
    if (db.record.restoring) throw new SqlError(927, `Database '${db.record.name}' cannot be opened. It is in the middle of a restore.`, 14, 1);
    const ag = this.agOf(db);
    if (!ag) return;
    if (ag.role === "RESOLVING") throw Errors.notPrimaryOrSecondary(db.record.name);
    if (ag.role === "SECONDARY" && (ag.localReplica.secondaryAllowConnections === "NO" || db.record.hadr?.suspended)) throw Errors.secondaryNotReadable(db.record.name);
  }

  leaseExpired(ag: AgRuntime): boolean {
    if (ag.config.writeLeaseValiditySeconds === null || ag.config.clusterType !== "EXTERNAL") return false;
    return ag.leaseExpiresAtMs === null || this.now() >= ag.leaseExpiresAtMs;
  }

  /** Harden locally, ship to secondaries, and resolve once the synchronous-commit rules of B5 are met. */
  async commitWrite(db: DbRuntime, key: string, value: string | null): Promise<void> {
    this.checkWritable(db);
    const ag = this.agOf(db);
    const last = db.log[db.log.length - 1]?.lsn ?? 0;
    const entry: LogEntry = { lsn: last + 1, term: ag ? ag.term : "0", key, value };
    this.hardenAndApply(db, [entry]);
    if (!ag) return;
    for (const peer of ag.peers.values()) {
      const state = peer.dbs.get(db.record.name.toLowerCase());
      if (peer.connected && state && (state.state === "SYNCHRONIZING" || state.state === "SYNCHRONIZED")) peer.link?.send({ t: "log", db: db.record.name, entries: [entry] });
    }
    await new Promise<void>((resolve, reject) => {
      ag.pendingCommits.push({ db: db.record.name.toLowerCase(), lsn: entry.lsn, deadlineMs: this.now() + this.timings.commitWaitLimitMs, resolve, reject });
      this.evaluateCommits(ag);
    });
  }

  evaluateCommits(ag: AgRuntime): void {
    if (ag.pendingCommits.length === 0) return;
    const now = this.now();
    const remaining: PendingCommit[] = [];
    for (const commit of ag.pendingCommits) {
      if (ag.role !== "PRIMARY") {
        commit.reject(Errors.notPrimaryOrSecondary(commit.db));
        continue;
      }
      if (this.leaseExpired(ag)) {
        // ag_metadata: when the lease is not renewed "all pending transactions fail".
        commit.reject(Errors.writeLeaseExpired(commit.db, ag.config.name));
        continue;
      }
      let waitingFor = 0;
      let synchronizedAcks = 0;
      for (const replica of ag.config.replicas) {
        if (replica.replicaId === ag.local.localReplicaId || replica.availabilityMode !== "SYNCHRONOUS_COMMIT") continue;
        const state = ag.peers.get(replica.replicaId)?.dbs.get(commit.db);
        if (!state || state.state !== "SYNCHRONIZED") continue;
        if (state.hardenedLsn >= commit.lsn) synchronizedAcks++;
        else waitingFor++;
      }
      const required = ag.config.requiredSynchronizedSecondariesToCommit;
      if (waitingFor === 0 && synchronizedAcks >= required) commit.resolve();
      else if (now >= commit.deadlineMs) commit.reject(Errors.rsstcNotMet(commit.db, required, synchronizedAcks));
      else remaining.push(commit);
    }
    ag.pendingCommits = remaining;
  }

  failPendingCommits(ag: AgRuntime, error: (db: string) => SqlError): void {
    const pending = ag.pendingCommits;
    ag.pendingCommits = [];
    for (const commit of pending) commit.reject(error(commit.db));
  }

  // ---- ground truth -------------------------------------------------------------------------------------------

  /** Can a client commit a write to `dbName` on this instance right now? (invariant checker ground truth) */
  canWriteNow(ag: AgRuntime): boolean {
    return this.running && !this.frozen && ag.role === "PRIMARY" && !ag.pendingRole && !this.leaseExpired(ag);
  }

  private readonly openIntervals = new Map<string, WritableInterval>();

  trackWritable(ag: AgRuntime): void {
    const key = ag.config.name.toLowerCase();
    const writable = this.canWriteNow(ag);
    const open = this.openIntervals.get(key);
    if (writable && !open) {
      const interval: WritableInterval = { server: this.serverName, ag: ag.config.name, fromMs: this.now(), toMs: null };
      this.openIntervals.set(key, interval);
      this.writableHistory.push(interval);
    } else if (!writable && open) {
      // The lease expiry instant is the true end, even if we only notice it on the next tick.
      open.toMs = ag.leaseExpiresAtMs !== null && this.leaseExpired(ag) ? Math.min(this.now(), ag.leaseExpiresAtMs) : this.now();
      this.openIntervals.delete(key);
    }
  }

  private trackAllWritable(): void {
    for (const [key, open] of this.openIntervals) if (!this.ags.has(key)) {
      open.toMs = this.now();
      this.openIntervals.delete(key);
    }
  }

  closeWritable(ag: AgRuntime): void {
    const open = this.openIntervals.get(ag.config.name.toLowerCase());
    if (open) {
      open.toMs = this.now();
      this.openIntervals.delete(ag.config.name.toLowerCase());
    }
  }

  /** Freeze makes the instance unable to answer, so it cannot be writing; record the gap. */
  closeAllWritable(): void {
    for (const ag of this.ags.values()) this.closeWritable(ag);
  }

  reopenWritable(): void {
    for (const ag of this.ags.values()) this.trackWritable(ag);
  }

  isSystemDatabase(name: string): boolean {
    return SYSTEM_DATABASES.includes(name.toLowerCase());
  }
}
