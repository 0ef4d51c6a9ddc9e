/**
 * The agent's configuration, parsed once from the environment the controller renders (names in `agentEnv`,
 * packages/api/src/agent-env.ts) and validated as a whole (CONVENTIONS 8). Only `main.ts` passes
 * `process.env` in; everything else receives the typed, frozen result.
 *
 * Durations arrive in seconds (the CRD's unit) and are converted once to `…Ms`. The timing rules are the
 * safety argument of ARCHITECTURE §4.4, so an inconsistent combination is refused at startup rather than
 * discovered during a failover:
 *   sqlWriteLease + renewDeadline + LEASE_SAFETY_MARGIN_SECONDS <= leaseDuration
 *   renewInterval < renewDeadline < leaseDuration
 *   renewInterval < sqlWriteLease            (the SQL lease must outlive the gap between two renewals)
 *   healthCheckInterval >= 5                  (sp_server_diagnostics minimum repeat interval)
 *   failoverThreshold >= 10
 */
import {
  AGENT_HTTP_PORT,
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_TIMING,
  LEASE_SAFETY_MARGIN_SECONDS,
  SQL_PORT,
  agentEnv,
  ordinalOfPod,
  type HealthThreshold,
} from "@sqlag/api";
import { DEFAULT_DECIDE_POLICY, type DecideConfig, type DecideTiming } from "./core/types.js";

export type AgentMode = "availability-group" | "standalone";
export type LogLevel = "error" | "warn" | "info" | "debug";

export interface SqlConnectionConfig {
  host: string;
  port: number;
  /** TLS on the TDS connection; on by default, off only in tests against the simulator. */
  encrypt: boolean;
  trustServerCertificate: boolean;
  caFile?: string;
  /** The SA password, used once to create the agent's own login. Never logged. */
  saPassword: string;
}

interface CommonAgentConfig {
  clusterName: string;
  namespace: string;
  podName: string;
  podIp?: string;
  nodeName?: string;
  httpPort: number;
  logLevel: LogLevel;
  sql: SqlConnectionConfig;
  healthCheckIntervalMs: number;
  healthThreshold: HealthThreshold;
  /** Test harness only: mountPath → host path, because processes of the fake kubelet cannot mount volumes. */
  fakeMounts?: Readonly<Record<string, string>>;
  /** Address the HTTP API listens on: 0.0.0.0, or the harness pod address (pods there share one network). */
  httpBindAddress: string;
  /** Test harness only: JSON file mapping pod DNS names to addresses (no cluster DNS on the test machine). */
  fakeDnsFile?: string;
}

/** A `SQLServerInstance` pod: health, readiness, metrics and status only; no Lease, no AG. */
export interface StandaloneAgentConfig extends CommonAgentConfig {
  mode: "standalone";
}

/**
 * A `SQLServerAvailabilityGroup` pod. It is a `DecideConfig`, so the runtime passes it straight to `decide`.
 */
export interface AvailabilityGroupAgentConfig extends CommonAgentConfig, DecideConfig {
  mode: "availability-group";
  endpointPort: number;
  clusterDomain: string;
  hadrSecretDir: string;
}

export type AgentConfig = StandaloneAgentConfig | AvailabilityGroupAgentConfig;

/** Every problem found in the environment, so one restart fixes them all. Messages never contain values of secrets. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid agent configuration: ${problems.join("; ")}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const HEALTH_THRESHOLDS: readonly HealthThreshold[] = ["system", "resource", "query_processing"];
const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];
const MODES: readonly AgentMode[] = ["availability-group", "standalone"];
/** Kubernetes object names (RFC 1123 label): what pod, namespace and CR names must look like. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MIN_HEALTH_CHECK_INTERVAL_SECONDS = 5;
const MIN_FAILOVER_THRESHOLD_SECONDS = 10;
const DEFAULT_FAILOVER_THRESHOLD_SECONDS = 10;

/** Collects problems while reading; each reader returns a usable placeholder so checks can continue. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  }

  requiredString(name: string, pattern?: RegExp, what?: string): string {
    const value = this.raw(name);
    if (value === undefined) {
      this.problems.push(`${name} is required`);
      return "";
    }
    if (pattern !== undefined && !pattern.test(value)) {
      this.problems.push(`${name}="${value}" is not ${what ?? "valid"}`);
    }
    return value;
  }

  /** Required, but its value is secret: report absence only, never the value. */
  requiredSecret(name: string): string {
    const value = this.env[name];
    if (value === undefined || value === "") {
      this.problems.push(`${name} is required`);
      return "";
    }
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) {
      this.problems.push(`${name}="${value}" is not a whole number`);
      return fallback;
    }
    const parsed = Number(value);
    if (parsed < min || parsed > max) {
      this.problems.push(`${name}=${parsed} is out of range ${min}..${max}`);
      return fallback;
    }
    return parsed;
  }

  port(name: string, fallback: number): number {
    return this.integer(name, fallback, 1, 65535);
  }

  /** Optional JSON object of string → string. */
  stringMap(name: string): Record<string, string> | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      this.problems.push(`${name} is not valid JSON`);
      return undefined;
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === "string")) {
      this.problems.push(`${name} must be a JSON object of strings (mount path → host path)`);
      return undefined;
    }
    return parsed as Record<string, string>;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (value.toLowerCase() === "true") return true;
    if (value.toLowerCase() === "false") return false;
    this.problems.push(`${name}="${value}" must be "true" or "false"`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name}="${value}" must be one of ${allowed.join(", ")}`);
    return fallback;
  }
}

const SECONDS_UPPER_BOUND = 3600;

function readCommon(reader: EnvReader): CommonAgentConfig {
  const caFile = reader.optionalString(agentEnv.sqlCaFile);
  const podIp = reader.optionalString(agentEnv.podIp);
  const nodeName = reader.optionalString(agentEnv.nodeName);
  const fakeMounts = reader.stringMap(agentEnv.fakeMounts);
  const fakePodIp = reader.optionalString(agentEnv.fakePodIp);
  const fakeDnsFile = reader.optionalString(agentEnv.fakeDnsFile);
  const healthCheckIntervalSeconds = reader.integer(
    agentEnv.healthCheckIntervalSeconds,
    DEFAULT_TIMING.healthCheckIntervalSeconds,
    1,
    SECONDS_UPPER_BOUND,
  );
  if (healthCheckIntervalSeconds < MIN_HEALTH_CHECK_INTERVAL_SECONDS) {
    reader.problems.push(
      `${agentEnv.healthCheckIntervalSeconds}=${healthCheckIntervalSeconds} is below the sp_server_diagnostics minimum of ${MIN_HEALTH_CHECK_INTERVAL_SECONDS}`,
    );
  }
  return {
    clusterName: reader.requiredString(agentEnv.clusterName, DNS_LABEL, "a Kubernetes object name"),
    namespace: reader.requiredString(agentEnv.namespace, DNS_LABEL, "a Kubernetes namespace name"),
    podName: reader.requiredString(agentEnv.podName, DNS_LABEL, "a Kubernetes pod name"),
    ...(podIp !== undefined ? { podIp } : {}),
    ...(nodeName !== undefined ? { nodeName } : {}),
    httpPort: reader.port(agentEnv.httpPort, AGENT_HTTP_PORT),
    logLevel: reader.oneOf(agentEnv.logLevel, LOG_LEVELS, "info"),
    sql: {
      host: reader.optionalString(agentEnv.sqlHost) ?? "127.0.0.1",
      port: reader.port(agentEnv.sqlPort, SQL_PORT),
      encrypt: reader.boolean(agentEnv.sqlEncrypt, true),
      trustServerCertificate: reader.boolean(agentEnv.sqlTrustServerCertificate, false),
      ...(caFile !== undefined ? { caFile } : {}),
      saPassword: reader.requiredSecret(agentEnv.saPassword),
    },
    healthCheckIntervalMs: healthCheckIntervalSeconds * 1000,
    healthThreshold: reader.oneOf(agentEnv.healthThreshold, HEALTH_THRESHOLDS, "system"),
    ...(fakeMounts !== undefined ? { fakeMounts } : {}),
    httpBindAddress: fakePodIp ?? reader.optionalString(agentEnv.httpHost) ?? "0.0.0.0",
    ...(fakeDnsFile !== undefined ? { fakeDnsFile } : {}),
  };
}

/**
 * Checks the timing rules of ARCHITECTURE §4.4 on a resolved timing; exported so the controller side and tests
 * can reuse the exact wording. Returns one message per violated rule.
 */
export function timingProblems(timing: {
  leaseDurationSeconds: number;
  renewIntervalSeconds: number;
  renewDeadlineSeconds: number;
  sqlWriteLeaseSeconds: number;
  failoverThresholdSeconds: number;
}): string[] {
  const problems: string[] = [];
  const { leaseDurationSeconds: lease, renewIntervalSeconds: interval, renewDeadlineSeconds: deadline, sqlWriteLeaseSeconds: w } = timing;
  if (!(interval < deadline)) {
    problems.push(`renewIntervalSeconds (${interval}) must be less than renewDeadlineSeconds (${deadline})`);
  }
  if (!(deadline < lease)) {
    problems.push(`renewDeadlineSeconds (${deadline}) must be less than leaseDurationSeconds (${lease})`);
  }
  if (!(interval < w)) {
    problems.push(`sqlWriteLeaseSeconds (${w}) must be greater than renewIntervalSeconds (${interval}) or the SQL lease lapses between renewals`);
  }
  if (w + deadline + LEASE_SAFETY_MARGIN_SECONDS > lease) {
    problems.push(
      `sqlWriteLeaseSeconds (${w}) + renewDeadlineSeconds (${deadline}) + safety margin (${LEASE_SAFETY_MARGIN_SECONDS}) = ` +
        `${w + deadline + LEASE_SAFETY_MARGIN_SECONDS} exceeds leaseDurationSeconds (${lease}): a new primary could be promoted ` +
        `while the old one still holds a valid SQL write lease; lower sqlWriteLeaseSeconds or raise leaseDurationSeconds`,
    );
  }
  if (timing.failoverThresholdSeconds < MIN_FAILOVER_THRESHOLD_SECONDS) {
    problems.push(`failoverThresholdSeconds (${timing.failoverThresholdSeconds}) must be at least ${MIN_FAILOVER_THRESHOLD_SECONDS}`);
  }
  return problems;
}

function readAvailabilityGroup(reader: EnvReader, common: CommonAgentConfig): AvailabilityGroupAgentConfig {
  const seconds = (name: string, fallback: number): number => reader.integer(name, fallback, 1, SECONDS_UPPER_BOUND);
  const leaseDurationSeconds = seconds(agentEnv.leaseDurationSeconds, DEFAULT_TIMING.leaseDurationSeconds);
  const renewIntervalSeconds = seconds(agentEnv.renewIntervalSeconds, DEFAULT_TIMING.renewIntervalSeconds);
  const renewDeadlineSeconds = seconds(agentEnv.renewDeadlineSeconds, DEFAULT_TIMING.renewDeadlineSeconds);
  const sqlWriteLeaseSeconds = seconds(agentEnv.sqlWriteLeaseSeconds, DEFAULT_TIMING.sqlWriteLeaseSeconds);
  const failoverThresholdSeconds = seconds(agentEnv.failoverThresholdSeconds, DEFAULT_FAILOVER_THRESHOLD_SECONDS);
  const disablePrimaryOnQuorumTimeoutSeconds = seconds(
    agentEnv.disablePrimaryOnQuorumTimeoutSeconds,
    DEFAULT_TIMING.disablePrimaryOnQuorumTimeoutSeconds,
  );
  reader.problems.push(
    ...timingProblems({ leaseDurationSeconds, renewIntervalSeconds, renewDeadlineSeconds, sqlWriteLeaseSeconds, failoverThresholdSeconds }),
  );

  const agName = reader.requiredString(agentEnv.agName, SQL_IDENTIFIER, "a SQL identifier (letters, digits, _; at most 128)");
  if (common.podName !== "" && common.clusterName !== "" && ordinalOfPod(common.clusterName, common.podName) === undefined) {
    reader.problems.push(
      `${agentEnv.podName}="${common.podName}" is not a pod of ${common.clusterName} (expected ${common.clusterName}-<ordinal>)`,
    );
  }

  const timing: DecideTiming = {
    loopIntervalMs: DEFAULT_DECIDE_POLICY.loopIntervalMs,
    leaseDurationMs: leaseDurationSeconds * 1000,
    renewIntervalMs: renewIntervalSeconds * 1000,
    renewDeadlineMs: renewDeadlineSeconds * 1000,
    sqlWriteLeaseMs: sqlWriteLeaseSeconds * 1000,
    leaseSafetyMarginMs: LEASE_SAFETY_MARGIN_SECONDS * 1000,
    healthCheckIntervalMs: common.healthCheckIntervalMs,
    healthCheckGraceMs: DEFAULT_DECIDE_POLICY.healthCheckGraceMs,
    failoverThresholdMs: failoverThresholdSeconds * 1000,
    disablePrimaryOnQuorumTimeoutMs: disablePrimaryOnQuorumTimeoutSeconds * 1000,
  };
  return {
    ...common,
    mode: "availability-group",
    agName,
    endpointPort: reader.port(agentEnv.endpointPort, 5022),
    clusterDomain: reader.optionalString(agentEnv.clusterDomain) ?? DEFAULT_CLUSTER_DOMAIN,
    hadrSecretDir: reader.requiredString(agentEnv.hadrSecretDir),
    timing,
    policy: DEFAULT_DECIDE_POLICY.policy,
  };
}

/**
 * Reads and validates the agent's configuration. Throws `ConfigError` listing every problem; `main.ts` prints
 * them all and exits non-zero.
 */
export function loadAgentConfig(env: Env): Readonly<AgentConfig> {
  const reader = new EnvReader(env);
  const mode = reader.oneOf(agentEnv.mode, MODES, "availability-group");
  const common = readCommon(reader);
  const config: AgentConfig = mode === "standalone" ? { ...common, mode } : readAvailabilityGroup(reader, common);
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
