/**
 * The controller runtime: informers feed keys into one de-duplicating work queue; N workers reconcile them
 * (so one slow AG never blocks the others, and one key is never reconciled twice at once); a resync re-queues
 * every CR periodically. Informers run on every replica, so a standby has a warm cache and readiness means
 * "synced"; workers run only while this replica leads.
 *
 * Update events of a CR are filtered by metadata.generation: the agents write status often, and a status write
 * must not trigger a reconcile (the resync covers anything else). StatefulSet changes re-queue their owner, so
 * an Instance's status follows its pod and a hand-edited StatefulSet is re-applied.
 */
import type { KubernetesObject, V1StatefulSet } from "@kubernetes/client-node";
import { KIND_AVAILABILITY_GROUP, KIND_INSTANCE, type Clock, type SQLServerAvailabilityGroup, type SQLServerInstance } from "@sqlag/api";
import type { SupervisedInformer } from "@sqlag/kube";
import type { ControllerMetrics, ReconcileKind } from "../metrics.js";
import type { Logger } from "./logger.js";
import { reconcileAvailabilityGroup, reconcileInstance, type ReconcileDeps, type ReconcileOutcome } from "./reconcile.js";
import type { WorkQueue } from "./work-queue.js";

type AgObject = SQLServerAvailabilityGroup & KubernetesObject;
type InstanceObject = SQLServerInstance & KubernetesObject;

export interface ControllerRuntimeOptions {
  availabilityGroups: SupervisedInformer<AgObject>[];
  instances: SupervisedInformer<InstanceObject>[];
  statefulSets: SupervisedInformer<V1StatefulSet>[];
  queue: WorkQueue;
  deps: ReconcileDeps;
  clock: Clock;
  workers: number;
  resyncPeriodMs: number;
  metrics?: ControllerMetrics;
  logger: Logger;
}

const KEY_KIND: Record<ReconcileKind, string> = { availabilitygroup: KIND_AVAILABILITY_GROUP, instance: KIND_INSTANCE };

export function queueKey(kind: ReconcileKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function parseQueueKey(key: string): { kind: ReconcileKind; namespace: string; name: string } | undefined {
  const [kind, namespace, name, ...rest] = key.split("/");
  if ((kind !== "availabilitygroup" && kind !== "instance") || namespace === undefined || name === undefined || rest.length > 0) return undefined;
  return { kind, namespace, name };
}

export class ControllerRuntime {
  private readonly options: ControllerRuntimeOptions;
  /** Per CR: its generation and, for an AG, the pods its status lists (membership gates the StatefulSet size). */
  private readonly seenGenerations = new Map<string, string>();

  constructor(options: ControllerRuntimeOptions) {
    this.options = options;
    for (const informer of options.availabilityGroups) this.watchCustomResources(informer, "availabilitygroup");
    for (const informer of options.instances) this.watchCustomResources(informer, "instance");
    for (const informer of options.statefulSets) {
      informer.on("add", (sts) => this.enqueueOwner(sts, true));
      informer.on("update", (sts) => this.enqueueOwner(sts, false));
      informer.on("delete", (sts) => this.enqueueOwner(sts, true));
    }
  }

  private allInformers(): SupervisedInformer<KubernetesObject>[] {
    return [...this.options.availabilityGroups, ...this.options.instances, ...this.options.statefulSets] as SupervisedInformer<KubernetesObject>[];
  }

  /** Starts every informer; resolves after each finished its first attempt (failed ones keep retrying). */
  async startInformers(signal: AbortSignal): Promise<void> {
    await Promise.all(this.allInformers().map((i) => i.start(signal)));
  }

  informerHealth(): { informer: string; synced: boolean; healthy: boolean }[] {
    return this.allInformers().map((i) => ({ informer: i.name, synced: i.hasSynced(), healthy: i.healthy() }));
  }

  /** Reasons the caches cannot be trusted yet (empty = ready). */
  notReadyReasons(): string[] {
    return this.informerHealth().flatMap((i) => [
      ...(i.synced ? [] : [`informer ${i.informer} has not synced`]),
      ...(i.healthy ? [] : [`informer ${i.informer} has been unable to watch for too long`]),
    ]);
  }

  /**
   * Runs the workers and the resync until `signal` aborts (leadership ends or shutdown); waits for in-flight
   * reconciles to finish before resolving. Never acts on a cache that has not synced.
   */
  async runWorkers(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.options;
    while (!signal.aborted && this.notReadyReasons().some((r) => r.endsWith("has not synced"))) {
      try {
        await clock.sleep(200, signal);
      } catch {
        return;
      }
    }
    logger.info("Starting workers", { workers: this.options.workers });
    this.enqueueAll();
    const resync = this.resyncLoop(signal);
    const workers = Array.from({ length: this.options.workers }, () => this.workerLoop(signal));
    await Promise.all([...workers, resync]);
    logger.info("Workers stopped");
  }

  /** Processes one key (exported for tests and for the workers). */
  async processKey(key: string): Promise<ReconcileOutcome | undefined> {
    const { queue, deps, clock, metrics, logger } = this.options;
    const parsed = parseQueueKey(key);
    if (parsed === undefined) {
      queue.forget(key);
      return undefined;
    }
    const startedMs = clock.nowMs();
    const meta = { kind: KEY_KIND[parsed.kind], namespace: parsed.namespace, name: parsed.name };
    try {
      const outcome = parsed.kind === "availabilitygroup" ? await this.reconcileAg(parsed.namespace, parsed.name, deps) : await this.reconcileInstance(parsed.namespace, parsed.name, deps);
      const durationMs = clock.nowMs() - startedMs;
      if (outcome === undefined) {
        queue.forget(key); // deleted: owner references clean up the children
        this.seenGenerations.delete(key);
        return undefined;
      }
      metrics?.observeReconcile(parsed.kind, outcome.result, durationMs / 1000);
      if (outcome.requeue === "backoff") {
        const retryInMs = queue.addRateLimited(key);
        logger.warn("Reconcile failed", { ...meta, reason: outcome.reason, result: outcome.result, detail: outcome.message, retryInMs, durationMs });
      } else {
        queue.forget(key);
        const level = outcome.result === "success" || outcome.result === "skipped_deleting" ? "debug" : "warn";
        logger[level]("Reconciled", { ...meta, reason: outcome.reason, result: outcome.result, created: outcome.created, applied: outcome.applied, durationMs });
      }
      return outcome;
    } catch (e) {
      // Reconcilers classify their own failures; anything reaching here is a bug. Keep going, with backoff.
      const durationMs = clock.nowMs() - startedMs;
      metrics?.observeReconcile(parsed.kind, "unexpected_error", durationMs / 1000);
      const retryInMs = queue.addRateLimited(key);
      logger.error("Unexpected reconcile error", { ...meta, reason: "unexpected_error", err: describeError(e), retryInMs, durationMs });
      return undefined;
    }
  }

  private reconcileAg(namespace: string, name: string, deps: ReconcileDeps): Promise<ReconcileOutcome> | undefined {
    const cr = findIn(this.options.availabilityGroups, namespace, name);
    return cr === undefined ? undefined : reconcileAvailabilityGroup(cr, deps);
  }

  private reconcileInstance(namespace: string, name: string, deps: ReconcileDeps): Promise<ReconcileOutcome> | undefined {
    const cr = findIn(this.options.instances, namespace, name);
    if (cr === undefined) return undefined;
    const sts = findIn(this.options.statefulSets, namespace, name);
    const ownedSts = sts?.metadata?.ownerReferences?.some((o) => o.kind === KIND_INSTANCE && o.uid === cr.metadata.uid) === true ? sts : undefined;
    return reconcileInstance(cr, ownedSts, deps);
  }

  private async workerLoop(signal: AbortSignal): Promise<void> {
    const { queue } = this.options;
    for (;;) {
      const key = await queue.get(signal);
      if (key === undefined) return;
      try {
        await this.processKey(key);
      } finally {
        queue.done(key);
      }
    }
  }

  private async resyncLoop(signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        await this.options.clock.sleep(this.options.resyncPeriodMs, signal);
      } catch {
        return;
      }
      this.enqueueAll();
    }
  }

  private enqueueAll(): void {
    for (const informer of this.options.availabilityGroups) for (const cr of informer.list()) this.options.queue.add(queueKey("availabilitygroup", cr.metadata.namespace, cr.metadata.name));
    for (const informer of this.options.instances) for (const cr of informer.list()) this.options.queue.add(queueKey("instance", cr.metadata.namespace, cr.metadata.name));
  }

  private watchCustomResources(informer: SupervisedInformer<AgObject> | SupervisedInformer<InstanceObject>, kind: ReconcileKind): void {
    const enqueue = (obj: AgObject | InstanceObject, onlyOnGenerationChange: boolean): void => {
      const key = queueKey(kind, obj.metadata.namespace, obj.metadata.name);
      const generation = reconcileTrigger(obj);
      const seen = this.seenGenerations.has(key);
      if (onlyOnGenerationChange && seen && this.seenGenerations.get(key) === generation && obj.metadata.deletionTimestamp === undefined) return;
      this.seenGenerations.set(key, generation);
      this.options.queue.add(key);
    };
    const typed = informer as SupervisedInformer<AgObject | InstanceObject>;
    typed.on("add", (obj) => enqueue(obj, false));
    typed.on("update", (obj) => enqueue(obj, true));
    typed.on("delete", (obj) => {
      const key = queueKey(kind, obj.metadata.namespace, obj.metadata.name);
      this.seenGenerations.delete(key);
      this.options.queue.forget(key);
    });
  }

  private enqueueOwner(sts: V1StatefulSet, always: boolean): void {
    const namespace = sts.metadata?.namespace;
    if (namespace === undefined) return;
    for (const owner of sts.metadata?.ownerReferences ?? []) {
      if (owner.controller !== true) continue;
      if (owner.kind === KIND_INSTANCE) this.options.queue.add(queueKey("instance", namespace, owner.name));
      // An AG's status is the agent's; only a changed StatefulSet spec (drift) needs a reconcile.
      if (owner.kind === KIND_AVAILABILITY_GROUP && (always || stsSpecChanged(sts))) this.options.queue.add(queueKey("availabilitygroup", namespace, owner.name));
    }
  }
}

/** A StatefulSet whose spec changed and is not yet observed by its controller (someone edited it). */
function stsSpecChanged(sts: V1StatefulSet): boolean {
  return (sts.status?.observedGeneration ?? 0) < (sts.metadata?.generation ?? 0);
}

function findIn<T extends KubernetesObject>(informers: SupervisedInformer<T>[], namespace: string, name: string): T | undefined {
  for (const informer of informers) {
    const found = informer.get(namespace, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

function describeError(e: unknown): { name: string; message: string; stack?: string } {
  if (e instanceof Error) return { name: e.name, message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) };
  return { name: "unknown", message: String(e) };
}

/**
 * What must change for a CR update to need a reconcile: the generation (spec), and for an AG the set of pods its
 * status lists — when the lease holder removed a replica from the AG, the StatefulSet may shrink (see
 * agStatefulSetReplicaCount). Other status churn (timestamps, sync states) does not enqueue.
 */
export function reconcileTrigger(obj: { metadata: { generation?: number }; status?: unknown }): string {
  const statuses = (obj.status as { replicaStatuses?: readonly { pod?: string }[] } | undefined)?.replicaStatuses ?? [];
  return `${obj.metadata.generation ?? ""}|${statuses.map((status) => status.pod ?? "").sort().join(",")}`;
}
