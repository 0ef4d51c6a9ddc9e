/**
 * `manifests/install` as a user installs it: rendered with the testbins kubectl (`kubectl kustomize`) and applied
 * with server-side apply; the CRDs become Established with their full schema (CEL rules included), the controller
 * RBAC and Deployment exist, and the Deployment's two replicas run on the fake kubelet (the controller image maps
 * to packages/controller/dist/main.js), become Ready, and exactly one of them holds the leader Lease.
 */
import { expect } from "chai";
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoordinationV1Api,
  RbacAuthorizationV1Api,
  type KubernetesObject,
  type V1Deployment,
} from "@kubernetes/client-node";
import { apiStatus, eventually } from "../cluster/namespaces.js";
import {
  controllerDeploymentName,
  controllerLeaseName,
  controllerPodSelector,
  crdEstablished,
  installSqlag,
  renderInstallManifests,
  scaleControllerDeployment,
  stopControllerDeployment,
  waitForControllerPodsReady,
  sqlagCrdNames,
  sqlagSystemNamespace,
} from "../support/install.js";
import { describeObject } from "../support/manifests.js";
import { describePods } from "../support/pods.js";
import { useSpecFixture } from "../support/spec-fixture.js";
import { note, reportSpecWallTime, step } from "../support/step.js";


describe("install: manifests/install applies cleanly and the controller runs", function () {
  reportSpecWallTime("install");
  const fixture = useSpecFixture("install", {
    kubelet: true,
    extraKubeletNamespaces: [sqlagSystemNamespace],
    // Scale the controller away while this spec's kubelet still runs, so its pods are finalised and later specs
    // (each with its own scoped controller) do not share the cluster with two cluster-wide replicas.
    beforeTeardown: () => stopControllerDeployment(fixture.kc),
  });
  let rendered: KubernetesObject[];

  before(async function () {
    rendered = await step("kubectl kustomize manifests/install", () => renderInstallManifests());
    note(`rendered: ${rendered.map(describeObject).join(", ")}`);
  });

  it("renders the namespace, both CRDs, the controller RBAC and the Deployment", function () {
    const kinds = rendered.map((object) => `${object.kind}/${object.metadata?.name ?? ""}`);
    expect(kinds).to.include.members([
      `Namespace/${sqlagSystemNamespace}`,
      ...sqlagCrdNames.map((name) => `CustomResourceDefinition/${name}`),
      "ServiceAccount/sqlag-controller",
      "ClusterRole/sqlag-controller",
      "ClusterRoleBinding/sqlag-controller",
      "Role/sqlag-controller-leader-election",
      "RoleBinding/sqlag-controller-leader-election",
      `Deployment/${controllerDeploymentName}`,
    ]);
  });

  it("applies with server-side apply without conflicts, twice (idempotent)", async function () {
    const first = await step("first apply", () => installSqlag(fixture.kc));
    expect(first.applied).to.have.length(rendered.length);
    const second = await step("second apply", () => installSqlag(fixture.kc));
    expect(second.applied.map(describeObject)).to.deep.equal(first.applied.map(describeObject));
  });

  it("the CRDs are Established and stored with their full schema (CEL rules and enums survive the apply)", async function () {
    const api = fixture.kc.makeApiClient(ApiextensionsV1Api);
    for (const name of sqlagCrdNames) {
      const stored = await api.readCustomResourceDefinition({ name });
      expect(crdEstablished(stored), `${name} Established`).to.equal(true);
      const source = rendered.find((object) => object.kind === "CustomResourceDefinition" && object.metadata?.name === name) as unknown as {
        spec: { versions: { name: string; schema: { openAPIV3Schema: unknown } }[] };
      };
      const storedJson = JSON.stringify(stored);
      const sourceJson = JSON.stringify(source);
      const celRulesInSource = (sourceJson.match(/"rule":/g) ?? []).length;
      const enumsInSource = (sourceJson.match(/"enum":/g) ?? []).length;
      expect(celRulesInSource, `${name} has CEL rules`).to.be.greaterThan(0);
      expect((storedJson.match(/"rule":/g) ?? []).length, `${name}: CEL rules stored`).to.equal(celRulesInSource);
      expect((storedJson.match(/"_enum":|"enum":/g) ?? []).length, `${name}: enums stored`).to.equal(enumsInSource);
      expect(stored.spec.versions.map((version) => version.name)).to.deep.equal(source.spec.versions.map((version) => version.name));
    }
  });

  it("the controller ServiceAccount is bound to its ClusterRole and leader-election Role", async function () {
    const rbac = fixture.kc.makeApiClient(RbacAuthorizationV1Api);
    const binding = await rbac.readClusterRoleBinding({ name: "sqlag-controller" });
    expect(binding.subjects).to.deep.include({ kind: "ServiceAccount", name: "sqlag-controller", namespace: sqlagSystemNamespace });
    const leaderRole = await rbac.readNamespacedRole({ name: "sqlag-controller-leader-election", namespace: sqlagSystemNamespace });
    expect(leaderRole.rules?.some((rule) => rule.resourceNames?.includes(controllerLeaseName) === true && rule.verbs.includes("update"))).to.equal(true);
  });

  it("the controller Deployment exists and its two replicas run on the fake kubelet, become Ready, and one leads", async function () {
    const apps = fixture.kc.makeApiClient(AppsV1Api);
    const deployment: V1Deployment = await apps.readNamespacedDeployment({ name: controllerDeploymentName, namespace: sqlagSystemNamespace });
    expect(deployment.spec?.replicas).to.equal(2);
    expect(deployment.spec?.template.spec?.containers[0]?.image).to.match(/^ghcr\.io\/sqlag\/controller:/);
    // An earlier spec may have scaled it to 0; the manifest says 2.
    await scaleControllerDeployment(fixture.kc, 2);
    try {
      await step("2 controller pods Ready (Deployment availableReplicas 2)", () => waitForControllerPodsReady(fixture.kc, 2));
    } finally {
      note(`controller pods:\n${await describePods(fixture.core, sqlagSystemNamespace, controllerPodSelector)}`);
    }
    const pods = (await fixture.core.listNamespacedPod({ namespace: sqlagSystemNamespace, labelSelector: controllerPodSelector })).items;
    const podNames = pods.map((pod) => pod.metadata?.name ?? "");
    expect(new Set(pods.map((pod) => pod.spec?.nodeName)).size, "replicas spread over nodes (preferred anti-affinity)").to.equal(2);
    const holder = await step("exactly one replica holds Lease sqlag-system/sqlag-controller", () =>
      eventually("the controller Lease held by a running replica", async () => {
        try {
          const lease = await fixture.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: controllerLeaseName, namespace: sqlagSystemNamespace });
          const identity = lease.spec?.holderIdentity;
          return identity !== undefined && podNames.includes(identity) ? identity : undefined;
        } catch (error) {
          if (apiStatus(error) === 404) return undefined;
          throw error;
        }
      }),
    );
    note(`leader: ${holder}`);
    for (const pod of pods) expect(pod.status?.containerStatuses?.[0]?.restartCount, `${pod.metadata?.name ?? ""} restarts`).to.equal(0);
  });
});

