import { FakeApiError } from "./fake-api-error.js";

/** Structural copy of a coordination.k8s.io/v1 Lease (testkit does not depend on client-node or @sqlag/kube). */
export interface FakeLease {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: { [key: string]: string };
    labels?: { [key: string]: string };
    ownerReferences?: unknown[];
  };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: unknown;
    renewTime?: unknown;
    leaseTransitions?: number;
  };
}

export type FakeLeaseOperation = "read" | "create" | "replace";

export interface FakeLeaseRequest {
  operation: FakeLeaseOperation;
  namespace: string;
  name: string;
  /** The body exactly as it would be serialized (JSON round trip), for wire-format assertions. */
  body?: FakeLease;
}

/** client-go's MicroTime layout: RFC 3339 with exactly six fractional digits. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/**
 * An in-memory Lease store with the API server's optimistic concurrency: replace with a stale resourceVersion
 * answers 409, create of an existing Lease answers 409 AlreadyExists, a missing Lease answers 404, and a time
 * that is not MicroTime answers 400 (as kube-apiserver does). Implements the LeaseApi port of @sqlag/kube.
 */
export class FakeLeaseStore {
  private readonly leases = new Map<string, FakeLease>();
  private nextResourceVersion = 1;
  private readonly injected: { operation: FakeLeaseOperation; error: unknown }[] = [];
  readonly requests: FakeLeaseRequest[] = [];

  private outage: unknown = undefined;

  /** Every call throws `error` until `endOutage()` (an unreachable or failing API server). */
  startOutage(error: unknown): void {
    this.outage = error;
  }

  endOutage(): void {
    this.outage = undefined;
  }

  /** Makes the next call of `operation` throw `error` (queued, one per call). */
  failNext(operation: FakeLeaseOperation, error: unknown): void {
    this.injected.push({ operation, error });
  }

  /** Writes a Lease directly, as another client would; returns the stored copy with a fresh resourceVersion. */
  put(lease: FakeLease): FakeLease {
    const stored = this.stamp(lease);
    this.leases.set(this.key(stored.metadata?.namespace ?? "", stored.metadata?.name ?? ""), stored);
    return clone(stored);
  }

  get(namespace: string, name: string): FakeLease | undefined {
    const lease = this.leases.get(this.key(namespace, name));
    return lease === undefined ? undefined : clone(lease);
  }

  delete(namespace: string, name: string): void {
    this.leases.delete(this.key(namespace, name));
  }

  async readNamespacedLease(param: { name: string; namespace: string }): Promise<FakeLease> {
    this.record("read", param.namespace, param.name);
    await Promise.resolve();
    this.throwInjected("read");
    const lease = this.leases.get(this.key(param.namespace, param.name));
    if (lease === undefined) throw FakeApiError.notFound();
    return clone(lease);
  }

  async createNamespacedLease(param: { namespace: string; body: FakeLease }): Promise<FakeLease> {
    const body = clone(param.body);
    const name = body.metadata?.name ?? "";
    this.record("create", param.namespace, name, body);
    await Promise.resolve();
    this.throwInjected("create");
    validateTimes(body);
    if (this.leases.has(this.key(param.namespace, name))) throw FakeApiError.alreadyExists();
    body.metadata = { ...body.metadata, namespace: param.namespace };
    delete body.metadata.resourceVersion;
    return this.put(body);
  }

  async replaceNamespacedLease(param: { name: string; namespace: string; body: FakeLease }): Promise<FakeLease> {
    const body = clone(param.body);
    this.record("replace", param.namespace, param.name, body);
    await Promise.resolve();
    this.throwInjected("replace");
    validateTimes(body);
    const current = this.leases.get(this.key(param.namespace, param.name));
    if (current === undefined) throw FakeApiError.notFound();
    const sent = body.metadata?.resourceVersion;
    if (sent === undefined || sent === "") throw FakeApiError.invalid("metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
    if (sent !== current.metadata?.resourceVersion) throw FakeApiError.conflict();
    return this.put({ ...body, metadata: { ...body.metadata, namespace: param.namespace, name: param.name } });
  }

  private stamp(lease: FakeLease): FakeLease {
    const copy = clone(lease);
    copy.metadata = { ...copy.metadata, resourceVersion: String(this.nextResourceVersion++) };
    return copy;
  }

  private throwInjected(operation: FakeLeaseOperation): void {
    if (this.outage !== undefined) throw this.outage;
    const index = this.injected.findIndex((i) => i.operation === operation);
    if (index < 0) return;
    const [entry] = this.injected.splice(index, 1);
    throw entry?.error;
  }

  private record(operation: FakeLeaseOperation, namespace: string, name: string, body?: FakeLease): void {
    this.requests.push(body === undefined ? { operation, namespace, name } : { operation, namespace, name, body });
  }

  private key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }
}

function validateTimes(lease: FakeLease): void {
  for (const field of ["acquireTime", "renewTime"] as const) {
    const value = lease.spec?.[field];
    if (value !== undefined && (typeof value !== "string" || !MICRO_TIME.test(value))) {
      throw FakeApiError.invalid(`spec.${field}: cannot parse ${JSON.stringify(value)} as MicroTime`);
    }
  }
}

/** A JSON round trip: what the server would receive and store (Dates become their toJSON strings). */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
