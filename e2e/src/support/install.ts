/**
 * Installing sqlag into the shared control plane exactly as a user would: `kubectl kustomize manifests/install`
 * applied with server-side apply, CRDs first and Established before anything that depends on them. Done once per
 * mocha run (specs share the control plane); every spec that needs the CRDs calls ensureSqlagInstalled().
 */
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1CustomResourceDefinition,
  type V1Pod,
} from "@kubernetes/client-node";
import { eventually } from "../cluster/namespaces.js";
import { kustomize } from "./kubectl.js";
import { applyObjects, parseManifests, repoPath } from "./manifests.js";

export const sqlagSystemNamespace = "sqlag-system";
export const controllerDeploymentName = "sqlag-controller";
export const controllerServiceAccountName = "sqlag-controller";
export const controllerLeaseName = "sqlag-controller";
export const sqlagCrdNames = ["sqlserveravailabilitygroups.sqlag.io", "sqlserverinstances.sqlag.io"] as const;

export interface SqlagInstallation {
  /** Everything `kubectl kustomize manifests/install` renders, in its order. */
  readonly rendered: readonly KubernetesObject[];
  /** What the apiserver returned for each applied object. */
  readonly applied: readonly KubernetesObject[];
}

export function renderInstallManifests(): KubernetesObject[] {
  return parseManifests(kustomize(repoPath("manifests/install")), "kubectl kustomize manifests/install");
}

export function crdEstablished(crd: V1CustomResourceDefinition): boolean {
  return crd.status?.conditions?.some((condition) => condition.type === "Established" && condition.status === "True") === true;
}

export async function waitForCrdsEstablished(kc: KubeConfig, names: readonly string[]): Promise<V1CustomResourceDefinition[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  return Promise.all(
    names.map((name) =>
      eventually(`CRD ${name} Established`, async () => {
        const crd = await api.readCustomResourceDefinition({ name });
        return crdEstablished(crd) ? crd : undefined;
      }),
    ),
  );
}

/** Applies the install manifests: Namespaces, then CRDs (waiting for Established), then the rest. */
export async function installSqlag(kc: KubeConfig): Promise<SqlagInstallation> {
  const rendered = renderInstallManifests();
  const isFirstPhase = (object: KubernetesObject) => object.kind === "Namespace" || object.kind === "CustomResourceDefinition";
  const applied = await applyObjects(kc, rendered.filter(isFirstPhase));
  const crdNames = rendered.filter((object) => object.kind === "CustomResourceDefinition").map((object) => object.metadata?.name ?? "");
  await waitForCrdsEstablished(kc, crdNames);
  applied.push(...(await applyObjects(kc, rendered.filter((object) => !isFirstPhase(object)))));
  return { rendered, applied };
}

const installations = new Map<string, Promise<SqlagInstallation>>();

/** installSqlag() once per API server for the whole mocha run; later callers share the first result. */
export function ensureSqlagInstalled(kc: KubeConfig): Promise<SqlagInstallation> {
  const server = kc.getCurrentCluster()?.server ?? "";
  let installation = installations.get(server);
  if (installation === undefined) {
    installation = installSqlag(kc);
    installation.catch(() => installations.delete(server));
    installations.set(server, installation);
  }
  return installation;
}

export const controllerPodSelector = "app.kubernetes.io/name=sqlag-controller";

/** Sets the installed controller Deployment's replicas through the scale subresource. */
export async function scaleControllerDeployment(kc: KubeConfig, replicas: number): Promise<void> {
  await kc
    .makeApiClient(AppsV1Api)
    .patchNamespacedDeploymentScale({ name: controllerDeploymentName, namespace: sqlagSystemNamespace, body: { spec: { replicas } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
}

/** Waits until the Deployment reports `replicas` available and that many controller pods are Ready; returns them. */
export async function waitForControllerPodsReady(kc: KubeConfig, replicas: number, timeoutMs = 120_000): Promise<V1Pod[]> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  return eventually(
    `controller Deployment with ${replicas} available replicas`,
    async () => {
      const deployment = await apps.readNamespacedDeployment({ name: controllerDeploymentName, namespace: sqlagSystemNamespace });
      const ready = (await core.listNamespacedPod({ namespace: sqlagSystemNamespace, labelSelector: controllerPodSelector })).items.filter(
        (pod) => pod.metadata?.deletionTimestamp == null && pod.status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True") === true,
      );
      return deployment.status?.availableReplicas === replicas && ready.length === replicas ? ready : undefined;
    },
    { timeoutMs },
  );
}

/** Scales the controller to 0 and waits for its pods to be gone (a kubelet must run sqlag-system to finalise them). */
export async function stopControllerDeployment(kc: KubeConfig, timeoutMs = 60_000): Promise<void> {
  await scaleControllerDeployment(kc, 0);
  const core = kc.makeApiClient(CoreV1Api);
  await eventually(
    "controller pods gone after scaling to 0",
    async () => ((await core.listNamespacedPod({ namespace: sqlagSystemNamespace, labelSelector: controllerPodSelector })).items.length === 0 ? true : undefined),
    { timeoutMs },
  );
}
