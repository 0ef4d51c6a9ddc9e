import { expect } from "chai";
import { agentEnv } from "@sqlag/api";
import { ConfigError, loadAgentConfig, timingProblems, type AgentConfig } from "./config.js";

const SECRET = "Sup3r-Secret!";

function agEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    [agentEnv.mode]: "availability-group",
    [agentEnv.clusterName]: "ag1",
    [agentEnv.namespace]: "prod",
    [agentEnv.podName]: "ag1-0",
    [agentEnv.agName]: "AG1",
    [agentEnv.saPassword]: SECRET,
    [agentEnv.hadrSecretDir]: "/var/run/sqlag/hadr",
    ...overrides,
  };
}

function standaloneEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    [agentEnv.mode]: "standalone",
    [agentEnv.clusterName]: "dev",
    [agentEnv.namespace]: "prod",
    [agentEnv.podName]: "dev-0",
    [agentEnv.saPassword]: SECRET,
    ...overrides,
  };
}

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadAgentConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("loadAgentConfig", () => {
  describe("valid environments", () => {
    it("availability-group mode with only the required names uses the §4.11 defaults, in milliseconds", () => {
      const config = loadAgentConfig(agEnv());
      if (config.mode !== "availability-group") throw new Error("expected AG mode");
      expect(config.timing).to.include({
        leaseDurationMs: 15_000,
        renewIntervalMs: 2000,
        renewDeadlineMs: 5000,
        sqlWriteLeaseMs: 8000,
        healthCheckIntervalMs: 5000,
        failoverThresholdMs: 10_000,
        disablePrimaryOnQuorumTimeoutMs: 60_000,
        leaseSafetyMarginMs: 2000,
      });
      expect(config.sql).to.include({ host: "127.0.0.1", port: 1433, encrypt: true, trustServerCertificate: false });
      expect(config).to.include({ podName: "ag1-0", clusterName: "ag1", agName: "AG1", endpointPort: 5022, httpPort: 8080 });
      expect(config.clusterDomain).to.equal("cluster.local");
      expect(config.healthThreshold).to.equal("system");
    });

    it("standalone mode needs no AG name, secret dir or timing", () => {
      const config: AgentConfig = loadAgentConfig(standaloneEnv());
      expect(config.mode).to.equal("standalone");
      expect(config).to.not.have.property("timing");
    });

    it("reads every optional field", () => {
      const config = loadAgentConfig(
        agEnv({
          [agentEnv.sqlHost]: "10.0.0.5",
          [agentEnv.sqlPort]: "14330",
          [agentEnv.httpPort]: "9090",
          [agentEnv.endpointPort]: "5023",
          [agentEnv.clusterDomain]: "corp.example",
          [agentEnv.sqlEncrypt]: "false",
          [agentEnv.sqlTrustServerCertificate]: "TRUE",
          [agentEnv.sqlCaFile]: "/ca.pem",
          [agentEnv.logLevel]: "debug",
          [agentEnv.healthThreshold]: "query_processing",
          [agentEnv.podIp]: "127.0.1.2",
          [agentEnv.nodeName]: "node-a",
          [agentEnv.fakeMounts]: '{"/var/run/sqlag/hadr":"/tmp/x/hadr"}',
        }),
      );
      if (config.mode !== "availability-group") throw new Error("expected AG mode");
      expect(config.sql).to.include({ host: "10.0.0.5", port: 14330, encrypt: false, trustServerCertificate: true, caFile: "/ca.pem" });
      expect(config).to.include({ httpPort: 9090, endpointPort: 5023, clusterDomain: "corp.example", logLevel: "debug", podIp: "127.0.1.2" });
      expect(config.healthThreshold).to.equal("query_processing");
      expect(config.fakeMounts).to.deep.equal({ "/var/run/sqlag/hadr": "/tmp/x/hadr" });
    });

    it("returns a deeply frozen object", () => {
      const config = loadAgentConfig(agEnv());
      expect(Object.isFrozen(config)).to.equal(true);
      expect(Object.isFrozen(config.sql)).to.equal(true);
    });
  });

  describe("invalid environments (every problem is listed)", () => {
    const cases: { name: string; env: Record<string, string | undefined>; expect: RegExp[] }[] = [
      { name: "missing pod name", env: agEnv({ [agentEnv.podName]: undefined }), expect: [/SQLAG_POD_NAME is required/] },
      { name: "missing namespace and cluster name together", env: agEnv({ [agentEnv.namespace]: "", [agentEnv.clusterName]: undefined }), expect: [/SQLAG_NAMESPACE is required/, /SQLAG_CLUSTER_NAME is required/] },
      { name: "missing SA password", env: agEnv({ [agentEnv.saPassword]: undefined }), expect: [/SQLAG_SA_PASSWORD is required/] },
      { name: "missing AG name in AG mode", env: agEnv({ [agentEnv.agName]: undefined }), expect: [/SQLAG_AG_NAME is required/] },
      { name: "AG name not a SQL identifier", env: agEnv({ [agentEnv.agName]: "ag-1; DROP" }), expect: [/SQLAG_AG_NAME.*SQL identifier/] },
      { name: "missing hadr secret dir", env: agEnv({ [agentEnv.hadrSecretDir]: undefined }), expect: [/SQLAG_HADR_SECRET_DIR is required/] },
      { name: "pod not of this cluster", env: agEnv({ [agentEnv.podName]: "other-0" }), expect: [/is not a pod of ag1/] },
      { name: "pod name not a DNS label", env: agEnv({ [agentEnv.podName]: "AG1_0" }), expect: [/SQLAG_POD_NAME.*pod name/] },
      { name: "unknown mode", env: agEnv({ [agentEnv.mode]: "cluster" }), expect: [/SQLAG_MODE.*must be one of/] },
      { name: "port not a number", env: agEnv({ [agentEnv.sqlPort]: "14x" }), expect: [/SQLAG_SQL_PORT.*whole number/] },
      { name: "port out of range", env: agEnv({ [agentEnv.httpPort]: "70000" }), expect: [/SQLAG_HTTP_PORT=70000 is out of range/] },
      { name: "port zero", env: agEnv({ [agentEnv.endpointPort]: "0" }), expect: [/SQLAG_ENDPOINT_PORT=0 is out of range/] },
      { name: "boolean not true/false", env: agEnv({ [agentEnv.sqlEncrypt]: "yes" }), expect: [/SQLAG_SQL_ENCRYPT.*"true" or "false"/] },
      { name: "unknown health threshold", env: agEnv({ [agentEnv.healthThreshold]: "io" }), expect: [/SQLAG_HEALTH_THRESHOLD.*must be one of/] },
      { name: "unknown log level", env: agEnv({ [agentEnv.logLevel]: "trace" }), expect: [/SQLAG_LOG_LEVEL/] },
      { name: "fractional seconds", env: agEnv({ [agentEnv.leaseDurationSeconds]: "15.5" }), expect: [/SQLAG_LEASE_DURATION_SECONDS.*whole number/] },
      { name: "health check interval below 5", env: agEnv({ [agentEnv.healthCheckIntervalSeconds]: "4" }), expect: [/below the sp_server_diagnostics minimum of 5/] },
      { name: "failover threshold below 10", env: agEnv({ [agentEnv.failoverThresholdSeconds]: "9" }), expect: [/failoverThresholdSeconds \(9\) must be at least 10/] },
      {
        name: "W + renewDeadline + margin exceeds the lease duration",
        env: agEnv({ [agentEnv.sqlWriteLeaseSeconds]: "9" }),
        expect: [/sqlWriteLeaseSeconds \(9\) \+ renewDeadlineSeconds \(5\) \+ safety margin \(2\) = 16 exceeds leaseDurationSeconds \(15\)/],
      },
      { name: "renew interval not below renew deadline", env: agEnv({ [agentEnv.renewIntervalSeconds]: "5" }), expect: [/renewIntervalSeconds \(5\) must be less than renewDeadlineSeconds \(5\)/] },
      {
        name: "renew deadline not below lease duration",
        env: agEnv({ [agentEnv.renewDeadlineSeconds]: "15", [agentEnv.sqlWriteLeaseSeconds]: "3" }),
        expect: [/renewDeadlineSeconds \(15\) must be less than leaseDurationSeconds \(15\)/],
      },
      {
        name: "SQL lease not longer than the renew interval",
        env: agEnv({ [agentEnv.sqlWriteLeaseSeconds]: "2" }),
        expect: [/sqlWriteLeaseSeconds \(2\) must be greater than renewIntervalSeconds \(2\)/],
      },
      { name: "fake mounts not JSON", env: agEnv({ [agentEnv.fakeMounts]: "{oops" }), expect: [/SQLAG_FAKE_MOUNTS is not valid JSON/] },
      { name: "fake mounts not a map of strings", env: agEnv({ [agentEnv.fakeMounts]: '{"/a": 1}' }), expect: [/SQLAG_FAKE_MOUNTS must be a JSON object of strings/] },
      { name: "standalone without pod name", env: standaloneEnv({ [agentEnv.podName]: undefined }), expect: [/SQLAG_POD_NAME is required/] },
    ];
    for (const testCase of cases) {
      it(testCase.name, () => {
        const problems = problemsOf(testCase.env);
        for (const pattern of testCase.expect) {
          expect(problems.some((p) => pattern.test(p)), `${pattern} in ${JSON.stringify(problems)}`).to.equal(true);
        }
      });
    }

    it("collects several unrelated problems in one error", () => {
      const problems = problemsOf(agEnv({ [agentEnv.podName]: undefined, [agentEnv.sqlPort]: "nope", [agentEnv.sqlWriteLeaseSeconds]: "12" }));
      expect(problems.length).to.be.at.least(3);
    });

    it("never puts the SA password into a problem message", () => {
      const problems = problemsOf(agEnv({ [agentEnv.sqlPort]: "bad", [agentEnv.podName]: undefined, [agentEnv.sqlWriteLeaseSeconds]: "30" }));
      expect(problems.length).to.be.at.least(3);
      expect(problems.join("\n")).to.not.include(SECRET);
    });
  });
});

describe("timingProblems", () => {
  const base = { leaseDurationSeconds: 15, renewIntervalSeconds: 2, renewDeadlineSeconds: 5, sqlWriteLeaseSeconds: 8, failoverThresholdSeconds: 10 };
  const cases: { name: string; timing: typeof base; problems: number }[] = [
    { name: "the defaults are consistent", timing: base, problems: 0 },
    { name: "exactly on the inequality's edge is allowed (8 + 5 + 2 = 15)", timing: base, problems: 0 },
    { name: "a longer lease allows a longer W", timing: { ...base, leaseDurationSeconds: 30, sqlWriteLeaseSeconds: 20 }, problems: 0 },
    { name: "one second too long a W", timing: { ...base, sqlWriteLeaseSeconds: 9 }, problems: 1 },
    { name: "deadline equals lease and W too long", timing: { ...base, renewDeadlineSeconds: 15 }, problems: 2 },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      expect(timingProblems(testCase.timing)).to.have.length(testCase.problems);
    });
  }
});
