import { expect } from "chai";
import { FakeClock } from "@sqlag/testkit";
import { WorkQueue } from "./work-queue.js";

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe("WorkQueue", () => {
  it("de-duplicates keys that are waiting", async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    queue.add("ag/db/a");
    queue.add("ag/db/a");
    queue.add("ag/db/b");
    expect(queue.length()).to.equal(2);
    expect(await queue.get()).to.equal("ag/db/a");
    expect(await queue.get()).to.equal("ag/db/b");
  });

  it("never hands a key being processed to a second worker; re-queues it on done", async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    queue.add("k");
    const first = await queue.get();
    queue.add("k");
    expect(queue.length()).to.equal(0);
    queue.done(first ?? "");
    expect(queue.length()).to.equal(1);
    expect(await queue.get()).to.equal("k");
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    const pending = queue.get();
    queue.add("k");
    expect(await pending).to.equal("k");
  });

  it("backs off a failing key exponentially up to the cap, and forget resets it", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock, baseBackoffMs: 1_000, maxBackoffMs: 5_000 });
    const delays = [1, 2, 3, 4, 5].map(() => queue.addRateLimited("k"));
    expect(delays).to.deep.equal([1_000, 2_000, 4_000, 5_000, 5_000]);
    queue.forget("k");
    expect(queue.addRateLimited("k")).to.equal(1_000);
  });

  it("addAfter fires on the clock and keeps only the earliest delay", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock });
    queue.addAfter("k", 5_000);
    queue.addAfter("k", 1_000);
    queue.addAfter("k", 9_000);
    await clock.advance(999);
    await settle();
    expect(queue.length()).to.equal(0);
    await clock.advance(1);
    await settle();
    expect(queue.length()).to.equal(1);
    await queue.get();
    queue.done("k");
    await clock.advance(10_000);
    await settle();
    expect(queue.length()).to.equal(0);
  });

  it("shutDown releases waiting workers and ignores new keys", async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    const pending = queue.get();
    queue.shutDown();
    expect(await pending).to.equal(undefined);
    queue.add("k");
    expect(queue.length()).to.equal(0);
  });

  it("get returns undefined when the signal aborts", async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    const stop = new AbortController();
    const pending = queue.get(stop.signal);
    stop.abort();
    expect(await pending).to.equal(undefined);
    queue.add("k");
    expect(queue.length()).to.equal(1);
  });
});
