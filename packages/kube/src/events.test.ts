import { expect } from "chai";
import type { CoreV1Event } from "@kubernetes/client-node";
import { FakeClock, connectionRefusedError } from "@sqlag/testkit";
import { EventRecorder, type EventSink } from "./events.js";

class RecordingSink implements EventSink {
  created: CoreV1Event[] = [];
  updates: { name: string; count: number; message: string }[] = [];
  failNext: unknown = undefined;
  async create(_namespace: string, event: CoreV1Event): Promise<void> {
    this.throwIfFailing();
    this.created.push(event);
  }
  async updateCount(_namespace: string, name: string, patch: { count: number; message: string }): Promise<void> {
    this.throwIfFailing();
    this.updates.push({ name, count: patch.count, message: patch.message });
  }
  private throwIfFailing(): void {
    if (this.failNext === undefined) return;
    const e = this.failNext;
    this.failNext = undefined;
    throw e;
  }
}

const AG = { apiVersion: "sqlag.io/v1alpha1", kind: "SQLServerAvailabilityGroup", name: "ag1", namespace: "db", uid: "u1" };

function setup(): { sink: RecordingSink; clock: FakeClock; recorder: EventRecorder; errors: unknown[] } {
  const sink = new RecordingSink();
  const clock = new FakeClock();
  const errors: unknown[] = [];
  let n = 0;
  const recorder = new EventRecorder({ sink, clock, component: "sqlag-controller", instance: "ctrl-0", burst: 3, refillIntervalMs: 10_000, aggregationWindowMs: 60_000, nameSuffix: () => String(++n), onError: (e) => errors.push(e) });
  return { sink, clock, recorder, errors };
}

describe("EventRecorder", () => {
  it("creates an event with the involved object and reporter", async () => {
    const { sink, recorder } = setup();
    expect(await recorder.record(AG, "Warning", "SecretNotFound", "Secret db/sa was not found.")).to.equal("created");
    expect(sink.created[0]).to.deep.include({ type: "Warning", reason: "SecretNotFound", count: 1, reportingComponent: "sqlag-controller", reportingInstance: "ctrl-0" });
    expect(sink.created[0]?.involvedObject).to.deep.equal({ apiVersion: AG.apiVersion, kind: AG.kind, name: "ag1", namespace: "db", uid: "u1" });
    expect(sink.created[0]?.metadata?.name).to.equal("ag1.1");
  });

  it("aggregates the same reason on the same object into one event with a growing count", async () => {
    const { sink, recorder } = setup();
    await recorder.record(AG, "Warning", "SecretNotFound", "first");
    expect(await recorder.record(AG, "Warning", "SecretNotFound", "second")).to.equal("aggregated");
    expect(sink.created).to.have.length(1);
    expect(sink.updates).to.deep.equal([{ name: "ag1.1", count: 2, message: "second" }]);
    expect(await recorder.record(AG, "Normal", "ReconcileSucceeded", "ok")).to.equal("created");
  });

  it("starts a new event after the aggregation window", async () => {
    const { sink, clock, recorder } = setup();
    await recorder.record(AG, "Warning", "SecretNotFound", "first");
    await clock.advance(61_000);
    expect(await recorder.record(AG, "Warning", "SecretNotFound", "later")).to.equal("created");
    expect(sink.created).to.have.length(2);
  });

  it("rate limits per object with a token bucket", async () => {
    const { clock, recorder } = setup();
    const results: string[] = [];
    for (let i = 0; i < 5; i++) results.push(await recorder.record(AG, "Warning", `Reason${i}`, "m"));
    expect(results).to.deep.equal(["created", "created", "created", "rate_limited", "rate_limited"]);
    await clock.advance(10_000);
    expect(await recorder.record(AG, "Warning", "Reason9", "m")).to.equal("created");
    expect(await recorder.record({ ...AG, name: "ag2", uid: "u2" }, "Warning", "Reason0", "m")).to.equal("created");
  });

  it("never throws on a failed write and truncates long messages", async () => {
    const { sink, recorder, errors } = setup();
    sink.failNext = connectionRefusedError();
    expect(await recorder.record(AG, "Warning", "X", "m")).to.equal("failed");
    expect(errors).to.have.length(1);
    await recorder.record(AG, "Warning", "X", "y".repeat(5000));
    expect(sink.created[0]?.message).to.have.length(1024);
  });
});
