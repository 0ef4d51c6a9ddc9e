/**
 * LeaseClient: the only code that writes a coordination.k8s.io/v1 Lease (ARCHITECTURE §4.2, §4.4). Used by the
 * controller's LeaderElector and by the agent's primary-lease logic; the decisions live in lease-math and in the
 * callers, this module only maps records and performs compare-and-swap writes.
 *
 * Invariants and failure modes:
 * - Every write is a REPLACE carrying the resourceVersion the caller observed, so a write based on a stale read
 *   fails with 409 instead of overwriting someone else's claim. 409 is the expected outcome of a lost race: it
 *   is returned as `{ ok: false, reason: "conflict" }`, never thrown and never logged as an error. Every other
 *   failure is thrown as a classified KubeError.
 * - acquireTime/renewTime are written as MicroTime (exactly six fractional digits); the API server rejects the
 *   three digits of Date.toISOString() with 400. Times read back stay raw strings: lease-math compares them for
 *   equality only, never against our clock.
 * - leaseTransitions (the epoch) is bumped whenever the holder changes, including from nobody to somebody, and
 *   kept on renewals and releases.
 * - Every result carries `sentAtMs`, the caller's monotonic time just BEFORE the request left. A holder must
 *   measure its renew deadline from the send time of its last successful renewal (§4.4), the conservative end:
 *   the API server may have stored the renewal at any point after it.
 */
import type { Clock } from "@sqlag/api";
import { CoordinationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { classifyKubeError, isAlreadyExists, isNotFound, LeaseConflictError } from "./errors.js";
import { makeApiClient, withSignal } from "./kube-config.js";
import { toMicroTime, type LeaseRecord } from "./lease-math.js";

/** The Lease as it travels on the wire. Times are `unknown` because client-node types them as Date but returns strings. */
export interface LeaseWire {
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

/** The subset of client-node's CoordinationV1Api the client needs; testkit's FakeLeaseStore implements it too. */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<LeaseWire>;
  createNamespacedLease(param: { namespace: string; body: LeaseWire }): Promise<LeaseWire>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: LeaseWire }): Promise<LeaseWire>;
}

export type LeaseWriteResult =
  | { ok: true; record: LeaseRecord; sentAtMs: number }
  | { ok: false; reason: "conflict"; sentAtMs: number };

/** Annotation changes applied with a write: a string sets the key, null removes it. */
export type AnnotationPatch = Readonly<Record<string, string | null>>;

function timeToString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date) return toMicroTime(value);
  return String(value);
}

/** Maps a wire Lease to lease-math's record (exported for tests and for callers holding a watched object). */
export function leaseRecordFromWire(lease: LeaseWire): LeaseRecord {
  const spec = lease.spec ?? {};
  const record: LeaseRecord = {
    holderIdentity: spec.holderIdentity ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion: lease.metadata?.resourceVersion ?? "",
    annotations: { ...(lease.metadata?.annotations ?? {}) },
  };
  const acquireTime = timeToString(spec.acquireTime);
  const renewTime = timeToString(spec.renewTime);
  if (acquireTime !== undefined) record.acquireTime = acquireTime;
  if (renewTime !== undefined) record.renewTime = renewTime;
  return record;
}

function patchedAnnotations(current: Readonly<Record<string, string>>, patch: AnnotationPatch | undefined): Record<string, string> {
  const result: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(patch ?? {})) {
    if (value === null) delete result[key];
    else result[key] = value;
  }
  return result;
}

export interface LeaseClientOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  clock: Clock;
}

export class LeaseClient {
  private readonly api: LeaseApi;
  readonly namespace: string;
  readonly name: string;
  private readonly clock: Clock;
  /**
   * Labels and owner references last seen on the Lease. A replace sends the whole object, so without these
   * every renewal would strip what the controller applied and the two writers would fight over the object.
   */
  private preservedMetadata: Pick<NonNullable<LeaseWire["metadata"]>, "labels" | "ownerReferences"> = {};

  constructor(options: LeaseClientOptions) {
    this.api = options.api;
    this.namespace = options.namespace;
    this.name = options.name;
    this.clock = options.clock;
  }

  /** Reads the Lease; undefined when it does not exist. */
  async read(signal: AbortSignal): Promise<LeaseRecord | undefined> {
    try {
      const lease = await withSignal(signal, () => this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }));
      this.remember(lease);
      return leaseRecordFromWire(lease);
    } catch (e) {
      const err = classifyKubeError(e);
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Creates an empty (unheld) Lease when none exists; an existing Lease is left untouched. */
  async createIfMissing(signal: AbortSignal): Promise<void> {
    try {
      await withSignal(signal, () => this.api.createNamespacedLease({ namespace: this.namespace, body: this.wire({ holderIdentity: "", leaseTransitions: 0 }) }));
    } catch (e) {
      const err = classifyKubeError(e);
      if (!isAlreadyExists(err)) throw err;
    }
  }

  /**
   * Claims the Lease for `identity`. `observed` is the record the caller judged claimable (free, expired on its
   * own clock, or already ours); undefined means the Lease did not exist, in which case it is created. When the
   * holder changes, leaseTransitions is bumped and acquireTime set.
   */
  async tryClaim(
    observed: LeaseRecord | undefined,
    identity: string,
    durationSeconds: number,
    signal: AbortSignal,
    annotations?: AnnotationPatch,
  ): Promise<LeaseWriteResult> {
    const now = toMicroTime(this.clock.wallNow());
    if (observed === undefined) {
      const body = this.wire(
        { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 1 },
        patchedAnnotations({}, annotations),
      );
      return this.write(signal, () => this.api.createNamespacedLease({ namespace: this.namespace, body }));
    }
    const holderChanges = observed.holderIdentity !== identity;
    return this.replace(observed, signal, {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: holderChanges ? now : (observed.acquireTime ?? now),
      renewTime: now,
      leaseTransitions: holderChanges ? observed.leaseTransitions + 1 : observed.leaseTransitions,
    }, annotations);
  }

  /** Renews a Lease the caller holds: only renewTime (and the duration) change. */
  async tryRenew(observed: LeaseRecord, identity: string, durationSeconds: number, signal: AbortSignal, annotations?: AnnotationPatch): Promise<LeaseWriteResult> {
    if (observed.holderIdentity !== identity) {
      // Renewing somebody else's Lease would be a claim without the transition bump; refuse like a lost race.
      return { ok: false, reason: "conflict", sentAtMs: this.clock.nowMs() };
    }
    return this.tryClaim(observed, identity, durationSeconds, signal, annotations);
  }

  /**
   * Gives the Lease up (client-go ReleaseOnCancel): empty holder, leaseDurationSeconds 1, transitions kept, so
   * any contender may claim it at once. Only call once the guarded work (writes, the primary role) has stopped.
   */
  async release(observed: LeaseRecord, annotations: AnnotationPatch, signal: AbortSignal): Promise<LeaseWriteResult> {
    const now = toMicroTime(this.clock.wallNow());
    return this.replace(observed, signal, {
      holderIdentity: "",
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: observed.leaseTransitions,
    }, annotations);
  }

  /**
   * Planned switchover: the holder writes `newHolder` as holder in one compare-and-swap on the observed
   * resourceVersion. The epoch advances; the new holder is expected to renew before the duration runs out.
   */
  async handOver(observed: LeaseRecord, newHolder: string, signal: AbortSignal, annotations?: AnnotationPatch): Promise<LeaseWriteResult> {
    const now = toMicroTime(this.clock.wallNow());
    return this.replace(observed, signal, {
      holderIdentity: newHolder,
      leaseDurationSeconds: observed.leaseDurationSeconds,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: observed.leaseTransitions + 1,
    }, annotations);
  }

  private replace(
    observed: LeaseRecord,
    signal: AbortSignal,
    spec: NonNullable<LeaseWire["spec"]>,
    annotations: AnnotationPatch | undefined,
  ): Promise<LeaseWriteResult> {
    const body = this.wire(spec, patchedAnnotations(observed.annotations, annotations), observed.resourceVersion);
    return this.write(signal, () => this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }));
  }

  private async write(signal: AbortSignal, call: () => Promise<LeaseWire>): Promise<LeaseWriteResult> {
    const sentAtMs = this.clock.nowMs();
    try {
      const stored = await withSignal(signal, call);
      this.remember(stored);
      return { ok: true, record: leaseRecordFromWire(stored), sentAtMs };
    } catch (e) {
      const err = classifyKubeError(e, { conflictIsLease: true });
      if (err instanceof LeaseConflictError) return { ok: false, reason: "conflict", sentAtMs };
      throw err;
    }
  }

  private remember(lease: LeaseWire): void {
    const preserved: typeof this.preservedMetadata = {};
    if (lease.metadata?.labels !== undefined) preserved.labels = { ...lease.metadata.labels };
    if (lease.metadata?.ownerReferences !== undefined) preserved.ownerReferences = [...lease.metadata.ownerReferences];
    this.preservedMetadata = preserved;
  }

  private wire(spec: NonNullable<LeaseWire["spec"]>, annotations?: Record<string, string>, resourceVersion?: string): LeaseWire {
    const metadata: NonNullable<LeaseWire["metadata"]> = { name: this.name, namespace: this.namespace };
    if (resourceVersion !== undefined) {
      metadata.resourceVersion = resourceVersion;
      Object.assign(metadata, this.preservedMetadata);
    }
    if (annotations !== undefined && Object.keys(annotations).length > 0) metadata.annotations = annotations;
    return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata, spec };
  }
}

/** A LeaseClient on the real API server, for the Lease `namespace/name`. */
export function createLeaseClient(kc: KubeConfig, namespace: string, name: string, clock: Clock): LeaseClient {
  const api: LeaseApi = makeApiClient(kc, CoordinationV1Api);
  return new LeaseClient({ api, namespace, name, clock });
}
