/**
 * The agent's Kubernetes side (ARCHITECTURE §3 RBAC list): watch-based caches for the Lease, the CR, the AG's
 * pods and the `<ag>-hadr` Secret (watches cost no request per cycle, keeping a replica well under its API
 * budget), the LeaseClient for compare-and-swap writes, and the few writes an agent makes: its pods' role
 * labels, the CR status (as field manager sqlag-agent), the certificate into the Secret, and Events.
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  ListWatch,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Lease,
  type V1Pod,
  type V1Secret,
} from "@kubernetes/client-node";
import {
  API_GROUP,
  API_VERSION,
  FIELD_MANAGER_AGENT,
  KIND_AVAILABILITY_GROUP,
  KIND_LABEL_AG,
  PLURAL_AVAILABILITY_GROUPS,
  agNames,
  annotations,
  hadrSecretKeys,
  selectorLabels,
  type Clock,
  type SQLServerAvailabilityGroup,
} from "@sqlag/api";
import {
  KubeObjectWriter,
  LeaseClient,
  SupervisedInformer,
  classifyKubeError,
  leaseRecordFromWire,
  makeApiClient,
  withSignal,
  type InformerLike,
  type InformerSupervisorEvent,
  type LeaseRecord,
  type LeaseWire,
} from "@sqlag/kube";
import type { AgentKubePort, KubeChangeKind } from "./kube-port.js";
import type { HadrSecret, HadrSecretStore } from "./sql-actions.js";

export interface AgentKubeOptions {
  kc: KubeConfig;
  clock: Clock;
  namespace: string;
  clusterName: string;
  onInformerEvent?: (event: InformerSupervisorEvent) => void;
}

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const v = data?.[key];
  return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
}
function decodeBinary(data: Record<string, string> | undefined, key: string): Buffer | undefined {
  const v = data?.[key];
  return v === undefined || v === "" ? undefined : Buffer.from(v, "base64");
}

/** Compares resourceVersions when both are numeric (etcd's are); otherwise trusts the newer arrival. */
function isOlder(candidate: string, current: string): boolean {
  if (!/^\d+$/.test(candidate) || !/^\d+$/.test(current)) return false;
  return BigInt(candidate) < BigInt(current);
}

export class AgentKube implements AgentKubePort {
  readonly leaseClient: LeaseClient;
  readonly leaseInformer: SupervisedInformer<V1Lease>;
  readonly crInformer: SupervisedInformer<SQLServerAvailabilityGroup & KubernetesObject>;
  readonly podInformer: SupervisedInformer<V1Pod>;
  private secretValue: V1Secret | undefined;
  private readonly secretListeners: ((secret: V1Secret) => void)[] = [];
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly writer: KubeObjectWriter;
  private latestLease: LeaseRecord | undefined;
  private leaseSeen = false;
  private readonly changeListeners: ((kind: KubeChangeKind) => void)[] = [];

  constructor(private readonly options: AgentKubeOptions) {
    const { kc, namespace, clusterName, clock } = options;
    this.core = makeApiClient(kc, CoreV1Api);
    const coordination = makeApiClient(kc, CoordinationV1Api);
    const custom = makeApiClient(kc, CustomObjectsApi);
    this.custom = custom;
    this.writer = KubeObjectWriter.fromKubeConfig(kc);
    this.leaseClient = new LeaseClient({ api: coordination, namespace, name: agNames.lease(clusterName), clock });

    const byName = (name: string): string => `metadata.name=${name}`;
    const watch = new Watch(kc);
    const supervise = <T extends KubernetesObject>(name: string, informer: InformerLike<T>): SupervisedInformer<T> =>
      new SupervisedInformer<T>({ name, informer, clock, ...(options.onInformerEvent !== undefined ? { onEvent: options.onInformerEvent } : {}) });
    const listWatch = <T extends KubernetesObject>(path: string, list: () => Promise<KubernetesListObject<T>>, labelSelector?: string, fieldSelector?: string): InformerLike<T> =>
      new ListWatch<T>(path, watch, list, false, labelSelector, fieldSelector) as unknown as InformerLike<T>;

    const leaseName = agNames.lease(clusterName);
    this.leaseInformer = supervise(
      "lease",
      listWatch<V1Lease>(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, () => coordination.listNamespacedLease({ namespace, fieldSelector: byName(leaseName) }), undefined, byName(leaseName)),
    );
    const onLease = (lease: V1Lease): void => {
      this.foldLease(leaseRecordFromWire(lease as LeaseWire));
      this.changed("lease");
    };
    this.leaseInformer.on("add", onLease);
    this.leaseInformer.on("update", onLease);
    this.leaseInformer.on("delete", () => {
      this.latestLease = undefined;
      this.changed("lease");
    });

    this.crInformer = supervise(
      "availabilitygroup",
      listWatch(
        `/apis/${API_GROUP}/${API_VERSION}/namespaces/${namespace}/${PLURAL_AVAILABILITY_GROUPS}`,
        () =>
          custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL_AVAILABILITY_GROUPS, fieldSelector: byName(clusterName) }) as Promise<
            KubernetesListObject<SQLServerAvailabilityGroup & KubernetesObject>
          >,
        undefined,
        byName(clusterName),
      ),
    );

    const selector = Object.entries(selectorLabels(KIND_LABEL_AG, clusterName))
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    this.podInformer = supervise("pods", listWatch<V1Pod>(`/api/v1/namespaces/${namespace}/pods`, () => this.core.listNamespacedPod({ namespace, labelSelector: selector }), selector));
    for (const verb of ["add", "update", "delete"] as const) {
      this.crInformer.on(verb, () => this.changed("cr"));
      this.podInformer.on(verb, () => this.changed("pods"));
    }
  }

  onChange(listener: (kind: KubeChangeKind) => void): void {
    this.changeListeners.push(listener);
  }

  private changed(kind: KubeChangeKind): void {
    for (const listener of this.changeListeners) listener(kind);
  }

  async start(signal: AbortSignal): Promise<void> {
    await Promise.all([this.leaseInformer.start(signal), this.crInformer.start(signal), this.podInformer.start(signal)]);
    void this.pollSecret(signal);
  }

  /**
   * The `<ag>-hadr` Secret is READ with GET on a slow cadence, not watched: RBAC can grant list/watch by name
   * only to a controller that itself may list/watch every Secret, which is the cluster-wide Secret access we
   * refuse to require (peer-sql-on-k8s-operator.md §7.5). It changes only at bootstrap (certificate) and when
   * an administrator rotates it.
   */
  private async pollSecret(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.refreshSecret(AbortSignal.any([signal, AbortSignal.timeout(5000)])).catch(() => undefined);
      const delayMs = this.secretValue?.data?.[hadrSecretKeys.certificate] === undefined ? 2000 : 30_000;
      await this.options.clock.sleep(delayMs, signal).catch(() => undefined);
    }
  }

  /** Reads the Secret now (also used right after this agent published the certificate). */
  async refreshSecret(signal: AbortSignal): Promise<V1Secret> {
    const name = agNames.hadrSecret(this.options.clusterName);
    try {
      const secret = await withSignal(signal, () => this.core.readNamespacedSecret({ name, namespace: this.options.namespace }));
      this.secretValue = secret;
      for (const listener of this.secretListeners) listener(secret);
      return secret;
    } catch (e) {
      throw classifyKubeError(e);
    }
  }

  /** Called with every successful read of the hadr Secret. */
  onSecret(listener: (secret: V1Secret) => void): void {
    this.secretListeners.push(listener);
  }

  informers(): readonly SupervisedInformer<KubernetesObject>[] {
    return [this.leaseInformer, this.crInformer, this.podInformer] as unknown as SupervisedInformer<KubernetesObject>[];
  }

  /** Newest Lease record known from the watch or from our own writes; undefined when none exists or never read. */
  lease(): { seen: boolean; record: LeaseRecord | undefined } {
    return { seen: this.leaseSeen || this.leaseInformer.hasSynced(), record: this.latestLease };
  }

  /** Folds a record from a write result or the watch, ignoring one older than what we already have. */
  foldLease(record: LeaseRecord): void {
    if (this.latestLease !== undefined && isOlder(record.resourceVersion, this.latestLease.resourceVersion)) return;
    this.latestLease = record;
    this.leaseSeen = true;
  }

  cr(): SQLServerAvailabilityGroup | undefined {
    return this.crInformer.get(this.options.namespace, this.options.clusterName);
  }

  pods(): readonly V1Pod[] {
    return this.podInformer.list(this.options.namespace);
  }

  pod(name: string): V1Pod | undefined {
    return this.podInformer.get(this.options.namespace, name);
  }

  hadrSecret(): V1Secret | undefined {
    return this.secretValue;
  }

  /** Sets (string) or removes (null) labels on one pod of the AG with a JSON merge patch. */
  async patchPodLabels(pod: string, labelChanges: Readonly<Record<string, string | null>>, signal: AbortSignal): Promise<void> {
    try {
      await withSignal(signal, () =>
        this.core.patchNamespacedPod(
          { name: pod, namespace: this.options.namespace, body: { metadata: { labels: labelChanges } }, fieldManager: FIELD_MANAGER_AGENT },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
      );
    } catch (e) {
      throw classifyKubeError(e);
    }
  }

  /** SSA of the status fields the lease-holding agent owns (ARCHITECTURE §3). */
  async patchStatus(status: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    await this.writer.patchStatus(
      {
        group: API_GROUP,
        version: API_VERSION,
        kind: KIND_AVAILABILITY_GROUP,
        plural: PLURAL_AVAILABILITY_GROUPS,
        namespace: this.options.namespace,
        name: this.options.clusterName,
      },
      status,
      FIELD_MANAGER_AGENT,
      signal,
    );
  }

  /**
   * Removes `sqlag.io/switchover-to` from the CR once the request was carried out (the Lease was handed over),
   * so a stale request cannot pull the primary back later. Merge patch on metadata only.
   */
  async clearSwitchoverAnnotation(signal: AbortSignal): Promise<void> {
    try {
      await withSignal(signal, () =>
        this.custom.patchNamespacedCustomObject(
          {
            group: API_GROUP,
            version: API_VERSION,
            namespace: this.options.namespace,
            plural: PLURAL_AVAILABILITY_GROUPS,
            name: this.options.clusterName,
            body: { metadata: { annotations: { [annotations.switchoverTo]: null } } },
            fieldManager: FIELD_MANAGER_AGENT,
          },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
      );
    } catch (e) {
      throw classifyKubeError(e);
    }
  }

  /** The `<ag>-hadr` Secret as a HadrSecretStore (reads the watch cache, falls back to a GET). */
  secretStore(): HadrSecretStore {
    const name = agNames.hadrSecret(this.options.clusterName);
    const namespace = this.options.namespace;
    const read = async (signal: AbortSignal): Promise<V1Secret> => {
      try {
        return await withSignal(signal, () => this.core.readNamespacedSecret({ name, namespace }));
      } catch (e) {
        throw classifyKubeError(e);
      }
    };
    return {
      read: async (signal) => {
        const secret = this.hadrSecret() ?? (await read(signal));
        return toHadrSecret(secret);
      },
      publishCertificate: async (certificate, privateKey, signal) => {
        const current = await read(signal);
        const existing = decodeBinary(current.data, hadrSecretKeys.certificate);
        if (existing !== undefined) return existing.equals(certificate);
        const body: V1Secret = {
          ...current,
          data: {
            ...(current.data ?? {}),
            [hadrSecretKeys.certificate]: certificate.toString("base64"),
            [hadrSecretKeys.privateKey]: privateKey.toString("base64"),
          },
        };
        try {
          this.secretValue = await withSignal(signal, () => this.core.replaceNamespacedSecret({ name, namespace, body }));
          return true;
        } catch (e) {
          throw classifyKubeError(e);
        }
      },
    };
  }
}

export class MissingSecretKeyError extends Error {
  override readonly name = "MissingSecretKeyError";
}

export function toHadrSecret(secret: V1Secret): HadrSecret {
  const required = (key: string): string => {
    const value = decode(secret.data, key);
    if (value === undefined || value === "") {
      throw new MissingSecretKeyError(`Secret ${secret.metadata?.name ?? "?"} has no key "${key}"; the controller creates it — check that the controller is running`);
    }
    return value;
  };
  const result: HadrSecret = {
    masterKeyPassword: required(hadrSecretKeys.masterKeyPassword),
    certificatePassword: required(hadrSecretKeys.certificatePassword),
    agentLoginPassword: required(hadrSecretKeys.agentLoginPassword),
  };
  const peerToken = decode(secret.data, hadrSecretKeys.peerToken);
  if (peerToken !== undefined) result.peerToken = peerToken;
  const certificate = decodeBinary(secret.data, hadrSecretKeys.certificate);
  const privateKey = decodeBinary(secret.data, hadrSecretKeys.privateKey);
  if (certificate !== undefined && privateKey !== undefined) {
    result.certificate = certificate;
    result.privateKey = privateKey;
  }
  return result;
}
