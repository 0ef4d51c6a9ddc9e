import { expect } from "chai";
import { FakeApiError, FakeClock, FakeLeaseStore, connectionRefusedError } from "@sqlag/testkit";
import { KubeApiError, KubeUnavailableError } from "./errors.js";
import { LeaseClient, leaseRecordFromWire } from "./lease-client.js";
import type { LeaseRecord } from "./lease-math.js";

const NS = "db";
const NAME = "ag1-primary";

function setup(): { store: FakeLeaseStore; clock: FakeClock; client: LeaseClient; signal: AbortSignal } {
  const store = new FakeLeaseStore();
  const clock = new FakeClock();
  const client = new LeaseClient({ api: store, namespace: NS, name: NAME, clock });
  return { store, clock, client, signal: new AbortController().signal };
}

function seed(store: FakeLeaseStore, spec: { holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number }, extra: { annotations?: Record<string, string>; labels?: Record<string, string> } = {}): void {
  store.put({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: NAME, namespace: NS, ...extra },
    spec: { leaseDurationSeconds: 15, renewTime: "2026-01-01T00:00:00.000000Z", ...spec },
  });
}

async function readOrFail(client: LeaseClient, signal: AbortSignal): Promise<LeaseRecord> {
  const record = await client.read(signal);
  if (record === undefined) throw new Error("expected a Lease");
  return record;
}

describe("LeaseClient", () => {
  it("read maps a missing Lease to undefined", async () => {
    const { client, signal } = setup();
    expect(await client.read(signal)).to.equal(undefined);
  });

  it("read keeps times as raw strings and maps every field", async () => {
    const { store, client, signal } = setup();
    seed(store, { holderIdentity: "ag1-0", leaseTransitions: 4 }, { annotations: { "sqlag.io/fenced": "true" } });
    const record = await readOrFail(client, signal);
    expect(record).to.deep.equal({
      holderIdentity: "ag1-0",
      leaseDurationSeconds: 15,
      leaseTransitions: 4,
      renewTime: "2026-01-01T00:00:00.000000Z",
      resourceVersion: "1",
      annotations: { "sqlag.io/fenced": "true" },
    });
  });

  it("leaseRecordFromWire converts a Date (V1MicroTime) to a six-digit string", () => {
    const record = leaseRecordFromWire({ spec: { renewTime: new Date("2026-01-01T00:00:01.250Z") } });
    expect(record.renewTime).to.equal("2026-01-01T00:00:01.250000Z");
    expect(record.holderIdentity).to.equal("");
  });

  const claimCases: { name: string; holder: string | undefined; transitions: number; expectTransitions: number; expectAcquireChanged: boolean }[] = [
    { name: "creates a missing Lease with the first epoch", holder: undefined, transitions: 0, expectTransitions: 1, expectAcquireChanged: true },
    { name: "claims an empty holder and bumps the epoch", holder: "", transitions: 3, expectTransitions: 4, expectAcquireChanged: true },
    { name: "takes over another holder and bumps the epoch", holder: "ag1-1", transitions: 3, expectTransitions: 4, expectAcquireChanged: true },
    { name: "re-claims its own Lease without a bump", holder: "ag1-0", transitions: 3, expectTransitions: 3, expectAcquireChanged: false },
  ];
  for (const c of claimCases) {
    it(`tryClaim ${c.name}`, async () => {
      const { store, clock, client, signal } = setup();
      let observed: LeaseRecord | undefined;
      if (c.holder !== undefined) {
        store.put({ metadata: { name: NAME, namespace: NS }, spec: { holderIdentity: c.holder, leaseTransitions: c.transitions, leaseDurationSeconds: 15, acquireTime: "2025-12-31T23:59:00.000000Z" } });
        observed = await readOrFail(client, signal);
      }
      await clock.advance(1234);
      const result = await client.tryClaim(observed, "ag1-0", 15, signal);
      expect(result.ok).to.equal(true);
      if (!result.ok) return;
      expect(result.record.holderIdentity).to.equal("ag1-0");
      expect(result.record.leaseTransitions).to.equal(c.expectTransitions);
      expect(result.record.renewTime).to.equal("2026-01-01T00:00:01.234000Z");
      expect(result.record.acquireTime === "2026-01-01T00:00:01.234000Z").to.equal(c.expectAcquireChanged);
      expect(result.sentAtMs).to.equal(clock.nowMs());
    });
  }

  it("writes MicroTime with exactly six fractional digits on the wire", async () => {
    const { store, client, signal } = setup();
    await client.tryClaim(undefined, "ag1-0", 15, signal);
    const body = store.requests.find((r) => r.operation === "create")?.body;
    expect(body?.spec?.renewTime).to.match(/\.\d{6}Z$/);
    expect(body?.spec?.acquireTime).to.match(/\.\d{6}Z$/);
  });

  it("returns conflict (never throws) when the Lease changed since it was read", async () => {
    const { store, client, signal } = setup();
    seed(store, { holderIdentity: "", leaseTransitions: 1 });
    const observed = await readOrFail(client, signal);
    seed(store, { holderIdentity: "ag1-2", leaseTransitions: 2 }); // another agent won the race
    const result = await client.tryClaim(observed, "ag1-0", 15, signal);
    expect(result).to.deep.include({ ok: false, reason: "conflict" });
    expect(store.get(NS, NAME)?.spec?.holderIdentity).to.equal("ag1-2");
  });

  it("returns conflict when create finds the Lease already there", async () => {
    const { store, client, signal } = setup();
    seed(store, { holderIdentity: "ag1-2" });
    const result = await client.tryClaim(undefined, "ag1-0", 15, signal);
    expect(result).to.deep.include({ ok: false, reason: "conflict" });
  });

  it("tryRenew keeps acquireTime and epoch and refuses a Lease held by someone else", async () => {
    const { store, clock, client, signal } = setup();
    const claimed = await client.tryClaim(undefined, "ag1-0", 15, signal);
    if (!claimed.ok) throw new Error("claim failed");
    await clock.advance(2000);
    const renewed = await client.tryRenew(claimed.record, "ag1-0", 15, signal);
    expect(renewed.ok).to.equal(true);
    if (!renewed.ok) return;
    expect(renewed.record.acquireTime).to.equal(claimed.record.acquireTime);
    expect(renewed.record.renewTime).to.not.equal(claimed.record.renewTime);
    expect(renewed.record.leaseTransitions).to.equal(1);
    const notMine = await client.tryRenew(renewed.record, "ag1-1", 15, signal);
    expect(notMine.ok).to.equal(false);
    expect(store.requests.filter((r) => r.operation === "replace")).to.have.length(1);
  });

  it("release empties the holder, sets duration 1, keeps the epoch and writes the annotations", async () => {
    const { client, signal } = setup();
    const claimed = await client.tryClaim(undefined, "ag1-0", 15, signal);
    if (!claimed.ok) throw new Error("claim failed");
    const released = await client.release(claimed.record, { "sqlag.io/fenced": "true" }, signal);
    expect(released.ok).to.equal(true);
    if (!released.ok) return;
    expect(released.record).to.deep.include({ holderIdentity: "", leaseDurationSeconds: 1, leaseTransitions: 1 });
    expect(released.record.annotations).to.deep.equal({ "sqlag.io/fenced": "true" });
  });

  it("a claim can remove annotations with null", async () => {
    const { store, client, signal } = setup();
    seed(store, { holderIdentity: "" }, { annotations: { "sqlag.io/fenced": "true", other: "x" } });
    const observed = await readOrFail(client, signal);
    const result = await client.tryClaim(observed, "ag1-0", 15, signal, { "sqlag.io/fenced": null });
    expect(result.ok && result.record.annotations).to.deep.equal({ other: "x" });
  });

  it("handOver names the new holder in one compare-and-swap and bumps the epoch", async () => {
    const { client, signal } = setup();
    const claimed = await client.tryClaim(undefined, "ag1-0", 15, signal);
    if (!claimed.ok) throw new Error("claim failed");
    const handed = await client.handOver(claimed.record, "ag1-1", signal);
    expect(handed.ok && handed.record).to.deep.include({ holderIdentity: "ag1-1", leaseTransitions: 2, leaseDurationSeconds: 15 });
    const stale = await client.handOver(claimed.record, "ag1-2", signal);
    expect(stale.ok).to.equal(false);
  });

  it("keeps labels and owner references the controller applied when replacing", async () => {
    const { store, client, signal } = setup();
    seed(store, { holderIdentity: "" }, { labels: { "sqlag.io/cluster": "ag1" } });
    const observed = await readOrFail(client, signal);
    await client.tryClaim(observed, "ag1-0", 15, signal);
    expect(store.get(NS, NAME)?.metadata?.labels).to.deep.equal({ "sqlag.io/cluster": "ag1" });
  });

  it("createIfMissing creates an unheld Lease and tolerates AlreadyExists", async () => {
    const { store, client, signal } = setup();
    await client.createIfMissing(signal);
    expect(store.get(NS, NAME)?.spec).to.deep.include({ holderIdentity: "", leaseTransitions: 0 });
    await client.createIfMissing(signal);
  });

  const errorCases: { name: string; error: unknown; expected: new (...args: never[]) => Error }[] = [
    { name: "403 is a KubeApiError", error: new FakeApiError(403, "Forbidden"), expected: KubeApiError },
    { name: "500 is a KubeApiError", error: FakeApiError.serverError(), expected: KubeApiError },
    { name: "connection refused is KubeUnavailableError", error: connectionRefusedError(), expected: KubeUnavailableError },
  ];
  for (const c of errorCases) {
    it(`throws classified errors on write: ${c.name}`, async () => {
      const { store, client, signal } = setup();
      seed(store, { holderIdentity: "" });
      const observed = await readOrFail(client, signal);
      store.failNext("replace", c.error);
      let thrown: unknown;
      try {
        await client.tryClaim(observed, "ag1-0", 15, signal);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).to.be.instanceOf(c.expected);
    });
  }
});
