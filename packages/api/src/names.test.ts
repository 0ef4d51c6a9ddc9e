import { expect } from "chai";
import { agentBaseUrl, agNames, endpointUrl, instanceNames, ordinalOfPod, podFqdn } from "./names.js";

describe("names", () => {
  it("builds every AG object name from the resource name", () => {
    expect({
      statefulSet: agNames.statefulSet("ag"),
      pod: agNames.pod("ag", 2),
      headlessService: agNames.headlessService("ag"),
      listener: agNames.listenerService("ag"),
      namedListener: agNames.listenerService("ag", "sales-rw"),
      readOnlyListener: agNames.readOnlyListenerService("ag"),
      configMap: agNames.configMap("ag"),
      hadrSecret: agNames.hadrSecret("ag"),
      lease: agNames.lease("ag"),
      serviceAccount: agNames.serviceAccount("ag"),
      podDisruptionBudget: agNames.podDisruptionBudget("ag"),
      dataClaim: agNames.dataClaim("ag", 1),
    }).to.deep.equal({
      statefulSet: "ag",
      pod: "ag-2",
      headlessService: "ag-hl",
      listener: "ag-listener",
      namedListener: "sales-rw",
      readOnlyListener: "ag-listener-ro",
      configMap: "ag-mssql-conf",
      hadrSecret: "ag-hadr",
      lease: "ag-primary",
      serviceAccount: "ag-agent",
      podDisruptionBudget: "ag",
      dataClaim: "mssql-data-ag-1",
    });
  });

  it("builds instance object names", () => {
    expect([instanceNames.pod("db"), instanceNames.headlessService("db"), instanceNames.clientService("db"), instanceNames.dataClaim("db")]).to.deep.equal([
      "db-0",
      "db-hl",
      "db",
      "mssql-data-db-0",
    ]);
  });

  const urlCases: { name: string; clusterDomain: string; fqdn: string; endpoint: string; agent: string }[] = [
    {
      name: "default cluster domain",
      clusterDomain: "cluster.local",
      fqdn: "mssql-ag-1.mssql-ag-hl.prod.svc.cluster.local",
      endpoint: "TCP://mssql-ag-1.mssql-ag-hl.prod.svc.cluster.local:5022",
      agent: "http://mssql-ag-1.mssql-ag-hl.prod.svc.cluster.local:8080",
    },
    {
      name: "custom cluster domain (never assumed to be cluster.local)",
      clusterDomain: "k8s.corp.example",
      fqdn: "mssql-ag-1.mssql-ag-hl.prod.svc.k8s.corp.example",
      endpoint: "TCP://mssql-ag-1.mssql-ag-hl.prod.svc.k8s.corp.example:5022",
      agent: "http://mssql-ag-1.mssql-ag-hl.prod.svc.k8s.corp.example:8080",
    },
  ];
  for (const { name, clusterDomain, fqdn, endpoint, agent } of urlCases) {
    it(`endpoint and agent URLs: ${name}`, () => {
      expect(podFqdn("mssql-ag-1", "mssql-ag", "prod", clusterDomain)).to.equal(fqdn);
      expect(endpointUrl("mssql-ag-1", "mssql-ag", "prod", clusterDomain, 5022)).to.equal(endpoint);
      expect(agentBaseUrl("mssql-ag-1", "mssql-ag", "prod", clusterDomain, 8080)).to.equal(agent);
    });
  }

  const ordinalCases: { name: string; cr: string; pod: string; expected: number | undefined }[] = [
    { name: "first pod", cr: "ag", pod: "ag-0", expected: 0 },
    { name: "two-digit ordinal", cr: "ag", pod: "ag-12", expected: 12 },
    { name: "resource name containing a dash and a digit", cr: "ag-1", pod: "ag-1-3", expected: 3 },
    { name: "pod of a resource whose name is a prefix of another", cr: "ag-1", pod: "ag-10", expected: undefined },
    { name: "pod of another resource", cr: "ag", pod: "other-0", expected: undefined },
    { name: "leading zero", cr: "ag", pod: "ag-01", expected: undefined },
    { name: "negative", cr: "ag", pod: "ag--1", expected: undefined },
    { name: "not a number", cr: "ag", pod: "ag-hl", expected: undefined },
    { name: "nothing after the dash", cr: "ag", pod: "ag-", expected: undefined },
    { name: "the resource name itself", cr: "ag", pod: "ag", expected: undefined },
  ];
  for (const { name, cr, pod, expected } of ordinalCases) {
    it(`ordinalOfPod: ${name}`, () => {
      expect(ordinalOfPod(cr, pod)).to.equal(expected);
    });
  }
});
