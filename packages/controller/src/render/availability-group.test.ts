import { expect } from "chai";
import type { KubernetesObject, V1ConfigMap, V1Container, V1Lease, V1PodDisruptionBudget, V1Role, V1RoleBinding, V1Secret, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import { AGENT_HTTP_PORT, agentEnv, agentPaths, annotations, API_GROUP_VERSION, KIND_AVAILABILITY_GROUP, labels } from "@sqlag/api";
import type { SQLServerAvailabilityGroup, SQLServerAvailabilityGroupSpec } from "@sqlag/api";
import { agStatefulSetReplicaCount, renderAvailabilityGroup } from "./availability-group.js";
import { mssqlConfHash } from "./mssql-conf.js";
import { MSSQL_CONF_DIR } from "./pod-parts.js";
import type { RenderContext } from "./types.js";

/** The existing operator's sample, with only apiVersion changed (issue 2, Compatibility). */
function compatibilityAg(overrides: Partial<SQLServerAvailabilityGroupSpec> = {}): SQLServerAvailabilityGroup {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND_AVAILABILITY_GROUP,
    metadata: { name: "mssql-ag", namespace: "default", uid: "0b5e5d0c-1111-4222-8333-444455556666" },
    spec: {
      acceptEula: "Y",
      agName: "AG1",
      automaticFailover: { enabled: true, failoverThresholdSeconds: 30, healthThreshold: "system" },
      clusterType: "EXTERNAL",
      edition: "Developer",
      endpointPort: 5022,
      image: "mcr.microsoft.com/mssql/server:2025-latest",
      listener: { name: "mssql-ag-listener", port: 1433, serviceType: "LoadBalancer" },
      mssqlConf: { "sqlagent.enabled": "true" },
      readOnlyListener: { name: "mssql-ag-listener-ro", port: 1433, serviceType: "LoadBalancer" },
      replicas: [
        { availabilityMode: "SynchronousCommit", failoverMode: "Automatic", name: "primary" },
        { availabilityMode: "SynchronousCommit", failoverMode: "Automatic", name: "secondary-1", readableSecondary: true },
        { availabilityMode: "AsynchronousCommit", failoverMode: "Manual", name: "secondary-2", readableSecondary: true },
      ],
      resources: { limits: { cpu: "2", memory: "4Gi" }, requests: { cpu: "500m", memory: "2Gi" } },
      saPasswordSecretRef: { key: "SA_PASSWORD", name: "mssql-ag-secret" },
      storage: { dataVolumeSize: "20Gi", reclaimPolicy: "Retain" },
      ...overrides,
    },
  };
}

function counterContext(): RenderContext {
  let next = 0;
  return { randomSecret: () => `Secret-${++next}-Aa1.` };
}

function find<T extends KubernetesObject>(objects: KubernetesObject[], kind: string, name: string): T {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(", ")}`);
  return found as T;
}

function render(overrides: Partial<SQLServerAvailabilityGroupSpec> = {}) {
  const rendered = renderAvailabilityGroup(compatibilityAg(overrides), counterContext());
  const statefulSet = find<V1StatefulSet>(rendered.applied, "StatefulSet", "mssql-ag");
  const podSpec = statefulSet.spec?.template.spec;
  if (podSpec === undefined) throw new Error("no pod spec");
  const agent = podSpec.initContainers?.[0] as V1Container;
  const mssql = podSpec.containers[0] as V1Container;
  return { rendered, statefulSet, podSpec, agent, mssql };
}

function envOf(container: V1Container): Map<string, unknown> {
  return new Map((container.env ?? []).map((variable) => [variable.name, variable.value ?? variable.valueFrom]));
}

const SELECTOR = { [labels.cluster]: "mssql-ag", [labels.kind]: "availability-group", [labels.managedBy]: "sqlag" };

describe("renderAvailabilityGroup", () => {
  describe("compatibility manifest", () => {
    it("renders a three-replica StatefulSet: two synchronous and one asynchronous replica in the agent's view of the spec", () => {
      const { statefulSet } = render();
      expect(statefulSet.spec?.replicas).to.equal(3);
      expect(statefulSet.spec?.podManagementPolicy).to.equal("Parallel");
      expect(statefulSet.spec?.serviceName).to.equal("mssql-ag-hl");
      expect(statefulSet.spec?.updateStrategy).to.deep.equal({ type: "RollingUpdate" });
    });

    it("renders every object of ARCHITECTURE §3 in a stable order", () => {
      const { rendered } = render();
      expect(rendered.applied.map((object) => `${object.kind}/${object.metadata?.name}`)).to.deep.equal([
        "ServiceAccount/mssql-ag-agent",
        "Role/mssql-ag-agent",
        "RoleBinding/mssql-ag-agent",
        "ConfigMap/mssql-ag-mssql-conf",
        "Service/mssql-ag-hl",
        "Service/mssql-ag-listener",
        "Service/mssql-ag-listener-ro",
        "StatefulSet/mssql-ag",
        "PodDisruptionBudget/mssql-ag",
      ]);
      expect(rendered.createIfMissing.map((object) => `${object.kind}/${object.metadata?.name}`)).to.deep.equal(["Secret/mssql-ag-hadr", "Lease/mssql-ag-primary"]);
    });

    it("gives every object apiVersion, kind, namespace, selector labels and a controlling owner reference to the CR", () => {
      const { rendered } = render({ storage: { dataVolumeSize: "20Gi", reclaimPolicy: "Delete" } });
      for (const object of [...rendered.applied, ...rendered.createIfMissing]) {
        const what = `${object.kind}/${object.metadata?.name}`;
        expect(object.apiVersion, what).to.be.a("string").and.not.equal("");
        expect(object.metadata?.namespace, what).to.equal("default");
        expect(object.metadata?.labels, what).to.include(SELECTOR);
        expect(object.metadata?.ownerReferences, what).to.deep.equal([
          { apiVersion: "sqlag.io/v1alpha1", kind: "SQLServerAvailabilityGroup", name: "mssql-ag", uid: "0b5e5d0c-1111-4222-8333-444455556666", controller: true, blockOwnerDeletion: true },
        ]);
      }
    });
  });

  describe("StatefulSet size during scale down", () => {
    const member = (pod: string) => ({ name: pod, pod, role: "SECONDARY" as const, availabilityMode: "AsynchronousCommit" as const });
    const cases: { name: string; statusPods: string[]; expected: number }[] = [
      { name: "no status yet: one pod per spec replica", statusPods: [], expected: 3 },
      { name: "status lists only spec replicas", statusPods: ["mssql-ag-0", "mssql-ag-1", "mssql-ag-2"], expected: 3 },
      { name: "replicas 3 and 4 still in the AG: their pods stay", statusPods: ["mssql-ag-0", "mssql-ag-1", "mssql-ag-2", "mssql-ag-3", "mssql-ag-4"], expected: 5 },
      { name: "replica 4 still in the AG after 3 left: pods up to ordinal 4 stay", statusPods: ["mssql-ag-0", "mssql-ag-1", "mssql-ag-2", "mssql-ag-4"], expected: 5 },
      { name: "pods of another CR are ignored", statusPods: ["other-7"], expected: 3 },
    ];
    for (const testCase of cases) {
      it(testCase.name, () => {
        const cr = { ...compatibilityAg(), status: { replicaStatuses: testCase.statusPods.map(member) } };
        expect(agStatefulSetReplicaCount(cr)).to.equal(testCase.expected);
        const statefulSet = find<V1StatefulSet>(renderAvailabilityGroup(cr, counterContext()).applied, "StatefulSet", "mssql-ag");
        expect(statefulSet.spec?.replicas).to.equal(testCase.expected);
      });
    }
  });

  describe("Services", () => {
    it("headless Service publishes not-ready addresses and exposes SQL, endpoint and agent ports", () => {
      const service = find<V1Service>(render().rendered.applied, "Service", "mssql-ag-hl");
      expect(service.spec?.clusterIP).to.equal("None");
      expect(service.spec?.publishNotReadyAddresses).to.equal(true);
      expect(service.spec?.selector).to.deep.equal(SELECTOR);
      expect(service.spec?.ports?.map((port) => [port.name, port.port, port.targetPort])).to.deep.equal([
        ["mssql", 1433, 1433],
        ["hadr", 5022, 5022],
        ["http", AGENT_HTTP_PORT, AGENT_HTTP_PORT],
      ]);
    });

    const listenerCases = [
      { name: "listener port 1433", listenerPort: 1433 },
      { name: "listener port 1434 still targets 1433 (the existing operator targeted the listener port)", listenerPort: 1434 },
    ];
    for (const testCase of listenerCases) {
      it(`rw listener selects role=primary and targets SQL port 1433: ${testCase.name}`, () => {
        const { rendered } = render({ listener: { name: "mssql-ag-listener", port: testCase.listenerPort, serviceType: "LoadBalancer" } });
        const service = find<V1Service>(rendered.applied, "Service", "mssql-ag-listener");
        expect(service.spec?.type).to.equal("LoadBalancer");
        expect(service.spec?.selector).to.deep.equal({ ...SELECTOR, [labels.role]: "primary" });
        expect(service.spec?.ports).to.deep.equal([{ name: "mssql", port: testCase.listenerPort, targetPort: 1433, protocol: "TCP" }]);
        expect(service.spec?.publishNotReadyAddresses).to.equal(undefined);
      });
    }

    it("read-only listener selects readable secondaries", () => {
      const service = find<V1Service>(render().rendered.applied, "Service", "mssql-ag-listener-ro");
      expect(service.spec?.selector).to.deep.equal({ ...SELECTOR, [labels.role]: "secondary", [labels.readable]: "true" });
      expect(service.spec?.ports?.[0]?.targetPort).to.equal(1433);
      expect(service.metadata?.labels?.[labels.component]).to.equal("read-only-listener");
    });

    it("renders a default rw listener and no read-only listener when the spec names none", () => {
      const { rendered } = render({ listener: undefined, readOnlyListener: undefined });
      const services = rendered.applied.filter((object) => object.kind === "Service").map((object) => object.metadata?.name);
      expect(services).to.deep.equal(["mssql-ag-hl", "mssql-ag-listener"]);
      const listener = find<V1Service>(rendered.applied, "Service", "mssql-ag-listener");
      expect(listener.spec?.type).to.equal("ClusterIP");
      expect(listener.spec?.ports?.[0]).to.deep.equal({ name: "mssql", port: 1433, targetPort: 1433, protocol: "TCP" });
    });
  });

  describe("StatefulSet pod template", () => {
    it("runs the agent as a native sidecar with probes on the agent contract paths", () => {
      const { podSpec, agent } = render();
      expect(podSpec.initContainers).to.have.length(1);
      expect(agent.name).to.equal("sqlag-agent");
      expect(agent.image).to.equal("ghcr.io/sqlag/agent:0.1.0");
      expect(agent.restartPolicy).to.equal("Always");
      expect(agent.ports).to.deep.equal([{ name: "http", containerPort: AGENT_HTTP_PORT, protocol: "TCP" }]);
      expect(agent.readinessProbe?.httpGet).to.deep.equal({ path: agentPaths.readyz, port: AGENT_HTTP_PORT, scheme: "HTTP" });
      expect(agent.livenessProbe?.httpGet).to.deep.equal({ path: agentPaths.livez, port: AGENT_HTTP_PORT, scheme: "HTTP" });
      expect(agent.startupProbe?.httpGet).to.deep.equal({ path: agentPaths.livez, port: AGENT_HTTP_PORT, scheme: "HTTP" });
      expect(agent.securityContext).to.deep.equal({
        runAsUser: 10001,
        runAsGroup: 10001,
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
    });

    it("mssql container: env, ports, mounts, preStop to the agent, no shell probes", () => {
      const { mssql } = render();
      expect(mssql.name).to.equal("mssql");
      expect(mssql.image).to.equal("mcr.microsoft.com/mssql/server:2025-latest");
      const env = envOf(mssql);
      expect(env.get("ACCEPT_EULA")).to.equal("Y");
      expect(env.get("MSSQL_PID")).to.equal("Developer");
      expect(env.get("MSSQL_ENABLE_HADR")).to.equal("1");
      expect(env.get("MSSQL_AGENT_ENABLED")).to.equal("true");
      expect(env.get("MSSQL_SA_PASSWORD")).to.deep.equal({ secretKeyRef: { name: "mssql-ag-secret", key: "SA_PASSWORD" } });
      expect(mssql.ports?.map((port) => [port.name, port.containerPort])).to.deep.equal([
        ["mssql", 1433],
        ["hadr", 5022],
      ]);
      expect(mssql.lifecycle?.preStop?.httpGet).to.deep.equal({ path: agentPaths.preStop, port: AGENT_HTTP_PORT, scheme: "HTTP" });
      expect(mssql.readinessProbe).to.equal(undefined);
      expect(mssql.livenessProbe).to.equal(undefined);
      expect(mssql.volumeMounts).to.deep.equal([
        { name: "mssql-data", mountPath: "/var/opt/mssql" },
        { name: "mssql-conf", mountPath: MSSQL_CONF_DIR, readOnly: true },
      ]);
      expect(mssql.volumeMounts?.some((mount) => mount.subPath !== undefined)).to.equal(false);
      expect(mssql.resources).to.deep.equal({ limits: { cpu: "2", memory: "4Gi" }, requests: { cpu: "500m", memory: "2Gi" } });
    });

    it("omits MSSQL_AGENT_ENABLED when mssqlConf does not mention SQL Agent", () => {
      expect(envOf(render({ mssqlConf: {} }).mssql).has("MSSQL_AGENT_ENABLED")).to.equal(false);
    });

    it("pod runs as 10001 with fsGroup 10001, its own ServiceAccount, the grace period and anti-affinity across nodes", () => {
      const { podSpec } = render({ terminationGracePeriodSeconds: 200 });
      expect(podSpec.securityContext).to.include({ runAsUser: 10001, runAsNonRoot: true, fsGroup: 10001 });
      expect(podSpec.serviceAccountName).to.equal("mssql-ag-agent");
      expect(podSpec.automountServiceAccountToken).to.equal(true);
      expect(podSpec.terminationGracePeriodSeconds).to.equal(200);
      expect(podSpec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution).to.deep.equal([
        { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: SELECTOR }, topologyKey: "kubernetes.io/hostname" } },
      ]);
      expect(podSpec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).to.equal(undefined);
    });

    it("passes nodeSelector and tolerations through", () => {
      const { podSpec } = render({ nodeSelector: { disk: "ssd" }, tolerations: [{ key: "sql", operator: "Exists", effect: "NoSchedule" }] });
      expect(podSpec.nodeSelector).to.deep.equal({ disk: "ssd" });
      expect(podSpec.tolerations).to.deep.equal([{ key: "sql", operator: "Exists", effect: "NoSchedule" }]);
    });

    it("mounts the ConfigMap as a projected item and the hadr Secret read-only in the agent", () => {
      const { podSpec, agent } = render();
      expect(podSpec.volumes).to.deep.include({ name: "mssql-conf", configMap: { name: "mssql-ag-mssql-conf", items: [{ key: "mssql.conf", path: "mssql.conf" }] } });
      expect(podSpec.volumes).to.deep.include({ name: "hadr", secret: { secretName: "mssql-ag-hadr", defaultMode: 0o440 } });
      expect(agent.volumeMounts).to.deep.include({ name: "hadr", mountPath: "/etc/sqlag/hadr", readOnly: true });
      expect(envOf(agent).get(agentEnv.hadrSecretDir)).to.equal("/etc/sqlag/hadr");
    });

    it("gives the agent its identity from the downward API and its settings from the spec", () => {
      const { agent } = render({ clusterDomain: "corp.example", timing: { leaseDurationSeconds: 20, sqlWriteLeaseSeconds: 10 } });
      const env = envOf(agent);
      expect(env.get(agentEnv.mode)).to.equal("availability-group");
      expect(env.get(agentEnv.clusterName)).to.equal("mssql-ag");
      expect(env.get(agentEnv.agName)).to.equal("AG1");
      expect(env.get(agentEnv.podName)).to.deep.equal({ fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } });
      expect(env.get(agentEnv.namespace)).to.deep.equal({ fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } });
      expect(env.get(agentEnv.podIp)).to.deep.equal({ fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } });
      expect(env.get(agentEnv.nodeName)).to.deep.equal({ fieldRef: { apiVersion: "v1", fieldPath: "spec.nodeName" } });
      expect(env.get(agentEnv.clusterDomain)).to.equal("corp.example");
      expect(env.get(agentEnv.sqlHost)).to.deep.equal({ fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } });
      expect(env.get(agentEnv.sqlEncrypt)).to.equal("true");
      expect(env.get(agentEnv.sqlTrustServerCertificate)).to.equal("true");
      expect(env.get(agentEnv.httpPort)).to.equal(String(AGENT_HTTP_PORT));
      expect(env.get(agentEnv.sqlPort)).to.equal("1433");
      expect(env.get(agentEnv.endpointPort)).to.equal("5022");
      expect(env.get(agentEnv.saPassword)).to.deep.equal({ secretKeyRef: { name: "mssql-ag-secret", key: "SA_PASSWORD" } });
      expect(env.get(agentEnv.leaseDurationSeconds)).to.equal("20");
      expect(env.get(agentEnv.sqlWriteLeaseSeconds)).to.equal("10");
      expect(env.get(agentEnv.renewDeadlineSeconds)).to.equal("5");
      expect(env.get(agentEnv.renewIntervalSeconds)).to.equal("2");
      expect(env.get(agentEnv.healthCheckIntervalSeconds)).to.equal("5");
      expect(env.get(agentEnv.disablePrimaryOnQuorumTimeoutSeconds)).to.equal("60");
      expect(env.get(agentEnv.failoverThresholdSeconds)).to.equal("30");
      expect(env.get(agentEnv.healthThreshold)).to.equal("system");
      expect(env.get(agentEnv.logLevel)).to.equal("info");
      const names = (agent.env ?? []).map((variable) => variable.name);
      expect(new Set(names).size, "no duplicate variables").to.equal(names.length);
    });

    it("uses the default cluster domain when none is set (never hard-coded elsewhere)", () => {
      expect(envOf(render().agent).get(agentEnv.clusterDomain)).to.equal("cluster.local");
    });
  });

  describe("storage", () => {
    const cases = [
      { name: "Retain keeps claims on delete and scale-down", reclaimPolicy: "Retain" as const, expected: { whenDeleted: "Retain", whenScaled: "Retain" } },
      { name: "Delete removes claims with the CR but keeps them on scale-down", reclaimPolicy: "Delete" as const, expected: { whenDeleted: "Delete", whenScaled: "Retain" } },
    ];
    for (const testCase of cases) {
      it(`maps reclaimPolicy to persistentVolumeClaimRetentionPolicy: ${testCase.name}`, () => {
        const { statefulSet } = render({ storage: { dataVolumeSize: "20Gi", reclaimPolicy: testCase.reclaimPolicy } });
        expect(statefulSet.spec?.persistentVolumeClaimRetentionPolicy).to.deep.equal(testCase.expected);
      });
    }

    it("renders the mssql-data claim template from the storage spec", () => {
      const { statefulSet } = render({ storage: { dataVolumeSize: "20Gi", storageClassName: "fast", accessModes: ["ReadWriteOncePod"] } });
      const template = statefulSet.spec?.volumeClaimTemplates?.[0];
      expect(template?.metadata?.name).to.equal("mssql-data");
      expect(template?.spec).to.deep.equal({ accessModes: ["ReadWriteOncePod"], resources: { requests: { storage: "20Gi" } }, storageClassName: "fast" });
    });
  });

  describe("mssql.conf", () => {
    it("always enables HADR and adds the user's settings in sorted sections", () => {
      const configMap = find<V1ConfigMap>(render({ mssqlConf: { "sqlagent.enabled": "true", "memory.memorylimitmb": "3072" } }).rendered.applied, "ConfigMap", "mssql-ag-mssql-conf");
      expect(configMap.data?.["mssql.conf"]).to.equal("[hadr]\nhadrenabled = 1\n\n[memory]\nmemorylimitmb = 3072\n\n[sqlagent]\nenabled = true\n");
    });

    it("annotates the pod template with the hash of the rendered file, so a change rolls the pods", () => {
      const before = render();
      const configMap = find<V1ConfigMap>(before.rendered.applied, "ConfigMap", "mssql-ag-mssql-conf");
      const hash = before.statefulSet.spec?.template.metadata?.annotations?.[annotations.mssqlConfHash];
      expect(hash).to.equal(mssqlConfHash(configMap.data?.["mssql.conf"] ?? ""));
      const after = render({ mssqlConf: { "sqlagent.enabled": "false" } });
      expect(after.statefulSet.spec?.template.metadata?.annotations?.[annotations.mssqlConfHash]).to.not.equal(hash);
    });
  });

  describe("determinism", () => {
    it("renders the same applied objects twice, whatever the random source returns", () => {
      const first = renderAvailabilityGroup(compatibilityAg(), counterContext());
      const second = renderAvailabilityGroup(compatibilityAg(), { randomSecret: () => "Other-Random-9." });
      expect(second.applied).to.deep.equal(first.applied);
      expect(JSON.stringify(second.applied)).to.equal(JSON.stringify(first.applied));
    });

    it("does not mutate the CR", () => {
      const cr = compatibilityAg();
      const snapshot = structuredClone(cr);
      renderAvailabilityGroup(cr, counterContext());
      expect(cr).to.deep.equal(snapshot);
    });

    it("refuses to render a CR without a uid (owner references need one)", () => {
      const cr = compatibilityAg();
      delete cr.metadata.uid;
      expect(() => renderAvailabilityGroup(cr, counterContext())).to.throw(/metadata.uid/);
    });
  });

  describe("agent RBAC", () => {
    it("grants only named resources except the namespace-wide pod read needed for peer discovery", () => {
      const { rendered } = render();
      const role = find<V1Role>(rendered.applied, "Role", "mssql-ag-agent");
      expect(role.rules).to.deep.equal([
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["mssql-ag-primary"], verbs: ["get", "list", "watch", "update"] },
        { apiGroups: [""], resources: ["pods"], resourceNames: ["mssql-ag-0", "mssql-ag-1", "mssql-ag-2"], verbs: ["get", "patch"] },
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["secrets"], resourceNames: ["mssql-ag-hadr", "mssql-ag-secret"], verbs: ["get"] },
        { apiGroups: [""], resources: ["secrets"], resourceNames: ["mssql-ag-hadr"], verbs: ["update"] },
        { apiGroups: ["sqlag.io"], resources: ["sqlserveravailabilitygroups"], resourceNames: ["mssql-ag"], verbs: ["get", "list", "watch", "patch"] },
        { apiGroups: ["sqlag.io"], resources: ["sqlserveravailabilitygroups/status"], resourceNames: ["mssql-ag"], verbs: ["get", "patch"] },
        { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
        { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
      ]);
      const verbs = (role.rules ?? []).flatMap((rule) => rule.verbs);
      expect(verbs).to.not.include.members(["delete", "deletecollection", "*"]);
      expect((role.rules ?? []).flatMap((rule) => rule.resources ?? [])).to.not.include("pods/exec");
    });

    it("binds the Role to the agent ServiceAccount in the CR's namespace", () => {
      const binding = find<V1RoleBinding>(render().rendered.applied, "RoleBinding", "mssql-ag-agent");
      expect(binding.roleRef).to.deep.equal({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "mssql-ag-agent" });
      expect(binding.subjects).to.deep.equal([{ kind: "ServiceAccount", name: "mssql-ag-agent", namespace: "default" }]);
    });
  });

  describe("disruption budget and created-once objects", () => {
    it("allows at most one replica down", () => {
      const budget = find<V1PodDisruptionBudget>(render().rendered.applied, "PodDisruptionBudget", "mssql-ag");
      expect(budget.spec).to.deep.equal({ maxUnavailable: 1, selector: { matchLabels: SELECTOR } });
    });

    it("generates the hadr passwords and peer token only in createIfMissing, never the certificate", () => {
      const { rendered } = render();
      expect(rendered.applied.some((object) => object.kind === "Secret")).to.equal(false);
      const secret = find<V1Secret>(rendered.createIfMissing, "Secret", "mssql-ag-hadr");
      const decoded = Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, "base64").toString("utf8")]));
      expect(decoded).to.deep.equal({
        masterKeyPassword: "Secret-1-Aa1.",
        certificatePassword: "Secret-2-Aa1.",
        agentLoginPassword: "Secret-3-Aa1.",
        peerToken: "Secret-4-Aa1.",
      });
      expect(secret.type).to.equal("Opaque");
    });

    // ADR 0006: the Secret lives as long as the data volumes it unlocks, so a CR re-applied over retained volumes
    // finds the passwords and certificate the retained instances know.
    const hadrSecretOwnership: { name: string; reclaimPolicy: "Retain" | "Delete" | undefined; ownedByTheCr: boolean }[] = [
      { name: "volumes retained (explicit Retain): no owner reference, the Secret survives the CR", reclaimPolicy: "Retain", ownedByTheCr: false },
      { name: "volumes retained (defaulted Retain): no owner reference, the Secret survives the CR", reclaimPolicy: undefined, ownedByTheCr: false },
      { name: "volumes deleted with the CR (Delete): owned, garbage-collected with the data", reclaimPolicy: "Delete", ownedByTheCr: true },
    ];
    for (const c of hadrSecretOwnership) {
      it(`hadr Secret ownership: ${c.name}`, () => {
        const storage = c.reclaimPolicy === undefined ? { dataVolumeSize: "20Gi" } : { dataVolumeSize: "20Gi", reclaimPolicy: c.reclaimPolicy };
        const { rendered } = render({ storage });
        const secret = find<V1Secret>(rendered.createIfMissing, "Secret", "mssql-ag-hadr");
        expect(secret.metadata?.ownerReferences !== undefined, "owner references present").to.equal(c.ownedByTheCr);
        expect(secret.metadata?.labels).to.include(SELECTOR);
        // Everything else keeps its owner: only the Secret's lifetime follows the volumes.
        const lease = find<V1Lease>(rendered.createIfMissing, "Lease", "mssql-ag-primary");
        expect(lease.metadata?.ownerReferences).to.have.length(1);
        expect(rendered.applied.every((object) => object.metadata?.ownerReferences?.length === 1)).to.equal(true);
      });
    }

    it("creates the Lease empty with the configured duration", () => {
      const lease = find<V1Lease>(render({ timing: { leaseDurationSeconds: 21 } }).rendered.createIfMissing, "Lease", "mssql-ag-primary");
      expect(lease.apiVersion).to.equal("coordination.k8s.io/v1");
      expect(lease.spec).to.deep.equal({ leaseDurationSeconds: 21 });
    });
  });
});
