import { expect } from "chai";
import { loadControllerConfig } from "./config.js";

describe("loadControllerConfig", () => {
  it("applies the defaults with only the pod name set", () => {
    const result = loadControllerConfig({ SQLAG_POD_NAME: "sqlag-controller-abc" });
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.config).to.deep.equal({
      identity: "sqlag-controller-abc",
      watchNamespaces: undefined,
      leaderElection: {
        enabled: true,
        namespace: "sqlag-system",
        leaseName: "sqlag-controller",
        timing: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      },
      httpPort: 8080,
      httpBindAddress: "0.0.0.0",
      logLevel: "info",
      resyncPeriodMs: 300_000,
      workers: 4,
      requestTimeoutMs: 10_000,
      informerBrokenThresholdMs: 60_000,
    });
  });

  const valid: { name: string; env: Record<string, string>; check: (c: ReturnType<typeof loadControllerConfig>) => unknown; expected: unknown }[] = [
    { name: "the test harness pod address wins over SQLAG_HTTP_HOST", env: { SQLAG_POD_NAME: "p", SQLAG_HTTP_HOST: "10.0.0.1", SQLAG_FAKE_POD_IP: "127.0.3.4" }, check: (r) => r.ok && r.config.httpBindAddress, expected: "127.0.3.4" },
    { name: "SQLAG_HTTP_HOST sets the bind address", env: { SQLAG_POD_NAME: "p", SQLAG_HTTP_HOST: "10.0.0.1" }, check: (r) => r.ok && r.config.httpBindAddress, expected: "10.0.0.1" },
    { name: "POD_NAME is accepted as identity", env: { POD_NAME: "p" }, check: (r) => r.ok && r.config.identity, expected: "p" },
    { name: "a namespace list is split, trimmed and de-duplicated", env: { SQLAG_POD_NAME: "p", SQLAG_WATCH_NAMESPACES: "db, apps,db" }, check: (r) => r.ok && r.config.watchNamespaces, expected: ["db", "apps"] },
    { name: "* watches all namespaces", env: { SQLAG_POD_NAME: "p", SQLAG_WATCH_NAMESPACES: "*" }, check: (r) => r.ok && r.config.watchNamespaces, expected: undefined },
    { name: "leader election can be disabled without an identity", env: { SQLAG_LEADER_ELECTION: "false" }, check: (r) => r.ok && r.config.leaderElection.enabled, expected: false },
    { name: "workers and port are read", env: { SQLAG_POD_NAME: "p", SQLAG_WORKERS: "8", SQLAG_HTTP_PORT: "9090" }, check: (r) => r.ok && [r.config.workers, r.config.httpPort], expected: [8, 9090] },
  ];
  for (const c of valid) {
    it(c.name, () => {
      expect(c.check(loadControllerConfig(c.env))).to.deep.equal(c.expected);
    });
  }

  const invalid: { name: string; env: Record<string, string>; problems: RegExp[] }[] = [
    { name: "missing identity", env: {}, problems: [/SQLAG_POD_NAME is required/] },
    { name: "bad port", env: { SQLAG_POD_NAME: "p", SQLAG_HTTP_PORT: "http" }, problems: [/SQLAG_HTTP_PORT must be a whole number/] },
    { name: "port out of range", env: { SQLAG_POD_NAME: "p", SQLAG_HTTP_PORT: "70000" }, problems: [/SQLAG_HTTP_PORT must be between 1 and 65535/] },
    { name: "bad log level", env: { SQLAG_POD_NAME: "p", SQLAG_LOG_LEVEL: "loud" }, problems: [/SQLAG_LOG_LEVEL must be one of/] },
    { name: "bad namespace in the watch list", env: { SQLAG_POD_NAME: "p", SQLAG_WATCH_NAMESPACES: "db,Bad_NS" }, problems: [/"Bad_NS"/] },
    { name: "inconsistent leader election timing", env: { SQLAG_POD_NAME: "p", SQLAG_LEASE_DURATION_SECONDS: "5", SQLAG_RENEW_DEADLINE_SECONDS: "10" }, problems: [/leaseDurationMs \(5000\) must be greater than renewDeadlineMs/] },
    { name: "bad boolean", env: { SQLAG_POD_NAME: "p", SQLAG_LEADER_ELECTION: "maybe" }, problems: [/SQLAG_LEADER_ELECTION must be "true" or "false"/] },
    {
      name: "every problem is listed at once",
      env: { SQLAG_HTTP_PORT: "0", SQLAG_WORKERS: "0", SQLAG_LOG_LEVEL: "x" },
      problems: [/SQLAG_POD_NAME/, /SQLAG_HTTP_PORT/, /SQLAG_WORKERS/, /SQLAG_LOG_LEVEL/],
    },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name}`, () => {
      const result = loadControllerConfig(c.env);
      expect(result.ok).to.equal(false);
      if (result.ok) return;
      expect(result.problems).to.have.length(c.problems.length);
      for (const pattern of c.problems) expect(result.problems.some((p) => pattern.test(p)), String(pattern)).to.equal(true);
    });
  }
});
