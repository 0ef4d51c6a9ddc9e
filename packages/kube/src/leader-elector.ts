/**
 * LeaderElector: client-go leader election for the CONTROLLER's replicas (the agents run their own Lease logic
 * on LeaseClient, because their role decisions need more than "am I leader").
 *
 * Semantics (tools/leaderelection in client-go, reference/ha-peers.md §3.2):
 * - acquire: try every retryPeriod (jittered by up to jitterFactor·retryPeriod) until the Lease is free, ours,
 *   or has been seen unchanged for a full leaseDuration on OUR monotonic clock (lease-math); then claim it with
 *   a compare-and-swap. A 409 means another replica won the race: keep trying.
 * - lead: renew every retryPeriod. The renewal is valid while the send time of the last successful renewal is
 *   within renewDeadline (lease-math holderStillValid). Past that, leadership is lost: the guarded work is
 *   aborted, onStoppedLeading runs and run() returns "lost". It does NOT re-acquire (client-go #1155); the
 *   process is expected to exit (kubernetes maintainers' guidance) and be restarted as a follower.
 * - stop (the run signal aborts) while leading: abort the guarded work, wait for it to finish, THEN release
 *   the Lease (empty holder, duration 1) so a standby takes over at once. Releasing while work still runs
 *   would allow two leaders.
 * - Timing validation: leaseDuration > renewDeadline > jitterFactor·retryPeriod, all positive.
 *
 * onStoppedLeading runs only if this process actually led (client-go calls it regardless, #1187).
 */
import type { Clock } from "@sqlag/api";
import { describeKubeError } from "./errors.js";
import type { LeaseClient } from "./lease-client.js";
import { holderStillValid, isClaimable, observeLease, type LeaseObservation, type LeaseRecord } from "./lease-math.js";

export const JITTER_FACTOR = 1.2;

export interface LeaderElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's defaults for core components. */
export const DEFAULT_LEADER_ELECTION_TIMING: LeaderElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** Lists every problem with the timing (empty when valid). */
export function validateLeaderElectionTiming(timing: LeaderElectionTiming): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(timing)) {
    if (!Number.isFinite(value) || value <= 0) problems.push(`${name} must be a positive number of milliseconds, got ${value}.`);
  }
  if (timing.leaseDurationMs <= timing.renewDeadlineMs) {
    problems.push(`leaseDurationMs (${timing.leaseDurationMs}) must be greater than renewDeadlineMs (${timing.renewDeadlineMs}); raise the lease duration or shorten the renew deadline.`);
  }
  if (timing.renewDeadlineMs <= JITTER_FACTOR * timing.retryPeriodMs) {
    problems.push(`renewDeadlineMs (${timing.renewDeadlineMs}) must be greater than ${JITTER_FACTOR} × retryPeriodMs (${timing.retryPeriodMs}); shorten the retry period or lengthen the renew deadline.`);
  }
  return problems;
}

export class LeaderElectionConfigError extends Error {
  override readonly name = "LeaderElectionConfigError";
  constructor(readonly problems: string[]) {
    super(`Invalid leader election timing: ${problems.join(" ")}`);
  }
}

/** Typed lifecycle events (CONVENTIONS 14); logging and metrics subscribe in main.ts. */
export type LeaderElectorEvent =
  | { type: "acquired"; epoch: number }
  | { type: "renew_failed"; err: ReturnType<typeof describeKubeError> }
  | { type: "acquire_failed"; err: ReturnType<typeof describeKubeError> }
  | { type: "lost"; reason: "renew_deadline_exceeded" | "preempted" }
  | { type: "released" }
  | { type: "release_failed"; err: ReturnType<typeof describeKubeError> }
  | { type: "new_leader"; holder: string };

export type LeaderElectionOutcome = "stopped_before_leading" | "released" | "lost";

export interface LeaderElectorOptions {
  lease: LeaseClient;
  identity: string;
  timing: LeaderElectionTiming;
  clock: Clock;
  /** Work that runs while leading; its signal aborts when leadership ends. Awaited before release. */
  onStartedLeading: (signal: AbortSignal) => Promise<void> | void;
  /** Runs once after leading ended (lost or released); never when this process never led. */
  onStoppedLeading?: () => void;
  onEvent?: (event: LeaderElectorEvent) => void;
  /** [0,1) random source for jitter; injectable for tests. */
  random?: () => number;
  /** Per-request timeout; defaults to retryPeriod so one hung request cannot eat the renew deadline. */
  requestTimeoutMs?: number;
}

export class LeaderElector {
  private readonly options: LeaderElectorOptions;
  private readonly random: () => number;
  private readonly requestTimeoutMs: number;
  private observation: LeaseObservation | undefined;
  private lastRenewSentAtMs: number | undefined;
  private leading = false;
  private lastReportedHolder: string | undefined;

  constructor(options: LeaderElectorOptions) {
    const problems = validateLeaderElectionTiming(options.timing);
    if (problems.length > 0) throw new LeaderElectionConfigError(problems);
    this.options = options;
    this.random = options.random ?? Math.random;
    this.requestTimeoutMs = options.requestTimeoutMs ?? options.timing.retryPeriodMs;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder this replica last observed ("" when free, undefined before the first read). */
  observedHolder(): string | undefined {
    return this.observation?.record?.holderIdentity;
  }

  /** Acquires, leads until lost or until `signal` aborts, then releases. Resolves; never rejects for API errors. */
  async run(signal: AbortSignal): Promise<LeaderElectionOutcome> {
    const acquired = await this.acquire(signal);
    if (!acquired) return "stopped_before_leading";
    this.leading = true;
    const leaderWork = new AbortController();
    const work = Promise.resolve()
      .then(() => this.options.onStartedLeading(leaderWork.signal))
      .catch(() => undefined); // the work's own errors are the caller's concern; leadership ends through the signal
    const outcome = await this.renewLoop(signal);
    leaderWork.abort(new Error(outcome === "lost" ? "leadership lost" : "shutting down"));
    await work;
    if (outcome === "released") await this.release();
    this.leading = false;
    this.options.onStoppedLeading?.();
    return outcome;
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew("acquire")) {
        this.emit({ type: "acquired", epoch: this.observation?.record?.leaseTransitions ?? 0 });
        return true;
      }
      const jitteredMs = this.options.timing.retryPeriodMs * (1 + this.random() * (JITTER_FACTOR - 1));
      if (!(await this.sleep(jitteredMs, signal))) return false;
    }
    return false;
  }

  private async renewLoop(signal: AbortSignal): Promise<"released" | "lost"> {
    for (;;) {
      if (!(await this.sleep(this.options.timing.retryPeriodMs, signal))) return "released";
      const renewed = await this.tryAcquireOrRenew("renew");
      if (renewed) continue;
      if (this.preempted()) {
        this.emit({ type: "lost", reason: "preempted" });
        return "lost";
      }
      if (!holderStillValid(this.lastRenewSentAtMs, this.options.timing.renewDeadlineMs, this.options.clock.nowMs())) {
        this.emit({ type: "lost", reason: "renew_deadline_exceeded" });
        return "lost";
      }
    }
  }

  /** True when a read showed another holder: no point retrying until the deadline. */
  private preempted(): boolean {
    const holder = this.observation?.record?.holderIdentity;
    return holder !== undefined && holder !== "" && holder !== this.options.identity;
  }

  private async tryAcquireOrRenew(phase: "acquire" | "renew"): Promise<boolean> {
    const { lease, identity, clock } = this.options;
    const durationSeconds = Math.ceil(this.options.timing.leaseDurationMs / 1000);
    const requestSignal = (): AbortSignal => AbortSignal.timeout(this.requestTimeoutMs);
    try {
      const cached = this.observation?.record;
      // Fast path: a leader renews with its cached object; a conflict falls through to a fresh read.
      if (phase === "renew" && cached !== undefined && cached.holderIdentity === identity) {
        const result = await lease.tryRenew(cached, identity, durationSeconds, requestSignal());
        if (result.ok) {
          this.recordSuccess(result.record, result.sentAtMs);
          return true;
        }
      }
      const record = await lease.read(requestSignal());
      this.observe(record);
      const observation = this.observation;
      if (observation === undefined) return false;
      const mine = record !== undefined && record.holderIdentity === identity;
      if (!mine && !isClaimable(observation, clock.nowMs())) return false;
      if (phase === "renew" && !mine) return false; // someone else took it: do not steal it back
      const result = await lease.tryClaim(record, identity, durationSeconds, requestSignal());
      if (!result.ok) return false;
      this.recordSuccess(result.record, result.sentAtMs);
      return true;
    } catch (e) {
      const err = describeKubeError(e);
      this.emit(phase === "renew" ? { type: "renew_failed", err } : { type: "acquire_failed", err });
      return false;
    }
  }

  private recordSuccess(record: LeaseRecord, sentAtMs: number): void {
    this.lastRenewSentAtMs = sentAtMs;
    this.observe(record);
  }

  private observe(record: LeaseRecord | undefined): void {
    this.observation = observeLease(this.observation, record, this.options.clock.nowMs());
    const holder = record?.holderIdentity ?? "";
    if (holder !== this.lastReportedHolder) {
      this.lastReportedHolder = holder;
      if (holder !== "") this.emit({ type: "new_leader", holder });
    }
  }

  private async release(): Promise<void> {
    const record = this.observation?.record;
    if (record === undefined || record.holderIdentity !== this.options.identity) return;
    try {
      const result = await this.options.lease.release(record, {}, AbortSignal.timeout(this.requestTimeoutMs));
      if (result.ok) {
        this.observe(result.record);
        this.emit({ type: "released" });
      } else {
        this.emit({ type: "release_failed", err: { name: "LeaseConflictError", message: "Lease changed before release" } });
      }
    } catch (e) {
      this.emit({ type: "release_failed", err: describeKubeError(e) });
    }
  }

  private async sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.options.clock.sleep(ms, signal);
      return true;
    } catch {
      return false;
    }
  }

  private emit(event: LeaderElectorEvent): void {
    this.options.onEvent?.(event);
  }
}
