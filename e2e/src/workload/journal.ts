/**
 * What the workload saw, and the availability it implies (pure). A write is "acknowledged" only when the
 * INSERT returned without error; a failed write is ambiguous when the request may have reached the server
 * (an error after sending, a timeout), because the key may or may not exist afterwards — the checker never
 * counts an ambiguous key as lost.
 */
export interface AcknowledgedWrite {
  readonly key: string;
  /** `address:port` the write went to. */
  readonly endpoint: string;
  /** The pod behind that endpoint, from the EndpointSlice targetRef. */
  readonly podName: string | undefined;
  /** Wall clock ms when the acknowledgement arrived. */
  readonly atMs: number;
  readonly latencyMs: number;
}

export interface FailedWrite {
  readonly key: string | undefined;
  readonly endpoint: string | undefined;
  readonly atMs: number;
  /** connect | resolve | write */
  readonly stage: "resolve" | "connect" | "write";
  readonly error: string;
  /** SQL Server error number when the server answered with one. */
  readonly errorNumber: number | undefined;
  readonly ambiguous: boolean;
}

export interface WorkloadJournal {
  readonly startedAtMs: number;
  readonly stoppedAtMs: number | undefined;
  readonly acknowledged: readonly AcknowledgedWrite[];
  readonly failures: readonly FailedWrite[];
}

export interface UnavailabilityWindow {
  readonly fromMs: number;
  readonly toMs: number;
  readonly durationMs: number;
}

export interface AvailabilityReport {
  /** Gaps between consecutive acknowledgements (or from start / to stop) longer than the threshold. */
  readonly windows: readonly UnavailabilityWindow[];
  readonly totalUnavailableMs: number;
  readonly longestMs: number;
  readonly acknowledgedCount: number;
  readonly failureCount: number;
}

/**
 * Unavailability = every gap without an acknowledged write longer than `thresholdMs`, including the gap from
 * the start to the first acknowledgement and from the last one to the end of the run.
 */
export function unavailabilityWindows(journal: WorkloadJournal, thresholdMs: number, endMs?: number): AvailabilityReport {
  const end = endMs ?? journal.stoppedAtMs ?? journal.acknowledged.at(-1)?.atMs ?? journal.startedAtMs;
  const times = journal.acknowledged.map((write) => write.atMs).sort((a, b) => a - b);
  const marks = [journal.startedAtMs, ...times, end];
  const windows: UnavailabilityWindow[] = [];
  for (let index = 1; index < marks.length; index++) {
    const fromMs = marks[index - 1] ?? 0;
    const toMs = marks[index] ?? 0;
    if (toMs - fromMs > thresholdMs) windows.push({ fromMs, toMs, durationMs: toMs - fromMs });
  }
  return {
    windows,
    totalUnavailableMs: windows.reduce((sum, window) => sum + window.durationMs, 0),
    longestMs: windows.reduce((longest, window) => Math.max(longest, window.durationMs), 0),
    acknowledgedCount: journal.acknowledged.length,
    failureCount: journal.failures.length,
  };
}
