/**
 * A rate-limited, de-duplicating work queue with client-go workqueue semantics, so one CR is never reconciled by
 * two workers at once and a burst of watch events collapses into one reconcile:
 * - a key is queued at most once (`dirty`); a key being processed that is added again is re-queued when the
 *   worker calls `done`, never handed to a second worker;
 * - `addRateLimited` delays a failing key exponentially (per key, capped) until `forget` resets it on success;
 * - `addAfter` schedules a key on the injected Clock (resync, requeue-after); only the earliest pending delay
 *   per key is kept.
 */
import type { Clock } from "@sqlag/api";

export interface WorkQueueOptions {
  clock: Clock;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Key → monotonic time at which its earliest delayed add fires. */
  private readonly delayed = new Map<string, number>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private readonly shutdownController = new AbortController();

  constructor(options: WorkQueueOptions) {
    this.clock = options.clock;
    this.baseBackoffMs = options.baseBackoffMs ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 300_000;
  }

  add(key: string): void {
    if (this.shuttingDown() || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown()) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const fireAtMs = this.clock.nowMs() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined && pending <= fireAtMs) return;
    this.delayed.set(key, fireAtMs);
    this.clock.sleep(delayMs, this.shutdownController.signal).then(
      () => {
        if (this.delayed.get(key) !== fireAtMs) return; // superseded by an earlier delay
        this.delayed.delete(key);
        this.add(key);
      },
      () => undefined,
    );
  }

  /** Re-queues a failed key after its per-key exponential backoff; returns the delay used. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delayMs = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** failures);
    this.addAfter(key, delayMs);
    return delayMs;
  }

  /** Clears the failure history of a key (call after a successful reconcile). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waits for the next key; undefined once the queue shuts down or `signal` aborts. */
  get(signal?: AbortSignal): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown() || signal?.aborted === true) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = (next: string | undefined): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve(next === undefined ? undefined : this.take(next));
      };
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Marks a key as processed; re-queues it if it was added while processing. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
  }

  /** Keys waiting to be processed (the queue-depth metric). */
  length(): number {
    return this.queue.length;
  }

  shutDown(): void {
    this.shutdownController.abort();
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter(undefined);
  }

  private shuttingDown(): boolean {
    return this.shutdownController.signal.aborted;
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(key);
    else this.queue.push(key);
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
