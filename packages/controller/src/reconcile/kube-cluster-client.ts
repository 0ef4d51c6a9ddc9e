import { CoreV1Api, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { FIELD_MANAGER_CONTROLLER } from "@sqlag/api";
import { classifyKubeError, isNotFound, makeApiClient, withSignal, type CustomResourceRef, type EventRecorder, type EventTarget, type EventType, type ObjectWriter } from "@sqlag/kube";
import type { ClusterClient } from "./cluster-client.js";

/** ClusterClient on the real API server. */
export class KubeClusterClient implements ClusterClient {
  constructor(
    private readonly writer: ObjectWriter,
    private readonly core: CoreV1Api,
    private readonly events: EventRecorder,
  ) {}

  static fromKubeConfig(kc: KubeConfig, writer: ObjectWriter, events: EventRecorder): KubeClusterClient {
    return new KubeClusterClient(writer, makeApiClient(kc, CoreV1Api), events);
  }

  async apply(obj: KubernetesObject, signal: AbortSignal): Promise<void> {
    await this.writer.applyObject(obj, FIELD_MANAGER_CONTROLLER, signal, { force: true });
  }

  createIfMissing(obj: KubernetesObject, signal: AbortSignal): Promise<"created" | "exists"> {
    return this.writer.createIfMissing(obj, FIELD_MANAGER_CONTROLLER, signal);
  }

  async secretKeys(namespace: string, name: string, signal: AbortSignal): Promise<string[] | undefined> {
    try {
      const secret = await withSignal(signal, () => this.core.readNamespacedSecret({ namespace, name }));
      // Only the key names leave this function; the values are dropped here.
      return [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})];
    } catch (e) {
      const err = classifyKubeError(e);
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  patchStatus(ref: CustomResourceRef, status: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    return this.writer.patchStatus(ref, status, FIELD_MANAGER_CONTROLLER, signal);
  }

  async recordEvent(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    await this.events.record(target, type, reason, message);
  }
}
