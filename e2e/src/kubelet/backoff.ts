/**
 * Container restart back-off, as the kubelet does it: the delay doubles from `initialMs` per restart and is
 * capped at `maxMs`; a container that ran for longer than `resetAfterMs` starts over at `initialMs`.
 * Real defaults are 10 s and 5 min; tests scale them down through KubeletOptions.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Running this long without a crash forgets earlier crashes (kubelet: twice the cap). */
  readonly resetAfterMs: number;
}

export const realBackoffPolicy: BackoffPolicy = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

/** Scales the real policy, e.g. `scaledBackoffPolicy(0.01)` → 100 ms doubling to 3 s. */
export function scaledBackoffPolicy(factor: number): BackoffPolicy {
  return {
    initialMs: realBackoffPolicy.initialMs * factor,
    maxMs: realBackoffPolicy.maxMs * factor,
    resetAfterMs: realBackoffPolicy.resetAfterMs * factor,
  };
}

/** Delay before the next start, given how many crashes happened in a row (1 for the first crash). */
export function restartDelayMs(consecutiveCrashes: number, policy: BackoffPolicy): number {
  if (consecutiveCrashes <= 0) return 0;
  const exponent = Math.min(consecutiveCrashes - 1, 30);
  return Math.min(policy.initialMs * 2 ** exponent, policy.maxMs);
}

/** Crash streak after a container that ran `ranForMs` exited abnormally. */
export function nextCrashStreak(previousStreak: number, ranForMs: number, policy: BackoffPolicy): number {
  return ranForMs >= policy.resetAfterMs ? 1 : previousStreak + 1;
}

export type RestartPolicy = "Always" | "OnFailure" | "Never";

/** Whether a container that exited with `exitCode` is started again under `policy`. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  switch (policy) {
    case "Always":
      return true;
    case "OnFailure":
      return exitCode !== 0;
    case "Never":
      return false;
  }
}
