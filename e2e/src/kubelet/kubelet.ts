/**
 * The fake kubelet: registers fake Nodes, binds pending pods to them (there is no kube-scheduler), and runs
 * each bound pod's containers as local processes through a `PodWorker` per pod uid. One instance serves all
 * its nodes from one pod informer; everything it starts is killed by pid on `stop()`.
 *
 * Realism we keep on purpose: pods get their own IP (processes bind 127.0.X.Y; the API shows 198.18.X.Y because
 * EndpointSlice validation refuses loopback addresses — see `publishedAddressOf`), status conditions and container statuses
 * as a kubelet reports them, node Leases in kube-node-lease, pod ServiceAccount tokens from the TokenRequest
 * API (so RBAC applies to our programs), and graceful deletion finalised with `gracePeriodSeconds: 0` only
 * after the containers stopped. What we do not model: cgroups/resources, image pulls, host networking.
 */
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import {
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type Informer,
  type KubeConfig,
  type ObjectCache,
  type V1ConfigMap,
  type V1Node,
  type V1Pod,
  type V1PodStatus,
  type V1Secret,
  type V1Taint,
} from "@kubernetes/client-node";
import { realBackoffPolicy, type BackoffPolicy } from "./backoff.js";
import { PodIpAllocator, type PodIpRange } from "./ip-allocator.js";
import { describeApiError, PodWorker, type ContainerHandle, type PodWorkerHost } from "./pod-worker.js";
import { defaultExecHandlers, type ExecProbeHandler } from "./probes.js";
import { defaultImageRuntimes, type ImageRuntimeMap } from "./runtime.js";
import { choosePlacement, type PlacedPod, type SchedulableNode } from "./scheduling.js";
import { ApiServerProxy } from "../faults/api-proxy.js";

export interface FakeNodeSpec {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly V1Taint[];
}

export interface KubeletOptions {
  /** Admin identity: the kubelet binds pods, writes status and mints tokens with it. */
  readonly kubeConfig: KubeConfig;
  /** Logs, pod files and PVC data live here (`pods/<ns>_<pod>/`, `pvc/<ns>/<claim>/`). */
  readonly workDir: string;
  /** The API server CA (PEM) for the pods' kubeconfigs; defaults to the kubeConfig cluster's CA data. */
  readonly caPem?: string;
  /** Default: node-a, node-b, node-c. */
  readonly nodes?: readonly FakeNodeSpec[];
  /** Default: `defaultImageRuntimes({ repoRoot })`. */
  readonly runtimes?: ImageRuntimeMap;
  /** Repository root; defaults to three levels above this file's directory in dist. */
  readonly repoRoot?: string;
  /** Default: the real 10 s → 5 min policy; tests pass `scaledBackoffPolicy(0.01)`. */
  readonly backoff?: BackoffPolicy;
  readonly execHandlers?: readonly ExecProbeHandler[];
  /** Third octets for pod IPs; default 127.0.16.x – 127.0.254.x with a random start. */
  readonly podIpRange?: PodIpRange;
  /** How often each pod worker reconciles (default 200 ms). */
  readonly syncIntervalMs?: number;
  /** Node Lease renew and Node status heartbeat interval (default 10 s, as the kubelet). */
  readonly nodeHeartbeatIntervalMs?: number;
  /** Cluster DNS domain for the fake DNS file (default cluster.local; ARCHITECTURE §3 keeps it configurable). */
  readonly clusterDomain?: string;
  /** Only manage pods in these namespaces (default: all). Lets several kubelets share one control plane. */
  readonly namespaces?: readonly string[];
}

/** A running pod as tests and faults see it. */
export interface PodHandle {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  /** Where the pod's processes listen (127.0.X.Y); the API shows 198.18.X.Y (see `publishedAddressOf`). */
  readonly podIp: string;
  readonly hostIp: string;
  readonly containers: readonly ContainerHandle[];
  container(name: string): ContainerHandle | undefined;
  /** The pod's private door to the API server (cut/restore). */
  readonly apiProxy: ApiServerProxy | undefined;
  /** KUBECONFIG of the pod's processes: its own ServiceAccount token, server = its API proxy. */
  readonly kubeconfigPath: string | undefined;
  readonly terminating: boolean;
}

export class UnknownNodeError extends Error {
  constructor(name: string) {
    super(`the fake kubelet has no node named "${name}"`);
    this.name = "UnknownNodeError";
  }
}

interface FakeNode {
  readonly spec: FakeNodeSpec;
  readonly hostIp: string;
  alive: boolean;
  /** Last Ready condition status posted, and since when (lastTransitionTime only moves on a change). */
  readyStatus?: { status: "True" | "Unknown"; since: string };
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const defaultNodes: readonly FakeNodeSpec[] = [{ name: "node-a" }, { name: "node-b" }, { name: "node-c" }];

function isNotFound(error: unknown): boolean {
  return typeof error === "object" && error != null && (error as { code?: number }).code === 404;
}
function isConflict(error: unknown): boolean {
  return typeof error === "object" && error != null && (error as { code?: number }).code === 409;
}

/** Lease `renewTime` is a MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function defaultRepoRoot(): string {
  // dist/kubelet/kubelet.js → e2e/dist/kubelet → repo root is three levels up.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
}

export class Kubelet {
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly nodes = new Map<string, FakeNode>();
  private readonly workers = new Map<string, PodWorker>();
  private readonly finalizedUids = new Set<string>();
  private readonly pendingBindings = new Map<string, PlacedPod>();
  private readonly unschedulableMessages = new Map<string, string>();
  private readonly ipAllocator: PodIpAllocator;
  private readonly runtimes: ImageRuntimeMap;
  private readonly backoff: BackoffPolicy;
  private readonly execHandlers: readonly ExecProbeHandler[];
  private readonly caPem: string;
  private readonly apiServerUrl: string;
  private informer: (Informer<V1Pod> & ObjectCache<V1Pod>) | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private scheduling: Promise<void> = Promise.resolve();
  private stopped = false;
  private informerRestartTimer: NodeJS.Timeout | undefined;
  private readonly dnsNamesByUid = new Map<string, { names: string[]; ip: string }>();
  private readonly lastIpByPodKey = new Map<string, string>();
  /** hostname → pod IP for every pod this kubelet runs (`SQLAG_FAKE_DNS_FILE`); there is no cluster DNS. */
  readonly dnsFilePath: string;

  private constructor(private readonly options: KubeletOptions) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.coordination = options.kubeConfig.makeApiClient(CoordinationV1Api);
    const cluster = options.kubeConfig.getCurrentCluster();
    if (cluster == null) throw new Error("the kubelet's kubeConfig has no current cluster");
    this.apiServerUrl = cluster.server;
    this.dnsFilePath = path.join(options.workDir, "fake-dns.json");
    this.logPath = path.join(options.workDir, "kubelet.log");
    this.caPem = options.caPem ?? (cluster.caData != null ? Buffer.from(cluster.caData, "base64").toString("utf8") : "");
    const range = options.podIpRange ?? { firstThirdOctet: 16, lastThirdOctet: 254 };
    const size = (range.lastThirdOctet - range.firstThirdOctet + 1) * 254;
    this.ipAllocator = new PodIpAllocator(range, Math.floor(Math.random() * size));
    this.runtimes = options.runtimes ?? defaultImageRuntimes({ repoRoot: options.repoRoot ?? defaultRepoRoot() });
    this.backoff = options.backoff ?? realBackoffPolicy;
    this.execHandlers = options.execHandlers ?? defaultExecHandlers;
    (options.nodes ?? defaultNodes).forEach((spec, index) => {
      // Host IPs are only reported, never bound; like pod IPs they avoid the loopback range the API rejects in places.
      this.nodes.set(spec.name, { spec, hostIp: `198.19.0.${index + 1}`, alive: true });
    });
  }

  /** Registers the nodes, starts watching pods and returns once the pod cache is primed. */
  static async start(options: KubeletOptions): Promise<Kubelet> {
    const kubelet = new Kubelet(options);
    mkdirSync(options.workDir, { recursive: true });
    await kubelet.registerNodes();
    await kubelet.startInformer();
    const syncIntervalMs = options.syncIntervalMs ?? 200;
    kubelet.syncTimer = setInterval(() => kubelet.syncAll(), syncIntervalMs);
    kubelet.heartbeatTimer = setInterval(() => void kubelet.heartbeat(), options.nodeHeartbeatIntervalMs ?? 10_000);
    return kubelet;
  }

  get nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  hostIpOf(nodeName: string): string {
    const node = this.nodes.get(nodeName);
    if (node == null) throw new UnknownNodeError(nodeName);
    return node.hostIp;
  }

  isNodeAlive(nodeName: string): boolean {
    return this.nodes.get(nodeName)?.alive === true;
  }

  // ---- nodes ----------------------------------------------------------------------------------------------

  private nodeObject(node: FakeNode): V1Node {
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: node.spec.name,
        labels: {
          "kubernetes.io/hostname": node.spec.name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          "sqlag.io/fake-node": "true",
          ...node.spec.labels,
        },
      },
      spec: { taints: node.spec.taints != null ? [...node.spec.taints] : undefined },
    };
  }

  private nodeStatus(node: FakeNode, ready: "True" | "Unknown"): object {
    const now = new Date().toISOString();
    if (node.readyStatus?.status !== ready) node.readyStatus = { status: ready, since: now };
    const since = node.readyStatus.since;
    const resources = { cpu: "8", memory: "32Gi", pods: "110", "ephemeral-storage": "100Gi" };
    return {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: "InternalIP", address: node.hostIp },
        { type: "Hostname", address: node.spec.name },
      ],
      conditions: [
        ready === "True"
          ? { type: "Ready", status: "True", reason: "KubeletReady", message: "fake kubelet is posting ready status", lastHeartbeatTime: now, lastTransitionTime: since }
          : { type: "Ready", status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.", lastHeartbeatTime: now, lastTransitionTime: since },
      ],
      nodeInfo: {
        architecture: "amd64",
        bootID: "",
        containerRuntimeVersion: "fake://1.0",
        kernelVersion: "",
        kubeProxyVersion: "",
        kubeletVersion: "v1.36.0-fake",
        machineID: node.spec.name,
        operatingSystem: "linux",
        osImage: "sqlag fake kubelet",
        systemUUID: node.spec.name,
      },
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    };
  }

  private async registerNodes(): Promise<void> {
    for (const node of this.nodes.values()) {
      const body = this.nodeObject(node);
      try {
        await this.core.createNode({ body });
      } catch (error) {
        if (!isConflict(error)) throw error;
        await this.core.patchNode({ name: node.spec.name, body: { metadata: { labels: body.metadata?.labels }, spec: { taints: body.spec?.taints ?? null } } }, mergePatch);
      }
      await this.postNodeStatus(node, "True");
      await this.renewNodeLease(node);
    }
  }

  private async postNodeStatus(node: FakeNode, ready: "True" | "Unknown"): Promise<void> {
    await this.core.patchNodeStatus({ name: node.spec.name, body: { status: this.nodeStatus(node, ready) } }, mergePatch);
  }

  private async renewNodeLease(node: FakeNode): Promise<void> {
    const name = node.spec.name;
    const renew = { spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(new Date()) } };
    try {
      await this.coordination.patchNamespacedLease({ name, namespace: "kube-node-lease", body: renew }, mergePatch);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.coordination.createNamespacedLease({
        namespace: "kube-node-lease",
        body: { metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40 } },
      });
      await this.coordination.patchNamespacedLease({ name, namespace: "kube-node-lease", body: renew }, mergePatch);
    }
  }

  private async heartbeat(): Promise<void> {
    for (const node of this.nodes.values()) {
      if (!node.alive || this.stopped) continue;
      try {
        await this.renewNodeLease(node);
        await this.postNodeStatus(node, "True");
      } catch {
        // Next heartbeat retries; a missed beat is what a real kubelet under load does too.
      }
    }
  }

  /** Node failure: its pods' processes die at once (no preStop), heartbeats stop, Ready → Unknown. */
  async killNode(nodeName: string): Promise<void> {
    const node = this.nodes.get(nodeName);
    if (node == null) throw new UnknownNodeError(nodeName);
    node.alive = false;
    const dying = [...this.workers.values()].filter((worker) => worker.nodeName === nodeName);
    await Promise.all(dying.map((worker) => worker.abandon()));
    for (const worker of dying) this.workers.delete(worker.uid);
    // What the node-lifecycle controller would write after the grace period; done at once here.
    await this.postNodeStatus(node, "Unknown");
  }

  /** Brings a killed node back, like a rebooted kubelet: pods still bound to it are started again. */
  async reviveNode(nodeName: string): Promise<void> {
    const node = this.nodes.get(nodeName);
    if (node == null) throw new UnknownNodeError(nodeName);
    node.alive = true;
    await this.renewNodeLease(node);
    await this.postNodeStatus(node, "True");
  }

  // ---- pods -----------------------------------------------------------------------------------------------

  private managesNamespace(namespace: string | undefined): boolean {
    return this.options.namespaces == null || this.options.namespaces.includes(namespace ?? "");
  }

  private async startInformer(): Promise<void> {
    const informer = makeInformer<V1Pod>(this.options.kubeConfig, "/api/v1/pods", () => this.core.listPodForAllNamespaces());
    informer.on("add", (pod) => this.onPod(pod));
    informer.on("update", (pod) => this.onPod(pod));
    informer.on("delete", (pod) => void this.onPodDeleted(pod));
    informer.on("error", () => {
      // client-node's informer stops on errors; restart it (CONVENTIONS 11).
      if (this.stopped) return;
      clearTimeout(this.informerRestartTimer);
      this.informerRestartTimer = setTimeout(() => void informer.start().catch(() => undefined), 500 + Math.random() * 500);
    });
    this.informer = informer;
    await informer.start();
  }

  private onPod(pod: V1Pod): void {
    if (this.stopped || !this.managesNamespace(pod.metadata?.namespace)) return;
    const uid = pod.metadata?.uid ?? "";
    const nodeName = pod.spec?.nodeName;
    if (nodeName == null || nodeName === "") {
      if (pod.metadata?.deletionTimestamp == null) this.enqueueScheduling();
      return;
    }
    this.pendingBindings.delete(uid);
    const node = this.nodes.get(nodeName);
    if (node == null || !node.alive) return;
    const existing = this.workers.get(uid);
    if (existing != null) {
      existing.pod = pod;
      return;
    }
    if (this.finalizedUids.has(uid)) return;
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    // There is no cluster DNS that follows IP changes (mssql-sim takes its host table at start), so a re-created
    // pod keeps its previous address when it is free — as if DNS had been updated for it.
    const podKey = `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
    const podIp = this.ipAllocator.allocate(uid, this.lastIpByPodKey.get(podKey));
    this.lastIpByPodKey.set(podKey, podIp);
    const worker = new PodWorker(pod, podIp, node.hostIp, this.workerHost());
    this.workers.set(uid, worker);
    this.publishDns(pod, worker.podIp);
    void worker.step();
  }

  private async onPodDeleted(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? "";
    this.pendingBindings.delete(uid);
    this.unschedulableMessages.delete(uid);
    const worker = this.workers.get(uid);
    if (worker == null) return;
    this.workers.delete(uid);
    // Force deletion (or our own finalisation racing the event): nothing may keep running.
    await worker.abandon();
  }

  private syncAll(): void {
    if (this.stopped) return;
    for (const worker of this.workers.values()) void worker.step();
    // Catch up on pods that need a worker (e.g. after a node came back) or still need a node.
    let unbound = false;
    for (const pod of this.informer?.list() ?? []) {
      const nodeName = pod.spec?.nodeName;
      if (nodeName == null || nodeName === "") unbound ||= pod.metadata?.deletionTimestamp == null && this.managesNamespace(pod.metadata?.namespace);
      else if (!this.workers.has(pod.metadata?.uid ?? "")) this.onPod(pod);
    }
    if (unbound) this.enqueueScheduling();
  }

  private enqueueScheduling(): void {
    this.scheduling = this.scheduling.then(() => this.scheduleUnbound()).catch(() => undefined);
  }

  private schedulableNodes(): SchedulableNode[] {
    return [...this.nodes.values()].map((node) => ({
      name: node.spec.name,
      labels: { "kubernetes.io/hostname": node.spec.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", ...node.spec.labels },
      taints: node.spec.taints ?? [],
      ready: node.alive,
    }));
  }

  private async scheduleUnbound(): Promise<void> {
    const pods = this.informer?.list() ?? [];
    const placed: PlacedPod[] = [...this.pendingBindings.values()];
    for (const pod of pods) {
      const nodeName = pod.spec?.nodeName;
      if (nodeName == null || nodeName === "" || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
      placed.push({ namespace: pod.metadata?.namespace ?? "", nodeName, labels: pod.metadata?.labels ?? {} });
    }
    for (const pod of pods) {
      const uid = pod.metadata?.uid ?? "";
      if ((pod.spec?.nodeName ?? "") !== "" || pod.metadata?.deletionTimestamp != null || this.pendingBindings.has(uid)) continue;
      if (!this.managesNamespace(pod.metadata?.namespace)) continue;
      const schedulerName = pod.spec?.schedulerName ?? "default-scheduler";
      if (schedulerName !== "default-scheduler") continue;
      const decision = choosePlacement(pod, this.schedulableNodes(), placed);
      const name = pod.metadata?.name ?? "";
      const namespace = pod.metadata?.namespace ?? "default";
      if (decision.kind === "unschedulable") {
        if (this.unschedulableMessages.get(uid) !== decision.message) {
          this.unschedulableMessages.set(uid, decision.message);
          await this.core
            .patchNamespacedPodStatus(
              {
                name,
                namespace,
                body: { status: { conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: decision.message, lastTransitionTime: new Date().toISOString() }] } },
              },
              mergePatch,
            )
            .catch(() => undefined);
          this.recordEvent(pod, "Warning", "FailedScheduling", decision.message);
        }
        continue;
      }
      try {
        await this.core.createNamespacedPodBinding({
          name,
          namespace,
          body: { apiVersion: "v1", kind: "Binding", metadata: { name, uid }, target: { apiVersion: "v1", kind: "Node", name: decision.nodeName } },
        });
        const placement = { namespace, nodeName: decision.nodeName, labels: pod.metadata?.labels ?? {} };
        this.pendingBindings.set(uid, placement);
        placed.push(placement);
        this.unschedulableMessages.delete(uid);
        this.recordEvent(pod, "Normal", "Scheduled", `Successfully assigned ${namespace}/${name} to ${decision.nodeName}`);
      } catch (error) {
        // Already bound or gone; the informer will tell us.
        this.log(`pod ${namespace}/${name}: binding to ${decision.nodeName} failed: ${describeApiError(error)}`);
      }
    }
  }

  private workerHost(): PodWorkerHost {
    return {
      workDir: this.options.workDir,
      caPem: this.caPem,
      runtimes: this.runtimes,
      backoff: this.backoff,
      execHandlers: this.execHandlers,
      nowMs: () => performance.now(),
      getSecret: (namespace, name) => this.readOrUndefined(() => this.core.readNamespacedSecret({ name, namespace })),
      getConfigMap: (namespace, name) => this.readOrUndefined(() => this.core.readNamespacedConfigMap({ name, namespace })),
      requestToken: (pod, audience, expirationSeconds) => this.requestToken(pod, audience, expirationSeconds),
      patchPodStatus: (pod, status) => this.patchPodStatus(pod, status),
      finalizePodDeletion: (pod) => this.finalizePodDeletion(pod),
      recordEvent: (pod, type, reason, message) => this.recordEvent(pod, type, reason, message),
      createApiProxy: async () => {
        const proxy = new ApiServerProxy(ApiServerProxy.targetFromServerUrl(this.apiServerUrl));
        await proxy.start();
        return proxy;
      },
      dnsFilePath: this.dnsFilePath,
      dnsTable: () => this.dnsTable(),
      log: (line) => this.log(line),
      releasePod: (uid) => {
        this.ipAllocator.release(uid);
        this.unpublishDns(uid);
      },
    };
  }

  /** DNS names a pod gets from cluster DNS: `<hostname>.<subdomain>.<ns>.svc.<domain>` and shorter forms. */
  static podDnsNames(pod: V1Pod, clusterDomain: string): string[] {
    const hostname = pod.spec?.hostname ?? pod.metadata?.name ?? "";
    const subdomain = pod.spec?.subdomain;
    const namespace = pod.metadata?.namespace ?? "default";
    if (subdomain == null || subdomain === "") return [hostname];
    const base = `${hostname}.${subdomain}.${namespace}`;
    return [`${base}.svc.${clusterDomain}`, `${base}.svc`, base, `${hostname}.${subdomain}`];
  }

  private publishDns(pod: V1Pod, ip: string): void {
    this.dnsNamesByUid.set(pod.metadata?.uid ?? "", { names: Kubelet.podDnsNames(pod, this.options.clusterDomain ?? "cluster.local"), ip });
    this.writeDnsFile();
  }

  private unpublishDns(uid: string): void {
    if (this.dnsNamesByUid.delete(uid)) this.writeDnsFile();
  }

  /** The kubelet's own problems (status rejected, scheduling failures), one line each, in `<workDir>/kubelet.log`. */
  readonly logPath: string;

  log(line: string): void {
    try {
      appendFileSync(this.logPath, `${new Date().toISOString()} ${line}\n`);
    } catch {
      // The work dir may be gone at teardown.
    }
  }

  /** hostname → bindable pod IP for every pod of this kubelet. */
  dnsTable(): Record<string, string> {
    const table: Record<string, string> = {};
    for (const { names, ip } of this.dnsNamesByUid.values()) for (const name of names) table[name] = ip;
    return table;
  }

  /**
   * Tells every running simulator (any container with an admin port) about the current table, so ENDPOINT_URL
   * host names keep resolving when pods come and go (mssql-sim's `POST /v1/hosts`; others answer 404, ignored).
   */
  private pushDnsToSimulators(table: Record<string, string>): void {
    for (const worker of this.workers.values()) {
      for (const container of worker.containers) {
        if (container.adminPort == null || !container.running) continue;
        void fetch(`http://127.0.0.1:${container.adminPort}/v1/hosts`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(table),
          signal: AbortSignal.timeout(2_000),
        })
          .then((response) => response.body?.cancel())
          .catch(() => undefined);
      }
    }
  }

  private writeDnsFile(): void {
    const table = this.dnsTable();
    this.pushDnsToSimulators(table);
    // Atomic replace: readers never see a half-written file.
    const temporary = `${this.dnsFilePath}.tmp`;
    writeFileSync(temporary, JSON.stringify(table, null, 1));
    renameSync(temporary, this.dnsFilePath);
  }

  private async readOrUndefined<T extends V1Secret | V1ConfigMap>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async requestToken(pod: V1Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const response = await this.core.createNamespacedServiceAccountToken({
      name: pod.spec?.serviceAccountName ?? "default",
      namespace: pod.metadata?.namespace ?? "default",
      body: {
        spec: {
          audiences: audience != null ? [audience] : [],
          expirationSeconds: Math.max(600, expirationSeconds),
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" },
        },
      },
    });
    const token = response.status?.token;
    if (token == null || token === "") throw new Error(`TokenRequest for pod ${pod.metadata?.name ?? ""} returned no token`);
    return token;
  }

  private async patchPodStatus(pod: V1Pod, status: V1PodStatus): Promise<void> {
    await this.core.patchNamespacedPodStatus(
      { name: pod.metadata?.name ?? "", namespace: pod.metadata?.namespace ?? "default", body: { metadata: { uid: pod.metadata?.uid }, status } },
      mergePatch,
    );
  }

  private async finalizePodDeletion(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? "";
    this.finalizedUids.add(uid);
    try {
      await this.core.deleteNamespacedPod({
        name: pod.metadata?.name ?? "",
        namespace: pod.metadata?.namespace ?? "default",
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }

  recordEvent(pod: V1Pod, type: "Normal" | "Warning", reason: string, message: string): void {
    if (this.stopped) return;
    const namespace = pod.metadata?.namespace ?? "default";
    const now = new Date();
    void this.core
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${pod.metadata?.name ?? "pod"}.` },
          involvedObject: { apiVersion: "v1", kind: "Pod", name: pod.metadata?.name, namespace, uid: pod.metadata?.uid },
          reason,
          message: message.slice(0, 1000),
          type,
          source: { component: "kubelet", host: pod.spec?.nodeName },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch(() => undefined);
  }

  // ---- handles for tests and faults -----------------------------------------------------------------------

  private workerFor(namespace: string, name: string): PodWorker | undefined {
    // Newest worker wins if an old incarnation is still terminating.
    let found: PodWorker | undefined;
    for (const worker of this.workers.values()) {
      if (worker.namespace === namespace && worker.name === name && (found == null || found.isTerminating)) found = worker;
    }
    return found;
  }

  pod(namespace: string, name: string): PodHandle | undefined {
    const worker = this.workerFor(namespace, name);
    if (worker == null) return undefined;
    return {
      uid: worker.uid,
      namespace,
      name,
      nodeName: worker.nodeName,
      podIp: worker.podIp,
      hostIp: worker.hostIp,
      containers: worker.containers,
      container: (containerName) => worker.container(containerName),
      apiProxy: worker.apiProxy,
      kubeconfigPath: worker.kubeconfigFile,
      terminating: worker.isTerminating,
    };
  }

  pods(): PodHandle[] {
    return [...this.workers.values()].map((worker) => this.pod(worker.namespace, worker.name)).filter((handle): handle is PodHandle => handle != null);
  }

  /** Sends a signal to one container's process group (crash = SIGKILL, freeze = SIGSTOP, thaw = SIGCONT). */
  signalContainer(namespace: string, podName: string, containerName: string, signal: NodeJS.Signals): void {
    const container = this.workerFor(namespace, podName)?.container(containerName);
    if (container?.process == null || !container.process.running) {
      throw new Error(`container ${namespace}/${podName}/${containerName} is not running on this kubelet`);
    }
    container.process.signal(signal);
  }

  /** Stops watching and kills every process it started (by pid). Nodes and pods stay in the API. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.syncTimer);
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.informerRestartTimer);
    await this.informer?.stop().catch(() => undefined);
    const workers = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(workers.map((worker) => worker.abandon()));
  }
}
