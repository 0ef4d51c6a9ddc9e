import { expect } from "chai";
import type { ListenerSample } from "./endpoints.js";
import { assertInvariants, checkInvariants, findConcurrentWritable, InvariantViolationError, type InvariantEvidence } from "./invariants.js";
import type { WorkloadJournal } from "./journal.js";

const journal: WorkloadJournal = {
  startedAtMs: 0,
  stoppedAtMs: 10_000,
  acknowledged: [
    { key: "w-1", endpoint: "127.0.16.1:1433", podName: "ag-0", atMs: 100, latencyMs: 5 },
    { key: "w-2", endpoint: "127.0.16.2:1433", podName: "ag-1", atMs: 9_000, latencyMs: 5 },
  ],
  failures: [{ key: "w-x", endpoint: "127.0.16.1:1433", atMs: 200, stage: "write", error: "timeout", errorNumber: undefined, ambiguous: true }],
};

function sample(atMs: number, readyPods: string[]): ListenerSample {
  return { atMs, readyPods, listedPods: readyPods };
}

const healthy: InvariantEvidence = {
  journal,
  writableIntervals: [
    { instance: "ag-0", fromMs: 0, toMs: 1_000 },
    { instance: "ag-1", fromMs: 1_500 },
  ],
  writableNow: "ag-1",
  keysByInstance: new Map([
    ["ag-1", new Set(["w-1", "w-2"])],
    ["ag-2", new Set(["w-1", "w-2", "w-x"])],
  ]),
  listenerSamples: [sample(0, ["ag-0"]), sample(1_200, []), sample(1_600, ["ag-1"])],
  atMs: 10_000,
};

describe("checkInvariants", () => {
  it("passes a clean failover", () => {
    const report = checkInvariants(healthy);
    expect(report.violations).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(report.listener.maxReadyPodsAtOnce).to.equal(1);
    expect(() => assertInvariants(report)).to.not.throw();
  });

  const broken: Array<{ name: string; change: Partial<InvariantEvidence>; violation: RegExp }> = [
    {
      name: "split brain: overlapping writable intervals",
      change: { writableIntervals: [{ instance: "ag-0", fromMs: 0, toMs: 2_000 }, { instance: "ag-1", fromMs: 1_500 }] },
      violation: /invariant 1: ag-0 and ag-1 were both writable for 500 ms/,
    },
    {
      name: "an acknowledged key is missing on the primary",
      change: { keysByInstance: new Map([["ag-1", new Set(["w-2"])]]) },
      violation: /invariant 2: 1 acknowledged key\(s\) missing on ag-1 \(e\.g\. w-1\)/,
    },
    {
      name: "the listener listed two pods at once",
      change: { listenerSamples: [sample(0, ["ag-0"]), sample(1_400, ["ag-0", "ag-1"]), sample(1_600, ["ag-1"])] },
      violation: /invariant 3: the rw listener listed ag-0 and ag-1 at once/,
    },
    {
      name: "the listener did not converge on the writable instance",
      change: { listenerSamples: [sample(0, ["ag-0"])] },
      violation: /invariant 3: the rw listener ends on \[ag-0\], not on the writable instance ag-1/,
    },
    { name: "nobody is writable at the end", change: { writableNow: undefined }, violation: /no instance is writable/ },
  ];
  for (const testCase of broken) {
    it(`reports ${testCase.name}`, () => {
      const report = checkInvariants({ ...healthy, ...testCase.change });
      expect(report.ok).to.equal(false);
      expect(report.violations.join("\n")).to.match(testCase.violation);
      expect(() => assertInvariants(report)).to.throw(InvariantViolationError, testCase.violation);
    });
  }
});

describe("findConcurrentWritable", () => {
  const cases = [
    { name: "back to back is fine", intervals: [{ instance: "a", fromMs: 0, toMs: 10 }, { instance: "b", fromMs: 10 }], overlaps: 0 },
    { name: "same instance twice is fine", intervals: [{ instance: "a", fromMs: 0, toMs: 10 }, { instance: "a", fromMs: 5 }], overlaps: 0 },
    { name: "two open intervals overlap until now", intervals: [{ instance: "a", fromMs: 0 }, { instance: "b", fromMs: 50 }], overlaps: 1 },
    {
      name: "a long interval overlapping two later ones",
      intervals: [{ instance: "a", fromMs: 0, toMs: 100 }, { instance: "b", fromMs: 10, toMs: 20 }, { instance: "c", fromMs: 30, toMs: 40 }],
      overlaps: 2,
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => expect(findConcurrentWritable(testCase.intervals, 1_000)).to.have.length(testCase.overlaps));
  }
});
