import { expect } from "chai";
import { FORCED_AG_MSSQL_CONF, mssqlConfHash, renderMssqlConf, validateMssqlConf } from "./mssql-conf.js";

describe("renderMssqlConf", () => {
  const cases: { name: string; conf: Record<string, string>; forced?: Record<string, string>; expected: string }[] = [
    { name: "empty AG conf has only HADR", conf: {}, forced: FORCED_AG_MSSQL_CONF, expected: "[hadr]\nhadrenabled = 1\n" },
    {
      name: "sections and keys sorted whatever the input order",
      conf: { "sqlagent.enabled": "true", "network.tlsprotocols": "1.2", "memory.memorylimitmb": "4096", "network.forceencryption": "1" },
      expected: "[memory]\nmemorylimitmb = 4096\n\n[network]\nforceencryption = 1\ntlsprotocols = 1.2\n\n[sqlagent]\nenabled = true\n",
    },
    { name: "forced value wins over the user's", conf: { "hadr.hadrenabled": "0" }, forced: FORCED_AG_MSSQL_CONF, expected: "[hadr]\nhadrenabled = 1\n" },
    { name: "empty instance conf is an empty file", conf: {}, expected: "\n" },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      expect(renderMssqlConf(testCase.conf, testCase.forced)).to.equal(testCase.expected);
    });
  }

  it("hash depends only on content", () => {
    const a = renderMssqlConf({ "b.x": "1", "a.y": "2" });
    const b = renderMssqlConf({ "a.y": "2", "b.x": "1" });
    expect(mssqlConfHash(a)).to.equal(mssqlConfHash(b)).and.match(/^[0-9a-f]{64}$/);
    expect(mssqlConfHash(renderMssqlConf({ "a.y": "3" }))).to.not.equal(mssqlConfHash(a));
  });
});

describe("validateMssqlConf", () => {
  const cases: { name: string; conf: Record<string, string>; requireHadr: boolean; problem?: RegExp }[] = [
    { name: "valid settings", conf: { "sqlagent.enabled": "true", "memory.memorylimitmb": "4096" }, requireHadr: true },
    { name: "key without section", conf: { memorylimitmb: "4096" }, requireHadr: false, problem: /not of the form section\.setting/ },
    { name: "key that would inject a header", conf: { "a]\n[b.c": "1" }, requireHadr: false, problem: /not of the form section\.setting/ },
    { name: "key with two dots", conf: { "a.b.c": "1" }, requireHadr: false, problem: /exactly one dot/ },
    { name: "value with a newline", conf: { "memory.memorylimitmb": "1\n[hadr]" }, requireHadr: false, problem: /line break/ },
    { name: "empty value", conf: { "memory.memorylimitmb": "" }, requireHadr: false, problem: /empty/ },
    { name: "HADR disabled in an AG", conf: { "hadr.hadrenabled": "0" }, requireHadr: true, problem: /needs HADR/ },
    { name: "HADR disabled in an instance is allowed", conf: { "hadr.hadrenabled": "0" }, requireHadr: false },
    { name: "same key in two cases", conf: { "memory.MemoryLimitMb": "1", "memory.memorylimitmb": "2" }, requireHadr: false, problem: /same setting/ },
    { name: "SQL Agent flag not a boolean", conf: { "sqlagent.enabled": "yes" }, requireHadr: false, problem: /"true" or "false"/ },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const problems = validateMssqlConf(testCase.conf, testCase.requireHadr);
      if (testCase.problem === undefined) expect(problems).to.deep.equal([]);
      else expect(problems.join(" ")).to.match(testCase.problem);
    });
  }
});
