/**
 * Runs one pod (one uid) on a fake node: sets up volumes, API access and IP, starts containers in the order
 * the kubelet does (native sidecars and init containers first, one at a time; then all regular containers),
 * runs probes, restarts crashed containers with back-off, reports status, and on deletion runs preStop hooks
 * and stops regular containers first and sidecars last (reverse order) before finalising the deletion.
 *
 * The worker is driven by a periodic `step()`; process exits and probe results only update state, and the
 * next step acts on them. All API writes are best effort and retried by the next step.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import type {
  V1ConfigMap,
  V1Container,
  V1ContainerState,
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
  V1Secret,
} from "@kubernetes/client-node";
import { stringify as toYaml } from "yaml";
import { restartDelayMs, nextCrashStreak, shouldRestart, type BackoffPolicy, type RestartPolicy } from "./backoff.js";
import { ContainerConfigError, referencedObjects, resolveContainerEnv } from "./env.js";
import { publishedAddressOf } from "./ip-allocator.js";
import { ProbeState, probeTiming, type ProbeKind } from "./probe-state.js";
import { httpGet, runProbe, type ExecProbeHandler } from "./probes.js";
import { ContainerProcess } from "./process.js";
import { UnmappedImageError, type ImageRuntimeMap } from "./runtime.js";
import { containerMounts, materializeVolume, VolumeSetupError, type VolumeSources } from "./volumes.js";
import type { ApiServerProxy } from "../faults/api-proxy.js";

export type ContainerKind = "init" | "sidecar" | "regular";

/** What the worker needs from the kubelet: API calls and shared settings. */
export interface PodWorkerHost {
  readonly workDir: string;
  readonly caPem: string;
  readonly runtimes: ImageRuntimeMap;
  readonly backoff: BackoffPolicy;
  readonly execHandlers: readonly ExecProbeHandler[];
  nowMs(): number;
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  requestToken(pod: V1Pod, audience: string | undefined, expirationSeconds: number): Promise<string>;
  patchPodStatus(pod: V1Pod, status: V1PodStatus): Promise<void>;
  finalizePodDeletion(pod: V1Pod): Promise<void>;
  recordEvent(pod: V1Pod, type: "Normal" | "Warning", reason: string, message: string): void;
  /** A kubeconfig server URL for this pod's API access (its own proxy). */
  createApiProxy(pod: V1Pod): Promise<ApiServerProxy>;
  releasePod(uid: string): void;
  /** JSON hostname → IP table the kubelet keeps for all its pods (no cluster DNS here). */
  readonly dnsFilePath: string;
  /** One line to the kubelet's own log (`<workDir>/kubelet.log`). */
  log(line: string): void;
  /** The current hostname → IP table (same content as the file). */
  dnsTable(): Readonly<Record<string, string>>;
}

export interface ContainerHandle {
  readonly name: string;
  readonly kind: ContainerKind;
  readonly logPath: string;
  readonly pid: number | undefined;
  readonly restartCount: number;
  readonly running: boolean;
  readonly frozen: boolean;
  /** Loopback admin port of the program, when its runtime has one (mssql-sim). */
  readonly adminPort: number | undefined;
}

interface ContainerTermination {
  readonly exitCode: number;
  readonly reason: string;
  readonly message?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
}

const timeFormat = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, "Z");
/** Status is sent as a raw merge patch, so times travel as RFC 3339 strings in the Date-typed fields. */
const wireTime = (text: string): Date => text as unknown as Date;

class ContainerState implements ContainerHandle {
  process: ContainerProcess | undefined;
  startedAtMs = 0;
  startedAtWall = "";
  restartCount = 0;
  everStarted = false;
  crashStreak = 0;
  nextStartAtMs = 0;
  lastTermination: ContainerTermination | undefined;
  /** Set while the container is not running and will not be (completed init, Never policy). */
  finalTermination: ContainerTermination | undefined;
  waiting: { reason: string; message: string } | undefined = { reason: "PodInitializing", message: "" };
  probes = new Map<ProbeKind, ProbeState>();
  startedByProbe = false;
  ready = false;
  adminPort: number | undefined;
  killReason: string | undefined;
  lastEventKey = "";

  constructor(
    readonly spec: V1Container,
    readonly kind: ContainerKind,
    readonly logPath: string,
  ) {}

  get name(): string {
    return this.spec.name;
  }
  get pid(): number | undefined {
    return this.process?.running === true ? this.process.pid : undefined;
  }
  get running(): boolean {
    return this.process?.running === true;
  }
  get frozen(): boolean {
    return this.process?.isFrozen === true;
  }
  get completed(): boolean {
    return this.finalTermination != null && this.finalTermination.exitCode === 0;
  }
  /** "started" in the API sense: running and past its startup probe. */
  get started(): boolean {
    return this.running && (this.probes.get("startup") == null || this.startedByProbe);
  }
}

export class PodWorker {
  pod: V1Pod;
  readonly uid: string;
  readonly containers: ContainerState[];
  private readonly podDir: string;
  private readonly instanceDir: string;
  private volumeDirs: Map<string, string> | undefined;
  private kubeconfigPath: string | undefined;
  private apiProxyHandle: ApiServerProxy | undefined;
  private setupError: string | undefined;
  private nextSetupAttemptMs = 0;
  private initialized = false;
  private startTime: string | undefined;
  private lastReportedStatus = "";
  private readonly conditionTimes = new Map<string, { status: string; time: string }>();
  private terminating: Promise<void> | undefined;
  private abandoned = false;
  private stepping = false;
  private podPhaseOverride: "Succeeded" | "Failed" | undefined;
  private lastStatusError: string | undefined;

  constructor(
    pod: V1Pod,
    /** The loopback address the pod's processes bind (the API shows `publishedAddressOf(podIp)`). */
    readonly podIp: string,
    readonly hostIp: string,
    private readonly host: PodWorkerHost,
  ) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? "";
    const namespace = pod.metadata?.namespace ?? "default";
    const name = pod.metadata?.name ?? "pod";
    this.podDir = path.join(host.workDir, "pods", `${namespace}_${name}`);
    this.instanceDir = path.join(this.podDir, this.uid);
    const spec = pod.spec;
    this.containers = [
      ...(spec?.initContainers ?? []).map(
        (container) => new ContainerState(container, container.restartPolicy === "Always" ? "sidecar" : "init", path.join(this.podDir, `${container.name}.log`)),
      ),
      ...(spec?.containers ?? []).map((container) => new ContainerState(container, "regular", path.join(this.podDir, `${container.name}.log`))),
    ];
  }

  get namespace(): string {
    return this.pod.metadata?.namespace ?? "default";
  }
  get name(): string {
    return this.pod.metadata?.name ?? "";
  }
  get nodeName(): string {
    return this.pod.spec?.nodeName ?? "";
  }
  /** The kubeconfig the pod's processes get (its ServiceAccount token, through its API proxy). */
  get kubeconfigFile(): string | undefined {
    return this.kubeconfigPath;
  }
  get apiProxy(): ApiServerProxy | undefined {
    return this.apiProxyHandle;
  }
  get isTerminating(): boolean {
    return this.terminating != null;
  }

  container(name: string): ContainerState | undefined {
    return this.containers.find((candidate) => candidate.name === name);
  }

  private get restartPolicy(): RestartPolicy {
    return (this.pod.spec?.restartPolicy as RestartPolicy | undefined) ?? "Always";
  }

  // ---- setup ----------------------------------------------------------------------------------------------

  private volumeSources(): VolumeSources {
    return {
      getSecret: (name) => this.host.getSecret(this.namespace, name),
      getConfigMap: (name) => this.host.getConfigMap(this.namespace, name),
      requestServiceAccountToken: (audience, expirationSeconds) => this.host.requestToken(this.pod, audience, expirationSeconds),
      caPem: this.host.caPem,
      podIp: this.podIp,
      hostIp: this.hostIp,
    };
  }

  /** Volumes, API proxy and kubeconfig; retried every second until it works (like FailedMount). */
  private async setup(): Promise<boolean> {
    if (this.volumeDirs != null) return true;
    const now = this.host.nowMs();
    if (now < this.nextSetupAttemptMs) return false;
    this.nextSetupAttemptMs = now + 1000;
    try {
      mkdirSync(this.instanceDir, { recursive: true });
      const dirs = new Map<string, string>();
      for (const volume of this.pod.spec?.volumes ?? []) {
        dirs.set(volume.name, await materializeVolume(this.pod, volume, { podDir: this.instanceDir, pvcRoot: this.host.workDir }, this.volumeSources()));
      }
      this.apiProxyHandle ??= await this.host.createApiProxy(this.pod);
      // 3607 s is the kubelet's own request: the apiserver (service-account-extend-token-expiration, on by
      // default) extends exactly that to a year, so long benchmarks never see the token expire.
      const token = await this.host.requestToken(this.pod, undefined, 3607);
      this.kubeconfigPath = path.join(this.instanceDir, "kubeconfig");
      writeFileSync(this.kubeconfigPath, this.kubeconfigYaml(this.apiProxyHandle.url, token), { mode: 0o600 });
      this.volumeDirs = dirs;
      this.setupError = undefined;
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.setupError) {
        this.host.recordEvent(this.pod, "Warning", error instanceof VolumeSetupError ? "FailedMount" : "FailedSetup", message);
      }
      this.setupError = message;
      return false;
    }
  }

  private kubeconfigYaml(server: string, token: string): string {
    const user = `system:serviceaccount:${this.namespace}:${this.pod.spec?.serviceAccountName ?? "default"}`;
    return toYaml({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fake-cluster", cluster: { server, "certificate-authority-data": Buffer.from(this.host.caPem).toString("base64") } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: "pod", context: { cluster: "fake-cluster", user, namespace: this.namespace } }],
      "current-context": "pod",
    });
  }

  // ---- container start ------------------------------------------------------------------------------------

  private setWaiting(container: ContainerState, reason: string, message: string, eventType: "Normal" | "Warning" = "Warning"): void {
    container.waiting = { reason, message };
    const key = `${reason}:${message}`;
    if (container.lastEventKey !== key) {
      container.lastEventKey = key;
      this.host.recordEvent(this.pod, eventType, reason === "CrashLoopBackOff" ? "BackOff" : reason, `container ${container.name}: ${message}`);
    }
  }

  private async startContainer(container: ContainerState): Promise<void> {
    const now = this.host.nowMs();
    if (now < container.nextStartAtMs) {
      if (container.everStarted) {
        const seconds = Math.ceil((container.nextStartAtMs - now) / 1000);
        this.setWaiting(container, "CrashLoopBackOff", `back-off ${seconds}s restarting failed container=${container.name} pod=${this.name}`);
      }
      return;
    }
    let runtime;
    try {
      runtime = this.host.runtimes.resolve(container.spec.image ?? "");
    } catch (error) {
      if (error instanceof UnmappedImageError) {
        this.setWaiting(container, "ErrImageNeverPull", error.message);
        container.nextStartAtMs = now + 1000;
        return;
      }
      throw error;
    }
    let env: Map<string, string>;
    try {
      const refs = referencedObjects([container.spec]);
      const secrets = new Map<string, V1Secret | undefined>();
      for (const name of refs.secretNames) secrets.set(name, await this.host.getSecret(this.namespace, name));
      const configMaps = new Map<string, V1ConfigMap | undefined>();
      for (const name of refs.configMapNames) configMaps.set(name, await this.host.getConfigMap(this.namespace, name));
      env = resolveContainerEnv(this.pod, container.spec, { secrets, configMaps, podIp: this.podIp, hostIp: this.hostIp });
    } catch (error) {
      if (error instanceof ContainerConfigError) {
        this.setWaiting(container, "CreateContainerConfigError", error.message);
        container.nextStartAtMs = now + 1000;
        return;
      }
      throw error;
    }
    const containerDir = path.join(this.instanceDir, "containers", container.name);
    mkdirSync(containerDir, { recursive: true });
    const mounts = containerMounts(container.spec, this.volumeDirs ?? new Map());
    let launch;
    try {
      launch = runtime.launch({
        pod: this.pod,
        container: container.spec,
        podIp: this.podIp,
        env,
        mounts,
        containerDir,
        reservedPort: await freeLoopbackPort(),
        hosts: this.host.dnsTable(),
      });
    } catch (error) {
      this.setWaiting(container, "CreateContainerError", error instanceof Error ? error.message : String(error));
      container.nextStartAtMs = now + 1000;
      return;
    }
    // The pod may have been abandoned (node killed, force-deleted) while this start was awaiting the API.
    if (this.abandoned) return;
    const processEnv: Record<string, string> = {
      PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: containerDir,
      HOSTNAME: this.name,
      ...Object.fromEntries(env),
      ...(launch.extraEnv ?? {}),
      KUBECONFIG: this.kubeconfigPath ?? "",
      SQLAG_FAKE_MOUNTS: JSON.stringify(mounts),
      SQLAG_FAKE_POD_IP: this.podIp,
      SQLAG_FAKE_DNS_FILE: this.host.dnsFilePath,
    };
    const child = ContainerProcess.start({ command: launch.command, args: launch.args, env: processEnv, cwd: containerDir, logPath: container.logPath });
    if (container.everStarted) container.restartCount++;
    container.everStarted = true;
    container.process = child;
    container.adminPort = launch.adminPort;
    container.startedAtMs = this.host.nowMs();
    container.startedAtWall = timeFormat(new Date());
    container.waiting = undefined;
    container.finalTermination = undefined;
    container.startedByProbe = false;
    container.ready = false;
    container.killReason = undefined;
    container.lastEventKey = "";
    container.probes = new Map();
    for (const kind of ["startup", "liveness", "readiness"] as const) {
      const probe = kind === "startup" ? container.spec.startupProbe : kind === "liveness" ? container.spec.livenessProbe : container.spec.readinessProbe;
      if (probe != null) container.probes.set(kind, new ProbeState(kind, probeTiming(probe, kind), container.startedAtMs));
    }
    this.host.recordEvent(this.pod, "Normal", "Started", `Started container ${container.name} (${runtime.name}, pid ${child.pid})`);
    void child.exited.then((exit) => this.onContainerExit(container, child, exit.exitCode));
  }

  private onContainerExit(container: ContainerState, child: ContainerProcess, exitCode: number): void {
    if (container.process !== child) return;
    const finishedAt = timeFormat(new Date());
    const reason = container.killReason ?? (exitCode === 0 ? "Completed" : "Error");
    const termination: ContainerTermination = { exitCode, reason, startedAt: container.startedAtWall, finishedAt };
    container.lastTermination = termination;
    container.ready = false;
    if (this.terminating != null || this.abandoned) {
      container.finalTermination = termination;
      return;
    }
    const policy: RestartPolicy = container.kind === "sidecar" ? "Always" : this.restartPolicy;
    const ranForMs = this.host.nowMs() - container.startedAtMs;
    if (container.kind === "init" && exitCode === 0) {
      container.finalTermination = termination;
      return;
    }
    if (shouldRestart(policy, exitCode)) {
      container.crashStreak = nextCrashStreak(container.crashStreak, ranForMs, this.host.backoff);
      container.nextStartAtMs = this.host.nowMs() + restartDelayMs(container.crashStreak, this.host.backoff);
      container.waiting = { reason: "CrashLoopBackOff", message: `back-off restarting failed container=${container.name} pod=${this.name}` };
    } else {
      container.finalTermination = termination;
    }
  }

  // ---- probes ---------------------------------------------------------------------------------------------

  private runDueProbes(container: ContainerState): void {
    if (!container.running) return;
    const now = this.host.nowMs();
    const startup = container.probes.get("startup");
    const kinds: ProbeKind[] = startup != null && !container.startedByProbe ? ["startup"] : ["liveness", "readiness"];
    for (const kind of kinds) {
      const state = container.probes.get(kind);
      const probe = kind === "startup" ? container.spec.startupProbe : kind === "liveness" ? container.spec.livenessProbe : container.spec.readinessProbe;
      if (state == null || probe == null || !state.isDue(now)) continue;
      state.begin(now);
      const child = container.process;
      void runProbe(probe, { podIp: this.podIp, container: container.spec }, state.timing.timeoutMs, this.host.execHandlers).then((outcome) => {
        if (container.process !== child) return;
        const changed = state.record(outcome.ok, outcome.message);
        if (kind === "startup" && changed === "success") container.startedByProbe = true;
        if (!outcome.ok) {
          this.setWaitingEventOnly(container, "Unhealthy", `${capitalize(kind)} probe failed: ${outcome.message}`);
        }
        if (state.demandsRestart() && container.killReason == null && this.terminating == null) {
          container.killReason = "Error";
          this.host.recordEvent(this.pod, "Normal", "Killing", `Container ${container.name} failed ${kind} probe, will be restarted`);
          void child?.terminate(this.gracePeriodMs());
        }
      });
    }
    const readiness = container.probes.get("readiness");
    container.ready = container.started && (readiness == null ? true : readiness.result === "success");
  }

  private setWaitingEventOnly(container: ContainerState, reason: string, message: string): void {
    const key = `${reason}:${message}`;
    if (container.lastEventKey === key) return;
    container.lastEventKey = key;
    this.host.recordEvent(this.pod, "Warning", reason, message);
  }

  private gracePeriodMs(): number {
    const seconds = this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, seconds) * 1000;
  }

  // ---- the step -------------------------------------------------------------------------------------------

  /** One reconciliation pass; safe to call concurrently (re-entry is skipped). */
  async step(): Promise<void> {
    if (this.stepping || this.abandoned || this.terminating != null) return;
    this.stepping = true;
    try {
      if (this.pod.metadata?.deletionTimestamp != null) {
        this.terminating = this.terminate();
        return;
      }
      this.startTime ??= timeFormat(new Date());
      if (await this.setup()) await this.advanceContainers();
      await this.reportStatus();
    } finally {
      this.stepping = false;
    }
  }

  private async advanceContainers(): Promise<void> {
    if (this.podPhaseOverride != null) return;
    // Init phase: one at a time, in order; a sidecar only needs to be started, an init container to complete.
    if (!this.initialized) {
      for (const container of this.containers.filter((candidate) => candidate.kind !== "regular")) {
        if (container.kind === "init") {
          if (container.completed) continue;
          if (container.finalTermination != null) {
            this.podPhaseOverride = "Failed";
            return;
          }
          if (!container.running) await this.startContainer(container);
          return;
        }
        if (!container.running) await this.startContainer(container);
        this.runDueProbes(container);
        if (!container.started) return;
      }
      this.initialized = true;
    }
    for (const container of this.containers) {
      if (container.kind === "init") continue;
      if (!container.running && container.finalTermination == null && this.terminating == null) await this.startContainer(container);
      this.runDueProbes(container);
    }
    const regular = this.containers.filter((candidate) => candidate.kind === "regular");
    if (regular.length > 0 && regular.every((candidate) => candidate.finalTermination != null)) {
      this.podPhaseOverride = regular.every((candidate) => candidate.finalTermination?.exitCode === 0) ? "Succeeded" : "Failed";
      // A finished pod stops its sidecars (reverse order), as the kubelet does.
      for (const sidecar of this.containers.filter((candidate) => candidate.kind === "sidecar").reverse()) {
        await sidecar.process?.terminate(this.gracePeriodMs());
      }
    }
  }

  // ---- status ---------------------------------------------------------------------------------------------

  private containerStatus(container: ContainerState): V1ContainerStatus {
    let state: V1ContainerState;
    if (container.running) state = { running: { startedAt: wireTime(container.startedAtWall) } };
    else if (container.finalTermination != null) state = { terminated: terminatedState(container.finalTermination) };
    else state = { waiting: { reason: container.waiting?.reason ?? "ContainerCreating", message: container.waiting?.message || undefined } };
    const status: V1ContainerStatus = {
      name: container.name,
      image: container.spec.image ?? "",
      imageID: `fake-kubelet://${container.spec.image ?? ""}`,
      containerID: container.process != null ? `fake://${this.uid}/${container.name}/${container.process.pid}` : undefined,
      ready: container.ready && container.running,
      started: container.started,
      restartCount: container.restartCount,
      state,
      lastState: container.lastTermination != null && container.finalTermination !== container.lastTermination ? { terminated: terminatedState(container.lastTermination) } : {},
    };
    return status;
  }

  private condition(type: string, isTrue: boolean, reason?: string, message?: string): V1PodCondition {
    const status = isTrue ? "True" : "False";
    const previous = this.conditionTimes.get(type);
    const time = previous != null && previous.status === status ? previous.time : timeFormat(new Date());
    this.conditionTimes.set(type, { status, time });
    return { type, status, lastTransitionTime: wireTime(time), ...(reason != null ? { reason } : {}), ...(message != null ? { message } : {}) };
  }

  buildStatus(): V1PodStatus {
    const regular = this.containers.filter((candidate) => candidate.kind === "regular");
    const initLike = this.containers.filter((candidate) => candidate.kind !== "regular");
    const sidecars = initLike.filter((candidate) => candidate.kind === "sidecar");
    const containersReady = this.podPhaseOverride == null && [...regular, ...sidecars].every((candidate) => candidate.ready && candidate.running);
    let phase: string = this.podPhaseOverride ?? "Pending";
    if (phase === "Pending" && this.initialized && regular.some((candidate) => candidate.running || candidate.lastTermination != null)) phase = "Running";
    const notReady = [...regular, ...sidecars].filter((candidate) => !(candidate.ready && candidate.running)).map((candidate) => candidate.name);
    const notReadyMessage = notReady.length > 0 ? `containers with unready status: [${notReady.join(" ")}]` : undefined;
    return {
      phase,
      hostIP: this.hostIp,
      hostIPs: [{ ip: this.hostIp }],
      podIP: publishedAddressOf(this.podIp),
      podIPs: [{ ip: publishedAddressOf(this.podIp) }],
      startTime: wireTime(this.startTime ?? timeFormat(new Date())),
      conditions: [
        this.condition("PodReadyToStartContainers", this.volumeDirs != null),
        this.condition("Initialized", this.initialized, this.initialized ? undefined : "ContainersNotInitialized", this.initialized ? undefined : "containers with incomplete status"),
        this.condition("Ready", containersReady, containersReady ? undefined : "ContainersNotReady", containersReady ? undefined : notReadyMessage),
        this.condition("ContainersReady", containersReady, containersReady ? undefined : "ContainersNotReady", containersReady ? undefined : notReadyMessage),
        this.condition("PodScheduled", true),
      ],
      containerStatuses: regular.map((container) => this.containerStatus(container)),
      initContainerStatuses: initLike.map((container) => this.containerStatus(container)),
      ...(this.setupError != null ? { message: this.setupError, reason: "SetupFailed" } : {}),
    };
  }

  async reportStatus(): Promise<void> {
    if (this.abandoned) return;
    const status = this.buildStatus();
    const serialized = JSON.stringify(status);
    if (serialized === this.lastReportedStatus) return;
    try {
      await this.host.patchPodStatus(this.pod, status);
      this.lastReportedStatus = serialized;
      this.lastStatusError = undefined;
    } catch (error) {
      // Retried on the next step (the pod may be gone or the API briefly unavailable); a rejection is logged once.
      const message = describeApiError(error);
      if (message !== this.lastStatusError) {
        this.lastStatusError = message;
        this.host.log(`pod ${this.namespace}/${this.name}: status update failed: ${message}`);
      }
    }
  }

  // ---- termination ----------------------------------------------------------------------------------------

  private async stopContainer(container: ContainerState, deadlineMs: number): Promise<void> {
    const child = container.process;
    if (child == null || !child.running) return;
    const preStop = container.spec.lifecycle?.preStop;
    if (preStop?.httpGet != null) {
      const budgetMs = Math.max(1, deadlineMs - this.host.nowMs());
      const outcome = await httpGet(preStop.httpGet, { podIp: this.podIp, container: container.spec }, budgetMs);
      if (!outcome.ok) this.host.recordEvent(this.pod, "Warning", "FailedPreStopHook", `PreStop hook for container ${container.name} failed: ${outcome.message}`);
    } else if (preStop?.sleep != null) {
      const sleepMs = Math.min(preStop.sleep.seconds * 1000, Math.max(0, deadlineMs - this.host.nowMs()));
      await new Promise((resolve) => setTimeout(resolve, sleepMs));
    }
    container.killReason = "Error";
    // After preStop the kubelet still grants a short minimum grace (2 s) before SIGKILL.
    await child.terminate(Math.max(deadlineMs - this.host.nowMs(), Math.min(2000, this.gracePeriodMs())));
  }

  private async terminate(): Promise<void> {
    const deadlineMs = this.host.nowMs() + this.gracePeriodMs();
    this.host.recordEvent(this.pod, "Normal", "Killing", `Stopping pod ${this.name} (grace ${this.gracePeriodMs() / 1000}s)`);
    const regular = this.containers.filter((candidate) => candidate.kind === "regular" || candidate.kind === "init");
    await Promise.all(regular.map((container) => this.stopContainer(container, deadlineMs)));
    for (const sidecar of this.containers.filter((candidate) => candidate.kind === "sidecar").reverse()) {
      await this.stopContainer(sidecar, deadlineMs);
    }
    await this.reportStatus();
    // Free the IP before the pod leaves the API: a StatefulSet re-creates the name as soon as it is gone, and
    // the successor should get the same address (see Kubelet.onPod).
    await this.release();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.host.finalizePodDeletion(this.pod);
        return;
      } catch (error) {
        if (attempt >= 30) {
          this.host.recordEvent(this.pod, "Warning", "FailedKillPod", `could not finalise the deletion: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  /** Node death or force deletion: kill everything at once, no hooks, no more API writes. */
  async abandon(): Promise<void> {
    this.abandoned = true;
    await Promise.all(this.containers.map((container) => container.process?.kill()));
    await this.release();
  }

  private released = false;
  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.apiProxyHandle?.stop();
    this.host.releasePod(this.uid);
  }

  /** Resolves when the pod finished terminating (or at once if it is not terminating). */
  async waitTerminated(): Promise<void> {
    await this.terminating;
  }
}

function terminatedState(termination: ContainerTermination): NonNullable<V1ContainerState["terminated"]> {
  return {
    exitCode: termination.exitCode,
    reason: termination.reason,
    startedAt: wireTime(termination.startedAt),
    finishedAt: wireTime(termination.finishedAt),
  };
}

/** The API server's message from a client-node ApiException (its body is a Status), or the error text. */
export function describeApiError(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    try {
      const status = JSON.parse(body) as { message?: string; code?: number };
      if (status.message != null) return `${status.code ?? ""} ${status.message}`.trim();
    } catch {
      // not JSON: fall through
    }
  }
  return error instanceof Error ? error.message : String(error);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A loopback TCP port free right now (small race accepted: only tests use it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address != null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
