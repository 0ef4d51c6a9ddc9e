/**
 * The test control plane itself: the apiserver serves and enforces RBAC, and kube-controller-manager runs the
 * controllers the operator depends on (Deployment/ReplicaSet, StatefulSet, namespace, garbage collector). No
 * kubelet runs here, so pods stay Pending: the assertions are about objects being created, not running.
 */
import { request as httpsRequest } from "node:https";
import { expect } from "chai";
import {
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  VersionApi,
  type KubeConfig,
  type V1PodTemplateSpec,
} from "@kubernetes/client-node";
import { sharedControlPlane } from "../cluster/global-fixture.js";
import { apiStatus, createTestNamespace, deleteTestNamespace, eventually } from "../cluster/namespaces.js";

function podTemplate(app: string): V1PodTemplateSpec {
  return {
    metadata: { labels: { app } },
    spec: { containers: [{ name: "main", image: "example.invalid/never-pulled:1" }] },
  };
}

async function expectStatus(call: Promise<unknown>, status: number): Promise<void> {
  try {
    await call;
  } catch (error) {
    expect(apiStatus(error), String(error)).to.equal(status);
    return;
  }
  expect.fail(`expected HTTP ${status}, the call succeeded`);
}

describe("test control plane", function () {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace: string;

  before(async function () {
    kc = sharedControlPlane().kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    namespace = await createTestNamespace(kc, "control-plane");
  });

  after(async function () {
    if (namespace) await deleteTestNamespace(kc, namespace);
  });

  describe("kube-apiserver", function () {
    it("serves /readyz and reports the built version", async function () {
      const controlPlane = sharedControlPlane();
      const response = await fetchWithCa(`${controlPlane.server}/readyz`, controlPlane.caPem, controlPlane.adminToken);
      expect(response).to.deep.equal({ status: 200, body: "ok" });
      const version = await kc.makeApiClient(VersionApi).getCode();
      expect(version.gitVersion).to.match(/^v1\.36\.\d+$/);
    });

    it("rejects an unknown token with 401", async function () {
      const stranger = sharedControlPlane().kubeConfigForToken("not-a-known-token", "stranger");
      await expectStatus(stranger.makeApiClient(CoreV1Api).listNamespace(), 401);
    });
  });

  describe("RBAC", function () {
    const serviceAccount = "unprivileged";
    let saKc: KubeConfig;

    before(async function () {
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: serviceAccount } } });
      const tokenRequest = await core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace,
        body: { spec: { audiences: [], expirationSeconds: 3600 } },
      });
      saKc = sharedControlPlane().kubeConfigForToken(tokenRequest.status?.token ?? "", serviceAccount);
    });

    it("denies a ServiceAccount token everything it was not granted", async function () {
      const saCore = saKc.makeApiClient(CoreV1Api);
      await expectStatus(saCore.listNamespacedSecret({ namespace }), 403);
      await expectStatus(saCore.listNamespacedPod({ namespace: "kube-system" }), 403);
      const review = await saKc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { namespace, verb: "list", resource: "configmaps" } } },
      });
      expect(review.status?.allowed).to.equal(false);
    });

    it("allows exactly what a RoleBinding grants", async function () {
      const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace,
        body: {
          metadata: { name: "configmap-reader" },
          rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: "configmap-reader" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-reader" },
          subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace }],
        },
      });
      const saCore = saKc.makeApiClient(CoreV1Api);
      // RBAC is evaluated against an informer cache in the apiserver: the binding becomes effective shortly after.
      await eventually("the RoleBinding to take effect", async () =>
        (await saCore.listNamespacedConfigMap({ namespace })) ? true : undefined,
      );
      await expectStatus(saCore.listNamespacedSecret({ namespace }), 403);
      await expectStatus(
        saCore.createNamespacedConfigMap({ namespace, body: { metadata: { name: "written-by-reader" } } }),
        403,
      );
    });
  });

  describe("kube-controller-manager", function () {
    it("creates the default ServiceAccount and the root CA ConfigMap in a new namespace", async function () {
      await eventually("default ServiceAccount", async () =>
        core.readNamespacedServiceAccount({ name: "default", namespace }),
      );
      const rootCa = await eventually("kube-root-ca.crt", async () =>
        core.readNamespacedConfigMap({ name: "kube-root-ca.crt", namespace }),
      );
      expect(rootCa.data?.["ca.crt"]).to.contain("BEGIN CERTIFICATE");
    });

    it("turns a Deployment into a ReplicaSet and Pending pods", async function () {
      const apps = kc.makeApiClient(AppsV1Api);
      await apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name: "web" },
          spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: podTemplate("web") },
        },
      });
      const replicaSet = await eventually("a ReplicaSet owned by the Deployment", async () => {
        const list = await apps.listNamespacedReplicaSet({ namespace, labelSelector: "app=web" });
        return list.items.find((rs) => rs.metadata?.ownerReferences?.some((o) => o.kind === "Deployment" && o.name === "web"));
      });
      const pods = await eventually("2 pods owned by the ReplicaSet", async () => {
        const list = await core.listNamespacedPod({ namespace, labelSelector: "app=web" });
        return list.items.length === 2 ? list.items : undefined;
      });
      for (const pod of pods) {
        expect(pod.metadata?.ownerReferences?.[0]?.name).to.equal(replicaSet.metadata?.name);
        // No kubelet and no scheduler: nobody binds or runs them.
        expect(pod.status?.phase).to.equal("Pending");
        expect(pod.spec?.nodeName).to.equal(undefined);
      }
    });

    it("creates the first StatefulSet pod with its stable name", async function () {
      const apps = kc.makeApiClient(AppsV1Api);
      await apps.createNamespacedStatefulSet({
        namespace,
        body: {
          metadata: { name: "db" },
          spec: {
            replicas: 3,
            serviceName: "db",
            selector: { matchLabels: { app: "db" } },
            template: podTemplate("db"),
          },
        },
      });
      const pod = await eventually("pod db-0", async () => core.readNamespacedPod({ name: "db-0", namespace }));
      expect(pod.metadata?.ownerReferences?.[0]).to.include({ kind: "StatefulSet", name: "db" });
      expect(pod.status?.phase).to.equal("Pending");
    });

    it("garbage-collects a ConfigMap whose owner was deleted", async function () {
      const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "owner" } } });
      await core.createNamespacedConfigMap({
        namespace,
        body: {
          metadata: {
            name: "dependent",
            ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata?.uid ?? "" }],
          },
        },
      });
      await core.deleteNamespacedConfigMap({ name: "owner", namespace, propagationPolicy: "Background" });
      await eventually("the dependent ConfigMap to be collected", async () => {
        try {
          await core.readNamespacedConfigMap({ name: "dependent", namespace });
          return undefined;
        } catch (error) {
          if (apiStatus(error) === 404) return true;
          throw error;
        }
      });
    });

    it("finishes deleting a namespace with objects in it", async function () {
      const doomed = await createTestNamespace(kc, "doomed");
      await core.createNamespacedConfigMap({ namespace: doomed, body: { metadata: { name: "content" } } });
      await deleteTestNamespace(kc, doomed);
      await eventually("the namespace to disappear", async () => {
        try {
          await core.readNamespace({ name: doomed });
          return undefined;
        } catch (error) {
          if (apiStatus(error) === 404) return true;
          throw error;
        }
      });
    });
  });
});

async function fetchWithCa(url: string, caPem: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca: caPem, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
