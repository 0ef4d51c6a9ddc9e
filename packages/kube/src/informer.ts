/**
 * SupervisedInformer: client-node's informer (ListWatch) re-lists on 410 and reconnects after watch timeouts,
 * but on ANY other error (403, 500, connection refused during the list) it fires `error` and stops for good.
 * Nobody would notice: the cache silently freezes. This wrapper restarts it with capped, jittered exponential
 * backoff on the injected Clock, and reports what readiness needs: has the cache ever synced, how old is the
 * last event, has it been broken longer than a threshold (CONVENTIONS 11, style C15).
 *
 * Callers must not act on a cache that never synced; `hasSynced()` stays true across restarts (the cache keeps
 * its last contents and the relist reconciles it), while `healthy()` turns false when broken too long.
 */
import type { Clock } from "@sqlag/api";
import { makeInformer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import { describeKubeError } from "./errors.js";

/** The part of client-node's `Informer & ObjectCache` the supervisor uses (a fake implements it in tests). */
export interface InformerLike<T> {
  on(verb: "add" | "update" | "delete", cb: (obj: T) => void): void;
  on(verb: "error" | "connect", cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): ReadonlyArray<T>;
}

export type InformerEventType = "add" | "update" | "delete";
export type InformerHandler<T> = (obj: T) => void;

export type InformerSupervisorEvent =
  | { type: "synced"; informer: string }
  | { type: "failed"; informer: string; err: ReturnType<typeof describeKubeError>; restartInMs: number }
  | { type: "restarted"; informer: string };

export interface SupervisedInformerOptions<T> {
  /** Short name for logs and metrics ("availabilitygroups", "statefulsets"). */
  name: string;
  informer: InformerLike<T>;
  clock: Clock;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** healthy() turns false once the informer has been broken (or never synced) for longer than this. */
  brokenThresholdMs?: number;
  random?: () => number;
  onEvent?: (event: InformerSupervisorEvent) => void;
}

export class SupervisedInformer<T extends KubernetesObject> {
  readonly name: string;
  private readonly informer: InformerLike<T>;
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly brokenThresholdMs: number;
  private readonly random: () => number;
  private readonly onEvent: ((event: InformerSupervisorEvent) => void) | undefined;
  private readonly handlers: { [K in InformerEventType]: InformerHandler<T>[] } = { add: [], update: [], delete: [] };
  private synced = false;
  private lastEventAtMs: number | undefined;
  /** Monotonic time since which the informer is not watching (undefined while healthy). */
  private brokenSinceMs: number | undefined;
  private failures = 0;
  private errorSinceStart = false;
  private restartPending = false;
  private stopped = true;
  private stopSignal: AbortSignal | undefined;

  constructor(options: SupervisedInformerOptions<T>) {
    this.name = options.name;
    this.informer = options.informer;
    this.clock = options.clock;
    this.initialBackoffMs = options.initialBackoffMs ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.brokenThresholdMs = options.brokenThresholdMs ?? 60_000;
    this.random = options.random ?? Math.random;
    this.onEvent = options.onEvent;
    for (const verb of ["add", "update", "delete"] as const) {
      this.informer.on(verb, (obj: T) => {
        this.lastEventAtMs = this.clock.nowMs();
        for (const handler of this.handlers[verb]) handler(obj);
      });
    }
    this.informer.on("error", (err?: unknown) => this.failed(err));
    this.informer.on("connect", () => {
      this.lastEventAtMs = this.clock.nowMs();
    });
  }

  on(verb: InformerEventType, handler: InformerHandler<T>): void {
    this.handlers[verb].push(handler);
  }

  /** Starts watching; resolves once the first attempt finished (synced or scheduled for restart). */
  async start(signal: AbortSignal): Promise<void> {
    this.stopped = false;
    this.stopSignal = signal;
    this.brokenSinceMs = this.clock.nowMs();
    signal.addEventListener("abort", () => void this.stop(), { once: true });
    await this.attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Milliseconds since the last add/update/delete or (re)connect; undefined before the first. */
  lastEventAgeMs(): number | undefined {
    return this.lastEventAtMs === undefined ? undefined : this.clock.nowMs() - this.lastEventAtMs;
  }

  /** False once the informer has not been watching for longer than the threshold. */
  healthy(): boolean {
    if (this.brokenSinceMs === undefined) return true;
    return this.clock.nowMs() - this.brokenSinceMs <= this.brokenThresholdMs;
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.informer.list(namespace);
  }

  get(namespace: string, name: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    this.errorSinceStart = false;
    try {
      await this.informer.start();
    } catch (e) {
      this.failed(e);
      return;
    }
    if (this.errorSinceStart || this.stopped) return;
    this.failures = 0;
    this.brokenSinceMs = undefined;
    if (!this.synced) {
      this.synced = true;
      this.onEvent?.({ type: "synced", informer: this.name });
    }
  }

  private failed(err: unknown): void {
    this.errorSinceStart = true;
    if (this.stopped || this.restartPending) return;
    this.brokenSinceMs ??= this.clock.nowMs();
    const exponentialMs = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** this.failures);
    const restartInMs = Math.round(exponentialMs * (0.5 + this.random() * 0.5));
    this.failures += 1;
    this.onEvent?.({ type: "failed", informer: this.name, err: describeKubeError(err), restartInMs });
    this.restartPending = true;
    void this.clock.sleep(restartInMs, this.stopSignal).then(
      async () => {
        this.restartPending = false;
        if (this.stopped) return;
        this.onEvent?.({ type: "restarted", informer: this.name });
        await this.attempt();
      },
      () => {
        this.restartPending = false;
      },
    );
  }
}

/**
 * A client-node informer for `path` (e.g. `/apis/apps/v1/namespaces/db/statefulsets`) with the given list
 * function, ready to be supervised.
 */
export function makeClientNodeInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  labelSelector?: string,
): InformerLike<T> {
  return makeInformer<T>(kc, path, list, labelSelector) as InformerLike<T>;
}
