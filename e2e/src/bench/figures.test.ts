import { expect } from "chai";
import { defaultTimingSettings, formatRatio, isScenarioId, metricDefinitions, scenarioIds } from "./figures.js";

describe("bench figures", () => {
  const targetCases: { name: string; id: keyof typeof metricDefinitions; expected: number | undefined }[] = [
    { name: "SQL crash is 5 s", id: "sql-crash", expected: 5 },
    { name: "node loss is leaseDuration + 3 s", id: "node-loss", expected: 18 },
    { name: "freeze is failoverThreshold + W + 3 s", id: "freeze", expected: 21 },
    { name: "switchover is 2 s", id: "switchover", expected: 2 },
    { name: "API outage costs nothing", id: "api-outage", expected: 0 },
    { name: "the controller has no target", id: "controller-200", expected: undefined },
  ];
  for (const c of targetCases) {
    it(`target: ${c.name}`, () => {
      expect(metricDefinitions[c.id].target(defaultTimingSettings)).to.equal(c.expected);
    });
  }

  it("targets follow the AG's timing settings", () => {
    expect(metricDefinitions["node-loss"].target({ leaseDurationSeconds: 30, sqlWriteLeaseSeconds: 8, failoverThresholdSeconds: 10 })).to.equal(33);
  });

  const ratioCases: { name: string; measured: number | undefined; reference: number | undefined; expected: string }[] = [
    { name: "faster than the reference", measured: 4, reference: 40, expected: "0.10×" },
    { name: "small ratios keep three decimals", measured: 1, reference: 113, expected: "0.009×" },
    { name: "slower than the reference", measured: 6, reference: 2, expected: "3.00×" },
    { name: "no reference figure", measured: 6, reference: undefined, expected: "—" },
    { name: "zero reference", measured: 0, reference: 0, expected: "—" },
    { name: "not measured", measured: undefined, reference: 2, expected: "—" },
  ];
  for (const c of ratioCases) {
    it(`ratio: ${c.name}`, () => {
      expect(formatRatio(c.measured, c.reference)).to.equal(c.expected);
    });
  }

  it("every scenario has a definition and is recognised", () => {
    for (const id of scenarioIds) {
      expect(metricDefinitions[id].id).to.equal(id);
      expect(isScenarioId(id)).to.equal(true);
    }
    expect(isScenarioId("sql-crashes")).to.equal(false);
  });
});
