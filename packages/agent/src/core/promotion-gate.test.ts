import { expect } from "chai";
import type { AvailabilityMode, SequenceReport } from "@sqlag/api";
import { evaluatePromotionGate, requiredReports } from "./promotion-gate.js";

const sync = (name: string) => ({ name, availabilityMode: "SynchronousCommit" as AvailabilityMode });
const witness = (name: string) => ({ name, availabilityMode: "ConfigurationOnly" as AvailabilityMode });
const async = (name: string) => ({ name, availabilityMode: "AsynchronousCommit" as AvailabilityMode });
const rep = (pod: string, seq: number, epoch = 7): SequenceReport => ({ pod, epoch, sequenceNumber: String(seq), healthy: true });

describe("promotion gate", () => {
  describe("required reports ⌊N/2⌋+1 with N = SYNC + CONFIGURATION_ONLY", () => {
    const table: { name: string; replicas: { name: string; availabilityMode: AvailabilityMode }[]; required: number }[] = [
      { name: "N=2 (2 sync, no witness): 2 — impossible without the primary", replicas: [sync("a"), sync("b")], required: 2 },
      { name: "N=3 (2 sync + witness)", replicas: [sync("a"), sync("b"), witness("w")], required: 2 },
      { name: "N=3 (3 sync)", replicas: [sync("a"), sync("b"), sync("c")], required: 2 },
      { name: "N=4 (4 sync): one stricter than ceil(N/2)", replicas: [sync("a"), sync("b"), sync("c"), sync("d")], required: 3 },
      { name: "N=5", replicas: [sync("a"), sync("b"), sync("c"), sync("d"), sync("e")], required: 3 },
      { name: "async replicas do not count", replicas: [sync("a"), sync("b"), witness("w"), async("x"), async("y")], required: 2 },
    ];
    for (const row of table) {
      it(row.name, () => expect(requiredReports(row.replicas)).to.equal(row.required));
    }
  });

  const three = [sync("a"), sync("b"), sync("c")];
  const cases: {
    name: string;
    replicas?: { name: string; availabilityMode: AvailabilityMode }[];
    mode?: AvailabilityMode;
    own: bigint;
    reports: SequenceReport[];
    pass: boolean;
    why?: string;
  }[] = [
    { name: "N=3: own = max with one peer report passes", own: 10n, reports: [rep("b", 10)], pass: true },
    { name: "N=3: own alone is short", own: 10n, reports: [], pass: false, why: "quorum_short" },
    { name: "N=3: a peer ahead blocks", own: 10n, reports: [rep("b", 11), rep("c", 10)], pass: false, why: "not_max_sequence" },
    { name: "N=3: a lower peer report still counts as positive", own: 10n, reports: [rep("b", 9)], pass: true },
    { name: "N=3: zero reports (async or unknown) do not count", own: 10n, reports: [rep("b", 0), rep("c", 0)], pass: false, why: "quorum_short" },
    { name: "N=3: own sequence 0 never promotes", own: 0n, reports: [rep("b", 0), rep("c", 0)], pass: false, why: "own_sequence_zero" },
    { name: "stale epoch reports are ignored", own: 10n, reports: [rep("b", 10, 6)], pass: false, why: "quorum_short" },
    { name: "a report claiming to be the candidate is ignored", own: 10n, reports: [rep("a", 10)], pass: false, why: "quorum_short" },
    { name: "asynchronous candidate never promotes", mode: "AsynchronousCommit", own: 10n, reports: [rep("b", 10)], pass: false, why: "not_synchronous" },
    { name: "N=2: the survivor alone can never pass", replicas: [sync("a"), sync("b")], own: 10n, reports: [], pass: false, why: "quorum_short" },
    { name: "N=2: with the other replica reporting it passes", replicas: [sync("a"), sync("b")], own: 10n, reports: [rep("b", 10)], pass: true },
    { name: "N=3 with witness: witness report makes quorum", replicas: [sync("a"), sync("b"), witness("w")], own: 10n, reports: [rep("w", 10)], pass: true },
    { name: "N=4: needs 3 positive", replicas: [sync("a"), sync("b"), sync("c"), sync("d")], own: 10n, reports: [rep("b", 10)], pass: false, why: "quorum_short" },
    { name: "N=4: 3 positive passes", replicas: [sync("a"), sync("b"), sync("c"), sync("d")], own: 10n, reports: [rep("b", 10), rep("c", 8)], pass: true },
    { name: "N=5: 3 positive passes", replicas: [sync("a"), sync("b"), sync("c"), sync("d"), sync("e")], own: 10n, reports: [rep("b", 10), rep("c", 10)], pass: true },
    { name: "N=5: 2 positive is short", replicas: [sync("a"), sync("b"), sync("c"), sync("d"), sync("e")], own: 10n, reports: [rep("b", 10), rep("c", 0)], pass: false, why: "quorum_short" },
    { name: "64-bit sequence numbers compare exactly", own: 4294967297n, reports: [rep("b", 0), { pod: "c", epoch: 7, sequenceNumber: "4294967298", healthy: true }], pass: false, why: "not_max_sequence" },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const verdict = evaluatePromotionGate({
        candidate: "a",
        candidateMode: testCase.mode ?? "SynchronousCommit",
        candidateSequence: testCase.own,
        replicas: testCase.replicas ?? three,
        reports: testCase.reports,
        epoch: 7,
      });
      expect(verdict.pass).to.equal(testCase.pass);
      if (!verdict.pass) expect(verdict.why).to.equal(testCase.why);
    });
  }

  it("names the replica with the maximum as the better candidate", () => {
    const verdict = evaluatePromotionGate({
      candidate: "a",
      candidateMode: "SynchronousCommit",
      candidateSequence: 10n,
      replicas: three,
      reports: [rep("b", 11), rep("c", 12)],
      epoch: 7,
    });
    expect(verdict).to.deep.include({ pass: false, why: "not_max_sequence", betterCandidate: "c", max: 12n });
  });
});
