import { expect } from "chai";
import type { V1Pod } from "@kubernetes/client-node";
import { Kubelet } from "./kubelet.js";

describe("Kubelet.podDnsNames", () => {
  const cases: Array<{ name: string; pod: V1Pod; expected: string[] }> = [
    {
      name: "StatefulSet pod behind a headless Service",
      pod: { metadata: { name: "ag-0", namespace: "db" }, spec: { hostname: "ag-0", subdomain: "ag-hl", containers: [] } },
      expected: ["ag-0.ag-hl.db.svc.example.org", "ag-0.ag-hl.db.svc", "ag-0.ag-hl.db", "ag-0.ag-hl"],
    },
    { name: "plain pod: only its name", pod: { metadata: { name: "web", namespace: "db" }, spec: { containers: [] } }, expected: ["web"] },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => expect(Kubelet.podDnsNames(testCase.pod, "example.org")).to.deep.equal(testCase.expected));
  }
});
