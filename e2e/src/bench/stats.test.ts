import { expect } from "chai";
import { EmptySampleError, nearestRankPercentile, summarize } from "./stats.js";

describe("bench stats", () => {
  const cases: { name: string; samples: number[]; percent: number; expected: number }[] = [
    { name: "single sample is every percentile", samples: [4.2], percent: 95, expected: 4.2 },
    { name: "median of five is the third smallest", samples: [5, 1, 4, 2, 3], percent: 50, expected: 3 },
    { name: "p95 of five is the largest (nearest rank)", samples: [5, 1, 4, 2, 3], percent: 95, expected: 5 },
    { name: "median of four is the second smallest", samples: [10, 40, 30, 20], percent: 50, expected: 20 },
    { name: "p95 of twenty is the nineteenth", samples: Array.from({ length: 20 }, (_, i) => i + 1), percent: 95, expected: 19 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(nearestRankPercentile(c.samples, c.percent)).to.equal(c.expected);
    });
  }

  it("summarize reports count, p50, p95, min and max", () => {
    expect(summarize([3, 1, 2])).to.deep.equal({ count: 3, p50: 2, p95: 3, max: 3, min: 1 });
  });

  it("an empty sample is an error, not a zero", () => {
    expect(() => summarize([], "sql-crash")).to.throw(EmptySampleError, /sql-crash/);
  });
});
