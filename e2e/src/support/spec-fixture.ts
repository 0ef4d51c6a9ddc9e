/**
 * Namespace-per-spec fixture on the shared control plane: registers mocha hooks that create a fresh namespace
 * (and optionally a fake kubelet that manages only that namespace), and tear it all down again — the namespace is
 * deleted while the kubelet still runs, so it can finalise the pods, and only then is the kubelet stopped.
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { ControlPlane } from "../cluster/control-plane.js";
import { sharedControlPlane } from "../cluster/global-fixture.js";
import { createTestNamespace, deleteTestNamespace, eventually } from "../cluster/namespaces.js";
import { Faults } from "../faults/faults.js";
import { scaledBackoffPolicy } from "../kubelet/backoff.js";
import { Kubelet } from "../kubelet/kubelet.js";
import { repoPath } from "./manifests.js";
import { sqlagImageRuntimes } from "./runtimes.js";

export interface SpecFixtureOptions {
  /** Start a fake kubelet for the spec namespace (plus `extraKubeletNamespaces`). */
  readonly kubelet?: boolean;
  readonly extraKubeletNamespaces?: readonly string[];
  /** Runs first in the teardown, while the kubelet still runs (e.g. scale a Deployment in another namespace to 0). */
  readonly beforeTeardown?: () => Promise<void>;
}

export class FixtureNotReadyError extends Error {
  constructor(what: string) {
    super(`${what} is only available inside the spec's tests (after its before hook)`);
    this.name = "FixtureNotReadyError";
  }
}

/** What a spec gets; the fields are filled by the before hook. */
export class SpecFixture {
  private state: { controlPlane: ControlPlane; kc: KubeConfig; namespace: string; workDir: string; kubelet?: Kubelet; faults?: Faults } | undefined;

  constructor(readonly prefix: string) {}

  /** @internal */
  set(state: SpecFixture["state"]): void {
    this.state = state;
  }

  private get ready() {
    if (this.state === undefined) throw new FixtureNotReadyError(`fixture ${this.prefix}`);
    return this.state;
  }
  get controlPlane(): ControlPlane {
    return this.ready.controlPlane;
  }
  get kc(): KubeConfig {
    return this.ready.kc;
  }
  get core(): CoreV1Api {
    return this.ready.kc.makeApiClient(CoreV1Api);
  }
  get namespace(): string {
    return this.ready.namespace;
  }
  /**
   * Scratch directory (logs, kubeconfigs, pod files): .sqlag-run/e2e/specs/<namespace>/. Named after the random
   * namespace so that concurrent runs on one machine (several engineers, CI) never share or delete each other's.
   */
  get workDir(): string {
    return this.ready.workDir;
  }
  get kubelet(): Kubelet {
    const kubelet = this.ready.kubelet;
    if (kubelet === undefined) throw new FixtureNotReadyError(`the kubelet of ${this.prefix} (pass { kubelet: true })`);
    return kubelet;
  }
  get faults(): Faults {
    const faults = this.ready.faults;
    if (faults === undefined) throw new FixtureNotReadyError(`the faults of ${this.prefix} (pass { kubelet: true })`);
    return faults;
  }
}

/** Call inside a describe; returns the fixture its tests use. */
export function useSpecFixture(prefix: string, options: SpecFixtureOptions = {}): SpecFixture {
  const fixture = new SpecFixture(prefix);
  let kubelet: Kubelet | undefined;
  let namespace: string | undefined;
  let kc: KubeConfig | undefined;

  before(async function () {
    const controlPlane = sharedControlPlane();
    kc = controlPlane.kubeConfig();
    namespace = await createTestNamespace(kc, prefix);
    const workDir = repoPath(".sqlag-run", "e2e", "specs", namespace);
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    const core = kc.makeApiClient(CoreV1Api);
    // The ServiceAccount admission plugin rejects pods until the serviceaccount controller created `default`.
    await eventually(`default ServiceAccount in ${namespace}`, async () => {
      try {
        return await core.readNamespacedServiceAccount({ name: "default", namespace: namespace ?? "" });
      } catch {
        return undefined;
      }
    });
    let faults: Faults | undefined;
    if (options.kubelet === true) {
      kubelet = await Kubelet.start({
        kubeConfig: kc,
        caPem: controlPlane.caPem,
        workDir: path.join(workDir, "kubelet"),
        namespaces: [namespace, ...(options.extraKubeletNamespaces ?? [])],
        backoff: scaledBackoffPolicy(0.1),
        runtimes: sqlagImageRuntimes(),
        nodeHeartbeatIntervalMs: 2_000,
      });
      faults = new Faults(kubelet, kc);
    }
    fixture.set({ controlPlane, kc, namespace, workDir, ...(kubelet !== undefined ? { kubelet } : {}), ...(faults !== undefined ? { faults } : {}) });
  });

  after(async function () {
    if (options.beforeTeardown !== undefined && kc !== undefined) {
      await options.beforeTeardown().catch((error: unknown) => process.stderr.write(`      teardown of ${prefix}: ${String(error)}\n`));
    }
    if (kc !== undefined && namespace !== undefined) {
      const core = kc.makeApiClient(CoreV1Api);
      const ns = namespace;
      await deleteTestNamespace(kc, ns);
      if (kubelet !== undefined) {
        await eventually(`pods of ${ns} finalised`, async () => ((await core.listNamespacedPod({ namespace: ns })).items.length === 0 ? true : undefined), {
          timeoutMs: 60_000,
        }).catch(() => undefined);
      }
    }
    await kubelet?.stop();
  });

  return fixture;
}
