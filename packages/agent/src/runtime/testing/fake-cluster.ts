/**
 * An in-memory stand-in for the few Kubernetes objects the agents share (ARCHITECTURE §3): the `<ag>-primary`
 * Lease, the AG custom resource (spec, status, annotations), the AG's pods (labels, IPs) and the `<ag>-hadr`
 * Secret (generated passwords and peer token, as the controller creates it). Each agent gets its own
 * `AgentKubePort` on the one shared store.
 *
 * The Lease goes through testkit's FakeLeaseStore and the REAL LeaseClient, so compare-and-swap, 409 as a lost
 * race, MicroTime validation and the epoch bump are the production code paths, not re-implementations.
 *
 * `cutFromApi(pod)` models a pod that lost the API server: its port's writes (Lease included) throw
 * KubeUnavailableError, and its reads keep returning the last state it saw, like an informer whose watch broke.
 */
import { randomBytes } from "node:crypto";
import type { CoreV1Event, V1Pod, V1Secret } from "@kubernetes/client-node";
import {
  KIND_LABEL_AG,
  agNames,
  annotations,
  hadrSecretKeys,
  selectorLabels,
  type Clock,
  type SQLServerAvailabilityGroup,
  type SQLServerAvailabilityGroupStatus,
} from "@sqlag/api";
import { EventRecorder, KubeUnavailableError, LeaseClient, leaseRecordFromWire, type EventSink, type LeaseApi, type LeaseRecord, type LeaseWire } from "@sqlag/kube";
import { FakeLeaseStore } from "@sqlag/testkit";
import type { AgentKubePort, KubeChangeKind } from "../kube-port.js";
import { toHadrSecret } from "../kube-io.js";
import type { HadrSecretStore } from "../sql-actions.js";

export interface FakeClusterOptions {
  clock: Clock;
  /** The AG custom resource; its metadata gives the cluster name and namespace. Copied. */
  cr: SQLServerAvailabilityGroup;
  /** Pod IP per ordinal (default 10.0.0.<ordinal+1>). */
  podIp?: (ordinal: number) => string;
}

export interface RecordedEvent {
  reporter: string;
  type: string;
  reason: string;
  message: string;
}

export interface StatusWrite {
  by: string;
  status: Record<string, unknown>;
}

/** Thrown by every write of a port that was cut from the API server. */
function unavailable(pod: string): KubeUnavailableError {
  return new KubeUnavailableError(`fake cluster: ${pod} is cut from the API server`);
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

function base64(value: string | Buffer): string {
  return (typeof value === "string" ? Buffer.from(value, "utf8") : value).toString("base64");
}

export class FakeCluster {
  readonly clock: Clock;
  readonly namespace: string;
  readonly clusterName: string;
  readonly leaseName: string;
  /** The Lease store; tests may inject failures or write it directly as another client would. */
  readonly leaseStore = new FakeLeaseStore();
  readonly events: RecordedEvent[] = [];
  readonly statusWrites: StatusWrite[] = [];
  private crObject: SQLServerAvailabilityGroup;
  private readonly podObjects = new Map<string, V1Pod>();
  private secretObject: V1Secret;
  private readonly cut = new Set<string>();
  private readonly changeListeners: ((kind: KubeChangeKind) => void)[] = [];

  constructor(options: FakeClusterOptions) {
    this.clock = options.clock;
    this.crObject = copy(options.cr);
    this.crObject.metadata.generation ??= 1;
    this.crObject.metadata.uid ??= "00000000-0000-0000-0000-00000000a9a9";
    this.namespace = this.crObject.metadata.namespace;
    this.clusterName = this.crObject.metadata.name;
    this.leaseName = agNames.lease(this.clusterName);
    // The controller creates the Lease empty and the Secret with generated passwords (ARCHITECTURE §3).
    this.leaseStore.put({ metadata: { name: this.leaseName, namespace: this.namespace }, spec: { holderIdentity: "", leaseTransitions: 0 } });
    const secret = (): string => randomBytes(18).toString("base64url");
    this.secretObject = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: agNames.hadrSecret(this.clusterName), namespace: this.namespace, resourceVersion: "1" },
      data: {
        [hadrSecretKeys.masterKeyPassword]: base64(`Mk-${secret()}`),
        [hadrSecretKeys.certificatePassword]: base64(`Cp-${secret()}`),
        [hadrSecretKeys.agentLoginPassword]: base64(`Ag-${secret()}`),
        [hadrSecretKeys.peerToken]: base64(secret()),
      },
    };
    const podIp = options.podIp ?? ((ordinal: number) => `10.0.0.${ordinal + 1}`);
    this.crObject.spec.replicas.forEach((_replica, ordinal) => this.addPod(ordinal, podIp(ordinal)));
  }

  // ---- the shared objects, as an administrator (or the controller) sees them --------------------------------

  get cr(): SQLServerAvailabilityGroup {
    return copy(this.crObject);
  }

  get status(): SQLServerAvailabilityGroupStatus | undefined {
    return this.crObject.status === undefined ? undefined : copy(this.crObject.status);
  }

  pod(name: string): V1Pod | undefined {
    const pod = this.podObjects.get(name);
    return pod === undefined ? undefined : copy(pod);
  }

  podLabels(name: string): Record<string, string> {
    return { ...(this.podObjects.get(name)?.metadata?.labels ?? {}) };
  }

  podNames(): string[] {
    return [...this.podObjects.keys()];
  }

  /** The Lease as stored (what `kubectl get lease` shows). */
  leaseRecord(): LeaseRecord | undefined {
    const wire = this.leaseStore.get(this.namespace, this.leaseName);
    return wire === undefined ? undefined : leaseRecordFromWire(wire as LeaseWire);
  }

  hadrSecret(): V1Secret {
    return copy(this.secretObject);
  }

  addPod(ordinal: number, ip: string): void {
    const name = agNames.pod(this.clusterName, ordinal);
    this.podObjects.set(name, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: this.namespace, labels: { ...selectorLabels(KIND_LABEL_AG, this.clusterName) } },
      status: { podIP: ip, phase: "Running" },
    });
  }

  /** Marks a pod as being deleted (deletionTimestamp set), as the API server does on `kubectl delete pod`. */
  markTerminating(name: string): void {
    const pod = this.podObjects.get(name);
    if (pod?.metadata !== undefined) pod.metadata.deletionTimestamp = this.clock.wallNow();
    this.changed("pods");
  }

  /**
   * The StatefulSet controller re-creates a deleted pod: same name and IP (the harness keeps addresses), labels
   * from the template only (no role label), no deletionTimestamp.
   */
  replacePod(name: string): void {
    const pod = this.podObjects.get(name);
    if (pod?.metadata === undefined) throw new Error(`fake cluster: pod ${name} not found`);
    this.podObjects.set(name, {
      ...pod,
      metadata: { name, namespace: this.namespace, labels: { ...selectorLabels(KIND_LABEL_AG, this.clusterName) } },
    });
    this.changed("pods");
  }

  /** Sets (string) or removes (null) an annotation on the CR, e.g. `sqlag.io/switchover-to`. */
  annotateCr(key: string, value: string | null): void {
    const current = { ...(this.crObject.metadata.annotations ?? {}) };
    if (value === null) delete current[key];
    else current[key] = value;
    this.crObject.metadata.annotations = current;
    this.changed("cr");
  }

  /** Edits the CR spec (a `kubectl apply`): bumps metadata.generation. */
  updateSpec(edit: (spec: SQLServerAvailabilityGroup["spec"]) => void): void {
    edit(this.crObject.spec);
    this.crObject.metadata.generation = (this.crObject.metadata.generation ?? 1) + 1;
  }

  /**
   * `kubectl delete` of the CR followed by a re-apply of the same spec over retained volumes: a new object (new
   * uid, generation 1, no status, no annotations) and a new empty Lease (the old one was owned by the CR and
   * garbage-collected; the controller creates it again). Pods and the `<ag>-hadr` Secret are kept here: the
   * scenario restarts the agents itself, and the Secret's passwords are what the retained instances know.
   */
  recreateCr(): void {
    const fresh = copy(this.crObject);
    delete fresh.status;
    fresh.metadata = { ...fresh.metadata, uid: randomBytes(16).toString("hex"), generation: 1, annotations: {} };
    this.crObject = fresh;
    this.leaseStore.delete(this.namespace, this.leaseName);
    this.leaseStore.put({ metadata: { name: this.leaseName, namespace: this.namespace }, spec: { holderIdentity: "", leaseTransitions: 0 } });
  }

  /** From now on `pod`'s port cannot reach the API server. */
  cutFromApi(pod: string): void {
    this.cut.add(pod);
  }

  restoreApi(pod: string): void {
    this.cut.delete(pod);
  }

  isCut(pod: string): boolean {
    return this.cut.has(pod);
  }

  /** A real EventRecorder whose sink records into `events`. */
  eventRecorder(pod: string): EventRecorder {
    const sink: EventSink = {
      create: async (_namespace: string, event: CoreV1Event) => {
        if (this.cut.has(pod)) throw unavailable(pod);
        this.events.push({ reporter: pod, type: event.type ?? "", reason: event.reason ?? "", message: event.message ?? "" });
      },
      updateCount: async (_namespace: string, _name: string, patch: { message: string }) => {
        if (this.cut.has(pod)) throw unavailable(pod);
        const last = [...this.events].reverse().find((e) => e.reporter === pod);
        if (last !== undefined) this.events.push({ ...last, message: patch.message });
      },
    };
    return new EventRecorder({ sink, clock: this.clock, component: "sqlag-agent", instance: pod, nameSuffix: () => randomBytes(4).toString("hex") });
  }

  /** The `AgentKubePort` of the agent running in `pod`. */
  /** @internal Watch events: every port hears of each change, after the write returned (as a watch would). */
  onChange(listener: (kind: KubeChangeKind) => void): void {
    this.changeListeners.push(listener);
  }

  private changed(kind: KubeChangeKind): void {
    setImmediate(() => {
      for (const listener of this.changeListeners) listener(kind);
    });
  }

  portFor(pod: string): AgentKubePort {
    return new FakeAgentKube(this, pod);
  }

  // ---- used by the ports ------------------------------------------------------------------------------------

  /** @internal */
  guard(pod: string): void {
    if (this.cut.has(pod)) throw unavailable(pod);
  }

  /** @internal */
  leaseApiFor(pod: string): LeaseApi {
    const store = this.leaseStore;
    return {
      readNamespacedLease: async (param) => {
        this.guard(pod);
        return (await store.readNamespacedLease(param)) as LeaseWire;
      },
      createNamespacedLease: async (param) => {
        this.guard(pod);
        const created = (await store.createNamespacedLease(param)) as LeaseWire;
        this.changed("lease");
        return created;
      },
      replaceNamespacedLease: async (param) => {
        this.guard(pod);
        const replaced = (await store.replaceNamespacedLease(param)) as LeaseWire;
        this.changed("lease");
        return replaced;
      },
    };
  }

  /** @internal */
  writePodLabels(pod: string, name: string, changes: Readonly<Record<string, string | null>>): void {
    this.guard(pod);
    const target = this.podObjects.get(name);
    if (target?.metadata === undefined) throw new Error(`fake cluster: pod ${name} not found`);
    const next = { ...(target.metadata.labels ?? {}) };
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete next[key];
      else next[key] = value;
    }
    target.metadata.labels = next;
    this.changed("pods");
  }

  /** @internal Server-side apply of the agent-owned status fields: the fields sent replace their old values. */
  writeStatus(pod: string, status: Record<string, unknown>): void {
    this.guard(pod);
    this.statusWrites.push({ by: pod, status: copy(status) });
    this.crObject.status = { ...(this.crObject.status ?? {}), ...(copy(status) as SQLServerAvailabilityGroupStatus) };
  }

  /** @internal */
  removeSwitchoverAnnotation(pod: string): void {
    this.guard(pod);
    this.annotateCr(annotations.switchoverTo, null);
  }

  /** @internal */
  readSecret(pod: string): V1Secret {
    this.guard(pod);
    return copy(this.secretObject);
  }

  /** @internal Stores the certificate unless one is there already; true when ours (or an identical one) is stored. */
  storeCertificate(pod: string, certificate: Buffer, privateKey: Buffer): boolean {
    this.guard(pod);
    const data = this.secretObject.data ?? {};
    const existing = data[hadrSecretKeys.certificate];
    if (existing !== undefined && existing !== "") return Buffer.from(existing, "base64").equals(certificate);
    this.secretObject = {
      ...this.secretObject,
      metadata: { ...this.secretObject.metadata, resourceVersion: String(Number(this.secretObject.metadata?.resourceVersion ?? "1") + 1) },
      data: { ...data, [hadrSecretKeys.certificate]: base64(certificate), [hadrSecretKeys.privateKey]: base64(privateKey) },
    };
    return true;
  }
}

function isOlder(candidate: string, current: string): boolean {
  if (!/^\d+$/.test(candidate) || !/^\d+$/.test(current)) return false;
  return BigInt(candidate) < BigInt(current);
}

/** One agent's view of the fake cluster: an always-current watch until cut, then frozen at the last state seen. */
class FakeAgentKube implements AgentKubePort {
  readonly leaseClient: LeaseClient;
  private latestLease: LeaseRecord | undefined;
  private cachedCr: SQLServerAvailabilityGroup | undefined;
  private cachedPods: V1Pod[] = [];
  private cachedSecret: V1Secret | undefined;

  constructor(
    private readonly cluster: FakeCluster,
    private readonly podName: string,
  ) {
    this.leaseClient = new LeaseClient({ api: cluster.leaseApiFor(podName), namespace: cluster.namespace, name: cluster.leaseName, clock: cluster.clock });
  }

  private get connected(): boolean {
    return !this.cluster.isCut(this.podName);
  }

  onChange(listener: (kind: KubeChangeKind) => void): void {
    this.cluster.onChange((kind) => {
      if (this.connected) listener(kind);
    });
  }

  lease(): { seen: boolean; record: LeaseRecord | undefined } {
    if (this.connected) {
      const stored = this.cluster.leaseRecord();
      if (stored !== undefined) this.foldLease(stored);
    }
    return { seen: this.latestLease !== undefined, record: this.latestLease };
  }

  foldLease(record: LeaseRecord): void {
    if (this.latestLease !== undefined && isOlder(record.resourceVersion, this.latestLease.resourceVersion)) return;
    this.latestLease = record;
  }

  cr(): SQLServerAvailabilityGroup | undefined {
    if (this.connected) this.cachedCr = this.cluster.cr;
    return this.cachedCr;
  }

  pods(): readonly V1Pod[] {
    if (this.connected) this.cachedPods = this.cluster.podNames().flatMap((name) => this.cluster.pod(name) ?? []);
    return this.cachedPods;
  }

  pod(name: string): V1Pod | undefined {
    return this.pods().find((p) => p.metadata?.name === name);
  }

  hadrSecret(): V1Secret | undefined {
    if (this.connected) this.cachedSecret = this.cluster.hadrSecret();
    return this.cachedSecret;
  }

  async patchPodLabels(pod: string, labelChanges: Readonly<Record<string, string | null>>, _signal: AbortSignal): Promise<void> {
    await Promise.resolve();
    this.cluster.writePodLabels(this.podName, pod, labelChanges);
  }

  async patchStatus(status: Record<string, unknown>, _signal: AbortSignal): Promise<void> {
    await Promise.resolve();
    this.cluster.writeStatus(this.podName, status);
  }

  async clearSwitchoverAnnotation(_signal: AbortSignal): Promise<void> {
    await Promise.resolve();
    this.cluster.removeSwitchoverAnnotation(this.podName);
  }

  secretStore(): HadrSecretStore {
    return {
      read: async () => {
        await Promise.resolve();
        return toHadrSecret(this.hadrSecret() ?? this.cluster.readSecret(this.podName));
      },
      publishCertificate: async (certificate, privateKey) => {
        await Promise.resolve();
        return this.cluster.storeCertificate(this.podName, certificate, privateKey);
      },
    };
  }
}
