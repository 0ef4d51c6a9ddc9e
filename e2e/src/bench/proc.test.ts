import { expect } from "chai";
import { parseCpuSecondsFromStat, processCpuSeconds, processRssMiB } from "./proc.js";

describe("bench /proc readers", () => {
  const cases: { name: string; stat: string; expected: number | undefined }[] = [
    { name: "plain command name", stat: "123 (node) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 0 0", expected: 3 },
    { name: "command name with spaces and parentheses", stat: "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0", expected: 0.03 },
    { name: "truncated line", stat: "7 (x) R 1", expected: undefined },
  ];
  for (const c of cases) {
    it(`CPU seconds: ${c.name}`, () => {
      expect(parseCpuSecondsFromStat(c.stat)).to.equal(c.expected);
    });
  }

  it("reads this process's own RSS and CPU time", () => {
    expect(processRssMiB(process.pid)).to.be.greaterThan(1);
    expect(processCpuSeconds(process.pid)).to.be.a("number");
  });

  it("a process that does not exist has no figures", () => {
    expect(processRssMiB(2 ** 30)).to.equal(undefined);
    expect(processCpuSeconds(2 ** 30)).to.equal(undefined);
  });
});
