/**
 * Simulator integration (issue 5, ARCHITECTURE §6 tier 2): three real agents, each with its real SQL adapter
 * (tedious over TCP with TLS), bring three empty mssql-sim instances to a healthy availability group using
 * only the shared (fake) Kubernetes objects; then the primary's SQL Server crashes and the Lease moves.
 * Every assertion is checked against the simulator's ground truth as well as the agents' own view.
 */
import { expect } from "chai";
import { labels } from "@sqlag/api";
import { overlappingWriters } from "@sqlag/mssql-sim/cluster";
import { eventually, HARNESS_TIMING_SECONDS, type SimHarness } from "./testing/sim-harness.js";
import {
  appdbSynchronizationState,
  conditionOf,
  createKvTable,
  harnessManifest,
  holderOf,
  insertKey,
  scenarioManifest,
  sleep,
  useScenario,
} from "./testing/scenario-kit.js";

/**
 * Everything the issue asks of a bootstrapped AG, as one predicate (for `eventually`): one primary that holds
 * the Lease and is the only writable instance, the status filled, appdb in the AG on every replica and
 * FailoverReady computed (its value depends on the topology).
 */
function bootstrapped(h: SimHarness): boolean {
  const status = h.cluster.status;
  const primary = holderOf(h);
  const writable = h.sim.writableNow();
  const appdb = status?.databases?.find((d) => d.name === "appdb");
  return (
    primary !== "" &&
    status?.phase === "Running" &&
    status.primaryReplica === primary &&
    status.initializationComplete === true &&
    writable.length === 1 &&
    writable[0]?.instance === primary &&
    appdb?.inAvailabilityGroup === true &&
    appdb.replicas.every((r) => r.synchronizationState === "SYNCHRONIZED" || r.synchronizationState === "SYNCHRONIZING") &&
    (conditionOf(h, "FailoverReady")?.status ?? "Unknown") !== "Unknown"
  );
}

async function bootstrap(h: SimHarness): Promise<{ primary: string; bootstrapSeconds: number }> {
  await h.start();
  await eventually("the AG to be bootstrapped", () => bootstrapped(h), 60_000);
  const bootstrapSeconds = (performance.now() - h.lastInstanceReadyAtMs) / 1000;
  console.log(`      bootstrap completed ${bootstrapSeconds.toFixed(2)} s after the last SQL instance was ready`);
  const primary = holderOf(h);
  expect(h.sim.writableNow(), "exactly one writable instance, the Lease holder").to.deep.equal([{ instance: primary, ag: "AG1" }]);
  for (const agent of h.agents) expect(agent.loop.status().role, agent.pod).to.equal(agent.pod === primary ? "PRIMARY" : "SECONDARY");
  const status = h.cluster.status!;
  expect(status.groupId, "groupId").to.match(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/i);
  expect(conditionOf(h, "Available")?.status).to.equal("True");
  expect(h.cluster.statusWrites.length).to.be.greaterThan(0);
  expect(h.cluster.statusWrites.every((w) => w.by === primary), "only the Lease holder writes the CR status").to.equal(true);
  await eventually(
    "pod labels",
    () => h.cluster.podNames().every((p) => h.cluster.podLabels(p)[labels.role] === (p === primary ? "primary" : "secondary")),
    10_000,
  );
  return { primary, bootstrapSeconds };
}

/** Writes `keys` on `pod` one after another; returns them once every one was acknowledged. */
async function writeKeys(h: SimHarness, pod: string, keys: readonly string[]): Promise<string[]> {
  for (const key of keys) await h.run(pod, insertKey(key));
  return [...keys];
}

/** Like `writeKeys`, but each key is retried for a while: a just-promoted primary may refuse writes for a moment. */
async function writeKeysRetrying(h: SimHarness, pod: string, keys: readonly string[]): Promise<string[]> {
  for (const key of keys) await eventually(`write ${key} on ${pod}`, async () => (await h.run(pod, insertKey(key)), true), 15_000, 250);
  return [...keys];
}

/** The Lease holder, once it is a replica other than `oldPrimary` and the only writable instance (for `eventually`). */
function writableSuccessor(h: SimHarness, oldPrimary: string): string | undefined {
  const lease = holderOf(h);
  const writable = h.sim.writableNow();
  return lease !== "" && lease !== oldPrimary && writable.length === 1 && writable[0]?.instance === lease ? lease : undefined;
}

/**
 * Statements the simulator answered with "mssql-sim does not model: …" (error 50000) on any instance: each is
 * either an agent statement of the wrong shape or a gap in the simulator; both must be visible, never absorbed.
 * Also logs any other error the simulator recorded in its statement log (it records parse errors), for the record.
 */
function expectEveryStatementModelled(h: SimHarness): void {
  const entries = h.agents.flatMap((a) => h.sim.statementLog(a.pod).map((e) => ({ ...e, instance: a.pod })));
  const errors = new Map<number, number>();
  for (const e of entries) if (e.error !== undefined) errors.set(e.error, (errors.get(e.error) ?? 0) + 1);
  if (errors.size > 0) console.log(`      statement errors recorded by the simulator: ${[...errors].map(([n, count]) => `${n}×${count}`).join(", ")}`);
  expect(entries.filter((e) => e.error === 50000).map((e) => `${e.instance}: ${e.text}`)).to.deep.equal([]);
}

describe("agents bootstrap the compatibility manifest (2 sync + 1 async) on mssql-sim", function () {
  this.timeout(120_000);
  const scenario = useScenario(this);

  it("forms the AG, labels the pods, seeds appdb, and reports that two synchronous replicas cannot fail over automatically", async () => {
    const harness = scenario.newHarness({ cr: harnessManifest() });
    const { primary } = await bootstrap(harness);
    const secondaries = harness.agents.map((a) => a.pod).filter((p) => p !== primary);
    // Replica 2 is the asynchronous one in the manifest.
    const asyncPod = "mssql-ag-2";
    const syncPod = secondaries.find((p) => p !== asyncPod)!;
    for (const pod of secondaries) expect(harness.cluster.podLabels(pod)[labels.readable], `${pod} readable label`).to.equal("true");

    await eventually("database synchronization states", () => appdbSynchronizationState(harness, syncPod) === "SYNCHRONIZED" && (asyncPod === primary || appdbSynchronizationState(harness, asyncPod) === "SYNCHRONIZING"), 10_000);
    expect(harness.agent(syncPod).loop.status().databases.find((d) => d.name === "appdb")?.synchronizationState).to.equal("SYNCHRONIZED");
    if (asyncPod !== primary) expect(harness.agent(asyncPod).loop.status().databases.find((d) => d.name === "appdb")?.synchronizationState).to.equal("SYNCHRONIZING");
    expect(conditionOf(harness, "Synchronized")?.status).to.equal("True");

    // pacemaker-agent.md §3.3: N = 2 synchronous replicas, the gate needs 2 reports, so once the primary is
    // gone nobody can be promoted; the holder says so and names the fix.
    const failoverReady = conditionOf(harness, "FailoverReady")!;
    expect(failoverReady.status).to.equal("False");
    expect(failoverReady.reason).to.equal("TwoSynchronousReplicasWithoutWitness");
    expect(failoverReady.message).to.match(/ConfigurationOnly/).and.to.match(/third synchronous replica/);
    expectEveryStatementModelled(harness);
  });
});

describe("agents bootstrap three synchronous replicas on mssql-sim and fail over when the primary's SQL Server crashes", function () {
  this.timeout(150_000);
  const scenario = useScenario(this);

  it("promotes another replica through the Lease without losing an acknowledged write, and the old primary rejoins", async () => {
    const harness = scenario.newHarness({ cr: scenarioManifest() });
    const { primary } = await bootstrap(harness);
    await eventually("FailoverReady True", () => conditionOf(harness, "FailoverReady")?.status === "True", 10_000);
    for (const pod of harness.agents.map((a) => a.pod).filter((p) => p !== primary)) {
      await eventually(`${pod} SYNCHRONIZED`, () => appdbSynchronizationState(harness, pod) === "SYNCHRONIZED", 10_000);
    }

    // Acknowledged writes before the crash.
    await harness.run(primary, createKvTable);
    const acknowledged = await writeKeys(harness, primary, ["before-1", "before-2", "before-3"]);

    // The primary's SQL Server crashes: the Lease expires and a synchronous secondary is promoted.
    await harness.sim.crash(primary);
    const crashedAtMs = performance.now();
    const newPrimary = await eventually("another replica to become the writable primary", () => writableSuccessor(harness, primary), 60_000);
    console.log(`      ${newPrimary} writable ${((performance.now() - crashedAtMs) / 1000).toFixed(2)} s after ${primary} crashed`);
    acknowledged.push(...(await writeKeysRetrying(harness, newPrimary, ["after-1", "after-2", "after-3"])));
    expect(harness.sim.committedKeys(newPrimary, "appdb")).to.include.members(acknowledged);

    // The old primary's SQL Server restarts and its replica rejoins as SECONDARY with every acknowledged write.
    await harness.sim.start(primary);
    await eventually(`${primary} to rejoin as SECONDARY`, () => harness.agent(primary).loop.status().role === "SECONDARY", 60_000);
    await eventually(`${primary} to hold every acknowledged write`, () => acknowledged.every((k) => harness.sim.committedKeys(primary, "appdb").includes(k)), 20_000);
    await eventually(
      "pod labels after the failover",
      () => harness.cluster.podLabels(newPrimary)[labels.role] === "primary" && harness.cluster.podLabels(primary)[labels.role] === "secondary",
      10_000,
    );
    await eventually("the status to name the new primary", () => harness.cluster.status?.primaryReplica === newPrimary, 10_000);
    expect(overlappingWriters(harness.sim.writableIntervals(), Date.now()), "two writers at once").to.deep.equal([]);
    expectEveryStatementModelled(harness);
  });
});

describe("a primary whose agent loses the API server keeps writing while its peers acknowledge (failsafe) on mssql-sim", function () {
  this.timeout(150_000);
  const scenario = useScenario(this);

  it("no failover and no second writer while the primary's agent is cut from the API for longer than the lease", async () => {
    const harness = scenario.newHarness({ cr: scenarioManifest() });
    const { primary } = await bootstrap(harness);
    await harness.run(primary, createKvTable);
    const epoch = harness.cluster.leaseRecord()?.leaseTransitions;

    harness.cluster.cutFromApi(primary);
    const cutAtMs = performance.now();
    const acknowledged: string[] = [];
    let n = 0;
    // Twice the Lease duration: without the failsafe the Lease would have expired and a peer taken over.
    while (performance.now() - cutAtMs < 2 * HARNESS_TIMING_SECONDS.leaseDurationSeconds * 1000) {
      const key = `cut-${n++}`;
      await harness.run(primary, insertKey(key));
      acknowledged.push(key);
      expect(harness.sim.writableNow(), "the primary stays the only writer").to.deep.equal([{ instance: primary, ag: "AG1" }]);
      await sleep(500);
    }
    expect(harness.cluster.leaseRecord()).to.include({ holderIdentity: primary, leaseTransitions: epoch });
    harness.cluster.restoreApi(primary);
    await eventually("the Lease renewed again by the primary", () => harness.cluster.leaseRecord()?.holderIdentity === primary && (harness.agent(primary).loop.status().lease?.heldByMe ?? false), 10_000);
    expect(harness.sim.committedKeys(primary, "appdb")).to.include.members(acknowledged);
    expect(overlappingWriters(harness.sim.writableIntervals(), Date.now()), "two writers at once").to.deep.equal([]);
  });
});

describe("a primary cut from the API server and from its peers fences itself on mssql-sim", function () {
  this.timeout(150_000);
  const scenario = useScenario(this);

  it("stops writing on its own, a peer is promoted after the Lease expires, never two writers, no acknowledged write lost", async () => {
    const harness = scenario.newHarness({ cr: scenarioManifest() });
    const { primary } = await bootstrap(harness);
    await harness.run(primary, createKvTable);
    const acknowledged = await writeKeys(harness, primary, ["before-1", "before-2"]);

    harness.cluster.cutFromApi(primary);
    harness.cutPeerTraffic(primary);
    const cutAtMs = performance.now();
    await eventually(`${primary} to stop accepting writes`, () => !harness.sim.writableNow().some((w) => w.instance === primary), 30_000);
    const fencedAfterMs = performance.now() - cutAtMs;
    const newPrimary = await eventually("a peer to become the writable primary", () => writableSuccessor(harness, primary), 60_000);
    console.log(`      ${primary} fenced ${(fencedAfterMs / 1000).toFixed(2)} s after the cut; ${newPrimary} writable ${((performance.now() - cutAtMs) / 1000).toFixed(2)} s after it`);
    acknowledged.push(...(await writeKeysRetrying(harness, newPrimary, ["after-1", "after-2"])));
    expect(harness.sim.committedKeys(newPrimary, "appdb")).to.include.members(acknowledged);
    expect(overlappingWriters(harness.sim.writableIntervals(), Date.now()), "two writers at once").to.deep.equal([]);

    // Healed, the old primary's agent sees the new holder and its replica comes back as SECONDARY.
    harness.cluster.restoreApi(primary);
    harness.restorePeerTraffic(primary);
    await eventually(`${primary} to rejoin as SECONDARY`, () => harness.agent(primary).loop.status().role === "SECONDARY", 60_000);
    await eventually(`${primary} to hold every acknowledged write`, () => acknowledged.every((k) => harness.sim.committedKeys(primary, "appdb").includes(k)), 20_000);
    expect(overlappingWriters(harness.sim.writableIntervals(), Date.now()), "two writers at once").to.deep.equal([]);
    expectEveryStatementModelled(harness);
  });
});

describe("agents bootstrap two synchronous replicas and a configuration-only witness on mssql-sim", function () {
  this.timeout(120_000);
  const scenario = useScenario(this);

  it("the witness joins without databases and FailoverReady is True", async () => {
    const harness = scenario.newHarness({
      cr: scenarioManifest((cr) => {
        cr.spec.replicas[2] = { name: "witness", availabilityMode: "ConfigurationOnly", failoverMode: "Manual" };
      }),
    });
    const { primary } = await bootstrap(harness);
    expect(primary).to.not.equal("mssql-ag-2");
    await eventually("FailoverReady True", () => conditionOf(harness, "FailoverReady")?.status === "True", 15_000);
    expect(harness.agent("mssql-ag-2").loop.status().availabilityMode).to.equal("ConfigurationOnly");
    expect(harness.sim.committedKeys("mssql-ag-2", "appdb"), "a witness holds no databases").to.deep.equal([]);
    expect(harness.cluster.status?.databases?.[0]?.replicas.map((r) => r.replica)).to.not.include("mssql-ag-2");
    expectEveryStatementModelled(harness);
  });
});
