/**
 * The benchmark report: one row per metric with what was measured (or why it was not), our target, the peer
 * figure and the existing operator's figure, each with the ratio measured/reference (computed on the p50 for
 * repeated measurements). Rendering is pure so the table format is unit-tested; writing the JSON is the only I/O.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { formatRatio, metricDefinitions, type MetricId, type ReferenceFigure, type TimingSettings } from "./figures.js";
import type { SampleSummary } from "./stats.js";

export type Measurement =
  | { readonly kind: "samples"; readonly summary: SampleSummary; readonly samples: readonly number[] }
  | { readonly kind: "value"; readonly value: number; readonly detail?: string }
  | { readonly kind: "not-run"; readonly reason: string };

export interface BenchRow {
  readonly id: MetricId;
  readonly title: string;
  readonly unit: string;
  readonly measurement: Measurement;
  readonly target: number | undefined;
  readonly targetText: string;
  readonly peer: (ReferenceFigure & { readonly ratio: string }) | undefined;
  readonly existingOperator: (ReferenceFigure & { readonly ratio: string }) | undefined;
}

/** The figure a ratio is computed from: p50 of repeated runs, or the single value. */
export function headlineValue(measurement: Measurement): number | undefined {
  if (measurement.kind === "samples") return measurement.summary.p50;
  if (measurement.kind === "value") return measurement.value;
  return undefined;
}

export function buildRow(id: MetricId, measurement: Measurement, timing: TimingSettings): BenchRow {
  const definition = metricDefinitions[id];
  const value = headlineValue(measurement);
  return {
    id,
    title: definition.title,
    unit: definition.unit,
    measurement,
    target: definition.target(timing),
    targetText: definition.targetText(timing),
    peer: definition.peer === undefined ? undefined : { ...definition.peer, ratio: formatRatio(value, definition.peer.value) },
    existingOperator: definition.existingOperator === undefined ? undefined : { ...definition.existingOperator, ratio: formatRatio(value, definition.existingOperator.value) },
  };
}

function number(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
}

export function formatMeasurement(measurement: Measurement): string {
  switch (measurement.kind) {
    case "samples":
      return `p50 ${number(measurement.summary.p50)} / p95 ${number(measurement.summary.p95)} / max ${number(measurement.summary.max)} (n=${measurement.summary.count})`;
    case "value":
      return measurement.detail === undefined ? number(measurement.value) : `${number(measurement.value)} (${measurement.detail})`;
    case "not-run":
      return `not run: ${measurement.reason}`;
  }
}

function reference(figure: BenchRow["peer"]): string {
  if (figure === undefined) return "—";
  return `${figure.value === undefined ? "—" : number(figure.value)} [${figure.ratio}]`;
}

/** A Markdown table (readable in a terminal, pasteable into the note and docs). */
export function renderTable(rows: readonly BenchRow[]): string {
  const header = ["metric", "unit", "measured", "our target", "peer [ratio]", "existing operator [ratio]"];
  const lines = rows.map((row) => [row.title, row.unit, formatMeasurement(row.measurement), row.targetText, reference(row.peer), reference(row.existingOperator)]);
  const all = [header, ...lines];
  const widths = header.map((_, column) => Math.max(...all.map((line) => (line[column] ?? "").length)));
  const render = (line: readonly string[]) => `| ${line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  return [render(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...lines.map(render)].join("\n");
}

/** Where each reference figure comes from, printed under the table. */
export function renderSources(rows: readonly BenchRow[]): string {
  const notes: string[] = [];
  for (const row of rows) {
    if (row.peer !== undefined) notes.push(`- ${row.id}, peer: ${row.peer.text} (${row.peer.source})`);
    if (row.existingOperator !== undefined) notes.push(`- ${row.id}, existing operator: ${row.existingOperator.text} (${row.existingOperator.source})`);
  }
  return notes.join("\n");
}

export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly host: { readonly cpus: number; readonly node: string; readonly platform: string };
  readonly runsPerScenario: number;
  readonly timing: TimingSettings;
  readonly rows: readonly BenchRow[];
  /** Raw per-run records (scenario runs, controller scale, steady-state samples) for later analysis. */
  readonly details: Record<string, unknown>;
}

/** `bench/results/<timestamp>.json`, timestamp from the report's start (colons are not portable in file names). */
export function reportFileName(startedAt: string): string {
  return `${startedAt.replace(/[:.]/g, "-")}.json`;
}

export function writeReport(directory: string, report: BenchReport): string {
  mkdirSync(directory, { recursive: true });
  const filePath = path.join(directory, reportFileName(report.startedAt));
  writeFileSync(filePath, `${JSON.stringify(report, null, 2)}\n`);
  return filePath;
}
