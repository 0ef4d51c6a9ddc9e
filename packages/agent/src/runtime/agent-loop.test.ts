/**
 * The executor rules of the agent loop (ARCHITECTURE §4.1, §4.4), with `decide` scripted so each rule is
 * checked in isolation: everything else is real (LeaseClient on the fake cluster's Lease store, status
 * builders, metrics) or a hand-written fake (FakeSql, FakeCluster, FakeClock).
 */
import { createServer } from "node:net";
import { expect } from "chai";
import winston from "winston";
import { annotations, labels, type PreStopResponse, type SQLServerAvailabilityGroup } from "@sqlag/api";
import { minimalAvailabilityGroup } from "@sqlag/api/schema/fixtures";
import { FakeApiError, FakeClock } from "@sqlag/testkit";
import type { AvailabilityGroupAgentConfig } from "../config.js";
import type { Action, AgentMemory, Decision, DecisionReport, Observation } from "../core/index.js";
import { testConfig } from "../core/testing/observation-builder.js";
import { AgentMetrics } from "../http/metrics.js";
import { AgentLoop, kubeWriteBudgetMs, peerReportTimeoutMs } from "./agent-loop.js";
import { FakeCluster } from "./testing/fake-cluster.js";
import { FakeSql, sqlError } from "./testing/fake-sql.js";

const ME = "ag1-0";
const RENEW_DEADLINE_MS = 5000;

function agentConfig(): AvailabilityGroupAgentConfig {
  return {
    ...testConfig(ME),
    mode: "availability-group",
    httpBindAddress: "127.0.0.1",
    namespace: "db",
    httpPort: 8080,
    logLevel: "error",
    sql: { host: "127.0.0.1", port: 1433, encrypt: true, trustServerCertificate: false, saPassword: "unused" },
    healthCheckIntervalMs: 5000,
    endpointPort: 5022,
    clusterDomain: "cluster.local",
    hadrSecretDir: "/nonexistent",
  };
}

function crFixture(): SQLServerAvailabilityGroup {
  const cr = minimalAvailabilityGroup();
  cr.metadata = { name: "ag1", namespace: "db" };
  return cr;
}

/** decide() replaced by a script: each cycle takes the next decision (idle when the script is empty). */
class ScriptedDecide {
  readonly observations: Observation[] = [];
  private readonly script: Decision[] = [];

  then(actions: Action[], report: Partial<DecisionReport> = {}, reason: Decision["reason"] = "lease_renewed"): this {
    this.script.push({ reason, actions, report: { health: { verdict: "healthy", unresponsiveStrikes: 0 }, isHolder: false, ...report } });
    return this;
  }

  readonly decide = (observation: Observation, memory: AgentMemory): { decision: Decision; memory: AgentMemory } => {
    this.observations.push(observation);
    const decision = this.script.shift() ?? { reason: "steady_secondary", actions: [], report: { health: { verdict: "healthy", unresponsiveStrikes: 0 }, isHolder: false } };
    return { decision, memory };
  };

  get last(): Observation {
    const o = this.observations.at(-1);
    if (o === undefined) throw new Error("no cycle ran yet");
    return o;
  }
}

interface Rig {
  clock: FakeClock;
  cluster: FakeCluster;
  script: ScriptedDecide;
  leaseSql: FakeSql;
  actionSql: FakeSql;
  loop: AgentLoop;
  metrics: AgentMetrics;
}

function rig(options: { renewDeadlineMs?: number; peerBaseUrl?: (pod: string) => string | undefined } = {}): Rig {
  const clock = new FakeClock();
  const config = agentConfig();
  if (options.renewDeadlineMs !== undefined) config.timing = { ...config.timing, renewDeadlineMs: options.renewDeadlineMs };
  const cluster = new FakeCluster({ clock, cr: crFixture() });
  const script = new ScriptedDecide();
  const metrics = new AgentMetrics("test");
  const leaseSql = new FakeSql();
  const actionSql = new FakeSql();
  const loop = new AgentLoop({
    config,
    clock,
    kube: cluster.portFor(ME),
    observeSql: new FakeSql(),
    leaseSql,
    actionSql,
    diagnostics: { snapshot: () => ({ startedAtMs: clock.nowMs(), lastResultSetAtMs: undefined, components: [], connectionFailure: undefined, consecutiveRefusals: 0 }) },
    metrics,
    logger: winston.createLogger({ silent: true }),
    events: cluster.eventRecorder(ME),
    version: "test",
    decide: script.decide,
    peerBaseUrl: options.peerBaseUrl ?? (() => undefined),
  });
  return { clock, cluster, script, leaseSql, actionSql, loop, metrics };
}

/** Polls `probe` every 50 ms of real time until it is true; fails after `timeoutMs`. */
async function eventuallyTrue(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Lets background work (a long action's promise chain) run to its next await. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const renewSql: Action = { kind: "renewSqlWriteLease", sqlWriteLeaseSeconds: 8, authority: { kind: "lease", renewDeadlineMs: RENEW_DEADLINE_MS } };

describe("AgentLoop executor", () => {
  describe("a silent peer's sequence report is given up on long before the promotion budget (§4.5)", () => {
    const cases: { renewDeadlineMs: number; expectedMs: number }[] = [
      { renewDeadlineMs: 5000, expectedMs: 2500 },
      { renewDeadlineMs: 10_000, expectedMs: 5000 },
      { renewDeadlineMs: 1500, expectedMs: 1000 },
    ];
    for (const c of cases) {
      it(`renewDeadline ${c.renewDeadlineMs} ms: ${c.expectedMs} ms`, () => {
        expect(peerReportTimeoutMs({ renewDeadlineMs: c.renewDeadlineMs })).to.equal(c.expectedMs);
      });
    }

    it("a peer that accepts the connection and never answers does not hold the collection for the whole budget", async () => {
      const silent = createServer(() => undefined); // accepts, never answers: a blackholed peer
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      const address = silent.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      try {
        const r = rig({ renewDeadlineMs: 2000, peerBaseUrl: () => `http://127.0.0.1:${port}` });
        r.script.then([{ kind: "collectSequenceReports", epoch: 3, peers: ["ag1-1", "ag1-2"] }]);
        const startedAtMs = Date.now();
        await r.loop.cycleOnce();
        await eventuallyTrue(() => r.loop.cycleOnce().then(() => r.script.last.completed.some((a) => a.kind === "collectSequenceReports")), 10_000);
        const tookMs = Date.now() - startedAtMs;
        const done = r.script.last.completed.find((a) => a.kind === "collectSequenceReports");
        expect(done?.ok).to.equal(true);
        expect(done?.sequenceReports).to.deep.equal([]);
        // Behaviour, not a timing target: bounded by the per-peer limit (1 s here), far below the 15 s budget.
        expect(tookMs).to.be.below(10_000);
      } finally {
        silent.close();
      }
    });
  });

  describe("Kubernetes write budget: a failsafe cycle stays well inside renewDeadline (§4.9)", () => {
    const cases: { name: string; renewDeadlineMs: number; loopIntervalMs: number; normalMs: number; failsafeMs: number }[] = [
      { name: "defaults (renewDeadline 5 s, loop 1 s)", renewDeadlineMs: 5000, loopIntervalMs: 1000, normalMs: 4000, failsafeMs: 1500 },
      { name: "long renewDeadline 10 s", renewDeadlineMs: 10_000, loopIntervalMs: 1000, normalMs: 9000, failsafeMs: 4000 },
      { name: "tight renewDeadline 2 s: floors of 1 s and 0.5 s", renewDeadlineMs: 2000, loopIntervalMs: 1000, normalMs: 1000, failsafeMs: 500 },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.normalMs} ms per write, ${c.failsafeMs} ms for a failsafe cycle's writes`, () => {
        const timing = { renewDeadlineMs: c.renewDeadlineMs, loopIntervalMs: c.loopIntervalMs };
        expect(kubeWriteBudgetMs(timing, false)).to.equal(c.normalMs);
        expect(kubeWriteBudgetMs(timing, true)).to.equal(c.failsafeMs);
        // Heartbeat cadence = budget + one loop interval at most: always inside the ack's validity.
        expect(kubeWriteBudgetMs(timing, true) + c.loopIntervalMs).to.be.below(c.renewDeadlineMs);
      });
    }
  });

  describe("the SQL write lease is renewed only on a Lease renewal sent within renewDeadline (§4.4)", () => {
    const cases: { name: string; afterClaimMs: number; sent: boolean }[] = [
      { name: "right after the Lease renewal", afterClaimMs: 0, sent: true },
      { name: "at the deadline", afterClaimMs: RENEW_DEADLINE_MS, sent: true },
      { name: "past the deadline (the Lease renewals stopped succeeding)", afterClaimMs: RENEW_DEADLINE_MS + 1, sent: false },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.sent ? "sent" : "skipped, reported as failed"}`, async () => {
        const r = rig();
        r.script.then([{ kind: "claimLease" }]);
        await r.loop.cycleOnce();
        expect(r.cluster.leaseRecord()?.holderIdentity).to.equal(ME);
        await r.clock.advance(c.afterClaimMs);
        r.script.then([renewSql]);
        await r.loop.cycleOnce();
        await r.loop.cycleOnce();
        expect(r.leaseSql.names()).to.deep.equal(c.sent ? ["renew_write_lease"] : []);
        expect(r.script.last.completed.map((a) => [a.kind, a.ok])).to.deep.equal([["renewSqlWriteLease", c.sent]]);
      });
    }

    it("never before this process renewed the Lease at all (a record naming us from a previous incarnation)", async () => {
      const r = rig();
      r.cluster.leaseStore.put({ metadata: { name: "ag1-primary", namespace: "db" }, spec: { holderIdentity: ME, leaseDurationSeconds: 15, leaseTransitions: 2, renewTime: "2026-01-01T00:00:00.000000Z" } });
      r.script.then([renewSql]);
      await r.loop.cycleOnce();
      expect(r.leaseSql.sent).to.deep.equal([]);
    });
  });

  describe("a failed Lease renewal skips the rest of the decision", () => {
    const cases: { name: string; fail: (r: Rig) => void; conflict: boolean }[] = [
      { name: "lost race (409)", fail: (r) => r.cluster.leaseStore.failNext("replace", FakeApiError.conflict()), conflict: true },
      { name: "API server unreachable", fail: (r) => r.cluster.cutFromApi(ME), conflict: false },
    ];
    for (const c of cases) {
      it(`${c.name}: no SQL renewal, no label, and the failure is reported`, async () => {
        const r = rig();
        r.script.then([{ kind: "claimLease" }]);
        await r.loop.cycleOnce();
        c.fail(r);
        r.script.then([{ kind: "renewLease" }, renewSql, { kind: "labelPod", pod: ME, role: "primary" }]);
        await r.loop.cycleOnce();
        r.cluster.restoreApi(ME);
        await r.loop.cycleOnce();
        expect(r.leaseSql.sent).to.deep.equal([]);
        expect(r.cluster.podLabels(ME)).to.not.have.property(labels.role);
        const completed = r.script.last.completed;
        expect(completed.map((a) => [a.kind, a.ok])).to.deep.equal([["renewLease", false]]);
        expect(completed[0]?.conflict === true).to.equal(c.conflict);
      });
    }

    it("a successful renewal lets the SQL renewal and the label through, in order", async () => {
      const r = rig();
      r.script.then([{ kind: "claimLease" }]).then([{ kind: "renewLease" }, renewSql, { kind: "labelPod", pod: ME, role: "primary", readable: false }]);
      await r.loop.cycleOnce();
      await r.clock.advance(2000);
      await r.loop.cycleOnce();
      await r.loop.cycleOnce();
      expect(r.leaseSql.names()).to.deep.equal(["renew_write_lease"]);
      expect(r.cluster.podLabels(ME)).to.include({ [labels.role]: "primary", [labels.readable]: "false" });
      expect(r.script.last.completed.map((a) => [a.kind, a.ok])).to.deep.equal([
        ["renewLease", true],
        ["renewSqlWriteLease", true],
        ["labelPod", true],
      ]);
    });
  });

  describe("long actions", () => {
    const recoveryCases: { action: Action; event: string; metricAction: string }[] = [
      { action: { kind: "setRoleSecondary" }, event: "RoleSetSecondary", metricAction: "set_role_secondary" },
      { action: { kind: "restartEndpoint", offlineFirst: true }, event: "EndpointRestarted", metricAction: "restart_endpoint" },
    ];
    for (const c of recoveryCases) {
      it(`recovery step ${c.action.kind}: counted as ${c.metricAction} and announced by the Event ${c.event} (§4.8, §4.12)`, async () => {
        const r = rig();
        r.script.then([c.action]);
        await r.loop.cycleOnce();
        await settle();
        await r.loop.cycleOnce();
        expect(r.script.last.completed.map((a) => [a.kind, a.ok])).to.deep.equal([[c.action.kind, true]]);
        expect(r.cluster.events.map((e) => e.reason)).to.include(c.event);
        const counter = await r.metrics.recoveryActions.get();
        expect(counter.values.find((v) => v.labels["action"] === c.metricAction)?.value).to.equal(1);
      });
    }

    it("run one at a time, are visible as in progress, and come back in `completed`", async () => {
      const r = rig();
      r.actionSql.hold("join_availability_group");
      r.script.then([{ kind: "joinAg", grantCreateAnyDatabase: true }]).then([{ kind: "offline" }]);
      await r.loop.cycleOnce();
      await settle();
      await r.loop.cycleOnce(); // asks for OFFLINE while JOIN still runs: not started
      expect(r.script.last.inProgress?.kind).to.equal("joinAg");
      expect(r.actionSql.names()).to.deep.equal(["local_replica_state", "join_availability_group"]);

      r.actionSql.release("join_availability_group");
      await settle();
      await r.loop.cycleOnce();
      expect(r.script.last.inProgress).to.equal(undefined);
      expect(r.script.last.completed.map((a) => [a.kind, a.ok])).to.deep.equal([["joinAg", true]]);
      expect(r.actionSql.names()).to.not.include("offline");
      expect(r.cluster.events.map((e) => e.reason)).to.include("Joined");
    });

    // ADR 0006: the holder re-exports the existing certificate into a Secret that lost it; the Event tells the
    // user only when the Secret was written (a Secret not read yet usually has the certificate already).
    const republishCases: { name: string; certificateInSecret: boolean; expectedStatements: string[]; expectedEvent: boolean }[] = [
      { name: "Secret without a certificate: exported, stored, Event CertificateRepublished", certificateInSecret: false, expectedStatements: ["security_state", "export_certificate"], expectedEvent: true },
      { name: "Secret already has the certificate: nothing sent, no Event", certificateInSecret: true, expectedStatements: [], expectedEvent: false },
    ];
    for (const c of republishCases) {
      it(`republishCertificate, ${c.name}`, async () => {
        const r = rig();
        if (c.certificateInSecret) await r.cluster.portFor(ME).secretStore().publishCertificate(Buffer.from("0102", "hex"), Buffer.from("0304", "hex"), new AbortController().signal);
        r.actionSql
          .answer("security_state", [{ master_keys: 1, certificates: 1, endpoint_logins: 1, agent_logins: 1, mirroring_endpoints: 1 }])
          .answer("export_certificate", [{ certificate: Buffer.from("3082", "hex"), private_key: Buffer.from("1e0a", "hex") }]);
        r.script.then([{ kind: "bootstrapStep", step: "republishCertificate" }], {}, "bootstrap_publishing_certificate");
        await r.loop.cycleOnce();
        await settle();
        await r.loop.cycleOnce();
        expect(r.script.last.completed.map((a) => [a.kind, a.ok])).to.deep.equal([["bootstrapStep", true]]);
        expect(r.actionSql.names()).to.deep.equal(c.expectedStatements);
        const reasons = r.cluster.events.map((e) => e.reason);
        expect(reasons.includes("CertificateRepublished"), "CertificateRepublished Event").to.equal(c.expectedEvent);
        expect(reasons, "no generic BootstrapStep Event for a republish").to.not.include("BootstrapStep");
        expect(r.cluster.hadrSecret().data?.["certificate"], "certificate in the Secret").to.not.equal(undefined);
      });
    }

    it("a failed long action is reported with its SQL error number and epoch", async () => {
      const r = rig();
      r.actionSql.failNext("failover", sqlError(41142));
      r.script.then([{ kind: "promote", epoch: 5 }]);
      await r.loop.cycleOnce();
      await settle();
      await r.loop.cycleOnce();
      expect(r.script.last.completed).to.have.length(1);
      expect(r.script.last.completed[0]).to.include({ kind: "promote", ok: false, sqlErrorNumber: 41142, epoch: 5 });
    });

    it("the loop runs the next cycle as soon as a long action finished, not at the next tick (bootstrap is a chain of them)", async () => {
      const r = rig();
      r.actionSql.hold("join_availability_group");
      r.script.then([{ kind: "joinAg", grantCreateAnyDatabase: true }]);
      r.loop.start();
      await settle();
      expect(r.script.observations, "first cycle at start").to.have.length(1);
      await r.clock.advance(1000);
      await settle();
      expect(r.script.observations, "one tick later").to.have.length(2);
      r.actionSql.release("join_availability_group");
      await settle();
      expect(r.script.observations, "woken by the finished JOIN without time passing").to.have.length(3);
      expect(r.script.last.completed.map((a) => [a.kind, a.ok])).to.deep.equal([["joinAg", true]]);
      await r.clock.advance(999);
      await settle();
      expect(r.script.observations, "the cadence restarts from the early cycle").to.have.length(3);
      await r.clock.advance(1);
      await settle();
      expect(r.script.observations).to.have.length(4);
      await r.loop.stop();
    });

    it("short actions still run while a long one is in progress (the loop keeps renewing)", async () => {
      const r = rig();
      r.actionSql.hold("join_availability_group");
      r.script.then([{ kind: "claimLease" }, { kind: "joinAg", grantCreateAnyDatabase: false }]).then([{ kind: "renewLease" }, renewSql]);
      await r.loop.cycleOnce();
      await settle();
      await r.clock.advance(1000);
      await r.loop.cycleOnce();
      expect(r.leaseSql.names()).to.deep.equal(["renew_write_lease"]);
      r.actionSql.release("join_availability_group");
      await settle();
    });
  });

  describe("preStop is answered from the decision report", () => {
    const cases: { name: string; report: DecisionReport["preStop"]; leaseHolder?: string; expected: Partial<PreStopResponse> }[] = [
      { name: "no eligible target", report: "no_eligible_target", expected: { outcome: "no_eligible_target" } },
      { name: "fenced", report: "fenced", expected: { outcome: "fenced" } },
      { name: "not primary, nobody else holds the Lease", report: "not_primary", expected: { outcome: "not_primary" } },
      { name: "not primary after handing the Lease over", report: "not_primary", leaseHolder: "ag1-1", expected: { outcome: "switched_over", target: "ag1-1" } },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.expected.outcome}`, async () => {
        const r = rig();
        if (c.leaseHolder !== undefined) r.cluster.leaseStore.put({ metadata: { name: "ag1-primary", namespace: "db" }, spec: { holderIdentity: c.leaseHolder, leaseDurationSeconds: 15, leaseTransitions: 3 } });
        let answer: PreStopResponse | undefined;
        void r.loop.preStop(new AbortController().signal).then((a) => (answer = a));
        r.script.then([], {}, "prestop_switching_over").then([], { preStop: c.report }, "prestop_not_primary");
        await r.loop.cycleOnce();
        await settle();
        expect(r.script.last.self.preStopRequested).to.equal(true);
        expect(answer, "not answered before the report says so").to.equal(undefined);
        await r.loop.cycleOnce();
        await settle();
        if (c.leaseHolder !== undefined) {
          // Handed over: SQL Server must stay up until the target is PRIMARY (unknown here), at most a lease duration.
          expect(answer, "not answered before the target took over").to.equal(undefined);
          await r.clock.advance(agentConfig().timing.leaseDurationMs);
          r.script.then([], { preStop: c.report }, "prestop_not_primary");
          await r.loop.cycleOnce();
          await settle();
        }
        expect(answer).to.deep.include(c.expected);
      });
    }

    it("the pod's grace period running out answers timed_out", async () => {
      const r = rig();
      const abort = new AbortController();
      const pending = r.loop.preStop(abort.signal);
      abort.abort();
      expect((await pending).outcome).to.equal("timed_out");
      await r.loop.cycleOnce();
      expect(r.script.last.self.preStopRequested).to.equal(false);
    });
  });

  describe("failsafe heartbeats are acknowledged only for the current holder and epoch (§4.9)", () => {
    const cases: { name: string; heartbeat: { holder: string; epoch: number }; acked: boolean }[] = [
      { name: "matching holder and epoch", heartbeat: { holder: "ag1-1", epoch: 3 }, acked: true },
      { name: "older epoch", heartbeat: { holder: "ag1-1", epoch: 2 }, acked: false },
      { name: "another holder", heartbeat: { holder: "ag1-2", epoch: 3 }, acked: false },
      { name: "a heartbeat naming this agent as the holder", heartbeat: { holder: ME, epoch: 3 }, acked: false },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.acked ? "acknowledged, with the promise not to claim for a lease duration" : "refused"}`, async () => {
        const r = rig();
        r.cluster.leaseStore.put({ metadata: { name: "ag1-primary", namespace: "db" }, spec: { holderIdentity: c.heartbeat.holder === ME ? ME : "ag1-1", leaseDurationSeconds: 15, leaseTransitions: 3 } });
        const ack = await r.loop.failsafe({ ...c.heartbeat, heartbeatId: "hb-1" });
        await r.loop.cycleOnce();
        if (c.acked) {
          expect(ack).to.deep.equal({ pod: ME, epoch: 3, heartbeatId: "hb-1", promiseMs: agentConfig().timing.leaseDurationMs });
          expect(r.script.last.lastFailsafeAckAtMs).to.equal(r.clock.nowMs());
        } else {
          expect(ack).to.equal(undefined);
          expect(r.script.last).to.not.have.property("lastFailsafeAckAtMs");
        }
      });
    }
  });

  it("a carried-out switchover clears the request annotation so it cannot pull the primary back", async () => {
    const r = rig();
    r.cluster.annotateCr(annotations.switchoverTo, "ag1-1");
    r.script.then([{ kind: "claimLease" }]).then([{ kind: "handOverLease", target: "ag1-1", fenced: true }], {}, "switchover_handing_over");
    await r.loop.cycleOnce();
    await r.loop.cycleOnce();
    await settle();
    const lease = r.cluster.leaseRecord();
    expect(lease?.holderIdentity).to.equal("ag1-1");
    expect(lease?.leaseTransitions).to.equal(2);
    expect(lease?.annotations[annotations.fenced]).to.equal("true");
    expect(r.cluster.cr.metadata.annotations ?? {}).to.not.have.property(annotations.switchoverTo);
  });
});
