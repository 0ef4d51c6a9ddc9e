import { expect } from "chai";
import { faultActions, faultHelp, isFaultAction } from "./control.js";

describe("playground fault actions", () => {
  const cases: { value: string; expected: boolean }[] = [
    { value: "crash", expected: true },
    { value: "kill-node", expected: true },
    { value: "cut-api", expected: true },
    { value: "kill", expected: false },
    { value: "", expected: false },
  ];
  for (const c of cases) {
    it(`"${c.value}" is ${c.expected ? "" : "not "}an action`, () => {
      expect(isFaultAction(c.value)).to.equal(c.expected);
    });
  }

  it("every action has a help line", () => {
    for (const action of faultActions) expect(faultHelp[action]).to.be.a("string").and.not.equal("");
  });
});
