/**
 * Time is injected everywhere (CONVENTIONS 7). `nowMs` is monotonic and is the only clock used to judge
 * expiry; `wallNow` is used only to write timestamps other parties read (Lease MicroTime, status, events).
 */
export interface Clock {
  /** Monotonic milliseconds (performance.now in production). Never compare with another host's value. */
  nowMs(): number;
  /** Wall-clock time, for timestamps written to the API server. */
  wallNow(): Date;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
