/**
 * The fault menu for e2e scenarios (ARCHITECTURE §6 tier 3). Every fault acts on something the fake kubelet
 * started, by pid or by the pod's own proxy, never by process name:
 * - crashContainer: SIGKILL the container's process group; the kubelet restarts it per restartPolicy/back-off.
 * - freezeContainer / thawContainer: SIGSTOP / SIGCONT the process group (a hung process that holds its sockets).
 * - killNode / reviveNode: every process of the node's pods dies without preStop; heartbeats stop and the Node
 *   turns Ready=Unknown; pods stay bound (the test deletes them, e.g. forceDeletePod, as an operator would).
 * - cutApiAccess / restoreApiAccess: the pod's API proxy drops open connections and refuses or blackholes new ones.
 * - partitionSql / healSql: silence the SQL endpoint link between two pods through mssql-sim's admin API.
 * - deletePod: graceful deletion through the API (preStop, grace period, then finalised by the kubelet).
 * - cutPeerHttp / healPeerHttp: the pod's agent-to-agent HTTP, both ways (peer-http-partition.ts); keep the same
 *   Faults instance for the cut and the heal, and call stopPeerHttpPartition() in teardown.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { AGENT_HTTP_PORT } from "@sqlag/api";
import type { Kubelet, PodHandle } from "../kubelet/kubelet.js";
import type { ApiCutMode } from "./api-proxy.js";
import { HttpMssqlAdmin, type MssqlAdmin } from "./mssql-admin.js";
import { PeerHttpPartition, type PeerCutMode } from "./peer-http-partition.js";

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

export class FaultTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FaultTargetError";
  }
}

/** The SQL Server container's name in the rendered pod (ARCHITECTURE §3). */
export const mssqlContainerName = "mssql";

export class Faults {
  private readonly core: CoreV1Api;

  constructor(
    private readonly kubelet: Kubelet,
    kubeConfig: KubeConfig,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  private pod(ref: PodRef): PodHandle {
    const handle = this.kubelet.pod(ref.namespace, ref.name);
    if (handle == null) throw new FaultTargetError(`pod ${ref.namespace}/${ref.name} is not running on the fake kubelet`);
    return handle;
  }

  crashContainer(ref: PodRef, container: string): void {
    this.kubelet.signalContainer(ref.namespace, ref.name, container, "SIGKILL");
  }

  freezeContainer(ref: PodRef, container: string): void {
    this.kubelet.signalContainer(ref.namespace, ref.name, container, "SIGSTOP");
  }

  thawContainer(ref: PodRef, container: string): void {
    this.kubelet.signalContainer(ref.namespace, ref.name, container, "SIGCONT");
  }

  killNode(nodeName: string): Promise<void> {
    return this.kubelet.killNode(nodeName);
  }

  reviveNode(nodeName: string): Promise<void> {
    return this.kubelet.reviveNode(nodeName);
  }

  /** The node a pod runs on, e.g. to kill the primary's node. */
  nodeOf(ref: PodRef): string {
    return this.pod(ref).nodeName;
  }

  cutApiAccess(ref: PodRef, mode: ApiCutMode = "blackhole"): void {
    const proxy = this.pod(ref).apiProxy;
    if (proxy == null) throw new FaultTargetError(`pod ${ref.namespace}/${ref.name} has no API proxy yet`);
    proxy.cut(mode);
  }

  restoreApiAccess(ref: PodRef): void {
    this.pod(ref).apiProxy?.restore();
  }

  /** The mssql-sim admin client of a pod's SQL Server container. */
  mssqlAdmin(ref: PodRef, container = mssqlContainerName): MssqlAdmin {
    const adminPort = this.pod(ref).container(container)?.adminPort;
    if (adminPort == null) throw new FaultTargetError(`pod ${ref.namespace}/${ref.name} has no running ${container} container with an admin port`);
    return new HttpMssqlAdmin(ref.name, adminPort);
  }

  /** Both directions: each side drops the other's endpoint traffic (instances are named after their pods). */
  async partitionSql(a: PodRef, b: PodRef, container = mssqlContainerName): Promise<void> {
    await this.mssqlAdmin(a, container).partition(b.name);
    await this.mssqlAdmin(b, container).partition(a.name);
  }

  async healSql(a: PodRef, b: PodRef, container = mssqlContainerName): Promise<void> {
    await this.mssqlAdmin(a, container).heal(b.name);
    await this.mssqlAdmin(b, container).heal(a.name);
  }

  /** Graceful deletion, as `kubectl delete pod` (the kubelet runs preStop and finalises). */
  async deletePod(ref: PodRef, gracePeriodSeconds?: number): Promise<void> {
    await this.core.deleteNamespacedPod({ name: ref.name, namespace: ref.namespace, gracePeriodSeconds });
  }

  /** `kubectl delete pod --force --grace-period=0`: needed for pods on a killed node. */
  async forceDeletePod(ref: PodRef): Promise<void> {
    await this.core.deleteNamespacedPod({ name: ref.name, namespace: ref.namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0 } });
  }

  private peerHttpPartition: PeerHttpPartition | undefined;

  /**
   * Cuts the pod's agent from every other agent's HTTP (status, sequence reports, failsafe heartbeats) and every
   * other agent from it, like the simulator harness's cutPeerTraffic. Its processes are identified by pid, so a
   * container restarted during the cut stays cut.
   */
  async cutPeerHttp(ref: PodRef, mode: PeerCutMode = "blackhole", agentPort = AGENT_HTTP_PORT): Promise<void> {
    const podIp = this.pod(ref).podIp;
    this.peerHttpPartition ??= new PeerHttpPartition(this.kubelet, { port: agentPort, mode });
    await this.peerHttpPartition.isolate({
      podIp,
      pids: () => (this.kubelet.pod(ref.namespace, ref.name)?.containers ?? []).flatMap((container) => (container.pid !== undefined ? [container.pid] : [])),
    });
  }

  async healPeerHttp(ref: PodRef): Promise<void> {
    const podIp = this.pod(ref).podIp;
    await this.peerHttpPartition?.heal(podIp);
  }

  /** Teardown: heals every peer HTTP cut of this instance and stops its proxies (no-op when nothing was cut). */
  async stopPeerHttpPartition(): Promise<void> {
    await this.peerHttpPartition?.stop();
    this.peerHttpPartition = undefined;
  }
}
