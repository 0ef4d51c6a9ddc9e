/**
 * The port reconcilers write through (CONVENTIONS 16): small enough for a hand-written fake, with one
 * implementation on the API server (KubeClusterClient). Secret VALUES never cross it: the controller only needs to
 * know whether the SA password Secret and its key exist.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { CustomResourceRef, EventTarget, EventType } from "@sqlag/kube";

export interface ClusterClient {
  /** Server-side apply with field manager sqlag-controller (force: our own objects). */
  apply(obj: KubernetesObject, signal: AbortSignal): Promise<void>;
  /** Creates the object once; an existing object is left alone. */
  createIfMissing(obj: KubernetesObject, signal: AbortSignal): Promise<"created" | "exists">;
  /** Names of the keys of a Secret, or undefined when it does not exist. */
  secretKeys(namespace: string, name: string, signal: AbortSignal): Promise<string[] | undefined>;
  /** SSA of the given status fields on the status subresource (field manager sqlag-controller). */
  patchStatus(ref: CustomResourceRef, status: Record<string, unknown>, signal: AbortSignal): Promise<void>;
  /** Best effort; never throws. */
  recordEvent(target: EventTarget, type: EventType, reason: string, message: string): Promise<void>;
}
