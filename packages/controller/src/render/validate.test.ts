import { expect } from "chai";
import { API_GROUP_VERSION, KIND_AVAILABILITY_GROUP, KIND_INSTANCE } from "@sqlag/api";
import type { SQLServerAvailabilityGroup, SQLServerAvailabilityGroupSpec, SQLServerInstance, SQLServerInstanceSpec } from "@sqlag/api";
import { validateAvailabilityGroup, validateInstance } from "./validate.js";

function ag(overrides: Partial<SQLServerAvailabilityGroupSpec> = {}, name = "mssql-ag"): SQLServerAvailabilityGroup {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND_AVAILABILITY_GROUP,
    metadata: { name, namespace: "default", uid: "u" },
    spec: {
      agName: "AG1",
      saPasswordSecretRef: { name: "mssql-ag-secret", key: "SA_PASSWORD" },
      replicas: [{ name: "a" }, { name: "b" }, { name: "c" }],
      mssqlConf: { "sqlagent.enabled": "true" },
      ...overrides,
    },
  };
}

function instance(overrides: Partial<SQLServerInstanceSpec> = {}, name = "dev-sql"): SQLServerInstance {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND_INSTANCE,
    metadata: { name, namespace: "default", uid: "u" },
    spec: { saPasswordSecretRef: { name: "sa", key: "password" }, ...overrides },
  };
}

describe("validateAvailabilityGroup", () => {
  it("accepts the compatibility manifest's shape", () => {
    expect(
      validateAvailabilityGroup(
        ag({
          listener: { name: "mssql-ag-listener", port: 1433, serviceType: "LoadBalancer" },
          readOnlyListener: { name: "mssql-ag-listener-ro", port: 1433, serviceType: "LoadBalancer" },
          endpointPort: 5022,
          automaticFailover: { enabled: true, failoverThresholdSeconds: 30, healthThreshold: "system" },
        }),
      ),
    ).to.deep.equal([]);
  });

  const cases: { name: string; cr: SQLServerAvailabilityGroup; problem: RegExp }[] = [
    { name: "name too long for revision labels", cr: ag({}, "a".repeat(53)), problem: /at most 52/ },
    { name: "name with a dot", cr: ag({}, "mssql.ag"), problem: /must be a DNS label/ },
    { name: "duplicate replica names", cr: ag({ replicas: [{ name: "a" }, { name: "a" }] }), problem: /two replicas named "a"/ },
    { name: "listener named like the headless Service", cr: ag({ listener: { name: "mssql-ag-hl" } }), problem: /spec\.listener\.name "mssql-ag-hl" is already used by the headless Service/ },
    {
      name: "read-only listener with the rw listener's name",
      cr: ag({ listener: { name: "sql" }, readOnlyListener: { name: "sql" } }),
      problem: /spec\.readOnlyListener\.name "sql" is already used by spec\.listener/,
    },
    { name: "read-only listener colliding with the default rw listener", cr: ag({ readOnlyListener: { name: "mssql-ag-listener" } }), problem: /already used by spec\.listener/ },
    { name: "listener name not a DNS label", cr: ag({ listener: { name: "SQL_Listener" } }), problem: /must be a DNS label of at most 63/ },
    { name: "endpoint on the SQL port", cr: ag({ endpointPort: 1433 }), problem: /collides with SQL Server's client port/ },
    { name: "endpoint on the agent port", cr: ag({ endpointPort: 8080 }), problem: /agent's HTTP port/ },
    { name: "SA password in the generated Secret", cr: ag({ saPasswordSecretRef: { name: "mssql-ag-hadr", key: "x" } }), problem: /must not be "mssql-ag-hadr"/ },
    {
      name: "unsafe two-lease timing",
      cr: ag({ timing: { leaseDurationSeconds: 10, sqlWriteLeaseSeconds: 8, renewDeadlineSeconds: 5 } }),
      problem: /raise leaseDurationSeconds to at least 15/,
    },
    { name: "renew interval not below the deadline", cr: ag({ timing: { renewIntervalSeconds: 5, renewDeadlineSeconds: 5 } }), problem: /renewIntervalSeconds \(5\) must be smaller/ },
    { name: "health check interval below 5 s", cr: ag({ timing: { healthCheckIntervalSeconds: 2 } }), problem: /at least 5/ },
    { name: "RSSTC above the synchronous secondaries", cr: ag({ requiredSynchronizedSecondariesToCommit: 3 }), problem: /at most 2 secondaries/ },
    { name: "bad cluster domain", cr: ag({ clusterDomain: "Cluster_Local" }), problem: /not a valid DNS domain/ },
    { name: "mssql.conf injection", cr: ag({ mssqlConf: { "hadr]\n[x.y": "1" } }), problem: /section\.setting/ },
    { name: "HADR turned off", cr: ag({ mssqlConf: { "hadr.hadrenabled": "0" } }), problem: /needs HADR/ },
  ];
  for (const testCase of cases) {
    it(`rejects: ${testCase.name}`, () => {
      const problems = validateAvailabilityGroup(testCase.cr);
      expect(problems.join("\n")).to.match(testCase.problem);
      for (const problem of problems) expect(problem, "a full sentence").to.match(/^[A-Zs].*[.]$/s);
    });
  }
});

describe("validateInstance", () => {
  it("accepts a plain instance with extra variables", () => {
    expect(validateInstance(instance({ additionalEnvVars: [{ name: "MSSQL_COLLATION", value: "Latin1_General_CI_AS" }], timezone: "UTC" }))).to.deep.equal([]);
  });

  it("allows TZ in additionalEnvVars when spec.timezone is not set", () => {
    expect(validateInstance(instance({ additionalEnvVars: [{ name: "TZ", value: "UTC" }] }))).to.deep.equal([]);
  });

  const cases: { name: string; cr: SQLServerInstance; problem: RegExp }[] = [
    { name: "overriding the SA password", cr: instance({ additionalEnvVars: [{ name: "MSSQL_SA_PASSWORD", value: "x" }] }), problem: /sets MSSQL_SA_PASSWORD, which sqlag manages/ },
    { name: "the legacy SA_PASSWORD", cr: instance({ additionalEnvVars: [{ name: "SA_PASSWORD", value: "x" }] }), problem: /sets SA_PASSWORD/ },
    { name: "overriding the EULA", cr: instance({ additionalEnvVars: [{ name: "ACCEPT_EULA", value: "N" }] }), problem: /sets ACCEPT_EULA/ },
    { name: "overriding the port", cr: instance({ additionalEnvVars: [{ name: "MSSQL_TCP_PORT", value: "1" }] }), problem: /sets MSSQL_TCP_PORT/ },
    { name: "TZ twice", cr: instance({ timezone: "UTC", additionalEnvVars: [{ name: "TZ", value: "UTC" }] }), problem: /use spec\.timezone/ },
    { name: "duplicate variables", cr: instance({ additionalEnvVars: [{ name: "A", value: "1" }, { name: "A", value: "2" }] }), problem: /sets A twice/ },
    { name: "port of the agent", cr: instance({ port: 8080 }), problem: /agent's HTTP port/ },
    { name: "name with a dot", cr: instance({}, "dev.sql"), problem: /must be a DNS label/ },
    { name: "mssql.conf key without a section", cr: instance({ mssqlConf: { memorylimitmb: "1" } }), problem: /section\.setting/ },
  ];
  for (const testCase of cases) {
    it(`rejects: ${testCase.name}`, () => {
      expect(validateInstance(testCase.cr).join("\n")).to.match(testCase.problem);
    });
  }
});
