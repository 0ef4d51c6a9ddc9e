/**
 * Controller configuration, parsed once from the environment (CONVENTIONS 8): every problem is listed, units are
 * in the names, and only main.ts passes `process.env` in. The variable names match manifests/install.
 */
import { validateLeaderElectionTiming, type LeaderElectionTiming } from "@sqlag/kube";

export type LogLevel = "error" | "warn" | "info" | "debug";

export interface ControllerConfig {
  /** Leader-election identity; the pod name. */
  identity: string;
  /** Namespaces whose CRs are reconciled; `undefined` means all namespaces (cluster-wide informers). */
  watchNamespaces: string[] | undefined;
  leaderElection: {
    enabled: boolean;
    namespace: string;
    leaseName: string;
    timing: LeaderElectionTiming;
  };
  httpPort: number;
  /**
   * Address of the HTTP server: 0.0.0.0, SQLAG_HTTP_HOST, or — test harness only — SQLAG_FAKE_POD_IP, because
   * the fake kubelet runs every pod in one network namespace where two replicas cannot both bind 0.0.0.0.
   */
  httpBindAddress: string;
  logLevel: LogLevel;
  /** Every CR is reconciled again after this long even without a change. */
  resyncPeriodMs: number;
  workers: number;
  /** Per-request timeout for API calls made by reconcilers. */
  requestTimeoutMs: number;
  /** healthy() of an informer turns false (and /readyz fails) once it has been broken this long. */
  informerBrokenThresholdMs: number;
}

export type ConfigResult = { ok: true; config: ControllerConfig } | { ok: false; problems: string[] };

const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const DEFAULT_LEADER_ELECTION_NAME = "sqlag-controller";
export const DEFAULT_CONTROLLER_NAMESPACE = "sqlag-system";

type Env = Readonly<Record<string, string | undefined>>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? fallback : value;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name]?.trim();
    if (raw === undefined || raw === "") return fallback;
    if (!/^-?\d+$/.test(raw)) {
      this.problems.push(`${name} must be a whole number between ${min} and ${max}, got "${raw}".`);
      return fallback;
    }
    const value = Number(raw);
    if (value < min || value > max) {
      this.problems.push(`${name} must be between ${min} and ${max}, got ${value}.`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === "") return fallback;
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    this.problems.push(`${name} must be "true" or "false", got "${raw}".`);
    return fallback;
  }
}

export function loadControllerConfig(env: Env): ConfigResult {
  const read = new Reader(env);
  const problems = read.problems;

  const identity = read.string("SQLAG_POD_NAME", read.string("POD_NAME", ""));
  const leaderElectionEnabled = read.boolean("SQLAG_LEADER_ELECTION", true);
  if (identity === "" && leaderElectionEnabled) {
    problems.push("SQLAG_POD_NAME is required as the leader-election identity; set it from the downward API (fieldRef metadata.name).");
  }

  const namespace = read.string("SQLAG_NAMESPACE", DEFAULT_CONTROLLER_NAMESPACE);
  if (!DNS_LABEL.test(namespace)) problems.push(`SQLAG_NAMESPACE "${namespace}" is not a valid namespace name.`);
  const leaseName = read.string("SQLAG_LEADER_ELECTION_NAME", DEFAULT_LEADER_ELECTION_NAME);

  const rawWatch = read.string("SQLAG_WATCH_NAMESPACES", "");
  let watchNamespaces: string[] | undefined;
  if (rawWatch !== "" && rawWatch !== "*") {
    watchNamespaces = [...new Set(rawWatch.split(",").map((n) => n.trim()).filter((n) => n !== ""))];
    for (const ns of watchNamespaces) {
      if (!DNS_LABEL.test(ns)) problems.push(`SQLAG_WATCH_NAMESPACES contains "${ns}", which is not a valid namespace name; use a comma-separated list, or "*" for all.`);
    }
  }

  const logLevel = read.string("SQLAG_LOG_LEVEL", "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`SQLAG_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}".`);

  const timing: LeaderElectionTiming = {
    leaseDurationMs: read.integer("SQLAG_LEASE_DURATION_SECONDS", 15, 1, 3600) * 1000,
    renewDeadlineMs: read.integer("SQLAG_RENEW_DEADLINE_SECONDS", 10, 1, 3600) * 1000,
    retryPeriodMs: read.integer("SQLAG_RETRY_PERIOD_SECONDS", 2, 1, 3600) * 1000,
  };
  problems.push(...validateLeaderElectionTiming(timing).map((p) => `Leader election timing: ${p}`));

  const config: ControllerConfig = {
    identity,
    watchNamespaces,
    leaderElection: { enabled: leaderElectionEnabled, namespace, leaseName, timing },
    httpPort: read.integer("SQLAG_HTTP_PORT", 8080, 1, 65535),
    httpBindAddress: read.string("SQLAG_FAKE_POD_IP", "") || read.string("SQLAG_HTTP_HOST", "") || "0.0.0.0",
    logLevel,
    resyncPeriodMs: read.integer("SQLAG_RESYNC_SECONDS", 300, 10, 86_400) * 1000,
    workers: read.integer("SQLAG_WORKERS", 4, 1, 64),
    requestTimeoutMs: read.integer("SQLAG_REQUEST_TIMEOUT_SECONDS", 10, 1, 300) * 1000,
    informerBrokenThresholdMs: read.integer("SQLAG_INFORMER_BROKEN_THRESHOLD_SECONDS", 60, 5, 3600) * 1000,
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}
