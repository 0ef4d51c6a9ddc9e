/**
 * Several agents running the real decide() against one shared, in-memory Lease and a coarse model of SQL Server
 * AG replicas, on a FakeClock, one loop interval per tick. The model is deliberately simple (actions take effect
 * at once; FAILOVER succeeds on a synchronized replica; a primary whose SQL write lease lapses goes RESOLVING), so
 * the tests check how the branches of decide() compose across agents and time: who claims, the gate, promotion,
 * fencing, RESOLVING → SECONDARY — and, at every tick, that no two replicas accept writes.
 */
import { expect } from "chai";
import { agNames, annotations, withDefaults, type AgentStatus, type AvailabilityMode, type ReplicaRole, type RoleLabelValue, type SequenceReport } from "@sqlag/api";
import { observeLease, type LeaseObservation, type LeaseRecord } from "@sqlag/kube/lease-math";
import { FakeClock } from "@sqlag/testkit";
import { decide } from "./decide.js";
import { sqlLeaseRenewalAllowed } from "./lease-view.js";
import { CLUSTER, AG_NAME, testConfig } from "./testing/observation-builder.js";
import { initialMemory, type AgentMemory, type CompletedAction, type Decision, type Observation, type ReasonCode } from "./types.js";

const timing = testConfig().timing;

interface SimReplica {
  pod: string;
  mode: AvailabilityMode;
  sql: "running" | "down" | "frozen";
  agentAlive: boolean;
  role: ReplicaRole;
  sequenceNumber: bigint;
  synchronized: boolean;
  rsstc: number;
  sqlLeaseExpiresAtMs: number;
  lastSqlRenewalEndedAtMs?: number;
  memory: AgentMemory;
  leaseObservation?: LeaseObservation;
  lastRenewSentAtMs?: number;
  agentStartedAtMs: number;
  completed: CompletedAction[];
  label?: RoleLabelValue;
  frozenAtMs?: number;
  reasons: { atMs: number; reason: ReasonCode }[];
}

class Cluster {
  readonly clock = new FakeClock();
  readonly replicas: SimReplica[];
  lease: LeaseRecord;
  private resourceVersion = 1;
  switchoverTo: string | undefined;
  /** Ticks at which more than one replica accepted writes (must stay empty). */
  readonly doubleWriters: { atMs: number; pods: string[] }[] = [];
  /** Per tick: which replica accepted writes (undefined = none). */
  readonly writer: { atMs: number; pod: string | undefined }[] = [];

  constructor(modes: AvailabilityMode[]) {
    const now = this.clock.nowMs();
    this.replicas = modes.map((mode, i) => ({
      pod: agNames.pod(CLUSTER, i),
      mode,
      sql: "running",
      agentAlive: true,
      role: i === 0 ? "PRIMARY" : "SECONDARY",
      sequenceNumber: 5n,
      synchronized: true,
      rsstc: 0,
      sqlLeaseExpiresAtMs: i === 0 ? now + timing.sqlWriteLeaseMs : 0,
      memory: initialMemory(),
      agentStartedAtMs: now,
      completed: [],
      ...(i === 0 ? { lastRenewSentAtMs: now, label: "primary" as const } : { label: "secondary" as const }),
      reasons: [],
    }));
    this.lease = this.record(agNames.pod(CLUSTER, 0), 1, {});
  }

  private record(holder: string, transitions: number, extra: Record<string, string>): LeaseRecord {
    this.resourceVersion += 1;
    return {
      holderIdentity: holder,
      leaseDurationSeconds: timing.leaseDurationMs / 1000,
      renewTime: `t${this.clock.nowMs()}-${this.resourceVersion}`,
      leaseTransitions: transitions,
      resourceVersion: String(this.resourceVersion),
      annotations: extra,
    };
  }

  get(pod: string): SimReplica {
    const replica = this.replicas.find((r) => r.pod === pod);
    if (replica === undefined) throw new Error(pod);
    return replica;
  }

  private spec() {
    return withDefaults({
      agName: AG_NAME,
      saPasswordSecretRef: { name: "sa", key: "password" },
      replicas: this.replicas.map((r, i) => ({ name: `r${i}`, availabilityMode: r.mode })),
    });
  }

  private statusOf(r: SimReplica): AgentStatus {
    return {
      pod: r.pod,
      ag: AG_NAME,
      mode: "availability-group",
      role: r.role,
      availabilityMode: r.mode,
      health: "healthy",
      sqlReachable: true,
      sequenceNumber: r.mode === "AsynchronousCommit" ? "0" : String(r.sequenceNumber),
      agExists: true,
      databases: [],
      lastReason: "steady_secondary",
      cycle: 1,
      agentVersion: "sim",
      observedAt: "sim",
    };
  }

  private reachable(r: SimReplica): boolean {
    return r.agentAlive && r.sql === "running";
  }

  private observation(r: SimReplica): Observation {
    const now = this.clock.nowMs();
    const primary = this.replicas.find((x) => x.role === "PRIMARY" && x.sql === "running");
    const sql: Observation["sql"] =
      r.sql === "running"
        ? {
            reachability: "reachable",
            serverName: r.pod,
            hadrEnabled: true,
            ag: {
              groupId: "G",
              role: r.role,
              availabilityMode: r.mode,
              sequenceNumber: r.sequenceNumber,
              requiredSynchronizedSecondariesToCommit: r.rsstc,
              replicas: this.replicas.map((x) => ({
                name: x.pod,
                availabilityMode: x.mode,
                readableSecondary: false,
                role: x.role,
                connected: x.sql === "running",
                allDatabasesSynchronized: x.synchronized && x.sql === "running",
              })),
              databases: [],
              ...(primary !== undefined ? { primaryReplica: primary.pod } : {}),
            },
            endpoint: "started",
            endpointSecurityReady: true,
          }
        : r.sql === "down"
          ? { reachability: "refused" }
          : { reachability: "timeout" };
    const cr: NonNullable<Observation["cr"]> = { spec: this.spec(), ...(this.switchoverTo !== undefined ? { switchoverTo: this.switchoverTo } : {}) };
    return {
      self: { agentStartedAtMs: r.agentStartedAtMs, terminating: false, preStopRequested: false },
      sql,
      diagnostics: {
        startedAtMs: r.agentStartedAtMs,
        lastResultSetAtMs: r.sql === "running" ? now - 500 : r.sql === "frozen" ? (r.frozenAtMs ?? now) : now - 30_000,
        components: ["system", "resource", "query_processing"].map((componentName) => ({ componentName, state: 1 })),
        connectionFailure: r.sql === "down" ? { reason: "refused", atMs: now - 100 } : undefined,
        consecutiveRefusals: r.sql === "down" ? 1 : 0,
      },
      lease: { ...(r.leaseObservation !== undefined ? { observation: r.leaseObservation } : {}), ...(r.lastRenewSentAtMs !== undefined ? { lastRenewSentAtMs: r.lastRenewSentAtMs } : {}) },
      sqlWriteLease: { renewalInFlight: false, ...(r.lastSqlRenewalEndedAtMs !== undefined ? { lastRenewalAttemptEndedAtMs: r.lastSqlRenewalEndedAtMs } : {}) },
      cr,
      hadrCertificatePublished: true,
      podLabels: this.replicas.map((x) => ({ pod: x.pod, ...(x.label !== undefined ? { role: x.label } : {}), readable: false })),
      peers: this.replicas
        .filter((x) => x !== r)
        .map((x) => (this.reachable(x) ? { pod: x.pod, status: this.statusOf(x), statusAgeMs: 500 } : { pod: x.pod })),
      completed: r.completed.splice(0),
    };
  }

  private execute(r: SimReplica, decision: Decision): void {
    const now = this.clock.nowMs();
    for (const action of decision.actions) {
      switch (action.kind) {
        case "renewLease":
          if (this.lease.holderIdentity !== r.pod) return;
          this.lease = { ...this.record(r.pod, this.lease.leaseTransitions, this.lease.annotations) };
          r.lastRenewSentAtMs = now;
          break;
        case "claimLease": {
          const expected = action.expectedResourceVersion;
          if (expected !== undefined && expected !== this.lease.resourceVersion) return;
          this.lease = this.record(r.pod, this.lease.leaseTransitions + 1, {});
          r.lastRenewSentAtMs = now;
          break;
        }
        case "releaseLease":
          if (this.lease.holderIdentity !== r.pod) return;
          this.lease = this.record("", this.lease.leaseTransitions, {
            [annotations.fenced]: String(action.fenced),
            [annotations.releaseReason]: action.releaseReason,
            ...(action.betterCandidate !== undefined ? { [annotations.betterCandidate]: action.betterCandidate } : {}),
          });
          delete r.lastRenewSentAtMs;
          break;
        case "handOverLease":
          if (this.lease.holderIdentity !== r.pod) return;
          this.lease = this.record(action.target, this.lease.leaseTransitions + 1, { [annotations.fenced]: String(action.fenced) });
          delete r.lastRenewSentAtMs;
          break;
        case "renewSqlWriteLease":
          if (r.sql !== "running" || !sqlLeaseRenewalAllowed(action.authority, r.lastRenewSentAtMs, now)) return;
          r.lastSqlRenewalEndedAtMs = now;
          r.sqlLeaseExpiresAtMs = now + action.sqlWriteLeaseSeconds * 1000;
          break;
        case "collectSequenceReports": {
          const reports: SequenceReport[] = this.replicas
            .filter((x) => action.peers.includes(x.pod) && this.reachable(x))
            .map((x) => ({ pod: x.pod, epoch: action.epoch, sequenceNumber: x.mode === "AsynchronousCommit" ? "0" : String(x.sequenceNumber), healthy: true }));
          r.completed.push({ kind: "collectSequenceReports", ok: true, startedAtMs: now, finishedAtMs: now, epoch: action.epoch, sequenceReports: reports });
          break;
        }
        case "promote": {
          if (r.sql !== "running" || !r.synchronized) {
            r.completed.push({ kind: "promote", ok: false, sqlErrorNumber: 41142, startedAtMs: now, finishedAtMs: now, epoch: action.epoch });
            break;
          }
          for (const x of this.replicas) if (x !== r && x.role === "PRIMARY" && x.sql === "running") x.role = "SECONDARY";
          r.role = "PRIMARY";
          const next = this.replicas.reduce((max, x) => (x.sequenceNumber > max ? x.sequenceNumber : max), 0n) + 1n;
          for (const x of this.replicas) if (x.sql === "running") x.sequenceNumber = next;
          r.completed.push({ kind: "promote", ok: true, startedAtMs: now, finishedAtMs: now, epoch: action.epoch });
          break;
        }
        case "setRequiredSynchronizedSecondaries":
          r.rsstc = action.value;
          break;
        case "offline":
          if (r.sql === "running") r.role = "RESOLVING";
          break;
        case "setRoleSecondary":
          if (r.sql === "running" && r.role === "RESOLVING" && this.replicas.some((x) => x.role === "PRIMARY" && x.sql === "running")) r.role = "SECONDARY";
          break;
        case "labelPod": {
          const target = this.get(action.pod);
          if (action.role === undefined) delete target.label;
          else target.label = action.role;
          break;
        }
        default:
          break;
      }
    }
  }

  /** The agent process restarts: memory, Lease view and renewal history are gone; SQL Server keeps running. */
  restartAgent(pod: string): void {
    const r = this.get(pod);
    r.agentAlive = true;
    r.memory = initialMemory();
    delete r.leaseObservation;
    delete r.lastRenewSentAtMs;
    delete r.lastSqlRenewalEndedAtMs;
    r.agentStartedAtMs = this.clock.nowMs();
    r.completed = [];
  }

  acceptsWrites(r: SimReplica): boolean {
    return r.sql === "running" && r.role === "PRIMARY" && this.clock.nowMs() < r.sqlLeaseExpiresAtMs;
  }

  async tick(): Promise<void> {
    const now = this.clock.nowMs();
    for (const r of this.replicas) {
      // SQL Server takes a primary whose write lease lapsed to RESOLVING by itself.
      if (r.role === "PRIMARY" && now >= r.sqlLeaseExpiresAtMs && r.sql !== "down") r.role = "RESOLVING";
    }
    for (const r of this.replicas) {
      if (!r.agentAlive) continue;
      r.leaseObservation = observeLease(r.leaseObservation, this.lease, now);
      const result = decide(this.observation(r), r.memory, testConfig(r.pod), now);
      r.memory = result.memory;
      r.reasons.push({ atMs: now, reason: result.decision.reason });
      this.execute(r, result.decision);
    }
    const writers = this.replicas.filter((r) => this.acceptsWrites(r)).map((r) => r.pod);
    if (writers.length > 1) this.doubleWriters.push({ atMs: now, pods: writers });
    this.writer.push({ atMs: now, pod: writers[0] });
    await this.clock.advance(timing.loopIntervalMs);
  }

  async run(ticks: number): Promise<void> {
    for (let i = 0; i < ticks; i++) await this.tick();
  }

  /** Longest stretch (ms) without any writer, from `fromMs`. */
  writeGapMs(fromMs: number): number {
    let gap = 0;
    let start: number | undefined;
    for (const w of this.writer.filter((x) => x.atMs >= fromMs)) {
      if (w.pod === undefined) start ??= w.atMs;
      else if (start !== undefined) {
        gap = Math.max(gap, w.atMs - start);
        start = undefined;
      }
    }
    if (start !== undefined) gap = Infinity;
    return gap;
  }

  reasonsOf(pod: string): ReasonCode[] {
    return this.get(pod).reasons.map((r) => r.reason);
  }
}

const SYNC: AvailabilityMode = "SynchronousCommit";

describe("cluster simulation (several agents, one Lease, FakeClock)", () => {
  it("steady state: the holder keeps the primary writable and nobody else moves", async () => {
    const cluster = new Cluster([SYNC, SYNC, SYNC]);
    await cluster.run(30);
    expect(cluster.doubleWriters).to.deep.equal([]);
    expect(cluster.writeGapMs(cluster.clock.nowMs() - 29_000)).to.equal(0);
    expect(cluster.lease.holderIdentity).to.equal("ag1-0");
    expect(cluster.get("ag1-0").rsstc).to.equal(1);
    expect(cluster.reasonsOf("ag1-1").at(-1)).to.equal("steady_secondary");
  });

  it("node loss of the primary: a synchronous secondary takes over after the Lease expires, never two writers", async () => {
    const cluster = new Cluster([SYNC, SYNC, SYNC]);
    await cluster.run(5);
    const failedAtMs = cluster.clock.nowMs();
    const old = cluster.get("ag1-0");
    old.agentAlive = false;
    old.sql = "frozen";
    old.frozenAtMs = failedAtMs;
    await cluster.run(30);
    expect(cluster.doubleWriters).to.deep.equal([]);
    const newPrimary = cluster.replicas.find((r) => r.role === "PRIMARY" && r.sql === "running");
    expect(newPrimary?.pod).to.equal("ag1-1");
    expect(cluster.lease.holderIdentity).to.equal("ag1-1");
    const resumedAt = cluster.writer.find((w) => w.atMs > failedAtMs && w.pod === "ag1-1")?.atMs ?? Infinity;
    expect(resumedAt - failedAtMs).to.be.at.most(timing.leaseDurationMs + 3000);
    expect(cluster.reasonsOf("ag1-1")).to.include.members(["claiming_expired_lease", "collecting_sequence_numbers", "promoting_max_sequence", "promoted"]);
    expect(cluster.get("ag1-2").label).to.equal("secondary");
  });

  it("SQL process crash on the primary: released fenced at once, writes resume within 5 s, the old replica rejoins as SECONDARY", async () => {
    const cluster = new Cluster([SYNC, SYNC, SYNC]);
    await cluster.run(5);
    const crashedAtMs = cluster.clock.nowMs();
    cluster.get("ag1-0").sql = "down";
    await cluster.run(8);
    expect(cluster.lease.holderIdentity).to.equal("ag1-1");
    const resumedAt = cluster.writer.find((w) => w.atMs > crashedAtMs && w.pod !== undefined)?.atMs ?? Infinity;
    expect(resumedAt - crashedAtMs).to.be.at.most(5000);
    expect(cluster.reasonsOf("ag1-0")).to.include("sql_process_down");
    // The process restarts, as RESOLVING (never PRIMARY), and follows the new primary.
    const old = cluster.get("ag1-0");
    old.sql = "running";
    old.role = "RESOLVING";
    await cluster.run(25);
    expect(old.role).to.equal("SECONDARY");
    expect(old.label).to.equal("secondary");
    expect(cluster.get("ag1-1").label).to.equal("primary");
    expect(cluster.doubleWriters).to.deep.equal([]);
  });

  it("planned switchover by annotation: OFFLINE, hand over, the target promotes within two loop cycles", async () => {
    const cluster = new Cluster([SYNC, SYNC, SYNC]);
    await cluster.run(5);
    const startedAtMs = cluster.clock.nowMs();
    cluster.switchoverTo = "ag1-2";
    await cluster.run(15);
    expect(cluster.doubleWriters).to.deep.equal([]);
    expect(cluster.lease.holderIdentity).to.equal("ag1-2");
    expect(cluster.get("ag1-2").role).to.equal("PRIMARY");
    expect(cluster.get("ag1-0").role).to.equal("SECONDARY");
    expect(cluster.writeGapMs(startedAtMs)).to.be.at.most(2000);
    expect(cluster.reasonsOf("ag1-0")).to.include.members(["switchover_demoting", "switchover_handing_over"]);
    expect(cluster.reasonsOf("ag1-2")).to.include("promoting_max_sequence");
  });

  it("agent crash on the primary: the restarted agent re-renews before its SQL lease lapses, no write gap", async () => {
    const cluster = new Cluster([SYNC, SYNC, SYNC]);
    await cluster.run(5);
    const crashedAtMs = cluster.clock.nowMs();
    cluster.get("ag1-0").agentAlive = false;
    await cluster.run(3);
    cluster.restartAgent("ag1-0");
    await cluster.run(20);
    expect(cluster.doubleWriters).to.deep.equal([]);
    expect(cluster.writeGapMs(crashedAtMs)).to.equal(0);
    expect(cluster.lease.holderIdentity).to.equal("ag1-0");
    expect(cluster.reasonsOf("ag1-0")).to.include("lease_renewal_overdue");
  });

  it("whole-cluster cold restart: every replica comes back RESOLVING; the last holder promotes, the rest follow", async () => {
    const cluster = new Cluster([SYNC, SYNC, SYNC]);
    await cluster.run(5);
    for (const r of cluster.replicas) {
      r.agentAlive = false;
      r.role = "RESOLVING";
    }
    await cluster.run(30);
    for (const r of cluster.replicas) cluster.restartAgent(r.pod);
    await cluster.run(20);
    expect(cluster.doubleWriters).to.deep.equal([]);
    expect(cluster.get("ag1-0").role).to.equal("PRIMARY");
    expect(cluster.get("ag1-1").role).to.equal("SECONDARY");
    expect(cluster.get("ag1-2").role).to.equal("SECONDARY");
    expect(cluster.lease.holderIdentity).to.equal("ag1-0");
  });

  it("two synchronous replicas without a witness: no automatic failover (quorum), never two writers", async () => {
    const cluster = new Cluster([SYNC, SYNC]);
    await cluster.run(3);
    const crashedAtMs = cluster.clock.nowMs();
    const old = cluster.get("ag1-0");
    old.agentAlive = false;
    old.sql = "frozen";
    old.frozenAtMs = crashedAtMs;
    await cluster.run(40);
    expect(cluster.doubleWriters).to.deep.equal([]);
    expect(cluster.get("ag1-1").role).to.not.equal("PRIMARY");
    expect(cluster.reasonsOf("ag1-1")).to.include("quorum_short_releasing");
  });

  it("two synchronous replicas plus a configuration-only witness: failover works", async () => {
    const cluster = new Cluster([SYNC, SYNC, "ConfigurationOnly"]);
    await cluster.run(3);
    const old = cluster.get("ag1-0");
    old.agentAlive = false;
    old.sql = "frozen";
    old.frozenAtMs = cluster.clock.nowMs();
    await cluster.run(30);
    expect(cluster.doubleWriters).to.deep.equal([]);
    expect(cluster.get("ag1-1").role).to.equal("PRIMARY");
    expect(cluster.get("ag1-2").role).to.not.equal("PRIMARY");
  });
});
