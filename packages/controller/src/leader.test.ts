import { expect } from "chai";
import { leaderEventTelemetry } from "./leader.js";
import type { ControllerMetrics } from "./metrics.js";
import type { Logger } from "./reconcile/logger.js";

describe("leaderEventTelemetry", () => {
  const cases: { name: string; event: Parameters<ReturnType<typeof leaderEventTelemetry>>[0]; level: keyof Logger; leader: boolean | undefined }[] = [
    { name: "acquired sets the leader gauge", event: { type: "acquired", epoch: 2 }, level: "info", leader: true },
    { name: "lost is an error and clears the gauge", event: { type: "lost", reason: "renew_deadline_exceeded" }, level: "error", leader: false },
    { name: "released clears the gauge", event: { type: "released" }, level: "info", leader: false },
    { name: "a failed renewal is a warning", event: { type: "renew_failed", err: { name: "KubeUnavailableError", message: "x" } }, level: "warn", leader: undefined },
    { name: "a failed acquisition attempt is debug (expected while standby)", event: { type: "acquire_failed", err: { name: "KubeUnavailableError", message: "x" } }, level: "debug", leader: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const lines: string[] = [];
      const logger: Logger = { error: () => lines.push("error"), warn: () => lines.push("warn"), info: () => lines.push("info"), debug: () => lines.push("debug") };
      let leader: boolean | undefined;
      const metrics: ControllerMetrics = { observeReconcile: () => undefined, setLeader: (l) => (leader = l) };
      leaderEventTelemetry(logger, metrics)(c.event);
      expect(lines).to.deep.equal([c.level]);
      expect(leader).to.equal(c.leader);
    });
  }
});
