import { expect } from "chai";
import type { WorkloadJournal } from "../workload/journal.js";
import { outageAfterFault } from "./scenarios.js";

function journal(ackTimesMs: number[], startedAtMs = 0): WorkloadJournal {
  return {
    startedAtMs,
    stoppedAtMs: undefined,
    acknowledged: ackTimesMs.map((atMs, index) => ({ key: `k${index}`, endpoint: "e", podName: "p", atMs, latencyMs: 1 })),
    failures: [],
  };
}

describe("bench outage measurement", () => {
  const cases: { name: string; acks: number[]; faultAtMs: number; endMs: number; expected: number }[] = [
    { name: "no gap above the threshold is no outage", acks: [0, 100, 200, 300, 400], faultAtMs: 150, endMs: 450, expected: 0 },
    { name: "a gap after the fault counts whole", acks: [0, 100, 200, 5200, 5300], faultAtMs: 150, endMs: 5350, expected: 5000 },
    { name: "a gap in progress at the fault counts from the fault", acks: [0, 100, 3100, 3200], faultAtMs: 1100, endMs: 3250, expected: 2000 },
    { name: "a gap that ended before the fault does not count", acks: [0, 2000, 2100, 2200, 2300], faultAtMs: 2150, endMs: 2350, expected: 0 },
    { name: "writes that never resume count to the end", acks: [0, 100], faultAtMs: 100, endMs: 9100, expected: 9000 },
    { name: "the longest of several gaps", acks: [0, 100, 1100, 1200, 4200], faultAtMs: 100, endMs: 4250, expected: 3000 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(outageAfterFault(journal(c.acks), c.faultAtMs, c.endMs)).to.equal(c.expected);
    });
  }
});
