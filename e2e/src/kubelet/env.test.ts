import { expect } from "chai";
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from "@kubernetes/client-node";
import { ContainerConfigError, expandVariableReferences, referencedObjects, resolveContainerEnv, type EnvSources } from "./env.js";

const pod: V1Pod = {
  metadata: { name: "ag-0", namespace: "db", uid: "u-1", labels: { "sqlag.io/role": "primary" } },
  spec: { nodeName: "node-b", serviceAccountName: "ag-agent", containers: [] },
};

const secret: V1Secret = { metadata: { name: "sa" }, data: { password: Buffer.from("S3cret!").toString("base64") } };
const configMap: V1ConfigMap = { metadata: { name: "conf" }, data: { LOG_LEVEL: "debug", MODE: "x" } };

const sources: EnvSources = {
  secrets: new Map([["sa", secret], ["gone", undefined]]),
  configMaps: new Map([["conf", configMap], ["missing", undefined]]),
  podIp: "127.0.10.7",
  hostIp: "127.0.1.2",
};

function env(container: Partial<V1Container>): Record<string, string> {
  return Object.fromEntries(resolveContainerEnv(pod, { name: "c", ...container }, sources));
}

describe("resolveContainerEnv", () => {
  const cases: Array<{ name: string; container: Partial<V1Container>; expected: Record<string, string> }> = [
    { name: "literal value", container: { env: [{ name: "A", value: "1" }] }, expected: { A: "1" } },
    {
      name: "downward API fields",
      container: {
        env: [
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
          { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          { name: "SA", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
          { name: "ROLE", valueFrom: { fieldRef: { fieldPath: "metadata.labels['sqlag.io/role']" } } },
        ],
      },
      expected: { POD_NAME: "ag-0", POD_NAMESPACE: "db", POD_IP: "127.0.10.7", NODE: "node-b", SA: "ag-agent", ROLE: "primary" },
    },
    {
      name: "secretKeyRef decodes base64",
      container: { env: [{ name: "MSSQL_SA_PASSWORD", valueFrom: { secretKeyRef: { name: "sa", key: "password" } } }] },
      expected: { MSSQL_SA_PASSWORD: "S3cret!" },
    },
    {
      name: "optional references to missing objects and keys are skipped",
      container: {
        env: [
          { name: "A", valueFrom: { secretKeyRef: { name: "gone", key: "x", optional: true } } },
          { name: "B", valueFrom: { configMapKeyRef: { name: "conf", key: "absent", optional: true } } },
        ],
      },
      expected: {},
    },
    {
      name: "envFrom with prefix, then env overrides",
      container: { envFrom: [{ configMapRef: { name: "conf" }, prefix: "CFG_" }], env: [{ name: "CFG_MODE", value: "y" }] },
      expected: { CFG_LOG_LEVEL: "debug", CFG_MODE: "y" },
    },
    {
      name: "$(VAR) expands earlier variables, $$ escapes",
      container: { env: [{ name: "HOST", value: "h" }, { name: "URL", value: "tcp://$(HOST):1/$$(HOST)/$(NOPE)" }] },
      expected: { HOST: "h", URL: "tcp://h:1/$(HOST)/$(NOPE)" },
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => expect(env(testCase.container)).to.deep.equal(testCase.expected));
  }

  const failures: Array<{ name: string; container: Partial<V1Container>; message: RegExp }> = [
    { name: "missing secret", container: { env: [{ name: "P", valueFrom: { secretKeyRef: { name: "gone", key: "x" } } }] }, message: /secret "gone" not found/ },
    { name: "missing key", container: { env: [{ name: "P", valueFrom: { secretKeyRef: { name: "sa", key: "nokey" } } }] }, message: /couldn't find key nokey in Secret db\/sa/ },
    { name: "missing configmap", container: { env: [{ name: "P", valueFrom: { configMapKeyRef: { name: "missing", key: "x" } } }] }, message: /configmap "missing" not found/ },
    { name: "missing envFrom secret", container: { envFrom: [{ secretRef: { name: "gone" } }] }, message: /envFrom: secret "gone"/ },
    { name: "unsupported field path", container: { env: [{ name: "P", valueFrom: { fieldRef: { fieldPath: "spec.bogus" } } }] }, message: /unsupported fieldRef/ },
  ];
  for (const testCase of failures) {
    it(`fails clearly: ${testCase.name}`, () => {
      expect(() => env(testCase.container)).to.throw(ContainerConfigError, testCase.message);
    });
  }
});

describe("referencedObjects", () => {
  it("collects secrets and config maps from env and envFrom", () => {
    const refs = referencedObjects([
      { name: "a", envFrom: [{ secretRef: { name: "s1" } }], env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "c1", key: "k" } } }] },
      { name: "b", env: [{ name: "Y", valueFrom: { secretKeyRef: { name: "s2", key: "k" } } }] },
    ]);
    expect([...refs.secretNames]).to.deep.equal(["s1", "s2"]);
    expect([...refs.configMapNames]).to.deep.equal(["c1"]);
  });
});

describe("expandVariableReferences", () => {
  it("leaves text without references alone", () => expect(expandVariableReferences("a $b $(", new Map())).to.equal("a $b $("));
});
