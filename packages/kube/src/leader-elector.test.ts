import { expect } from "chai";
import { FakeClock, FakeLeaseStore, connectionRefusedError } from "@sqlag/testkit";
import { LeaseClient } from "./lease-client.js";
import { LeaderElectionConfigError, LeaderElector, validateLeaderElectionTiming, type LeaderElectionOutcome, type LeaderElectorEvent } from "./leader-elector.js";

const NS = "sqlag-system";
const NAME = "sqlag-controller";
const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

interface Candidate {
  elector: LeaderElector;
  stop: AbortController;
  outcome: Promise<LeaderElectionOutcome>;
  events: LeaderElectorEvent[];
  workSignals: AbortSignal[];
  stoppedLeading: number;
}

function candidate(store: FakeLeaseStore, clock: FakeClock, identity: string): Candidate {
  const events: LeaderElectorEvent[] = [];
  const workSignals: AbortSignal[] = [];
  const c: Partial<Candidate> & { stoppedLeading: number } = { events, workSignals, stoppedLeading: 0 };
  const elector = new LeaderElector({
    lease: new LeaseClient({ api: store, namespace: NS, name: NAME, clock }),
    identity,
    timing: TIMING,
    clock,
    random: () => 0,
    onStartedLeading: (signal) => {
      workSignals.push(signal);
    },
    onStoppedLeading: () => {
      c.stoppedLeading += 1;
    },
    onEvent: (e) => events.push(e),
  });
  const stop = new AbortController();
  return Object.assign(c, { elector, stop, outcome: elector.run(stop.signal) }) as Candidate;
}

describe("LeaderElector", () => {
  describe("timing validation", () => {
    const cases: { name: string; timing: typeof TIMING; problems: number }[] = [
      { name: "client-go defaults are valid", timing: TIMING, problems: 0 },
      { name: "lease duration not above renew deadline", timing: { leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, problems: 1 },
      { name: "renew deadline not above 1.2 × retry period", timing: { leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 }, problems: 1 },
      { name: "non-positive values", timing: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 }, problems: 1 },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(validateLeaderElectionTiming(c.timing)).to.have.length(c.problems);
      });
    }
    it("the constructor refuses invalid timing", () => {
      const clock = new FakeClock();
      const lease = new LeaseClient({ api: new FakeLeaseStore(), namespace: NS, name: NAME, clock });
      expect(() => new LeaderElector({ lease, identity: "a", timing: { ...TIMING, leaseDurationMs: 1 }, clock, onStartedLeading: () => undefined })).to.throw(LeaderElectionConfigError);
    });
  });

  it("acquires a missing Lease at once and starts leading", async () => {
    const store = new FakeLeaseStore();
    const clock = new FakeClock();
    const a = candidate(store, clock, "ctrl-a");
    await settle();
    expect(a.elector.isLeader()).to.equal(true);
    expect(a.workSignals).to.have.length(1);
    expect(a.events[0]).to.deep.equal({ type: "new_leader", holder: "ctrl-a" });
    expect(a.events).to.deep.include({ type: "acquired", epoch: 1 });
    a.stop.abort();
    await clock.advance(1);
    expect(await a.outcome).to.equal("released");
  });

  it("two candidates: exactly one leads; the standby takes over at once after a release", async () => {
    const store = new FakeLeaseStore();
    const clock = new FakeClock();
    const a = candidate(store, clock, "ctrl-a");
    await settle();
    const b = candidate(store, clock, "ctrl-b");
    await settle();
    for (let i = 0; i < 10; i++) {
      await clock.advance(2_000);
      await settle();
      expect([a.elector.isLeader(), b.elector.isLeader()]).to.deep.equal([true, false]);
    }
    a.stop.abort();
    await settle();
    expect(await a.outcome).to.equal("released");
    expect(a.workSignals[0]?.aborted).to.equal(true);
    expect(a.stoppedLeading).to.equal(1);
    expect(store.get(NS, NAME)?.spec).to.deep.include({ holderIdentity: "", leaseDurationSeconds: 1 });
    await clock.advance(2_000);
    await settle();
    expect(b.elector.isLeader()).to.equal(true);
    expect(store.get(NS, NAME)?.spec?.leaseTransitions).to.equal(2);
    b.stop.abort();
    await settle();
  });

  it("takes over a dead holder only after a full lease duration on its own clock", async () => {
    const store = new FakeLeaseStore();
    const clock = new FakeClock();
    store.put({ metadata: { name: NAME, namespace: NS }, spec: { holderIdentity: "ctrl-dead", leaseDurationSeconds: 15, renewTime: "2020-01-01T00:00:00.000000Z", leaseTransitions: 7 } });
    const b = candidate(store, clock, "ctrl-b");
    await settle();
    // The renewTime is years old, but only our own observation counts: no takeover before 15 s.
    for (let elapsed = 2_000; elapsed < 15_000; elapsed += 2_000) {
      await clock.advance(2_000);
      await settle();
      expect(b.elector.isLeader(), `at ${elapsed} ms`).to.equal(false);
    }
    await clock.advance(2_000);
    await settle();
    expect(b.elector.isLeader()).to.equal(true);
    expect(store.get(NS, NAME)?.spec?.leaseTransitions).to.equal(8);
    b.stop.abort();
    await settle();
  });

  it("loses leadership after the renew deadline, stops the work, does not re-acquire", async () => {
    const store = new FakeLeaseStore();
    const clock = new FakeClock();
    const a = candidate(store, clock, "ctrl-a");
    await settle();
    expect(a.elector.isLeader()).to.equal(true);
    store.startOutage(connectionRefusedError());
    let outcome: LeaderElectionOutcome | undefined;
    void a.outcome.then((o) => (outcome = o));
    for (let i = 0; i < 4; i++) {
      await clock.advance(2_000);
      await settle();
      expect(outcome, `still leading after ${(i + 1) * 2} s`).to.equal(undefined);
    }
    await clock.advance(4_000);
    await settle();
    expect(outcome).to.equal("lost");
    expect(a.events).to.deep.include({ type: "lost", reason: "renew_deadline_exceeded" });
    expect(a.events.some((e) => e.type === "renew_failed")).to.equal(true);
    expect(a.workSignals[0]?.aborted).to.equal(true);
    expect(a.stoppedLeading).to.equal(1);
    expect(a.elector.isLeader()).to.equal(false);
    const requestsAfterLoss = store.requests.length;
    store.endOutage();
    await clock.advance(10_000);
    await settle();
    expect(store.requests.length).to.equal(requestsAfterLoss);
  });

  it("loses leadership at once when another replica has taken the Lease", async () => {
    const store = new FakeLeaseStore();
    const clock = new FakeClock();
    const a = candidate(store, clock, "ctrl-a");
    await settle();
    const current = store.get(NS, NAME);
    store.put({ ...current, spec: { ...current?.spec, holderIdentity: "ctrl-intruder", leaseTransitions: 2 } });
    await clock.advance(2_000);
    await settle();
    expect(await a.outcome).to.equal("lost");
    expect(a.events).to.deep.include({ type: "lost", reason: "preempted" });
    expect(store.get(NS, NAME)?.spec?.holderIdentity).to.equal("ctrl-intruder");
  });

  it("never calls onStoppedLeading when it never led", async () => {
    const store = new FakeLeaseStore();
    const clock = new FakeClock();
    store.put({ metadata: { name: NAME, namespace: NS }, spec: { holderIdentity: "ctrl-other", leaseDurationSeconds: 15, leaseTransitions: 1 } });
    const b = candidate(store, clock, "ctrl-b");
    await settle();
    b.stop.abort();
    expect(await b.outcome).to.equal("stopped_before_leading");
    expect(b.stoppedLeading).to.equal(0);
  });
});
