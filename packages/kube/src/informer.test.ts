import { expect } from "chai";
import type { KubernetesObject } from "@kubernetes/client-node";
import { FakeApiError, FakeClock, connectionRefusedError } from "@sqlag/testkit";
import { SupervisedInformer, type InformerLike, type InformerSupervisorEvent } from "./informer.js";

type Obj = KubernetesObject;

/** Behaves like client-node's ListWatch: start() lists (failing fires `error` and resolves), errors stop it. */
class FakeInformer implements InformerLike<Obj> {
  readonly callbacks: Record<string, ((arg?: unknown) => void)[]> = { add: [], update: [], delete: [], error: [], connect: [] };
  readonly objects = new Map<string, Obj>();
  starts = 0;
  listFailures: unknown[] = [];

  on(verb: "add" | "update" | "delete", cb: (obj: Obj) => void): void;
  on(verb: "error" | "connect", cb: (err?: unknown) => void): void;
  on(verb: string, cb: ((obj: Obj) => void) | ((err?: unknown) => void)): void {
    this.callbacks[verb]?.push(cb as (arg?: unknown) => void);
  }
  async start(): Promise<void> {
    this.starts += 1;
    this.fire("connect");
    const failure = this.listFailures.shift();
    if (failure !== undefined) this.fire("error", failure);
  }
  async stop(): Promise<void> {}
  get(name: string, namespace?: string): Obj | undefined {
    return this.objects.get(`${namespace ?? ""}/${name}`);
  }
  list(): ReadonlyArray<Obj> {
    return [...this.objects.values()];
  }
  add(obj: Obj): void {
    this.objects.set(`${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`, obj);
    this.fire("add", obj);
  }
  fire(verb: string, arg?: unknown): void {
    for (const cb of this.callbacks[verb] ?? []) cb(arg);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

function setup(listFailures: unknown[] = []): { fake: FakeInformer; clock: FakeClock; informer: SupervisedInformer<Obj>; events: InformerSupervisorEvent[]; stop: AbortController } {
  const fake = new FakeInformer();
  fake.listFailures = listFailures;
  const clock = new FakeClock();
  const events: InformerSupervisorEvent[] = [];
  const informer = new SupervisedInformer<Obj>({ name: "things", informer: fake, clock, random: () => 1, initialBackoffMs: 1_000, maxBackoffMs: 4_000, brokenThresholdMs: 10_000, onEvent: (e) => events.push(e) });
  return { fake, clock, informer, events, stop: new AbortController() };
}

describe("SupervisedInformer", () => {
  it("syncs, forwards typed events and serves the cache", async () => {
    const { fake, informer, stop } = setup();
    const added: string[] = [];
    informer.on("add", (o) => added.push(o.metadata?.name ?? ""));
    await informer.start(stop.signal);
    expect(informer.hasSynced()).to.equal(true);
    expect(informer.healthy()).to.equal(true);
    fake.add({ metadata: { name: "a", namespace: "db" } });
    expect(added).to.deep.equal(["a"]);
    expect(informer.get("db", "a")?.metadata?.name).to.equal("a");
    expect(informer.list()).to.have.length(1);
    expect(informer.lastEventAgeMs()).to.equal(0);
    stop.abort();
  });

  it("restarts after a failed list with capped exponential backoff and then syncs", async () => {
    const { fake, clock, informer, events, stop } = setup([connectionRefusedError(), FakeApiError.serverError(), new FakeApiError(403, "Forbidden"), FakeApiError.serverError()]);
    await informer.start(stop.signal);
    expect(informer.hasSynced()).to.equal(false);
    const delays = events.filter((e) => e.type === "failed").map((e) => (e.type === "failed" ? e.restartInMs : 0));
    expect(delays).to.deep.equal([1_000]);
    for (const step of [1_000, 2_000, 4_000, 4_000]) {
      await clock.advance(step);
      await settle();
    }
    expect(fake.starts).to.equal(5);
    expect(events.filter((e) => e.type === "failed").map((e) => (e.type === "failed" ? e.restartInMs : 0))).to.deep.equal([1_000, 2_000, 4_000, 4_000]);
    expect(informer.hasSynced()).to.equal(true);
    expect(informer.healthy()).to.equal(true);
    expect(events.at(-1)).to.deep.equal({ type: "synced", informer: "things" });
    stop.abort();
  });

  it("reports unhealthy when broken longer than the threshold, and healthy again after recovery", async () => {
    const { fake, clock, informer, stop } = setup();
    await informer.start(stop.signal);
    fake.listFailures = [connectionRefusedError(), connectionRefusedError(), connectionRefusedError(), connectionRefusedError(), connectionRefusedError()];
    fake.fire("error", FakeApiError.serverError()); // the watch died
    expect(informer.healthy()).to.equal(true);
    for (let i = 0; i < 4; i++) {
      await clock.advance(4_000);
      await settle();
    }
    expect(informer.healthy()).to.equal(false);
    expect(informer.hasSynced()).to.equal(true);
    fake.listFailures = [];
    await clock.advance(4_000);
    await settle();
    expect(informer.healthy()).to.equal(true);
    stop.abort();
  });

  it("does not restart after stop", async () => {
    const { fake, clock, informer, stop } = setup([connectionRefusedError()]);
    await informer.start(stop.signal);
    stop.abort();
    await clock.advance(60_000);
    await settle();
    expect(fake.starts).to.equal(1);
  });
});
