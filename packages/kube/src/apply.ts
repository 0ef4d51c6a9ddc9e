/**
 * Server-side apply for any kind (ARCHITECTURE §3): the controller sends the complete desired object every time
 * with field manager `sqlag-controller`; the API server merges by field ownership. No read-modify-write, so
 * fields the renderer stops emitting are removed, and fields other managers own (agent labels, status written by
 * the agent) are left alone.
 */
import { CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { classifyKubeError, isAlreadyExists } from "./errors.js";
import { makeApiClient, withSignal } from "./kube-config.js";

/** Identifies a custom resource for status writes. */
export interface CustomResourceRef {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespace: string;
  name: string;
}

/** The write port the controller's reconcilers use; `KubeObjectWriter` implements it on the API server. */
export interface ObjectWriter {
  /** SSA of a complete object. `force` re-acquires fields another manager took (right for objects we own). */
  applyObject(obj: KubernetesObject, fieldManager: string, signal: AbortSignal, options?: { force?: boolean }): Promise<KubernetesObject>;
  /** Creates the object unless it exists (409 AlreadyExists is fine); never updates an existing one. */
  createIfMissing(obj: KubernetesObject, fieldManager: string, signal: AbortSignal): Promise<"created" | "exists">;
  /** SSA of `status` on the status subresource; only the fields in `status` become owned by `fieldManager`. */
  patchStatus(ref: CustomResourceRef, status: Record<string, unknown>, fieldManager: string, signal: AbortSignal): Promise<void>;
}

export class KubeObjectWriter implements ObjectWriter {
  constructor(
    private readonly objects: KubernetesObjectApi,
    private readonly customObjects: CustomObjectsApi,
  ) {}

  static fromKubeConfig(kc: KubeConfig): KubeObjectWriter {
    // Objects always carry their namespace (renderers set it), so no default namespace is needed.
    const objects = makeApiClient(kc, KubernetesObjectApi);
    return new KubeObjectWriter(objects, makeApiClient(kc, CustomObjectsApi));
  }

  async applyObject(obj: KubernetesObject, fieldManager: string, signal: AbortSignal, options: { force?: boolean } = {}): Promise<KubernetesObject> {
    const body = withoutServerFields(obj);
    try {
      return await withSignal(signal, () =>
        this.objects.patch(body, undefined, undefined, fieldManager, options.force ?? true, PatchStrategy.ServerSideApply),
      );
    } catch (e) {
      throw classifyKubeError(e);
    }
  }

  async createIfMissing(obj: KubernetesObject, fieldManager: string, signal: AbortSignal): Promise<"created" | "exists"> {
    try {
      await withSignal(signal, () => this.objects.create(withoutServerFields(obj), undefined, undefined, fieldManager));
      return "created";
    } catch (e) {
      const err = classifyKubeError(e);
      if (isAlreadyExists(err)) return "exists";
      throw err;
    }
  }

  async patchStatus(ref: CustomResourceRef, status: Record<string, unknown>, fieldManager: string, signal: AbortSignal): Promise<void> {
    const body = {
      apiVersion: `${ref.group}/${ref.version}`,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: ref.namespace },
      status,
    };
    try {
      await withSignal(signal, () =>
        this.customObjects.patchNamespacedCustomObjectStatus(
          { group: ref.group, version: ref.version, namespace: ref.namespace, plural: ref.plural, name: ref.name, body, fieldManager, force: true },
          setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
        ),
      );
    } catch (e) {
      throw classifyKubeError(e);
    }
  }
}

/** SSA rejects a body carrying managedFields; resourceVersion would turn the apply into a precondition. */
export function withoutServerFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata === undefined) return obj;
  const metadata = { ...obj.metadata };
  delete metadata.managedFields;
  delete metadata.resourceVersion;
  delete metadata.uid;
  delete metadata.creationTimestamp;
  delete metadata.generation;
  return { ...obj, metadata };
}
