import { expect } from "chai";
import type { AgentStatus, Condition, SQLServerAvailabilityGroupStatus } from "@sqlag/api";
import type { Decision, DecisionReport, Observation } from "../core/index.js";
import { ME, NOW_MS, obs } from "../core/testing/observation-builder.js";
import { buildAgentStatus, buildCrStatus, statusFingerprint } from "./status.js";

const WALL_NOW = new Date("2026-01-01T00:10:00.000Z");
const EARLIER = "2026-01-01T00:00:00.000Z";

function decision(report: Partial<DecisionReport> = {}): Decision {
  return {
    reason: report.isHolder === false ? "steady_secondary" : "primary_steady",
    actions: [],
    report: { health: { verdict: "healthy", unresponsiveStrikes: 0 }, isHolder: true, epoch: 4, holder: ME, ...report },
  };
}

function peerStatus(pod: string, role: AgentStatus["role"], appdb = "SYNCHRONIZED"): AgentStatus {
  return {
    pod,
    ag: "AG1",
    mode: "availability-group",
    role,
    health: "healthy",
    sqlReachable: true,
    sequenceNumber: "100",
    databases: [{ name: "appdb", synchronizationState: appdb, isSuspended: false, databaseState: "ONLINE" }],
    lastReason: "steady_secondary",
    cycle: 9,
    agentVersion: "test",
    observedAt: "2026-01-01T00:09:59.000Z",
  };
}

/** ag1-0 (me) PRIMARY and holder; ag1-1 sync and ag1-2 async secondaries, appdb in the AG. */
function primaryObservation(edit?: (b: ReturnType<typeof obs>) => void): Observation {
  const b = obs()
    .primary()
    .holder(ME, 4)
    .spec((s) => {
      s.replicas = [
        { name: "a", availabilityMode: "SynchronousCommit", failoverMode: "Automatic" },
        { name: "b", availabilityMode: "SynchronousCommit", failoverMode: "Automatic", readableSecondary: true },
        { name: "c", availabilityMode: "AsynchronousCommit", failoverMode: "Manual", readableSecondary: true },
      ];
      s.databases = [{ name: "appdb" }];
    })
    .databases([{ name: "appdb", inAvailabilityGroup: true, synchronizationState: "SYNCHRONIZED" }]);
  edit?.(b);
  return b.build();
}

interface BuildArgs {
  observation?: Observation;
  decision?: Decision;
  previous?: SQLServerAvailabilityGroupStatus;
  peers?: Map<string, AgentStatus>;
  now?: Date;
}

function build(args: BuildArgs = {}): SQLServerAvailabilityGroupStatus | undefined {
  const observation = args.observation ?? primaryObservation();
  const d = args.decision ?? decision({ failoverReady: { status: "True", reason: "SynchronizedSecondaryAvailable", message: "ag1-1 can take over." } });
  const self = buildAgentStatus({ pod: ME, ag: "AG1", version: "test", cycle: 10, observation, decision: d, wallNow: args.now ?? WALL_NOW, wallTimeAtMs: (ms) => new Date(WALL_NOW.getTime() - (NOW_MS - ms)) });
  return buildCrStatus({
    observation,
    decision: d,
    peers: args.peers ?? new Map([["ag1-1", peerStatus("ag1-1", "SECONDARY")], ["ag1-2", peerStatus("ag1-2", "SECONDARY", "SYNCHRONIZING")]]),
    self,
    previous: args.previous,
    generation: 3,
    clusterName: "ag1",
    now: args.now ?? WALL_NOW,
  });
}

function conditionOf(status: SQLServerAvailabilityGroupStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

describe("status builders", () => {
  describe("buildCrStatus: only the Lease holder publishes", () => {
    const silentCases: { name: string; args: BuildArgs }[] = [
      { name: "not the holder", args: { decision: decision({ isHolder: false, holder: "ag1-1" }) } },
      { name: "holder, but the CR was never read", args: { observation: primaryObservation((b) => b.noCr()) } },
    ];
    for (const c of silentCases) {
      it(`${c.name}: nothing to write`, () => {
        expect(build(c.args)).to.equal(undefined);
      });
    }
  });

  it("holder and writable primary, every replica joined and the synchronous one SYNCHRONIZED: Running", () => {
    const status = build()!;
    expect(status.phase).to.equal("Running");
    expect(status.primaryReplica).to.equal(ME);
    expect(status.initializationComplete).to.equal(true);
    expect(status.groupId).to.equal("6F9619FF-8B86-D011-B42D-00C04FC964FF");
    expect(status.epoch).to.equal(4);
    expect(status.replicaStatuses?.map((r) => [r.pod, r.role, r.availabilityMode])).to.deep.equal([
      ["ag1-0", "PRIMARY", "SynchronousCommit"],
      ["ag1-1", "SECONDARY", "SynchronousCommit"],
      ["ag1-2", "SECONDARY", "AsynchronousCommit"],
    ]);
    expect(status.databases).to.deep.equal([
      {
        name: "appdb",
        inAvailabilityGroup: true,
        replicas: [
          { replica: "ag1-0", synchronizationState: "SYNCHRONIZED" },
          { replica: "ag1-1", synchronizationState: "SYNCHRONIZED" },
          { replica: "ag1-2", synchronizationState: "SYNCHRONIZING" },
        ],
      },
    ]);
    expect(status.conditions?.map((c) => [c.type, c.status, c.reason])).to.deep.equal([
      ["Available", "True", "PrimaryWritable"],
      ["FailoverReady", "True", "SynchronizedSecondaryAvailable"],
      ["Synchronized", "True", "AllSynchronized"],
      ["ReplicaRecoveryFailed", "False", "NoStuckReplica"],
    ]);
    expect(status.conditions?.every((c) => c.observedGeneration === 3 && c.lastTransitionTime === WALL_NOW.toISOString())).to.equal(true);
  });

  const phaseCases: { name: string; args: BuildArgs; phase: string; available: string }[] = [
    { name: "no AG yet", args: { observation: primaryObservation((b) => b.noAg()) }, phase: "Bootstrapping", available: "False" },
    { name: "holder whose replica is not PRIMARY (promotion under way)", args: { observation: primaryObservation((b) => b.role("SECONDARY")) }, phase: "Degraded", available: "False" },
    { name: "a peer not joined yet", args: { peers: new Map([["ag1-1", peerStatus("ag1-1", "SECONDARY")], ["ag1-2", peerStatus("ag1-2", "UNKNOWN")]]) }, phase: "Degraded", available: "True" },
    {
      name: "the synchronous secondary is not SYNCHRONIZED",
      args: { observation: primaryObservation((b) => b.replicaState("ag1-1", { allDatabasesSynchronized: false })) },
      phase: "Degraded",
      available: "True",
    },
  ];
  for (const c of phaseCases) {
    it(`${c.name}: phase ${c.phase}, Available ${c.available}`, () => {
      const status = build(c.args)!;
      expect(status.phase).to.equal(c.phase);
      expect(conditionOf(status, "Available")?.status).to.equal(c.available);
    });
  }

  it("a replica removed from the spec but still an AG member stays listed until REMOVE REPLICA (its pod must not go first)", () => {
    const observation = primaryObservation((b) =>
      b.spec((s) => {
        s.replicas = s.replicas.slice(0, 2);
      }),
    );
    const status = build({ observation })!;
    // The leaving replica's mode is the AG catalog's (the spec no longer has it).
    expect(status.replicaStatuses?.map((r) => [r.name, r.pod])).to.deep.equal([
      ["a", "ag1-0"],
      ["b", "ag1-1"],
      ["ag1-2", "ag1-2"],
    ]);
  });

  it("a replica whose recovery ladder gave up raises ReplicaRecoveryFailed with the pod name and what to check", () => {
    const stuck = { ...peerStatus("ag1-1", "RESOLVING"), stuckKind: "resolving" as const, stuckSince: "2026-01-01T00:00:00.000Z", stuckGaveUp: true };
    const status = build({ peers: new Map([["ag1-1", stuck], ["ag1-2", peerStatus("ag1-2", "SECONDARY", "SYNCHRONIZING")]]) })!;
    const condition = status.conditions?.find((c) => c.type === "ReplicaRecoveryFailed");
    expect(condition?.status).to.equal("True");
    expect(condition?.message).to.contain("ag1-1").and.to.contain("resolving");
  });

  it("FailoverReady not assessed yet: Unknown with a sentence, never omitted", () => {
    const status = build({ decision: decision() })!;
    const ready = conditionOf(status, "FailoverReady")!;
    expect(ready.status).to.equal("Unknown");
    expect(ready.message).to.match(/\.$/);
  });

  describe("conditions keep lastTransitionTime while their status does not change", () => {
    const previous: SQLServerAvailabilityGroupStatus = {
      conditions: [
        { type: "Available", status: "True", reason: "PrimaryWritable", message: "old message", lastTransitionTime: EARLIER },
        { type: "FailoverReady", status: "False", reason: "TwoSynchronousReplicasWithoutWitness", message: "old", lastTransitionTime: EARLIER },
      ],
    };

    it("same status: the old transition time stays (even with a new message)", () => {
      expect(conditionOf(build({ previous }), "Available")?.lastTransitionTime).to.equal(EARLIER);
    });

    it("status changed: the transition time is now", () => {
      expect(conditionOf(build({ previous }), "FailoverReady")?.lastTransitionTime).to.equal(WALL_NOW.toISOString());
    });

    it("condition new to the status: the transition time is now", () => {
      expect(conditionOf(build({ previous }), "Synchronized")?.lastTransitionTime).to.equal(WALL_NOW.toISOString());
    });
  });

  describe("statusFingerprint", () => {
    it("ignores times: a later cycle with nothing changed has the same fingerprint (no status write)", () => {
      const first = build()!;
      const later = build({ now: new Date(WALL_NOW.getTime() + 60_000), peers: new Map([["ag1-1", { ...peerStatus("ag1-1", "SECONDARY"), observedAt: "2026-01-01T00:11:00.000Z" }], ["ag1-2", peerStatus("ag1-2", "SECONDARY", "SYNCHRONIZING")]]) })!;
      expect(later.conditions?.[0]?.lastTransitionTime).to.not.equal(first.conditions?.[0]?.lastTransitionTime);
      expect(later.replicaStatuses?.[1]?.lastSeenTime).to.not.equal(first.replicaStatuses?.[1]?.lastSeenTime);
      expect(statusFingerprint(later)).to.equal(statusFingerprint(first));
    });

    it("changes with a real change (a database state)", () => {
      const first = build()!;
      const changed = build({ peers: new Map([["ag1-1", peerStatus("ag1-1", "SECONDARY", "NOT SYNCHRONIZING")], ["ag1-2", peerStatus("ag1-2", "SECONDARY", "SYNCHRONIZING")]]) })!;
      expect(statusFingerprint(changed)).to.not.equal(statusFingerprint(first));
    });
  });

  describe("buildAgentStatus (/v1/status)", () => {
    it("reports role, health, sequence number as a string, the Lease view and the stuck time in wall time", () => {
      const observation = obs().role("RESOLVING").seq(4294967299n).holder("ag1-1", 7).build();
      const d: Decision = { ...decision({ isHolder: false, holder: "ag1-1", stuck: { kind: "resolving", sinceMs: NOW_MS - 30_000, gaveUp: false } }), reason: "resolving_set_role_secondary" };
      const status = buildAgentStatus({ pod: ME, ag: "AG1", version: "1.2.3", cycle: 42, observation, decision: d, wallNow: WALL_NOW, wallTimeAtMs: (ms) => new Date(WALL_NOW.getTime() - (NOW_MS - ms)) });
      expect(status).to.include({ pod: ME, role: "RESOLVING", health: "healthy", sequenceNumber: "4294967299", lastReason: "resolving_set_role_secondary", cycle: 42, agentVersion: "1.2.3", agExists: true });
      expect(status.lease).to.deep.include({ holder: "ag1-1", epoch: 7, heldByMe: false });
      expect(status.stuckSince).to.equal("2026-01-01T00:09:30.000Z");
      expect(status.stuckKind).to.equal("resolving");
    });

    it("SQL Server unreachable: UNKNOWN role, not reachable, no AG facts", () => {
      const status = buildAgentStatus({
        pod: ME,
        ag: "AG1",
        version: "t",
        cycle: 1,
        observation: obs().sqlRefused().build(),
        decision: decision({ isHolder: false, health: { verdict: "down", unresponsiveStrikes: 0 } }),
        wallNow: WALL_NOW,
        wallTimeAtMs: () => WALL_NOW,
      });
      expect(status).to.include({ role: "UNKNOWN", sqlReachable: false, health: "down", agExists: false });
      expect(status).to.not.have.property("sequenceNumber");
    });
  });
});
