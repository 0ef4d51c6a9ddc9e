import type { Clock } from "@sqlag/api";

interface PendingSleep {
  wakeAtMs: number;
  resolve: () => void;
}

/**
 * A manual clock for tests: time moves only through `advance`, which resolves every sleep that falls due, in
 * order. Wall time moves in step with monotonic time from a fixed start.
 */
export class FakeClock implements Clock {
  private currentMs: number;
  private readonly wallStartMs: number;
  private readonly monotonicStartMs: number;
  private pending: PendingSleep[] = [];

  constructor(startMs = 1_000_000, wallStart = new Date("2026-01-01T00:00:00.000Z")) {
    this.currentMs = startMs;
    this.monotonicStartMs = startMs;
    this.wallStartMs = wallStart.getTime();
  }

  nowMs(): number {
    return this.currentMs;
  }

  wallNow(): Date {
    return new Date(this.wallStartMs + (this.currentMs - this.monotonicStartMs));
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const entry: PendingSleep = { wakeAtMs: this.currentMs + Math.max(0, ms), resolve };
      this.pending.push(entry);
      signal?.addEventListener(
        "abort",
        () => {
          this.pending = this.pending.filter((p) => p !== entry);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Moves time forward and wakes due sleepers; awaits a microtask turn per wake so continuations run. */
  async advance(ms: number): Promise<void> {
    const target = this.currentMs + ms;
    for (;;) {
      const due = this.pending.filter((p) => p.wakeAtMs <= target).sort((a, b) => a.wakeAtMs - b.wakeAtMs)[0];
      if (due === undefined) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.currentMs = Math.max(this.currentMs, due.wakeAtMs);
      due.resolve();
      await new Promise((r) => setImmediate(r));
    }
    this.currentMs = target;
  }

  /** Number of sleeps not yet due; lets tests assert that a loop is waiting. */
  pendingSleeps(): number {
    return this.pending.length;
  }
}
