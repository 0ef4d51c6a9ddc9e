import type { KubernetesObject } from "@kubernetes/client-node";
import type { CustomResourceRef, EventTarget, EventType } from "@sqlag/kube";
import type { ClusterClient } from "./cluster-client.js";

/** Hand-written ClusterClient for reconcile tests: records every call, holds Secrets' key names, injects failures. */
export class FakeClusterClient implements ClusterClient {
  readonly applied: KubernetesObject[] = [];
  readonly created: KubernetesObject[] = [];
  readonly statusPatches: { ref: CustomResourceRef; status: Record<string, unknown> }[] = [];
  readonly events: { target: EventTarget; type: EventType; reason: string; message: string }[] = [];
  readonly secrets = new Map<string, string[]>();
  readonly existing = new Set<string>();
  /** Errors thrown by the next apply / status / secret calls (one per call). */
  applyFailures: unknown[] = [];
  statusFailures: unknown[] = [];
  secretFailures: unknown[] = [];

  withSecret(namespace: string, name: string, keys: string[]): this {
    this.secrets.set(`${namespace}/${name}`, keys);
    return this;
  }

  async apply(obj: KubernetesObject): Promise<void> {
    const failure = this.applyFailures.shift();
    if (failure !== undefined) throw failure;
    this.applied.push(obj);
  }

  async createIfMissing(obj: KubernetesObject): Promise<"created" | "exists"> {
    const key = `${obj.kind}/${obj.metadata?.namespace}/${obj.metadata?.name}`;
    if (this.existing.has(key)) return "exists";
    this.existing.add(key);
    this.created.push(obj);
    return "created";
  }

  async secretKeys(namespace: string, name: string): Promise<string[] | undefined> {
    const failure = this.secretFailures.shift();
    if (failure !== undefined) throw failure;
    return this.secrets.get(`${namespace}/${name}`);
  }

  async patchStatus(ref: CustomResourceRef, status: Record<string, unknown>): Promise<void> {
    const failure = this.statusFailures.shift();
    if (failure !== undefined) throw failure;
    this.statusPatches.push({ ref, status });
  }

  async recordEvent(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    this.events.push({ target, type, reason, message });
  }
}
