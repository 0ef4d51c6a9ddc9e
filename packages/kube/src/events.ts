/**
 * EventRecorder: Kubernetes Events for state transitions, aggregated like client-go's EventCorrelator so a
 * reconcile loop that fails every few seconds produces ONE event whose count grows, not thousands of objects:
 * - the same (object, type, reason) within `aggregationWindowMs` patches the existing event's count,
 *   message and lastTimestamp instead of creating a new one;
 * - a token bucket per object (burst, refill interval) drops events beyond the rate;
 * - messages are truncated to 1024 characters. Callers must never put secrets, passwords or connection
 *   strings in messages; the recorder cannot tell them apart from prose.
 * Event writes are best effort: failures are reported through `onError`, never thrown into the reconcile.
 */
import type { Clock } from "@sqlag/api";
import { CoreV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event, type KubeConfig } from "@kubernetes/client-node";
import { classifyKubeError } from "./errors.js";
import { makeApiClient, withSignal } from "./kube-config.js";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

export type EventType = "Normal" | "Warning";

/** Where events go; `CoreV1EventSink` writes core/v1 Events. */
export interface EventSink {
  create(namespace: string, event: CoreV1Event, signal: AbortSignal): Promise<void>;
  updateCount(namespace: string, name: string, patch: { count: number; message: string; lastTimestamp: Date }, signal: AbortSignal): Promise<void>;
}

export interface EventRecorderOptions {
  sink: EventSink;
  clock: Clock;
  /** `source.component` / `reportingController` (e.g. "sqlag-controller"). */
  component: string;
  /** Reporting instance (pod name). */
  instance: string;
  aggregationWindowMs?: number;
  burst?: number;
  refillIntervalMs?: number;
  requestTimeoutMs?: number;
  onError?: (err: unknown) => void;
  /** Suffix generator for event names (random in production; injectable for tests). */
  nameSuffix?: () => string;
}

interface Aggregate {
  eventName: string;
  count: number;
  lastAtMs: number;
}

interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

const MAX_MESSAGE_LENGTH = 1024;

export class EventRecorder {
  private readonly options: Required<Omit<EventRecorderOptions, "onError">> & Pick<EventRecorderOptions, "onError">;
  private readonly aggregates = new Map<string, Aggregate>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: EventRecorderOptions) {
    this.options = {
      aggregationWindowMs: 10 * 60_000,
      burst: 25,
      refillIntervalMs: 5 * 60_000 / 25,
      requestTimeoutMs: 5_000,
      nameSuffix: () => Math.random().toString(16).slice(2, 10),
      ...options,
    };
  }

  /** Records an event; resolves when written (or dropped), never rejects. */
  async record(target: EventTarget, type: EventType, reason: string, message: string): Promise<"created" | "aggregated" | "rate_limited" | "failed"> {
    const nowMs = this.options.clock.nowMs();
    const objectKey = `${target.namespace}/${target.kind}/${target.name}/${target.uid ?? ""}`;
    if (!this.takeToken(objectKey, nowMs)) return "rate_limited";
    const trimmed = message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;
    const key = `${objectKey}/${type}/${reason}`;
    const existing = this.aggregates.get(key);
    const now = this.options.clock.wallNow();
    const signal = AbortSignal.timeout(this.options.requestTimeoutMs);
    try {
      if (existing !== undefined && nowMs - existing.lastAtMs <= this.options.aggregationWindowMs) {
        existing.count += 1;
        existing.lastAtMs = nowMs;
        await this.options.sink.updateCount(target.namespace, existing.eventName, { count: existing.count, message: trimmed, lastTimestamp: now }, signal);
        return "aggregated";
      }
      const eventName = `${target.name}.${this.options.nameSuffix()}`;
      this.aggregates.set(key, { eventName, count: 1, lastAtMs: nowMs });
      this.forgetStale(nowMs);
      await this.options.sink.create(target.namespace, {
        metadata: { name: eventName, namespace: target.namespace },
        involvedObject: { apiVersion: target.apiVersion, kind: target.kind, name: target.name, namespace: target.namespace, ...(target.uid !== undefined ? { uid: target.uid } : {}) },
        type,
        reason,
        message: trimmed,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.options.component },
        reportingComponent: this.options.component,
        reportingInstance: this.options.instance,
      }, signal);
      return "created";
    } catch (e) {
      // The aggregate may point at an event that was never written: start afresh next time.
      this.aggregates.delete(key);
      this.options.onError?.(classifyKubeError(e));
      return "failed";
    }
  }

  private takeToken(objectKey: string, nowMs: number): boolean {
    const bucket = this.buckets.get(objectKey) ?? { tokens: this.options.burst, refilledAtMs: nowMs };
    const refills = Math.floor((nowMs - bucket.refilledAtMs) / this.options.refillIntervalMs);
    if (refills > 0) {
      bucket.tokens = Math.min(this.options.burst, bucket.tokens + refills);
      bucket.refilledAtMs += refills * this.options.refillIntervalMs;
    }
    this.buckets.set(objectKey, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private forgetStale(nowMs: number): void {
    for (const [key, aggregate] of this.aggregates) {
      if (nowMs - aggregate.lastAtMs > this.options.aggregationWindowMs) this.aggregates.delete(key);
    }
  }
}

/** Writes core/v1 Events (readable by `kubectl describe` everywhere). */
export class CoreV1EventSink implements EventSink {
  constructor(private readonly core: CoreV1Api) {}

  static fromKubeConfig(kc: KubeConfig): CoreV1EventSink {
    return new CoreV1EventSink(makeApiClient(kc, CoreV1Api));
  }

  async create(namespace: string, event: CoreV1Event, signal: AbortSignal): Promise<void> {
    await withSignal(signal, () => this.core.createNamespacedEvent({ namespace, body: event }));
  }

  async updateCount(namespace: string, name: string, patch: { count: number; message: string; lastTimestamp: Date }, signal: AbortSignal): Promise<void> {
    await withSignal(signal, () =>
      this.core.patchNamespacedEvent(
        { namespace, name, body: { count: patch.count, message: patch.message, lastTimestamp: patch.lastTimestamp.toISOString() } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ),
    );
  }
}
