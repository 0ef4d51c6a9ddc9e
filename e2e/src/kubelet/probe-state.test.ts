import { expect } from "chai";
import { ProbeState, probeTiming } from "./probe-state.js";

describe("probeTiming", () => {
  it("applies the Kubernetes defaults", () =>
    expect(probeTiming({}, "readiness")).to.deep.equal({ initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1_000, failureThreshold: 3, successThreshold: 1 }));
  it("forces successThreshold 1 for liveness", () => expect(probeTiming({ successThreshold: 3 }, "liveness").successThreshold).to.equal(1));
});

describe("ProbeState", () => {
  const timing = { initialDelayMs: 5_000, periodMs: 1_000, timeoutMs: 500, failureThreshold: 2, successThreshold: 2 };

  it("waits for the initial delay, then runs once per period and never twice at once", () => {
    const state = new ProbeState("readiness", timing, 1_000);
    expect(state.isDue(5_999)).to.equal(false);
    expect(state.isDue(6_000)).to.equal(true);
    state.begin(6_000);
    expect(state.isDue(8_000)).to.equal(false);
    state.record(true);
    expect(state.isDue(6_500)).to.equal(false);
    expect(state.isDue(7_000)).to.equal(true);
  });

  const sequences: Array<{ name: string; kind: "readiness" | "liveness" | "startup"; outcomes: boolean[]; expected: string; restart: boolean }> = [
    { name: "readiness starts failed", kind: "readiness", outcomes: [], expected: "failure", restart: false },
    { name: "readiness needs successThreshold successes", kind: "readiness", outcomes: [true], expected: "failure", restart: false },
    { name: "readiness passes after two successes", kind: "readiness", outcomes: [true, true], expected: "success", restart: false },
    { name: "a failure resets the success streak", kind: "readiness", outcomes: [true, false, true], expected: "failure", restart: false },
    { name: "liveness starts unknown", kind: "liveness", outcomes: [], expected: "unknown", restart: false },
    { name: "one liveness failure is tolerated", kind: "liveness", outcomes: [false], expected: "unknown", restart: false },
    { name: "liveness fails after failureThreshold", kind: "liveness", outcomes: [false, false], expected: "failure", restart: true },
    { name: "startup failing demands a restart", kind: "startup", outcomes: [false, false], expected: "failure", restart: true },
    { name: "readiness failure never restarts", kind: "readiness", outcomes: [true, true, false, false], expected: "failure", restart: false },
  ];
  for (const sequence of sequences) {
    it(sequence.name, () => {
      const state = new ProbeState(sequence.kind, timing, 0);
      for (const ok of sequence.outcomes) {
        state.begin(0);
        state.record(ok);
      }
      expect(state.result).to.equal(sequence.expected);
      expect(state.demandsRestart()).to.equal(sequence.restart);
    });
  }

  it("stops running startup once it succeeded", () => {
    const state = new ProbeState("startup", { ...timing, successThreshold: 1 }, 0);
    state.begin(5_000);
    expect(state.record(true)).to.equal("success");
    expect(state.isDue(100_000)).to.equal(false);
  });
});
