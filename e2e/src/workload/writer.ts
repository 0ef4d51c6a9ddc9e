/**
 * The workload: an application that writes unique keys through the rw listener Service. Like a real client it
 * has no knowledge of roles: each connection attempt resolves the Service's EndpointSlices to a ready endpoint,
 * connects with tedious, and keeps writing on that connection until something fails; then it drops the
 * connection, waits a little and resolves again. Every acknowledged write and every failure is journalled
 * (wall-clock times, to line up with the simulator's ground truth). Bounded: `stop()` ends it.
 */
import { DiscoveryV1Api, type KubeConfig } from "@kubernetes/client-node";
import { Connection, Request, TYPES } from "tedious";
import { reachableAddressOf } from "../kubelet/ip-allocator.js";
import { listServiceSlices, readyEndpoints, type ServiceEndpoint } from "./endpoints.js";
import type { AcknowledgedWrite, FailedWrite, WorkloadJournal } from "./journal.js";

export interface WriterOptions {
  /** Used to read the Service's EndpointSlices; not needed when `resolveEndpoints` is given. */
  readonly kubeConfig?: KubeConfig;
  /** Overrides EndpointSlice resolution (tests, or benchmarks against bare simulators). */
  readonly resolveEndpoints?: () => Promise<readonly ServiceEndpoint[]>;
  readonly namespace: string;
  /** The rw listener Service. */
  readonly serviceName: string;
  readonly database: string;
  readonly userName?: string;
  readonly password: string;
  /** EndpointSlice port name; default the first port. */
  readonly portName?: string;
  /** Unique per run; keys are `<prefix>-<n>`. */
  readonly keyPrefix?: string;
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Pause after a failure before resolving and reconnecting (an app's retry delay). */
  readonly retryDelayMs?: number;
  /** Pause between successful writes (0 = as fast as acknowledgements come). */
  readonly writeIntervalMs?: number;
  readonly encrypt?: boolean;
  /** Maps an address read from the API to one this process can reach (default: the fake kubelet's NAT). */
  readonly reachableAddress?: (address: string) => string;
  readonly wallNowMs?: () => number;
}

export class NoReadyEndpointError extends Error {
  constructor(namespace: string, serviceName: string) {
    super(`service ${namespace}/${serviceName} has no ready endpoint`);
    this.name = "NoReadyEndpointError";
  }
}

interface SqlFailure {
  readonly message: string;
  readonly number: number | undefined;
}

function describeSqlError(error: unknown): SqlFailure {
  if (error instanceof AggregateError) {
    const first = error.errors[0] as unknown;
    if (first != null) return describeSqlError(first);
  }
  const number = (error as { number?: unknown } | null)?.number;
  return { message: error instanceof Error ? error.message : String(error), number: typeof number === "number" ? number : undefined };
}

export class KeyWriter {
  private readonly acknowledged: AcknowledgedWrite[] = [];
  private readonly failures: FailedWrite[] = [];
  private readonly discovery: DiscoveryV1Api | undefined;
  private readonly wallNowMs: () => number;
  private startedAtMs = 0;
  private stoppedAtMs: number | undefined;
  private sequence = 0;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private connection: Connection | undefined;

  constructor(private readonly options: WriterOptions) {
    if (options.kubeConfig == null && options.resolveEndpoints == null) throw new TypeError("KeyWriter needs a kubeConfig or resolveEndpoints");
    this.discovery = options.kubeConfig?.makeApiClient(DiscoveryV1Api);
    this.wallNowMs = options.wallNowMs ?? Date.now;
  }

  get journal(): WorkloadJournal {
    return { startedAtMs: this.startedAtMs, stoppedAtMs: this.stoppedAtMs, acknowledged: this.acknowledged, failures: this.failures };
  }

  start(): void {
    if (this.running != null) return;
    this.startedAtMs = this.wallNowMs();
    this.running = this.loop();
  }

  /** Stops writing (an in-flight write is allowed to finish) and returns the journal. */
  async stop(): Promise<WorkloadJournal> {
    this.abort.abort();
    this.connection?.close();
    await this.running;
    this.stoppedAtMs = this.wallNowMs();
    return this.journal;
  }

  private nextKey(): string {
    this.sequence++;
    return `${this.options.keyPrefix ?? "w"}-${this.sequence}`;
  }

  private async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.abort.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.abort.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }

  private fail(failure: Omit<FailedWrite, "atMs">): void {
    this.failures.push({ ...failure, atMs: this.wallNowMs() });
  }

  private async resolveEndpoint(): Promise<ServiceEndpoint> {
    let ready: readonly ServiceEndpoint[];
    if (this.options.resolveEndpoints != null) {
      ready = (await this.options.resolveEndpoints()).filter((endpoint) => endpoint.ready);
    } else {
      const slices = await listServiceSlices(this.discovery as DiscoveryV1Api, this.options.namespace, this.options.serviceName);
      ready = readyEndpoints(slices, this.options.portName);
    }
    const chosen = ready[0];
    if (chosen == null) throw new NoReadyEndpointError(this.options.namespace, this.options.serviceName);
    return chosen;
  }

  private connect(endpoint: ServiceEndpoint): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const connection = new Connection({
        server: (this.options.reachableAddress ?? reachableAddressOf)(endpoint.address),
        authentication: { type: "default", options: { userName: this.options.userName ?? "sa", password: this.options.password } },
        options: {
          port: endpoint.port,
          database: this.options.database,
          encrypt: this.options.encrypt ?? true,
          trustServerCertificate: true,
          connectTimeout: this.options.connectTimeoutMs ?? 3_000,
          requestTimeout: this.options.requestTimeoutMs ?? 3_000,
          // An app keeps retrying itself; tedious's own transient retry would hide the failure from the journal.
          maxRetriesOnTransientErrors: 0,
        },
      });
      connection.on("error", () => undefined);
      connection.connect((error) => {
        if (error != null) {
          connection.close();
          reject(error);
        } else {
          resolve(connection);
        }
      });
    });
  }

  private insert(connection: Connection, key: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const request = new Request("INSERT INTO kv (k, v) VALUES (@k, @v)", (error) => (error != null ? reject(error) : resolve()));
      request.addParameter("k", TYPES.NVarChar, key, { length: 64 });
      request.addParameter("v", TYPES.NVarChar, `written at ${new Date(this.wallNowMs()).toISOString()}`, { length: 4000 });
      connection.execSql(request);
    });
  }

  private async loop(): Promise<void> {
    const retryDelayMs = this.options.retryDelayMs ?? 200;
    while (!this.abort.signal.aborted) {
      let endpoint: ServiceEndpoint;
      try {
        endpoint = await this.resolveEndpoint();
      } catch (error) {
        this.fail({ key: undefined, endpoint: undefined, stage: "resolve", error: describeSqlError(error).message, errorNumber: undefined, ambiguous: false });
        await this.pause(retryDelayMs);
        continue;
      }
      const target = `${endpoint.address}:${endpoint.port}`;
      let connection: Connection;
      try {
        connection = await this.connect(endpoint);
      } catch (error) {
        const failure = describeSqlError(error);
        this.fail({ key: undefined, endpoint: target, stage: "connect", error: failure.message, errorNumber: failure.number, ambiguous: false });
        await this.pause(retryDelayMs);
        continue;
      }
      this.connection = connection;
      try {
        while (!this.abort.signal.aborted) {
          const key = this.nextKey();
          const sentAtMs = this.wallNowMs();
          try {
            await this.insert(connection, key);
          } catch (error) {
            const failure = describeSqlError(error);
            // A server error number means the statement was rejected (not applied); anything else may have been.
            this.fail({ key, endpoint: target, stage: "write", error: failure.message, errorNumber: failure.number, ambiguous: failure.number == null });
            break;
          }
          const atMs = this.wallNowMs();
          this.acknowledged.push({ key, endpoint: target, podName: endpoint.podName, atMs, latencyMs: atMs - sentAtMs });
          await this.pause(this.options.writeIntervalMs ?? 0);
        }
      } finally {
        connection.close();
        this.connection = undefined;
      }
      await this.pause(retryDelayMs);
    }
  }
}
