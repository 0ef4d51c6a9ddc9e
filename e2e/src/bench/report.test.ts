import { expect } from "chai";
import { defaultTimingSettings } from "./figures.js";
import { buildRow, formatMeasurement, renderTable, reportFileName, type Measurement } from "./report.js";
import { summarize } from "./stats.js";

describe("bench report", () => {
  const measurementCases: { name: string; measurement: Measurement; expected: string }[] = [
    { name: "repeated runs", measurement: { kind: "samples", samples: [1.5, 2, 3.25], summary: summarize([1.5, 2, 3.25]) }, expected: "p50 2 / p95 3.25 / max 3.25 (n=3)" },
    { name: "single value with detail", measurement: { kind: "value", value: 12.345, detail: "3 agents" }, expected: "12.35 (3 agents)" },
    { name: "not run says why", measurement: { kind: "not-run", reason: "the AG never reached Running" }, expected: "not run: the AG never reached Running" },
  ];
  for (const c of measurementCases) {
    it(`formats ${c.name}`, () => {
      expect(formatMeasurement(c.measurement)).to.equal(c.expected);
    });
  }

  it("a row carries target, peer and existing operator with ratios on the p50", () => {
    const row = buildRow("node-loss", { kind: "samples", samples: [20, 16, 18], summary: summarize([20, 16, 18]) }, defaultTimingSettings);
    expect(row.target).to.equal(18);
    expect(row.peer?.ratio).to.equal("0.45×");
    expect(row.existingOperator?.ratio).to.equal("0.58×");
  });

  it("a scenario that did not run has no ratio", () => {
    const row = buildRow("freeze", { kind: "not-run", reason: "x" }, defaultTimingSettings);
    expect(row.peer?.ratio).to.equal("—");
    expect(renderTable([row])).to.contain("not run: x");
  });

  it("every table line has the same width", () => {
    const rows = [buildRow("sql-crash", { kind: "value", value: 3 }, defaultTimingSettings), buildRow("agent-rss", { kind: "value", value: 61.2 }, defaultTimingSettings)];
    const widths = new Set(renderTable(rows).split("\n").map((line) => line.length));
    expect(widths.size).to.equal(1);
  });

  it("file names carry the start time without colons", () => {
    expect(reportFileName("2026-11-21T07:30:00.123Z")).to.equal("2026-11-21T07-30-00-123Z.json");
  });
});
