/**
 * Every duration the simulator models, in one place (brief: "Time"). Defaults are realistic for SQL Server on
 * Linux; tests scale them down with `scaleTimings`.
 */
export interface SimTimings {
  /** Process start until the TDS port answers (a restarted AG replica then reports RESOLVING, B3/pacemaker §5.1). */
  startupMs: number;
  /** Delay between FAILOVER / SET (ROLE = SECONDARY) / OFFLINE returning and the role actually changing (B3: "return before the role change completes"). */
  roleChangeDelayMs: number;
  /** Default availability replica SESSION_TIMEOUT (B2: seconds, default 10). Per replica it comes from the AG DDL. */
  defaultSessionTimeoutSeconds: number;
  /** Multiplier applied to a replica's SESSION_TIMEOUT seconds to get the modelled milliseconds (tests shrink it). */
  sessionTimeoutScale: number;
  /** Heartbeat cadence on endpoint links (a frozen or partitioned peer is detected by its silence). */
  heartbeatMs: number;
  /** Reconnect cadence of a primary dialling its replicas' mirroring endpoints. */
  reconnectMs: number;
  /** Automatic seeding duration per database (sys.dm_hadr_automatic_seeding start → completion). */
  seedingMs: number;
  /** How long JOIN waits for the primary to deliver the configuration before 47106. */
  joinConfigWaitMs: number;
  /** How long a commit waits for REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT acknowledgements before failing (B5 [U]). */
  commitWaitLimitMs: number;
  /** Delay before sp_server_diagnostics returns its first result set (B1 [U]: not documented, configurable). */
  diagnosticsFirstResultMs: number;
  /** Multiplier for sp_server_diagnostics @repeat_interval seconds. */
  diagnosticsIntervalScale: number;
  /** Multiplier for WRITE_LEASE_VALIDITY seconds. */
  leaseScale: number;
  /** 41104 latch: a deposed primary that reconnects to the new primary within this window after the promotion gets a stale transport (peer operator LESSONS L13/L15). */
  earlyReconnectWindowMs: number;
  /** TCP connect timeout for endpoint links. */
  connectTimeoutMs: number;
}

export const DEFAULT_TIMINGS: SimTimings = {
  startupMs: 800,
  roleChangeDelayMs: 1500,
  defaultSessionTimeoutSeconds: 10,
  sessionTimeoutScale: 1000,
  heartbeatMs: 1000,
  reconnectMs: 1000,
  seedingMs: 3000,
  joinConfigWaitMs: 10000,
  commitWaitLimitMs: 30000,
  diagnosticsFirstResultMs: 500,
  diagnosticsIntervalScale: 1000,
  leaseScale: 1000,
  earlyReconnectWindowMs: 20000,
  connectTimeoutMs: 3000,
};

/** Scale every duration by `factor` (0.05 = twenty times faster), keeping a 1 ms floor. */
export function scaleTimings(factor: number, base: SimTimings = DEFAULT_TIMINGS): SimTimings {
  const scaled = {} as Record<string, number>;
  for (const [key, value] of Object.entries(base)) {
    scaled[key] = key === "defaultSessionTimeoutSeconds" ? value : Math.max(1, Math.round(value * factor));
  }
  return scaled as unknown as SimTimings;
}
