import { expect } from "chai";
import type { HealthThreshold, HealthVerdict } from "@sqlag/api";
import { assessHealth, failingComponent, unresponsiveStrikes, type HealthPolicy } from "./health-policy.js";
import type { DiagnosticsFacts } from "./types.js";

const NOW = 100_000;
const policy = (threshold: HealthThreshold = "system"): HealthPolicy => ({ threshold, intervalMs: 5000, graceMs: 2000 });

function facts(states: Record<string, number>, overrides: Partial<DiagnosticsFacts> = {}): DiagnosticsFacts {
  return {
    startedAtMs: NOW - 60_000,
    lastResultSetAtMs: NOW - 1000,
    components: Object.entries(states).map(([componentName, state]) => ({ componentName, state })),
    connectionFailure: undefined,
    consecutiveRefusals: 0,
    ...overrides,
  };
}

const clean = { system: 1, resource: 1, query_processing: 1, io_subsystem: 1, events: 1 };

describe("health policy (Pacemaker monitor_policy levels)", () => {
  const cases: { name: string; threshold: HealthThreshold; facts: DiagnosticsFacts; verdict: HealthVerdict }[] = [
    { name: "all components clean", threshold: "system", facts: facts(clean), verdict: "healthy" },
    { name: "warnings are healthy", threshold: "query_processing", facts: facts({ ...clean, system: 2, resource: 2, query_processing: 2 }), verdict: "healthy" },
    { name: "unknown state (0) is healthy", threshold: "system", facts: facts({ ...clean, system: 0 }), verdict: "healthy" },
    { name: "system error at level system (3)", threshold: "system", facts: facts({ ...clean, system: 3 }), verdict: "unhealthy" },
    { name: "resource error ignored at level system", threshold: "system", facts: facts({ ...clean, resource: 3 }), verdict: "healthy" },
    { name: "resource error at level resource (4)", threshold: "resource", facts: facts({ ...clean, resource: 3 }), verdict: "unhealthy" },
    { name: "query_processing error ignored at level resource", threshold: "resource", facts: facts({ ...clean, query_processing: 3 }), verdict: "healthy" },
    { name: "query_processing error at level query_processing (5)", threshold: "query_processing", facts: facts({ ...clean, query_processing: 3 }), verdict: "unhealthy" },
    { name: "io_subsystem error never counts", threshold: "query_processing", facts: facts({ ...clean, io_subsystem: 3 }), verdict: "healthy" },
    { name: "missing system component is unhealthy", threshold: "system", facts: facts({ resource: 1, query_processing: 1 }), verdict: "unhealthy" },
    { name: "missing query_processing is unhealthy at level 5", threshold: "query_processing", facts: facts({ system: 1, resource: 1 }), verdict: "unhealthy" },
    { name: "missing query_processing is fine at level 3", threshold: "system", facts: facts({ system: 1, resource: 1 }), verdict: "healthy" },
    { name: "component names compare case-insensitively", threshold: "system", facts: facts({ SYSTEM: 3 }), verdict: "unhealthy" },
    {
      name: "no result set within interval + grace is unresponsive, never healthy by default",
      threshold: "system",
      facts: facts(clean, { lastResultSetAtMs: NOW - 7001 }),
      verdict: "unresponsive",
    },
    { name: "exactly interval + grace is not a strike yet", threshold: "system", facts: facts(clean, { lastResultSetAtMs: NOW - 7000 }), verdict: "healthy" },
    {
      name: "never a result set and past the first window: unresponsive",
      threshold: "system",
      facts: facts({}, { lastResultSetAtMs: undefined, startedAtMs: NOW - 8000 }),
      verdict: "unresponsive",
    },
    { name: "never a result set, still in the first window: unknown", threshold: "system", facts: facts({}, { lastResultSetAtMs: undefined, startedAtMs: NOW - 3000 }), verdict: "unknown" },
    {
      name: "refused connection means the process is down",
      threshold: "system",
      facts: facts(clean, { connectionFailure: { reason: "refused", atMs: NOW - 100 }, consecutiveRefusals: 1 }),
      verdict: "down",
    },
    {
      name: "a login failure is not 'down'; it becomes unresponsive once silent",
      threshold: "system",
      facts: facts(clean, { connectionFailure: { reason: "login", atMs: NOW - 100 }, lastResultSetAtMs: NOW - 9000 }),
      verdict: "unresponsive",
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      expect(assessHealth(testCase.facts, policy(testCase.threshold), undefined, NOW).verdict).to.equal(testCase.verdict);
    });
  }

  it("counts unresponsive strikes per interval past the first window", () => {
    const table: [number, number][] = [
      [7000, 0],
      [7001, 1],
      [12_000, 2],
      [17_001, 3],
    ];
    for (const [silentMs, strikes] of table) {
      expect(unresponsiveStrikes(facts(clean, { lastResultSetAtMs: NOW - silentMs }), policy(), NOW), `${silentMs} ms`).to.equal(strikes);
    }
  });

  it("keeps the start of an unhealthy streak and reports the failing component", () => {
    const first = assessHealth(facts({ ...clean, system: 3 }), policy(), undefined, NOW);
    expect(first.unhealthySinceMs).to.equal(NOW - 1000);
    const later = assessHealth(facts({ ...clean, system: 3 }), policy(), NOW - 9000, NOW);
    expect(later.unhealthySinceMs).to.equal(NOW - 9000);
    expect(later.detail).to.equal("component system in error state");
  });

  it("dates an unresponsive streak from when the result set became overdue", () => {
    const result = assessHealth(facts(clean, { lastResultSetAtMs: NOW - 20_000 }), policy(), undefined, NOW);
    expect(result.unhealthySinceMs).to.equal(NOW - 20_000 + 7000);
  });

  it("failingComponent reports the most severe failure first", () => {
    expect(failingComponent(facts({ system: 3, resource: 3, query_processing: 3 }).components, "query_processing")).to.match(/system/);
  });
});
