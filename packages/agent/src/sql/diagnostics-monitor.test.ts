import { expect } from "chai";
import { FakeClock } from "@sqlag/testkit";
import type { SqlConnection } from "./connection.js";
import { DiagnosticsMonitor, type DiagnosticsSnapshot } from "./diagnostics-monitor.js";
import { SqlUnavailableError } from "./errors.js";

/** A connection whose repeat-mode stream stays silent until the monitor stops (no result set yet). */
function silentConnection(): SqlConnection {
  return {
    stream: (_statement: unknown, _onRowset: unknown, signal: AbortSignal) =>
      new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
    close: () => Promise.resolve(),
  } as unknown as SqlConnection;
}

async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe("DiagnosticsMonitor", function () {
  const cases: { name: string; refusalsBeforeLogin: number; expect: Partial<DiagnosticsSnapshot> }[] = [
    { name: "a login after refusals clears them and restarts the unresponsive window", refusalsBeforeLogin: 2, expect: { consecutiveRefusals: 0, connectionFailure: undefined, lastResultSetAtMs: undefined } },
    { name: "a first login without refusals keeps the window from the start", refusalsBeforeLogin: 0, expect: { consecutiveRefusals: 0, connectionFailure: undefined, lastResultSetAtMs: undefined } },
  ];
  for (const testCase of cases) {
    it(testCase.name, async function () {
      const clock = new FakeClock();
      const startedAtMs = clock.nowMs();
      let attempts = 0;
      const monitor = new DiagnosticsMonitor({
        clock,
        intervalSeconds: 5,
        reconnectDelayMs: 1_000,
        open: () => {
          attempts += 1;
          return attempts <= testCase.refusalsBeforeLogin ? Promise.reject(new SqlUnavailableError("connect ECONNREFUSED", "refused")) : Promise.resolve(silentConnection());
        },
      });
      monitor.start();
      await settle();
      for (let refusal = 0; refusal < testCase.refusalsBeforeLogin; refusal += 1) {
        expect(monitor.snapshot().consecutiveRefusals, "refusals counted while the process is down").to.equal(refusal + 1);
        await clock.advance(1_000);
        await settle();
      }
      const snapshot = monitor.snapshot();
      expect(snapshot).to.include(testCase.expect);
      expect(snapshot.startedAtMs).to.equal(startedAtMs + testCase.refusalsBeforeLogin * 1_000);
      await monitor.stop();
    });
  }
});
