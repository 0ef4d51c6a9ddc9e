/** Minimal object shape the fake informer indexes by (structurally compatible with client-node's KubernetesObject). */
export interface FakeInformerObject {
  metadata?: { name?: string; namespace?: string };
}

type Callback = (arg?: unknown) => void;

/**
 * Behaves like client-node's ListWatch for the parts a supervisor sees: `start()` fires `connect`, then either
 * fires `error` (queued list failures) and resolves, or resolves with the cache filled; `add/update/remove`
 * drive watch events. Implements @sqlag/kube's InformerLike.
 */
export class FakeInformer<T extends FakeInformerObject> {
  private readonly callbacks: Record<string, Callback[]> = { add: [], update: [], delete: [], error: [], connect: [] };
  private readonly objects = new Map<string, T>();
  starts = 0;
  stops = 0;
  /** Errors the next start() calls report through `error` (one per call). */
  listFailures: unknown[] = [];

  on(verb: "add" | "update" | "delete", cb: (obj: T) => void): void;
  on(verb: "error" | "connect", cb: (err?: unknown) => void): void;
  on(verb: string, cb: ((obj: T) => void) | ((err?: unknown) => void)): void {
    this.callbacks[verb]?.push(cb as Callback);
  }

  async start(): Promise<void> {
    this.starts += 1;
    this.fire("connect");
    const failure = this.listFailures.shift();
    if (failure !== undefined) this.fire("error", failure);
  }

  async stop(): Promise<void> {
    this.stops += 1;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(this.key(namespace, name));
  }

  list(namespace?: string): ReadonlyArray<T> {
    return [...this.objects.values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }

  add(obj: T): void {
    this.objects.set(this.key(obj.metadata?.namespace, obj.metadata?.name), obj);
    this.fire("add", obj);
  }

  update(obj: T): void {
    this.objects.set(this.key(obj.metadata?.namespace, obj.metadata?.name), obj);
    this.fire("update", obj);
  }

  remove(obj: T): void {
    this.objects.delete(this.key(obj.metadata?.namespace, obj.metadata?.name));
    this.fire("delete", obj);
  }

  /** Fires an arbitrary callback (e.g. `error` when the watch dies). */
  fire(verb: string, arg?: unknown): void {
    for (const cb of this.callbacks[verb] ?? []) cb(arg);
  }

  private key(namespace: string | undefined, name: string | undefined): string {
    return `${namespace ?? ""}/${name ?? ""}`;
  }
}
