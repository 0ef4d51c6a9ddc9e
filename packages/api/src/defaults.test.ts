import { expect } from "chai";
import type { SQLServerAvailabilityGroupSpec } from "./types.js";
import {
  DEFAULT_AGENT_IMAGE,
  DEFAULT_SQL_IMAGE,
  DEFAULT_TIMING,
  defaultFailoverMode,
  requiredSynchronizedSecondaries,
  withDefaults,
  withInstanceDefaults,
} from "./defaults.js";
import { compatibilityManifest } from "./schema/fixtures.js";

const secret = { name: "mssql-secret", key: "SA_PASSWORD" };
const spec = (overrides: Partial<SQLServerAvailabilityGroupSpec> = {}): SQLServerAvailabilityGroupSpec => ({
  agName: "AG1",
  saPasswordSecretRef: secret,
  replicas: [{ name: "a" }, { name: "b" }],
  ...overrides,
});

describe("withDefaults", () => {
  it("resolves the compatibility manifest to three replicas, two synchronous and automatic, one asynchronous and manual", () => {
    const resolved = withDefaults(compatibilityManifest().spec);
    expect(resolved.replicas).to.deep.equal([
      { name: "primary", index: 0, availabilityMode: "SynchronousCommit", failoverMode: "Automatic", readableSecondary: false },
      { name: "secondary-1", index: 1, availabilityMode: "SynchronousCommit", failoverMode: "Automatic", readableSecondary: true },
      { name: "secondary-2", index: 2, availabilityMode: "AsynchronousCommit", failoverMode: "Manual", readableSecondary: true },
    ]);
    expect(resolved.automaticFailover).to.deep.equal({ enabled: true, failoverThresholdSeconds: 30, healthThreshold: "system" });
    expect(resolved.listener).to.deep.equal({ name: "mssql-ag-listener", port: 1433, serviceType: "LoadBalancer" });
    expect(resolved.storage).to.deep.equal({ dataVolumeSize: "20Gi", accessModes: ["ReadWriteOnce"], reclaimPolicy: "Retain" });
    expect(resolved.mssqlConf).to.deep.equal({ "sqlagent.enabled": "true" });
  });

  it("fills every optional field of a minimal spec", () => {
    const resolved = withDefaults(spec());
    expect(resolved).to.deep.include({
      image: DEFAULT_SQL_IMAGE,
      edition: "Developer",
      acceptEula: "Y",
      endpointPort: 5022,
      clusterType: "EXTERNAL",
      clusterDomain: "cluster.local",
      terminationGracePeriodSeconds: 120,
      nodeSelector: {},
      tolerations: [],
      databases: [],
      mssqlConf: {},
      resources: {},
      timing: { ...DEFAULT_TIMING },
    });
    expect(resolved.agent).to.deep.equal({ image: DEFAULT_AGENT_IMAGE, resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "192Mi" } }, logLevel: "info" });
    expect(resolved.automaticFailover).to.deep.equal({ enabled: true, failoverThresholdSeconds: 10, healthThreshold: "system" });
    expect(resolved.listener).to.equal(undefined);
    expect(resolved.readOnlyListener).to.equal(undefined);
    expect(resolved.requiredSynchronizedSecondariesToCommit).to.equal(undefined);
  });

  const failoverCases: { name: string; input: SQLServerAvailabilityGroupSpec; failoverModes: string[]; enabled: boolean }[] = [
    { name: "EXTERNAL: synchronous replicas default to Automatic", input: spec(), failoverModes: ["Automatic", "Automatic"], enabled: true },
    {
      name: "EXTERNAL: asynchronous and configuration-only replicas default to Manual",
      input: spec({ replicas: [{ name: "a" }, { name: "b", availabilityMode: "AsynchronousCommit" }, { name: "w", availabilityMode: "ConfigurationOnly" }] }),
      failoverModes: ["Automatic", "Manual", "Manual"],
      enabled: true,
    },
    { name: "NONE: everything defaults to manual and automatic failover is off", input: spec({ clusterType: "NONE" }), failoverModes: ["Manual", "Manual"], enabled: false },
    {
      name: "NONE: an explicit enabled: true is still resolved to off",
      input: spec({ clusterType: "NONE", automaticFailover: { enabled: true } }),
      failoverModes: ["Manual", "Manual"],
      enabled: false,
    },
    {
      name: "EXTERNAL: an explicit Manual wins over the default",
      input: spec({ replicas: [{ name: "a", failoverMode: "Manual" }, { name: "b" }] }),
      failoverModes: ["Manual", "Automatic"],
      enabled: true,
    },
    { name: "EXTERNAL: automatic failover switched off", input: spec({ automaticFailover: { enabled: false } }), failoverModes: ["Automatic", "Automatic"], enabled: false },
  ];
  for (const { name, input, failoverModes, enabled } of failoverCases) {
    it(name, () => {
      const resolved = withDefaults(input);
      expect(resolved.replicas.map((r) => r.failoverMode)).to.deep.equal(failoverModes);
      expect(resolved.automaticFailover.enabled).to.equal(enabled);
    });
  }

  it("merges partial timing with the defaults", () => {
    expect(withDefaults(spec({ timing: { leaseDurationSeconds: 30 } })).timing).to.deep.equal({ ...DEFAULT_TIMING, leaseDurationSeconds: 30 });
  });

  it("does not share mutable objects with the input", () => {
    const input = spec({ mssqlConf: { "memory.memorylimitmb": "2048" }, nodeSelector: { zone: "a" } });
    const resolved = withDefaults(input);
    resolved.mssqlConf["x.y"] = "1";
    resolved.nodeSelector["other"] = "b";
    expect(input.mssqlConf).to.deep.equal({ "memory.memorylimitmb": "2048" });
    expect(input.nodeSelector).to.deep.equal({ zone: "a" });
  });

  it("defaultFailoverMode is Automatic only for synchronous replicas of an EXTERNAL AG", () => {
    expect(defaultFailoverMode("EXTERNAL", "SynchronousCommit")).to.equal("Automatic");
    expect(defaultFailoverMode("EXTERNAL", "AsynchronousCommit")).to.equal("Manual");
    expect(defaultFailoverMode("EXTERNAL", "ConfigurationOnly")).to.equal("Manual");
    expect(defaultFailoverMode("NONE", "SynchronousCommit")).to.equal("Manual");
  });
});

describe("requiredSynchronizedSecondaries", () => {
  const sync = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `s${i}` }));
  const cases: { name: string; input: SQLServerAvailabilityGroupSpec; expected: number }[] = [
    { name: "1 synchronous replica → 0", input: spec({ replicas: sync(1) }), expected: 0 },
    { name: "2 synchronous replicas → 0 (stay writable with one replica down)", input: spec({ replicas: sync(2) }), expected: 0 },
    { name: "3 synchronous replicas → 1", input: spec({ replicas: sync(3) }), expected: 1 },
    { name: "4 synchronous replicas → 2", input: spec({ replicas: sync(4) }), expected: 2 },
    { name: "5 synchronous replicas → 2", input: spec({ replicas: sync(5) }), expected: 2 },
    {
      name: "asynchronous and configuration-only replicas do not count",
      input: spec({ replicas: [...sync(3), { name: "x", availabilityMode: "AsynchronousCommit" }, { name: "w", availabilityMode: "ConfigurationOnly" }] }),
      expected: 1,
    },
    { name: "2 synchronous + witness → 0", input: spec({ replicas: [...sync(2), { name: "w", availabilityMode: "ConfigurationOnly" }] }), expected: 0 },
    { name: "an explicit override wins", input: spec({ replicas: sync(3), requiredSynchronizedSecondariesToCommit: 2 }), expected: 2 },
    { name: "an explicit 0 override wins", input: spec({ replicas: sync(5), requiredSynchronizedSecondariesToCommit: 0 }), expected: 0 },
  ];
  for (const { name, input, expected } of cases) {
    it(name, () => {
      expect(requiredSynchronizedSecondaries(withDefaults(input))).to.equal(expected);
    });
  }
});

describe("withInstanceDefaults", () => {
  it("fills a minimal instance spec", () => {
    const resolved = withInstanceDefaults({ saPasswordSecretRef: secret });
    expect(resolved).to.deep.include({
      image: DEFAULT_SQL_IMAGE,
      edition: "Developer",
      acceptEula: "Y",
      port: 1433,
      serviceType: "ClusterIP",
      additionalEnvVars: [],
      clusterDomain: "cluster.local",
      terminationGracePeriodSeconds: 60,
    });
    expect(resolved.storage).to.deep.equal({ dataVolumeSize: "10Gi", accessModes: ["ReadWriteOnce"], reclaimPolicy: "Retain" });
    expect(resolved.timezone).to.equal(undefined);
  });

  it("keeps explicit values", () => {
    const resolved = withInstanceDefaults({ saPasswordSecretRef: secret, port: 14330, serviceType: "NodePort", timezone: "Etc/UTC", storage: { storageClassName: "fast", reclaimPolicy: "Delete" } });
    expect(resolved).to.deep.include({ port: 14330, serviceType: "NodePort", timezone: "Etc/UTC" });
    expect(resolved.storage).to.deep.equal({ storageClassName: "fast", dataVolumeSize: "10Gi", accessModes: ["ReadWriteOnce"], reclaimPolicy: "Delete" });
  });
});
