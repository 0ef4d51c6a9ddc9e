/**
 * Reading a Service's real EndpointSlices (label `kubernetes.io/service-name`), the way a client-side load
 * balancer or kube-proxy does: the union of all slices, endpoints whose `conditions.ready` is not false.
 * The pure functions are shared by the workload (where to connect) and the invariant checker (what the rw
 * listener routed to over time).
 */
import { DiscoveryV1Api, makeInformer, type KubeConfig, type V1EndpointSlice } from "@kubernetes/client-node";

export const serviceNameLabel = "kubernetes.io/service-name";

export interface ServiceEndpoint {
  readonly address: string;
  readonly port: number;
  /** The pod behind the endpoint (targetRef), when known. */
  readonly podName: string | undefined;
  readonly ready: boolean;
}

/** All endpoints of the service, one per address, ordered by pod name then address for determinism. */
export function endpointsFromSlices(slices: readonly V1EndpointSlice[], portName?: string): ServiceEndpoint[] {
  const byAddress = new Map<string, ServiceEndpoint>();
  for (const slice of slices) {
    const ports = slice.ports ?? [];
    const port = (portName != null ? ports.find((candidate) => candidate.name === portName) : ports[0]) ?? undefined;
    if (port?.port == null) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const address = endpoint.addresses[0];
      if (address == null) continue;
      // The API says an unknown (nil) ready condition should be treated as ready.
      const ready = endpoint.conditions?.ready !== false;
      const podName = endpoint.targetRef?.kind === "Pod" ? endpoint.targetRef.name : undefined;
      const existing = byAddress.get(address);
      if (existing == null || (!existing.ready && ready)) byAddress.set(address, { address, port: port.port, podName, ready });
    }
  }
  return [...byAddress.values()].sort((a, b) => (a.podName ?? "").localeCompare(b.podName ?? "") || a.address.localeCompare(b.address));
}

export function readyEndpoints(slices: readonly V1EndpointSlice[], portName?: string): ServiceEndpoint[] {
  return endpointsFromSlices(slices, portName).filter((endpoint) => endpoint.ready);
}

export async function listServiceSlices(discovery: DiscoveryV1Api, namespace: string, serviceName: string): Promise<V1EndpointSlice[]> {
  const list = await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `${serviceNameLabel}=${serviceName}` });
  return list.items;
}

/** One observation of what the service routes to. */
export interface ListenerSample {
  /** Wall clock, ms since the epoch (comparable with the simulator's ground truth). */
  readonly atMs: number;
  /** Pods behind ready endpoints (or addresses when an endpoint has no targetRef), sorted. */
  readonly readyPods: readonly string[];
  /** All pods listed, ready or not. */
  readonly listedPods: readonly string[];
}

export function sampleOf(slices: readonly V1EndpointSlice[], atMs: number): ListenerSample {
  const endpoints = endpointsFromSlices(slices);
  const name = (endpoint: ServiceEndpoint): string => endpoint.podName ?? endpoint.address;
  return {
    atMs,
    readyPods: endpoints.filter((endpoint) => endpoint.ready).map(name).sort(),
    listedPods: endpoints.map(name).sort(),
  };
}

/**
 * Watches a Service's EndpointSlices and records every change of what it lists (for invariant 3).
 * Start it before the scenario and stop it after.
 */
export class EndpointSliceRecorder {
  private readonly recorded: ListenerSample[] = [];
  private informer: ReturnType<typeof makeInformer<V1EndpointSlice>> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly kubeConfig: KubeConfig,
    readonly namespace: string,
    readonly serviceName: string,
    private readonly wallNowMs: () => number = Date.now,
  ) {}

  get samples(): readonly ListenerSample[] {
    return this.recorded;
  }

  async start(): Promise<void> {
    const discovery = this.kubeConfig.makeApiClient(DiscoveryV1Api);
    const informer = makeInformer<V1EndpointSlice>(
      this.kubeConfig,
      `/apis/discovery.k8s.io/v1/namespaces/${this.namespace}/endpointslices`,
      () => discovery.listNamespacedEndpointSlice({ namespace: this.namespace, labelSelector: `${serviceNameLabel}=${this.serviceName}` }),
      `${serviceNameLabel}=${this.serviceName}`,
    );
    const record = (): void => this.record(informer.list(this.namespace));
    informer.on("add", record);
    informer.on("update", record);
    informer.on("delete", record);
    informer.on("error", () => {
      if (this.stopped) return;
      clearTimeout(this.restartTimer);
      this.restartTimer = setTimeout(() => void informer.start().catch(() => undefined), 500);
    });
    this.informer = informer;
    await informer.start();
    record();
  }

  private record(slices: readonly V1EndpointSlice[]): void {
    const sample = sampleOf(slices, this.wallNowMs());
    const last = this.recorded.at(-1);
    if (last != null && last.readyPods.join() === sample.readyPods.join() && last.listedPods.join() === sample.listedPods.join()) return;
    this.recorded.push(sample);
  }

  async stop(): Promise<readonly ListenerSample[]> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.informer?.stop().catch(() => undefined);
    return this.recorded;
  }
}
