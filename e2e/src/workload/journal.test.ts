import { expect } from "chai";
import { unavailabilityWindows, type WorkloadJournal } from "./journal.js";

function journalWithAcks(times: number[], stoppedAtMs: number): WorkloadJournal {
  return {
    startedAtMs: 0,
    stoppedAtMs,
    acknowledged: times.map((atMs, index) => ({ key: `k-${index}`, endpoint: "e", podName: "p", atMs, latencyMs: 1 })),
    failures: [],
  };
}

describe("unavailabilityWindows", () => {
  const cases = [
    { name: "steady writes: no window", times: [100, 200, 300], stop: 400, threshold: 500, windows: [] as number[][], total: 0 },
    { name: "one failover gap", times: [100, 200, 5_200, 5_300], stop: 5_400, threshold: 1_000, windows: [[200, 5_200]], total: 5_000 },
    { name: "slow start counts from the start", times: [3_000], stop: 3_100, threshold: 1_000, windows: [[0, 3_000]], total: 3_000 },
    { name: "writes stopping before the end count to the end", times: [100], stop: 4_100, threshold: 1_000, windows: [[100, 4_100]], total: 4_000 },
    { name: "no writes at all: the whole run", times: [], stop: 2_000, threshold: 1_000, windows: [[0, 2_000]], total: 2_000 },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const report = unavailabilityWindows(journalWithAcks(testCase.times, testCase.stop), testCase.threshold);
      expect(report.windows.map((window) => [window.fromMs, window.toMs])).to.deep.equal(testCase.windows);
      expect(report.totalUnavailableMs).to.equal(testCase.total);
      expect(report.longestMs).to.equal(Math.max(0, ...testCase.windows.map(([from = 0, to = 0]) => to - from)));
    });
  }
});
