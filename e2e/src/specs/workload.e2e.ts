/**
 * The workload and the invariant checker on the real control plane, without an AG: two `sqlag.test/kv` pods
 * (a TDS key-value server with the simulator's admin API) behind a role-labelled rw Service. The test plays the
 * agents' part — flip the writable instance and move the `sqlag.io/role=primary` label — while the writer
 * follows the real EndpointSlices. The checker must pass the clean handover and catch a listener that lists
 * two pods.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { sharedControlPlane } from "../cluster/global-fixture.js";
import { createTestNamespace, deleteTestNamespace, eventually } from "../cluster/namespaces.js";
import { Faults } from "../faults/faults.js";
import type { MssqlAdmin } from "../faults/mssql-admin.js";
import { scaledBackoffPolicy } from "../kubelet/backoff.js";
import { Kubelet } from "../kubelet/kubelet.js";
import { EndpointSliceRecorder } from "../workload/endpoints.js";
import { checkInvariants, gatherEvidence } from "../workload/invariants.js";
import { unavailabilityWindows } from "../workload/journal.js";
import { KeyWriter } from "../workload/writer.js";

const roleLabel = "sqlag.io/role";
const password = "Kv-Test-Passw0rd";
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
/** Kept after the run for a post-mortem; unique per run, because several runs may share the checkout. */
const runRoot = fileURLToPath(new URL("../../../.sqlag-run/e2e/", import.meta.url));

describe("workload and invariant checker @smoke", function () {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace: string;
  let kubelet: Kubelet;
  let faults: Faults;

  const waitFor = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => eventually(what, probe, { timeoutMs: 120_000 });
  const admin = (pod: string): MssqlAdmin => {
    return faults.mssqlAdmin({ namespace, name: pod }, "kv");
  };
  const setWritable = async (pod: string, primary: boolean): Promise<void> => {
    const adminPort = kubelet.pod(namespace, pod)?.container("kv")?.adminPort ?? 0;
    const response = await fetch(`http://127.0.0.1:${adminPort}/role`, { method: "POST", body: JSON.stringify({ primary }) });
    expect(response.status).to.equal(200);
  };
  const label = (pod: string, role: string | null): Promise<unknown> =>
    core.patchNamespacedPod({ name: pod, namespace, body: { metadata: { labels: { [roleLabel]: role } } } }, mergePatch);

  before(async function () {
    const controlPlane = sharedControlPlane();
    kc = controlPlane.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    namespace = await createTestNamespace(kc, "workload");
    mkdirSync(runRoot, { recursive: true });
    const workDir = mkdtempSync(path.join(runRoot, "workload-"));
    kubelet = await Kubelet.start({ kubeConfig: kc, caPem: controlPlane.caPem, workDir, namespaces: [namespace], backoff: scaledBackoffPolicy(0.01) });
    faults = new Faults(kubelet, kc);
    await waitFor("default ServiceAccount", async () => core.readNamespacedServiceAccount({ name: "default", namespace }).catch(() => undefined));
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: "kv-sa" }, stringData: { password } } });
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name: "kv-rw" }, spec: { selector: { app: "kv", [roleLabel]: "primary" }, ports: [{ name: "tds", port: 1433, targetPort: 1433 }] } },
    });
    await kc.makeApiClient(AppsV1Api).createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: "kv" },
        spec: {
          serviceName: "kv",
          replicas: 2,
          podManagementPolicy: "Parallel",
          selector: { matchLabels: { app: "kv" } },
          template: {
            metadata: { labels: { app: "kv" } },
            spec: {
              containers: [
                {
                  name: "kv",
                  image: "sqlag.test/kv:1",
                  ports: [{ name: "tds", containerPort: 1433 }],
                  env: [{ name: "MSSQL_SA_PASSWORD", valueFrom: { secretKeyRef: { name: "kv-sa", key: "password" } } }],
                  readinessProbe: { tcpSocket: { port: "tds" }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    for (const pod of ["kv-0", "kv-1"]) {
      await waitFor(`${pod} Ready`, async () => {
        const status = (await core.readNamespacedPod({ name: pod, namespace })).status;
        return status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True") ? true : undefined;
      });
    }
  });

  after(async function () {
    if (namespace) {
      await deleteTestNamespace(kc, namespace);
      await eventually("pods finalised", async () => ((await core.listNamespacedPod({ namespace })).items.length === 0 ? true : undefined), { timeoutMs: 60_000 }).catch(
        () => undefined,
      );
    }
    await kubelet?.stop();
  });

  it("follows a handover through the real EndpointSlices, loses nothing, and the checker catches a double listing", async function () {
    await setWritable("kv-0", true);
    await label("kv-0", "primary");
    const recorder = new EndpointSliceRecorder(kc, namespace, "kv-rw");
    await recorder.start();
    const writer = new KeyWriter({ kubeConfig: kc, namespace, serviceName: "kv-rw", portName: "tds", database: "kv", password, keyPrefix: "e2e", retryDelayMs: 50 });
    writer.start();
    const acksOn = (pod: string): number => writer.journal.acknowledged.filter((write) => write.podName === pod).length;
    const lastFailure = (): string => JSON.stringify(writer.journal.failures.at(-1) ?? "no failures");
    try {
      await waitFor("writes acknowledged by kv-0", async () => (acksOn("kv-0") >= 20 ? true : undefined)).catch((error: unknown) => {
        throw new Error(`no writes on kv-0; last failure: ${lastFailure()}`, { cause: error });
      });
      // Handover in the agents' order: fence the old primary, unlabel it, promote the new one, label it.
      await setWritable("kv-0", false);
      await label("kv-0", null);
      await setWritable("kv-1", true);
      await label("kv-1", "primary");
      await waitFor("writes acknowledged by kv-1", async () => (acksOn("kv-1") >= 20 ? true : undefined));
    } catch (error) {
      await writer.stop();
      await recorder.stop();
      throw error;
    }
    const journal = await writer.stop();
    // The partition fault reaches each pod's admin API (a no-op for kv servers, which have no endpoint link).
    await faults.partitionSql({ namespace, name: "kv-0" }, { namespace, name: "kv-1" }, "kv");
    await faults.healSql({ namespace, name: "kv-0" }, { namespace, name: "kv-1" }, "kv");

    const evidence = await gatherEvidence({
      journal,
      database: "kv",
      instances: [admin("kv-0"), admin("kv-1")],
      synchronousSecondaries: [],
      listenerSamples: recorder.samples,
    });
    // kv servers do not replicate, so only the new primary's own writes must be there; give it the old ones too.
    const oldPrimaryKeys = await admin("kv-0").committedKeys("kv");
    const newPrimaryKeys = new Set([...(evidence.keysByInstance.get("kv-1") ?? []), ...oldPrimaryKeys]);
    const report = checkInvariants({ ...evidence, keysByInstance: new Map([["kv-1", newPrimaryKeys]]) });
    expect(report.violations).to.deep.equal([]);
    expect(evidence.writableNow).to.equal("kv-1");
    expect(report.listener.finalReadyPods).to.deep.equal(["kv-1"]);
    const availability = unavailabilityWindows(journal, 1_000);
    expect(availability.acknowledgedCount).to.equal(journal.acknowledged.length);

    // A listener that lists two pods at once is a violation, seen through the real EndpointSlice controller.
    await label("kv-0", "primary");
    await waitFor("two pods listed", async () => (recorder.samples.at(-1)?.readyPods.length === 2 ? true : undefined));
    await recorder.stop();
    const doubled = checkInvariants({ ...evidence, keysByInstance: new Map(), listenerSamples: recorder.samples });
    expect(doubled.violations.join("\n")).to.match(/invariant 3: the rw listener listed kv-0 and kv-1 at once/);
  });
});
