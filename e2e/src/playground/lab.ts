/**
 * The playground's and the benchmark's environment outside mocha: the test control plane, sqlag installed from
 * manifests/install (its controller Deployment runs on the fake kubelet like any other pod), a 3-node fake kubelet
 * for the AG's namespace and sqlag-system, and readers for what a person watching the AG wants to see. It reuses
 * the e2e harness (startControlPlane, Kubelet, Faults, install helpers); nothing here depends on mocha.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AppsV1Api, CoordinationV1Api, CoreV1Api, DiscoveryV1Api, type KubeConfig, type KubernetesObject, type V1Pod } from "@kubernetes/client-node";
import {
  agNames,
  CONTAINER_AGENT,
  KIND_AVAILABILITY_GROUP,
  labels,
  type AgentStatus,
  type SQLServerAvailabilityGroupSpec,
  type SQLServerAvailabilityGroupStatus,
} from "@sqlag/api";
import { startControlPlane, type ControlPlane } from "../cluster/control-plane.js";
import { apiStatus, eventually } from "../cluster/namespaces.js";
import { ensureTestbins } from "../cluster/testbins.js";
import { Faults } from "../faults/faults.js";
import { scaledBackoffPolicy } from "../kubelet/backoff.js";
import { reachableAddressOf } from "../kubelet/ip-allocator.js";
import { Kubelet } from "../kubelet/kubelet.js";
import { SqlagObjects, conditionOf } from "../support/custom-objects.js";
import { installSqlag, sqlagSystemNamespace } from "../support/install.js";
import { applyObject, inNamespace, parseManifests, readManifestFile, repoPath } from "../support/manifests.js";
import { isPodReady } from "../support/pods.js";
import { sqlagImageRuntimes } from "../support/runtimes.js";

export type Progress = (line: string) => void;

/** One audit event per finished request (watches included once, when they end), request metadata only. */
const auditPolicyYaml = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
  - level: Metadata
`;

export interface LabOptions {
  readonly progress: Progress;
  /** Namespace of the AG (the sample's own, usually `default`). */
  readonly namespace: string;
  /** Scratch directory name under .sqlag-run/ (logs, pod files, kubeconfigs). */
  readonly runName: string;
  /** Run the installed controller Deployment on the kubelet (default true). */
  readonly runControllerDeployment?: boolean;
  /** Write the apiserver's audit log here (Metadata level, one line per completed request), for request counting. */
  readonly auditLogPath?: string;
  /** Runs after sqlag is installed and before the kubelet starts (the controller Deployment cannot run yet). */
  readonly beforeKubelet?: (controlPlane: ControlPlane) => Promise<void>;
}

export class AgNotRunningError extends Error {
  constructor(
    readonly agName: string,
    readonly lastStatus: SQLServerAvailabilityGroupStatus | undefined,
    readonly agentReasons: readonly string[],
    timeoutMs: number,
  ) {
    super(
      [
        `the availability group ${agName} did not reach phase Running within ${Math.round(timeoutMs / 1000)} s (last phase: ${lastStatus?.phase ?? "none"}).`,
        "The agents' last reasons:",
        ...(agentReasons.length > 0 ? agentReasons.map((reason) => `  ${reason}`) : ["  (no agent answered /v1/status)"]),
      ].join("\n"),
    );
    this.name = "AgNotRunningError";
  }
}

export interface AgPodView {
  readonly pod: string;
  readonly node: string;
  readonly ready: boolean;
  readonly roleLabel: string;
  readonly sqlRole: string;
  readonly synchronization: string;
  /** Log send + redo queue on this replica (KiB), from the agent's /metrics; undefined when unknown. */
  readonly lagKiB: number | undefined;
  readonly lastReason: string;
}

export interface AgView {
  readonly phase: string;
  readonly primaryReplica: string;
  readonly leaseHolder: string;
  readonly leaseTransitions: number | undefined;
  readonly listenerEndpoints: readonly string[];
  readonly conditions: readonly string[];
  readonly pods: readonly AgPodView[];
}

export interface AppliedAg {
  readonly name: string;
  readonly namespace: string;
  readonly spec: SQLServerAvailabilityGroupSpec;
}

export class Lab {
  private constructor(
    readonly controlPlane: ControlPlane,
    readonly kc: KubeConfig,
    readonly kubelet: Kubelet,
    readonly faults: Faults,
    readonly namespace: string,
    readonly workDir: string,
    private readonly progress: Progress,
  ) {}

  static async start(options: LabOptions): Promise<Lab> {
    const workDir = repoPath(".sqlag-run", options.runName);
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    options.progress("checking the test cluster binaries (built from the Go module proxy on first use: 20-40 min on 2 cores, then cached)");
    const binDir = await ensureTestbins();
    options.progress(`binaries in ${binDir}`);
    options.progress("starting the control plane (etcd, kube-apiserver, kube-controller-manager)");
    // The harness's default Service range is a /24 (about 250 ClusterIPs); the benchmark's 200 AGs need 400
    // listener Services, so the lab uses a /16.
    const extraApiServerFlags: Record<string, string> = { "service-cluster-ip-range": "10.0.0.0/16" };
    if (options.auditLogPath !== undefined) {
      const policyPath = path.join(workDir, "audit-policy.yaml");
      writeFileSync(policyPath, auditPolicyYaml);
      Object.assign(extraApiServerFlags, { "audit-policy-file": policyPath, "audit-log-path": options.auditLogPath, "audit-log-format": "json", "audit-log-mode": "batch", "audit-log-batch-max-wait": "1s" });
    }
    const controlPlane = await startControlPlane({ logDir: path.join(workDir, "control-plane"), progress: (line) => options.progress(`  ${line}`), extraApiServerFlags, binDir });
    try {
      const kc = controlPlane.kubeConfig();
      options.progress("installing sqlag from manifests/install (CRDs, RBAC, controller Deployment)");
      await installSqlag(kc);
      await options.beforeKubelet?.(controlPlane);
      const namespaces = options.runControllerDeployment === false ? [options.namespace] : [options.namespace, sqlagSystemNamespace];
      await ensureNamespace(kc, options.namespace);
      options.progress(`starting the fake kubelet: 3 nodes, namespaces ${namespaces.join(", ")}`);
      const kubelet = await Kubelet.start({
        kubeConfig: kc,
        caPem: controlPlane.caPem,
        workDir: path.join(workDir, "kubelet"),
        namespaces,
        backoff: scaledBackoffPolicy(0.1),
        runtimes: sqlagImageRuntimes(),
        nodeHeartbeatIntervalMs: 2_000,
      });
      return new Lab(controlPlane, kc, kubelet, new Faults(kubelet, kc), options.namespace, workDir, options.progress);
    } catch (error) {
      await controlPlane.stop();
      throw error;
    }
  }

  async waitForControllerReady(timeoutMs = 120_000): Promise<void> {
    const apps = this.kc.makeApiClient(AppsV1Api);
    await eventually(
      "controller Deployment available",
      async () => ((await apps.readNamespacedDeployment({ name: "sqlag-controller", namespace: sqlagSystemNamespace })).status?.availableReplicas ?? 0) >= 1 || undefined,
      { timeoutMs, intervalMs: 500 },
    );
  }

  /** The SA password Secret of manifests/samples and the AG from `sampleFile`, both in the lab's namespace. */
  async applySample(sampleFile: string): Promise<AppliedAg> {
    const password = readManifestFile("manifests/samples/sa-password-secret.yaml");
    for (const object of password) await applyObject(this.kc, inNamespace(object, this.namespace));
    const objects = path.isAbsolute(sampleFile) ? parseManifests(readFileSync(sampleFile, "utf8"), sampleFile) : readManifestFile(sampleFile);
    const ag = objects.find((object) => object.kind === KIND_AVAILABILITY_GROUP) as (KubernetesObject & { spec: SQLServerAvailabilityGroupSpec }) | undefined;
    if (ag === undefined) throw new Error(`${sampleFile} holds no ${KIND_AVAILABILITY_GROUP}`);
    for (const object of objects) await applyObject(this.kc, inNamespace(object, this.namespace));
    return { name: ag.metadata?.name ?? "", namespace: this.namespace, spec: ag.spec };
  }

  async readAg(name: string): Promise<{ status: SQLServerAvailabilityGroupStatus; spec: SQLServerAvailabilityGroupSpec } | undefined> {
    try {
      const object = await new SqlagObjects(this.kc).read(this.namespace, KIND_AVAILABILITY_GROUP, name);
      return { status: (object.status ?? {}) as SQLServerAvailabilityGroupStatus, spec: object.spec as SQLServerAvailabilityGroupSpec };
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }

  async pods(agName: string): Promise<V1Pod[]> {
    const list = await this.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: this.namespace, labelSelector: `${labels.cluster}=${agName}` });
    return list.items.sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  }

  /** Waits for phase Running with a primary and initialisation complete; on timeout says what the agents last said. */
  async waitForRunning(agName: string, timeoutMs: number, onPoll?: (view: AgView) => void): Promise<AgView> {
    const deadlineMs = performance.now() + timeoutMs;
    let last: AgView | undefined;
    while (performance.now() < deadlineMs) {
      last = await this.view(agName).catch(() => last);
      if (last !== undefined) onPoll?.(last);
      const ag = await this.readAg(agName).catch(() => undefined);
      if (ag?.status.phase === "Running" && ag.status.primaryReplica !== undefined && ag.status.initializationComplete === true && last !== undefined) return last;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const ag = await this.readAg(agName).catch(() => undefined);
    throw new AgNotRunningError(agName, ag?.status, await this.agentReasons(agName), timeoutMs);
  }

  /** One line per pod: its agent's last reason, or why the agent cannot be asked. */
  async agentReasons(agName: string): Promise<string[]> {
    const lines: string[] = [];
    for (const pod of await this.pods(agName).catch(() => [])) {
      const name = pod.metadata?.name ?? "?";
      try {
        const status = await agentStatus(pod);
        lines.push(`${name}: role ${status.role}, health ${status.health}${status.healthDetail !== undefined ? ` (${status.healthDetail})` : ""}, last reason ${status.lastReason}`);
      } catch (error) {
        const agentLog = this.kubelet.pod(this.namespace, name)?.container(CONTAINER_AGENT)?.logPath;
        lines.push(`${name}: agent /v1/status unreachable (${error instanceof Error ? error.message : String(error)})${agentLog !== undefined ? `; log ${agentLog}` : ""}`);
      }
    }
    return lines;
  }

  /** Everything the live table shows, read from the API, the agents' /v1/status and /metrics. */
  async view(agName: string): Promise<AgView> {
    const [ag, pods, lease, listener] = await Promise.all([
      this.readAg(agName),
      this.pods(agName),
      this.kc
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: agNames.lease(agName), namespace: this.namespace })
        .catch(() => undefined),
      this.listenerEndpoints(agName),
    ]);
    const podViews = await Promise.all(
      pods.map(async (pod): Promise<AgPodView> => {
        const status = await agentStatus(pod).catch(() => undefined);
        const lagKiB = await agentLagKiB(pod).catch(() => undefined);
        return {
          pod: pod.metadata?.name ?? "?",
          node: pod.spec?.nodeName ?? "-",
          ready: isPodReady(pod),
          roleLabel: pod.metadata?.labels?.[labels.role] ?? "-",
          sqlRole: status?.role ?? "?",
          synchronization: status === undefined ? "?" : status.databases.map((db) => `${db.name}:${db.synchronizationState}`).join(",") || "-",
          lagKiB,
          lastReason: status?.lastReason ?? "(agent unreachable)",
        };
      }),
    );
    const conditions = (ag?.status.conditions ?? []).map((condition) => `${condition.type}=${condition.status}${condition.status !== "True" ? `(${condition.reason})` : ""}`);
    return {
      phase: ag?.status.phase ?? "-",
      primaryReplica: ag?.status.primaryReplica ?? "-",
      leaseHolder: lease?.spec?.holderIdentity || "(none)",
      leaseTransitions: lease?.spec?.leaseTransitions,
      listenerEndpoints: listener,
      conditions,
      pods: podViews,
    };
  }

  private async listenerEndpoints(agName: string): Promise<string[]> {
    const ag = await this.readAg(agName).catch(() => undefined);
    const service = agNames.listenerService(agName, ag?.spec.listener?.name);
    const slices = await this.kc
      .makeApiClient(DiscoveryV1Api)
      .listNamespacedEndpointSlice({ namespace: this.namespace, labelSelector: `kubernetes.io/service-name=${service}` })
      .catch(() => undefined);
    const endpoints: string[] = [];
    for (const slice of slices?.items ?? []) {
      const port = slice.ports?.[0]?.port;
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready !== true) continue;
        endpoints.push(`${endpoint.targetRef?.name ?? "?"}@${endpoint.addresses[0] ?? "?"}:${port ?? "?"}`);
      }
    }
    return endpoints.sort();
  }

  /** Is this condition True on the AG? (conditionOf over the CR) */
  async condition(agName: string, type: string): Promise<string | undefined> {
    const object = await new SqlagObjects(this.kc).read(this.namespace, KIND_AVAILABILITY_GROUP, agName).catch(() => undefined);
    return conditionOf(object, type)?.status;
  }

  async stop(): Promise<void> {
    this.progress("stopping: the kubelet (pods' processes), then the control plane");
    await this.kubelet.stop().catch((error: unknown) => this.progress(`  kubelet stop: ${String(error)}`));
    await this.controlPlane.stop().catch((error: unknown) => this.progress(`  control plane stop: ${String(error)}`));
  }
}

async function ensureNamespace(kc: KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  } catch (error) {
    if (apiStatus(error) !== 409) throw error;
  }
  await eventually(`default ServiceAccount in ${namespace}`, async () => core.readNamespacedServiceAccount({ name: "default", namespace }).catch(() => undefined));
}

/** The agent's HTTP port from the pod spec (the sidecar's first containerPort). */
export function agentPortOf(pod: V1Pod): number {
  return pod.spec?.initContainers?.find((container) => container.name === CONTAINER_AGENT)?.ports?.[0]?.containerPort ?? 8080;
}

export function agentBaseUrlOf(pod: V1Pod): string {
  return `http://${reachableAddressOf(pod.status?.podIP ?? "")}:${agentPortOf(pod)}`;
}

export async function agentStatus(pod: V1Pod): Promise<AgentStatus> {
  const response = await fetch(`${agentBaseUrlOf(pod)}/v1/status`, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return (await response.json()) as AgentStatus;
}

/** Sum of sqlag_agent_log_send_queue_bytes and sqlag_agent_redo_queue_bytes over the databases, in KiB. */
export function lagKiBFromMetrics(metricsText: string): number | undefined {
  let total = 0;
  let seen = false;
  for (const match of metricsText.matchAll(/^sqlag_agent_(?:log_send|redo)_queue_bytes(?:\{[^}]*\})?\s+([0-9.eE+-]+)$/gm)) {
    const value = Number(match[1]);
    if (Number.isFinite(value)) {
      total += value;
      seen = true;
    }
  }
  return seen ? total / 1024 : undefined;
}

async function agentLagKiB(pod: V1Pod): Promise<number | undefined> {
  const response = await fetch(`${agentBaseUrlOf(pod)}/metrics`, { signal: AbortSignal.timeout(2_000) });
  return response.ok ? lagKiBFromMetrics(await response.text()) : undefined;
}
