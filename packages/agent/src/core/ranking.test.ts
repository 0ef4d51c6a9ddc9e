import { expect } from "chai";
import { contentionDelayMs, parseSequenceNumber, rankCandidates, rankOf } from "./ranking.js";

describe("candidate ranking", () => {
  const candidates = [
    { pod: "ag-2", sequenceNumber: 100n, preferred: false },
    { pod: "ag-0", sequenceNumber: 100n, preferred: false },
    { pod: "ag-1", sequenceNumber: 101n, preferred: false },
  ];
  it("orders by sequence number, then pod name", () => {
    expect(rankCandidates(candidates).map((c) => c.pod)).to.deep.equal(["ag-1", "ag-0", "ag-2"]);
  });
  it("a preferred (named better) candidate goes first", () => {
    const withPreferred = candidates.map((c) => (c.pod === "ag-2" ? { ...c, preferred: true } : c));
    expect(rankOf("ag-2", withPreferred)).to.equal(0);
  });
  it("unknown pods have no rank", () => {
    expect(rankOf("ag-9", candidates)).to.equal(undefined);
  });
  const delays: [number, number][] = [
    [0, 0],
    [1, 1000],
    [3, 3000],
  ];
  for (const [rank, delay] of delays) {
    it(`rank ${rank} waits ${delay} ms`, () => expect(contentionDelayMs(rank, 1000)).to.equal(delay));
  }
  it("parses bigint sequence numbers, anything else as 0", () => {
    expect(parseSequenceNumber("18446744073709551615")).to.equal(18446744073709551615n);
    expect(parseSequenceNumber(undefined)).to.equal(0n);
    expect(parseSequenceNumber("-1")).to.equal(0n);
  });
});
