import { expect } from "chai";
import { KubeConfig } from "@kubernetes/client-node";
import { randomToken, renderKubeconfig, renderTokenAuthFile, type StaticTokenUser } from "./credentials.js";

describe("renderTokenAuthFile", function () {
  const cases: { name: string; users: StaticTokenUser[]; expected: string }[] = [
    {
      name: "a user in groups quotes the group list",
      users: [{ token: "t1", user: "admin", uid: "u1", groups: ["system:masters", "extra"] }],
      expected: 't1,admin,u1,"system:masters,extra"\n',
    },
    {
      name: "a user without groups has three fields",
      users: [{ token: "t2", user: "system:kube-controller-manager", uid: "u2", groups: [] }],
      expected: "t2,system:kube-controller-manager,u2\n",
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      expect(renderTokenAuthFile(c.users)).to.equal(c.expected);
    });
  }

  it("refuses values that would corrupt the CSV", function () {
    expect(() => renderTokenAuthFile([{ token: "a,b", user: "x", uid: "y", groups: [] }])).to.throw(/comma/);
  });
});

describe("renderKubeconfig", function () {
  it("loads into client-node with the server, CA and token", function () {
    const caPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const kc = new KubeConfig();
    kc.loadFromString(renderKubeconfig({ server: "https://127.0.0.1:6443", caPem, token: "tok", user: "admin" }));
    expect(kc.getCurrentCluster()?.server).to.equal("https://127.0.0.1:6443");
    expect(Buffer.from(kc.getCurrentCluster()?.caData ?? "", "base64").toString()).to.equal(caPem);
    expect(kc.getCurrentUser()).to.include({ name: "admin", token: "tok" });
  });
});

describe("randomToken", function () {
  it("is URL-safe and distinct per call", function () {
    const tokens = new Set(Array.from({ length: 20 }, randomToken));
    expect(tokens.size).to.equal(20);
    for (const token of tokens) expect(token).to.match(/^[A-Za-z0-9_-]{32}$/);
  });
});
