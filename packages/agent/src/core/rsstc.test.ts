import { expect } from "chai";
import { requiredSynchronizedSecondaries, withDefaults, type AvailabilityMode } from "@sqlag/api";
import { requiredSynchronizedSecondariesFor, requiredSynchronizedSecondariesForMembership } from "./rsstc.js";

describe("REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT", () => {
  const table: { name: string; synchronous: number; override?: number; expected: number }[] = [
    { name: "1 sync → 0", synchronous: 1, expected: 0 },
    { name: "2 sync → 0 (losing the only secondary must not block writes)", synchronous: 2, expected: 0 },
    { name: "3 sync → 1", synchronous: 3, expected: 1 },
    { name: "4 sync → 2", synchronous: 4, expected: 2 },
    { name: "5 sync → 2", synchronous: 5, expected: 2 },
    { name: "override wins", synchronous: 3, override: 2, expected: 2 },
    { name: "override 0 wins", synchronous: 5, override: 0, expected: 0 },
  ];
  for (const row of table) {
    it(row.name, () => expect(requiredSynchronizedSecondariesFor(row.synchronous, row.override)).to.equal(row.expected));
  }

  it("counts only synchronous members (configuration-only and async excluded)", () => {
    const modes: AvailabilityMode[] = ["SynchronousCommit", "SynchronousCommit", "SynchronousCommit", "ConfigurationOnly", "AsynchronousCommit"];
    const replicas = modes.map((availabilityMode, i) => ({ name: `p-${i}`, availabilityMode, readableSecondary: false, role: "SECONDARY" as const }));
    expect(requiredSynchronizedSecondariesForMembership(replicas)).to.equal(1);
  });

  it("agrees with the spec-level rule in @sqlag/api for the same layout", () => {
    for (const count of [1, 2, 3, 4, 5]) {
      const spec = withDefaults({
        agName: "AG",
        saPasswordSecretRef: { name: "s", key: "k" },
        replicas: Array.from({ length: count }, (_, i) => ({ name: `r${i}` })),
      });
      expect(requiredSynchronizedSecondariesFor(count)).to.equal(requiredSynchronizedSecondaries(spec));
    }
  });
});
