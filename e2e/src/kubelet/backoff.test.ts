import { expect } from "chai";
import { nextCrashStreak, realBackoffPolicy, restartDelayMs, scaledBackoffPolicy, shouldRestart } from "./backoff.js";

describe("restartDelayMs", () => {
  const cases = [
    { name: "no crash, no delay", streak: 0, expectedMs: 0 },
    { name: "first crash waits the initial delay", streak: 1, expectedMs: 10_000 },
    { name: "doubles", streak: 2, expectedMs: 20_000 },
    { name: "doubles again", streak: 4, expectedMs: 80_000 },
    { name: "capped at five minutes", streak: 6, expectedMs: 300_000 },
    { name: "stays capped for long streaks", streak: 500, expectedMs: 300_000 },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => expect(restartDelayMs(testCase.streak, realBackoffPolicy)).to.equal(testCase.expectedMs));
  }
  it("scales for tests", () => expect(restartDelayMs(2, scaledBackoffPolicy(0.01))).to.equal(200));
});

describe("nextCrashStreak", () => {
  it("grows while crashes come quickly", () => expect(nextCrashStreak(3, 1_000, realBackoffPolicy)).to.equal(4));
  it("resets after a long healthy run", () => expect(nextCrashStreak(3, 600_000, realBackoffPolicy)).to.equal(1));
});

describe("shouldRestart", () => {
  const cases = [
    { policy: "Always", exitCode: 0, expected: true },
    { policy: "Always", exitCode: 1, expected: true },
    { policy: "OnFailure", exitCode: 0, expected: false },
    { policy: "OnFailure", exitCode: 137, expected: true },
    { policy: "Never", exitCode: 1, expected: false },
  ] as const;
  for (const testCase of cases) {
    it(`${testCase.policy} with exit ${testCase.exitCode} → ${testCase.expected}`, () =>
      expect(shouldRestart(testCase.policy, testCase.exitCode)).to.equal(testCase.expected));
  }
});
