/**
 * The per-container probe state machine (pure; times on the kubelet's monotonic clock).
 *
 * Semantics follow the kubelet's prober: a probe first runs `initialDelaySeconds` after the container started,
 * then every `periodSeconds`; the result flips to failure after `failureThreshold` consecutive failures and to
 * success after `successThreshold` consecutive successes. Initial results differ by kind: readiness starts
 * failed (a container is not ready until proven), liveness and startup start "unknown" and count as passing
 * for liveness purposes. Startup, once succeeded, is never run again for that container instance.
 */
import type { V1Probe } from "@kubernetes/client-node";

export type ProbeKind = "readiness" | "liveness" | "startup";
export type ProbeResult = "success" | "failure" | "unknown";

export interface ProbeTiming {
  readonly initialDelayMs: number;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
}

export function probeTiming(probe: V1Probe, kind: ProbeKind): ProbeTiming {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: Math.max(1, probe.periodSeconds ?? 10) * 1000,
    timeoutMs: Math.max(1, probe.timeoutSeconds ?? 1) * 1000,
    failureThreshold: Math.max(1, probe.failureThreshold ?? 3),
    // Liveness and startup must use 1 (API validation); readiness may ask for more.
    successThreshold: kind === "readiness" ? Math.max(1, probe.successThreshold ?? 1) : 1,
  };
}

export class ProbeState {
  private consecutiveSuccesses = 0;
  private consecutiveFailures = 0;
  private nextDueMs: number;
  private inFlight = false;
  private current: ProbeResult;
  private lastMessage = "";

  constructor(
    readonly kind: ProbeKind,
    readonly timing: ProbeTiming,
    containerStartedAtMs: number,
  ) {
    this.nextDueMs = containerStartedAtMs + timing.initialDelayMs;
    this.current = kind === "readiness" ? "failure" : "unknown";
  }

  get result(): ProbeResult {
    return this.current;
  }

  get message(): string {
    return this.lastMessage;
  }

  /** Whether a probe should start now (never two at once for one container and kind). */
  isDue(nowMs: number): boolean {
    return !this.inFlight && nowMs >= this.nextDueMs && !(this.kind === "startup" && this.current === "success");
  }

  begin(nowMs: number): void {
    this.inFlight = true;
    this.nextDueMs = nowMs + this.timing.periodMs;
  }

  /** Records one probe outcome; returns the result when it changed, otherwise undefined. */
  record(ok: boolean, message = ""): ProbeResult | undefined {
    this.inFlight = false;
    this.lastMessage = message;
    const before = this.current;
    if (ok) {
      this.consecutiveFailures = 0;
      this.consecutiveSuccesses++;
      if (this.consecutiveSuccesses >= this.timing.successThreshold) this.current = "success";
    } else {
      this.consecutiveSuccesses = 0;
      this.consecutiveFailures++;
      if (this.consecutiveFailures >= this.timing.failureThreshold) this.current = "failure";
    }
    return this.current === before ? undefined : this.current;
  }

  /** A liveness or startup failure means the container must be restarted. */
  demandsRestart(): boolean {
    return (this.kind === "liveness" || this.kind === "startup") && this.current === "failure";
  }
}
