/**
 * LeaseClient and LeaderElector against the real kube-apiserver: the wire facts the unit tests can only assume
 * (MicroTime accepted with six digits, 409 on a stale resourceVersion, release semantics) and two electors that
 * must agree on exactly one leader.
 */
import { expect } from "chai";
import type { KubeConfig } from "@kubernetes/client-node";
import { createLeaseClient, LeaderElector, systemClock, type LeaseRecord } from "@sqlag/kube";
import { sharedControlPlane } from "../cluster/global-fixture.js";
import { createTestNamespace, deleteTestNamespace, eventually } from "../cluster/namespaces.js";

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function signal(): AbortSignal {
  return AbortSignal.timeout(10_000);
}

describe("Lease on the real API server", function () {
  let kc: KubeConfig;
  let namespace: string;

  before(async function () {
    kc = sharedControlPlane().kubeConfig();
    namespace = await createTestNamespace(kc, "lease");
  });

  after(async function () {
    if (namespace) await deleteTestNamespace(kc, namespace);
  });

  it("creates a held Lease with MicroTime times and reads them back as six-digit strings", async function () {
    const client = createLeaseClient(kc, namespace, "microtime", systemClock);
    expect(await client.read(signal())).to.equal(undefined);
    const claimed = await client.tryClaim(undefined, "agent-0", 15, signal());
    expect(claimed.ok).to.equal(true);
    const record = await client.read(signal());
    expect(record).to.deep.include({ holderIdentity: "agent-0", leaseDurationSeconds: 15, leaseTransitions: 1 });
    expect(record?.renewTime).to.match(MICRO_TIME);
    expect(record?.acquireTime).to.match(MICRO_TIME);
  });

  it("answers a write based on a stale resourceVersion with a conflict, not an error", async function () {
    const a = createLeaseClient(kc, namespace, "race", systemClock);
    const b = createLeaseClient(kc, namespace, "race", systemClock);
    await a.createIfMissing(signal());
    const seenByA = await a.read(signal());
    const seenByB = await b.read(signal());
    if (seenByA === undefined || seenByB === undefined) throw new Error("Lease missing");
    const first = await a.tryClaim(seenByA, "agent-a", 15, signal());
    const second = await b.tryClaim(seenByB, "agent-b", 15, signal());
    expect(first.ok).to.equal(true);
    expect(second).to.deep.include({ ok: false, reason: "conflict" });
    expect((await a.read(signal()))?.holderIdentity).to.equal("agent-a");
  });

  it("renews, hands over and releases with client-go semantics", async function () {
    const client = createLeaseClient(kc, namespace, "lifecycle", systemClock);
    const claimed = await client.tryClaim(undefined, "agent-0", 15, signal());
    if (!claimed.ok) throw new Error("claim failed");
    const renewed = await client.tryRenew(claimed.record, "agent-0", 15, signal());
    if (!renewed.ok) throw new Error("renew failed");
    expect(renewed.record.leaseTransitions).to.equal(1);
    const handed = await client.handOver(renewed.record, "agent-1", signal());
    if (!handed.ok) throw new Error("handover failed");
    expect(handed.record).to.deep.include({ holderIdentity: "agent-1", leaseTransitions: 2 });
    const released = await client.release(handed.record, { "sqlag.io/fenced": "true" }, signal());
    if (!released.ok) throw new Error("release failed");
    const stored: LeaseRecord | undefined = await client.read(signal());
    expect(stored).to.deep.include({ holderIdentity: "", leaseDurationSeconds: 1, leaseTransitions: 2 });
    expect(stored?.annotations).to.deep.equal({ "sqlag.io/fenced": "true" });
  });

  it("two electors: exactly one leads, and the other takes over when it releases", async function () {
    const timing = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };
    const leading = new Set<string>();
    const start = (identity: string): { elector: LeaderElector; stop: AbortController; done: Promise<unknown> } => {
      const elector = new LeaderElector({
        lease: createLeaseClient(kc, namespace, "controller", systemClock),
        identity,
        timing,
        clock: systemClock,
        onStartedLeading: async (leaderSignal) => {
          leading.add(identity);
          await new Promise<void>((resolve) => leaderSignal.addEventListener("abort", () => resolve(), { once: true }));
          leading.delete(identity);
        },
      });
      const stop = new AbortController();
      return { elector, stop, done: elector.run(stop.signal) };
    };
    const a = start("ctrl-a");
    const b = start("ctrl-b");
    const first = await eventually("one elector leads", async () => (leading.size === 1 ? [...leading][0] : undefined));
    // Over several retry periods the leadership must stay with one replica.
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect([...leading]).to.deep.equal([first]);
      expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).to.have.length(1);
    }
    const [winner, standby] = first === "ctrl-a" ? [a, b] : [b, a];
    winner.stop.abort();
    expect(await winner.done).to.equal("released");
    await eventually("the standby takes over", async () => (standby.elector.isLeader() ? true : undefined), { timeoutMs: 30_000 });
    standby.stop.abort();
    expect(await standby.done).to.equal("released");
  });
});
