import { expect } from "chai";
import type { KubernetesObject, V1ConfigMap, V1Container, V1Role, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import { AGENT_HTTP_PORT, agentEnv, agentPaths, API_GROUP_VERSION, KIND_INSTANCE, labels } from "@sqlag/api";
import type { SQLServerInstance, SQLServerInstanceSpec } from "@sqlag/api";
import { renderInstance } from "./instance.js";

function instance(overrides: Partial<SQLServerInstanceSpec> = {}): SQLServerInstance {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND_INSTANCE,
    metadata: { name: "dev-sql", namespace: "apps", uid: "7d1c0f3e-aaaa-4bbb-8ccc-dddddddddddd" },
    spec: {
      saPasswordSecretRef: { name: "dev-sql-sa", key: "password" },
      storage: { dataVolumeSize: "5Gi", reclaimPolicy: "Delete" },
      port: 1533,
      serviceType: "NodePort",
      timezone: "Europe/Berlin",
      additionalEnvVars: [{ name: "MSSQL_COLLATION", value: "Latin1_General_CI_AS" }],
      ...overrides,
    },
  };
}

const noRandom = { randomSecret: (): string => { throw new Error("an instance has no generated secrets"); } };

function find<T extends KubernetesObject>(objects: KubernetesObject[], kind: string, name: string): T {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name}`);
  return found as T;
}

function render(overrides: Partial<SQLServerInstanceSpec> = {}) {
  const rendered = renderInstance(instance(overrides), noRandom);
  const statefulSet = find<V1StatefulSet>(rendered.applied, "StatefulSet", "dev-sql");
  const podSpec = statefulSet.spec?.template.spec;
  if (podSpec === undefined) throw new Error("no pod spec");
  return { rendered, statefulSet, podSpec, agent: podSpec.initContainers?.[0] as V1Container, mssql: podSpec.containers[0] as V1Container };
}

const SELECTOR = { [labels.cluster]: "dev-sql", [labels.kind]: "instance", [labels.managedBy]: "sqlag" };

describe("renderInstance", () => {
  it("renders RBAC, mssql.conf, headless and client Services and a one-pod StatefulSet; nothing created once", () => {
    const { rendered } = render();
    expect(rendered.applied.map((object) => `${object.kind}/${object.metadata?.name}`)).to.deep.equal([
      "ServiceAccount/dev-sql-agent",
      "Role/dev-sql-agent",
      "RoleBinding/dev-sql-agent",
      "ConfigMap/dev-sql-mssql-conf",
      "Service/dev-sql-hl",
      "Service/dev-sql",
      "StatefulSet/dev-sql",
    ]);
    expect(rendered.createIfMissing).to.deep.equal([]);
    for (const object of rendered.applied) {
      expect(object.metadata?.labels).to.include(SELECTOR);
      expect(object.metadata?.ownerReferences?.[0]).to.include({ kind: "SQLServerInstance", name: "dev-sql", controller: true, blockOwnerDeletion: true });
    }
  });

  it("client Service takes its type from the spec and targets spec.port", () => {
    const service = find<V1Service>(render().rendered.applied, "Service", "dev-sql");
    expect(service.spec?.type).to.equal("NodePort");
    expect(service.spec?.selector).to.deep.equal(SELECTOR);
    expect(service.spec?.ports).to.deep.equal([{ name: "mssql", port: 1533, targetPort: 1533, protocol: "TCP" }]);
  });

  it("headless Service publishes not-ready addresses", () => {
    const service = find<V1Service>(render().rendered.applied, "Service", "dev-sql-hl");
    expect(service.spec).to.include({ clusterIP: "None", publishNotReadyAddresses: true });
  });

  it("mssql container: user variables first, then sqlag's own (TZ, port, EULA, SA password)", () => {
    const { mssql } = render();
    expect((mssql.env ?? []).map((variable) => variable.name)).to.deep.equal(["MSSQL_COLLATION", "ACCEPT_EULA", "MSSQL_PID", "MSSQL_SA_PASSWORD", "MSSQL_TCP_PORT", "TZ"]);
    const env = new Map((mssql.env ?? []).map((variable) => [variable.name, variable.value ?? variable.valueFrom]));
    expect(env.get("MSSQL_TCP_PORT")).to.equal("1533");
    expect(env.get("TZ")).to.equal("Europe/Berlin");
    expect(env.get("MSSQL_SA_PASSWORD")).to.deep.equal({ secretKeyRef: { name: "dev-sql-sa", key: "password" } });
    expect(mssql.ports).to.deep.equal([{ name: "mssql", containerPort: 1533, protocol: "TCP" }]);
    expect(mssql.lifecycle).to.equal(undefined);
  });

  it("runs the agent sidecar in standalone mode with readiness and liveness and no AG settings", () => {
    const { agent } = render({ clusterDomain: "k8s.internal" });
    expect(agent.restartPolicy).to.equal("Always");
    expect(agent.readinessProbe?.httpGet).to.deep.equal({ path: agentPaths.readyz, port: AGENT_HTTP_PORT, scheme: "HTTP" });
    expect(agent.livenessProbe?.httpGet).to.deep.equal({ path: agentPaths.livez, port: AGENT_HTTP_PORT, scheme: "HTTP" });
    const env = new Map((agent.env ?? []).map((variable) => [variable.name, variable.value ?? variable.valueFrom]));
    expect(env.get(agentEnv.mode)).to.equal("standalone");
    expect(env.get(agentEnv.sqlPort)).to.equal("1533");
    expect(env.get(agentEnv.clusterDomain)).to.equal("k8s.internal");
    expect(env.has(agentEnv.agName)).to.equal(false);
    expect(env.has(agentEnv.leaseDurationSeconds)).to.equal(false);
    expect(env.has(agentEnv.hadrSecretDir)).to.equal(false);
  });

  it("one replica, ordered start, PVC retention from reclaimPolicy", () => {
    const { statefulSet } = render();
    expect(statefulSet.spec?.replicas).to.equal(1);
    expect(statefulSet.spec?.serviceName).to.equal("dev-sql-hl");
    expect(statefulSet.spec?.persistentVolumeClaimRetentionPolicy).to.deep.equal({ whenDeleted: "Delete", whenScaled: "Retain" });
    expect(statefulSet.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests).to.deep.equal({ storage: "5Gi" });
  });

  it("mssql.conf holds only the user's settings (no forced HADR)", () => {
    const configMap = find<V1ConfigMap>(render({ mssqlConf: { "memory.memorylimitmb": "2048" } }).rendered.applied, "ConfigMap", "dev-sql-mssql-conf");
    expect(configMap.data?.["mssql.conf"]).to.equal("[memory]\nmemorylimitmb = 2048\n");
  });

  it("least-privilege Role: its own pod, the SA secret, its own CR and status, events", () => {
    const role = find<V1Role>(render().rendered.applied, "Role", "dev-sql-agent");
    expect(role.rules).to.deep.equal([
      { apiGroups: [""], resources: ["pods"], resourceNames: ["dev-sql-0"], verbs: ["get", "patch"] },
      { apiGroups: [""], resources: ["secrets"], resourceNames: ["dev-sql-sa"], verbs: ["get"] },
      { apiGroups: ["sqlag.io"], resources: ["sqlserverinstances"], resourceNames: ["dev-sql"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["sqlag.io"], resources: ["sqlserverinstances/status"], resourceNames: ["dev-sql"], verbs: ["get", "patch"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
      { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
    ]);
  });

  it("is deterministic", () => {
    expect(renderInstance(instance(), noRandom)).to.deep.equal(renderInstance(instance(), noRandom));
  });
});
