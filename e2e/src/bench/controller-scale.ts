/**
 * Controller throughput: create N SQLServerAvailabilityGroup resources (each with its own SA password Secret) in a
 * fresh namespace and measure until every one shows `status.observedGeneration == metadata.generation` and
 * `Reconciled=True`. Needs only the control plane and one controller process (no kubelet: the StatefulSets it
 * renders are never run, which is exactly the controller's share of the work).
 */
import path from "node:path";
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, PLURAL_AVAILABILITY_GROUPS } from "@sqlag/api";
import type { ControlPlane } from "../cluster/control-plane.js";
import { createTestNamespace, deleteTestNamespace, eventually } from "../cluster/namespaces.js";
import { startControllerProcess } from "../support/controller-process.js";
import { conditionOf, SqlagObjects, type SqlagObject } from "../support/custom-objects.js";
import { inNamespace, readManifestFile } from "../support/manifests.js";
import { samplePassword } from "../support/sqlag-fixtures.js";
import { processRssMiB } from "./proc.js";

export interface ControllerScaleOptions {
  readonly controlPlane: ControlPlane;
  readonly resourceCount: number;
  readonly workDir: string;
  readonly progress: (line: string) => void;
  /** Parallel create requests (a user's `kubectl apply -f dir/` is sequential; a GitOps tool is not). */
  readonly createConcurrency?: number;
  readonly timeoutMs?: number;
}

export interface ControllerScaleResult {
  readonly resourceCount: number;
  /** First create sent → last create answered. */
  readonly createSeconds: number;
  /** First create sent → every resource Reconciled=True at its generation (polled every 250 ms). */
  readonly allReconciledSeconds: number;
  /** Last create answered → every resource Reconciled. */
  readonly afterLastCreateSeconds: number;
  readonly controllerRssMiB: number | undefined;
  readonly controllerLogPath: string;
}

export function isReconciledAtGeneration(object: SqlagObject): boolean {
  const status = object.status as { observedGeneration?: number } | undefined;
  const generation = object.metadata?.generation;
  return generation !== undefined && status?.observedGeneration === generation && conditionOf(object, "Reconciled")?.status === "True";
}

/** The 3-synchronous sample renamed to `name`, with its own password Secret. */
export function scaleAgObject(namespace: string, name: string, secretName: string): KubernetesObject {
  const sample = readManifestFile("manifests/samples/ag-3sync.yaml").find((object) => object.kind === "SQLServerAvailabilityGroup");
  if (sample === undefined) throw new Error("manifests/samples/ag-3sync.yaml has no SQLServerAvailabilityGroup");
  const object = inNamespace(sample, namespace) as KubernetesObject & { spec: Record<string, unknown> };
  object.metadata = { name, namespace };
  object.spec = {
    ...object.spec,
    saPasswordSecretRef: { name: secretName, key: "SA_PASSWORD" },
    listener: { name: `${name}-listener`, port: 1433, serviceType: "ClusterIP" },
    readOnlyListener: { name: `${name}-listener-ro`, port: 1433, serviceType: "ClusterIP" },
  };
  return object;
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, concurrency) }, async () => {
    for (;;) {
      const index = next++;
      const item = items[index];
      if (index >= items.length || item === undefined) return;
      await work(item);
    }
  });
  await Promise.all(workers);
}

export async function measureControllerScale(options: ControllerScaleOptions): Promise<ControllerScaleResult> {
  const kc: KubeConfig = options.controlPlane.kubeConfig();
  const namespace = await createTestNamespace(kc, "bench-scale");
  const core = kc.makeApiClient(CoreV1Api);
  const customObjects = kc.makeApiClient(CustomObjectsApi);
  const objects = new SqlagObjects(kc);
  const controller = await startControllerProcess({
    controlPlane: options.controlPlane,
    identity: "controller-bench",
    workDir: path.join(options.workDir, "controller"),
    watchNamespaces: [namespace],
    leaderElection: false,
    logLevel: "warn",
  });
  try {
    await eventually("controller /readyz 200", async () => ((await controller.readyz()) === 200 ? true : undefined), { timeoutMs: 60_000 });
    options.progress(`controller ready; creating ${options.resourceCount} AG resources + Secrets in ${namespace}`);
    const password = samplePassword();
    const names = Array.from({ length: options.resourceCount }, (_, index) => `ag-${String(index).padStart(3, "0")}`);
    const startedMs = performance.now();
    await inParallel(names, options.createConcurrency ?? 8, async (name) => {
      const secretName = `${name}-sa`;
      await core.createNamespacedSecret({ namespace, body: { metadata: { name: secretName }, stringData: { SA_PASSWORD: password } } });
      await objects.create(namespace, scaleAgObject(namespace, name, secretName));
    });
    const createdMs = performance.now();
    let lastReportMs = 0;
    await eventually(
      `${options.resourceCount} AGs Reconciled`,
      async () => {
        const list = (await customObjects.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL_AVAILABILITY_GROUPS })) as {
          items: SqlagObject[];
        };
        const reconciled = list.items.filter(isReconciledAtGeneration).length;
        if (performance.now() - lastReportMs >= 10_000) {
          options.progress(`  ${reconciled}/${options.resourceCount} reconciled`);
          lastReportMs = performance.now();
        }
        return reconciled >= options.resourceCount ? true : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 600_000, intervalMs: 250 },
    );
    const doneMs = performance.now();
    return {
      resourceCount: options.resourceCount,
      createSeconds: (createdMs - startedMs) / 1000,
      allReconciledSeconds: (doneMs - startedMs) / 1000,
      afterLastCreateSeconds: (doneMs - createdMs) / 1000,
      controllerRssMiB: processRssMiB(controller.child.pid),
      controllerLogPath: controller.logPath,
    };
  } finally {
    await controller.stop(5_000);
    await deleteTestNamespace(kc, namespace).catch(() => undefined);
  }
}
